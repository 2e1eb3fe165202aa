//! The transaction coordinator's async face. One read/write lock guards the state
//! machine: requests that change transactions take it for writing and hold it while
//! their markers are written, so a transaction is never seen half-completed; a
//! transactional produce holds it for reading from its check to its append, so no batch
//! can slip in after its transaction's marker.

use std::collections::BTreeMap;
use std::sync::Arc;

use thiserror::Error;
use tokio::sync::{RwLock, RwLockReadGuard};

use super::coordinator::{Completion, End, Init, TxnConfig, TxnCoordinator, TxnError};
use super::COORDINATOR_EPOCH;
use crate::broker::Broker;
use crate::log::{now_ms, PartitionLog};
use crate::meta::{CommittedOffset, GroupOffset, MetaError, TxnRecord};

#[derive(Debug, Error)]
pub enum TxnFailure {
    #[error(transparent)]
    Txn(#[from] TxnError),
    #[error(transparent)]
    Store(#[from] MetaError),
    #[error("fsync failed: {0}")]
    Flush(String),
}

pub struct TxnService {
    coord: RwLock<TxnCoordinator>,
    /// Completions left by a crash between prepare and complete, finished at start.
    recovered: std::sync::Mutex<Vec<Completion>>,
}

impl TxnService {
    pub fn new(config: TxnConfig, records: Vec<TxnRecord>) -> TxnService {
        let (coord, pending) = TxnCoordinator::new(config, records);
        TxnService {
            coord: RwLock::new(coord),
            recovered: std::sync::Mutex::new(pending),
        }
    }

    /// Read access, for checks and descriptions (and held across a transactional append).
    pub async fn read(&self) -> RwLockReadGuard<'_, TxnCoordinator> {
        self.coord.read().await
    }

    /// Finishes the transactions a crash left prepared (called once the topics are open,
    /// before the broker serves).
    pub fn recover(&self, broker: &Broker) -> Result<(), TxnFailure> {
        let pending =
            std::mem::take(&mut *self.recovered.lock().unwrap_or_else(|p| p.into_inner()));
        let Ok(mut coord) = self.coord.try_write() else {
            return Ok(()); // unreachable: nothing else runs yet
        };
        for c in pending {
            tracing::info!(transactional_id = %c.transactional_id, commit = c.commit, "completing transaction prepared before a crash");
            for log in write_completion(broker, &c)? {
                log.flush().map_err(|e| TxnFailure::Flush(e.to_string()))?;
            }
            if let Some(r) = coord.complete(now_ms(), &c.transactional_id) {
                broker.meta().put_transaction(&r)?;
            }
        }
        Ok(())
    }

    /// InitProducerId for a transactional id: fences an older producer (aborting its
    /// open transaction first) and returns the producer id and epoch to use.
    pub async fn init_producer_id(
        &self,
        broker: &Broker,
        transactional_id: &str,
        timeout_ms: i32,
        expected: Option<(i64, i16)>,
    ) -> Result<(i64, i16), TxnFailure> {
        let mut coord = self.coord.write().await;
        loop {
            let step = with_fresh_pids(broker, |fresh| {
                coord.init_producer_id(now_ms(), transactional_id, timeout_ms, expected, fresh)
            })?;
            match step? {
                Init::Ready {
                    producer_id,
                    epoch,
                    record,
                } => {
                    broker.meta().put_transaction(&record)?;
                    return Ok((producer_id, epoch));
                }
                Init::AbortFirst(c) => {
                    tracing::info!(
                        transactional_id,
                        producer_id = c.producer_id,
                        "fencing the previous producer: aborting its transaction"
                    );
                    if let Some(r) = coord.get(transactional_id) {
                        broker.meta().put_transaction(r)?;
                    }
                    finish(&mut coord, broker, &c).await?;
                }
            }
        }
    }

    pub async fn add_partitions(
        &self,
        broker: &Broker,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        partitions: &[(String, i32)],
    ) -> Result<(), TxnFailure> {
        let mut coord = self.coord.write().await;
        if let Some(r) =
            coord.add_partitions(now_ms(), transactional_id, producer_id, epoch, partitions)?
        {
            broker.meta().put_transaction(&r)?;
        }
        Ok(())
    }

    pub async fn add_offsets(
        &self,
        broker: &Broker,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        group: &str,
    ) -> Result<(), TxnFailure> {
        let mut coord = self.coord.write().await;
        if let Some(r) = coord.add_offsets(now_ms(), transactional_id, producer_id, epoch, group)? {
            broker.meta().put_transaction(&r)?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn stage_offsets(
        &self,
        broker: &Broker,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        group: &str,
        offsets: Vec<(String, i32, CommittedOffset)>,
        implicit_add: bool,
    ) -> Result<(), TxnFailure> {
        let mut coord = self.coord.write().await;
        let r = coord.stage_offsets(
            now_ms(),
            transactional_id,
            producer_id,
            epoch,
            group,
            offsets,
            implicit_add,
        )?;
        broker.meta().put_transaction(&r)?;
        Ok(())
    }

    /// EndTxn: writes the markers and, on commit, applies the staged offsets before it
    /// answers (Rill's partitions are all local, so nothing is left to do afterwards).
    /// Returns the producer id and epoch to use next (bumped under Transactions V2).
    pub async fn end_txn(
        &self,
        broker: &Broker,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        commit: bool,
        tv2: bool,
    ) -> Result<(i64, i16), TxnFailure> {
        let mut coord = self.coord.write().await;
        let step = with_fresh_pids(broker, |fresh| {
            coord.end_txn(
                now_ms(),
                transactional_id,
                producer_id,
                epoch,
                commit,
                tv2,
                fresh,
            )
        })?;
        match step? {
            End::AlreadyDone { producer_id, epoch } => Ok((producer_id, epoch)),
            End::Prepare(record, c) => {
                broker.meta().put_transaction(&record)?;
                finish(&mut coord, broker, &c).await?;
                Ok((record.producer_id, record.epoch))
            }
        }
    }

    /// A transactional Produce v12+ (Transactions V2) adds its partition to the open
    /// transaction itself.
    pub async fn add_partition_implicitly(
        &self,
        broker: &Broker,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        partition: (String, i32),
    ) -> Result<(), TxnFailure> {
        self.add_partitions(broker, transactional_id, producer_id, epoch, &[partition])
            .await
    }

    /// Aborts transactions that outlived their timeout (the producers are fenced).
    /// Returns how many.
    pub async fn abort_timed_out(&self, broker: &Broker) -> Result<usize, TxnFailure> {
        let mut coord = self.coord.write().await;
        let expired = coord.expire(now_ms());
        let n = expired.len();
        for (record, c) in expired {
            tracing::info!(transactional_id = %c.transactional_id, producer_id = c.producer_id, "aborting a transaction that exceeded its timeout");
            broker.meta().put_transaction(&record)?;
            finish(&mut coord, broker, &c).await?;
        }
        Ok(n)
    }
}

/// Runs a coordinator step that may need new producer ids, taking them from the broker;
/// a failure to reserve one (the metadata store) fails the whole step.
fn with_fresh_pids<T>(
    broker: &Broker,
    step: impl FnOnce(&mut dyn FnMut() -> i64) -> T,
) -> Result<T, TxnFailure> {
    let mut failed = None;
    let out = step(&mut || match broker.new_producer_id() {
        Ok(id) => id,
        Err(e) => {
            failed = Some(e);
            -1
        }
    });
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(out),
    }
}

/// Writes a completion's markers and offsets, waits until they are durable under the
/// fsync policy, then marks the transaction complete.
async fn finish(
    coord: &mut TxnCoordinator,
    broker: &Broker,
    c: &Completion,
) -> Result<(), TxnFailure> {
    for log in write_completion(broker, c)? {
        broker
            .flusher
            .durable(&log)
            .await
            .map_err(TxnFailure::Flush)?;
    }
    if let Some(r) = coord.complete(now_ms(), &c.transactional_id) {
        broker.meta().put_transaction(&r)?;
    }
    Ok(())
}

/// Writes the markers of a completion to its partitions and, for a commit, stores its
/// offsets in their groups. Returns the logs written to.
fn write_completion(broker: &Broker, c: &Completion) -> Result<Vec<Arc<PartitionLog>>, TxnFailure> {
    let mut logs = Vec::with_capacity(c.partitions.len());
    for (topic, p) in &c.partitions {
        let Some(log) = broker.topic(topic).and_then(|t| t.partition(*p)) else {
            continue; // deleted since it was added
        };
        match log.append_marker(c.producer_id, c.epoch, COORDINATOR_EPOCH, c.commit) {
            Ok(_) => logs.push(log),
            Err(e) => {
                tracing::warn!(topic, partition = p, producer_id = c.producer_id, error = %e, "transaction marker not written")
            }
        }
    }
    if c.commit {
        let mut by_group: BTreeMap<&str, Vec<GroupOffset>> = BTreeMap::new();
        for (g, t, p, o) in &c.offsets {
            by_group
                .entry(g)
                .or_default()
                .push((t.clone(), *p, o.clone()));
        }
        for (g, offsets) in by_group {
            broker.commit_offsets(g, &offsets)?;
        }
    }
    broker.data_arrived.notify_waiters();
    Ok(logs)
}
