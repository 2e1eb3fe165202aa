//! The reference broker Rill is compared with: `RILL_DIFF_BOOTSTRAP=host:port`, else a
//! Kafka image from the local Docker engine through Testcontainers (cargo feature
//! `testcontainers`), else nothing, with the reason.

/// The image tried when `RILL_DIFF_KAFKA_IMAGE` is not set: the Kafka line whose schemas
/// kafka-protocol 0.18 is generated from.
pub const DEFAULT_KAFKA_IMAGE: &str = "apache/kafka:4.1.0";

pub enum Reference {
    /// A broker given by address.
    Broker(String),
    #[cfg(feature = "testcontainers")]
    Kafka(Box<kafka::KafkaContainer>),
    /// No reference broker: the differential test skips, printing why.
    Skip(String),
}

impl Reference {
    pub fn bootstrap(&self) -> Option<&str> {
        match self {
            Reference::Broker(a) => Some(a),
            #[cfg(feature = "testcontainers")]
            Reference::Kafka(k) => Some(&k.bootstrap),
            Reference::Skip(_) => None,
        }
    }
}

pub fn kafka_image() -> String {
    std::env::var("RILL_DIFF_KAFKA_IMAGE")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_KAFKA_IMAGE.to_string())
}

/// The reference broker for this run.
pub fn reference() -> Reference {
    if let Some(addr) = std::env::var("RILL_DIFF_BOOTSTRAP")
        .ok()
        .filter(|v| !v.is_empty())
    {
        return Reference::Broker(addr);
    }
    from_docker(None, &kafka_image())
}

/// A Kafka container of `image`, on the engine at `docker_host` (`None`: `DOCKER_HOST` or
/// the default socket), or why not.
#[cfg(feature = "testcontainers")]
pub fn from_docker(docker_host: Option<&str>, image: &str) -> Reference {
    match kafka::start(docker_host, image, &kafka::ready_line()) {
        Ok(k) => Reference::Kafka(Box::new(k)),
        Err(reason) => Reference::Skip(reason),
    }
}

#[cfg(not(feature = "testcontainers"))]
pub fn from_docker(_docker_host: Option<&str>, image: &str) -> Reference {
    Reference::Skip(format!(
        "RILL_DIFF_BOOTSTRAP is not set and this build has no Testcontainers \
         (cargo test --features testcontainers --test differential starts {image} when \
         the local Docker engine has it)"
    ))
}

#[cfg(feature = "testcontainers")]
pub mod kafka {
    use std::net::TcpListener;
    use std::time::Duration;

    use testcontainers::bollard::errors::Error as DockerError;
    use testcontainers::bollard::Docker;
    use testcontainers::core::WaitFor;
    use testcontainers::runners::AsyncRunner;
    use testcontainers::{ContainerAsync, GenericImage, ImageExt};

    /// The line Kafka logs on stdout once its broker serves.
    pub const STARTED: &str = "Kafka Server started";

    /// `RILL_DIFF_KAFKA_READY` (another image's "ready" line), else [`STARTED`].
    pub fn ready_line() -> String {
        std::env::var("RILL_DIFF_KAFKA_READY")
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| STARTED.to_string())
    }

    /// A single-node KRaft Kafka on the host network, advertising 127.0.0.1; removed on
    /// drop.
    pub struct KafkaContainer {
        rt: tokio::runtime::Runtime,
        container: Option<ContainerAsync<GenericImage>>,
        pub bootstrap: String,
    }

    impl Drop for KafkaContainer {
        fn drop(&mut self) {
            if let Some(c) = self.container.take() {
                let _ = self.rt.block_on(c.rm());
            }
        }
    }

    fn free_port() -> Result<u16, String> {
        TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| format!("no free port: {e}"))
    }

    /// Is there an engine, and does it have `image`? Never pulls: no registry is assumed.
    pub async fn probe(docker_host: Option<&str>, image: &str) -> Result<(), String> {
        let where_ = docker_host
            .map(str::to_string)
            .or_else(|| std::env::var("DOCKER_HOST").ok())
            .unwrap_or_else(|| "the default socket".into());
        let docker = match docker_host {
            Some(h) => Docker::connect_with_host(h),
            None => Docker::connect_with_defaults(),
        }
        .map_err(|e| format!("no Docker engine at {where_}: {e}"))?;
        let answered = tokio::time::timeout(Duration::from_secs(10), docker.ping()).await;
        match answered {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(format!("no Docker engine at {where_}: {e}")),
            Err(_) => return Err(format!("no Docker engine at {where_}: no answer in 10 s")),
        }
        // An engine older than the client's API version answers to the negotiated one.
        let docker = match docker.clone().negotiate_version().await {
            Ok(d) => d,
            Err(_) => docker,
        };
        match docker.inspect_image(image).await {
            Ok(_) => Ok(()),
            Err(DockerError::DockerResponseServerError {
                status_code: 404, ..
            }) => Err(format!(
                "image {image} is not present in the local Docker engine at {where_} \
                 (nothing is pulled; `docker load` it or set RILL_DIFF_KAFKA_IMAGE)"
            )),
            Err(e) => Err(format!("cannot inspect image {image} at {where_}: {e}")),
        }
    }

    /// Starts `image` if the engine has it and waits for `ready` on its stdout; `Err`
    /// says why not (an engine or image missing), or panics if a present image fails to
    /// start.
    pub fn start(
        docker_host: Option<&str>,
        image: &str,
        ready: &str,
    ) -> Result<KafkaContainer, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("tokio runtime: {e}"))?;
        rt.block_on(probe(docker_host, image))?;
        let (port, controller) = (free_port()?, free_port()?);
        let (name, tag) = match image.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => (n, t),
            _ => (image, "latest"),
        };
        let env = [
            ("KAFKA_NODE_ID", "1".to_string()),
            ("KAFKA_PROCESS_ROLES", "broker,controller".into()),
            (
                "KAFKA_LISTENERS",
                format!("PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}"),
            ),
            (
                "KAFKA_ADVERTISED_LISTENERS",
                format!("PLAINTEXT://127.0.0.1:{port}"),
            ),
            ("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER".into()),
            (
                "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
                "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT".into(),
            ),
            (
                "KAFKA_CONTROLLER_QUORUM_VOTERS",
                format!("1@127.0.0.1:{controller}"),
            ),
            ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1".into()),
            ("KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS", "1".into()),
            ("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1".into()),
            ("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1".into()),
            (
                "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR",
                "1".into(),
            ),
            ("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR", "1".into()),
            ("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0".into()),
            ("KAFKA_NUM_PARTITIONS", "1".into()),
        ];
        let mut request = GenericImage::new(name, tag)
            .with_wait_for(WaitFor::message_on_stdout(ready))
            .with_network("host")
            .with_startup_timeout(Duration::from_secs(180));
        for (k, v) in env {
            request = request.with_env_var(k, v);
        }
        let container = rt
            .block_on(request.start())
            .unwrap_or_else(|e| panic!("{image} is present but did not start: {e}"));
        Ok(KafkaContainer {
            rt,
            container: Some(container),
            bootstrap: format!("127.0.0.1:{port}"),
        })
    }
}
