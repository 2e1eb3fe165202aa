"""Classic consumer groups with confluent-kafka (librdkafka 2.x) against a real rill broker:
rebalancing for each assignor, static membership, the group admin API, committed
offsets across a kill -9, and how long a 3-member group takes to start consuming."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import (
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    TopicPartition,
)

import ck
from groupkit import (
    Member,
    balanced,
    committed,
    drive,
    high_watermarks,
    keep_polling,
    offset_delete,
    positions,
    produce_batch,
    startup_time,
    union_got,
)

OFFSET_NONE = -1001  # librdkafka's OFFSET_INVALID: no committed offset


# --------------------------------------------------------------- rebalancing


@pytest.mark.parametrize("strategy", ["range", "roundrobin", "cooperative-sticky"])
def test_three_members_leave_and_join(broker, topic, strategy):
    """3 members over 6 partitions get 2 each; one leaves (close -> LeaveGroup) and the
    other two take all 6 (3 each); a new one joins and it is 2/2/2 again. Auto-commit:
    every record is consumed at least once and the final commits equal the log end."""
    P = 6
    group = f"g-{topic}"
    ck.create_topic(broker, topic, partitions=P)
    produced = produce_batch(broker, topic, P, 20, "a")
    conf = {
        "partition.assignment.strategy": strategy,
        "enable.auto.commit": True,
        "enable.auto.offset.store": True,
        "auto.commit.interval.ms": 200,
    }
    members = [Member(broker, group, topic, f"m{i}", **conf) for i in range(3)]
    try:
        drive(members, lambda: balanced(members, P, [2, 2, 2]), "2/2/2 over 3 members")
        first = {m.name: m.parts() for m in members}
        produced += produce_batch(broker, topic, P, 10, "b")
        drive(members, lambda: positions(produced) <= union_got(members), "records of batches a+b consumed")
        # stays put: no further rebalance while nobody joins or leaves
        before = [m.rebalances for m in members]
        keep_polling(members, 1.0)
        assert [m.rebalances for m in members] == before, [m.describe() for m in members]
        assert {m.name: m.parts() for m in members} == first

        revokes_before_leave = {m.name: len(m.revoke_calls) for m in members}
        members[0].close()
        rest = members[1:]
        drive(rest, lambda: balanced(rest, P, [3, 3]), "3/3 after m0 closed")
        produced += produce_batch(broker, topic, P, 10, "c")
        drive(rest, lambda: positions(produced) <= union_got(members), "batch c consumed by the two survivors")

        members.append(Member(broker, group, topic, "m3", **conf))
        live = members[1:]
        drive(live, lambda: balanced(live, P, [2, 2, 2]), "2/2/2 after m3 joined")
        assert members[3].parts(), "the new member got partitions"
        produced += produce_batch(broker, topic, P, 10, "d")
        drive(live, lambda: positions(produced) <= union_got(members), "batch d consumed")
        new_d = {(r.partition, r.offset) for r in produced[-P * 10 :]}
        assert new_d & members[3].positions(), "m3 consumed none of batch d from its partitions"
        if strategy == "cooperative-sticky":
            # incremental rebalancing: a member only ever gives up part of what it owns
            # (never everything, as eager protocols do), and when m0 left, the
            # survivors only gained partitions (m0's close revoked all it had, as it should)
            for m in members[1:]:
                for revoked, owned in zip(m.revoke_calls, m.owned_at_revoke):
                    assert set(revoked) < set(owned), f"{m.name} revoked {revoked} of {owned}: {m.describe()}"
            for m in members[1:3]:
                assert len(m.revoke_calls) == revokes_before_leave[m.name] + 1, (
                    f"{m.name}: expected exactly one (incremental) revoke, for m3 joining: {m.describe()}"
                )
    finally:
        for m in members:
            m.close()  # auto-commit commits the final positions on close

    seen = union_got(members)
    missing = positions(produced) - seen
    assert not missing, f"records never consumed: {sorted(missing)[:20]}"
    assert seen <= positions(produced), f"consumed records that were never produced: {sorted(seen - positions(produced))[:10]}"
    # every consumed value is the one produced at that position
    by_pos = {(r.partition, r.offset): r.value for r in produced}
    for m in members:
        for p, o, v in m.got:
            assert by_pos[(p, o)] == v, (m.name, p, o, v)
    ends = high_watermarks(broker, topic, P)
    assert ends == {p: 50 for p in range(P)}
    assert committed(broker, group, topic, P) == ends


STARTUP_VARIANTS = {
    # librdkafka defaults (heartbeat.interval.ms 3000, session.timeout.ms 45000), broker default delay 0
    "client-defaults": ({"heartbeat.interval.ms": 3000, "session.timeout.ms": 45000, "max.poll.interval.ms": 300000}, 0),
    # this suite's settings (heartbeat.interval.ms 300, session.timeout.ms 6000)
    "fast-heartbeat": ({}, 0),
    # Kafka's default group.initial.rebalance.delay.ms, client defaults
    "broker-delay-3000": ({"heartbeat.interval.ms": 3000, "session.timeout.ms": 45000, "max.poll.interval.ms": 300000}, 3000),
}


@pytest.mark.parametrize("variant", list(STARTUP_VARIANTS))
def test_three_member_startup_time(broker_factory, topic, variant):
    """How long from subscribe until all 3 members of a new group are consuming
    (printed; only a generous bound is asserted)."""
    conf, delay = STARTUP_VARIANTS[variant]
    bs = broker_factory(extra_args=["--group-initial-rebalance-delay-ms", str(delay)]).bootstrap
    took, per_member = startup_time(bs, topic, 3, 6, 30, **conf)
    print(
        f"\n[rebalance timing] {variant}: 3-member confluent-kafka group (range): subscribe -> all 3 "
        f"consuming in {took:.3f}s (first record per member: {', '.join(per_member)})"
    )
    assert took < 25


# ---------------------------------------------------------- static membership


@pytest.mark.parametrize("bounce", ["leader", "follower"])
def test_static_member_restart_without_rebalance(broker, topic, bounce):
    """Two static members (group.instance.id). One closes (librdkafka static members
    send no LeaveGroup) and a new consumer with the same instance id starts well
    within session.timeout.ms: it gets the same partitions back and resumes at the
    committed offsets, and the other member sees no rebalance, not even after the old
    member's session would have expired."""
    P = 4
    group = f"g-{topic}"
    ck.create_topic(broker, topic, partitions=P)
    # The first member to join leads the group.
    a = Member(broker, group, topic, "a", **{"group.instance.id": "inst-a"})
    drive([a], lambda: a.parts() == set(range(P)), "a alone owns every partition")
    b = Member(broker, group, topic, "b", **{"group.instance.id": "inst-b"})
    members = [a, b]
    try:
        drive(members, lambda: balanced(members, P, [2, 2]), "2/2")
        produced = produce_batch(broker, topic, P, 5, "a")
        drive(members, lambda: positions(produced) <= union_got(members), "batch a consumed")
        for m in members:
            assert m.commit_positions() == {p: 5 for p in m.parts()}, m.describe()
        keep_polling(members, 0.5)
        gone, stays = (a, b) if bounce == "leader" else (b, a)
        gone_parts, stays_parts = gone.parts(), stays.parts()
        stays_calls = (list(stays.assign_calls), list(stays.revoke_calls), list(stays.lost_calls))
        stays_member_id = stays.c.memberid()
        old_member_id = gone.c.memberid()

        gone.close()
        produced_b = produce_batch(broker, topic, P, 5, "b")
        t_closed = time.monotonic()
        back = Member(broker, group, topic, f"{gone.name}2", **{"group.instance.id": f"inst-{gone.name}"})
        members.append(back)
        live = [stays, back]
        drive(live, lambda: back.parts() == gone_parts, f"the new inst-{gone.name} member to get {sorted(gone_parts)} back", timeout=15)
        assert time.monotonic() - t_closed < 6.0, "rejoin took longer than session.timeout.ms"
        assert back.c.memberid() != old_member_id
        want_b = positions(produced_b)
        drive(live, lambda: want_b <= union_got(live), "batch b consumed by both", timeout=15)
        # well past the old member's session timeout: still no rebalance anywhere
        keep_polling(live, 7.0)
        assert (stays.assign_calls, stays.revoke_calls, stays.lost_calls) == stays_calls, stays.describe()
        assert stays.parts() == stays_parts
        assert stays.c.memberid() == stays_member_id
        assert back.assign_calls == [sorted(gone_parts)] and not back.revoke_calls, back.describe()
        # the replacement resumed exactly at the committed offsets: only batch b
        assert back.positions() == {(p, o) for p, o in want_b if p in gone_parts}, back.describe()

        admin = ck.admin(broker)  # must outlive the future
        desc = admin.describe_consumer_groups([group], request_timeout=15)[group].result(timeout=20)
        assert desc.state == ConsumerGroupState.STABLE
        by_inst = {m.group_instance_id: m for m in desc.members}
        assert set(by_inst) == {"inst-a", "inst-b"}, desc.members
        assert by_inst[f"inst-{gone.name}"].member_id == back.c.memberid()
        assert by_inst[f"inst-{stays.name}"].member_id == stays_member_id
        assert {tp.partition for tp in by_inst[f"inst-{gone.name}"].assignment.topic_partitions} == gone_parts
    finally:
        for m in members:
            m.close()


# --------------------------------------------------------------------- admin


def test_admin_group_lifecycle(broker, topic):
    P = 3
    group = f"g-{topic}"
    other_group = f"g2-{topic}"
    ck.create_topic(broker, topic, partitions=P)
    produce_batch(broker, topic, P, 10, "a")
    a = ck.admin(broker)

    def listing() -> dict[str, object]:
        res = a.list_consumer_groups(request_timeout=15).result(timeout=20)
        assert not res.errors, res.errors
        return {g.group_id: g for g in res.valid}

    def describe(g: str):
        return a.describe_consumer_groups([g], request_timeout=15)[g].result(timeout=20)

    members = [Member(broker, group, topic, f"m{i}", **{"partition.assignment.strategy": "range"}) for i in range(2)]
    try:
        drive(members, lambda: balanced(members, P, [1, 2]), "1/2 over 2 members")
        drive(members, lambda: len(union_got(members)) == P * 10, "all 30 records consumed")
        # commit explicit offsets: partition p -> 3 + 2p (metadata too)
        want = {p: 3 + 2 * p for p in range(P)}
        for m in members:
            tps = [TopicPartition(topic, p, want[p], metadata=f"by {m.name}") for p in sorted(m.parts())]
            m.c.commit(offsets=tps, asynchronous=False)

        groups = listing()
        assert group in groups, sorted(groups)
        assert groups[group].state == ConsumerGroupState.STABLE
        assert groups[group].is_simple_consumer_group is False
        stable_only = a.list_consumer_groups(states={ConsumerGroupState.STABLE}, request_timeout=15).result(timeout=20)
        assert group in {g.group_id for g in stable_only.valid}
        empty_only = a.list_consumer_groups(states={ConsumerGroupState.EMPTY}, request_timeout=15).result(timeout=20)
        assert group not in {g.group_id for g in empty_only.valid}

        desc = describe(group)
        assert desc.group_id == group
        assert desc.state == ConsumerGroupState.STABLE
        assert desc.partition_assignor == "range"
        assert desc.is_simple_consumer_group is False
        assert len(desc.members) == 2
        by_id = {md.member_id: md for md in desc.members}
        for m in members:
            md = by_id[m.c.memberid()]
            assert md.client_id == m.name
            assert md.group_instance_id is None
            assert {(tp.topic, tp.partition) for tp in md.assignment.topic_partitions} == {(topic, p) for p in m.parts()}

        # committed offsets and lag
        got = committed(broker, group, topic, P)
        assert got == want
        ends = high_watermarks(broker, topic, P)
        lag = {p: ends[p] - got[p] for p in range(P)}
        assert lag == {p: 10 - (3 + 2 * p) for p in range(P)}
        res = a.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)], request_timeout=15)[group].result(timeout=20)
        all_tps = {(tp.topic, tp.partition): tp for tp in res.topic_partitions}
        assert {k: tp.offset for k, tp in all_tps.items()} == {(topic, p): want[p] for p in range(P)}, "OffsetFetch for all topics"
        owner = {p: m.name for m in members for p in m.parts()}
        assert {p: all_tps[(topic, p)].metadata for p in range(P)} == {p: f"by {owner[p]}" for p in range(P)}

        # alter on a group with live members is refused
        fut = a.alter_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0, 1)])], request_timeout=15
        )[group]
        with pytest.raises(KafkaException) as ei:
            r = fut.result(timeout=20)
            for tp in r.topic_partitions:
                if tp.error is not None:
                    raise KafkaException(tp.error)
        assert ei.value.args[0].code() == KafkaError.UNKNOWN_MEMBER_ID, ei.value

        # OffsetDelete of a partition the live group is subscribed to is refused per
        # partition with GROUP_SUBSCRIBED_TO_TOPIC (86), and changes nothing
        assert offset_delete(broker, group, topic, [0]) == (0, {0: 86})
        assert committed(broker, group, topic, P) == want

        # deleting a group with live members fails with NON_EMPTY_GROUP
        with pytest.raises(KafkaException) as ei:
            a.delete_consumer_groups([group], request_timeout=15)[group].result(timeout=20)
        assert ei.value.args[0].code() == KafkaError.NON_EMPTY_GROUP, ei.value
    finally:
        for m in members:
            m.close()

    # all members gone: Empty, no members, offsets kept
    assert listing()[group].state == ConsumerGroupState.EMPTY
    desc = describe(group)
    assert desc.state == ConsumerGroupState.EMPTY
    assert desc.members == []
    assert committed(broker, group, topic, P) == want

    # alter on the Empty group, then a new consumer starts there
    res = a.alter_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0, 1), TopicPartition(topic, 2, 9)])],
        request_timeout=15,
    )[group].result(timeout=20)
    assert all(tp.error is None for tp in res.topic_partitions), res.topic_partitions
    assert committed(broker, group, topic, P) == {0: 1, 1: 5, 2: 9}
    m = Member(broker, group, topic, "after-alter")
    try:
        drive([m], lambda: len(m.got) >= 9 + 5 + 1, "consume from the altered offsets")
        keep_polling([m], 0.5)
        firsts = {}
        for p, o, _ in m.got:
            firsts.setdefault(p, o)
        assert firsts == {0: 1, 1: 5, 2: 9}
        assert sorted(m.positions()) == sorted({(0, o) for o in range(1, 10)} | {(1, o) for o in range(5, 10)} | {(2, 9)})
        assert m.commit_positions() == {0: 10, 1: 10, 2: 10}
    finally:
        m.close()
    assert committed(broker, group, topic, P) == {0: 10, 1: 10, 2: 10}

    # OffsetDelete: remove partition 1's commit only
    top, per = offset_delete(broker, group, topic, [1])
    assert (top, per) == (0, {1: 0})
    assert committed(broker, group, topic, P) == {0: 10, 1: OFFSET_NONE, 2: 10}

    # a second, untouched group survives the deletion of the first
    other = Member(broker, other_group, topic, "other")
    try:
        drive([other], lambda: len(other.got) == P * 10, "other group consumed everything")
        assert other.commit_positions() == {p: 10 for p in range(P)}
    finally:
        other.close()

    res = a.delete_consumer_groups([group], request_timeout=15)[group].result(timeout=20)
    groups = listing()
    assert group not in groups and other_group in groups, sorted(groups)
    assert committed(broker, group, topic, P) == {p: OFFSET_NONE for p in range(P)}
    assert committed(broker, other_group, topic, P) == {p: 10 for p in range(P)}
    with pytest.raises(KafkaException) as ei:
        a.delete_consumer_groups([group], request_timeout=15)[group].result(timeout=20)
    assert ei.value.args[0].code() == KafkaError.GROUP_ID_NOT_FOUND, ei.value


def test_describe_member_client_host(broker, topic):
    """DescribeGroups reports each member's client host (Kafka: "/<ip>" of its connection)."""
    ck.create_topic(broker, topic, partitions=1)
    group = f"g-{topic}"
    m = Member(broker, group, topic, "m0")
    try:
        drive([m], lambda: m.parts() == {0}, "assignment")
        admin = ck.admin(broker)  # must outlive the future
        desc = admin.describe_consumer_groups([group], request_timeout=15)[group].result(timeout=20)
        assert [md.member_id for md in desc.members] == [m.c.memberid()]
        assert "127.0.0.1" in desc.members[0].host, f"member host {desc.members[0].host!r}"
    finally:
        m.close()


# ------------------------------------------------------------------- restart


def test_commits_survive_kill9(broker_factory, topic):
    """Commit (with metadata) -> kill -9 -> restart on the same data dir (new port, new
    clients): committed() returns the offsets and metadata, and the group resumes
    exactly there."""
    P = 3
    group = f"g-{topic}"
    b = broker_factory(data_dir="auto")
    ck.create_topic(b.bootstrap, topic, partitions=P)
    produced = produce_batch(b.bootstrap, topic, P, 10, "a")
    m = Member(b.bootstrap, group, topic, "before")
    try:
        drive([m], lambda: len(m.got) == P * 10, "all 30 records consumed")
        marks = {0: (4, "meta p0 \u00e9\u00e8 \U0001f600"), 1: (10, ""), 2: (7, "x" * 300)}
        m.c.commit(
            offsets=[TopicPartition(topic, p, off, metadata=meta) for p, (off, meta) in marks.items()],
            asynchronous=False,
        )
        got = m.c.committed([TopicPartition(topic, p) for p in range(P)], timeout=10)
        assert {tp.partition: (tp.offset, tp.metadata) for tp in got} == marks
    finally:
        m.close()

    b.restart(hard=True)
    bs = b.bootstrap
    assert committed(bs, group, topic, P) == {p: off for p, (off, _) in marks.items()}
    c = ck.consumer(bs, **{"group.id": group})
    try:
        got = c.committed([TopicPartition(topic, p) for p in range(P)], timeout=10)
        assert {tp.partition: (tp.offset, tp.metadata) for tp in got} == marks
    finally:
        c.close()
    after = produce_batch(bs, topic, P, 2, "b")
    m2 = Member(bs, group, topic, "after")
    try:
        want = {(r.partition, r.offset) for r in produced if r.offset >= marks[r.partition][0]} | positions(after)
        drive([m2], lambda: m2.positions() >= want, "resume from the committed offsets after kill -9")
        keep_polling([m2], 0.5)
        assert sorted(m2.positions()) == sorted(want)
        assert len(m2.got) == len(want), "duplicates after resume"
        assert m2.commit_positions() == {p: 12 for p in range(P)}
    finally:
        m2.close()
    assert committed(bs, group, topic, P) == {p: 12 for p in range(P)}
