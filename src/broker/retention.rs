//! The log lifecycle as broker calls: retention and log-cleaner passes over every
//! partition, DeleteRecords, and the sizes DescribeLogDirs reports.

use std::path::PathBuf;

use thiserror::Error;

use crate::log::cleaner::{CleanStats, CleanerConfig, MAP_ENTRY_BYTES};
use crate::log::LogError;

use super::Broker;

#[derive(Debug, Error)]
pub enum DeleteRecordsError {
    #[error("This server does not host this topic-partition.")]
    UnknownTopicOrPartition,
    /// POLICY_VIOLATION: records of a compact-only topic cannot be deleted.
    #[error("Records of partition {0} can not be deleted due to the configured policy")]
    Policy(String),
    #[error(transparent)]
    Log(#[from] LogError),
}

/// What one retention pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionStats {
    pub partitions: usize,
    pub segments: usize,
    pub bytes: u64,
}

/// The data directory's partitions and disk space (DescribeLogDirs).
#[derive(Debug, Clone)]
pub struct LogDirUsage {
    pub path: PathBuf,
    pub total_bytes: i64,
    pub usable_bytes: i64,
}

fn policy_has(policy: Option<&String>, what: &str) -> bool {
    policy.is_some_and(|p| p.split(',').any(|x| x.trim() == what))
}

fn num(v: Option<&String>, fallback: i64) -> i64 {
    v.and_then(|v| v.trim().parse().ok()).unwrap_or(fallback)
}

impl Broker {
    /// DeleteRecords for one partition: moves its log start offset up to `offset` (-1:
    /// the high watermark). Returns the new low watermark.
    pub fn delete_records(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
    ) -> Result<i64, DeleteRecordsError> {
        let t = self
            .topic(topic)
            .ok_or(DeleteRecordsError::UnknownTopicOrPartition)?;
        let log = t
            .partition(partition)
            .ok_or(DeleteRecordsError::UnknownTopicOrPartition)?;
        let eff = self.topic_effective(&t.configs());
        if !policy_has(eff.get("cleanup.policy"), "delete") {
            return Err(DeleteRecordsError::Policy(format!("{topic}-{partition}")));
        }
        let start = log.delete_records(offset)?;
        tracing::info!(topic, partition, log_start = start, "deleted records");
        Ok(start)
    }

    /// One retention pass: every partition of a topic whose `cleanup.policy` includes
    /// `delete` drops the segments past `retention.ms` or beyond `retention.bytes`.
    /// Blocking (file deletions); run it off the async threads.
    pub fn retention_pass(&self, now_ms: i64) -> RetentionStats {
        let mut stats = RetentionStats::default();
        for t in self.topics() {
            let eff = self.topic_effective(&t.configs());
            if !policy_has(eff.get("cleanup.policy"), "delete") {
                continue;
            }
            let ms = num(eff.get("retention.ms"), -1);
            let bytes = num(eff.get("retention.bytes"), -1);
            if ms < 0 && bytes < 0 {
                continue;
            }
            for (i, p) in t.partitions().iter().enumerate() {
                match p.apply_retention(now_ms, ms, bytes) {
                    Ok(r) if r.segments > 0 => {
                        tracing::debug!(topic = %t.name, partition = i, segments = r.segments, bytes = r.bytes, log_start = r.log_start, "retention deleted segments");
                        stats.partitions += 1;
                        stats.segments += r.segments;
                        stats.bytes += r.bytes;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(topic = %t.name, partition = i, error = %e, "retention failed")
                    }
                }
            }
        }
        self.metrics.retention_passes.increment(1);
        self.metrics
            .retention_segments
            .increment(stats.segments as u64);
        self.metrics.retention_bytes.increment(stats.bytes);
        if stats.segments > 0 {
            tracing::info!(
                partitions = stats.partitions,
                segments = stats.segments,
                bytes = stats.bytes,
                "retention deleted old segments"
            );
        }
        stats
    }

    /// `log.cleaner.backoff.ms` as it is now (the flag, or a dynamic override).
    pub fn cleaner_backoff_ms(&self) -> u64 {
        self.broker_layers()
            .broker_number("log.cleaner.backoff.ms")
            .map_or(self.config.log_cleaner_backoff_ms, |n| n.max(1) as u64)
    }

    /// The log directory and its file system's size and free space.
    pub fn log_dir_usage(&self) -> LogDirUsage {
        let path = self.config.data_dir.join("logs");
        let (total_bytes, usable_bytes) = match rustix::fs::statvfs(&path) {
            Ok(s) => (
                (s.f_blocks.saturating_mul(s.f_frsize)) as i64,
                (s.f_bavail.saturating_mul(s.f_frsize)) as i64,
            ),
            Err(_) => (-1, -1),
        };
        LogDirUsage {
            path,
            total_bytes,
            usable_bytes,
        }
    }
}

/// What one cleaner pass did over every compacted partition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanerTotals {
    pub partitions: usize,
    pub stats: CleanStats,
}

impl Broker {
    /// One log-cleaner pass: compacts every partition of a topic whose `cleanup.policy`
    /// includes `compact` and that is due (see `log/cleaner.rs`). Blocking; run it off the
    /// async threads.
    pub fn cleaner_pass(&self, now_ms: i64) -> CleanerTotals {
        let mut totals = CleanerTotals::default();
        // `log.cleaner.dedupe.buffer.size` may be changed at run time (AlterConfigs).
        let dedupe_bytes = self
            .broker_layers()
            .broker_number("log.cleaner.dedupe.buffer.size")
            .map_or(self.config.log_cleaner_dedupe_buffer_size, |n| {
                n.max(1024) as usize
            });
        for t in self.topics() {
            let eff = self.topic_effective(&t.configs());
            if !policy_has(eff.get("cleanup.policy"), "compact") {
                continue;
            }
            let cc = CleanerConfig {
                min_dirty_ratio: eff
                    .get("min.cleanable.dirty.ratio")
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0.5),
                min_lag_ms: num(eff.get("min.compaction.lag.ms"), 0),
                max_lag_ms: num(eff.get("max.compaction.lag.ms"), i64::MAX),
                delete_retention_ms: num(eff.get("delete.retention.ms"), 86_400_000),
                map_entries: (dedupe_bytes / MAP_ENTRY_BYTES).max(1),
            };
            for (i, p) in t.partitions().iter().enumerate() {
                let started = std::time::Instant::now();
                match p.clean(now_ms, &cc) {
                    Ok(Some(s)) => {
                        let secs = started.elapsed().as_secs_f64();
                        tracing::info!(
                            topic = %t.name,
                            partition = i,
                            segments_in = s.segments_in,
                            segments_out = s.segments_out,
                            bytes_read = s.bytes_read,
                            bytes_written = s.bytes_written,
                            records_removed = s.records_removed,
                            map_full = s.map_full,
                            mb_per_s = s.bytes_read as f64 / 1e6 / secs.max(1e-9),
                            "compacted partition"
                        );
                        totals.partitions += 1;
                        totals.stats.segments_in += s.segments_in;
                        totals.stats.segments_out += s.segments_out;
                        totals.stats.bytes_read += s.bytes_read;
                        totals.stats.bytes_written += s.bytes_written;
                        totals.stats.records_removed += s.records_removed;
                        totals.stats.map_full |= s.map_full;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(topic = %t.name, partition = i, error = %e, "compaction failed")
                    }
                }
            }
        }
        let m = &self.metrics;
        m.cleaner_passes.increment(1);
        m.cleaner_partitions.increment(totals.partitions as u64);
        m.cleaner_bytes_read.increment(totals.stats.bytes_read);
        m.cleaner_bytes_reclaimed.increment(
            totals
                .stats
                .bytes_read
                .saturating_sub(totals.stats.bytes_written),
        );
        m.cleaner_records_removed
            .increment(totals.stats.records_removed);
        totals
    }
}
