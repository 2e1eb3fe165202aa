"""confluent-kafka (librdkafka) helpers shared by the compat tests.

Also the reference reader: records written by kcat and kafkajs are read back
through `consume_all` here.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


@dataclass
class Rec:
    """One record as a test expects to read it back."""

    partition: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)
    timestamp: int | None = None  # CreateTime in ms
    offset: int | None = None  # filled in from the delivery report


def base_conf(bootstrap: str, **extra) -> dict:
    conf = {
        "bootstrap.servers": bootstrap,
        "broker.address.family": "v4",
        "socket.timeout.ms": 10000,
        "log_level": 3,
        # librdkafka's log lines go through Python logging (captured per test by
        # pytest and shown with a failure) instead of straight to stderr.
        "logger": logging.getLogger("librdkafka"),
    }
    conf.update(extra)
    return conf


def admin(bootstrap: str) -> AdminClient:
    return AdminClient(base_conf(bootstrap))


def create_topic(bootstrap: str, topic: str, partitions: int = 1, config: dict | None = None) -> None:
    a = admin(bootstrap)
    futs = a.create_topics(
        [NewTopic(topic, num_partitions=partitions, replication_factor=1, config=config or {})],
        operation_timeout=10,
        request_timeout=15,
    )
    futs[topic].result(timeout=20)
    wait_for_topic(bootstrap, topic, partitions)


def topic_partitions(bootstrap: str, topic: str | None = None) -> dict[str, int]:
    """topic -> partition count, from a Metadata request for all topics (which must
    not auto-create anything)."""
    md = admin(bootstrap).list_topics(timeout=10)
    return {
        name: len(t.partitions)
        for name, t in md.topics.items()
        if t.error is None and (topic is None or name == topic)
    }


def wait_for_topic(bootstrap: str, topic: str, partitions: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen = topic_partitions(bootstrap).get(topic)
        if seen == partitions:
            return
        time.sleep(0.1)
    raise AssertionError(f"topic {topic!r}: expected {partitions} partitions in metadata, saw {seen}")


def producer(bootstrap: str, **extra) -> Producer:
    conf = base_conf(
        bootstrap,
        **{
            "acks": "all",
            "linger.ms": 5,
            "message.timeout.ms": 30000,
        },
    )
    conf.update(extra)
    return Producer(conf)


def produce_records(p: Producer, topic: str, recs: list[Rec], flush_each: bool = False) -> list[Rec]:
    """Produce `recs` (explicit partitions and timestamps), wait for every delivery
    report, fill in `offset` from it and return the list. Raises on any error."""
    errors: list[str] = []

    def make_cb(rec: Rec):
        def cb(err, msg):
            if err is not None:
                errors.append(f"{rec.partition}/{rec.key!r}: {err}")
            else:
                rec.offset = msg.offset()
                assert msg.partition() == rec.partition, (msg.partition(), rec.partition)

        return cb

    for rec in recs:
        kwargs = {"partition": rec.partition, "on_delivery": make_cb(rec)}
        if rec.key is not None:
            kwargs["key"] = rec.key
        if rec.headers:
            kwargs["headers"] = rec.headers
        if rec.timestamp is not None:
            kwargs["timestamp"] = rec.timestamp
        while True:
            try:
                p.produce(topic, rec.value, **kwargs)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
        if flush_each:
            assert p.flush(30) == 0, "flush timed out"
    remaining = p.flush(60)
    assert remaining == 0, f"{remaining} messages still undelivered after flush"
    assert not errors, f"delivery errors: {errors[:10]}"
    return recs


def consumer(bootstrap: str, **extra) -> Consumer:
    conf = base_conf(
        bootstrap,
        **{
            "group.id": "rill-compat-unused",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "error",
            "fetch.wait.max.ms": 100,
        },
    )
    conf.update(extra)
    return Consumer(conf)


def poll_messages(c: Consumer, n: int, timeout: float = 30.0) -> list:
    """Polls `c` until it has returned `n` messages (errors skipped) or `timeout` passes."""
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is not None and not m.error():
            got.append(m)
    return got


@dataclass
class Got:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]
    timestamp_type: int
    timestamp: int


def consume_all(
    bootstrap: str,
    topic: str,
    partitions: int | list[int],
    start: int = OFFSET_BEGINNING,
    expect: int | None = None,
    timeout: float = 30.0,
    **conf,
) -> list[Got]:
    """Read every record of `topic` from `start` by explicit assignment (no group
    coordinator needed) until each partition reported EOF and, when `expect` is
    given, at least `expect` records were read. Returns them in arrival order."""
    parts = list(range(partitions)) if isinstance(partitions, int) else list(partitions)
    c = consumer(bootstrap, **conf)
    got: list[Got] = []
    eof: set[int] = set()
    try:
        c.assign([TopicPartition(topic, p, start) for p in parts])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msgs = c.consume(num_messages=10000, timeout=0.2)
            for m in msgs:
                err = m.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        eof.add(m.partition())
                        continue
                    raise AssertionError(f"consume error on {topic}/{m.partition()}: {err}")
                eof.discard(m.partition())
                got.append(
                    Got(
                        m.partition(),
                        m.offset(),
                        m.key(),
                        m.value(),
                        list(m.headers() or []),
                        m.timestamp()[0],
                        m.timestamp()[1],
                    )
                )
            if eof >= set(parts) and (expect is None or len(got) >= expect):
                return got
        raise AssertionError(
            f"consume of {topic} timed out after {timeout}s: {len(got)} records "
            f"(expected {expect}), EOF on partitions {sorted(eof)} of {parts}"
        )
    finally:
        c.close()


def watermarks(bootstrap: str, topic: str, partition: int) -> tuple[int, int]:
    c = consumer(bootstrap)
    try:
        return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10, cached=False)
    finally:
        c.close()


def assert_records(got: list[Got], expected: list[Rec]) -> None:
    """Exact comparison: same set of (partition, offset), and for each the same key,
    value, headers (order and duplicates included), CreateTime timestamp."""
    by_pos = {}
    for g in got:
        pos = (g.partition, g.offset)
        assert pos not in by_pos, f"record at partition {g.partition} offset {g.offset} delivered twice"
        by_pos[pos] = g
    exp_pos = {(r.partition, r.offset): r for r in expected}
    assert None not in {r.offset for r in expected}, "some expected records have no offset"
    assert sorted(by_pos) == sorted(exp_pos), (
        f"(partition, offset) sets differ: missing {sorted(set(exp_pos) - set(by_pos))[:10]}, "
        f"unexpected {sorted(set(by_pos) - set(exp_pos))[:10]}"
    )
    for pos, r in sorted(exp_pos.items()):
        g = by_pos[pos]
        where = f"partition {pos[0]} offset {pos[1]}"
        assert g.key == r.key, f"{where}: key {g.key!r} != {r.key!r}"
        assert g.value == r.value, f"{where}: value {_short(g.value)} != {_short(r.value)}"
        assert g.headers == r.headers, f"{where}: headers {g.headers!r} != {r.headers!r}"
        if r.timestamp is not None:
            assert g.timestamp_type == 1, f"{where}: timestamp type {g.timestamp_type} is not CreateTime(1)"
            assert g.timestamp == r.timestamp, f"{where}: timestamp {g.timestamp} != {r.timestamp}"


def assert_contiguous_offsets(recs: list[Rec]) -> None:
    """Offsets assigned per partition must be 0, 1, 2, ... in produce order."""
    per: dict[int, list[int]] = {}
    for r in recs:
        per.setdefault(r.partition, []).append(r.offset)
    for p, offs in per.items():
        assert offs == list(range(len(offs))), (
            f"partition {p}: delivery offsets {offs[:20]}... not 0..{len(offs) - 1}"
        )


def _short(v):
    if v is None or len(v) <= 64:
        return repr(v)
    return f"<{len(v)} bytes {v[:32]!r}...>"


def sample_records(partitions: int, base_ts: int, n: int = 24, tag: str = "") -> list[Rec]:
    """A varied set of records spread over `partitions`: compressible and binary
    values, null and empty keys/values, duplicate and null headers."""
    recs = []
    for i in range(n):
        p = i % partitions
        key: bytes | None = f"key-{tag}-{i}".encode()
        value: bytes | None = (f"value {tag} {i} " + "lorem ipsum dolor sit amet " * (i % 7 + 1)).encode()
        headers: list[tuple[str, bytes | None]] = [("idx", str(i).encode()), ("tag", tag.encode())]
        if i % 5 == 1:
            key = None
        if i % 5 == 2:
            value = bytes((i * 37 + j) % 256 for j in range(300))
        if i % 6 == 3:
            headers = []
        if i % 6 == 4:
            headers = [("dup", b"first"), ("dup", b"second"), ("empty", b""), ("null", None)]
        if i == 7:
            value = None  # tombstone
        if i == 8:
            value = b""
            key = b""
        recs.append(Rec(p, key, value, headers, base_ts + i * 1000))
    return recs


def check_kafka_exception(exc: BaseException, code) -> bool:
    return isinstance(exc, KafkaException) and exc.args[0].code() == code
