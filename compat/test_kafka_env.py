"""A docker-compose environment written for the apache/kafka image, run on `rill serve`.

The KAFKA_* variables of such a file (listeners with a controller listener, advertised
listeners, KRaft roles, replication factors, partitions, retention…) configure Rill
unchanged; other server.properties keys go through `--broker-config`. Checked with
confluent-kafka (defaults): the listener it is told about, auto-created topics with the
configured partition count, DescribeConfigs reporting the settings as static broker
configs with Kafka's synonyms, and a bad listener refused in one line with exit code 1.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

from rill_broker import rill_bin

pytestmark = pytest.mark.needs("flags")  # starts rill with KAFKA_* environment

STATIC_BROKER_CONFIG = 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def refused(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) != 0


class EnvBroker:
    """`rill serve --ephemeral` configured only through the environment (no --listen)."""

    def __init__(self, tmp: Path, env: dict[str, str], args: list[str] | None = None):
        self.ready = tmp / "ready"
        self.log = tmp / "rill.log"
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "RILL_"))}
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [str(rill_bin()), "serve", "--ephemeral", "--ready-file", str(self.ready), *(args or [])],
                env={**clean, "NO_COLOR": "1", **env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self) -> str:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.ready.exists() and self.ready.read_text().endswith("\n"):
                # The Kafka listeners' lines (not the HTTP listener's).
                lines = self.ready.read_text().strip().splitlines()
                return "\n".join(line for line in lines if not line.startswith(("http://", "https://")))
            assert self.proc.poll() is None, self.log.read_text()
            time.sleep(0.02)
        raise AssertionError("not ready: " + self.log.read_text())

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(timeout=15)


@pytest.fixture
def env_broker(tmp_path):
    started: list[EnvBroker] = []

    def make(env: dict[str, str], args: list[str] | None = None) -> EnvBroker:
        b = EnvBroker(tmp_path, env, args)
        started.append(b)
        return b

    yield make
    for b in started:
        assert b.stop() == 0, b.log.read_text()


def broker_config(admin: AdminClient, name: str):
    res = ConfigResource(ResourceType.BROKER, "1")
    return admin.describe_configs([res])[res].result(timeout=10)[name]


def test_an_apache_kafka_compose_environment_configures_rill(env_broker):
    port, controller = free_port(), free_port()
    b = env_broker(
        {
            # What the apache/kafka image's compose examples carry, as they carry it.
            "KAFKA_NODE_ID": "1",
            "KAFKA_PROCESS_ROLES": "broker,controller",
            "KAFKA_LISTENERS": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
            "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://127.0.0.1:{port}",
            "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "KAFKA_CONTROLLER_QUORUM_VOTERS": f"1@127.0.0.1:{controller}",
            "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
            "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
            "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
            "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
            "KAFKA_NUM_PARTITIONS": "3",
            "KAFKA_LOG_RETENTION_HOURS": "5",
            "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "true",
        }
    )
    assert b.wait_ready() == f"127.0.0.1:{port}"
    assert refused(controller), "Rill is its own controller: no controller listener"
    bootstrap = f"127.0.0.1:{port}"

    topic = f"compose-{uuid.uuid4().hex[:8]}"
    p = Producer({"bootstrap.servers": bootstrap})
    for i in range(30):
        p.produce(topic, key=str(i).encode(), value=f"v{i}".encode())
    assert p.flush(15) == 0

    admin = AdminClient({"bootstrap.servers": bootstrap})
    md = admin.list_topics(topic, timeout=10)
    assert len(md.topics[topic].partitions) == 3, "KAFKA_NUM_PARTITIONS"
    assert [b.port for b in md.brokers.values()] == [port], "KAFKA_ADVERTISED_LISTENERS"

    hours = broker_config(admin, "log.retention.hours")
    assert hours.value == "5" and hours.source == STATIC_BROKER_CONFIG
    res = ConfigResource(ResourceType.TOPIC, topic)
    retention = admin.describe_configs([res])[res].result(timeout=10)["retention.ms"]
    assert retention.value == str(5 * 3600 * 1000)
    assert retention.source == STATIC_BROKER_CONFIG
    assert "log.retention.hours" in {s.name for s in retention.synonyms.values()}

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "compose", "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    got = set()
    deadline = time.monotonic() + 30
    while len(got) < 30 and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            got.add(m.value().decode())
    c.close()
    assert got == {f"v{i}" for i in range(30)}


def test_broker_config_flags_and_unknown_env_names(env_broker):
    port = free_port()
    b = env_broker(
        {"KAFKA_LISTENERS": f"PLAINTEXT://127.0.0.1:{port}", "KAFKA_NO_SUCH_SETTING": "x"},
        ["--broker-config", "log.segment.bytes=2097152", "--broker-config", "message.max.bytes=2000000"],
    )
    bootstrap = b.wait_ready()
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for name, value in [("log.segment.bytes", "2097152"), ("message.max.bytes", "2000000")]:
        e = broker_config(admin, name)
        assert (e.value, e.source) == (value, STATIC_BROKER_CONFIG), name
    log = b.log.read_text()
    assert "KAFKA_NO_SUCH_SETTING" in log, "an unknown KAFKA_ name is warned about"


@pytest.mark.parametrize(
    "env,args,names",
    [
        (
            {"KAFKA_LISTENERS": "SSL://127.0.0.1:{port}", "KAFKA_SSL_KEYSTORE_LOCATION": "/certs/broker.jks"},
            [],
            "KAFKA_SSL_KEYSTORE_LOCATION",
        ),
        ({"KAFKA_LISTENERS": "PLAINTEXT://127.0.0.1:notaport"}, [], "KAFKA_LISTENERS"),
        ({"KAFKA_NUM_PARTITIONS": "three"}, [], "KAFKA_NUM_PARTITIONS"),
        ({}, ["--broker-config", "no.such.config=1"], "no.such.config"),
    ],
)
def test_a_broken_setting_is_one_line_and_exit_1(tmp_path, env, args, names):
    port = free_port()
    env = {k: v.format(port=port) for k, v in env.items()}
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "RILL_"))}
    out = subprocess.run(
        [str(rill_bin()), "serve", "--ephemeral", *args],
        env={**clean, "NO_COLOR": "1", **env},
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert out.returncode != 0
    lines = [l for l in out.stderr.splitlines() if l.strip()]
    assert lines and names in lines[0], out.stderr
    assert "ready" not in out.stdout
    assert refused(port)


def test_a_sasl_plaintext_listener_from_the_environment(env_broker, tmp_path):
    internal, external = free_port(), free_port()
    users = tmp_path / "users"
    users.write_text("alice:alice-secret\n")
    b = env_broker(
        {
            "KAFKA_LISTENERS": f"INTERNAL://127.0.0.1:{internal},EXTERNAL://127.0.0.1:{external}",
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "INTERNAL:PLAINTEXT,EXTERNAL:SASL_PLAINTEXT",
            "KAFKA_ADVERTISED_LISTENERS": f"INTERNAL://127.0.0.1:{internal},EXTERNAL://localhost:{external}",
            "KAFKA_SASL_ENABLED_MECHANISMS": "SCRAM-SHA-512",
            "RILL_USERS_FILE": str(users),
        }
    )
    assert b.wait_ready().splitlines()[0] == f"127.0.0.1:{internal}"
    sasl = {
        "bootstrap.servers": f"127.0.0.1:{external}",
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "alice",
        "sasl.password": "alice-secret",
    }
    md = AdminClient(sasl).list_topics(timeout=10)
    # Each listener advertises its own address.
    assert [(b.host, b.port) for b in md.brokers.values()] == [("localhost", external)]
    md = AdminClient({"bootstrap.servers": f"127.0.0.1:{internal}"}).list_topics(timeout=10)
    assert [(b.host, b.port) for b in md.brokers.values()] == [("127.0.0.1", internal)]
    # PLAIN is not among KAFKA_SASL_ENABLED_MECHANISMS.
    errors = []
    p = Producer({**sasl, "sasl.mechanism": "PLAIN", "error_cb": errors.append})
    deadline = time.monotonic() + 10
    while not errors and time.monotonic() < deadline:
        p.poll(0.2)
    assert errors and "PLAIN" in errors[0].str(), errors
