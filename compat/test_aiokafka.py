"""aiokafka (asyncio client) against a real rill broker.

Each test is a plain (sync) pytest test that drives its coroutine with
`asyncio.run`, bounded by `run()`'s overall timeout. Records written by aiokafka
are compared exactly (partition, offset, key, value, headers, CreateTime) both as
aiokafka reads them back and as librdkafka (ck.py) does.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic

import ck
from ck import Rec
from groupkit import committed, high_watermarks

NOW_MS = int(time.time() * 1000)
CODECS = [None, "gzip", "snappy", "lz4", "zstd"]

# Kafka error codes checked in raw admin responses
NONE = 0
TOPIC_ALREADY_EXISTS = 36


def run(coro, timeout: float = 45.0):
    """Run one test coroutine to completion; a hang fails the test instead of
    eating pytest's global timeout."""

    async def bounded():
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


async def producer(bootstrap: str, **kw) -> AIOKafkaProducer:
    conf = dict(
        bootstrap_servers=bootstrap,
        linger_ms=5,
        request_timeout_ms=15000,
    )
    conf.update(kw)
    p = AIOKafkaProducer(**conf)
    await p.start()
    return p


async def consumer(bootstrap: str, *topics: str, **kw) -> AIOKafkaConsumer:
    conf = dict(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="none",
        fetch_max_wait_ms=100,
        request_timeout_ms=15000,
    )
    conf.update(kw)
    c = AIOKafkaConsumer(*topics, **conf)
    await c.start()
    return c


async def produce(p: AIOKafkaProducer, topic: str, recs: list[Rec]) -> list[Rec]:
    """Send every record (explicit partition, key, headers, timestamp), wait for all
    acks, fill in `offset` from the RecordMetadata and return the list."""
    futs = []
    for r in recs:
        futs.append(
            await p.send(
                topic,
                value=r.value,
                key=r.key,
                partition=r.partition,
                timestamp_ms=r.timestamp,
                headers=list(r.headers),
            )
        )
    mds = await asyncio.gather(*futs)
    for r, md in zip(recs, mds):
        assert md.partition == r.partition, (md, r)
        assert md.topic == topic
        # CreateTime topic: the broker answers log_append_time -1, which aiokafka
        # reports as timestamp_type 0. (md.timestamp is not compared: aiokafka 0.14
        # gives every record of a batch the first record's timestamp in that case.
        # The stored timestamps are checked exactly when the records are read back.)
        assert md.timestamp_type == 0, f"{md}: not CreateTime"
        r.offset = md.offset
    return recs


async def consume_assigned(
    bootstrap: str, topic: str, partitions: int, expect: int, start: int = 0, timeout: float = 20.0, **kw
) -> list[ck.Got]:
    """Explicit assignment (no group), seek to `start`, read until `expect` records
    arrived and every partition's position reached its end offset, then fetch once
    more to catch anything extra."""
    c = await consumer(bootstrap, **kw)
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        c.assign(tps)
        for tp in tps:
            c.seek(tp, start)
        ends = await c.end_offsets(tps)
        got = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for msgs in (await c.getmany(timeout_ms=200)).values():
                got.extend(msgs)
            if len(got) >= expect and all([await c.position(tp) >= ends[tp] for tp in tps]):
                for msgs in (await c.getmany(timeout_ms=300)).values():
                    got.extend(msgs)
                # aiokafka's timestamp_type is the raw attribute bit (0 = CreateTime,
                # 1 = LogAppendTime); ck.Got uses librdkafka's numbering (1, 2).
                return [
                    ck.Got(m.partition, m.offset, m.key, m.value, list(m.headers), m.timestamp_type + 1, m.timestamp)
                    for m in got
                ]
        raise AssertionError(f"aiokafka consume timed out: {len(got)} of {expect} records, ends {ends}")
    finally:
        await c.stop()


# -------------------------------------------------------------------- codecs


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c or "none")
def test_produce_consume_codec(broker, topic, codec):
    P = 3
    ck.create_topic(broker, topic, partitions=P)
    recs = ck.sample_records(P, NOW_MS - 7_200_000, n=45, tag=f"aio-{codec}")

    async def scenario():
        p = await producer(broker, compression_type=codec, linger_ms=50)
        try:
            await produce(p, topic, recs)
        finally:
            await p.stop()
        return await consume_assigned(broker, topic, P, expect=len(recs))

    got = run(scenario())
    ck.assert_contiguous_offsets(recs)
    # read back with aiokafka itself ...
    ck.assert_records(got, recs)
    # ... and with librdkafka
    ck.assert_records(ck.consume_all(broker, topic, P, expect=len(recs)), recs)


# ------------------------------------------------------------ consumer group


class Member:
    """An aiokafka group consumer. Whenever it is (re)assigned while `hold` is set it
    pauses its partitions, so nothing is consumed until the test sees a balanced
    group and clears `hold`. It commits (and waits for the commit) after processing
    every non-empty getmany()."""

    def __init__(self, bootstrap: str, group: str, topic: str, name: str, hold: asyncio.Event):
        self.name = name
        self.topic = topic
        self.hold = hold
        self.stop_flag = asyncio.Event()
        self.assignments: list[set[int]] = []
        self.got: list[tuple[int, int, bytes | None]] = []
        self.commits = 0
        self.c = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=group,
            client_id=name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=6000,
            heartbeat_interval_ms=300,
            max_poll_interval_ms=20000,
            fetch_max_wait_ms=100,
            request_timeout_ms=15000,
            retry_backoff_ms=50,
        )
        member = self

        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked):
                pass

            def on_partitions_assigned(self, assigned):
                member.assignments.append({tp.partition for tp in assigned})
                if member.hold.is_set() and assigned:
                    member.c.pause(*assigned)

        self.listener = Listener()
        self.task: asyncio.Task | None = None

    @property
    def current(self) -> set[int] | None:
        return set(self.assignments[-1]) if self.assignments else None

    async def start(self) -> None:
        await self.c.start()
        self.c.subscribe([self.topic], listener=self.listener)
        self.task = asyncio.create_task(self._loop(), name=self.name)

    async def _loop(self) -> None:
        while not self.stop_flag.is_set():
            if not self.hold.is_set() and self.c.paused():
                self.c.resume(*self.c.paused())
            batches = await self.c.getmany(timeout_ms=100)
            n = 0
            for msgs in batches.values():
                for m in msgs:
                    self.got.append((m.partition, m.offset, m.value))
                    n += 1
            if n:
                await self.c.commit()
                self.commits += 1

    def check(self) -> None:
        """Raise whatever the consume loop died of."""
        if self.task is not None and self.task.done() and not self.task.cancelled():
            exc = self.task.exception()
            if exc is not None:
                raise AssertionError(f"{self.name} consume loop failed: {exc!r}") from exc

    async def stop(self) -> None:
        self.stop_flag.set()
        if self.task is not None:
            await asyncio.wait_for(asyncio.shield(self.task), 15)
        await self.c.stop()


def assert_exactly_once(got: list[tuple[int, int, bytes | None]], want: dict[tuple[int, int], bytes], who: str) -> None:
    positions = [(p, o) for p, o, _ in got]
    dups = sorted({x for x in positions if positions.count(x) > 1})
    assert not dups, f"{who}: records consumed more than once: {dups[:20]}"
    missing = sorted(set(want) - set(positions))
    extra = sorted(set(positions) - set(want))
    assert not missing and not extra, (
        f"{who}: missing {missing[:20]}, unexpected (already committed or never produced) {extra[:20]}"
    )
    for p, o, v in got:
        assert v == want[(p, o)], f"{who}: partition {p} offset {o}: value {v!r} != {want[(p, o)]!r}"


async def group_round(bootstrap: str, group: str, topic: str, partitions: int, want: dict, who: str) -> list[Member]:
    hold = asyncio.Event()
    hold.set()
    members = [Member(bootstrap, group, topic, f"aio-{who}-{i}", hold) for i in range(2)]
    try:
        for m in members:
            await m.start()
        deadline = time.monotonic() + 20
        while True:
            for m in members:
                m.check()
            cur = [m.current for m in members]
            if all(cur) and sum(len(c) for c in cur) == partitions and set().union(*cur) == set(range(partitions)):
                break
            assert time.monotonic() < deadline, (
                f"aiokafka group never balanced: {[m.assignments for m in members]}"
            )
            await asyncio.sleep(0.05)
        assert not any(m.got for m in members), "consumed while held"
        hold.clear()
        deadline = time.monotonic() + 20
        while sum(len(m.got) for m in members) < len(want):
            for m in members:
                m.check()
            assert time.monotonic() < deadline, (
                f"aiokafka consumed {sum(len(m.got) for m in members)} of {len(want)} records"
            )
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # catch duplicates
        for m in members:
            m.check()
    finally:
        for m in members:
            m.stop_flag.set()
        await asyncio.gather(*(m.stop() for m in members), return_exceptions=True)
    for m in members:
        m.check()
        final = m.current
        assert m.got, f"{m.name} consumed nothing (assignment {final})"
        assert {p for p, _, _ in m.got} <= final, f"{m.name} consumed outside its assignment {final}"
    assert_exactly_once([g for m in members for g in m.got], want, f"aiokafka {who}")
    print(
        f"\n[aiokafka {who}] assignment history: "
        + "; ".join(f"{m.name}={[sorted(a) for a in m.assignments]} commits={m.commits}" for m in members)
    )
    return members


def batch(partitions: int, per_partition: int, tag: str) -> list[Rec]:
    return [
        Rec(p, f"{tag}-{p}-{i}".encode(), f"{tag} p{p} #{i}".encode())
        for i in range(per_partition)
        for p in range(partitions)
    ]


def test_group_exactly_once_and_resume(broker, topic):
    P = 4
    group = f"g-{topic}"
    ck.create_topic(broker, topic, partitions=P)
    first = batch(P, 15, "a")
    second = batch(P, 7, "b")

    async def produce_all(recs):
        p = await producer(broker)
        try:
            await produce(p, topic, recs)
        finally:
            await p.stop()

    async def first_round():
        await produce_all(first)
        await group_round(broker, group, topic, P, {(r.partition, r.offset): r.value for r in first}, "first")

    run(first_round())
    assert committed(broker, group, topic, P) == {p: 15 for p in range(P)}

    async def group_admin():
        a = AIOKafkaAdminClient(bootstrap_servers=broker, request_timeout_ms=15000)
        await a.start()
        try:
            groups = await a.list_consumer_groups()
            (resp,) = await a.describe_consumer_groups([group])
            offsets = await a.list_consumer_group_offsets(group)
            return groups, resp.to_object(), offsets
        finally:
            await a.close()

    groups, desc, offsets = run(group_admin())
    assert (group, "consumer") in [tuple(g) for g in groups], groups
    (g,) = desc["groups"]
    assert g["error_code"] == NONE and g["group"] == group, g
    assert g["state"] == "Empty" and g["protocol_type"] == "consumer" and g["members"] == [], g
    assert {tp.partition: om.offset for tp, om in offsets.items() if tp.topic == topic} == {p: 15 for p in range(P)}

    async def second_round():
        await produce_all(second)
        await group_round(broker, group, topic, P, {(r.partition, r.offset): r.value for r in second}, "resumed")

    run(second_round())
    ends = high_watermarks(broker, topic, P)
    assert ends == {p: 22 for p in range(P)}
    assert committed(broker, group, topic, P) == ends


# ------------------------------------------------------------------- offsets


def test_offsets_for_times_and_watermarks(broker, topic):
    P = 3
    base = NOW_MS - 3_600_000
    ck.create_topic(broker, topic, partitions=P)
    # partition 0: ten records, increasing timestamps base, base+1000, ...
    # partition 1: timestamps out of order; the answer is the earliest offset whose
    #              timestamp is >= the target
    # partition 2: empty
    p0 = [Rec(0, f"k0-{i}".encode(), f"v0-{i}".encode(), [("i", str(i).encode())], base + i * 1000) for i in range(10)]
    ts1 = [base + 5000, base + 1000, base + 3000, base + 7000, base + 2000]
    p1 = [Rec(1, f"k1-{i}".encode(), f"v1-{i}".encode(), [], t) for i, t in enumerate(ts1)]

    async def scenario():
        p = await producer(broker)
        try:
            await produce(p, topic, p0 + p1)
        finally:
            await p.stop()
        c = await consumer(broker)
        try:
            tp0, tp1, tp2 = (TopicPartition(topic, i) for i in range(P))
            out = {
                "begin": await c.beginning_offsets([tp0, tp1, tp2]),
                "end": await c.end_offsets([tp0, tp1, tp2]),
            }
            queries = {
                "exact": {tp0: base + 4000, tp1: base + 3000, tp2: base},
                "between": {tp0: base + 2500, tp1: base + 2500, tp2: base + 2500},
                "before": {tp0: base - 10_000, tp1: base - 10_000, tp2: 0},
                "after": {tp0: base + 9001, tp1: base + 7001, tp2: NOW_MS + 3_600_000},
            }
            for name, q in queries.items():
                res = await c.offsets_for_times(q)
                out[name] = {
                    tp.partition: None if ot is None else (ot.offset, ot.timestamp) for tp, ot in res.items()
                }
            return out
        finally:
            await c.stop()

    out = run(scenario())
    assert [r.offset for r in p0] == list(range(10))
    assert [r.offset for r in p1] == list(range(5))
    assert {tp.partition: o for tp, o in out["begin"].items()} == {0: 0, 1: 0, 2: 0}
    assert {tp.partition: o for tp, o in out["end"].items()} == {0: 10, 1: 5, 2: 0}
    assert out["exact"] == {0: (4, base + 4000), 1: (0, base + 5000), 2: None}
    assert out["between"] == {0: (3, base + 3000), 1: (0, base + 5000), 2: None}
    assert out["before"] == {0: (0, base), 1: (0, base + 5000), 2: None}
    assert out["after"] == {0: None, 1: None, 2: None}

    # a later target on partition 1 that only later records satisfy
    async def p1_late():
        c = await consumer(broker)
        try:
            tp1 = TopicPartition(topic, 1)
            res = await c.offsets_for_times({tp1: base + 6000})
            return None if res[tp1] is None else (res[tp1].offset, res[tp1].timestamp)
        finally:
            await c.stop()

    assert run(p1_late()) == (3, base + 7000)


# --------------------------------------------------------------------- admin


def test_admin_create_describe_delete(broker, topic):
    async def scenario():
        a = AIOKafkaAdminClient(bootstrap_servers=broker, request_timeout_ms=15000)
        await a.start()
        out = {}
        try:
            resp = await a.create_topics(
                [NewTopic(topic, num_partitions=3, replication_factor=1, topic_configs={"retention.ms": "3600000"})],
                timeout_ms=10000,
            )
            out["create"] = [tuple(t[:2]) for t in resp.topic_errors]
            out["list"] = await a.list_topics()
            out["describe"] = await a.describe_topics([topic])
            out["cluster"] = await a.describe_cluster()
            resp = await a.create_topics(
                [NewTopic(topic, num_partitions=3, replication_factor=1)], timeout_ms=10000
            )
            out["create_again"] = [tuple(t[:2]) for t in resp.topic_errors]
            resp = await a.create_partitions({topic: NewPartitions(total_count=5)}, timeout_ms=10000)
            out["partitions"] = [tuple(t[:2]) for t in resp.topic_errors]
            out["describe_after"] = await a.describe_topics([topic])
            resp = await a.delete_topics([topic], timeout_ms=10000)
            out["delete"] = [tuple(t[:2]) for t in resp.topic_error_codes]
            out["list_after_delete"] = await a.list_topics()
        finally:
            await a.close()
        return out

    out = run(scenario())
    assert out["create"] == [(topic, NONE)]
    assert topic in out["list"]
    (desc,) = out["describe"]
    assert desc["error_code"] == NONE and desc["topic"] == topic, desc
    assert sorted(p["partition"] for p in desc["partitions"]) == [0, 1, 2]
    brokers = out["cluster"]["brokers"]
    assert len(brokers) == 1, out["cluster"]
    node_id = brokers[0]["node_id"]
    assert out["cluster"]["controller_id"] == node_id
    assert all(p["leader"] == node_id and p["error_code"] == NONE for p in desc["partitions"]), desc
    assert out["create_again"] == [(topic, TOPIC_ALREADY_EXISTS)]
    assert out["partitions"] == [(topic, NONE)]
    (desc,) = out["describe_after"]
    assert sorted(p["partition"] for p in desc["partitions"]) == [0, 1, 2, 3, 4]
    assert out["delete"] == [(topic, NONE)]
    assert topic not in out["list_after_delete"]
    assert topic not in ck.topic_partitions(broker)
