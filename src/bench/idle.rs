//! Probes of the broker at rest: startup time (exec to first answered Metadata) and a
//! holder of idle partitions/connections for RSS measurements.

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::Args;
use kafka_protocol::messages::{ApiVersionsRequest, MetadataRequest};
use kafka_protocol::protocol::StrBytes;

use super::{parse_duration, BenchError};
use crate::client::{Conn, CLIENT_ID};

#[derive(Args, Debug)]
pub struct StartupArgs {
    /// The rill binary to start (default: this one).
    #[arg(long)]
    pub bin: Option<PathBuf>,
    /// Number of starts; the median is reported.
    #[arg(long, default_value_t = 10)]
    pub runs: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct IdleArgs {
    /// Broker address.
    #[arg(long, short = 'b', default_value = "127.0.0.1:9092")]
    pub bootstrap: String,
    /// Create this topic with --partitions partitions (if --partitions > 0).
    #[arg(long, default_value = "rill-idle")]
    pub topic: String,
    #[arg(long, default_value_t = 0)]
    pub partitions: i32,
    /// Open this many connections (each answers one ApiVersions), print "ready", and
    /// hold them for --hold.
    #[arg(long, default_value_t = 0)]
    pub connections: usize,
    #[arg(long, value_parser = parse_duration, default_value = "60s")]
    pub hold: Duration,
}

fn free_port() -> Result<u16, BenchError> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Starts `rill serve --ephemeral` and returns the time until a Metadata request is answered.
fn one_start(bin: &PathBuf) -> Result<Duration, BenchError> {
    let port = free_port()?;
    let addr = format!("127.0.0.1:{port}");
    let start = Instant::now();
    let mut child = Command::new(bin)
        .args([
            "serve",
            "--ephemeral",
            "--log-level",
            "warn",
            "--listen",
            &addr,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let result = (|| {
        let deadline = start + Duration::from_secs(10);
        loop {
            if let Ok(mut c) = Conn::connect_plain(&addr, Duration::from_secs(5)) {
                c.call_at(12, &MetadataRequest::default())?;
                return Ok(start.elapsed());
            }
            if Instant::now() > deadline {
                return Err(BenchError::Usage(format!(
                    "{} did not answer on {addr} within 10 s",
                    bin.display()
                )));
            }
            std::thread::sleep(Duration::from_micros(100));
        }
    })();
    terminate(&mut child);
    result
}

pub fn startup(a: StartupArgs) -> Result<(), BenchError> {
    let bin = match a.bin {
        Some(b) => b,
        None => std::env::current_exe()?,
    };
    let mut runs = Vec::with_capacity(a.runs);
    for _ in 0..a.runs.max(1) {
        runs.push(one_start(&bin)?.as_secs_f64() * 1000.0);
    }
    let mut sorted = runs.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    if a.json {
        println!(
            "{}",
            serde_json::json!({"startup_ms_median": median, "startup_ms_min": sorted[0],
                               "startup_ms_max": sorted[sorted.len() - 1], "runs_ms": runs})
        );
    } else {
        println!(
            "exec to first answered Metadata: median {median:.2} ms (min {:.2}, max {:.2}, {} runs)",
            sorted[0],
            sorted[sorted.len() - 1],
            runs.len()
        );
    }
    Ok(())
}

pub fn idle(a: IdleArgs) -> Result<(), BenchError> {
    let timeout = Duration::from_secs(60);
    if a.partitions > 0 {
        let mut c = Conn::connect(&a.bootstrap, timeout)?;
        let n = c.ensure_topic(&a.topic, Some(a.partitions), true)?;
        println!("topic {} has {n} partitions", a.topic);
    }
    if a.connections > 0 {
        let mut conns = Vec::with_capacity(a.connections);
        for _ in 0..a.connections {
            let mut c = Conn::connect_plain(&a.bootstrap, timeout)?;
            let req = ApiVersionsRequest::default()
                .with_client_software_name(StrBytes::from_static_str(CLIENT_ID))
                .with_client_software_version(StrBytes::from_static_str("0"));
            let resp = c.call_at(3, &req)?;
            if resp.error_code != 0 {
                return Err(BenchError::Kafka {
                    api: "ApiVersions",
                    code: resp.error_code,
                    partition: -1,
                });
            }
            conns.push(c);
        }
        println!("ready: {} connections open", conns.len());
        std::io::stdout().flush()?;
        std::thread::sleep(a.hold);
    }
    Ok(())
}
