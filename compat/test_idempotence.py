"""Idempotent producers (InitProducerId, per-partition sequence numbers) against a
real rill broker, with every client:

* kafka-python 3.x: a plain `KafkaProducer(bootstrap_servers=...)`, nothing else
  set (idempotent is its default);
* confluent-kafka: `enable.idempotence=True`;
* aiokafka: `enable_idempotence=True`;
* KafkaJS: `idempotent: true` (`compat.js idempotent`).

Records are read back with librdkafka (ck.py) and compared exactly. On top of
that, every stored batch header is read with a raw Fetch (`stored_batches`) to
check that the client really produced idempotently (producer id >= 0) and that
each producer's sequence numbers run 0, 1, 2, ... without a gap or a repeat over
all its batches, so a duplicate or a lost retry cannot hide behind a client that
silently fell back to non-idempotent produce.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import struct
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import ck
from ck import Rec

pytestmark = pytest.mark.needs("idempotence")  # InitProducerId

NOW_MS = int(time.time() * 1000)
KJS_DIR = Path(__file__).resolve().parent / "kafkajs"
HAVE_KAFKAJS = shutil.which("node") is not None and (KJS_DIR / "node_modules" / "kafkajs").is_dir()
needs_kafkajs = pytest.mark.skipif(
    not HAVE_KAFKAJS, reason="node or compat/kafkajs/node_modules missing (run npm ci in compat/kafkajs)"
)

# Batch attribute bits (Kafka's RecordBatch).
TRANSACTIONAL = 0x10
CONTROL = 0x20


# ----------------------------------------------------------- stored batches


@dataclass
class Batch:
    """The header of one stored record batch (magic 2)."""

    base_offset: int
    last_offset: int
    attributes: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    count: int


def _fetch_v4(sock: socket.socket, corr: int, topic: str, partition: int, offset: int) -> tuple[int, int, bytes]:
    """One Fetch v4 (non-flexible) for one partition; returns (error code, high
    watermark, records bytes)."""
    t = topic.encode()
    body = struct.pack(">iiiib", -1, 100, 1, 16 << 20, 0)  # replica, max_wait, min_bytes, max_bytes, read_uncommitted
    body += struct.pack(">ih", 1, len(t)) + t + struct.pack(">iiqi", 1, partition, offset, 16 << 20)
    client = b"rill-compat-batches"
    req = struct.pack(">hhih", 1, 4, corr, len(client)) + client + body
    sock.sendall(struct.pack(">i", len(req)) + req)
    size = struct.unpack(">i", _recv_exact(sock, 4))[0]
    buf = _recv_exact(sock, size)
    pos = 0

    def take(fmt):
        nonlocal pos
        vals = struct.unpack_from(fmt, buf, pos)
        pos += struct.calcsize(fmt)
        return vals

    (got_corr, _throttle, ntopics) = take(">iii")
    assert got_corr == corr and ntopics == 1, (got_corr, corr, ntopics)
    (tlen,) = take(">h")
    pos += tlen
    (nparts,) = take(">i")
    assert nparts == 1, nparts
    (p, err, hw, _lso, naborted) = take(">ihqqi")
    assert p == partition, (p, partition)
    pos += max(naborted, 0) * 16
    (rlen,) = take(">i")
    records = buf[pos : pos + max(rlen, 0)]
    return err, hw, records


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        out += chunk
    return bytes(out)


def stored_batches(bootstrap: str, topic: str, partition: int) -> list[Batch]:
    """Every batch of `topic`/`partition` from offset 0 to the high watermark, as
    stored, read with raw Fetch v4 requests (no client library in between)."""
    host, port = bootstrap.rsplit(":", 1)
    out: list[Batch] = []
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        offset, corr = 0, 0
        while True:
            corr += 1
            err, hw, records = _fetch_v4(sock, corr, topic, partition, offset)
            assert err == 0, f"Fetch {topic}/{partition}@{offset}: error {err}"
            if offset >= hw:
                return out
            pos = 0
            progressed = False
            while pos + 61 <= len(records):
                base_offset, length = struct.unpack_from(">qi", records, pos)
                if pos + 12 + length > len(records):
                    break  # a partial batch at the end of the response
                (_leader_epoch, magic, _crc, attributes, last_delta, _first_ts, _max_ts, pid, epoch, seq, count) = (
                    struct.unpack_from(">ibIhiqqqhii", records, pos + 12)
                )
                assert magic == 2, f"batch at {base_offset}: magic {magic}"
                if base_offset + last_delta >= offset:
                    out.append(Batch(base_offset, base_offset + last_delta, attributes, pid, epoch, seq, count))
                    offset = base_offset + last_delta + 1
                    progressed = True
                pos += 12 + length
            assert progressed, f"Fetch {topic}/{partition}@{offset} (high watermark {hw}) returned no whole batch"


def check_sequences(batches: list[Batch], where: str) -> dict[tuple[int, int], list[Batch]]:
    """Every batch is idempotent (producer id and epoch set), not transactional, and
    for each (producer id, epoch) the base sequences are 0 and then each previous
    batch's base sequence plus its record count, in offset order. Offsets are
    contiguous across batches. Returns the batches grouped by (producer id, epoch)."""
    per: dict[tuple[int, int], list[Batch]] = {}
    next_offset = 0
    for b in batches:
        what = f"{where}: batch at offsets {b.base_offset}..{b.last_offset}"
        assert b.base_offset == next_offset, f"{what}: expected to start at {next_offset}"
        next_offset = b.last_offset + 1
        assert b.count == b.last_offset - b.base_offset + 1, f"{what}: {b.count} records"
        assert b.attributes & (TRANSACTIONAL | CONTROL) == 0, f"{what}: attributes {b.attributes:#x}"
        assert b.producer_id >= 0 and b.producer_epoch >= 0, (
            f"{what}: producer id {b.producer_id} epoch {b.producer_epoch}: not written by an idempotent producer"
        )
        per.setdefault((b.producer_id, b.producer_epoch), []).append(b)
    for (pid, epoch), bs in per.items():
        expect = 0
        for b in bs:
            assert b.base_sequence == expect, (
                f"{where}: producer {pid} epoch {epoch}: batch at offset {b.base_offset} has base sequence "
                f"{b.base_sequence}, expected {expect} (sequences of this producer: "
                f"{[(x.base_offset, x.base_sequence, x.count) for x in bs][:30]})"
            )
            expect = (expect + b.count) % 2**31
    return per


def check_partitions(bootstrap: str, topic: str, partitions: int, min_batches: int) -> set[tuple[int, int]]:
    """check_sequences on every partition, each with at least `min_batches` batches;
    returns the (producer id, epoch) pairs seen."""
    seen: set[tuple[int, int]] = set()
    for p in range(partitions):
        batches = stored_batches(bootstrap, topic, p)
        assert len(batches) >= min_batches, f"partition {p}: only {len(batches)} batches, wanted >= {min_batches}"
        seen |= set(check_sequences(batches, f"{topic}/{p}"))
    return seen


# ------------------------------------------------------------------ records


def make_records(partitions: int, chunks: int, per_chunk: int, tag: str, base_ts: int) -> list[list[Rec]]:
    """`chunks` lists of records, each with `per_chunk` records for every partition
    (keys, values, headers and timestamps all distinct)."""
    out = []
    i = 0
    for c in range(chunks):
        chunk = []
        for j in range(per_chunk):
            for p in range(partitions):
                chunk.append(
                    Rec(
                        p,
                        f"{tag}-{p}-{c}-{j}".encode(),
                        f"{tag} record {i} chunk {c} ".encode() + b"v" * (i % 13),
                        [("chunk", str(c).encode()), ("tag", tag.encode())],
                        base_ts + i,
                    )
                )
                i += 1
        out.append(chunk)
    return out


def assert_produced(bootstrap: str, topic: str, partitions: int, recs: list[Rec]) -> None:
    """Offsets 0, 1, 2, ... per partition in produce order, and the log holds exactly
    these records (no duplicate, nothing missing or extra)."""
    ck.assert_contiguous_offsets(recs)
    got = ck.consume_all(bootstrap, topic, partitions, expect=len(recs))
    ck.assert_records(got, recs)


# ------------------------------------------------------------- each client


def produce_confluent(bootstrap: str, topic: str, chunks: list[list[Rec]], pause: float = 0.0, **conf) -> dict:
    """An idempotent librdkafka producer; one flush per chunk, so every chunk is at
    least one batch per partition."""
    errors: list[str] = []
    p = ck.producer(bootstrap, **{"enable.idempotence": True, "error_cb": lambda e: errors.append(str(e)), **conf})
    for chunk in chunks:
        ck.produce_records(p, topic, chunk)
        if pause:
            time.sleep(pause)
    p.flush(30)
    assert not errors, f"confluent-kafka producer errors: {errors}"
    return {}


def produce_kafka_python(bootstrap: str, topic: str, chunks: list[list[Rec]], pause: float = 0.0) -> dict:
    """kafka-python with its defaults only (idempotent since 3.0); one flush per chunk."""
    from kafka import KafkaProducer

    p = KafkaProducer(bootstrap_servers=bootstrap)
    try:
        for chunk in chunks:
            futs = [
                p.send(
                    topic,
                    value=r.value,
                    key=r.key,
                    headers=list(r.headers),
                    partition=r.partition,
                    timestamp_ms=r.timestamp,
                )
                for r in chunk
            ]
            p.flush(30)
            for r, f in zip(chunk, futs):
                md = f.get(timeout=30)
                assert md.partition == r.partition
                r.offset = md.offset
            if pause:
                time.sleep(pause)
        tm = p._transaction_manager
        assert tm is not None, "kafka-python producer is not idempotent"
        pid = tm.producer_id_and_epoch
        return {"producer_id": pid.producer_id, "epoch": pid.epoch}
    finally:
        p.close(timeout=10)


def produce_aiokafka(bootstrap: str, topic: str, chunks: list[list[Rec]], pause: float = 0.0) -> dict:
    """aiokafka with enable_idempotence=True; each chunk is sent and awaited before
    the next."""
    from aiokafka import AIOKafkaProducer

    async def run():
        p = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
        await p.start()
        try:
            for chunk in chunks:
                futs = [
                    await p.send(
                        topic,
                        value=r.value,
                        key=r.key,
                        partition=r.partition,
                        timestamp_ms=r.timestamp,
                        headers=list(r.headers),
                    )
                    for r in chunk
                ]
                for r, md in zip(chunk, await asyncio.gather(*futs)):
                    assert md.partition == r.partition
                    r.offset = md.offset
                if pause:
                    await asyncio.sleep(pause)
        finally:
            await p.stop()
        return {}

    return asyncio.run(asyncio.wait_for(run(), 120))


def kafkajs_proc(bootstrap: str, topic: str, *args) -> subprocess.Popen:
    cmd = ["node", str(KJS_DIR / "compat.js"), "idempotent", bootstrap, topic, *map(str, args)]
    return subprocess.Popen(cmd, cwd=KJS_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kafkajs_wait_ready(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """Block until the scenario printed READY (connected); fail if it exited."""
    box: list[str] = []
    t = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)
    t.start()
    t.join(timeout)
    if not box or box[0].strip() != "READY":
        err = proc.stderr.read() if proc.poll() is not None else ""
        raise AssertionError(f"kafkajs did not get ready: {box!r}, exit {proc.poll()}\n{err[-6000:]}")


def kafkajs_result(proc: subprocess.Popen, timeout: float = 120.0) -> list[Rec]:
    out, err = proc.communicate(timeout=timeout)
    results = [line[len("RESULT ") :] for line in out.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and len(results) == 1, (
        f"kafkajs idempotent scenario failed (exit {proc.returncode})\n--- stdout ---\n{out[-4000:]}\n"
        f"--- stderr ---\n{err[-6000:]}"
    )
    return [
        Rec(
            partition=r["partition"],
            key=r["key"].encode(),
            value=r["value"].encode(),
            headers=[(k, v.encode()) for k, v in r["headers"].items()],
            timestamp=int(r["timestamp"]),
            offset=r["offset"],
        )
        for r in json.loads(results[0])["records"]
    ]


def produce_kafkajs(
    bootstrap: str, topic: str, partitions: int, sends: int, per_send: int, tag: str, pause_ms: int = 0
) -> list[Rec]:
    proc = kafkajs_proc(bootstrap, topic, partitions, sends, per_send, NOW_MS, pause_ms, tag)
    try:
        kafkajs_wait_ready(proc)
        return kafkajs_result(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --------------------------------------------------------------------- tests

P = 3
CHUNKS = 25
PER_CHUNK = 4


@pytest.mark.parametrize(
    "client",
    ["kafka-python", "confluent-kafka", "aiokafka", pytest.param("kafkajs", marks=needs_kafkajs)],
)
def test_many_batches_per_partition(broker, topic, client):
    """One idempotent producer writes CHUNKS rounds to each of P partitions, each
    round its own batch, so every partition's sequence numbers advance over at
    least CHUNKS batches. Offsets are 0, 1, 2, ... per partition in produce order,
    the log holds exactly the records produced, and the stored batches carry one
    producer id whose sequences have neither gap nor repeat."""
    ck.create_topic(broker, topic, partitions=P)
    if client == "kafkajs":
        recs = produce_kafkajs(broker, topic, P, CHUNKS, PER_CHUNK, "kjs")
        assert len(recs) == P * CHUNKS * PER_CHUNK
        # KafkaJS reports records in send order; per partition that is offset order.
        recs.sort(key=lambda r: (r.partition, r.offset))
        info = {}
    else:
        chunks = make_records(P, CHUNKS, PER_CHUNK, client, NOW_MS - 3_600_000)
        produce = {
            "kafka-python": produce_kafka_python,
            "confluent-kafka": produce_confluent,
            "aiokafka": produce_aiokafka,
        }[client]
        info = produce(broker, topic, chunks)
        recs = [r for c in chunks for r in c]
    assert_produced(broker, topic, P, recs)
    producers = check_partitions(broker, topic, P, min_batches=CHUNKS)
    assert len(producers) == 1, f"one producer wrote, but the batches carry {sorted(producers)}"
    if "producer_id" in info:
        assert producers == {(info["producer_id"], info["epoch"])}, (producers, info)


def test_confluent_pipelined_batches(broker, topic):
    """librdkafka with several batches in flight per partition at once (no flush
    between them; small batches): 20,000 records over 4 partitions. Sequence numbers
    must be accepted in pipeline order and nothing may be stored twice."""
    parts = 4
    n = 20_000
    ck.create_topic(broker, topic, partitions=parts)
    recs = [Rec(i % parts, b"k%d" % i, b"pipelined %d " % i + b"x" * (i % 50), [], NOW_MS + i) for i in range(n)]
    errors: list[str] = []
    p = ck.producer(
        broker,
        **{
            "enable.idempotence": True,
            "batch.num.messages": 200,
            "linger.ms": 1,
            "error_cb": lambda e: errors.append(str(e)),
        },
    )
    ck.produce_records(p, topic, recs)
    assert not errors, errors
    assert_produced(broker, topic, parts, recs)
    producers = check_partitions(broker, topic, parts, min_batches=n // parts // 200)
    assert len(producers) == 1, sorted(producers)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("hard", [True, False], ids=["kill9", "sigterm"])
def test_confluent_across_broker_restart(broker_factory, topic, hard):
    """An idempotent confluent-kafka producer keeps producing while the broker is
    restarted (kill -9, or SIGTERM) on the same port and data dir. Every record is
    acknowledged, every acknowledged record is in the log exactly once at the offset
    its delivery report gave, offsets stay contiguous, and the producer keeps its
    producer id and epoch across the restart, its sequence numbers continuing without
    a gap (so the broker recovered that producer's state from its data dir)."""
    b = broker_factory(data_dir="auto", port=_free_port())
    bs = b.bootstrap
    parts = 3
    ck.create_topic(bs, topic, partitions=parts)

    errors: list[str] = []
    fatal: list[str] = []
    delivered: dict[int, Rec] = {}
    failed: dict[int, str] = {}

    def on_error(err):
        errors.append(str(err))
        if err.fatal():
            fatal.append(str(err))

    p = ck.producer(bs, **{"enable.idempotence": True, "error_cb": on_error})
    recs: list[Rec] = []

    def produce_one(i: int) -> None:
        r = Rec(i % parts, b"k%d" % i, b"across restart %d" % i, [], NOW_MS + i)
        recs.append(r)

        def cb(err, msg, i=i, r=r):
            if err is not None:
                failed[i] = str(err)
            else:
                r.offset = msg.offset()
                delivered[i] = r

        while True:
            try:
                p.produce(topic, r.value, key=r.key, partition=r.partition, timestamp=r.timestamp, on_delivery=cb)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)

    restarted = threading.Event()
    restart_error: list[BaseException] = []

    def do_restart():
        try:
            time.sleep(1.0)
            b.restart(hard=hard)
        except BaseException as e:  # reported below
            restart_error.append(e)
        finally:
            restarted.set()

    restarter = threading.Thread(target=do_restart, daemon=True)
    restarter.start()
    i = 0
    deadline = time.monotonic() + 60
    # produce all along: before, during and for a second after the restart
    while not restarted.is_set() and time.monotonic() < deadline:
        produce_one(i)
        i += 1
        time.sleep(0.001)
    restarter.join(30)
    assert not restart_error, restart_error
    assert b.bootstrap == bs, (b.bootstrap, bs)
    before = len(delivered)
    after_restart = time.monotonic() + 1.0
    while time.monotonic() < after_restart:
        produce_one(i)
        i += 1
        time.sleep(0.001)
    remaining = p.flush(60)
    n = len(recs)
    print(
        f"\n[restart {'kill -9' if hard else 'SIGTERM'}] produced {n}, delivered {len(delivered)} "
        f"({before} when the broker was back), failed {len(failed)}, client errors {errors[:5]}"
    )

    # What the log holds, whatever the outcome of the producer.
    got = ck.consume_all(bs, topic, parts, timeout=60)
    by_value: dict[bytes, list[tuple[int, int]]] = {}
    for g in got:
        by_value.setdefault(g.value, []).append((g.partition, g.offset))
    dups = {v: pos for v, pos in by_value.items() if len(pos) > 1}
    assert not dups, f"{len(dups)} records stored more than once, e.g. {list(dups.items())[:5]}"
    for r in delivered.values():
        pos = by_value.get(r.value)
        assert pos == [(r.partition, r.offset)], (
            f"delivered {r.value!r} at {r.partition}/{r.offset} but the log has it at {pos}"
        )
    unexpected = [v for v in by_value if v not in {r.value for r in delivered.values()}]
    assert not unexpected, f"{len(unexpected)} records in the log with no successful delivery report: {unexpected[:5]}"

    assert remaining == 0, f"{remaining} records never acknowledged"
    assert not failed, f"{len(failed)} delivery failures, e.g. {list(failed.items())[:5]}"
    assert not fatal, f"fatal producer errors: {fatal}"
    ck.assert_contiguous_offsets(recs)
    ck.assert_records(got, recs)
    producers = check_partitions(bs, topic, parts, min_batches=2)
    assert len(producers) == 1, (
        f"the producer's id/epoch changed across the restart: {sorted(producers)} (client errors {errors[:10]})"
    )


def _interleaved(a: list[Rec], b: list[Rec]) -> bool:
    """Some record of `a` lies between two records of `b` or the other way round."""
    oa = sorted(r.offset for r in a)
    ob = sorted(r.offset for r in b)
    return any(ob[0] < o < ob[-1] for o in oa) or any(oa[0] < o < oa[-1] for o in ob)


def _run_threads(fns: dict[str, callable]) -> dict[str, object]:
    results: dict[str, object] = {}
    errors: dict[str, BaseException] = {}

    def wrap(name, fn):
        try:
            results[name] = fn()
        except BaseException as e:  # reported below
            errors[name] = e

    threads = [threading.Thread(target=wrap, args=(n, f), name=n, daemon=True) for n, f in fns.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(150)
    assert not [t.name for t in threads if t.is_alive()], "producer thread hung"
    if errors:
        name, exc = next(iter(errors.items()))
        raise AssertionError(f"{name} producer failed: {exc!r}") from exc
    return results


PAIRS = [
    ("confluent-kafka", "kafka-python"),
    pytest.param("aiokafka", "kafkajs", marks=needs_kafkajs, id="aiokafka-kafkajs"),
]


@pytest.mark.parametrize("first,second", PAIRS, ids=lambda x: x if isinstance(x, str) else None)
def test_two_clients_interleave(broker, topic, first, second):
    """Two idempotent producers from different clients write to the same two
    partitions at the same time, paced so that their batches interleave. Each
    gets its own producer id; per partition the offsets of both together are 0..N-1,
    each producer's records keep their produce order, each producer's sequences run
    without gap, and the log holds exactly what both produced."""
    parts = 2
    sends, per_send, pause = 30, 3, 0.03
    ck.create_topic(broker, topic, partitions=parts)
    chunks = {
        name: make_records(parts, sends, per_send, name, NOW_MS - 60_000 + 100_000 * k)
        for k, name in enumerate((first, second))
        if name != "kafkajs"
    }
    producers = {
        "confluent-kafka": lambda: produce_confluent(broker, topic, chunks["confluent-kafka"], pause),
        "kafka-python": lambda: produce_kafka_python(broker, topic, chunks["kafka-python"], pause),
        "aiokafka": lambda: produce_aiokafka(broker, topic, chunks["aiokafka"], pause),
    }
    proc = None
    try:
        if second == "kafkajs":
            proc = kafkajs_proc(broker, topic, parts, sends, per_send, NOW_MS + 500_000, int(pause * 1000), "kjs")
            kafkajs_wait_ready(proc)
            _run_threads({first: producers[first]})
            recs = {first: [r for c in chunks[first] for r in c], second: kafkajs_result(proc)}
        else:
            _run_threads({first: producers[first], second: producers[second]})
            recs = {n: [r for c in chunks[n] for r in c] for n in (first, second)}
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    for name, rs in recs.items():
        assert len(rs) == parts * sends * per_send, (name, len(rs))
        for p in range(parts):
            offs = [r.offset for r in rs if r.partition == p]
            assert offs == sorted(offs) and len(set(offs)) == len(offs), (
                f"{name}: partition {p} offsets not increasing in produce order: {offs[:30]}"
            )
    both = recs[first] + recs[second]
    for p in range(parts):
        offs = sorted(r.offset for r in both if r.partition == p)
        assert offs == list(range(len(offs))), f"partition {p}: offsets {offs[:40]}... are not 0..{len(offs) - 1}"
    ck.assert_records(ck.consume_all(broker, topic, parts, expect=len(both)), both)
    seen = check_partitions(broker, topic, parts, min_batches=2 * sends)
    assert len({pid for pid, _ in seen}) == 2, f"expected two producer ids, batches carry {sorted(seen)}"
    for p in range(parts):
        a = [r for r in recs[first] if r.partition == p]
        b = [r for r in recs[second] if r.partition == p]
        assert _interleaved(a, b), (
            f"partition {p}: {first} wrote {min(r.offset for r in a)}..{max(r.offset for r in a)} and {second} "
            f"{min(r.offset for r in b)}..{max(r.offset for r in b)}: they did not overlap in time"
        )


def test_kafka_python_distinct_producer_ids(broker, topic):
    """Three default kafka-python producers (idempotent) write to one partition one
    after the other: each gets its own producer id from InitProducerId, each one's
    sequences start at 0 in its own batches, and the log holds all records once."""
    ck.create_topic(broker, topic, partitions=1)
    infos, all_recs = [], []
    for k in range(3):
        chunks = [
            [
                Rec(0, f"kp{k}-{c}-{j}".encode(), f"producer {k} chunk {c} #{j}".encode(), [], NOW_MS + 100 * k + j)
                for j in range(5)
            ]
            for c in range(4)
        ]
        infos.append(produce_kafka_python(broker, topic, chunks))
        all_recs += [r for c in chunks for r in c]
    pids = [i["producer_id"] for i in infos]
    assert all(pid >= 0 for pid in pids) and len(set(pids)) == 3, f"producer ids {infos}"
    assert_produced(broker, topic, 1, all_recs)
    per = check_sequences(stored_batches(broker, topic, 0), f"{topic}/0")
    assert set(per) == {(i["producer_id"], i["epoch"]) for i in infos}, (sorted(per), infos)
    for key, bs in per.items():
        assert len(bs) >= 4, f"producer {key}: {len(bs)} batches"


@pytest.mark.needs("describe-producers")  # DescribeProducers
def test_kafka_python_admin_describe_producers(broker, topic):
    """KafkaAdminClient.describe_producers (DescribeProducers, API 61) lists the
    active idempotent producers of a partition with their last sequence."""
    from kafka import KafkaAdminClient
    from kafka import TopicPartition as KpTopicPartition

    ck.create_topic(broker, topic, partitions=1)
    infos = []
    for k in range(2):
        chunks = [[Rec(0, b"k%d-%d" % (k, j), b"v", [], NOW_MS + j) for j in range(3)] for _ in range(2)]
        infos.append(produce_kafka_python(broker, topic, chunks))
    a = KafkaAdminClient(bootstrap_servers=broker, request_timeout_ms=15000)
    try:
        res = a.describe_producers([KpTopicPartition(topic, 0)])
    finally:
        a.close()
    print(f"\ndescribe_producers: {res!r}")
    assert list(res) == [KpTopicPartition(topic, 0)], res
    listed = {s.producer_id: s for s in res[KpTopicPartition(topic, 0)].active_producers}
    assert set(listed) == {i["producer_id"] for i in infos}, (listed, infos)
    for i in infos:
        s = listed[i["producer_id"]]
        assert s.producer_epoch == i["epoch"], s
        assert s.last_sequence == 5, s  # six records, sequences 0..5
        assert s.current_transaction_start_offset == -1, s
