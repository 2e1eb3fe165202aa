"""Durability: a broker on a persistent --data-dir that is SIGTERM'd, kill -9'd,
restarted, and restarted after its newest log segment was damaged."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, TopicPartition

import ck
from ck import Rec

pytestmark = pytest.mark.needs("restart")

NOW_MS = int(time.time() * 1000)


def test_sigterm_exits_zero(broker_factory):
    b = broker_factory()
    rc = b.stop()
    assert rc == 0, f"rill exited {rc} on SIGTERM"


def test_sigterm_is_prompt_with_a_parked_fetch(broker_factory, topic):
    """A consumer long-polling an empty partition must not hold up shutdown until
    its fetch.wait.max.ms runs out."""
    b = broker_factory()
    ck.create_topic(b.bootstrap, topic, partitions=1)
    c = ck.consumer(
        b.bootstrap, **{"fetch.wait.max.ms": 10000, "socket.timeout.ms": 30000, "enable.partition.eof": False}
    )
    try:
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        assert c.poll(1.5) is None  # a Fetch is now parked in the broker
        t0 = time.monotonic()
        rc = b.stop()
        elapsed = time.monotonic() - t0
    finally:
        c.close()
    assert rc == 0, f"rill exited {rc} on SIGTERM"
    assert elapsed < 4.0, f"SIGTERM took {elapsed:.1f}s with a parked fetch"


def test_ready_file_and_ephemeral_dir_cleanup(broker_factory, topic):
    tmp = broker_factory.root / "tmpdir"
    tmp.mkdir()
    b = broker_factory(env={"TMPDIR": str(tmp)})
    host, port = b.bootstrap.rsplit(":", 1)
    assert host == "127.0.0.1" and 0 < int(port) < 65536
    # Line 1 is the listener; a second line is the HTTP listener's, when the default
    # port (localhost:9644) was free.
    lines = b.ready_file.read_text().splitlines(keepends=True)
    assert lines[0] == b.bootstrap + "\n"
    assert all(line.startswith("http://127.0.0.1:") for line in lines[1:]) and len(lines) <= 2, lines
    ck.create_topic(b.bootstrap, topic, partitions=1)
    ck.produce_records(ck.producer(b.bootstrap), topic, [Rec(0, b"k", b"v", [], NOW_MS)])
    assert list(tmp.iterdir()), "--ephemeral did not put its data dir under $TMPDIR"
    assert b.stop() == 0
    assert not list(tmp.rglob("*")), f"ephemeral data left behind: {sorted(map(str, tmp.rglob('*')))[:10]}"


def _produce_mixed(bootstrap: str, topic: str, partitions: int, rounds: int, tag: str) -> list[Rec]:
    """Several flushes in several codecs, so there are many batches of each kind."""
    out = []
    for r in range(rounds):
        codec = ck.CODECS[r % len(ck.CODECS)]
        p = ck.producer(bootstrap, **{"compression.type": codec, "linger.ms": 10, "acks": "all"})
        recs = ck.sample_records(partitions, NOW_MS - 1_000_000 + r * 100_000, n=20, tag=f"{tag}-{r}")
        out += ck.produce_records(p, topic, recs)
    return out


@pytest.mark.parametrize("fsync", [None, "always"], ids=["fsync-default", "fsync-always"])
def test_kill9_restart_keeps_acked_records(broker_factory, topic, fsync):
    b = broker_factory(data_dir="auto", fsync=fsync)
    ck.create_topic(b.bootstrap, topic, partitions=3, config={"max.message.bytes": "2097152"})
    other = topic + "-other"
    ck.create_topic(b.bootstrap, other, partitions=1)
    recs = _produce_mixed(b.bootstrap, topic, 3, rounds=10, tag="before")
    other_recs = ck.produce_records(ck.producer(b.bootstrap), other, [Rec(0, b"o", b"other", [], NOW_MS)])
    ck.assert_contiguous_offsets(recs)
    hw = {p: ck.watermarks(b.bootstrap, topic, p)[1] for p in range(3)}

    b.kill()
    b.start()  # same data dir, new port

    assert ck.topic_partitions(b.bootstrap).get(topic) == 3
    assert ck.topic_partitions(b.bootstrap).get(other) == 1
    for p in range(3):
        assert ck.watermarks(b.bootstrap, topic, p) == (0, hw[p]), (
            f"partition {p} watermarks changed by the restart"
        )
    ck.assert_records(ck.consume_all(b.bootstrap, topic, 3, expect=len(recs)), recs)
    ck.assert_records(ck.consume_all(b.bootstrap, other, 1, expect=1), other_recs)

    # new records continue the offsets
    more = _produce_mixed(b.bootstrap, topic, 3, rounds=2, tag="after")
    for p in range(3):
        offs = [r.offset for r in more if r.partition == p]
        assert offs == list(range(hw[p], hw[p] + len(offs))), f"partition {p}: offsets after restart {offs}"
    ck.assert_records(ck.consume_all(b.bootstrap, topic, 3, expect=len(recs) + len(more)), recs + more)

    # the topic config survived too: a 1.5 MiB record is still accepted
    big = ck.produce_records(
        ck.producer(b.bootstrap, **{"message.max.bytes": 4 * 1024 * 1024}),
        topic,
        [Rec(0, b"big", os.urandom(1536 * 1024), [], NOW_MS)],
    )
    assert big[0].offset == hw[0] + sum(1 for r in more if r.partition == 0)


def test_sigterm_restart_twice(broker_factory, topic):
    b = broker_factory(data_dir="auto", fsync="interval:100")
    ck.create_topic(b.bootstrap, topic, partitions=2)
    recs = _produce_mixed(b.bootstrap, topic, 2, rounds=3, tag="one")
    b.restart(hard=False)
    recs += _produce_mixed(b.bootstrap, topic, 2, rounds=2, tag="two")
    ck.assert_contiguous_offsets(recs)
    b.restart(hard=False)
    ck.assert_records(ck.consume_all(b.bootstrap, topic, 2, expect=len(recs)), recs)


def test_deleted_topic_stays_deleted_after_restart(broker_factory, topic):
    b = broker_factory(data_dir="auto")
    ck.create_topic(b.bootstrap, topic, partitions=1)
    ck.produce_records(ck.producer(b.bootstrap), topic, [Rec(0, b"k", b"v", [], NOW_MS)])
    a = ck.admin(b.bootstrap)
    a.delete_topics([topic], operation_timeout=10)[topic].result(timeout=20)
    b.restart(hard=True)
    assert topic not in ck.topic_partitions(b.bootstrap)


def _newest_segment(data_dir: Path, topic: str) -> Path:
    logs = [p for p in data_dir.rglob("*.log") if p.is_file() and p.stat().st_size > 0]
    mine = [p for p in logs if any(topic in part for part in p.relative_to(data_dir).parts)]
    candidates = mine or logs
    assert candidates, (
        f"no non-empty *.log segment under {data_dir}: {sorted(str(p) for p in data_dir.rglob('*'))}"
    )
    return max(candidates, key=lambda p: (p.stat().st_mtime_ns, p.stat().st_size))


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_damaged_tail_is_recovered(broker_factory, topic, damage):
    b = broker_factory(data_dir="auto")
    ck.create_topic(b.bootstrap, topic, partitions=1)
    p = ck.producer(b.bootstrap, **{"linger.ms": 0})
    # one record per batch, so damaging the tail loses at most the last batch
    recs = [Rec(0, b"k%d" % i, b"value %d " % i * 10, [("i", b"%d" % i)], NOW_MS + i) for i in range(30)]
    ck.produce_records(p, topic, recs, flush_each=True)
    assert [r.offset for r in recs] == list(range(30))
    b.kill()

    seg = _newest_segment(b.data_dir, topic)
    size = seg.stat().st_size
    if damage == "truncate":
        os.truncate(seg, size - 7)  # cut into the last batch
        intact = recs[:29]
    else:
        with open(seg, "ab") as f:
            f.write(random.Random(42).randbytes(100))  # a torn write after the last batch
        intact = recs

    b.start()
    n = len(intact)
    assert ck.watermarks(b.bootstrap, topic, 0) == (0, n), (
        f"after {damage} of {seg.name}: expected log end {n}"
    )
    ck.assert_records(ck.consume_all(b.bootstrap, topic, 1, expect=n), intact)

    new = ck.produce_records(
        ck.producer(b.bootstrap), topic, [Rec(0, b"new", b"after recovery", [], NOW_MS + 99)]
    )
    assert new[0].offset == n
    ck.assert_records(ck.consume_all(b.bootstrap, topic, 1, expect=n + 1), intact + new)

    # and it survives another crash
    b.kill()
    b.start()
    ck.assert_records(ck.consume_all(b.bootstrap, topic, 1, expect=n + 1), intact + new)
