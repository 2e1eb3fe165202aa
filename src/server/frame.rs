//! Size-prefixed frames: a big-endian i32 length, then that many bytes. The length is
//! checked before anything is allocated, and the body buffer grows only as bytes arrive.

use bytes::BytesMut;
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

/// Reads one frame; `Ok(None)` on a clean end of stream between frames.
pub async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
) -> Result<Option<BytesMut>, FrameError> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        let n = r.read(&mut len[got..]).await?;
        if n == 0 {
            return if got == 0 {
                Ok(None)
            } else {
                Err(FrameError::Truncated)
            };
        }
        got += n;
    }
    let size = i32::from_be_bytes(len);
    if size < 0 {
        return Err(FrameError::Negative(size));
    }
    let size = size as usize;
    if size > max {
        return Err(FrameError::TooLarge { size, max });
    }
    if size < MIN_REQUEST {
        return Err(FrameError::TooSmall(size));
    }
    let mut buf = BytesMut::with_capacity(size.min(64 * 1024));
    while buf.len() < size {
        if buf.capacity() == buf.len() {
            buf.reserve((size - buf.len()).min(buf.len().max(64 * 1024)));
        }
        let n = (&mut *r)
            .take((size - buf.len()) as u64)
            .read_buf(&mut buf)
            .await?;
        if n == 0 {
            return Err(FrameError::Truncated);
        }
    }
    Ok(Some(buf))
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
        let mut ok: &[u8] = &[0, 0, 0, 8, 0, 18, 0, 0, 0, 0, 0, 1];
        assert_eq!(read_frame(&mut ok, 100).await.unwrap().unwrap().len(), 8);
        assert!(read_frame(&mut ok, 100).await.unwrap().is_none());
        let mut neg: &[u8] = &[0xff, 0xff, 0xff, 0xff];
        assert!(matches!(
            read_frame(&mut neg, 100).await,
            Err(FrameError::Negative(-1))
        ));
        let mut huge: &[u8] = &[0x7f, 0xff, 0xff, 0xff];
        assert!(matches!(
            read_frame(&mut huge, 100).await,
            Err(FrameError::TooLarge { .. })
        ));
        let mut small: &[u8] = &[0, 0, 0, 2, 0, 0];
        assert!(matches!(
            read_frame(&mut small, 100).await,
            Err(FrameError::TooSmall(2))
        ));
        let mut cut: &[u8] = &[0, 0, 0, 9, 1, 2];
        assert!(matches!(
            read_frame(&mut cut, 100).await,
            Err(FrameError::Truncated)
        ));
    }
}
