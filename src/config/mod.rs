//! Configs as Kafka's admin APIs see them: topic, broker and group resources, the layers a
//! value comes from (topic override, dynamic per-broker, dynamic cluster default, static,
//! Kafka's default), and the checks an alteration must pass. Pure functions over maps;
//! the broker persists and applies the results (`broker/configs.rs`).

pub mod defs;

use std::collections::BTreeMap;

use thiserror::Error;

pub use defs::{ConfigDef, ConfigType};

/// Where a described value comes from (Kafka's `ConfigSource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Set on the topic (DYNAMIC_TOPIC_CONFIG).
    Topic,
    /// Set at run time for this broker (DYNAMIC_BROKER_CONFIG).
    DynamicBroker,
    /// Set at run time for every broker (DYNAMIC_DEFAULT_BROKER_CONFIG).
    DynamicDefaultBroker,
    /// Given on the command line (STATIC_BROKER_CONFIG).
    StaticBroker,
    /// Kafka's default (DEFAULT_CONFIG).
    Default,
    /// Set on the group (GROUP_CONFIG).
    Group,
}

/// One entry of a DescribeConfigs answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Described {
    pub name: &'static str,
    pub value: Option<String>,
    pub source: Source,
    pub read_only: bool,
    pub sensitive: bool,
    pub ty: ConfigType,
    pub doc: &'static str,
    /// Every layer that has a value for this config, highest precedence first.
    pub synonyms: Vec<SynonymValue>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SynonymValue {
    pub name: &'static str,
    pub value: Option<String>,
    pub source: Source,
}

#[derive(Debug, Error)]
pub enum ConfigError {
    /// INVALID_CONFIG: a key or value breaks a rule (the message names both).
    #[error("{0}")]
    Invalid(String),
    /// INVALID_REQUEST: the request itself is malformed (duplicate keys, wrong broker id).
    #[error("{0}")]
    InvalidRequest(String),
    /// UNKNOWN_TOPIC_OR_PARTITION
    #[error("Topic {0} does not exist.")]
    UnknownTopic(String),
    #[error("storage error: {0}")]
    Storage(String),
}

/// One IncrementalAlterConfigs operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Set(String),
    Delete,
    /// Add list items not yet present (LIST configs only).
    Append(String),
    /// Remove list items (LIST configs only).
    Subtract(String),
}

/// Which kind of resource a set of configs belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Topic,
    Broker,
    Group,
}

impl Kind {
    pub fn defs(self) -> &'static [ConfigDef] {
        match self {
            Kind::Topic => defs::TOPIC,
            Kind::Broker => defs::BROKER,
            Kind::Group => defs::GROUP,
        }
    }
}

/// The broker-level layers every topic config falls back to.
#[derive(Debug, Clone, Default)]
pub struct BrokerLayers {
    /// Dynamic configs of this broker.
    pub per_broker: BTreeMap<String, String>,
    /// Dynamic configs of every broker (the cluster default).
    pub cluster: BTreeMap<String, String>,
    /// What the broker was started with, where it differs from Kafka's default.
    pub statics: BTreeMap<String, String>,
}

impl Described {
    fn new(
        def: &ConfigDef,
        (value, source): (Option<String>, Source),
        read_only: bool,
        synonyms: Vec<SynonymValue>,
    ) -> Described {
        Described {
            name: def.name,
            value,
            source,
            read_only,
            sensitive: def.ty == ConfigType::Password,
            ty: def.ty,
            doc: def.doc,
            synonyms,
        }
    }
}

fn scaled(value: &str, scale: i64) -> String {
    if scale == 1 {
        return value.to_string();
    }
    match value.trim().parse::<i64>() {
        Ok(n) if n < 0 => "-1".into(),
        Ok(n) => n.saturating_mul(scale).to_string(),
        Err(_) => value.to_string(),
    }
}

impl BrokerLayers {
    /// The value a broker config has and where it comes from.
    pub fn broker_value(&self, def: &ConfigDef) -> (Option<String>, Source) {
        self.broker_layers(def)
            .into_iter()
            .next()
            .map(|s| (s.value, s.source))
            .unwrap_or((None, Source::Default))
    }

    /// Every layer with a value for a broker config, highest precedence first.
    fn broker_layers(&self, def: &ConfigDef) -> Vec<SynonymValue> {
        let mut out = Vec::new();
        let layers = [
            (&self.per_broker, Source::DynamicBroker),
            (&self.cluster, Source::DynamicDefaultBroker),
            (&self.statics, Source::StaticBroker),
        ];
        for (map, source) in layers {
            if let Some(v) = map.get(def.name) {
                out.push(SynonymValue {
                    name: def.name,
                    value: Some(v.clone()),
                    source,
                });
            }
        }
        if let Some(d) = def.default {
            out.push(SynonymValue {
                name: def.name,
                value: Some(d.to_string()),
                source: Source::Default,
            });
        }
        out
    }

    /// The broker-level layers of a topic config, highest precedence first: all dynamic
    /// per-broker synonyms, then dynamic cluster defaults, then static, then defaults
    /// (values in the synonym's own unit).
    fn topic_layers(&self, topic_config: &str) -> Vec<(SynonymValue, i64)> {
        let synonyms = defs::topic_synonyms(topic_config);
        let mut out = Vec::new();
        let layers = [
            (&self.per_broker, Source::DynamicBroker),
            (&self.cluster, Source::DynamicDefaultBroker),
            (&self.statics, Source::StaticBroker),
        ];
        for (map, source) in layers {
            for s in synonyms {
                if let Some(v) = map.get(s.name) {
                    out.push((
                        SynonymValue {
                            name: s.name,
                            value: Some(v.clone()),
                            source,
                        },
                        s.scale,
                    ));
                }
            }
        }
        for s in synonyms {
            if let Some(d) = defs::find(defs::BROKER, s.name).and_then(|d| d.default) {
                out.push((
                    SynonymValue {
                        name: s.name,
                        value: Some(d.to_string()),
                        source: Source::Default,
                    },
                    s.scale,
                ));
            }
        }
        out
    }

    /// A topic config's value when the topic does not set it.
    pub fn topic_default(&self, def: &ConfigDef) -> (Option<String>, Source) {
        match self.topic_layers(def.name).into_iter().next() {
            Some((s, scale)) if s.source != Source::Default => {
                (s.value.map(|v| scaled(&v, scale)), s.source)
            }
            _ => (def.default.map(str::to_string), Source::Default),
        }
    }

    /// Every topic config with its value for a topic with these overrides.
    pub fn topic_effective(
        &self,
        overrides: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        defs::TOPIC
            .iter()
            .filter_map(|def| {
                let v = match overrides.get(def.name) {
                    Some(v) => Some(v.clone()),
                    None => self.topic_default(def).0,
                };
                v.map(|v| (def.name.to_string(), v))
            })
            .collect()
    }

    /// DescribeConfigs of a topic.
    pub fn describe_topic(&self, overrides: &BTreeMap<String, String>) -> Vec<Described> {
        defs::TOPIC
            .iter()
            .map(|def| {
                let mut synonyms = Vec::new();
                if let Some(v) = overrides.get(def.name) {
                    synonyms.push(SynonymValue {
                        name: def.name,
                        value: Some(v.clone()),
                        source: Source::Topic,
                    });
                }
                synonyms.extend(self.topic_layers(def.name).into_iter().map(|(s, _)| s));
                let value = match overrides.get(def.name) {
                    Some(v) => (Some(v.clone()), Source::Topic),
                    None => self.topic_default(def),
                };
                Described::new(def, value, false, synonyms)
            })
            .collect()
    }

    /// DescribeConfigs of this broker (every config) or, `cluster_default`, of the
    /// cluster-wide dynamic defaults (only those set, as Kafka answers).
    pub fn describe_broker(&self, cluster_default: bool) -> Vec<Described> {
        defs::BROKER
            .iter()
            .filter(|def| !cluster_default || self.cluster.contains_key(def.name))
            .map(|def| {
                let synonyms = self.broker_layers(def);
                let (value, source) = if cluster_default {
                    (
                        self.cluster.get(def.name).cloned(),
                        Source::DynamicDefaultBroker,
                    )
                } else {
                    self.broker_value(def)
                };
                Described {
                    name: def.name,
                    value,
                    source,
                    read_only: !def.dynamic,
                    sensitive: def.ty == ConfigType::Password,
                    ty: def.ty,
                    doc: def.doc,
                    synonyms,
                }
            })
            .collect()
    }

    /// A broker config's value as a number (its effective layer).
    pub fn broker_number(&self, name: &str) -> Option<i64> {
        defs::find(defs::BROKER, name)
            .and_then(|d| self.broker_value(d).0)
            .and_then(|v| v.trim().parse().ok())
    }

    /// The broker config a group config defaults to.
    fn group_fallback(&self, group_config: &str) -> Option<String> {
        let broker = match group_config {
            "consumer.session.timeout.ms" => "group.consumer.session.timeout.ms",
            "consumer.heartbeat.interval.ms" => "group.consumer.heartbeat.interval.ms",
            _ => return None,
        };
        defs::find(defs::BROKER, broker).and_then(|d| self.broker_value(d).0)
    }

    /// A group config's value for a group with these overrides.
    pub fn group_value(&self, overrides: &BTreeMap<String, String>, name: &str) -> Option<String> {
        overrides.get(name).cloned().or_else(|| {
            self.group_fallback(name)
                .or_else(|| defs::find(defs::GROUP, name).and_then(|d| d.default.map(String::from)))
        })
    }

    /// DescribeConfigs of a group.
    pub fn describe_group(&self, overrides: &BTreeMap<String, String>) -> Vec<Described> {
        defs::GROUP
            .iter()
            .map(|def| {
                let default = self
                    .group_fallback(def.name)
                    .or_else(|| def.default.map(String::from));
                let mut synonyms = Vec::new();
                if let Some(v) = overrides.get(def.name) {
                    synonyms.push(SynonymValue {
                        name: def.name,
                        value: Some(v.clone()),
                        source: Source::Group,
                    });
                }
                synonyms.push(SynonymValue {
                    name: def.name,
                    value: default.clone(),
                    source: Source::Default,
                });
                let value = match overrides.get(def.name) {
                    Some(v) => (Some(v.clone()), Source::Group),
                    None => (default, Source::Default),
                };
                Described::new(def, value, false, synonyms)
            })
            .collect()
    }

    fn number(&self, name: &str) -> i64 {
        self.broker_number(name).unwrap_or(0)
    }

    /// Checks a complete set of configs for a resource: names, values, and the rules
    /// that tie several configs together.
    pub fn validate(
        &self,
        kind: Kind,
        configs: &BTreeMap<String, String>,
    ) -> Result<(), ConfigError> {
        for (name, value) in configs {
            let Some(def) = defs::find(kind.defs(), name) else {
                return Err(ConfigError::Invalid(match kind {
                    Kind::Topic => format!("Unknown topic config name: {name}"),
                    Kind::Broker => format!("Unknown broker config name: {name}"),
                    Kind::Group => format!("Unknown group config name: {name}"),
                }));
            };
            if kind == Kind::Broker && !def.dynamic {
                return Err(ConfigError::Invalid(format!(
                    "Cannot update these configs dynamically: Set({name})"
                )));
            }
            defs::check(def, value).map_err(ConfigError::Invalid)?;
        }
        match kind {
            Kind::Topic => {
                let eff = self.topic_effective(configs);
                let num = |n: &str| eff.get(n).and_then(|v| v.parse::<i64>().ok());
                if let (Some(min), Some(max)) =
                    (num("min.compaction.lag.ms"), num("max.compaction.lag.ms"))
                {
                    if min > max {
                        return Err(ConfigError::Invalid(format!(
                            "conflict topic config setting min.compaction.lag.ms ({min}) > max.compaction.lag.ms ({max})"
                        )));
                    }
                }
            }
            Kind::Group => self.validate_group(configs)?,
            Kind::Broker => {}
        }
        Ok(())
    }

    /// Group timeouts must lie within the broker's bounds (Kafka's
    /// `group.consumer.{min,max}.{session.timeout,heartbeat.interval}.ms`, widened to
    /// include what this broker runs with).
    fn validate_group(&self, configs: &BTreeMap<String, String>) -> Result<(), ConfigError> {
        let session_default = self.number("group.consumer.session.timeout.ms");
        let heartbeat_default = self.number("group.consumer.heartbeat.interval.ms");
        let bounds = [
            (
                "consumer.session.timeout.ms",
                self.number("group.consumer.min.session.timeout.ms")
                    .min(session_default),
                self.number("group.consumer.max.session.timeout.ms")
                    .max(session_default),
            ),
            (
                "consumer.heartbeat.interval.ms",
                self.number("group.consumer.min.heartbeat.interval.ms")
                    .min(heartbeat_default),
                self.number("group.consumer.max.heartbeat.interval.ms")
                    .max(heartbeat_default),
            ),
        ];
        for (name, lo, hi) in bounds {
            if let Some(v) = configs.get(name).and_then(|v| v.parse::<i64>().ok()) {
                if v < lo || v > hi {
                    return Err(ConfigError::Invalid(format!(
                        "Invalid value {v} for configuration {name}: Value must be no less than {lo} and no more than {hi}"
                    )));
                }
            }
        }
        let value = |n: &str| {
            self.group_value(configs, n)
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0)
        };
        let (session, heartbeat) = (
            value("consumer.session.timeout.ms"),
            value("consumer.heartbeat.interval.ms"),
        );
        if heartbeat >= session {
            return Err(ConfigError::Invalid(format!(
                "consumer.heartbeat.interval.ms ({heartbeat}) must be less than consumer.session.timeout.ms ({session})"
            )));
        }
        Ok(())
    }
}

/// Applies IncrementalAlterConfigs operations to a resource's current settings. APPEND
/// and SUBTRACT start from the current value, or the default when unset, as Kafka does.
pub fn apply_ops(
    kind: Kind,
    current: &BTreeMap<String, String>,
    ops: &[(String, Op)],
    default_of: impl Fn(&ConfigDef) -> Option<String>,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut seen = std::collections::HashSet::new();
    if let Some((dup, _)) = ops.iter().find(|(n, _)| !seen.insert(n.as_str())) {
        return Err(ConfigError::InvalidRequest(format!(
            "Error due to duplicate config keys: {dup}"
        )));
    }
    let mut out = current.clone();
    for (name, op) in ops {
        let def = defs::find(kind.defs(), name);
        match op {
            Op::Set(v) => {
                out.insert(name.clone(), v.clone());
            }
            Op::Delete => {
                out.remove(name);
            }
            Op::Append(v) | Op::Subtract(v) => {
                let Some(def) = def.filter(|d| d.ty == ConfigType::List) else {
                    let verb = if matches!(op, Op::Append(_)) {
                        "append"
                    } else {
                        "subtract"
                    };
                    return Err(ConfigError::Invalid(format!(
                        "Config value {verb} is not allowed for config key: {name}"
                    )));
                };
                let base = out.get(name).cloned().or_else(|| default_of(def));
                let mut items: Vec<String> = base
                    .as_deref()
                    .map(defs::split_list)
                    .unwrap_or_default()
                    .into_iter()
                    .map(String::from)
                    .collect();
                for item in defs::split_list(v) {
                    if matches!(op, Op::Append(_)) {
                        if !items.iter().any(|i| i == item) {
                            items.push(item.to_string());
                        }
                    } else {
                        items.retain(|i| i != item);
                    }
                }
                out.insert(name.clone(), items.join(","));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
