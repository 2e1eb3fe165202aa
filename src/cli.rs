//! Command line: `rill serve` and its flags (each also settable as a `RILL_*` variable).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use thiserror::Error;
use tokio::net::TcpListener;

use crate::broker::{Broker, BrokerConfig, BrokerError, FsyncPolicy};
use crate::listener::{self, BindSpec, Endpoint, ListenerError, ListenerSpec};

#[derive(Parser, Debug)]
#[command(
    name = "rill",
    version,
    about = "A Kafka-compatible broker in one small binary"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the broker.
    Serve(Box<ServeArgs>),
    /// Load generator and machine-limit probes (see benches/README.md).
    Bench(crate::bench::BenchArgs),
    /// Exit 0 if a broker answers ApiVersions (a container HEALTHCHECK needing no shell).
    Health(HealthArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions { shell: clap_complete::Shell },
    /// Create, list, describe, delete topics and change their configs.
    Topic(crate::admin::topic::TopicArgs),
    /// Send lines from stdin or a file as records.
    Produce(crate::admin::produce::ProduceArgs),
    /// Print a topic's records.
    Consume(crate::admin::consume::ConsumeArgs),
    /// List, describe and delete consumer groups; reset their offsets.
    Group(crate::admin::group::GroupArgs),
    /// The cluster's id, controller, brokers and API versions.
    Cluster(crate::admin::cluster::ClusterArgs),
    /// Kafka's shell tools (kafka-topics.sh, …) without a JVM: `install DIR` writes them.
    KafkaTools(KafkaToolsArgs),
}

#[derive(Args, Debug, Clone)]
pub struct KafkaToolsArgs {
    #[command(subcommand)]
    pub command: KafkaToolsCommand,
}

#[derive(Subcommand, Debug, Clone)]
pub enum KafkaToolsCommand {
    /// Write DIR/bin/kafka-topics.sh, kafka-configs.sh, kafka-consumer-groups.sh,
    /// kafka-acls.sh, kafka-console-producer.sh and kafka-console-consumer.sh: scripts
    /// that run this rill binary with Kafka's flags (use DIR as KAFKA_HOME / KAFKA_PATH).
    Install {
        /// Where to put bin/ (created if missing).
        dir: PathBuf,
    },
}

#[derive(Args, Debug, Clone)]
pub struct HealthArgs {
    /// host:port to ask. Default: the address `rill serve` wrote to `RILL_READY_FILE`, then
    /// the first listen address from `RILL_LISTEN` (or `KAFKA_LISTENERS`), with
    /// 0.0.0.0/::/localhost asked on 127.0.0.1.
    #[arg(long, conflicts_with = "http")]
    pub bootstrap: Option<String>,
    /// Ask the HTTP listener's `/ready` at host:port instead. Default (without
    /// --bootstrap): the `http://` line of `RILL_READY_FILE` when there is one, which works
    /// whatever the Kafka listeners' security; else ApiVersions as above.
    #[arg(long)]
    pub http: Option<String>,
    /// How long to wait for the answer.
    #[arg(long, default_value_t = 2000)]
    pub timeout_ms: u64,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Listeners, comma-separated or repeated: `NAME://host:port` as Kafka writes them
    /// (`PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://127.0.0.1:9093`), or a bare
    /// `host:port` for PLAINTEXT. `localhost` means both 127.0.0.1 and ::1. Port 0 picks a
    /// free port (one per listener, shared by its addresses). Entries with the same name
    /// are one listener on several addresses. SSL and SASL_SSL listeners need --tls-cert
    /// and --tls-key.
    #[arg(
        long,
        env = "RILL_LISTEN",
        value_delimiter = ',',
        default_value = "localhost:9092"
    )]
    pub listen: Vec<String>,
    /// Kafka's `listener.security.protocol.map` (`INTERNAL:SASL_PLAINTEXT,EXTERNAL:PLAINTEXT`)
    /// for listeners not named after their protocol. Replaces the default map (each
    /// protocol's own name).
    #[arg(long, env = "RILL_LISTENER_SECURITY_PROTOCOL_MAP")]
    pub listener_security_protocol_map: Option<String>,
    /// What clients are told to connect to (Metadata, FindCoordinator), per listener:
    /// `NAME://host[:port],…`; with a single listener also a bare `host[:port]`. A listener
    /// not named advertises its listen host and bound port. 0.0.0.0 / :: are refused.
    #[arg(long, env = "RILL_ADVERTISE")]
    pub advertise: Option<String>,
    /// SASL mechanisms SASL_PLAINTEXT listeners offer (Kafka's `sasl.enabled.mechanisms`).
    #[arg(
        long,
        env = "RILL_SASL_MECHANISMS",
        value_delimiter = ',',
        default_value = "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        value_parser = crate::auth::parse_mechanism
    )]
    pub sasl_mechanisms: Vec<crate::auth::Mechanism>,
    /// TLS certificate chain (PEM, leaf first) for SSL and SASL_SSL listeners.
    #[arg(long, env = "RILL_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "RILL_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// CA certificates (PEM) that sign client certificates (mutual TLS). An SSL client's
    /// principal is then `User:` + its certificate's subject (`CN=alice,O=Example`).
    #[arg(long, env = "RILL_TLS_CLIENT_CA")]
    pub tls_client_ca: Option<PathBuf>,
    /// Kafka's `ssl.client.auth`: whether TLS clients must present a certificate signed
    /// by --tls-client-ca. Default: `required` with --tls-client-ca, else `none`.
    #[arg(long, env = "RILL_TLS_CLIENT_AUTH", value_enum)]
    pub tls_client_auth: Option<crate::tls::ClientAuth>,
    /// Kafka's `max.connections`: at this many connections, new ones wait to be accepted.
    /// Changeable at run time with AlterConfigs. Default: no limit.
    #[arg(long, env = "RILL_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,
    /// Kafka's `max.connections.per.ip`: a connection from an address that has this many
    /// is closed at once (`--broker-config max.connections.per.ip.overrides=IP:N,...` for
    /// exceptions). Default: no limit.
    #[arg(long, env = "RILL_MAX_CONNECTIONS_PER_IP", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections_per_ip: Option<u32>,
    /// Kafka's `connections.max.idle.ms`: a connection with no request for this long is
    /// closed.
    #[arg(long, env = "RILL_CONNECTIONS_MAX_IDLE_MS", default_value_t = 600_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub connections_max_idle_ms: u64,
    /// Users for SASL: one `user:password` per line (`#` comments). Each gets
    /// SCRAM-SHA-256 and SCRAM-SHA-512 credentials (4096 iterations, salted; PLAIN checks
    /// passwords against them), stored in the data directory at startup; unchanged
    /// passwords are left as they are. Users added with AlterUserScramCredentials stay.
    #[arg(long, env = "RILL_USERS_FILE")]
    pub users_file: Option<PathBuf>,
    /// Authorize requests against ACLs: `acl` (Kafka's StandardAuthorizer: DENY wins, no
    /// matching ALLOW denies; see --allow-everyone-if-no-acl-found) or `none` (everything
    /// allowed; the ACL APIs still store and list bindings).
    #[arg(long, env = "RILL_AUTHORIZER", default_value = "none",
          value_parser = clap::builder::PossibleValuesParser::new(["acl", "none"]))]
    pub authorizer: String,
    /// Principals the authorizer allows everything: Kafka's `super.users`
    /// (`User:admin;User:ops`) or comma-separated user names (`admin,ops`).
    #[arg(long, env = "RILL_SUPER_USERS", value_parser = parse_super_users)]
    pub super_users: Option<SuperUsers>,
    /// Kafka's `allow.everyone.if.no.acl.found`: with --authorizer acl, an action on a
    /// resource that no ACL binding names (for any principal, host or operation) is
    /// allowed. Once a binding names it, only its ALLOWs count.
    #[arg(long, env = "RILL_ALLOW_EVERYONE_IF_NO_ACL_FOUND", default_value_t = false,
          action = clap::ArgAction::Set)]
    pub allow_everyone_if_no_acl_found: bool,
    /// Where logs and metadata live. Default: $XDG_DATA_HOME/rill or ~/.local/share/rill.
    #[arg(long, env = "RILL_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Use a fresh temporary data directory, deleted on exit (for CI).
    #[arg(long, env = "RILL_EPHEMERAL", conflicts_with = "data_dir")]
    pub ephemeral: bool,
    /// This broker's node id.
    #[arg(long, env = "RILL_NODE_ID", default_value_t = 1)]
    pub node_id: i32,
    /// Create unknown topics when a client asks for them in Metadata.
    #[arg(long, env = "RILL_AUTO_CREATE_TOPICS", default_value_t = true, action = clap::ArgAction::Set)]
    pub auto_create_topics: bool,
    /// Partitions of auto-created topics and of CreateTopics with num_partitions -1.
    #[arg(long, env = "RILL_DEFAULT_PARTITIONS", default_value_t = 1,
          value_parser = clap::value_parser!(i32).range(1..))]
    pub default_partitions: i32,
    /// Largest request frame accepted; bigger frames close the connection.
    #[arg(long, env = "RILL_MAX_REQUEST_BYTES", default_value_t = 100 * 1024 * 1024)]
    pub max_request_bytes: usize,
    /// Fetch responses send stored record bytes from the segment files to the socket with
    /// sendfile(2); `false` copies them through a per-connection buffer instead (the path
    /// TLS listeners will take; for comparison).
    #[arg(long, env = "RILL_ZERO_COPY", default_value_t = true, action = clap::ArgAction::Set)]
    pub zero_copy: bool,
    /// Durability: `always` (ack after fsync, group commit), `interval:<ms>`, or `never`.
    #[arg(long, env = "RILL_FSYNC", default_value = "interval:1000")]
    pub fsync: FsyncPolicy,
    /// `group.initial.rebalance.delay.ms`: how long a new group's first rebalance waits for
    /// more members. Kafka's default is 3000; 0 makes a lone consumer start at once.
    #[arg(
        long,
        env = "RILL_GROUP_INITIAL_REBALANCE_DELAY_MS",
        default_value_t = 0
    )]
    pub group_initial_rebalance_delay_ms: u64,
    /// `group.consumer.heartbeat.interval.ms`: how often KIP-848 consumers
    /// (`group.protocol=consumer`) heartbeat; reassignments progress one heartbeat at a time.
    #[arg(
        long,
        env = "RILL_GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS",
        default_value_t = 5_000,
        value_parser = clap::value_parser!(u64).range(1..=i32::MAX as u64)
    )]
    pub group_consumer_heartbeat_interval_ms: u64,
    /// `group.consumer.session.timeout.ms`: a KIP-848 consumer silent this long is removed.
    #[arg(
        long,
        env = "RILL_GROUP_CONSUMER_SESSION_TIMEOUT_MS",
        default_value_t = 45_000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub group_consumer_session_timeout_ms: u64,
    /// `producer.id.expiration.ms`: how long a partition remembers an idle idempotent
    /// producer (its sequence numbers) before forgetting it.
    #[arg(
        long,
        env = "RILL_PRODUCER_ID_EXPIRATION_MS",
        default_value_t = crate::log::producer::DEFAULT_EXPIRATION_MS,
        value_parser = clap::value_parser!(i64).range(1..)
    )]
    pub producer_id_expiration_ms: i64,
    /// `transaction.max.timeout.ms`: the longest transaction timeout a producer may ask for
    /// (InitProducerId above it gets INVALID_TRANSACTION_TIMEOUT).
    #[arg(
        long,
        env = "RILL_TRANSACTION_MAX_TIMEOUT_MS",
        default_value_t = crate::txn::DEFAULT_MAX_TIMEOUT_MS,
        value_parser = clap::value_parser!(i32).range(1..)
    )]
    pub transaction_max_timeout_ms: i32,
    /// How often open transactions are checked against their timeout; those past it are
    /// aborted and their producers fenced (Kafka's
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`).
    #[arg(
        long,
        env = "RILL_TRANSACTION_ABORT_TIMED_OUT_INTERVAL_MS",
        default_value_t = 10_000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub transaction_abort_timed_out_interval_ms: u64,
    /// The finalized feature `transaction.version` ApiVersions reports: 2 (Kafka 4's
    /// default for new clusters) lets clients that know it use Transactions V2 (KIP-890:
    /// implicit partition adds, an epoch bump per transaction); 1 keeps every client on
    /// the classic path.
    #[arg(
        long,
        env = "RILL_TRANSACTION_VERSION",
        default_value_t = 2,
        value_parser = clap::value_parser!(i16).range(1..=2)
    )]
    pub transaction_version: i16,
    /// `log.retention.check.interval.ms`: how often segments past `retention.ms` or
    /// `retention.bytes` are deleted.
    #[arg(
        long,
        env = "RILL_LOG_RETENTION_CHECK_INTERVAL_MS",
        default_value_t = 300_000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub log_retention_check_interval_ms: u64,
    /// `log.cleaner.backoff.ms`: how long the log cleaner sleeps when no compacted
    /// partition is due for cleaning.
    #[arg(
        long,
        env = "RILL_LOG_CLEANER_BACKOFF_MS",
        default_value_t = 15_000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub log_cleaner_backoff_ms: u64,
    /// `log.cleaner.dedupe.buffer.size`: memory for the cleaner's key-hash → offset map
    /// (about 32 bytes per distinct key cleaned in one pass).
    #[arg(
        long,
        env = "RILL_LOG_CLEANER_DEDUPE_BUFFER_SIZE",
        default_value_t = 134_217_728,
        value_parser = clap::value_parser!(u64).range(1024..)
    )]
    pub log_cleaner_dedupe_buffer_size: u64,
    /// A Kafka broker config, as in server.properties (repeatable): broker defaults of
    /// topic configs (`log.retention.hours=2`, `log.segment.bytes=…`,
    /// `log.cleanup.policy=compact`, …) and other dynamic broker configs. Settings with
    /// their own flag are refused here.
    #[arg(long = "broker-config", value_name = "KEY=VALUE",
          value_parser = crate::kafka_env::parse_broker_config)]
    pub broker_configs: Vec<(String, String)>,
    /// Log filter (error, warn, info, debug, trace, or a tracing filter directive).
    #[arg(long, env = "RILL_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
    /// Once listening, write the first listener's advertised `host:port` to this file
    /// (for scripts/tests); with several listeners, one `NAME://host:port` line per
    /// listener follows; then, when the HTTP listener is on, one `http://host:port` line.
    #[arg(long, env = "RILL_READY_FILE")]
    pub ready_file: Option<PathBuf>,
    /// The HTTP listener (`/health`, `/ready`, `/metrics`, the JSON API and the web
    /// console): `host:port`, `https://host:port` (TLS with --tls-cert and --tls-key), or
    /// `none`. Default: localhost:9644 (127.0.0.1), and if that
    /// port is taken the broker starts without it (a warning says so); an address given
    /// here that cannot be bound is an error. Port 0 picks a free port.
    #[arg(long, env = "RILL_HTTP_LISTEN", value_parser = crate::http::HttpListen::parse)]
    pub http_listen: Option<crate::http::HttpListen>,
}

/// `--super-users`, as `User:<name>` principals.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SuperUsers(pub Vec<String>);

fn parse_super_users(s: &str) -> Result<SuperUsers, String> {
    crate::acl::parse_super_users(s)
        .map(SuperUsers)
        .map_err(|e| e.to_string())
}

#[derive(Debug, Error)]
pub enum CliError {
    #[error(transparent)]
    Listener(#[from] ListenerError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("listener {0} is TLS ({1}) and needs --tls-cert and --tls-key")]
    TlsNeedsCert(String, crate::listener::SecurityProtocol),
    #[error("--users-file {path}: {why}")]
    UsersFile { path: PathBuf, why: String },
    #[error("no data directory: set --data-dir, RILL_DATA_DIR or HOME")]
    NoDataDir,
    #[error("invalid --log-level: {0}")]
    LogLevel(String),
    #[error("{0}")]
    HttpListen(String),
    #[error(transparent)]
    Broker(#[from] BrokerError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Bench(#[from] crate::bench::BenchError),
    #[error("no broker answering at {addr}: {why}")]
    Unhealthy { addr: String, why: String },
    #[error(transparent)]
    Admin(#[from] crate::admin::AdminError),
    #[error(transparent)]
    KafkaTools(#[from] crate::kafka_tools::ToolError),
}

/// The IPs a listen host stands for: `localhost` (or nothing) is 127.0.0.1 and ::1.
fn listen_ips(bind: &BindSpec) -> Result<Vec<IpAddr>, CliError> {
    if bind.host.is_empty() || bind.host == "localhost" {
        return Ok(vec![
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ]);
    }
    let ip = bind
        .host
        .parse::<IpAddr>()
        .map_err(|_| ListenerError::BadListen(crate::listener::host_port(&bind.host, bind.port)))?;
    Ok(vec![ip])
}

fn default_data_dir() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(x).join("rill"));
    }
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(|h| PathBuf::from(h).join(".local/share/rill"))
}

/// Binds every listener's addresses. Within a listener, the first port-0 bind picks the
/// port its other addresses reuse. Returns the sockets with their listener's index, and
/// each listener's first (host as written, bound port).
async fn bind_all(
    listeners: &[ListenerSpec],
) -> Result<(Vec<(TcpListener, usize)>, Vec<(String, u16)>), CliError> {
    let mut sockets = Vec::new();
    let mut bound = Vec::new();
    for (index, spec) in listeners.iter().enumerate() {
        let mut first: Option<(String, u16)> = None;
        for bind in &spec.binds {
            let mut port = bind.port;
            if port == 0 {
                if let Some((_, p)) = &first {
                    port = *p;
                }
            }
            let mut bound_any = false;
            for (i, ip) in listen_ips(bind)?.iter().enumerate() {
                let addr = SocketAddr::new(*ip, port);
                match TcpListener::bind(addr).await {
                    Ok(l) => {
                        port = l.local_addr()?.port();
                        tracing::info!(listener = %spec.name, protocol = %spec.protocol, addr = %l.local_addr()?, "listening");
                        sockets.push((l, index));
                        bound_any = true;
                    }
                    // `localhost` also tries ::1; a machine without IPv6 is fine.
                    Err(e) if i > 0 && bound_any => {
                        tracing::warn!(%addr, error = %e, "could not listen on secondary address");
                    }
                    Err(source) => return Err(CliError::Bind { addr, source }),
                }
            }
            if first.is_none() {
                let host = if bind.host.is_empty() {
                    "localhost".to_string()
                } else {
                    bind.host.clone()
                };
                first = Some((host, port));
            }
        }
        bound.push(first.ok_or(ListenerError::Empty)?);
    }
    Ok((sockets, bound))
}

/// Parses `--listen` with the protocol map.
fn listener_specs(args: &ServeArgs) -> Result<Vec<ListenerSpec>, CliError> {
    let map = listener::protocol_map(args.listener_security_protocol_map.as_deref())?;
    Ok(listener::parse_listeners(&args.listen, &map)?)
}

/// Reads and parses `--users-file`.
fn read_users_file(path: &std::path::Path) -> Result<Vec<(String, String)>, CliError> {
    let bad = |why: String| CliError::UsersFile {
        path: path.to_path_buf(),
        why,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    crate::auth::users_file::parse(&text).map_err(|e| bad(e.to_string()))
}

pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Bench(args) => Ok(crate::bench::run(args)?),
        Command::Health(args) => health(args),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            use std::io::Write;
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "rill", &mut script);
            match std::io::stdout().lock().write_all(&script) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
                _ => Ok(()),
            }
        }
        Command::Topic(args) => Ok(crate::admin::topic::run(args)?),
        Command::Produce(args) => Ok(crate::admin::produce::run(args)?),
        Command::Consume(args) => Ok(crate::admin::consume::run(args)?),
        Command::Group(args) => Ok(crate::admin::group::run(args)?),
        Command::Cluster(args) => Ok(crate::admin::cluster::run(args)?),
        Command::KafkaTools(args) => kafka_tools(args),
    }
}

fn kafka_tools(args: KafkaToolsArgs) -> Result<(), CliError> {
    match args.command {
        KafkaToolsCommand::Install { dir } => {
            let exe = std::env::current_exe()?;
            let exe = exe.canonicalize().unwrap_or(exe);
            let written = crate::kafka_tools::install(&dir, &exe)?;
            for path in &written {
                println!("{}", path.display());
            }
            eprintln!(
                "Installed {} Kafka tools in {} (they run {}).",
                written.len(),
                dir.join("bin").display(),
                exe.display()
            );
            Ok(())
        }
    }
}

fn serve(args: ServeArgs) -> Result<(), CliError> {
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log_level)
        .map_err(|e| CliError::LogLevel(e.to_string()))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    crate::kafka_env::log_applied();
    raise_open_files_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve_async(args))
}

/// Every partition keeps its active segment open and every client a socket: lift the
/// soft open-files limit to the hard one, as many servers do (the soft default is often
/// 1024).
pub(crate) fn raise_open_files_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let lim = getrlimit(Resource::Nofile);
    if let (Some(soft), Some(hard)) = (lim.current, lim.maximum) {
        if soft < hard {
            let raised = Rlimit {
                current: Some(hard),
                maximum: Some(hard),
            };
            match setrlimit(Resource::Nofile, raised) {
                Ok(()) => tracing::debug!(soft, hard, "raised the open-files limit"),
                Err(e) => tracing::debug!(error = %e, "could not raise the open-files limit"),
            }
        }
    }
}

async fn serve_async(args: ServeArgs) -> Result<(), CliError> {
    let started = std::time::Instant::now();
    let ephemeral = if args.ephemeral {
        Some(tempfile::Builder::new().prefix("rill-").tempdir()?)
    } else {
        None
    };
    let data_dir = match (&ephemeral, &args.data_dir) {
        (Some(t), _) => t.path().to_path_buf(),
        (None, Some(d)) => d.clone(),
        (None, None) => default_data_dir().ok_or(CliError::NoDataDir)?,
    };
    let specs = listener_specs(&args)?;
    let tls = tls_settings(&args, &specs)?
        .map(|t| crate::tls::Tls::load(&t))
        .transpose()?;
    let users = match &args.users_file {
        Some(path) => Some(read_users_file(path)?),
        None => None,
    };
    let https = https_acceptor(&args)?;
    let (sockets, bound) = bind_all(&specs).await?;
    let http_state = Arc::new(crate::http::HttpState::default());
    let (http_stop_tx, http_stop_rx) = tokio::sync::watch::channel(false);
    let http = match bind_http(args.http_listen.as_ref()).await? {
        Some(listener) => {
            let scheme = if https.is_some() { "https" } else { "http" };
            let url = format!("{scheme}://{}", listener.local_addr()?);
            tracing::info!(%url, "HTTP listening (/health, /ready, /metrics, /api, console)");
            let task = tokio::spawn(crate::http::serve(
                listener,
                http_state.clone(),
                http_stop_rx,
                https,
            ));
            Some((url, task))
        }
        None => None,
    };
    let advertised = listener::advertised(&specs, &bound, args.advertise.as_deref())?;
    let endpoints: Vec<Endpoint> = specs
        .iter()
        .zip(bound)
        .zip(advertised)
        .map(
            |((spec, (bound_host, bound_port)), (host, port))| Endpoint {
                name: spec.name.clone(),
                protocol: spec.protocol,
                bound_host,
                bound_port,
                advertised_host: host,
                advertised_port: port,
            },
        )
        .collect();
    let config = BrokerConfig {
        node_id: args.node_id,
        listeners: endpoints,
        sasl_mechanisms: args.sasl_mechanisms.iter().fold(Vec::new(), |mut v, m| {
            if !v.contains(m) {
                v.push(*m);
            }
            v
        }),
        data_dir: data_dir.clone(),
        auto_create_topics: args.auto_create_topics,
        default_partitions: args.default_partitions,
        max_request_bytes: args.max_request_bytes,
        zero_copy: args.zero_copy,
        fsync: args.fsync,
        group_initial_rebalance_delay_ms: args.group_initial_rebalance_delay_ms,
        group_consumer_heartbeat_interval_ms: args.group_consumer_heartbeat_interval_ms,
        group_consumer_session_timeout_ms: args.group_consumer_session_timeout_ms,
        producer_id_expiration_ms: args.producer_id_expiration_ms,
        transaction_max_timeout_ms: args.transaction_max_timeout_ms,
        transaction_abort_interval_ms: args.transaction_abort_timed_out_interval_ms,
        transaction_version: args.transaction_version,
        log_retention_check_interval_ms: args.log_retention_check_interval_ms,
        log_cleaner_backoff_ms: args.log_cleaner_backoff_ms,
        log_cleaner_dedupe_buffer_size: args.log_cleaner_dedupe_buffer_size as usize,
        broker_configs: broker_configs(&args),
        acl_authorizer: args.authorizer == "acl",
        super_users: args.super_users.clone().unwrap_or_default().0,
        allow_everyone_if_no_acl_found: args.allow_everyone_if_no_acl_found,
    };
    let broker = tokio::task::block_in_place(|| Broker::open(config))?;
    http_state.set_broker(broker.clone());
    if let Some(users) = &users {
        let written = tokio::task::block_in_place(|| broker.seed_users(users))?;
        tracing::info!(
            users = users.len(),
            credentials_written = written,
            "users file applied"
        );
    }
    if broker.config.listeners.iter().any(|l| l.protocol.is_sasl()) && users.is_none() {
        tracing::info!("SASL listener without --users-file: only users stored earlier (AlterUserScramCredentials) can authenticate");
    }
    if args.allow_everyone_if_no_acl_found && !broker.authorizer_enabled() {
        tracing::warn!("--allow-everyone-if-no-acl-found has no effect without --authorizer acl (everything is allowed)");
    }
    let (tx, rx) = tokio::sync::watch::channel(false);
    let b = broker.clone();
    let hs = http_state.clone();
    let signalled = wait_for_signal();
    tokio::spawn(async move {
        signalled.await;
        tracing::info!("shutting down");
        hs.set_phase(crate::http::Phase::Stopping);
        let _ = tx.send(true);
        b.begin_shutdown();
    });
    let server = tokio::spawn(crate::server::run(sockets, tls, broker.clone(), rx));
    http_state.set_phase(crate::http::Phase::Ready);
    let first = broker.config.listener(0);
    let ready = listener::host_port(&first.advertised_host, first.advertised_port);
    if let Some(path) = &args.ready_file {
        // Line 1: the first listener's address (what single-listener readers take);
        // with several listeners, then one `NAME://host:port` line each.
        let mut text = format!("{ready}\n");
        if broker.config.listeners.len() > 1 {
            for l in &broker.config.listeners {
                text.push_str(&l.advertised());
                text.push('\n');
            }
        }
        if let Some((url, _)) = &http {
            text.push_str(&format!("{url}\n"));
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, path)?;
    }
    let all: Vec<String> = broker
        .config
        .listeners
        .iter()
        .map(|l| l.advertised())
        .collect();
    tracing::info!(
        advertised = %ready,
        listeners = %all.join(","),
        data_dir = %data_dir.display(),
        fsync = ?broker.config.fsync,
        startup_ms = started.elapsed().as_secs_f64() * 1000.0,
        "rill is ready"
    );
    // The ready line on stdout, for scripts and container wait strategies.
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "rill is ready on {ready}");
        if let Some((url, _)) = &http {
            let _ = writeln!(out, "rill console on {url}/");
        }
        let _ = out.flush();
    }
    if let Err(e) = server.await {
        tracing::error!(error = %e, "server task failed");
    }
    let _ = http_stop_tx.send(true);
    if let Some((_, task)) = http {
        let _ = task.await;
    }
    tokio::task::block_in_place(|| broker.close())?;
    drop(broker);
    drop(ephemeral);
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Binds the HTTP listener: the address given (an error if it cannot be bound), or the
/// default, skipped with a warning when taken.
async fn bind_http(
    listen: Option<&crate::http::HttpListen>,
) -> Result<Option<TcpListener>, CliError> {
    let explicit = listen.is_some();
    let default;
    let listen = match listen {
        Some(l) => l,
        None => {
            default = crate::http::HttpListen::parse(crate::http::DEFAULT_HTTP_LISTEN)
                .map_err(|e| CliError::HttpListen(e.to_string()))?;
            &default
        }
    };
    let addrs = listen.addrs();
    if addrs.is_empty() && *listen != crate::http::HttpListen::Off {
        return Err(CliError::HttpListen(format!(
            "--http-listen {listen:?}: the host resolves to no address"
        )));
    }
    let mut last = None;
    for addr in addrs {
        match TcpListener::bind(addr).await {
            Ok(l) => return Ok(Some(l)),
            Err(e) => last = Some((addr, e)),
        }
    }
    match last {
        Some((addr, source)) if explicit => Err(CliError::Bind { addr, source }),
        Some((addr, e)) => {
            tracing::warn!(%addr, error = %e, "the default HTTP port is taken: no /health, /metrics or console (set --http-listen)");
            Ok(None)
        }
        None => Ok(None),
    }
}

/// `--http-listen https://…`: the broker's certificate and key, without client
/// certificates (browsers); an error without --tls-cert.
fn https_acceptor(args: &ServeArgs) -> Result<Option<tokio_rustls::TlsAcceptor>, CliError> {
    if !args.http_listen.as_ref().is_some_and(|h| h.is_tls()) {
        return Ok(None);
    }
    let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) else {
        return Err(CliError::HttpListen(
            "--http-listen https://… needs --tls-cert and --tls-key".into(),
        ));
    };
    let tls = crate::tls::Tls::load(&crate::tls::TlsSettings {
        cert: cert.clone(),
        key: key.clone(),
        client_ca: None,
        client_auth: crate::tls::ClientAuth::None,
    })?;
    Ok(Some(tls.acceptor()))
}

/// The TLS files, when given; an error if a TLS listener has none.
fn tls_settings(
    args: &ServeArgs,
    specs: &[ListenerSpec],
) -> Result<Option<crate::tls::TlsSettings>, CliError> {
    let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) else {
        return match specs.iter().find(|l| l.protocol.is_tls()) {
            Some(l) => Err(CliError::TlsNeedsCert(l.name.clone(), l.protocol)),
            None => Ok(None),
        };
    };
    let client_auth = args
        .tls_client_auth
        .unwrap_or(if args.tls_client_ca.is_some() {
            crate::tls::ClientAuth::Required
        } else {
            crate::tls::ClientAuth::None
        });
    Ok(Some(crate::tls::TlsSettings {
        cert: cert.clone(),
        key: key.clone(),
        client_ca: args.tls_client_ca.clone(),
        client_auth,
    }))
}

/// `--broker-config` settings over those from `KAFKA_*` variables.
fn broker_configs(args: &ServeArgs) -> std::collections::BTreeMap<String, String> {
    let from_env = crate::kafka_env::applied()
        .map(|m| m.broker_configs.clone())
        .unwrap_or_default();
    let flags = [
        (
            "max.connections",
            args.max_connections.map(|n| n.to_string()),
        ),
        (
            "max.connections.per.ip",
            args.max_connections_per_ip.map(|n| n.to_string()),
        ),
        (
            "connections.max.idle.ms",
            Some(args.connections_max_idle_ms.to_string()),
        ),
    ];
    from_env
        .into_iter()
        .chain(args.broker_configs.iter().cloned())
        .chain(
            flags
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k.to_string(), v))),
        )
        .collect()
}

/// The addresses `rill health` asks by default, in order: the one `rill serve` wrote to
/// `RILL_READY_FILE` (set in the image, so `--listen …:0` works too), then the first listen
/// address from `RILL_LISTEN`, on loopback where it names every interface.
fn health_addresses() -> Vec<String> {
    let mut out = Vec::new();
    if let Some(path) = std::env::var_os("RILL_READY_FILE") {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Some(line) = text.lines().next().filter(|l| !l.trim().is_empty()) {
                out.push(line.trim().to_string());
            }
        }
    }
    let listen = std::env::var("RILL_LISTEN").unwrap_or_else(|_| "localhost:9092".into());
    let first = listen.split(',').next().unwrap_or("").trim();
    // `NAME://host:port`: the address part (ApiVersions is answered on SASL listeners
    // before authentication too).
    let first = first
        .split_once("://")
        .map_or(first, |(_, a)| a)
        .to_string();
    match listener::split_host_port(&first) {
        Some((_, Some(0))) => {}
        Some((host, Some(port))) => {
            let host = match host.as_str() {
                "" | "localhost" | "0.0.0.0" | "::" => "127.0.0.1".to_string(),
                h if h.contains(':') => format!("[{h}]"),
                h => h.to_string(),
            };
            out.push(format!("{host}:{port}"));
        }
        _ => out.push(first),
    }
    out.dedup();
    out
}

/// The HTTP listener `rill serve` wrote to `RILL_READY_FILE` (its `http://` line).
fn ready_file_http() -> Option<String> {
    let text = std::fs::read_to_string(std::env::var_os("RILL_READY_FILE")?).ok()?;
    text.lines()
        .find_map(|l| l.trim().strip_prefix("http://").map(|a| a.to_string()))
}

fn health(args: HealthArgs) -> Result<(), CliError> {
    let timeout = std::time::Duration::from_millis(args.timeout_ms.max(1));
    let candidates: Vec<(String, bool)> = match (args.bootstrap, args.http) {
        (Some(addr), _) => vec![(addr, false)],
        (None, Some(http)) => vec![(http, true)],
        (None, None) => ready_file_http()
            .map(|h| (h, true))
            .into_iter()
            .chain(health_addresses().into_iter().map(|a| (a, false)))
            .collect(),
    };
    let mut last = None;
    for (addr, http) in candidates {
        let asked = if http {
            ask_ready(&addr, timeout)
        } else {
            ask_api_versions(&addr, timeout)
        };
        match asked {
            Ok(()) => return Ok(()),
            Err(why) => last = Some(CliError::Unhealthy { addr, why }),
        }
    }
    Err(last.unwrap_or(CliError::Unhealthy {
        addr: String::new(),
        why: "no address to ask".into(),
    }))
}

/// A connection to `addr` whose connect, reads and writes give up after `timeout`.
fn connect_with_timeout(
    addr: &str,
    timeout: std::time::Duration,
) -> Result<std::net::TcpStream, String> {
    use std::net::ToSocketAddrs;
    let target = addr
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("no address")?;
    let s = std::net::TcpStream::connect_timeout(&target, timeout).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(timeout))
        .and_then(|()| s.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    Ok(s)
}

/// `GET /ready` on the HTTP listener: Ok on 200; the error says what went wrong.
fn ask_ready(addr: &str, timeout: std::time::Duration) -> Result<(), String> {
    use std::io::{Read, Write};
    let addr = addr.trim_start_matches("http://").trim_end_matches('/');
    let mut s = connect_with_timeout(addr, timeout)?;
    write!(
        s,
        "GET /ready HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    s.take(4096)
        .read_to_end(&mut answer)
        .map_err(|e| e.to_string())?;
    let answer = String::from_utf8_lossy(&answer);
    let status = answer.lines().next().unwrap_or("");
    if status.split_whitespace().nth(1) == Some("200") {
        Ok(())
    } else {
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or("").trim();
        Err(format!("/ready answered {status:?} {body}"))
    }
}

/// One ApiVersions v0 round trip; the error says what went wrong.
fn ask_api_versions(addr: &str, timeout: std::time::Duration) -> Result<(), String> {
    use std::io::{Read, Write};
    let mut s = connect_with_timeout(addr, timeout)?;
    // ApiVersions v0: size 10, api key 18, version 0, correlation id 1, null client id.
    s.write_all(&[0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 1, 0xff, 0xff])
        .map_err(|e| e.to_string())?;
    let mut head = [0u8; 10];
    s.read_exact(&mut head).map_err(|e| e.to_string())?;
    if head[4..8] != [0, 0, 0, 1] {
        return Err("answer with a wrong correlation id".into());
    }
    match i16::from_be_bytes([head[8], head[9]]) {
        0 => Ok(()),
        code => Err(format!("ApiVersions error code {code}")),
    }
}

/// SIGTERM (unix) or Ctrl-C, with the handlers installed when this is called (not when
/// the future is first polled): a SIGTERM right after the ready line must stop the broker
/// cleanly, not kill it.
fn wait_for_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    // ctrl_c() registers its handler on first poll; poll it once now.
    let mut ctrl_c = Box::pin(tokio::signal::ctrl_c());
    let _ = futures_poll_once(ctrl_c.as_mut());
    async move {
        #[cfg(unix)]
        if let Ok(mut term) = term {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = ctrl_c.await;
    }
}

/// Polls a future once with a no-op waker (to make it register what it waits for).
fn futures_poll_once<F: std::future::Future>(
    f: std::pin::Pin<&mut F>,
) -> std::task::Poll<F::Output> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    f.poll(&mut cx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_flags_parse_into_listeners() {
        let a = ServeArgs::parse_from_for_test(&[]);
        let l = listener_specs(&a).expect("default");
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].binds[0].host, "localhost");
        let a = ServeArgs::parse_from_for_test(&[
            "--listen",
            "127.0.0.1:0",
            "--listen",
            "SASL_PLAINTEXT://127.0.0.1:0",
        ]);
        let l = listener_specs(&a).expect("two");
        assert_eq!(l.len(), 2);
        assert!(l[1].protocol.is_sasl());
        assert_eq!(a.sasl_mechanisms, crate::auth::Mechanism::ALL.to_vec());
        let a = ServeArgs::parse_from_for_test(&[
            "--listen",
            "INTERNAL://127.0.0.1:0",
            "--listener-security-protocol-map",
            "INTERNAL:SASL_PLAINTEXT",
        ]);
        assert!(listener_specs(&a).expect("mapped")[0].protocol.is_sasl());
        let a = ServeArgs::parse_from_for_test(&["--listen", "SSL://127.0.0.1:0"]);
        let specs = listener_specs(&a).expect("tls listener");
        let e = tls_settings(&a, &specs).expect_err("needs a certificate");
        assert!(e.to_string().contains("--tls-cert"), "{e}");
    }

    #[test]
    fn two_listeners_bind_their_own_free_ports() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let a = ServeArgs::parse_from_for_test(&[
            "--listen",
            "127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
        ]);
        let specs = listener_specs(&a).expect("specs");
        let (sockets, bound) = rt.block_on(bind_all(&specs)).expect("binds");
        assert_eq!(sockets.len(), 2);
        assert_eq!(sockets[1].1, 1);
        assert_ne!(bound[0].1, bound[1].1);
        assert!(bound.iter().all(|(h, p)| h == "127.0.0.1" && *p != 0));
    }

    impl ServeArgs {
        fn parse_from_for_test(extra: &[&str]) -> ServeArgs {
            let mut argv = vec!["rill", "serve"];
            argv.extend_from_slice(extra);
            match Cli::parse_from(argv).command {
                Command::Serve(a) => *a,
                _ => unreachable!("parsed `rill serve`"),
            }
        }
    }
}
