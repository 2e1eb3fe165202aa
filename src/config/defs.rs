//! The config definitions: Kafka's names, types, defaults and rules for topic, broker
//! and group resources, and which broker configs supply a topic config's default.

/// Kafka's config types (DescribeConfigs v3+ `config_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    Boolean,
    String,
    Int,
    Short,
    Long,
    Double,
    List,
    Class,
    Password,
}

/// What a value must satisfy.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    Any,
    /// A number at least this.
    AtLeast(i64),
    /// A number in this closed range.
    Between(i64, i64),
    /// A number at least the first, or exactly the second (e.g. `-1` for "unset").
    AtLeastOr(i64, i64),
    /// One of these strings.
    OneOf(&'static [&'static str]),
    /// A comma-separated list of these strings (at least one).
    ListOf(&'static [&'static str]),
    /// A fraction in [0, 1].
    Ratio,
}

/// One config a resource has.
#[derive(Debug, Clone, Copy)]
pub struct ConfigDef {
    pub name: &'static str,
    pub ty: ConfigType,
    /// Kafka's default (None: no default, reported as null).
    pub default: Option<&'static str>,
    pub rule: Rule,
    /// Broker configs: may be changed at run time (cluster-wide or per broker).
    pub dynamic: bool,
    pub doc: &'static str,
}

/// A broker config that supplies a topic config's default; `scale` converts its unit to
/// the topic config's (hours → ms is 3 600 000).
#[derive(Debug, Clone, Copy)]
pub struct Synonym {
    pub name: &'static str,
    pub scale: i64,
}

const LMAX: &str = "9223372036854775807";
const POLICIES: &[&str] = &["compact", "delete"];
const CODECS: &[&str] = &["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"];
const TS_TYPES: &[&str] = &["CreateTime", "LogAppendTime"];
const BOOL: &[&str] = &["true", "false"];

const fn topic(
    name: &'static str,
    ty: ConfigType,
    default: &'static str,
    rule: Rule,
    doc: &'static str,
) -> ConfigDef {
    ConfigDef {
        name,
        ty,
        default: Some(default),
        rule,
        dynamic: true,
        doc,
    }
}

use ConfigType as T;

/// Every topic config of Kafka 4.x, sorted by name.
pub const TOPIC: &[ConfigDef] = &[
    topic("cleanup.policy", T::List, "delete", Rule::ListOf(POLICIES),
        "delete: drop old segments by retention; compact: keep the latest record per key; both may be given."),
    topic("compression.gzip.level", T::Int, "-1", Rule::AtLeastOr(1, -1),
        "Level used when compression.type is gzip (1-9, -1 for the codec default)."),
    topic("compression.lz4.level", T::Int, "9", Rule::Between(1, 17),
        "Level used when compression.type is lz4."),
    topic("compression.type", T::String, "producer", Rule::OneOf(CODECS),
        "Codec batches are stored with; producer keeps what the producer sent."),
    topic("compression.zstd.level", T::Int, "3", Rule::Between(-131072, 22),
        "Level used when compression.type is zstd."),
    topic("delete.retention.ms", T::Long, "86400000", Rule::AtLeast(0),
        "How long tombstones stay readable in a compacted topic after the cleaner reaches them."),
    topic("file.delete.delay.ms", T::Long, "60000", Rule::AtLeast(0),
        "Delay before a deleted segment's files are removed from disk."),
    topic("flush.messages", T::Long, LMAX, Rule::AtLeast(1),
        "Force an fsync after this many records (Rill syncs by its --fsync policy)."),
    topic("flush.ms", T::Long, LMAX, Rule::AtLeast(0),
        "Force an fsync after this long (Rill syncs by its --fsync policy)."),
    topic("follower.replication.throttled.replicas", T::List, "", Rule::Any,
        "Replicas throttled on the follower side (no effect on a single node)."),
    topic("index.interval.bytes", T::Int, "4096", Rule::AtLeast(0),
        "Bytes of log between two offset-index entries."),
    topic("leader.replication.throttled.replicas", T::List, "", Rule::Any,
        "Replicas throttled on the leader side (no effect on a single node)."),
    topic("local.retention.bytes", T::Long, "-2", Rule::AtLeast(-2),
        "Local retention by size under tiered storage (-2: use retention.bytes)."),
    topic("local.retention.ms", T::Long, "-2", Rule::AtLeast(-2),
        "Local retention by time under tiered storage (-2: use retention.ms)."),
    topic("max.compaction.lag.ms", T::Long, LMAX, Rule::AtLeast(1),
        "Longest time a record may stay uncompacted."),
    topic("max.message.bytes", T::Int, "1048588", Rule::AtLeast(0),
        "Largest record batch the topic accepts."),
    topic("message.timestamp.after.max.ms", T::Long, "3600000", Rule::AtLeast(0),
        "How far in the future a CreateTime timestamp may be."),
    topic("message.timestamp.before.max.ms", T::Long, LMAX, Rule::AtLeast(0),
        "How far in the past a CreateTime timestamp may be."),
    topic("message.timestamp.type", T::String, "CreateTime", Rule::OneOf(TS_TYPES),
        "CreateTime keeps the producer's timestamps; LogAppendTime stamps batches on append."),
    topic("min.cleanable.dirty.ratio", T::Double, "0.5", Rule::Ratio,
        "Share of the log that must be uncleaned before the cleaner compacts it."),
    topic("min.compaction.lag.ms", T::Long, "0", Rule::AtLeast(0),
        "Shortest time a record stays uncompacted."),
    topic("min.insync.replicas", T::Int, "1", Rule::AtLeast(1),
        "Replicas that must acknowledge an acks=all write (always met on a single node)."),
    topic("preallocate", T::Boolean, "false", Rule::OneOf(BOOL),
        "Preallocate segment files."),
    topic("remote.log.copy.disable", T::Boolean, "false", Rule::OneOf(BOOL),
        "Stop copying segments to tiered storage."),
    topic("remote.log.delete.on.disable", T::Boolean, "false", Rule::OneOf(BOOL),
        "Delete tiered data when tiered storage is turned off."),
    topic("remote.storage.enable", T::Boolean, "false", Rule::OneOf(BOOL),
        "Tiered storage (not available in Rill)."),
    topic("retention.bytes", T::Long, "-1", Rule::Any,
        "Largest size a partition keeps before old segments are deleted (-1: no limit)."),
    topic("retention.ms", T::Long, "604800000", Rule::AtLeast(-1),
        "How long records are kept before their segment is deleted (-1: forever)."),
    topic("segment.bytes", T::Int, "1073741824", Rule::AtLeast(1024),
        "Size at which a segment is rolled."),
    topic("segment.index.bytes", T::Int, "10485760", Rule::AtLeast(64),
        "Size of a segment's offset and time index files."),
    topic("segment.jitter.ms", T::Long, "0", Rule::AtLeast(0),
        "Random amount subtracted from segment.ms."),
    topic("segment.ms", T::Long, "604800000", Rule::AtLeast(1),
        "Age at which a segment is rolled even if not full."),
    topic("unclean.leader.election.enable", T::Boolean, "false", Rule::OneOf(BOOL),
        "Allow out-of-sync replicas to lead (no effect on a single node)."),
];

const fn syn(name: &'static str) -> Synonym {
    Synonym { name, scale: 1 }
}

/// The broker configs that give a topic config its default, in Kafka's precedence
/// order (`log.retention.ms` before `log.retention.minutes` before `log.retention.hours`).
const SYNONYMS: &[(&str, &[Synonym])] = &[
    ("cleanup.policy", &[syn("log.cleanup.policy")]),
    ("compression.type", &[syn("compression.type")]),
    ("compression.gzip.level", &[syn("compression.gzip.level")]),
    ("compression.lz4.level", &[syn("compression.lz4.level")]),
    ("compression.zstd.level", &[syn("compression.zstd.level")]),
    (
        "delete.retention.ms",
        &[syn("log.cleaner.delete.retention.ms")],
    ),
    (
        "file.delete.delay.ms",
        &[syn("log.segment.delete.delay.ms")],
    ),
    ("flush.messages", &[syn("log.flush.interval.messages")]),
    (
        "flush.ms",
        &[
            syn("log.flush.interval.ms"),
            syn("log.flush.scheduler.interval.ms"),
        ],
    ),
    ("index.interval.bytes", &[syn("log.index.interval.bytes")]),
    ("local.retention.bytes", &[syn("log.local.retention.bytes")]),
    ("local.retention.ms", &[syn("log.local.retention.ms")]),
    (
        "max.compaction.lag.ms",
        &[syn("log.cleaner.max.compaction.lag.ms")],
    ),
    ("max.message.bytes", &[syn("message.max.bytes")]),
    (
        "message.timestamp.after.max.ms",
        &[syn("log.message.timestamp.after.max.ms")],
    ),
    (
        "message.timestamp.before.max.ms",
        &[syn("log.message.timestamp.before.max.ms")],
    ),
    (
        "message.timestamp.type",
        &[syn("log.message.timestamp.type")],
    ),
    (
        "min.cleanable.dirty.ratio",
        &[syn("log.cleaner.min.cleanable.ratio")],
    ),
    (
        "min.compaction.lag.ms",
        &[syn("log.cleaner.min.compaction.lag.ms")],
    ),
    ("min.insync.replicas", &[syn("min.insync.replicas")]),
    ("preallocate", &[syn("log.preallocate")]),
    ("retention.bytes", &[syn("log.retention.bytes")]),
    (
        "retention.ms",
        &[
            syn("log.retention.ms"),
            Synonym {
                name: "log.retention.minutes",
                scale: 60_000,
            },
            Synonym {
                name: "log.retention.hours",
                scale: 3_600_000,
            },
        ],
    ),
    ("segment.bytes", &[syn("log.segment.bytes")]),
    ("segment.index.bytes", &[syn("log.index.size.max.bytes")]),
    (
        "segment.jitter.ms",
        &[
            syn("log.roll.jitter.ms"),
            Synonym {
                name: "log.roll.jitter.hours",
                scale: 3_600_000,
            },
        ],
    ),
    (
        "segment.ms",
        &[
            syn("log.roll.ms"),
            Synonym {
                name: "log.roll.hours",
                scale: 3_600_000,
            },
        ],
    ),
    (
        "unclean.leader.election.enable",
        &[syn("unclean.leader.election.enable")],
    ),
];

pub fn topic_synonyms(topic_config: &str) -> &'static [Synonym] {
    SYNONYMS
        .iter()
        .find(|(n, _)| *n == topic_config)
        .map(|(_, s)| *s)
        .unwrap_or(&[])
}

const fn dynamic(
    name: &'static str,
    ty: ConfigType,
    default: Option<&'static str>,
    rule: Rule,
    doc: &'static str,
) -> ConfigDef {
    ConfigDef {
        name,
        ty,
        default,
        rule,
        dynamic: true,
        doc,
    }
}

const fn fixed(
    name: &'static str,
    ty: ConfigType,
    default: Option<&'static str>,
    doc: &'static str,
) -> ConfigDef {
    ConfigDef {
        name,
        ty,
        default,
        rule: Rule::Any,
        dynamic: false,
        doc,
    }
}

/// A Kafka broker setting Rill reports at Kafka's default and does not use.
const fn kafka_ro(name: &'static str, ty: ConfigType, default: Option<&'static str>) -> ConfigDef {
    fixed(
        name,
        ty,
        default,
        "A Kafka broker setting, reported at Kafka's default; no effect in Rill.",
    )
}

/// A dynamic Kafka broker setting Rill accepts and stores but does not use.
const fn kafka_dyn(name: &'static str, ty: ConfigType, default: Option<&'static str>) -> ConfigDef {
    dynamic(
        name,
        ty,
        default,
        Rule::Any,
        "A Kafka broker setting, accepted and stored when altered; no effect in Rill.",
    )
}

/// Every broker config of Kafka 4.0, sorted by name, with Kafka's update modes: the
/// topic-config synonyms (only each one's primary synonym dynamic, as in Kafka), the
/// settings Rill runs with (read-only: its flags), and the rest (`kafka_ro`/`kafka_dyn`:
/// reported or stored, no effect in Rill).
pub const BROKER: &[ConfigDef] = &[
    kafka_ro("add.partitions.to.txn.retry.backoff.max.ms", T::Int, Some("100")),
    kafka_ro("add.partitions.to.txn.retry.backoff.ms", T::Int, Some("20")),
    fixed(
        "advertised.listeners",
        T::String,
        None,
        "Addresses clients are told to connect to.",
    ),
    kafka_ro("alter.config.policy.class.name", T::Class, None),
    kafka_ro("alter.log.dirs.replication.quota.window.num", T::Int, Some("11")),
    kafka_ro("alter.log.dirs.replication.quota.window.size.seconds", T::Int, Some("1")),
    kafka_ro("authorizer.class.name", T::String, Some("")),
    fixed(
        "auto.create.topics.enable",
        T::Boolean,
        Some("true"),
        "Create unknown topics asked for in Metadata.",
    ),
    kafka_ro("auto.leader.rebalance.enable", T::Boolean, Some("true")),
    dynamic(
        "background.threads",
        T::Int,
        Some("10"),
        Rule::AtLeast(1),
        "Threads for background work (stored; Rill runs on tokio).",
    ),
    kafka_ro("broker.heartbeat.interval.ms", T::Int, Some("2000")),
    fixed("broker.id", T::Int, Some("-1"), "This node's id."),
    kafka_ro("broker.rack", T::String, None),
    kafka_ro("broker.session.timeout.ms", T::Int, Some("9000")),
    kafka_ro("client.quota.callback.class", T::Class, None),
    dynamic(
        "compression.gzip.level",
        T::Int,
        Some("-1"),
        Rule::AtLeastOr(1, -1),
        "Default for the topic config of the same name.",
    ),
    dynamic(
        "compression.lz4.level",
        T::Int,
        Some("9"),
        Rule::Between(1, 17),
        "Default for the topic config of the same name.",
    ),
    dynamic(
        "compression.type",
        T::String,
        Some("producer"),
        Rule::OneOf(CODECS),
        "Default for the topic config of the same name.",
    ),
    dynamic(
        "compression.zstd.level",
        T::Int,
        Some("3"),
        Rule::Between(-131072, 22),
        "Default for the topic config of the same name.",
    ),
    kafka_ro("connection.failed.authentication.delay.ms", T::Int, Some("100")),
    fixed(
        "connections.max.idle.ms",
        T::Long,
        Some("600000"),
        "Connections with no request for this long are closed (--connections-max-idle-ms).",
    ),
    kafka_ro("connections.max.reauth.ms", T::Long, Some("0")),
    kafka_ro("controlled.shutdown.enable", T::Boolean, Some("true")),
    kafka_ro("controller.listener.names", T::String, None),
    kafka_ro("controller.quorum.append.linger.ms", T::Int, Some("25")),
    kafka_ro("controller.quorum.bootstrap.servers", T::List, Some("")),
    kafka_ro("controller.quorum.election.backoff.max.ms", T::Int, Some("1000")),
    kafka_ro("controller.quorum.election.timeout.ms", T::Int, Some("1000")),
    kafka_ro("controller.quorum.fetch.timeout.ms", T::Int, Some("2000")),
    kafka_ro("controller.quorum.request.timeout.ms", T::Int, Some("2000")),
    kafka_ro("controller.quorum.retry.backoff.ms", T::Int, Some("20")),
    kafka_ro("controller.quorum.voters", T::List, Some("")),
    kafka_ro("controller.quota.window.num", T::Int, Some("11")),
    kafka_ro("controller.quota.window.size.seconds", T::Int, Some("1")),
    kafka_ro("controller.socket.timeout.ms", T::Int, Some("30000")),
    kafka_ro("create.topic.policy.class.name", T::Class, None),
    fixed(
        "default.replication.factor",
        T::Int,
        Some("1"),
        "Replication factor of auto-created topics.",
    ),
    kafka_ro("delegation.token.expiry.check.interval.ms", T::Long, Some("3600000")),
    kafka_ro("delegation.token.expiry.time.ms", T::Long, Some("86400000")),
    kafka_ro("delegation.token.max.lifetime.ms", T::Long, Some("604800000")),
    kafka_ro("delegation.token.secret.key", T::Password, None),
    kafka_ro("delete.records.purgatory.purge.interval.requests", T::Int, Some("1")),
    fixed(
        "delete.topic.enable",
        T::Boolean,
        Some("true"),
        "Topics may be deleted.",
    ),
    kafka_ro("early.start.listeners", T::String, None),
    kafka_ro("fetch.max.bytes", T::Int, Some("57671680")),
    kafka_ro("fetch.purgatory.purge.interval.requests", T::Int, Some("1000")),
    kafka_ro("group.consumer.assignors", T::List, Some("uniform,range")),
    fixed(
        "group.consumer.heartbeat.interval.ms",
        T::Int,
        Some("5000"),
        "Heartbeat interval of consumer-protocol (KIP-848) groups.",
    ),
    fixed(
        "group.consumer.max.heartbeat.interval.ms",
        T::Int,
        Some("15000"),
        "Largest consumer.heartbeat.interval.ms a group may set.",
    ),
    fixed(
        "group.consumer.max.session.timeout.ms",
        T::Int,
        Some("60000"),
        "Largest consumer.session.timeout.ms a group may set.",
    ),
    kafka_ro("group.consumer.max.size", T::Int, Some("2147483647")),
    kafka_ro("group.consumer.migration.policy", T::String, Some("bidirectional")),
    fixed(
        "group.consumer.min.heartbeat.interval.ms",
        T::Int,
        Some("5000"),
        "Smallest consumer.heartbeat.interval.ms a group may set.",
    ),
    fixed(
        "group.consumer.min.session.timeout.ms",
        T::Int,
        Some("45000"),
        "Smallest consumer.session.timeout.ms a group may set.",
    ),
    fixed(
        "group.consumer.session.timeout.ms",
        T::Int,
        Some("45000"),
        "Session timeout of consumer-protocol (KIP-848) groups.",
    ),
    kafka_ro("group.coordinator.append.linger.ms", T::Int, Some("5")),
    kafka_ro("group.coordinator.rebalance.protocols", T::List, Some("classic,consumer")),
    kafka_ro("group.coordinator.threads", T::Int, Some("4")),
    fixed(
        "group.initial.rebalance.delay.ms",
        T::Int,
        Some("3000"),
        "How long a new classic group waits for more members before its first rebalance.",
    ),
    fixed(
        "group.max.session.timeout.ms",
        T::Int,
        Some("1800000"),
        "Largest session timeout a classic member may ask for.",
    ),
    kafka_ro("group.max.size", T::Int, Some("2147483647")),
    fixed(
        "group.min.session.timeout.ms",
        T::Int,
        Some("6000"),
        "Smallest session timeout a classic member may ask for.",
    ),
    kafka_ro("group.share.delivery.count.limit", T::Int, Some("5")),
    kafka_ro("group.share.heartbeat.interval.ms", T::Int, Some("5000")),
    kafka_ro("group.share.max.groups", T::Short, Some("10")),
    kafka_ro("group.share.max.heartbeat.interval.ms", T::Int, Some("15000")),
    kafka_ro("group.share.max.record.lock.duration.ms", T::Int, Some("60000")),
    kafka_ro("group.share.max.session.timeout.ms", T::Int, Some("60000")),
    kafka_ro("group.share.max.size", T::Int, Some("200")),
    kafka_ro("group.share.min.heartbeat.interval.ms", T::Int, Some("5000")),
    kafka_ro("group.share.min.record.lock.duration.ms", T::Int, Some("15000")),
    kafka_ro("group.share.min.session.timeout.ms", T::Int, Some("45000")),
    kafka_ro("group.share.partition.max.record.locks", T::Int, Some("200")),
    kafka_ro("group.share.record.lock.duration.ms", T::Int, Some("30000")),
    kafka_ro("group.share.session.timeout.ms", T::Int, Some("45000")),
    kafka_ro("initial.broker.registration.timeout.ms", T::Int, Some("60000")),
    kafka_ro("inter.broker.listener.name", T::String, None),
    kafka_ro("kafka.metrics.polling.interval.secs", T::Int, Some("10")),
    kafka_ro("kafka.metrics.reporters", T::List, Some("")),
    kafka_ro("leader.imbalance.check.interval.seconds", T::Long, Some("300")),
    fixed(
        "listener.security.protocol.map",
        T::String,
        Some("SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT"),
        "Each listener's security protocol (rill serve --listen, --listener-security-protocol-map).",
    ),
    fixed(
        "listeners",
        T::String,
        Some("PLAINTEXT://:9092"),
        "Addresses the broker listens on.",
    ),
    dynamic(
        "log.cleaner.backoff.ms",
        T::Long,
        Some("15000"),
        Rule::AtLeast(0),
        "How long the log cleaner sleeps when nothing is due.",
    ),
    dynamic(
        "log.cleaner.dedupe.buffer.size",
        T::Long,
        Some("134217728"),
        Rule::AtLeast(1024),
        "Memory for the log cleaner's key map.",
    ),
    dynamic(
        "log.cleaner.delete.retention.ms",
        T::Long,
        Some("86400000"),
        Rule::AtLeast(0),
        "Default for delete.retention.ms.",
    ),
    kafka_ro("log.cleaner.enable", T::Boolean, Some("true")),
    dynamic(
        "log.cleaner.io.buffer.load.factor",
        T::Double,
        Some("0.9"),
        Rule::Any,
        "Load factor of the cleaner's map (stored; Rill sizes its map by entries).",
    ),
    dynamic(
        "log.cleaner.io.buffer.size",
        T::Int,
        Some("524288"),
        Rule::AtLeast(0),
        "Cleaner I/O buffer size (stored; Rill reads one batch at a time).",
    ),
    dynamic(
        "log.cleaner.io.max.bytes.per.second",
        T::Double,
        Some("1.7976931348623157E308"),
        Rule::Any,
        "Cleaner I/O throttle (stored, not applied).",
    ),
    dynamic(
        "log.cleaner.max.compaction.lag.ms",
        T::Long,
        Some(LMAX),
        Rule::AtLeast(1),
        "Default for max.compaction.lag.ms.",
    ),
    dynamic(
        "log.cleaner.min.cleanable.ratio",
        T::Double,
        Some("0.5"),
        Rule::Ratio,
        "Default for min.cleanable.dirty.ratio.",
    ),
    dynamic(
        "log.cleaner.min.compaction.lag.ms",
        T::Long,
        Some("0"),
        Rule::AtLeast(0),
        "Default for min.compaction.lag.ms.",
    ),
    dynamic(
        "log.cleaner.threads",
        T::Int,
        Some("1"),
        Rule::AtLeast(0),
        "Cleaner threads (stored; Rill runs one cleaner).",
    ),
    dynamic(
        "log.cleanup.policy",
        T::List,
        Some("delete"),
        Rule::ListOf(POLICIES),
        "Default for cleanup.policy.",
    ),
    fixed(
        "log.dir",
        T::String,
        Some("/tmp/kafka-logs"),
        "Where partition logs are kept.",
    ),
    kafka_ro("log.dir.failure.timeout.ms", T::Long, Some("30000")),
    fixed(
        "log.dirs",
        T::String,
        None,
        "Where partition logs are kept.",
    ),
    dynamic(
        "log.flush.interval.messages",
        T::Long,
        Some(LMAX),
        Rule::AtLeast(1),
        "Default for flush.messages.",
    ),
    dynamic(
        "log.flush.interval.ms",
        T::Long,
        None,
        Rule::AtLeast(0),
        "Default for flush.ms.",
    ),
    kafka_ro("log.flush.offset.checkpoint.interval.ms", T::Int, Some("60000")),
    fixed(
        "log.flush.scheduler.interval.ms",
        T::Long,
        Some(LMAX),
        "Default for flush.ms when log.flush.interval.ms is unset.",
    ),
    kafka_ro("log.flush.start.offset.checkpoint.interval.ms", T::Int, Some("60000")),
    dynamic(
        "log.index.interval.bytes",
        T::Int,
        Some("4096"),
        Rule::AtLeast(0),
        "Default for index.interval.bytes.",
    ),
    dynamic(
        "log.index.size.max.bytes",
        T::Int,
        Some("10485760"),
        Rule::AtLeast(64),
        "Default for segment.index.bytes.",
    ),
    dynamic(
        "log.local.retention.bytes",
        T::Long,
        Some("-2"),
        Rule::AtLeast(-2),
        "Default for local.retention.bytes.",
    ),
    dynamic(
        "log.local.retention.ms",
        T::Long,
        Some("-2"),
        Rule::AtLeast(-2),
        "Default for local.retention.ms.",
    ),
    dynamic(
        "log.message.timestamp.after.max.ms",
        T::Long,
        Some("3600000"),
        Rule::AtLeast(0),
        "Default for message.timestamp.after.max.ms.",
    ),
    dynamic(
        "log.message.timestamp.before.max.ms",
        T::Long,
        Some(LMAX),
        Rule::AtLeast(0),
        "Default for message.timestamp.before.max.ms.",
    ),
    dynamic(
        "log.message.timestamp.type",
        T::String,
        Some("CreateTime"),
        Rule::OneOf(TS_TYPES),
        "Default for message.timestamp.type.",
    ),
    dynamic(
        "log.preallocate",
        T::Boolean,
        Some("false"),
        Rule::OneOf(BOOL),
        "Default for preallocate.",
    ),
    dynamic(
        "log.retention.bytes",
        T::Long,
        Some("-1"),
        Rule::Any,
        "Default for retention.bytes.",
    ),
    fixed(
        "log.retention.check.interval.ms",
        T::Long,
        Some("300000"),
        "How often retention is applied.",
    ),
    fixed("log.retention.hours", T::Int, Some("168"), "Default for retention.ms, in hours (used when the minutes and ms forms are unset)."),
    fixed("log.retention.minutes", T::Int, None, "Default for retention.ms, in minutes (used when log.retention.ms is unset)."),
    dynamic(
        "log.retention.ms",
        T::Long,
        None,
        Rule::AtLeast(-1),
        "Default for retention.ms.",
    ),
    fixed("log.roll.hours", T::Int, Some("168"), "Default for segment.ms, in hours."),
    fixed("log.roll.jitter.hours", T::Int, Some("0"), "Default for segment.jitter.ms, in hours."),
    dynamic(
        "log.roll.jitter.ms",
        T::Long,
        None,
        Rule::AtLeast(0),
        "Default for segment.jitter.ms.",
    ),
    dynamic(
        "log.roll.ms",
        T::Long,
        None,
        Rule::AtLeast(1),
        "Default for segment.ms.",
    ),
    dynamic(
        "log.segment.bytes",
        T::Int,
        Some("1073741824"),
        Rule::AtLeast(1024),
        "Default for segment.bytes.",
    ),
    dynamic(
        "log.segment.delete.delay.ms",
        T::Long,
        Some("60000"),
        Rule::AtLeast(0),
        "Default for file.delete.delay.ms.",
    ),
    dynamic(
        "max.connection.creation.rate",
        T::Int,
        Some("2147483647"),
        Rule::AtLeast(0),
        "Connection creation rate limit (stored, not applied).",
    ),
    dynamic(
        "max.connections",
        T::Int,
        Some("2147483647"),
        Rule::AtLeast(0),
        "The most connections the broker holds at once; at the limit, new connections wait to be accepted (as in Kafka).",
    ),
    dynamic(
        "max.connections.per.ip",
        T::Int,
        Some("2147483647"),
        Rule::AtLeast(0),
        "The most connections from one IP; over it, a new connection is closed at once.",
    ),
    dynamic(
        "max.connections.per.ip.overrides",
        T::String,
        Some(""),
        Rule::Any,
        "Per-IP limits over max.connections.per.ip: `ip:limit,ip:limit`.",
    ),
    kafka_ro("max.incremental.fetch.session.cache.slots", T::Int, Some("1000")),
    kafka_ro("max.request.partition.size.limit", T::Int, Some("2000")),
    dynamic(
        "message.max.bytes",
        T::Int,
        Some("1048588"),
        Rule::AtLeast(0),
        "Default for max.message.bytes.",
    ),
    kafka_ro("metadata.log.dir", T::String, None),
    kafka_ro("metadata.log.max.record.bytes.between.snapshots", T::Long, Some("20971520")),
    kafka_ro("metadata.log.max.snapshot.interval.ms", T::Long, Some("3600000")),
    kafka_ro("metadata.log.segment.bytes", T::Int, Some("1073741824")),
    kafka_ro("metadata.log.segment.ms", T::Long, Some("604800000")),
    kafka_ro("metadata.max.idle.interval.ms", T::Int, Some("500")),
    kafka_ro("metadata.max.retention.bytes", T::Long, Some("104857600")),
    kafka_ro("metadata.max.retention.ms", T::Long, Some("604800000")),
    dynamic(
        "metric.reporters",
        T::List,
        Some(""),
        Rule::Any,
        "Metric reporter classes (stored; no effect).",
    ),
    kafka_ro("metrics.num.samples", T::Int, Some("2")),
    kafka_ro("metrics.recording.level", T::String, Some("INFO")),
    kafka_ro("metrics.sample.window.ms", T::Long, Some("30000")),
    dynamic(
        "min.insync.replicas",
        T::Int,
        Some("1"),
        Rule::AtLeast(1),
        "Default for the topic config of the same name.",
    ),
    fixed("node.id", T::Int, Some("-1"), "This node's id."),
    dynamic(
        "num.io.threads",
        T::Int,
        Some("8"),
        Rule::AtLeast(1),
        "Request handler threads (stored; Rill runs on tokio).",
    ),
    dynamic(
        "num.network.threads",
        T::Int,
        Some("3"),
        Rule::AtLeast(1),
        "Network threads (stored; Rill runs on tokio).",
    ),
    fixed(
        "num.partitions",
        T::Int,
        Some("1"),
        "Partitions of auto-created topics.",
    ),
    dynamic(
        "num.recovery.threads.per.data.dir",
        T::Int,
        Some("2"),
        Rule::AtLeast(1),
        "Recovery threads (stored; no effect).",
    ),
    kafka_ro("num.replica.alter.log.dirs.threads", T::Int, None),
    dynamic(
        "num.replica.fetchers",
        T::Int,
        Some("1"),
        Rule::AtLeast(1),
        "Replica fetchers (no replicas on a single node).",
    ),
    kafka_ro("offset.metadata.max.bytes", T::Int, Some("4096")),
    kafka_ro("offsets.commit.timeout.ms", T::Int, Some("5000")),
    kafka_ro("offsets.load.buffer.size", T::Int, Some("5242880")),
    kafka_ro("offsets.retention.check.interval.ms", T::Long, Some("600000")),
    kafka_ro("offsets.retention.minutes", T::Int, Some("10080")),
    kafka_ro("offsets.topic.compression.codec", T::Int, Some("0")),
    kafka_ro("offsets.topic.num.partitions", T::Int, Some("50")),
    fixed(
        "offsets.topic.replication.factor",
        T::Short,
        Some("3"),
        "Replication of committed offsets (one node: 1).",
    ),
    kafka_ro("offsets.topic.segment.bytes", T::Int, Some("104857600")),
    kafka_dyn("principal.builder.class", T::Class, Some("org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder")),
    fixed("process.roles", T::List, Some(""), "Roles of this node."),
    fixed(
        "producer.id.expiration.ms",
        T::Int,
        Some("86400000"),
        "How long an idle producer's sequence state is kept.",
    ),
    kafka_ro("producer.purgatory.purge.interval.requests", T::Int, Some("1000")),
    kafka_ro("queued.max.request.bytes", T::Long, Some("-1")),
    kafka_ro("queued.max.requests", T::Int, Some("500")),
    kafka_ro("quota.window.num", T::Int, Some("11")),
    kafka_ro("quota.window.size.seconds", T::Int, Some("1")),
    kafka_dyn("remote.fetch.max.wait.ms", T::Int, Some("500")),
    kafka_dyn("remote.list.offsets.request.timeout.ms", T::Long, Some("30000")),
    kafka_dyn("remote.log.index.file.cache.total.size.bytes", T::Long, Some("1073741824")),
    kafka_dyn("remote.log.manager.copier.thread.pool.size", T::Int, Some("10")),
    kafka_dyn("remote.log.manager.copy.max.bytes.per.second", T::Long, Some("9223372036854775807")),
    kafka_ro("remote.log.manager.copy.quota.window.num", T::Int, Some("11")),
    kafka_ro("remote.log.manager.copy.quota.window.size.seconds", T::Int, Some("1")),
    kafka_dyn("remote.log.manager.expiration.thread.pool.size", T::Int, Some("10")),
    kafka_dyn("remote.log.manager.fetch.max.bytes.per.second", T::Long, Some("9223372036854775807")),
    kafka_ro("remote.log.manager.fetch.quota.window.num", T::Int, Some("11")),
    kafka_ro("remote.log.manager.fetch.quota.window.size.seconds", T::Int, Some("1")),
    kafka_ro("remote.log.manager.task.interval.ms", T::Long, Some("30000")),
    kafka_ro("remote.log.manager.thread.pool.size", T::Int, Some("2")),
    kafka_ro("remote.log.metadata.custom.metadata.max.bytes", T::Int, Some("128")),
    kafka_ro("remote.log.metadata.manager.class.name", T::String, Some("org.apache.kafka.server.log.remote.metadata.storage.TopicBasedRemoteLogMetadataManager")),
    kafka_ro("remote.log.metadata.manager.class.path", T::String, None),
    kafka_ro("remote.log.metadata.manager.impl.prefix", T::String, Some("rlmm.config.")),
    kafka_ro("remote.log.metadata.manager.listener.name", T::String, None),
    kafka_ro("remote.log.reader.max.pending.tasks", T::Int, Some("100")),
    kafka_dyn("remote.log.reader.threads", T::Int, Some("10")),
    kafka_ro("remote.log.storage.manager.class.name", T::String, None),
    kafka_ro("remote.log.storage.manager.class.path", T::String, None),
    kafka_ro("remote.log.storage.manager.impl.prefix", T::String, Some("rsm.config.")),
    kafka_ro("remote.log.storage.system.enable", T::Boolean, Some("false")),
    kafka_ro("replica.fetch.backoff.ms", T::Int, Some("1000")),
    kafka_ro("replica.fetch.max.bytes", T::Int, Some("1048576")),
    kafka_ro("replica.fetch.min.bytes", T::Int, Some("1")),
    kafka_ro("replica.fetch.response.max.bytes", T::Int, Some("10485760")),
    kafka_ro("replica.fetch.wait.max.ms", T::Int, Some("500")),
    kafka_ro("replica.high.watermark.checkpoint.interval.ms", T::Long, Some("5000")),
    kafka_ro("replica.lag.time.max.ms", T::Long, Some("30000")),
    kafka_ro("replica.selector.class", T::String, None),
    kafka_ro("replica.socket.receive.buffer.bytes", T::Int, Some("65536")),
    kafka_ro("replica.socket.timeout.ms", T::Int, Some("30000")),
    kafka_ro("replication.quota.window.num", T::Int, Some("11")),
    kafka_ro("replication.quota.window.size.seconds", T::Int, Some("1")),
    kafka_ro("request.timeout.ms", T::Int, Some("30000")),
    kafka_ro("sasl.client.callback.handler.class", T::Class, None),
    fixed(
        "sasl.enabled.mechanisms",
        T::List,
        Some("GSSAPI"),
        "SASL mechanisms SASL listeners offer (rill serve --sasl-mechanisms).",
    ),
    dynamic(
        "sasl.jaas.config",
        T::Password,
        None,
        Rule::Any,
        "JAAS configuration (stored, sensitive; SASL is not available yet).",
    ),
    dynamic(
        "sasl.kerberos.kinit.cmd",
        T::String,
        Some("/usr/bin/kinit"),
        Rule::Any,
        "Kerberos kinit command (stored; no effect).",
    ),
    dynamic(
        "sasl.kerberos.min.time.before.relogin",
        T::Long,
        Some("60000"),
        Rule::Any,
        "Kerberos relogin sleep (stored; no effect).",
    ),
    dynamic(
        "sasl.kerberos.principal.to.local.rules",
        T::List,
        Some("DEFAULT"),
        Rule::Any,
        "Kerberos principal mapping (stored; no effect).",
    ),
    dynamic(
        "sasl.kerberos.service.name",
        T::String,
        None,
        Rule::Any,
        "Kerberos service name (stored; no effect).",
    ),
    dynamic(
        "sasl.kerberos.ticket.renew.jitter",
        T::Double,
        Some("0.05"),
        Rule::Any,
        "Kerberos renew jitter (stored; no effect).",
    ),
    dynamic(
        "sasl.kerberos.ticket.renew.window.factor",
        T::Double,
        Some("0.8"),
        Rule::Any,
        "Kerberos renew window (stored; no effect).",
    ),
    kafka_ro("sasl.login.callback.handler.class", T::Class, None),
    kafka_ro("sasl.login.class", T::Class, None),
    kafka_ro("sasl.login.connect.timeout.ms", T::Int, None),
    kafka_ro("sasl.login.read.timeout.ms", T::Int, None),
    kafka_dyn("sasl.login.refresh.buffer.seconds", T::Short, Some("300")),
    kafka_dyn("sasl.login.refresh.min.period.seconds", T::Short, Some("60")),
    kafka_dyn("sasl.login.refresh.window.factor", T::Double, Some("0.8")),
    kafka_dyn("sasl.login.refresh.window.jitter", T::Double, Some("0.05")),
    kafka_ro("sasl.login.retry.backoff.max.ms", T::Long, Some("10000")),
    kafka_ro("sasl.login.retry.backoff.ms", T::Long, Some("100")),
    kafka_ro("sasl.mechanism.controller.protocol", T::String, Some("GSSAPI")),
    kafka_dyn("sasl.mechanism.inter.broker.protocol", T::String, Some("GSSAPI")),
    kafka_ro("sasl.oauthbearer.clock.skew.seconds", T::Int, Some("30")),
    kafka_ro("sasl.oauthbearer.expected.audience", T::List, None),
    kafka_ro("sasl.oauthbearer.expected.issuer", T::String, None),
    kafka_ro("sasl.oauthbearer.jwks.endpoint.refresh.ms", T::Long, Some("3600000")),
    kafka_ro("sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms", T::Long, Some("10000")),
    kafka_ro("sasl.oauthbearer.jwks.endpoint.retry.backoff.ms", T::Long, Some("100")),
    kafka_ro("sasl.oauthbearer.jwks.endpoint.url", T::String, None),
    kafka_ro("sasl.oauthbearer.scope.claim.name", T::String, Some("scope")),
    kafka_ro("sasl.oauthbearer.sub.claim.name", T::String, Some("sub")),
    kafka_ro("sasl.oauthbearer.token.endpoint.url", T::String, None),
    kafka_ro("sasl.server.callback.handler.class", T::Class, None),
    kafka_ro("sasl.server.max.receive.size", T::Int, Some("524288")),
    kafka_ro("security.inter.broker.protocol", T::String, Some("PLAINTEXT")),
    kafka_ro("security.providers", T::String, None),
    kafka_ro("share.coordinator.append.linger.ms", T::Int, Some("10")),
    kafka_ro("share.coordinator.load.buffer.size", T::Int, Some("5242880")),
    kafka_ro("share.coordinator.snapshot.update.records.per.snapshot", T::Int, Some("500")),
    kafka_ro("share.coordinator.state.topic.compression.codec", T::Int, Some("0")),
    kafka_ro("share.coordinator.state.topic.min.isr", T::Short, Some("2")),
    kafka_ro("share.coordinator.state.topic.num.partitions", T::Int, Some("50")),
    kafka_ro("share.coordinator.state.topic.replication.factor", T::Short, Some("3")),
    kafka_ro("share.coordinator.state.topic.segment.bytes", T::Int, Some("104857600")),
    kafka_ro("share.coordinator.threads", T::Int, Some("1")),
    kafka_ro("share.coordinator.write.timeout.ms", T::Int, Some("5000")),
    kafka_ro("share.fetch.purgatory.purge.interval.requests", T::Int, Some("1000")),
    kafka_ro("socket.connection.setup.timeout.max.ms", T::Long, Some("30000")),
    kafka_ro("socket.connection.setup.timeout.ms", T::Long, Some("10000")),
    kafka_ro("socket.listen.backlog.size", T::Int, Some("50")),
    kafka_ro("socket.receive.buffer.bytes", T::Int, Some("102400")),
    fixed(
        "socket.request.max.bytes",
        T::Int,
        Some("104857600"),
        "Largest request accepted.",
    ),
    kafka_ro("socket.send.buffer.bytes", T::Int, Some("102400")),
    kafka_ro("ssl.allow.dn.changes", T::Boolean, Some("false")),
    kafka_ro("ssl.allow.san.changes", T::Boolean, Some("false")),
    kafka_dyn("ssl.cipher.suites", T::List, Some("")),
    kafka_dyn("ssl.client.auth", T::String, Some("none")),
    kafka_dyn("ssl.enabled.protocols", T::List, Some("TLSv1.2,TLSv1.3")),
    kafka_dyn("ssl.endpoint.identification.algorithm", T::String, Some("https")),
    kafka_dyn("ssl.engine.factory.class", T::Class, None),
    dynamic(
        "ssl.key.password",
        T::Password,
        None,
        Rule::Any,
        "Private key password (stored, sensitive; TLS is not available yet).",
    ),
    kafka_dyn("ssl.keymanager.algorithm", T::String, Some("SunX509")),
    kafka_dyn("ssl.keystore.certificate.chain", T::Password, None),
    kafka_dyn("ssl.keystore.key", T::Password, None),
    dynamic(
        "ssl.keystore.location",
        T::String,
        None,
        Rule::Any,
        "Key store file (stored; TLS is not available yet).",
    ),
    dynamic(
        "ssl.keystore.password",
        T::Password,
        None,
        Rule::Any,
        "Key store password (stored, sensitive; TLS is not available yet).",
    ),
    kafka_dyn("ssl.keystore.type", T::String, Some("JKS")),
    kafka_ro("ssl.principal.mapping.rules", T::String, Some("DEFAULT")),
    kafka_dyn("ssl.protocol", T::String, Some("TLSv1.3")),
    kafka_dyn("ssl.provider", T::String, None),
    kafka_dyn("ssl.secure.random.implementation", T::String, None),
    kafka_dyn("ssl.trustmanager.algorithm", T::String, Some("PKIX")),
    kafka_dyn("ssl.truststore.certificates", T::Password, None),
    dynamic(
        "ssl.truststore.location",
        T::String,
        None,
        Rule::Any,
        "Trust store file (stored; TLS is not available yet).",
    ),
    dynamic(
        "ssl.truststore.password",
        T::Password,
        None,
        Rule::Any,
        "Trust store password (stored, sensitive; TLS is not available yet).",
    ),
    kafka_dyn("ssl.truststore.type", T::String, Some("JKS")),
    kafka_ro("telemetry.max.bytes", T::Int, Some("1048576")),
    fixed(
        "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        T::Int,
        Some("10000"),
        "How often timed-out transactions are aborted.",
    ),
    fixed(
        "transaction.max.timeout.ms",
        T::Int,
        Some("900000"),
        "Longest transaction timeout a producer may ask for.",
    ),
    kafka_dyn("transaction.partition.verification.enable", T::Boolean, Some("true")),
    kafka_ro("transaction.remove.expired.transaction.cleanup.interval.ms", T::Int, Some("3600000")),
    kafka_ro("transaction.state.log.load.buffer.size", T::Int, Some("5242880")),
    fixed(
        "transaction.state.log.min.isr",
        T::Int,
        Some("2"),
        "Replicas required for transaction state (one node: 1).",
    ),
    kafka_ro("transaction.state.log.num.partitions", T::Int, Some("50")),
    fixed(
        "transaction.state.log.replication.factor",
        T::Short,
        Some("3"),
        "Replication of transaction state (one node: 1).",
    ),
    kafka_ro("transaction.state.log.segment.bytes", T::Int, Some("104857600")),
    kafka_ro("transactional.id.expiration.ms", T::Int, Some("604800000")),
    dynamic(
        "unclean.leader.election.enable",
        T::Boolean,
        Some("false"),
        Rule::OneOf(BOOL),
        "Default for the topic config of the same name.",
    ),
];

/// Group configs (KIP-848 and friends), sorted by name. Their defaults are the broker's
/// `group.*` settings.
pub const GROUP: &[ConfigDef] = &[
    dynamic(
        "consumer.heartbeat.interval.ms",
        T::Int,
        Some("5000"),
        Rule::AtLeast(1),
        "Heartbeat interval of this consumer-protocol group's members.",
    ),
    dynamic(
        "consumer.session.timeout.ms",
        T::Int,
        Some("45000"),
        Rule::AtLeast(1),
        "Session timeout of this consumer-protocol group's members.",
    ),
    dynamic(
        "share.auto.offset.reset",
        T::String,
        Some("latest"),
        Rule::Any,
        "Where a share group starts (share groups are not available in Rill).",
    ),
    dynamic(
        "share.heartbeat.interval.ms",
        T::Int,
        Some("5000"),
        Rule::AtLeast(1),
        "Share group heartbeat interval (share groups are not available in Rill).",
    ),
    dynamic(
        "share.isolation.level",
        T::String,
        Some("read_uncommitted"),
        Rule::OneOf(&["read_committed", "read_uncommitted"]),
        "Share group isolation (share groups are not available in Rill).",
    ),
    dynamic(
        "share.record.lock.duration.ms",
        T::Int,
        Some("30000"),
        Rule::AtLeast(1),
        "Share group record lock (share groups are not available in Rill).",
    ),
    dynamic(
        "share.session.timeout.ms",
        T::Int,
        Some("45000"),
        Rule::AtLeast(1),
        "Share group session timeout (share groups are not available in Rill).",
    ),
    dynamic(
        "streams.heartbeat.interval.ms",
        T::Int,
        Some("5000"),
        Rule::AtLeast(1),
        "Streams group heartbeat interval (streams groups are not available in Rill).",
    ),
    dynamic(
        "streams.num.standby.replicas",
        T::Int,
        Some("0"),
        Rule::AtLeast(0),
        "Streams group standby replicas (streams groups are not available in Rill).",
    ),
    dynamic(
        "streams.session.timeout.ms",
        T::Int,
        Some("45000"),
        Rule::AtLeast(1),
        "Streams group session timeout (streams groups are not available in Rill).",
    ),
];

pub fn find(defs: &'static [ConfigDef], name: &str) -> Option<&'static ConfigDef> {
    defs.iter().find(|d| d.name == name)
}

fn parse_num(def: &ConfigDef, v: &str) -> Result<i64, String> {
    let kind = match def.ty {
        T::Int => "INT",
        T::Short => "SHORT",
        _ => "LONG",
    };
    let n: i64 = v.trim().parse().map_err(|_| {
        format!(
            "Invalid value {v} for configuration {}: Not a number of type {kind}",
            def.name
        )
    })?;
    let fits = match def.ty {
        T::Int => i32::try_from(n).is_ok(),
        T::Short => i16::try_from(n).is_ok(),
        _ => true,
    };
    if !fits {
        return Err(format!(
            "Invalid value {v} for configuration {}: Not a number of type {kind}",
            def.name
        ));
    }
    Ok(n)
}

/// Checks a value against the definition's type and rule, with Kafka's wording.
pub fn check(def: &ConfigDef, value: &str) -> Result<(), String> {
    let name = def.name;
    let bad = |why: String| {
        Err(format!(
            "Invalid value {value} for configuration {name}: {why}"
        ))
    };
    match def.ty {
        T::Int | T::Short | T::Long => {
            let n = parse_num(def, value)?;
            match def.rule {
                Rule::AtLeast(min) if n < min => bad(format!("Value must be at least {min}")),
                Rule::Between(lo, hi) if n < lo || n > hi => bad(format!(
                    "Value must be no less than {lo} and no more than {hi}"
                )),
                Rule::AtLeastOr(min, or) if n < min && n != or => {
                    bad(format!("Value must be at least {min} or {or}"))
                }
                _ => Ok(()),
            }
        }
        T::Double => match value.trim().parse::<f64>() {
            Err(_) => bad("Not a number of type DOUBLE".into()),
            Ok(r) if matches!(def.rule, Rule::Ratio) && !(0.0..=1.0).contains(&r) => {
                bad("Value must be no less than 0 and no more than 1".into())
            }
            Ok(_) => Ok(()),
        },
        T::Boolean => {
            if BOOL.contains(&value.trim().to_ascii_lowercase().as_str()) {
                Ok(())
            } else {
                bad("Expected value to be either true or false".into())
            }
        }
        _ => match def.rule {
            Rule::OneOf(allowed) if !allowed.contains(&value.trim()) => {
                bad(format!("String must be one of: {}", allowed.join(", ")))
            }
            Rule::ListOf(allowed) => {
                let items = split_list(value);
                if items.is_empty() {
                    return bad("Empty list".into());
                }
                match items.iter().find(|i| !allowed.contains(i)) {
                    // Kafka checks list items one by one and names the bad item.
                    Some(i) => Err(format!(
                        "Invalid value {i} for configuration {name}: String must be one of: {}",
                        allowed.join(", ")
                    )),
                    None => Ok(()),
                }
            }
            _ => Ok(()),
        },
    }
}

/// A LIST value's items (trimmed, empty ones dropped).
pub fn split_list(value: &str) -> Vec<&str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// Whether a broker config supplies some topic config's default (`log.retention.hours`
/// for `retention.ms`, …).
pub fn is_topic_default(broker_config: &str) -> bool {
    SYNONYMS
        .iter()
        .any(|(_, syns)| syns.iter().any(|s| s.name == broker_config))
}
