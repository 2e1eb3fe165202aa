//! Stored bytes handed to fetches by reference: a byte range of a segment file. The
//! network side sends it to the socket straight from the file (`sendfile(2)`), or copies
//! it through a reused buffer where it must (see `server::outbox`). Holding the file open
//! keeps the bytes readable even if retention or compaction removes the segment meanwhile.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

/// Whole record batches as stored: `len` bytes of `file` from `pos`.
#[derive(Debug, Clone, Default)]
pub struct FileSlice {
    file: Option<Arc<File>>,
    pos: u64,
    len: usize,
}

impl FileSlice {
    pub(crate) fn new(file: Arc<File>, pos: u64, len: usize) -> FileSlice {
        FileSlice {
            file: (len > 0).then_some(file),
            pos,
            len,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The file and the position of the slice's first byte (`None` when empty).
    pub fn file(&self) -> Option<(&File, u64)> {
        self.file.as_deref().map(|f| (f, self.pos))
    }

    /// Copies `buf.len()` bytes starting `from` bytes into the slice.
    pub fn read_into(&self, from: usize, buf: &mut [u8]) -> io::Result<()> {
        if from + buf.len() > self.len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "read past the end of a file slice",
            ));
        }
        match &self.file {
            Some(f) => f.read_exact_at(buf, self.pos + from as u64),
            None => Ok(()),
        }
    }

    /// The bytes, read into memory (tests and small paths).
    pub fn to_vec(&self) -> io::Result<Vec<u8>> {
        let mut v = vec![0u8; self.len];
        self.read_into(0, &mut v)?;
        Ok(v)
    }
}
