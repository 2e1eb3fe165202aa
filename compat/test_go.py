"""Go clients from Debian against a real rill broker: sarama (golang-github-shopify-sarama-dev
1.22.1) and segmentio/kafka-go (golang-github-segmentio-kafka-go-dev 0.2.1), built offline
with Debian's golang-go in GOPATH mode against the packaged sources (compat/go/*/main.go).

Both are old releases, as Debian ships them, and both speak fixed, old protocol versions
without asking ApiVersions first:

* sarama's default `Config.Version` is its oldest, 0.8.2: Produce v0 (magic 0 message
  sets, no headers) and Fetch v0; its consumer group and cluster admin refuse to start
  below 0.10.2 / 0.10.0 on the client side. Users set `Config.Version`; the tests run the
  default and `sarama.MaxVersion` (2.2.0: Produce v3, Fetch v4, record batches with
  headers). Everything else stays at `sarama.NewConfig()`'s defaults (not idempotent,
  no compression).
* kafka-go 0.2.1 speaks Produce v2 and Fetch v2 (v1 message sets) and CreateTopics v0.

Kafka 4 removed those versions (KIP-896) and so does rill: the connection is closed.
The tests that use them are strict xfails raised only by that exact symptom (the client's
error plus rill's "unsupported version" log line), so they flag it the day it changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka import ConsumerGroupState

import ck
import groupkit
from ck import Rec

GO_DIR = Path(__file__).resolve().parent / "go"
REPO_ROOT = GO_DIR.parent.parent
GOPATH = Path("/usr/share/gocode")
GO = shutil.which("go")

_missing = [
    what
    for what, ok in [
        ("golang-go", GO is not None),
        ("golang-github-shopify-sarama-dev", (GOPATH / "src/github.com/Shopify/sarama").is_dir()),
        ("golang-github-segmentio-kafka-go-dev", (GOPATH / "src/github.com/segmentio/kafka-go").is_dir()),
    ]
    if not ok
]
pytestmark = pytest.mark.skipif(
    bool(_missing), reason=f"not installed: {', '.join(_missing)} (run scripts/test.sh or apt-get install them)"
)

_built: dict[str, Path] = {}


def go_binary(name: str) -> Path:
    """Builds compat/go/NAME (cached in target/compat-go by a hash of its sources and
    the go version; offline, GOPATH mode against Debian's packaged sources)."""
    if name in _built:
        return _built[name]
    src = GO_DIR / name
    h = hashlib.sha256()
    for f in sorted(src.glob("*.go")):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    h.update(subprocess.run([GO, "version"], capture_output=True, check=True).stdout)
    out_dir = REPO_ROOT / "target" / "compat-go"
    out = out_dir / f"{name}-{h.hexdigest()[:16]}"
    if not out.exists():
        out_dir.mkdir(parents=True, exist_ok=True)
        env = dict(
            os.environ,
            GO111MODULE="off",
            GOPATH=str(GOPATH),
            GOPROXY="off",
            GOFLAGS="",
            GOCACHE=str(out_dir / "gocache"),
        )
        tmp = out.with_suffix(".tmp")
        proc = subprocess.run(
            [GO, "build", "-o", str(tmp), "."], cwd=src, env=env, capture_output=True, timeout=600
        )
        assert proc.returncode == 0, f"go build {name} failed:\n{proc.stderr.decode(errors='replace')[-4000:]}"
        tmp.rename(out)
    _built[name] = out
    return out


class GoResult:
    def __init__(self, proc: subprocess.CompletedProcess):
        self.rc = proc.returncode
        self.stderr = proc.stderr.decode(errors="replace")
        self.lines = [json.loads(line) for line in proc.stdout.decode().splitlines() if line.strip()]

    def records(self) -> list[dict]:
        return [x for x in self.lines if "offset" in x]

    def events(self, name: str) -> list[dict]:
        return [x for x in self.lines if x.get("event") == name]


def run_go(name: str, bootstrap: str, *args: str, timeout: float = 90) -> GoResult:
    cmd = [str(go_binary(name)), "-b", bootstrap, *args]
    return GoResult(subprocess.run(cmd, capture_output=True, timeout=timeout))


def ok(r: GoResult, what: str) -> GoResult:
    assert r.rc == 0, f"{what} exited {r.rc}: {r.stderr[-3000:]}"
    return r


class OldVersionRefused(AssertionError):
    """The known gap: a client spoke an API version that Kafka 4 (and rill) removed."""


def refused_old_version(b, r: GoResult, client_error: str | tuple[str, ...], log_line: str) -> None:
    """Raises OldVersionRefused if the client failed with `client_error` (or one of
    them) and the broker log says it closed the connection with `log_line`; any other
    outcome falls through to the caller's assertions."""
    log = b.log_path.read_text(errors="replace")
    errors = (client_error,) if isinstance(client_error, str) else client_error
    if r.rc != 0 and any(e in r.stderr for e in errors) and log_line in log:
        raise OldVersionRefused(f"{r.stderr.strip()[-300:]} / rill: {log_line}")


def sarama_expected(tag: str, n: int) -> dict[str, tuple[str, dict]]:
    return {
        f"key-{tag}-{i}": (f"value {tag} {i} from sarama", {"idx": str(i), "client": "sarama"}) for i in range(n)
    }


def check_sarama_records(got: list[ck.Got], expected: dict[str, tuple[str, dict]]) -> None:
    assert len(got) == len(expected), f"read {len(got)} records, expected {len(expected)}"
    seen = set()
    for g in got:
        key = g.key.decode()
        assert key in expected and key not in seen, f"unexpected or duplicate key {key!r}"
        seen.add(key)
        value, headers = expected[key]
        assert g.value == value.encode(), (key, g.value)
        assert dict((k, v.decode()) for k, v in g.headers) == headers, (key, g.headers)
        assert len(g.headers) == 2, (key, g.headers)
        assert g.timestamp_type == 1 and abs(g.timestamp - time.time() * 1000) < 120_000, (key, g.timestamp)


# ------------------------------------------------------------------------ sarama


def test_sarama_sync_producer(broker, topic):
    """sarama.NewSyncProducer (Version = MaxVersion, otherwise defaults: hash partitioner,
    acks=WaitForLocal, no compression, not idempotent): 40 keyed records with headers;
    the partition/offset of each SendMessage is where confluent-kafka reads it."""
    ck.create_topic(broker, topic, partitions=3)
    r = ok(run_go("sarama", broker, "-version", "max", "produce-sync", "-t", topic, "-n", "40", "-tag", "s"), "produce-sync")
    cfg = r.events("config")[0]
    assert cfg == {"event": "config", "version": "2.2.0", "idempotent": False, "compression": "none"}, cfg
    sent = {x["key"]: (x["partition"], x["offset"]) for x in r.records()}
    assert len(sent) == 40
    for p in range(3):
        offs = sorted(o for (pp, o) in sent.values() if pp == p)
        assert offs == list(range(len(offs))), f"partition {p}: offsets {offs}"
    got = ck.consume_all(broker, topic, 3, expect=40)
    check_sarama_records(got, sarama_expected("s", 40))
    for g in got:
        assert sent[g.key.decode()] == (g.partition, g.offset), g


def test_sarama_async_producer(broker, topic):
    """sarama.NewAsyncProducer with its defaults (Return.Errors only): 500 records, none
    reported failed, all read back exactly once by confluent-kafka with gap-free offsets
    (sarama's partitioner hashes keys with FNV-1a, so only the spread over all 3
    partitions is checked), and by a sarama consumer group."""
    ck.create_topic(broker, topic, partitions=3)
    r = ok(run_go("sarama", broker, "-version", "max", "produce-async", "-t", topic, "-n", "500", "-tag", "a"), "produce-async")
    assert r.events("sent") == [{"event": "sent", "n": 500}]
    got = ck.consume_all(broker, topic, 3, expect=500)
    check_sarama_records(got, sarama_expected("a", 500))
    assert {g.partition for g in got} == {0, 1, 2}
    per = {}
    for g in got:
        per.setdefault(g.partition, []).append(g.offset)
    for p, offs in per.items():
        assert sorted(offs) == list(range(len(offs))), f"partition {p}: offsets not 0..n-1"

    # And sarama's own consumer group reads them back: every record once, same content.
    group = f"{topic}-g"
    r = ok(run_go("sarama", broker, "-version", "max", "consume-group", "-t", topic, "-g", group, "-n", "500"), "consume-group")
    by_pos = {(g.partition, g.offset): g for g in got}
    read = r.records()
    assert sorted((x["partition"], x["offset"]) for x in read) == sorted(by_pos), "not every record exactly once"
    for x in read:
        g = by_pos[(x["partition"], x["offset"])]
        assert (x["key"].encode(), x["value"].encode()) == (g.key, g.value), (x, g)
        assert x["headers"] == {k: v.decode() for k, v in g.headers}, (x, g)


def sarama_group_round(broker: str, topic: str, group: str, n: int, *extra: str) -> tuple[GoResult, list]:
    """confluent-kafka writes 30 varied records over 3 partitions; a sarama group member
    reads `n` records."""
    ck.create_topic(broker, topic, partitions=3)
    t0 = int(time.time() * 1000)
    recs = ck.produce_records(ck.producer(broker), topic, ck.sample_records(3, t0, n=30, tag="ck"))
    r = ok(
        run_go("sarama", broker, "-version", "max", "consume-group", "-t", topic, "-g", group, "-n", str(n), *extra),
        "consume-group",
    )
    return r, recs


def sarama_resume(bootstrap: str, topic: str, group: str, *extra: str) -> None:
    """3 more records (confluent-kafka); the next sarama member of `group` reads exactly
    those, and commits the log end."""
    more = ck.produce_records(
        ck.producer(bootstrap), topic, [Rec(p, f"more-{p}".encode(), b"more") for p in range(3)]
    )
    r2 = ok(
        run_go("sarama", bootstrap, "-version", "max", "consume-group", "-t", topic, "-g", group, "-n", "3", *extra),
        "consume-group 2",
    )
    assert sorted((x["partition"], x["offset"]) for x in r2.records()) == sorted(
        (m.partition, m.offset) for m in more
    ), "the second member did not resume at the committed offsets"
    assert groupkit.committed(bootstrap, group, topic, 3) == groupkit.high_watermarks(bootstrap, topic, 3)


def test_sarama_consumer_group(broker, topic):
    """sarama.NewConsumerGroup (Version = MaxVersion; Offsets.Initial = OffsetOldest, as
    the records exist before the group): one member gets all 3 partitions and reads every
    record confluent-kafka wrote exactly once (keys, values, headers)."""
    r, recs = sarama_group_round(broker, topic, f"{topic}-g", 30)
    assigned = r.events("assigned")
    assert assigned and assigned[0]["claims"] == {topic: [0, 1, 2]}, assigned
    assert assigned[0]["generation"] >= 1 and assigned[0]["member"].startswith("sarama-"), assigned
    got = {(x["partition"], x["offset"]): x for x in r.records()}
    assert len(got) == len(r.records()) == 30, "records read twice"
    for rec in recs:
        x = got[(rec.partition, rec.offset)]
        assert x["key"] == (rec.key or b"").decode(), (x, rec)
        try:
            value = (rec.value or b"").decode()
        except UnicodeDecodeError:
            continue  # binary values do not survive Go's JSON string; offsets and keys do
        assert x["value"] == value, (x, rec)
        assert x.get("headers", {}) == {k: (v or b"").decode() for k, v in rec.headers}, (x, rec)
    assert r.events("closed") == [{"event": "closed", "n": 30}]


@pytest.mark.needs("broker-log")  # the symptom is read from rill's log
@pytest.mark.xfail(
    strict=True,
    raises=OldVersionRefused,
    reason="sarama 1.22 commits with OffsetCommit v1 unless Consumer.Offsets.Retention is set (default 0); "
    "rill, like Kafka 4 (KIP-896), accepts OffsetCommit v2+ only and closes the connection: 'unsupported "
    "version 1 of OffsetCommit (supported 2..=9)'; the group's committed offsets stay unset (-1001) after "
    "sarama's Close, which reports no error",
)
def test_sarama_consumer_group_commits(broker_factory, topic):
    """After a sarama member marked every record and closed, the committed offsets are
    the log end, and the next member resumes there: it reads exactly the 3 records
    produced after."""
    b = broker_factory()
    group = f"{topic}-g"
    sarama_group_round(b.bootstrap, topic, group, 30)
    committed = groupkit.committed(b.bootstrap, group, topic, 3)
    if committed == {p: -1001 for p in range(3)} and "unsupported version 1 of OffsetCommit" in b.log_path.read_text():
        raise OldVersionRefused(f"committed {committed}; rill: unsupported version 1 of OffsetCommit")
    assert committed == groupkit.high_watermarks(b.bootstrap, topic, 3)
    sarama_resume(b.bootstrap, topic, group)


def test_sarama_consumer_group_commits_with_retention(broker, topic):
    """The workaround for the xfail above: with Consumer.Offsets.Retention set, sarama
    commits with OffsetCommit v2 (which carries a retention time): Close commits the log
    end and the next member resumes there."""
    group = f"{topic}-g"
    sarama_group_round(broker, topic, group, 30, "-retention", "168h")
    assert groupkit.committed(broker, group, topic, 3) == groupkit.high_watermarks(broker, topic, 3)
    sarama_resume(broker, topic, group, "-retention", "168h")


def test_sarama_admin_create_topic(broker, topic):
    """sarama.NewClusterAdmin CreateTopic (Version = MaxVersion: CreateTopics v2)."""
    ok(run_go("sarama", broker, "-version", "max", "create-topic", "-t", topic, "-p", "4"), "create-topic")
    assert ck.topic_partitions(broker, topic) == {topic: 4}
    again = run_go("sarama", broker, "-version", "max", "create-topic", "-t", topic, "-p", "4")
    assert again.rc != 0 and "Topic with this name already exists" in again.stderr, again.stderr


@pytest.mark.needs("broker-log")  # the symptom is read from rill's log
@pytest.mark.xfail(
    strict=True,
    raises=OldVersionRefused,
    reason="sarama 1.22 ClusterAdmin.ListTopics always sends DescribeConfigs v0 (whatever Config.Version); "
    "rill, like Kafka 4 (KIP-896), closes the connection: 'unsupported version 0 of DescribeConfigs "
    "(supported 1..=4)', sarama reports 'ListTopics: EOF'",
)
def test_sarama_admin_list_topics(broker_factory, topic):
    b = broker_factory()
    ck.create_topic(b.bootstrap, topic, partitions=2)
    r = run_go("sarama", b.bootstrap, "-version", "max", "list-topics")
    refused_old_version(b, r, "ListTopics: EOF", "unsupported version 0 of DescribeConfigs")
    ok(r, "list-topics")
    assert {x["topic"]: x["partitions"] for x in r.lines if "topic" in x} == {topic: 2}


@pytest.mark.needs("broker-log")  # the symptom is read from rill's log
@pytest.mark.xfail(
    strict=True,
    raises=OldVersionRefused,
    reason="sarama's default Config.Version (0.8.2) produces with Produce v0; rill, like Kafka 4 (KIP-896), "
    "refuses Produce v0-2 and closes the connection: 'unsupported version 0 of Produce (supported 3..=13)', "
    "sarama reports 'SendMessage 0: EOF' after its retries",
)
def test_sarama_default_version_sync_producer(broker_factory, topic):
    b = broker_factory()
    ck.create_topic(b.bootstrap, topic, partitions=1)
    r = run_go("sarama", b.bootstrap, "produce-sync", "-t", topic, "-n", "5")
    assert r.events("config")[0]["version"] == "0.8.2.0"
    refused_old_version(b, r, "SendMessage 0: EOF", "unsupported version 0 of Produce")
    ok(r, "produce-sync (default version)")
    got = ck.consume_all(b.bootstrap, topic, 1, expect=5)
    assert [g.key for g in got] == [f"key-s-{i}".encode() for i in range(5)]


def test_sarama_default_version_group_and_admin_refused_by_client(broker, topic):
    """With the default Config.Version sarama itself refuses a consumer group (needs
    >= 0.10.2) and the cluster admin (its controller lookup needs >= 0.10.0) before
    sending anything: a user has to set Version, which is what the tests above do."""
    g = run_go("sarama", broker, "consume-group", "-t", topic, "-g", "g", "-n", "1")
    assert g.rc != 0 and "consumer groups require Version to be >= V0_10_2_0" in g.stderr, g.stderr
    a = run_go("sarama", broker, "create-topic", "-t", topic)
    assert a.rc != 0 and "NewClusterAdmin: kafka server: The version of API is not supported." in a.stderr, a.stderr
    assert topic not in ck.topic_partitions(broker)


# ---------------------------------------------------------------------- kafka-go


def test_kafkago_metadata_and_offsets(broker, topic):
    """kafka-go Conn.ReadPartitions (Metadata v1) sees the partitions and the broker's
    address; DialLeader + ReadFirstOffset/ReadLastOffset (ListOffsets v1) see the
    watermarks of what confluent-kafka wrote."""
    ck.create_topic(broker, topic, partitions=3)
    ck.produce_records(ck.producer(broker), topic, [Rec(i % 3, None, b"x") for i in range(7)])
    r = ok(run_go("kafkago", broker, "partitions", "-t", topic), "partitions")
    host, port = broker.rsplit(":", 1)
    assert sorted((x["topic"], x["partition"], x["leader"], x["host"], x["port"]) for x in r.lines) == [
        (topic, p, 1, host, int(port)) for p in range(3)
    ]
    for p, end in [(0, 3), (1, 2), (2, 2)]:
        o = ok(run_go("kafkago", broker, "offsets", "-t", topic, "-p", str(p)), "offsets")
        assert o.lines == [{"first": 0, "last": end}], (p, o.lines)


def test_kafkago_delete_topic(broker, topic):
    """kafka-go Conn.DeleteTopics (DeleteTopics v1)."""
    ck.create_topic(broker, topic, partitions=1)
    ok(run_go("kafkago", broker, "delete-topic", "-t", topic), "delete-topic")
    deadline = time.monotonic() + 10
    while topic in ck.topic_partitions(broker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert topic not in ck.topic_partitions(broker)


def test_kafkago_reader_joins_group(broker, topic):
    """kafka-go's Reader with a GroupID joins (FindCoordinator v0, JoinGroup v1, SyncGroup
    v0, its range assignor) and gets every partition: confluent-kafka's admin describes a
    Stable group with one kafka-go member owning all 3. (Reading then fails: Fetch v2,
    see the xfail below.)"""
    ck.create_topic(broker, topic, partitions=3)
    group = f"{topic}-g"
    proc = subprocess.Popen(
        [str(go_binary("kafkago")), "-b", broker, "read-group", "-t", topic, "-g", group, "-n", "1", "-timeout", "60s"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        a = ck.admin(broker)
        deadline = time.monotonic() + 30
        desc = None
        while time.monotonic() < deadline:
            desc = a.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=15)
            if desc.state == ConsumerGroupState.STABLE and desc.members:
                break
            time.sleep(0.2)
        assert desc is not None and desc.state == ConsumerGroupState.STABLE, desc
        assert desc.partition_assignor == "range" and not desc.is_simple_consumer_group, desc
        assert len(desc.members) == 1
        m = desc.members[0]
        assert sorted((tp.topic, tp.partition) for tp in m.assignment.topic_partitions) == [
            (topic, p) for p in range(3)
        ]
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.needs("broker-log")  # the symptom is read from rill's log
@pytest.mark.xfail(
    strict=True,
    raises=OldVersionRefused,
    reason="kafka-go 0.2.1's Writer produces with Produce v2 (v1 message sets); rill, like Kafka 4 (KIP-896), "
    "refuses Produce v0-2 and closes the connection: 'unsupported version 2 of Produce (supported 3..=13)', "
    "WriteMessages fails with 'EOF' or retries until 'context deadline exceeded'",
)
def test_kafkago_writer(broker_factory, topic):
    b = broker_factory()
    ck.create_topic(b.bootstrap, topic, partitions=2)
    r = run_go("kafkago", b.bootstrap, "write", "-t", topic, "-n", "20", "-timeout", "15s")
    refused_old_version(
        b, r, ("WriteMessages: context deadline exceeded", "WriteMessages: EOF"), "unsupported version 2 of Produce"
    )
    ok(r, "write")
    got = ck.consume_all(b.bootstrap, topic, 2, expect=20)
    assert sorted(g.key for g in got) == sorted(f"key-g-{i}".encode() for i in range(20))


@pytest.mark.needs("broker-log")  # the symptom is read from rill's log
@pytest.mark.xfail(
    strict=True,
    raises=OldVersionRefused,
    reason="kafka-go 0.2.1's Reader fetches with Fetch v2; rill, like Kafka 4 (KIP-896), accepts Fetch v4+ only "
    "and closes the connection: 'unsupported version 2 of Fetch (supported 4..=18)', ReadMessage waits until "
    "'context deadline exceeded' (the group join itself works: test_kafkago_reader_joins_group)",
)
def test_kafkago_reader_group(broker_factory, topic):
    b = broker_factory()
    ck.create_topic(b.bootstrap, topic, partitions=2)
    recs = groupkit.produce_batch(b.bootstrap, topic, 2, 5, "ck")
    group = f"{topic}-g"
    r = run_go("kafkago", b.bootstrap, "read-group", "-t", topic, "-g", group, "-n", "10", "-timeout", "15s")
    refused_old_version(b, r, "ReadMessage after 0 records: context deadline exceeded", "unsupported version 2 of Fetch")
    ok(r, "read-group")
    assert sorted((x["partition"], x["offset"]) for x in r.records()) == sorted(groupkit.positions(recs))
    assert groupkit.committed(b.bootstrap, group, topic, 2) == groupkit.high_watermarks(b.bootstrap, topic, 2)


@pytest.mark.needs("broker-log")  # the symptom is read from rill's log
@pytest.mark.xfail(
    strict=True,
    raises=OldVersionRefused,
    reason="kafka-go 0.2.1's Conn.CreateTopics sends CreateTopics v0; rill, like Kafka 4 (KIP-896), accepts v2+ "
    "only and closes the connection: 'unsupported version 0 of CreateTopics (supported 2..=7)', "
    "kafka-go reports 'CreateTopics: EOF'",
)
def test_kafkago_create_topic(broker_factory, topic):
    b = broker_factory()
    r = run_go("kafkago", b.bootstrap, "create-topic", "-t", topic, "-p", "2")
    refused_old_version(b, r, "CreateTopics: EOF", "unsupported version 0 of CreateTopics")
    ok(r, "create-topic")
    assert ck.topic_partitions(b.bootstrap, topic) == {topic: 2}
