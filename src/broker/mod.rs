//! Broker state shared by every connection: topics and their partition logs, the
//! metadata store, the flush policy and the "new data" signal fetches wait on.
//! Kafka wire types never appear here.

pub mod acls;
pub mod configs;
pub mod fetch;
pub mod flush;
pub mod offsets;
pub mod produce;
pub mod quotas;
pub mod replicas;
pub mod retention;
pub mod topic_config;
pub mod users;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use thiserror::Error;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::auth::Mechanism;
use crate::group::{CoordinatorConfig, GroupService};
use crate::listener::{Endpoint, SecurityProtocol};
use crate::log::{LogConfig, LogError, PartitionLog};
use crate::meta::{MetaError, MetadataStore, SledStore, TopicRecord, TopicState};
use crate::txn::{TxnConfig, TxnService};
pub use flush::{Flusher, FsyncPolicy};
pub use produce::{ProduceError, RecordProblem};

/// Settings a broker runs with (from the command line).
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    pub node_id: i32,
    /// The listeners, in `--listen` order, with what each advertises. Never empty.
    pub listeners: Vec<Endpoint>,
    /// The SASL mechanisms SASL listeners offer (Kafka's `sasl.enabled.mechanisms`).
    pub sasl_mechanisms: Vec<Mechanism>,
    pub data_dir: PathBuf,
    pub auto_create_topics: bool,
    pub default_partitions: i32,
    pub max_request_bytes: usize,
    /// Fetch responses send stored record bytes with `sendfile(2)`; off, they are copied
    /// through each connection's buffer (the path TLS listeners will take).
    pub zero_copy: bool,
    pub fsync: FsyncPolicy,
    /// `group.initial.rebalance.delay.ms`
    pub group_initial_rebalance_delay_ms: u64,
    /// `group.consumer.heartbeat.interval.ms` (KIP-848 groups)
    pub group_consumer_heartbeat_interval_ms: u64,
    /// `group.consumer.session.timeout.ms` (KIP-848 groups)
    pub group_consumer_session_timeout_ms: u64,
    /// `producer.id.expiration.ms`: a producer idle this long is forgotten.
    pub producer_id_expiration_ms: i64,
    /// `transaction.max.timeout.ms`
    pub transaction_max_timeout_ms: i32,
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`
    pub transaction_abort_interval_ms: u64,
    /// The finalized feature `transaction.version`: 2 turns on Transactions V2 (KIP-890)
    /// for clients that know it, as on a new Kafka 4 cluster; 1 keeps every client on
    /// the classic path.
    pub transaction_version: i16,
    /// `log.retention.check.interval.ms`
    pub log_retention_check_interval_ms: u64,
    /// `log.cleaner.backoff.ms`: how long the cleaner sleeps when nothing is due.
    pub log_cleaner_backoff_ms: u64,
    /// `log.cleaner.dedupe.buffer.size`: bytes for the cleaner's key-hash → offset map.
    pub log_cleaner_dedupe_buffer_size: usize,
    /// Kafka broker configs given at startup (`--broker-config`, `KAFKA_*` variables):
    /// static broker settings, e.g. broker defaults of topic configs.
    pub broker_configs: BTreeMap<String, String>,
    /// `--authorizer acl`: requests are checked against the ACLs. Off, everything is
    /// allowed (the ACL APIs still store and list bindings).
    pub acl_authorizer: bool,
    /// `--super-users`: `User:<name>` principals the authorizer allows everything.
    pub super_users: Vec<String>,
    /// `--allow-everyone-if-no-acl-found` (Kafka's `allow.everyone.if.no.acl.found`): the
    /// authorizer allows an action on a resource no ACL binding names.
    pub allow_everyone_if_no_acl_found: bool,
}

impl BrokerConfig {
    /// The listener a connection came in on (the first one for an unknown index): its
    /// advertised address is the one that connection is told about.
    pub fn listener(&self, index: usize) -> &Endpoint {
        static FALLBACK: std::sync::OnceLock<Endpoint> = std::sync::OnceLock::new();
        self.listeners
            .get(index)
            .or_else(|| self.listeners.first())
            .unwrap_or_else(|| {
                FALLBACK.get_or_init(|| Endpoint {
                    name: "PLAINTEXT".into(),
                    protocol: SecurityProtocol::Plaintext,
                    bound_host: "localhost".into(),
                    bound_port: 9092,
                    advertised_host: "localhost".into(),
                    advertised_port: 9092,
                })
            })
    }

    /// A broker for in-process use (tests, `rill bench lifecycle`): Rill's defaults, no
    /// listener, no fsync.
    pub fn in_process(data_dir: PathBuf) -> BrokerConfig {
        BrokerConfig {
            node_id: 1,
            listeners: vec![Endpoint {
                name: "PLAINTEXT".into(),
                protocol: SecurityProtocol::Plaintext,
                bound_host: "localhost".into(),
                bound_port: 9092,
                advertised_host: "localhost".into(),
                advertised_port: 9092,
            }],
            sasl_mechanisms: Mechanism::ALL.to_vec(),
            data_dir,
            auto_create_topics: true,
            default_partitions: 1,
            max_request_bytes: 1 << 20,
            zero_copy: true,
            fsync: FsyncPolicy::Never,
            group_initial_rebalance_delay_ms: 0,
            group_consumer_heartbeat_interval_ms: 5_000,
            group_consumer_session_timeout_ms: 45_000,
            producer_id_expiration_ms: crate::log::producer::DEFAULT_EXPIRATION_MS,
            transaction_max_timeout_ms: crate::txn::DEFAULT_MAX_TIMEOUT_MS,
            transaction_abort_interval_ms: 10_000,
            transaction_version: 2,
            log_retention_check_interval_ms: 300_000,
            log_cleaner_backoff_ms: 15_000,
            log_cleaner_dedupe_buffer_size: 1 << 20,
            broker_configs: BTreeMap::new(),
            acl_authorizer: false,
            super_users: Vec::new(),
            allow_everyone_if_no_acl_found: false,
        }
    }
}

#[derive(Debug, Error)]
pub enum BrokerError {
    #[error(transparent)]
    Meta(#[from] MetaError),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error("recovering transactions: {0}")]
    Txn(String),
    #[error("i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Why a topic operation failed; each maps to one Kafka error code.
#[derive(Debug, Error)]
pub enum TopicError {
    #[error("Topic '{0}' already exists.")]
    AlreadyExists(String),
    #[error("This server does not host this topic-partition.")]
    UnknownTopic,
    #[error("{0}")]
    InvalidName(String),
    #[error("{0}")]
    InvalidPartitions(String),
    #[error("{0}")]
    InvalidReplicationFactor(String),
    #[error("{0}")]
    InvalidConfig(String),
    #[error("storage error: {0}")]
    Storage(#[from] BrokerError),
}

impl From<MetaError> for TopicError {
    fn from(e: MetaError) -> Self {
        TopicError::Storage(BrokerError::Meta(e))
    }
}
impl From<LogError> for TopicError {
    fn from(e: LogError) -> Self {
        TopicError::Storage(BrokerError::Log(e))
    }
}

pub struct Topic {
    pub name: String,
    pub id: Uuid,
    pub configs: RwLock<BTreeMap<String, String>>,
    partitions: RwLock<Vec<Arc<PartitionLog>>>,
    dir: PathBuf,
    /// Traffic counters, registered with the broker's metrics on first use.
    counters: std::sync::OnceLock<crate::metrics::TopicCounters>,
}

impl Topic {
    pub fn partition(&self, index: i32) -> Option<Arc<PartitionLog>> {
        let p = self.partitions.read().unwrap_or_else(|p| p.into_inner());
        usize::try_from(index).ok().and_then(|i| p.get(i).cloned())
    }
    pub fn partition_count(&self) -> i32 {
        self.partitions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .len() as i32
    }
    pub fn partitions(&self) -> Vec<Arc<PartitionLog>> {
        self.partitions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
    pub fn configs(&self) -> BTreeMap<String, String> {
        self.configs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[derive(Default)]
struct TopicTable {
    by_name: HashMap<String, Arc<Topic>>,
    by_id: HashMap<Uuid, Arc<Topic>>,
}

pub struct Broker {
    pub config: BrokerConfig,
    pub cluster_id: String,
    meta: Box<dyn MetadataStore>,
    topics: RwLock<TopicTable>,
    /// Serialises topic creation, deletion and partition changes.
    admin: Mutex<()>,
    /// Signalled after every append; long-polling fetches wait on it.
    pub data_arrived: Notify,
    pub flusher: Arc<Flusher>,
    /// The classic consumer-group coordinator (Rill is every group's coordinator).
    pub groups: GroupService,
    producer_ids: produce::ProducerIds,
    /// The transaction coordinator (Rill coordinates every transactional id).
    pub txns: TxnService,
    stopping: std::sync::atomic::AtomicBool,
    /// Dynamic broker and group configs (AlterConfigs / IncrementalAlterConfigs).
    dynamic: RwLock<configs::DynamicConfigs>,
    /// The command-line settings in Kafka's names (STATIC_BROKER_CONFIG).
    statics: BTreeMap<String, String>,
    /// SCRAM credentials (SASL listeners, the SCRAM admin APIs).
    users: users::Users,
    /// Client quotas (AlterClientQuotas) and the rates measured against them.
    quotas: RwLock<crate::quota::QuotaStore>,
    throttles: crate::quota::Throttles,
    /// ACL bindings and the authorizer's settings.
    acls: acls::Acls,
    /// This broker's metrics (`/metrics`).
    pub metrics: crate::metrics::Metrics,
}

const CLEAN_MARKER: &str = ".clean_shutdown";

/// Under `--fsync interval` and `never`, start write-back of each MiB appended to a segment.
const WRITEBACK_BYTES: u64 = 1 << 20;

/// Kafka's legal topic names: 1–249 chars of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<(), TopicError> {
    if name.is_empty() || name == "." || name == ".." {
        return Err(TopicError::InvalidName(format!(
            "Topic name \"{name}\" is illegal, it cannot be empty, '.' or '..'"
        )));
    }
    if name.len() > 249 {
        return Err(TopicError::InvalidName(format!(
            "Topic name is illegal, it can't be longer than 249 characters, topic name: {name}"
        )));
    }
    if !name
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || c == b'-')
    {
        return Err(TopicError::InvalidName(format!(
            "Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"
        )));
    }
    Ok(())
}

/// Kafka-style cluster id: 22 characters of URL-safe base64 of a random UUID.
fn new_cluster_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let v = Uuid::new_v4().as_u128();
    (0..22)
        .map(|i| ALPHABET[((v >> (i * 6)) & 63) as usize] as char)
        .collect()
}

impl Broker {
    /// Opens the data directory: metadata, then every topic's partitions. A create or
    /// delete interrupted by a crash is finished here.
    pub fn open(config: BrokerConfig) -> Result<Arc<Broker>, BrokerError> {
        let data = config.data_dir.clone();
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| BrokerError::Io { path, source }
        };
        let fresh = !data.join("meta").exists();
        fs::create_dir_all(data.join("logs")).map_err(io(&data))?;
        let meta = SledStore::open(&data.join("meta"))?;
        let marker = data.join(CLEAN_MARKER);
        let clean = fresh || marker.exists();
        if marker.exists() {
            fs::remove_file(&marker).map_err(io(&marker))?;
        } else if !fresh {
            tracing::info!("no clean-shutdown marker: recovering active segments");
        }
        let cluster_id = meta.cluster_id(&new_cluster_id())?;
        let listener_names: Vec<String> = config.listeners.iter().map(|l| l.name.clone()).collect();
        let metrics = crate::metrics::Metrics::new(&listener_names);
        let flusher = Arc::new(Flusher::new(config.fsync).with_histogram(metrics.fsync.clone()));
        let groups = GroupService::new(CoordinatorConfig {
            initial_rebalance_delay_ms: config.group_initial_rebalance_delay_ms,
            consumer_heartbeat_interval_ms: config.group_consumer_heartbeat_interval_ms,
            consumer_session_timeout_ms: config.group_consumer_session_timeout_ms,
            ..CoordinatorConfig::default()
        });
        let txns = TxnService::new(
            TxnConfig {
                max_timeout_ms: config.transaction_max_timeout_ms,
            },
            meta.transactions()?,
        );
        let statics = configs::static_configs(&config);
        let users = users::Users::load(&meta)?;
        let acls = acls::Acls::load(
            &meta,
            config.acl_authorizer,
            crate::acl::Policy {
                super_users: config.super_users.clone(),
                allow_if_no_acl: config.allow_everyone_if_no_acl_found,
            },
        )?;
        let broker = Broker {
            config,
            cluster_id,
            meta: Box::new(meta),
            topics: RwLock::new(TopicTable::default()),
            admin: Mutex::new(()),
            data_arrived: Notify::new(),
            flusher,
            groups,
            producer_ids: produce::ProducerIds::default(),
            txns,
            stopping: std::sync::atomic::AtomicBool::new(false),
            dynamic: RwLock::new(configs::DynamicConfigs::default()),
            statics,
            users,
            quotas: RwLock::new(crate::quota::QuotaStore::default()),
            throttles: crate::quota::Throttles::default(),
            acls,
            metrics,
        };
        broker.load_dynamic_configs()?;
        broker.load_quotas()?;
        for rec in broker.meta.topics()? {
            match rec.state {
                TopicState::Deleting => {
                    tracing::info!(topic = %rec.name, "finishing interrupted topic deletion");
                    let dir = broker.topic_dir(&rec.name, Uuid::from_bytes(rec.id));
                    remove_dir(&dir)?;
                    broker.meta.remove_topic(&rec.name)?;
                }
                TopicState::Creating | TopicState::Ready => {
                    let mut rec = rec;
                    let topic = broker.open_topic(&rec, clean)?;
                    if rec.state == TopicState::Creating {
                        tracing::info!(topic = %rec.name, "finishing interrupted topic creation");
                        rec.state = TopicState::Ready;
                        broker.meta.put_topic(&rec)?;
                    }
                    broker.insert(topic);
                }
            }
        }
        broker
            .txns
            .recover(&broker)
            .map_err(|e| BrokerError::Txn(e.to_string()))?;
        Ok(Arc::new(broker))
    }

    /// A topic's traffic counters (`rill_topic_*_total`).
    pub fn topic_counters<'t>(&self, topic: &'t Topic) -> &'t crate::metrics::TopicCounters {
        topic
            .counters
            .get_or_init(|| self.metrics.topic(&topic.name))
    }

    fn topic_dir(&self, name: &str, id: Uuid) -> PathBuf {
        self.config
            .data_dir
            .join("logs")
            .join(format!("{name}-{}", id.simple()))
    }

    /// The log settings of a topic with these overrides (resolved through the broker's
    /// config layers), plus what the broker's fsync policy adds: early write-back under
    /// `interval` and `never` (see `LogConfig::writeback_bytes`); under `always` every
    /// produce is fdatasynced anyway.
    fn log_config(&self, overrides: &BTreeMap<String, String>) -> LogConfig {
        let mut cfg = topic_config::log_config(&self.topic_effective(overrides));
        if self.config.fsync != FsyncPolicy::Always {
            cfg.writeback_bytes = WRITEBACK_BYTES;
        }
        cfg
    }

    fn open_topic(&self, rec: &TopicRecord, clean: bool) -> Result<Arc<Topic>, BrokerError> {
        let id = Uuid::from_bytes(rec.id);
        let dir = self.topic_dir(&rec.name, id);
        let cfg = self.log_config(&rec.configs);
        let mut parts = Vec::with_capacity(rec.partitions.max(0) as usize);
        for p in 0..rec.partitions {
            parts.push(Arc::new(PartitionLog::open(
                &dir.join(p.to_string()),
                cfg.clone(),
                clean,
            )?));
        }
        Ok(Arc::new(Topic {
            name: rec.name.clone(),
            id,
            configs: RwLock::new(rec.configs.clone()),
            partitions: RwLock::new(parts),
            dir,
            counters: std::sync::OnceLock::new(),
        }))
    }

    fn insert(&self, topic: Arc<Topic>) {
        let mut t = self.topics.write().unwrap_or_else(|p| p.into_inner());
        t.by_id.insert(topic.id, topic.clone());
        t.by_name.insert(topic.name.clone(), topic);
    }

    pub fn topic(&self, name: &str) -> Option<Arc<Topic>> {
        let t = self.topics.read().unwrap_or_else(|p| p.into_inner());
        t.by_name.get(name).cloned()
    }

    pub fn topic_by_id(&self, id: Uuid) -> Option<Arc<Topic>> {
        let t = self.topics.read().unwrap_or_else(|p| p.into_inner());
        t.by_id.get(&id).cloned()
    }

    /// All topics, sorted by name.
    pub fn topics(&self) -> Vec<Arc<Topic>> {
        let t = self.topics.read().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<_> = t.by_name.values().cloned().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Creates a topic (or only validates the request when `validate_only`).
    /// `partitions` of -1 means the broker default.
    pub fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
        configs: BTreeMap<String, String>,
        validate_only: bool,
    ) -> Result<Arc<Topic>, TopicError> {
        validate_topic_name(name)?;
        let partitions = if partitions == -1 {
            self.config.default_partitions
        } else {
            partitions
        };
        if partitions <= 0 {
            return Err(TopicError::InvalidPartitions(
                "Number of partitions must be larger than 0.".into(),
            ));
        }
        if replication_factor != -1 && replication_factor != 1 {
            return Err(TopicError::InvalidReplicationFactor(format!(
                "Unable to replicate the partition {replication_factor} time(s): The target replication factor of {replication_factor} cannot be reached because only 1 broker(s) are registered."
            )));
        }
        self.validate_topic_configs(&configs)
            .map_err(|e| TopicError::InvalidConfig(e.to_string()))?;
        let _guard = self.admin.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = self.topic(name) {
            return Err(TopicError::AlreadyExists(t.name.clone()));
        }
        let id = Uuid::new_v4();
        if validate_only {
            // Nothing is created; describe what would be.
            return Ok(Arc::new(Topic {
                name: name.to_string(),
                id,
                configs: RwLock::new(configs),
                partitions: RwLock::new(Vec::new()),
                dir: PathBuf::new(),
                counters: std::sync::OnceLock::new(),
            }));
        }
        let mut rec = TopicRecord {
            name: name.to_string(),
            id: *id.as_bytes(),
            partitions,
            configs,
            state: TopicState::Creating,
        };
        self.meta.put_topic(&rec)?;
        let topic = self.open_topic(&rec, true)?;
        rec.state = TopicState::Ready;
        self.meta.put_topic(&rec)?;
        self.insert(topic.clone());
        tracing::info!(topic = name, partitions, id = %id, "created topic");
        Ok(topic)
    }

    /// Deletes a topic and its data.
    pub fn delete_topic(&self, topic: &Arc<Topic>) -> Result<(), TopicError> {
        let _guard = self.admin.lock().unwrap_or_else(|p| p.into_inner());
        {
            let mut t = self.topics.write().unwrap_or_else(|p| p.into_inner());
            match t.by_id.get(&topic.id) {
                Some(cur) if Arc::ptr_eq(cur, topic) => {}
                _ => return Err(TopicError::UnknownTopic),
            }
            t.by_id.remove(&topic.id);
            t.by_name.remove(&topic.name);
        }
        let rec = TopicRecord {
            name: topic.name.clone(),
            id: *topic.id.as_bytes(),
            partitions: topic.partition_count(),
            configs: topic.configs(),
            state: TopicState::Deleting,
        };
        self.meta.put_topic(&rec)?;
        for p in topic.partitions() {
            if let Err(e) = p.delete() {
                tracing::warn!(topic = %topic.name, error = %e, "removing partition files failed");
            }
        }
        // Parked fetches on this topic answer now (with UNKNOWN_TOPIC_*).
        self.data_arrived.notify_waiters();
        remove_dir(&topic.dir)?;
        self.meta.remove_topic(&topic.name)?;
        tracing::info!(topic = %topic.name, "deleted topic");
        Ok(())
    }

    /// Grows a topic to `count` partitions.
    pub fn create_partitions(
        &self,
        topic: &Arc<Topic>,
        count: i32,
        validate_only: bool,
    ) -> Result<(), TopicError> {
        let _guard = self.admin.lock().unwrap_or_else(|p| p.into_inner());
        let current = topic.partition_count();
        if count <= current {
            return Err(TopicError::InvalidPartitions(format!(
                "Topic currently has {current} partitions, which is higher than the requested {count}."
            )));
        }
        if validate_only {
            return Ok(());
        }
        let rec = TopicRecord {
            name: topic.name.clone(),
            id: *topic.id.as_bytes(),
            partitions: count,
            configs: topic.configs(),
            state: TopicState::Ready,
        };
        self.meta.put_topic(&rec)?;
        let cfg = self.log_config(&rec.configs);
        let mut parts = topic.partitions.write().unwrap_or_else(|p| p.into_inner());
        for p in current..count {
            parts.push(Arc::new(PartitionLog::open(
                &topic.dir.join(p.to_string()),
                cfg.clone(),
                true,
            )?));
        }
        Ok(())
    }

    /// Marks the broker as shutting down and wakes parked fetches so they answer now.
    pub fn begin_shutdown(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.data_arrived.notify_waiters();
        self.groups.shutdown();
    }

    /// Whether Transactions V2 is on (`transaction.version` 2).
    pub fn transactions_v2(&self) -> bool {
        self.config.transaction_version >= 2
    }

    /// The metadata store (committed offsets are read and written through it).
    pub fn meta(&self) -> &dyn MetadataStore {
        self.meta.as_ref()
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Every partition log of every topic.
    pub fn all_partitions(&self) -> Vec<Arc<PartitionLog>> {
        self.topics().iter().flat_map(|t| t.partitions()).collect()
    }

    /// Clean shutdown: seal and fsync every log, then leave the clean-shutdown marker.
    pub fn close(&self) -> Result<(), BrokerError> {
        for p in self.all_partitions() {
            p.close().map_err(|source| BrokerError::Io {
                path: p.dir().to_path_buf(),
                source,
            })?;
        }
        let marker = self.config.data_dir.join(CLEAN_MARKER);
        fs::write(&marker, b"").map_err(|source| BrokerError::Io {
            path: marker.clone(),
            source,
        })?;
        Ok(())
    }
}

fn remove_dir(dir: &Path) -> Result<(), BrokerError> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(BrokerError::Io {
            path: dir.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &Path) -> BrokerConfig {
        BrokerConfig::in_process(dir.to_path_buf())
    }

    #[test]
    fn interrupted_create_and_delete_are_finished_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let (created_id, deleted_dir) = {
            let b = Broker::open(config(dir.path())).unwrap();
            let t = b
                .create_topic("doomed", 2, 1, BTreeMap::new(), false)
                .unwrap();
            let id = Uuid::new_v4();
            // Simulate crashes: a create that stopped after its first metadata write,
            // and a delete that stopped after marking the topic.
            b.meta
                .put_topic(&TopicRecord {
                    name: "half-made".into(),
                    id: *id.as_bytes(),
                    partitions: 3,
                    configs: BTreeMap::new(),
                    state: TopicState::Creating,
                })
                .unwrap();
            b.meta
                .put_topic(&TopicRecord {
                    name: "doomed".into(),
                    id: *t.id.as_bytes(),
                    partitions: 2,
                    configs: BTreeMap::new(),
                    state: TopicState::Deleting,
                })
                .unwrap();
            (id, t.dir.clone())
        };
        assert!(deleted_dir.exists());
        let b = Broker::open(config(dir.path())).unwrap();
        let made = b.topic("half-made").expect("creation completed");
        assert_eq!(made.id, created_id);
        assert_eq!(made.partition_count(), 3);
        assert!(b.topic("doomed").is_none());
        assert!(!deleted_dir.exists());
        let states: Vec<_> = b
            .meta
            .topics()
            .unwrap()
            .into_iter()
            .map(|t| (t.name, t.state))
            .collect();
        assert_eq!(states, vec![("half-made".to_string(), TopicState::Ready)]);
    }
}
