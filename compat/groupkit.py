"""Consumer-group helpers shared by the test_groups_*.py files.

* `Member`      - a confluent-kafka group consumer that records what it consumed and
                  counts its rebalance callbacks.
* `drive`       - poll a set of members round-robin (one thread) until a condition
                  holds; rebalance callbacks run inside those polls.
* `committed` / `high_watermarks` - what the broker says about a group and a topic.
* `offset_delete` - OffsetDelete (API 47), through kafka-python's admin client.
* `startup_time`  - how long a new group of N members takes until all are consuming.
* `produce_batch` / `positions` / `union_got` - records tagged by batch, and the
                  (partition, offset) positions produced or consumed.
"""

from __future__ import annotations

import time
from typing import Callable, Iterable

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaError, TopicPartition

import ck
from ck import Rec

# session.timeout.ms 6000 is the broker minimum; a short heartbeat interval makes
# members notice a rebalance quickly, and a bounded max.poll.interval.ms (which
# librdkafka sends as the rebalance timeout) bounds how long a stuck rebalance waits.
FAST_GROUP_CONF = {
    "session.timeout.ms": 6000,
    "heartbeat.interval.ms": 300,
    "max.poll.interval.ms": 20000,
}


class Member:
    """One confluent-kafka consumer in a group, subscribed to `topic`."""

    def __init__(self, bootstrap: str, group: str, topic: str, name: str, subscribe: bool = True, **conf):
        self.name = name
        self.topic = topic
        self.assign_calls: list[list[int]] = []
        self.revoke_calls: list[list[int]] = []
        self.owned_at_revoke: list[list[int]] = []
        self.lost_calls: list[list[int]] = []
        # (partition, offset, value) in arrival order
        self.got: list[tuple[int, int, bytes | None]] = []
        self.first_record_at: float | None = None
        self.closed = False
        settings = {
            "group.id": group,
            "client.id": name,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": False,
            # commit() with no arguments commits what consume() returned
            "enable.auto.offset.store": True,
        }
        # KIP-848 members (group.protocol=consumer) take their session and heartbeat
        # settings from the broker; librdkafka refuses the classic ones for them.
        if conf.get("group.protocol") != "consumer":
            settings.update(FAST_GROUP_CONF)
        settings.update(conf)
        self.c: Consumer = ck.consumer(bootstrap, **settings)
        if subscribe:
            self.subscribe()

    def subscribe(self) -> None:
        self.c.subscribe([self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost)

    def _on_assign(self, consumer, parts):
        self.assign_calls.append(sorted(tp.partition for tp in parts))

    def _on_revoke(self, consumer, parts):
        self.revoke_calls.append(sorted(tp.partition for tp in parts))
        # what the member owned when asked to give these up (not yet unassigned here)
        self.owned_at_revoke.append(sorted(tp.partition for tp in consumer.assignment()))

    def _on_lost(self, consumer, parts):
        self.lost_calls.append(sorted(tp.partition for tp in parts))

    @property
    def rebalances(self) -> int:
        return len(self.assign_calls) + len(self.revoke_calls) + len(self.lost_calls)

    def poll(self, timeout: float = 0.02) -> int:
        if self.closed:
            return 0
        n = 0
        for m in self.c.consume(num_messages=1000, timeout=timeout):
            err = m.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    continue
                raise AssertionError(f"{self.name}: consume error: {err}")
            if self.first_record_at is None:
                self.first_record_at = time.monotonic()
            self.got.append((m.partition(), m.offset(), m.value()))
            n += 1
        return n

    def parts(self) -> set[int]:
        if self.closed:
            return set()
        return {tp.partition for tp in self.c.assignment() if tp.topic == self.topic}

    def positions(self) -> set[tuple[int, int]]:
        return {(p, o) for p, o, _ in self.got}

    def commit_positions(self) -> dict[int, int]:
        """Synchronously commit the current position of every assigned partition that
        has one (the next offset to consume); returns what was committed."""
        tps = [tp for tp in self.c.position(self.c.assignment()) if tp.offset >= 0]
        if tps:
            self.c.commit(offsets=tps, asynchronous=False)
        return {tp.partition: tp.offset for tp in tps}

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.c.close()

    def describe(self) -> str:
        return (
            f"{self.name}: parts={sorted(self.parts())} got={len(self.got)} assigns={self.assign_calls} "
            f"revokes={self.revoke_calls} lost={self.lost_calls}"
        )


def drive(members: Iterable[Member], cond: Callable[[], bool], what: str, timeout: float = 30.0) -> float:
    """Poll every open member round-robin until cond() is true; returns the seconds it
    took. On timeout fails with each member's state."""
    members = list(members)
    t0 = time.monotonic()
    deadline = t0 + timeout
    while True:
        for m in members:
            m.poll(0.02)
        if cond():
            return time.monotonic() - t0
        if time.monotonic() > deadline:
            state = "\n  ".join(m.describe() for m in members)
            raise AssertionError(f"timed out after {timeout}s waiting for {what}\n  {state}")


def keep_polling(members: Iterable[Member], seconds: float) -> None:
    members = list(members)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for m in members:
            m.poll(0.02)


def balanced(members: list[Member], partitions: int, sizes: list[int]) -> bool:
    """Open members' assignments are disjoint, cover 0..partitions-1, and have these sizes."""
    open_members = [m for m in members if not m.closed]
    got = [m.parts() for m in open_members]
    union = set().union(*got) if got else set()
    return (
        sorted(len(g) for g in got) == sorted(sizes)
        and sum(len(g) for g in got) == len(union)
        and union == set(range(partitions))
    )


def high_watermarks(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    c = ck.consumer(bootstrap)
    try:
        return {
            p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)[1]
            for p in range(partitions)
        }
    finally:
        c.close()


def committed(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int]:
    """partition -> committed offset (-1001 = none), via the admin OffsetFetch."""
    a = ck.admin(bootstrap)
    req = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in range(partitions)])
    res = a.list_consumer_group_offsets([req], request_timeout=15)[group].result(timeout=20)
    out = {}
    for tp in res.topic_partitions:
        assert tp.error is None, f"{group} {tp}: {tp.error}"
        out[tp.partition] = tp.offset
    return out


def offset_delete(bootstrap: str, group: str, topic: str, partitions: list[int]) -> tuple[int, dict[int, int]]:
    """OffsetDelete (API 47) for `partitions` of `topic` through kafka-python's
    `KafkaAdminClient.delete_group_offsets`; returns (top-level error code,
    partition -> error code)."""
    from kafka import KafkaAdminClient
    from kafka import TopicPartition as KpTopicPartition
    from kafka.errors import KafkaError as KpKafkaError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    try:
        res = admin.delete_group_offsets(group, [KpTopicPartition(topic, p) for p in partitions])
    except KpKafkaError as e:  # a top-level error is raised, per-partition ones returned
        return e.errno, {}
    finally:
        admin.close()
    per = {}
    for tp, err in res.items():
        assert tp.topic == topic, (tp, topic)
        per[tp.partition] = err.errno
    return 0, per


def produce_batch(bootstrap: str, topic: str, partitions: int, per_partition: int, tag: str) -> list[Rec]:
    """`per_partition` records on each partition, keyed and valued by tag, partition
    and index; returns them with the offsets they got."""
    recs = [
        Rec(p, f"{tag}-{p}-{i}".encode(), f"{tag} p{p} #{i}".encode())
        for i in range(per_partition)
        for p in range(partitions)
    ]
    return ck.produce_records(ck.producer(bootstrap), topic, recs)


def positions(recs: list[Rec]) -> set[tuple[int, int]]:
    return {(r.partition, r.offset) for r in recs}


def union_got(members: list[Member]) -> set[tuple[int, int]]:
    return set().union(*(m.positions() for m in members))


def startup_time(bootstrap: str, topic: str, members: int, partitions: int, timeout: float, **conf) -> tuple[float, list[str]]:
    """Creates `topic` with a few records per partition, starts `members` consumers of a
    new group at once and polls them until the partitions are evenly split and each has
    consumed a record. Returns the seconds from subscribe to the last first record, and a
    line per member (first record time, assign callbacks)."""
    ck.create_topic(bootstrap, topic, partitions=partitions)
    produce_batch(bootstrap, topic, partitions, 5, "t")
    group = f"g-{topic}"
    t0 = time.monotonic()
    ms = [Member(bootstrap, group, topic, f"m{i}", **conf) for i in range(members)]
    try:
        share = [partitions // members] * members
        drive(
            ms,
            lambda: all(m.first_record_at for m in ms) and balanced(ms, partitions, share),
            f"all {members} consuming",
            timeout=timeout,
        )
        took = max(m.first_record_at for m in ms) - t0
        return took, [f"{m.name}={m.first_record_at - t0:.3f}s/{len(m.assign_calls)} assigns" for m in ms]
    finally:
        for m in ms:
            m.close()
