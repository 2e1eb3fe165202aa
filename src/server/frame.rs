//! Size-prefixed frames: a big-endian i32 length, then that many bytes. The length is
//! checked before anything is allocated, and the buffer grows only as bytes arrive.

use bytes::{Buf, Bytes, BytesMut};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt};

/// The smallest request: api key, api version, correlation id.
pub const MIN_REQUEST: usize = 8;

#[derive(Debug, Error)]
pub enum FrameError {
    #[error("frame size {0} is negative")]
    Negative(i32),
    #[error("frame size {size} exceeds the limit of {max} bytes (--max-request-bytes)")]
    TooLarge { size: usize, max: usize },
    #[error("frame size {0} is smaller than a request header")]
    TooSmall(usize),
    #[error("connection closed in the middle of a frame")]
    Truncated,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Reads within one connection's buffer: each frame is split off the buffer, which is
/// reused once the frame is dropped, so reading requests allocates nothing in the steady
/// state and a big frame's bytes are read once, straight to where they stay.
pub struct FrameReader {
    buf: BytesMut,
}

/// Bytes read at a time between frames (and the buffer's first size).
const READ_CHUNK: usize = 64 * 1024;

impl Default for FrameReader {
    fn default() -> Self {
        FrameReader::new()
    }
}

impl FrameReader {
    pub fn new() -> FrameReader {
        FrameReader {
            buf: BytesMut::with_capacity(READ_CHUNK),
        }
    }

    /// True if another whole frame is already buffered (requests pipelined).
    pub fn has_frame(&self) -> bool {
        has_complete_frame(&self.buf)
    }

    /// True if another whole frame is buffered and is a request with this API key.
    pub fn has_frame_of(&self, api_key: i16) -> bool {
        self.has_frame() && self.buf.len() >= 6 && self.buf[4..6] == api_key.to_be_bytes()
    }

    /// The next frame's body (after the size prefix); `Ok(None)` on a clean end of stream
    /// between frames. The size is checked before anything is allocated for it, and the
    /// buffer grows only as the frame's bytes arrive.
    pub async fn next<R: AsyncRead + Unpin>(
        &mut self,
        r: &mut R,
        max: usize,
    ) -> Result<Option<Bytes>, FrameError> {
        self.next_sized(r, max, MIN_REQUEST).await
    }

    /// A size-prefixed SASL token of the legacy exchange (after SaslHandshake v0): like
    /// [`next`](Self::next), but any size up to `max`, empty included.
    pub async fn next_token<R: AsyncRead + Unpin>(
        &mut self,
        r: &mut R,
        max: usize,
    ) -> Result<Option<Bytes>, FrameError> {
        self.next_sized(r, max, 0).await
    }

    async fn next_sized<R: AsyncRead + Unpin>(
        &mut self,
        r: &mut R,
        max: usize,
        min: usize,
    ) -> Result<Option<Bytes>, FrameError> {
        loop {
            let mut missing = 0usize;
            if self.buf.len() >= 4 {
                let size = check_size(&self.buf, max, min)?;
                if self.buf.len() >= 4 + size {
                    self.buf.advance(4);
                    return Ok(Some(self.buf.split_to(size).freeze()));
                }
                missing = 4 + size - self.buf.len();
            }
            let n = if missing > READ_CHUNK {
                // Read exactly to the frame's end, so the buffer is free again after it.
                self.buf
                    .reserve(missing.min(self.buf.len().max(READ_CHUNK)));
                (&mut *r)
                    .take(missing as u64)
                    .read_buf(&mut self.buf)
                    .await?
            } else {
                self.buf.reserve(READ_CHUNK);
                r.read_buf(&mut self.buf).await?
            };
            if n == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(FrameError::Truncated)
                };
            }
        }
    }
}

fn check_size(buf: &[u8], max: usize, min: usize) -> Result<usize, FrameError> {
    let size = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    if size < 0 {
        return Err(FrameError::Negative(size));
    }
    let size = size as usize;
    if size > max {
        return Err(FrameError::TooLarge { size, max });
    }
    if size < min {
        return Err(FrameError::TooSmall(size));
    }
    Ok(size)
}

/// True if `buf` already holds at least one complete frame.
pub fn has_complete_frame(buf: &[u8]) -> bool {
    if buf.len() < 4 {
        return false;
    }
    let size = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    size >= 0 && buf.len() >= 4 + size as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_are_bounded_before_allocation() {
        let read = |mut bytes: &'static [u8]| async move {
            let mut r = FrameReader::new();
            let first = r.next(&mut bytes, 100).await;
            (first, r.next(&mut bytes, 100).await)
        };
        let (one, two) = read(&[0, 0, 0, 8, 0, 18, 0, 0, 0, 0, 0, 1]).await;
        assert_eq!(one.unwrap().unwrap().len(), 8);
        assert!(two.unwrap().is_none());
        assert!(matches!(
            read(&[0xff, 0xff, 0xff, 0xff]).await.0,
            Err(FrameError::Negative(-1))
        ));
        assert!(matches!(
            read(&[0x7f, 0xff, 0xff, 0xff]).await.0,
            Err(FrameError::TooLarge { .. })
        ));
        assert!(matches!(
            read(&[0, 0, 0, 2, 0, 0]).await.0,
            Err(FrameError::TooSmall(2))
        ));
        assert!(matches!(
            read(&[0, 0, 0, 9, 1, 2]).await.0,
            Err(FrameError::Truncated)
        ));
    }

    /// Pipelined frames of mixed sizes, some larger than a read, come out whole and in
    /// order.
    #[tokio::test]
    async fn pipelined_frames_come_out_whole() {
        let mut wire = Vec::new();
        let sizes = [8usize, 300_000, 20, 300_000, 70_000, 9];
        for (i, &n) in sizes.iter().enumerate() {
            wire.extend_from_slice(&(n as i32).to_be_bytes());
            wire.extend((0..n).map(|j| (i + j) as u8));
        }
        {
            let mut r = FrameReader::new();
            let mut src: &[u8] = &wire;
            for (i, &n) in sizes.iter().enumerate() {
                let f = r.next(&mut src, 1 << 20).await.unwrap().unwrap();
                assert_eq!(f.len(), n);
                assert!(f.iter().enumerate().all(|(j, &b)| b == (i + j) as u8));
            }
            assert!(r.next(&mut src, 1 << 20).await.unwrap().is_none());
        }
    }
}
