"""kafka-python (pure-Python client, 3.x) against a real rill broker.

Producers run with kafka-python's defaults, which since 3.0 means idempotent
(InitProducerId first, acks=all, sequence numbers); only the acks test overrides
`acks` (acks 0 and 1 make kafka-python turn idempotence off, with a warning).
"""

from __future__ import annotations

import os
import time

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import InvalidPartitionsError, TopicAlreadyExistsError, UnknownTopicOrPartitionError

import ck
from ck import Rec

NOW_MS = int(time.time() * 1000)
CODECS = [None, "gzip", "snappy", "lz4", "zstd"]


def kp_admin(bootstrap):
    return KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)


def kp_producer(bootstrap, **kw):
    conf = dict(bootstrap_servers=bootstrap, linger_ms=5)
    conf.update(kw)
    return KafkaProducer(**conf)


def kp_consumer(bootstrap, **kw):
    conf = dict(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="none",
        fetch_max_wait_ms=100,
        request_timeout_ms=15000,
    )
    conf.update(kw)
    return KafkaConsumer(**conf)


def kp_produce(p, topic, recs, flush_each=False):
    futs = []
    for r in recs:
        futs.append(
            p.send(
                topic,
                value=r.value,
                key=r.key,
                headers=[(k, v) for k, v in r.headers],
                partition=r.partition,
                timestamp_ms=r.timestamp,
            )
        )
        if flush_each:
            p.flush(30)
    p.flush(60)
    for r, f in zip(recs, futs):
        md = f.get(timeout=30)
        assert md.partition == r.partition
        r.offset = md.offset
    return recs


def kp_consume(bootstrap, topic, partitions, expect, start=0, timeout=30, **kw):
    """Assign (no group), seek, and read until `expect` records arrived and every
    partition is at its end offset; then poll once more to catch extras."""
    c = kp_consumer(bootstrap, **kw)
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        c.assign(tps)
        for tp in tps:
            c.seek(tp, start)
        ends = c.end_offsets(tps)
        got = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = c.poll(timeout_ms=200)
            for recs in batch.values():
                got.extend(recs)
            if len(got) >= expect and all(c.position(tp) >= ends[tp] for tp in tps):
                for recs in c.poll(timeout_ms=300).values():
                    got.extend(recs)
                # kafka-python's timestamp_type is the raw attribute bit (0 = CreateTime,
                # 1 = LogAppendTime); ck.Got uses librdkafka's numbering (1, 2).
                return [
                    ck.Got(
                        m.partition,
                        m.offset,
                        m.key,
                        m.value,
                        list(m.headers or []),
                        m.timestamp_type + 1,
                        m.timestamp,
                    )
                    for m in got
                ]
        raise AssertionError(f"kafka-python consume timed out: {len(got)} of {expect} records")
    finally:
        c.close()


def test_admin_create_describe(broker, topic):
    a = kp_admin(broker)
    try:
        a.create_topics({topic: {"num_partitions": 3, "replication_factor": 1}}, timeout_ms=10000)
        assert topic in a.list_topics()
        (desc,) = a.describe_topics([topic])
        assert desc["error_code"] == 0
        assert desc["name"] == topic
        assert sorted(p["partition_index"] for p in desc["partitions"]) == [0, 1, 2]
        cluster = a.describe_cluster()
        assert len(cluster["brokers"]) == 1
        node_id = cluster["brokers"][0]["broker_id"]
        assert cluster["controller_id"] == node_id
        assert all(p["leader_id"] == node_id for p in desc["partitions"])

        with pytest.raises(TopicAlreadyExistsError):
            a.create_topics({topic: {"num_partitions": 3, "replication_factor": 1}}, timeout_ms=10000)

        a.create_partitions({topic: 4}, timeout_ms=10000)
        (desc,) = a.describe_topics([topic])
        assert sorted(p["partition_index"] for p in desc["partitions"]) == [0, 1, 2, 3]
        with pytest.raises(InvalidPartitionsError):
            a.create_partitions({topic: 2}, timeout_ms=10000)
    finally:
        a.close()


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c or "none")
def test_produce_consume_codec(broker, topic, codec):
    a = kp_admin(broker)
    a.create_topics({topic: {"num_partitions": 3, "replication_factor": 1}}, timeout_ms=10000)
    a.close()
    recs = ck.sample_records(3, NOW_MS - 7_200_000, n=45, tag=f"kp-{codec}")
    # kafka-python headers carry bytes values only
    for r in recs:
        r.headers = [(k, v if v is not None else b"") for k, v in r.headers]
    p = kp_producer(broker, compression_type=codec, linger_ms=50)
    kp_produce(p, topic, recs)
    p.close()
    ck.assert_contiguous_offsets(recs)
    # read back with kafka-python itself ...
    ck.assert_records(kp_consume(broker, topic, 3, expect=len(recs)), recs)
    # ... and with librdkafka
    ck.assert_records(ck.consume_all(broker, topic, 3, expect=len(recs)), recs)


def test_reads_librdkafka_batches(broker, topic):
    """Batches compressed by librdkafka in every codec, read by kafka-python."""
    ck.create_topic(broker, topic, partitions=1)
    all_recs = []
    for i, codec in enumerate(ck.CODECS):
        p = ck.producer(broker, **{"compression.type": codec, "linger.ms": 50})
        recs = [
            Rec(
                0,
                b"%s-%d" % (codec.encode(), j),
                b"payload " * 20,
                [("c", codec.encode())],
                NOW_MS + 100 * i + j,
            )
            for j in range(10)
        ]
        ck.produce_records(p, topic, recs)
        all_recs += recs
    ck.assert_records(kp_consume(broker, topic, 1, expect=len(all_recs)), all_recs)


def test_one_mib_record(broker, topic):
    a = kp_admin(broker)
    a.create_topics(
        {topic: {"num_partitions": 1, "replication_factor": 1, "configs": {"max.message.bytes": "2097152"}}},
        timeout_ms=10000,
    )
    a.close()
    value = os.urandom(1024 * 1024)
    p = kp_producer(broker, max_request_size=4 * 1024 * 1024)
    recs = kp_produce(
        p,
        topic,
        [Rec(0, b"big", value, [("h", b"1")], NOW_MS), Rec(0, b"next", b"x", [], NOW_MS + 1)],
        flush_each=True,
    )
    p.close()
    assert [r.offset for r in recs] == [0, 1]
    got = kp_consume(
        broker,
        topic,
        1,
        expect=2,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=16 * 1024 * 1024,
    )
    ck.assert_records(got, recs)


def test_list_offsets(broker, topic):
    ck.create_topic(broker, topic, partitions=1)
    base = NOW_MS - 900_000
    timestamps = [base + 1000 * i for i in range(8)]
    p = kp_producer(broker, linger_ms=0)
    recs = kp_produce(
        p, topic, [Rec(0, b"k%d" % i, b"v", [], ts) for i, ts in enumerate(timestamps)], flush_each=True
    )
    p.close()
    assert [r.offset for r in recs] == list(range(8))

    c = kp_consumer(broker)
    try:
        tp = TopicPartition(topic, 0)
        assert c.beginning_offsets([tp]) == {tp: 0}
        assert c.end_offsets([tp]) == {tp: 8}
        for target, want in [
            (base - 1, 0),
            (base, 0),
            (base + 1, 1),
            (base + 3000, 3),
            (base + 6999, 7),
            (timestamps[-1], 7),
        ]:
            res = c.offsets_for_times({tp: target})[tp]
            assert res is not None, f"no offset for ts {target - base:+d}"
            assert res.offset == want, f"offsets_for_times({target - base:+d}ms) = {res.offset}, want {want}"
            assert res.timestamp == timestamps[want]
        assert c.offsets_for_times({tp: timestamps[-1] + 1})[tp] is None
    finally:
        c.close()


def test_delete_topic(broker, topic):
    a = kp_admin(broker)
    try:
        a.create_topics({topic: {"num_partitions": 1, "replication_factor": 1}}, timeout_ms=10000)
        assert topic in a.list_topics()
        a.delete_topics([topic], timeout_ms=10000)
        deadline = time.monotonic() + 10
        while topic in a.list_topics() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert topic not in a.list_topics()
        with pytest.raises(UnknownTopicOrPartitionError):
            a.delete_topics([topic], timeout_ms=10000)
    finally:
        a.close()


@pytest.mark.parametrize("acks", [0, 1, "all"], ids=str)
def test_acks(broker, topic, acks):
    ck.create_topic(broker, topic, partitions=1)
    p = kp_producer(broker, acks=acks)
    recs = [Rec(0, b"k%d" % i, b"v%d" % i, [], NOW_MS + i) for i in range(100)]
    kp_produce(p, topic, recs)
    p.close()
    if acks == 0:
        # No response, so no offsets: kafka-python 3.0.12 completes acks=0 batches
        # with a made-up base offset 0 (its docs say -1), so the offsets it reports
        # mean nothing. The records must still land in produce order.
        for i, r in enumerate(recs):
            r.offset = i
    else:
        ck.assert_contiguous_offsets(recs)
    ck.assert_records(kp_consume(broker, topic, 1, expect=100), recs)
