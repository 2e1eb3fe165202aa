//! Network side: listeners, one task per connection, frame codec and dispatch.

pub mod dispatch;
pub mod frame;
pub mod limits;
pub mod outbox;
pub mod reply;
pub mod sasl;
pub(crate) mod throttle;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::ApiKey;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::auth::Principal;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::broker::{Broker, FsyncPolicy};

/// At most this many pipelined Produce requests are handled as one group.
const MAX_PRODUCE_GROUP: usize = 16;

/// How long a TLS handshake may take (a silent client must not hold a connection).
const TLS_HANDSHAKE_DEADLINE: Duration = Duration::from_secs(10);

/// A connection's byte stream: a TCP socket, or TLS over one.
pub trait Stream: AsyncRead + AsyncWrite + outbox::Sink + Unpin + Send {}
impl<S: AsyncRead + AsyncWrite + outbox::Sink + Unpin + Send> Stream for S {}

/// Serves one accepted socket: on SSL and SASL_SSL listeners the TLS handshake first
/// (within [`TLS_HANDSHAKE_DEADLINE`]), then [`serve_stream`].
pub async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    listener: usize,
    tls: Option<TlsAcceptor>,
    broker: Arc<Broker>,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let Some(acceptor) = tls else {
        return serve_stream(stream, peer, listener, None, broker, shutdown).await;
    };
    let accepted = tokio::select! {
        biased;
        _ = shutdown.changed() => return,
        r = tokio::time::timeout(TLS_HANDSHAKE_DEADLINE, acceptor.accept(stream)) => r,
    };
    let stream = match accepted {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::warn!(%peer, error = %e, "closing connection: TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::warn!(%peer, "closing connection: TLS handshake not completed within {} s", TLS_HANDSHAKE_DEADLINE.as_secs());
            return;
        }
    };
    // A verified client certificate names the principal (SSL listeners; on SASL_SSL the
    // SASL exchange does).
    let certified = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(|leaf| crate::tls::certificate_subject(leaf));
    if let Some(subject) = &certified {
        tracing::debug!(%peer, subject = %subject, "TLS client certificate");
    }
    let principal = certified.map(|s| Principal::user(&s));
    serve_stream(stream, peer, listener, principal, broker, shutdown).await
}

/// Serves one connection: requests are read, handled and answered strictly in order
/// (as Kafka does, one in flight per connection). Any protocol error closes only this
/// connection. `certified`: the principal of a TLS client certificate.
async fn serve_stream<S: Stream>(
    mut stream: S,
    peer: SocketAddr,
    listener: usize,
    certified: Option<Principal>,
    broker: Arc<Broker>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut reader = frame::FrameReader::new();
    let mut outbox = outbox::Outbox::new(broker.config.zero_copy);
    let max = broker.config.max_request_bytes;
    // SASL listeners: nothing but the authentication exchange until it succeeds.
    let session = if broker.config.listener(listener).protocol.is_sasl() {
        let principal = tokio::select! {
            biased;
            _ = shutdown.changed() => None,
            p = sasl::authenticate(&mut stream, &mut reader, &mut outbox, &broker, peer, listener) => p,
        };
        match principal {
            Some(principal) => dispatch::Session {
                peer,
                listener,
                principal,
            },
            None => {
                let _ = outbox.flush(&mut stream).await;
                tracing::debug!(%peer, "connection closed");
                return;
            }
        }
    } else {
        dispatch::Session {
            peer,
            listener,
            principal: certified.unwrap_or_else(Principal::anonymous),
        }
    };
    let mut mute: u32 = 0;
    let idle = Duration::from_millis(
        broker
            .broker_setting_i64("connections.max.idle.ms")
            .filter(|ms| *ms > 0)
            .unwrap_or(i64::MAX / 2) as u64,
    );
    loop {
        let frame = tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            f = tokio::time::timeout(idle, reader.next(&mut stream, max)) => match f {
                Ok(f) => f,
                Err(_) => {
                    tracing::debug!(%peer, idle_ms = idle.as_millis() as u64, "closing idle connection (connections.max.idle.ms)");
                    break;
                }
            },
        };
        let frame = match frame {
            Ok(Some(f)) => f,
            Ok(None) => break,
            // A client that resets or drops its connection is not sending bad frames.
            Err(frame::FrameError::Io(e)) => {
                tracing::debug!(%peer, error = %e, "connection lost");
                break;
            }
            Err(e) => {
                tracing::warn!(%peer, error = %e, "closing connection: bad frame");
                break;
            }
        };
        // Only Produce requests keep their bytes in the connection's read buffer (their
        // records are written from there); anything else is copied out, so that a slice a
        // handler keeps (group metadata, say) does not pin the whole buffer.
        let produce = ApiKey::Produce as i16;
        if frame[..2] != produce.to_be_bytes() {
            let reply = dispatch::dispatch(&broker, Bytes::copy_from_slice(&frame), &session).await;
            if !deliver(&mut outbox, &mut stream, peer, reply, &mut mute).await {
                break;
            }
        } else if reader.has_frame_of(produce) {
            // Pipelined produce requests are handled together: each partition's batches
            // go to the log in one write.
            let mut frames = vec![frame];
            while frames.len() < MAX_PRODUCE_GROUP && reader.has_frame_of(produce) {
                match reader.next(&mut stream, max).await {
                    Ok(Some(f)) => frames.push(f),
                    _ => break, // the frame is bad: the next read reports it
                }
            }
            let mut open = true;
            for reply in dispatch::dispatch_produce_group(&broker, frames, &session).await {
                if !deliver(&mut outbox, &mut stream, peer, reply, &mut mute).await {
                    open = false;
                    break;
                }
            }
            if !open {
                break;
            }
        } else {
            let reply = dispatch::dispatch(&broker, frame, &session).await;
            if !deliver(&mut outbox, &mut stream, peer, reply, &mut mute).await {
                break;
            }
        }
        // Flush unless another whole request is already buffered (pipelining) and the
        // client is not being throttled.
        if mute > 0 || !reader.has_frame() {
            if let Err(e) = outbox.flush(&mut stream).await {
                tracing::debug!(%peer, error = %e, "flush failed");
                break;
            }
        }
        // A throttled client (over its quota): its answer is out; nothing more is read
        // from it for the throttle time, as Kafka mutes the channel.
        if mute > 0 {
            let wait = Duration::from_millis(std::mem::take(&mut mute) as u64);
            tokio::select! {
                biased;
                _ = shutdown.changed() => break,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
    let _ = outbox.flush(&mut stream).await;
    tracing::debug!(%peer, "connection closed");
}

/// Queues a request's reply (nothing for acks=0), raising `mute` to the reply's throttle.
/// False if the connection must close: the request could not be handled, or the peer is
/// gone.
async fn deliver<S: Stream>(
    outbox: &mut outbox::Outbox,
    stream: &mut S,
    peer: SocketAddr,
    reply: Result<Option<reply::Reply>, dispatch::DispatchError>,
    mute: &mut u32,
) -> bool {
    match reply {
        // Nothing to send, but a wait (a throttled acks=0 Produce).
        Ok(Some(reply)) if reply.is_empty() => {
            *mute = (*mute).max(reply.mute_ms);
            true
        }
        Ok(Some(reply)) => match outbox.send(stream, &reply).await {
            Ok(()) => {
                *mute = (*mute).max(reply.mute_ms);
                true
            }
            Err(e) => {
                tracing::debug!(%peer, error = %e, "write failed");
                false
            }
        },
        Ok(None) => true,
        Err(e) => {
            tracing::warn!(%peer, error = %e, "closing connection");
            false
        }
    }
}

/// Counts a connection in `rill_connections_open` until it is dropped (the connection
/// ended, or its task was aborted).
struct OpenConnection {
    broker: Arc<Broker>,
    listener: usize,
}

impl OpenConnection {
    fn new(broker: Arc<Broker>, listener: usize) -> OpenConnection {
        if let Some(m) = broker.metrics.listener(listener) {
            m.open.increment(1.0);
        }
        OpenConnection { broker, listener }
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        if let Some(m) = self.broker.metrics.listener(self.listener) {
            m.open.decrement(1.0);
        }
    }
}

/// Accepts connections on every listener until shutdown, then waits (bounded) for
/// in-flight requests to finish. Each socket comes with the index of its listener in
/// `BrokerConfig::listeners` (a listener may have several sockets: `localhost`). `tls`
/// serves the SSL and SASL_SSL listeners (required when there is one).
pub async fn run(
    listeners: Vec<(TcpListener, usize)>,
    tls: Option<crate::tls::Tls>,
    broker: Arc<Broker>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut background = JoinSet::new();
    let b = broker.clone();
    background.spawn(async move { b.groups.run_timers().await });
    let b = broker.clone();
    background.spawn(async move {
        let every = std::time::Duration::from_millis(b.config.transaction_abort_interval_ms);
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = b.txns.abort_timed_out(&b).await {
                tracing::error!(error = %e, "aborting timed-out transactions failed");
            }
        }
    });
    let b = broker.clone();
    background.spawn(async move {
        // Kafka's `producer.id.expiration.check.interval.ms` is 10 minutes; checking more
        // often keeps short expirations (tests) close to their setting at no real cost.
        let every = (b.config.producer_id_expiration_ms / 10).clamp(100, 600_000) as u64;
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(every));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let n = b.expire_producers(crate::log::now_ms());
            if n > 0 {
                tracing::debug!(expired = n, "forgot idle producers");
            }
        }
    });
    let b = broker.clone();
    background.spawn(async move {
        let every = Duration::from_millis(b.config.log_retention_check_interval_ms);
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let b = b.clone();
            let _ =
                tokio::task::spawn_blocking(move || b.retention_pass(crate::log::now_ms())).await;
        }
    });
    let b = broker.clone();
    background.spawn(async move {
        // Histogram samples are folded into buckets by every scrape, and here when nobody
        // scrapes, so memory stays bounded.
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            b.metrics.upkeep();
        }
    });
    let b = broker.clone();
    background.spawn(async move {
        // The log cleaner: passes back to back while there is work, then backs off.
        loop {
            let backoff = Duration::from_millis(b.cleaner_backoff_ms());
            let b2 = b.clone();
            let done = tokio::task::spawn_blocking(move || b2.cleaner_pass(crate::log::now_ms()))
                .await
                .unwrap_or_default();
            if done.partitions == 0 {
                tokio::time::sleep(backoff).await;
            }
        }
    });
    match broker.config.fsync {
        FsyncPolicy::Always => {
            background.spawn(broker.flusher.clone().run_group_commit());
        }
        FsyncPolicy::Interval(every) => {
            let b = broker.clone();
            background.spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    let dirty: Vec<_> = b
                        .all_partitions()
                        .into_iter()
                        .filter(|p| p.has_unflushed())
                        .collect();
                    if dirty.is_empty() {
                        continue;
                    }
                    let started = std::time::Instant::now();
                    let res = tokio::task::spawn_blocking(move || {
                        dirty.iter().try_for_each(|p| p.flush())
                    })
                    .await;
                    b.flusher.record_round(started.elapsed());
                    if let Ok(Err(e)) = res {
                        tracing::error!(error = %e, "periodic fsync failed");
                    }
                }
            });
        }
        FsyncPolicy::Never => {}
    }
    let mut conns = JoinSet::new();
    let mut accepts = JoinSet::new();
    let limits = Arc::new(limits::Connections::default());
    let (conn_tx, mut conn_rx) =
        tokio::sync::mpsc::channel::<(TcpStream, SocketAddr, usize, limits::Slot)>(64);
    for (l, index) in listeners {
        let tx = conn_tx.clone();
        let mut stop = shutdown.clone();
        let limits = limits.clone();
        let b = broker.clone();
        accepts.spawn(async move {
            loop {
                // At max.connections the acceptor waits for a slot, as Kafka's does: new
                // connections stay in the listen backlog meanwhile.
                if !limits.wait_for_slot(&b, &mut stop).await {
                    break;
                }
                tokio::select! {
                    _ = stop.changed() => break,
                    r = l.accept() => match r {
                        Ok((stream, peer)) => {
                            // Counted here, so the next wait_for_slot sees it.
                            let Some(slot) = limits.open(&b, peer.ip()) else {
                                continue;
                            };
                            if let Some(m) = b.metrics.listener(index) {
                                m.accepted.increment(1);
                            }
                            if tx.send((stream, peer, index, slot)).await.is_err() {
                                break;
                            }
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
            }
        });
    }
    drop(conn_tx);
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            c = conn_rx.recv() => match c {
                Some((stream, peer, index, slot)) => {
                    tracing::debug!(%peer, listener = %broker.config.listener(index).name, "accepted connection");
                    let acceptor = if broker.config.listener(index).protocol.is_tls() {
                        match &tls {
                            Some(t) => Some(t.acceptor()),
                            None => {
                                tracing::error!(%peer, "TLS listener without --tls-cert; closing connection");
                                continue;
                            }
                        }
                    } else {
                        None
                    };
                    let serve = serve_connection(stream, peer, index, acceptor, broker.clone(), shutdown.clone());
                    let b = broker.clone();
                    conns.spawn(async move {
                        let _open = OpenConnection::new(b, index);
                        serve.await;
                        drop(slot);
                    });
                }
                None => break,
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    accepts.abort_all();
    let drain = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(10), drain)
        .await
        .is_err()
    {
        tracing::warn!("connections still busy after 10 s; closing them");
        conns.abort_all();
    }
    background.abort_all();
}
