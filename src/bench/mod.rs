//! `rill bench`: a load generator that speaks the Kafka protocol itself (produce,
//! consume, end-to-end), plus helpers that measure the machine's own limits and the
//! broker's startup time and idle footprint. See benches/README.md.
//!
//! The load paths are plain threads on blocking sockets: a writer and a reader per
//! connection, so a fixed-rate schedule is kept to within the OS timer slack (tokio's
//! timer wheel has 1 ms granularity, too coarse for sub-millisecond latencies).
//! Request frames are encoded once and resent with only the correlation id patched
//! (the broker assigns offsets, so the same batch bytes can be sent again and again).

mod consume;
mod idle;
mod lifecycle;
mod limits;
mod produce;
mod report;
mod txn;
mod workload;

use std::time::Duration;

use clap::{Args, Subcommand};
use thiserror::Error;

pub use report::Report;

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: BenchCommand,
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Produce as fast as possible (or at --rate) and report throughput and ack latency.
    Produce(LoadArgs),
    /// Catch-up read of existing data from offset 0 up to the end seen at the start.
    Consume(LoadArgs),
    /// Produce while consuming; latency from (intended) send to consumer receipt.
    E2e(LoadArgs),
    /// Transactional producers running transactions of N records back to back.
    Txn(txn::TxnArgs),
    /// Time from exec of `rill serve --ephemeral` to the first answered Metadata request.
    Startup(idle::StartupArgs),
    /// Create a topic of N partitions and/or hold M idle connections open (RSS probes).
    Idle(idle::IdleArgs),
    /// In-process costs of the log lifecycle: cleaner MB/s and a retention pass over many
    /// partitions.
    Lifecycle(lifecycle::LifecycleArgs),
    /// Measure this machine's limits: loopback TCP, sequential write + fdatasync, fsyncs/s.
    #[command(subcommand)]
    Limits(limits::LimitsCommand),
}

pub use crate::client::records::Codec;

#[derive(Args, Debug, Clone)]
pub struct LoadArgs {
    /// Broker address (host:port). All partitions must be led by this broker.
    #[arg(long, short = 'b', default_value = "127.0.0.1:9092")]
    pub bootstrap: String,
    /// Topic; created with --partitions partitions (CreateTopics) if it does not exist.
    #[arg(long, short = 't', default_value = "rill-bench")]
    pub topic: String,
    /// Number of TCP connections (each has a writer and a reader thread).
    #[arg(long, short = 'c', default_value_t = 1)]
    pub connections: usize,
    /// Partitions to use (default: 1 when creating, all existing ones otherwise).
    #[arg(long, short = 'p')]
    pub partitions: Option<i32>,
    /// Bytes of each record's value.
    #[arg(long, default_value_t = 1024)]
    pub record_size: usize,
    /// Records per batch (one batch per produce request).
    #[arg(long, default_value_t = 64)]
    pub batch_records: usize,
    /// Batch compression.
    #[arg(long, value_enum, default_value_t = Codec::None)]
    pub compression: Codec,
    /// acks: 0 (no response), 1 or -1 (all).
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    pub acks: i16,
    /// Produce requests in flight per connection (pipelining depth).
    #[arg(long, default_value_t = 1)]
    pub depth: usize,
    /// How long to run (e.g. 10s, 500ms). Default 10s unless --records is given.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Stop after this many records (produce/e2e: sent; consume: read).
    #[arg(long)]
    pub records: Option<u64>,
    /// Fixed rate in records/s over all connections (default: as fast as possible).
    /// Latency is measured from each request's intended send time.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Fetch: most bytes per partition per request.
    #[arg(long, default_value_t = 4 << 20)]
    pub fetch_partition_bytes: i32,
    /// Fetch: most bytes per request.
    #[arg(long, default_value_t = 64 << 20)]
    pub fetch_max_bytes: i32,
    /// Network timeout for any one response (ms).
    #[arg(long, default_value_t = 30_000)]
    pub timeout_ms: u64,
    /// Produce as an idempotent producer (a producer id per connection from
    /// InitProducerId; each batch gets its sequence number and a fresh CRC).
    #[arg(long)]
    pub idempotent: bool,
    /// Give records keys: record i of every batch gets key i mod N (default: no keys).
    /// Needed for compacted topics.
    #[arg(long)]
    pub keys: Option<usize>,
    /// A topic config for the topic when it is created (`name=value`, repeatable), e.g.
    /// `--topic-config cleanup.policy=compact`.
    #[arg(long, value_parser = parse_topic_config)]
    pub topic_config: Vec<(String, String)>,
    /// Print the result as one JSON object instead of the human summary.
    #[arg(long)]
    pub json: bool,
}

fn parse_topic_config(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected name=value, got {s:?}"))
}

impl LoadArgs {
    fn validate(&self, mode: Mode) -> Result<(), BenchError> {
        let bad = |m: &str| Err(BenchError::Usage(m.to_string()));
        if self.connections == 0 {
            return bad("--connections must be at least 1");
        }
        if self.batch_records == 0 {
            return bad("--batch-records must be at least 1");
        }
        if self.depth == 0 {
            return bad("--depth must be at least 1");
        }
        if !matches!(self.acks, -1..=1) {
            return bad("--acks must be 0, 1 or -1");
        }
        if mode == Mode::E2e && self.record_size < 8 {
            return bad("e2e needs --record-size of at least 8 (the send time is embedded)");
        }
        if let Some(r) = self.rate {
            if !(r.is_finite() && r > 0.0) {
                return bad("--rate must be a positive number of records/s");
            }
        }
        if matches!(self.partitions, Some(p) if p < 1) {
            return bad("--partitions must be at least 1");
        }
        if self.idempotent && self.acks != -1 {
            return bad("--idempotent needs --acks -1 (as every idempotent client)");
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Produce,
    Consume,
    E2e,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Produce => "produce",
            Mode::Consume => "consume",
            Mode::E2e => "e2e",
        }
    }
}

#[derive(Debug, Error)]
pub enum BenchError {
    #[error(transparent)]
    Client(#[from] crate::client::ClientError),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot encode {api} request: {msg}")]
    Encode { api: &'static str, msg: String },
    #[error("{api} failed with Kafka error code {code} (partition {partition})")]
    Kafka {
        api: &'static str,
        code: i16,
        partition: i32,
    },
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Batch(String),
    #[error("a worker thread panicked")]
    Panicked,
}

/// Parses `10s`, `500ms`, `2m`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("not a duration: {s:?}"))?;
    let secs = match unit {
        "ms" => v / 1000.0,
        "s" => v,
        "m" => v * 60.0,
        _ => return Err(format!("unknown duration unit in {s:?} (ms, s, m)")),
    };
    if !(secs.is_finite() && secs >= 0.0) {
        return Err(format!("not a duration: {s:?}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

pub fn run(args: BenchArgs) -> Result<(), BenchError> {
    match args.command {
        BenchCommand::Produce(a) => load(Mode::Produce, a),
        BenchCommand::Consume(a) => load(Mode::Consume, a),
        BenchCommand::E2e(a) => load(Mode::E2e, a),
        BenchCommand::Txn(a) => txn::run(a),
        BenchCommand::Startup(a) => idle::startup(a),
        BenchCommand::Idle(a) => idle::idle(a),
        BenchCommand::Lifecycle(a) => lifecycle::run(a),
        BenchCommand::Limits(c) => limits::run(c),
    }
}

fn load(mode: Mode, args: LoadArgs) -> Result<(), BenchError> {
    args.validate(mode)?;
    let report = match mode {
        Mode::Produce => produce::run(&args, false)?,
        Mode::E2e => produce::run(&args, true)?,
        Mode::Consume => consume::run(&args)?,
    };
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.human());
    }
    if report.errors > 0 {
        return Err(BenchError::Usage(format!(
            "{} requests failed (first: {})",
            report.errors,
            report.first_error.as_deref().unwrap_or("?")
        )));
    }
    Ok(())
}

/// Which partitions connection `c` of `n` works on: round robin, and every connection
/// gets at least one (connections beyond the partition count share partitions).
pub fn partitions_of(c: usize, n: usize, partitions: i32) -> Vec<i32> {
    let p = partitions as usize;
    if n >= p {
        vec![(c % p) as i32]
    } else {
        (0..p).filter(|x| x % n == c).map(|x| x as i32).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_spread_over_connections() {
        assert_eq!(partitions_of(0, 2, 5), vec![0, 2, 4]);
        assert_eq!(partitions_of(1, 2, 5), vec![1, 3]);
        assert_eq!(partitions_of(3, 4, 2), vec![1]);
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("x").is_err());
        assert!(parse_duration("3h").is_err());
    }
}
