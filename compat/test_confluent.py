"""confluent-kafka (librdkafka 2.x) against a real rill broker."""

from __future__ import annotations

import os
import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import NewPartitions, NewTopic, OffsetSpec

import ck
from ck import Rec

NOW_MS = int(time.time() * 1000)


def test_describe_cluster(broker):
    a = ck.admin(broker)
    desc = a.describe_cluster(request_timeout=10).result(timeout=15)
    assert desc.cluster_id, "empty cluster id"
    assert len(desc.nodes) == 1, desc.nodes
    node = desc.nodes[0]
    host, port = broker.rsplit(":", 1)
    assert (node.host, node.port) == (host, int(port)), (
        f"advertised {node.host}:{node.port}, listening on {broker}"
    )
    assert desc.controller is not None and desc.controller.id == node.id


def test_create_topic_and_metadata(broker, topic):
    ck.create_topic(broker, topic, partitions=3)
    md = ck.admin(broker).list_topics(timeout=10)
    t = md.topics[topic]
    assert t.error is None
    assert sorted(t.partitions) == [0, 1, 2]
    broker_ids = set(md.brokers)
    assert len(broker_ids) == 1
    for p in t.partitions.values():
        assert p.leader in broker_ids
        assert p.replicas == [p.leader]
        assert p.isrs == [p.leader]

    # Creating it again is TOPIC_ALREADY_EXISTS, as with Kafka.
    a = ck.admin(broker)  # keep the client alive while its futures are pending
    futs = a.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    with pytest.raises(KafkaException) as ei:
        futs[topic].result(timeout=15)
    assert ei.value.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS, ei.value

    # Invalid partition count is rejected.
    bad = topic + "-bad"
    futs = a.create_topics([NewTopic(bad, num_partitions=0, replication_factor=1)])
    with pytest.raises(KafkaException) as ei:
        futs[bad].result(timeout=15)
    assert ei.value.args[0].code() == KafkaError.INVALID_PARTITIONS, ei.value
    assert bad not in ck.topic_partitions(broker)


def test_create_partitions(broker, topic):
    ck.create_topic(broker, topic, partitions=2)
    a = ck.admin(broker)
    a.create_partitions([NewPartitions(topic, 5)], request_timeout=15)[topic].result(timeout=20)
    ck.wait_for_topic(broker, topic, 5)
    recs = ck.produce_records(
        ck.producer(broker), topic, [Rec(p, b"k%d" % p, b"v%d" % p, [], NOW_MS + p) for p in range(5)]
    )
    assert [r.offset for r in recs] == [0] * 5
    ck.assert_records(ck.consume_all(broker, topic, 5, expect=5), recs)

    # Shrinking is refused.
    with pytest.raises(KafkaException) as ei:
        a.create_partitions([NewPartitions(topic, 3)], request_timeout=15)[topic].result(timeout=20)
    assert ei.value.args[0].code() == KafkaError.INVALID_PARTITIONS, ei.value


@pytest.mark.parametrize("codec", ck.CODECS)
def test_produce_consume_codec(broker, topic, codec):
    ck.create_topic(broker, topic, partitions=3)
    p = ck.producer(broker, **{"compression.type": codec, "linger.ms": 50, "batch.num.messages": 1000})
    recs = ck.sample_records(3, NOW_MS - 3_600_000, n=60, tag=codec)
    ck.produce_records(p, topic, recs)
    ck.assert_contiguous_offsets(recs)
    got = ck.consume_all(broker, topic, 3, expect=len(recs))
    ck.assert_records(got, recs)
    for part in range(3):
        n = sum(1 for r in recs if r.partition == part)
        assert ck.watermarks(broker, topic, part) == (0, n)


def test_consume_from_middle_offset(broker, topic):
    ck.create_topic(broker, topic, partitions=1)
    recs = ck.produce_records(
        ck.producer(broker, **{"linger.ms": 20}),
        topic,
        [Rec(0, b"k%d" % i, b"v%d" % i, [], NOW_MS + i) for i in range(50)],
    )
    # Start inside a batch: the records before the requested offset must not be returned.
    got = ck.consume_all(broker, topic, 1, start=37, expect=13)
    ck.assert_records(got, recs[37:])


def test_one_mib_record(broker, topic):
    ck.create_topic(broker, topic, partitions=1, config={"max.message.bytes": "2097152"})
    value = os.urandom(1024 * 1024)
    p = ck.producer(broker, **{"message.max.bytes": 4 * 1024 * 1024})
    recs = ck.produce_records(
        p,
        topic,
        [Rec(0, b"big", value, [("h", b"v")], NOW_MS), Rec(0, b"small", b"after", [], NOW_MS + 1)],
        flush_each=True,
    )
    assert [r.offset for r in recs] == [0, 1]
    got = ck.consume_all(
        broker,
        topic,
        1,
        expect=2,
        **{
            "fetch.max.bytes": 8 * 1024 * 1024,
            "max.partition.fetch.bytes": 8 * 1024 * 1024,
            "receive.message.max.bytes": 16 * 1024 * 1024,
        },
    )
    ck.assert_records(got, recs)


def test_record_over_default_max_message_bytes_is_rejected(broker, topic):
    # Kafka's default max.message.bytes (1048588) is exceeded by a 1 MiB value plus
    # batch overhead: the broker must answer MESSAGE_TOO_LARGE.
    ck.create_topic(broker, topic, partitions=1)
    p = ck.producer(broker, **{"message.max.bytes": 4 * 1024 * 1024, "retries": 0})
    errors = []
    p.produce(topic, os.urandom(1024 * 1024), partition=0, on_delivery=lambda err, msg: errors.append(err))
    assert p.flush(30) == 0
    assert len(errors) == 1
    assert errors[0] is not None, "1 MiB record accepted by a topic with the default max.message.bytes"
    assert errors[0].code() == KafkaError.MSG_SIZE_TOO_LARGE, errors[0]
    # The partition is still usable.
    recs = ck.produce_records(p, topic, [Rec(0, b"k", b"small", [], NOW_MS)])
    assert recs[0].offset == 0


def test_hundred_thousand_records(broker, topic):
    n = 100_000
    ck.create_topic(broker, topic, partitions=3)
    p = ck.producer(
        broker,
        **{
            "compression.type": "lz4",
            "linger.ms": 20,
            "batch.num.messages": 10000,
            "queue.buffering.max.messages": 200000,
        },
    )
    errors = []
    delivered = [0]

    def cb(err, msg):
        if err is not None:
            errors.append(err)
        else:
            delivered[0] += 1

    for i in range(n):
        while True:
            try:
                p.produce(topic, b"m%06d" % i, partition=i % 3, on_delivery=cb)
                break
            except BufferError:
                p.poll(0.05)
        if i % 10000 == 0:
            p.poll(0)
    assert p.flush(120) == 0
    assert not errors, errors[:5]
    assert delivered[0] == n

    got = ck.consume_all(broker, topic, 3, expect=n, timeout=90, **{"fetch.wait.max.ms": 50})
    assert len(got) == n
    per_part = {0: [], 1: [], 2: []}
    for g in got:
        per_part[g.partition].append(g)
    for part, msgs in per_part.items():
        assert [g.offset for g in msgs] == list(range(len(msgs))), f"partition {part} offsets not contiguous"
        assert [g.value for g in msgs] == [b"m%06d" % i for i in range(part, n, 3)], (
            f"partition {part} values"
        )
        assert ck.watermarks(broker, topic, part) == (0, len(msgs))


def _produce_timestamped(broker, topic, timestamps):
    p = ck.producer(broker, **{"linger.ms": 0})
    recs = [Rec(0, b"k%d" % i, b"v%d" % i, [], ts) for i, ts in enumerate(timestamps)]
    return ck.produce_records(p, topic, recs, flush_each=True)  # one record per batch


def test_list_offsets(broker, topic):
    ck.create_topic(broker, topic, partitions=2)
    base = NOW_MS - 600_000
    timestamps = [base + 1000 * i for i in range(10)]
    recs = _produce_timestamped(broker, topic, timestamps)
    assert [r.offset for r in recs] == list(range(10))

    # earliest / latest through the consumer (ListOffsets -2 / -1)
    assert ck.watermarks(broker, topic, 0) == (0, 10)
    assert ck.watermarks(broker, topic, 1) == (0, 0)

    # by timestamp through the consumer
    c = ck.consumer(broker)
    try:
        cases = [
            (base - 50_000, 0),  # before everything: first record
            (base, 0),  # exact match
            (base + 1, 1),  # between 0 and 1: first with ts >= target
            (base + 4000, 4),
            (base + 4500, 5),
            (timestamps[-1], 9),
            (timestamps[-1] + 1, -1),  # past the end: no offset
        ]
        for ts, want in cases:
            res = c.offsets_for_times([TopicPartition(topic, 0, ts)], timeout=10)
            assert res[0].error is None, res[0].error
            assert res[0].offset == want, f"offsets_for_times({ts - base:+d}ms): {res[0].offset} != {want}"
        # an empty partition has no offset for any time
        res = c.offsets_for_times([TopicPartition(topic, 1, base)], timeout=10)
        assert res[0].offset == -1, res[0]
    finally:
        c.close()

    # and through the admin API (ListOffsets with OffsetSpec)
    a = ck.admin(broker)
    tp = TopicPartition(topic, 0)
    specs = {
        "earliest": (OffsetSpec.earliest(), 0),
        "latest": (OffsetSpec.latest(), 10),
        "ts-mid": (OffsetSpec.for_timestamp(base + 2500), 3),
        "ts-past": (OffsetSpec.for_timestamp(timestamps[-1] + 10), -1),
    }
    for name, (spec, want) in specs.items():
        out = a.list_offsets({tp: spec}, request_timeout=10)[tp].result(timeout=15)
        assert out.offset == want, f"admin list_offsets {name}: {out.offset} != {want}"
        if name == "ts-mid":
            assert out.timestamp == base + 3000, f"timestamp of found record: {out.timestamp}"


def test_delete_topic(broker, topic):
    ck.create_topic(broker, topic, partitions=2)
    ck.produce_records(ck.producer(broker), topic, [Rec(0, b"k", b"v", [], NOW_MS)])
    other = topic + "-kept"
    ck.create_topic(broker, other, partitions=1)

    a = ck.admin(broker)
    a.delete_topics([topic], operation_timeout=10, request_timeout=15)[topic].result(timeout=20)
    deadline = time.monotonic() + 10
    while topic in ck.topic_partitions(broker) and time.monotonic() < deadline:
        time.sleep(0.1)
    topics = ck.topic_partitions(broker)
    assert topic not in topics, f"{topic} still in metadata after delete"
    assert topics.get(other) == 1, "deleting one topic affected another"

    # deleting it again: UNKNOWN_TOPIC_OR_PART
    with pytest.raises(KafkaException) as ei:
        a.delete_topics([topic], operation_timeout=10, request_timeout=15)[topic].result(timeout=20)
    assert ei.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART, ei.value

    # re-creating the name gives a fresh, empty topic
    ck.create_topic(broker, topic, partitions=1)
    assert ck.watermarks(broker, topic, 0) == (0, 0)
    recs = ck.produce_records(ck.producer(broker), topic, [Rec(0, b"k2", b"new", [], NOW_MS + 5)])
    assert recs[0].offset == 0
    ck.assert_records(ck.consume_all(broker, topic, 1, expect=1), recs)


@pytest.mark.parametrize("acks", ["0", "1", "all"])
def test_acks(broker, topic, acks):
    ck.create_topic(broker, topic, partitions=2)
    p = ck.producer(broker, acks=acks)
    recs = [Rec(i % 2, b"k%d" % i, b"v%d" % i, [("a", acks.encode())], NOW_MS + i) for i in range(200)]
    ck.produce_records(p, topic, recs)
    if acks == "0":
        # no response, so no offsets in the delivery reports: take them from the log
        for part in range(2):
            mine = [r for r in recs if r.partition == part]
            for off, r in enumerate(mine):
                r.offset = off
    else:
        ck.assert_contiguous_offsets(recs)
    got = ck.consume_all(broker, topic, 2, expect=200)
    ck.assert_records(got, recs)


def test_auto_create_on_produce(broker, topic):
    p = ck.producer(broker)
    recs = ck.produce_records(p, topic, [Rec(0, b"k", b"auto", [], NOW_MS)])
    assert recs[0].offset == 0
    assert ck.topic_partitions(broker).get(topic) == 1
    ck.assert_records(ck.consume_all(broker, topic, 1, expect=1), recs)


def test_auto_create_disabled(broker_factory, topic):
    b = broker_factory(auto_create_topics=False).bootstrap
    p = ck.producer(b, **{"message.timeout.ms": 3000})
    errors = []
    p.produce(topic, b"x", on_delivery=lambda err, msg: errors.append(err))
    p.flush(10)
    assert len(errors) == 1 and errors[0] is not None, (
        "produce to a missing topic succeeded with auto-create off"
    )
    assert topic not in ck.topic_partitions(b)
    ck.create_topic(b, topic, partitions=1)
    recs = ck.produce_records(ck.producer(b), topic, [Rec(0, b"k", b"v", [], NOW_MS)])
    assert recs[0].offset == 0


def test_long_poll_fetch_wakes_on_produce(broker, topic):
    """A consumer waiting at the end of the log gets a record produced later without
    waiting for its full fetch.wait.max.ms."""
    ck.create_topic(broker, topic, partitions=1)
    c = ck.consumer(
        broker, **{"fetch.wait.max.ms": 8000, "socket.timeout.ms": 30000, "enable.partition.eof": False}
    )
    try:
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        # let the consumer reach the (empty) end and park a Fetch
        assert c.poll(1.5) is None
        p = ck.producer(broker, **{"linger.ms": 0})
        t0 = time.monotonic()
        ck.produce_records(p, topic, [Rec(0, b"k", b"late", [], NOW_MS)])
        m = None
        while m is None and time.monotonic() - t0 < 10:
            m = c.poll(0.1)
        elapsed = time.monotonic() - t0
        assert m is not None and m.error() is None, m and m.error()
        assert m.value() == b"late" and m.offset() == 0
        # without a wake-up the parked fetch would only return after ~6.5 s
        assert elapsed < 2.0, (
            f"record arrived after {elapsed:.2f}s: parked fetch was not woken by the produce"
        )
    finally:
        c.close()
