//! The storage engine: one append-only log per partition, split into segments.
//!
//! A partition directory holds `<base offset:020>.log` segment files, each with a
//! memory-mapped sparse offset index (`.index`) and time index (`.timeindex`). Batches are
//! stored exactly as the producer sent them, after the broker rewrites the base offset
//! (and LogAppendTime fields). Fetches read those bytes back without re-encoding.
//! See `docs/log-format.md` for the byte layout.

pub mod batch;
pub mod cleaner;
pub mod compression;
pub mod index;
pub mod producer;
pub mod slice;
pub mod txn_index;
mod writeback;

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use thiserror::Error;

use batch::{BatchHeader, HEADER_LEN};
use index::{MmapIndex, OffsetIndex, TimeIndex};
use producer::{AbortedTxn, Check, ProducerEntry, ProducerError, ProducerState};
pub use slice::FileSlice;

#[derive(Debug, Error)]
pub enum LogError {
    #[error("the partition was deleted")]
    Deleted,
    #[error("offset {offset} is out of range [{start}, {end}]")]
    OffsetOutOfRange { offset: i64, start: i64, end: i64 },
    #[error(transparent)]
    Producer(#[from] ProducerError),
    #[error("i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl LogError {
    fn io(path: &Path, source: io::Error) -> LogError {
        LogError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Per-partition settings derived from topic configs (Kafka names in comments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// `segment.bytes`
    pub segment_bytes: u64,
    /// `segment.ms`
    pub segment_ms: i64,
    /// `index.interval.bytes`
    pub index_interval_bytes: u64,
    /// `segment.index.bytes`
    pub segment_index_bytes: usize,
    /// `max.message.bytes`
    pub max_message_bytes: usize,
    /// `message.timestamp.type=LogAppendTime`
    pub log_append_time: bool,
    /// `cleanup.policy` includes `compact`: every record needs a key.
    pub compact: bool,
    /// `message.timestamp.before.max.ms` (CreateTime topics)
    pub timestamp_before_max_ms: i64,
    /// `message.timestamp.after.max.ms` (CreateTime topics)
    pub timestamp_after_max_ms: i64,
    /// `compression.type` other than `producer`: (Kafka codec id, level) batches are
    /// stored with.
    pub compression: Option<(u8, Option<i32>)>,
    /// `max.compaction.lag.ms` of a compacted topic: the active segment also rolls (on
    /// append) once this old, so its records become cleanable in time (KIP-354).
    pub max_compaction_lag_ms: i64,
    /// Start write-back of each this many appended bytes at once (0: never). Under
    /// `--fsync interval` and `never` this keeps the periodic fdatasync short: without it, a second's
    /// worth of dirty pages is written back inside that fdatasync while appends to the
    /// same file wait (tens of ms; see benches/PROFILE.md).
    pub writeback_bytes: u64,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1 << 30,
            segment_ms: 7 * 24 * 3600 * 1000,
            index_interval_bytes: 4096,
            segment_index_bytes: 10 * 1024 * 1024,
            max_message_bytes: 1_048_588,
            log_append_time: false,
            compact: false,
            timestamp_before_max_ms: i64::MAX,
            timestamp_after_max_ms: 3_600_000,
            compression: None,
            max_compaction_lag_ms: i64::MAX,
            writeback_bytes: 0,
        }
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

struct Segment {
    base: i64,
    path: PathBuf,
    file: Arc<File>,
    size: u64,
    /// Offset one past the last record stored in this segment.
    next_offset: i64,
    offset_index: OffsetIndex,
    time_index: TimeIndex,
    max_timestamp: i64,
    offset_of_max_timestamp: i64,
    created_ms: i64,
    bytes_since_index: u64,
    /// Write-back has been started for the file up to here (`LogConfig::writeback_bytes`).
    written_back: u64,
}

fn segment_path(dir: &Path, base: i64, ext: &str) -> PathBuf {
    dir.join(format!("{base:020}.{ext}"))
}

impl Segment {
    fn open(dir: &Path, base: i64, cfg: &LogConfig) -> Result<Segment, LogError> {
        let path = segment_path(dir, base, "log");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| LogError::io(&path, e))?;
        let size = file.metadata().map_err(|e| LogError::io(&path, e))?.len();
        let ip = segment_path(dir, base, "index");
        let offset_index = OffsetIndex {
            inner: MmapIndex::open(&ip, OffsetIndex::ENTRY, cfg.segment_index_bytes)
                .map_err(|e| LogError::io(&ip, e))?,
        };
        let tp = segment_path(dir, base, "timeindex");
        let time_index = TimeIndex {
            inner: MmapIndex::open(&tp, TimeIndex::ENTRY, cfg.segment_index_bytes)
                .map_err(|e| LogError::io(&tp, e))?,
        };
        Ok(Segment {
            base,
            path,
            file: Arc::new(file),
            size,
            next_offset: base,
            offset_index,
            time_index,
            max_timestamp: -1,
            offset_of_max_timestamp: -1,
            created_ms: now_ms(),
            bytes_since_index: 0,
            written_back: size,
        })
    }

    /// Opens an existing segment. The active segment after an unclean shutdown, and any
    /// segment whose indexes fail a sanity check, is fully re-validated and re-indexed;
    /// otherwise only the tail after the last index entry is read. Sealed segments are
    /// sealed again (indexes trimmed).
    fn load(
        dir: &Path,
        base: i64,
        cfg: &LogConfig,
        active: bool,
        clean: bool,
    ) -> Result<Segment, LogError> {
        let mut seg = Segment::open(dir, base, cfg)?;
        let sane = seg.offset_index.is_sane(seg.size) && seg.time_index.is_sane();
        if active && !clean || !sane {
            seg.recover(0, true, cfg)?;
        } else {
            // Trust the indexes; read only the tail after the last index entry.
            let n = seg.offset_index.inner.len();
            let (rel, pos) = if n > 0 {
                seg.offset_index.entry(n - 1)
            } else {
                (0, 0)
            };
            if let Some((ts, off)) = seg.time_index.last() {
                seg.max_timestamp = ts;
                seg.offset_of_max_timestamp = seg.base + off as i64;
            }
            seg.next_offset = seg.base + rel as i64;
            seg.bytes_since_index = 0;
            seg.recover(pos as u64, false, cfg)?;
        }
        if !active {
            seg.seal().map_err(|e| LogError::io(&seg.path, e))?;
        }
        Ok(seg)
    }

    /// Walks the segment from `from_pos`, validating each batch, and truncates the file at
    /// the first torn or corrupt one. Updates the in-memory summary and, when `reindex`,
    /// rebuilds both indexes from scratch.
    fn recover(&mut self, from_pos: u64, reindex: bool, cfg: &LogConfig) -> Result<(), LogError> {
        if reindex {
            self.offset_index.inner.truncate(0);
            self.time_index.inner.truncate(0);
            self.max_timestamp = -1;
            self.offset_of_max_timestamp = -1;
            self.bytes_since_index = 0;
        }
        let file_len = self.size;
        let mut pos = from_pos;
        let mut head = [0u8; HEADER_LEN];
        let mut valid_end = from_pos;
        while pos + HEADER_LEN as u64 <= file_len {
            if self.file.read_exact_at(&mut head, pos).is_err() {
                break;
            }
            let Some(h) = BatchHeader::parse(&head) else {
                break;
            };
            let total = h.total_len() as u64;
            if h.magic != 2 || h.batch_length < (HEADER_LEN - 12) as i32 || pos + total > file_len {
                break;
            }
            let mut buf = vec![0u8; total as usize];
            if self.file.read_exact_at(&mut buf, pos).is_err()
                || batch::validate_batch(&buf).is_err()
            {
                break;
            }
            if h.base_offset < self.next_offset && pos > 0 {
                break; // offsets must increase
            }
            // A segment holds offsets from its base up to base + u32::MAX (appends roll
            // before that); a batch outside (a corrupt header, or a file named for
            // another base) ends the valid part like a bad CRC.
            let in_range = h
                .base_offset
                .checked_add(i64::from(h.last_offset_delta))
                .and_then(|last| last.checked_sub(self.base))
                .is_some_and(|rel| rel < u32::MAX as i64);
            if h.base_offset < self.base || !in_range {
                break;
            }
            self.note_batch(&h, pos, total, cfg);
            pos += total;
            valid_end = pos;
        }
        if valid_end < file_len {
            tracing::warn!(
                segment = %self.path.display(),
                valid_bytes = valid_end,
                dropped_bytes = file_len - valid_end,
                "truncating torn or corrupt tail of log segment"
            );
            self.file
                .set_len(valid_end)
                .map_err(|e| LogError::io(&self.path, e))?;
            self.size = valid_end;
        }
        Ok(())
    }

    /// Records a batch that now lives at `pos` in the in-memory summary and indexes.
    fn note_batch(&mut self, h: &BatchHeader, pos: u64, len: u64, cfg: &LogConfig) {
        let rel = (h.base_offset - self.base) as u32;
        if self.bytes_since_index >= cfg.index_interval_bytes {
            self.offset_index.push(rel, pos as u32);
            if self.max_timestamp >= 0 {
                self.time_index.push(
                    self.max_timestamp,
                    (self.offset_of_max_timestamp - self.base) as u32,
                );
            }
            self.bytes_since_index = 0;
        }
        self.bytes_since_index += len;
        if h.max_timestamp > self.max_timestamp {
            self.max_timestamp = h.max_timestamp;
            self.offset_of_max_timestamp = h.last_offset();
        }
        self.next_offset = h.last_offset() + 1;
        self.size = self.size.max(pos + len);
    }

    /// Makes the time index's last entry the segment's true maximum, then trims both
    /// indexes so the segment reopens cleanly.
    fn seal(&mut self) -> io::Result<()> {
        if self.max_timestamp >= 0 {
            self.time_index.push(
                self.max_timestamp,
                (self.offset_of_max_timestamp - self.base) as u32,
            );
        }
        self.offset_index.inner.seal()?;
        self.time_index.inner.seal()
    }

    fn close(&mut self) -> io::Result<()> {
        self.seal()?;
        self.file.sync_data()
    }
}

struct Inner {
    segments: BTreeMap<i64, Segment>,
    log_start: i64,
    /// Segment files written since the last flush.
    unflushed: Vec<Arc<File>>,
    config: LogConfig,
    deleted: bool,
    /// Idempotent and transactional producers that wrote here.
    producers: ProducerState,
    /// Aborted transactions, by marker offset (from the segments' `.txnindex` files).
    aborted: Vec<AbortedTxn>,
    /// The first offset compaction has not yet seen (persisted in `cleaner-offset`).
    cleaner_checkpoint: i64,
}

impl Inner {
    fn active(&mut self) -> &mut Segment {
        // Invariant: a partition always has at least one segment.
        self.segments
            .values_mut()
            .next_back()
            .expect("partition has no segment")
    }
    fn next_offset(&self) -> i64 {
        self.segments
            .values()
            .next_back()
            .map(|s| s.next_offset)
            .unwrap_or(0)
    }

    /// Rebuilds producer state from the batches at and after `from` (a batch boundary:
    /// the offset of the snapshot the state was loaded from).
    fn replay_producers(&mut self, dir: &Path, from: i64) -> Result<(), LogError> {
        let mut head = [0u8; HEADER_LEN];
        let mut replayed = 0usize;
        let now = now_ms();
        for seg in self.segments.values() {
            if seg.next_offset <= from || seg.size == 0 {
                continue;
            }
            let mut pos = if seg.base >= from {
                0
            } else {
                seg.offset_index.lookup((from - seg.base) as u32) as u64
            };
            while pos + HEADER_LEN as u64 <= seg.size {
                seg.file
                    .read_exact_at(&mut head, pos)
                    .map_err(|e| LogError::io(&seg.path, e))?;
                let Some(h) = BatchHeader::parse(&head) else {
                    break;
                };
                if h.batch_length < (HEADER_LEN - batch::LOG_OVERHEAD) as i32 {
                    break;
                }
                if h.base_offset >= from {
                    if h.is_control() {
                        let b = read_batch_at(&seg.file, pos)
                            .map_err(|e| LogError::io(&seg.path, e))?;
                        if let Some(m) = batch::parse_marker(&b) {
                            let aborted = self.producers.apply_marker(
                                h.producer_id,
                                h.producer_epoch,
                                m.coordinator_epoch,
                                m.commit,
                                h.base_offset,
                                now,
                            );
                            // Markers whose index entry survived are not indexed twice.
                            let known = self.aborted.last().map_or(-1, |a| a.last_offset);
                            if let Some(a) = aborted.filter(|a| a.last_offset > known) {
                                txn_index::append(dir, seg.base, &a)
                                    .map_err(|e| LogError::io(&seg.path, e))?;
                                self.aborted.push(a);
                            }
                        }
                    } else {
                        self.producers.update(&h, now);
                    }
                    replayed += 1;
                }
                pos += h.total_len() as u64;
            }
        }
        if replayed > 0 {
            tracing::debug!(
                from,
                batches = replayed,
                producers = self.producers.len(),
                "replayed producer state"
            );
        }
        Ok(())
    }

    /// True if a batch of `header` and `len` bytes at offset `next` must go to a new
    /// segment, `staged` bytes of batches before it not yet written.
    fn must_roll(
        &mut self,
        header: &BatchHeader,
        staged: u64,
        len: u64,
        next: i64,
        now: i64,
    ) -> bool {
        let (compact, segment_ms, lag, segment_bytes) = (
            self.config.compact,
            self.config.segment_ms,
            self.config.max_compaction_lag_ms,
            self.config.segment_bytes,
        );
        let active = self.active();
        let max_age = if compact {
            segment_ms.min(lag)
        } else {
            segment_ms
        };
        let too_old = now - active.created_ms > max_age;
        let overflow = next + header.last_offset_delta as i64 - active.base >= u32::MAX as i64;
        let size = active.size + staged;
        size > 0
            && (size + len > segment_bytes
                || too_old
                || active.offset_index.inner.is_full()
                || active.time_index.inner.is_full()
                || overflow)
    }

    /// Writes a batch at the log end: rolls the segment first if needed, assigns the
    /// batch its offset (and LogAppendTime), writes and indexes it. Returns its header as
    /// stored.
    fn write_batch(
        &mut self,
        dir: &Path,
        batch: &[u8],
        header: &BatchHeader,
        now: i64,
    ) -> Result<BatchHeader, LogError> {
        let end = self.next_offset();
        if self.must_roll(header, 0, batch.len() as u64, end, now) {
            self.roll(dir)?;
        }
        let staged = Staged::new(
            batch,
            header,
            self.next_offset(),
            self.config.log_append_time.then_some(now),
        );
        let h = staged.header;
        self.write_staged(std::slice::from_ref(&staged))?;
        Ok(h)
    }

    /// Writes a group of `append_many` and starts a new one. If the write fails, the
    /// group's batches get the error and their producers' state is restored.
    fn write_group<'a>(&mut self, group: &mut Group<'a>, out: &mut [Result<Appended, LogError>]) {
        let done = std::mem::take(group);
        if let Err(e) = self.write_staged(&done.staged) {
            for (pid, prev) in done.undo.into_iter().rev() {
                self.producers.restore(pid, prev);
            }
            let (path, kind, msg) = match &e {
                LogError::Io { path, source } => (path.clone(), source.kind(), source.to_string()),
                other => (PathBuf::new(), io::ErrorKind::Other, other.to_string()),
            };
            for i in done.results {
                out[i] = Err(LogError::io(&path, io::Error::new(kind, msg.clone())));
            }
        }
    }

    /// Writes staged batches (offsets assigned, in order from the log end) to the active
    /// segment with one `pwritev`, and indexes them.
    fn write_staged(&mut self, staged: &[Staged<'_>]) -> Result<(), LogError> {
        if staged.is_empty() {
            return Ok(());
        }
        let cfg = self.config.clone();
        let active = self.active();
        let pos = active.size;
        let written = if let [one] = staged {
            let mut slices = [io::IoSlice::new(&one.head), io::IoSlice::new(one.rest)];
            write_all_vectored_at(&active.file, &mut slices, pos)
        } else {
            let mut slices: Vec<io::IoSlice<'_>> = staged
                .iter()
                .flat_map(|s| [io::IoSlice::new(&s.head), io::IoSlice::new(s.rest)])
                .collect();
            write_all_vectored_at(&active.file, &mut slices, pos)
        };
        written.map_err(|e| LogError::io(&active.path, e))?;
        let mut at = pos;
        for s in staged {
            let len = s.len();
            active.note_batch(&s.header, at, len, &cfg);
            at += len;
        }
        if cfg.writeback_bytes > 0
            && active.size.saturating_sub(active.written_back) >= cfg.writeback_bytes
        {
            let (from, to) = (active.written_back, active.size);
            writeback::start(&active.file, from, to - from);
            active.written_back = to;
        }
        let file = active.file.clone();
        if !self.unflushed.iter().any(|f| Arc::ptr_eq(f, &file)) {
            self.unflushed.push(file);
        }
        Ok(())
    }

    /// Seals the active segment and starts a new one at the log end.
    fn roll(&mut self, dir: &Path) -> Result<(), LogError> {
        let next = self.next_offset();
        let cfg = self.config.clone();
        let active = self.active();
        active.seal().map_err(|e| LogError::io(&active.path, e))?;
        let seg = Segment::open(dir, next, &cfg)?;
        self.segments.insert(next, seg);
        if let Err(e) = self.snapshot_producers(dir, false) {
            // Not fatal: recovery then replays from an older snapshot.
            tracing::warn!(dir = %dir.display(), error = %e, "writing producer snapshot failed");
        }
        Ok(())
    }

    /// Moves the log start offset up to `offset` (persisted first) and takes out of the
    /// log every sealed segment wholly below it. Returns the removed segments; their
    /// files are deleted by the caller, outside the lock.
    fn advance_start(&mut self, dir: &Path, offset: i64) -> Result<Vec<Segment>, LogError> {
        if offset > self.log_start {
            // Persisted only when the start falls inside the segment that will be first:
            // at a segment boundary, the first remaining segment says it (open clamps
            // to it), so retention needs no fsync per partition.
            // The first segment that stays: the first holding data at or past `offset`,
            // else the active one (never removed).
            let first_kept = self
                .segments
                .values()
                .find(|s| s.next_offset > offset)
                .or_else(|| self.segments.values().next_back())
                .map_or(offset, |s| s.base);
            if offset > first_kept {
                write_log_start(dir, offset).map_err(|e| LogError::io(dir, e))?;
            }
            self.log_start = offset;
        }
        let mut removed = Vec::new();
        while self.segments.len() > 1 {
            let Some((&base, first)) = self.segments.iter().next() else {
                break;
            };
            if first.next_offset > self.log_start {
                break;
            }
            if let Some(seg) = self.segments.remove(&base) {
                removed.push(seg);
            }
        }
        let start = self.log_start;
        self.aborted.retain(|a| a.last_offset >= start);
        self.unflushed
            .retain(|f| removed.iter().all(|s| !Arc::ptr_eq(&s.file, f)));
        Ok(removed)
    }

    /// Saves the producer state as of the log end (at a roll and at clean shutdown).
    fn snapshot_producers(&self, dir: &Path, sync: bool) -> io::Result<()> {
        producer::write_snapshot(dir, self.next_offset(), &self.producers, sync)
    }
}

/// Result of a successful append.
#[derive(Debug, Clone, Copy)]
pub struct Appended {
    pub base_offset: i64,
    pub log_append_time: Option<i64>,
    pub log_start_offset: i64,
    /// The batch was a producer's retry of one already written; nothing was appended
    /// and the offsets are the original ones.
    pub duplicate: bool,
}

impl Appended {
    /// A batch written now, as stored (`h`: offsets and timestamps assigned).
    fn written(h: &BatchHeader, log_append_time: bool, log_start_offset: i64) -> Appended {
        Appended {
            base_offset: h.base_offset,
            log_append_time: log_append_time.then_some(h.max_timestamp),
            log_start_offset,
            duplicate: false,
        }
    }

    /// A producer's retry of batch `b`, written before.
    fn duplicate_of(
        b: &producer::BatchMeta,
        log_append_time: bool,
        log_start_offset: i64,
    ) -> Appended {
        Appended {
            base_offset: b.first_offset,
            log_append_time: log_append_time.then_some(b.max_timestamp),
            log_start_offset,
            duplicate: true,
        }
    }
}

/// Bytes read for a fetch, plus the partition's offsets at read time.
#[derive(Debug, Clone)]
pub struct ReadResult {
    pub records: FileSlice,
    pub high_watermark: i64,
    pub last_stable_offset: i64,
    pub log_start_offset: i64,
    /// The offsets the returned batches span (first batch's base offset to the end of
    /// the last): their record count, control records and compacted-away offsets
    /// included. 0 when nothing is returned.
    pub offsets_spanned: i64,
    /// Under read_committed: (producer id, first offset) of each aborted transaction
    /// overlapping the records returned.
    pub aborted: Option<Vec<(i64, i64)>>,
}

/// Which records a fetch may see (Kafka's isolation levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    ReadUncommitted,
    /// Only below the last stable offset, with the aborted transactions listed.
    ReadCommitted,
}

/// One partition's log.
pub struct PartitionLog {
    dir: PathBuf,
    inner: Mutex<Inner>,
}

const SCAN_CHUNK: usize = 16 * 1024;
/// Bytes of a batch header that `batch::peek_span` needs.
const SPAN_HEAD: usize = batch::OFF_LAST_OFFSET_DELTA + 4;

/// The segment a read starts in (see `PartitionLog::locate`).
struct Located {
    base: i64,
    file: Arc<File>,
    /// Indexed batch position at or before the wanted offset.
    hint: u64,
    /// The segment's size and next offset when located: batches end there.
    end: u64,
    next_offset: i64,
}

/// The position of the batch containing `offset` (or the first after it), scanning from
/// the batch boundary `from`.
fn scan_to(file: &File, from: u64, end: u64, offset: i64) -> io::Result<Option<u64>> {
    // A consumer reading on usually asks for the batch the index points at: one header.
    if end - from.min(end) >= SPAN_HEAD as u64 {
        let mut head = [0u8; SPAN_HEAD];
        file.read_exact_at(&mut head, from)?;
        if batch::peek_span(&head).is_some_and(|(_, _, last)| last >= offset) {
            return Ok(Some(from));
        }
    }
    let mut chunk = [0u8; SCAN_CHUNK];
    let mut pos = from;
    while pos < end {
        let n = ((end - pos) as usize).min(SCAN_CHUNK);
        file.read_exact_at(&mut chunk[..n], pos)?;
        let mut at = 0usize;
        while let Some((_, len, last)) = batch::peek_span(&chunk[at..n]) {
            if last >= offset {
                return Ok(Some(pos + at as u64));
            }
            at += len;
            if at >= n {
                break;
            }
        }
        if at == 0 {
            break; // malformed span: stop rather than loop
        }
        pos += at as u64;
    }
    Ok(None)
}

impl PartitionLog {
    /// Opens (or creates) the partition in `dir`. After an unclean shutdown the active
    /// segment is fully re-validated and its indexes rebuilt; a torn tail is truncated.
    pub fn open(dir: &Path, config: LogConfig, clean: bool) -> Result<PartitionLog, LogError> {
        fs::create_dir_all(dir).map_err(|e| LogError::io(dir, e))?;
        // One directory scan: segment bases, and whether the small state files or an
        // interrupted compaction are there (most partitions have none of them).
        let scan = |dir: &Path| -> Result<(Vec<i64>, Vec<String>), LogError> {
            let mut bases = Vec::new();
            let mut others = Vec::new();
            for entry in fs::read_dir(dir).map_err(|e| LogError::io(dir, e))? {
                let entry = entry.map_err(|e| LogError::io(dir, e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                match name
                    .strip_suffix(".log")
                    .and_then(|s| s.parse::<i64>().ok())
                {
                    Some(base) => bases.push(base),
                    None if !name.ends_with("index") && !name.ends_with(".snapshot") => {
                        others.push(name)
                    }
                    None => {}
                }
            }
            Ok((bases, others))
        };
        let (mut bases, mut others) = scan(dir)?;
        if others.iter().any(|n| n.starts_with('.')) {
            cleaner::recover(dir).map_err(|e| LogError::io(dir, e))?;
            (bases, others) = scan(dir)?;
        }
        let has = |name: &str| others.iter().any(|n| n == name);
        bases.sort_unstable();
        if bases.is_empty() {
            bases.push(0);
        }
        let mut segments = BTreeMap::new();
        let last = bases.len() - 1;
        for (i, base) in bases.iter().copied().enumerate() {
            let seg = Segment::load(dir, base, &config, i == last, clean)?;
            segments.insert(base, seg);
        }
        let first_base = bases[0];
        let mut inner = Inner {
            segments,
            log_start: first_base,
            unflushed: Vec::new(),
            config,
            deleted: false,
            producers: ProducerState::default(),
            aborted: Vec::new(),
            cleaner_checkpoint: if has(cleaner::CHECKPOINT_FILE) {
                cleaner::read_checkpoint(dir)
                    .map_err(|e| LogError::io(dir, e))?
                    .unwrap_or(0)
            } else {
                0
            },
        };
        let end = inner.next_offset();
        for base in &bases {
            inner
                .aborted
                .extend(txn_index::load(dir, *base, end).map_err(|e| LogError::io(dir, e))?);
        }
        let (from, state) =
            producer::load_snapshot(dir, first_base, end).map_err(|e| LogError::io(dir, e))?;
        inner.producers = state;
        inner.replay_producers(dir, from)?;
        // DeleteRecords and retention persist the log start before removing segments: a
        // crash in between leaves segments below it, removed here.
        let persisted_start = if has(LOG_START_FILE) {
            read_log_start(dir).map_err(|e| LogError::io(dir, e))?
        } else {
            None
        };
        if let Some(start) = persisted_start {
            let start = start.clamp(first_base, end);
            let removed = inner.advance_start(dir, start)?;
            remove_segment_files(dir, removed);
        }
        Ok(PartitionLog {
            dir: dir.to_path_buf(),
            inner: Mutex::new(inner),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock must not take the partition down for everyone.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn set_config(&self, config: LogConfig) {
        self.lock().config = config;
    }
    pub fn config(&self) -> LogConfig {
        self.lock().config.clone()
    }

    /// (log start offset, high watermark)
    pub fn offsets(&self) -> (i64, i64) {
        let g = self.lock();
        (g.log_start, g.next_offset())
    }

    /// The last stable offset: the first offset of the oldest open transaction, or the
    /// high watermark when none is open.
    pub fn last_stable_offset(&self) -> i64 {
        let g = self.lock();
        g.producers
            .first_unstable_offset()
            .unwrap_or_else(|| g.next_offset())
    }

    /// (producer id, first offset) of the aborted transactions with records in
    /// `[from, to)`.
    pub fn aborted_between(&self, from: i64, to: i64) -> Vec<(i64, i64)> {
        let g = self.lock();
        let start = g.aborted.partition_point(|a| a.last_offset < from);
        g.aborted[start..]
            .iter()
            .filter(|a| a.first_offset < to)
            .map(|a| (a.producer_id, a.first_offset))
            .collect()
    }

    /// Appends one validated client batch, as the client sent it but for the header
    /// fields Kafka rewrites (offsets, LogAppendTime); `batch` itself is not modified.
    /// `in_txn`: the transaction coordinator confirmed the partition is in the
    /// producer's open transaction (needed for transactional batches). A producer's retry
    /// of a batch already written is answered with the original offsets and not written.
    pub fn append(
        &self,
        batch: &[u8],
        header: &BatchHeader,
        in_txn: bool,
    ) -> Result<Appended, LogError> {
        let mut g = self.lock();
        if g.deleted {
            return Err(LogError::Deleted);
        }
        let log_append_time = g.config.log_append_time;
        if let Check::Duplicate(b) = g.producers.check(header, g.next_offset(), in_txn)? {
            return Ok(Appended::duplicate_of(&b, log_append_time, g.log_start));
        }
        let now = now_ms();
        let h = g.write_batch(&self.dir, batch, header, now)?;
        g.producers.update(&h, now);
        Ok(Appended::written(&h, log_append_time, g.log_start))
    }

    /// Appends several client batches in order, as `append` would one after another,
    /// with one `pwritev` per segment they land in: pipelined produce requests to one
    /// partition cost one write. Not for transactional batches (they go through `append`,
    /// with the coordinator's check). Each batch gets its own result; a failed write fails
    /// only the batches it carried, and their producers' state is put back as it was, so
    /// a retry is not mistaken for a duplicate.
    pub fn append_many(&self, batches: &[(&[u8], BatchHeader)]) -> Vec<Result<Appended, LogError>> {
        let mut g = self.lock();
        if g.deleted {
            return batches.iter().map(|_| Err(LogError::Deleted)).collect();
        }
        let now = now_ms();
        let lat = g.config.log_append_time;
        let log_append_time = lat.then_some(now);
        let mut out: Vec<Result<Appended, LogError>> = Vec::with_capacity(batches.len());
        let mut group = Group::default();
        for (batch, header) in batches {
            let next = group.next.unwrap_or_else(|| g.next_offset());
            let log_start = g.log_start;
            match g.producers.check(header, next, false) {
                Err(e) => {
                    out.push(Err(e.into()));
                    continue;
                }
                Ok(Check::Duplicate(b)) => {
                    out.push(Ok(Appended::duplicate_of(&b, lat, log_start)));
                    continue;
                }
                Ok(Check::Append) => {}
            }
            let len = batch.len() as u64;
            if group.staged.len() >= MAX_STAGED || g.must_roll(header, group.bytes, len, next, now)
            {
                g.write_group(&mut group, &mut out);
                let end = g.next_offset();
                if g.must_roll(header, 0, len, end, now) {
                    if let Err(e) = g.roll(&self.dir) {
                        out.push(Err(e));
                        continue;
                    }
                }
            }
            let next = group.next.unwrap_or_else(|| g.next_offset());
            let staged = Staged::new(batch, header, next, log_append_time);
            let h = staged.header;
            if h.has_producer_id() {
                group
                    .undo
                    .push((h.producer_id, g.producers.get(h.producer_id).cloned()));
            }
            g.producers.update(&h, now);
            group.next = Some(h.last_offset() + 1);
            group.bytes += staged.len();
            group.staged.push(staged);
            group.results.push(out.len());
            out.push(Ok(Appended::written(&h, lat, g.log_start)));
        }
        g.write_group(&mut group, &mut out);
        out
    }

    /// Writes a transaction marker (commit or abort) for `producer_id` and ends its open
    /// transaction here; an abort is added to the transaction index. Returns its offset.
    pub fn append_marker(
        &self,
        producer_id: i64,
        epoch: i16,
        coordinator_epoch: i32,
        commit: bool,
    ) -> Result<i64, LogError> {
        let mut g = self.lock();
        if g.deleted {
            return Err(LogError::Deleted);
        }
        g.producers
            .check_marker(producer_id, epoch, coordinator_epoch, g.next_offset())?;
        let now = now_ms();
        let b = batch::control_batch(producer_id, epoch, commit, coordinator_epoch, now);
        let header = batch::validate_batch(&b).map_err(|e| {
            LogError::io(
                &self.dir,
                io::Error::new(io::ErrorKind::InvalidData, e.to_string()),
            )
        })?;
        let h = g.write_batch(&self.dir, &b, &header, now)?;
        let aborted = g.producers.apply_marker(
            producer_id,
            epoch,
            coordinator_epoch,
            commit,
            h.base_offset,
            now,
        );
        if let Some(a) = aborted {
            let base = g.active().base;
            txn_index::append(&self.dir, base, &a).map_err(|e| LogError::io(&self.dir, e))?;
            g.aborted.push(a);
        }
        Ok(h.base_offset)
    }

    /// fsyncs every segment written since the last flush. The lock is not held during I/O.
    pub fn flush(&self) -> io::Result<()> {
        let files = std::mem::take(&mut self.lock().unflushed);
        for f in &files {
            f.sync_data()?;
        }
        Ok(())
    }

    pub fn has_unflushed(&self) -> bool {
        !self.lock().unflushed.is_empty()
    }

    /// The segment holding `offset` (or the first after it with data; compaction can leave
    /// segments empty or ending before the next one starts), with the indexed position
    /// to scan from. `None` when there is nothing at or after `offset`.
    fn locate(&self, offset: i64) -> Result<Option<Located>, LogError> {
        let g = self.lock();
        if g.deleted {
            return Err(LogError::Deleted);
        }
        let next = g.next_offset();
        if offset < g.log_start || offset > next {
            return Err(LogError::OffsetOutOfRange {
                offset,
                start: g.log_start,
                end: next,
            });
        }
        if offset == next {
            return Ok(None);
        }
        let from = g
            .segments
            .range(..=offset)
            .next_back()
            .map_or(i64::MIN, |(&b, _)| b);
        let Some(seg) = g
            .segments
            .range(from..)
            .map(|(_, s)| s)
            .find(|s| s.next_offset > offset && s.size > 0)
        else {
            return Ok(None);
        };
        let rel = (offset - seg.base).clamp(0, u32::MAX as i64) as u32;
        Ok(Some(Located {
            base: seg.base,
            file: seg.file.clone(),
            hint: seg.offset_index.lookup(rel) as u64,
            end: seg.size,
            next_offset: seg.next_offset,
        }))
    }

    /// The file and position of the batch containing `offset` (or the first after it).
    fn batch_position(&self, offset: i64) -> Result<Option<(Arc<File>, u64)>, LogError> {
        let Some(seg) = self.locate(offset)? else {
            return Ok(None);
        };
        let pos = scan_to(&seg.file, seg.hint, seg.end, offset)
            .map_err(|e| LogError::io(&self.dir, e))?;
        Ok(pos.map(|p| (seg.file, p)))
    }

    /// Where a read of the segment `at` should end: the indexed batch boundary at or
    /// before `limit` (and before `upper`), so the walk to the exact cut reads only a
    /// few headers. Falls back to `from` if the segment was replaced meanwhile.
    fn cut_hint(&self, at: &Located, from: u64, limit: u64, upper: i64) -> u64 {
        let g = self.lock();
        let Some(seg) = g
            .segments
            .get(&at.base)
            .filter(|s| Arc::ptr_eq(&s.file, &at.file))
        else {
            return from;
        };
        let mut limit = limit;
        if upper < seg.next_offset {
            let rel = (upper - seg.base).clamp(0, u32::MAX as i64) as u32;
            limit = limit.min(seg.offset_index.lookup(rel) as u64);
        }
        seg.offset_index.floor_position(limit).max(from)
    }

    /// Reads whole batches starting with the one containing `offset`, up to `max_bytes`,
    /// as a slice of the segment file: the bytes themselves are not read, only batch
    /// headers to find where the slice starts and ends. When `min_one` is set the first
    /// batch is returned even if it exceeds `max_bytes`. Under `ReadCommitted` only
    /// batches below the last stable offset are returned, with the aborted transactions
    /// among them.
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        min_one: bool,
        isolation: Isolation,
    ) -> Result<ReadResult, LogError> {
        let (log_start_offset, high_watermark, last_stable_offset) = {
            let g = self.lock();
            let hw = g.next_offset();
            let lso = g.producers.first_unstable_offset().unwrap_or(hw);
            (g.log_start, hw, lso)
        };
        let committed = isolation == Isolation::ReadCommitted;
        let upper = if committed {
            last_stable_offset
        } else {
            high_watermark
        };
        let mut result = ReadResult {
            records: FileSlice::default(),
            high_watermark,
            last_stable_offset,
            log_start_offset,
            offsets_spanned: 0,
            aborted: committed.then(Vec::new),
        };
        let Some(seg) = self.locate(offset)? else {
            return Ok(result);
        };
        if offset >= upper {
            return Ok(result);
        }
        let io = |e| LogError::io(&self.dir, e);
        let Some(pos) = scan_to(&seg.file, seg.hint, seg.end, offset).map_err(io)? else {
            return Ok(result);
        };
        let mut head = [0u8; SPAN_HEAD];
        let avail = seg.end - pos;
        seg.file
            .read_exact_at(&mut head[..(avail as usize).min(SPAN_HEAD)], pos)
            .map_err(io)?;
        let Some((first_base, first_len, _)) = batch::peek_span(&head) else {
            return Ok(result);
        };
        if first_base >= upper {
            return Ok(result);
        }
        let mut want = (max_bytes as u64).min(avail);
        if want < first_len as u64 {
            if !min_one {
                return Ok(result);
            }
            want = (first_len as u64).min(avail);
        }
        let limit = pos + want;
        // Walk batch headers from the indexed boundary nearest the limit to the exact cut:
        // the last whole batch within it, below `upper`.
        let mut at = self.cut_hint(&seg, pos, limit, upper);
        let mut end_offset = seg.next_offset.min(upper);
        while at < seg.end {
            let n = ((seg.end - at) as usize).min(SPAN_HEAD);
            seg.file.read_exact_at(&mut head[..n], at).map_err(io)?;
            let Some((base, len, _)) = batch::peek_span(&head[..n]) else {
                break;
            };
            if at + len as u64 > limit || base >= upper {
                end_offset = base.min(end_offset);
                break;
            }
            at += len as u64;
        }
        if at > pos {
            if committed {
                result.aborted = Some(self.aborted_between(offset, end_offset));
            }
            result.records = FileSlice::new(seg.file, pos, (at - pos) as usize);
            result.offsets_spanned = (end_offset - first_base).max(0);
        }
        Ok(result)
    }

    /// ListOffsets by timestamp: the first record whose timestamp is >= `target`,
    /// as (offset, timestamp); `None` if there is none.
    pub fn offset_for_timestamp(&self, target: i64) -> Result<Option<(i64, i64)>, LogError> {
        let start_offset = {
            let g = self.lock();
            let Some(seg) = g.segments.values().find(|s| s.max_timestamp >= target) else {
                return Ok(None);
            };
            (seg.base + seg.time_index.lookup(target) as i64).max(g.log_start)
        };
        let (_, hw) = self.offsets();
        let mut offset = start_offset;
        while offset < hw {
            let Some((file, pos)) = self.batch_position(offset)? else {
                return Ok(None);
            };
            let b = read_batch_at(&file, pos).map_err(|e| LogError::io(&self.dir, e))?;
            let Some(h) = BatchHeader::parse(&b) else {
                return Ok(None);
            };
            if h.max_timestamp >= target {
                return Ok(Some(first_at_or_after(&b, &h, target)));
            }
            offset = h.last_offset() + 1;
        }
        Ok(None)
    }

    /// ListOffsets MAX_TIMESTAMP (-3): the record with the largest timestamp.
    pub fn max_timestamp_offset(&self) -> Result<Option<(i64, i64)>, LogError> {
        let (ts, off) = {
            let g = self.lock();
            let mut best: Option<(i64, i64)> = None;
            for s in g.segments.values() {
                if s.max_timestamp >= 0 && best.is_none_or(|b| s.max_timestamp > b.0) {
                    best = Some((s.max_timestamp, s.offset_of_max_timestamp));
                }
            }
            match best {
                Some(b) => b,
                None => return Ok(None),
            }
        };
        let Some((file, pos)) = self.batch_position(off)? else {
            return Ok(None);
        };
        let b = read_batch_at(&file, pos).map_err(|e| LogError::io(&self.dir, e))?;
        let exact = batch::record_timestamps(&b)
            .and_then(|rs| rs.into_iter().find(|&(_, t)| t == ts).map(|(o, _)| o));
        Ok(Some((exact.unwrap_or(off), ts)))
    }

    /// DeleteRecords: moves the log start offset up to `offset` (the high watermark if
    /// -1). Whole segments below it are deleted. Returns the new log start offset.
    pub fn delete_records(&self, offset: i64) -> Result<i64, LogError> {
        let (removed, start) = {
            let mut g = self.lock();
            if g.deleted {
                return Err(LogError::Deleted);
            }
            let hw = g.next_offset();
            let target = if offset == -1 { hw } else { offset };
            if target < 0 || target > hw {
                return Err(LogError::OffsetOutOfRange {
                    offset,
                    start: g.log_start,
                    end: hw,
                });
            }
            let removed = g.advance_start(&self.dir, target)?;
            (removed, g.log_start)
        };
        remove_segment_files(&self.dir, removed);
        Ok(start)
    }

    /// Applies `retention.ms` and `retention.bytes` (negative: no limit): deletes the
    /// oldest segments while they are past either limit. The segment being written is
    /// never deleted; when it alone holds expired data it is rolled first, as Kafka does.
    pub fn apply_retention(
        &self,
        now: i64,
        retention_ms: i64,
        retention_bytes: i64,
    ) -> Result<Removed, LogError> {
        let (removed, log_start) = {
            let mut g = self.lock();
            if g.deleted {
                return Ok(Removed::default());
            }
            let expired = |s: &Segment| {
                retention_ms >= 0 && s.size > 0 && now - segment_time(s) > retention_ms
            };
            // Time: the oldest segments whose newest record is past retention.ms.
            let mut upto = None;
            for s in g.segments.values() {
                if !expired(s) {
                    break;
                }
                upto = Some(s.next_offset);
            }
            if upto.is_some() && upto == Some(g.next_offset()) {
                // Everything is expired, the active segment included: roll it first.
                g.roll(&self.dir)?;
            }
            // Size: drop the oldest sealed segments while the rest still exceed the limit.
            if retention_bytes >= 0 {
                let total: u64 = g.segments.values().map(|s| s.size).sum();
                let mut excess = total as i64 - retention_bytes;
                let sealed = g.segments.len().saturating_sub(1);
                for s in g.segments.values().take(sealed) {
                    if excess - (s.size as i64) < 0 {
                        break;
                    }
                    excess -= s.size as i64;
                    upto = Some(upto.map_or(s.next_offset, |u: i64| u.max(s.next_offset)));
                }
            }
            let Some(upto) = upto else {
                return Ok(Removed::default());
            };
            let removed = g.advance_start(&self.dir, upto)?;
            (removed, g.log_start)
        };
        let stats = Removed {
            segments: removed.len(),
            bytes: removed.iter().map(|s| s.size).sum(),
            log_start,
        };
        remove_segment_files(&self.dir, removed);
        Ok(stats)
    }

    /// Bytes of segment files (DescribeLogDirs).
    pub fn size_bytes(&self) -> u64 {
        self.lock().segments.values().map(|s| s.size).sum()
    }

    /// Seals indexes and fsyncs; called on clean shutdown.
    pub fn close(&self) -> io::Result<()> {
        let mut g = self.lock();
        if g.deleted {
            return Ok(());
        }
        for seg in g.segments.values_mut() {
            seg.close()?;
        }
        g.unflushed.clear();
        g.snapshot_producers(&self.dir, true)
    }

    /// The producers that wrote here (DescribeProducers).
    pub fn producers(&self) -> Vec<(i64, ProducerEntry)> {
        self.lock().producers.entries()
    }

    /// Forgets producers idle for `expiration_ms` (`producer.id.expiration.ms`).
    pub fn expire_producers(&self, now_ms: i64, expiration_ms: i64) -> usize {
        self.lock().producers.expire(now_ms, expiration_ms)
    }

    /// Removes the partition's files. The log must not be used afterwards.
    pub fn delete(&self) -> io::Result<()> {
        let mut g = self.lock();
        g.deleted = true;
        g.segments.clear();
        g.unflushed.clear();
        match fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// What a retention pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removed {
    pub segments: usize,
    pub bytes: u64,
    pub log_start: i64,
}

/// The time retention.ms is measured from: the segment's newest record timestamp, or
/// its file's modification time when it has none.
fn segment_time(s: &Segment) -> i64 {
    if s.max_timestamp >= 0 {
        return s.max_timestamp;
    }
    s.file
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(s.created_ms, |d| d.as_millis() as i64)
}

const LOG_START_FILE: &str = "log-start-offset";

/// The persisted log start offset (set by DeleteRecords and retention), if any.
fn read_log_start(dir: &Path) -> io::Result<Option<i64>> {
    match fs::read_to_string(dir.join(LOG_START_FILE)) {
        Ok(s) => Ok(s.trim().parse().ok()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes the log start offset durably.
fn write_log_start(dir: &Path, offset: i64) -> io::Result<()> {
    write_small_file(dir, LOG_START_FILE, &format!("{offset}\n"))
}

/// Replaces a small file atomically and durably (temp file, fsync, rename, fsync the
/// directory).
fn write_small_file(dir: &Path, name: &str, content: &str) -> io::Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    {
        let f = File::create(&tmp)?;
        f.write_all_at(content.as_bytes(), 0)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, dir.join(name))?;
    File::open(dir)?.sync_all()
}

/// Deletes removed segments' files: indexes first, the `.log` last, so a crash part way
/// leaves at most a segment whose offsets are below the persisted log start (removed
/// again at the next open).
fn remove_segment_files(dir: &Path, removed: Vec<Segment>) {
    let count = removed.len();
    for mut seg in removed {
        seg.offset_index.inner.discard();
        seg.time_index.inner.discard();
        for ext in ["index", "timeindex", "txnindex", "log"] {
            let p = segment_path(dir, seg.base, ext);
            if let Err(e) = fs::remove_file(&p) {
                if e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(file = %p.display(), error = %e, "removing segment file failed");
                }
            }
        }
        // Producer snapshots older than the first remaining segment are never read.
        if let Ok(offsets) = producer::snapshot_offsets(dir) {
            for o in offsets.into_iter().filter(|&o| o <= seg.base) {
                let _ = producer::remove_snapshot(dir, o);
            }
        }
    }
    if count > 0 {
        tracing::debug!(dir = %dir.display(), segments = count, "deleted segments");
    }
}

/// At most this many batches go into one `pwritev` (two slices each, under IOV_MAX).
const MAX_STAGED: usize = 256;

/// Batches of an `append_many` staged for one write, with what undoes them.
#[derive(Default)]
struct Group<'a> {
    staged: Vec<Staged<'a>>,
    bytes: u64,
    /// The offset after the last staged batch (`None`: the log end).
    next: Option<i64>,
    /// Each staged batch's producer entry as it was before it (to restore on failure).
    undo: Vec<(i64, Option<ProducerEntry>)>,
    /// Where each staged batch's result is.
    results: Vec<usize>,
}

/// A batch with its offsets assigned, waiting to be written: the stored header (built on
/// the stack) and the rest of the batch as the client sent it.
struct Staged<'a> {
    head: [u8; HEADER_LEN],
    rest: &'a [u8],
    /// The header as stored (offsets and LogAppendTime assigned).
    header: BatchHeader,
}

impl<'a> Staged<'a> {
    fn new(
        batch: &'a [u8],
        header: &BatchHeader,
        base_offset: i64,
        log_append_time: Option<i64>,
    ) -> Staged<'a> {
        let mut h = *header;
        h.base_offset = base_offset;
        if let Some(t) = log_append_time {
            h.max_timestamp = t;
        }
        Staged {
            head: batch::assigned_header(batch, base_offset, log_append_time),
            rest: &batch[HEADER_LEN..],
            header: h,
        }
    }

    fn len(&self) -> u64 {
        (HEADER_LEN + self.rest.len()) as u64
    }
}

/// Writes all of `slices` at `pos` with `pwritev(2)`: batches go from the request buffer
/// to the page cache in one call, their rewritten headers taken from the stack.
fn write_all_vectored_at(
    file: &File,
    mut slices: &mut [io::IoSlice<'_>],
    mut pos: u64,
) -> io::Result<()> {
    while !slices.is_empty() {
        match rustix::io::pwritev(file, slices, pos) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "failed to write the whole batch",
                ))
            }
            Ok(n) => {
                pos += n as u64;
                io::IoSlice::advance_slices(&mut slices, n);
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn read_batch_at(file: &File, pos: u64) -> io::Result<Vec<u8>> {
    let mut head = [0u8; 12];
    file.read_exact_at(&mut head, pos)?;
    let len = 12 + i32::from_be_bytes([head[8], head[9], head[10], head[11]]).max(0) as usize;
    let mut b = vec![0u8; len];
    file.read_exact_at(&mut b, pos)?;
    Ok(b)
}

/// Within one batch whose max timestamp is >= target, the first record at or after target.
fn first_at_or_after(b: &[u8], h: &BatchHeader, target: i64) -> (i64, i64) {
    if let Some(rs) = batch::record_timestamps(b) {
        if let Some(&(o, t)) = rs.iter().find(|&&(_, t)| t >= target) {
            return (o, t);
        }
    }
    // Unreadable (or over the decompression cap): answer at batch granularity.
    (h.base_offset, h.max_timestamp)
}

#[cfg(test)]
mod cleaner_tests;
#[cfg(test)]
mod tests;
