//! The transaction index: aborted transactions, one file per segment
//! (`<base offset:020>.txnindex`), appended when an abort marker is written to that
//! segment. Fetches under read_committed return the aborted transactions that overlap
//! the fetched range so consumers can drop those records.
//!
//! Entry (34 bytes, big-endian): `version i16 (0) | producer id i64 | first offset i64 |
//! last offset i64 | last stable offset i64`.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::producer::AbortedTxn;

const ENTRY: usize = 34;

pub fn path(dir: &Path, base: i64) -> PathBuf {
    dir.join(format!("{base:020}.txnindex"))
}

fn encode(a: &AbortedTxn) -> [u8; ENTRY] {
    let mut b = [0u8; ENTRY];
    b[2..10].copy_from_slice(&a.producer_id.to_be_bytes());
    b[10..18].copy_from_slice(&a.first_offset.to_be_bytes());
    b[18..26].copy_from_slice(&a.last_offset.to_be_bytes());
    b[26..34].copy_from_slice(&a.last_stable_offset.to_be_bytes());
    b
}

fn i64_at(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

/// Appends one entry to the segment's index.
pub fn append(dir: &Path, base: i64, a: &AbortedTxn) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path(dir, base))?;
    f.write_all(&encode(a))
}

/// Reads a segment's entries, keeping only whole ones whose marker lies below `end`
/// (a torn write or a truncated log tail drops the rest, and the file is rewritten).
pub fn load(dir: &Path, base: i64, end: i64) -> io::Result<Vec<AbortedTxn>> {
    let p = path(dir, base);
    let bytes = match fs::read(&p) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let entries: Vec<AbortedTxn> = bytes
        .chunks_exact(ENTRY)
        .map(|c| AbortedTxn {
            producer_id: i64_at(c, 2),
            first_offset: i64_at(c, 10),
            last_offset: i64_at(c, 18),
            last_stable_offset: i64_at(c, 26),
        })
        .take_while(|a| a.last_offset < end)
        .collect();
    if entries.len() * ENTRY != bytes.len() {
        let kept: Vec<u8> = entries.iter().flat_map(encode).collect();
        fs::write(&p, kept)?;
    }
    Ok(entries)
}

pub fn remove(dir: &Path, base: i64) -> io::Result<()> {
    match fs::remove_file(path(dir, base)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_load_and_truncate() {
        let dir = tempfile::tempdir().unwrap();
        let a = |first, last| AbortedTxn {
            producer_id: 9,
            first_offset: first,
            last_offset: last,
            last_stable_offset: last + 1,
        };
        append(dir.path(), 0, &a(0, 5)).unwrap();
        append(dir.path(), 0, &a(6, 9)).unwrap();
        assert_eq!(load(dir.path(), 0, 100).unwrap(), vec![a(0, 5), a(6, 9)]);
        // A torn entry is dropped.
        let mut f = OpenOptions::new()
            .append(true)
            .open(path(dir.path(), 0))
            .unwrap();
        f.write_all(&[1, 2, 3]).unwrap();
        assert_eq!(load(dir.path(), 0, 100).unwrap().len(), 2);
        // Entries past the log end go, and stay gone.
        assert_eq!(load(dir.path(), 0, 8).unwrap(), vec![a(0, 5)]);
        assert_eq!(fs::read(path(dir.path(), 0)).unwrap().len(), ENTRY);
        assert!(load(dir.path(), 1, 100).unwrap().is_empty());
    }
}
