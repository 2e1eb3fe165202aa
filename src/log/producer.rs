//! Per-partition producer state: what idempotent (and transactional) producers have
//! written here, so a retried batch is recognised and a gap or a stale epoch is refused.
//!
//! For each producer id the partition keeps its epoch and the last five batches'
//! sequence ranges with their offsets (the most a producer has in flight). The state is
//! saved in snapshot files beside the segments (`<offset:020>.snapshot`: the state as of
//! that offset) at every segment roll and at clean shutdown; on open the newest usable
//! snapshot is loaded and the batches after it are replayed from the log, as Kafka does.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::batch::BatchHeader;

/// Batches remembered per producer for duplicate detection (Kafka's
/// `max.in.flight.requests.per.connection` limit for idempotence).
pub const BATCHES_PER_PRODUCER: usize = 5;

/// Kafka's `producer.id.expiration.ms` default: one day.
pub const DEFAULT_EXPIRATION_MS: i64 = 24 * 3600 * 1000;

const NO_EPOCH: i16 = -1;

/// Why a producer's batch was refused; each maps to one Kafka error code.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ProducerError {
    #[error("Out of order sequence number for producer {producer_id} at offset {offset}: {found} (incoming seq. number), {last} (current end sequence number)")]
    OutOfOrderSequence {
        producer_id: i64,
        offset: i64,
        found: i32,
        last: i32,
    },
    #[error("Invalid sequence number for new epoch of producer {producer_id}: {epoch} (request epoch), {found} (seq. number), {current} (current producer epoch)")]
    NewEpochSequence {
        producer_id: i64,
        epoch: i16,
        found: i32,
        current: i16,
    },
    #[error("Epoch of producer {producer_id} at offset {offset} is {epoch}, which is smaller than the last seen epoch {current}")]
    InvalidProducerEpoch {
        producer_id: i64,
        offset: i64,
        epoch: i16,
        current: i16,
    },
    #[error("Transactional records from producer {producer_id} are not accepted: the partition was not added to a transaction")]
    TransactionalNotAdded { producer_id: i64 },
    #[error("Expected transactional write from producer {producer_id} at offset {offset}: it has an open transaction in this partition")]
    NonTransactionalInTxn { producer_id: i64, offset: i64 },
    #[error("Transaction marker from coordinator epoch {epoch} is older than the last one seen, {current}")]
    CoordinatorFenced { epoch: i32, current: i32 },
}

/// A transaction that was aborted in this partition: consumers reading committed data
/// skip this producer's records from `first_offset` up to the marker at `last_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    pub last_offset: i64,
    /// The partition's last stable offset once the marker was written.
    pub last_stable_offset: i64,
}

/// One remembered batch: its sequence range and where it landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchMeta {
    pub first_seq: i32,
    pub last_seq: i32,
    pub first_offset: i64,
    pub last_offset: i64,
    pub max_timestamp: i64,
}

/// What a partition knows about one producer.
#[derive(Debug, Clone, Eq)]
pub struct ProducerEntry {
    pub epoch: i16,
    /// Newest last; at most `BATCHES_PER_PRODUCER`, in a fixed array so an append
    /// never allocates.
    batches: [BatchMeta; BATCHES_PER_PRODUCER],
    len: u8,
    /// Broker time of the producer's last write here (for expiration). Not the batch
    /// timestamp, which is the client's clock and may be far in the past.
    pub last_timestamp: i64,
    /// Epoch of the transaction coordinator that last wrote a marker (-1: none).
    pub coordinator_epoch: i32,
    /// First offset of the producer's open transaction in this partition.
    pub current_txn_first_offset: Option<i64>,
}

impl PartialEq for ProducerEntry {
    fn eq(&self, o: &Self) -> bool {
        self.epoch == o.epoch
            && self.batches() == o.batches()
            && self.last_timestamp == o.last_timestamp
            && self.coordinator_epoch == o.coordinator_epoch
            && self.current_txn_first_offset == o.current_txn_first_offset
    }
}

impl ProducerEntry {
    fn new(epoch: i16) -> ProducerEntry {
        ProducerEntry {
            epoch,
            batches: [BatchMeta::default(); BATCHES_PER_PRODUCER],
            len: 0,
            last_timestamp: -1,
            coordinator_epoch: -1,
            current_txn_first_offset: None,
        }
    }

    pub fn batches(&self) -> &[BatchMeta] {
        &self.batches[..self.len as usize]
    }

    pub fn last_sequence(&self) -> i32 {
        self.batches().last().map_or(-1, |b| b.last_seq)
    }

    fn push(&mut self, b: BatchMeta) {
        if self.len as usize == BATCHES_PER_PRODUCER {
            self.batches.rotate_left(1);
            self.batches[BATCHES_PER_PRODUCER - 1] = b;
        } else {
            self.batches[self.len as usize] = b;
            self.len += 1;
        }
    }

    fn find(&self, first_seq: i32, last_seq: i32) -> Option<&BatchMeta> {
        self.batches()
            .iter()
            .find(|b| b.first_seq == first_seq && b.last_seq == last_seq)
    }
}

/// The outcome of checking a batch against the producer state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Write it.
    Append,
    /// A retry of a batch already written: answer with its original offsets, write nothing.
    Duplicate(BatchMeta),
}

/// Whether `next` follows `last` (-1: nothing yet, so 0 is expected).
fn in_sequence(last: i32, next: i32) -> bool {
    if last == i32::MAX {
        next == 0
    } else {
        next == last + 1
    }
}

/// All producers of one partition.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ProducerState {
    producers: HashMap<i64, ProducerEntry>,
    /// Open transactions: first offset → producer id (the smallest is the LSO).
    ongoing: BTreeMap<i64, i64>,
}

impl ProducerState {
    pub fn get(&self, producer_id: i64) -> Option<&ProducerEntry> {
        self.producers.get(&producer_id)
    }

    /// Puts a producer's entry back as it was (`None`: it was not known), undoing
    /// `update`s of batches that were never written. Not for transactional batches.
    pub(crate) fn restore(&mut self, producer_id: i64, previous: Option<ProducerEntry>) {
        match previous {
            Some(e) => {
                self.producers.insert(producer_id, e);
            }
            None => {
                self.producers.remove(&producer_id);
            }
        }
    }

    /// Active producers, by id.
    pub fn entries(&self) -> Vec<(i64, ProducerEntry)> {
        let mut v: Vec<_> = self
            .producers
            .iter()
            .map(|(k, e)| (*k, e.clone()))
            .collect();
        v.sort_by_key(|(k, _)| *k);
        v
    }

    pub fn len(&self) -> usize {
        self.producers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }

    /// The first offset of the oldest open transaction (the last stable offset), if any.
    pub fn first_unstable_offset(&self) -> Option<i64> {
        self.ongoing.keys().next().copied()
    }

    /// Checks a client's batch, which would land at `next_offset`, against what this
    /// partition knows about its producer (Kafka's rules for client writes).
    /// `in_txn`: the transaction coordinator confirmed that this partition is part of the
    /// producer's open transaction (required for transactional batches).
    pub fn check(
        &self,
        h: &BatchHeader,
        next_offset: i64,
        in_txn: bool,
    ) -> Result<Check, ProducerError> {
        if !h.has_producer_id() {
            return Ok(Check::Append);
        }
        if h.is_transactional() && !in_txn {
            return Err(ProducerError::TransactionalNotAdded {
                producer_id: h.producer_id,
            });
        }
        let Some(e) = self.producers.get(&h.producer_id) else {
            // A producer this partition has not seen (new, or expired): any sequence.
            return Ok(Check::Append);
        };
        if h.producer_epoch < e.epoch {
            return Err(ProducerError::InvalidProducerEpoch {
                producer_id: h.producer_id,
                offset: next_offset,
                epoch: h.producer_epoch,
                current: e.epoch,
            });
        }
        if h.producer_epoch == e.epoch {
            if let Some(b) = e.find(h.base_sequence, h.last_sequence()) {
                return Ok(Check::Duplicate(*b));
            }
        }
        if !h.is_transactional() && e.current_txn_first_offset.is_some() {
            return Err(ProducerError::NonTransactionalInTxn {
                producer_id: h.producer_id,
                offset: next_offset,
            });
        }
        if h.producer_epoch == e.epoch {
            let last = e.last_sequence();
            if !in_sequence(last, h.base_sequence) {
                return Err(ProducerError::OutOfOrderSequence {
                    producer_id: h.producer_id,
                    offset: next_offset,
                    found: h.base_sequence,
                    last,
                });
            }
        } else if h.base_sequence != 0 && e.epoch != NO_EPOCH {
            return Err(ProducerError::NewEpochSequence {
                producer_id: h.producer_id,
                epoch: h.producer_epoch,
                found: h.base_sequence,
                current: e.epoch,
            });
        }
        Ok(Check::Append)
    }

    /// Records a batch written with its offsets (`h.base_offset` assigned) at broker time
    /// `now_ms`. Used for client appends and for replay from the log alike (a replayed
    /// producer counts as seen at replay time).
    pub fn update(&mut self, h: &BatchHeader, now_ms: i64) {
        if !h.has_producer_id() || h.is_control() {
            return;
        }
        let e = self
            .producers
            .entry(h.producer_id)
            .or_insert_with(|| ProducerEntry::new(h.producer_epoch));
        if h.producer_epoch != e.epoch {
            e.epoch = h.producer_epoch;
            e.len = 0;
        }
        e.push(BatchMeta {
            first_seq: h.base_sequence,
            last_seq: h.last_sequence(),
            first_offset: h.base_offset,
            last_offset: h.last_offset(),
            max_timestamp: h.max_timestamp,
        });
        e.last_timestamp = e.last_timestamp.max(now_ms);
        if h.is_transactional() && e.current_txn_first_offset.is_none() {
            e.current_txn_first_offset = Some(h.base_offset);
            self.ongoing.insert(h.base_offset, h.producer_id);
        }
    }

    /// Checks a transaction marker from the coordinator (or an admin) before it is written.
    pub fn check_marker(
        &self,
        producer_id: i64,
        epoch: i16,
        coordinator_epoch: i32,
        next_offset: i64,
    ) -> Result<(), ProducerError> {
        let Some(e) = self.producers.get(&producer_id) else {
            return Ok(());
        };
        if epoch < e.epoch {
            return Err(ProducerError::InvalidProducerEpoch {
                producer_id,
                offset: next_offset,
                epoch,
                current: e.epoch,
            });
        }
        if coordinator_epoch < e.coordinator_epoch {
            return Err(ProducerError::CoordinatorFenced {
                epoch: coordinator_epoch,
                current: e.coordinator_epoch,
            });
        }
        Ok(())
    }

    /// Records a marker written at `offset`: the producer's open transaction here ends.
    /// Returns the aborted transaction to index when it was an abort of an open one.
    pub fn apply_marker(
        &mut self,
        producer_id: i64,
        epoch: i16,
        coordinator_epoch: i32,
        commit: bool,
        offset: i64,
        now_ms: i64,
    ) -> Option<AbortedTxn> {
        let e = self
            .producers
            .entry(producer_id)
            .or_insert_with(|| ProducerEntry::new(epoch));
        if epoch != e.epoch {
            e.epoch = epoch;
            e.len = 0;
        }
        e.coordinator_epoch = coordinator_epoch;
        e.last_timestamp = e.last_timestamp.max(now_ms);
        let first = e.current_txn_first_offset.take()?;
        self.ongoing.remove(&first);
        (!commit).then(|| AbortedTxn {
            producer_id,
            first_offset: first,
            last_offset: offset,
            last_stable_offset: self.first_unstable_offset().unwrap_or(offset + 1),
        })
    }

    /// Forgets producers whose last write is older than `expiration_ms` and that have no
    /// open transaction. Returns how many were removed.
    pub fn expire(&mut self, now_ms: i64, expiration_ms: i64) -> usize {
        let before = self.producers.len();
        self.producers.retain(|_, e| {
            e.current_txn_first_offset.is_some() || now_ms - e.last_timestamp < expiration_ms
        });
        before - self.producers.len()
    }

    // ------------------------------------------------------------------ snapshots

    /// Serialises the state (see `docs/log-format.md`, "Producer snapshot").
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(8 + self.producers.len() * 64);
        body.extend_from_slice(&(self.producers.len() as u32).to_be_bytes());
        for (pid, e) in self.entries() {
            body.extend_from_slice(&pid.to_be_bytes());
            body.extend_from_slice(&e.epoch.to_be_bytes());
            body.extend_from_slice(&e.last_timestamp.to_be_bytes());
            body.extend_from_slice(&e.coordinator_epoch.to_be_bytes());
            body.extend_from_slice(&e.current_txn_first_offset.unwrap_or(-1).to_be_bytes());
            body.push(e.len);
            for b in e.batches() {
                body.extend_from_slice(&b.first_seq.to_be_bytes());
                body.extend_from_slice(&b.last_seq.to_be_bytes());
                body.extend_from_slice(&b.first_offset.to_be_bytes());
                body.extend_from_slice(&b.last_offset.to_be_bytes());
                body.extend_from_slice(&b.max_timestamp.to_be_bytes());
            }
        }
        let mut out = Vec::with_capacity(body.len() + 10);
        out.extend_from_slice(SNAPSHOT_MAGIC);
        out.extend_from_slice(&SNAPSHOT_VERSION.to_be_bytes());
        out.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Parses a snapshot; `None` if it is torn, corrupt or of an unknown version.
    pub fn decode(b: &[u8]) -> Option<ProducerState> {
        let rest = b.strip_prefix(SNAPSHOT_MAGIC)?;
        let mut r = Reader(rest);
        if r.u16()? != SNAPSHOT_VERSION {
            return None;
        }
        let crc = r.u32()?;
        if crc32c::crc32c(r.0) != crc {
            return None;
        }
        let n = r.u32()?;
        let mut producers = HashMap::new();
        for _ in 0..n {
            let pid = r.i64()?;
            let mut e = ProducerEntry::new(r.u16()? as i16);
            e.last_timestamp = r.i64()?;
            e.coordinator_epoch = r.u32()? as i32;
            let txn = r.i64()?;
            e.current_txn_first_offset = (txn >= 0).then_some(txn);
            let len = r.u8()?;
            if len as usize > BATCHES_PER_PRODUCER {
                return None;
            }
            for _ in 0..len {
                e.push(BatchMeta {
                    first_seq: r.u32()? as i32,
                    last_seq: r.u32()? as i32,
                    first_offset: r.i64()?,
                    last_offset: r.i64()?,
                    max_timestamp: r.i64()?,
                });
            }
            producers.insert(pid, e);
        }
        let ongoing = producers
            .iter()
            .filter_map(|(pid, e)| e.current_txn_first_offset.map(|o| (o, *pid)))
            .collect();
        r.0.is_empty()
            .then_some(ProducerState { producers, ongoing })
    }
}

const SNAPSHOT_MAGIC: &[u8] = b"RLPS";
const SNAPSHOT_VERSION: u16 = 1;
const SNAPSHOT_EXT: &str = "snapshot";

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take().map(u16::from_be_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_be_bytes)
    }
    fn i64(&mut self) -> Option<i64> {
        self.take().map(i64::from_be_bytes)
    }
}

pub fn snapshot_path(dir: &Path, offset: i64) -> PathBuf {
    dir.join(format!("{offset:020}.{SNAPSHOT_EXT}"))
}

/// Snapshot offsets present in `dir`, ascending.
pub fn snapshot_offsets(dir: &Path) -> io::Result<Vec<i64>> {
    let mut v = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        if let Some(stem) = name.strip_suffix(".snapshot") {
            if let Ok(o) = stem.parse::<i64>() {
                v.push(o);
            }
        }
    }
    v.sort_unstable();
    Ok(v)
}

/// Snapshots kept per partition: the newest few, so a torn newest one has a fallback.
const SNAPSHOTS_KEPT: usize = 2;

/// Writes `state` as of `offset` (write to a temp file, then rename), and removes older
/// snapshots beyond the newest `SNAPSHOTS_KEPT`. With `sync`, the file and directory are
/// fsynced (clean shutdown).
pub fn write_snapshot(
    dir: &Path,
    offset: i64,
    state: &ProducerState,
    sync: bool,
) -> io::Result<()> {
    let path = snapshot_path(dir, offset);
    let tmp = path.with_extension("snapshot.tmp");
    fs::write(&tmp, state.encode())?;
    if sync {
        fs::File::open(&tmp)?.sync_all()?;
    }
    fs::rename(&tmp, &path)?;
    if sync {
        fs::File::open(dir)?.sync_all()?;
    }
    let all = snapshot_offsets(dir)?;
    if all.len() > SNAPSHOTS_KEPT {
        for o in &all[..all.len() - SNAPSHOTS_KEPT] {
            remove_snapshot(dir, *o)?;
        }
    }
    Ok(())
}

pub fn remove_snapshot(dir: &Path, offset: i64) -> io::Result<()> {
    match fs::remove_file(snapshot_path(dir, offset)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Loads the newest readable snapshot at or below `log_end`; snapshots beyond the log's
/// end (the tail was truncated) are removed. Returns (offset, state); none: (start, empty).
pub fn load_snapshot(dir: &Path, log_start: i64, log_end: i64) -> io::Result<(i64, ProducerState)> {
    for o in snapshot_offsets(dir)?.into_iter().rev() {
        if o > log_end {
            remove_snapshot(dir, o)?;
            continue;
        }
        if o < log_start {
            break;
        }
        match fs::read(snapshot_path(dir, o))
            .ok()
            .and_then(|b| ProducerState::decode(&b))
        {
            Some(state) => return Ok((o, state)),
            None => {
                tracing::warn!(dir = %dir.display(), offset = o, "ignoring unreadable producer snapshot");
                remove_snapshot(dir, o)?;
            }
        }
    }
    Ok((log_start, ProducerState::default()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::{self, simple_batch};

    fn header(pid: i64, epoch: i16, seq: i32, n: i32, base_offset: i64) -> BatchHeader {
        let mut b = simple_batch(n, 1000, 1);
        batch::set_producer(&mut b, pid, epoch, seq, false);
        let mut h = BatchHeader::parse(&b).unwrap();
        h.base_offset = base_offset;
        h
    }

    #[test]
    fn in_order_duplicates_gaps_and_epochs() {
        let mut s = ProducerState::default();
        let h0 = header(7, 0, 0, 3, 0);
        assert_eq!(s.check(&h0, 0, false), Ok(Check::Append));
        s.update(&h0, 0);
        let h1 = header(7, 0, 3, 2, 3);
        assert_eq!(s.check(&h1, 3, false), Ok(Check::Append));
        s.update(&h1, 0);
        // A retry of either batch is a duplicate with its original offsets.
        match s.check(&header(7, 0, 0, 3, -1), 5, false) {
            Ok(Check::Duplicate(b)) => assert_eq!((b.first_offset, b.last_offset), (0, 2)),
            other => panic!("{other:?}"),
        }
        // A gap.
        assert!(matches!(
            s.check(&header(7, 0, 6, 1, -1), 5, false),
            Err(ProducerError::OutOfOrderSequence {
                last: 4,
                found: 6,
                ..
            })
        ));
        // An old epoch, after a bump.
        let bumped = header(7, 1, 0, 1, 5);
        assert_eq!(s.check(&bumped, 5, false), Ok(Check::Append));
        s.update(&bumped, 0);
        assert!(matches!(
            s.check(&header(7, 0, 5, 1, -1), 6, false),
            Err(ProducerError::InvalidProducerEpoch { .. })
        ));
        // A new epoch must start at sequence 0.
        assert!(matches!(
            s.check(&header(7, 2, 1, 1, -1), 6, false),
            Err(ProducerError::NewEpochSequence { .. })
        ));
        // An unknown producer may start anywhere.
        assert_eq!(
            s.check(&header(8, 3, 42, 1, -1), 6, false),
            Ok(Check::Append)
        );
    }

    #[test]
    fn only_the_last_five_batches_are_remembered() {
        let mut s = ProducerState::default();
        for i in 0..7 {
            s.update(&header(1, 0, i, 1, i as i64), 0);
        }
        assert!(matches!(
            s.check(&header(1, 0, 6, 1, -1), 7, false),
            Ok(Check::Duplicate(_))
        ));
        assert!(matches!(
            s.check(&header(1, 0, 2, 1, -1), 7, false),
            Ok(Check::Duplicate(_))
        ));
        assert!(matches!(
            s.check(&header(1, 0, 1, 1, -1), 7, false),
            Err(ProducerError::OutOfOrderSequence { .. })
        ));
    }

    #[test]
    fn sequences_wrap_after_i32_max() {
        let mut s = ProducerState::default();
        let h = header(1, 0, i32::MAX - 1, 2, 0);
        assert_eq!(h.last_sequence(), i32::MAX);
        s.update(&h, 0);
        let wrapped = header(1, 0, 0, 3, 2);
        assert_eq!(s.check(&wrapped, 2, false), Ok(Check::Append));
        // A batch straddling the wrap point.
        let straddle = header(2, 0, i32::MAX - 1, 4, 0);
        assert_eq!(straddle.last_sequence(), 1);
        s.update(&straddle, 0);
        assert_eq!(s.check(&header(2, 0, 2, 1, 4), 4, false), Ok(Check::Append));
        assert!(s.check(&header(2, 0, 0, 1, 4), 4, false).is_err());
    }

    fn txn_header(pid: i64, epoch: i16, seq: i32, n: i32, base_offset: i64) -> BatchHeader {
        let mut b = simple_batch(n, 1000, 1);
        batch::set_producer(&mut b, pid, epoch, seq, true);
        let mut h = BatchHeader::parse(&b).unwrap();
        h.base_offset = base_offset;
        h
    }

    #[test]
    fn transactions_open_at_their_first_batch_and_end_at_a_marker() {
        let mut s = ProducerState::default();
        let h = txn_header(3, 0, 0, 2, 10);
        assert!(matches!(
            s.check(&h, 10, false),
            Err(ProducerError::TransactionalNotAdded { .. })
        ));
        assert_eq!(s.check(&h, 10, true), Ok(Check::Append));
        s.update(&h, 0);
        s.update(&txn_header(4, 0, 0, 1, 12), 0);
        s.update(&txn_header(3, 0, 2, 1, 13), 0);
        assert_eq!(s.first_unstable_offset(), Some(10));
        assert_eq!(s.get(3).unwrap().current_txn_first_offset, Some(10));
        // A non-transactional write while the transaction is open.
        assert!(matches!(
            s.check(&header(3, 0, 3, 1, -1), 14, false),
            Err(ProducerError::NonTransactionalInTxn { .. })
        ));
        // Abort producer 3: its range is indexed, the LSO moves to producer 4's start.
        s.check_marker(3, 0, 0, 14).unwrap();
        let aborted = s.apply_marker(3, 0, 0, false, 14, 0).unwrap();
        assert_eq!(
            (
                aborted.first_offset,
                aborted.last_offset,
                aborted.last_stable_offset
            ),
            (10, 14, 12)
        );
        assert_eq!(s.first_unstable_offset(), Some(12));
        // Commit producer 4: nothing to index, no open transaction left.
        assert_eq!(s.apply_marker(4, 0, 0, true, 15, 0), None);
        assert_eq!(s.first_unstable_offset(), None);
        // A marker with a bumped epoch fences the old epoch and resets sequences.
        assert_eq!(s.apply_marker(3, 1, 0, false, 16, 0), None);
        assert!(matches!(
            s.check(&txn_header(3, 0, 3, 1, -1), 17, true),
            Err(ProducerError::InvalidProducerEpoch { .. })
        ));
        assert!(s.check_marker(3, 0, 0, 17).is_err());
        assert!(matches!(
            s.check_marker(3, 1, -1, 17),
            Err(ProducerError::CoordinatorFenced { .. })
        ));
        assert_eq!(
            s.check(&txn_header(3, 1, 0, 1, -1), 17, true),
            Ok(Check::Append)
        );
        // Open transactions survive a snapshot.
        s.update(&txn_header(3, 1, 0, 1, 17), 0);
        let back = ProducerState::decode(&s.encode()).unwrap();
        assert_eq!(back.first_unstable_offset(), Some(17));
        assert_eq!(back, s);
    }

    #[test]
    fn expiration_and_snapshot_round_trip() {
        let mut s = ProducerState::default();
        for pid in 0..3 {
            for i in 0..(pid as i32 + 4) {
                s.update(&header(pid, 2, i, 1, i as i64), 1000 * pid);
            }
        }
        let bytes = s.encode();
        assert_eq!(ProducerState::decode(&bytes), Some(s.clone()));
        let mut torn = bytes.clone();
        torn.truncate(bytes.len() - 1);
        assert_eq!(ProducerState::decode(&torn), None);
        let mut flipped = bytes;
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(ProducerState::decode(&flipped), None);
        assert_eq!(s.expire(2500, 2000), 1); // pid 0 (ts 0) is older than 2 s
        assert!(s.get(0).is_none() && s.get(1).is_some());
    }

    #[test]
    fn snapshot_files_keep_the_newest_and_drop_those_past_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = ProducerState::default();
        for o in [10, 20, 30] {
            s.update(&header(1, 0, o as i32, 1, o), 0);
            write_snapshot(dir.path(), o, &s, false).unwrap();
        }
        assert_eq!(snapshot_offsets(dir.path()).unwrap(), vec![20, 30]);
        let (at, loaded) = load_snapshot(dir.path(), 0, 25).unwrap();
        assert_eq!(at, 20);
        assert_eq!(loaded.get(1).unwrap().last_sequence(), 20);
        assert_eq!(snapshot_offsets(dir.path()).unwrap(), vec![20]);
        fs::write(snapshot_path(dir.path(), 20), b"RLPS garbage").unwrap();
        let (at, loaded) = load_snapshot(dir.path(), 0, 25).unwrap();
        assert_eq!((at, loaded.len()), (0, 0));
    }
}
