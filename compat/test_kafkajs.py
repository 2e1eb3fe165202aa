"""KafkaJS (pure JavaScript client) against a real rill broker.

The scenarios live in kafkajs/compat.js and assert in node what KafkaJS itself
sees; records they write are read back here with librdkafka and compared exactly.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import ck
from ck import Rec

HERE = Path(__file__).resolve().parent / "kafkajs"
NOW_MS = int(time.time() * 1000)

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (HERE / "node_modules" / "kafkajs").is_dir(),
    reason="node or compat/kafkajs/node_modules missing (run scripts/test.sh or npm ci in compat/kafkajs)",
)


def run_node(scenario: str, bootstrap: str, topic: str, *args, timeout: float = 90) -> dict:
    cmd = ["node", str(HERE / "compat.js"), scenario, bootstrap, topic, *map(str, args)]
    proc = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True, timeout=timeout)
    results = [line[len("RESULT ") :] for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and len(results) == 1, (
        f"kafkajs scenario {scenario!r} failed (exit {proc.returncode})\n"
        f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-6000:]}"
    )
    return json.loads(results[0])


def test_codecs_load():
    out = run_node("selftest", "-", "-")
    assert set(out["codecs"]) == {"gzip", "snappy", "lz4", "zstd"}


def test_admin(broker, topic):
    out = run_node("admin", broker, topic)
    assert out["ok"] is True
    assert topic not in ck.topic_partitions(broker)


@pytest.mark.parametrize("codec", ck.CODECS)
def test_produce_codec(broker, topic, codec):
    out = run_node("produce", broker, topic, codec, 3, 40, NOW_MS - 86_400_000)
    recs = []
    for r in out["records"]:
        recs.append(
            Rec(
                partition=r["partition"],
                key=None if r["key"] is None else r["key"].encode(),
                value=None if r["value"] is None else r["value"].encode(),
                headers=[(k, v.encode()) for k, v in r["headers"].items()],
                timestamp=int(r["timestamp"]),
                offset=r["offset"],
            )
        )
    assert len(recs) == 40
    ck.assert_contiguous_offsets(sorted(recs, key=lambda r: r.offset))
    got = ck.consume_all(broker, topic, 3, expect=40)
    ck.assert_records(got, recs)


def test_one_mib_record(broker, topic):
    out = run_node("big", broker, topic, 1024 * 1024)
    got = ck.consume_all(
        broker,
        topic,
        1,
        expect=2,
        **{
            "fetch.max.bytes": 8 * 1024 * 1024,
            "max.partition.fetch.bytes": 8 * 1024 * 1024,
            "receive.message.max.bytes": 16 * 1024 * 1024,
        },
    )
    assert [(g.offset, g.key) for g in got] == [(0, b"big"), (1, b"after")]
    assert len(got[0].value) == out["size"]
    assert hashlib.sha256(got[0].value).hexdigest() == out["sha256"]
    assert got[1].value == b"x"


def test_list_offsets(broker, topic):
    base = NOW_MS - 3_600_000
    out = run_node("offsets", broker, topic, base)
    assert len(out["cases"]) == 7
    # cross-check the same answers through librdkafka
    assert ck.watermarks(broker, topic, 0) == (0, 6)


@pytest.mark.parametrize("acks", [0, 1, -1], ids=["acks0", "acks1", "acksall"])
def test_acks(broker, topic, acks):
    out = run_node("acks", broker, topic, acks, 100)
    got = ck.consume_all(broker, topic, 1, expect=100)
    assert [(g.offset, g.key, g.value) for g in got] == [(i, b"k%d" % i, b"v%d" % i) for i in range(100)]
    if acks != 0:
        assert out["offsets"] == list(range(0, 100, 10))
