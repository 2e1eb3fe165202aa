"""Transactional producers (Kafka's classic transaction path: InitProducerId with a
transactional.id, AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit, EndTxn,
control batches, last stable offset, read_committed fetch) against a real rill
broker, with every client:

* confluent-kafka (librdkafka): commit/abort over several partitions and the LSO,
  consume-transform-produce with `send_offsets_to_transaction`, a fenced zombie,
  the broker's transaction timeout, kill -9 of the broker with a transaction open;
* kafka-python 3.x: `KafkaProducer(transactional_id=...)`, its read_committed
  `KafkaConsumer` and `send_offsets_to_transaction` with the consumer's group
  metadata; its `KafkaAdminClient` transaction tools (list/describe transactions,
  describe producers, abort_transaction = WriteTxnMarkers);
* aiokafka: `AIOKafkaProducer(transactional_id=...)`, the `transaction()` context
  manager, `send_offsets_to_transaction`;
* KafkaJS (`kafkajs/txn.js`): `producer({transactionalId, idempotent: true,
  maxInFlightRequests: 1})`, `transaction().send/sendOffsets/commit/abort`, and a
  consume-transform-produce loop in a KafkaJS consumer group.

Every client keeps its defaults apart from the transactional id and the isolation
level (and, for the timeout tests, the transaction timeout). Records are read back
with librdkafka (ck.py) in both isolation levels and compared exactly: a
read_committed reader must see exactly the committed records, never aborted ones
and never those of a transaction still open, and a read_uncommitted reader sees
everything that was acknowledged. The last stable offset is read with ListOffsets
(read_committed `get_watermark_offsets`) and compared with the high watermark.
"""

from __future__ import annotations

import asyncio
import json
import re
import queue
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, Producer, TopicPartition

import ck
from ck import Rec

pytestmark = pytest.mark.needs("idempotence", "transactions")  # every test runs a transactional producer

NOW_MS = int(time.time() * 1000)
KJS_DIR = Path(__file__).resolve().parent / "kafkajs"
HAVE_KAFKAJS = shutil.which("node") is not None and (KJS_DIR / "node_modules" / "kafkajs").is_dir()
needs_kafkajs = pytest.mark.skipif(
    not HAVE_KAFKAJS, reason="node or compat/kafkajs/node_modules missing (run npm ci in compat/kafkajs)"
)

COMMITTED = "read_committed"
UNCOMMITTED = "read_uncommitted"

# How a client may report that its producer was fenced by a newer instance.
FENCED_CODES = {KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH}


# ----------------------------------------------------------------- helpers


def txn_producer(bootstrap: str, transactional_id: str, **extra) -> Producer:
    """A librdkafka producer with nothing set but the transactional id (plus what
    every compat test sets: address family, logger) and `extra`."""
    return Producer(ck.base_conf(bootstrap, **{"transactional.id": transactional_id, **extra}))


def make_recs(tag: str, partitions: list[int], per_partition: int, base_ts: int = NOW_MS) -> list[Rec]:
    out = []
    for j in range(per_partition):
        for p in partitions:
            i = len(out)
            out.append(
                Rec(
                    p,
                    f"{tag}-{p}-{j}".encode(),
                    f"{tag} record {j} of partition {p} ".encode() + b"x" * (i % 11),
                    [("txn", tag.encode()), ("i", str(i).encode())],
                    base_ts + i,
                )
            )
    return out


def marks(bootstrap: str, topic: str, partitions: int, isolation: str) -> list[int]:
    """The end offset of every partition as ListOffsets reports it for `isolation`:
    the high watermark (read_uncommitted) or the last stable offset (read_committed)."""
    c = ck.consumer(bootstrap, **{"isolation.level": isolation})
    try:
        return [
            c.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)[1] for p in range(partitions)
        ]
    finally:
        c.close()


def lso(bootstrap: str, topic: str, partitions: int) -> list[int]:
    return marks(bootstrap, topic, partitions, COMMITTED)


def hw(bootstrap: str, topic: str, partitions: int) -> list[int]:
    return marks(bootstrap, topic, partitions, UNCOMMITTED)


def read(bootstrap: str, topic: str, partitions: int, isolation: str, **conf) -> list[ck.Got]:
    """Everything a fresh librdkafka consumer with `isolation` reads from the start."""
    return ck.consume_all(bootstrap, topic, partitions, **{"isolation.level": isolation, **conf})


def wait_until(what: str, fn, timeout: float = 20.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def wait_stable(bootstrap: str, topic: str, partitions: int, timeout: float = 20.0) -> list[int]:
    """Wait until LSO == high watermark on every partition (polled every 20 ms with
    two long-lived consumers); returns the marks."""
    cs = {iso: ck.consumer(bootstrap, **{"isolation.level": iso}) for iso in (COMMITTED, UNCOMMITTED)}

    def ends(iso):
        c = cs[iso]
        return [
            c.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)[1] for p in range(partitions)
        ]

    def check():
        h = ends(UNCOMMITTED)
        return h if ends(COMMITTED) == h else None

    try:
        return wait_until(f"LSO == high watermark on {topic}", check, timeout, interval=0.02)
    finally:
        for c in cs.values():
            c.close()


def fenced_error(exc: BaseException) -> KafkaError:
    assert isinstance(exc, KafkaException), f"expected a KafkaException, got {exc!r}"
    err = exc.args[0]
    assert err.code() in FENCED_CODES, f"expected a fencing error, got {err!r}"
    assert err.fatal(), f"a fencing error must be fatal to the producer: {err!r}"
    return err


class LiveReader:
    """A librdkafka consumer assigned to every partition from the beginning that keeps
    its fetch position between calls (so it sees the LSO move under it)."""

    def __init__(self, bootstrap: str, topic: str, partitions: int, isolation: str = COMMITTED):
        self.c = ck.consumer(bootstrap, **{"isolation.level": isolation})
        self.c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        self.got: list[ck.Got] = []

    def drain(self, seconds: float) -> list[ck.Got]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for m in self.c.consume(num_messages=1000, timeout=0.1):
                err = m.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise AssertionError(f"consume error: {err}")
                self.got.append(
                    ck.Got(
                        m.partition(),
                        m.offset(),
                        m.key(),
                        m.value(),
                        list(m.headers() or []),
                        m.timestamp()[0],
                        m.timestamp()[1],
                    )
                )
        return self.got

    def until(self, count: int, timeout: float = 20.0) -> list[ck.Got]:
        deadline = time.monotonic() + timeout
        while len(self.got) < count and time.monotonic() < deadline:
            self.drain(0.2)
        return self.got

    def close(self):
        self.c.close()


def positions(got: list[ck.Got]) -> list[tuple[int, int]]:
    return sorted((g.partition, g.offset) for g in got)


def touched(recs: list[Rec]) -> set[int]:
    return {r.partition for r in recs}


def committed_offsets(bootstrap: str, group: str, topic: str, partitions: int) -> list[int]:
    """The group's committed offsets (OffsetFetch; librdkafka sets require_stable
    because its default isolation level is read_committed)."""
    c = ck.consumer(bootstrap, **{"group.id": group})
    try:
        tps = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        for tp in tps:
            assert tp.error is None, f"committed({tp}): {tp.error}"
        return [tp.offset for tp in sorted(tps, key=lambda t: t.partition)]
    finally:
        c.close()


# ------------------------------------------- 1. confluent: commit, abort, LSO


def test_confluent_commit_abort_lso(broker, topic):
    """Transactions over several partitions: two committed, one aborted (flushed
    first, so its records are really in the log), one left open. read_committed sees
    exactly the committed records, also after waiting, also through a consumer that
    stays at the LSO; read_uncommitted sees every record; the LSO stops at the open
    transaction's first offset on the partitions it wrote to and moves to the high
    watermark once it commits, and the waiting consumer then gets its records."""
    P = 4
    ck.create_topic(broker, topic, P)
    p = txn_producer(broker, "txn-commit-abort")
    p.init_transactions(30)

    p.begin_transaction()
    c1 = ck.produce_records(p, topic, make_recs("c1", [0, 1, 2, 3], 3))
    p.commit_transaction(30)

    p.begin_transaction()
    a1 = ck.produce_records(p, topic, make_recs("a1", [0, 1, 2, 3], 2, NOW_MS + 1000))
    p.abort_transaction(30)

    p.begin_transaction()
    c2 = ck.produce_records(p, topic, make_recs("c2", [0, 1], 2, NOW_MS + 2000))
    p.commit_transaction(30)

    p.begin_transaction()
    o1 = ck.produce_records(p, topic, make_recs("o1", [0, 1, 2], 2, NOW_MS + 3000))
    # o1 is acknowledged (in the log) but its transaction is still open.

    high = hw(broker, topic, P)
    stable = lso(broker, topic, P)
    for q in range(P):
        mine = [r.offset for r in o1 if r.partition == q]
        if mine:
            assert stable[q] == min(mine), f"partition {q}: LSO {stable[q]}, open transaction starts at {min(mine)}"
            assert high[q] == max(mine) + 1, f"partition {q}: high watermark {high[q]}, last open record {max(mine)}"
        else:
            assert stable[q] == high[q], f"partition {q} (not in the open transaction): LSO {stable[q]} != HW {high[q]}"

    ck.assert_records(read(broker, topic, P, COMMITTED), c1 + c2)
    ck.assert_records(read(broker, topic, P, UNCOMMITTED), c1 + a1 + c2 + o1)

    live = LiveReader(broker, topic, P)
    try:
        # Waiting longer does not let anything of the open transaction through.
        ck.assert_records(live.drain(3.0), c1 + c2)
        assert lso(broker, topic, P) == stable

        p.commit_transaction(30)
        ck.assert_records(live.until(len(c1 + c2 + o1)), c1 + c2 + o1)
        live.drain(0.5)
        ck.assert_records(live.got, c1 + c2 + o1)
    finally:
        live.close()

    final = wait_stable(broker, topic, P, timeout=10)
    for q in range(P):
        # every record plus one control batch (commit/abort marker) per transaction
        # that wrote to the partition
        recs = [r for r in c1 + a1 + c2 + o1 if r.partition == q]
        markers = sum(q in touched(t) for t in (c1, a1, c2, o1))
        assert final[q] == len(recs) + markers, f"partition {q}: high watermark {final[q]}"
    ck.assert_records(read(broker, topic, P, COMMITTED), c1 + c2 + o1)
    ck.assert_records(read(broker, topic, P, UNCOMMITTED), c1 + a1 + c2 + o1)


# ----------------------------------- 2. confluent: consume-transform-produce


def _transform(m) -> tuple[bytes, bytes, list]:
    return m.key(), m.value().upper(), [("src", f"{m.partition()}:{m.offset()}".encode())]


def _consume_n(c, n: int, timeout: float = 30.0, batch: int = 7) -> list:
    """Up to `batch` records at a time until `n` arrived; yields lists."""
    got = 0
    deadline = time.monotonic() + timeout
    while got < n:
        assert time.monotonic() < deadline, f"only {got} of {n} input records consumed"
        msgs = []
        for m in c.consume(num_messages=min(batch, n - got), timeout=0.5):
            if m.error() is not None:
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise AssertionError(f"consume error: {m.error()}")
            msgs.append(m)
        if msgs:
            got += len(msgs)
            yield msgs


def _transform_round(p: Producer, c, out_topic: str, msgs: list, commit: bool) -> None:
    p.begin_transaction()
    for m in msgs:
        key, value, headers = _transform(m)
        p.produce(out_topic, value, key=key, partition=m.partition(), headers=headers)
    pos = [tp for tp in c.position(c.assignment()) if tp.offset >= 0]
    p.send_offsets_to_transaction(pos, c.consumer_group_metadata(), 30)
    if commit:
        p.commit_transaction(30)
    else:
        p.flush(30)
        p.abort_transaction(30)


def test_confluent_consume_transform_produce(broker, topic):
    """A read_committed consumer group reads the input topic; for every few records a
    transaction writes them transformed to the output topic and commits the
    consumer's positions with send_offsets_to_transaction. The output is the input
    transformed exactly once, and the group's committed offsets are the input's end
    offsets. Then one round is aborted: its output stays invisible and its offsets
    are not committed; re-reading from the committed offsets and committing that
    round brings output and offsets to the new end."""
    P, N, M = 3, 60, 9
    src, dst, group = topic + "-in", topic + "-out", "ctp-" + topic
    ck.create_topic(broker, src, P)
    ck.create_topic(broker, dst, P)
    inputs = ck.produce_records(ck.producer(broker), src, make_recs("in", list(range(P)), N // P))

    c = ck.consumer(
        broker,
        **{"group.id": group, "isolation.level": COMMITTED, "auto.offset.reset": "earliest"},
    )
    p = txn_producer(broker, "txn-ctp")
    try:
        p.init_transactions(30)
        c.subscribe([src])
        rounds = 0
        for msgs in _consume_n(c, N):
            _transform_round(p, c, dst, msgs, commit=True)
            rounds += 1
        assert rounds >= 3, rounds

        def expected_output(ins: list[Rec]) -> list[tuple]:
            return sorted((r.partition, r.key, r.value.upper(), f"{r.partition}:{r.offset}".encode()) for r in ins)

        def output(isolation: str, n: int) -> list[tuple]:
            got = read(broker, dst, P, isolation, expect=n)
            # within a partition, output order is input order
            for q in range(P):
                srcs = [int(dict(g.headers)["src"].split(b":")[1]) for g in got if g.partition == q]
                assert srcs == sorted(srcs), f"output partition {q}: sources out of order {srcs}"
            return sorted((g.partition, g.key, g.value, dict(g.headers)["src"]) for g in got)

        assert output(COMMITTED, N) == expected_output(inputs)
        ends = [N // P] * P
        assert committed_offsets(broker, group, src, P) == ends

        # One more round of input, processed in a transaction that is aborted.
        more = ck.produce_records(ck.producer(broker), src, make_recs("more", list(range(P)), M // P, NOW_MS + 10_000))
        seen = [m for msgs in _consume_n(c, M, batch=M) for m in msgs]
        _transform_round(p, c, dst, seen, commit=False)
        assert committed_offsets(broker, group, src, P) == ends, "offsets of an aborted transaction were committed"
        assert output(COMMITTED, N) == expected_output(inputs)
        assert len(read(broker, dst, P, UNCOMMITTED, expect=N + M)) == N + M

        # Recover as an application would: back to the committed offsets, redo it.
        for tp in c.committed(c.assignment(), timeout=10):
            c.seek(tp)
        redo = [m for msgs in _consume_n(c, M, batch=M) for m in msgs]
        assert sorted((m.partition(), m.offset()) for m in redo) == sorted((r.partition, r.offset) for r in more)
        _transform_round(p, c, dst, redo, commit=True)
        assert committed_offsets(broker, group, src, P) == [N // P + M // P] * P
        assert output(COMMITTED, N + M) == expected_output(inputs + more)
    finally:
        c.close()


def _wait_assigned(c, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not c.assignment():
        assert time.monotonic() < deadline, "no partitions assigned"
        c.poll(0.1)


def test_confluent_send_offsets_stale_member(broker, topic):
    """KIP-447: send_offsets_to_transaction with the group metadata of a consumer that
    has since left the group (its member id is gone, the generation moved on) is
    refused (UNKNOWN_MEMBER_ID or ILLEGAL_GENERATION); librdkafka makes that an
    abortable error, the aborted transaction commits no offsets, and the same
    producer then commits offsets with the current member's metadata."""
    P = 2
    src, group = topic + "-in", "stale-" + topic
    ck.create_topic(broker, src, P)
    ck.create_topic(broker, topic, P)
    conf = {"group.id": group, "isolation.level": COMMITTED, "auto.offset.reset": "earliest"}
    gone = ck.consumer(broker, **conf)
    gone.subscribe([src])
    _wait_assigned(gone)
    stale = gone.consumer_group_metadata()
    gone.close()
    current = ck.consumer(broker, **conf)
    p = txn_producer(broker, "txn-stale-member")
    try:
        current.subscribe([src])
        _wait_assigned(current)
        p.init_transactions(30)
        p.begin_transaction()
        p.produce(topic, b"x", partition=0)
        with pytest.raises(KafkaException) as ei:
            p.send_offsets_to_transaction([TopicPartition(src, q, 5) for q in range(P)], stale, 30)
        err = ei.value.args[0]
        print(f"\nsend_offsets_to_transaction with a departed member's metadata: {err!r}")
        assert err.code() in (KafkaError.UNKNOWN_MEMBER_ID, KafkaError.ILLEGAL_GENERATION), err
        assert err.txn_requires_abort() and not err.fatal(), err
        p.abort_transaction(30)
        assert committed_offsets(broker, group, src, P) == [-1001] * P  # OFFSET_INVALID: nothing committed

        p.begin_transaction()
        p.produce(topic, b"y", partition=1)
        offsets = [TopicPartition(src, q, 7) for q in range(P)]
        p.send_offsets_to_transaction(offsets, current.consumer_group_metadata(), 30)
        p.commit_transaction(30)
        assert committed_offsets(broker, group, src, P) == [7] * P
        got = read(broker, topic, P, COMMITTED)
        assert [(g.partition, g.value) for g in got] == [(1, b"y")]
    finally:
        current.close()


# ---------------------------------------------------- 3. confluent: zombie


@pytest.mark.parametrize("zombie_action", ["produce", "commit"])
def test_confluent_fenced_zombie(broker, topic, zombie_action):
    """Two producers with the same transactional.id: the second's init_transactions
    aborts the first's open transaction and fences it. The zombie's next produce (or
    its commit) fails with a fatal fencing error; what it wrote in the open
    transaction never becomes visible to read_committed, while its earlier committed
    transaction and the new producer's transaction are."""
    P = 2
    ck.create_topic(broker, topic, P)
    txid = "txn-zombie"
    zombie = txn_producer(broker, txid)
    zombie.init_transactions(30)
    zombie.begin_transaction()
    before = ck.produce_records(zombie, topic, make_recs("before", [0, 1], 2))
    zombie.commit_transaction(30)
    zombie.begin_transaction()
    lost = ck.produce_records(zombie, topic, make_recs("zombie", [0, 1], 2, NOW_MS + 1000))
    assert lso(broker, topic, P) == [min(r.offset for r in lost if r.partition == q) for q in range(P)]

    successor = txn_producer(broker, txid)
    successor.init_transactions(30)
    # Its open transaction is aborted by the successor's InitProducerId.
    assert lso(broker, topic, P) == hw(broker, topic, P)

    errors: list = []
    if zombie_action == "produce":
        # The refused produce makes the error fatal; confluent-kafka then raises it
        # from produce()/poll() (or reports it to the delivery callback).
        deadline = time.monotonic() + 15
        try:
            zombie.produce(topic, b"late", key=b"late", partition=0, on_delivery=lambda e, m: errors.append(e))
            while not errors and time.monotonic() < deadline:
                zombie.poll(0.1)
        except KafkaException as e:
            errors.append(e.args[0])
        assert errors and all(e is not None for e in errors), f"the zombie's produce was accepted: {errors!r}"
        print(f"\nzombie produce: {errors[0]!r}")
    with pytest.raises(KafkaException) as ei:
        zombie.commit_transaction(15)
    err = fenced_error(ei.value)
    print(f"zombie commit: {err!r}")
    with pytest.raises(KafkaException) as ei:
        zombie.abort_transaction(15)
    fenced_error(ei.value)

    successor.begin_transaction()
    after = ck.produce_records(successor, topic, make_recs("after", [0, 1], 2, NOW_MS + 2000))
    successor.commit_transaction(30)
    wait_stable(broker, topic, P, timeout=10)
    ck.assert_records(read(broker, topic, P, COMMITTED), before + after)
    ck.assert_records(read(broker, topic, P, UNCOMMITTED), before + lost + after)


# ---------------------------------------------------------- 4. kafka-python


def test_kafka_python_transactions(broker, topic):
    """kafka-python's KafkaProducer(transactional_id=...): a committed transaction that
    also commits a consumer group's offsets (send_offsets_to_transaction with
    KafkaConsumer.group_metadata()), an aborted one (flushed, with other offsets), and
    an open one. kafka-python's and librdkafka's read_committed readers see only the
    committed records until the open one commits; the group's offsets are those of the
    committed transaction."""
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.structs import OffsetAndMetadata
    from kafka.structs import TopicPartition as KTP

    P = 3
    src, group = topic + "-in", "kp-" + topic
    ck.create_topic(broker, topic, P)
    ck.create_topic(broker, src, P)
    inputs = ck.produce_records(ck.producer(broker), src, make_recs("in", list(range(P)), 4))

    def send_all(prod, recs: list[Rec]) -> list[Rec]:
        futs = [
            prod.send(
                topic, value=r.value, key=r.key, headers=r.headers, partition=r.partition, timestamp_ms=r.timestamp
            )
            for r in recs
        ]
        prod.flush(30)
        for r, f in zip(recs, futs):
            md = f.get(timeout=30)
            assert md.partition == r.partition
            r.offset = md.offset
        return recs

    consumer = KafkaConsumer(
        src,
        bootstrap_servers=broker,
        group_id=group,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    prod = KafkaProducer(bootstrap_servers=broker, transactional_id="txn-kafka-python")
    try:
        seen = 0
        deadline = time.monotonic() + 30
        while seen < len(inputs):
            assert time.monotonic() < deadline, f"kafka-python consumer read {seen} of {len(inputs)}"
            seen += sum(len(v) for v in consumer.poll(timeout_ms=500).values())
        consumed = {tp: OffsetAndMetadata(consumer.position(tp), "", -1) for tp in consumer.assignment()}
        assert sorted(o.offset for o in consumed.values()) == [4] * P

        prod.init_transactions()
        prod.begin_transaction()
        c1 = send_all(prod, make_recs("c1", list(range(P)), 3))
        prod.send_offsets_to_transaction(consumed, consumer.group_metadata())
        prod.commit_transaction()

        prod.begin_transaction()
        a1 = send_all(prod, make_recs("a1", list(range(P)), 2, NOW_MS + 1000))
        prod.send_offsets_to_transaction({KTP(src, q): OffsetAndMetadata(1, "", -1) for q in range(P)}, group)
        prod.abort_transaction()

        prod.begin_transaction()
        o1 = send_all(prod, make_recs("o1", [0, 2], 2, NOW_MS + 2000))

        assert committed_offsets(broker, group, src, P) == [4] * P
        assert {tp.partition: consumer.committed(tp) for tp in consumer.assignment()} == {q: 4 for q in range(P)}
        stable, high = lso(broker, topic, P), hw(broker, topic, P)
        for q in range(P):
            mine = [r.offset for r in o1 if r.partition == q]
            assert stable[q] == (min(mine) if mine else high[q]), (q, stable, high)

        ck.assert_records(read(broker, topic, P, COMMITTED), c1)
        ck.assert_records(read(broker, topic, P, UNCOMMITTED), c1 + a1 + o1)
        assert _kafka_python_read(broker, topic, P, len(c1)) == sorted((r.partition, r.offset, r.value) for r in c1)

        prod.commit_transaction()
        wait_stable(broker, topic, P, timeout=10)
        ck.assert_records(read(broker, topic, P, COMMITTED), c1 + o1)
        assert _kafka_python_read(broker, topic, P, len(c1 + o1)) == sorted(
            (r.partition, r.offset, r.value) for r in c1 + o1
        )
    finally:
        prod.close(timeout=10)
        consumer.close()


def _kafka_python_read(bootstrap: str, topic: str, partitions: int, expect: int, settle: float = 1.0) -> list:
    """Everything a read_committed kafka-python KafkaConsumer (manual assignment)
    reads: until `expect` records arrived, then `settle` seconds more."""
    from kafka import KafkaConsumer
    from kafka.structs import TopicPartition as KTP

    c = KafkaConsumer(
        bootstrap_servers=bootstrap,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    try:
        c.assign([KTP(topic, q) for q in range(partitions)])
        got = []
        deadline = time.monotonic() + 30
        settle_until = None
        while True:
            for recs in c.poll(timeout_ms=200).values():
                got += [(r.partition, r.offset, r.value) for r in recs]
            now = time.monotonic()
            if len(got) >= expect and settle_until is None:
                settle_until = now + settle
            if settle_until is not None and now >= settle_until:
                return sorted(got)
            assert now < deadline, f"kafka-python read {len(got)} of {expect} records"
    finally:
        c.close()


# --------------------------------------------------------------- 5. aiokafka


def test_aiokafka_transactions(broker, topic):
    """aiokafka's AIOKafkaProducer(transactional_id=...): a `transaction()` block that
    commits records and the group offsets of an AIOKafkaConsumer (read_committed)
    with send_offsets_to_transaction; a block left by an exception (aborted, its
    records acknowledged before); an open transaction (begin_transaction) that
    read_committed readers (aiokafka's and librdkafka's) do not see until it commits."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.structs import TopicPartition as ATP

    P = 3
    src, group = topic + "-in", "aio-" + topic
    ck.create_topic(broker, topic, P)
    ck.create_topic(broker, src, P)
    inputs = ck.produce_records(ck.producer(broker), src, make_recs("in", list(range(P)), 4))

    class Abort(Exception):
        pass

    async def send_all(prod, recs: list[Rec]) -> list[Rec]:
        futs = [
            await prod.send(
                topic, value=r.value, key=r.key, headers=r.headers, partition=r.partition, timestamp_ms=r.timestamp
            )
            for r in recs
        ]
        for r, f in zip(recs, futs):
            md = await f
            assert md.partition == r.partition
            r.offset = md.offset
        return recs

    async def aio_read(expect: int) -> list:
        c = AIOKafkaConsumer(
            bootstrap_servers=broker,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await c.start()
        try:
            c.assign([ATP(topic, q) for q in range(P)])
            got = []
            deadline = time.monotonic() + 30
            while len(got) < expect:
                assert time.monotonic() < deadline, f"aiokafka read {len(got)} of {expect}"
                for recs in (await c.getmany(timeout_ms=200)).values():
                    got += [(r.partition, r.offset, r.value) for r in recs]
            for recs in (await c.getmany(timeout_ms=1000)).values():
                got += [(r.partition, r.offset, r.value) for r in recs]
            return sorted(got)
        finally:
            await c.stop()

    async def run():
        consumer = AIOKafkaConsumer(
            src,
            bootstrap_servers=broker,
            group_id=group,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        prod = AIOKafkaProducer(bootstrap_servers=broker, transactional_id="txn-aiokafka")
        await consumer.start()
        await prod.start()
        try:
            seen = 0
            deadline = time.monotonic() + 30
            while seen < len(inputs):
                assert time.monotonic() < deadline, f"aiokafka consumer read {seen} of {len(inputs)}"
                seen += sum(len(v) for v in (await consumer.getmany(timeout_ms=500)).values())
            consumed = {tp: await consumer.position(tp) for tp in consumer.assignment()}
            assert sorted(consumed.values()) == [4] * P

            async with prod.transaction():
                c1 = await send_all(prod, make_recs("c1", list(range(P)), 3))
                await prod.send_offsets_to_transaction(consumed, group)

            a1 = []
            with pytest.raises(Abort):
                async with prod.transaction():
                    a1 = await send_all(prod, make_recs("a1", list(range(P)), 2, NOW_MS + 1000))
                    await prod.send_offsets_to_transaction({ATP(src, q): 1 for q in range(P)}, group)
                    raise Abort()
            assert len(a1) == 2 * P

            await prod.begin_transaction()
            o1 = await send_all(prod, make_recs("o1", [1, 2], 2, NOW_MS + 2000))

            group_offsets = {tp.partition: await consumer.committed(tp) for tp in consumer.assignment()}
            assert group_offsets == {q: 4 for q in range(P)}
            assert committed_offsets(broker, group, src, P) == [4] * P
            stable, high = lso(broker, topic, P), hw(broker, topic, P)
            for q in range(P):
                mine = [r.offset for r in o1 if r.partition == q]
                assert stable[q] == (min(mine) if mine else high[q]), (q, stable, high)
            ck.assert_records(read(broker, topic, P, COMMITTED), c1)
            ck.assert_records(read(broker, topic, P, UNCOMMITTED), c1 + a1 + o1)
            assert await aio_read(len(c1)) == sorted((r.partition, r.offset, r.value) for r in c1)

            await prod.commit_transaction()
            wait_stable(broker, topic, P, timeout=10)
            ck.assert_records(read(broker, topic, P, COMMITTED), c1 + o1)
            assert await aio_read(len(c1 + o1)) == sorted((r.partition, r.offset, r.value) for r in c1 + o1)
        finally:
            await prod.stop()
            await consumer.stop()

    asyncio.run(asyncio.wait_for(run(), 120))


# ---------------------------------------------------------------- 6. KafkaJS


def _kjs(scenario: str, bootstrap: str, *args) -> subprocess.Popen:
    cmd = ["node", str(KJS_DIR / "txn.js"), scenario, bootstrap, *map(str, args)]
    return subprocess.Popen(
        cmd, cwd=KJS_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _kjs_line(proc: subprocess.Popen, tag: str, timeout: float) -> dict:
    """The next `<tag> <json>` line of the scenario's stdout (fails if it exits)."""
    box: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: box.put(proc.stdout.readline()), daemon=True).start()
    try:
        line = box.get(timeout=timeout)
    except queue.Empty:
        line = ""
    if not line.startswith(tag + " "):
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(
            f"kafkajs: expected a {tag} line, got {line!r} (exit {proc.returncode})\n"
            f"--- stdout ---\n{out[-4000:]}\n--- stderr ---\n{err[-6000:]}"
        )
    return json.loads(line[len(tag) + 1 :])


def _kjs_finish(proc: subprocess.Popen, timeout: float = 60) -> None:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    assert proc.returncode == 0, (
        f"kafkajs exited {proc.returncode}\n--- stdout ---\n{out[-4000:]}\n--- stderr ---\n{err[-6000:]}"
    )


def _kjs_recs(rows: list[dict]) -> list[Rec]:
    return [
        Rec(
            r["partition"],
            r["key"].encode(),
            r["value"].encode(),
            [(k, v.encode()) for k, v in r["headers"].items()],
            None,
            r["offset"],
        )
        for r in rows
    ]


@needs_kafkajs
@pytest.mark.parametrize("end", ["commit", "abort"])
def test_kafkajs_transactions(broker, topic, end):
    """KafkaJS's transactional producer: a committed transaction that also commits
    offsets for a group (sendOffsets), an aborted one, and an open one, read back with
    librdkafka in both isolation levels while open and after it ends (`end`)."""
    P = 3
    offsets_topic, group = topic + "-offsets", "kjs-" + topic
    ck.create_topic(broker, topic, P)
    ck.create_topic(broker, offsets_topic, P)
    proc = _kjs("txn", broker, topic, P, "txn-kafkajs-" + end, group, offsets_topic)
    try:
        open_ = _kjs_recs(_kjs_line(proc, "OPEN", 60)["open"])
        stable, high = lso(broker, topic, P), hw(broker, topic, P)
        for q in range(P):
            mine = [r.offset for r in open_ if r.partition == q]
            assert stable[q] == min(mine) and high[q] == max(mine) + 1, (q, stable, high, mine)
        committed_then = read(broker, topic, P, COMMITTED)
        assert committed_offsets(broker, group, offsets_topic, P) == [10 + q for q in range(P)]
        proc.stdin.write(end + "\n")
        proc.stdin.flush()
        out = _kjs_line(proc, "RESULT", 60)
        _kjs_finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert out["openEndedBy"] == end
    txns = {k: _kjs_recs(v) for k, v in out["txns"].items()}
    assert positions(committed_then) == sorted((r.partition, r.offset) for r in txns["committed"])
    ck.assert_records(committed_then, txns["committed"])
    wait_stable(broker, topic, P, timeout=10)
    visible = txns["committed"] + (txns["open"] if end == "commit" else [])
    ck.assert_records(read(broker, topic, P, COMMITTED), visible)
    ck.assert_records(read(broker, topic, P, UNCOMMITTED), txns["committed"] + txns["aborted"] + txns["open"])
    assert committed_offsets(broker, group, offsets_topic, P) == [10 + q for q in range(P)]


@needs_kafkajs
def test_kafkajs_consume_transform_produce(broker, topic):
    """A KafkaJS consumer group (default isolation: read_committed) reads an input
    written by a librdkafka transactional producer (committed, aborted, committed);
    each batch is written upper-cased to the output in a transaction that commits the
    batch's next offsets with sendOffsets. Then an aborted transaction sends offsets
    far past the end. Only committed input is processed, exactly once; the output is
    that input transformed; the committed offsets are those after the last committed
    input record, never the aborted transaction's."""
    P = 3
    src, dst, group = topic + "-in", topic + "-out", "kjs-ctp-" + topic
    ck.create_topic(broker, src, P)
    ck.create_topic(broker, dst, P)
    writer = txn_producer(broker, "txn-kafkajs-ctp-input")
    writer.init_transactions(30)
    writer.begin_transaction()
    first = ck.produce_records(writer, src, make_recs("in", list(range(P)), 12))
    writer.commit_transaction(30)
    writer.begin_transaction()
    junk = ck.produce_records(writer, src, make_recs("junk", list(range(P)), 2, NOW_MS + 1000))
    writer.abort_transaction(30)
    writer.begin_transaction()
    second = ck.produce_records(writer, src, make_recs("in2", list(range(P)), 3, NOW_MS + 2000))
    writer.commit_transaction(30)
    inputs = first + second
    N = len(inputs)
    assert len(read(broker, src, P, UNCOMMITTED, expect=N + len(junk))) == N + len(junk)

    proc = _kjs("ctp", broker, src, dst, group, "txn-kafkajs-ctp", N)
    try:
        out = _kjs_line(proc, "RESULT", 120)
        _kjs_finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    processed = sorted((r["partition"], r["offset"]) for r in out["processed"])
    assert processed == sorted((r.partition, r.offset) for r in inputs)
    print(f"\nkafkajs consume-transform-produce: {out['batches']} transactions")
    got = read(broker, dst, P, COMMITTED, expect=N)
    assert sorted((g.partition, g.key, g.value, dict(g.headers)["src"]) for g in got) == sorted(
        (r.partition, r.key, r.value.upper(), f"{r.partition}:{r.offset}".encode()) for r in inputs
    )
    assert b"ABORTED" in {g.value for g in read(broker, dst, P, UNCOMMITTED, expect=N + 1)}
    assert committed_offsets(broker, group, src, P) == [
        max(r.offset for r in second if r.partition == q) + 1 for q in range(P)
    ]


# ------------------------------------------------------ 7. kafka-python admin


def new_transactions(admin, topic: str, **filters) -> list:
    """kafka-python's list_transactions(**filters), only the transactional ids this
    test made (they start with its topic): against a broker that other tests share
    (compat/target.py), theirs are listed too."""
    return [t for ts in admin.list_transactions(**filters).values() for t in ts if t.transactional_id.startswith(topic)]


@pytest.mark.needs("list-transactions", "describe-producers")  # admin on a hanging transaction
def test_kafka_python_admin_hanging_transaction(broker, topic):
    """kafka-python's KafkaAdminClient on a hanging transaction (open, never ended):
    list_transactions (state filter Ongoing, duration filter v1, id pattern v2),
    describe_transactions (Ongoing, its partitions), describe_producers (current
    transaction start offset), then abort_transaction (WriteTxnMarkers) on each
    partition: the LSO moves to the high watermark and the data stays invisible."""
    from kafka import KafkaAdminClient
    from kafka.admin import AbortTransactionSpec, TransactionState
    from kafka.errors import TransactionCoordinatorFencedError, TransactionalIdNotFoundError
    from kafka.structs import TopicPartition as KTP

    P = 3
    ck.create_topic(broker, topic, P)
    txid = f"{topic}-hanging"
    p = txn_producer(broker, txid)
    p.init_transactions(30)
    p.begin_transaction()
    done = ck.produce_records(p, topic, make_recs("done", [0], 2))
    p.commit_transaction(30)
    p.begin_transaction()
    hanging = ck.produce_records(p, topic, make_recs("hang", [0, 1], 2, NOW_MS + 1000))
    start = {q: min(r.offset for r in hanging if r.partition == q) for q in (0, 1)}

    a = KafkaAdminClient(bootstrap_servers=broker)
    try:
        filters = (
            {},
            {"state_filters": ["Ongoing"]},
            {"duration_filter_ms": 0},
            {"transactional_id_pattern": re.escape(topic) + "-hang.*"},
        )
        for kwargs in filters:
            listed = new_transactions(a, topic, **kwargs)
            assert [(t.transactional_id, t.state) for t in listed] == [(txid, TransactionState.ONGOING)], (
                kwargs,
                listed,
            )
        assert new_transactions(a, topic, state_filters=["CompleteCommit"]) == []
        assert new_transactions(a, topic, duration_filter_ms=3_600_000) == []
        assert new_transactions(a, topic, transactional_id_pattern="other.*") == []
        pid = listed[0].producer_id

        desc = a.describe_transactions([txid])[txid]
        assert desc.state == TransactionState.ONGOING
        assert desc.producer_id == pid
        assert desc.topic_partitions == {KTP(topic, 0), KTP(topic, 1)}
        assert desc.transaction_timeout_ms == 60000  # librdkafka's default transaction.timeout.ms
        assert abs(desc.transaction_start_time_ms - time.time() * 1000) < 60_000, desc
        with pytest.raises(TransactionalIdNotFoundError):
            a.describe_transactions(["no-such-transactional-id"])

        states = a.describe_producers([KTP(topic, q) for q in range(P)])
        print(f"\ndescribe_producers: {states!r}")
        for q in (0, 1):
            (ps,) = states[KTP(topic, q)].active_producers
            assert (ps.producer_id, ps.producer_epoch) == (pid, desc.producer_epoch)
            assert ps.current_transaction_start_offset == start[q], (q, ps)
        assert states[KTP(topic, 2)].active_producers == []
        assert lso(broker, topic, P) == [start[0], start[1], 0]

        # Partition 0 already has this producer's commit marker (coordinator epoch
        # 0): Kafka refuses a marker with kafka-python's default coordinator epoch -1
        # there (TRANSACTION_COORDINATOR_FENCED); the Java tool (kafka-transactions.sh
        # abort) passes the epoch DescribeProducers reports, at least 0.
        (ps0,) = states[KTP(topic, 0)].active_producers
        assert ps0.coordinator_epoch >= 0
        with pytest.raises(TransactionCoordinatorFencedError):
            a.abort_transaction(AbortTransactionSpec(KTP(topic, 0), pid, desc.producer_epoch))
        for q in (0, 1):
            (ps,) = states[KTP(topic, q)].active_producers
            epoch = max(ps.coordinator_epoch, 0)
            a.abort_transaction(AbortTransactionSpec(KTP(topic, q), pid, desc.producer_epoch, epoch))

        high = hw(broker, topic, P)
        assert lso(broker, topic, P) == high
        # one abort marker right after the last hanging record of each partition
        assert high[:2] == [max(r.offset for r in hanging if r.partition == q) + 2 for q in (0, 1)]
        after = a.describe_producers([KTP(topic, q) for q in (0, 1)])
        for q in (0, 1):
            (ps,) = after[KTP(topic, q)].active_producers
            assert ps.current_transaction_start_offset == -1, (q, ps)
        ck.assert_records(read(broker, topic, P, COMMITTED), done)
        ck.assert_records(read(broker, topic, P, UNCOMMITTED), done + hanging)

        # The coordinator still has the transaction (as in Kafka, the admin abort only
        # wrote markers); the producer can end it and go on.
        p.abort_transaction(30)
        desc = a.describe_transactions([txid])[txid]
        assert desc.state == TransactionState.COMPLETE_ABORT, desc
        assert new_transactions(a, topic, state_filters=["Ongoing"]) == []
        p.begin_transaction()
        more = ck.produce_records(p, topic, make_recs("more", [1, 2], 1, NOW_MS + 2000))
        p.commit_transaction(30)
        wait_stable(broker, topic, P, timeout=10)
        ck.assert_records(read(broker, topic, P, COMMITTED), done + more)
    finally:
        a.close()


@pytest.mark.needs("list-transactions")  # List/DescribeTransactions
def test_kafka_python_admin_transaction_states(broker, topic):
    """describe_transactions/list_transactions through a transactional id's life:
    Empty after init_transactions (no start time, no partitions), Ongoing with its
    partitions and start time, then CompleteCommit / CompleteAbort with no partitions
    (each listed under its state filter)."""
    from kafka import KafkaAdminClient
    from kafka.admin import TransactionState
    from kafka.structs import TopicPartition as KTP

    ck.create_topic(broker, topic, 2)
    txid = f"{topic}-states"
    p = txn_producer(broker, txid)
    a = KafkaAdminClient(bootstrap_servers=broker)
    try:
        p.init_transactions(30)
        d = a.describe_transactions([txid])[txid]
        assert (d.state, d.transaction_start_time_ms, d.topic_partitions) == (TransactionState.EMPTY, -1, set()), d
        for end, state in (("commit", TransactionState.COMPLETE_COMMIT), ("abort", TransactionState.COMPLETE_ABORT)):
            p.begin_transaction()
            ck.produce_records(p, topic, make_recs(end, [1], 1))
            d = a.describe_transactions([txid])[txid]
            assert (d.state, d.topic_partitions) == (TransactionState.ONGOING, {KTP(topic, 1)}), d
            started = d.transaction_start_time_ms
            assert started > 0, d
            (p.commit_transaction if end == "commit" else p.abort_transaction)(30)
            d = a.describe_transactions([txid])[txid]
            assert (d.state, d.topic_partitions) == (state, set()), d
            listed = new_transactions(a, topic, state_filters=[state.value])
            assert [(t.transactional_id, t.state) for t in listed] == [(txid, state)], listed
    finally:
        a.close()


def test_kafka_python_describe_completed_transaction_start_time(broker, topic):
    """After a commit, DescribeTransactions (CompleteCommit) still reports when the
    finished transaction started, as Kafka does."""
    from kafka import KafkaAdminClient

    ck.create_topic(broker, topic, 1)
    txid = "txn-start-time"
    p = txn_producer(broker, txid)
    a = KafkaAdminClient(bootstrap_servers=broker)
    try:
        p.init_transactions(30)
        p.begin_transaction()
        ck.produce_records(p, topic, make_recs("x", [0], 1))
        started = a.describe_transactions([txid])[txid].transaction_start_time_ms
        p.commit_transaction(30)
        d = a.describe_transactions([txid])[txid]
        assert d.transaction_start_time_ms == started, d
    finally:
        a.close()


# --------------------------------------------------------------- 8. timeout


def test_confluent_transaction_timeout(broker_factory, topic):
    """With the sweep every 200 ms, a transaction whose producer stalls past its
    transaction.timeout.ms (2 s) is aborted by the broker: the LSO reaches the high
    watermark within a few seconds, the data never becomes visible, and the stalled
    producer's commit then fails because it was fenced."""
    b = broker_factory(extra_args=["--transaction-abort-timed-out-interval-ms", "200"])
    bs = b.bootstrap
    P = 2
    ck.create_topic(bs, topic, P)
    # librdkafka requires socket.timeout.ms <= transaction.timeout.ms + 100.
    p = txn_producer(bs, "txn-timeout", **{"transaction.timeout.ms": 2000, "socket.timeout.ms": 2000})
    p.init_transactions(30)
    p.begin_transaction()
    ok = ck.produce_records(p, topic, make_recs("ok", [0, 1], 2))
    p.commit_transaction(30)

    p.begin_transaction()
    stalled = ck.produce_records(p, topic, make_recs("stalled", [0, 1], 3, NOW_MS + 1000))
    t0 = time.monotonic()
    assert lso(bs, topic, P) == [min(r.offset for r in stalled if r.partition == q) for q in range(P)]
    live = LiveReader(bs, topic, P)
    try:
        high = wait_stable(bs, topic, P, timeout=15)
        took = time.monotonic() - t0
        print(f"\ntimed-out transaction aborted {took:.2f}s after its last record was acknowledged")
        assert took < 8, took
        assert high == [len([r for r in ok + stalled if r.partition == q]) + 2 for q in range(P)]
        ck.assert_records(live.drain(1.5), ok)
    finally:
        live.close()
    ck.assert_records(read(bs, topic, P, COMMITTED), ok)
    ck.assert_records(read(bs, topic, P, UNCOMMITTED), ok + stalled)

    with pytest.raises(KafkaException) as ei:
        p.commit_transaction(15)
    print(f"stalled producer's commit: {ei.value.args[0]!r}")
    fenced_error(ei.value)
    ck.assert_records(read(bs, topic, P, COMMITTED), ok)


# ----------------------------------------------------------------- 9. crash


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("ended_by", ["timeout", "new-producer"])
def test_crash_with_open_transaction(broker_factory, topic, ended_by):
    """kill -9 of the broker while a transaction is open with acknowledged data, then a
    restart on the same data dir and port. read_committed never sees that data; the
    transaction is aborted by the timeout sweep (transaction.timeout.ms 3 s, sweep
    every 200 ms, the broker restarted once the timeout has passed) or by a new
    producer with the same transactional.id (init_transactions). Prints the time from
    restart to LSO == high watermark. What was committed before the crash (an
    idempotent producer's records, a committed transaction) is intact, and the old
    producer's commit fails."""
    P = 3
    timeout_ms = 3000
    b = broker_factory(
        data_dir="auto", port=_free_port(), extra_args=["--transaction-abort-timed-out-interval-ms", "200"]
    )
    bs = b.bootstrap
    ck.create_topic(bs, topic, P)
    txid = "txn-crash-" + ended_by
    # (librdkafka requires socket.timeout.ms <= transaction.timeout.ms + 100)
    extra = {"transaction.timeout.ms": timeout_ms, "socket.timeout.ms": timeout_ms} if ended_by == "timeout" else {}

    idem = ck.produce_records(
        Producer(ck.base_conf(bs, **{"enable.idempotence": True})), topic, make_recs("idem", list(range(P)), 5)
    )
    old = txn_producer(bs, txid, **extra)
    old.init_transactions(30)
    old.begin_transaction()
    committed = ck.produce_records(old, topic, make_recs("committed", [0, 1], 3, NOW_MS + 1000))
    old.commit_transaction(30)
    old.begin_transaction()
    open_ = ck.produce_records(old, topic, make_recs("open", [1, 2], 3, NOW_MS + 2000))
    opened_at = time.monotonic()
    before_lso = lso(bs, topic, P)
    before_hw = hw(bs, topic, P)
    assert before_lso != before_hw

    b.kill()
    if ended_by == "timeout":
        # Restart only once the transaction is past its timeout, so what is measured is
        # how soon the restarted broker notices and aborts it.
        time.sleep(max(0.0, opened_at + timeout_ms / 1000 + 0.5 - time.monotonic()))
    t_restart = time.monotonic()
    b.start()
    t_ready = time.monotonic()
    assert b.bootstrap == bs
    aborted_hw = [h + (q in touched(open_)) for q, h in enumerate(before_hw)]

    if ended_by == "timeout":
        final = wait_stable(bs, topic, P, timeout=30)
        t_stable = time.monotonic()
        print(
            f"\n[timeout] restart -> LSO == high watermark: {t_stable - t_restart:.3f}s from starting the broker "
            f"({t_ready - t_restart:.3f}s until it was ready, then {t_stable - t_ready:.3f}s); the transaction was "
            f"{t_restart - opened_at:.2f}s old at the restart (transaction.timeout.ms {timeout_ms})"
        )
    else:
        # The restarted broker has the transaction open again: same LSO, same high
        # watermark (every acknowledged record in place), nothing of it visible.
        assert (lso(bs, topic, P), hw(bs, topic, P)) == (before_lso, before_hw)
        ck.assert_records(read(bs, topic, P, COMMITTED), idem + committed)
        new = txn_producer(bs, txid)
        t_init = time.monotonic()
        new.init_transactions(30)
        t_inited = time.monotonic()
        final = wait_stable(bs, topic, P, timeout=30)
        t_stable = time.monotonic()
        print(
            f"\n[new-producer] restart -> ready {t_ready - t_restart:.3f}s; after checking the open transaction, "
            f"init_transactions of a new producer took {t_inited - t_init:.3f}s and LSO == high watermark "
            f"{t_stable - t_init:.3f}s after it began ({t_stable - t_restart:.3f}s after the restart began)"
        )
    # aborted: one abort marker on each partition the transaction wrote to
    assert final == aborted_hw

    ck.assert_records(read(bs, topic, P, COMMITTED), idem + committed)
    ck.assert_records(read(bs, topic, P, UNCOMMITTED), idem + committed + open_)
    with pytest.raises(KafkaException) as ei:
        old.commit_transaction(15)
    print(f"old producer's commit after the restart: {ei.value.args[0]!r}")
    fenced_error(ei.value)

    if ended_by == "new-producer":
        new.begin_transaction()
        after = ck.produce_records(new, topic, make_recs("after", [0, 2], 1, NOW_MS + 3000))
        new.commit_transaction(30)
        wait_stable(bs, topic, P, timeout=10)
        ck.assert_records(read(bs, topic, P, COMMITTED), idem + committed + after)
