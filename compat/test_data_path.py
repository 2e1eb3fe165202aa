"""The fetch and produce data path against a real rill broker, with and without
zero-copy (`rill serve --zero-copy true|false`).

Fetch responses carry the stored record bytes by reference: slices of the segment
files, sent with sendfile(2) when at least 16 KiB (and zero-copy is on), otherwise
copied through the connection's 64 KiB write buffer. Produce frames are read into a
reused per-connection buffer. Every test here runs once per `--zero-copy` value, on
one broker per value (module scope: the 30 MB topic is written once and read by
several clients), with a persistent data dir so the segment files can be inspected:

* ~30 MB over 8 partitions (records from a few bytes to 420 KiB, keys up to 8 KiB,
  headers) written by a default confluent-kafka producer and read back exactly —
  (partition, offset) order and content hashes — by confluent-kafka tuned for
  throughput (10 MiB per partition, 50 MiB per fetch), by confluent-kafka with its
  defaults, by kafka-python (Fetch v12, compact encoding) and aiokafka (Fetch v11,
  the pre-flexible encoding) with their defaults;
* `segment.bytes=1048576`: consumers positioned in the middle of batches, on the last
  record of a segment and on the first of the next get exactly the requested offset
  first and a gap-free sequence across the segment boundaries (batch and segment
  boundaries read from the `.log` files);
* read_committed with transactions open: a 10 MiB-fetch consumer stops at the LSO,
  aborted records interleaved with committed ones (two transactional producers) are
  never delivered, later committed ones are; read_uncommitted sees them all;
* 50k small records with 900 KiB records interleaved from one default
  confluent-kafka producer (many pipelined produce requests of mixed sizes on one
  connection), read concurrently by a tailing consumer and afterwards: everything
  stored exactly, in produce order per partition.

Clients keep their defaults except the fetch sizes named above and what keeps the
tests fast (`fetch.wait.max.ms` of the ck.py consumers).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import shutil
import struct
import tempfile
import threading
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka import TopicPartition as AioTP
from confluent_kafka import OFFSET_BEGINNING, KafkaError, Producer, TopicPartition
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KpTP

import ck
from rill_broker import RillBroker

TUNED = {"max.partition.fetch.bytes": 10485760, "fetch.max.bytes": 52428800}
KIB = 1024

# (partition, offset) -> (key, value digest, headers)
Expected = dict[tuple[int, int], tuple[bytes | None, bytes | None, tuple]]


def digest(v: bytes | None) -> bytes | None:
    return None if v is None else hashlib.blake2b(v, digest_size=16).digest()


def norm_headers(h) -> tuple:
    return tuple((k, bytes(v) if v is not None else None) for k, v in (h or ()))


# ------------------------------------------------------------------ the broker


@pytest.fixture(scope="module", params=["true", "false"], ids=lambda v: f"zero-copy-{v}")
def dp_broker(request):
    """One broker per --zero-copy value for the whole module, on a persistent data dir
    (so segment files can be read). Its temp dir is kept if any test failed."""
    root = Path(tempfile.mkdtemp(prefix="rill-compat-datapath-"))
    broker = RillBroker(root / "broker", data_dir=root / "data", extra_args=["--zero-copy", request.param])
    failed_before = request.session.testsfailed
    broker.start()
    yield broker
    problem = None
    if broker.proc is not None and broker.proc.poll() is not None:
        problem = f"died with exit code {broker.proc.returncode}"
        broker._forget()
    elif broker.running():
        rc = broker.stop()
        if rc != 0:
            problem = f"exit code {rc} on SIGTERM"
    if problem or request.session.testsfailed > failed_before:
        print(f"rill compat temp dir kept: {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    if problem:
        pytest.fail(f"rill broker (--zero-copy {request.param}) {problem}\n{broker.log_tail(40)}", pytrace=False)


@pytest.fixture(autouse=True)
def _broker_log_on_failure(request, dp_broker):
    """A failing test's report ends with the module broker's log tail (conftest hook),
    and a broker that died during a test fails that test."""
    request.node._rill_brokers = [dp_broker]
    yield
    assert dp_broker.running(), f"broker died during the test\n{dp_broker.log_tail(40)}"


# ------------------------------------------------------------------ checking


def check_read(got: list[tuple], expected: Expected, what: str) -> None:
    """got: (partition, offset, key, value digest, headers) in arrival order. Each
    partition's offsets strictly increase, nothing twice, and exactly the expected
    records with the same key, value and headers."""
    last: dict[int, int] = {}
    seen: dict[tuple[int, int], tuple] = {}
    for p, off, key, dig, headers in got:
        assert off > last.get(p, -1), f"{what}: partition {p} offset {off} arrived after offset {last[p]}"
        last[p] = off
        assert (p, off) not in seen, f"{what}: partition {p} offset {off} delivered twice"
        seen[(p, off)] = (key, dig, headers)
    missing = sorted(set(expected) - set(seen))
    extra = sorted(set(seen) - set(expected))
    assert not missing and not extra, (
        f"{what}: {len(seen)} records read, {len(expected)} expected; "
        f"missing {len(missing)} {missing[:8]}, unexpected {len(extra)} {extra[:8]}"
    )
    bad = [pos for pos, want in expected.items() if seen[pos] != want]
    if bad:
        pos = bad[0]
        g, w = seen[pos], expected[pos]
        parts = [name for name, a, b in zip(("key", "value", "headers"), g, w) if a != b]
        raise AssertionError(
            f"{what}: {len(bad)} records differ, first at partition {pos[0]} offset {pos[1]} "
            f"({', '.join(parts)}): got key {_short(g[0])} headers {g[2]!r}, "
            f"expected key {_short(w[0])} headers {w[2]!r}; all differing: {bad[:8]}"
        )


def _short(v):
    if v is None or len(v) <= 48:
        return repr(v)
    return f"<{len(v)} bytes {v[:24]!r}...>"


# ------------------------------------------------------------------ clients


def ck_row(m) -> tuple:
    return (m.partition(), m.offset(), m.key(), digest(m.value()), norm_headers(m.headers()))


def ck_drain(
    c, parts: set[int], expect: int | None = None, timeout: float = 40.0, quiet: float = 0.0, eof_at: dict | None = None
) -> list:
    """Consume until every partition in `parts` reported EOF after its last record
    and (if given) at least `expect` records came; then `quiet` more seconds to catch
    anything extra. Consume errors raise. `eof_at` gets each partition's last EOF
    offset (where the client's fetching reached the end: the LSO under read_committed)."""
    eof_at = {} if eof_at is None else eof_at
    got: list = []
    eof: set[int] = set()
    deadline = time.monotonic() + timeout
    while True:
        assert time.monotonic() < deadline, (
            f"consume timed out after {timeout}s: {len(got)} records (expected {expect}), "
            f"EOF on {sorted(eof)} of {sorted(parts)}"
        )
        for m in c.consume(num_messages=5000, timeout=0.2):
            err = m.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    eof.add(m.partition())
                    eof_at[m.partition()] = m.offset()
                    continue
                raise AssertionError(f"consume error on partition {m.partition()}: {err}")
            eof.discard(m.partition())
            got.append(ck_row(m))
        if eof >= parts and (expect is None or len(got) >= expect):
            break
    end = time.monotonic() + quiet
    while time.monotonic() < end:
        for m in c.consume(num_messages=5000, timeout=0.1):
            if m.error() is None:
                got.append(ck_row(m))
            elif m.error().code() == KafkaError._PARTITION_EOF:
                eof_at[m.partition()] = m.offset()
            else:
                raise AssertionError(f"consume error on partition {m.partition()}: {m.error()}")
    return got


def ck_read_all(bootstrap: str, topic: str, parts: int, expect: int | None = None, **conf) -> list:
    c = ck.consumer(bootstrap, **conf)
    try:
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(parts)])
        return ck_drain(c, set(range(parts)), expect)
    finally:
        c.close()


def kp_read_all(bootstrap: str, topic: str, parts: int, timeout: float = 40.0, **conf) -> list:
    """kafka-python consumer (defaults + conf) from the beginning to the end offsets
    (the LSO under read_committed) it sees at the start."""
    c = KafkaConsumer(bootstrap_servers=bootstrap, **conf)
    got = []
    try:
        tps = [KpTP(topic, p) for p in range(parts)]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        end = c.end_offsets(tps)
        deadline = time.monotonic() + timeout
        while any(c.position(tp) < end[tp] for tp in tps):
            assert time.monotonic() < deadline, (
                f"kafka-python read timed out: {len(got)} records, positions "
                f"{[c.position(tp) for tp in tps]}, end {[end[tp] for tp in tps]}"
            )
            for tp, recs in c.poll(timeout_ms=500).items():
                got += [(tp.partition, r.offset, r.key, digest(r.value), norm_headers(r.headers)) for r in recs]
    finally:
        c.close()
    return got


def aio_read_all(bootstrap: str, topic: str, parts: int, timeout: float = 40.0, **conf) -> list:
    """aiokafka consumer (defaults + conf) from the beginning to the end offsets."""

    async def main():
        c = AIOKafkaConsumer(bootstrap_servers=bootstrap, **conf)
        await c.start()
        got = []
        try:
            tps = [AioTP(topic, p) for p in range(parts)]
            c.assign(tps)
            await c.seek_to_beginning(*tps)
            end = await c.end_offsets(tps)
            while True:
                pos = [await c.position(tp) for tp in tps]
                if all(p >= end[tp] for p, tp in zip(pos, tps)):
                    return got
                batch = await c.getmany(timeout_ms=500)
                for tp, recs in batch.items():
                    got += [(tp.partition, r.offset, r.key, digest(r.value), norm_headers(r.headers)) for r in recs]
        finally:
            await c.stop()

    async def bounded():
        return await asyncio.wait_for(main(), timeout)

    return asyncio.run(bounded())


class Reports:
    """Delivery reports of a confluent-kafka producer, by record index."""

    def __init__(self):
        self.pos: dict[int, tuple[int, int]] = {}
        self.errors: list[str] = []

    def cb(self, i: int):
        def on_delivery(err, msg):
            if err is not None:
                self.errors.append(f"record {i}: {err}")
            else:
                self.pos[i] = (msg.partition(), msg.offset())

        return on_delivery


def ck_produce(p: Producer, topic: str, i: int, reports: Reports, key, value, headers=(), partition=None) -> None:
    kwargs = {"on_delivery": reports.cb(i)}
    if key is not None:
        kwargs["key"] = key
    if headers:
        kwargs["headers"] = list(headers)
    if partition is not None:
        kwargs["partition"] = partition
    while True:
        try:
            p.produce(topic, value, **kwargs)
            break
        except BufferError:
            p.poll(0.05)
    p.poll(0)


def ck_finish(p: Producer, reports: Reports, n: int) -> None:
    assert p.flush(90) == 0, "flush timed out"
    assert not reports.errors, f"delivery errors: {reports.errors[:10]}"
    assert len(reports.pos) == n, f"{len(reports.pos)} delivery reports for {n} records"


# ------------------------------------------------------------------ 1, 2: 30 MB


def big_records(seed: int) -> list[tuple]:
    """~30 MB of (key, value, headers): 60 values of 100-420 KiB, 1100 of 1-24 KiB,
    15000 of 0-400 bytes (some null and empty), random and compressible content, keys
    null/empty/short/up to 8 KiB, headers on a fifth of them; shuffled."""
    rng = random.Random(seed)

    def body(n: int, i: int) -> bytes:
        if i % 2:
            return rng.randbytes(n)
        unit = f"record {i} lorem ipsum dolor sit amet ".encode()
        return (unit * (n // len(unit) + 1))[:n]

    values = [body(rng.randint(100 * KIB + 1, 420 * KIB), i) for i in range(60)]
    values += [body(rng.randint(KIB, 24 * KIB), i) for i in range(1100)]
    values += [body(rng.randint(0, 400), i) for i in range(15000)]
    values[70] = None
    values[5000] = None
    values[5001] = b""
    rng.shuffle(values)
    out = []
    for i, v in enumerate(values):
        r = rng.random()
        if r < 0.1:
            key = None
        elif r < 0.13:
            key = b""
        elif r < 0.16:
            key = rng.randbytes(rng.randint(KIB, 8 * KIB))
        else:
            key = b"key-%d" % i
        headers = ()
        if rng.random() < 0.2:
            headers = (("idx", str(i).encode()), ("blob", rng.randbytes(rng.randint(0, 64))), ("empty", b""))
        out.append((key, v, headers))
    return out


@pytest.fixture(scope="module")
def big_topic(dp_broker):
    """A topic of 8 partitions holding ~30 MB from a default confluent-kafka producer
    (key partitioning, sticky for null keys); returns (name, expected)."""
    bootstrap = dp_broker.bootstrap
    topic = f"dp-big-{dp_broker.extra_args[-1]}"
    ck.create_topic(bootstrap, topic, partitions=8)
    recs = big_records(1)
    p = Producer(ck.base_conf(bootstrap))
    reports = Reports()
    for i, (key, value, headers) in enumerate(recs):
        ck_produce(p, topic, i, reports, key, value, headers)
    ck_finish(p, reports, len(recs))
    expected: Expected = {}
    for i, (key, value, headers) in enumerate(recs):
        expected[reports.pos[i]] = (key, digest(value), norm_headers(headers))
    total = sum(len(v or b"") + len(k or b"") for k, v, _ in recs)
    assert total > 28 * KIB * KIB, total
    per = {p: sum(1 for pp, _ in expected if pp == p) for p in range(8)}
    assert all(per.values()), f"some partitions got nothing: {per}"
    for p in range(8):
        assert sorted(o for pp, o in expected if pp == p) == list(range(per[p])), f"partition {p} offsets not 0..n-1"
    return topic, expected


def test_confluent_tuned_large_fetches(dp_broker, big_topic):
    topic, expected = big_topic
    got = ck_read_all(dp_broker.bootstrap, topic, 8, expect=len(expected), **TUNED)
    check_read(got, expected, "confluent-kafka, 10 MiB/50 MiB fetches")


def test_confluent_default_fetches(dp_broker, big_topic):
    topic, expected = big_topic
    got = ck_read_all(dp_broker.bootstrap, topic, 8, expect=len(expected))
    check_read(got, expected, "confluent-kafka, default fetch sizes")


def test_kafka_python_defaults(dp_broker, big_topic):
    topic, expected = big_topic
    got = kp_read_all(dp_broker.bootstrap, topic, 8)
    check_read(got, expected, "kafka-python defaults")


def test_aiokafka_defaults(dp_broker, big_topic):
    topic, expected = big_topic
    got = aio_read_all(dp_broker.bootstrap, topic, 8)
    check_read(got, expected, "aiokafka defaults")


# ------------------------------------------------------------------ 3: segment ends


def segment_layout(data_dir: Path, topic: str, partition: int) -> list[tuple[int, list[tuple[int, int]]]]:
    """[(segment base offset, [(batch base offset, batch last offset)])] from the
    partition's `.log` files, oldest first."""
    (tdir,) = [d for d in (data_dir / "logs").iterdir() if d.name.rsplit("-", 1)[0] == topic]
    out = []
    for f in sorted((tdir / str(partition)).glob("*.log"), key=lambda f: int(f.stem)):
        data = f.read_bytes()
        pos = 0
        batches = []
        while pos + 27 <= len(data):
            base, length = struct.unpack_from(">qi", data, pos)
            if length <= 0:
                break
            (last_delta,) = struct.unpack_from(">i", data, pos + 23)
            batches.append((base, base + last_delta))
            pos += 12 + length
        assert pos == len(data), f"{f}: batches end at {pos}, file is {len(data)} bytes"
        assert batches and batches[0][0] == int(f.stem), f"{f}: first batch {batches[:1]}"
        out.append((int(f.stem), batches))
    return out


def start_offsets(layout, hw: int) -> list[int]:
    """Offsets to start reading from: 0, the last record, the last record of every
    segment and the first of the next, and the middle of batches spread over the log."""
    starts = {0, hw - 1}
    for base, _ in layout[1:]:
        starts |= {base - 1, base}
    multi = [b for _, bs in layout for b in bs if b[1] - b[0] >= 2]
    for base, last in multi[:: max(1, len(multi) // 5)]:
        starts |= {(base + last) // 2}
    return sorted(s for s in starts if 0 <= s < hw)


def read_until(layout, start: int, hw: int) -> int:
    """Read from `start` through the next segment boundary and 30 records more."""
    nxt = [base for base, _ in layout if base > start]
    return min(hw, (nxt[0] if nxt else hw) + 30)


def test_fetch_from_inside_batches_and_across_segments(dp_broker):
    bootstrap = dp_broker.bootstrap
    topic = f"dp-seg-{dp_broker.extra_args[-1]}"
    ck.create_topic(bootstrap, topic, partitions=2, config={"segment.bytes": "1048576"})
    rng = random.Random(3)
    expected: Expected = {}

    # Partition 0: a default kafka-python producer (idempotent, 16 KiB batches), with a
    # 150 KiB record every 500.
    kp = KafkaProducer(bootstrap_servers=bootstrap)
    futs = []
    for i in range(3000):
        value = rng.randbytes(150 * KIB if i % 500 == 250 else rng.randint(100, 1500))
        headers = [("i", str(i).encode())] if i % 3 == 0 else []
        key = b"kp-%d" % i
        futs.append((key, value, headers, kp.send(topic, value=value, key=key, headers=headers, partition=0)))
    kp.flush(60)
    for key, value, headers, f in futs:
        md = f.get(timeout=30)
        expected[(0, md.offset)] = (key, digest(value), norm_headers(headers))
    kp.close()

    # Partition 1: a default confluent-kafka producer, flushed after bursts of varied
    # sizes, so batches go from one record to ~600 KiB.
    p = Producer(ck.base_conf(bootstrap))
    reports = Reports()
    recs = []
    i = 0
    for burst in [1, 250, 5, 600, 40, 1, 300, 2, 800, 60, 3, 400, 30, 500, 8]:
        for _ in range(burst):
            value = rng.randbytes(rng.randint(10, 2000) if i % 97 else 40 * KIB)
            recs.append((b"ck-%d" % i, value))
            ck_produce(p, topic, i, reports, b"ck-%d" % i, value, partition=1)
            i += 1
        assert p.flush(30) == 0
    ck_finish(p, reports, len(recs))
    for j, (key, value) in enumerate(recs):
        expected[reports.pos[j]] = (key, digest(value), ())

    for part in (0, 1):
        hw = ck.watermarks(bootstrap, topic, part)[1]
        assert sorted(o for pp, o in expected if pp == part) == list(range(hw)), f"partition {part} offsets"
        layout = segment_layout(dp_broker.data_dir, topic, part)
        assert len(layout) >= 3, f"partition {part}: only {len(layout)} segments"
        flat = [b for _, bs in layout for b in bs]
        assert [b[0] for b in flat] == [0] + [b[1] + 1 for b in flat[:-1]], f"partition {part}: batches not contiguous"
        assert flat[-1][1] == hw - 1
        starts = start_offsets(layout, hw)
        mid_batch = [s for s in starts if any(b < s <= last for b, last in flat)]
        assert len(mid_batch) >= 4, (part, starts)

        # confluent-kafka with its defaults, and tuned for throughput: assign, then seek
        # to each start.
        for conf in ({}, TUNED):
            c = ck.consumer(bootstrap, **conf)
            try:
                c.assign([TopicPartition(topic, part, starts[0])])
                for n, start in enumerate(starts):
                    if n:
                        c.seek(TopicPartition(topic, part, start))
                    until = read_until(layout, start, hw)
                    got = []
                    deadline = time.monotonic() + 20
                    while not got or got[-1][1] < until - 1:
                        assert time.monotonic() < deadline, (
                            f"confluent {conf or 'defaults'}: from {start} got {len(got)} records, wanted up to {until}"
                        )
                        for m in c.consume(num_messages=1000, timeout=0.05):
                            if m.error() is not None:
                                assert m.error().code() == KafkaError._PARTITION_EOF, m.error()
                                continue
                            got.append(ck_row(m))
                    got = [g for g in got if g[1] < until]
                    what = f"partition {part} confluent {conf or 'defaults'} from {start}"
                    assert got[0][1] == start, f"{what}: first record at offset {got[0][1]}"
                    check_read(got, {(part, o): expected[(part, o)] for o in range(start, until)}, what)
            finally:
                c.close()

        # kafka-python with its defaults.
        c = KafkaConsumer(bootstrap_servers=bootstrap)
        try:
            tp = KpTP(topic, part)
            c.assign([tp])
            for start in starts:
                c.seek(tp, start)
                until = read_until(layout, start, hw)
                got = []
                deadline = time.monotonic() + 20
                while c.position(tp) < until:
                    assert time.monotonic() < deadline, f"kafka-python: from {start} got {len(got)} records"
                    for _, recs_ in c.poll(timeout_ms=500).items():
                        got += [(part, r.offset, r.key, digest(r.value), norm_headers(r.headers)) for r in recs_]
                got = [g for g in got if g[1] < until]
                what = f"partition {part} kafka-python from {start}"
                assert got and got[0][1] == start, f"{what}: first record {got[:1]}"
                check_read(got, {(part, o): expected[(part, o)] for o in range(start, until)}, what)
        finally:
            c.close()


# ------------------------------------------------------------------ 4: read_committed


def watermarks_uncommitted(bootstrap: str, topic: str, partition: int) -> tuple[int, int]:
    c = ck.consumer(bootstrap, **{"isolation.level": "read_uncommitted"})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10, cached=False)
    finally:
        c.close()


def test_read_committed_stops_at_lso_and_skips_aborted(dp_broker):
    bootstrap = dp_broker.bootstrap
    topic = f"dp-txn-{dp_broker.extra_args[-1]}"
    ck.create_topic(bootstrap, topic, partitions=2)
    rng = random.Random(4)
    tps = [TopicPartition(topic, p) for p in (0, 1)]

    def txn_producer(tid: str) -> Producer:
        p = Producer(ck.base_conf(bootstrap, **{"transactional.id": f"{tid}-{dp_broker.extra_args[-1]}"}))
        p.init_transactions(30)
        return p

    def write(p: Producer, tag: str, n: int) -> Expected:
        """n records alternating over both partitions (a third of them 30 KiB), flushed
        (stored, whatever the transaction's outcome); their expected entries."""
        reports = Reports()
        recs = []
        for i in range(n):
            value = rng.randbytes(30 * KIB if i % 3 == 0 else rng.randint(20, 300))
            key = f"{tag}-{i}".encode()
            headers = (("tag", tag.encode()),)
            recs.append((key, value, headers))
            ck_produce(p, topic, i, reports, key, value, headers, partition=i % 2)
        ck_finish(p, reports, n)
        return {reports.pos[i]: (k, digest(v), norm_headers(h)) for i, (k, v, h) in enumerate(recs)}

    def first_offsets(recs: Expected) -> list[int]:
        return [min(o for p, o in recs if p == part) for part in (0, 1)]

    a = txn_producer("dp-a")
    b = txn_producer("dp-b")
    a.begin_transaction()
    t1 = write(a, "t1", 300)
    a.commit_transaction(30)

    # A's transaction and B's, interleaved in both partitions, left open.
    a.begin_transaction()
    b.begin_transaction()
    t2a = write(a, "t2a", 100)
    t3a = write(b, "t3a", 100)
    t2b = write(a, "t2b", 100)
    t3b = write(b, "t3b", 100)
    lso_open = first_offsets(t2a)

    c = ck.consumer(bootstrap, **{"isolation.level": "read_committed", **TUNED})
    try:
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in (0, 1)])
        eof_at: dict[int, int] = {}
        got = ck_drain(c, {0, 1}, expect=len(t1), quiet=1.0, eof_at=eof_at)
        check_read(got, t1, "read_committed with two transactions open")
        assert [eof_at[p] for p in (0, 1)] == lso_open, f"fetching ended at {eof_at}, not at the LSO"
        # ListOffsets: the LSO for read_committed, the high watermark beyond it.
        for p in (0, 1):
            assert c.get_watermark_offsets(tps[p], timeout=10, cached=False)[1] == lso_open[p]
            hw = watermarks_uncommitted(bootstrap, topic, p)[1]
            assert hw > lso_open[p] + 100, (p, hw, lso_open)

        # A aborts: the LSO moves to B's first record; A's records below it are skipped.
        a.abort_transaction(30)
        eof_at.clear()
        got = ck_drain(c, {0, 1}, quiet=1.0, eof_at=eof_at)
        assert got == [], f"records delivered after A aborted: {got[:5]}"
        assert [eof_at[p] for p in (0, 1)] == first_offsets(t3a), f"fetching ended at {eof_at}, not at B's first offset"

        # B commits: its records arrive, A's aborted ones between them never do.
        b.commit_transaction(30)
        t3 = {**t3a, **t3b}
        got = ck_drain(c, {0, 1}, expect=len(t3), quiet=0.5)
        check_read(got, t3, "read_committed after B committed")

        # A commits a later transaction: delivered.
        a.begin_transaction()
        t4 = write(a, "t4", 150)
        a.commit_transaction(30)
        got = ck_drain(c, {0, 1}, expect=len(t4), quiet=0.5)
        check_read(got, t4, "read_committed after A's next commit")
    finally:
        c.close()

    committed = {**t1, **t3, **t4}
    everything = {**committed, **t2a, **t2b}
    got = ck_read_all(bootstrap, topic, 2, expect=len(committed), **TUNED)
    check_read(got, committed, "fresh read_committed consumer, 10 MiB fetches")
    got = ck_read_all(bootstrap, topic, 2, expect=len(committed))
    check_read(got, committed, "fresh read_committed consumer, default fetches")
    got = ck_read_all(bootstrap, topic, 2, expect=len(everything), **{"isolation.level": "read_uncommitted"})
    check_read(got, everything, "read_uncommitted consumer")
    got = kp_read_all(bootstrap, topic, 2, isolation_level="read_committed")
    check_read(got, committed, "kafka-python read_committed")
    got = aio_read_all(bootstrap, topic, 2, isolation_level="read_committed")
    check_read(got, committed, "aiokafka read_committed")


# ------------------------------------------------------------------ 5: pipelined produce


def test_pipelined_mixed_produce(dp_broker):
    """One default confluent-kafka producer: 50k small records with a 900 KiB record
    every 2500, over 4 partitions; a consumer tails the topic while it is written."""
    bootstrap = dp_broker.bootstrap
    topic = f"dp-pipe-{dp_broker.extra_args[-1]}"
    ck.create_topic(bootstrap, topic, partitions=4)
    rng = random.Random(5)
    recs = []
    for i in range(50_000):
        recs.append((b"s-%d" % i, rng.randbytes(rng.randint(20, 200))))
        if i % 2500 == 1234:
            recs.append((b"big-%d" % i, rng.randbytes(900 * KIB)))
    n_big = sum(1 for k, _ in recs if k.startswith(b"big"))

    tail: list = []
    tail_error: list = []
    stop = threading.Event()

    def tailer():
        c = ck.consumer(bootstrap)
        try:
            c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(4)])
            while len(tail) < len(recs) and not stop.is_set():
                for m in c.consume(num_messages=5000, timeout=0.2):
                    if m.error() is None:
                        tail.append(ck_row(m))
                    elif m.error().code() != KafkaError._PARTITION_EOF:
                        tail_error.append(str(m.error()))
                        return
        except Exception as e:  # reported by the test thread
            tail_error.append(repr(e))
        finally:
            c.close()

    t = threading.Thread(target=tailer, daemon=True)
    t.start()
    try:
        p = Producer(ck.base_conf(bootstrap))
        reports = Reports()
        for i, (key, value) in enumerate(recs):
            ck_produce(p, topic, i, reports, key, value)
        ck_finish(p, reports, len(recs))
        t.join(60)
    finally:
        stop.set()
        t.join(10)
    assert not tail_error, f"tailing consumer: {tail_error}"

    expected: Expected = {reports.pos[i]: (k, digest(v), ()) for i, (k, v) in enumerate(recs)}
    for part in range(4):
        order = [i for i in range(len(recs)) if reports.pos[i][0] == part]
        offs = [reports.pos[i][1] for i in order]
        assert offs == list(range(len(offs))), f"partition {part}: offsets not 0..n-1 in produce order"
    bigs = {reports.pos[i][0] for i, (k, _) in enumerate(recs) if k.startswith(b"big")}
    assert n_big == 20 and len(bigs) >= 2, (n_big, bigs)
    check_read(tail, expected, "consumer tailing the topic during the produce")
    got = ck_read_all(bootstrap, topic, 4, expect=len(expected), **TUNED)
    check_read(got, expected, "confluent-kafka afterwards, 10 MiB fetches")
