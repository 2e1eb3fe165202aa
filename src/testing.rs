//! An in-process broker for Rust tests: a real Rill listening on 127.0.0.1, on a port
//! of its own, with a temporary data directory, started and stopped by the test.
//!
//! ```
//! use rill::testing::TestBroker;
//! use std::io::{Read, Write};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let broker = TestBroker::start().await?;
//! broker.create_topic("orders", 3).await?;
//!
//! // Any Kafka client can now use `broker.bootstrap()`, e.g. "127.0.0.1:40123".
//! // Here, the smallest one: ApiVersions v0 over a plain socket.
//! let mut socket = std::net::TcpStream::connect(broker.bootstrap())?;
//! // size, api key 18, version 0, correlation id 7, client id null
//! socket.write_all(&[0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 7, 0xff, 0xff])?;
//! let mut head = [0u8; 10];
//! socket.read_exact(&mut head)?;
//! assert_eq!(&head[4..8], &[0, 0, 0, 7], "correlation id echoed");
//! assert_eq!(&head[8..10], &[0, 0], "no error");
//! assert_eq!(broker.partitions("orders"), Some(3));
//!
//! drop(broker); // stops the broker and deletes its data
//! # Ok(())
//! # }
//! ```
//!
//! The broker runs on its own thread with its own Tokio runtime, so it works the same
//! under `#[tokio::test]` (either flavor), under another async runtime, or in a plain
//! `#[test]` through [`TestBroker::start_blocking`].

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;

use thiserror::Error;
use tokio::sync::{oneshot, watch};

use crate::broker::{Broker, BrokerConfig, BrokerError, FsyncPolicy, TopicError};
use crate::listener::{Endpoint, SecurityProtocol};

/// Why a [`TestBroker`] could not start or do what was asked.
#[derive(Debug, Error)]
pub enum TestBrokerError {
    #[error("test broker: cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("test broker: {0}")]
    Io(#[from] std::io::Error),
    #[error("test broker: {0}")]
    Broker(#[from] BrokerError),
    #[error("test broker: {0}")]
    Topic(#[from] TopicError),
    #[error("test broker: its thread stopped before it was ready")]
    Died,
}

/// Options for a [`TestBroker`]; [`TestBroker::builder`] starts from Rill's defaults for
/// tests: port 0 (a free one), topics auto-created with one partition, no fsync.
#[derive(Debug, Clone)]
pub struct TestBrokerBuilder {
    port: u16,
    auto_create_topics: bool,
    default_partitions: i32,
    group_initial_rebalance_delay_ms: u64,
    group_consumer_heartbeat_interval_ms: u64,
}

impl TestBrokerBuilder {
    /// Listen on this port of 127.0.0.1 instead of a free one.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Kafka's `auto.create.topics.enable` (default true).
    pub fn auto_create_topics(mut self, on: bool) -> Self {
        self.auto_create_topics = on;
        self
    }

    /// Partitions of auto-created topics (Kafka's `num.partitions`, default 1).
    pub fn default_partitions(mut self, n: i32) -> Self {
        self.default_partitions = n.max(1);
        self
    }

    /// Kafka's `group.initial.rebalance.delay.ms` (default 0 here).
    pub fn group_initial_rebalance_delay_ms(mut self, ms: u64) -> Self {
        self.group_initial_rebalance_delay_ms = ms;
        self
    }

    /// Kafka's `group.consumer.heartbeat.interval.ms` for KIP-848 groups (default 5000).
    pub fn group_consumer_heartbeat_interval_ms(mut self, ms: u64) -> Self {
        self.group_consumer_heartbeat_interval_ms = ms.max(1);
        self
    }

    /// Starts the broker; returns once it accepts connections.
    pub async fn start(self) -> Result<TestBroker, TestBrokerError> {
        let (ready_tx, ready_rx) = oneshot::channel();
        let thread = self.spawn(ready_tx)?;
        match ready_rx.await {
            Ok(Ok(parts)) => Ok(TestBroker::assemble(parts, thread)),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(TestBrokerError::Died)
            }
        }
    }

    /// [`start`](Self::start) for code without an async runtime.
    pub fn start_blocking(self) -> Result<TestBroker, TestBrokerError> {
        let (ready_tx, ready_rx) = oneshot::channel();
        let thread = self.spawn(ready_tx)?;
        match ready_rx.blocking_recv() {
            Ok(Ok(parts)) => Ok(TestBroker::assemble(parts, thread)),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(TestBrokerError::Died)
            }
        }
    }

    fn spawn(
        self,
        ready: oneshot::Sender<Result<Parts, TestBrokerError>>,
    ) -> std::io::Result<JoinHandle<()>> {
        std::thread::Builder::new()
            .name("rill-test-broker".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("rill-test-broker")
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = ready.send(Err(e.into()));
                        return;
                    }
                };
                runtime.block_on(self.serve(ready));
            })
    }

    async fn serve(self, ready: oneshot::Sender<Result<Parts, TestBrokerError>>) {
        let dir = match tempfile::Builder::new().prefix("rill-test-").tempdir() {
            Ok(d) => d,
            Err(e) => {
                let _ = ready.send(Err(e.into()));
                return;
            }
        };
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(source) => {
                let _ = ready.send(Err(TestBrokerError::Bind { addr, source }));
                return;
            }
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => {
                let _ = ready.send(Err(e.into()));
                return;
            }
        };
        let config = BrokerConfig {
            listeners: vec![Endpoint {
                name: "PLAINTEXT".into(),
                protocol: SecurityProtocol::Plaintext,
                bound_host: addr.ip().to_string(),
                bound_port: addr.port(),
                advertised_host: addr.ip().to_string(),
                advertised_port: addr.port(),
            }],
            auto_create_topics: self.auto_create_topics,
            default_partitions: self.default_partitions,
            max_request_bytes: 100 << 20,
            fsync: FsyncPolicy::Never,
            group_initial_rebalance_delay_ms: self.group_initial_rebalance_delay_ms,
            group_consumer_heartbeat_interval_ms: self.group_consumer_heartbeat_interval_ms,
            ..BrokerConfig::in_process(dir.path().to_path_buf())
        };
        let broker = match Broker::open(config) {
            Ok(b) => b,
            Err(e) => {
                let _ = ready.send(Err(e.into()));
                return;
            }
        };
        let (stop_tx, stop_rx) = watch::channel(false);
        let parts = Parts {
            addr,
            broker: broker.clone(),
            stop: stop_tx,
        };
        if ready.send(Ok(parts)).is_err() {
            // Nobody is waiting for this broker any more.
            broker.begin_shutdown();
            let _ = broker.close();
            return;
        }
        crate::server::run(vec![(listener, 0)], None, broker.clone(), stop_rx).await;
        if let Err(e) = broker.close() {
            tracing::warn!(error = %e, "test broker: closing the logs failed");
        }
        drop(broker);
        drop(dir);
    }
}

struct Parts {
    addr: SocketAddr,
    broker: Arc<Broker>,
    stop: watch::Sender<bool>,
}

/// A Rill broker running inside the test process on 127.0.0.1 with a temporary data
/// directory. Dropping it shuts the broker down (open connections are closed) and
/// deletes its data.
pub struct TestBroker {
    addr: SocketAddr,
    broker: Arc<Broker>,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl TestBroker {
    /// Starts a broker with the defaults of [`TestBroker::builder`].
    pub async fn start() -> Result<TestBroker, TestBrokerError> {
        Self::builder().start().await
    }

    /// Starts a broker with the defaults, without an async runtime.
    pub fn start_blocking() -> Result<TestBroker, TestBrokerError> {
        Self::builder().start_blocking()
    }

    /// Options: port, auto-creation, default partitions, group timings.
    pub fn builder() -> TestBrokerBuilder {
        TestBrokerBuilder {
            port: 0,
            auto_create_topics: true,
            default_partitions: 1,
            group_initial_rebalance_delay_ms: 0,
            group_consumer_heartbeat_interval_ms: 5_000,
        }
    }

    fn assemble(parts: Parts, thread: JoinHandle<()>) -> TestBroker {
        TestBroker {
            addr: parts.addr,
            broker: parts.broker,
            stop: parts.stop,
            thread: Some(thread),
        }
    }

    /// `host:port` for a client's `bootstrap.servers`, e.g. `127.0.0.1:40123`.
    pub fn bootstrap(&self) -> String {
        self.addr.to_string()
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The temporary data directory (deleted when the broker is dropped).
    pub fn data_dir(&self) -> &std::path::Path {
        &self.broker.config.data_dir
    }

    /// Creates a topic with `partitions` partitions and the broker's default configs.
    pub async fn create_topic(&self, name: &str, partitions: i32) -> Result<(), TestBrokerError> {
        let broker = self.broker.clone();
        let name = name.to_string();
        // Creating a topic touches the disk; keep it off the caller's async threads.
        let (tx, rx) = oneshot::channel();
        std::thread::spawn(move || {
            let r = broker.create_topic(&name, partitions, -1, Default::default(), false);
            let _ = tx.send(r.map(|_| ()));
        });
        rx.await.map_err(|_| TestBrokerError::Died)??;
        Ok(())
    }

    /// The number of partitions of `topic`, or None if there is no such topic.
    pub fn partitions(&self, topic: &str) -> Option<i32> {
        self.broker.topic(topic).map(|t| t.partition_count())
    }

    /// Stops the broker and deletes its data (what dropping it does).
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        let _ = self.stop.send(true);
        self.broker.begin_shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        self.stop_now();
    }
}

impl std::fmt::Debug for TestBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestBroker")
            .field("addr", &self.addr)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn starts_creates_and_cleans_up() {
        let b = TestBroker::start().await.expect("start");
        b.create_topic("t", 4).await.expect("create");
        assert_eq!(b.partitions("t"), Some(4));
        assert!(matches!(
            b.create_topic("t", 1).await,
            Err(TestBrokerError::Topic(TopicError::AlreadyExists(_)))
        ));
        let dir = b.broker.config.data_dir.clone();
        assert!(dir.exists());
        let addr = b.addr();
        drop(b);
        assert!(!dir.exists(), "data dir deleted on drop");
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "nothing listens after drop"
        );
    }

    #[test]
    fn a_taken_port_is_a_clear_error() {
        let held = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = held.local_addr().expect("addr").port();
        let err = TestBroker::builder()
            .port(port)
            .start_blocking()
            .expect_err("port is taken");
        assert!(matches!(err, TestBrokerError::Bind { .. }), "{err}");
        assert!(err.to_string().contains(&port.to_string()), "{err}");
    }
}
