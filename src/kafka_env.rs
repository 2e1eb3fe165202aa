//! Kafka's settings where a Kafka user already has them: the `KAFKA_*` environment
//! variables of the apache/kafka (and Confluent) container images, and `server.properties`
//! keys given with `--broker-config key=value`.
//!
//! A `KAFKA_*` variable names a broker config the way those images do: drop `KAFKA_`,
//! lower-case, `___` → `-`, `__` → `_`, `_` → `.` (`KAFKA_LOG_RETENTION_HOURS` is
//! `log.retention.hours`). Each one is then:
//! - a setting with a `rill serve` flag (listeners, advertised listeners, node id,
//!   auto-creation, partitions, log dirs, group and transaction timings…): it becomes that
//!   flag's `RILL_*` variable, unless that variable is set (flags and `RILL_*` win);
//! - a broker default of topic configs (`log.retention.hours`, `log.segment.bytes`,
//!   `log.cleanup.policy`, `compression.type`, …) or another broker config Rill uses: it
//!   is passed on as `--broker-config`, reported by DescribeConfigs as a static broker
//!   config, as Kafka does;
//! - a setting that only matters to a multi-node JVM cluster (`process.roles`,
//!   `controller.quorum.voters`, replication factors, JVM options…): accepted and ignored;
//! - anything else: ignored with a warning naming it.
//!
//! Listeners keep their names (`KAFKA_LISTENER_SECURITY_PROTOCOL_MAP` gives custom names
//! their protocol) and each advertises its own address; the controller listener is skipped
//! (Rill is its own controller). SASL users come from `--users-file`: JAAS configs are not
//! read. TLS material must be PEM files (`ssl.keystore.type=PEM` with
//! `ssl.keystore.location` holding the key and the chain, `ssl.truststore.type=PEM` with
//! `ssl.truststore.location`); JKS and PKCS12 stores and inline PEM are errors naming
//! `RILL_TLS_CERT` / `RILL_TLS_KEY` instead.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use thiserror::Error;

use crate::config::defs;

#[derive(Debug, Error, PartialEq)]
pub enum KafkaEnvError {
    #[error("{var}={value:?}: {why}")]
    Bad {
        var: String,
        value: String,
        why: String,
    },
}

/// Kafka config → the `RILL_*` variable of the `rill serve` flag that sets it.
const FLAG_BACKED: &[(&str, &str)] = &[
    ("auto.create.topics.enable", "RILL_AUTO_CREATE_TOPICS"),
    ("num.partitions", "RILL_DEFAULT_PARTITIONS"),
    ("node.id", "RILL_NODE_ID"),
    ("broker.id", "RILL_NODE_ID"),
    ("socket.request.max.bytes", "RILL_MAX_REQUEST_BYTES"),
    (
        "group.initial.rebalance.delay.ms",
        "RILL_GROUP_INITIAL_REBALANCE_DELAY_MS",
    ),
    (
        "group.consumer.heartbeat.interval.ms",
        "RILL_GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS",
    ),
    (
        "group.consumer.session.timeout.ms",
        "RILL_GROUP_CONSUMER_SESSION_TIMEOUT_MS",
    ),
    (
        "producer.id.expiration.ms",
        "RILL_PRODUCER_ID_EXPIRATION_MS",
    ),
    (
        "transaction.max.timeout.ms",
        "RILL_TRANSACTION_MAX_TIMEOUT_MS",
    ),
    (
        "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        "RILL_TRANSACTION_ABORT_TIMED_OUT_INTERVAL_MS",
    ),
    (
        "log.retention.check.interval.ms",
        "RILL_LOG_RETENTION_CHECK_INTERVAL_MS",
    ),
    ("log.cleaner.backoff.ms", "RILL_LOG_CLEANER_BACKOFF_MS"),
    (
        "log.cleaner.dedupe.buffer.size",
        "RILL_LOG_CLEANER_DEDUPE_BUFFER_SIZE",
    ),
    ("listeners", "RILL_LISTEN"),
    ("advertised.listeners", "RILL_ADVERTISE"),
    ("log.dirs", "RILL_DATA_DIR"),
    ("log.dir", "RILL_DATA_DIR"),
    ("sasl.enabled.mechanisms", "RILL_SASL_MECHANISMS"),
    ("max.connections", "RILL_MAX_CONNECTIONS"),
    ("max.connections.per.ip", "RILL_MAX_CONNECTIONS_PER_IP"),
    ("connections.max.idle.ms", "RILL_CONNECTIONS_MAX_IDLE_MS"),
    ("super.users", "RILL_SUPER_USERS"),
    (
        "allow.everyone.if.no.acl.found",
        "RILL_ALLOW_EVERYONE_IF_NO_ACL_FOUND",
    ),
];

/// `KAFKA_*` variables of the images that are not broker configs, and configs that only
/// matter to a multi-node JVM cluster: accepted and ignored.
const IGNORED_VARS: &[&str] = &[
    "KAFKA_HEAP_OPTS",
    "KAFKA_OPTS",
    "KAFKA_JMX_OPTS",
    "KAFKA_JMX_PORT",
    "KAFKA_JMX_HOSTNAME",
    "KAFKA_JVM_PERFORMANCE_OPTS",
    "KAFKA_GC_LOG_OPTS",
    "KAFKA_LOG4J_OPTS",
    "KAFKA_LOG4J_ROOT_LOGLEVEL",
    "KAFKA_LOG4J_LOGGERS",
    "KAFKA_TOOLS_LOG4J_LOGLEVEL",
    "KAFKA_DEBUG",
    "KAFKA_LOG_DIR",
];
const IGNORED_CONFIGS: &[&str] = &[
    "process.roles",
    "controller.quorum.voters",
    "controller.quorum.bootstrap.servers",
    "controller.listener.names",
    "inter.broker.listener.name",
    "sasl.mechanism.inter.broker.protocol",
    "sasl.mechanism.controller.protocol",
    "security.inter.broker.protocol",
    "offsets.topic.replication.factor",
    "offsets.topic.num.partitions",
    "transaction.state.log.replication.factor",
    "transaction.state.log.min.isr",
    "transaction.state.log.num.partitions",
    "default.replication.factor",
    "min.insync.replicas",
    "num.network.threads",
    "num.io.threads",
    "num.recovery.threads.per.data.dir",
    "socket.send.buffer.bytes",
    "socket.receive.buffer.bytes",
    "zookeeper.connect",
    "confluent.support.metrics.enable",
    "confluent.metrics.reporter.bootstrap.servers",
    "confluent.metrics.reporter.topic.replicas",
    "confluent.license.topic.replication.factor",
    "confluent.balancer.topic.replication.factor",
    "metadata.log.dir",
];

/// What the `KAFKA_*` variables of an environment amount to.
#[derive(Debug, Default, PartialEq)]
pub struct Mapped {
    /// `RILL_*` variables to set (where not set already), with the variable they came from.
    pub rill_env: Vec<(String, String, String)>,
    /// `server.properties`-style settings for `--broker-config`.
    pub broker_configs: Vec<(String, String)>,
    /// Variables accepted and ignored (single-node broker, JVM options).
    pub ignored: Vec<String>,
    /// Variables naming no config Rill knows.
    pub unknown: Vec<String>,
    /// Things the user should know (listeners Rill merged or skipped).
    pub notes: Vec<String>,
}

/// `KAFKA_LOG_RETENTION_HOURS` → `log.retention.hours`.
pub fn config_name(var: &str) -> Option<String> {
    let rest = var.strip_prefix("KAFKA_")?;
    let lower = rest.to_ascii_lowercase();
    Some(
        lower
            .replace("___", "\u{1}")
            .replace("__", "\u{2}")
            .replace('_', ".")
            .replace('\u{1}', "-")
            .replace('\u{2}', "_"),
    )
}

/// One entry of a Kafka listener list: `NAME://host:port`.
#[derive(Debug, Clone, PartialEq)]
struct Listener {
    name: String,
    host: String,
    port: u16,
}

fn parse_listeners(var: &str, value: &str) -> Result<Vec<Listener>, KafkaEnvError> {
    let bad = |why: String| KafkaEnvError::Bad {
        var: var.to_string(),
        value: value.to_string(),
        why,
    };
    let mut out = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, addr) = entry.split_once("://").ok_or_else(|| {
            bad(format!(
                "listener {entry:?} is not of the form NAME://host:port"
            ))
        })?;
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(bad(format!("listener name {name:?} is not valid")));
        }
        let (host, port) = addr
            .rsplit_once(':')
            .ok_or_else(|| bad(format!("listener {entry:?} has no port")))?;
        let port: u16 = port
            .parse()
            .map_err(|_| bad(format!("listener {entry:?} has no valid port")))?;
        out.push(Listener {
            name: name.to_ascii_uppercase(),
            host: host.to_string(),
            port,
        });
    }
    if out.is_empty() {
        return Err(bad("no listener given".into()));
    }
    Ok(out)
}

fn protocol_map(value: Option<&String>) -> Result<BTreeMap<String, String>, KafkaEnvError> {
    let mut map: BTreeMap<String, String> = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
        .iter()
        .map(|p| (p.to_string(), p.to_string()))
        .collect();
    if let Some(v) = value {
        map.clear();
        for pair in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, proto) = pair.split_once(':').ok_or_else(|| KafkaEnvError::Bad {
                var: "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP".into(),
                value: v.clone(),
                why: format!("{pair:?} is not NAME:PROTOCOL"),
            })?;
            map.insert(name.to_ascii_uppercase(), proto.to_ascii_uppercase());
        }
    }
    Ok(map)
}

/// Maps the `KAFKA_*` variables among `vars` (a process environment).
pub fn map_env(vars: &[(String, String)]) -> Result<Mapped, KafkaEnvError> {
    let mut out = Mapped::default();
    let kafka: BTreeMap<String, (String, String)> = vars
        .iter()
        .filter(|(k, _)| k.starts_with("KAFKA_"))
        .filter_map(|(k, v)| config_name(k).map(|n| (n, (k.clone(), v.clone()))))
        .collect();
    let get = |name: &str| kafka.get(name).map(|(_, v)| v);
    let protocols = protocol_map(get("listener.security.protocol.map"))?;
    let controllers: Vec<String> = get("controller.listener.names")
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_ascii_uppercase())
                .collect()
        })
        .unwrap_or_default();

    // Listeners are Rill's under their names; the controller's are skipped.
    let mut chosen: Vec<Listener> = Vec::new();
    if let Some((var, value)) = kafka.get("listeners") {
        for l in parse_listeners(var, value)? {
            if controllers.contains(&l.name) {
                out.notes.push(format!(
                    "listener {} (the controller's) is not opened: Rill is its own controller",
                    l.name
                ));
                continue;
            }
            let bad = |why: String| KafkaEnvError::Bad {
                var: var.clone(),
                value: value.clone(),
                why,
            };
            match protocols.get(&l.name).map(String::as_str) {
                Some(_) => chosen.push(l),
                None => {
                    return Err(bad(format!(
                        "no security protocol for listener {} in listener.security.protocol.map",
                        l.name
                    )))
                }
            }
        }
        if chosen.is_empty() {
            return Err(KafkaEnvError::Bad {
                var: var.clone(),
                value: value.clone(),
                why: "no listener to open besides the controller's".into(),
            });
        }
        let listen: Vec<String> = chosen
            .iter()
            .map(|l| {
                // Kafka binds every interface for an empty host.
                let host = if l.host.is_empty() {
                    "0.0.0.0"
                } else {
                    &l.host
                };
                format!("{}://{host}:{}", l.name, l.port)
            })
            .collect();
        out.rill_env
            .push(("RILL_LISTEN".into(), listen.join(","), var.clone()));
        // Names that are not a protocol's own need the map.
        if chosen
            .iter()
            .any(|l| protocols.get(&l.name).map(String::as_str) != Some(l.name.as_str()))
        {
            let map: Vec<String> = chosen
                .iter()
                .filter_map(|l| protocols.get(&l.name).map(|p| format!("{}:{p}", l.name)))
                .collect();
            let from = kafka
                .get("listener.security.protocol.map")
                .map_or_else(|| var.clone(), |(v, _)| v.clone());
            out.rill_env.push((
                "RILL_LISTENER_SECURITY_PROTOCOL_MAP".into(),
                map.join(","),
                from,
            ));
        }
    }
    if let Some((var, value)) = kafka.get("advertised.listeners") {
        let advertised = parse_listeners(var, value)?;
        let bad = |why: String| KafkaEnvError::Bad {
            var: var.clone(),
            value: value.clone(),
            why,
        };
        let bracket = |h: &str| {
            if h.contains(':') {
                format!("[{}]", h.trim_matches(|c| c == '[' || c == ']'))
            } else {
                h.to_string()
            }
        };
        let rill = if chosen.is_empty() {
            // Rill's default listener (PLAINTEXT): the first PLAINTEXT address, bare.
            let pick = advertised
                .iter()
                .find(|a| protocols.get(&a.name).map(String::as_str) == Some("PLAINTEXT"))
                .ok_or_else(|| bad("no advertised address for a PLAINTEXT listener".into()))?;
            if pick.host.is_empty() {
                return Err(bad(format!("listener {} advertises no host", pick.name)));
            }
            format!("{}:{}", bracket(&pick.host), pick.port)
        } else {
            let mut entries = Vec::new();
            for a in advertised
                .iter()
                .filter(|a| chosen.iter().any(|c| c.name == a.name))
            {
                if a.host.is_empty() {
                    return Err(bad(format!("listener {} advertises no host", a.name)));
                }
                entries.push(format!("{}://{}:{}", a.name, bracket(&a.host), a.port));
            }
            if entries.is_empty() {
                return Err(bad("no advertised address for an opened listener".into()));
            }
            entries.join(",")
        };
        out.rill_env
            .push(("RILL_ADVERTISE".into(), rill, var.clone()));
    }

    tls_files(&kafka, &mut out)?;

    for (name, (var, value)) in &kafka {
        if name.starts_with("ssl.") {
            // Taken by tls_files (or of no use to Rill: passwords, algorithms).
            continue;
        }
        if IGNORED_VARS.contains(&var.as_str()) || IGNORED_CONFIGS.contains(&name.as_str()) {
            out.ignored.push(var.clone());
            continue;
        }
        if matches!(
            name.as_str(),
            "listeners" | "advertised.listeners" | "listener.security.protocol.map"
        ) {
            continue;
        }
        if name.ends_with("sasl.jaas.config") {
            // JAAS users (PlainLoginModule's user_<name>=…) are not read.
            out.ignored.push(var.clone());
            out.notes.push(format!(
                "{var} is not read: give SASL users with --users-file (RILL_USERS_FILE)"
            ));
            continue;
        }
        if name == "authorizer.class.name" {
            // Kafka's ACL authorizers (KRaft's StandardAuthorizer, ZooKeeper's
            // AclAuthorizer) are Rill's `--authorizer acl`; another class is refused
            // rather than left off (which would allow everything).
            let class = value.trim();
            if class.is_empty() {
                out.ignored.push(var.clone());
            } else if class.ends_with(".StandardAuthorizer") || class.ends_with(".AclAuthorizer") {
                out.rill_env
                    .push(("RILL_AUTHORIZER".into(), "acl".into(), var.clone()));
            } else {
                return Err(KafkaEnvError::Bad {
                    var: var.clone(),
                    value: value.clone(),
                    why: "Rill's authorizer is Kafka's ACL authorizer (StandardAuthorizer or AclAuthorizer); other classes are not supported".into(),
                });
            }
            continue;
        }
        if name == "allow.everyone.if.no.acl.found" {
            // A boolean as Kafka's ConfigDef reads one (either case), for the flag's
            // parser, which takes `true`/`false` only.
            let v = value.trim().to_ascii_lowercase();
            if v != "true" && v != "false" {
                return Err(KafkaEnvError::Bad {
                    var: var.clone(),
                    value: value.clone(),
                    why: "Expected value to be either true or false".into(),
                });
            }
            out.rill_env
                .push(("RILL_ALLOW_EVERYONE_IF_NO_ACL_FOUND".into(), v, var.clone()));
            continue;
        }
        if let Some((_, rill)) = FLAG_BACKED.iter().find(|(k, _)| k == name) {
            let value = if matches!(name.as_str(), "log.dirs" | "log.dir") {
                // Rill keeps one data directory: the first of Kafka's list.
                value.split(',').next().unwrap_or("").trim().to_string()
            } else {
                value.clone()
            };
            if !out.rill_env.iter().any(|(r, _, _)| r == rill) {
                out.rill_env.push((rill.to_string(), value, var.clone()));
            }
            continue;
        }
        match check_broker_config(name, value) {
            Ok(()) => out.broker_configs.push((name.clone(), value.clone())),
            Err(BrokerConfigProblem::Unknown) => out.unknown.push(var.clone()),
            // (Flag-backed names were taken above.)
            Err(BrokerConfigProblem::NoEffect | BrokerConfigProblem::HasFlag(_)) => {
                out.ignored.push(var.clone())
            }
            Err(BrokerConfigProblem::Invalid(why)) => {
                return Err(KafkaEnvError::Bad {
                    var: var.clone(),
                    value: value.clone(),
                    why,
                })
            }
        }
    }
    Ok(out)
}

/// Kafka's `ssl.*` broker configs: PEM files become `RILL_TLS_*`; stores Rill cannot read
/// are errors; the rest (passwords, protocols, algorithms) is ignored with a note.
fn tls_files(
    kafka: &BTreeMap<String, (String, String)>,
    out: &mut Mapped,
) -> Result<(), KafkaEnvError> {
    let store_type = |name: &str| {
        kafka
            .get(name)
            .map(|(_, v)| v.trim().to_ascii_uppercase())
            .unwrap_or_else(|| "JKS".into())
    };
    let not_pem = |var: &String, value: &String, kind: &str, rill: &str| KafkaEnvError::Bad {
        var: var.clone(),
        value: value.clone(),
        why: format!("Rill reads PEM files only: set {kind}=PEM with a PEM file, or give {rill}"),
    };
    if let Some((var, value)) = kafka.get("ssl.keystore.location") {
        if store_type("ssl.keystore.type") != "PEM" {
            return Err(not_pem(
                var,
                value,
                "KAFKA_SSL_KEYSTORE_TYPE",
                "RILL_TLS_CERT and RILL_TLS_KEY",
            ));
        }
        // One PEM file with the private key and the certificate chain.
        out.rill_env
            .push(("RILL_TLS_CERT".into(), value.clone(), var.clone()));
        out.rill_env
            .push(("RILL_TLS_KEY".into(), value.clone(), var.clone()));
    }
    if let Some((var, value)) = kafka.get("ssl.truststore.location") {
        if store_type("ssl.truststore.type") != "PEM" {
            return Err(not_pem(
                var,
                value,
                "KAFKA_SSL_TRUSTSTORE_TYPE",
                "RILL_TLS_CLIENT_CA",
            ));
        }
        out.rill_env
            .push(("RILL_TLS_CLIENT_CA".into(), value.clone(), var.clone()));
    }
    for inline in [
        "ssl.keystore.certificate.chain",
        "ssl.keystore.key",
        "ssl.truststore.certificates",
    ] {
        if let Some((var, value)) = kafka.get(inline) {
            return Err(KafkaEnvError::Bad {
                var: var.clone(),
                value: "(PEM)".into(),
                why: format!(
                    "inline PEM is not read: mount the PEM files and give RILL_TLS_CERT, RILL_TLS_KEY, RILL_TLS_CLIENT_CA ({} chars given)",
                    value.len()
                ),
            });
        }
    }
    if let Some((var, value)) = kafka.get("ssl.client.auth") {
        let v = value.trim().to_ascii_lowercase();
        if !matches!(v.as_str(), "none" | "requested" | "required") {
            return Err(KafkaEnvError::Bad {
                var: var.clone(),
                value: value.clone(),
                why: "expected none, requested or required".into(),
            });
        }
        out.rill_env
            .push(("RILL_TLS_CLIENT_AUTH".into(), v, var.clone()));
    }
    for (name, (var, _)) in kafka.range("ssl.".to_string()..) {
        if !name.starts_with("ssl.") {
            break;
        }
        if !matches!(
            name.as_str(),
            "ssl.keystore.location"
                | "ssl.keystore.type"
                | "ssl.truststore.location"
                | "ssl.truststore.type"
                | "ssl.client.auth"
        ) {
            out.ignored.push(var.clone());
        }
    }
    Ok(())
}

static APPLIED: OnceLock<Mapped> = OnceLock::new();

/// Maps this process's `KAFKA_*` variables and sets the `RILL_*` ones they stand for
/// (where not set already). Call before parsing the command line, while the process has
/// one thread.
pub fn apply_to_process() -> Result<(), KafkaEnvError> {
    let vars: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let mut mapped = map_env(&vars)?;
    mapped
        .rill_env
        .retain(|(rill, _, _)| std::env::var_os(rill).is_none());
    for (rill, value, _) in &mapped.rill_env {
        std::env::set_var(rill, value);
    }
    let _ = APPLIED.set(mapped);
    Ok(())
}

/// What [`apply_to_process`] did, if it ran.
pub fn applied() -> Option<&'static Mapped> {
    APPLIED.get()
}

/// Logs what [`apply_to_process`] did (once logging is set up).
pub fn log_applied() {
    let Some(m) = applied() else { return };
    for (rill, value, from) in &m.rill_env {
        tracing::info!(from = %from, to = %rill, value = %value, "Kafka setting mapped");
    }
    for (k, v) in &m.broker_configs {
        tracing::info!(config = %k, value = %v, "Kafka broker config from the environment");
    }
    if !m.ignored.is_empty() {
        tracing::info!(vars = %m.ignored.join(","), "Kafka settings ignored (no effect on a single-node Rill)");
    }
    for var in &m.unknown {
        tracing::warn!(var = %var, "not a Kafka broker config Rill knows; ignored");
    }
    for note in &m.notes {
        tracing::warn!("{note}");
    }
}

/// Why a `--broker-config` setting is not taken.
#[derive(Debug, PartialEq)]
pub enum BrokerConfigProblem {
    /// Kafka has no such broker config.
    Unknown,
    /// A Kafka config Rill reports at Kafka's default and does not use.
    NoEffect,
    /// Set with this `rill serve` flag instead.
    HasFlag(&'static str),
    /// The value is not valid for it (Kafka's wording).
    Invalid(String),
}

impl std::fmt::Display for BrokerConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BrokerConfigProblem::Unknown => f.write_str("not a Kafka broker config"),
            BrokerConfigProblem::NoEffect => {
                f.write_str("a Kafka broker config that has no effect in Rill")
            }
            BrokerConfigProblem::HasFlag(var) => {
                write!(f, "set it with the rill serve flag whose variable is {var}")
            }
            BrokerConfigProblem::Invalid(why) => f.write_str(why),
        }
    }
}

/// Whether `name=value` can be a static broker setting: a broker default of topic configs
/// or a dynamic broker config Rill uses, with a valid value.
pub fn check_broker_config(name: &str, value: &str) -> Result<(), BrokerConfigProblem> {
    if let Some((_, var)) = FLAG_BACKED.iter().find(|(k, _)| *k == name) {
        return Err(BrokerConfigProblem::HasFlag(var));
    }
    let def = defs::find(defs::BROKER, name).ok_or(BrokerConfigProblem::Unknown)?;
    if !(def.dynamic || defs::is_topic_default(name)) {
        return Err(BrokerConfigProblem::NoEffect);
    }
    defs::check(def, value).map_err(BrokerConfigProblem::Invalid)
}

/// Parses one `--broker-config key=value`.
pub fn parse_broker_config(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not key=value"))?;
    let k = k.trim();
    check_broker_config(k, v).map_err(|p| format!("{k}: {p}"))?;
    Ok((k.to_string(), v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn rill(m: &Mapped, var: &str) -> Option<String> {
        m.rill_env
            .iter()
            .find(|(r, _, _)| r == var)
            .map(|(_, v, _)| v.clone())
    }

    #[test]
    fn names_follow_the_images_convention() {
        assert_eq!(
            config_name("KAFKA_LOG_RETENTION_HOURS").as_deref(),
            Some("log.retention.hours")
        );
        assert_eq!(
            config_name("KAFKA_LISTENER_NAME_INTERNAL_SASL__ENABLED___MECHANISMS").as_deref(),
            Some("listener.name.internal.sasl_enabled-mechanisms")
        );
        assert_eq!(config_name("RILL_LISTEN"), None);
    }

    #[test]
    fn the_apache_kafka_quickstart_compose_maps() {
        // The single-node KRaft example of the apache/kafka image's docs.
        let m = map_env(&env(&[
            ("KAFKA_NODE_ID", "1"),
            ("KAFKA_PROCESS_ROLES", "broker,controller"),
            (
                "KAFKA_LISTENERS",
                "PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093",
            ),
            ("KAFKA_ADVERTISED_LISTENERS", "PLAINTEXT://localhost:9092"),
            ("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER"),
            (
                "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
                "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            ),
            ("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093"),
            ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1"),
            ("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1"),
            ("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1"),
            ("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0"),
            ("KAFKA_NUM_PARTITIONS", "3"),
            ("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false"),
            ("KAFKA_LOG_RETENTION_HOURS", "2"),
            ("HOME", "/root"),
        ]))
        .expect("maps");
        assert_eq!(
            rill(&m, "RILL_LISTEN").as_deref(),
            Some("PLAINTEXT://localhost:9092")
        );
        assert_eq!(
            rill(&m, "RILL_ADVERTISE").as_deref(),
            Some("PLAINTEXT://localhost:9092")
        );
        assert_eq!(rill(&m, "RILL_LISTENER_SECURITY_PROTOCOL_MAP"), None);
        assert_eq!(rill(&m, "RILL_NODE_ID").as_deref(), Some("1"));
        assert_eq!(rill(&m, "RILL_DEFAULT_PARTITIONS").as_deref(), Some("3"));
        assert_eq!(
            rill(&m, "RILL_AUTO_CREATE_TOPICS").as_deref(),
            Some("false")
        );
        assert_eq!(
            rill(&m, "RILL_GROUP_INITIAL_REBALANCE_DELAY_MS").as_deref(),
            Some("0")
        );
        assert_eq!(
            m.broker_configs,
            vec![("log.retention.hours".to_string(), "2".to_string())]
        );
        assert!(m.unknown.is_empty(), "{:?}", m.unknown);
        assert!(m.ignored.contains(&"KAFKA_PROCESS_ROLES".to_string()));
        assert!(m.notes.iter().any(|n| n.contains("CONTROLLER")));
    }

    #[test]
    fn empty_host_means_every_interface_and_each_listener_advertises_its_own() {
        let m = map_env(&env(&[
            (
                "KAFKA_LISTENERS",
                "PLAINTEXT://:29092,PLAINTEXT_HOST://:9092",
            ),
            (
                "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
                "PLAINTEXT:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT",
            ),
            (
                "KAFKA_ADVERTISED_LISTENERS",
                "PLAINTEXT://kafka:29092,PLAINTEXT_HOST://localhost:9092",
            ),
        ]))
        .expect("maps");
        assert_eq!(
            rill(&m, "RILL_LISTEN").as_deref(),
            Some("PLAINTEXT://0.0.0.0:29092,PLAINTEXT_HOST://0.0.0.0:9092")
        );
        assert_eq!(
            rill(&m, "RILL_LISTENER_SECURITY_PROTOCOL_MAP").as_deref(),
            Some("PLAINTEXT:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT")
        );
        assert_eq!(
            rill(&m, "RILL_ADVERTISE").as_deref(),
            Some("PLAINTEXT://kafka:29092,PLAINTEXT_HOST://localhost:9092")
        );
    }

    #[test]
    fn sasl_plaintext_listeners_and_mechanisms_map() {
        let m = map_env(&env(&[
            (
                "KAFKA_LISTENERS",
                "INTERNAL://:29092,EXTERNAL://127.0.0.1:9092",
            ),
            (
                "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
                "INTERNAL:PLAINTEXT,EXTERNAL:SASL_PLAINTEXT",
            ),
            ("KAFKA_SASL_ENABLED_MECHANISMS", "SCRAM-SHA-512"),
            (
                "KAFKA_LISTENER_NAME_EXTERNAL_PLAIN_SASL_JAAS_CONFIG",
                "org.apache.kafka.common.security.plain.PlainLoginModule required;",
            ),
        ]))
        .expect("maps");
        assert_eq!(
            rill(&m, "RILL_LISTEN").as_deref(),
            Some("INTERNAL://0.0.0.0:29092,EXTERNAL://127.0.0.1:9092")
        );
        assert_eq!(
            rill(&m, "RILL_LISTENER_SECURITY_PROTOCOL_MAP").as_deref(),
            Some("INTERNAL:PLAINTEXT,EXTERNAL:SASL_PLAINTEXT")
        );
        assert_eq!(
            rill(&m, "RILL_SASL_MECHANISMS").as_deref(),
            Some("SCRAM-SHA-512")
        );
        assert!(
            m.notes.iter().any(|n| n.contains("--users-file")),
            "{:?}",
            m.notes
        );
        // SASL_PLAINTEXT by its own name needs no map.
        let m = map_env(&env(&[(
            "KAFKA_LISTENERS",
            "SASL_PLAINTEXT://127.0.0.1:9093",
        )]))
        .expect("maps");
        assert_eq!(
            rill(&m, "RILL_LISTEN").as_deref(),
            Some("SASL_PLAINTEXT://127.0.0.1:9093")
        );
        assert_eq!(rill(&m, "RILL_LISTENER_SECURITY_PROTOCOL_MAP"), None);
    }

    #[test]
    fn authorizer_and_super_users_map() {
        let m = map_env(&env(&[
            (
                "KAFKA_AUTHORIZER_CLASS_NAME",
                "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            ),
            ("KAFKA_SUPER_USERS", "User:admin;User:ops"),
        ]))
        .expect("maps");
        assert_eq!(rill(&m, "RILL_AUTHORIZER").as_deref(), Some("acl"));
        assert_eq!(
            rill(&m, "RILL_SUPER_USERS").as_deref(),
            Some("User:admin;User:ops")
        );
        let m = map_env(&env(&[(
            "KAFKA_AUTHORIZER_CLASS_NAME",
            "kafka.security.authorizer.AclAuthorizer",
        )]))
        .expect("maps");
        assert_eq!(rill(&m, "RILL_AUTHORIZER").as_deref(), Some("acl"));
        let e = map_env(&env(&[(
            "KAFKA_AUTHORIZER_CLASS_NAME",
            "com.example.MyAuthorizer",
        )]))
        .unwrap_err();
        assert!(e.to_string().contains("KAFKA_AUTHORIZER_CLASS_NAME"), "{e}");
    }

    #[test]
    fn allow_everyone_if_no_acl_found_maps_to_its_flag() {
        for (value, want) in [("true", "true"), ("TRUE", "true"), (" false ", "false")] {
            let m =
                map_env(&env(&[("KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND", value)])).expect("maps");
            assert_eq!(
                rill(&m, "RILL_ALLOW_EVERYONE_IF_NO_ACL_FOUND").as_deref(),
                Some(want),
                "{value:?}"
            );
            assert!(!m
                .ignored
                .contains(&"KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND".to_string()));
        }
        let e = map_env(&env(&[("KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND", "yes")])).unwrap_err();
        assert!(
            e.to_string()
                .contains("KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"),
            "{e}"
        );
        // --broker-config points at the flag, as for the other flag-backed names.
        let e = parse_broker_config("allow.everyone.if.no.acl.found=true").unwrap_err();
        assert!(e.contains("RILL_ALLOW_EVERYONE_IF_NO_ACL_FOUND"), "{e}");
    }

    #[test]
    fn bad_and_unsupported_listeners_are_errors_naming_the_variable() {
        for (value, needle) in [
            ("localhost:9092", "NAME://host:port"),
            ("PLAINTEXT://localhost", "no port"),
            ("PLAINTEXT://localhost:99999", "no valid port"),
            ("FOO://localhost:9093", "no security protocol"),
        ] {
            let err = map_env(&env(&[("KAFKA_LISTENERS", value)])).expect_err(value);
            let text = err.to_string();
            assert!(text.starts_with("KAFKA_LISTENERS="), "{text}");
            assert!(text.contains(needle), "{value}: {text}");
        }
    }

    #[test]
    fn tls_listeners_and_pem_stores_map_and_other_stores_are_errors() {
        let m = map_env(&env(&[
            (
                "KAFKA_LISTENERS",
                "SSL://127.0.0.1:9093,SASL_SSL://127.0.0.1:9094",
            ),
            ("KAFKA_SSL_KEYSTORE_TYPE", "PEM"),
            ("KAFKA_SSL_KEYSTORE_LOCATION", "/certs/broker.pem"),
            ("KAFKA_SSL_TRUSTSTORE_TYPE", "pem"),
            ("KAFKA_SSL_TRUSTSTORE_LOCATION", "/certs/ca.pem"),
            ("KAFKA_SSL_CLIENT_AUTH", "requested"),
            ("KAFKA_SSL_KEY_PASSWORD", "secret"),
        ]))
        .expect("maps");
        assert_eq!(
            rill(&m, "RILL_LISTEN").as_deref(),
            Some("SSL://127.0.0.1:9093,SASL_SSL://127.0.0.1:9094")
        );
        assert_eq!(
            rill(&m, "RILL_TLS_CERT").as_deref(),
            Some("/certs/broker.pem")
        );
        assert_eq!(
            rill(&m, "RILL_TLS_KEY").as_deref(),
            Some("/certs/broker.pem")
        );
        assert_eq!(
            rill(&m, "RILL_TLS_CLIENT_CA").as_deref(),
            Some("/certs/ca.pem")
        );
        assert_eq!(
            rill(&m, "RILL_TLS_CLIENT_AUTH").as_deref(),
            Some("requested")
        );
        assert!(m.ignored.contains(&"KAFKA_SSL_KEY_PASSWORD".to_string()));
        assert!(m.unknown.is_empty(), "{:?}", m.unknown);
        for (vars, needle) in [
            (
                vec![("KAFKA_SSL_KEYSTORE_LOCATION", "/certs/broker.jks")],
                "RILL_TLS_CERT and RILL_TLS_KEY",
            ),
            (
                vec![
                    ("KAFKA_SSL_TRUSTSTORE_TYPE", "PKCS12"),
                    ("KAFKA_SSL_TRUSTSTORE_LOCATION", "/certs/ca.p12"),
                ],
                "RILL_TLS_CLIENT_CA",
            ),
            (
                vec![("KAFKA_SSL_KEYSTORE_KEY", "-----BEGIN PRIVATE KEY-----")],
                "inline PEM",
            ),
            (vec![("KAFKA_SSL_CLIENT_AUTH", "always")], "required"),
        ] {
            let err = map_env(&env(&vars)).expect_err(needle).to_string();
            assert!(err.contains(needle), "{err}");
            assert!(!err.contains("BEGIN PRIVATE KEY"), "{err}");
        }
    }

    #[test]
    fn configs_are_sorted_into_flags_broker_configs_ignored_and_unknown() {
        let m = map_env(&env(&[
            ("KAFKA_LOG_DIRS", "/data/a,/data/b"),
            ("KAFKA_LOG_SEGMENT_BYTES", "1048576"),
            ("KAFKA_LOG_CLEANUP_POLICY", "compact"),
            ("KAFKA_HEAP_OPTS", "-Xmx1G"),
            ("KAFKA_NUM_NETWORK_THREADS", "3"),
            ("KAFKA_NO_SUCH_THING", "1"),
        ]))
        .expect("maps");
        assert_eq!(rill(&m, "RILL_DATA_DIR").as_deref(), Some("/data/a"));
        assert!(m
            .broker_configs
            .contains(&("log.segment.bytes".into(), "1048576".into())));
        assert!(m
            .broker_configs
            .contains(&("log.cleanup.policy".into(), "compact".into())));
        assert!(m.ignored.contains(&"KAFKA_HEAP_OPTS".to_string()));
        assert!(m.ignored.contains(&"KAFKA_NUM_NETWORK_THREADS".to_string()));
        assert_eq!(m.unknown, vec!["KAFKA_NO_SUCH_THING".to_string()]);
        let err = map_env(&env(&[("KAFKA_LOG_CLEANUP_POLICY", "shred")])).expect_err("bad");
        assert!(
            err.to_string().contains("KAFKA_LOG_CLEANUP_POLICY"),
            "{err}"
        );
    }

    #[test]
    fn broker_config_flag_values() {
        assert_eq!(
            parse_broker_config("log.retention.ms=1000"),
            Ok(("log.retention.ms".into(), "1000".into()))
        );
        assert!(parse_broker_config("log.retention.ms").is_err());
        assert!(parse_broker_config("log.retention.ms=soon").is_err());
        assert!(parse_broker_config("num.partitions=3")
            .expect_err("has a flag")
            .contains("RILL_DEFAULT_PARTITIONS"));
        assert!(parse_broker_config("no.such=1").is_err());
    }
}
