//! The log lifecycle as broker calls: retention passes over every partition, DeleteRecords,
//! and the sizes DescribeLogDirs reports.

use std::path::PathBuf;

use thiserror::Error;

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
