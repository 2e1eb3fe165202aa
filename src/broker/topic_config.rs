//! Topic-level configs: Kafka's names, validation and defaults, and the subset the log
//! engine enforces.

use std::collections::BTreeMap;

use crate::log::LogConfig;

/// Every topic config name Kafka 4.x accepts, with its default value.
/// Rill stores all of them; which ones it enforces is listed in README.md.
pub const TOPIC_CONFIG_DEFAULTS: &[(&str, &str)] = &[
    ("cleanup.policy", "delete"),
    ("compression.type", "producer"),
    ("delete.retention.ms", "86400000"),
    ("file.delete.delay.ms", "60000"),
    ("flush.messages", "9223372036854775807"),
    ("flush.ms", "9223372036854775807"),
    ("follower.replication.throttled.replicas", ""),
    ("index.interval.bytes", "4096"),
    ("leader.replication.throttled.replicas", ""),
    ("local.retention.bytes", "-2"),
    ("local.retention.ms", "-2"),
    ("max.compaction.lag.ms", "9223372036854775807"),
    ("max.message.bytes", "1048588"),
    ("message.timestamp.after.max.ms", "3600000"),
    ("message.timestamp.before.max.ms", "9223372036854775807"),
    ("message.timestamp.type", "CreateTime"),
    ("min.cleanable.dirty.ratio", "0.5"),
    ("min.compaction.lag.ms", "0"),
    ("min.insync.replicas", "1"),
    ("preallocate", "false"),
    ("remote.log.copy.disable", "false"),
    ("remote.log.delete.on.disable", "false"),
    ("remote.storage.enable", "false"),
    ("retention.bytes", "-1"),
    ("retention.ms", "604800000"),
    ("segment.bytes", "1073741824"),
    ("segment.index.bytes", "10485760"),
    ("segment.jitter.ms", "0"),
    ("segment.ms", "604800000"),
    ("unclean.leader.election.enable", "false"),
];

pub fn default_value(name: &str) -> Option<&'static str> {
    TOPIC_CONFIG_DEFAULTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
}

fn int_at_least(name: &str, v: &str, min: i64) -> Result<i64, String> {
    let n: i64 = v.trim().parse().map_err(|_| {
        format!("Invalid value {v} for configuration {name}: Not a number of type LONG")
    })?;
    if n < min {
        return Err(format!(
            "Invalid value {v} for configuration {name}: Value must be at least {min}"
        ));
    }
    Ok(n)
}

/// Checks one config name/value as Kafka would (INVALID_CONFIG on failure).
pub fn validate(name: &str, value: &str) -> Result<(), String> {
    if default_value(name).is_none() {
        return Err(format!("Unknown topic config name: {name}"));
    }
    let ok_enum = |allowed: &[&str]| -> Result<(), String> {
        if allowed.contains(&value.trim()) {
            Ok(())
        } else {
            Err(format!(
                "Invalid value {value} for configuration {name}: String must be one of: {}",
                allowed.join(", ")
            ))
        }
    };
    match name {
        "cleanup.policy" => {
            for p in value.split(',') {
                if !["delete", "compact"].contains(&p.trim()) {
                    return Err(format!(
                        "Invalid value {value} for configuration {name}: String must be one of: delete, compact"
                    ));
                }
            }
            Ok(())
        }
        "compression.type" => {
            ok_enum(&["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"])
        }
        "message.timestamp.type" => ok_enum(&["CreateTime", "LogAppendTime"]),
        "preallocate"
        | "remote.storage.enable"
        | "unclean.leader.election.enable"
        | "remote.log.copy.disable"
        | "remote.log.delete.on.disable" => ok_enum(&["true", "false"]),
        "min.cleanable.dirty.ratio" => value
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|r| (0.0..=1.0).contains(r))
            .map(|_| ())
            .ok_or_else(|| format!("Invalid value {value} for configuration {name}")),
        "follower.replication.throttled.replicas" | "leader.replication.throttled.replicas" => {
            Ok(())
        }
        // Kafka's minimum is 1 MiB; Rill allows small segments for tests.
        "segment.bytes" => int_at_least(name, value, 1024).map(|_| ()),
        "segment.index.bytes" => int_at_least(name, value, 64).map(|_| ()),
        "max.message.bytes" | "index.interval.bytes" => int_at_least(name, value, 0).map(|_| ()),
        "segment.ms" | "min.insync.replicas" => int_at_least(name, value, 1).map(|_| ()),
        _ => int_at_least(name, value, i64::MIN).map(|_| ()),
    }
}

/// Value of `name` for a topic: its own setting, else Kafka's default.
pub fn effective<'a>(configs: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    configs
        .get(name)
        .map(String::as_str)
        .or_else(|| default_value(name))
}

/// The log settings for a topic with these configs.
pub fn log_config(configs: &BTreeMap<String, String>) -> LogConfig {
    let d = LogConfig::default();
    let num = |name: &str, fallback: i64| -> i64 {
        effective(configs, name)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(fallback)
    };
    LogConfig {
        segment_bytes: num("segment.bytes", d.segment_bytes as i64).max(1024) as u64,
        segment_ms: num("segment.ms", d.segment_ms).max(1),
        index_interval_bytes: num("index.interval.bytes", d.index_interval_bytes as i64).max(0)
            as u64,
        segment_index_bytes: num("segment.index.bytes", d.segment_index_bytes as i64).max(64)
            as usize,
        max_message_bytes: num("max.message.bytes", d.max_message_bytes as i64).max(0) as usize,
        log_append_time: effective(configs, "message.timestamp.type") == Some("LogAppendTime"),
        writeback_bytes: d.writeback_bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_follows_kafka_names() {
        assert!(validate("max.message.bytes", "2097152").is_ok());
        assert!(validate("max.message.bytes", "lots").is_err());
        assert!(validate("no.such.config", "1").is_err());
        assert!(validate("cleanup.policy", "compact,delete").is_ok());
        assert!(validate("cleanup.policy", "shred").is_err());
        assert!(validate("message.timestamp.type", "LogAppendTime").is_ok());
    }

    #[test]
    fn log_config_from_topic_configs() {
        let c = BTreeMap::from([
            ("segment.bytes".to_string(), "4096".to_string()),
            (
                "message.timestamp.type".to_string(),
                "LogAppendTime".to_string(),
            ),
        ]);
        let l = log_config(&c);
        assert_eq!(l.segment_bytes, 4096);
        assert!(l.log_append_time);
        assert_eq!(l.max_message_bytes, 1_048_588);
    }
}
