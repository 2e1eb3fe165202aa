"""Log compaction (cleanup.policy=compact) against a real rill broker, with real clients.

Kafka 4 semantics checked here:

* the cleaner keeps the latest record of every key at its original offset (offsets
  become sparse: readers must step over gaps), never changes the log start offset or
  the high watermark, and only cleans sealed segments;
* tombstones (null values) stay until they are older than delete.retention.ms, then go;
* records of aborted transactions go, commit/abort markers stay;
* a batch that keeps only some of its records is rebuilt with the same compression
  codec, base offset and last offset (Kafka's `overrideLastOffset`, which keeps the
  producer's sequence numbers valid);
* keyless records are refused on a compacted topic (INVALID_RECORD, 87);
* cleanup.policy can be switched from delete to compact on a live topic;
* compacted data survives SIGTERM and kill -9, also a kill -9 in the middle of a pass;
* a segment holding more keys than the offset map (--log-cleaner-dedupe-buffer-size)
  is cleaned a part at a time, up to where the map filled.

One Kafka behaviour rill lacks is a strict xfail: an idempotent producer's last batch
kept as an empty batch once all its records are superseded.

The roll rule, as in Kafka: the cleaner never cleans the active segment (so the log's
last batch always stays) and never rolls it; the active segment rolls only on an
append, when full (segment.bytes) or older than segment.ms (a compacted topic:
min(segment.ms, max.compaction.lag.ms)). So, like a Kafka test, a test that wants
everything it wrote compacted waits past segment.ms and then produces one more record
(`roll()`: key `__roll__`), which seals the data's segment and itself stays in the
active segment: a live key at the end of every expected log, never cleaned.

Every topic here sets segment.ms=100 and min.cleanable.dirty.ratio=0.01 (a test that
inspects the log first sets segment.ms later), and every broker runs
`--log-cleaner-backoff-ms 100`, so a pass comes quickly once a segment is sealed; the
tests then poll-read the topic from the beginning (to end-of-partition: the retained
tail lets every reader reach the high watermark) until the compacted shape shows up
(deadline ~10 s). The only fixed sleeps are short pauses past segment.ms (to roll the
active segment at the next append) and the 2 s in which a delete topic must stay
whole.

Clients keep their defaults (librdkafka's producer is not idempotent by default; the
first test turns idempotence on, as Kafka's Java producer has it since 3.0). Readers:
confluent-kafka (ck.py), kafka-python (assign + seek, read_uncommitted) and KafkaJS
(a consumer group, read_committed, `kafkajs/compaction.js`). Stored batch headers are
read with raw Fetch v4 requests (test_idempotence's helpers).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KpTopicPartition
from kafka.errors import InvalidRecordError

import ck
from ck import Rec
from test_idempotence import CONTROL, TRANSACTIONAL, Batch, _fetch_v4, _free_port, stored_batches

KJS_DIR = Path(__file__).resolve().parent / "kafkajs"
HAVE_KAFKAJS = shutil.which("node") is not None and (KJS_DIR / "node_modules" / "kafkajs").is_dir()
needs_kafkajs = pytest.mark.skipif(
    not HAVE_KAFKAJS, reason="node or compat/kafkajs/node_modules missing (run npm ci in compat/kafkajs)"
)

# The cleaner wakes every 100 ms when it had nothing to do (default 15 s).
CLEANER_ARGS = ["--log-cleaner-backoff-ms", "100"]
# Topic configs that make everything cleanable within ~100 ms.
FAST = {"cleanup.policy": "compact", "segment.ms": "100", "min.cleanable.dirty.ratio": "0.01"}
DAY_MS = "86400000"
CODEC_IDS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
COMPACT_WAIT_S = 10.0
# A pause past segment.ms=100: the next append rolls the active segment.
PAST_SEGMENT_MS_S = 0.15
ROLL_KEY = b"__roll__"


# ----------------------------------------------------------------- helpers


@pytest.fixture
def cbroker(broker_factory) -> str:
    """An ephemeral broker whose cleaner backs off 100 ms."""
    return broker_factory(extra_args=CLEANER_ARGS).bootstrap


def produce_kv(p, topic: str, items: list[tuple[bytes | None, bytes | None]], partition: int = 0) -> list[Rec]:
    """Produce (key, value) pairs, wait for every delivery report; offsets filled in."""
    return ck.produce_records(p, topic, [Rec(partition, k, v) for k, v in items])


def roll(p, topic: str, partitions: int = 1, key: bytes = ROLL_KEY, value: bytes | None = b"roll") -> list[Rec]:
    """The roll rule (see the module doc): wait past segment.ms, then produce one
    record (key `__roll__` unless told) to each partition. Everything written before
    now lies in sealed, cleanable segments; the roll record opens the new active
    segment and is the live tail of the log (the cleaner never touches it). Returns
    the roll records."""
    time.sleep(PAST_SEGMENT_MS_S)
    return ck.produce_records(p, topic, [Rec(part, key, value) for part in range(partitions)])


def compacted(recs: list[Rec], keep_tombstones: bool) -> list[Rec]:
    """What fully compacted sealed segments holding `recs` keep: the latest record of
    each key (a tombstone only while tombstones are retained), in offset order. The
    records of the active segment (the roll records) supersede nothing and stay as they
    are: a partition's expected content is `compacted(sealed) + active`."""
    latest: dict[bytes, Rec] = {}
    for r in sorted(recs, key=lambda r: r.offset):
        latest[r.key] = r
    return sorted((r for r in latest.values() if keep_tombstones or r.value is not None), key=lambda r: r.offset)


def shape(records) -> list[tuple[int, bytes | None, bytes | None]]:
    return [(r.offset, r.key, r.value) for r in records]


def read_all(bootstrap: str, topic: str, partitions: int = 1, timeout: float = 10, **conf) -> list[ck.Got]:
    """Read `topic` from the beginning with confluent-kafka, to end-of-partition on
    every partition (the log's last batch is never cleaned, so a reader stepping over
    the offset gaps always reaches the high watermark)."""
    c = ck.consumer(bootstrap, **conf)
    got: list[ck.Got] = []
    eof: set[int] = set()
    try:
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msgs = c.consume(num_messages=10000, timeout=0.1)
            for m in msgs:
                err = m.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        eof.add(m.partition())
                        continue
                    raise AssertionError(f"consume error on {topic}/{m.partition()}: {err}")
                eof.discard(m.partition())
                headers = list(m.headers() or [])
                got.append(ck.Got(m.partition(), m.offset(), m.key(), m.value(), headers, *m.timestamp()))
            if len(eof) == partitions:
                return sorted(got, key=lambda g: (g.partition, g.offset))
        raise AssertionError(f"read of {topic} timed out: {len(got)} records, EOF on {sorted(eof)}")
    finally:
        c.close()


def wait_compacted(bootstrap: str, topic: str, expected: list[Rec], timeout: float = COMPACT_WAIT_S, **conf):
    """Read the partition from the beginning with confluent-kafka until it holds
    exactly `expected` (offset, key, value); returns the records read last."""
    want = shape(expected)
    deadline = time.monotonic() + timeout
    while True:
        got = read_all(bootstrap, topic, 1, **conf)
        if shape(got) == want:
            return got
        if time.monotonic() > deadline:
            have = shape(got)
            raise AssertionError(
                f"{topic} not compacted within {timeout}s: {len(have)} records read, {len(want)} expected; "
                f"unexpected {sorted(set(have) - set(want))[:8]}, missing {sorted(set(want) - set(have))[:8]}"
            )
        time.sleep(0.2)


def assert_sparse_increasing(records, where: str) -> None:
    offsets = [r.offset for r in records]
    assert all(a < b for a, b in zip(offsets, offsets[1:])), f"{where}: offsets not strictly increasing {offsets[:40]}"


def kv_map(records) -> dict[bytes, bytes | None]:
    return {r.key: r.value for r in records}


def set_configs(bootstrap: str, topic: str, configs: dict[str, str]) -> None:
    entries = [ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in configs.items()]
    a = ck.admin(bootstrap)
    (fut,) = a.incremental_alter_configs(
        [ConfigResource(ResourceType.TOPIC, topic, incremental_configs=entries)], request_timeout=15
    ).values()
    fut.result(timeout=20)


def raw_batches(bootstrap: str, topic: str, partition: int = 0) -> tuple[list[Batch], int, int]:
    """Every stored batch header of the partition from offset 0, with raw Fetch v4
    requests. Returns (batches, next offset to fetch, high watermark); unlike
    test_idempotence.stored_batches it returns (instead of failing) when a fetch
    below the high watermark brings no batch."""
    host, port = bootstrap.rsplit(":", 1)
    out: list[Batch] = []
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        offset, corr = 0, 0
        while True:
            corr += 1
            err, hw, records = _fetch_v4(sock, corr, topic, partition, offset)
            assert err == 0, f"Fetch {topic}/{partition}@{offset}: error {err}"
            pos, progressed = 0, False
            while pos + 61 <= len(records):
                base_offset, length = struct.unpack_from(">qi", records, pos)
                if pos + 12 + length > len(records):
                    break
                (_epoch, magic, _crc, attributes, last_delta, _t0, _t1, pid, pepoch, seq, count) = struct.unpack_from(
                    ">ibIhiqqqhii", records, pos + 12
                )
                assert magic == 2, f"batch at {base_offset}: magic {magic}"
                if base_offset + last_delta >= offset:
                    out.append(Batch(base_offset, base_offset + last_delta, attributes, pid, pepoch, seq, count))
                    offset = base_offset + last_delta + 1
                    progressed = True
                pos += 12 + length
            if offset >= hw or not progressed:
                return out, offset, hw


def kp_consumer(bootstrap: str, **kw) -> KafkaConsumer:
    """kafka-python consumer without a group (assign + seek), its defaults otherwise."""
    conf = dict(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="none",
        fetch_max_wait_ms=100,
        request_timeout_ms=15000,
    )
    return KafkaConsumer(**{**conf, **kw})


def kp_read_all(bootstrap: str, topic: str, expect: int, timeout: float = 20.0, **kw) -> list[ck.Got]:
    """kafka-python: assign partition 0, seek to 0, read until at least `expect`
    records arrived and the position reached the end offset (high watermark)."""
    c = kp_consumer(bootstrap, **kw)
    try:
        tp = KpTopicPartition(topic, 0)
        c.assign([tp])
        c.seek(tp, 0)
        end = c.end_offsets([tp])[tp]
        got = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for recs in c.poll(timeout_ms=100).values():
                got.extend(recs)
            if len(got) >= expect and c.position(tp) >= end:
                for recs in c.poll(timeout_ms=300).values():
                    got.extend(recs)
                return [
                    ck.Got(m.partition, m.offset, m.key, m.value, list(m.headers or []), 0, m.timestamp) for m in got
                ]
        raise AssertionError(
            f"kafka-python read of {topic} timed out: {len(got)} of {expect} records, "
            f"position {c.position(tp)} of {end}"
        )
    finally:
        c.close()


def run_kjs(scenario: str, bootstrap: str, topic: str, *args, timeout: float = 60) -> dict:
    cmd = ["node", str(KJS_DIR / "compaction.js"), scenario, bootstrap, topic, *map(str, args)]
    proc = subprocess.run(cmd, cwd=KJS_DIR, capture_output=True, text=True, timeout=timeout)
    results = [line[len("RESULT ") :] for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and len(results) == 1, (
        f"kafkajs compaction scenario {scenario!r} failed (exit {proc.returncode})\n"
        f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-6000:]}"
    )
    return json.loads(results[0])


def versions(keys: int, rounds: int, tag: str, pad: int = 0) -> list[list[tuple[bytes, bytes]]]:
    """`rounds` lists of (key, value), each round one new version of every key."""
    return [
        [(f"key-{k:04d}".encode(), f"{tag} k{k} v{v} ".encode() + b"x" * pad) for k in range(keys)]
        for v in range(rounds)
    ]


# ============================================================ latest value per key


@pytest.mark.parametrize(
    "delete_retention_ms", ["0", DAY_MS], ids=["tombstones-expire", "tombstones-retained"]
)
def test_latest_value_per_key(cbroker, topic, delete_retention_ms):
    """An idempotent confluent-kafka producer writes 10 versions of 40 keys (several
    batches and segments), then tombstones for 8 of them. Compaction leaves each live
    key once, with its latest value at the offset its delivery report gave; the
    tombstoned keys are gone (delete.retention.ms=0) or present once, as the tombstone
    at its own offset (delete.retention.ms one day). Offsets are sparse and strictly
    increasing; low and high watermarks are what they were before compaction. A roll
    record (the roll rule) seals the data's segment and stays as the log's live tail."""
    ck.create_topic(cbroker, topic, config={**FAST, "delete.retention.ms": delete_retention_ms})
    p = ck.producer(cbroker, **{"enable.idempotence": True})
    recs: list[Rec] = []
    for i, items in enumerate(versions(40, 10, "latest")):
        recs += produce_kv(p, topic, items)
        if i in (3, 6):
            time.sleep(PAST_SEGMENT_MS_S)  # older than segment.ms: the next append starts a new segment
    dead = [f"key-{k:04d}".encode() for k in range(0, 40, 5)]
    recs += produce_kv(p, topic, [(k, None) for k in dead])
    assert [r.offset for r in recs] == list(range(len(recs)))
    high = len(recs)
    (tail,) = roll(p, topic)
    assert tail.offset == high

    keep = delete_retention_ms != "0"
    expected = compacted(recs, keep_tombstones=keep) + [tail]
    assert len(expected) == (41 if keep else 33)
    got = wait_compacted(cbroker, topic, expected)

    assert_sparse_increasing(got, topic)
    assert len({g.key for g in got}) == len(got), "a key appears twice"
    live = {g.key: g.value for g in got if g.value is not None}
    assert live == {
        ROLL_KEY: b"roll",
        **{f"key-{k:04d}".encode(): f"latest k{k} v9 ".encode() for k in range(40) if k % 5},
    }
    assert (got[-1].offset, got[-1].key) == (high, ROLL_KEY)
    tombs = [g for g in got if g.value is None]
    if keep:
        assert sorted(g.key for g in tombs) == dead
        assert [g.offset for g in tombs] == list(range(high - len(dead), high))
    else:
        assert tombs == [] and not set(dead) & {g.key for g in got}
    assert ck.watermarks(cbroker, topic, 0) == (0, high + 1)

    # The producer keeps going after compaction (its sequence numbers still line up),
    # and what it writes now is compacted in turn once a new roll record seals it.
    more = produce_kv(p, topic, [(b"key-0001", b"after"), (b"key-0000", b"reborn")])
    assert [r.offset for r in more] == [high + 1, high + 2]
    (tail2,) = roll(p, topic)
    assert tail2.offset == high + 3
    # The first roll record stays: the second one, in the active segment, supersedes nothing.
    expected = compacted(recs + [tail] + more, keep_tombstones=keep) + [tail2]
    got = wait_compacted(cbroker, topic, expected)
    assert [g.offset for g in got if g.key in (b"key-0000", b"key-0001")] == [high + 1, high + 2]
    assert [g.offset for g in got if g.key == ROLL_KEY] == [high, high + 3]
    assert ck.watermarks(cbroker, topic, 0) == (0, high + 4)


def test_small_dedupe_buffer_cleans_in_passes(broker_factory, topic):
    """With `--log-cleaner-dedupe-buffer-size 4096` (an offset map of ~128 keys) and 200
    keys written in segments of 100 records, one pass cannot map the whole dirty part;
    the cleaner keeps going pass after pass and ends with one record per key (plus
    the roll record that seals the last segment)."""
    b = broker_factory(extra_args=CLEANER_ARGS + ["--log-cleaner-dedupe-buffer-size", "4096"])
    ck.create_topic(b.bootstrap, topic, config=FAST)
    p = ck.producer(b.bootstrap)
    recs: list[Rec] = []
    for rnd in versions(200, 3, "small-map"):
        for i in range(0, len(rnd), 100):
            recs += produce_kv(p, topic, rnd[i : i + 100])
            time.sleep(PAST_SEGMENT_MS_S)  # older than segment.ms: the next append starts a new segment
    tail = roll(p, topic)
    got = wait_compacted(b.bootstrap, topic, compacted(recs, keep_tombstones=False) + tail)
    assert kv_map(got) == {
        **{f"key-{k:04d}".encode(): f"small-map k{k} v2 ".encode() for k in range(200)},
        ROLL_KEY: b"roll",
    }
    assert ck.watermarks(b.bootstrap, topic, 0) == (0, len(recs) + 1)


def test_segment_larger_than_dedupe_buffer(broker_factory, topic):
    """The same 200 keys x 3 versions, but all in one segment of 600 records (batches
    of 25; segment.ms is lowered only afterwards) with an offset map of ~128 keys: as
    in Kafka, each pass maps up to the record where the map fills, cleans up to that
    offset (the partly mapped segment included) and the next pass goes on from there,
    so the segment still ends with one record per key."""
    b = broker_factory(data_dir="auto", extra_args=CLEANER_ARGS + ["--log-cleaner-dedupe-buffer-size", "4096"])
    ck.create_topic(b.bootstrap, topic, config={**FAST, "segment.ms": DAY_MS})
    d = partition_dir(b, topic)
    p = ck.producer(b.bootstrap)
    recs: list[Rec] = []
    for rnd in versions(200, 3, "big-segment"):
        for i in range(0, len(rnd), 25):
            recs += produce_kv(p, topic, rnd[i : i + 25])
    assert segment_bases(d) == [0] and len(recs) == 600
    set_configs(b.bootstrap, topic, {"segment.ms": "100"})
    tail = roll(p, topic)
    got = wait_compacted(b.bootstrap, topic, compacted(recs, keep_tombstones=False) + tail)
    assert kv_map(got) == {
        **{f"key-{k:04d}".encode(): f"big-segment k{k} v2 ".encode() for k in range(200)},
        ROLL_KEY: b"roll",
    }
    # The 600 records were one segment, the roll record alone is the active one.
    assert segment_bases(d) == [0, 600]
    assert ck.watermarks(b.bootstrap, topic, 0) == (0, 601)


class EmptyBatchNotRetained(AssertionError):
    """The one check in which rill differs from Kafka (the xfail below): raised only
    there, so any other failure of that test is a real failure."""


@pytest.mark.xfail(
    strict=True,
    raises=EmptyBatchNotRetained,
    reason="request: an idempotent producer's last batch (offsets 0-9) lies in a sealed segment and all its records "
    "are superseded by another producer's later records; expected (Kafka, LogCleaner BatchRetention.RETAIN_EMPTY "
    "for the last batch of an active producer): the batch kept as an empty batch header, same base/last offset, "
    "producer id, epoch and base sequence, 0 records; got: rill drops the batch (the log starts with the other "
    "producer's batch at offset 10): it keeps producer state in its snapshots, not in the log",
)
def test_idempotent_last_batch_retained_empty(broker_factory, topic):
    """Idempotent producer A writes 10 keys in one batch (its last one); producer B
    (another client, not idempotent) then writes new values for the same 10 keys, and a
    roll record seals the segment holding both. Compaction removes every record of A,
    and a reader sees only B's values and the roll record. Kafka's cleaner keeps A's
    batch as an empty batch header (same base and last offset, producer id, epoch and
    base sequence, 0 records), since it is the last batch of an active producer: the
    producer's state stays in the log. Rill drops the batch (the strict xfail, raised
    only by that check); what must hold either way: B's batches are stored unchanged,
    and after a kill -9 restart A goes on producing with sequence 10 (rill recovers
    A's state from its producer snapshot)."""
    b = broker_factory(data_dir="auto", port=_free_port(), extra_args=CLEANER_ARGS)
    bs = b.bootstrap
    # segment.ms one day while the batches are inspected: nothing is cleanable yet.
    ck.create_topic(bs, topic, config={**FAST, "segment.ms": DAY_MS})
    fatal: list[str] = []
    pa = ck.producer(bs, **{"enable.idempotence": True, "error_cb": lambda e: e.fatal() and fatal.append(str(e))})
    pa.list_topics(topic, timeout=10)  # leader known: the 10 records go out as one batch
    keys = [f"key-{k}".encode() for k in range(10)]
    a_recs = produce_kv(pa, topic, [(k, b"from A") for k in keys])
    pb = ck.producer(bs)
    b_recs = produce_kv(pb, topic, [(k, b"from B") for k in keys])
    assert [r.offset for r in a_recs + b_recs] == list(range(20))
    before = stored_batches(bs, topic, 0)
    (a_last,) = [x for x in before if x.base_offset == 0]
    assert (a_last.last_offset, a_last.count, a_last.base_sequence) == (9, 10, 0), a_last
    assert a_last.producer_id >= 0 and a_last.producer_epoch >= 0 and a_last.attributes & 7 == 0, a_last
    b_batches = [x for x in before if x.base_offset >= 10]
    assert b_batches and all(x.producer_id == -1 for x in b_batches), b_batches

    set_configs(bs, topic, {"segment.ms": "100"})
    tail = roll(pb, topic)
    got = wait_compacted(bs, topic, compacted(a_recs + b_recs, keep_tombstones=False) + tail)
    assert kv_map(got) == {**{k: b"from B" for k in keys}, ROLL_KEY: b"roll"}
    batches, next_offset, hw = raw_batches(bs, topic)
    assert (next_offset, hw) == (21, 21)
    (tail_batch,) = [x for x in batches if x.base_offset == 20]
    assert [x for x in batches if x.base_offset >= 10] == b_batches + [tail_batch]
    assert (tail_batch.last_offset, tail_batch.count) == (20, 1)

    # A's state survives the cleaning of its last batch and a kill -9: its next
    # record is accepted with the next sequence number.
    b.restart(hard=True)
    (more,) = produce_kv(pa, topic, [(keys[0], b"A again")])
    assert more.offset == 21 and not fatal, fatal
    (again,) = [x for x in stored_batches(bs, topic, 0) if x.base_offset == 21]
    assert (again.producer_id, again.producer_epoch, again.base_sequence, again.count) == (
        a_last.producer_id,
        a_last.producer_epoch,
        10,
        1,
    ), again

    kafka_keeps = Batch(0, 9, a_last.attributes, a_last.producer_id, a_last.producer_epoch, 0, 0)
    if batches[0] != kafka_keeps:
        raise EmptyBatchNotRetained(f"log starts with {batches[0]}, Kafka keeps {kafka_keeps}")


def test_keyless_records_refused(cbroker, topic):
    """Keyless records on a compacted topic fail with INVALID_RECORD (87), through
    confluent-kafka and kafka-python (idempotent by default); keyed ones in the same
    topic are accepted, and nothing keyless is stored."""
    ck.create_topic(cbroker, topic, config=FAST)
    p = ck.producer(cbroker)
    errors = []
    p.produce(topic, b"no key", partition=0, on_delivery=lambda err, msg: errors.append(err))
    assert p.flush(30) == 0
    assert len(errors) == 1 and errors[0] is not None, errors
    assert errors[0].code() == KafkaError.INVALID_RECORD, errors[0]
    ok = produce_kv(p, topic, [(b"k", b"v")])

    kp = KafkaProducer(bootstrap_servers=cbroker)
    try:
        with pytest.raises(InvalidRecordError):
            kp.send(topic, value=b"no key either", partition=0).get(timeout=30)
    finally:
        kp.close()
    # kafka-python's idempotent producer treats any non-retriable error as fatal (the
    # Java producer does not), so the keyed record goes through a new one.
    kp = KafkaProducer(bootstrap_servers=cbroker)
    try:
        md = kp.send(topic, key=b"k2", value=b"v2", partition=0).get(timeout=30)
    finally:
        kp.close()
    got = read_all(cbroker, topic, 1)
    assert shape(got) == [(ok[0].offset, b"k", b"v"), (md.offset, b"k2", b"v2")]


# ======================================================================= codecs


def test_compressed_batches_partially_retained(cbroker, topic):
    """One topic per codec; a producer with compression.type=<codec> writes 40 keys in
    one batch, then a batch overwriting the even keys, then one with tombstones for
    every 4th key (delete.retention.ms=0). Once segment.ms is set and a roll record
    seals them, the first two batches keep only some of their records, so the broker
    rebuilds them: still in the producer's codec, with the same base and last offset,
    producer fields unchanged, fewer records; the tombstone batch goes. confluent-kafka
    and kafka-python read the same compacted result."""
    text = b" the quick brown fox jumps over the lazy dog" * 4
    written = {}
    for codec in ["gzip", "snappy", "lz4", "zstd"]:
        t = f"{topic}-{codec}"
        # No segment.ms yet: nothing is cleanable while the batches are inspected.
        ck.create_topic(
            cbroker,
            t,
            config={"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.01", "delete.retention.ms": "0"},
        )
        p = ck.producer(cbroker, **{"compression.type": codec, "linger.ms": 50})
        p.list_topics(t, timeout=10)  # leader known: the first 40 records go out as one batch
        recs = produce_kv(p, t, [(f"k{k:02d}".encode(), b"first %d" % k + text) for k in range(40)])
        recs += produce_kv(p, t, [(f"k{k:02d}".encode(), b"second %d" % k + text) for k in range(0, 40, 2)])
        recs += produce_kv(p, t, [(f"k{k:02d}".encode(), None) for k in range(0, 40, 4)])
        before = {(b.base_offset, b.last_offset): b for b in stored_batches(cbroker, t, 0)}
        # Normally one batch per flush; librdkafka may split one, which changes nothing below.
        assert len(before) >= 3 and all(b.count == b.last_offset - b.base_offset + 1 for b in before.values())
        assert all(b.attributes & 7 == CODEC_IDS[codec] for b in before.values()), codec
        written[codec] = (t, p, recs, before)
    for t, _, _, _ in written.values():
        set_configs(cbroker, t, {"segment.ms": "100"})
    tails = {codec: roll(p, t) for codec, (t, p, _, _) in written.items()}

    want = {
        f"k{k:02d}".encode(): (b"second %d" % k if k % 2 == 0 else b"first %d" % k) + text
        for k in range(40)
        if k % 4
    }
    for codec, (t, _, recs, before) in written.items():
        expected = compacted(recs, keep_tombstones=False) + tails[codec]
        got = wait_compacted(cbroker, t, expected)
        assert len(got) == 31, codec  # 20 odd keys from the first batch, 10 from the second, the roll record
        assert_sparse_increasing(got, t)
        assert kv_map(got) == {**want, ROLL_KEY: b"roll"}, codec
        assert shape(kp_read_all(cbroker, t, len(expected))) == shape(expected), f"{codec}: kafka-python"

        after, next_offset, hw = raw_batches(cbroker, t)
        assert (next_offset, hw) == (71, 71), codec
        *after, tail = after
        assert (tail.base_offset, tail.last_offset, tail.count) == (70, 70, 1), (codec, tail)
        # The tombstone batch is gone (nothing covers offsets 60-69: no producer id to
        # keep an empty batch for); the others are rebuilt in place, with their kept records.
        kept = {r.offset for r in expected}
        want_batches = [
            (base, last, n)
            for base, last in sorted(before)
            if (n := sum(1 for o in range(base, last + 1) if o in kept))
        ]
        assert [(b.base_offset, b.last_offset, b.count) for b in after] == want_batches, (codec, after)
        assert any(0 < b.count < before[(b.base_offset, b.last_offset)].count for b in after), "no batch rebuilt"
        for b in after:
            orig = before[(b.base_offset, b.last_offset)]
            assert b.attributes == orig.attributes, f"{codec}: batch at {b.base_offset} attributes {b.attributes:#x}"
            assert (b.producer_id, b.producer_epoch, b.base_sequence) == (
                orig.producer_id,
                orig.producer_epoch,
                orig.base_sequence,
            )
        assert ck.watermarks(cbroker, t, 0) == (0, 71)


# ================================================================= transactions


def test_aborted_transaction_removed(cbroker, topic):
    """A transactional producer commits values for 10 keys, aborts a transaction that
    overwrote all of them, and commits new values for 5. Before compaction a
    read_uncommitted reader still sees the aborted values; after it (segment.ms set
    once the transactions are done) both read_committed and read_uncommitted readers see
    only committed values, the aborted records are gone from the log, and the three
    commit/abort markers are still there at their offsets. The roll record (from a
    plain producer) follows the last marker."""
    ck.create_topic(cbroker, topic, config={"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.01"})
    p = Producer(ck.base_conf(cbroker, **{"transactional.id": f"{topic}-txn"}))
    p.init_transactions(30)
    keys = [f"tk{k}".encode() for k in range(10)]

    def txn(values: list[tuple[bytes, bytes]], commit: bool) -> list[Rec]:
        p.begin_transaction()
        recs = [Rec(0, k, v) for k, v in values]
        ck.produce_records(p, topic, recs)
        (p.commit_transaction if commit else p.abort_transaction)(30)
        return recs

    c1 = txn([(k, b"committed-1 " + k) for k in keys], True)
    ab = txn([(k, b"ABORTED " + k) for k in keys], False)
    c2 = txn([(k, b"committed-2 " + k) for k in keys[:5]], True)
    markers = [c1[-1].offset + 1, ab[-1].offset + 1, c2[-1].offset + 1]
    high = markers[-1] + 1
    assert ck.watermarks(cbroker, topic, 0) == (0, high)

    # Not compacted yet (the active segment is 7 days from rolling): the aborted
    # records are in the log.
    raw = read_all(cbroker, topic, 1, **{"isolation.level": "read_uncommitted"})
    assert shape(raw) == shape(c1 + ab + c2)

    set_configs(cbroker, topic, {"segment.ms": "100"})
    (tail,) = roll(ck.producer(cbroker), topic)
    assert tail.offset == high
    expected = compacted(c1 + c2, keep_tombstones=False)
    assert kv_map(expected) == {k: (b"committed-2 " if i < 5 else b"committed-1 ") + k for i, k in enumerate(keys)}
    expected.append(tail)
    wait_compacted(cbroker, topic, expected, **{"isolation.level": "read_uncommitted"})
    got = read_all(cbroker, topic, 1, **{"isolation.level": "read_committed"})
    assert shape(got) == shape(expected)

    *batches, tail_batch = stored_batches(cbroker, topic, 0)
    assert (tail_batch.base_offset, tail_batch.last_offset) == (high, high)
    assert not tail_batch.attributes & (TRANSACTIONAL | CONTROL), tail_batch
    ctrl = [b for b in batches if b.attributes & CONTROL]
    assert [(b.base_offset, b.last_offset) for b in ctrl] == [(o, o) for o in markers], batches
    assert all(b.attributes & TRANSACTIONAL for b in batches)
    data_offsets = {o for b in batches if not b.attributes & CONTROL for o in range(b.base_offset, b.last_offset + 1)}
    assert not data_offsets & {r.offset for r in ab}, "a batch of the aborted transaction is still stored"
    assert ck.watermarks(cbroker, topic, 0) == (0, high + 1)


# ================================================================ other readers


@needs_kafkajs
def test_other_clients_read_compacted_topic(cbroker, topic):
    """kafka-python (assign + seek from 0) and a KafkaJS consumer group (fromBeginning)
    read a compacted topic full of offset gaps (3 partitions, tombstones retained) and
    see exactly what confluent-kafka sees: same offsets, same key -> value map (a roll
    record per partition seals the data and is each log's tail)."""
    ck.create_topic(cbroker, topic, partitions=3, config=FAST)
    p = ck.producer(cbroker)
    recs: list[Rec] = []
    for v in range(6):
        batch = [Rec(k % 3, f"key-{k:03d}".encode(), f"v{v} of {k}".encode()) for k in range(60)]
        if v == 5:
            batch = [Rec(k % 3, f"key-{k:03d}".encode(), None) for k in range(0, 60, 7)]
        recs += ck.produce_records(p, topic, batch)
    tails = roll(p, topic, partitions=3)
    expected = {
        part: compacted([r for r in recs if r.partition == part], keep_tombstones=True) + [tails[part]]
        for part in range(3)
    }
    total = sum(len(e) for e in expected.values())
    assert total == 63
    deadline = time.monotonic() + COMPACT_WAIT_S
    while True:
        got = read_all(cbroker, topic, 3)
        by_part = {part: sorted((g for g in got if g.partition == part), key=lambda g: g.offset) for part in range(3)}
        if all(shape(by_part[part]) == shape(expected[part]) for part in range(3)):
            break
        assert time.monotonic() < deadline, (
            f"not compacted within {COMPACT_WAIT_S}s: {len(got)} records, {total} expected"
        )
        time.sleep(0.2)
    ck_view = {(g.partition, g.offset): (g.key, g.value) for g in got}
    assert any(
        b.offset - a.offset > 1 for part in range(3) for a, b in zip(by_part[part], by_part[part][1:])
    ), "no offset gaps to step over"

    c = kp_consumer(cbroker)
    try:
        tps = [KpTopicPartition(topic, part) for part in range(3)]
        c.assign(tps)
        for tp in tps:
            c.seek(tp, 0)
        ends = c.end_offsets(tps)
        kp_got = []
        deadline = time.monotonic() + 20
        while not (len(kp_got) >= total and all(c.position(tp) >= ends[tp] for tp in tps)):
            assert time.monotonic() < deadline, f"kafka-python read {len(kp_got)} of {total}"
            for msgs in c.poll(timeout_ms=200).values():
                kp_got.extend(msgs)
        for msgs in c.poll(timeout_ms=300).values():
            kp_got.extend(msgs)
    finally:
        c.close()
    assert {(m.partition, m.offset): (m.key, m.value) for m in kp_got} == ck_view
    assert len(kp_got) == total

    res = run_kjs("consume", cbroker, topic, f"{topic}-kjs", total)
    kjs = res["records"]
    dec = lambda s: None if s is None else bytes.fromhex(s)  # noqa: E731
    assert {(r["partition"], r["offset"]): (dec(r["key"]), dec(r["value"])) for r in kjs} == ck_view
    assert len(kjs) == total, "KafkaJS delivered a record twice"
    for part in range(3):
        offs = [r["offset"] for r in kjs if r["partition"] == part]
        assert offs == sorted(offs) and len(set(offs)) == len(offs), f"KafkaJS partition {part} order {offs}"
    assert res["committed"] == {str(part): str(ck.watermarks(cbroker, topic, part)[1]) for part in range(3)}


# =============================================================== policy switch


def test_switch_delete_to_compact(cbroker, topic):
    """A topic with cleanup.policy=delete (and the fast segment/ratio settings) is never
    compacted, nor is a compact topic with min.compaction.lag.ms one hour: with their
    data sealed by a roll record, 2 s of cleaner passes later every record of both is
    still there. IncrementalAlterConfigs SET cleanup.policy=compact on the first, DELETE
    min.compaction.lag.ms (back to 0) on the second start compaction; APPEND delete
    afterwards ("compact,delete") keeps the first compacting: a new value, sealed by a
    second roll record, supersedes the old one."""
    lagged = f"{topic}-lagged"
    ck.create_topic(cbroker, topic, config={**FAST, "cleanup.policy": "delete"})
    ck.create_topic(cbroker, lagged, config={**FAST, "min.compaction.lag.ms": "3600000"})
    p = ck.producer(cbroker)
    recs: list[Rec] = []
    lagged_recs: list[Rec] = []
    for items in versions(30, 5, "switch"):
        recs += produce_kv(p, topic, items)
        lagged_recs += produce_kv(p, lagged, items)
    # Keyless records are fine under delete; compaction later drops them (Kafka's
    # cleaner has nowhere to keep a record without a key).
    recs += produce_kv(p, topic, [(None, b"keyless")])
    tail = roll(p, topic)
    lagged_tail = roll(p, lagged)
    time.sleep(2.0)  # 20 cleaner wake-ups, the data in sealed segments: neither topic may change
    assert shape(read_all(cbroker, topic, 1)) == shape(recs + tail)
    assert shape(read_all(cbroker, lagged, 1)) == shape(lagged_recs + lagged_tail)

    set_configs(cbroker, topic, {"cleanup.policy": "compact"})
    a = ck.admin(cbroker)
    (fut,) = a.incremental_alter_configs(
        [
            ConfigResource(
                ResourceType.TOPIC,
                lagged,
                incremental_configs=[
                    ConfigEntry("min.compaction.lag.ms", None, incremental_operation=AlterConfigOpType.DELETE)
                ],
            )
        ],
        request_timeout=15,
    ).values()
    fut.result(timeout=20)
    expected = compacted([r for r in recs if r.key is not None], keep_tombstones=False) + tail
    got = wait_compacted(cbroker, topic, expected)
    assert kv_map(got) == {
        **{f"key-{k:04d}".encode(): f"switch k{k} v4 ".encode() for k in range(30)},
        ROLL_KEY: b"roll",
    }
    assert ck.watermarks(cbroker, topic, 0) == (0, len(recs) + 1)
    lagged_got = wait_compacted(cbroker, lagged, compacted(lagged_recs, keep_tombstones=False) + lagged_tail)
    assert kv_map(lagged_got) == kv_map(got)

    (fut,) = a.incremental_alter_configs(
        [
            ConfigResource(
                ResourceType.TOPIC,
                topic,
                incremental_configs=[
                    ConfigEntry("cleanup.policy", "delete", incremental_operation=AlterConfigOpType.APPEND)
                ],
            )
        ],
        request_timeout=15,
    ).values()
    fut.result(timeout=20)
    more = produce_kv(p, topic, [(b"key-0000", b"newest")])
    tail2 = roll(p, topic)
    # The first roll record stays: the second, in the active segment, supersedes nothing.
    got = wait_compacted(cbroker, topic, compacted(expected + more, keep_tombstones=False) + tail2)
    assert [(g.offset, g.value) for g in got if g.key == b"key-0000"] == [(more[0].offset, b"newest")]
    assert ck.watermarks(cbroker, topic, 0) == (0, len(recs) + 3)


# ===================================================================== restart


def test_compacted_data_survives_restart(broker_factory, topic):
    """A compacted partition (its roll record the active segment) reads back
    identically (same offsets, keys, values, watermarks) after a SIGTERM restart and
    after a kill -9."""
    b = broker_factory(data_dir="auto", extra_args=CLEANER_ARGS)
    ck.create_topic(b.bootstrap, topic, config={**FAST, "delete.retention.ms": DAY_MS})
    p = ck.producer(b.bootstrap)
    recs: list[Rec] = []
    for items in versions(50, 6, "restart"):
        recs += produce_kv(p, topic, items)
    recs += produce_kv(p, topic, [(f"key-{k:04d}".encode(), None) for k in range(0, 50, 10)])
    tail = roll(p, topic)
    p.flush(10)
    del p
    expected = compacted(recs, keep_tombstones=True) + tail
    assert len(expected) == 51
    first = shape(wait_compacted(b.bootstrap, topic, expected))
    marks = ck.watermarks(b.bootstrap, topic, 0)
    assert marks == (0, len(recs) + 1)

    assert b.stop() == 0
    b.start()
    assert shape(read_all(b.bootstrap, topic, 1)) == first
    assert ck.watermarks(b.bootstrap, topic, 0) == marks

    b.restart(hard=True)
    assert shape(read_all(b.bootstrap, topic, 1)) == first
    assert ck.watermarks(b.bootstrap, topic, 0) == marks


def partition_dir(b, topic: str) -> Path:
    (d,) = [d for d in (b.data_dir / "logs").glob(f"{topic}-*/0") if d.parent.name[len(topic) + 1 :].isalnum()]
    return d


def segment_bases(d: Path) -> list[int]:
    """Base offsets of the segments in a partition directory."""
    return sorted(int(n[: -len(".log")]) for n in os.listdir(d) if n.endswith(".log") and n[:-4].isdigit())


def cleaner_files(d: Path) -> list[str]:
    """The cleaner's work in progress in a partition directory (`.cleaning`: a pass
    writing its new segments; `.swap-<base>`: committed, being moved in)."""
    try:
        return sorted(n for n in os.listdir(d) if n.startswith((".cleaning", ".swap-")))
    except FileNotFoundError:
        return []


def test_kill_during_compaction(broker_factory, topic):
    """20,000 records (1,000 keys, ~150 bytes each) in a delete topic; switching it to
    compact starts a large pass. The partition directory is watched for the pass's work
    files, and the broker is kill -9'd a random 0-30 ms into it; more rounds write
    10,000 more records and kill again, until at least two kills landed inside a pass
    (at most 6 rounds). After every restart: each record read is exactly the one
    produced at its offset (old segments or new ones, never a mix, nothing
    undecodable), offsets are unique and increasing, every key is there with its
    latest value, watermarks unchanged. Finally, once a roll record seals the last
    round, the partition compacts to exactly one record per key."""
    b = broker_factory(data_dir="auto", extra_args=CLEANER_ARGS)
    ck.create_topic(b.bootstrap, topic, config={**FAST, "cleanup.policy": "delete"})
    rng = random.Random()
    recs: list[Rec] = []
    keys = 1000
    d = partition_dir(b, topic)

    def produce_rounds(tag: str, rounds: int) -> None:
        p = ck.producer(b.bootstrap, **{"linger.ms": 20})
        for items in versions(keys, rounds, tag, pad=120):
            recs.extend(produce_kv(p, topic, items))
        p.flush(10)

    def check(where: str) -> list[ck.Got]:
        by_offset = {r.offset: r for r in recs}
        got = read_all(b.bootstrap, topic, 1, timeout=60)
        assert_sparse_increasing(got, where)
        for g in got:
            r = by_offset.get(g.offset)
            assert r is not None and (g.key, g.value) == (r.key, r.value), (
                f"{where}: offset {g.offset} holds {g.key!r}={ck._short(g.value)}, produced {r and (r.key, r.value)}"
            )
        have = {g.offset for g in got}
        missing = [r.offset for r in compacted(recs, keep_tombstones=False) if r.offset not in have]
        assert not missing, f"{where}: latest records missing at offsets {missing[:10]}"
        assert ck.watermarks(b.bootstrap, topic, 0) == (0, len(recs)), where
        return got

    produce_rounds("kill0", 20)
    assert len(recs) == 20 * keys
    set_configs(b.bootstrap, topic, {"cleanup.policy": "compact"})
    states = []
    for rnd in range(6):
        if rnd > 0:
            produce_rounds(f"kill{rnd}", 10)
        deadline = time.monotonic() + 5
        while not cleaner_files(d) and time.monotonic() < deadline:
            time.sleep(0.0005)
        started = bool(cleaner_files(d))
        time.sleep(rng.uniform(0.0, 0.03))
        b.kill()
        left = cleaner_files(d)
        states.append(left)
        print(f"round {rnd}: pass seen: {started}; left at kill -9: {left or 'nothing (pass done)'}")
        b.start()
        got = check(f"after kill -9 #{rnd + 1} (left {left})")
        print(f"round {rnd}: {len(got)} of {len(recs)} records after restart")
        if sum(1 for s in states if s) >= 2:
            break
    assert sum(1 for s in states if s) >= 1, f"no kill -9 landed inside a cleaner pass: {states}"

    tail = roll(ck.producer(b.bootstrap), topic)
    got = wait_compacted(b.bootstrap, topic, compacted(recs, keep_tombstones=False) + tail, timeout=20)
    recs.extend(tail)
    assert len(got) == keys + 1
    last = f"kill{len(states) - 1}"
    assert kv_map(got) == {
        **{
            f"key-{k:04d}".encode(): f"{last} k{k} v{19 if last == 'kill0' else 9} ".encode() + b"x" * 120
            for k in range(keys)
        },
        ROLL_KEY: b"roll",
    }
    check("fully compacted")
    assert not cleaner_files(d)


# ============================================================ Schema Registry


def test_schema_registry_schemas_topic(cbroker):
    """Schema Registry's `_schemas`: created with cleanup.policy=compact (as its
    KafkaStore does), written with its JSON keys: SCHEMA records (several versions of
    several subjects, a soft delete rewriting one, a hard delete tombstoning one),
    CONFIG updates and the NOOP records (null value) it writes on every sync. Once an
    operator sets segment.ms / min.cleanable.dirty.ratio, the next NOOP (written past
    segment.ms: it rolls the segment, as any append would) leaves the rest cleanable:
    the topic compacts, and a reader from the beginning builds the same store as
    before compaction, from one record per key (and the NOOP at the tail)."""
    topic = "_schemas"
    ck.create_topic(cbroker, topic, config={"cleanup.policy": "compact"})
    p = ck.producer(cbroker)

    def key(**k) -> bytes:
        return json.dumps(k, separators=(",", ":")).encode()

    def schema_key(subject, version):
        return key(keytype="SCHEMA", subject=subject, version=version, magic=1)

    noop = key(keytype="NOOP", magic=0)
    config_key = key(keytype="CONFIG", subject=None, magic=0)
    items: list[tuple[bytes, bytes | None]] = [
        (noop, None),
        (config_key, json.dumps({"compatibilityLevel": "BACKWARD"}).encode()),
    ]
    sid = 0
    for subject in ["orders-value", "users-value", "payments-value"]:
        for version in range(1, 5):
            sid += 1
            fields = [{"name": f"f{i}", "type": "string"} for i in range(version)]
            schema = {"type": "record", "name": subject.replace("-", "_"), "fields": fields}
            value = {
                "subject": subject,
                "version": version,
                "id": sid,
                "schemaType": "AVRO",
                "schema": json.dumps(schema),
                "deleted": False,
            }
            items.append((schema_key(subject, version), json.dumps(value).encode()))
            items.append((noop, None))
    soft = json.loads(dict(items)[schema_key("users-value", 2)])
    soft["deleted"] = True
    items += [
        (schema_key("users-value", 2), json.dumps(soft).encode()),
        (schema_key("payments-value", 1), None),  # hard delete
        (config_key, json.dumps({"compatibilityLevel": "FULL"}).encode()),
        (key(keytype="CONFIG", subject="orders-value", magic=0), json.dumps({"compatibilityLevel": "NONE"}).encode()),
        (noop, None),
    ]
    recs = produce_kv(p, topic, items)

    def store(records) -> dict[bytes, dict]:
        """What Schema Registry's reader keeps: the latest value per key, a null value
        removes the key."""
        s: dict[bytes, dict] = {}
        for r in records:
            if r.value is None:
                s.pop(r.key, None)
            else:
                s[r.key] = json.loads(r.value)
        return s

    before = read_all(cbroker, topic, 1)
    assert shape(before) == shape(recs)
    want_store = store(before)
    assert len(want_store) == 13  # 12 schemas - 1 hard-deleted + 2 configs
    set_configs(cbroker, topic, {"segment.ms": "100", "min.cleanable.dirty.ratio": "0.01"})
    (tail,) = roll(p, topic, key=noop, value=None)
    expected = compacted(recs, keep_tombstones=True) + [tail]  # delete.retention.ms is still the default day
    got = wait_compacted(cbroker, topic, expected)
    assert len(got) - 1 == len({r.key for r in recs}) == 15
    assert store(got) == want_store
    assert want_store[schema_key("users-value", 2)]["deleted"] is True
    assert want_store[config_key] == {"compatibilityLevel": "FULL"}
    # The last NOOP of the sealed part (superseded only by one in the active segment) and the tail.
    assert [(g.offset, g.key) for g in got if g.value is None] == [
        (recs[-4].offset, schema_key("payments-value", 1)),
        (recs[-1].offset, noop),
        (tail.offset, noop),
    ]
    assert ck.watermarks(cbroker, topic, 0) == (0, len(recs) + 1)
