"""SASL over SASL_PLAINTEXT: every client in the compat set authenticating with PLAIN,
SCRAM-SHA-256 and SCRAM-SHA-512 (each client's defaults apart from the security
settings), producing and consuming; failing with the client's own authentication error
on a wrong password; SCRAM users managed at run time with confluent-kafka's AdminClient.

The broker has two listeners: PLAINTEXT (the ready file's first line) and SASL_PLAINTEXT
on a port of its own, with users from a --users-file.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import (
    AdminClient,
    NewTopic,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
USERS = {"alice": "alice-secret", "bob": "b:ob pw"}
KAFKAJS = Path(__file__).resolve().parent / "kafkajs"


@pytest.fixture
def sasl(broker_factory, tmp_path):
    users = tmp_path / "users"
    users.write_text("# compat users\n" + "".join(f"{u}:{p}\n" for u, p in USERS.items()))
    b = broker_factory(extra_args=["--listen", "SASL_PLAINTEXT://127.0.0.1:0", "--users-file", str(users)])
    assert set(b.listeners) == {"PLAINTEXT", "SASL_PLAINTEXT"}, b.listeners
    assert b.listeners["PLAINTEXT"] == b.bootstrap
    return b


def ck_conf(b, mechanism: str, user: str = "alice", password: str | None = None) -> dict:
    return {
        "bootstrap.servers": b.listeners["SASL_PLAINTEXT"],
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": mechanism,
        "sasl.username": user,
        "sasl.password": USERS.get(user, "") if password is None else password,
    }


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def port(addr: str) -> int:
    return int(addr.rsplit(":", 1)[1])


def ck_roundtrip(conf: dict, topic: str, n: int = 10) -> list[str]:
    p = Producer(conf)
    values = [f"v{i}" for i in range(n)]
    for v in values:
        p.produce(topic, value=v.encode())
    assert p.flush(20) == 0
    c = Consumer({**conf, "group.id": unique("g"), "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    got = []
    deadline = time.monotonic() + 30
    while len(got) < n and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            got.append(m.value().decode())
    c.close()
    return got


def ck_auth_error(conf: dict) -> KafkaError:
    """The first error librdkafka reports for a client that cannot authenticate."""
    errors: list[KafkaError] = []
    p = Producer({**conf, "error_cb": errors.append})
    deadline = time.monotonic() + 20
    while not errors and time.monotonic() < deadline:
        p.poll(0.2)
    assert errors, "no error reported"
    return errors[0]


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_confluent_kafka_authenticates_produces_and_consumes(sasl, topic, mechanism):
    conf = ck_conf(sasl, mechanism, "bob")
    assert ck_roundtrip(conf, topic) == [f"v{i}" for i in range(10)]
    # Brokers are described by the listener of the connection.
    md = AdminClient(conf).list_topics(timeout=10)
    assert [b.port for b in md.brokers.values()] == [port(sasl.listeners["SASL_PLAINTEXT"])]
    md = AdminClient({"bootstrap.servers": sasl.bootstrap}).list_topics(timeout=10)
    assert [b.port for b in md.brokers.values()] == [port(sasl.bootstrap)]


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_confluent_kafka_wrong_password(sasl, mechanism):
    err = ck_auth_error(ck_conf(sasl, mechanism, "alice", "wrong"))
    assert err.code() == KafkaError._AUTHENTICATION, err
    assert "Authentication failed" in err.str(), err.str()
    # The broker keeps serving the others.
    assert ck_roundtrip(ck_conf(sasl, mechanism), unique("after-failure"), 3) == ["v0", "v1", "v2"]


def test_a_plaintext_client_on_the_sasl_listener_is_disconnected(sasl):
    errors: list[KafkaError] = []
    p = Producer({"bootstrap.servers": sasl.listeners["SASL_PLAINTEXT"], "error_cb": errors.append})
    deadline = time.monotonic() + 10
    while not errors and time.monotonic() < deadline:
        p.poll(0.2)
    assert errors, "librdkafka should report the dropped connection"
    assert "request before SASL authentication" in sasl.log_tail(200)


def kp_sasl(b, mechanism: str, user: str = "alice", password: str | None = None) -> dict:
    return {
        "bootstrap_servers": b.listeners["SASL_PLAINTEXT"],
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": mechanism,
        "sasl_plain_username": user,
        "sasl_plain_password": USERS.get(user, "") if password is None else password,
    }


def kp_roundtrip(conf: dict, topic: str) -> None:
    """kafka-python's producer writes five records; its consumer (a group) reads them back."""
    from kafka import KafkaConsumer, KafkaProducer

    p = KafkaProducer(**conf)
    for i in range(5):
        p.send(topic, f"kp{i}".encode())
    p.flush(20)
    p.close()
    c = KafkaConsumer(topic, group_id=unique("kp"), auto_offset_reset="earliest", consumer_timeout_ms=15000, **conf)
    got = []
    for m in c:
        got.append(m.value.decode())
        if len(got) == 5:
            break
    c.close()
    assert got == [f"kp{i}" for i in range(5)]


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_kafka_python(sasl, topic, mechanism):

    conf = kp_sasl(sasl, mechanism)
    kp_roundtrip(conf, topic)


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_kafka_python_wrong_password(sasl, mechanism, caplog):
    import kafka.errors as Errors
    from kafka import KafkaProducer

    caplog.set_level("INFO", logger="kafka")
    # kafka-python 3 retries the bootstrap and gives up with a timeout; the reason it
    # logs is the broker's SaslAuthenticate error.
    with pytest.raises((Errors.SaslAuthenticationFailedError, Errors.KafkaTimeoutError)):
        # (A shorter bootstrap than the default 30 s keeps the test quick.)
        KafkaProducer(**kp_sasl(sasl, mechanism, "bob", "wrong"), bootstrap_timeout_ms=5000)
    assert "SaslAuthenticationFailed" in caplog.text, caplog.text[-3000:]
    assert "SASL authentication failed" in sasl.log_tail(200)


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_aiokafka(sasl, topic, mechanism):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    conf = kp_sasl(sasl, mechanism, "bob")

    async def run():
        p = AIOKafkaProducer(**conf)
        await p.start()
        try:
            for i in range(5):
                await p.send_and_wait(topic, f"ak{i}".encode())
        finally:
            await p.stop()
        c = AIOKafkaConsumer(topic, group_id=unique("ak"), auto_offset_reset="earliest", **conf)
        await c.start()
        got = []
        try:
            async with asyncio.timeout(30):
                async for m in c:
                    got.append(m.value.decode())
                    if len(got) == 5:
                        break
        finally:
            await c.stop()
        return got

    assert asyncio.run(run()) == [f"ak{i}" for i in range(5)]


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_aiokafka_wrong_password(sasl, mechanism, caplog):
    import aiokafka.errors as Errors
    from aiokafka import AIOKafkaProducer

    caplog.set_level("ERROR", logger="aiokafka")

    async def run():
        p = AIOKafkaProducer(**kp_sasl(sasl, mechanism, "bob", "wrong"))
        try:
            await p.start()
        finally:
            await p.stop()

    # aiokafka gives up bootstrapping with a connection error; the reason it logs is the
    # broker's SaslAuthenticate error (58) with Kafka's message.
    with pytest.raises(Errors.KafkaConnectionError):
        asyncio.run(run())
    assert "SaslAuthenticationFailed" in caplog.text, caplog.text[-3000:]
    assert "Authentication failed" in caplog.text
    assert "SASL authentication failed" in sasl.log_tail(200)


kafkajs_missing = pytest.mark.skipif(
    shutil.which("node") is None or not (KAFKAJS / "node_modules" / "kafkajs").is_dir(),
    reason="node or compat/kafkajs/node_modules missing (npm ci in compat/kafkajs)",
)


def run_kafkajs(*args) -> dict:
    proc = subprocess.run(
        ["node", str(KAFKAJS / "sasl.js"), *args], cwd=KAFKAJS, capture_output=True, text=True, timeout=90
    )
    results = [l[len("RESULT ") :] for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    assert proc.returncode == 0 and len(results) == 1, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-4000:]}"
    return json.loads(results[0])


@kafkajs_missing
@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_kafkajs(sasl, topic, mechanism):
    out = run_kafkajs("roundtrip", sasl.listeners["SASL_PLAINTEXT"], topic, mechanism.lower(), "alice", USERS["alice"])
    assert out["consumed"] == out["produced"]


@kafkajs_missing
@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_kafkajs_wrong_password(sasl, mechanism):
    out = run_kafkajs("badauth", sasl.listeners["SASL_PLAINTEXT"], "-", mechanism.lower(), "alice", "wrong")
    assert out["error"] == "KafkaJSSASLAuthenticationError", out
    assert "Authentication failed" in out["message"], out


def kcat(b, mechanism: str, user: str, password: str, *args, stdin: str | None = None):
    return subprocess.run(
        [
            "kcat",
            "-b",
            b.listeners["SASL_PLAINTEXT"],
            "-X",
            "security.protocol=SASL_PLAINTEXT",
            "-X",
            f"sasl.mechanisms={mechanism}",
            "-X",
            f"sasl.username={user}",
            "-X",
            f"sasl.password={password}",
            *args,
        ],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat not installed")
@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_kcat_scram(sasl, topic, mechanism):
    # Debian's kcat links librdkafka 2.0.2, whose SCRAM client-final repeats the client
    # nonce (fixed in librdkafka 2.6.1): Rill accepts that form, as Kafka 3.8.1-3.9 did.
    out = kcat(sasl, mechanism, "bob", USERS["bob"], "-P", "-t", topic, stdin="k1\nk2\nk3\n")
    assert out.returncode == 0, out.stderr
    out = kcat(sasl, mechanism, "alice", USERS["alice"], "-C", "-t", topic, "-e", "-o", "beginning")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["k1", "k2", "k3"]
    out = kcat(sasl, mechanism, "alice", "wrong", "-L", "-m", "3")
    assert out.returncode != 0
    assert "Authentication failed" in out.stderr, out.stderr


def test_describe_user_scram_credentials_lists_the_users_file(sasl):
    admin = AdminClient(ck_conf(sasl, "SCRAM-SHA-512"))
    described = admin.describe_user_scram_credentials().result(timeout=10)
    assert set(described) == set(USERS)
    for user, desc in described.items():
        infos = sorted((i.mechanism, i.iterations) for i in desc.scram_credential_infos)
        assert infos == [(ScramMechanism.SCRAM_SHA_256, 4096), (ScramMechanism.SCRAM_SHA_512, 4096)], user
    futures = admin.describe_user_scram_credentials(["alice", "nobody"])
    assert futures["alice"].result(timeout=10).user == "alice"
    with pytest.raises(Exception) as info:
        futures["nobody"].result(timeout=10)
    assert "RESOURCE_NOT_FOUND" in str(info.value) or "does not exist" in str(info.value)


def test_a_scram_user_added_at_run_time_connects_and_is_refused_once_deleted(sasl, topic):
    admin = AdminClient(ck_conf(sasl, "SCRAM-SHA-256"))
    admin.create_topics([NewTopic(topic, 1)])[topic].result(timeout=10)
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 8192)
    futures = admin.alter_user_scram_credentials([UserScramCredentialUpsertion("carol", info, b"carol-pw")])
    futures["carol"].result(timeout=10)
    carol = ck_conf(sasl, "SCRAM-SHA-256", "carol", "carol-pw")
    assert ck_roundtrip(carol, topic, 3) == ["v0", "v1", "v2"]
    desc = admin.describe_user_scram_credentials(["carol"])["carol"].result(timeout=10)
    assert [(i.mechanism, i.iterations) for i in desc.scram_credential_infos] == [(ScramMechanism.SCRAM_SHA_256, 8192)]
    # Too few iterations: UNACCEPTABLE_CREDENTIAL.
    few = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 1024)
    with pytest.raises(Exception) as refused:
        admin.alter_user_scram_credentials([UserScramCredentialUpsertion("dave", few, b"pw")])["dave"].result(timeout=10)
    assert "UNACCEPTABLE_CREDENTIAL" in str(refused.value) or "iterations" in str(refused.value)
    # Deleted: refused.
    futures = admin.alter_user_scram_credentials([UserScramCredentialDeletion("carol", ScramMechanism.SCRAM_SHA_256)])
    futures["carol"].result(timeout=10)
    err = ck_auth_error(carol)
    assert err.code() == KafkaError._AUTHENTICATION, err
