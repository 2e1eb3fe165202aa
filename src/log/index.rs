//! Memory-mapped, fixed-entry-size index files (offset index and time index).
//!
//! This is the only module in Rill that uses `unsafe`: mapping a file. The file is
//! preallocated to its capacity while open and trimmed to its used length when the
//! segment is closed, as Kafka does. We never shrink a file while it is mapped. No file
//! descriptor is kept while mapped (a mapping outlives its descriptor): one partition
//! then holds one open file (its active log segment's) plus two mappings, so thousands of
//! partitions fit in an ordinary open-files limit. Resizing reopens the file by path.
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use memmap2::MmapMut;

/// One open index file: `len` entries of `entry_size` bytes, room for `capacity`.
pub struct MmapIndex {
    path: PathBuf,
    map: Option<MmapMut>,
    entry_size: usize,
    len: usize,
    capacity: usize,
}

impl MmapIndex {
    /// Opens or creates `path`. Existing whole entries are kept (a partial trailing
    /// entry is dropped); the file is then extended to `max_bytes` and mapped.
    pub fn open(path: &Path, entry_size: usize, max_bytes: usize) -> io::Result<MmapIndex> {
        let file = open_rw(path, true)?;
        let existing = file.metadata()?.len() as usize;
        let capacity = (max_bytes / entry_size).max(existing / entry_size).max(1);
        let len = existing / entry_size;
        file.set_len((capacity * entry_size) as u64)?;
        // SAFETY: the file belongs to this struct (its segment's) and is only resized by
        // this struct, reopened by path, after the map is dropped (`close`), so the
        // mapping never outlives its bytes.
        // Other processes do not touch our data directory while it is locked by sled.
        let map = unsafe { MmapMut::map_mut(&file)? };
        Ok(MmapIndex {
            path: path.to_path_buf(),
            map: Some(map),
            entry_size,
            len,
            capacity,
        })
    }

    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn is_full(&self) -> bool {
        self.len >= self.capacity
    }
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The bytes of entry `i` (`i < len`).
    pub fn entry(&self, i: usize) -> &[u8] {
        let map = self.map.as_ref().map(|m| &m[..]).unwrap_or(&[]);
        &map[i * self.entry_size..(i + 1) * self.entry_size]
    }

    /// Appends one entry; returns false if the index is full.
    pub fn push(&mut self, entry: &[u8]) -> bool {
        debug_assert_eq!(entry.len(), self.entry_size);
        if self.is_full() {
            return false;
        }
        let at = self.len * self.entry_size;
        if let Some(map) = self.map.as_mut() {
            map[at..at + self.entry_size].copy_from_slice(entry);
            self.len += 1;
            true
        } else {
            false
        }
    }

    /// Forgets every entry from `n` on.
    pub fn truncate(&mut self, n: usize) {
        self.len = self.len.min(n);
    }

    /// Writes dirty pages to disk.
    pub fn flush(&self) -> io::Result<()> {
        match &self.map {
            Some(m) => m.flush(),
            None => Ok(()),
        }
    }

    /// Trims the file to its used length and remaps it at exactly that size: the index
    /// of a segment that will not grow any more.
    pub fn seal(&mut self) -> io::Result<()> {
        self.close()?;
        self.capacity = self.len;
        if self.len > 0 {
            let file = open_rw(&self.path, false)?;
            // SAFETY: as in `open`; the file was just trimmed to `len` entries and is not
            // resized again while this map lives (only `close` resizes, after unmapping).
            self.map = Some(unsafe { MmapMut::map_mut(&file)? });
        }
        Ok(())
    }

    /// Unmaps without writing anything back: the file is about to be deleted.
    pub fn discard(&mut self) {
        self.map = None;
    }

    /// Flushes, unmaps and trims the file to its used length (a sealed index already
    /// has it, so its file is not opened again: an ephemeral broker's data dir may be
    /// gone by the time the last reference to a segment drops).
    pub fn close(&mut self) -> io::Result<()> {
        if let Some(map) = self.map.take() {
            map.flush()?;
            let used = self.len * self.entry_size;
            let trimmed = map.len() == used;
            drop(map);
            if !trimmed {
                open_rw(&self.path, false)?.set_len(used as u64)?;
            }
        }
        Ok(())
    }
}

fn open_rw(path: &Path, create: bool) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(create)
        .truncate(false)
        .open(path)
}

impl Drop for MmapIndex {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::warn!(path = %self.path.display(), error = %e, "closing index failed");
        }
    }
}

/// Sparse offset index: (relative offset u32, file position u32) per entry.
pub struct OffsetIndex {
    pub inner: MmapIndex,
}

impl OffsetIndex {
    pub const ENTRY: usize = 8;

    pub fn entry(&self, i: usize) -> (u32, u32) {
        let e = self.inner.entry(i);
        (
            u32::from_be_bytes([e[0], e[1], e[2], e[3]]),
            u32::from_be_bytes([e[4], e[5], e[6], e[7]]),
        )
    }

    pub fn push(&mut self, rel_offset: u32, position: u32) -> bool {
        let mut e = [0u8; 8];
        e[..4].copy_from_slice(&rel_offset.to_be_bytes());
        e[4..].copy_from_slice(&position.to_be_bytes());
        self.inner.push(&e)
    }

    /// Position of the last indexed batch starting at or before `rel_offset` (0 if none).
    pub fn lookup(&self, rel_offset: u32) -> u32 {
        let n = self.inner.len();
        let (mut lo, mut hi) = (0usize, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.entry(mid).0 <= rel_offset {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if lo == 0 {
            0
        } else {
            self.entry(lo - 1).1
        }
    }

    /// The last indexed batch position at or before `position` (0 if none): a batch
    /// boundary from which a walk to `position` reads few headers.
    pub fn floor_position(&self, position: u64) -> u64 {
        let n = self.inner.len();
        let (mut lo, mut hi) = (0usize, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.entry(mid).1 as u64 <= position {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if lo == 0 {
            0
        } else {
            self.entry(lo - 1).1 as u64
        }
    }

    /// True if entries strictly increase in both fields and positions stay below `file_len`.
    pub fn is_sane(&self, file_len: u64) -> bool {
        let mut prev: Option<(u32, u32)> = None;
        for i in 0..self.inner.len() {
            let e = self.entry(i);
            if e.1 as u64 >= file_len.max(1) {
                return false;
            }
            if let Some(p) = prev {
                if e.0 <= p.0 || e.1 <= p.1 {
                    return false;
                }
            }
            prev = Some(e);
        }
        true
    }
}

/// Sparse time index: (max timestamp so far i64, relative offset u32) per entry.
pub struct TimeIndex {
    pub inner: MmapIndex,
}

impl TimeIndex {
    pub const ENTRY: usize = 12;

    pub fn entry(&self, i: usize) -> (i64, u32) {
        let e = self.inner.entry(i);
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&e[..8]);
        (
            i64::from_be_bytes(ts),
            u32::from_be_bytes([e[8], e[9], e[10], e[11]]),
        )
    }

    pub fn last(&self) -> Option<(i64, u32)> {
        let n = self.inner.len();
        (n > 0).then(|| self.entry(n - 1))
    }

    pub fn push(&mut self, timestamp: i64, rel_offset: u32) -> bool {
        if let Some((ts, off)) = self.last() {
            if timestamp <= ts || rel_offset <= off {
                return true;
            }
        }
        let mut e = [0u8; 12];
        e[..8].copy_from_slice(&timestamp.to_be_bytes());
        e[8..].copy_from_slice(&rel_offset.to_be_bytes());
        self.inner.push(&e)
    }

    /// Relative offset of the last entry whose timestamp is below `target` (0 if none):
    /// a safe place to start scanning for the first record at or after `target`.
    pub fn lookup(&self, target: i64) -> u32 {
        let n = self.inner.len();
        let (mut lo, mut hi) = (0usize, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.entry(mid).0 < target {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if lo == 0 {
            0
        } else {
            self.entry(lo - 1).1
        }
    }

    pub fn is_sane(&self) -> bool {
        let mut prev: Option<(i64, u32)> = None;
        for i in 0..self.inner.len() {
            let e = self.entry(i);
            if let Some(p) = prev {
                if e.0 <= p.0 || e.1 <= p.1 {
                    return false;
                }
            }
            prev = Some(e);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_index_roundtrip_and_trim() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("0.index");
        {
            let mut idx = OffsetIndex {
                inner: MmapIndex::open(&p, OffsetIndex::ENTRY, 1024).unwrap(),
            };
            assert!(idx.push(0, 0));
            assert!(idx.push(10, 4096));
            assert!(idx.push(20, 8192));
            assert_eq!(idx.lookup(15), 4096);
            assert_eq!(idx.lookup(25), 8192);
            assert!(idx.is_sane(10_000));
            assert!(!idx.is_sane(5000));
        }
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 24);
        let idx = OffsetIndex {
            inner: MmapIndex::open(&p, OffsetIndex::ENTRY, 1024).unwrap(),
        };
        assert_eq!(idx.inner.len(), 3);
        assert_eq!(idx.entry(2), (20, 8192));
    }

    #[test]
    fn time_index_lookup() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = TimeIndex {
            inner: MmapIndex::open(&dir.path().join("0.timeindex"), TimeIndex::ENTRY, 1200)
                .unwrap(),
        };
        t.push(100, 0);
        t.push(200, 5);
        t.push(150, 6); // not increasing: skipped
        t.push(300, 9);
        assert_eq!(t.inner.len(), 3);
        assert_eq!(t.lookup(50), 0);
        assert_eq!(t.lookup(200), 0);
        assert_eq!(t.lookup(201), 5);
        assert_eq!(t.lookup(1000), 9);
    }
}
