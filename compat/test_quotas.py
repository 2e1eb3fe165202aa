"""Client quotas and connection limits with off-the-shelf clients: quotas set and listed
through kafka-python's AlterClientQuotas/DescribeClientQuotas requests; confluent-kafka
producers and consumers over their byte rate see the broker's throttle (librdkafka's
throttle_cb) while other users are not slowed; max.connections.per.ip, max.connections
and connections.max.idle.ms as Kafka applies them.
"""

from __future__ import annotations

import socket
import struct
import time

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from test_sasl import USERS, unique


def kp_admin(bootstrap: str):
    from kafka import KafkaAdminClient

    return KafkaAdminClient(bootstrap_servers=bootstrap)


def kp_send(admin, request):
    async def call():
        return await admin._manager.send(request)

    return admin._manager.run(call)


def alter_quotas(admin, entity: list[tuple[str, str | None]], ops: list[tuple[str, float, bool]]):
    from kafka.protocol.admin.client_quotas import AlterClientQuotasRequest

    resp = kp_send(admin, AlterClientQuotasRequest(entries=[(entity, ops)], validate_only=False))
    return [(e.error_code, e.error_message or None) for e in resp.entries]


def describe_quotas(admin, components: list[tuple[str, int, str | None]], strict: bool = False):
    from kafka.protocol.admin.client_quotas import DescribeClientQuotasRequest

    resp = kp_send(admin, DescribeClientQuotasRequest(components=components, strict=strict))
    assert resp.error_code == 0, resp
    return {
        tuple(sorted((p.entity_type, p.entity_name) for p in e.entity)): {v.key: v.value for v in e.values}
        for e in resp.entries
    }


def create_topic(b, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    admin.create_topics([NewTopic(topic, 1)])[topic].result(10)


@pytest.fixture
def sasl(broker_factory, tmp_path):
    users = tmp_path / "users"
    users.write_text("".join(f"{u}:{p}\n" for u, p in USERS.items()))
    return broker_factory(extra_args=["--listen", "SASL_PLAINTEXT://127.0.0.1:0", "--users-file", str(users)])


def ck(b, user: str, **extra) -> dict:
    return {
        "bootstrap.servers": b.listeners["SASL_PLAINTEXT"],
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-256",
        "sasl.username": user,
        "sasl.password": USERS[user],
        **extra,
    }


def produce_for(conf: dict, topic: str, seconds: float, size: int = 10_000) -> tuple[int, list[int]]:
    """Produces as fast as the client lets for `seconds`; (records delivered, throttle
    times the client saw)."""
    throttles: list[int] = []
    delivered = [0]

    def on_delivery(err, _msg):
        if err is None:
            delivered[0] += 1

    p = Producer({**conf, "throttle_cb": lambda e: throttles.append(e.throttle_time), "linger.ms": 5})
    end = time.monotonic() + seconds
    payload = b"x" * size
    while time.monotonic() < end:
        try:
            p.produce(topic, payload, on_delivery=on_delivery)
        except BufferError:
            pass
        p.poll(0.01)
    p.purge()
    p.flush(5)
    return delivered[0], throttles


def test_quotas_set_listed_and_removed_with_kafka_python(sasl):
    admin = kp_admin(sasl.bootstrap)
    assert alter_quotas(admin, [("user", "alice")], [("producer_byte_rate", 1048576.0, False)]) == [(0, None)]
    assert alter_quotas(admin, [("user", None), ("client-id", "app")], [("consumer_byte_rate", 2048.0, False)]) == [
        (0, None)
    ]
    assert describe_quotas(admin, [("user", 0, "alice")]) == {(("user", "alice"),): {"producer_byte_rate": 1048576.0}}
    assert describe_quotas(admin, [("user", 1, None)]) == {
        (("client-id", "app"), ("user", None)): {"consumer_byte_rate": 2048.0}
    }
    [(code, message)] = alter_quotas(admin, [("user", "alice")], [("producer_byte_rate", 1.5, False)])
    assert code == 42 and "whole number" in message
    assert alter_quotas(admin, [("user", "alice")], [("producer_byte_rate", 0.0, True)]) == [(0, None)]
    assert describe_quotas(admin, [("user", 0, "alice")]) == {}
    admin.close()


def test_a_producer_over_its_quota_is_throttled_and_others_are_not(sasl):
    topic = unique("quota")
    create_topic(sasl, topic)
    admin = kp_admin(sasl.bootstrap)
    assert alter_quotas(admin, [("user", "alice")], [("producer_byte_rate", 50_000.0, False)]) == [(0, None)]
    admin.close()
    slow, throttles = produce_for(ck(sasl, "alice"), topic, 4)
    assert throttles and max(throttles) > 0, throttles
    # Kafka's rate is over an 11 s window (at least 10 s): in 4 s alice gets roughly her
    # first 10 s allowance (500 KB) and one more batch's worth, not more.
    assert slow * 10_000 < 1_500_000, slow
    fast, others = produce_for(ck(sasl, "bob"), topic, 2)
    assert not [t for t in others if t > 0], others
    assert fast > slow, (fast, slow)


def test_a_consumer_over_its_quota_is_throttled(sasl):
    topic = unique("quota-fetch")
    create_topic(sasl, topic)
    p = Producer(ck(sasl, "bob"))
    for _ in range(300):
        p.produce(topic, b"y" * 10_000)
    assert p.flush(30) == 0
    admin = kp_admin(sasl.bootstrap)
    # By client id (the default user's), so the quota's entity is not the user.
    assert alter_quotas(admin, [("client-id", "slow-reader")], [("consumer_byte_rate", 100_000.0, False)]) == [
        (0, None)
    ]
    admin.close()
    throttles: list[int] = []
    c = Consumer(
        {
            **ck(sasl, "alice"),
            "client.id": "slow-reader",
            "group.id": unique("g"),
            "auto.offset.reset": "earliest",
            "throttle_cb": lambda e: throttles.append(e.throttle_time),
        }
    )
    c.subscribe([topic])
    got = 0
    end = time.monotonic() + 6
    while time.monotonic() < end:
        m = c.poll(0.2)
        if m is not None and m.error() is None:
            got += 1
    c.close()
    assert throttles and max(throttles) > 0, throttles
    assert 0 < got < 300, got


def api_versions_answered(s: socket.socket, timeout: float) -> bool:
    """Sends ApiVersions v0 and waits for the answer; False if none came in time."""
    body = struct.pack(">hhih", 18, 0, 7, 4) + b"test"
    s.sendall(struct.pack(">i", len(body)) + body)
    s.settimeout(timeout)
    try:
        head = s.recv(4)
    except socket.timeout:
        return False
    return len(head) == 4


def connect(addr: str) -> socket.socket:
    host, port = addr.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=5)


def test_request_percentage_throttles_a_producer_by_broker_time(sasl):
    """KIP-124: a user whose requests keep the broker busy beyond `request_percentage`
    (percent of one thread) sees throttle times through librdkafka's throttle_cb; Kafka
    caps a request throttle at one sample window (1 s). Another user is not throttled."""
    topic = unique("quota-req")
    create_topic(sasl, topic)
    admin = kp_admin(sasl.bootstrap)
    assert alter_quotas(admin, [("user", "alice")], [("request_percentage", 0.01, False)]) == [(0, None)]
    assert describe_quotas(admin, [("user", 0, "alice")]) == {(("user", "alice"),): {"request_percentage": 0.01}}
    admin.close()
    delivered, throttles = produce_for(ck(sasl, "alice"), topic, 3, size=100)
    assert delivered > 0
    assert throttles and 0 < max(throttles) <= 1000, throttles
    _, others = produce_for(ck(sasl, "bob"), topic, 1, size=100)
    assert not [t for t in others if t > 0], others


def test_controller_mutation_rate_refuses_topics_over_the_quota(sasl):
    """KIP-599 with kafka-python's admin client (CreateTopics v7, DeleteTopics v6: strict):
    1 partition/s allows a burst of 10; topics beyond it are refused with
    THROTTLING_QUOTA_EXCEEDED, and the ones within it exist."""
    from kafka.errors import ThrottlingQuotaExceededError

    admin = kp_admin(sasl.bootstrap)
    assert alter_quotas(admin, [("user", "ANONYMOUS")], [("controller_mutation_rate", 1.0, False)]) == [(0, None)]
    names = [unique("mut") for _ in range(3)]
    result = admin.create_topics(
        {names[0]: {"num_partitions": 6}, names[1]: {"num_partitions": 6}, names[2]: {"num_partitions": 1}},
        raise_errors=False,
    )
    codes = {t["name"]: t["error_code"] for t in result["topics"]}
    assert codes == {names[0]: 0, names[1]: 0, names[2]: ThrottlingQuotaExceededError.errno}, result
    admin.close()
    c = AdminClient({"bootstrap.servers": sasl.bootstrap})
    listed = c.list_topics(timeout=10).topics
    assert names[0] in listed and names[1] in listed and names[2] not in listed


def test_max_connections_per_ip_closes_the_extra_connection(broker_factory):
    b = broker_factory(extra_args=["--max-connections-per-ip", "2"])
    a, c = connect(b.bootstrap), connect(b.bootstrap)
    assert api_versions_answered(a, 5) and api_versions_answered(c, 5)
    extra = connect(b.bootstrap)
    extra.settimeout(5)
    assert extra.recv(1) == b"", "the third connection from 127.0.0.1 is closed"
    assert "max.connections.per.ip reached" in b.log_tail(50)
    a.close()
    time.sleep(0.2)
    again = connect(b.bootstrap)
    assert api_versions_answered(again, 5), "a slot was freed"
    for s in (c, extra, again):
        s.close()


def test_max_connections_makes_new_connections_wait(broker_factory):
    b = broker_factory(extra_args=["--max-connections", "2"])
    a, c = connect(b.bootstrap), connect(b.bootstrap)
    assert api_versions_answered(a, 5) and api_versions_answered(c, 5)
    waiting = connect(b.bootstrap)  # accepted by the kernel, not yet by the broker
    assert not api_versions_answered(waiting, 1), "served beyond max.connections"
    a.close()
    waiting.settimeout(5)
    assert len(waiting.recv(4)) == 4, "served once a slot was freed"
    for s in (c, waiting):
        s.close()


def test_idle_connections_are_closed(broker_factory):
    b = broker_factory(extra_args=["--connections-max-idle-ms", "500"])
    s = connect(b.bootstrap)
    assert api_versions_answered(s, 5)
    s.recv(65536)
    start = time.monotonic()
    s.settimeout(5)
    assert s.recv(1) == b""
    assert 0.3 < time.monotonic() - start < 3
    s.close()
