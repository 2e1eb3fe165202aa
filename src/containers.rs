//! Rill as a [Testcontainers](https://docs.rs/testcontainers) module (cargo feature
//! `testcontainers`): the `rill:dev` image (built by `scripts/image.sh`) started by a
//! test, ephemeral, topics auto-created, on the host network at 127.0.0.1.
//!
//! ```no_run
//! use rill::containers::Rill;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let rill = Rill::default().with_default_partitions(3).start().await?;
//! let bootstrap = rill.bootstrap(); // "127.0.0.1:40123": give it to any Kafka client
//! # let _ = bootstrap;
//! # Ok(())
//! # }
//! ```
//!
//! The container runs with `--network host` and listens on 127.0.0.1 port 0 (a free
//! port); the broker's ready line on stdout (`rill is ready on 127.0.0.1:PORT`) is the
//! wait strategy and tells the port, so there is no race for a port between choosing it
//! and the broker binding it. [`Rill::request`] gives the plain Testcontainers request
//! for more options (`ImageExt`), already on the host network.

use std::borrow::Cow;

use testcontainers::core::WaitFor;
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, ContainerRequest, Image, ImageExt, TestcontainersError};

/// The line `rill serve` prints on stdout once it accepts connections.
pub const READY_LINE: &str = "rill is ready on ";

/// The rill image with test defaults: `--ephemeral` (data deleted with the container),
/// auto-created topics, 127.0.0.1 on a free port.
#[derive(Debug, Clone)]
pub struct Rill {
    tag: String,
    port: u16,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Default for Rill {
    fn default() -> Self {
        Rill {
            tag: "dev".into(),
            port: 0,
            args: Vec::new(),
            env: Vec::new(),
        }
    }
}

impl Rill {
    /// Another tag of the `rill` image (default `dev`), e.g. the crate version.
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = tag.into();
        self
    }

    /// Listen on this port of 127.0.0.1 instead of a free one.
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Partitions of auto-created topics (`--default-partitions`).
    pub fn with_default_partitions(self, n: u32) -> Self {
        self.with_arg("--default-partitions")
            .with_arg(n.to_string())
    }

    /// `--auto-create-topics` (default true).
    pub fn with_auto_create_topics(self, on: bool) -> Self {
        self.with_arg("--auto-create-topics")
            .with_arg(on.to_string())
    }

    /// Any other `rill serve` flag or value.
    pub fn with_arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// An environment variable for the broker (`RILL_*`, or the `KAFKA_*` names of the
    /// apache/kafka image).
    pub fn with_env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// The Testcontainers request for this image, on the host network.
    pub fn request(self) -> ContainerRequest<Rill> {
        ContainerRequest::from(self).with_network("host")
    }

    /// Starts the container and waits for the broker's ready line.
    pub async fn start(self) -> Result<RillContainer, TestcontainersError> {
        let container = self.request().start().await?;
        let stdout = container.stdout_to_vec().await?;
        let text = String::from_utf8_lossy(&stdout);
        let bootstrap = text
            .lines()
            .find_map(|l| l.strip_prefix(READY_LINE))
            .map(|a| a.trim().to_string())
            .ok_or_else(|| {
                TestcontainersError::other(format!(
                    "the container printed no {READY_LINE:?} line: {text:?}"
                ))
            })?;
        Ok(RillContainer {
            container,
            bootstrap,
        })
    }
}

impl Image for Rill {
    fn name(&self) -> &str {
        "rill"
    }

    fn tag(&self) -> &str {
        &self.tag
    }

    fn ready_conditions(&self) -> Vec<WaitFor> {
        vec![WaitFor::message_on_stdout(READY_LINE)]
    }

    fn env_vars(
        &self,
    ) -> impl IntoIterator<Item = (impl Into<Cow<'_, str>>, impl Into<Cow<'_, str>>)> {
        self.env
            .iter()
            .map(|(k, v)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(v.as_str())))
    }

    fn cmd(&self) -> impl IntoIterator<Item = impl Into<Cow<'_, str>>> {
        let mut cmd = vec![
            Cow::Borrowed("--ephemeral"),
            Cow::Borrowed("--listen"),
            Cow::Owned(format!("127.0.0.1:{}", self.port)),
        ];
        cmd.extend(self.args.iter().map(|a| Cow::Borrowed(a.as_str())));
        cmd
    }
}

/// A started rill container; dropping it stops and removes the container.
pub struct RillContainer {
    container: ContainerAsync<Rill>,
    bootstrap: String,
}

impl RillContainer {
    /// `127.0.0.1:PORT`, for a client's `bootstrap.servers`.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// The Testcontainers handle (logs, exec, stop, id).
    pub fn container(&self) -> &ContainerAsync<Rill> {
        &self.container
    }
}
