//! The HTTP listener (`--http-listen`): `/health` and `/ready` for orchestrators and the
//! container HEALTHCHECK; later `/metrics`, the JSON API under `/api/` and the web console.
//!
//! It starts before the broker opens its data dir (so `/health` answers during recovery)
//! and holds the broker once it is open; `/ready` says 200 only between "listening,
//! recovery done" and the start of shutdown.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

use crate::broker::Broker;

pub(crate) mod api;
mod auth;
mod console;
mod metrics;

/// Where `--http-listen` binds when it is not given.
pub const DEFAULT_HTTP_LISTEN: &str = "localhost:9644";

/// The broker's life as `/ready` tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// Opening the data dir (recovery), not yet serving Kafka clients.
    Starting = 0,
    /// Listening, recovery done.
    Ready = 1,
    /// Shutting down.
    Stopping = 2,
}

/// What the HTTP handlers share.
pub struct HttpState {
    broker: OnceLock<Arc<Broker>>,
    phase: AtomicU8,
}

impl Default for HttpState {
    fn default() -> Self {
        HttpState {
            broker: OnceLock::new(),
            phase: AtomicU8::new(Phase::Starting as u8),
        }
    }
}

impl HttpState {
    /// The broker, once it is open.
    pub fn set_broker(&self, broker: Arc<Broker>) {
        let _ = self.broker.set(broker);
    }

    pub fn broker(&self) -> Option<&Arc<Broker>> {
        self.broker.get()
    }

    pub fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::SeqCst);
    }

    pub fn phase(&self) -> Phase {
        match self.phase.load(Ordering::SeqCst) {
            0 => Phase::Starting,
            1 => Phase::Ready,
            _ => Phase::Stopping,
        }
    }
}

/// `--http-listen`: an address, or off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpListen {
    Off,
    /// `host:port`; `localhost` (or no host) is 127.0.0.1. `tls`: `https://host:port`,
    /// served with the broker's `--tls-cert` and `--tls-key`.
    At {
        host: String,
        port: u16,
        tls: bool,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid --http-listen {0:?}: expected host:port, https://host:port or none")]
pub struct HttpListenError(pub String);

impl HttpListen {
    pub fn parse(s: &str) -> Result<HttpListen, HttpListenError> {
        let t = s.trim();
        if t.is_empty() || t.eq_ignore_ascii_case("none") || t.eq_ignore_ascii_case("off") {
            return Ok(HttpListen::Off);
        }
        let (t, tls) = match t.strip_prefix("https://") {
            Some(rest) => (rest, true),
            None => (t.strip_prefix("http://").unwrap_or(t), false),
        };
        let t = t.trim_end_matches('/');
        let (host, port) = t
            .rsplit_once(':')
            .ok_or_else(|| HttpListenError(s.to_string()))?;
        let port: u16 = port.parse().map_err(|_| HttpListenError(s.to_string()))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        Ok(HttpListen::At {
            host: host.to_string(),
            port,
            tls,
        })
    }

    /// Whether it is `https://`.
    pub fn is_tls(&self) -> bool {
        matches!(self, HttpListen::At { tls: true, .. })
    }

    /// The socket addresses to try, in order.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        match self {
            HttpListen::Off => Vec::new(),
            HttpListen::At { host, port, .. } => {
                if host.is_empty() || host == "localhost" {
                    return vec![SocketAddr::from(([127, 0, 0, 1], *port))];
                }
                match host.parse::<std::net::IpAddr>() {
                    Ok(ip) => vec![SocketAddr::new(ip, *port)],
                    Err(_) => std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), *port))
                        .map(|a| a.collect())
                        .unwrap_or_default(),
                }
            }
        }
    }
}

/// The routes.
pub fn router(state: Arc<HttpState>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics::metrics))
        .nest("/api", api::router(state.clone()))
        .merge(console::router(state.clone()))
        .with_state(state)
}

/// Serves HTTP on `listener` until `shutdown` turns true; HTTPS when `tls` is given.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<HttpState>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    let app = router(state);
    let stop = async move {
        while !*shutdown.borrow() {
            if shutdown.changed().await.is_err() {
                break;
            }
        }
    };
    if let Some(acceptor) = tls {
        serve_tls(listener, app, acceptor, stop).await;
        return;
    }
    // The peer address: ACLs may name hosts.
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
    {
        tracing::warn!(error = %e, "HTTP listener failed");
    }
}

/// HTTPS: each accepted connection's TLS handshake (10 s deadline, as on the Kafka
/// listeners), then HTTP/1.1 over it, until `stop`; open connections end with the task.
async fn serve_tls(
    listener: tokio::net::TcpListener,
    app: Router,
    acceptor: tokio_rustls::TlsAcceptor,
    stop: impl std::future::Future<Output = ()>,
) {
    use axum::extract::connect_info::ConnectInfo;
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(stop);
    loop {
        let (socket, peer) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::debug!(error = %e, "HTTPS accept failed");
                    continue;
                }
            },
            // Reap finished connections.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let acceptor = acceptor.clone();
        let app = app.clone().layer(axum::Extension(ConnectInfo(peer)));
        connections.spawn(async move {
            let handshake =
                tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(socket));
            let stream = match handshake.await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    tracing::info!(%peer, error = %e, "HTTPS: TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::info!(%peer, "HTTPS: TLS handshake timed out");
                    return;
                }
            };
            let service = hyper_util::service::TowerToHyperService::new(app);
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%peer, error = %e, "HTTPS connection ended");
            }
        });
    }
    connections.abort_all();
}

/// `/health`: the process is alive and answering.
async fn health() -> &'static str {
    "ok\n"
}

/// `/ready`: 200 once listening with recovery done; 503 while starting or stopping.
async fn ready(State(state): State<Arc<HttpState>>) -> (StatusCode, &'static str) {
    match state.phase() {
        Phase::Ready => (StatusCode::OK, "ready\n"),
        Phase::Starting => (StatusCode::SERVICE_UNAVAILABLE, "starting\n"),
        Phase::Stopping => (StatusCode::SERVICE_UNAVAILABLE, "stopping\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_http_listen() {
        assert_eq!(HttpListen::parse("none"), Ok(HttpListen::Off));
        assert_eq!(HttpListen::parse(""), Ok(HttpListen::Off));
        assert_eq!(
            HttpListen::parse("0.0.0.0:9644"),
            Ok(HttpListen::At {
                host: "0.0.0.0".into(),
                port: 9644,
                tls: false
            })
        );
        assert_eq!(
            HttpListen::parse("http://[::1]:80/"),
            Ok(HttpListen::At {
                host: "::1".into(),
                port: 80,
                tls: false
            })
        );
        assert_eq!(
            HttpListen::parse("https://localhost:9645"),
            Ok(HttpListen::At {
                host: "localhost".into(),
                port: 9645,
                tls: true
            })
        );
        assert!(HttpListen::parse("9644x").is_err());
        assert!(HttpListen::parse("host:99999").is_err());
        assert_eq!(
            HttpListen::parse(DEFAULT_HTTP_LISTEN).map(|h| h.addrs()),
            Ok(vec![SocketAddr::from(([127, 0, 0, 1], 9644))])
        );
    }
}
