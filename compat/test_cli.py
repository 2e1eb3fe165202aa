"""The admin CLI (`rill topic|produce|consume|group|cluster`) driven as a user would,
as the real `rill` binary against a real `rill serve`, checked through off-the-shelf
clients (confluent-kafka's AdminClient, Producer and Consumer) — and the other way
round: what those clients write and commit, the CLI reads and reports.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import ConfigResource

import ck
from rill_broker import rill_bin


def rill(bootstrap: str | None, *args: str, input: str | None = None, check: bool = True, timeout: float = 60):
    """Runs `rill ARGS` with RILL_BOOTSTRAP set; returns the CompletedProcess."""
    env = dict(os.environ)
    env.pop("RILL_BOOTSTRAP", None)
    if bootstrap is not None:
        env["RILL_BOOTSTRAP"] = bootstrap
    p = subprocess.run(
        [str(rill_bin()), *args],
        input=input,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    if check:
        assert p.returncode == 0, f"rill {' '.join(args)} exited {p.returncode}: {p.stderr}"
    return p


def table_rows(text: str, first: str) -> list[list[str]]:
    """The rows of the table whose header starts with `first` (cells split on spaces)."""
    rows, inside = [], False
    for line in text.splitlines():
        cells = line.split()
        if not cells:
            inside = False
            continue
        if cells[0] == first and not inside:
            inside = True
            header = cells
            continue
        if inside:
            rows.append(dict(zip(header, cells)))
    return rows


def group_partitions(bootstrap: str, group: str) -> dict[tuple[str, int], dict]:
    out = rill(bootstrap, "group", "describe", group).stdout
    return {(r["TOPIC"], int(r["PARTITION"])): r for r in table_rows(out, "GROUP") if "TOPIC" in r}


def one_error_line(p) -> str:
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got {p.stderr!r}"
    assert lines[0].startswith("rill: "), lines[0]
    return lines[0]


def test_topic_create_is_seen_by_admin_client(broker, topic):
    out = rill(broker, "topic", "create", topic, "--partitions", "4", "--config", "retention.ms=123456").stdout
    assert out.strip() == f"Created topic {topic}."
    assert ck.topic_partitions(broker, topic) == {topic: 4}
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    a = ck.admin(broker)
    cfg = a.describe_configs([res])[res].result(timeout=15)
    assert cfg["retention.ms"].value == "123456"
    assert topic in rill(broker, "topic", "list").stdout.split()
    desc = rill(broker, "topic", "describe", topic).stdout.splitlines()
    assert "PartitionCount: 4" in desc[0] and "Configs: retention.ms=123456" in desc[0], desc[0]
    assert [l.split("Partition: ")[1].split("\t")[0] for l in desc[1:]] == ["0", "1", "2", "3"]
    # Creating it again fails with Kafka's error.
    p = rill(broker, "topic", "create", topic, "--partitions", "1", check=False)
    assert p.returncode == 1
    assert "TOPIC_ALREADY_EXISTS" in one_error_line(p)


def test_describe_shows_log_offsets_after_confluent_produces(broker, topic):
    ck.create_topic(broker, topic, partitions=2)
    recs = [ck.Rec(p, b"k", b"v%d" % i) for i in range(5) for p in (0, 1)]
    recs += [ck.Rec(1, b"k", b"extra")]
    ck.produce_records(ck.producer(broker), topic, recs)
    desc = rill(broker, "topic", "describe", topic).stdout.splitlines()[1:]
    ends = {int(l.split("Partition: ")[1].split("\t")[0]): l.split("LogEndOffset: ")[1] for l in desc}
    assert ends == {0: "5", 1: "6"}
    assert all("Leader: 1" in l and "LogStartOffset: 0" in l for l in desc), desc


def test_produce_keys_and_headers_are_read_by_confluent(broker, topic):
    ck.create_topic(broker, topic, partitions=3)
    lines = "".join(f"key-{i}:value {i}:with colon\n" for i in range(60))
    rill(broker, "produce", topic, "--key-separator", ":", "--header", "app=cli", "--header", "env=a=b", input=lines)
    got = ck.consume_all(broker, topic, 3, expect=60)
    assert len(got) == 60
    by_key = {g.key: g for g in got}
    assert set(by_key) == {b"key-%d" % i for i in range(60)}
    for i in range(60):
        g = by_key[b"key-%d" % i]
        assert g.value == b"value %d:with colon" % i
        assert g.headers == [("app", b"cli"), ("env", b"a=b")]
        assert g.timestamp_type == 1 and g.timestamp > 0
    # Keys land where Kafka's Java client (murmur2) puts them: librdkafka's
    # murmur2_random partitioner is the same function.
    other = topic + "-murmur"
    ck.create_topic(broker, other, partitions=3)
    p = ck.producer(broker, partitioner="murmur2_random")
    where: dict[bytes, int] = {}
    for i in range(60):
        k = b"key-%d" % i
        p.produce(other, b"x", key=k, on_delivery=lambda err, m, k=k: where.__setitem__(k, m.partition()))
    assert p.flush(30) == 0
    assert where == {k: g.partition for k, g in by_key.items()}
    assert len(set(where.values())) == 3


def test_produce_a_file_with_explicit_partition_and_compression(broker, topic, tmp_path):
    ck.create_topic(broker, topic, partitions=2)
    f = tmp_path / "in.txt"
    f.write_text("".join(f"line {i}\n" for i in range(5000)))
    rill(broker, "produce", topic, "--file", str(f), "--partition", "1", "--compression", "zstd", "--acks", "1")
    assert ck.watermarks(broker, topic, 0) == (0, 0)
    assert ck.watermarks(broker, topic, 1) == (0, 5000)
    got = ck.consume_all(broker, topic, [1], expect=5000)
    assert [g.value for g in got] == [b"line %d" % i for i in range(5000)]
    assert all(g.key is None for g in got)
    # A line without the separator is refused with its line number.
    p = rill(broker, "produce", topic, "-K", "\t", input="a\tb\nno separator\n", check=False)
    assert p.returncode == 1 and "line 2" in one_error_line(p)


def test_confluent_produces_and_rill_consumes_json(broker, topic):
    ck.create_topic(broker, topic, partitions=2)
    recs = [
        ck.Rec(i % 2, None if i == 3 else b"k%d" % i, b"v%d" % i, [("h", b"x%d" % i)], 1_700_000_000_000 + i)
        for i in range(20)
    ]
    ck.produce_records(ck.producer(broker), topic, recs)
    out = rill(broker, "consume", topic, "--from-beginning", "--num", "20", "--format", "json", "--timeout-ms", "20000").stdout
    got = [json.loads(l) for l in out.splitlines()]
    assert len(got) == 20
    want = {
        (r.partition, r.offset): {
            "topic": topic,
            "partition": r.partition,
            "offset": r.offset,
            "timestamp": r.timestamp,
            "key": r.key.decode() if r.key is not None else None,
            "value": r.value.decode(),
            "headers": {k: v.decode() for k, v in r.headers},
        }
        for r in recs
    }
    assert {(g["partition"], g["offset"]): g for g in got} == want
    # One partition from an offset, as kv.
    out = rill(broker, "consume", topic, "--partition", "1", "--offset", "7", "--format", "kv", "--timeout-ms", "1500").stdout
    assert out.splitlines() == [f"k{i}\tv{i}" for i in (15, 17, 19)]


def test_consume_starts_at_latest_and_times_out(broker, topic):
    ck.create_topic(broker, topic, partitions=1)
    ck.produce_records(ck.producer(broker), topic, [ck.Rec(0, None, b"old")])
    t0 = time.monotonic()
    p = rill(broker, "consume", topic, "--timeout-ms", "1000")
    assert p.stdout == "" and 1.0 <= time.monotonic() - t0 < 15
    assert "Processed a total of 0 messages" in p.stderr


def _group_consumer(broker: str, group: str, topic: str) -> Consumer:
    return ck.consumer(
        broker,
        **{
            "group.id": group,
            "client.id": "compat-cli-member",
            "auto.offset.reset": "earliest",
            "enable.partition.eof": False,
            "enable.auto.offset.store": True,
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 300,
        },
    )


def _poll_until(c: Consumer, cond, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        c.poll(0.1)
        if cond():
            return
    raise AssertionError("condition not reached")


def _consume_n(c: Consumer, n: int, timeout=30.0) -> list:
    got: list = []
    deadline = time.monotonic() + timeout
    while len(got) < n:
        assert time.monotonic() < deadline, f"read {len(got)} of {n} records"
        got.extend(m for m in c.consume(100, 0.1) if m.error() is None)
    return got


def test_group_describe_shows_commits_and_lag_of_a_confluent_consumer(broker, topic):
    group = topic + "-g"
    ck.create_topic(broker, topic, partitions=2)
    recs = [ck.Rec(p, None, b"v") for p in (0, 1) for _ in range(10)]
    ck.produce_records(ck.producer(broker), topic, recs)
    c = _group_consumer(broker, group, topic)
    try:
        c.subscribe([topic])
        _poll_until(c, lambda: len(c.assignment()) == 2)
        c.commit(offsets=[TopicPartition(topic, 0, 4), TopicPartition(topic, 1, 7)], asynchronous=False)
        out = rill(broker, "group", "describe", group).stdout
        head = table_rows(out, "GROUP")[0]
        assert head["STATE"] == "Stable" and head["PROTOCOL-TYPE"] == "consumer" and head["MEMBERS"] == "1"
        rows = group_partitions(broker, group)
        assert {k: (r["CURRENT-OFFSET"], r["LOG-END-OFFSET"], r["LAG"]) for k, r in rows.items()} == {
            (topic, 0): ("4", "10", "6"),
            (topic, 1): ("7", "10", "3"),
        }
        assert {r["CLIENT-ID"] for r in rows.values()} == {"compat-cli-member"}
        members = table_rows(out, "CONSUMER-ID")
        assert len(members) == 1 and members[0]["#PARTITIONS"] == "2"
        assert members[0]["ASSIGNMENT"] == f"{topic}-0,{topic}-1"
        # Kafka's tool refuses to move the offsets of an active group.
        p = rill(broker, "group", "reset-offsets", group, "--topic", topic, "--to-earliest", "--execute", check=False)
        assert p.returncode == 1 and "inactive" in one_error_line(p)
    finally:
        c.close()
    assert group in rill(broker, "group", "list").stdout.split()


def test_reset_offsets_to_earliest_makes_the_consumer_read_again(broker, topic):
    group = topic + "-g"
    ck.create_topic(broker, topic, partitions=2)
    ck.produce_records(ck.producer(broker), topic, [ck.Rec(p, None, b"r%d" % i) for i in range(6) for p in (0, 1)])
    c = _group_consumer(broker, group, topic)
    try:
        c.subscribe([topic])
        assert len(_consume_n(c, 12)) == 12
        c.commit(asynchronous=False)
    finally:
        c.close()
    assert {k: r["LAG"] for k, r in group_partitions(broker, group).items()} == {(topic, 0): "0", (topic, 1): "0"}
    # Dry run: shows the plan, commits nothing.
    out = rill(broker, "group", "reset-offsets", group, "--topic", topic, "--to-earliest").stdout
    assert [(r["PARTITION"], r["NEW-OFFSET"]) for r in table_rows(out, "GROUP")] == [("0", "0"), ("1", "0")]
    assert {r["CURRENT-OFFSET"] for r in group_partitions(broker, group).values()} == {"6"}
    # --shift-by on one partition, then --to-earliest for all, executed.
    rill(broker, "group", "reset-offsets", group, "--topic", f"{topic}:1", "--shift-by", "-2", "--execute")
    assert group_partitions(broker, group)[(topic, 1)]["CURRENT-OFFSET"] == "4"
    rill(broker, "group", "reset-offsets", group, "--topic", topic, "--to-earliest", "--execute")
    c = _group_consumer(broker, group, topic)
    try:
        c.subscribe([topic])
        again = _consume_n(c, 12)
    finally:
        c.close()
    assert sorted((m.partition(), m.offset()) for m in again) == [(p, o) for p in (0, 1) for o in range(6)]


def test_alter_config_is_seen_by_describe_configs(broker, topic):
    ck.create_topic(broker, topic, partitions=1, config={"retention.ms": "50000"})
    out = rill(broker, "topic", "alter-config", topic, "--set", "cleanup.policy=compact", "--set", "max.message.bytes=2048", "--delete", "retention.ms").stdout
    assert out.strip() == f"Completed updating config for topic {topic}."
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    a = ck.admin(broker)
    cfg = a.describe_configs([res])[res].result(timeout=15)
    assert cfg["cleanup.policy"].value == "compact"
    assert cfg["max.message.bytes"].value == "2048"
    assert cfg["retention.ms"].is_default and cfg["retention.ms"].value == "604800000"
    head = rill(broker, "topic", "describe", topic).stdout.splitlines()[0]
    assert head.endswith("Configs: cleanup.policy=compact,max.message.bytes=2048"), head
    p = rill(broker, "topic", "alter-config", topic, "--set", "retention.ms=soon", check=False)
    assert p.returncode == 1 and "INVALID_CONFIG" in one_error_line(p)


def test_two_rill_group_members_split_the_partitions(broker, topic):
    group = topic + "-g"
    ck.create_topic(broker, topic, partitions=2)
    env = dict(os.environ, RILL_BOOTSTRAP=broker)
    procs = [
        subprocess.Popen(
            [str(rill_bin()), "consume", topic, "--group", group, "--format", "json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + 40
        while True:
            out = rill(broker, "group", "describe", group, check=False).stdout
            members = table_rows(out, "CONSUMER-ID")
            if len(members) == 2 and sorted(m["#PARTITIONS"] for m in members) == ["1", "1"]:
                head = table_rows(out, "GROUP")[0]
                if head["STATE"] == "Stable":
                    break
            assert time.monotonic() < deadline, f"group never split: {out}"
            time.sleep(0.3)
        assert head["PROTOCOL"] == "range"
        recs = [ck.Rec(p, None, b"p%d-%d" % (p, i)) for i in range(5) for p in (0, 1)]
        ck.produce_records(ck.producer(broker), topic, recs)
        deadline = time.monotonic() + 30
        while {r.get("LAG") for r in group_partitions(broker, group).values()} != {"0"}:
            assert time.monotonic() < deadline, "the members did not commit what they read"
            time.sleep(0.3)
    finally:
        for p in procs:
            p.send_signal(signal.SIGINT)
        outs = [p.communicate(timeout=20) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    seen = [[json.loads(l) for l in out.splitlines()] for out, _ in outs]
    # Each member read one partition, together everything once.
    assert sorted(sorted({r["partition"] for r in s}) for s in seen) == [[0], [1]], seen
    assert sorted(r["value"] for s in seen for r in s) == sorted(r.value.decode() for r in recs)
    # Both left the group on Ctrl-C; their commits stay.
    out = rill(broker, "group", "describe", group).stdout
    assert table_rows(out, "GROUP")[0]["STATE"] == "Empty"
    assert {k: r["CURRENT-OFFSET"] for k, r in group_partitions(broker, group).items()} == {
        (topic, 0): "5",
        (topic, 1): "5",
    }
    # A new member starts from the committed offsets: nothing left to read.
    p = rill(broker, "consume", topic, "--group", group, "--timeout-ms", "1500")
    assert p.stdout == ""


def test_consume_group_num_commits_exactly_what_it_printed(broker, topic):
    group = topic + "-g"
    ck.create_topic(broker, topic, partitions=1)
    ck.produce_records(ck.producer(broker), topic, [ck.Rec(0, None, b"m%d" % i) for i in range(10)])
    out = rill(broker, "consume", topic, "--group", group, "--from-beginning", "--num", "4").stdout
    assert out.splitlines() == ["m0", "m1", "m2", "m3"]
    assert group_partitions(broker, group)[(topic, 0)]["CURRENT-OFFSET"] == "4"
    out = rill(broker, "consume", topic, "--group", group, "--num", "6").stdout
    assert out.splitlines() == [f"m{i}" for i in range(4, 10)]
    # A confluent consumer in the same group continues from there too.
    c = _group_consumer(broker, group, topic)
    try:
        c.subscribe([topic])
        _poll_until(c, lambda: len(c.assignment()) == 1)
        committed = c.committed([TopicPartition(topic, 0)], timeout=10)
        assert committed[0].offset == 10
    finally:
        c.close()


def test_delete_topics_and_groups(broker, topic):
    group = topic + "-g"
    ck.create_topic(broker, topic, partitions=1)
    ck.produce_records(ck.producer(broker), topic, [ck.Rec(0, None, b"x")])
    rill(broker, "consume", topic, "--group", group, "--from-beginning", "--num", "1")
    out = rill(broker, "group", "delete", group).stdout
    assert out.strip() == f"Deleted consumer group '{group}'."
    assert group not in rill(broker, "group", "list").stdout.split()
    p = rill(broker, "group", "describe", group, check=False)
    assert p.returncode == 1 and group in one_error_line(p)
    rill(broker, "topic", "delete", topic)
    assert topic not in ck.topic_partitions(broker)
    p = rill(broker, "topic", "delete", topic, check=False)
    assert p.returncode == 1 and "UNKNOWN_TOPIC_OR_PARTITION" in one_error_line(p)


def test_cluster_info_matches_what_confluent_sees(broker):
    out = rill(broker, "cluster", "info").stdout
    md = ck.admin(broker).list_topics(timeout=10)
    assert f"Cluster ID: {md.cluster_id}" in out
    assert f"Controller: {md.controller_id}" in out
    host, port = broker.rsplit(":", 1)
    assert f"{host}:{port}" in out
    assert "Produce(0):" in out and "[usable: 12]" in out
    assert "ApiVersions(18): 0 to 4 [usable: 3]" in out


def test_errors_are_one_line_and_a_non_zero_exit(broker, topic):
    # Nothing listens on port 1.
    p = rill("127.0.0.1:1", "topic", "list", "--request-timeout-ms", "2000", check=False)
    assert p.returncode == 1 and "cannot connect to 127.0.0.1:1" in one_error_line(p)
    p = rill(broker, "topic", "describe", "no-such-topic", check=False)
    assert p.returncode == 1 and "UNKNOWN_TOPIC_OR_PARTITION" in one_error_line(p)
    p = rill(broker, "consume", "no-such-topic", "--num", "1", check=False)
    assert p.returncode == 1 and "UNKNOWN_TOPIC_OR_PARTITION" in one_error_line(p)
    p = rill(broker, "produce", "no-such-topic", input="x\n", check=False)
    assert p.returncode == 1 and "UNKNOWN_TOPIC_OR_PARTITION" in one_error_line(p)
    p = rill(broker, "group", "describe", "no-such-group", check=False)
    assert p.returncode == 1 and "does not exist" in one_error_line(p)
    p = rill(broker, "topic", "create", topic, "--config", "cleanup.policy=sometimes", check=False)
    assert p.returncode == 1 and "INVALID_CONFIG" in one_error_line(p)
    assert topic not in ck.topic_partitions(broker)
    # Usage errors are clap's: exit code 2.
    p = rill(broker, "topic", "create", check=False)
    assert p.returncode == 2
    p = rill(broker, "topic", "create", topic, "--config", "novalue", check=False)
    assert p.returncode == 2 and "name=value" in p.stderr
    p = rill(broker, "group", "reset-offsets", "g", "--topic", topic, check=False)
    assert p.returncode == 2


@pytest.mark.parametrize(
    "words,want",
    [(["rill", "to"], {"topic"}), (["rill", "topic", "c"], {"create"}), (["rill", "group", "re"], {"reset-offsets"})],
)
def test_bash_completion_completes_commands(words, want):
    script = rill(None, "completions", "bash").stdout
    line = " ".join(words)
    probe = (
        f"{script}\nCOMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; COMP_LINE='{line}'; "
        f"COMP_POINT={len(line)}; _rill rill '{words[-1]}' '{words[-2]}'; printf '%s\\n' \"${{COMPREPLY[@]}}\""
    )
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    assert set(out.stdout.split()) == want, out.stdout
