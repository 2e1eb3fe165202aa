//! The produce path as one broker call (validate → append → wake fetches → make durable),
//! and producer ids for idempotent producers.

use std::borrow::Cow;
use std::sync::Mutex;

use thiserror::Error;

use super::{Broker, Topic};
use crate::log::batch::{self, BatchError, BatchHeader};
use crate::log::{Appended, LogConfig, LogError};
use crate::meta::MetaError;
use crate::txn::{TxnError, TxnFailure};

/// Why a partition's produce failed; `handlers::errors` maps each to a Kafka code.
#[derive(Debug, Error)]
pub enum ProduceError {
    #[error("This server does not host this topic-partition.")]
    UnknownTopicOrPartition,
    #[error("produce request has no records")]
    NoRecords,
    #[error(transparent)]
    Batch(#[from] BatchError),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error("fsync failed: {0}")]
    Flush(String),
    #[error(transparent)]
    Txn(#[from] TxnError),
    /// Some records break a topic rule; `records` are (index in batch, why).
    #[error("One or more records have been rejected due to {} record errors in total, and only showing the first three errors at most: {}", .records.len(), .records.iter().take(3).map(|(i, m)| format!("(batchIndex={i}, message='{m}')")).collect::<Vec<_>>().join(", "))]
    Records {
        problem: RecordProblem,
        records: Vec<(i32, String)>,
    },
}

/// Which rule records broke (INVALID_RECORD or INVALID_TIMESTAMP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordProblem {
    /// A keyless record on a compacted topic.
    MissingKey,
    /// A CreateTime timestamp outside `message.timestamp.{before,after}.max.ms`.
    Timestamp,
}

/// Checks the records of a batch against the topic's record rules: keys on compacted
/// topics, CreateTime timestamps within bounds. The header alone settles the common case;
/// records are read (decompressed, bounded) only for compacted topics or a suspect batch.
pub fn check_records(
    cfg: &LogConfig,
    batch: &[u8],
    h: &batch::BatchHeader,
    now: i64,
    topic: &str,
    partition: i32,
) -> Result<(), ProduceError> {
    let ts_rules = !cfg.log_append_time && !h.is_log_append_time();
    let lo = now.saturating_sub(cfg.timestamp_before_max_ms);
    let hi = now.saturating_add(cfg.timestamp_after_max_ms);
    let suspect_ts = ts_rules && (h.base_timestamp < lo || h.max_timestamp > hi);
    if !cfg.compact && !suspect_ts {
        return Ok(());
    }
    let metas = batch::record_metas(batch).ok_or(BatchError::BadLength(h.batch_length))?;
    let mut bad = Vec::new();
    let mut problem = RecordProblem::MissingKey;
    for (i, r) in metas.iter().enumerate() {
        if cfg.compact && r.key_len < 0 {
            bad.push((i as i32, format!("Compacted topic cannot accept message without key in topic partition {topic}-{partition}.")));
        } else if ts_rules && (r.timestamp < lo || r.timestamp > hi) {
            problem = RecordProblem::Timestamp;
            bad.push((i as i32, format!("Timestamp {} of message with offset {} is out of range. The timestamp should be within [{lo}, {hi}]", r.timestamp, i)));
        }
    }
    if bad.is_empty() {
        return Ok(());
    }
    if bad.iter().any(|(_, m)| m.starts_with("Compacted")) {
        problem = RecordProblem::MissingKey;
    }
    Err(ProduceError::Records {
        problem,
        records: bad,
    })
}

/// Validates a client's record set for the log with config `cfg`: one batch, the topic's
/// record rules, and re-encoding when the topic's compression.type asks for it. The
/// batch is borrowed as it arrived otherwise: the log writes it from there.
pub(crate) fn prepare<'a>(
    cfg: &LogConfig,
    records: &'a [u8],
    topic: &str,
    partition: i32,
) -> Result<(Cow<'a, [u8]>, BatchHeader), ProduceError> {
    let header = batch::validate_produce(records, cfg.max_message_bytes)?;
    check_records(
        cfg,
        records,
        &header,
        crate::log::now_ms(),
        topic,
        partition,
    )?;
    match cfg.compression {
        Some((codec, level)) if codec != header.compression() => {
            let b = batch::recompress(records, codec, level)?;
            let h = batch::validate_batch(&b)?;
            Ok((Cow::Owned(b), h))
        }
        _ => Ok((Cow::Borrowed(records), header)),
    }
}

/// How many producer ids are reserved in the metadata store at a time.
const PRODUCER_ID_BLOCK: i64 = 1000;

/// Hands out producer ids from blocks reserved durably in the metadata store.
#[derive(Default)]
pub(crate) struct ProducerIds {
    /// (next id, end of the reserved block)
    block: Mutex<(i64, i64)>,
}

impl Broker {
    /// Appends one partition's record set. With `acks` other than 0, returns only once the
    /// fsync policy says the data is durable. `implicit_txn`: the transactional id of a
    /// Produce v12+ under Transactions V2, whose transactional batches add their partition
    /// to the transaction themselves.
    pub async fn produce(
        &self,
        topic: &Topic,
        partition: i32,
        records: Option<&[u8]>,
        acks: i16,
        implicit_txn: Option<&str>,
    ) -> Result<Appended, ProduceError> {
        let log = topic
            .partition(partition)
            .ok_or(ProduceError::UnknownTopicOrPartition)?;
        let records = records.ok_or(ProduceError::NoRecords)?;
        let (bytes, header) = prepare(&log.config(), records, &topic.name, partition)?;
        let bytes = &bytes[..];
        let appended = if header.is_transactional() && header.has_producer_id() {
            let (pid, epoch) = (header.producer_id, header.producer_epoch);
            if let Some(txn_id) = implicit_txn {
                let added = self
                    .txns
                    .read()
                    .await
                    .verify(pid, epoch, &topic.name, partition);
                if added.is_err() {
                    self.txns
                        .add_partition_implicitly(
                            self,
                            txn_id,
                            pid,
                            epoch,
                            (topic.name.clone(), partition),
                        )
                        .await
                        .map_err(|e| match e {
                            // A produce is never told PRODUCER_FENCED (Kafka 2.7+).
                            TxnFailure::Txn(TxnError::ProducerFenced) => {
                                ProduceError::Txn(TxnError::InvalidProducerEpoch {
                                    epoch,
                                    current: -1,
                                })
                            }
                            TxnFailure::Txn(e) => ProduceError::Txn(e),
                            other => ProduceError::Flush(other.to_string()),
                        })?;
                }
            }
            // Held from the check to the append, so the transaction cannot complete (and
            // write its markers) in between.
            let txns = self.txns.read().await;
            txns.verify(pid, epoch, &topic.name, partition)?;
            log.append(bytes, &header, true)?
        } else {
            log.append(bytes, &header, false)?
        };
        if !appended.duplicate {
            self.data_arrived.notify_waiters();
            let c = self.topic_counters(topic);
            c.bytes_in.increment(bytes.len() as u64);
            c.records_in.increment(header.record_count.max(0) as u64);
        }
        if acks != 0 {
            self.flusher
                .durable(&log)
                .await
                .map_err(ProduceError::Flush)?;
        }
        Ok(appended)
    }

    /// Appends the record sets of several pipelined requests to one partition, in order,
    /// with one write: each gets the result `produce` would give it one after another.
    /// Sets with transactional batches are appended one by one through `produce` (with
    /// the coordinator's checks), in the same order.
    pub async fn produce_many(
        &self,
        topic: &Topic,
        partition: i32,
        sets: &[(Option<&[u8]>, i16)],
    ) -> Vec<Result<Appended, ProduceError>> {
        let Some(log) = topic.partition(partition) else {
            return sets
                .iter()
                .map(|_| Err(ProduceError::UnknownTopicOrPartition))
                .collect();
        };
        let cfg = log.config();
        let prepared: Vec<_> = sets
            .iter()
            .map(|(records, _)| {
                let records = records.ok_or(ProduceError::NoRecords)?;
                prepare(&cfg, records, &topic.name, partition)
            })
            .collect();
        let transactional = prepared
            .iter()
            .flatten()
            .any(|(_, h)| h.is_transactional() && h.has_producer_id());
        if transactional {
            let mut out = Vec::with_capacity(sets.len());
            for (records, acks) in sets {
                out.push(self.produce(topic, partition, *records, *acks, None).await);
            }
            return out;
        }
        let batches: Vec<(&[u8], BatchHeader)> = prepared
            .iter()
            .flatten()
            .map(|(b, h)| (&b[..], *h))
            .collect();
        let mut appended = log.append_many(&batches).into_iter();
        let (mut bytes_in, mut records_in) = (0u64, 0u64);
        let mut out: Vec<Result<Appended, ProduceError>> = prepared
            .into_iter()
            .map(|p| match p {
                Err(e) => Err(e),
                // One result per batch given (append_many's contract).
                Ok((b, h)) => {
                    let r = appended
                        .next()
                        .unwrap_or(Err(LogError::Deleted))
                        .map_err(ProduceError::from);
                    if r.as_ref().is_ok_and(|a| !a.duplicate) {
                        bytes_in += b.len() as u64;
                        records_in += h.record_count.max(0) as u64;
                    }
                    r
                }
            })
            .collect();
        if bytes_in > 0 {
            let c = self.topic_counters(topic);
            c.bytes_in.increment(bytes_in);
            c.records_in.increment(records_in);
        }
        if out.iter().flatten().any(|a| !a.duplicate) {
            self.data_arrived.notify_waiters();
        }
        let acked = sets
            .iter()
            .zip(&out)
            .any(|((_, acks), r)| *acks != 0 && r.is_ok());
        if acked {
            if let Err(e) = self.flusher.durable(&log).await {
                for r in out.iter_mut().filter(|r| r.is_ok()) {
                    *r = Err(ProduceError::Flush(e.clone()));
                }
            }
        }
        out
    }

    /// A fresh producer id (InitProducerId without a transactional id), epoch 0.
    pub fn new_producer_id(&self) -> Result<i64, MetaError> {
        let mut b = self
            .producer_ids
            .block
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if b.0 >= b.1 {
            let first = self.meta.allocate_producer_ids(PRODUCER_ID_BLOCK)?;
            *b = (first, first + PRODUCER_ID_BLOCK);
        }
        let id = b.0;
        b.0 += 1;
        Ok(id)
    }

    /// Forgets idle producers in every partition (`producer.id.expiration.ms`).
    pub fn expire_producers(&self, now_ms: i64) -> usize {
        let ms = self.config.producer_id_expiration_ms;
        self.all_partitions()
            .iter()
            .map(|p| p.expire_producers(now_ms, ms))
            .sum()
    }
}

/// Kafka's murmur2 (`Utils.murmur2`), as its default partitioner hashes keys.
pub fn murmur2(data: &[u8]) -> i32 {
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= (rest[2] as u32) << 16;
    }
    if rest.len() >= 2 {
        h ^= (rest[1] as u32) << 8;
    }
    if !rest.is_empty() {
        h ^= rest[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition Kafka's default partitioner picks for a key among `count` partitions.
pub fn key_partition(key: &[u8], count: i32) -> i32 {
    (murmur2(key) & 0x7fff_ffff) % count.max(1)
}
