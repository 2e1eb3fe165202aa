"""kcat (librdkafka 2.0 command-line client, from Debian) against a real rill broker."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time

import pytest

import ck
from ck import Rec

KCAT = shutil.which("kcat") or shutil.which("kafkacat")
NOW_MS = int(time.time() * 1000)

pytestmark = pytest.mark.skipif(
    KCAT is None, reason="kcat not installed (run scripts/test.sh or apt-get install kcat)"
)


def kcat(bootstrap: str, *args: str, input: bytes | None = None, timeout: float = 60) -> bytes:
    cmd = [KCAT, "-b", bootstrap, "-m", "15", "-X", "broker.address.family=v4", *args]
    proc = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout)
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} exited {proc.returncode}\n--- stderr ---\n{proc.stderr.decode(errors='replace')[-4000:]}"
    )
    return proc.stdout


def kcat_consume_json(bootstrap: str, topic: str, *extra: str) -> list[dict]:
    out = kcat(bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-J", "-q", *extra)
    return [json.loads(line) for line in out.decode().splitlines() if line.strip()]


def test_metadata_and_auto_create(broker_factory, topic):
    b = broker_factory(default_partitions=3).bootstrap
    kcat(b, "-P", "-t", topic, "-p", "0", input=b"hello\n")
    md = json.loads(kcat(b, "-L", "-J"))
    host, port = b.rsplit(":", 1)
    assert [(x["name"].rsplit(":", 1)[0], x["name"].rsplit(":", 1)[1]) for x in md["brokers"]] == [
        (host, port)
    ]
    topics = {t["topic"]: t for t in md["topics"]}
    assert topic in topics, f"auto-created topic missing from metadata: {sorted(topics)}"
    assert sorted(p["partition"] for p in topics[topic]["partitions"]) == [0, 1, 2]
    got = kcat_consume_json(b, topic)
    assert [(m["partition"], m["offset"], m["payload"]) for m in got] == [(0, 0, "hello")]


@pytest.mark.parametrize("codec", ck.CODECS)
def test_produce_consume_codec(broker, topic, codec):
    ck.create_topic(broker, topic, partitions=2)
    z = [] if codec == "none" else ["-z", codec]
    expected = []
    t0 = int(time.time() * 1000)
    for part in (0, 1):
        lines = [f"key{part}-{i}:{codec} value {part}/{i} " + "xyz" * (i % 13) for i in range(300)]
        kcat(
            broker,
            "-P",
            "-t",
            topic,
            "-p",
            str(part),
            "-K",
            ":",
            *z,
            "-H",
            f"codec={codec}",
            "-H",
            "dup=a",
            "-H",
            "dup=b",
            "-X",
            "linger.ms=20",
            input=("\n".join(lines) + "\n").encode(),
        )
        for i, line in enumerate(lines):
            k, v = line.split(":", 1)
            expected.append((part, i, k, v))
    t1 = int(time.time() * 1000)

    got = kcat_consume_json(broker, topic)
    assert sorted((m["partition"], m["offset"], m["key"], m["payload"]) for m in got) == sorted(expected)
    for m in got:
        assert m["headers"] == ["codec", codec, "dup", "a", "dup", "b"], m
        assert m["tstype"] == "create", m
        assert t0 - 1000 <= m["ts"] <= t1 + 1000, (
            f"timestamp {m['ts']} outside the produce window [{t0}, {t1}]"
        )

    # librdkafka (a newer one) agrees, including the exact timestamps kcat saw
    ts = {(m["partition"], m["offset"]): m["ts"] for m in got}
    for g in ck.consume_all(broker, topic, 2, expect=600):
        assert g.timestamp == ts[(g.partition, g.offset)]
        assert g.headers == [("codec", codec.encode()), ("dup", b"a"), ("dup", b"b")]


def test_reads_confluent_records_in_every_codec(broker, topic):
    ck.create_topic(broker, topic, partitions=1)
    expected = []
    for c, codec in enumerate(ck.CODECS):
        p = ck.producer(broker, **{"compression.type": codec, "linger.ms": 50})
        recs = [
            Rec(
                0,
                f"{codec}-{i}".encode(),
                f"text {codec} {i} ".encode() * 5,
                [("c", codec.encode())],
                NOW_MS - 50_000 + c * 100 + i,
            )
            for i in range(20)
        ]
        expected += ck.produce_records(p, topic, recs)
    got = kcat_consume_json(broker, topic)
    assert [(m["offset"], m["key"], m["payload"], m["ts"], m["headers"]) for m in got] == [
        (r.offset, r.key.decode(), r.value.decode(), r.timestamp, ["c", r.headers[0][1].decode()])
        for r in expected
    ]


def test_hundred_thousand_records(broker, topic):
    n = 100_000
    ck.create_topic(broker, topic, partitions=3)
    data = "".join(f"r{i:06d}\n" for i in range(n)).encode()
    kcat(broker, "-P", "-t", topic, "-p", "-1", "-z", "zstd", "-X", "linger.ms=20", input=data, timeout=120)
    out = kcat(broker, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%p %o %s\n", timeout=120)
    lines = out.decode().splitlines()
    assert len(lines) == n, f"consumed {len(lines)} records, produced {n}"
    per: dict[int, list[int]] = {}
    values = set()
    for line in lines:
        p, o, v = line.split(" ")
        per.setdefault(int(p), []).append(int(o))
        values.add(v)
    assert values == {f"r{i:06d}" for i in range(n)}
    for p, offs in per.items():
        assert offs == list(range(len(offs))), f"partition {p}: offsets not contiguous from 0"
    assert sum(len(o) for o in per.values()) == n


def test_one_mib_record(broker, topic, tmp_path):
    ck.create_topic(broker, topic, partitions=1, config={"max.message.bytes": "2097152"})
    value = os.urandom(1024 * 1024)
    f = tmp_path / "big.bin"
    f.write_bytes(value)
    # a file argument is sent as one message
    kcat(broker, "-P", "-t", topic, "-p", "0", "-X", "message.max.bytes=4194304", str(f))
    out = kcat(
        broker,
        "-C",
        "-t",
        topic,
        "-p",
        "0",
        "-o",
        "beginning",
        "-e",
        "-q",
        "-f",
        "%o %S:%s",
        "-X",
        "fetch.message.max.bytes=4194304",
        "-X",
        "fetch.max.bytes=8388608",
        "-X",
        "receive.message.max.bytes=16777216",
    )
    head, _, payload = out.partition(b":")
    assert head == b"0 %d" % len(value)
    assert payload == value


def test_query_offsets_for_times(broker, topic):
    ck.create_topic(broker, topic, partitions=1)
    base = NOW_MS - 100_000
    p = ck.producer(broker, **{"linger.ms": 0})
    recs = ck.produce_records(
        p, topic, [Rec(0, b"k%d" % i, b"v%d" % i, [], base + 1000 * i) for i in range(5)], flush_each=True
    )
    assert [r.offset for r in recs] == list(range(5))

    def query(ts: int) -> int:
        out = kcat(broker, "-Q", "-t", f"{topic}:0:{ts}").decode()
        m = re.search(r"offset (-?\d+)", out)
        assert m, f"unexpected kcat -Q output: {out!r}"
        return int(m.group(1))

    assert query(base - 1) == 0
    assert query(base + 1) == 1
    assert query(base + 3000) == 3
    assert query(base + 4000) == 4
    assert query(base + 4001) == -1

    # consume starting at a timestamp
    out = kcat(broker, "-C", "-t", topic, "-p", "0", "-o", f"s@{base + 2500}", "-e", "-q", "-f", "%o %s\n")
    assert out.decode().splitlines() == ["3 v3", "4 v4"]


@pytest.mark.parametrize("acks", ["0", "1", "all"])
def test_acks(broker, topic, acks):
    ck.create_topic(broker, topic, partitions=1)
    lines = [f"acks{acks}-{i}" for i in range(500)]
    kcat(broker, "-P", "-t", topic, "-p", "0", "-X", f"acks={acks}", input=("\n".join(lines) + "\n").encode())
    got = kcat_consume_json(broker, topic)
    assert [(m["offset"], m["payload"]) for m in got] == list(enumerate(lines))
