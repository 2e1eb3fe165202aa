"""The log lifecycle against a real rill broker: retention, DeleteRecords,
DescribeLogDirs, the record rules Produce enforces, and compression.type.

Clients keep their defaults (confluent-kafka / librdkafka, kafka-python 3 admin,
producer and consumer, KafkaJS through kafkajs/lifecycle.js). Expected behaviour is
Kafka 4's:

* retention.ms / retention.bytes delete whole old segments in a background pass every
  `log.retention.check.interval.ms` (`--log-retention-check-interval-ms`, 200 ms
  here). Time is measured from a segment's newest record timestamp (CreateTime), so
  records produced with old timestamps expire at the next pass; when everything has
  expired the active segment is rolled first and the low watermark reaches the high
  watermark. Size retention deletes the oldest sealed segments while what remains is
  still at least retention.bytes. Topics whose cleanup.policy lacks `delete` are not
  touched. The low watermark is what ListOffsets EARLIEST answers, and a fetch below it
  gets OFFSET_OUT_OF_RANGE (the consumer then resets per auto.offset.reset).
* DeleteRecords moves the low watermark (-1: to the high watermark; a lower offset is
  a no-op; beyond the high watermark OFFSET_OUT_OF_RANGE; a compact-only topic
  POLICY_VIOLATION) and survives restarts, kill -9 included.
* DescribeLogDirs: one log dir (the data dir's `logs`) with each partition's size in
  bytes (the sum of its segment files) and the file system's total and usable bytes.
* Produce: keyless records on a compacted topic fail the whole batch with
  INVALID_RECORD (record_errors name the records, "without key"); CreateTime
  timestamps outside message.timestamp.{before,after}.max.ms fail with
  INVALID_TIMESTAMP.
* compression.type other than `producer`: batches are stored re-encoded with that
  codec (checked with raw Fetch requests), and every client decodes them.

Sizes and segment files are cross-checked on disk: the log dir DescribeLogDirs names
is the broker's real one (`logs/<topic>-<id>/<partition>/<base>.log`).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_STORED, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, OffsetSpec, ResourceType
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KpTP
from kafka import errors as kp_errors
from kafka.protocol.admin import IncrementalAlterConfigsRequest

import ck
from ck import Rec

KJS_DIR = Path(__file__).resolve().parent / "kafkajs"
HAVE_KAFKAJS = shutil.which("node") is not None and (KJS_DIR / "node_modules" / "kafkajs").is_dir()
needs_kafkajs = pytest.mark.skipif(
    not HAVE_KAFKAJS, reason="node or compat/kafkajs/node_modules missing (run npm ci in compat/kafkajs)"
)

CHECK_MS = 200
RETENTION_ARGS = ["--log-retention-check-interval-ms", str(CHECK_MS)]
MIN = 60_000
OFFSET_OUT_OF_RANGE = 1
CODEC_ID = {"uncompressed": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture
def lbroker(broker_factory) -> str:
    """An ephemeral broker whose retention pass runs every 200 ms."""
    return broker_factory(extra_args=RETENTION_ARGS).bootstrap


def wait_for(what: str, fn, timeout: float = 10.0, interval: float = 0.05):
    """Polls fn() until it returns something truthy; returns it. Fails with the last
    value seen."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def wait_watermarks(bootstrap: str, topic: str, want: tuple[int, int], partition: int = 0, timeout: float = 10.0):
    seen = []

    def check():
        seen.append(ck.watermarks(bootstrap, topic, partition))
        return seen[-1] == want

    try:
        wait_for(f"{topic}/{partition} watermarks {want}", check, timeout, interval=0.1)
    except AssertionError:
        raise AssertionError(f"{topic}/{partition}: watermarks never became {want}; last {seen[-1:]}") from None


# ------------------------------------------------------------------ producing


def recs(n: int, ts: int | None, tag: str, value_len: int = 40, partition: int = 0) -> list[Rec]:
    """n keyed records with fixed-size values (so batches of the same n are the same
    size), each with one header."""
    out = []
    for i in range(n):
        body = f"{tag} {i:04d} ".encode()
        value = (body * (value_len // len(body) + 1))[:value_len]
        out.append(Rec(partition, f"{tag}-{i:04d}".encode(), value, [("i", str(i).encode())], ts))
    return out


def produce_batches(bootstrap: str, topic: str, batches: list[list[Rec]], **conf) -> list[Rec]:
    """One produce request (one batch) per list: each is flushed before the next."""
    p = ck.producer(bootstrap, **conf)
    out = []
    for b in batches:
        out += ck.produce_records(p, topic, b)
    return out


def produce_outcomes(bootstrap: str, topic: str, batch: list[tuple[bytes | None, int | None]], **conf) -> list:
    """Produces (key, timestamp) records as one batch; returns each delivery report's
    error (None) or the offset."""
    p = ck.producer(bootstrap, **conf)
    got: list = [None] * len(batch)
    for i, (key, ts) in enumerate(batch):

        def cb(err, msg, i=i):
            got[i] = err if err is not None else msg.offset()

        kwargs = {"partition": 0, "on_delivery": cb}
        if key is not None:
            kwargs["key"] = key
        if ts is not None:
            kwargs["timestamp"] = ts
        p.produce(topic, b"value %d" % i, **kwargs)
    assert p.flush(30) == 0
    return got


def kafka_error(outcome) -> int | None:
    return outcome.code() if isinstance(outcome, KafkaError) else None


# ------------------------------------------------------------------ offsets


def list_offset(bootstrap: str, topic: str, spec, partition: int = 0) -> int:
    a = ck.admin(bootstrap)
    tp = TopicPartition(topic, partition)
    (fut,) = a.list_offsets({tp: spec}, request_timeout=15).values()
    return fut.result(timeout=20).offset


def ck_alter_topic(bootstrap: str, topic: str, **configs) -> None:
    entries = [
        ConfigEntry(k.replace("_", "."), str(v), incremental_operation=AlterConfigOpType.SET)
        for k, v in configs.items()
    ]
    a = ck.admin(bootstrap)  # kept alive until the future completes
    (fut,) = a.incremental_alter_configs(
        [ConfigResource(ResourceType.TOPIC, topic, incremental_configs=entries)], request_timeout=15
    ).values()
    fut.result(timeout=20)


def ck_delete_records(bootstrap: str, tps: list[TopicPartition]) -> dict[int, object]:
    """partition -> low watermark (int) or the KafkaError."""
    a = ck.admin(bootstrap)  # kept alive until the futures complete
    futs = a.delete_records(tps, request_timeout=15)
    out = {}
    for tp, fut in futs.items():
        try:
            out[tp.partition] = fut.result(timeout=20).low_watermark
        except KafkaException as e:
            out[tp.partition] = e.args[0]
    return out


# ------------------------------------------------------------------ kafka-python


def kp_admin(bootstrap: str) -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)


def kp_log_dirs(admin: KafkaAdminClient, topic_partitions=None) -> dict:
    """The single broker's single log dir from DescribeLogDirs, with
    `sizes` {(topic, partition): bytes} added."""
    resp = admin.describe_log_dirs(topic_partitions=topic_partitions)
    assert [r["broker"] for r in resp] == [1], resp
    (d,) = resp[0]["log_dirs"]
    assert d["error_code"] == 0, d
    d["sizes"] = {(t["name"], p["partition_index"]): p["partition_size"] for t in d["topics"] for p in t["partitions"]}
    return d


def segment_files(log_dir: str, topic: str, partition: int = 0) -> list[tuple[int, int]]:
    """[(base offset, size)] of the partition's `.log` files on disk, oldest first."""
    (tdir,) = [p for p in Path(log_dir).iterdir() if p.name.rsplit("-", 1)[0] == topic]
    return sorted((int(f.stem), f.stat().st_size) for f in (tdir / str(partition)).glob("*.log"))


def kp_consume(bootstrap: str, topic: str, start: int, expect: int, **conf) -> list:
    """kafka-python consumer assigned to partition 0, positioned at `start`; returns
    the first `expect` records it reads."""
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **conf)
    try:
        tp = KpTP(topic, 0)
        c.assign([tp])
        c.seek(tp, start)
        got = []
        deadline = time.monotonic() + 20
        while len(got) < expect and time.monotonic() < deadline:
            for batch in c.poll(timeout_ms=200).values():
                got += batch
        assert len(got) >= expect, f"kafka-python read {len(got)} of {expect} records of {topic}"
        return got[:expect]
    finally:
        c.close()


def kp_send(admin: KafkaAdminClient, request):
    async def go():
        return await admin._manager.send(request)

    return admin._manager.run(go)


def set_cluster_default(bootstrap: str, key: str, value: str) -> None:
    """IncrementalAlterConfigs SET on BROKER "" (the cluster-wide default), through
    kafka-python's protocol layer: no admin API addresses the empty broker name."""
    a = kp_admin(bootstrap)
    try:
        resp = kp_send(a, IncrementalAlterConfigsRequest(resources=[(4, "", [(key, 0, value)])], validate_only=False))
        (r,) = resp.responses
        assert (r.error_code, r.error_message) == (0, None), r
    finally:
        a.close()


# ------------------------------------------------------------------ raw Fetch


def raw_fetch(bootstrap: str, topic: str, offset: int, partition: int = 0) -> dict:
    """One Fetch v5 for one partition, no client library in between. Returns
    error, high_watermark, log_start_offset, the stored batches as
    [(base offset, last offset, codec)] and their record bodies (`frames`, compressed
    as stored)."""
    host, port = bootstrap.rsplit(":", 1)
    t = topic.encode()
    body = struct.pack(">iiiib", -1, 100, 1, 16 << 20, 0)
    body += struct.pack(">ih", 1, len(t)) + t + struct.pack(">iiqqi", 1, partition, offset, -1, 16 << 20)
    client = b"rill-compat-lifecycle"
    req = struct.pack(">hhih", 1, 5, 7, len(client)) + client + body
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        sock.sendall(struct.pack(">i", len(req)) + req)
        size = struct.unpack(">i", _recv_exact(sock, 4))[0]
        buf = _recv_exact(sock, size)
    pos = 0

    def take(fmt):
        nonlocal pos
        vals = struct.unpack_from(fmt, buf, pos)
        pos += struct.calcsize(fmt)
        return vals

    corr, _throttle, ntopics = take(">iii")
    assert (corr, ntopics) == (7, 1)
    (tlen,) = take(">h")
    pos += tlen
    (nparts,) = take(">i")
    assert nparts == 1
    _p, err, hw, _lso, log_start, naborted = take(">ihqqqi")
    pos += max(naborted, 0) * 16
    (rlen,) = take(">i")
    records = buf[pos : pos + max(rlen, 0)]
    batches, frames = [], []
    bpos = 0
    while bpos + 61 <= len(records):
        base, length = struct.unpack_from(">qi", records, bpos)
        if bpos + 12 + length > len(records):
            break
        magic, attrs, last_delta = struct.unpack_from(">bxxxxhi", records, bpos + 16)
        assert magic == 2
        batches.append((base, base + last_delta, attrs & 7))
        frames.append(records[bpos + 61 : bpos + 12 + length])
        bpos += 12 + length
    return {"error": err, "high_watermark": hw, "log_start_offset": log_start, "batches": batches, "frames": frames}


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        out += chunk
    return bytes(out)


# ------------------------------------------------------------------ kafkajs


def run_kjs(scenario: str, bootstrap: str, topic: str, *args, timeout: float = 60) -> dict:
    cmd = ["node", str(KJS_DIR / "lifecycle.js"), scenario, bootstrap, topic, *map(str, args)]
    proc = subprocess.run(cmd, cwd=KJS_DIR, capture_output=True, text=True, timeout=timeout)
    results = [line[len("RESULT ") :] for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and len(results) == 1, (
        f"kafkajs lifecycle scenario {scenario!r} failed (exit {proc.returncode})\n"
        f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-6000:]}"
    )
    return json.loads(results[0])


# =================================================================== retention


def test_retention_by_time_moves_low_watermark_to_end(lbroker, topic):
    """Records whose CreateTime is past retention.ms go at the next pass, the active
    segment included (rolled first): low watermark == high watermark, ListOffsets
    EARLIEST follows, and the log keeps taking records at the same offsets. Fresh
    records survive later passes."""
    b = lbroker
    ck.create_topic(b, topic, config={"retention.ms": str(MIN)})
    old = now_ms() - 10 * MIN
    produce_batches(b, topic, [recs(5, old + i, f"old{i}") for i in range(3)])
    wait_watermarks(b, topic, (15, 15))
    assert list_offset(b, topic, OffsetSpec.earliest()) == 15
    assert list_offset(b, topic, OffsetSpec.latest()) == 15

    fresh = produce_batches(b, topic, [recs(4, now_ms(), "fresh")])
    assert [r.offset for r in fresh] == [15, 16, 17, 18]
    time.sleep(5 * CHECK_MS / 1000)  # several more passes
    assert ck.watermarks(b, topic, 0) == (15, 19)
    assert list_offset(b, topic, OffsetSpec.earliest()) == 15
    # A timestamp older than everything left: the first remaining offset.
    assert list_offset(b, topic, OffsetSpec.for_timestamp(old)) == 15
    ck.assert_records(ck.consume_all(b, topic, 1, expect=4), fresh)


def test_retention_by_time_keeps_newer_segments_and_consumers_reset(lbroker, topic):
    """With small segments, only the segments whose newest record is expired go; the
    low watermark lands on the first kept segment. A fetch below it gets
    OFFSET_OUT_OF_RANGE (raw Fetch) and consumers reset per auto.offset.reset:
    earliest (librdkafka by assignment and from a committed offset, kafka-python) start
    at the new low watermark, latest at the end, error reports the reset."""
    b = lbroker
    ck.create_topic(b, topic, config={"retention.ms": str(MIN), "segment.bytes": "1024"})
    old = now_ms() - 10 * MIN
    # Each 4-record batch is > 1024 bytes: one segment per batch.
    produce_batches(b, topic, [recs(4, old, f"old{i}", 300) for i in range(6)])
    # A group commits offset 5 (the records there are about to expire).
    group = f"g-{topic}"
    c = ck.consumer(b, **{"group.id": group})
    c.commit(offsets=[TopicPartition(topic, 0, 5)], asynchronous=False)
    c.close()
    fresh = produce_batches(b, topic, [recs(4, now_ms(), f"new{i}", 300) for i in range(3)])
    assert fresh[0].offset == 24
    wait_watermarks(b, topic, (24, 36))
    assert list_offset(b, topic, OffsetSpec.earliest()) == 24

    raw = raw_fetch(b, topic, 10)
    assert (raw["error"], raw["log_start_offset"], raw["high_watermark"]) == (OFFSET_OUT_OF_RANGE, 24, 36), raw
    assert raw_fetch(b, topic, 24)["batches"][0][:2] == (24, 27)

    # librdkafka, assigned at offset 0, auto.offset.reset=earliest.
    got = ck.consume_all(b, topic, [0], start=0, expect=12, **{"auto.offset.reset": "earliest"})
    ck.assert_records(got, fresh)
    # ... from the group's committed offset 5 (below the low watermark).
    got = ck.consume_all(
        b, topic, [0], start=OFFSET_STORED, expect=12, **{"auto.offset.reset": "earliest", "group.id": group}
    )
    ck.assert_records(got, fresh)
    # kafka-python, positioned at 0.
    kp = kp_consume(b, topic, 0, 12, auto_offset_reset="earliest")
    assert [(m.offset, m.key, m.value) for m in kp] == [(r.offset, r.key, r.value) for r in fresh]

    # auto.offset.reset=latest: nothing old, then what is produced next.
    c = ck.consumer(b, **{"auto.offset.reset": "latest"})
    try:
        c.assign([TopicPartition(topic, 0, 3)])
        seen = []

        def at_eof():
            msgs = c.consume(10, 0.2)
            seen.extend(m.offset() for m in msgs if m.error() is None)
            return any(m.error() is not None and m.error().code() == KafkaError._PARTITION_EOF for m in msgs)

        wait_for("the latest reset to reach the end", at_eof)
        assert seen == [], f"auto.offset.reset=latest still delivered old offsets {seen}"
        (late,) = produce_batches(b, topic, [recs(1, now_ms(), "late")])
        msgs = wait_for(
            "the record produced after the reset", lambda: [m for m in c.consume(10, 0.2) if m.error() is None]
        )
        assert [(m.offset(), m.key()) for m in msgs] == [(36, late.key)]
    finally:
        c.close()

    # auto.offset.reset=error: librdkafka reports the broker's OFFSET_OUT_OF_RANGE.
    c = ck.consumer(b, **{"auto.offset.reset": "error"})
    try:
        c.assign([TopicPartition(topic, 0, 3)])
        errs = wait_for(
            "an auto offset reset error",
            lambda: [
                m.error()
                for m in c.consume(10, 0.2)
                if m.error() is not None and m.error().code() != KafkaError._PARTITION_EOF
            ],
        )
        assert errs[0].code() == KafkaError._AUTO_OFFSET_RESET, errs[0]
        assert "out of range" in errs[0].str().lower(), errs[0].str()
    finally:
        c.close()


@needs_kafkajs
def test_retention_by_size(lbroker, topic):
    """retention.bytes set on a live topic: the oldest sealed segments go while what
    is left is still at least retention.bytes (Kafka's rule, checked against the
    segment files on disk); DescribeLogDirs (kafka-python) shrinks to the kept files;
    ListOffsets EARLIEST, librdkafka's watermarks and KafkaJS's fetchTopicOffsets show
    the new low watermark; a consumer from the beginning gets exactly the kept records."""
    b = lbroker
    ck.create_topic(b, topic, config={"segment.bytes": "1024"})
    produced = produce_batches(b, topic, [recs(4, now_ms(), f"b{i}", 300) for i in range(10)])
    a = kp_admin(b)
    try:
        d = kp_log_dirs(a, {topic: [0]})
        before = segment_files(d["log_dir"], topic)
        assert [base for base, _ in before] == list(range(0, 40, 4)), before
        assert d["sizes"] == {(topic, 0): sum(s for _, s in before)}
        total = sum(s for _, s in before)
        assert total > 10 * 1024

        limit = 4000
        # Kafka: drop the oldest sealed segment while the rest stays >= retention.bytes.
        excess, kept = total - limit, list(before)
        while len(kept) > 1 and excess - kept[0][1] >= 0:
            excess -= kept[0][1]
            kept.pop(0)
        low = kept[0][0]
        assert 0 < low < 36

        ck_alter_topic(b, topic, retention_bytes=limit)
        wait_watermarks(b, topic, (low, 40))
        time.sleep(3 * CHECK_MS / 1000)  # later passes delete nothing more
        assert segment_files(d["log_dir"], topic) == kept
        after = kp_log_dirs(a, {topic: [0]})["sizes"][(topic, 0)]
        assert after == sum(s for _, s in kept) and limit <= after < total
    finally:
        a.close()
    assert ck.watermarks(b, topic, 0) == (low, 40)
    assert list_offset(b, topic, OffsetSpec.earliest()) == low
    assert run_kjs("offsets", b, topic)["offsets"] == [[0, low, 40]]
    ck.assert_records(ck.consume_all(b, topic, 1, expect=40 - low), produced[low:])


def test_retention_from_cluster_default_and_cleanup_policy(lbroker, topic):
    """log.retention.ms set on BROKER "" (cluster default) applies to topics without
    their own retention.ms: `delete` and `compact,delete` topics lose their expired
    records, a `compact` topic keeps them. Before the change, Kafka's 7-day default
    keeps 10-minute-old records."""
    b = lbroker
    topics = {"delete": f"{topic}-d", "compact": f"{topic}-c", "compact,delete": f"{topic}-cd"}
    old = now_ms() - 10 * MIN
    for policy, t in topics.items():
        ck.create_topic(b, t, config={"cleanup.policy": policy})
        produce_batches(b, t, [recs(5, old, policy)])
    time.sleep(3 * CHECK_MS / 1000)
    assert {t: ck.watermarks(b, t, 0) for t in topics.values()} == {t: (0, 5) for t in topics.values()}

    set_cluster_default(b, "log.retention.ms", str(MIN))
    wait_watermarks(b, topics["delete"], (5, 5))
    wait_watermarks(b, topics["compact,delete"], (5, 5))
    time.sleep(3 * CHECK_MS / 1000)
    assert ck.watermarks(b, topics["compact"], 0) == (0, 5)
    assert len(ck.consume_all(b, topics["compact"], 1, expect=5)) == 5


# =================================================================== DeleteRecords


@pytest.mark.needs("delete-records")  # DeleteRecords
def test_delete_records_confluent(lbroker, topic):
    """AdminClient.delete_records: the returned low watermark, watermarks and
    ListOffsets EARLIEST follow, a consumer from the beginning sees only the records
    from there; a lower offset changes nothing; -1 (OFFSET_END) empties the partition;
    beyond the end OFFSET_OUT_OF_RANGE; a `compact` topic POLICY_VIOLATION, a
    `compact,delete` one is allowed."""
    b = lbroker
    ck.create_topic(b, topic, partitions=2)
    p0 = produce_batches(b, topic, [recs(10, now_ms(), f"a{i}") for i in range(3)])
    produce_batches(b, topic, [recs(10, now_ms(), "p1", partition=1)])

    assert ck_delete_records(b, [TopicPartition(topic, 0, 10), TopicPartition(topic, 1, -1)]) == {0: 10, 1: 10}
    assert ck.watermarks(b, topic, 0) == (10, 30)
    assert ck.watermarks(b, topic, 1) == (10, 10)
    assert list_offset(b, topic, OffsetSpec.earliest()) == 10
    ck.assert_records(ck.consume_all(b, topic, [0], expect=20), p0[10:])

    assert ck_delete_records(b, [TopicPartition(topic, 0, 4)]) == {0: 10}, "a lower offset is a no-op"
    (err,) = ck_delete_records(b, [TopicPartition(topic, 0, 31)]).values()
    assert kafka_error(err) == KafkaError.OFFSET_OUT_OF_RANGE, err
    assert ck.watermarks(b, topic, 0) == (10, 30)

    assert ck_delete_records(b, [TopicPartition(topic, 0, 30)]) == {0: 30}
    assert ck.watermarks(b, topic, 0) == (30, 30)
    (late,) = produce_batches(b, topic, [recs(1, now_ms(), "late")])
    assert late.offset == 30
    ck.assert_records(ck.consume_all(b, topic, [0], expect=1), [late])

    for policy, allowed in (("compact", False), ("compact,delete", True)):
        t = f"{topic}-{policy.replace(',', '-')}"
        ck.create_topic(b, t, config={"cleanup.policy": policy})
        produce_batches(b, t, [recs(3, now_ms(), policy)])
        (res,) = ck_delete_records(b, [TopicPartition(t, 0, 2)]).values()
        if allowed:
            assert res == 2
            assert ck.watermarks(b, t, 0) == (2, 3)
        else:
            assert kafka_error(res) == KafkaError.POLICY_VIOLATION, res
            assert ck.watermarks(b, t, 0) == (0, 3)


@pytest.mark.needs("delete-records")  # DeleteRecords
def test_kafka_python_delete_records_and_describe_log_dirs(lbroker, topic):
    """kafka-python admin: describe_log_dirs (one dir, the broker's `logs`, sizes per
    partition = the segment files on disk, 0 for an empty partition, growing with
    produce; total/usable bytes of the file system), delete_records (low watermark,
    whole segments below it deleted and the size shrinking by them) and its errors."""
    b = lbroker
    ck.create_topic(b, topic, partitions=2, config={"segment.bytes": "1024"})
    produce_batches(b, topic, [recs(4, now_ms(), f"b{i}", 300) for i in range(4)])
    a = kp_admin(b)
    try:
        d = kp_log_dirs(a, {topic: [0, 1]})
        log_dir = d["log_dir"]
        assert Path(log_dir).name == "logs" and Path(log_dir).is_dir(), log_dir
        files = segment_files(log_dir, topic)
        assert len(files) == 4
        size0 = sum(s for _, s in files)
        assert d["sizes"] == {(topic, 0): size0, (topic, 1): 0}
        st = os.statvfs(log_dir)
        assert d["total_bytes"] == st.f_blocks * st.f_frsize
        assert 0 < d["usable_bytes"] <= d["total_bytes"]
        # Without a filter: every topic, this one included.
        assert kp_log_dirs(a)["sizes"][(topic, 0)] == size0

        produce_batches(b, topic, [recs(4, now_ms(), f"c{i}", 300) for i in range(4)])
        size1 = kp_log_dirs(a, {topic: [0]})["sizes"][(topic, 0)]
        assert size1 > size0 and size1 == sum(s for _, s in segment_files(log_dir, topic))

        res = a.delete_records({KpTP(topic, 0): 13})
        assert {tp: (r["low_watermark"], r["error_code"]) for tp, r in res.items()} == {KpTP(topic, 0): (13, 0)}
        files = segment_files(log_dir, topic)
        assert [base for base, _ in files] == [12, 16, 20, 24, 28], "segments wholly below 13 are deleted"
        size2 = kp_log_dirs(a, {topic: [0]})["sizes"][(topic, 0)]
        assert size2 == sum(s for _, s in files) < size1

        with pytest.raises(kp_errors.OffsetOutOfRangeError):
            a.delete_records({KpTP(topic, 0): 33})
        # Sent to the broker as asked (kafka-python otherwise fails locally without a leader).
        with pytest.raises(kp_errors.UnknownTopicOrPartitionError):
            a.delete_records({KpTP(topic, 7): 0}, partition_leader_id=1)
        with pytest.raises(kp_errors.UnknownTopicOrPartitionError):
            a.delete_records({KpTP(f"{topic}-missing", 0): 0}, partition_leader_id=1)
        ck.create_topic(b, f"{topic}-c", config={"cleanup.policy": "compact"})
        with pytest.raises(kp_errors.PolicyViolationError):
            a.delete_records({KpTP(f"{topic}-c", 0): 0})
    finally:
        a.close()
    assert ck.watermarks(b, topic, 0) == (13, 32)


@pytest.mark.needs("delete-records")  # DeleteRecords
@needs_kafkajs
def test_kafkajs_delete_topic_records(lbroker, topic):
    """KafkaJS admin.deleteTopicRecords: to 5, below the low watermark (KafkaJS warns,
    nothing changes), past the end (OFFSET_OUT_OF_RANGE), to -1; a compacted topic is
    refused with POLICY_VIOLATION; fetchTopicOffsets shows the low watermark."""
    b = lbroker
    out = run_kjs("delete", b, topic)
    assert out["before"] == [[0, 0, 20]]
    assert out["to5"] == {"ok": True} and out["after5"] == [[0, 5, 20]]
    assert out["belowLow"] == {"ok": True} and out["afterBelowLow"] == [[0, 5, 20]]
    assert out["pastEnd"]["error"]["type"] == "OFFSET_OUT_OF_RANGE", out["pastEnd"]
    assert out["afterPastEnd"] == [[0, 5, 20]]
    assert out["toEnd"] == {"ok": True} and out["afterEnd"] == [[0, 20, 20]]
    assert out["producedAfter"] == 20 and out["final"] == [[0, 20, 21]]
    assert out["compact"]["error"]["type"] == "POLICY_VIOLATION", out["compact"]
    assert out["compactOffsets"] == [[0, 0, 3]]
    assert ck.watermarks(b, topic, 0) == (20, 21)


@pytest.mark.needs("delete-records")  # DeleteRecords
@pytest.mark.parametrize("hard", [False, True], ids=["sigterm", "kill9"])
def test_delete_records_survives_restart(broker_factory, topic, hard):
    """delete_records to the middle of a segment, then a restart (SIGTERM or kill -9):
    the low watermark stays (not rounded down to the segment start), the segments
    below are gone from disk, a fetch below it is OFFSET_OUT_OF_RANGE, consumers start
    there and the log continues at the old end."""
    rb = broker_factory(data_dir="auto", extra_args=RETENTION_ARGS)
    b = rb.bootstrap
    ck.create_topic(b, topic, config={"segment.bytes": "1024"})
    produced = produce_batches(b, topic, [recs(4, now_ms(), f"b{i}", 300) for i in range(10)])
    assert ck_delete_records(b, [TopicPartition(topic, 0, 18)]) == {0: 18}
    a = kp_admin(b)
    try:
        log_dir = kp_log_dirs(a, {topic: [0]})["log_dir"]
    finally:
        a.close()
    bases = [base for base, _ in segment_files(log_dir, topic)]
    assert bases == [16, 20, 24, 28, 32, 36]

    b = rb.restart(hard=hard)
    assert ck.watermarks(b, topic, 0) == (18, 40)
    assert list_offset(b, topic, OffsetSpec.earliest()) == 18
    assert [base for base, _ in segment_files(log_dir, topic)] == bases
    assert raw_fetch(b, topic, 17)["error"] == OFFSET_OUT_OF_RANGE
    ck.assert_records(ck.consume_all(b, topic, 1, expect=22), produced[18:])
    (late,) = produce_batches(b, topic, [recs(1, now_ms(), "late")])
    assert late.offset == 40

    # Once more, to -1, and restart again the same way.
    assert ck_delete_records(b, [TopicPartition(topic, 0, -1)]) == {0: 41}
    b = rb.restart(hard=hard)
    assert ck.watermarks(b, topic, 0) == (41, 41)
    assert raw_fetch(b, topic, 40)["error"] == OFFSET_OUT_OF_RANGE


# =================================================================== produce rules


def test_keyless_records_on_compacted_topics(broker, topic):
    """cleanup.policy compact or compact,delete: a batch with a keyless record fails as
    a whole with INVALID_RECORD (librdkafka fails every record of it, nothing is
    appended); keyed batches are stored; a delete-only topic takes keyless records.
    kafka-python shows the record error (`without key`); KafkaJS gets INVALID_RECORD."""
    b = broker
    for policy in ("compact", "compact,delete"):
        t = f"{topic}-{policy.replace(',', '-')}"
        ck.create_topic(b, t, config={"cleanup.policy": policy})
        out = produce_outcomes(b, t, [(None, None)])
        assert kafka_error(out[0]) == KafkaError.INVALID_RECORD, (policy, out)
        out = produce_outcomes(b, t, [(b"k1", None), (None, None), (b"k3", None)])
        assert [kafka_error(o) for o in out] == [KafkaError.INVALID_RECORD] * 3, (policy, out)
        assert ck.watermarks(b, t, 0) == (0, 0), policy
        assert produce_outcomes(b, t, [(b"k1", None), (b"k2", None)]) == [0, 1], policy
        got = ck.consume_all(b, t, 1, expect=2)
        assert [(g.offset, g.key) for g in got] == [(0, b"k1"), (1, b"k2")]

    ck.create_topic(b, f"{topic}-delete")
    assert produce_outcomes(b, f"{topic}-delete", [(None, None), (b"k", None)]) == [0, 1]

    # kafka-python (idempotent by default): the broker's per-record message comes through.
    t = f"{topic}-compact"
    kp = KafkaProducer(bootstrap_servers=b)
    try:
        with pytest.raises(kp_errors.InvalidRecordError, match="without key"):
            kp.send(t, b"no key").get(timeout=15)
    finally:
        kp.close()
    # Its idempotent producer treats the error as fatal for itself; a new one is fine.
    kp = KafkaProducer(bootstrap_servers=b)
    try:
        assert kp.send(t, b"keyed", key=b"kp").get(timeout=15).offset == 2
    finally:
        kp.close()

    if HAVE_KAFKAJS:
        ck.create_topic(b, topic)
        out = run_kjs("rules", b, topic)
        assert out["keyless"]["error"]["type"] == "INVALID_RECORD", out
        assert out["keyed"] == {"ok": 3}
        assert out["future"]["error"]["type"] == "INVALID_TIMESTAMP", out
        assert out["nearFuture"] == {"ok": 0}


def test_timestamp_bounds(broker, topic):
    """CreateTime more than message.timestamp.after.max.ms (1 h) ahead:
    INVALID_TIMESTAMP, 30 min ahead is fine; message.timestamp.before.max.ms
    (unlimited by default) set to 1 h refuses a 2 h old record; a raised
    after.max.ms accepts +2 h; LogAppendTime topics ignore the producer's timestamp."""
    b = broker
    now = now_ms()
    ck.create_topic(b, topic)
    out = produce_outcomes(b, topic, [(b"f", now + 2 * 60 * MIN)])
    assert kafka_error(out[0]) == KafkaError.INVALID_TIMESTAMP, out
    assert produce_outcomes(b, topic, [(b"n", now + 30 * MIN), (b"old", now - 30 * 24 * 60 * MIN)]) == [0, 1]

    t = f"{topic}-before"
    ck.create_topic(b, t, config={"message.timestamp.before.max.ms": str(60 * MIN)})
    out = produce_outcomes(b, t, [(b"old", now - 2 * 60 * MIN)])
    assert kafka_error(out[0]) == KafkaError.INVALID_TIMESTAMP, out
    assert produce_outcomes(b, t, [(b"recent", now - 30 * MIN)]) == [0]

    t = f"{topic}-after"
    ck.create_topic(b, t, config={"message.timestamp.after.max.ms": str(24 * 60 * MIN)})
    assert produce_outcomes(b, t, [(b"f", now + 2 * 60 * MIN)]) == [0]

    t = f"{topic}-append"
    ck.create_topic(b, t, config={"message.timestamp.type": "LogAppendTime"})
    before = now_ms()
    assert produce_outcomes(b, t, [(b"f", now + 2 * 60 * MIN)]) == [0]
    (g,) = ck.consume_all(b, t, 1, expect=1)
    assert g.timestamp_type == 2 and before - 1000 <= g.timestamp <= now_ms() + 1000, (g.timestamp_type, g.timestamp)

    assert ck.watermarks(b, topic, 0) == (0, 2)


# =================================================================== compression.type

# The producer-side codec used against each topic codec (always a different one).
OTHER_CODEC = {"uncompressed": "zstd", "gzip": "lz4", "snappy": "zstd", "lz4": "gzip", "zstd": "snappy"}


def fill_codec_topic(b: str, topic: str, codec: str) -> list[Rec]:
    """A topic with compression.type=<codec> and three batches: librdkafka with its
    default (no compression), librdkafka with another codec, kafka-python with its
    default. Returns the records with their offsets (0..35)."""
    ck.create_topic(b, topic, config={"compression.type": codec})
    ts = now_ms() - MIN
    expected = produce_batches(b, topic, [ck.sample_records(1, ts, n=12, tag="ck-default")])
    other = OTHER_CODEC[codec]
    expected += produce_batches(
        b, topic, [ck.sample_records(1, ts, n=12, tag=f"ck-{other}")], **{"compression.type": other}
    )
    kp = KafkaProducer(bootstrap_servers=b)
    try:
        kp_recs = ck.sample_records(1, ts, n=12, tag="kafka-python")
        for r in kp_recs:  # kafka-python cannot send a null header value
            r.headers = [(k, b"" if v is None else v) for k, v in r.headers]
        futs = [
            kp.send(topic, r.value, key=r.key, headers=r.headers, timestamp_ms=r.timestamp, partition=0)
            for r in kp_recs
        ]
        kp.flush()
        for r, f in zip(kp_recs, futs):
            r.offset = f.get(timeout=15).offset
    finally:
        kp.close()
    expected += kp_recs
    assert sorted(r.offset for r in expected) == list(range(len(expected)))
    return expected


@pytest.mark.parametrize("codec", list(CODEC_ID))
def test_topic_compression_type(broker, topic, codec):
    """compression.type=<codec>: every batch (whatever the producer used) is stored
    re-encoded with <codec> (raw Fetch), and librdkafka and kafka-python read every
    record back exactly."""
    b = broker
    expected = fill_codec_topic(b, topic, codec)
    n = len(expected)

    raw = raw_fetch(b, topic, 0)
    assert raw["error"] == 0 and raw["batches"][-1][1] == n - 1, raw
    assert len(raw["batches"]) >= 3  # kafka-python may split its 12 records
    assert {c for _, _, c in raw["batches"]} == {CODEC_ID[codec]}, f"stored codecs {raw['batches']}"

    ck.assert_records(ck.consume_all(b, topic, 1, expect=n), expected)

    kp_got = kp_consume(b, topic, 0, n, auto_offset_reset="earliest")
    by_offset = {r.offset: r for r in expected}
    assert [m.offset for m in kp_got] == list(range(n))
    for m in kp_got:
        r = by_offset[m.offset]
        assert (m.key, m.value, list(m.headers), m.timestamp_type, m.timestamp) == (
            r.key,
            r.value,
            r.headers,
            0,
            r.timestamp,
        ), m.offset



@needs_kafkajs
@pytest.mark.parametrize(
    "codec",
    [
        c
        for c in CODEC_ID
    ],
)
def test_topic_compression_type_kafkajs(broker, topic, codec):
    """KafkaJS (codecs from kafkajs/codecs.js) reads a compression.type=<codec> topic
    exactly: keys, values, headers (repeated keys as arrays), CreateTime."""
    b = broker
    expected = fill_codec_topic(b, topic, codec)
    by_offset = {r.offset: r for r in expected}
    got = run_kjs("consume", b, topic, len(expected))["records"]
    assert sorted(g["offset"] for g in got) == sorted(by_offset)
    for g in got:
        r = by_offset[g["offset"]]
        want_headers: dict = {}
        for k, v in r.headers:
            hv = None if v is None else v.hex()
            if k not in want_headers:
                want_headers[k] = hv
            elif isinstance(want_headers[k], list):
                want_headers[k].append(hv)
            else:
                want_headers[k] = [want_headers[k], hv]
        assert (g["key"], g["value"], g["timestamp"]) == (
            None if r.key is None else r.key.hex(),
            None if r.value is None else r.value.hex(),
            r.timestamp,
        ), g["offset"]
        assert g["headers"] == want_headers, (g["offset"], g["headers"], want_headers)


def test_lz4_frames_as_kafka_writes_them(broker, topic):
    """The LZ4 frames rill stores for compression.type=lz4 have Kafka's frame
    descriptor: FLG 0x60 (version 1, independent blocks, no checksums), BD 0x40
    (64 KiB blocks)."""
    b = broker
    ck.create_topic(b, topic, config={"compression.type": "lz4"})
    produce_batches(b, topic, [ck.sample_records(1, now_ms(), n=12, tag="lz4")])
    frames = raw_fetch(b, topic, 0)["frames"]
    assert len(frames) == 1
    assert frames[0][:4] == bytes.fromhex("04224d18"), frames[0][:4].hex()
    assert frames[0][4:6].hex() == "6040", f"frame descriptor FLG/BD {frames[0][4:6].hex()}"
