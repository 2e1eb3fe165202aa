"""Debian's own older Kafka client: python3-kafka (kafka-python 2.0.2, bookworm), run by
the system /usr/bin/python3 in a subprocess (compat/debian_kafka_python.py), since the
venv carries kafka-python 3.x. It probes the broker with ApiVersions and settles on
api_version (2, 5, 0); its producer is not idempotent (2.0.2 has no idempotence) and
its consumer commits automatically. (Debian's kcat, on librdkafka 2.0.2, is
compat/test_kcat.py.)"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import ck
import groupkit
from ck import Rec

SYSTEM_PYTHON = "/usr/bin/python3"
DRIVER = Path(__file__).resolve().parent / "debian_kafka_python.py"


def _debian_kafka_version() -> str | None:
    try:
        proc = subprocess.run(
            [SYSTEM_PYTHON, "-c", "import kafka; print(kafka.__version__, kafka.__file__)"],
            capture_output=True,
            timeout=30,
            cwd="/",
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = proc.stdout.decode().split()
    return out[0] if proc.returncode == 0 and out[1].startswith("/usr/lib/python3/dist-packages/") else None


DEBIAN_KAFKA = _debian_kafka_version()
pytestmark = pytest.mark.skipif(
    DEBIAN_KAFKA is None, reason="python3-kafka not installed (run scripts/test.sh or apt-get install python3-kafka)"
)


def debian_kp(bootstrap: str, *args: str, timeout: float = 90) -> list[dict]:
    """Runs the driver with the system python (cwd / so the venv's kafka cannot shadow
    Debian's); returns its JSON lines."""
    cmd = [SYSTEM_PYTHON, str(DRIVER), bootstrap, *args]
    proc = subprocess.run(cmd, capture_output=True, timeout=timeout, cwd="/")
    assert proc.returncode == 0, (
        f"{' '.join(args)} exited {proc.returncode}\n{proc.stderr.decode(errors='replace')[-4000:]}"
    )
    return [json.loads(line) for line in proc.stdout.decode().splitlines() if line.strip()]


def records(lines: list[dict]) -> list[dict]:
    return [x for x in lines if "offset" in x]


def test_debian_kafka_python_is_2_0_2():
    assert DEBIAN_KAFKA == "2.0.2"


def test_debian_kafka_python_produce_and_group(broker, topic):
    """KafkaProducer (defaults) writes 60 records with keys and headers over 3 partitions:
    the partition/offset of each future is where confluent-kafka reads it, exactly.
    A KafkaConsumer group member reads all 60 exactly once and close() commits the log
    end; after 3 more records (confluent-kafka), the next member of the group reads
    exactly those."""
    ck.create_topic(broker, topic, partitions=3)
    lines = debian_kp(broker, "produce", topic, "60", "d")
    cfg = lines[0]
    assert cfg["api_version"] == [2, 5, 0] and cfg["acks"] == 1 and cfg["compression"] is None, cfg
    sent = {x["key"]: (x["partition"], x["offset"]) for x in records(lines)}
    assert len(sent) == 60
    got = ck.consume_all(broker, topic, 3, expect=60)
    assert len(got) == 60
    for g in got:
        key = g.key.decode()
        i = int(key.rsplit("-", 1)[1])
        assert sent[key] == (g.partition, g.offset), (key, sent[key], g)
        assert g.value == f"value d {i} from python3-kafka".encode(), g
        assert g.headers == [("idx", str(i).encode()), ("client", b"python3-kafka")], g
        assert g.timestamp_type == 1, g
    for p in range(3):
        offs = sorted(o for (pp, o) in sent.values() if pp == p)
        assert offs == list(range(len(offs))), f"partition {p}: {offs}"

    group = f"{topic}-g"
    lines = debian_kp(broker, "consume-group", topic, group, "60")
    assert lines[0]["api_version"] == [2, 5, 0] and lines[0]["enable_auto_commit"] is True, lines[0]
    read = records(lines)
    assert sorted((x["partition"], x["offset"]) for x in read) == sorted(sent.values()), "not every record exactly once"
    for x in read:
        assert sent[x["key"]] == (x["partition"], x["offset"]), x
    hw = groupkit.high_watermarks(broker, topic, 3)
    assert groupkit.committed(broker, group, topic, 3) == hw

    more = ck.produce_records(ck.producer(broker), topic, [Rec(p, f"more-{p}".encode(), b"more") for p in range(3)])
    again = records(debian_kp(broker, "consume-group", topic, group, "3"))
    assert sorted((x["partition"], x["offset"], x["key"]) for x in again) == sorted(
        (m.partition, m.offset, m.key.decode()) for m in more
    ), "the next member did not resume at the committed offsets"
    assert groupkit.committed(broker, group, topic, 3) == groupkit.high_watermarks(broker, topic, 3)


def test_debian_kafka_python_admin(broker, topic):
    """KafkaAdminClient create_topics (no error), then list_topics + describe_topics
    show it and a topic confluent-kafka created, with their partition counts."""
    lines = debian_kp(broker, "create-topic", topic, "4")
    assert lines == [{"event": "created", "errors": [[topic, 0, ""]]}], lines
    assert ck.topic_partitions(broker, topic) == {topic: 4}
    other = f"{topic}-ck"
    ck.create_topic(broker, other, partitions=2)
    listed = {x["topic"]: x["partitions"] for x in debian_kp(broker, "list-topics")}
    # Only this test's topics: the broker may be shared with other tests (compat/target.py).
    mine = {name: n for name, n in listed.items() if name.startswith(topic)}
    assert mine == {topic: 4, other: 2}, listed
