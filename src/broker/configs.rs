//! DescribeConfigs, AlterConfigs and IncrementalAlterConfigs as broker calls: resolve a
//! resource, check the new settings (`config/`), persist them, and apply them to live
//! partitions and groups.

use std::collections::BTreeMap;

use crate::config::{self, BrokerLayers, ConfigError, Described, Kind, Op};
use crate::group::GroupOverrides;
use crate::meta::{MetaError, TopicRecord, TopicState};

use super::{Broker, BrokerConfig, FsyncPolicy};

/// A resource configs belong to, as a client names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigResource {
    Topic(String),
    /// A broker id, or "" for the cluster-wide default.
    Broker(String),
    Group(String),
}

/// Dynamic (run-time) settings other than topics' own, as persisted.
#[derive(Debug, Default)]
pub struct DynamicConfigs {
    pub per_broker: BTreeMap<String, String>,
    pub cluster: BTreeMap<String, String>,
    pub groups: BTreeMap<String, BTreeMap<String, String>>,
}

const CLUSTER_KEY: &str = "broker:";
const GROUP_PREFIX: &str = "group:";

impl From<MetaError> for ConfigError {
    fn from(e: MetaError) -> Self {
        ConfigError::Storage(e.to_string())
    }
}

/// The broker settings Rill was started with, by Kafka name, where they differ from
/// Kafka's default (those are reported as STATIC_BROKER_CONFIG).
pub fn static_configs(c: &BrokerConfig) -> BTreeMap<String, String> {
    let join = |f: fn(&crate::listener::Endpoint) -> String| {
        c.listeners.iter().map(f).collect::<Vec<_>>().join(",")
    };
    let advertised = join(|l| l.advertised());
    let listeners = join(|l| l.bound());
    let protocol_map = join(|l| format!("{}:{}", l.name, l.protocol));
    let mechanisms = c
        .sasl_mechanisms
        .iter()
        .map(|m| m.name())
        .collect::<Vec<_>>()
        .join(",");
    let log_dirs = c.data_dir.join("logs").display().to_string();
    // How `--fsync` reads in Kafka's terms.
    let flush = match c.fsync {
        FsyncPolicy::Always => Some(("log.flush.interval.messages", "1".to_string())),
        FsyncPolicy::Interval(d) => Some(("log.flush.interval.ms", d.as_millis().to_string())),
        FsyncPolicy::Never => None,
    };
    let mut all: Vec<(&str, String)> = vec![
        ("advertised.listeners", advertised),
        (
            "auto.create.topics.enable",
            c.auto_create_topics.to_string(),
        ),
        ("broker.id", c.node_id.to_string()),
        (
            "group.consumer.heartbeat.interval.ms",
            c.group_consumer_heartbeat_interval_ms.to_string(),
        ),
        (
            "group.consumer.session.timeout.ms",
            c.group_consumer_session_timeout_ms.to_string(),
        ),
        (
            "group.initial.rebalance.delay.ms",
            c.group_initial_rebalance_delay_ms.to_string(),
        ),
        ("listeners", listeners),
        ("listener.security.protocol.map", protocol_map),
        ("sasl.enabled.mechanisms", mechanisms),
        (
            "log.cleaner.backoff.ms",
            c.log_cleaner_backoff_ms.to_string(),
        ),
        (
            "log.cleaner.dedupe.buffer.size",
            c.log_cleaner_dedupe_buffer_size.to_string(),
        ),
        ("log.dir", log_dirs.clone()),
        ("log.dirs", log_dirs),
        (
            "log.retention.check.interval.ms",
            c.log_retention_check_interval_ms.to_string(),
        ),
        ("node.id", c.node_id.to_string()),
        ("num.partitions", c.default_partitions.to_string()),
        ("offsets.topic.replication.factor", "1".into()),
        ("process.roles", "broker,controller".into()),
        (
            "producer.id.expiration.ms",
            c.producer_id_expiration_ms.to_string(),
        ),
        ("socket.request.max.bytes", c.max_request_bytes.to_string()),
        (
            "transaction.abort.timed.out.transaction.cleanup.interval.ms",
            c.transaction_abort_interval_ms.to_string(),
        ),
        (
            "transaction.max.timeout.ms",
            c.transaction_max_timeout_ms.to_string(),
        ),
        ("transaction.state.log.min.isr", "1".into()),
        ("transaction.state.log.replication.factor", "1".into()),
    ];
    all.extend(flush);
    all.extend(
        c.broker_configs
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone())),
    );
    all.into_iter()
        .filter(|(k, v)| {
            config::defs::find(config::defs::BROKER, k).and_then(|d| d.default) != Some(v.as_str())
        })
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

fn group_overrides(configs: &BTreeMap<String, String>) -> GroupOverrides {
    let num = |k: &str| configs.get(k).and_then(|v| v.parse::<u64>().ok());
    GroupOverrides {
        consumer_session_timeout_ms: num("consumer.session.timeout.ms"),
        consumer_heartbeat_interval_ms: num("consumer.heartbeat.interval.ms"),
    }
}

impl Broker {
    /// Loads persisted dynamic configs (before topics are opened: their log settings
    /// depend on them) and hands group configs to the group coordinator.
    pub(super) fn load_dynamic_configs(&self) -> Result<(), MetaError> {
        let mut d = self.write_dynamic();
        for (key, map) in self.meta.all_configs()? {
            if key == CLUSTER_KEY {
                d.cluster = map;
            } else if key == format!("broker:{}", self.config.node_id) {
                d.per_broker = map;
            } else if let Some(g) = key.strip_prefix(GROUP_PREFIX) {
                let o = group_overrides(&map);
                self.groups.with(|c, _| (c.set_overrides(g, o), Vec::new()));
                d.groups.insert(g.to_string(), map);
            }
        }
        Ok(())
    }

    fn write_dynamic(&self) -> std::sync::RwLockWriteGuard<'_, DynamicConfigs> {
        self.dynamic.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The broker-level layers topic configs fall back to.
    pub fn broker_layers(&self) -> BrokerLayers {
        let d = self.dynamic.read().unwrap_or_else(|p| p.into_inner());
        BrokerLayers {
            per_broker: d.per_broker.clone(),
            cluster: d.cluster.clone(),
            statics: self.statics.clone(),
        }
    }

    /// A broker config's value as this broker applies it: its own dynamic config, the
    /// cluster default, the startup setting, else Kafka's default.
    pub fn broker_setting(&self, name: &str) -> Option<String> {
        let d = self.dynamic.read().unwrap_or_else(|p| p.into_inner());
        d.per_broker
            .get(name)
            .or_else(|| d.cluster.get(name))
            .or_else(|| self.statics.get(name))
            .cloned()
            .or_else(|| {
                config::defs::find(config::defs::BROKER, name)
                    .and_then(|def| def.default.map(str::to_string))
            })
    }

    /// [`Broker::broker_setting`] as a number.
    pub fn broker_setting_i64(&self, name: &str) -> Option<i64> {
        self.broker_setting(name)
            .and_then(|v| v.trim().parse::<i64>().ok())
    }

    /// Every topic config's value for a topic with these overrides.
    pub fn topic_effective(
        &self,
        overrides: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        self.broker_layers().topic_effective(overrides)
    }

    /// Checks topic configs given at creation.
    pub fn validate_topic_configs(
        &self,
        configs: &BTreeMap<String, String>,
    ) -> Result<(), ConfigError> {
        self.broker_layers().validate(Kind::Topic, configs)
    }

    /// Every resource that has configs (ListConfigResources): all topics, this broker,
    /// and the groups with configs of their own or committed offsets.
    pub fn config_resources(&self) -> Result<Vec<ConfigResource>, ConfigError> {
        let mut out: Vec<ConfigResource> = self
            .topics()
            .iter()
            .map(|t| ConfigResource::Topic(t.name.clone()))
            .collect();
        out.push(ConfigResource::Broker(self.config.node_id.to_string()));
        let mut groups: Vec<String> = self.meta.offset_groups()?;
        {
            let d = self.dynamic.read().unwrap_or_else(|p| p.into_inner());
            groups.extend(d.groups.keys().cloned());
        }
        groups.sort();
        groups.dedup();
        out.extend(groups.into_iter().map(ConfigResource::Group));
        Ok(out)
    }

    /// `Ok(true)` for the cluster default, `Ok(false)` for this broker.
    fn broker_target(&self, name: &str) -> Result<bool, ConfigError> {
        if name.is_empty() {
            return Ok(true);
        }
        match name.parse::<i32>() {
            Ok(id) if id == self.config.node_id => Ok(false),
            _ => Err(ConfigError::InvalidRequest(format!(
                "Unexpected broker id, expected {} or empty string, but received {name}",
                self.config.node_id
            ))),
        }
    }

    /// DescribeConfigs of one resource; `keys` (if given) filters the answer.
    pub fn describe_configs(
        &self,
        resource: &ConfigResource,
        keys: Option<&[String]>,
    ) -> Result<Vec<Described>, ConfigError> {
        let layers = self.broker_layers();
        let mut out = match resource {
            ConfigResource::Topic(name) => {
                let t = self
                    .topic(name)
                    .ok_or_else(|| ConfigError::UnknownTopic(name.clone()))?;
                layers.describe_topic(&t.configs())
            }
            ConfigResource::Broker(name) => layers.describe_broker(self.broker_target(name)?),
            ConfigResource::Group(name) => {
                if name.is_empty() {
                    return Err(ConfigError::InvalidRequest(
                        "Group name must not be empty".into(),
                    ));
                }
                let d = self.dynamic.read().unwrap_or_else(|p| p.into_inner());
                layers.describe_group(d.groups.get(name).unwrap_or(&BTreeMap::new()))
            }
        };
        if let Some(keys) = keys {
            out.retain(|e| keys.iter().any(|k| k == e.name));
        }
        Ok(out)
    }

    /// The resource's current dynamic settings.
    fn current_configs(
        &self,
        resource: &ConfigResource,
    ) -> Result<BTreeMap<String, String>, ConfigError> {
        Ok(match resource {
            ConfigResource::Topic(name) => self
                .topic(name)
                .ok_or_else(|| ConfigError::UnknownTopic(name.clone()))?
                .configs(),
            ConfigResource::Broker(name) => {
                let cluster = self.broker_target(name)?;
                let d = self.dynamic.read().unwrap_or_else(|p| p.into_inner());
                if cluster {
                    d.cluster.clone()
                } else {
                    d.per_broker.clone()
                }
            }
            ConfigResource::Group(name) => {
                if name.is_empty() {
                    return Err(ConfigError::InvalidRequest(
                        "Group name must not be empty".into(),
                    ));
                }
                let d = self.dynamic.read().unwrap_or_else(|p| p.into_inner());
                d.groups.get(name).cloned().unwrap_or_default()
            }
        })
    }

    /// AlterConfigs: replaces the resource's dynamic settings with `configs`.
    pub fn alter_configs(
        &self,
        resource: &ConfigResource,
        configs: BTreeMap<String, String>,
        validate_only: bool,
    ) -> Result<(), ConfigError> {
        self.current_configs(resource)?;
        self.replace_configs(resource, configs, validate_only)
    }

    /// IncrementalAlterConfigs: applies SET/DELETE/APPEND/SUBTRACT to the resource's
    /// dynamic settings.
    pub fn incremental_alter_configs(
        &self,
        resource: &ConfigResource,
        ops: &[(String, Op)],
        validate_only: bool,
    ) -> Result<(), ConfigError> {
        let current = self.current_configs(resource)?;
        let layers = self.broker_layers();
        let kind = kind_of(resource);
        let next = config::apply_ops(kind, &current, ops, |def| match kind {
            Kind::Topic => layers.topic_default(def).0,
            Kind::Broker => layers.broker_value(def).0,
            Kind::Group => def.default.map(String::from),
        })?;
        self.replace_configs(resource, next, validate_only)
    }

    fn replace_configs(
        &self,
        resource: &ConfigResource,
        configs: BTreeMap<String, String>,
        validate_only: bool,
    ) -> Result<(), ConfigError> {
        let kind = kind_of(resource);
        self.broker_layers().validate(kind, &configs)?;
        if validate_only {
            return Ok(());
        }
        let _guard = self.admin.lock().unwrap_or_else(|p| p.into_inner());
        match resource {
            ConfigResource::Topic(name) => {
                let t = self
                    .topic(name)
                    .ok_or_else(|| ConfigError::UnknownTopic(name.clone()))?;
                self.meta.put_topic(&TopicRecord {
                    name: t.name.clone(),
                    id: *t.id.as_bytes(),
                    partitions: t.partition_count(),
                    configs: configs.clone(),
                    state: TopicState::Ready,
                })?;
                *t.configs.write().unwrap_or_else(|p| p.into_inner()) = configs;
                self.apply_log_configs(&t);
                tracing::info!(topic = %t.name, "topic configs changed");
            }
            ConfigResource::Broker(name) => {
                let cluster = self.broker_target(name)?;
                let key = if cluster {
                    CLUSTER_KEY.to_string()
                } else {
                    format!("broker:{}", self.config.node_id)
                };
                self.meta.put_configs(&key, &configs)?;
                {
                    let mut d = self.write_dynamic();
                    if cluster {
                        d.cluster = configs;
                    } else {
                        d.per_broker = configs;
                    }
                }
                for t in self.topics() {
                    self.apply_log_configs(&t);
                }
                tracing::info!(resource = %key, "broker configs changed");
            }
            ConfigResource::Group(name) => {
                self.meta
                    .put_configs(&format!("{GROUP_PREFIX}{name}"), &configs)?;
                let o = group_overrides(&configs);
                self.groups
                    .with(|c, _| (c.set_overrides(name, o), Vec::new()));
                let mut d = self.write_dynamic();
                if configs.is_empty() {
                    d.groups.remove(name);
                } else {
                    d.groups.insert(name.clone(), configs);
                }
            }
        }
        Ok(())
    }

    /// Recomputes a topic's log settings and hands them to its partitions.
    fn apply_log_configs(&self, topic: &super::Topic) {
        let cfg = self.log_config(&topic.configs());
        for p in topic.partitions() {
            p.set_config(cfg.clone());
        }
    }
}

fn kind_of(resource: &ConfigResource) -> Kind {
    match resource {
        ConfigResource::Topic(_) => Kind::Topic,
        ConfigResource::Broker(_) => Kind::Broker,
        ConfigResource::Group(_) => Kind::Group,
    }
}
