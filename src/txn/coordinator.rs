//! The transaction coordinator as a pure state machine: requests in (with the time),
//! decisions out. It does no I/O: the service persists the records it returns, writes
//! the markers a `Completion` asks for, and then calls `complete`.
//!
//! States per transactional id (Kafka's): Empty → Ongoing (first AddPartitions or
//! AddOffsets) → PrepareCommit / PrepareAbort (EndTxn, a fence, a timeout) →
//! CompleteCommit / CompleteAbort (markers written) → Ongoing again with the next
//! transaction.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use thiserror::Error;

use crate::meta::{CommittedOffset, TxnOffset, TxnRecord, TxnState};

/// `transaction.max.timeout.ms` default: 15 minutes.
pub const DEFAULT_MAX_TIMEOUT_MS: i32 = 900_000;

#[derive(Debug, Clone)]
pub struct TxnConfig {
    /// `transaction.max.timeout.ms`
    pub max_timeout_ms: i32,
}

impl Default for TxnConfig {
    fn default() -> Self {
        TxnConfig {
            max_timeout_ms: DEFAULT_MAX_TIMEOUT_MS,
        }
    }
}

/// Why a transactional request was refused; `handlers::errors` maps each to Kafka's code.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum TxnError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error(
        "The transaction timeout {0} ms is larger than transaction.max.timeout.ms or not positive"
    )]
    InvalidTimeout(i32),
    #[error("Another operation on this transaction is in progress")]
    ConcurrentTransactions,
    #[error("There is a newer producer with the same transactional id")]
    ProducerFenced,
    #[error("The producer id is not assigned to transactional id {0}")]
    InvalidProducerIdMapping(String),
    #[error("{0}")]
    InvalidTxnState(String),
    #[error("The producer epoch {epoch} is older than the transaction's {current}")]
    InvalidProducerEpoch { epoch: i16, current: i16 },
    #[error("Transactional id {0} not found")]
    TransactionalIdNotFound(String),
}

/// Work that finishes a transaction: write a marker for (`producer_id`, `epoch`) to each
/// of `partitions`, apply `offsets` to their groups when committing, then `complete`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub transactional_id: String,
    pub producer_id: i64,
    pub epoch: i16,
    pub commit: bool,
    pub partitions: Vec<(String, i32)>,
    pub offsets: Vec<TxnOffset>,
}

/// The outcome of InitProducerId.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Init {
    /// Done: answer with this id and epoch (and persist the record first).
    Ready {
        producer_id: i64,
        epoch: i16,
        record: TxnRecord,
    },
    /// An open transaction must be aborted first (the old producer is fenced); carry
    /// out the completion, then ask again.
    AbortFirst(Completion),
}

/// The outcome of EndTxn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// A retry of an EndTxn that already completed: nothing to do; answer with this
    /// producer id and epoch (Transactions V2 clients take them from the answer).
    AlreadyDone { producer_id: i64, epoch: i16 },
    /// Persist the prepare record, carry out the completion, then `complete`.
    Prepare(Box<TxnRecord>, Completion),
}

/// Filters of ListTransactions.
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    pub states: Vec<TxnState>,
    pub producer_ids: Vec<i64>,
    /// Only transactions open for longer than this (ms); negative: all.
    pub min_duration_ms: i64,
}

pub struct TxnCoordinator {
    config: TxnConfig,
    txns: BTreeMap<String, TxnRecord>,
    /// producer id → transactional id
    by_pid: HashMap<i64, String>,
}

fn exhausted(epoch: i16) -> bool {
    epoch >= i16::MAX - 1
}

impl TxnCoordinator {
    /// Loads stored records. Transactions caught between prepare and complete by a crash
    /// are returned for the service to finish (their markers are written again).
    pub fn new(config: TxnConfig, records: Vec<TxnRecord>) -> (TxnCoordinator, Vec<Completion>) {
        let mut c = TxnCoordinator {
            config,
            txns: BTreeMap::new(),
            by_pid: HashMap::new(),
        };
        let mut pending = Vec::new();
        for r in records {
            if matches!(r.state, TxnState::PrepareCommit | TxnState::PrepareAbort) {
                pending.push(completion(&r, r.state == TxnState::PrepareCommit));
            }
            c.by_pid.insert(r.producer_id, r.transactional_id.clone());
            c.txns.insert(r.transactional_id.clone(), r);
        }
        (c, pending)
    }

    pub fn get(&self, transactional_id: &str) -> Option<&TxnRecord> {
        self.txns.get(transactional_id)
    }

    /// InitProducerId with a transactional id. `expected`: the producer's current id and
    /// epoch (KIP-360, v3+), if it sent them. `fresh_pid` hands out a new producer id.
    pub fn init_producer_id(
        &mut self,
        now: i64,
        transactional_id: &str,
        timeout_ms: i32,
        expected: Option<(i64, i16)>,
        fresh_pid: &mut dyn FnMut() -> i64,
    ) -> Result<Init, TxnError> {
        if transactional_id.is_empty() {
            return Err(TxnError::InvalidRequest(
                "The transactional id must not be empty".into(),
            ));
        }
        if timeout_ms <= 0 || timeout_ms > self.config.max_timeout_ms {
            return Err(TxnError::InvalidTimeout(timeout_ms));
        }
        let Some(r) = self.txns.get_mut(transactional_id) else {
            let pid = fresh_pid();
            let record = TxnRecord {
                transactional_id: transactional_id.to_string(),
                producer_id: pid,
                last_producer_id: -1,
                epoch: 0,
                last_epoch: -1,
                timeout_ms,
                state: TxnState::Empty,
                partitions: BTreeSet::new(),
                groups: BTreeSet::new(),
                pending_offsets: Vec::new(),
                start_ms: -1,
                update_ms: now,
                tv2: false,
                marker: None,
            };
            self.by_pid.insert(pid, transactional_id.to_string());
            self.txns
                .insert(transactional_id.to_string(), record.clone());
            return Ok(Init::Ready {
                producer_id: pid,
                epoch: 0,
                record,
            });
        };
        if let Some((pid, epoch)) = expected {
            // Kafka's rule: fence unless the id is the current one, or the previous one
            // after an epoch ran out (a retry whose answer was lost).
            let valid = pid == r.producer_id || (pid == r.last_producer_id && exhausted(epoch));
            if !valid {
                return Err(TxnError::ProducerFenced);
            }
        }
        match r.state {
            TxnState::PrepareCommit
            | TxnState::PrepareAbort
            | TxnState::PrepareEpochFence
            | TxnState::Dead => Err(TxnError::ConcurrentTransactions),
            TxnState::Ongoing => {
                // Fence the current producer: abort its transaction with a bumped epoch.
                // The epoch the new producer gets is bumped again after that.
                Ok(Init::AbortFirst(fence(r, now)))
            }
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => {
                let expected_epoch = expected.map(|(_, e)| e);
                if exhausted(r.epoch) && expected_epoch.is_none_or(|e| e == r.epoch) {
                    let old = r.producer_id;
                    let pid = fresh_pid();
                    self.by_pid.remove(&old);
                    self.by_pid.insert(pid, transactional_id.to_string());
                    r.last_producer_id = old;
                    r.producer_id = pid;
                    // Remembered so that a retry from the old id is answered the same.
                    r.last_epoch = if expected.is_some() { r.epoch } else { -1 };
                    r.epoch = 0;
                } else {
                    match expected_epoch {
                        None => {
                            r.last_epoch = r.epoch;
                            r.epoch += 1;
                        }
                        Some(e) if e == r.epoch => {
                            r.last_epoch = r.epoch;
                            r.epoch += 1;
                        }
                        // A retry of a bump whose answer was lost: same epoch again.
                        Some(e) if e == r.last_epoch => {}
                        Some(_) => return Err(TxnError::ProducerFenced),
                    }
                }
                r.timeout_ms = timeout_ms;
                r.state = TxnState::Empty;
                r.start_ms = -1;
                r.update_ms = now;
                Ok(Init::Ready {
                    producer_id: r.producer_id,
                    epoch: r.epoch,
                    record: r.clone(),
                })
            }
        }
    }

    /// The transaction of `transactional_id` if `producer_id`/`epoch` own it, in a state
    /// where it may take partitions or offsets.
    fn writable(
        &mut self,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
    ) -> Result<&mut TxnRecord, TxnError> {
        let r = known(&mut self.txns, transactional_id)?;
        if r.producer_id != producer_id {
            return Err(TxnError::InvalidProducerIdMapping(
                transactional_id.to_string(),
            ));
        }
        if r.epoch != epoch {
            return Err(TxnError::ProducerFenced);
        }
        if matches!(
            r.state,
            TxnState::PrepareCommit
                | TxnState::PrepareAbort
                | TxnState::PrepareEpochFence
                | TxnState::Dead
        ) {
            return Err(TxnError::ConcurrentTransactions);
        }
        Ok(r)
    }

    fn begin(r: &mut TxnRecord, now: i64) {
        if r.state != TxnState::Ongoing {
            r.state = TxnState::Ongoing;
            r.start_ms = now;
        }
        r.update_ms = now;
    }

    /// AddPartitionsToTxn. Returns the record to persist, or `None` when every partition
    /// was already in the open transaction.
    pub fn add_partitions(
        &mut self,
        now: i64,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        partitions: &[(String, i32)],
    ) -> Result<Option<TxnRecord>, TxnError> {
        let r = self.writable(transactional_id, producer_id, epoch)?;
        if r.state == TxnState::Ongoing && partitions.iter().all(|p| r.partitions.contains(p)) {
            return Ok(None);
        }
        Self::begin(r, now);
        r.partitions.extend(partitions.iter().cloned());
        Ok(Some(r.clone()))
    }

    /// AddOffsetsToTxn: the group's offsets become part of the transaction.
    pub fn add_offsets(
        &mut self,
        now: i64,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        group: &str,
    ) -> Result<Option<TxnRecord>, TxnError> {
        let r = self.writable(transactional_id, producer_id, epoch)?;
        if r.state == TxnState::Ongoing && r.groups.contains(group) {
            return Ok(None);
        }
        Self::begin(r, now);
        r.groups.insert(group.to_string());
        Ok(Some(r.clone()))
    }

    /// TxnOffsetCommit: stages offsets, applied to the group only if the transaction
    /// commits. The group must have been added with AddOffsetsToTxn, except with
    /// TxnOffsetCommit v5+ (`implicit_add`, Transactions V2), which adds it itself.
    #[allow(clippy::too_many_arguments)]
    pub fn stage_offsets(
        &mut self,
        now: i64,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        group: &str,
        offsets: Vec<(String, i32, CommittedOffset)>,
        implicit_add: bool,
    ) -> Result<TxnRecord, TxnError> {
        let r = self.writable(transactional_id, producer_id, epoch)?;
        if implicit_add && !(r.state == TxnState::Ongoing && r.groups.contains(group)) {
            Self::begin(r, now);
            r.groups.insert(group.to_string());
        }
        if r.state != TxnState::Ongoing || !r.groups.contains(group) {
            return Err(TxnError::InvalidTxnState(format!(
                "Group {group} was not added to the transaction of {transactional_id} (AddOffsetsToTxn)"
            )));
        }
        for (t, p, o) in offsets {
            r.pending_offsets
                .retain(|(g, pt, pp, _)| !(g == group && *pt == t && *pp == p));
            r.pending_offsets.push((group.to_string(), t, p, o));
        }
        r.update_ms = now;
        Ok(r.clone())
    }

    /// EndTxn: commit or abort the open transaction. `tv2`: the request is EndTxn v5+
    /// (Transactions V2): the epoch is bumped by every end (the markers carry the new
    /// epoch, the answer gives it to the producer), a retry is recognised by the previous
    /// epoch, and an abort with nothing open is allowed. `fresh_pid` is called when the
    /// bump runs out of epochs.
    #[allow(clippy::too_many_arguments)]
    pub fn end_txn(
        &mut self,
        now: i64,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        commit: bool,
        tv2: bool,
        fresh_pid: &mut dyn FnMut() -> i64,
    ) -> Result<End, TxnError> {
        let r = known(&mut self.txns, transactional_id)?;
        let done = |r: &TxnRecord| End::AlreadyDone {
            producer_id: r.producer_id,
            epoch: r.epoch,
        };
        let completed_as_asked = (r.state == TxnState::CompleteCommit && commit)
            || (r.state == TxnState::CompleteAbort && !commit);
        if tv2 && completed_as_asked && r.last_epoch >= 0 && epoch == r.last_epoch {
            let same_id = producer_id == r.producer_id
                || (r.last_producer_id >= 0 && producer_id == r.last_producer_id);
            if same_id {
                return Ok(done(r)); // the answer to the first attempt was lost
            }
        }
        if r.producer_id != producer_id {
            return Err(TxnError::InvalidProducerIdMapping(
                transactional_id.to_string(),
            ));
        }
        if r.epoch != epoch {
            return Err(TxnError::ProducerFenced);
        }
        let wrong = |what: &str| {
            Err(TxnError::InvalidTxnState(format!(
                "TransactionalId {transactional_id}: cannot {} a transaction in state {what}",
                if commit { "commit" } else { "abort" }
            )))
        };
        let nothing_open = matches!(
            r.state,
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort
        );
        match r.state {
            TxnState::Ongoing => {}
            // V2: the producer cannot know whether a failed send added a partition, so it
            // may abort with nothing open; the epoch is bumped all the same.
            _ if tv2 && !commit && nothing_open => {}
            TxnState::CompleteCommit if commit && !tv2 => return Ok(done(r)),
            TxnState::CompleteAbort if !commit && !tv2 => return Ok(done(r)),
            TxnState::PrepareCommit if commit => return Err(TxnError::ConcurrentTransactions),
            TxnState::PrepareAbort if !commit => return Err(TxnError::ConcurrentTransactions),
            TxnState::PrepareEpochFence | TxnState::Dead => {
                return Err(TxnError::ConcurrentTransactions)
            }
            s => return wrong(s.name()),
        }
        r.state = if commit {
            TxnState::PrepareCommit
        } else {
            TxnState::PrepareAbort
        };
        r.update_ms = now;
        r.tv2 = tv2;
        if tv2 {
            let marker = (r.producer_id, r.epoch + 1);
            r.last_epoch = r.epoch;
            if exhausted(marker.1) {
                let old = r.producer_id;
                let pid = fresh_pid();
                self.by_pid.remove(&old);
                self.by_pid.insert(pid, transactional_id.to_string());
                r.last_producer_id = old;
                r.producer_id = pid;
                r.epoch = 0;
                r.marker = Some(marker);
            } else {
                r.epoch = marker.1;
            }
        }
        Ok(End::Prepare(Box::new(r.clone()), completion(r, commit)))
    }

    /// The markers of a prepared transaction are written (and, for a commit, its offsets
    /// applied): it becomes CompleteCommit / CompleteAbort. Returns the record to persist.
    pub fn complete(&mut self, now: i64, transactional_id: &str) -> Option<TxnRecord> {
        let r = self.txns.get_mut(transactional_id)?;
        r.state = match r.state {
            TxnState::PrepareCommit => TxnState::CompleteCommit,
            TxnState::PrepareAbort => TxnState::CompleteAbort,
            _ => return None,
        };
        r.partitions.clear();
        r.groups.clear();
        r.pending_offsets.clear();
        r.marker = None;
        // The start time stays: DescribeTransactions reports it for finished ones too.
        r.update_ms = now;
        Some(r.clone())
    }

    /// Open transactions older than their timeout are aborted with a bumped epoch (the
    /// producer is fenced, as Kafka does). Returns (record to persist, completion) each.
    pub fn expire(&mut self, now: i64) -> Vec<(TxnRecord, Completion)> {
        let mut out = Vec::new();
        for r in self.txns.values_mut() {
            if r.state == TxnState::Ongoing && now - r.start_ms > r.timeout_ms as i64 {
                let c = fence(r, now);
                out.push((r.clone(), c));
            }
        }
        out
    }

    /// Whether a transactional batch from `producer_id`/`epoch` may be written to this
    /// partition: its transaction is open and the partition was added to it.
    pub fn verify(
        &self,
        producer_id: i64,
        epoch: i16,
        topic: &str,
        partition: i32,
    ) -> Result<(), TxnError> {
        let r = self
            .by_pid
            .get(&producer_id)
            .and_then(|id| self.txns.get(id))
            .ok_or_else(|| {
                TxnError::InvalidTxnState(format!("Producer {producer_id} has no open transaction"))
            })?;
        if epoch < r.epoch {
            return Err(TxnError::InvalidProducerEpoch {
                epoch,
                current: r.epoch,
            });
        }
        if r.epoch != epoch
            || r.state != TxnState::Ongoing
            || !r.partitions.contains(&(topic.to_string(), partition))
        {
            return Err(TxnError::InvalidTxnState(format!(
                "Partition {topic}-{partition} is not in an open transaction of producer {producer_id} epoch {epoch}"
            )));
        }
        Ok(())
    }

    /// Partitions of `group` with offsets staged by an open transaction.
    pub fn pending_offsets(&self, group: &str) -> BTreeSet<(String, i32)> {
        self.txns
            .values()
            .flat_map(|r| r.pending_offsets.iter())
            .filter(|(g, _, _, _)| g == group)
            .map(|(_, t, p, _)| (t.clone(), *p))
            .collect()
    }

    /// ListTransactions.
    pub fn list(&self, now: i64, f: &ListFilter) -> Vec<&TxnRecord> {
        self.txns
            .values()
            .filter(|r| f.states.is_empty() || f.states.contains(&r.state))
            .filter(|r| f.producer_ids.is_empty() || f.producer_ids.contains(&r.producer_id))
            .filter(|r| {
                f.min_duration_ms < 0
                    || (r.state == TxnState::Ongoing && now - r.start_ms > f.min_duration_ms)
            })
            .collect()
    }
}

/// A transactional id's record; an empty id is a malformed request, an unknown one
/// INVALID_PRODUCER_ID_MAPPING (Kafka's answers).
fn known<'a>(
    txns: &'a mut BTreeMap<String, TxnRecord>,
    transactional_id: &str,
) -> Result<&'a mut TxnRecord, TxnError> {
    if transactional_id.is_empty() {
        return Err(TxnError::InvalidRequest(
            "The transactional id must not be empty".into(),
        ));
    }
    txns.get_mut(transactional_id)
        .ok_or_else(|| TxnError::InvalidProducerIdMapping(transactional_id.to_string()))
}

/// Kafka's epoch fence: the open transaction is aborted under a bumped epoch, so its
/// producer (at the old epoch) can neither write nor end it; no retry of the old epoch
/// is recognised afterwards.
fn fence(r: &mut TxnRecord, now: i64) -> Completion {
    r.last_epoch = -1;
    r.epoch = r.epoch.saturating_add(1).min(i16::MAX - 1);
    r.state = TxnState::PrepareAbort;
    r.update_ms = now;
    completion(r, false)
}

fn completion(r: &TxnRecord, commit: bool) -> Completion {
    let (producer_id, epoch) = r.marker.unwrap_or((r.producer_id, r.epoch));
    Completion {
        transactional_id: r.transactional_id.clone(),
        producer_id,
        epoch,
        commit,
        partitions: r.partitions.iter().cloned().collect(),
        offsets: if commit {
            r.pending_offsets.clone()
        } else {
            Vec::new()
        },
    }
}
