"""KIP-848 consumer groups (`group.protocol=consumer`) with confluent-kafka (librdkafka 2.x)
against a real rill broker: server-side assignment with the uniform and range assignors,
members leaving and joining, commits and resume, static membership, the admin API, the
classic/consumer mixing errors, and how long a 3-member group takes to start consuming."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import ConsumerGroupState, ConsumerGroupType, KafkaError

import ck
from groupkit import (
    Member,
    balanced,
    committed,
    drive,
    high_watermarks,
    keep_polling,
    positions,
    produce_batch,
    startup_time,
    union_got,
)

pytestmark = pytest.mark.needs("kip848")  # ConsumerGroupHeartbeat

# Rill's default group.consumer.heartbeat.interval.ms is Kafka's 5000; reassignments move
# one heartbeat at a time, so most tests run the broker with a shorter interval.
FAST_HEARTBEAT_MS = 300
KIP848 = {"group.protocol": "consumer"}
NO_AUTO_COMMIT = {**KIP848, "enable.auto.commit": False}


@pytest.fixture
def fast_broker(broker_factory) -> str:
    return broker_factory(
        extra_args=["--group-consumer-heartbeat-interval-ms", str(FAST_HEARTBEAT_MS)]
    ).bootstrap


def consume_and_commit(bs: str, topic: str, pair: list[Member], partitions: int, n: int):
    """Once the two members hold half the partitions each, produce `n` records per
    partition, let each member consume its own, and commit synchronously (OffsetCommit
    with the member epoch). Returns the records."""
    drive(pair, lambda: balanced(pair, partitions, [partitions // 2] * 2), "an even split")
    recs = produce_batch(bs, topic, partitions, n, "a")
    drive(pair, lambda: positions(recs) <= union_got(pair), "batch a consumed")
    for m in pair:
        assert m.commit_positions() == {p: n for p in m.parts()}, m.describe()
    return recs


@pytest.mark.parametrize("assignor", ["uniform", "range"])
def test_three_members_leave_and_join(fast_broker, topic, assignor):
    """3 KIP-848 members over 6 partitions get 2 each from the server-side assignor the
    members ask for (group.remote.assignor); one leaves and the other two take all 6;
    a new one joins and it is 2/2/2 again. No partition is ever owned by two members at
    once, every record is consumed, and the final commits equal the log end."""
    bs = fast_broker
    P = 6
    group = f"g-{topic}"
    ck.create_topic(bs, topic, partitions=P)
    produced = produce_batch(bs, topic, P, 20, "a")
    conf = {
        **KIP848,
        "group.remote.assignor": assignor,
        "enable.auto.commit": True,
        "auto.commit.interval.ms": 200,
    }
    members = [Member(bs, group, topic, f"m{i}", **conf) for i in range(3)]

    def exclusive() -> bool:
        owned = [m.parts() for m in members if not m.closed]
        return sum(len(o) for o in owned) == len(set().union(*owned)) if owned else True

    try:
        drive(members, lambda: exclusive() and balanced(members, P, [2, 2, 2]), "2/2/2 over 3 members")
        produced += produce_batch(bs, topic, P, 10, "b")
        drive(members, lambda: positions(produced) <= union_got(members), "batches a+b consumed")
        before = [m.rebalances for m in members]
        keep_polling(members, 1.0)
        assert [m.rebalances for m in members] == before, [m.describe() for m in members]

        admin = ck.admin(bs)
        desc = admin.describe_consumer_groups([group], request_timeout=15)[group].result(timeout=20)
        assert desc.type == ConsumerGroupType.CONSUMER, desc
        assert desc.state == ConsumerGroupState.STABLE, desc
        assert len(desc.members) == 3
        assert sorted(len(m.assignment.topic_partitions) for m in desc.members) == [2, 2, 2]
        assert desc.partition_assignor == assignor

        members[0].close()
        rest = members[1:]
        drive(rest, lambda: exclusive() and balanced(rest, P, [3, 3]), "3/3 after m0 left")
        produced += produce_batch(bs, topic, P, 10, "c")
        drive(rest, lambda: positions(produced) <= union_got(members), "batch c consumed")

        members.append(Member(bs, group, topic, "m3", **conf))
        live = members[1:]
        drive(live, lambda: exclusive() and balanced(live, P, [2, 2, 2]), "2/2/2 after m3 joined")
        produced += produce_batch(bs, topic, P, 10, "d")
        drive(live, lambda: positions(produced) <= union_got(members), "batch d consumed")
        new_d = positions(produced[-P * 10 :])
        assert new_d & members[3].positions(), "m3 consumed none of batch d"
    finally:
        for m in members:
            m.close()

    missing = positions(produced) - union_got(members)
    assert not missing, f"records never consumed: {sorted(missing)[:20]}"
    by_pos = {(r.partition, r.offset): r.value for r in produced}
    for m in members:
        for p, o, v in m.got:
            assert by_pos[(p, o)] == v, (m.name, p, o, v)
    ends = high_watermarks(bs, topic, P)
    assert ends == {p: 50 for p in range(P)}
    assert committed(bs, group, topic, P) == ends


def test_commit_and_resume(fast_broker, topic):
    """Two KIP-848 members commit synchronously (OffsetCommit with member epochs), all
    close, and a new pair resumes exactly after the commits: nothing twice, nothing lost."""
    bs = fast_broker
    P = 4
    group = f"g-{topic}"
    ck.create_topic(bs, topic, partitions=P)
    pair = [Member(bs, group, topic, f"a{i}", **NO_AUTO_COMMIT) for i in range(2)]
    try:
        consume_and_commit(bs, topic, pair, P, 10)
    finally:
        for m in pair:
            m.close()
    assert committed(bs, group, topic, P) == {p: 10 for p in range(P)}
    second = produce_batch(bs, topic, P, 5, "b")
    again = [Member(bs, group, topic, f"b{i}", **NO_AUTO_COMMIT) for i in range(2)]
    try:
        drive(again, lambda: positions(second) <= union_got(again), "batch b consumed after resume")
        keep_polling(again, 0.5)
        assert union_got(again) == positions(second), [m.describe() for m in again]
    finally:
        for m in again:
            m.close()


def test_static_member_restart_without_rebalance(fast_broker, topic):
    """A static KIP-848 member (group.instance.id) closes (member epoch -2: it keeps its
    place) and a new consumer with the same instance id gets the same partitions back,
    while the other member sees no reassignment at all."""
    bs = fast_broker
    P = 4
    group = f"g-{topic}"
    ck.create_topic(bs, topic, partitions=P)
    a = Member(bs, group, topic, "a", **KIP848, **{"group.instance.id": "inst-a"})
    b = Member(bs, group, topic, "b", **KIP848, **{"group.instance.id": "inst-b"})
    members = [a, b]
    try:
        drive(members, lambda: balanced(members, P, [2, 2]), "2/2")
        keep_polling(members, 1.0)
        a_parts, b_parts = a.parts(), b.parts()
        b_calls = (list(b.assign_calls), list(b.revoke_calls), list(b.lost_calls))
        a.close()
        back = Member(bs, group, topic, "a2", **KIP848, **{"group.instance.id": "inst-a"})
        members.append(back)
        drive([b, back], lambda: back.parts() == a_parts, "inst-a's partitions back", timeout=20)
        keep_polling([b, back], 2.0)
        assert (b.assign_calls, b.revoke_calls, b.lost_calls) == b_calls, b.describe()
        assert b.parts() == b_parts
    finally:
        for m in members:
            m.close()


def test_list_and_mixing_with_classic(fast_broker, topic):
    """ListGroups reports each group's type; a classic consumer cannot join a KIP-848
    group that has members (INCONSISTENT_GROUP_PROTOCOL), and the KIP-848 group is
    undisturbed."""
    bs = fast_broker
    P = 2
    group = f"g-{topic}"
    classic_group = f"gc-{topic}"
    ck.create_topic(bs, topic, partitions=P)
    modern = Member(bs, group, topic, "modern", **KIP848)
    classic = Member(bs, classic_group, topic, "classic")
    try:
        drive([modern, classic], lambda: len(modern.parts()) == P and len(classic.parts()) == P, "both groups assigned")
        a = ck.admin(bs)
        res = a.list_consumer_groups(request_timeout=15).result(timeout=20)
        types = {g.group_id: g.type for g in res.valid}
        assert types[group] == ConsumerGroupType.CONSUMER, types
        assert types[classic_group] == ConsumerGroupType.CLASSIC, types
        only_consumer = a.list_consumer_groups(types={ConsumerGroupType.CONSUMER}, request_timeout=15).result(timeout=20)
        assert {g.group_id for g in only_consumer.valid} == {group}

        intruder = ck.consumer(bs, **{"group.id": group, "session.timeout.ms": 6000})
        errors: list[KafkaError] = []
        try:
            intruder.subscribe([topic], on_assign=lambda c, p: errors.append(KafkaError(-1, "assigned")))
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not errors:
                m = intruder.poll(0.1)
                if m is not None and m.error() is not None:
                    errors.append(m.error())
                modern.poll(0.02)
        finally:
            intruder.close()
        assert errors, "the classic consumer was neither refused nor assigned"
        assert errors[0].code() == KafkaError.INCONSISTENT_GROUP_PROTOCOL, errors
        assert len(modern.parts()) == P
    finally:
        modern.close()
        classic.close()


@pytest.mark.parametrize("heartbeat_ms", [5000, 1000, FAST_HEARTBEAT_MS])
def test_three_member_startup_time(broker_factory, topic, heartbeat_ms):
    """How long from subscribe until all 3 KIP-848 members of a new group are consuming,
    for several broker heartbeat intervals (printed; only a generous bound is asserted).
    5000 ms is Kafka's and Rill's default."""
    bs = broker_factory(extra_args=["--group-consumer-heartbeat-interval-ms", str(heartbeat_ms)]).bootstrap
    took, per_member = startup_time(bs, topic, 3, 6, 4 * heartbeat_ms / 1000 + 10, **KIP848)
    print(f"\nKIP-848 3-member startup, heartbeat {heartbeat_ms} ms: {took:.2f} s ({', '.join(per_member)})")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_members_rejoin_after_broker_kill9(broker_factory, topic):
    """Two KIP-848 members commit, the broker is killed (-9) and restarted on the same
    port and data dir: group membership is gone (it lives in memory), so their next
    heartbeat gets UNKNOWN_MEMBER_ID, they rejoin, resume from the committed offsets and
    consume what is produced after the restart, and nothing committed is read again."""
    b = broker_factory(
        data_dir="auto",
        port=_free_port(),
        extra_args=["--group-consumer-heartbeat-interval-ms", str(FAST_HEARTBEAT_MS)],
    )
    bs = b.bootstrap
    P = 4
    group = f"g-{topic}"
    ck.create_topic(bs, topic, partitions=P)
    pair = [Member(bs, group, topic, f"m{i}", **NO_AUTO_COMMIT) for i in range(2)]
    try:
        first = consume_and_commit(bs, topic, pair, P, 10)
        b.restart(hard=True)
        assert b.bootstrap == bs
        second = produce_batch(bs, topic, P, 5, "b")
        drive(pair, lambda: positions(second) <= union_got(pair), "batch b consumed after the restart", timeout=45)
        drive(pair, lambda: balanced(pair, P, [2, 2]), "2/2 again")
        got = [pos for m in pair for pos in m.positions()]
        assert len(got) == len(set(got)) == len(first) + len(second), [m.describe() for m in pair]
    finally:
        for m in pair:
            m.close()
