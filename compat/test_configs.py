"""DescribeConfigs / AlterConfigs / IncrementalAlterConfigs against a real rill broker.

Through confluent-kafka's AdminClient (librdkafka: DescribeConfigs v1, which always
asks for synonyms), kafka-python 3's KafkaAdminClient (DescribeConfigs v4,
IncrementalAlterConfigs) and KafkaJS (admin.describeConfigs v2 / admin.alterConfigs
v1, scenarios in kafkajs/configs.js), each with its default settings. Expected values
and sources are Kafka 4's:

    source 1 DYNAMIC_TOPIC_CONFIG     set on the topic (at create or by an alter)
    source 2 DYNAMIC_BROKER_CONFIG    set on broker "1" (per-broker dynamic config)
    source 3 DYNAMIC_DEFAULT_BROKER_CONFIG  set on broker "" (cluster-wide default)
    source 4 STATIC_BROKER_CONFIG     from the broker's command line
    source 5 DEFAULT_CONFIG           Kafka's built-in default
    source 8 GROUP_CONFIG             set on a group

None of the three clients' admin APIs can address the cluster-default resource
(BROKER "") or a broker other than the one they route to: kafka-python and
librdkafka parse broker resource names as integers, KafkaJS refuses empty names. Those
cases (and include_documentation, which no admin API exposes) go through
kafka-python's own protocol layer (`kp_send`): its request classes and connection,
with the version it negotiates.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic, ResourceType
from kafka import KafkaAdminClient
from kafka.admin import AlterConfigOp
from kafka.admin import ConfigResource as KpResource
from kafka.admin import ConfigResourceType as KpType
from kafka.protocol.admin import DescribeConfigsRequest, IncrementalAlterConfigsRequest

import ck

KJS_DIR = Path(__file__).resolve().parent / "kafkajs"
HAVE_KAFKAJS = shutil.which("node") is not None and (KJS_DIR / "node_modules" / "kafkajs").is_dir()

DYNAMIC_TOPIC, DYNAMIC_BROKER, DYNAMIC_DEFAULT_BROKER, STATIC_BROKER, DEFAULT, GROUP_CONFIG = 1, 2, 3, 4, 5, 8
INVALID_CONFIG, INVALID_REQUEST, UNKNOWN_TOPIC = 40, 42, 3
LONG_MAX = str(2**63 - 1)

# Every topic config of Kafka 4.0 with its default (a broker with Kafka's defaults).
KAFKA4_TOPIC_DEFAULTS = {
    "cleanup.policy": "delete",
    "compression.gzip.level": "-1",
    "compression.lz4.level": "9",
    "compression.type": "producer",
    "compression.zstd.level": "3",
    "delete.retention.ms": "86400000",
    "file.delete.delay.ms": "60000",
    "flush.messages": LONG_MAX,
    "flush.ms": LONG_MAX,
    "follower.replication.throttled.replicas": "",
    "index.interval.bytes": "4096",
    "leader.replication.throttled.replicas": "",
    "local.retention.bytes": "-2",
    "local.retention.ms": "-2",
    "max.compaction.lag.ms": LONG_MAX,
    "max.message.bytes": "1048588",
    "message.timestamp.after.max.ms": "3600000",
    "message.timestamp.before.max.ms": LONG_MAX,
    "message.timestamp.type": "CreateTime",
    "min.cleanable.dirty.ratio": "0.5",
    "min.compaction.lag.ms": "0",
    "min.insync.replicas": "1",
    "preallocate": "false",
    "remote.log.copy.disable": "false",
    "remote.log.delete.on.disable": "false",
    "remote.storage.enable": "false",
    "retention.bytes": "-1",
    "retention.ms": "604800000",
    "segment.bytes": "1073741824",
    "segment.index.bytes": "10485760",
    "segment.jitter.ms": "0",
    "segment.ms": "604800000",
    "unclean.leader.election.enable": "false",
}

# The broker-level synonym Kafka lists for a topic config still at its default.
DEFAULT_SYNONYM = {
    "retention.ms": ("log.retention.hours", "168"),
    "cleanup.policy": ("log.cleanup.policy", "delete"),
    "segment.bytes": ("log.segment.bytes", "1073741824"),
    "max.message.bytes": ("message.max.bytes", "1048588"),
    "min.cleanable.dirty.ratio": ("log.cleaner.min.cleanable.ratio", "0.5"),
    "segment.ms": ("log.roll.hours", "168"),
    "delete.retention.ms": ("log.cleaner.delete.retention.ms", "86400000"),
}


# ------------------------------------------------------------------ confluent-kafka


def ck_outcome(fut):
    """The future's result, or the KafkaError the broker answered with."""
    try:
        return fut.result(timeout=20)
    except KafkaException as e:
        return e.args[0]


def src(entry) -> int:
    """A confluent ConfigEntry's source as an int (librdkafka hands back a plain int
    for described entries, a ConfigSource for ones built in Python)."""
    return int(getattr(entry.source, "value", entry.source))


def ck_describe(admin, restype, name) -> dict:
    """{config name: ConfigEntry}; raises on a resource error."""
    (fut,) = admin.describe_configs([ConfigResource(restype, name)], request_timeout=15).values()
    return fut.result(timeout=20)


def ck_values(admin, restype, name, keys=None) -> dict[str, tuple[str | None, int]]:
    """{name: (value, source)} for `keys` (all when None)."""
    return {k: (e.value, src(e)) for k, e in ck_describe(admin, restype, name).items() if keys is None or k in keys}


def ck_incremental(admin, restype, name, ops, validate_only=False):
    """ops: [(AlterConfigOpType, key, value)]. None on success, else the KafkaError."""
    entries = [ConfigEntry(key, value, incremental_operation=op) for op, key, value in ops]
    (fut,) = admin.incremental_alter_configs(
        [ConfigResource(restype, name, incremental_configs=entries)], validate_only=validate_only, request_timeout=15
    ).values()
    return ck_outcome(fut)


def ck_alter(admin, restype, name, configs: dict, validate_only=False):
    """Legacy (non-incremental) AlterConfigs. None on success, else the KafkaError."""
    (fut,) = admin.alter_configs(
        [ConfigResource(restype, name, set_config=configs)], validate_only=validate_only, request_timeout=15
    ).values()
    return ck_outcome(fut)


def assert_refused(err, code: int, *words: str) -> None:
    assert isinstance(err, KafkaError), f"expected error {code}, the broker accepted it ({err!r})"
    assert err.code() == code, f"expected error {code}, got {err.code()} {err.name()}: {err.str()}"
    for w in words:
        assert w in err.str(), f"error message {err.str()!r} does not mention {w!r}"


SET, DELETE, APPEND, SUBTRACT = (
    AlterConfigOpType.SET,
    AlterConfigOpType.DELETE,
    AlterConfigOpType.APPEND,
    AlterConfigOpType.SUBTRACT,
)

# -------------------------------------------------------------------- kafka-python


def kp_admin(bootstrap: str) -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)


def kp_send(admin: KafkaAdminClient, request, node_id=None):
    """Send one request on kafka-python's admin connection; returns the response."""

    async def go():
        return await admin._manager.send(request, node_id=node_id)

    return admin._manager.run(go)


def kp_describe_raw(admin, rtype, name, keys=None, synonyms=True, documentation=False):
    """One DescribeConfigs resource. Returns (error_code, error_message, {name: dict}),
    each dict with value, config_source, read_only, synonyms [(name, value, source)],
    config_type, documentation."""
    resp = kp_send(
        admin,
        DescribeConfigsRequest(
            resources=[(rtype, name, keys)], include_synonyms=synonyms, include_documentation=documentation
        ),
    )
    (res,) = resp.results
    configs = {}
    for c in res.configs:
        d = c.to_dict()
        d["synonyms"] = [(s["name"], s["value"], s["source"]) for s in d["synonyms"]]
        configs[d.pop("name")] = d
    return res.error_code, res.error_message, configs


def kp_incremental_raw(admin, rtype, name, entries, validate_only=False):
    """entries: [(key, op int, value)]. Returns (error_code, error_message)."""
    resp = kp_send(
        admin, IncrementalAlterConfigsRequest(resources=[(rtype, name, entries)], validate_only=validate_only)
    )
    (r,) = resp.responses
    return r.error_code, r.error_message


def kp_ok(admin, rtype, name, keys=None, synonyms=True) -> dict:
    code, msg, configs = kp_describe_raw(admin, rtype, name, keys, synonyms)
    assert code == 0, f"describe {rtype.name} {name!r}: error {code} {msg}"
    return configs


# ------------------------------------------------------------------------- kafkajs


def run_kjs(scenario: str, bootstrap: str, topic: str, timeout: float = 60) -> dict:
    cmd = ["node", str(KJS_DIR / "configs.js"), scenario, bootstrap, topic]
    proc = subprocess.run(cmd, cwd=KJS_DIR, capture_output=True, text=True, timeout=timeout)
    results = [line[len("RESULT ") :] for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and len(results) == 1, (
        f"kafkajs configs scenario {scenario!r} failed (exit {proc.returncode})\n"
        f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-6000:]}"
    )
    return json.loads(results[0])


needs_kafkajs = pytest.mark.skipif(
    not HAVE_KAFKAJS, reason="node or compat/kafkajs/node_modules missing (run npm ci in compat/kafkajs)"
)


# =========================================================== topic configs (librdkafka)


def test_fresh_topic_defaults_and_sources(broker, topic):
    """A new topic without configs reports all 33 Kafka 4 topic configs at Kafka's
    defaults, source DEFAULT_CONFIG, not read-only, each with its broker synonym. The
    one exception is flush.ms: rill's default `--fsync interval:1000` is the static
    broker setting log.flush.interval.ms=1000, which Kafka reports on every topic as
    STATIC_BROKER_CONFIG."""
    ck.create_topic(broker, topic)
    desc = ck_describe(ck.admin(broker), ResourceType.TOPIC, topic)

    want = set(KAFKA4_TOPIC_DEFAULTS)
    assert set(desc) == want, f"missing {sorted(want - set(desc))}, extra {sorted(set(desc) - want)}"
    for name, e in desc.items():
        assert not e.is_read_only, f"{name} is read-only"
        assert not e.is_sensitive, name
        if name == "flush.ms":
            continue
        assert (e.value, src(e)) == (KAFKA4_TOPIC_DEFAULTS[name], DEFAULT), f"{name}: {e.value!r} source {e.source}"
        assert e.is_default, name
    flush = desc["flush.ms"]
    assert (flush.value, src(flush), flush.is_default) == ("1000", STATIC_BROKER, False)
    assert ("log.flush.interval.ms", "1000", STATIC_BROKER) in [
        (s.name, s.value, src(s)) for s in flush.synonyms.values()
    ]

    # librdkafka asks for synonyms: a config at its default lists only broker synonyms.
    for name, (syn, value) in DEFAULT_SYNONYM.items():
        got = [(s.name, s.value, src(s)) for s in desc[name].synonyms.values()]
        assert got == [(syn, value, DEFAULT)], f"{name} synonyms {got}"


def test_topic_configs_set_at_create(broker, topic):
    """Configs given to CreateTopics are topic overrides (DYNAMIC_TOPIC_CONFIG), listed
    first among the synonyms, ahead of the broker default they override."""
    ck.create_topic(
        broker, topic, config={"retention.ms": "3600000", "cleanup.policy": "compact", "max.message.bytes": "2000000"}
    )
    desc = ck_describe(ck.admin(broker), ResourceType.TOPIC, topic)
    want = {"retention.ms": "3600000", "cleanup.policy": "compact", "max.message.bytes": "2000000"}
    for name, value in want.items():
        e = desc[name]
        assert (e.value, src(e), e.is_default) == (value, DYNAMIC_TOPIC, False), f"{name}: {e}"
        syns = [(s.name, s.value, src(s)) for s in e.synonyms.values()]
        broker_syn = DEFAULT_SYNONYM[name]
        assert syns == [(name, value, DYNAMIC_TOPIC), (*broker_syn, DEFAULT)], f"{name} synonyms {syns}"
    others = {k: (e.value, src(e)) for k, e in desc.items() if k not in want and k != "flush.ms"}
    assert others == {k: (v, DEFAULT) for k, v in KAFKA4_TOPIC_DEFAULTS.items() if k not in want and k != "flush.ms"}


def test_create_topic_with_invalid_config_refused(broker, topic):
    """CreateTopics with a bad value or an unknown config name fails with
    INVALID_CONFIG naming the key, and no topic is created."""
    a = ck.admin(broker)
    for config, words in [
        ({"retention.ms": "soon"}, ("retention.ms", "soon")),
        ({"cleanup.policy": "compact", "retention.mss": "1"}, ("retention.mss",)),
    ]:
        (fut,) = a.create_topics(
            [NewTopic(topic, num_partitions=1, replication_factor=1, config=config)], request_timeout=15
        ).values()
        assert_refused(ck_outcome(fut), INVALID_CONFIG, *words)
    assert topic not in ck.topic_partitions(broker)


def test_incremental_alter_round_trip(broker, topic):
    """IncrementalAlterConfigs SET/DELETE: SET makes topic overrides (source 1), other
    overrides are left alone, DELETE reverts one key to the broker default."""
    ck.create_topic(broker, topic, config={"cleanup.policy": "compact"})
    a = ck.admin(broker)
    keys = ["retention.ms", "segment.bytes", "cleanup.policy", "min.cleanable.dirty.ratio"]

    assert (
        ck_incremental(
            a, ResourceType.TOPIC, topic, [(SET, "retention.ms", "86400000"), (SET, "segment.bytes", "2000000")]
        )
        is None
    )
    assert ck_values(a, ResourceType.TOPIC, topic, keys) == {
        "retention.ms": ("86400000", DYNAMIC_TOPIC),
        "segment.bytes": ("2000000", DYNAMIC_TOPIC),
        "cleanup.policy": ("compact", DYNAMIC_TOPIC),
        "min.cleanable.dirty.ratio": ("0.5", DEFAULT),
    }

    assert (
        ck_incremental(
            a, ResourceType.TOPIC, topic, [(SET, "min.cleanable.dirty.ratio", "0.1"), (DELETE, "retention.ms", None)]
        )
        is None
    )
    assert ck_values(a, ResourceType.TOPIC, topic, keys) == {
        "retention.ms": ("604800000", DEFAULT),
        "segment.bytes": ("2000000", DYNAMIC_TOPIC),
        "cleanup.policy": ("compact", DYNAMIC_TOPIC),
        "min.cleanable.dirty.ratio": ("0.1", DYNAMIC_TOPIC),
    }
    # DELETE of a key that is not set is a no-op, not an error.
    assert ck_incremental(a, ResourceType.TOPIC, topic, [(DELETE, "retention.ms", None)]) is None
    assert ck_values(a, ResourceType.TOPIC, topic, ["retention.ms"]) == {"retention.ms": ("604800000", DEFAULT)}


def test_incremental_append_subtract_cleanup_policy(broker, topic):
    """APPEND/SUBTRACT work on LIST configs: APPEND on an unset cleanup.policy starts
    from the default ("delete"), appending a present item changes nothing, SUBTRACT
    removes one. On a non-list config both are INVALID_CONFIG and nothing changes."""
    ck.create_topic(broker, topic)
    a = ck.admin(broker)

    def policy():
        return ck_values(a, ResourceType.TOPIC, topic, ["cleanup.policy"])["cleanup.policy"]

    assert ck_incremental(a, ResourceType.TOPIC, topic, [(APPEND, "cleanup.policy", "compact")]) is None
    assert policy() == ("delete,compact", DYNAMIC_TOPIC)
    assert ck_incremental(a, ResourceType.TOPIC, topic, [(APPEND, "cleanup.policy", "compact")]) is None
    assert policy() == ("delete,compact", DYNAMIC_TOPIC)
    assert ck_incremental(a, ResourceType.TOPIC, topic, [(SUBTRACT, "cleanup.policy", "delete")]) is None
    assert policy() == ("compact", DYNAMIC_TOPIC)
    # Subtracting an item that is not there leaves the list as it is.
    assert ck_incremental(a, ResourceType.TOPIC, topic, [(SUBTRACT, "cleanup.policy", "delete")]) is None
    assert policy() == ("compact", DYNAMIC_TOPIC)

    for op in (APPEND, SUBTRACT):
        err = ck_incremental(a, ResourceType.TOPIC, topic, [(op, "retention.ms", "1000")])
        assert_refused(err, INVALID_CONFIG, "retention.ms")
    # A refused resource applies none of its ops, not even the valid ones.
    err = ck_incremental(
        a, ResourceType.TOPIC, topic, [(SET, "segment.bytes", "2000000"), (APPEND, "max.message.bytes", "1")]
    )
    assert_refused(err, INVALID_CONFIG, "max.message.bytes")
    assert ck_values(a, ResourceType.TOPIC, topic, ["retention.ms", "segment.bytes", "cleanup.policy"]) == {
        "retention.ms": ("604800000", DEFAULT),
        "segment.bytes": ("1073741824", DEFAULT),
        "cleanup.policy": ("compact", DYNAMIC_TOPIC),
    }


def test_validate_only_changes_nothing(broker, topic):
    """validate_only: a valid change is accepted but not applied (incremental and
    legacy AlterConfigs); an invalid one is still refused."""
    ck.create_topic(broker, topic, config={"retention.ms": "3600000"})
    a = ck.admin(broker)
    before = ck_values(a, ResourceType.TOPIC, topic)

    assert (
        ck_incremental(
            a,
            ResourceType.TOPIC,
            topic,
            [(SET, "retention.ms", "1000"), (APPEND, "cleanup.policy", "compact")],
            validate_only=True,
        )
        is None
    )
    assert ck_alter(a, ResourceType.TOPIC, topic, {"segment.bytes": "2000000"}, validate_only=True) is None
    assert_refused(
        ck_incremental(a, ResourceType.TOPIC, topic, [(SET, "segment.bytes", "lots")], validate_only=True),
        INVALID_CONFIG,
        "segment.bytes",
    )
    assert ck_values(a, ResourceType.TOPIC, topic) == before
    assert before["retention.ms"] == ("3600000", DYNAMIC_TOPIC)


def test_alter_configs_replaces_whole_set(broker, topic):
    """Legacy AlterConfigs sets exactly the given configs: overrides not named revert
    to their defaults."""
    ck.create_topic(broker, topic, config={"retention.ms": "3600000", "cleanup.policy": "compact"})
    a = ck.admin(broker)
    assert ck_alter(a, ResourceType.TOPIC, topic, {"segment.bytes": "2000000", "max.message.bytes": "500000"}) is None
    assert ck_values(
        a, ResourceType.TOPIC, topic, ["retention.ms", "cleanup.policy", "segment.bytes", "max.message.bytes"]
    ) == {
        "retention.ms": ("604800000", DEFAULT),
        "cleanup.policy": ("delete", DEFAULT),
        "segment.bytes": ("2000000", DYNAMIC_TOPIC),
        "max.message.bytes": ("500000", DYNAMIC_TOPIC),
    }
    # An empty set clears every override.
    assert ck_alter(a, ResourceType.TOPIC, topic, {}) is None
    got = ck_values(a, ResourceType.TOPIC, topic)
    assert [k for k, (_, src) in got.items() if src == DYNAMIC_TOPIC] == []


@pytest.mark.parametrize(
    "key,value,words",
    [
        ("segment.bytes", "x", ("segment.bytes", "Not a number of type INT")),
        ("segment.bytes", "1000", ("segment.bytes",)),
        ("retention.ms", "1.5", ("retention.ms", "LONG")),
        ("max.message.bytes", "3000000000", ("max.message.bytes",)),
        ("min.cleanable.dirty.ratio", "1.5", ("min.cleanable.dirty.ratio",)),
        ("cleanup.policy", "bogus", ("cleanup.policy", "compact, delete")),
        ("message.timestamp.type", "WallClock", ("message.timestamp.type",)),
        ("preallocate", "maybe", ("preallocate",)),
        ("retention.mss", "1000", ("Unknown topic config name: retention.mss",)),
    ],
)
def test_invalid_topic_config_refused(broker, topic, key, value, words):
    """A bad value or an unknown name is INVALID_CONFIG with a message naming the key,
    through both IncrementalAlterConfigs and AlterConfigs, and changes nothing."""
    ck.create_topic(broker, topic, config={"retention.ms": "3600000"})
    a = ck.admin(broker)
    before = ck_values(a, ResourceType.TOPIC, topic)
    assert_refused(ck_incremental(a, ResourceType.TOPIC, topic, [(SET, key, value)]), INVALID_CONFIG, *words)
    assert_refused(ck_alter(a, ResourceType.TOPIC, topic, {key: value}), INVALID_CONFIG, *words)
    assert ck_values(a, ResourceType.TOPIC, topic) == before


def test_invalid_list_item_message_matches_kafka(broker, topic):
    """Kafka validates cleanup.policy item by item (ConfigDef.ValidList ->
    ValidString) and its message names the offending item once:
    'Invalid value bogus for configuration cleanup.policy: String must be one of:
    compact, delete'."""
    ck.create_topic(broker, topic)
    err = ck_incremental(ck.admin(broker), ResourceType.TOPIC, topic, [(SET, "cleanup.policy", "compact,bogus")])
    assert_refused(err, INVALID_CONFIG)
    assert err.str() == "Invalid value bogus for configuration cleanup.policy: String must be one of: compact, delete"


def test_unknown_topic(broker, topic):
    """Describe and both alters of a topic that does not exist answer
    UNKNOWN_TOPIC_OR_PARTITION for that resource, and do not auto-create it (the
    broker has auto-create on)."""
    a = ck.admin(broker)
    (fut,) = a.describe_configs([ConfigResource(ResourceType.TOPIC, topic)], request_timeout=15).values()
    assert_refused(ck_outcome(fut), UNKNOWN_TOPIC, topic)
    assert_refused(ck_incremental(a, ResourceType.TOPIC, topic, [(SET, "retention.ms", "1000")]), UNKNOWN_TOPIC, topic)
    assert_refused(ck_alter(a, ResourceType.TOPIC, topic, {"retention.ms": "1000"}), UNKNOWN_TOPIC, topic)
    assert topic not in ck.topic_partitions(broker)


def test_one_request_many_resources_each_answered_alone(broker, topic):
    """One IncrementalAlterConfigs / DescribeConfigs naming several topics: each
    resource succeeds or fails on its own (a bad or missing one does not stop the
    others)."""
    good, bad, missing = topic, topic + "-bad", topic + "-missing"
    ck.create_topic(broker, good)
    ck.create_topic(broker, bad)
    a = ck.admin(broker)
    futs = a.incremental_alter_configs(
        [
            ConfigResource(
                ResourceType.TOPIC,
                good,
                incremental_configs=[ConfigEntry("retention.ms", "1000", incremental_operation=SET)],
            ),
            ConfigResource(
                ResourceType.TOPIC,
                bad,
                incremental_configs=[ConfigEntry("retention.ms", "-5", incremental_operation=SET)],
            ),
            ConfigResource(
                ResourceType.TOPIC,
                missing,
                incremental_configs=[ConfigEntry("retention.ms", "1000", incremental_operation=SET)],
            ),
        ],
        request_timeout=15,
    )
    out = {r.name: ck_outcome(f) for r, f in futs.items()}
    assert out[good] is None
    assert_refused(out[bad], INVALID_CONFIG, "retention.ms")
    assert_refused(out[missing], UNKNOWN_TOPIC)
    futs = a.describe_configs([ConfigResource(ResourceType.TOPIC, t) for t in (good, bad, missing)], request_timeout=15)
    out = {r.name: ck_outcome(f) for r, f in futs.items()}
    assert (out[good]["retention.ms"].value, src(out[good]["retention.ms"])) == ("1000", DYNAMIC_TOPIC)
    assert (out[bad]["retention.ms"].value, src(out[bad]["retention.ms"])) == ("604800000", DEFAULT)
    assert_refused(out[missing], UNKNOWN_TOPIC)


def test_recreated_topic_does_not_inherit_configs(broker, topic):
    """Deleting a topic drops its overrides: a new topic of the same name starts at
    the defaults."""
    ck.create_topic(broker, topic, config={"cleanup.policy": "compact", "retention.ms": "1000"})
    a = ck.admin(broker)
    assert ck_incremental(a, ResourceType.TOPIC, topic, [(SET, "max.message.bytes", "5000")]) is None
    (fut,) = a.delete_topics([topic], request_timeout=15).values()
    assert ck_outcome(fut) is None
    ck.create_topic(broker, topic)
    got = ck_values(a, ResourceType.TOPIC, topic)
    assert [k for k, (_, s) in got.items() if s == DYNAMIC_TOPIC] == []
    assert got["cleanup.policy"] == ("delete", DEFAULT)


@pytest.mark.needs("fresh")  # changes broker-wide configs that other tests read
def test_altered_configs_take_effect_on_live_topic(broker, topic):
    """Altering an existing topic changes how it behaves from the next produce on:
    max.message.bytes lowered (topic override, then a cluster-wide message.max.bytes)
    refuses a batch bigger than it with MSG_SIZE_TOO_LARGE; message.timestamp.type=
    LogAppendTime makes the broker stamp new records."""
    ck.create_topic(broker, topic)
    a = ck.admin(broker)
    p = ck.producer(broker)

    def produce(value: bytes):
        res = []
        p.produce(topic, value, partition=0, on_delivery=lambda err, msg: res.append(err))
        assert p.flush(30) == 0
        return res[0]

    big = b"x" * 5000
    assert produce(big) is None
    assert ck_incremental(a, ResourceType.TOPIC, topic, [(SET, "max.message.bytes", "1000")]) is None
    err = produce(big)
    assert err is not None and err.code() == KafkaError.MSG_SIZE_TOO_LARGE, err
    assert produce(b"small") is None
    assert ck_incremental(a, ResourceType.TOPIC, topic, [(DELETE, "max.message.bytes", None)]) is None
    assert produce(big) is None

    k = kp_admin(broker)
    try:
        assert kp_incremental_raw(k, KpType.BROKER, "", [("message.max.bytes", AlterConfigOp.SET.value, "1000")]) == (
            0,
            None,
        )
        err = produce(big)
        assert err is not None and err.code() == KafkaError.MSG_SIZE_TOO_LARGE, err
        assert kp_incremental_raw(k, KpType.BROKER, "", [("message.max.bytes", AlterConfigOp.DELETE.value, None)]) == (
            0,
            None,
        )
    finally:
        k.close()
    assert produce(big) is None

    assert ck_incremental(a, ResourceType.TOPIC, topic, [(SET, "message.timestamp.type", "LogAppendTime")]) is None
    p.produce(topic, b"stamped", partition=0, timestamp=1_000_000_000_000)
    assert p.flush(30) == 0
    got = ck.consume_all(broker, topic, 1, expect=5)
    assert [g.value for g in got] == [big, b"small", big, big, b"stamped"]
    assert [g.timestamp_type for g in got[:4]] == [1, 1, 1, 1]  # CreateTime
    assert got[4].timestamp_type == 2 and got[4].timestamp > 1_000_000_000_000, got[4]  # LogAppendTime


# ================================================================== broker configs


def test_broker_describe(broker_factory, topic):
    """Broker "1": Kafka's read-only flags (node.id, num.partitions, log.dirs ... are
    static; log.* topic defaults and message.max.bytes are dynamic), STATIC_BROKER_CONFIG
    for command-line settings that differ from Kafka's default, and the static
    log.flush.interval.messages (--fsync always) seen from a topic's flush.messages."""
    b = broker_factory(default_partitions=3, fsync="always")
    a = ck.admin(b.bootstrap)
    desc = ck_describe(a, ResourceType.BROKER, "1")
    assert len(desc) >= 50, sorted(desc)

    def v(name):
        e = desc[name]
        return e.value, src(e), e.is_read_only

    assert v("node.id") == ("1", STATIC_BROKER, True)
    assert v("broker.id") == ("1", STATIC_BROKER, True)
    assert v("num.partitions") == ("3", STATIC_BROKER, True)
    assert desc["log.dirs"].is_read_only and src(desc["log.dirs"]) == STATIC_BROKER
    assert b.bootstrap in desc["advertised.listeners"].value
    assert desc["process.roles"].is_read_only
    assert v("log.flush.interval.messages") == ("1", STATIC_BROKER, False)
    # Only a topic config's primary broker synonym is dynamic, as in Kafka 4.
    assert v("log.retention.hours") == ("168", DEFAULT, True)
    for name, value in [
        ("log.segment.bytes", "1073741824"),
        ("log.cleanup.policy", "delete"),
        ("message.max.bytes", "1048588"),
        ("log.cleaner.min.cleanable.ratio", "0.5"),
    ]:
        assert v(name) == (value, DEFAULT, False), f"{name}: {v(name)}"
    # Kafka lists log.retention.ms even while unset (null value, default source).
    assert v("log.retention.ms") == (None, DEFAULT, False)

    ck.create_topic(b.bootstrap, topic)
    t = ck_describe(a, ResourceType.TOPIC, topic)["flush.messages"]
    assert (t.value, src(t)) == ("1", STATIC_BROKER)

    k = kp_admin(b.bootstrap)
    try:
        # node.id's synonyms: the static value, then Kafka's default -1 (read through
        # kafka-python: confluent keys synonyms by name, so same-name ones collapse).
        syn = kp_ok(k, KpType.BROKER, "1", ["node.id", "num.partitions"])
        assert syn["node.id"]["synonyms"] == [("node.id", "1", STATIC_BROKER), ("node.id", "-1", DEFAULT)]
        assert syn["num.partitions"]["synonyms"] == [
            ("num.partitions", "3", STATIC_BROKER),
            ("num.partitions", "1", DEFAULT),
        ]
        # Nothing is set cluster-wide yet: broker "" describes to nothing.
        assert kp_ok(k, KpType.BROKER, "") == {}
    finally:
        k.close()


@pytest.mark.needs("fresh")  # changes broker-wide configs that other tests read
def test_broker_read_only_and_wrong_id_refused(broker):
    """Altering a read-only broker config is INVALID_CONFIG naming it (per-broker and
    cluster default); a broker resource naming another node id is INVALID_REQUEST for
    describe and alter (sent to node 1, as Kafka would answer it)."""
    a = ck.admin(broker)
    for name in ("num.partitions", "node.id", "log.dirs"):
        err = ck_incremental(a, ResourceType.BROKER, "1", [(SET, name, "5")])
        assert_refused(err, INVALID_CONFIG, name)
    assert ck_values(a, ResourceType.BROKER, "1", ["num.partitions"]) == {"num.partitions": ("1", DEFAULT)}

    k = kp_admin(broker)
    try:
        code, msg = kp_incremental_raw(k, KpType.BROKER, "", [("num.partitions", AlterConfigOp.SET.value, "5")])
        assert (code, "num.partitions" in (msg or "")) == (INVALID_CONFIG, True), (code, msg)
        code, msg, _ = kp_describe_raw(k, KpType.BROKER, "7")
        assert code == INVALID_REQUEST, (code, msg)
        assert "7" in msg
        code, msg = kp_incremental_raw(k, KpType.BROKER, "7", [("log.retention.ms", AlterConfigOp.SET.value, "1000")])
        assert code == INVALID_REQUEST, (code, msg)
        assert kp_ok(k, KpType.BROKER, "") == {}
    finally:
        k.close()


@pytest.mark.needs("fresh")  # changes broker-wide configs that other tests read
def test_dynamic_broker_config_layering(broker, topic):
    """Which value a topic without its own retention.ms sees: cluster default (broker
    "", DYNAMIC_DEFAULT_BROKER_CONFIG) over Kafka's default, per-broker (broker "1",
    DYNAMIC_BROKER_CONFIG) over the cluster default, topic override over both. The
    synonyms list every layer, most specific first; DELETE peels them off again.
    Only the primary synonym is dynamic in Kafka: log.retention.hours is refused."""
    ck.create_topic(broker, topic)
    ck.create_topic(broker, topic + "-own", config={"retention.ms": "1000"})
    k = kp_admin(broker)
    S, D = AlterConfigOp.SET.value, AlterConfigOp.DELETE.value

    def retention(t=topic):
        c = kp_ok(k, KpType.TOPIC, t, ["retention.ms"])["retention.ms"]
        return c["value"], c["config_source"], c["synonyms"]

    try:
        code, msg = kp_incremental_raw(k, KpType.BROKER, "", [("log.retention.hours", S, "2")])
        assert code == INVALID_CONFIG and "log.retention.hours" in msg, (code, msg)
        assert retention() == ("604800000", DEFAULT, [("log.retention.hours", "168", DEFAULT)])

        assert kp_incremental_raw(k, KpType.BROKER, "", [("log.retention.ms", S, "12345")]) == (0, None)
        assert retention() == (
            "12345",
            DYNAMIC_DEFAULT_BROKER,
            [
                ("log.retention.ms", "12345", DYNAMIC_DEFAULT_BROKER),
                ("log.retention.hours", "168", DEFAULT),
            ],
        )
        cluster = kp_ok(k, KpType.BROKER, "")
        assert {n: (c["value"], c["config_source"], c["read_only"]) for n, c in cluster.items()} == {
            "log.retention.ms": ("12345", DYNAMIC_DEFAULT_BROKER, False),
        }

        assert kp_incremental_raw(k, KpType.BROKER, "1", [("log.retention.ms", S, "777")]) == (0, None)
        assert retention() == (
            "777",
            DYNAMIC_BROKER,
            [
                ("log.retention.ms", "777", DYNAMIC_BROKER),
                ("log.retention.ms", "12345", DYNAMIC_DEFAULT_BROKER),
                ("log.retention.hours", "168", DEFAULT),
            ],
        )
        b1 = kp_ok(k, KpType.BROKER, "1", ["log.retention.ms", "log.retention.hours"])
        assert (b1["log.retention.ms"]["value"], b1["log.retention.ms"]["config_source"]) == ("777", DYNAMIC_BROKER)
        assert (b1["log.retention.hours"]["value"], b1["log.retention.hours"]["read_only"]) == ("168", True)

        # The topic's own override wins over every broker layer.
        own = retention(topic + "-own")
        assert own[:2] == ("1000", DYNAMIC_TOPIC) and own[2][0] == ("retention.ms", "1000", DYNAMIC_TOPIC), own

        # message.max.bytes (cluster default) is max.message.bytes of every topic.
        assert kp_incremental_raw(k, KpType.BROKER, "", [("message.max.bytes", S, "2000000")]) == (0, None)
        m = kp_ok(k, KpType.TOPIC, topic, ["max.message.bytes"])["max.message.bytes"]
        assert (m["value"], m["config_source"]) == ("2000000", DYNAMIC_DEFAULT_BROKER)
        a = ck.admin(broker)
        assert ck_values(a, ResourceType.TOPIC, topic, ["max.message.bytes", "retention.ms"]) == {
            "max.message.bytes": ("2000000", DYNAMIC_DEFAULT_BROKER),
            "retention.ms": ("777", DYNAMIC_BROKER),
        }

        # Peel the layers off again.
        assert kp_incremental_raw(k, KpType.BROKER, "1", [("log.retention.ms", D, None)]) == (0, None)
        assert retention()[:2] == ("12345", DYNAMIC_DEFAULT_BROKER)
        assert kp_incremental_raw(
            k,
            KpType.BROKER,
            "",
            [("log.retention.ms", D, None), ("message.max.bytes", D, None)],
        ) == (0, None)
        assert retention() == ("604800000", DEFAULT, [("log.retention.hours", "168", DEFAULT)])
        assert kp_ok(k, KpType.BROKER, "") == {}
    finally:
        k.close()


@pytest.mark.needs("fresh")  # changes broker-wide configs that other tests read
def test_broker_config_via_confluent_incremental(broker, topic):
    """The same per-broker layering through librdkafka's incremental_alter_configs on
    BROKER "1" (routed to node 1), including an invalid value refused by name."""
    ck.create_topic(broker, topic)
    a = ck.admin(broker)
    assert (
        ck_incremental(
            a, ResourceType.BROKER, "1", [(SET, "log.segment.bytes", "5000000"), (SET, "log.cleanup.policy", "compact")]
        )
        is None
    )
    assert ck_values(a, ResourceType.BROKER, "1", ["log.segment.bytes", "log.cleanup.policy"]) == {
        "log.segment.bytes": ("5000000", DYNAMIC_BROKER),
        "log.cleanup.policy": ("compact", DYNAMIC_BROKER),
    }
    assert ck_values(a, ResourceType.TOPIC, topic, ["segment.bytes", "cleanup.policy"]) == {
        "segment.bytes": ("5000000", DYNAMIC_BROKER),
        "cleanup.policy": ("compact", DYNAMIC_BROKER),
    }
    assert_refused(
        ck_incremental(a, ResourceType.BROKER, "1", [(SET, "log.retention.ms", "forever")]),
        INVALID_CONFIG,
        "log.retention.ms",
    )
    # Legacy AlterConfigs on the broker replaces its whole dynamic set.
    assert ck_alter(a, ResourceType.BROKER, "1", {"log.segment.bytes": "6000000"}) is None
    assert ck_values(a, ResourceType.TOPIC, topic, ["segment.bytes", "cleanup.policy"]) == {
        "segment.bytes": ("6000000", DYNAMIC_BROKER),
        "cleanup.policy": ("delete", DEFAULT),
    }


# =================================================================== group configs


def test_group_configs_confluent(broker):
    """GROUP resources (any name, the group need not exist): Kafka's defaults, SET
    gives source GROUP_CONFIG for that group only, out-of-range and unknown names are
    INVALID_CONFIG naming the key and change nothing, DELETE reverts."""
    a = ck.admin(broker)
    group = "compat-configs-group"
    desc = ck_describe(a, ResourceType.GROUP, group)
    assert (desc["consumer.session.timeout.ms"].value, src(desc["consumer.session.timeout.ms"])) == ("45000", DEFAULT)
    assert (desc["consumer.heartbeat.interval.ms"].value, src(desc["consumer.heartbeat.interval.ms"])) == (
        "5000",
        DEFAULT,
    )
    assert any(n.startswith("share.") for n in desc) and any(n.startswith("streams.") for n in desc), sorted(desc)
    assert not any(e.is_read_only for e in desc.values())

    keys = ["consumer.session.timeout.ms", "consumer.heartbeat.interval.ms"]
    assert (
        ck_incremental(
            a,
            ResourceType.GROUP,
            group,
            [(SET, "consumer.session.timeout.ms", "50000"), (SET, "consumer.heartbeat.interval.ms", "6000")],
        )
        is None
    )
    assert ck_values(a, ResourceType.GROUP, group, keys) == {
        "consumer.session.timeout.ms": ("50000", GROUP_CONFIG),
        "consumer.heartbeat.interval.ms": ("6000", GROUP_CONFIG),
    }
    assert ck_values(a, ResourceType.GROUP, group + "-other", keys) == {
        "consumer.session.timeout.ms": ("45000", DEFAULT),
        "consumer.heartbeat.interval.ms": ("5000", DEFAULT),
    }

    for key, value in [
        ("consumer.session.timeout.ms", "30000"),
        ("consumer.session.timeout.ms", "60001"),
        ("consumer.heartbeat.interval.ms", "4999"),
        ("consumer.heartbeat.interval.ms", "16000"),
        ("consumer.session.timeout.ms", "soon"),
        ("consumer.no.such.config", "1"),
    ]:
        assert_refused(ck_incremental(a, ResourceType.GROUP, group, [(SET, key, value)]), INVALID_CONFIG, key)
    assert ck_values(a, ResourceType.GROUP, group, keys)["consumer.session.timeout.ms"] == ("50000", GROUP_CONFIG)

    assert ck_incremental(a, ResourceType.GROUP, group, [(DELETE, "consumer.session.timeout.ms", None)]) is None
    assert ck_values(a, ResourceType.GROUP, group, keys) == {
        "consumer.session.timeout.ms": ("45000", DEFAULT),
        "consumer.heartbeat.interval.ms": ("6000", GROUP_CONFIG),
    }


# ==================================================================== kafka-python


def test_kafka_python_admin(broker, topic):
    """kafka-python 3's describe_configs (config_filter modified/all, synonyms,
    config types), alter_configs (IncrementalAlterConfigs by default, APPEND),
    reset_configs (DELETE), alter_configs(incremental=False) (the client re-sends the
    modified configs it read, so nothing is lost), and broker error strings."""
    ck.create_topic(broker, topic, config={"retention.ms": "3600000"})
    k = kp_admin(broker)
    T = KpType.TOPIC
    try:

        def modified():
            return {
                n: (c["value"], c["config_source"])
                for n, c in k.describe_configs([KpResource(T, topic)])["topic"][topic].items()
            }

        assert modified() == {"retention.ms": ("3600000", "DYNAMIC_TOPIC_CONFIG")}

        full = k.describe_configs([KpResource(T, topic)], include_synonyms=True, config_filter="all")["topic"][topic]
        assert set(full) == set(KAFKA4_TOPIC_DEFAULTS)
        assert full["retention.ms"]["synonyms"] == [
            {"name": "retention.ms", "value": "3600000", "source": "DYNAMIC_TOPIC_CONFIG"},
            {"name": "log.retention.hours", "value": "168", "source": "DEFAULT_CONFIG"},
        ]
        types = {
            n: full[n]["config_type"]
            for n in (
                "retention.ms",
                "segment.bytes",
                "cleanup.policy",
                "min.cleanable.dirty.ratio",
                "preallocate",
                "compression.type",
            )
        }
        assert types == {
            "retention.ms": "LONG",
            "segment.bytes": "INT",
            "cleanup.policy": "LIST",
            "min.cleanable.dirty.ratio": "DOUBLE",
            "preallocate": "BOOLEAN",
            "compression.type": "STRING",
        }
        # Asking for one key returns only that key.
        one = k.describe_configs([KpResource(T, topic, ["cleanup.policy"])], config_filter="all")["topic"][topic]
        assert {n: c["value"] for n, c in one.items()} == {"cleanup.policy": "delete"}

        assert k.alter_configs(
            [KpResource(T, topic, {"segment.bytes": "2000000", "cleanup.policy": (AlterConfigOp.APPEND, "compact")})]
        ) == {"topic": {topic: "OK"}}
        assert modified() == {
            "retention.ms": ("3600000", "DYNAMIC_TOPIC_CONFIG"),
            "segment.bytes": ("2000000", "DYNAMIC_TOPIC_CONFIG"),
            "cleanup.policy": ("delete,compact", "DYNAMIC_TOPIC_CONFIG"),
        }

        assert k.reset_configs([KpResource(T, topic, ["retention.ms"])]) == {"topic": {topic: "OK"}}
        assert set(modified()) == {"segment.bytes", "cleanup.policy"}

        assert k.alter_configs([KpResource(T, topic, {"max.message.bytes": "500000"})], incremental=False) == {
            "topic": {topic: "OK"}
        }
        assert modified() == {
            "segment.bytes": ("2000000", "DYNAMIC_TOPIC_CONFIG"),
            "cleanup.policy": ("delete,compact", "DYNAMIC_TOPIC_CONFIG"),
            "max.message.bytes": ("500000", "DYNAMIC_TOPIC_CONFIG"),
        }

        r = k.alter_configs([KpResource(T, topic, {"segment.bytes": "big"})])["topic"][topic]
        assert "InvalidConfigurationError" in r and "segment.bytes" in r, r
        r = k.alter_configs([KpResource(T, topic, {"no.such.config": "1"})], raise_on_unknown=False)["topic"][topic]
        assert "InvalidConfigurationError" in r and "no.such.config" in r, r
        missing = topic + "-missing"
        r = k.alter_configs([KpResource(T, missing, {"retention.ms": "1"})], raise_on_unknown=False)["topic"][missing]
        assert "UnknownTopicOrPartitionError" in r, r
        assert modified()["segment.bytes"] == ("2000000", "DYNAMIC_TOPIC_CONFIG")
    finally:
        k.close()


@pytest.mark.needs("fresh")  # changes broker-wide configs that other tests read
def test_kafka_python_broker_and_group(broker):
    """kafka-python: broker "1" with config_filter static/dynamic, a per-broker alter,
    and GROUP config describe/alter with an out-of-range refusal."""
    k = kp_admin(broker)
    try:
        static = k.describe_configs([KpResource(KpType.BROKER, "1")], config_filter="static")["broker"]["1"]
        assert {"node.id", "log.dirs", "advertised.listeners"} <= set(static), sorted(static)
        assert all(c["config_source"] == "STATIC_BROKER_CONFIG" for c in static.values())
        dynamic = k.describe_configs([KpResource(KpType.BROKER, "1")], config_filter="dynamic")["broker"]["1"]
        assert {"log.retention.ms", "log.segment.bytes", "message.max.bytes", "log.cleanup.policy"} <= set(dynamic)
        assert not {"node.id", "num.partitions", "log.dirs"} & set(dynamic)

        assert k.alter_configs([KpResource(KpType.BROKER, "1", {"log.retention.bytes": "1000000000"})]) == {
            "broker": {"1": "OK"}
        }
        got = k.describe_configs([KpResource(KpType.BROKER, "1", ["log.retention.bytes"])])["broker"]["1"]
        assert (got["log.retention.bytes"]["value"], got["log.retention.bytes"]["config_source"]) == (
            "1000000000",
            "DYNAMIC_BROKER_CONFIG",
        )

        g = "compat-kp-group"
        assert k.alter_configs([KpResource(KpType.GROUP, g, {"consumer.session.timeout.ms": "60000"})]) == {
            "group": {g: "OK"}
        }
        got = k.describe_configs([KpResource(KpType.GROUP, g)])["group"][g]
        assert {n: (c["value"], c["config_source"]) for n, c in got.items()} == {
            "consumer.session.timeout.ms": ("60000", "DYNAMIC_GROUP_CONFIG")
        }
        r = k.alter_configs([KpResource(KpType.GROUP, g, {"consumer.session.timeout.ms": "44999"})])["group"][g]
        assert "InvalidConfigurationError" in r and "consumer.session.timeout.ms" in r, r
    finally:
        k.close()


def test_describe_include_documentation(broker, topic):
    """DescribeConfigs v4 include_documentation (kafka-python's request class; no
    admin API exposes it): every topic config has documentation and Kafka's type when
    asked, none when not."""
    ck.create_topic(broker, topic)
    k = kp_admin(broker)
    try:
        code, msg, docs = kp_describe_raw(k, KpType.TOPIC, topic, synonyms=False, documentation=True)
        assert code == 0, msg
        assert set(docs) == set(KAFKA4_TOPIC_DEFAULTS)
        undocumented = [n for n, c in docs.items() if not c["documentation"]]
        assert not undocumented, undocumented
        assert all(c["synonyms"] == [] for c in docs.values())
        # ConfigType: BOOLEAN 1, STRING 2, INT 3, LONG 5, DOUBLE 6, LIST 7.
        assert {
            n: docs[n]["config_type"]
            for n in (
                "preallocate",
                "compression.type",
                "segment.bytes",
                "retention.ms",
                "min.cleanable.dirty.ratio",
                "cleanup.policy",
            )
        } == {
            "preallocate": 1,
            "compression.type": 2,
            "segment.bytes": 3,
            "retention.ms": 5,
            "min.cleanable.dirty.ratio": 6,
            "cleanup.policy": 7,
        }
        code, msg, plain = kp_describe_raw(k, KpType.TOPIC, topic, synonyms=False, documentation=False)
        assert code == 0, msg
        assert all(c["documentation"] is None for c in plain.values())

        code, msg, bdocs = kp_describe_raw(
            k, KpType.BROKER, "1", ["log.retention.hours", "num.partitions"], documentation=True
        )
        assert code == 0, msg
        assert set(bdocs) == {"log.retention.hours", "num.partitions"}
        assert all(c["documentation"] for c in bdocs.values())
    finally:
        k.close()


# ========================================================================= kafkajs


@needs_kafkajs
def test_kafkajs_topic_configs(broker, topic):
    """KafkaJS: createTopics with configEntries, describeConfigs (with and without
    synonyms, with configNames), alterConfigs validateOnly / replace-all / refusals,
    unknown topic (and no auto-create)."""
    out = run_kjs("topic", broker, topic)
    assert out["created"] is True
    after = out["afterCreate"]
    assert set(after) == set(KAFKA4_TOPIC_DEFAULTS)
    assert (after["cleanup.policy"]["value"], after["cleanup.policy"]["source"]) == ("compact", DYNAMIC_TOPIC)
    assert (after["retention.ms"]["value"], after["retention.ms"]["source"]) == ("3600000", DYNAMIC_TOPIC)
    assert (after["segment.bytes"]["value"], after["segment.bytes"]["source"], after["segment.bytes"]["isDefault"]) == (
        "1073741824",
        DEFAULT,
        True,
    )
    assert all(e["synonyms"] == [] for e in after.values()), "synonyms without includeSynonyms"

    syn = out["synonyms"]
    assert set(syn) == {"retention.ms", "cleanup.policy", "segment.bytes"}
    assert syn["retention.ms"]["synonyms"] == [
        ["retention.ms", "3600000", DYNAMIC_TOPIC],
        ["log.retention.hours", "168", DEFAULT],
    ]
    assert syn["cleanup.policy"]["synonyms"] == [
        ["cleanup.policy", "compact", DYNAMIC_TOPIC],
        ["log.cleanup.policy", "delete", DEFAULT],
    ]
    assert syn["segment.bytes"]["synonyms"] == [["log.segment.bytes", "1073741824", DEFAULT]]

    assert out["validateOnly"] == {"ok": True}
    assert {n: (e["value"], e["source"]) for n, e in out["afterValidateOnly"].items()} == {
        "max.message.bytes": ("1048588", DEFAULT),
        "retention.ms": ("3600000", DYNAMIC_TOPIC),
        "cleanup.policy": ("compact", DYNAMIC_TOPIC),
    }

    assert out["alterResponse"] == [{"errorCode": 0, "resourceName": topic, "resourceType": 2}]
    overrides = {n: e["value"] for n, e in out["afterAlter"].items() if e["source"] == DYNAMIC_TOPIC}
    assert overrides == {"segment.bytes": "2000000", "max.message.bytes": "500000"}
    assert (out["afterAlter"]["cleanup.policy"]["value"], out["afterAlter"]["cleanup.policy"]["source"]) == (
        "delete",
        DEFAULT,
    )
    assert (out["afterAlter"]["retention.ms"]["value"], out["afterAlter"]["retention.ms"]["source"]) == (
        "604800000",
        DEFAULT,
    )

    for step in ("invalidValue", "unknownName"):
        assert out[step]["error"]["type"] == "INVALID_CONFIG", out[step]
    assert {n: e["value"] for n, e in out["afterRefused"].items()} == {
        "segment.bytes": "2000000",
        "max.message.bytes": "500000",
    }
    for step in ("describeMissing", "alterMissing"):
        assert out[step]["error"]["type"] == "UNKNOWN_TOPIC_OR_PARTITION", out[step]
    assert topic + "-missing" not in out["topicsAfter"]


@needs_kafkajs
def test_kafkajs_broker_configs(broker, topic):
    """KafkaJS on BROKER "1": describe (read-only flags, static node.id with
    synonyms), a per-broker log.retention.ms seen by a topic as DYNAMIC_BROKER_CONFIG,
    read-only num.partitions refused, AlterConfigs with no entries resets."""
    out = run_kjs("broker", broker, topic)
    b = out["broker"]
    assert len(b) >= 50
    assert (b["node.id"]["value"], b["node.id"]["source"], b["node.id"]["readOnly"]) == ("1", STATIC_BROKER, True)
    assert b["num.partitions"]["readOnly"] is True
    assert b["log.retention.hours"]["readOnly"] is True
    assert b["log.retention.ms"]["readOnly"] is False
    assert out["brokerSynonyms"]["node.id"]["synonyms"][0] == ["node.id", "1", STATIC_BROKER]
    assert out["brokerSynonyms"]["log.retention.hours"]["synonyms"] == [["log.retention.hours", "168", DEFAULT]]

    assert out["setRetention"] == {"ok": True}
    assert (
        out["brokerAfterSet"]["log.retention.ms"]["value"],
        out["brokerAfterSet"]["log.retention.ms"]["source"],
    ) == ("900000", DYNAMIC_BROKER)
    t = out["topicAfterSet"]["retention.ms"]
    assert (t["value"], t["source"]) == ("900000", DYNAMIC_BROKER)
    assert t["synonyms"] == [["log.retention.ms", "900000", DYNAMIC_BROKER], ["log.retention.hours", "168", DEFAULT]]

    assert out["readOnly"]["error"]["type"] == "INVALID_CONFIG", out["readOnly"]
    assert out["topicAfterReadOnly"]["retention.ms"]["value"] == "900000"

    assert out["reset"] == {"ok": True}
    assert (out["topicAfterReset"]["retention.ms"]["value"], out["topicAfterReset"]["retention.ms"]["source"]) == (
        "604800000",
        DEFAULT,
    )
    assert (
        out["brokerAfterReset"]["log.retention.ms"]["value"],
        out["brokerAfterReset"]["log.retention.ms"]["source"],
    ) == (None, DEFAULT)


# ===================================================== applications' start-up calls


def test_schema_registry_startup(broker):
    """Schema Registry's KafkaStore.createOrVerifySchemaTopic. First start: the topic
    is missing, so CreateTopics(_schemas, 1 partition, cleanup.policy=compact). Every
    later start: listTopics, describeTopics, then Java AdminClient.describeConfigs of
    the topic (DescribeConfigs v4, all keys, no synonyms, no documentation) and
    `cleanup.policy` must equal "compact" or it refuses to start. Also the narrower
    form (only cleanup.policy asked for), and that a non-compacted topic would be
    caught."""
    ck.create_topic(broker, "_schemas", partitions=1, config={"cleanup.policy": "compact"})
    assert ck.topic_partitions(broker, "_schemas") == {"_schemas": 1}
    k = kp_admin(broker)
    try:
        resp = kp_send(
            k,
            DescribeConfigsRequest(
                resources=[(KpType.TOPIC, "_schemas", None)], include_synonyms=False, include_documentation=False
            ),
        )
        assert resp.version == 4
        (res,) = resp.results
        assert (res.error_code, res.resource_name, res.resource_type) == (0, "_schemas", KpType.TOPIC.value)
        configs = {c.name: c for c in res.configs}
        assert configs["cleanup.policy"].value == "compact"
        assert configs["cleanup.policy"].config_source == DYNAMIC_TOPIC
        assert len(configs) == len(KAFKA4_TOPIC_DEFAULTS)

        only = k.describe_configs([KpResource(KpType.TOPIC, "_schemas", ["cleanup.policy"])], config_filter="all")[
            "topic"
        ]["_schemas"]
        assert {n: c["value"] for n, c in only.items()} == {"cleanup.policy": "compact"}
    finally:
        k.close()
    assert ck_values(ck.admin(broker), ResourceType.TOPIC, "_schemas", ["cleanup.policy"]) == {
        "cleanup.policy": ("compact", DYNAMIC_TOPIC)
    }

    # A _schemas topic someone created by hand with the default policy is what Schema
    # Registry refuses ("Expected cleanup.policy to be 'compact' but it is delete").
    ck.create_topic(broker, "_schemas-by-hand")
    assert ck_values(ck.admin(broker), ResourceType.TOPIC, "_schemas-by-hand", ["cleanup.policy"]) == {
        "cleanup.policy": ("delete", DEFAULT)
    }


def test_kafka_connect_startup(broker):
    """Kafka Connect's distributed worker start-up (KafkaConfigBackingStore /
    KafkaOffsetBackingStore / KafkaStatusBackingStore via TopicAdmin): CreateTopics of
    its compacted internal topics; when they already exist (TOPIC_ALREADY_EXISTS, every
    later start) TopicAdmin.verifyTopicCleanupPolicyOnlyCompact describes all configs
    of the topic (DescribeConfigs v4, no synonyms), splits cleanup.policy on commas and
    requires exactly {compact}. One DescribeConfigs for several topics must answer each
    resource on its own: a missing topic is UNKNOWN_TOPIC_OR_PARTITION (Connect's
    "topic does not exist"), a "compact,delete" topic is what Connect refuses."""
    a = ck.admin(broker)
    internal = {"connect-configs": 1, "connect-offsets": 25, "connect-status": 5}

    def create_all():
        futs = a.create_topics(
            [
                NewTopic(t, num_partitions=n, replication_factor=1, config={"cleanup.policy": "compact"})
                for t, n in internal.items()
            ],
            request_timeout=15,
        )
        return {t: ck_outcome(f) for t, f in futs.items()}

    assert create_all() == {t: None for t in internal}
    for t, n in internal.items():
        ck.wait_for_topic(broker, t, n)
    second = create_all()
    for t in internal:
        assert_refused(second[t], KafkaError.TOPIC_ALREADY_EXISTS)

    ck.create_topic(broker, "connect-configs-mixed", config={"cleanup.policy": "compact,delete"})
    names = ["connect-configs", "connect-offsets", "connect-status", "connect-configs-mixed", "connect-configs-missing"]
    k = kp_admin(broker)
    try:
        resp = kp_send(
            k, DescribeConfigsRequest(resources=[(KpType.TOPIC, t, None) for t in names], include_synonyms=False)
        )
    finally:
        k.close()
    results = {r.resource_name: r for r in resp.results}
    assert set(results) == set(names)

    def policies(name):
        (c,) = [c for c in results[name].configs if c.name == "cleanup.policy"]
        return {p.strip().lower() for p in c.value.split(",") if p.strip()}

    for t in internal:
        assert results[t].error_code == 0, (t, results[t].error_message)
        assert policies(t) == {"compact"}, t
    assert results["connect-configs-mixed"].error_code == 0
    assert policies("connect-configs-mixed") == {"compact", "delete"}
    assert results["connect-configs-missing"].error_code == UNKNOWN_TOPIC
    assert results["connect-configs-missing"].configs == []


# ===================================================================== persistence


def test_configs_persist_across_restart(broker_factory, topic):
    """Topic overrides (including one removed by DELETE), the cluster default, a
    per-broker value and a group config all survive a clean restart and then a kill -9
    right after further changes were acknowledged."""
    b = broker_factory(data_dir="auto")
    ck.create_topic(b.bootstrap, topic, config={"cleanup.policy": "compact"})
    ck.create_topic(b.bootstrap, topic + "-2", config={"retention.ms": "1000", "segment.bytes": "2000000"})
    group = "compat-persist-group"
    S, D = AlterConfigOp.SET.value, AlterConfigOp.DELETE.value

    def change(bootstrap, n):
        a = ck.admin(bootstrap)
        assert (
            ck_incremental(
                a,
                ResourceType.TOPIC,
                topic,
                [(SET, "retention.ms", str(3600000 * n)), (APPEND, "cleanup.policy", "delete")],
            )
            is None
        )
        assert ck_incremental(a, ResourceType.TOPIC, topic + "-2", [(DELETE, "retention.ms", None)]) is None
        assert ck_incremental(a, ResourceType.BROKER, "1", [(SET, "message.max.bytes", str(2000000 + n))]) is None
        assert (
            ck_incremental(a, ResourceType.GROUP, group, [(SET, "consumer.session.timeout.ms", str(50000 + n))]) is None
        )
        k = kp_admin(bootstrap)
        try:
            assert kp_incremental_raw(
                k, KpType.BROKER, "", [("log.segment.bytes", S, str(3000000 + n)), ("log.retention.bytes", D, None)]
            ) == (0, None)
            if n == 1:
                assert kp_incremental_raw(k, KpType.BROKER, "", [("log.retention.bytes", S, "5000000")]) == (0, None)
        finally:
            k.close()

    def snapshot(bootstrap):
        a = ck.admin(bootstrap)
        k = kp_admin(bootstrap)
        try:
            cluster = {
                n: (c["value"], c["config_source"]) for n, c in kp_ok(k, KpType.BROKER, "", synonyms=False).items()
            }
        finally:
            k.close()
        return {
            "topic": ck_values(a, ResourceType.TOPIC, topic),
            "topic2": ck_values(a, ResourceType.TOPIC, topic + "-2"),
            "broker": ck_values(
                a, ResourceType.BROKER, "1", ["message.max.bytes", "log.segment.bytes", "log.retention.bytes"]
            ),
            "cluster": cluster,
            "group": ck_values(a, ResourceType.GROUP, group),
        }

    change(b.bootstrap, 1)
    before = snapshot(b.bootstrap)
    assert before["topic"]["retention.ms"] == ("3600000", DYNAMIC_TOPIC)
    assert before["topic"]["cleanup.policy"] == ("compact,delete", DYNAMIC_TOPIC)
    assert before["topic"]["segment.bytes"] == ("3000001", DYNAMIC_DEFAULT_BROKER)
    assert before["topic"]["retention.bytes"] == ("5000000", DYNAMIC_DEFAULT_BROKER)
    assert before["topic"]["max.message.bytes"] == ("2000001", DYNAMIC_BROKER)
    assert before["topic2"]["retention.ms"] == ("604800000", DEFAULT)
    assert before["topic2"]["segment.bytes"] == ("2000000", DYNAMIC_TOPIC)
    assert before["cluster"] == {
        "log.segment.bytes": ("3000001", DYNAMIC_DEFAULT_BROKER),
        "log.retention.bytes": ("5000000", DYNAMIC_DEFAULT_BROKER),
    }
    assert before["group"]["consumer.session.timeout.ms"] == ("50001", GROUP_CONFIG)

    assert b.stop() == 0
    b.start()
    assert snapshot(b.bootstrap) == before

    # Changes acknowledged just before a kill -9 are not lost either.
    change(b.bootstrap, 2)
    before = snapshot(b.bootstrap)
    assert before["topic"]["retention.ms"] == ("7200000", DYNAMIC_TOPIC)
    assert before["cluster"] == {"log.segment.bytes": ("3000002", DYNAMIC_DEFAULT_BROKER)}
    assert before["topic"]["retention.bytes"] == ("-1", DEFAULT)
    b.restart(hard=True)
    assert snapshot(b.bootstrap) == before


def test_kafka_ui_startup_calls(broker, topic):
    """Kafka UI (provectus) on loading a cluster: DescribeCluster for the controller,
    DescribeConfigs of that BROKER (it reads `delete.topic.enable` to offer topic
    deletion), DescribeConfigs of every topic with synonyms (and documentation on the
    topic page), and DescribeLogDirs for the brokers' disk usage."""
    kp = kp_admin(broker)
    try:
        kp.create_topics([__import__("kafka").admin.NewTopic(topic, 2, 1, topic_configs={"retention.ms": "3600000"})])
        cluster = kp.describe_cluster()
        controller = cluster["controller_id"]
        assert controller == 1
        brk = kp_ok(kp, KpType.BROKER, str(controller), synonyms=False)
        assert brk["delete.topic.enable"]["value"] == "true"
        topics = [t for t in kp.list_topics() if not t.startswith("__")]
        assert topic in topics
        for t in topics:
            code, msg, cfg = kp_describe_raw(kp, KpType.TOPIC, t, synonyms=True, documentation=True)
            assert code == 0, msg
            # other tests' topics may be compacted (a broker shared by tests, compat/target.py)
            assert cfg["cleanup.policy"]["value"] == "delete" or t != topic
            assert cfg["cleanup.policy"]["documentation"]
        code, _, cfg = kp_describe_raw(kp, KpType.TOPIC, topic, synonyms=True, documentation=True)
        ret = cfg["retention.ms"]
        assert ret["value"] == "3600000" and ret["config_source"] == DYNAMIC_TOPIC
        assert ret["synonyms"][0] == ("retention.ms", "3600000", DYNAMIC_TOPIC)
        assert ("log.retention.hours", "168", DEFAULT) in ret["synonyms"]
        (b,) = kp.describe_log_dirs()
        assert b["broker"] == 1
        (d,) = b["log_dirs"]
        assert d["error_code"] == 0 and d["log_dir"].endswith("logs")
        assert 0 < d["usable_bytes"] <= d["total_bytes"]
        mine = [t for t in d["topics"] if t["name"] == topic]
        assert [p["partition_index"] for p in mine[0]["partitions"]] == [0, 1]
    finally:
        kp.close()
