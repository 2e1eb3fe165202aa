//! Early write-back: ask the kernel to start writing a just-appended range of a segment
//! to disk, without waiting for it (`sync_file_range(2)` with `SYNC_FILE_RANGE_WRITE`).
//! This is not a durability point (no device flush, no metadata); it only keeps the
//! amount of dirty data small, so that the periodic fdatasync of `--fsync interval` (and
//! the kernel's own write-back under `never`) finds little left to do and appends to the
//! same file are not held up behind it.
//!
//! With `index.rs`, the only module allowed `unsafe`: one FFI call.
#![allow(unsafe_code)]

use std::fs::File;
use std::os::fd::AsRawFd;

/// Starts write-back of `len` bytes at `offset` of `file`. Best effort: a failure is
/// logged and otherwise ignored (the periodic fdatasync still covers the data).
pub fn start(file: &File, offset: u64, len: u64) {
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: a plain syscall on a file descriptor that `file` keeps open for the duration
    // of the call; no memory is passed to or written by the kernel.
    let rc = unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE)
    };
    if rc != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "sync_file_range failed");
    }
}
