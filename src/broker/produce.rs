//! The produce path as one broker call (validate → append → wake fetches → make durable),
//! and producer ids for idempotent producers.

use std::sync::Mutex;

use bytes::BytesMut;
use thiserror::Error;

use super::{Broker, Topic};
use crate::log::batch::{self, BatchError};
use crate::log::{Appended, LogError};
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
        let header = batch::validate_produce(records, log.config().max_message_bytes)?;
        // The one copy on the produce path: the batch must be mutable to take its offsets.
        let mut bytes = BytesMut::from(records);
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
            log.append(&mut bytes, &header, true)?
        } else {
            log.append(&mut bytes, &header, false)?
        };
        if !appended.duplicate {
            self.data_arrived.notify_waiters();
        }
        if acks != 0 {
            self.flusher
                .durable(&log)
                .await
                .map_err(ProduceError::Flush)?;
        }
        Ok(appended)
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
