"""`/metrics` of a real `rill serve --http-listen 127.0.0.1:0`, parsed with the official
Prometheus Python client's parser, after confluent-kafka (default settings) produced,
consumed in a group and committed part of what it read."""

from __future__ import annotations

import time
import urllib.request

from confluent_kafka import Consumer, Producer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

import ck

N = 200
COMMITTED = 120


def scrape(http: str) -> dict[str, list]:
    """Metric family name -> its samples."""
    with urllib.request.urlopen(f"{http}/metrics", timeout=10) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        text = resp.read().decode()
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def one(families: dict, family: str, sample: str, **labels) -> float:
    found = [
        s.value
        for s in families.get(family, [])
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(found) == 1, (family, sample, labels, families.get(family))
    return found[0]


def total(families: dict, family: str, sample: str, **labels) -> float:
    return sum(
        s.value
        for s in families.get(family, [])
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
    )


def test_metrics_after_produce_consume_and_commit(broker_factory, topic):
    b = broker_factory(extra_args=["--http-listen", "127.0.0.1:0"])
    assert b.http and b.http.startswith("http://127.0.0.1:")
    ck.create_topic(b.bootstrap, topic, partitions=1)

    p = Producer(ck.base_conf(b.bootstrap))
    values = [f"value-{i:05d}".encode() for i in range(N)]
    for v in values:
        p.produce(topic, value=v, partition=0)
    assert p.flush(30) == 0

    group = f"g-{topic}"
    c = Consumer(
        ck.base_conf(
            b.bootstrap,
            **{"group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": False},
        )
    )
    try:
        c.subscribe([topic])
        got = 0
        deadline = time.monotonic() + 30
        while got < N and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and m.error() is None:
                got += 1
        assert got == N
        c.commit(offsets=[TopicPartition(topic, 0, COMMITTED)], asynchronous=False)

        f = scrape(b.http)
        # Traffic in: every record, and at least every value's bytes.
        assert one(f, "rill_topic_records_in", "rill_topic_records_in_total", topic=topic) == N
        assert one(f, "rill_topic_bytes_in", "rill_topic_bytes_in_total", topic=topic) >= sum(map(len, values))
        assert one(f, "rill_topic_records_out", "rill_topic_records_out_total", topic=topic) >= N
        # The partition and the group's lag: end − committed.
        assert one(f, "rill_partition_log_end_offset", "rill_partition_log_end_offset", topic=topic, partition="0") == N
        assert one(f, "rill_group_lag", "rill_group_lag", group=group, topic=topic, partition="0") == N - COMMITTED
        assert one(f, "rill_group_members", "rill_group_members", group=group) == 1
        assert one(f, "rill_group_state", "rill_group_state", group=group, state="Stable") == 1
        # Request histograms moved for Produce and Fetch (any version the client chose).
        assert total(f, "rill_request_duration_seconds", "rill_request_duration_seconds_count", api="Produce") >= 1
        assert total(f, "rill_request_duration_seconds", "rill_request_duration_seconds_count", api="Fetch") >= 1
        assert total(f, "rill_request_duration_seconds", "rill_request_duration_seconds_count", api="OffsetCommit") >= 1
        assert one(f, "rill_connections_open", "rill_connections_open", listener="PLAINTEXT") >= 1
    finally:
        c.close()

    # The consumer left: no members, and the lag is still end − committed.
    deadline = time.monotonic() + 10
    while True:
        f = scrape(b.http)
        if one(f, "rill_group_members", "rill_group_members", group=group) == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert one(f, "rill_group_members", "rill_group_members", group=group) == 0
    assert one(f, "rill_group_lag", "rill_group_lag", group=group, topic=topic, partition="0") == N - COMMITTED
