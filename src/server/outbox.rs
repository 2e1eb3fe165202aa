//! The writing side of a connection: responses go out through one reused buffer, and
//! the stored record bytes of a Fetch response go from the segment files to the socket
//! with `sendfile(2)` (as Kafka's zero-copy transfer does), so they are never copied
//! into user space. Small slices, and every slice when zero-copy is off or the connection is TLS,
//! are read into the same buffer instead: one copy, no allocation.
//!
//! No `unsafe` here: `sendfile` comes through rustix's safe wrapper, and tokio's
//! readiness (`writable` / `try_io`) makes it work on the non-blocking socket.

use std::io;
use std::os::fd::AsFd;

use tokio::io::{AsyncWrite, AsyncWriteExt, Interest};
use tokio::net::TcpStream;

use super::reply::Reply;
use crate::log::FileSlice;

/// Size of each connection's write buffer (also the copy path's chunk size).
pub const OUT_BUF: usize = 64 * 1024;
/// File slices at least this long go out with `sendfile`; shorter ones are cheaper to
/// copy into the buffer with the rest of the response than to flush it for.
pub const SENDFILE_MIN: usize = 16 * 1024;

/// A destination that may take file bytes directly (a plain TCP socket) or not.
pub trait Sink: AsyncWrite + Unpin {
    /// Sends `len` bytes of `slice` from `from` straight from the file, if this sink can.
    /// `Ok(false)`: it cannot; the caller copies instead.
    fn send_file(
        &mut self,
        slice: &FileSlice,
        from: usize,
        len: usize,
    ) -> impl std::future::Future<Output = io::Result<bool>>;
}

impl Sink for TcpStream {
    async fn send_file(&mut self, slice: &FileSlice, from: usize, len: usize) -> io::Result<bool> {
        let Some((file, pos)) = slice.file() else {
            return Ok(true);
        };
        let mut offset = pos + from as u64;
        let end = offset + len as u64;
        while offset < end {
            self.writable().await?;
            let want = (end - offset) as usize;
            let sent = self.try_io(Interest::WRITABLE, || {
                rustix::fs::sendfile(self.as_fd(), file, Some(&mut offset), want)
                    .map_err(io::Error::from)
            });
            match sent {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "segment file ended inside a fetch response",
                    ))
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
}

/// TLS encrypts every byte in user space: always the copy path.
impl Sink for tokio_rustls::server::TlsStream<TcpStream> {
    async fn send_file(&mut self, _: &FileSlice, _: usize, _: usize) -> io::Result<bool> {
        Ok(false)
    }
}

/// In-memory sinks (tests) always copy.
impl Sink for Vec<u8> {
    async fn send_file(&mut self, _: &FileSlice, _: usize, _: usize) -> io::Result<bool> {
        Ok(false)
    }
}

/// A connection's outgoing side: buffered, and zero-copy for stored records.
pub struct Outbox {
    /// `OUT_BUF` of capacity; its first `filled` bytes are pending. Its length only
    /// grows (to the most ever used), so each byte is zeroed once per connection and an
    /// idle connection's buffer stays untouched beyond what it has sent.
    buf: Vec<u8>,
    filled: usize,
    zero_copy: bool,
}

impl Outbox {
    pub fn new(zero_copy: bool) -> Outbox {
        Outbox {
            buf: Vec::with_capacity(OUT_BUF),
            filled: 0,
            zero_copy,
        }
    }

    /// Queues one response; large parts are written through at once.
    pub async fn send<S: Sink>(&mut self, sink: &mut S, reply: &Reply) -> io::Result<()> {
        let mut last = 0;
        for (at, slice) in &reply.files {
            self.put_bytes(sink, &reply.head[last..*at]).await?;
            self.put_file(sink, slice).await?;
            last = *at;
        }
        self.put_bytes(sink, &reply.head[last..]).await
    }

    /// Writes out whatever is pending.
    pub async fn flush<S: Sink>(&mut self, sink: &mut S) -> io::Result<()> {
        if self.filled > 0 {
            sink.write_all(&self.buf[..self.filled]).await?;
            self.filled = 0;
        }
        sink.flush().await
    }

    /// The next `n` free bytes of the buffer (`n` ≤ what is free).
    fn space(&mut self, n: usize) -> &mut [u8] {
        let end = self.filled + n;
        if self.buf.len() < end {
            self.buf.resize(end, 0);
        }
        &mut self.buf[self.filled..end]
    }

    async fn put_bytes<S: Sink>(&mut self, sink: &mut S, b: &[u8]) -> io::Result<()> {
        if b.len() > OUT_BUF - self.filled {
            self.flush(sink).await?;
            if b.len() >= OUT_BUF {
                return sink.write_all(b).await;
            }
        }
        self.space(b.len()).copy_from_slice(b);
        self.filled += b.len();
        Ok(())
    }

    async fn put_file<S: Sink>(&mut self, sink: &mut S, slice: &FileSlice) -> io::Result<()> {
        let len = slice.len();
        if self.zero_copy && len >= SENDFILE_MIN {
            self.flush(sink).await?;
            if sink.send_file(slice, 0, len).await? {
                return Ok(());
            }
        }
        let mut from = 0;
        while from < len {
            if self.filled == OUT_BUF {
                self.flush(sink).await?;
            }
            let n = (len - from).min(OUT_BUF - self.filled);
            slice.read_into(from, self.space(n))?;
            self.filled += n;
            from += n;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Arc;

    use bytes::BytesMut;
    use tokio::io::AsyncReadExt;

    use super::*;

    /// A response with small and large file slices between encoded parts arrives byte for
    /// byte, over a real socket with and without zero-copy, and into memory.
    #[tokio::test]
    async fn replies_arrive_whole_on_every_path() {
        let mut file = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 253) as u8).collect();
        file.write_all(&data).unwrap();
        let file = Arc::new(file);
        let head: BytesMut = (0..100_000u32).map(|i| (i % 7) as u8).collect();
        let reply = Reply {
            head,
            files: vec![
                (10, FileSlice::new(file.clone(), 5, 100)),
                (10, FileSlice::new(file.clone(), 1000, 700_000)),
                (20, FileSlice::new(file.clone(), 0, SENDFILE_MIN)),
                (30_000, FileSlice::new(file.clone(), 999_000, 1000)),
                (99_999, FileSlice::new(file.clone(), 3, 200_000)),
            ],
            mute_ms: 0,
        };
        let want = reply.to_vec().unwrap();
        for zero_copy in [true, false] {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let reader = tokio::spawn(async move {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut got = Vec::new();
                s.read_to_end(&mut got).await.unwrap();
                got
            });
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let mut out = Outbox::new(zero_copy);
            out.send(&mut stream, &reply).await.unwrap();
            out.send(&mut stream, &reply).await.unwrap();
            out.flush(&mut stream).await.unwrap();
            drop(stream);
            let got = reader.await.unwrap();
            assert_eq!(got.len(), 2 * want.len(), "zero_copy {zero_copy}");
            assert!(got[..want.len()] == want[..] && got[want.len()..] == want[..]);
        }
        let mut mem = Vec::new();
        let mut out = Outbox::new(true);
        out.send(&mut mem, &reply).await.unwrap();
        out.flush(&mut mem).await.unwrap();
        assert!(mem == want);
    }
}
