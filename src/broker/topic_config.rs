//! The subset of topic configs the log engine enforces, read from a topic's effective
//! configs (every name resolved through the broker's layers, see `config/`).

use std::collections::BTreeMap;

use crate::log::LogConfig;

/// The log settings for a topic with these effective configs.
pub fn log_config(effective: &BTreeMap<String, String>) -> LogConfig {
    let d = LogConfig::default();
    let num = |name: &str, fallback: i64| -> i64 {
        effective
            .get(name)
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
        log_append_time: effective.get("message.timestamp.type").map(String::as_str)
            == Some("LogAppendTime"),
        compact: effective
            .get("cleanup.policy")
            .is_some_and(|p| p.split(',').any(|x| x.trim() == "compact")),
        timestamp_before_max_ms: num("message.timestamp.before.max.ms", i64::MAX),
        timestamp_after_max_ms: num("message.timestamp.after.max.ms", 3_600_000),
        compression: compression(effective),
        max_compaction_lag_ms: num("max.compaction.lag.ms", i64::MAX).max(1),
        writeback_bytes: d.writeback_bytes,
    }
}

/// The codec (and level) `compression.type` asks batches to be stored with; None for
/// `producer` (kept as sent).
fn compression(effective: &BTreeMap<String, String>) -> Option<(u8, Option<i32>)> {
    let level = |name: &str| {
        effective
            .get(name)
            .and_then(|v| v.trim().parse::<i32>().ok())
            .filter(|l| *l != -1)
    };
    match effective.get("compression.type").map(|s| s.trim()) {
        Some("uncompressed") => Some((0, None)),
        Some("gzip") => Some((1, level("compression.gzip.level"))),
        Some("snappy") => Some((2, None)),
        Some("lz4") => Some((3, level("compression.lz4.level"))),
        Some("zstd") => Some((4, level("compression.zstd.level"))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BrokerLayers;

    #[test]
    fn log_config_from_topic_configs() {
        let c = BTreeMap::from([
            ("segment.bytes".to_string(), "4096".to_string()),
            (
                "message.timestamp.type".to_string(),
                "LogAppendTime".to_string(),
            ),
        ]);
        let l = log_config(&BrokerLayers::default().topic_effective(&c));
        assert_eq!(l.segment_bytes, 4096);
        assert!(l.log_append_time);
        assert_eq!(l.max_message_bytes, 1_048_588);
    }
}
