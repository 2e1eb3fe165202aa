"""ACLs with real clients: a broker with `--authorizer acl --super-users admin`, users
over SASL_PLAINTEXT (PLAIN). Bindings created, listed and deleted through
confluent-kafka's AdminClient, kafka-python's KafkaAdminClient and KafkaJS's admin
(compat/kafkajs/acl.js) as the super user,
and enforced: a user's produce and consume are refused (each client's own
authorization error) until ACLs allow them, and again once deleted; Metadata hides
topics a user may not describe; a consumer group needs READ on the group. Each client's
defaults apart from the security settings.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

USERS = {"admin": "admin-secret", "alice": "alice-secret", "bob": "bob-secret", "carol": "carol-secret"}
KAFKAJS = Path(__file__).resolve().parent / "kafkajs"


@pytest.fixture
def secured(broker_factory, tmp_path):
    users = tmp_path / "users"
    users.write_text("".join(f"{u}:{p}\n" for u, p in USERS.items()))
    return broker_factory(
        extra_args=[
            "--listen",
            "SASL_PLAINTEXT://127.0.0.1:0",
            "--users-file",
            str(users),
            "--authorizer",
            "acl",
            "--super-users",
            "admin",
        ]
    )


def conf(b, user: str) -> dict:
    return {
        "bootstrap.servers": b.listeners["SASL_PLAINTEXT"],
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "PLAIN",
        "sasl.username": user,
        "sasl.password": USERS[user],
    }


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_topic(admin: AdminClient, name: str) -> None:
    admin.create_topics([NewTopic(name, 1)])[name].result(15)


def binding(rt, name, principal, op, perm=AclPermissionType.ALLOW, pattern=ResourcePatternType.LITERAL):
    return AclBinding(rt, name, pattern, principal, "*", op, perm)


def produce_one(c: dict, topic: str) -> KafkaError | None:
    """Produces one record; the delivery error (None when delivered)."""
    result: list = []
    p = Producer(c)
    p.produce(topic, value=b"v", on_delivery=lambda err, msg: result.append(err))
    p.flush(20)
    assert result, "no delivery report"
    return result[0]


def consume_error(c: dict, topic: str, group: str) -> KafkaError | None:
    """Subscribes and polls: the first error the consumer reports, or None once a record
    arrives."""
    cons = Consumer({**c, "group.id": group, "auto.offset.reset": "earliest"})
    cons.subscribe([topic])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            m = cons.poll(0.5)
            if m is None:
                continue
            if m.error() is not None:
                return m.error()
            return None
        raise AssertionError("neither a record nor an error")
    finally:
        cons.close()


def test_confluent_kafka_acls_are_created_listed_enforced_and_deleted(secured):
    admin = AdminClient(conf(secured, "admin"))
    topic = unique("orders")
    create_topic(admin, topic)
    alice = conf(secured, "alice")

    # The super user needs no ACL; alice is refused.
    assert produce_one(conf(secured, "admin"), topic) is None
    err = produce_one(alice, topic)
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, err

    acls = [
        binding(ResourceType.TOPIC, topic, "User:alice", AclOperation.WRITE),
        binding(ResourceType.TOPIC, topic, "User:alice", AclOperation.READ),
        binding(ResourceType.GROUP, "alice-", "User:alice", AclOperation.READ, pattern=ResourcePatternType.PREFIXED),
    ]
    for f in admin.create_acls(acls).values():
        assert f.result(15) is None
    listed = admin.describe_acls(
        AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, "User:alice", None, AclOperation.ANY, AclPermissionType.ANY)
    ).result(15)
    assert sorted(map(str, listed)) == sorted(map(str, acls))
    # MATCH: what applies to the topic.
    matching = admin.describe_acls(
        AclBindingFilter(ResourceType.TOPIC, topic, ResourcePatternType.MATCH, None, None, AclOperation.ANY, AclPermissionType.ANY)
    ).result(15)
    assert len(matching) == 2

    assert produce_one(alice, topic) is None
    assert consume_error(alice, topic, unique("alice")) is None
    # A group the ACLs do not cover.
    err = consume_error(alice, topic, unique("other"))
    assert err is not None and err.code() == KafkaError.GROUP_AUTHORIZATION_FAILED, err

    # Deleted, the permission is gone again.
    deleted = admin.delete_acls(
        [AclBindingFilter(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, "User:alice", None, AclOperation.ANY, AclPermissionType.ANY)]
    )
    assert len(list(deleted.values())[0].result(15)) == 2
    err = produce_one(alice, topic)
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, err


def test_confluent_kafka_non_super_users_cannot_manage_acls(secured):
    admin = AdminClient(conf(secured, "bob"))
    fut = admin.create_acls([binding(ResourceType.TOPIC, "t", "User:bob", AclOperation.ALL)])
    with pytest.raises(KafkaException) as e:
        list(fut.values())[0].result(15)
    assert e.value.args[0].code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED, e.value


def test_metadata_hides_topics_a_user_may_not_describe(secured):
    admin = AdminClient(conf(secured, "admin"))
    visible, hidden = unique("visible"), unique("hidden")
    create_topic(admin, visible)
    create_topic(admin, hidden)
    for f in admin.create_acls([binding(ResourceType.TOPIC, visible, "User:bob", AclOperation.DESCRIBE)]).values():
        f.result(15)
    names = set(AdminClient(conf(secured, "bob")).list_topics(timeout=15).topics)
    assert visible in names and hidden not in names, names
    assert {visible, hidden} <= set(admin.list_topics(timeout=15).topics)


def kp(b, user: str) -> dict:
    return {
        "bootstrap_servers": b.listeners["SASL_PLAINTEXT"],
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "PLAIN",
        "sasl_plain_username": user,
        "sasl_plain_password": USERS[user],
    }


def test_kafka_python_admin_client_and_enforcement(secured):
    import kafka.errors as Errors
    from kafka import KafkaAdminClient, KafkaProducer
    from kafka.admin import (
        ACL,
        ACLFilter,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        NewTopic as KpNewTopic,
        ResourcePattern,
        ResourcePatternFilter,
        ResourceType as KpResourceType,
    )

    topic = unique("kp")
    admin = KafkaAdminClient(**kp(secured, "admin"))
    admin.create_topics([KpNewTopic(topic, 1, 1)])

    # Before any ACL: bob's (idempotent, by default) producer is refused.
    with pytest.raises(Errors.KafkaError) as e:
        p = KafkaProducer(**kp(secured, "bob"), max_block_ms=10000)
        try:
            p.send(topic, b"x").get(timeout=15)
        finally:
            p.close(timeout=5)
    assert "Authorization" in type(e.value).__name__ or "Authorization" in str(e.value), repr(e.value)

    acl = ACL(
        principal="User:bob",
        host="*",
        operation=ACLOperation.WRITE,
        permission_type=ACLPermissionType.ALLOW,
        resource_pattern=ResourcePattern(KpResourceType.TOPIC, topic, ACLResourcePatternType.LITERAL),
    )
    created = admin.create_acls([acl])
    assert created["failed"] == [] and len(created["succeeded"]) == 1, created
    flt = ACLFilter(
        principal="User:bob",
        host="*",
        operation=ACLOperation.ANY,
        permission_type=ACLPermissionType.ANY,
        resource_pattern=ResourcePatternFilter(KpResourceType.TOPIC, topic, ACLResourcePatternType.ANY),
    )
    acls, err = admin.describe_acls(flt)
    assert err is Errors.NoError and len(acls) == 1, (acls, err)
    assert acls[0].operation == ACLOperation.WRITE

    p = KafkaProducer(**kp(secured, "bob"))
    p.send(topic, b"allowed").get(timeout=15)
    p.close()

    deleted = admin.delete_acls([flt])
    (_, matched, err), = deleted
    assert err is Errors.NoError and len(matched) == 1, deleted
    acls, err = admin.describe_acls(flt)
    assert acls == []
    admin.close()


kafkajs_missing = pytest.mark.skipif(
    shutil.which("node") is None or not (KAFKAJS / "node_modules" / "kafkajs").is_dir(),
    reason="node or compat/kafkajs/node_modules missing (npm ci in compat/kafkajs)",
)


def run_kafkajs(*args) -> dict:
    proc = subprocess.run(
        ["node", str(KAFKAJS / "acl.js"), *args], cwd=KAFKAJS, capture_output=True, text=True, timeout=120
    )
    results = [l[len("RESULT ") :] for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    assert proc.returncode == 0 and len(results) == 1, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-4000:]}"
    return json.loads(results[0])


def assert_topic_authorization_failed(err: dict | None, out: dict) -> None:
    assert err is not None, out
    proto = err if err["name"] == "KafkaJSProtocolError" else err["cause"]
    assert err["name"] in ("KafkaJSProtocolError", "KafkaJSNonRetriableError"), out
    assert proto is not None and proto["name"] == "KafkaJSProtocolError", out
    assert proto["type"] == "TOPIC_AUTHORIZATION_FAILED", out


@kafkajs_missing
def test_kafkajs_admin_acls_and_enforcement(secured):
    topic = unique("kjs")
    out = run_kafkajs("lifecycle", secured.listeners["SASL_PLAINTEXT"], topic, USERS["admin"], "carol", USERS["carol"])

    # Refused before the ACL: KafkaJS's protocol error for Kafka's code 29, which its
    # retrier hands on as the cause of a KafkaJSNonRetriableError.
    assert_topic_authorization_failed(out["before"], out)

    assert out["created"] is True, out
    resources = out["described"]
    assert len(resources) == 1, out
    res = resources[0]
    assert (res["resourceType"], res["resourceName"], res["resourcePatternType"]) == (2, topic, 3), out
    # WRITE (4), ALLOW (3), for carol from any host.
    assert res["acls"] == [{"principal": "User:carol", "host": "*", "operation": 4, "permissionType": 3}], out

    assert out["after"] is None, out

    (deleted,) = out["deleted"]
    assert deleted["errorCode"] == 0, out
    assert [(a["resourceName"], a["principal"], a["operation"]) for a in deleted["matchingAcls"]] == [
        (topic, "User:carol", 4)
    ], out
    assert out["left"] == [], out

    # Refused again by the same producer (its Produce this time: the metadata is cached).
    assert_topic_authorization_failed(out["afterDelete"], out)
    assert out["high"] == ["1"], out
