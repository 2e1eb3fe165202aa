"""TLS: SSL and SASL_SSL listeners (`--tls-cert`, `--tls-key`, `--tls-client-ca`) with
every client in the compat set, each with its defaults apart from the security settings
(hostname verification stays on: the server certificate names 127.0.0.1).

The broker has PLAINTEXT (the ready file's first line), SSL and SASL_SSL listeners, each on
a port of its own; certificates come from a throwaway CA made with trustme.
"""

from __future__ import annotations

import asyncio
import datetime
import shutil
import ssl
import subprocess
import time
from pathlib import Path

import pytest
import trustme
from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import AdminClient

from test_sasl import MECHANISMS, USERS, kp_roundtrip, ck_auth_error, ck_roundtrip, kafkajs_missing, port, run_kafkajs, unique


class Pki:
    """Files of one throwaway CA: the server's certificate for 127.0.0.1 and localhost,
    a client certificate for alice, and a second CA nobody trusts."""

    def __init__(self, root: Path):
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        ca = trustme.CA(organization_name="Rill compat CA")
        self.ca = self._write(ca.cert_pem, "ca.pem")
        server = ca.issue_cert("127.0.0.1", "localhost")
        self.cert = self._write_chain(server, "server.pem")
        self.key = self._write(server.private_key_pem, "server.key")
        client = ca.issue_cert(
            "alice.example", common_name="alice", organization_name="Example", organization_unit_name="dev"
        )
        self.client_cert = self._write_chain(client, "client.pem")
        self.client_key = self._write(client.private_key_pem, "client.key")
        past = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
        expired = ca.issue_cert(
            "old.example", common_name="old", not_before=past, not_after=past + datetime.timedelta(days=1)
        )
        self.expired_cert = self._write_chain(expired, "expired.pem")
        self.expired_key = self._write(expired.private_key_pem, "expired.key")
        foreign = trustme.CA(organization_name="Somebody else's CA")
        self.foreign_ca = self._write(foreign.cert_pem, "foreign-ca.pem")
        stranger = foreign.issue_cert("mallory.example", common_name="mallory")
        self.foreign_cert = self._write_chain(stranger, "foreign.pem")
        self.foreign_key = self._write(stranger.private_key_pem, "foreign.key")

    def _write(self, blob, name: str) -> str:
        path = self.root / name
        blob.write_to_path(str(path))
        return str(path)

    def _write_chain(self, issued, name: str) -> str:
        path = self.root / name
        path.write_bytes(b"".join(b.bytes() for b in issued.cert_chain_pems))
        return str(path)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


def logged(b, needle: str, timeout: float = 5.0) -> bool:
    """Whether the broker's log shows `needle` (waiting a little: the broker may log just
    after the client saw the connection close)."""
    deadline = time.monotonic() + timeout
    while needle not in b.log_tail(400):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def tls_args(pki: Pki) -> list[str]:
    return ["--tls-cert", pki.cert, "--tls-key", pki.key]


@pytest.fixture
def tls(broker_factory, pki, tmp_path):
    users = tmp_path / "users"
    users.write_text("".join(f"{u}:{p}\n" for u, p in USERS.items()))
    b = broker_factory(
        extra_args=[
            "--listen",
            "SSL://127.0.0.1:0",
            "--listen",
            "SASL_SSL://127.0.0.1:0",
            "--users-file",
            str(users),
            *tls_args(pki),
        ]
    )
    assert set(b.listeners) == {"PLAINTEXT", "SSL", "SASL_SSL"}, b.listeners
    return b


def ck_ssl(b, pki: Pki) -> dict:
    return {"bootstrap.servers": b.listeners["SSL"], "security.protocol": "SSL", "ssl.ca.location": pki.ca}


def ck_sasl_ssl(b, pki: Pki, mechanism: str, user: str = "alice", password: str | None = None) -> dict:
    return {
        "bootstrap.servers": b.listeners["SASL_SSL"],
        "security.protocol": "SASL_SSL",
        "ssl.ca.location": pki.ca,
        "sasl.mechanism": mechanism,
        "sasl.username": user,
        "sasl.password": USERS.get(user, "") if password is None else password,
    }


def test_confluent_kafka_over_ssl(tls, pki, topic):
    conf = ck_ssl(tls, pki)
    assert ck_roundtrip(conf, topic, 20) == [f"v{i}" for i in range(20)]
    # Metadata describes the broker by the SSL listener's address.
    md = AdminClient(conf).list_topics(timeout=10)
    assert [b.port for b in md.brokers.values()] == [port(tls.listeners["SSL"])]


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_confluent_kafka_over_sasl_ssl(tls, pki, topic, mechanism):
    conf = ck_sasl_ssl(tls, pki, mechanism, "bob")
    assert ck_roundtrip(conf, topic) == [f"v{i}" for i in range(10)]
    err = ck_auth_error(ck_sasl_ssl(tls, pki, mechanism, "bob", "wrong"))
    assert err.code() == KafkaError._AUTHENTICATION, err
    assert "Authentication failed" in err.str(), err.str()


def test_large_fetches_come_whole_over_tls(tls, pki, topic):
    # Fetch responses over TLS take the copy path (no sendfile): many MiB, across
    # segment-sized reads, arrive intact.
    conf = ck_ssl(tls, pki)
    p = Producer(conf)
    payloads = [bytes([i % 251]) * 100_000 for i in range(60)]
    for v in payloads:
        p.produce(topic, value=v)
    assert p.flush(30) == 0
    c = Consumer({**conf, "group.id": unique("big"), "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    got = []
    deadline = time.monotonic() + 60
    while len(got) < len(payloads) and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            got.append(m.value())
    c.close()
    assert got == payloads


def test_a_plaintext_client_on_a_tls_port_is_refused_and_others_are_served(tls, pki, topic):
    errors: list[KafkaError] = []
    p = Producer({"bootstrap.servers": tls.listeners["SSL"], "error_cb": errors.append})
    deadline = time.monotonic() + 10
    while not errors and time.monotonic() < deadline:
        p.poll(0.2)
    assert errors, "librdkafka should report the dropped connection"
    assert logged(tls, "TLS handshake failed")
    assert ck_roundtrip(ck_ssl(tls, pki), topic, 3) == ["v0", "v1", "v2"]


def test_a_client_that_does_not_trust_the_certificate_fails_its_handshake(tls, pki):
    errors: list[KafkaError] = []
    conf = {**ck_ssl(tls, pki), "ssl.ca.location": pki.foreign_ca, "error_cb": errors.append}
    p = Producer(conf)
    deadline = time.monotonic() + 10
    while not errors and time.monotonic() < deadline:
        p.poll(0.2)
    assert errors, "no error reported"
    assert errors[0].code() in (KafkaError._SSL, KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN), errors[0]
    assert "certificate verify failed" in " ".join(e.str() for e in errors), [e.str() for e in errors]


def kp_sasl_ssl(b, pki: Pki, mechanism: str, user: str = "alice", password: str | None = None) -> dict:
    return {
        "bootstrap_servers": b.listeners["SASL_SSL"],
        "security_protocol": "SASL_SSL",
        "ssl_cafile": pki.ca,
        "sasl_mechanism": mechanism,
        "sasl_plain_username": user,
        "sasl_plain_password": USERS.get(user, "") if password is None else password,
    }


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-512"])
def test_kafka_python_over_sasl_ssl(tls, pki, topic, mechanism):
    import kafka.errors as Errors
    from kafka import KafkaProducer

    conf = kp_sasl_ssl(tls, pki, mechanism)
    kp_roundtrip(conf, topic)
    with pytest.raises((Errors.SaslAuthenticationFailedError, Errors.KafkaTimeoutError)):
        KafkaProducer(**kp_sasl_ssl(tls, pki, mechanism, "bob", "wrong"), bootstrap_timeout_ms=5000)
    assert logged(tls, "SASL authentication failed")


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256"])
def test_aiokafka_over_sasl_ssl(tls, pki, topic, mechanism):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.helpers import create_ssl_context

    def conf() -> dict:
        return {
            "bootstrap_servers": tls.listeners["SASL_SSL"],
            "security_protocol": "SASL_SSL",
            "ssl_context": create_ssl_context(cafile=pki.ca),
            "sasl_mechanism": mechanism,
            "sasl_plain_username": "bob",
            "sasl_plain_password": USERS["bob"],
        }

    async def run():
        p = AIOKafkaProducer(**conf())
        await p.start()
        try:
            for i in range(5):
                await p.send_and_wait(topic, f"ak{i}".encode())
        finally:
            await p.stop()
        c = AIOKafkaConsumer(topic, group_id=unique("ak"), auto_offset_reset="earliest", **conf())
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


@kafkajs_missing
@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_kafkajs_over_sasl_ssl(tls, pki, topic, mechanism):
    out = run_kafkajs(
        "roundtrip", tls.listeners["SASL_SSL"], topic, mechanism.lower(), "alice", USERS["alice"], pki.ca
    )
    assert out["consumed"] == out["produced"]
    out = run_kafkajs("badauth", tls.listeners["SASL_SSL"], "-", mechanism.lower(), "alice", "wrong", pki.ca)
    assert out["error"] == "KafkaJSSASLAuthenticationError", out


def kcat_ssl(b, pki: Pki, *args, stdin: str | None = None, extra: list[str] | None = None):
    return subprocess.run(
        [
            "kcat",
            "-b",
            b.listeners["SSL"],
            "-X",
            "security.protocol=SSL",
            "-X",
            f"ssl.ca.location={pki.ca}",
            *(extra or []),
            *args,
        ],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat not installed")
def test_kcat_over_ssl(tls, pki, topic):
    out = kcat_ssl(tls, pki, "-P", "-t", topic, stdin="s1\ns2\ns3\n")
    assert out.returncode == 0, out.stderr
    out = kcat_ssl(tls, pki, "-C", "-t", topic, "-e", "-o", "beginning")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["s1", "s2", "s3"]


def test_kafka_image_pem_keystore_variables(broker_factory, pki, topic, tmp_path):
    # The apache/kafka image's way: KAFKA_SSL_KEYSTORE_TYPE=PEM and a location holding the
    # key and the chain in one file.
    combined = tmp_path / "keystore.pem"
    combined.write_text(Path(pki.key).read_text() + Path(pki.cert).read_text())
    b = broker_factory(
        extra_args=["--listen", "SSL://127.0.0.1:0"],
        env={"KAFKA_SSL_KEYSTORE_TYPE": "PEM", "KAFKA_SSL_KEYSTORE_LOCATION": str(combined)},
    )
    assert ck_roundtrip(ck_ssl(b, pki), topic, 2) == ["v0", "v1"]


# Mutual TLS: --tls-client-ca makes client certificates required.


@pytest.fixture
def mtls(broker_factory, pki):
    b = broker_factory(
        extra_args=["--listen", "SSL://127.0.0.1:0", *tls_args(pki), "--tls-client-ca", pki.ca],
        log_level="info,rill::server=debug",
    )
    return b


def test_mutual_tls_takes_the_certificate_subject_as_principal(mtls, pki, topic):
    conf = {**ck_ssl(mtls, pki), "ssl.certificate.location": pki.client_cert, "ssl.key.location": pki.client_key}
    assert ck_roundtrip(conf, topic, 3) == ["v0", "v1", "v2"]
    assert logged(mtls, "subject=CN=alice,OU=dev,O=Example")


def test_acls_apply_to_the_certificate_principal(broker_factory, pki, topic):
    from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, NewTopic, ResourcePatternType, ResourceType
    from test_acl import produce_one

    # The PLAINTEXT listener's ANONYMOUS is the administrator here.
    b = broker_factory(
        extra_args=[
            "--listen",
            "SSL://127.0.0.1:0",
            *tls_args(pki),
            "--tls-client-ca",
            pki.ca,
            "--authorizer",
            "acl",
            "--super-users",
            "User:ANONYMOUS",
        ]
    )
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    admin.create_topics([NewTopic(topic, 1)])[topic].result(15)
    alice = {**ck_ssl(b, pki), "ssl.certificate.location": pki.client_cert, "ssl.key.location": pki.client_key}
    err = produce_one(alice, topic)
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, err
    principal = "User:CN=alice,OU=dev,O=Example"
    acl = AclBinding(
        ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, principal, "*", AclOperation.WRITE, AclPermissionType.ALLOW
    )
    for f in admin.create_acls([acl]).values():
        f.result(10)
    assert produce_one(alice, topic) is None


def test_mutual_tls_refuses_clients_without_a_trusted_certificate(mtls, pki, topic):
    # No certificate at all.
    err = ck_auth_error(ck_ssl(mtls, pki))
    assert err.code() in (KafkaError._SSL, KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN), err
    assert logged(mtls, "TLS handshake failed")
    assert logged(mtls, "peer sent no certificates")
    # A certificate from a CA the broker does not trust: librdkafka does not even send it
    # (the broker names the CAs it accepts), so present it with Python's ssl module.
    err = ck_auth_error({**ck_ssl(mtls, pki), "ssl.certificate.location": pki.foreign_cert, "ssl.key.location": pki.foreign_key})
    assert "certificate required" in err.str(), err.str()
    import socket

    host, p = mtls.listeners["SSL"].rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=pki.ca)
    ctx.load_cert_chain(pki.foreign_cert, pki.foreign_key)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        with socket.create_connection((host, int(p)), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname=host) as s:
                # TLS 1.3: the refusal of the client's certificate arrives on the first read.
                s.sendall(b"\0\0\0\0")
                s.recv(1)
    assert logged(mtls, "UnknownIssuer"), mtls.log_tail(20)
    # An expired certificate from the trusted CA.
    ck_auth_error({**ck_ssl(mtls, pki), "ssl.certificate.location": pki.expired_cert, "ssl.key.location": pki.expired_key})
    assert logged(mtls, "certificate expired"), mtls.log_tail(20)
    # The broker keeps serving a client with a good certificate.
    good = {**ck_ssl(mtls, pki), "ssl.certificate.location": pki.client_cert, "ssl.key.location": pki.client_key}
    assert ck_roundtrip(good, topic, 2) == ["v0", "v1"]


def test_python_ssl_module_sees_tls13(tls, pki):
    # The plain `ssl` module of the standard library: TLS 1.3 by default, and the
    # certificate verifies for 127.0.0.1.
    host, p = tls.listeners["SSL"].rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=pki.ca)
    import socket

    with socket.create_connection((host, int(p)), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as s:
            assert s.version() == "TLSv1.3"
            assert s.getpeercert()["subjectAltName"]


def test_tls_listener_without_a_certificate_is_one_clear_error(broker_factory):
    b = broker_factory(start=False, extra_args=["--listen", "SSL://127.0.0.1:0"])
    with pytest.raises(Exception):
        b.start()
    assert "needs --tls-cert and --tls-key" in b.log_tail(50)

