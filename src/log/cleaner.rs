//! Log compaction (`cleanup.policy=compact`): keeps the latest record of every key at its
//! original offset, as Kafka's log cleaner does.
//!
//! One pass over a partition:
//! 1. Under the lock, note the segments, the last stable offset and the cleaner checkpoint
//!    (the first dirty offset, persisted in `cleaner-offset`). The cleanable range ends at
//!    the active segment (never cleaned, as in Kafka: the log's last batch always stays),
//!    the last stable offset, and the first segment younger than `min.compaction.lag.ms`. Nothing happens unless the dirty share of that range reaches
//!    `min.cleanable.dirty.ratio`, or its oldest dirty record is older than
//!    `max.compaction.lag.ms`.
//! 2. Without the lock, build a key-hash → latest-offset map over the dirty part (bounded:
//!    when it is full, only what it covers is cleaned this pass).
//! 3. Without the lock, rewrite the cleanable segments, a group at a time (up to
//!    `segment.bytes` each), into `.cleaning/`: a record is kept if no later record has its
//!    key; tombstones also go once older than `delete.retention.ms`; batches of aborted
//!    transactions go; a transaction marker goes once older than `delete.retention.ms` if
//!    no record of its transaction is left (Kafka's "when safe"). Kept batches are copied verbatim, or rebuilt
//!    with only their kept records (same base offset and offset deltas).
//! 4. Under the lock, swap: rename `.cleaning` to `.swap-<base>` (the commit point), delete
//!    the old segments' files, move the new ones in. A crash before the rename leaves the
//!    old segments (the `.cleaning` directory is removed on open); after it, open finishes
//!    the swap. Reads that already hold an old file keep reading it.

use std::collections::HashMap;
use std::fs::{self, File};
use std::hash::{Hash, Hasher};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::batch::{self, BatchHeader, HEADER_LEN};
use super::producer::AbortedTxn;
use super::{segment_path, LogConfig, LogError, PartitionLog, Segment};

/// The compaction settings of one partition (Kafka's topic configs) and of the cleaner.
#[derive(Debug, Clone, Copy)]
pub struct CleanerConfig {
    /// `min.cleanable.dirty.ratio`
    pub min_dirty_ratio: f64,
    /// `min.compaction.lag.ms`
    pub min_lag_ms: i64,
    /// `max.compaction.lag.ms`
    pub max_lag_ms: i64,
    /// `delete.retention.ms`
    pub delete_retention_ms: i64,
    /// Most keys the offset map holds (from `--log-cleaner-dedupe-buffer-size`).
    pub map_entries: usize,
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanStats {
    pub segments_in: usize,
    pub segments_out: usize,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub records_removed: u64,
    /// The offset map filled before the dirty part ended.
    pub map_full: bool,
}

pub(super) const CHECKPOINT_FILE: &str = "cleaner-offset";
const CLEANING_DIR: &str = ".cleaning";
const SWAP_PREFIX: &str = ".swap-";

/// Bytes per offset-map entry, counted as Kafka counts its dedupe buffer (a 16-byte key
/// hash and an 8-byte offset), plus the hash table's own overhead.
pub const MAP_ENTRY_BYTES: usize = 32;

#[derive(Clone)]
struct SegInfo {
    base: i64,
    next_offset: i64,
    size: u64,
    max_timestamp: i64,
    file: Arc<File>,
}

fn key_hash(key: &[u8]) -> u128 {
    let mut a = std::hash::DefaultHasher::new();
    key.hash(&mut a);
    let mut b = std::hash::DefaultHasher::new();
    0xC1EA_u16.hash(&mut b);
    key.hash(&mut b);
    ((a.finish() as u128) << 64) | b.finish() as u128
}

pub(super) fn read_checkpoint(dir: &Path) -> io::Result<Option<i64>> {
    match fs::read_to_string(dir.join(CHECKPOINT_FILE)) {
        Ok(s) => Ok(s.trim().parse().ok()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn write_checkpoint(dir: &Path, offset: i64) -> io::Result<()> {
    super::write_small_file(dir, CHECKPOINT_FILE, &format!("{offset}\n"))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn remove_segment(dir: &Path, base: i64, with_txn_index: bool) -> io::Result<()> {
    let exts: &[&str] = if with_txn_index {
        &["index", "timeindex", "txnindex", "log"]
    } else {
        &["index", "timeindex", "log"]
    };
    for ext in exts {
        match fs::remove_file(segment_path(dir, base, ext)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// Moves a finished swap directory's files into the partition directory.
fn install(dir: &Path, swap: &Path, base: i64) -> io::Result<()> {
    for ext in ["index", "timeindex", "log"] {
        let from = segment_path(swap, base, ext);
        if from.exists() {
            fs::rename(&from, segment_path(dir, base, ext))?;
        }
    }
    fs::remove_dir_all(swap)?;
    sync_dir(dir)
}

/// The last offset stored in a segment file (base - 1 when it is empty).
fn last_offset_in(path: &Path, base: i64) -> io::Result<i64> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut head = [0u8; HEADER_LEN];
    let (mut pos, mut last) = (0u64, base - 1);
    while pos + HEADER_LEN as u64 <= len {
        file.read_exact_at(&mut head, pos)?;
        let Some(h) = BatchHeader::parse(&head) else {
            break;
        };
        if h.batch_length < (HEADER_LEN - batch::LOG_OVERHEAD) as i32 {
            break;
        }
        last = h.last_offset();
        pos += h.total_len() as u64;
    }
    Ok(last)
}

/// Run at open, before segments are listed: drops an unfinished `.cleaning` directory
/// and completes any swap that was committed (renamed) but not installed.
pub(super) fn recover(dir: &Path) -> io::Result<()> {
    let cleaning = dir.join(CLEANING_DIR);
    if cleaning.exists() {
        tracing::info!(dir = %dir.display(), "removing an unfinished compaction");
        fs::remove_dir_all(&cleaning)?;
    }
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(base) = name
            .strip_prefix(SWAP_PREFIX)
            .and_then(|b| b.parse::<i64>().ok())
        else {
            continue;
        };
        let swap = entry.path();
        let new_log = segment_path(&swap, base, "log");
        if !new_log.exists() {
            // Installed already; only the empty directory is left.
            fs::remove_dir_all(&swap)?;
            continue;
        }
        let last = last_offset_in(&new_log, base)?;
        tracing::info!(dir = %dir.display(), base, last, "finishing an interrupted compaction swap");
        for e in fs::read_dir(dir)? {
            let n = e?.file_name().to_string_lossy().into_owned();
            if let Some(b) = n.strip_suffix(".log").and_then(|s| s.parse::<i64>().ok()) {
                if b == base || (b > base && b <= last) {
                    remove_segment(dir, b, b != base)?;
                }
            }
        }
        install(dir, &swap, base)?;
    }
    Ok(())
}

/// Reads batches of a sealed segment one at a time (bounded memory: one batch).
struct BatchReader<'a> {
    seg: &'a SegInfo,
    pos: u64,
    buf: Vec<u8>,
}

impl<'a> BatchReader<'a> {
    fn new(seg: &'a SegInfo) -> Self {
        BatchReader {
            seg,
            pos: 0,
            buf: Vec::new(),
        }
    }

    fn next_batch(&mut self) -> io::Result<Option<(BatchHeader, &[u8])>> {
        let mut head = [0u8; HEADER_LEN];
        if self.pos + HEADER_LEN as u64 > self.seg.size {
            return Ok(None);
        }
        self.seg.file.read_exact_at(&mut head, self.pos)?;
        let Some(h) = BatchHeader::parse(&head) else {
            return Ok(None);
        };
        let len = h.total_len() as u64;
        if h.batch_length < (HEADER_LEN - batch::LOG_OVERHEAD) as i32
            || self.pos + len > self.seg.size
        {
            return Ok(None);
        }
        self.buf.resize(len as usize, 0);
        self.seg.file.read_exact_at(&mut self.buf, self.pos)?;
        self.pos += len;
        Ok(Some((h, &self.buf)))
    }
}

fn is_aborted(aborted: &[AbortedTxn], h: &BatchHeader) -> bool {
    h.is_transactional()
        && !h.is_control()
        && aborted.iter().any(|a| {
            a.producer_id == h.producer_id
                && a.first_offset <= h.base_offset
                && h.base_offset < a.last_offset
        })
}

fn corrupt(path: &Path, what: &str) -> LogError {
    LogError::io(
        path,
        io::Error::new(io::ErrorKind::InvalidData, what.to_string()),
    )
}

impl PartitionLog {
    /// One compaction pass (see the module docs). `Ok(None)` when nothing was due.
    pub fn clean(&self, now: i64, cc: &CleanerConfig) -> Result<Option<CleanStats>, LogError> {
        // 1. What to clean.
        let (segs, active_base, lso, first_dirty, aborted, log_cfg) = {
            let g = self.lock();
            if g.deleted {
                return Ok(None);
            }
            let segs: Vec<SegInfo> = g
                .segments
                .values()
                .map(|s| SegInfo {
                    base: s.base,
                    next_offset: s.next_offset,
                    size: s.size,
                    max_timestamp: s.max_timestamp,
                    file: s.file.clone(),
                })
                .collect();
            let next = g.next_offset();
            let lso = g.producers.first_unstable_offset().unwrap_or(next);
            let active_base = g.segments.keys().next_back().copied().unwrap_or(0);
            (
                segs,
                active_base,
                lso,
                g.cleaner_checkpoint.max(g.log_start),
                g.aborted.clone(),
                g.config.clone(),
            )
        };
        let mut uncleanable = active_base.min(lso);
        for s in &segs {
            if s.max_timestamp > now.saturating_sub(cc.min_lag_ms) {
                uncleanable = uncleanable.min(s.base);
                break;
            }
        }
        let cleanable: Vec<&SegInfo> = segs
            .iter()
            .filter(|s| s.base < active_base && s.next_offset <= uncleanable)
            .collect();
        let total: u64 = cleanable.iter().map(|s| s.size).sum();
        let dirty_segs: Vec<&SegInfo> = cleanable
            .iter()
            .copied()
            .filter(|s| s.next_offset > first_dirty)
            .collect();
        let dirty: u64 = dirty_segs.iter().map(|s| s.size).sum();
        if dirty == 0 || total == 0 {
            return Ok(None);
        }
        let overdue = match dirty_segs.first() {
            Some(s) => match BatchReader::new(s).next_batch() {
                Ok(Some((h, _))) => h.base_timestamp < now.saturating_sub(cc.max_lag_ms),
                _ => false,
            },
            None => false,
        };
        if (dirty as f64) / (total as f64) < cc.min_dirty_ratio && !overdue {
            return Ok(None);
        }

        // 2. The offset map over the dirty part.
        let mut stats = CleanStats::default();
        let mut map: HashMap<u128, i64> = HashMap::with_capacity(cc.map_entries.min(1 << 16));
        let mut upto = dirty_segs.last().map_or(first_dirty, |s| s.next_offset);
        'build: for s in &dirty_segs {
            let mut r = BatchReader::new(s);
            while let Some((h, b)) = r.next_batch().map_err(|e| LogError::io(&self.dir, e))? {
                stats.bytes_read += b.len() as u64;
                if h.last_offset() < first_dirty || h.is_control() || is_aborted(&aborted, &h) {
                    continue;
                }
                if map.len() + h.record_count.max(0) as usize > cc.map_entries {
                    upto = h.base_offset;
                    stats.map_full = true;
                    break 'build;
                }
                let records = batch::records_section(b, &h)
                    .ok_or_else(|| corrupt(&self.dir, "unreadable batch in log being cleaned"))?;
                let views = batch::parse_records(&records, h.record_count)
                    .ok_or_else(|| corrupt(&self.dir, "malformed records in log being cleaned"))?;
                for v in views {
                    let offset = h.base_offset + v.offset_delta;
                    if let (Some(k), true) = (v.key, offset >= first_dirty) {
                        map.insert(key_hash(k), offset);
                    }
                }
            }
        }

        if upto <= first_dirty {
            tracing::warn!(dir = %self.dir.display(), entries = cc.map_entries, "offset map too small for one batch; raise --log-cleaner-dedupe-buffer-size");
            return Ok(None);
        }
        // 3. Rewrite every cleanable segment starting below `upto` (the one the map filled
        //    in included: its records past `upto` are not in the map, so they stay), a
        //    group at a time.
        let to_clean: Vec<&SegInfo> = cleanable
            .iter()
            .copied()
            .filter(|s| s.base < upto)
            .collect();
        if to_clean.is_empty() {
            return Ok(None);
        }
        let mut groups: Vec<Vec<&SegInfo>> = Vec::new();
        for s in to_clean {
            match groups.last_mut() {
                Some(g)
                    if g.iter().map(|x| x.size).sum::<u64>() + s.size <= log_cfg.segment_bytes
                        && s.next_offset - g[0].base < i32::MAX as i64 =>
                {
                    g.push(s)
                }
                _ => groups.push(vec![s]),
            }
        }
        let delete_before = now.saturating_sub(cc.delete_retention_ms);
        // Producer id → whether its transaction in progress (in log order) kept a record.
        let mut txn_data: HashMap<i64, bool> = HashMap::new();
        for group in groups {
            let (written, removed) = self.rewrite_group(
                &group,
                &map,
                &aborted,
                delete_before,
                &log_cfg,
                &mut txn_data,
            )?;
            match written {
                Some(bytes) => {
                    stats.segments_in += group.len();
                    stats.segments_out += 1;
                    stats.bytes_written += bytes;
                    stats.records_removed += removed;
                }
                None => return Ok(Some(stats)), // the log changed underneath: next pass
            }
            // 4. Everything below this group's end has now been compared with the map
            //    (groups go from the log start up), so the clean part ends there: a pass
            //    cut short (a crash) resumes from it.
            let end = group
                .last()
                .map_or(first_dirty, |s| s.next_offset.min(upto));
            self.advance_checkpoint(end)?;
        }
        self.advance_checkpoint(upto)?;
        Ok(Some(stats))
    }

    /// Moves the persisted first dirty offset up to `offset`.
    fn advance_checkpoint(&self, offset: i64) -> Result<(), LogError> {
        let mut g = self.lock();
        if !g.deleted && offset > g.cleaner_checkpoint {
            write_checkpoint(&self.dir, offset).map_err(|e| LogError::io(&self.dir, e))?;
            g.cleaner_checkpoint = offset;
        }
        Ok(())
    }

    /// Writes one group's cleaned copy into `.cleaning/` and swaps it in. Returns the
    /// bytes written and records removed, or `None` if the group changed meanwhile
    /// (retention or DeleteRecords removed a segment).
    fn rewrite_group(
        &self,
        group: &[&SegInfo],
        map: &HashMap<u128, i64>,
        aborted: &[AbortedTxn],
        delete_before: i64,
        cfg: &LogConfig,
        txn_data: &mut HashMap<i64, bool>,
    ) -> Result<(Option<u64>, u64), LogError> {
        let base = group[0].base;
        let tmp = self.dir.join(CLEANING_DIR);
        let io_err = |p: &Path| {
            let p = p.to_path_buf();
            move |e| LogError::io(&p, e)
        };
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
        }
        fs::create_dir(&tmp).map_err(io_err(&tmp))?;
        let mut out = Segment::open(&tmp, base, cfg)?;
        let mut removed = 0u64;
        for s in group {
            let mut r = BatchReader::new(s);
            while let Some((h, b)) = r.next_batch().map_err(|e| LogError::io(&self.dir, e))? {
                let kept: Option<Vec<u8>> = if h.is_control() {
                    // A marker whose transaction has no record left goes once older than
                    // delete.retention.ms (aborted data always goes, so abort markers do).
                    let retained = txn_data.remove(&h.producer_id).unwrap_or(false);
                    if !retained && h.max_timestamp < delete_before {
                        removed += 1;
                        None
                    } else {
                        Some(b.to_vec())
                    }
                } else if is_aborted(aborted, &h) {
                    removed += h.record_count.max(0) as u64;
                    txn_data.entry(h.producer_id).or_insert(false);
                    None
                } else {
                    let records = batch::records_section(b, &h).ok_or_else(|| {
                        corrupt(&self.dir, "unreadable batch in log being cleaned")
                    })?;
                    let views =
                        batch::parse_records(&records, h.record_count).ok_or_else(|| {
                            corrupt(&self.dir, "malformed records in log being cleaned")
                        })?;
                    let keep: Vec<&[u8]> = views
                        .iter()
                        .filter(|v| {
                            let offset = h.base_offset + v.offset_delta;
                            let Some(k) = v.key else {
                                return false; // keyless records have no place in a compacted log
                            };
                            let latest = map.get(&key_hash(k)).is_none_or(|&o| o <= offset);
                            let expired_tombstone =
                                v.tombstone && h.base_timestamp + v.timestamp_delta < delete_before;
                            latest && !expired_tombstone
                        })
                        .map(|v| v.raw)
                        .collect();
                    removed += (views.len() - keep.len()) as u64;
                    if h.is_transactional() {
                        *txn_data.entry(h.producer_id).or_insert(false) |= !keep.is_empty();
                    }
                    if keep.len() == views.len() {
                        Some(b.to_vec())
                    } else if keep.is_empty() {
                        None
                    } else {
                        Some(
                            batch::rebuild(b, &h, &keep)
                                .map_err(|e| corrupt(&self.dir, &e.to_string()))?,
                        )
                    }
                };
                if let Some(nb) = kept {
                    let nh = BatchHeader::parse(&nb)
                        .ok_or_else(|| corrupt(&self.dir, "rebuilt batch"))?;
                    let pos = out.size;
                    out.file.write_all_at(&nb, pos).map_err(io_err(&out.path))?;
                    out.note_batch(&nh, pos, nb.len() as u64, cfg);
                }
            }
        }
        out.seal().map_err(io_err(&out.path))?;
        out.file.sync_all().map_err(io_err(&out.path))?;
        let written = out.size;
        drop(out);
        sync_dir(&tmp).map_err(io_err(&tmp))?;

        // Swap, under the lock.
        let mut g = self.lock();
        let unchanged = !g.deleted
            && group.iter().all(|s| {
                g.segments
                    .get(&s.base)
                    .is_some_and(|x| x.size == s.size && Arc::ptr_eq(&x.file, &s.file))
            });
        if !unchanged {
            drop(g);
            fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
            return Ok((None, 0));
        }
        let swap: PathBuf = self.dir.join(format!("{SWAP_PREFIX}{base}"));
        fs::rename(&tmp, &swap).map_err(io_err(&swap))?;
        sync_dir(&self.dir).map_err(io_err(&self.dir))?;
        for s in group {
            if let Some(mut old) = g.segments.remove(&s.base) {
                old.offset_index.inner.discard();
                old.time_index.inner.discard();
            }
            remove_segment(&self.dir, s.base, s.base != base).map_err(io_err(&self.dir))?;
            g.unflushed.retain(|f| !Arc::ptr_eq(f, &s.file));
        }
        install(&self.dir, &swap, base).map_err(io_err(&self.dir))?;
        let seg = Segment::load(&self.dir, base, cfg, false, true)?;
        g.segments.insert(base, seg);
        Ok((Some(written), removed))
    }
}
