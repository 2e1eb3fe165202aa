//! The machine's own limits, to compare the broker with: loopback TCP throughput
//! between two processes, sequential write + fdatasync bandwidth, and fdatasyncs/s.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};

use super::{parse_duration, BenchError};

#[derive(Subcommand, Debug)]
pub enum LimitsCommand {
    /// Loopback TCP throughput from this process to a child process (one stream).
    Tcp(TcpArgs),
    /// The receiving end of `limits tcp` (started by it).
    #[command(hide = true)]
    TcpSink {
        /// Address to connect to.
        #[arg(long)]
        connect: String,
        /// Read size.
        #[arg(long, default_value_t = 1 << 20)]
        chunk: usize,
    },
    /// Loopback round trips of a small message to a child process at a fixed rate:
    /// the latency floor (scheduler and wake-up costs) any request/response pays here.
    Rtt(RttArgs),
    /// The echoing end of `limits rtt` (started by it).
    #[command(hide = true)]
    TcpEcho {
        /// Address to connect to.
        #[arg(long)]
        connect: String,
        /// Message size.
        #[arg(long)]
        size: usize,
    },
    /// Sequential write bandwidth including a final fdatasync, in --dir's filesystem.
    Disk(DiskArgs),
    /// fdatasync()s per second, each after appending --size bytes.
    Fsync(FsyncArgs),
}

#[derive(Args, Debug)]
pub struct TcpArgs {
    /// How long to send.
    #[arg(long, value_parser = parse_duration, default_value = "5s")]
    pub duration: Duration,
    /// Bytes per write() and read().
    #[arg(long, default_value_t = 1 << 20)]
    pub chunk: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct RttArgs {
    /// Round trips per second (sent on a fixed schedule; latency counts from the
    /// intended send time).
    #[arg(long, default_value_t = 2000.0)]
    pub rate: f64,
    /// Message size in bytes, each way.
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// How long to run.
    #[arg(long, value_parser = parse_duration, default_value = "3s")]
    pub duration: Duration,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DiskArgs {
    /// Directory whose filesystem is measured (a scratch file is created and removed).
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// MiB written in total.
    #[arg(long, default_value_t = 1024)]
    pub mib: u64,
    /// Bytes per write().
    #[arg(long, default_value_t = 1 << 20)]
    pub chunk: usize,
    /// Skip the final fdatasync: the page-cache write bandwidth alone.
    #[arg(long)]
    pub no_fdatasync: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct FsyncArgs {
    /// Directory whose filesystem is measured.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// Bytes appended before each fdatasync.
    #[arg(long, default_value_t = 4096)]
    pub size: usize,
    /// How long to run.
    #[arg(long, value_parser = parse_duration, default_value = "3s")]
    pub duration: Duration,
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: LimitsCommand) -> Result<(), BenchError> {
    match cmd {
        LimitsCommand::Tcp(a) => tcp(a),
        LimitsCommand::TcpSink { connect, chunk } => tcp_sink(&connect, chunk),
        LimitsCommand::Rtt(a) => rtt(a),
        LimitsCommand::TcpEcho { connect, size } => tcp_echo(&connect, size),
        LimitsCommand::Disk(a) => disk(a),
        LimitsCommand::Fsync(a) => fsync(a),
    }
}

const MIB: f64 = 1024.0 * 1024.0;

fn tcp(a: TcpArgs) -> Result<(), BenchError> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?.to_string();
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .args(["bench", "limits", "tcp-sink", "--connect", &addr, "--chunk"])
        .arg(a.chunk.to_string())
        .stdin(Stdio::null())
        .spawn()?;
    let result = (|| -> Result<(u64, f64), BenchError> {
        let (mut s, _) = listener.accept()?;
        let buf = vec![0x5au8; a.chunk.max(1)];
        let mut sent = 0u64;
        let start = Instant::now();
        while start.elapsed() < a.duration {
            s.write_all(&buf)?;
            sent += buf.len() as u64;
        }
        s.shutdown(Shutdown::Write)?;
        // The sink answers with how much it read once it has read it all.
        let mut got = [0u8; 8];
        s.read_exact(&mut got)?;
        let elapsed = start.elapsed().as_secs_f64();
        let received = u64::from_be_bytes(got);
        if received != sent {
            return Err(BenchError::Usage(format!(
                "tcp sink read {received} bytes of {sent}"
            )));
        }
        Ok((sent, elapsed))
    })();
    let _ = child.wait();
    let (bytes, elapsed) = result?;
    let mibs = bytes as f64 / MIB / elapsed;
    if a.json {
        println!(
            "{}",
            serde_json::json!({"limit": "tcp", "bytes": bytes, "elapsed_s": elapsed,
                               "chunk": a.chunk, "mib_per_s": mibs})
        );
    } else {
        println!(
            "loopback TCP, one stream, {} KiB writes: {:.0} MiB/s ({} MiB in {:.2} s)",
            a.chunk / 1024,
            mibs,
            bytes / (1 << 20),
            elapsed
        );
    }
    Ok(())
}

fn tcp_sink(addr: &str, chunk: usize) -> Result<(), BenchError> {
    let mut s = TcpStream::connect(addr)?;
    let mut buf = vec![0u8; chunk.max(1)];
    let mut total = 0u64;
    loop {
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    s.write_all(&total.to_be_bytes())?;
    Ok(())
}

fn rtt(a: RttArgs) -> Result<(), BenchError> {
    if !(a.rate.is_finite() && a.rate > 0.0) {
        return Err(BenchError::Usage("--rate must be positive".into()));
    }
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?.to_string();
    let size = a.size.max(1);
    let mut child = Command::new(std::env::current_exe()?)
        .args(["bench", "limits", "tcp-echo", "--connect", &addr, "--size"])
        .arg(size.to_string())
        .stdin(Stdio::null())
        .spawn()?;
    let result = (|| -> Result<hdrhistogram::Histogram<u64>, BenchError> {
        let (mut s, _) = listener.accept()?;
        s.set_nodelay(true)?;
        let mut buf = vec![0x5au8; size];
        let mut hist = super::report::histogram();
        let interval = Duration::from_secs_f64(1.0 / a.rate);
        let start = Instant::now();
        let mut next = start;
        while next < start + a.duration {
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            }
            s.write_all(&buf)?;
            s.read_exact(&mut buf)?;
            hist.saturating_record((next.elapsed().as_nanos() as u64).max(1));
            next += interval;
        }
        Ok(hist)
    })();
    let _ = child.wait();
    let h = result?;
    let us = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    if a.json {
        println!(
            "{}",
            serde_json::json!({"limit": "rtt", "rate": a.rate, "size": size,
                               "samples": h.len(), "p50_us": us(0.5), "p99_us": us(0.99),
                               "p999_us": us(0.999), "max_us": h.max() as f64 / 1000.0})
        );
    } else {
        println!(
            "loopback round trip, {size} B at {:.0}/s: p50 {:.1} us, p99 {:.1} us, p99.9 {:.1} us, max {:.1} us",
            a.rate,
            us(0.5),
            us(0.99),
            us(0.999),
            h.max() as f64 / 1000.0
        );
    }
    Ok(())
}

fn tcp_echo(addr: &str, size: usize) -> Result<(), BenchError> {
    let mut s = TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    let mut buf = vec![0u8; size.max(1)];
    loop {
        match s.read_exact(&mut buf) {
            Ok(()) => s.write_all(&buf)?,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
}

fn scratch(dir: &std::path::Path) -> Result<(tempfile::TempPath, File), BenchError> {
    let tmp = tempfile::Builder::new()
        .prefix(".rill-limits-")
        .tempfile_in(dir)?;
    let path = tmp.into_temp_path();
    let f = OpenOptions::new().append(true).open(&path)?;
    Ok((path, f))
}

fn disk(a: DiskArgs) -> Result<(), BenchError> {
    let (_path, mut f) = scratch(&a.dir)?;
    let buf = vec![0x5au8; a.chunk.max(1)];
    let total = a.mib * (1 << 20);
    let mut written = 0u64;
    let start = Instant::now();
    while written < total {
        f.write_all(&buf)?;
        written += buf.len() as u64;
    }
    if !a.no_fdatasync {
        f.sync_data()?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mibs = written as f64 / MIB / elapsed;
    let what = if a.no_fdatasync {
        "sequential write (page cache, no fdatasync)"
    } else {
        "sequential write + fdatasync"
    };
    if a.json {
        println!(
            "{}",
            serde_json::json!({"limit": "disk", "fdatasync": !a.no_fdatasync, "dir": a.dir,
                               "bytes": written, "elapsed_s": elapsed, "chunk": a.chunk,
                               "mib_per_s": mibs})
        );
    } else {
        println!(
            "{what} in {}: {:.0} MiB/s ({} MiB in {:.2} s)",
            a.dir.display(),
            mibs,
            written / (1 << 20),
            elapsed
        );
    }
    Ok(())
}

fn fsync(a: FsyncArgs) -> Result<(), BenchError> {
    let (_path, mut f) = scratch(&a.dir)?;
    let buf = vec![0x5au8; a.size.max(1)];
    let mut syncs = 0u64;
    let start = Instant::now();
    while start.elapsed() < a.duration {
        f.write_all(&buf)?;
        f.sync_data()?;
        syncs += 1;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let per_s = syncs as f64 / elapsed;
    let mibs = (syncs * buf.len() as u64) as f64 / MIB / elapsed;
    if a.json {
        println!(
            "{}",
            serde_json::json!({"limit": "fsync", "dir": a.dir, "size": a.size, "syncs": syncs,
                               "elapsed_s": elapsed, "syncs_per_s": per_s, "mib_per_s": mibs})
        );
    } else {
        println!(
            "append {} B + fdatasync in {}: {:.0} fdatasyncs/s ({:.1} MiB/s)",
            a.size,
            a.dir.display(),
            per_s,
            mibs
        );
    }
    Ok(())
}
