"""Kafka's shell tools without a JVM: `rill kafka-tools install DIR` writes
DIR/bin/kafka-topics.sh and friends; these tests run those scripts (with Kafka's own
flags) against a real `rill serve`, and check what they did through confluent-kafka's
AdminClient, Producer and Consumer — and what they print against Kafka's formats.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicCollection, TopicPartition
from confluent_kafka.admin import ConfigResource, ConfigSource

import ck
from rill_broker import rill_bin

TOOLS = [
    "kafka-topics",
    "kafka-configs",
    "kafka-consumer-groups",
    "kafka-acls",
    "kafka-console-producer",
    "kafka-console-consumer",
]


@pytest.fixture(scope="session")
def kafka_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("kafka-home")
    p = subprocess.run(
        [str(rill_bin()), "kafka-tools", "install", str(home)], capture_output=True, text=True, timeout=30
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == [str(home / "bin" / f"{t}.sh") for t in TOOLS]
    return home


def tool(home: Path, name: str, *args: str, input: str | None = None, check: bool = True, timeout: float = 60):
    """Runs bin/NAME.sh ARGS through /bin/sh as a user would; returns the CompletedProcess."""
    p = subprocess.run(
        [str(home / "bin" / f"{name}.sh"), *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check:
        assert p.returncode == 0, f"{name}.sh {' '.join(args)} exited {p.returncode}: {p.stdout}{p.stderr}"
    return p


def fields(line: str) -> dict[str, str]:
    """'Topic: t\\tPartition: 0\\t...' -> {'Topic': 't', 'Partition': '0', ...}"""
    out = {}
    for cell in line.strip("\t").split("\t"):
        k, _, v = cell.partition(": ")
        out[k] = v
    return out


def table(text: str, first: str) -> list[dict[str, str]]:
    """Rows of the whitespace-aligned table whose header starts with `first`."""
    rows, header = [], None
    for line in text.splitlines():
        cells = line.split()
        if not cells:
            header = None
            continue
        if cells[0] == first and header is None:
            header = cells
            continue
        if header is not None:
            rows.append(dict(zip(header, cells)))
    return rows


def configs_of(bootstrap: str, res: ConfigResource) -> dict:
    a = ck.admin(bootstrap)
    return a.describe_configs([res])[res].result(timeout=15)


def committed(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int]:
    c = ck.consumer(bootstrap, **{"group.id": group})
    try:
        tps = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        return {tp.partition: tp.offset for tp in tps}
    finally:
        c.close()


def group_consumer(bootstrap: str, group: str) -> Consumer:
    return ck.consumer(
        bootstrap,
        **{
            "group.id": group,
            "client.id": "compat-tools-member",
            "auto.offset.reset": "earliest",
            "enable.partition.eof": False,
            "enable.auto.offset.store": True,
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 300,
        },
    )


def consume_n(c: Consumer, n: int, timeout: float = 30.0) -> list:
    got: list = []
    deadline = time.monotonic() + timeout
    while len(got) < n:
        assert time.monotonic() < deadline, f"read {len(got)} of {n} records"
        got.extend(m for m in c.consume(100, 0.1) if m.error() is None)
    return got


def test_scripts_are_small_sh_wrappers_of_this_rill(kafka_home):
    for t in TOOLS:
        path = kafka_home / "bin" / f"{t}.sh"
        assert os.access(path, os.X_OK), path
        text = path.read_text()
        assert text.startswith("#!/bin/sh\n")
        assert f"kafka-tool {t} \"$@\"" in text
        assert str(Path(rill_bin()).resolve()) in text


def test_topics_create_describe_alter_delete(broker, topic, kafka_home):
    b = ["--bootstrap-server", broker]
    out = tool(
        kafka_home,
        "kafka-topics",
        *b,
        "--create",
        "--topic",
        topic,
        "--partitions",
        "3",
        "--replication-factor",
        "1",
        "--config",
        "retention.ms=123456",
        "--config",
        "cleanup.policy=compact",
    ).stdout
    assert out == f"Created topic {topic}.\n"
    assert ck.topic_partitions(broker, topic) == {topic: 3}
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    cfg = configs_of(broker, res)
    assert cfg["retention.ms"].value == "123456" and cfg["cleanup.policy"].value == "compact"

    # Again: Kafka's error on stdout and exit 1; with --if-not-exists: nothing, exit 0.
    p = tool(kafka_home, "kafka-topics", *b, "--create", "--topic", topic, check=False)
    assert p.returncode == 1
    assert p.stdout.startswith("Error while executing topic command : ") and "already exists" in p.stdout
    p = tool(kafka_home, "kafka-topics", *b, "--create", "--topic", topic, "--if-not-exists")
    assert p.stdout == ""

    # Describe, parsed the way scripts parse Kafka's output.
    lines = tool(kafka_home, "kafka-topics", *b, "--describe", "--topic", topic).stdout.splitlines()
    head = fields(lines[0])
    a = ck.admin(broker)
    desc = a.describe_topics(TopicCollection([topic]))[topic].result(timeout=15)
    assert head["Topic"] == topic
    # Kafka prints ids in URL-safe base64 (Java's Uuid.toString); librdkafka's Uuid str()
    # uses the standard alphabet.
    assert head["TopicId"] == str(desc.topic_id).replace("+", "-").replace("/", "_")
    assert head["PartitionCount"] == "3" and head["ReplicationFactor"] == "1"
    configs = dict(kv.split("=", 1) for kv in head["Configs"].split(","))
    assert configs["retention.ms"] == "123456" and configs["cleanup.policy"] == "compact"
    parts = [fields(l) for l in lines[1:]]
    assert [p["Partition"] for p in parts] == ["0", "1", "2"]
    leaders = {p.id: p.leader.id for p in desc.partitions}
    for p in parts:
        assert lines[1].startswith("\tTopic: ")
        assert p["Topic"] == topic and int(p["Leader"]) == leaders[int(p["Partition"])]
        assert p["Replicas"] == p["Leader"] and p["Isr"] == p["Leader"]

    # --alter --partitions: CreatePartitions, seen by the AdminClient.
    tool(kafka_home, "kafka-topics", *b, "--alter", "--topic", topic, "--partitions", "5")
    ck.wait_for_topic(broker, topic, 5)

    # --topic takes a regular expression for --list, --describe and --delete.
    ck.create_topic(broker, topic + "-two", partitions=1)
    ck.create_topic(broker, "other-" + topic, partitions=1)
    listed = tool(kafka_home, "kafka-topics", *b, "--list").stdout.split()
    assert {topic, topic + "-two", "other-" + topic} <= set(listed) and listed == sorted(listed)
    matched = tool(kafka_home, "kafka-topics", *b, "--list", "--topic", topic + ".*").stdout.split()
    assert matched == [topic, topic + "-two"]
    described = tool(kafka_home, "kafka-topics", *b, "--describe", "--topic", topic + ".*").stdout
    assert [fields(l)["Topic"] for l in described.splitlines() if l.startswith("Topic: ")] == matched
    tool(kafka_home, "kafka-topics", *b, "--delete", "--topic", topic + ".*")
    deadline = time.monotonic() + 10
    while set(ck.topic_partitions(broker)) & {topic, topic + "-two"} and time.monotonic() < deadline:
        time.sleep(0.1)
    left = ck.topic_partitions(broker)
    assert topic not in left and topic + "-two" not in left and "other-" + topic in left

    # A name that matches nothing: exit 1 (Kafka's message on stderr), unless --if-exists.
    p = tool(kafka_home, "kafka-topics", *b, "--delete", "--topic", topic, check=False)
    assert p.returncode == 1 and f"Topic '{topic}' does not exist as expected" in p.stderr
    tool(kafka_home, "kafka-topics", *b, "--delete", "--topic", topic, "--if-exists")
    p = tool(kafka_home, "kafka-topics", *b, "--describe", "--topic", topic, check=False)
    assert p.returncode == 1


def test_configs_alter_and_describe(broker, topic, kafka_home):
    b = ["--bootstrap-server", broker]
    ck.create_topic(broker, topic, partitions=1)
    out = tool(
        kafka_home,
        "kafka-configs",
        *b,
        "--entity-type",
        "topics",
        "--entity-name",
        topic,
        "--alter",
        "--add-config",
        "retention.ms=7000,cleanup.policy=[compact,delete],max.message.bytes=2000",
    ).stdout
    assert out == f"Completed updating config for topic {topic}.\n"
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    cfg = configs_of(broker, res)
    assert cfg["retention.ms"].value == "7000"
    assert cfg["cleanup.policy"].value == "compact,delete"
    assert cfg["max.message.bytes"].value == "2000"

    lines = tool(kafka_home, "kafka-configs", *b, "--describe", "--topic", topic).stdout.splitlines()
    assert lines[0] == f"Dynamic configs for topic {topic} are:"
    described = {}
    for l in lines[1:]:
        assert l.startswith("  ") and " sensitive=false synonyms={" in l and l.endswith("}"), l
        name_value = l.strip().split(" sensitive=")[0]
        k, v = name_value.split("=", 1)
        described[k] = v
    assert described == {"cleanup.policy": "compact,delete", "max.message.bytes": "2000", "retention.ms": "7000"}
    assert f"DYNAMIC_TOPIC_CONFIG:retention.ms=7000" in lines[3]

    # --delete-config: back to the default; deleting a config that is not set fails.
    tool(kafka_home, "kafka-configs", *b, "--alter", "--topic", topic, "--delete-config", "retention.ms,max.message.bytes")
    cfg = configs_of(broker, res)
    assert cfg["retention.ms"].source == ConfigSource.DEFAULT_CONFIG.value
    assert cfg["max.message.bytes"].source != ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    p = tool(kafka_home, "kafka-configs", *b, "--alter", "--topic", topic, "--delete-config", "retention.ms", check=False)
    assert p.returncode == 1 and "Invalid config(s): retention.ms" in p.stderr
    # A config the broker refuses: exit 1 with its answer.
    p = tool(kafka_home, "kafka-configs", *b, "--alter", "--topic", topic, "--add-config", "no.such.config=1", check=False)
    assert p.returncode == 1 and "INVALID_CONFIG" in p.stderr

    # Cluster-wide broker default, seen by the AdminClient on broker 1 as a synonym.
    out = tool(
        kafka_home,
        "kafka-configs",
        *b,
        "--alter",
        "--entity-type",
        "brokers",
        "--entity-default",
        "--add-config",
        "log.retention.ms=86400000",
    ).stdout
    assert out == "Completed updating default config for brokers in the cluster.\n"
    bres = ConfigResource(ConfigResource.Type.BROKER, "1")
    bcfg = configs_of(broker, bres)
    assert bcfg["log.retention.ms"].value == "86400000"
    assert bcfg["log.retention.ms"].source == ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value
    out = tool(kafka_home, "kafka-configs", *b, "--describe", "--entity-type", "brokers", "--entity-default").stdout
    assert out.splitlines()[0] == "Default configs for brokers in the cluster are:"
    assert out.splitlines()[1].startswith("  log.retention.ms=86400000 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:")

    p = tool(kafka_home, "kafka-configs", *b, "--describe", "--topic", topic + "-missing")
    assert p.stdout == f"The topic '{topic}-missing' doesn't exist and doesn't have dynamic config.\n"


def test_console_producer_lines_are_read_by_confluent(broker, topic, kafka_home):
    ck.create_topic(broker, topic, partitions=3)
    lines = "".join(f"src:cli,n:{i}\tkey-{i}:value {i}:x\n" for i in range(30)) + "h:1\tNULL:tombstone-key-is-null\n"
    p = tool(
        kafka_home,
        "kafka-console-producer",
        "--bootstrap-server",
        broker,
        "--topic",
        topic,
        "--property",
        "parse.key=true",
        "--property",
        "key.separator=:",
        "--property",
        "parse.headers=true",
        "--property",
        "null.marker=NULL",
        "--producer-property",
        "acks=1",
        "--producer-property",
        "linger.ms=5",
        "--producer-property",
        "no.such.setting=1",
        "--compression-codec",
        "zstd",
        input=lines,
    )
    assert "no.such.setting" in p.stderr
    got = ck.consume_all(broker, topic, 3, expect=31)
    assert len(got) == 31
    by_key = {g.key: g for g in got}
    for i in range(30):
        g = by_key[b"key-%d" % i]
        assert g.value == b"value %d:x" % i
        assert g.headers == [("src", b"cli"), ("n", str(i).encode())]
    assert by_key[None].value == b"tombstone-key-is-null" and by_key[None].headers == [("h", b"1")]
    # Same key, same partition (the key is hashed).
    tool(
        kafka_home,
        "kafka-console-producer",
        "--broker-list",
        broker,
        "--topic",
        topic,
        "--property",
        "parse.key=true",
        "--property",
        "key.separator=:",
        input="key-7:again\n",
    )
    again = [g for g in ck.consume_all(broker, topic, 3, expect=32) if g.value == b"again"]
    assert again[0].partition == by_key[b"key-7"].partition

    # A line without the separator stops the tool with exit 1 (lines before it are sent).
    p = tool(
        kafka_home,
        "kafka-console-producer",
        "--bootstrap-server",
        broker,
        "--topic",
        topic,
        "--property",
        "parse.key=true",
        input="k\tbefore\nno separator here\nk\tafter\n",
        check=False,
    )
    assert p.returncode == 1 and "line number 2" in p.stderr
    values = {g.value for g in ck.consume_all(broker, topic, 3, expect=33)}
    assert b"before" in values and b"after" not in values


def test_console_consumer_prints_confluent_records_in_kafkas_format(broker, topic, kafka_home):
    ck.create_topic(broker, topic, partitions=2)
    recs = [
        ck.Rec(p, b"k%d" % i, b"v%d-%d" % (p, i), headers=[("h", b"x%d" % i)], timestamp=1_700_000_000_000 + i)
        for p in (0, 1)
        for i in range(4)
    ]
    recs.append(ck.Rec(1, None, b"nokey"))
    ck.produce_records(ck.producer(broker), topic, recs)
    p = tool(
        kafka_home,
        "kafka-console-consumer",
        "--bootstrap-server",
        broker,
        "--topic",
        topic,
        "--from-beginning",
        "--max-messages",
        "9",
        "--property",
        "print.key=true",
        "--property",
        "print.timestamp=true",
        "--property",
        "print.partition=true",
        "--property",
        "print.offset=true",
        "--property",
        "print.headers=true",
    )
    assert p.stderr.strip().splitlines()[-1] == "Processed a total of 9 messages"
    seen = set()
    for line in p.stdout.splitlines():
        ts, part, off, headers, key, value = line.split("\t")
        part, off = int(part.removeprefix("Partition:")), int(off.removeprefix("Offset:"))
        want = next(r for r in recs if r.partition == part and r.offset == off)
        assert value.encode() == want.value
        assert key == ("null" if want.key is None else want.key.decode())
        if want.timestamp is not None:
            assert ts == f"CreateTime:{want.timestamp}"
            assert headers == f"h:{want.headers[0][1].decode()}"
        else:
            assert ts.startswith("CreateTime:") and headers == "NO_HEADERS"
        seen.add((part, off))
    assert len(seen) == 9

    # One partition from an offset; the default format is the value only.
    p = tool(
        kafka_home,
        "kafka-console-consumer",
        "--bootstrap-server",
        broker,
        "--topic",
        topic,
        "--partition",
        "1",
        "--offset",
        "2",
        "--timeout-ms",
        "1500",
    )
    assert p.stdout.splitlines() == ["v1-2", "v1-3", "nokey"]
    assert "Processed a total of 3 messages" in p.stderr
    # Without --from-beginning it starts at the end: nothing within the timeout.
    p = tool(kafka_home, "kafka-console-consumer", "--bootstrap-server", broker, "--topic", topic, "--timeout-ms", "1000")
    assert p.stdout == "" and "Processed a total of 0 messages" in p.stderr


@pytest.mark.needs("transactions")  # a transactional producer
def test_console_consumer_read_committed_skips_aborted_transactions(broker, topic, kafka_home):
    ck.create_topic(broker, topic, partitions=1)
    p = ck.producer(broker, **{"transactional.id": topic + "-tx", "enable.idempotence": True})
    p.init_transactions(15)
    p.begin_transaction()
    p.produce(topic, b"aborted-1", partition=0)
    p.produce(topic, b"aborted-2", partition=0)
    p.flush(15)
    p.abort_transaction(15)
    p.begin_transaction()
    p.produce(topic, b"committed", partition=0)
    p.commit_transaction(15)
    args = ["--bootstrap-server", broker, "--topic", topic, "--from-beginning", "--timeout-ms", "1500"]
    committed_only = tool(kafka_home, "kafka-console-consumer", *args, "--isolation-level", "read_committed")
    assert committed_only.stdout.splitlines() == ["committed"]
    everything = tool(kafka_home, "kafka-console-consumer", *args)
    assert everything.stdout.splitlines() == ["aborted-1", "aborted-2", "committed"]


def test_console_consumer_group_commits_what_it_printed(broker, topic, kafka_home):
    group = topic + "-g"
    ck.create_topic(broker, topic, partitions=2)
    ck.produce_records(ck.producer(broker), topic, [ck.Rec(p, None, b"m%d" % i) for p in (0, 1) for i in range(5)])
    p = tool(
        kafka_home,
        "kafka-console-consumer",
        "--bootstrap-server",
        broker,
        "--topic",
        topic,
        "--group",
        group,
        "--from-beginning",
        "--max-messages",
        "6",
    )
    assert len(p.stdout.splitlines()) == 6
    offsets = committed(broker, group, topic, 2)
    assert sum(offsets.values()) == 6, offsets
    # The next member of the group gets the other 4.
    p = tool(
        kafka_home,
        "kafka-console-consumer",
        "--bootstrap-server",
        broker,
        "--topic",
        topic,
        "--consumer-property",
        f"group.id={group}",
        "--timeout-ms",
        "3000",
    )
    assert len(p.stdout.splitlines()) == 4
    assert committed(broker, group, topic, 2) == {0: 5, 1: 5}


def test_consumer_groups_describe_reset_delete(broker, topic, kafka_home):
    b = ["--bootstrap-server", broker]
    group = topic + "-g"
    ck.create_topic(broker, topic, partitions=2)
    ck.produce_records(ck.producer(broker), topic, [ck.Rec(p, None, b"r%d" % i) for p in (0, 1) for i in range(6)])
    c = group_consumer(broker, group)
    try:
        c.subscribe([topic])
        assert len(consume_n(c, 12)) == 12
        c.commit(offsets=[TopicPartition(topic, 0, 4), TopicPartition(topic, 1, 6)], asynchronous=False)
        out = tool(kafka_home, "kafka-consumer-groups", *b, "--describe", "--group", group).stdout
        assert out.startswith("\nGROUP ")
        rows = table(out, "GROUP")
        assert {(r["TOPIC"], r["PARTITION"]): (r["CURRENT-OFFSET"], r["LOG-END-OFFSET"], r["LAG"]) for r in rows} == {
            (topic, "0"): ("4", "6", "2"),
            (topic, "1"): ("6", "6", "0"),
        }
        member_id = c.memberid()
        assert {r["CONSUMER-ID"] for r in rows} == {member_id}
        assert {r["CLIENT-ID"] for r in rows} == {"compat-tools-member"}
        members = table(tool(kafka_home, "kafka-consumer-groups", *b, "--describe", "--group", group, "--members").stdout, "GROUP")
        assert [(m["CONSUMER-ID"], m["CLIENT-ID"], m["#PARTITIONS"]) for m in members] == [
            (member_id, "compat-tools-member", "2")
        ]
        state = table(tool(kafka_home, "kafka-consumer-groups", *b, "--describe", "--group", group, "--state").stdout, "GROUP")
        assert state[0]["GROUP"] == group and "Stable" in state[0].values()
        listed = tool(kafka_home, "kafka-consumer-groups", *b, "--list", "--state").stdout
        assert {r["GROUP"]: r["STATE"] for r in table(listed, "GROUP")}[group] == "Stable"
        # An active group's offsets cannot be reset.
        p = tool(
            kafka_home, "kafka-consumer-groups", *b, "--reset-offsets", "--group", group, "--topic", topic,
            "--to-earliest", "--execute", check=False,
        )
        assert p.returncode == 1 and f"Assignments can only be reset if the group '{group}' is inactive" in p.stdout
    finally:
        c.close()
    assert group in tool(kafka_home, "kafka-consumer-groups", *b, "--list").stdout.split()

    # Dry run shows the plan and changes nothing.
    out = tool(
        kafka_home, "kafka-consumer-groups", *b, "--reset-offsets", "--group", group, "--topic", topic, "--to-earliest", "--dry-run"
    ).stdout
    assert [(r["TOPIC"], r["PARTITION"], r["NEW-OFFSET"]) for r in table(out, "GROUP")] == [
        (topic, "0", "0"),
        (topic, "1", "0"),
    ]
    assert committed(broker, group, topic, 2) == {0: 4, 1: 6}
    # --shift-by on one partition, --to-offset (kept within the log) on the other.
    tool(kafka_home, "kafka-consumer-groups", *b, "--reset-offsets", "--group", group, "--topic", f"{topic}:1", "--shift-by", "-4", "--execute")
    tool(kafka_home, "kafka-consumer-groups", *b, "--reset-offsets", "--group", group, "--topic", f"{topic}:0", "--to-offset", "99", "--execute")
    assert committed(broker, group, topic, 2) == {0: 6, 1: 2}
    # --to-earliest --execute: a confluent member of the group reads everything again.
    tool(kafka_home, "kafka-consumer-groups", *b, "--reset-offsets", "--group", group, "--all-topics", "--to-earliest", "--execute")
    c = group_consumer(broker, group)
    try:
        c.subscribe([topic])
        again = consume_n(c, 12)
    finally:
        c.close()
    assert sorted((m.partition(), m.offset()) for m in again) == [(p, o) for p in (0, 1) for o in range(6)]

    # --delete-offsets of one partition, then --delete of the group.
    out = tool(kafka_home, "kafka-consumer-groups", *b, "--delete-offsets", "--group", group, "--topic", f"{topic}:0").stdout
    assert f"Request succeeded for deleting offsets from group {group}." in out
    assert [(r["TOPIC"], r["PARTITION"], r["STATUS"]) for r in table(out, "TOPIC")] == [(topic, "0", "Successful")]
    assert committed(broker, group, topic, 2)[0] < 0
    out = tool(kafka_home, "kafka-consumer-groups", *b, "--delete", "--group", group).stdout
    assert out == f"Deletion of requested consumer groups ('{group}') was successful.\n"
    a = ck.admin(broker)
    listed = a.list_consumer_groups().result(timeout=15)
    assert group not in {g.group_id for g in listed.valid}
    p = tool(kafka_home, "kafka-consumer-groups", *b, "--describe", "--group", group, check=False)
    assert p.returncode == 1 and f"Consumer group '{group}' does not exist." in p.stdout


def test_acls_add_list_remove(broker, topic, kafka_home):
    b = ["--bootstrap-server", broker]
    # What librdkafka's 0109/0115/0119 run.
    add = [*b, "--add", "--deny-principal", "User:*", "--operation", "All", "--deny-host", "*", "--topic", topic]
    out = tool(kafka_home, "kafka-acls", *add).stdout
    resource = f"`ResourcePattern(resourceType=TOPIC, name={topic}, patternType=LITERAL)`"
    entry = "(principal=User:*, host=*, operation=ALL, permissionType=DENY)"
    assert resource in out and entry in out, out
    out = tool(kafka_home, "kafka-acls", *b, "--list", "--topic", topic).stdout
    assert out.startswith(f"Current ACLs for resource {resource}:") and entry in out, out
    tool(kafka_home, "kafka-acls", *b, "--remove", "--force", "--deny-principal", "User:*", "--operation", "All", "--deny-host", "*", "--topic", topic)
    assert entry not in tool(kafka_home, "kafka-acls", *b, "--list").stdout
    # Flag mistakes are caught before any request.
    p = tool(kafka_home, "kafka-acls", *b, "--add", "--topic", topic, check=False)
    assert p.returncode == 1 and "--allow-principal" in p.stderr
    p = tool(kafka_home, "kafka-acls", *b, "--add", "--allow-principal", "User:a", "--operation", "Fly", "--topic", topic, check=False)
    assert p.returncode == 1 and "Fly" in p.stderr


def test_errors_and_command_config(broker, topic, kafka_home, tmp_path):
    # Unknown and unsupported flags: one line naming the flag, exit 1.
    for name, args, flag in [
        ("kafka-topics", ["--bootstrap-server", broker, "--list", "--frobnicate"], "--frobnicate"),
        ("kafka-topics", ["--bootstrap-server", broker, "--create", "--topic", topic, "--replica-assignment", "1:2"], "--replica-assignment"),
        ("kafka-configs", ["--bootstrap-server", broker, "--describe", "--entity-type", "users"], "users"),
        ("kafka-consumer-groups", ["--bootstrap-server", broker, "--list", "--verbose"], "--verbose"),
        ("kafka-console-consumer", ["--bootstrap-server", broker, "--include", "t.*"], "--include"),
        ("kafka-topics", ["--zookeeper", "localhost:2181", "--list"], "--zookeeper"),
    ]:
        p = tool(kafka_home, name, *args, check=False)
        assert p.returncode == 1, (name, args, p.stdout, p.stderr)
        err = [l for l in p.stderr.splitlines() if l.strip()]
        assert len(err) == 1 and flag in err[0], (name, p.stderr)
    # No action / no broker.
    assert tool(kafka_home, "kafka-topics", "--bootstrap-server", broker, check=False).returncode == 1
    p = tool(kafka_home, "kafka-topics", "--list", check=False)
    assert p.returncode == 1 and "--bootstrap-server" in p.stderr
    # An unreachable broker: exit 1.
    p = tool(kafka_home, "kafka-topics", "--bootstrap-server", "127.0.0.1:1", "--list", check=False, timeout=60)
    assert p.returncode == 1

    # --command-config: plaintext client properties are read; security settings refused.
    plain = tmp_path / "client.properties"
    plain.write_text("# admin client\nrequest.timeout.ms=10000\nclient.id=tools-test\n")
    ck.create_topic(broker, topic, partitions=1)
    p = tool(kafka_home, "kafka-topics", "--bootstrap-server", broker, "--command-config", str(plain), "--list")
    assert topic in p.stdout.split()
    secure = tmp_path / "secure.properties"
    secure.write_text("security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\n")
    p = tool(kafka_home, "kafka-topics", "--bootstrap-server", broker, "--command-config", str(secure), "--list", check=False)
    assert p.returncode == 1 and "SASL_SSL" in p.stderr


@pytest.mark.needs("kip848")  # a KIP-848 group
def test_consumer_groups_describe_a_kip848_group(broker, topic, kafka_home):
    group = topic + "-848"
    ck.create_topic(broker, topic, partitions=2)
    ck.produce_records(ck.producer(broker), topic, [ck.Rec(p, None, b"x") for p in (0, 1) for _ in range(3)])
    c = ck.consumer(
        broker,
        **{
            "group.id": group,
            "group.protocol": "consumer",
            "client.id": "compat-848",
            "auto.offset.reset": "earliest",
            "enable.partition.eof": False,
        },
    )
    try:
        c.subscribe([topic])
        assert len(consume_n(c, 6)) == 6
        c.commit(offsets=[TopicPartition(topic, 0, 2), TopicPartition(topic, 1, 3)], asynchronous=False)
        b = ["--bootstrap-server", broker, "--describe", "--group", group]
        rows = table(tool(kafka_home, "kafka-consumer-groups", *b).stdout, "GROUP")
        assert {(r["PARTITION"], r["CURRENT-OFFSET"], r["LAG"], r["CLIENT-ID"]) for r in rows} == {
            ("0", "2", "1", "compat-848"),
            ("1", "3", "0", "compat-848"),
        }
        assert {r["CONSUMER-ID"] for r in rows} == {c.memberid()}
        state = tool(kafka_home, "kafka-consumer-groups", *b, "--state").stdout
        assert "Stable" in state.split() and "1" == state.split()[-1]
        listed = tool(kafka_home, "kafka-consumer-groups", "--bootstrap-server", broker, "--list", "--type", "consumer").stdout
        assert {r["GROUP"]: r["TYPE"] for r in table(listed, "GROUP")}.get(group) == "Consumer"
    finally:
        c.close()
