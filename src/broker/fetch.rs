//! The fetch path as one broker call: read every requested partition within the byte
//! limits, and long-poll until `min_bytes` are there, `max_wait` passes, a partition
//! fails, or the broker stops. Appends (and transaction markers) wake the wait.

use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::time::Instant;
use uuid::Uuid;

use super::{Broker, Topic};
use crate::log::{Isolation, LogError, ReadResult};

/// How a fetch names a topic (by id from Fetch v13).
#[derive(Debug, Clone)]
pub enum TopicRef {
    Name(String),
    Id(Uuid),
}

#[derive(Debug, Clone)]
pub struct PartitionSpec {
    pub partition: i32,
    pub offset: i64,
    pub max_bytes: i32,
    pub current_leader_epoch: i32,
}

#[derive(Debug, Clone)]
pub struct FetchSpec {
    pub topics: Vec<(TopicRef, Vec<PartitionSpec>)>,
    pub max_wait: Duration,
    pub min_bytes: usize,
    /// 0 or less: no limit.
    pub max_bytes: i32,
    pub isolation: Isolation,
}

/// Why one partition of a fetch failed; `handlers::errors` maps each to a Kafka code.
#[derive(Debug, Error)]
pub enum FetchError {
    #[error("unknown topic")]
    UnknownTopic,
    #[error("unknown topic id")]
    UnknownTopicId,
    #[error("unknown partition")]
    UnknownPartition,
    #[error("leader epoch {0} is newer than this broker's")]
    UnknownLeaderEpoch(i32),
    #[error("offset out of range [{start}, {end}]")]
    OffsetOutOfRange { start: i64, end: i64 },
    #[error(transparent)]
    Log(LogError),
}

/// Results in the order of the spec: per topic, per partition.
pub type FetchResults = Vec<Vec<Result<ReadResult, FetchError>>>;

impl Broker {
    fn resolve(&self, t: &TopicRef) -> Option<Arc<Topic>> {
        match t {
            TopicRef::Name(n) => self.topic(n),
            TopicRef::Id(id) => self.topic_by_id(*id),
        }
    }

    /// One pass over the requested partitions: the results, the bytes gathered, and
    /// whether any partition failed (which ends the long poll).
    fn gather(&self, spec: &FetchSpec) -> (FetchResults, Vec<Option<Arc<Topic>>>, usize, bool) {
        let mut remaining = if spec.max_bytes <= 0 {
            usize::MAX
        } else {
            spec.max_bytes as usize
        };
        let mut total = 0usize;
        let mut any_error = false;
        let mut out = Vec::with_capacity(spec.topics.len());
        let mut topics = Vec::with_capacity(spec.topics.len());
        for (t, parts) in &spec.topics {
            // Looked up on every pass, so a topic deleted during the wait is reported.
            let topic = self.resolve(t);
            let mut results = Vec::with_capacity(parts.len());
            for p in parts {
                let r = self.read_partition(topic.as_deref(), t, p, remaining, total == 0, spec);
                match &r {
                    Ok(read) => {
                        total += read.records.len();
                        remaining = remaining.saturating_sub(read.records.len());
                    }
                    Err(_) => any_error = true,
                }
                results.push(r);
            }
            out.push(results);
            topics.push(topic);
        }
        (out, topics, total, any_error)
    }

    fn read_partition(
        &self,
        topic: Option<&Topic>,
        t: &TopicRef,
        p: &PartitionSpec,
        remaining: usize,
        first: bool,
        spec: &FetchSpec,
    ) -> Result<ReadResult, FetchError> {
        let unknown = match t {
            TopicRef::Name(_) => FetchError::UnknownTopic,
            TopicRef::Id(_) => FetchError::UnknownTopicId,
        };
        let topic = topic.ok_or(unknown)?;
        let log = topic
            .partition(p.partition)
            .ok_or(FetchError::UnknownPartition)?;
        if p.current_leader_epoch > 0 {
            return Err(FetchError::UnknownLeaderEpoch(p.current_leader_epoch));
        }
        let limit = (p.max_bytes.max(0) as usize).min(remaining);
        // KIP-74: the first batch of the first non-empty partition is returned even when
        // it exceeds the limits, so consumers always make progress.
        match log.read(p.offset, limit, first, spec.isolation) {
            Ok(r) => Ok(r),
            Err(LogError::Deleted) => Err(match t {
                TopicRef::Name(_) => FetchError::UnknownTopic,
                TopicRef::Id(_) => FetchError::UnknownTopicId,
            }),
            Err(LogError::OffsetOutOfRange { .. }) => {
                let (start, end) = log.offsets();
                Err(FetchError::OffsetOutOfRange { start, end })
            }
            Err(e) => {
                tracing::error!(error = %e, "fetch read failed");
                Err(FetchError::Log(e))
            }
        }
    }

    /// Adds what a fetch returns to its topics' `rill_topic_*_out_total` counters.
    fn count_out(&self, topics: &[Option<Arc<Topic>>], results: &FetchResults) {
        for (topic, reads) in topics.iter().zip(results) {
            let Some(topic) = topic else { continue };
            let (mut bytes, mut records) = (0u64, 0u64);
            for read in reads.iter().flatten() {
                bytes += read.records.len() as u64;
                records += read.offsets_spanned.max(0) as u64;
            }
            if bytes > 0 {
                let c = self.topic_counters(topic);
                c.bytes_out.increment(bytes);
                c.records_out.increment(records);
                let relaxed = std::sync::atomic::Ordering::Relaxed;
                c.fetched.bytes.fetch_add(bytes, relaxed);
                c.fetched.records.fetch_add(records, relaxed);
            }
        }
    }

    /// Reads the requested partitions, long-polling as the spec says.
    pub async fn fetch(&self, spec: &FetchSpec) -> FetchResults {
        let deadline = Instant::now() + spec.max_wait;
        loop {
            let notified = self.data_arrived.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (results, topics, total, any_error) = self.gather(spec);
            if total >= spec.min_bytes
                || any_error
                || Instant::now() >= deadline
                || self.is_stopping()
            {
                if total > 0 {
                    self.count_out(&topics, &results);
                }
                return results;
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep_until(deadline) => {}
            }
        }
    }
}
