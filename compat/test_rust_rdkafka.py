"""The Rust `rdkafka` crate (0.39, bindings to the librdkafka it bundles and builds from
source through rdkafka-sys) against a real rill broker, through the driver in
compat/rust-rdkafka/ (`rdkafka-driver`, JSON lines on stdout).

The crate is its own Cargo workspace, outside the broker's build; the test builds it with
`cargo build --locked` into target/compat-rdkafka/ and caches the binary there by a hash
of its sources and the toolchain. scripts/test.sh fetches its crates beforehand.

The driver keeps the crate's defaults (default features: bundled librdkafka, zlib; plus
`zstd`, without which the bundled librdkafka refuses compression.codec=zstd) and sets
only what a test is about: a codec, `enable.idempotence`, a `transactional.id`, a group
id, `group.protocol=consumer` (KIP-848), `auto.offset.reset=earliest` for group members
that join before the records exist, `enable.auto.commit=false` for exactly-once
consume-transform-produce.
Everything it writes is read back with confluent-kafka (compat/ck.py); everything it
reads was written by confluent-kafka.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import ConsumerGroupState, TopicPartition
from confluent_kafka.admin import ConfigResource

import ck
import groupkit
from ck import Rec
from test_idempotence import check_partitions, stored_batches

CRATE = Path(__file__).resolve().parent / "rust-rdkafka"
REPO_ROOT = CRATE.parent.parent
TARGET = REPO_ROOT / "target" / "compat-rdkafka"
CARGO = shutil.which("cargo")
CC = shutil.which("cc") or shutil.which("gcc")
MAKE = shutil.which("make")

_missing = [what for what, ok in [("cargo", CARGO), ("a C compiler (gcc)", CC), ("make", MAKE)] if not ok]


def driver_path() -> Path:
    """Where the driver built from the current sources is cached: target/compat-rdkafka,
    named by a hash of its manifest, lock file, sources and the cargo/rustc versions."""
    h = hashlib.sha256()
    files = [CRATE / "Cargo.toml", CRATE / "Cargo.lock", *sorted((CRATE / "src").rglob("*.rs"))]
    for f in files:
        h.update(str(f.relative_to(CRATE)).encode() + b"\0" + f.read_bytes())
    for tool in ([CARGO, "--version"], ["rustc", "--version"]):
        h.update(subprocess.run(tool, capture_output=True, check=True).stdout)
    return TARGET / f"rdkafka-driver-{h.hexdigest()[:16]}"


DRIVER = None if _missing else driver_path()
BUILD_TIMEOUT = 1800
CODEC_IDS = {"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
pytestmark = [
    pytest.mark.skipif(
        bool(_missing),
        reason=f"not installed: {', '.join(_missing)} (needed to build rdkafka-sys; run scripts/test.sh)",
    )
]
if DRIVER is not None and not DRIVER.exists():
    # A cold build (librdkafka from source) takes minutes: it runs inside whichever test
    # comes first, so this run's tests get room for it beyond the suite's 180 s.
    pytestmark.append(pytest.mark.timeout(BUILD_TIMEOUT + 180))

_built: list[Path] = []


def driver() -> Path:
    """The driver binary, built with `cargo build --locked` (into target/compat-rdkafka)
    the first time these sources are seen."""
    if _built:
        return _built[0]
    assert DRIVER is not None
    out = DRIVER
    if not out.exists():
        TARGET.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, CARGO_TARGET_DIR=str(TARGET))
        started = time.monotonic()
        proc = subprocess.run(
            [CARGO, "build", "--locked", "--bin", "rdkafka-driver"],
            cwd=CRATE,
            env=env,
            capture_output=True,
            timeout=BUILD_TIMEOUT,
        )
        err = proc.stderr.decode(errors="replace")[-4000:]
        assert proc.returncode == 0, f"cargo build (compat/rust-rdkafka) failed:\n{err}"
        print(f"built rdkafka-driver in {time.monotonic() - started:.0f}s")
        tmp = out.with_suffix(".tmp")
        shutil.copyfile(TARGET / "debug" / "rdkafka-driver", tmp)
        tmp.chmod(0o755)
        tmp.rename(out)
    _built.append(out)
    return out


class Result:
    def __init__(self, proc: subprocess.CompletedProcess):
        self.rc = proc.returncode
        self.stderr = proc.stderr.decode(errors="replace")
        self.lines = [json.loads(line) for line in proc.stdout.decode().splitlines() if line.strip()]

    def events(self, name: str) -> list[dict]:
        return [x for x in self.lines if x.get("event") == name]

    def records(self) -> list[dict]:
        return [x for x in self.lines if "offset" in x and "event" not in x]


def run(bootstrap: str, cmd: str, *args: str, timeout: float = 120) -> Result:
    proc = subprocess.run([str(driver()), cmd, "-b", bootstrap, *args], capture_output=True, timeout=timeout)
    r = Result(proc)
    assert r.rc == 0, f"rdkafka-driver {cmd} exited {r.rc}: {r.stderr[-3000:]}\nstdout: {r.lines[-5:]}"
    return r


def unhex(v: str | None) -> bytes | None:
    return None if v is None else bytes.fromhex(v)


def got_of(rec: dict) -> ck.Got:
    """A record printed by the driver, as ck.consume_all would return it."""
    ts_type, ts = rec["timestamp"] or (0, -1)
    return ck.Got(
        rec["partition"],
        rec["offset"],
        unhex(rec["key"]),
        unhex(rec["value"]),
        [(k, unhex(v)) for k, v in rec["headers"]],
        ts_type,
        ts,
    )


def sample_value(tag: str, i: int) -> bytes:
    """What the driver's `sample` sends (src/main.rs)."""
    return (f"value {tag} {i} from rdkafka " + "lorem ipsum dolor sit amet " * (i % 7 + 1)).encode()


def expected_from_deliveries(deliveries: list[dict], tag: str) -> list[Rec]:
    recs = []
    for d in deliveries:
        i = int(d["key"].rsplit("-", 1)[1])
        assert d["key"] == f"key-{tag}-{i}", d
        ts_type, ts = d["timestamp"]
        assert ts_type == 1 and abs(ts - time.time() * 1000) < 120_000, d
        recs.append(
            Rec(
                d["partition"],
                d["key"].encode(),
                sample_value(tag, i),
                [("idx", str(i).encode()), ("client", b"rust-rdkafka")],
                ts,
                d["offset"],
            )
        )
    return recs


def check_produced(bootstrap: str, topic: str, partitions: int, r: Result, tag: str, n: int) -> list[Rec]:
    """Every delivery report of `r` (n of them, in produce order) names the
    (partition, offset) where confluent-kafka reads that exact record; per partition the
    offsets are 0..k-1."""
    deliveries = r.events("delivered")
    assert len(deliveries) == n and not r.events("failed"), (len(deliveries), r.events("failed")[:3])
    expected = expected_from_deliveries(deliveries, tag)
    got = ck.consume_all(bootstrap, topic, partitions, expect=n)
    ck.assert_records(got, expected)
    per: dict[int, list[int]] = {}
    for rec in expected:
        per.setdefault(rec.partition, []).append(rec.offset)
    for p, offs in per.items():
        assert sorted(offs) == list(range(len(offs))), f"partition {p}: offsets {sorted(offs)[:20]}"
    return expected


# ------------------------------------------------------------------- producers


def test_future_producer_defaults(broker, topic):
    """FutureProducer with nothing but bootstrap.servers: librdkafka's partitioner spreads
    keyed records; each delivery's (partition, offset, CreateTime) is where
    confluent-kafka reads the record, keys, values and headers exactly."""
    ck.create_topic(broker, topic, partitions=3)
    r = run(broker, "produce", "--topic", topic, "--count", "90", "--tag", "def")
    recs = check_produced(broker, topic, 3, r, "def", 90)
    assert len({rec.partition for rec in recs}) == 3, "the default partitioner put every key on one partition"


def test_future_producer_auto_created_topic(broker, topic):
    """A FutureProducer writing to a topic nobody created: librdkafka's Metadata request
    lets the broker auto-create it (rill's default, as Kafka's), the records land."""
    assert topic not in ck.topic_partitions(broker)
    r = run(broker, "produce", "--topic", topic, "--count", "20", "--tag", "auto")
    check_produced(broker, topic, 1, r, "auto", 20)
    assert ck.topic_partitions(broker, topic) == {topic: 1}


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_codec_produced_by_rdkafka(broker, topic, codec):
    """300 records into one partition with compression.codec=CODEC (so batches hold many
    records), read back exactly by confluent-kafka; the stored batches (raw Fetch) carry
    that codec."""
    ck.create_topic(broker, topic, partitions=1)
    r = run(broker, "produce", "--topic", topic, "--count", "300", "--tag", codec, "--partition", "0",
            "-X", f"compression.codec={codec}")
    check_produced(broker, topic, 1, r, codec, 300)
    batches = stored_batches(broker, topic, 0)
    assert batches and all(b.attributes & 7 == CODEC_IDS[codec] for b in batches), (
        f"stored batches' codecs: {[b.attributes & 7 for b in batches]}, expected {CODEC_IDS[codec]}"
    )


@pytest.mark.parametrize("codec", ck.CODECS)
def test_rdkafka_reads_confluent_records(broker, topic, codec):
    """confluent-kafka writes ck.sample_records (null and empty keys/values, binary values,
    duplicate, empty and null headers, explicit CreateTimes) over 3 partitions; the
    rdkafka StreamConsumer (assign from the beginning) returns exactly them."""
    ck.create_topic(broker, topic, partitions=3)
    base = int(time.time() * 1000) - 60_000
    recs = ck.produce_records(
        ck.producer(broker, **{"compression.codec": codec}), topic, ck.sample_records(3, base, n=60, tag=codec)
    )
    r = run(broker, "read", "--topic", topic, "--partitions", "3", "--count", "60")
    ck.assert_records([got_of(x) for x in r.records()], recs)


@pytest.mark.needs("idempotence")  # InitProducerId
def test_idempotent_producer(broker, topic):
    """enable.idempotence=true: 600 records over 3 partitions, offsets 0..k-1 per partition
    in produce order, no duplicates, read back exactly; the stored batches (raw Fetch)
    carry one producer id and epoch and gap-free sequence numbers."""
    ck.create_topic(broker, topic, partitions=3)
    r = run(broker, "produce", "--topic", topic, "--count", "600", "--tag", "idem", "-X", "enable.idempotence=true")
    recs = check_produced(broker, topic, 3, r, "idem", 600)
    for p in range(3):
        offs = [rec.offset for rec in recs if rec.partition == p]
        assert offs == list(range(len(offs))), f"partition {p}: not in produce order: {offs[:20]}"
    seen = check_partitions(broker, topic, 3, min_batches=1)
    assert len(seen) == 1, f"(producer id, epoch) pairs in the stored batches: {seen}"


@pytest.mark.needs("idempotence", "transactions")  # a transactional producer
def test_transactional_producer(broker, topic):
    """A transactional producer (transactional.id set, the rest default): commit, abort,
    commit. A read_committed confluent consumer sees exactly the committed records at
    the offsets their deliveries reported; read_uncommitted sees the aborted ones too."""
    ck.create_topic(broker, topic, partitions=2)
    r = run(broker, "txn", "--topic", topic, "--plan", "commit:40,abort:25,commit:15",
            "-X", f"transactional.id=rdkafka-{topic}")
    assert [x["event"] for x in r.lines if x["event"] in ("init", "commit", "abort")] == [
        "init", "commit", "abort", "commit"
    ], r.lines[-5:]
    deliveries = r.events("delivered")
    assert len(deliveries) == 80, len(deliveries)
    committed: list[Rec] = []
    aborted: list[Rec] = []
    for tag, into in (("t0-commit", committed), ("t1-abort", aborted), ("t2-commit", committed)):
        mine = [d for d in deliveries if d["key"].startswith(f"key-{tag}-")]
        into.extend(expected_from_deliveries(mine, tag))
    assert len(committed) == 55 and len(aborted) == 25

    got = ck.consume_all(broker, topic, 2, expect=55, **{"isolation.level": "read_committed"})
    ck.assert_records(got, committed)
    got_all = ck.consume_all(broker, topic, 2, expect=80, **{"isolation.level": "read_uncommitted"})
    ck.assert_records(got_all, committed + aborted)


@pytest.mark.needs("idempotence", "transactions")  # a transactional producer
def test_consume_transform_produce(broker, topic):
    """Exactly-once consume-transform-produce: a StreamConsumer (enable.auto.commit=false)
    and a transactional FutureProducer that adds the consumed positions to its
    transaction with send_offsets_to_transaction (TxnOffsetCommit). A committed round
    moves the group's offsets (confluent's admin) and its output is read_committed; an
    aborted round leaves both unchanged, so the next run re-reads the same records."""
    inp, out, group = f"{topic}-in", f"{topic}-out", f"g-{topic}"
    ck.create_topic(broker, inp, partitions=2)
    ck.create_topic(broker, out, partitions=2)
    batches = [groupkit.produce_batch(broker, inp, 2, 15, "a")]

    def round_trip(count: int, end: str) -> Result:
        r = run(broker, "ctp", "--input", inp, "--output", out, "--group", group, "--count", str(count),
                "--end", end, "--consumer.enable.auto.commit", "false",
                "--consumer.auto.offset.reset", "earliest", "-X", f"transactional.id=ctp-{topic}")
        assert r.events(end), r.lines[-3:]
        return r

    def transformed(recs: list[Rec]) -> list[tuple[int, bytes, bytes]]:
        return sorted((x.partition, x.key, b"ctp " + x.value) for x in recs)

    def output(isolation: str, expect: int) -> list[tuple[int, bytes, bytes]]:
        got = ck.consume_all(broker, out, 2, expect=expect, **{"isolation.level": isolation})
        return sorted((g.partition, g.key, g.value) for g in got)

    r = round_trip(30, "commit")
    assert sorted((x["partition"], x["offset"]) for x in r.events("consumed")) == sorted(groupkit.positions(batches[0]))
    assert groupkit.committed(broker, group, inp, 2) == {0: 15, 1: 15}
    assert output("read_committed", 30) == transformed(batches[0])

    batches.append(groupkit.produce_batch(broker, inp, 2, 5, "b"))
    round_trip(10, "abort")
    assert groupkit.committed(broker, group, inp, 2) == {0: 15, 1: 15}, "an aborted transaction moved the offsets"
    assert output("read_committed", 30) == transformed(batches[0])
    assert len(output("read_uncommitted", 40)) == 40

    r = round_trip(10, "commit")
    assert sorted((x["partition"], x["offset"]) for x in r.events("consumed")) == sorted(groupkit.positions(batches[1]))
    assert groupkit.committed(broker, group, inp, 2) == {0: 20, 1: 20}
    assert output("read_committed", 40) == transformed(batches[0] + batches[1])


# ------------------------------------------------------------------- consumer group


class GroupMember:
    """`rdkafka-driver group` as a live subprocess: its JSON lines are collected by a
    reader thread; `stop()` asks it to commit and close."""

    def __init__(self, bootstrap: str, topic: str, group: str, name: str, *args: str):
        self.name = name
        self.proc = subprocess.Popen(
            [str(driver()), "group", "-b", bootstrap, "--topic", topic, "--group", group,
             "-X", f"client.id={name}", "-X", "auto.offset.reset=earliest", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.lines: list[dict] = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            if raw.strip():
                with self.lock:
                    self.lines.append(json.loads(raw))

    def snapshot(self) -> list[dict]:
        with self.lock:
            return list(self.lines)

    def owned(self) -> set[int]:
        """Partitions owned now, by the assign/revoke events (all of them with the eager
        protocol, the increments with KIP-848's)."""
        owned: set[int] = set()
        for x in self.snapshot():
            if x.get("event") == "assign":
                owned |= set(x["partitions"])
            elif x.get("event") == "revoke":
                owned -= set(x["partitions"])
        return owned

    def positions(self) -> list[tuple[int, int]]:
        return [(x["partition"], x["offset"]) for x in self.snapshot() if "offset" in x and "event" not in x]

    def errors(self) -> list[dict]:
        return [x for x in self.snapshot() if x.get("event") in ("error", "rebalance_error")]

    def stop(self) -> dict:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"stop\n")
        self.proc.stdin.close()
        rc = self.proc.wait(timeout=60)
        self.reader.join(timeout=10)
        stderr = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
        assert rc == 0, f"{self.name} exited {rc}: {stderr[-3000:]}"
        ends = [x for x in self.lines if x.get("event") == "committed"]
        assert len(ends) == 1 and self.lines[-1].get("event") == "closed", self.lines[-3:]
        return {int(p): o for p, o in ends[0]["offsets"].items()}

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def wait_until(cond, what: str, members: list[GroupMember], timeout: float = 45.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        for m in members:
            assert m.proc.poll() is None, f"{m.name} exited early: {m.snapshot()[-3:]}"
        time.sleep(0.05)
    raise AssertionError(
        f"timed out waiting for {what}: "
        + "; ".join(
            f"{m.name} owns {sorted(m.owned())}, read {len(m.positions())}, last {m.snapshot()[-2:]}" for m in members
        )
    )


@pytest.mark.parametrize(
    "protocol,on_stop",
    [
        ("classic", "commit"),
        pytest.param("consumer", "commit", marks=pytest.mark.needs("kip848")),
        ("classic", "close"),
    ],
)
def test_consumer_group_commit_and_resume(broker, topic, protocol, on_stop):
    """Two StreamConsumers in one group split 4 partitions, read 120 records (written by
    confluent-kafka after both own their share) exactly once between them and commit
    synchronously on stop: the committed offsets (confluent's admin) are the log end. A
    new member of the group then reads exactly the 40 records written after that. With
    librdkafka's default `group.protocol=classic` and with KIP-848's `consumer`; and with
    no explicit commit (`close`): the default auto-commit commits on close."""
    ck.create_topic(broker, topic, partitions=4)
    group = f"g-{topic}"
    extra = ["--on-stop", on_stop]
    if protocol != "classic":
        extra += ["-X", f"group.protocol={protocol}"]
    members = [GroupMember(broker, topic, group, f"rdk-{i}", *extra) for i in range(2)]
    try:
        wait_until(
            lambda: all(m.owned() for m in members)
            and members[0].owned().isdisjoint(members[1].owned())
            and members[0].owned() | members[1].owned() == set(range(4)),
            "two members sharing 4 partitions",
            members,
        )
        # The group as confluent-kafka's admin describes it: both members, their client
        # ids and the partitions each owns; classic: librdkafka's default assignor (range).
        a = ck.admin(broker)
        desc = a.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=15)
        assert desc.state == ConsumerGroupState.STABLE, desc
        assert {
            m.client_id: {tp.partition for tp in m.assignment.topic_partitions if tp.topic == topic}
            for m in desc.members
        } == {m.name: m.owned() for m in members}, desc
        # ... and as rdkafka's own fetch_group_list (DescribeGroups) sees it. Kafka 4 answers
        # DescribeGroups only for classic groups: a KIP-848 group is "Dead" with no members
        # there (plus GROUP_ID_NOT_FOUND from v6 on), as rill answers too.
        (info,) = run(broker, "offsets", "--topic", topic, "--group", group).lines
        groups = [{**g, "members": sorted(g["members"])} for g in info["groups"]]
        if protocol == "classic":
            assert desc.partition_assignor == "range", desc
            assert groups == [
                {"name": group, "state": "Stable", "protocol_type": "consumer", "protocol": "range",
                 "members": ["rdk-0", "rdk-1"]}
            ], groups
        else:
            assert groups == [
                {"name": group, "state": "Dead", "protocol_type": "", "protocol": "", "members": []}
            ], groups
        first = groupkit.produce_batch(broker, topic, 4, 30, "first")
        want = groupkit.positions(first)
        wait_until(lambda: set(members[0].positions()) | set(members[1].positions()) >= want, "120 records", members)
        time.sleep(0.5)  # room for a duplicate to show up
        offsets = [m.stop() for m in members]
    finally:
        for m in members:
            m.kill()
    assert all(m.positions() for m in members), "one member read nothing"
    read = members[0].positions() + members[1].positions()
    assert sorted(read) == sorted(want), f"read {len(read)} positions ({len(set(read))} distinct), want {len(want)}"
    assert not any(m.errors() for m in members), [m.errors() for m in members]
    ends = groupkit.high_watermarks(broker, topic, 4)
    assert ends == {p: 30 for p in range(4)}
    merged = {**offsets[0], **offsets[1]}
    assert merged == ({} if on_stop == "close" else ends), f"driver's committed offsets {merged}, log end {ends}"
    assert groupkit.committed(broker, group, topic, 4) == ends

    second = groupkit.produce_batch(broker, topic, 4, 10, "second")
    third = GroupMember(broker, topic, group, "rdk-2", *extra)
    try:
        wait_until(lambda: set(third.positions()) >= groupkit.positions(second), "40 new records", [third])
        time.sleep(0.5)
        third_offsets = third.stop()
    finally:
        third.kill()
    assert sorted(third.positions()) == sorted(groupkit.positions(second)), (
        f"the new member did not resume at the committed offsets: read {sorted(third.positions())[:10]}..."
    )
    assert third_offsets == ({} if on_stop == "close" else {p: 40 for p in range(4)})
    assert groupkit.committed(broker, group, topic, 4) == {p: 40 for p in range(4)}

    # The empty group deleted by rdkafka's admin: its offsets are gone.
    r = run(broker, "admin", "delete-group", "--group", group)
    assert r.lines == [{"op": "delete-group", "group": group, "error": None}], r.lines
    assert groupkit.committed(broker, group, topic, 4) == {p: -1001 for p in range(4)}


# ------------------------------------------------------------------- admin


def confluent_configs(bootstrap: str, topic: str) -> dict[str, str | None]:
    admin = ck.admin(bootstrap)  # kept alive until the future resolves
    res = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, topic)], request_timeout=15)
    (fut,) = res.values()
    return {name: e.value for name, e in fut.result(timeout=20).items()}


def test_admin_client(broker, topic):
    """AdminClient: create a topic with configs, describe its configs, DeleteRecords
    (refused while compacted), AlterConfigs, add partitions, delete it; each step checked
    with confluent-kafka's admin, metadata and watermarks."""
    r = run(broker, "admin", "create-topic", "--topic", topic, "--partitions", "3",
            "-c", "retention.ms=3600000", "-c", "cleanup.policy=compact")
    assert r.lines == [{"op": "create-topic", "topic": topic, "error": None}], r.lines
    ck.wait_for_topic(broker, topic, 3)
    theirs = confluent_configs(broker, topic)
    assert theirs["retention.ms"] == "3600000" and theirs["cleanup.policy"] == "compact", theirs

    again = run(broker, "admin", "create-topic", "--topic", topic, "--partitions", "1")
    assert again.lines == [{"op": "create-topic", "topic": topic, "error": "TopicAlreadyExists"}], again.lines

    (desc,) = run(broker, "admin", "describe-configs", "--topic", topic).lines
    assert desc["error"] is None, desc
    entries = desc["entries"]
    assert {k: v["value"] for k, v in entries.items()} == theirs
    assert entries["retention.ms"]["source"] == "DynamicTopic" and not entries["retention.ms"]["is_default"]
    assert entries["segment.bytes"]["is_default"], entries["segment.bytes"]
    assert entries["segment.bytes"]["source"] in ("Default", "StaticBroker"), entries["segment.bytes"]

    # DeleteRecords: refused on a compacted topic (Kafka's POLICY_VIOLATION) ...
    ck.produce_records(ck.producer(broker), topic, [Rec(0, f"k{i}".encode(), b"v") for i in range(10)])
    (r,) = run(broker, "admin", "delete-records", "--topic", topic, "--partition", "0", "--offset", "4").lines
    assert r["error"] is not None and "olicy" in r["error"], r

    # AlterConfigs (the legacy, replace-all one): what is not named goes back to its default.
    r = run(broker, "admin", "alter-configs", "--topic", topic, "-c", "retention.ms=7200000")
    assert r.lines == [{"op": "alter-configs", "topic": topic, "error": None}], r.lines
    theirs = confluent_configs(broker, topic)
    assert theirs["retention.ms"] == "7200000" and theirs["cleanup.policy"] == "delete", theirs

    # ... and done once the topic is cleanup.policy=delete: the low watermark moves.
    (r,) = run(broker, "admin", "delete-records", "--topic", topic, "--partition", "0", "--offset", "4").lines
    assert r == {"op": "delete-records", "partition": 0, "low": 4, "error": None}, r
    assert ck.watermarks(broker, topic, 0) == (4, 10)

    r = run(broker, "admin", "create-partitions", "--topic", topic, "--total", "5")
    assert r.lines == [{"op": "create-partitions", "topic": topic, "error": None}], r.lines
    ck.wait_for_topic(broker, topic, 5)

    r = run(broker, "admin", "create-partitions", "--topic", topic, "--total", "2")
    assert r.lines == [{"op": "create-partitions", "topic": topic, "error": "InvalidPartitions"}], r.lines

    r = run(broker, "admin", "delete-topic", "--topic", topic)
    assert r.lines == [{"op": "delete-topic", "topic": topic, "error": None}], r.lines
    deadline = time.monotonic() + 10
    while topic in ck.topic_partitions(broker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert topic not in ck.topic_partitions(broker)

    r = run(broker, "admin", "delete-topic", "--topic", topic)
    assert r.lines == [{"op": "delete-topic", "topic": topic, "error": "UnknownTopicOrPartition"}], r.lines


# ------------------------------------------------------------------- client lookups


def test_metadata_watermarks_offsets_for_times(broker, topic):
    """BaseConsumer lookups: fetch_metadata (the one broker at the bootstrap address,
    each partition led by it), fetch_watermarks (= confluent-kafka's) and
    offsets_for_times (= confluent-kafka's; -1 past the newest timestamp)."""
    ck.create_topic(broker, topic, partitions=2)
    base = int(time.time() * 1000) - 100_000
    recs = [Rec(i % 2, f"k{i}".encode(), f"v{i}".encode(), [], base + i * 1000) for i in range(40)]
    ck.produce_records(ck.producer(broker), topic, recs)
    query = base + 10_500  # between record 10 (p0 offset 5) and record 11 (p1 offset 5)

    (info,) = run(broker, "offsets", "--topic", topic, "--timestamp", str(query)).lines
    host, port = broker.rsplit(":", 1)
    assert [(b["host"], b["port"]) for b in info["brokers"]] == [(host, int(port))], info["brokers"]
    leader = info["brokers"][0]["id"]
    assert {p: (x["leader"], x["low"], x["high"]) for p, x in info["partitions"].items()} == {
        str(p): (leader, *ck.watermarks(broker, topic, p)) for p in range(2)
    } == {"0": (leader, 0, 20), "1": (leader, 0, 20)}

    c = ck.consumer(broker)
    try:
        theirs = c.offsets_for_times([TopicPartition(topic, p, query) for p in range(2)], timeout=10)
    finally:
        c.close()
    assert info["for_time"] == {str(tp.partition): tp.offset for tp in theirs} == {"0": 6, "1": 5}, info["for_time"]

    (late,) = run(broker, "offsets", "--topic", topic, "--timestamp", str(base + 100_000)).lines
    assert late["for_time"] == {"0": -1, "1": -1}, late["for_time"]
