//! Harness for raw-wire tests: a real `rill serve` process on 127.0.0.1 with an
//! ephemeral port, and a minimal blocking client that speaks the Kafka framing.
//!
//! Against another broker: with `RILL_BOOTSTRAP=host:port`, `Rill::start(&[])` starts
//! nothing and hands back that address (no child: `stop`, `kill9`, `log`, `start_on`
//! and start flags panic, asking the test to declare its need). A test that needs more
//! than a plain broker says so on its first line, `needs!(Need::…)`; against an
//! external broker it is then skipped with the reason (stderr line
//! `conformance: skipped <test> — <reason>`, and a `<test>\t<reason>` line appended to
//! the file `RILL_CONFORMANCE_SKIPS` names, if set). The needs:
//! - `Flags("…")`: the broker must be started with these flags.
//! - `Restart`: the test stops, kills or restarts the broker (on its data directory).
//! - `BrokerLog`: the test reads the broker's log.
//! - `Sasl`: a SASL_PLAINTEXT listener beside PLAINTEXT, with the test's own users file.
//! - `Fresh("why")`: the assertions depend on broker-wide state a shared broker
//!   can't promise (all topics, broker configs, ACLs, quotas, SCRAM users, metrics).
//!
//! Tests share the external broker (in parallel, and run after run), so topic names,
//! group ids and transactional ids go through `ops::uniq` (directly or via `ops::name`,
//! `create_topic`, `produce`, `fetch`…): it appends `.<test>.<run id>` against an
//! external broker and leaves names exactly as written otherwise.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::protocol::{Request, StrBytes};
use kafka_protocol::records::{Compression, Record, RecordBatchDecoder};
use rill::client::{frame, records};

/// `RILL_BOOTSTRAP`: the external broker the tests run against, if any.
pub fn external() -> Option<&'static str> {
    static BOOTSTRAP: OnceLock<Option<String>> = OnceLock::new();
    BOOTSTRAP
        .get_or_init(|| {
            std::env::var("RILL_BOOTSTRAP")
                .ok()
                .filter(|s| !s.trim().is_empty())
        })
        .as_deref()
}

/// What a test needs beyond a plain broker it may only talk to (see the module docs).
pub enum Need {
    /// A broker started with these flags.
    Flags(&'static str),
    /// Stops, kills or restarts the broker.
    Restart,
    /// Reads the broker's log.
    BrokerLog,
    /// A SASL_PLAINTEXT listener beside PLAINTEXT, with the test's own users file.
    Sasl,
    /// Broker-wide state only a fresh broker of its own guarantees; the reason says which.
    Fresh(&'static str),
}

impl Need {
    fn reason(&self) -> String {
        match self {
            // Worded as compat/target.py words its needs, so the report groups them alike.
            Need::Flags(f) => format!("flags (a broker started with {f})"),
            Need::Restart => "restart (stops, kills or restarts the broker)".to_string(),
            Need::BrokerLog => "broker-log (reads the broker's log)".to_string(),
            Need::Sasl => {
                "sasl (a SASL_PLAINTEXT listener with the test's own users file)".to_string()
            }
            Need::Fresh(why) => format!("fresh (a broker of its own: {why})"),
        }
    }
}

/// The running test's name (`module::test` under libtest).
pub fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("unnamed thread")
        .to_string()
}

/// `needs!` below: true (the test returns) if the broker can't give the test what it needs.
pub fn skip_for(needs: &[Need]) -> bool {
    if external().is_none() || needs.is_empty() {
        return false;
    }
    let reason = format!(
        "target lacks: {}",
        needs
            .iter()
            .map(Need::reason)
            .collect::<Vec<_>>()
            .join("; ")
    );
    let test = test_name();
    eprintln!("conformance: skipped {test} — {reason}");
    if let Some(path) = std::env::var_os("RILL_CONFORMANCE_SKIPS") {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .expect("open RILL_CONFORMANCE_SKIPS");
        // One write per line: tests append in parallel.
        f.write_all(format!("{test}\t{reason}\n").as_bytes())
            .expect("write RILL_CONFORMANCE_SKIPS");
    }
    true
}

/// `needs!(Need::Restart, Need::Flags("--fsync always"))` on a test's first line: against
/// an external broker (`RILL_BOOTSTRAP`), records the skip and returns from the test.
/// (Unused by the differential test target, which includes this file too.)
#[allow(unused_macros)]
macro_rules! needs {
    ($($need:expr),+ $(,)?) => {
        if $crate::common::skip_for(&[$($need),+]) {
            return;
        }
    };
}

fn undeclared(what: &str, need: &str) -> ! {
    panic!(
        "{} {what} against an external broker (RILL_BOOTSTRAP): declare it with `needs!({need})` at the top of the test",
        test_name()
    )
}

pub struct Rill {
    child: Option<Child>,
    /// The first listener's address (the ready file's first line).
    pub addr: String,
    /// With several listeners: each one's name and address.
    pub listeners: Vec<(String, String)>,
    /// The HTTP listener's `host:port` (the ready file's `http://` line), if on.
    pub http: Option<String>,
    tmp: tempfile::TempDir,
}

impl Rill {
    /// A broker on a fresh temporary data directory.
    /// Against an external broker (`RILL_BOOTSTRAP`): that broker, with no flags.
    pub fn start(extra: &[&str]) -> Rill {
        if let Some(addr) = external() {
            if !extra.is_empty() {
                undeclared(
                    &format!("starts a broker with {}", extra.join(" ")),
                    "Need::Flags(\"…\")",
                );
            }
            return Rill {
                child: None,
                addr: addr.to_string(),
                listeners: Vec::new(),
                http: None,
                tmp: tempfile::tempdir().expect("tempdir"),
            };
        }
        Self::spawn(None, extra)
    }

    /// A broker on `data_dir`, which outlives it (for restart tests).
    pub fn start_on(data_dir: &Path, extra: &[&str]) -> Rill {
        if external().is_some() {
            undeclared("starts a broker on its own data directory", "Need::Restart");
        }
        Self::spawn(Some(data_dir.to_path_buf()), extra)
    }

    fn spawn(data_dir: Option<PathBuf>, extra: &[&str]) -> Rill {
        let tmp = tempfile::tempdir().expect("tempdir");
        let ready = tmp.path().join("ready");
        let log = std::fs::File::create(tmp.path().join("rill.log")).expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rill"));
        cmd.arg("serve")
            .args([
                "--listen",
                "127.0.0.1:0",
                "--log-level",
                "rill=debug,warn",
                "--ready-file",
            ])
            .arg(&ready);
        match &data_dir {
            Some(d) => cmd.arg("--data-dir").arg(d),
            None => cmd.arg("--ephemeral"),
        };
        let child = cmd
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn rill");
        let mut rill = Rill {
            child: Some(child),
            addr: String::new(),
            listeners: Vec::new(),
            http: None,
            tmp,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(s) = std::fs::read_to_string(&ready) {
                if s.ends_with('\n') {
                    let mut lines = s.lines();
                    rill.addr = lines.next().unwrap_or_default().trim().to_string();
                    // Kafka listeners' lines, then the HTTP listener's `http://` line.
                    for line in lines {
                        match line.trim().split_once("://") {
                            Some(("http" | "https", a)) => rill.http = Some(a.to_string()),
                            Some((n, a)) => rill.listeners.push((n.to_string(), a.to_string())),
                            None => {}
                        }
                    }
                    return rill;
                }
            }
            if let Some(Ok(Some(status))) = rill.child.as_mut().map(|c| c.try_wait()) {
                panic!("rill exited early ({status}):\n{}", rill.log());
            }
            assert!(
                Instant::now() < deadline,
                "rill did not become ready:\n{}",
                rill.log()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn log(&self) -> String {
        if external().is_some() {
            undeclared("reads the broker's log", "Need::BrokerLog");
        }
        self.log_file()
    }

    fn log_file(&self) -> String {
        std::fs::read_to_string(self.tmp.path().join("rill.log")).unwrap_or_default()
    }

    pub fn client(&self) -> Client {
        Client::connect(&self.addr)
    }

    /// The HTTP listener's `host:port` (started with `--http-listen`).
    pub fn http(&self) -> &str {
        self.http
            .as_deref()
            .expect("no HTTP listener: start with --http-listen")
    }

    /// The address of the listener named `name` (several listeners only).
    pub fn listener(&self, name: &str) -> &str {
        self.listeners
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, a)| a.as_str())
            .unwrap_or_else(|| panic!("no listener {name} in {:?}", self.listeners))
    }

    /// Our child still runs; an external broker still accepts connections.
    pub fn is_running(&mut self) -> bool {
        if external().is_some() {
            return TcpStream::connect(&self.addr).is_ok();
        }
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// SIGKILL: no chance to flush or clean up.
    pub fn kill9(&mut self) {
        if external().is_some() {
            undeclared("kills the broker", "Need::Restart");
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait; returns the exit code.
    pub fn stop(&mut self) -> Option<i32> {
        if external().is_some() {
            undeclared("stops the broker", "Need::Restart");
        }
        self.stop_child()
    }

    fn stop_child(&mut self) -> Option<i32> {
        let mut c = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(s)) = c.try_wait() {
                return s.code();
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                let _ = c.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Rill {
    fn drop(&mut self) {
        if std::thread::panicking() && self.child.is_some() {
            eprintln!("---- rill log ----\n{}", self.log_file());
        }
        // A graceful stop lets an ephemeral broker remove its data dir.
        self.stop_child();
    }
}

pub struct Client {
    pub stream: TcpStream,
    pub correlation: i32,
}

impl Client {
    pub fn connect(addr: &str) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        Client {
            stream,
            correlation: 0,
        }
    }

    /// Writes one request; returns its correlation id.
    pub fn write_request<R: Request>(&mut self, version: i16, req: &R) -> i32 {
        let (c, frame) = self.encode_request(version, req);
        self.stream.write_all(&frame).expect("write");
        c
    }

    /// One request frame (size prefix included) with the next correlation id, not sent:
    /// several can go out in one write (pipelining).
    pub fn encode_request<R: Request>(&mut self, version: i16, req: &R) -> (i32, Vec<u8>) {
        self.correlation += 1;
        let frame = frame::encode_frame(version, self.correlation, "protocol-tests", req)
            .expect("encode request");
        (self.correlation, frame)
    }

    /// Writes bytes as they are (frames encoded with `encode_request`).
    pub fn write_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    pub fn write_frame(&mut self, body: &[u8]) {
        let mut frame = (body.len() as i32).to_be_bytes().to_vec();
        frame.extend_from_slice(body);
        self.stream.write_all(&frame).expect("write");
    }

    /// Reads one response frame; `None` if the broker closed the connection.
    pub fn read_frame(&mut self) -> Option<Bytes> {
        frame::read_frame(&mut self.stream).ok()
    }

    pub fn read_response<R: Request>(&mut self, version: i16, correlation: i32) -> R::Response {
        let buf = self.read_frame().expect("broker closed the connection");
        let (resp, rest) = frame::decode_response_with_rest::<R>(version, correlation, buf)
            .expect("decode response");
        assert_eq!(rest, 0, "{rest} trailing bytes after response");
        resp
    }

    pub fn send<R: Request>(&mut self, version: i16, req: &R) -> R::Response {
        let c = self.write_request(version, req);
        self.read_response::<R>(version, c)
    }

    /// True if the broker closes the connection (rather than answering) within 5 s.
    pub fn is_closed_by_peer(&mut self) -> bool {
        self.stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut b = [0u8; 1];
        matches!(self.stream.read(&mut b), Ok(0) | Err(_))
    }
}

pub fn record(i: i64, ts: i64) -> Record {
    let mut headers = indexmap::IndexMap::new();
    headers.insert(
        StrBytes::from_string(format!("h{i}")),
        Some(Bytes::from(format!("hv{i}"))),
    );
    let key = Some(Bytes::from(format!("key-{i}")));
    records::new_record(i, ts, key, Some(Bytes::from(format!("value-{i}"))), headers)
}

/// Encodes records as v2 batches.
pub fn encode(records: &[Record], compression: Compression) -> Bytes {
    records::encode_records(records, compression).expect("encode batch")
}

/// One encoded v2 batch of `n` records stamped `ts0 + i`.
pub fn batch(n: i64, ts0: i64, compression: Compression) -> Bytes {
    let records: Vec<Record> = (0..n).map(|i| record(i, ts0 + i)).collect();
    encode(&records, compression)
}

/// Decodes every record in a fetched record set.
pub fn decode_records(mut bytes: Bytes) -> Vec<Record> {
    let mut out = Vec::new();
    for set in RecordBatchDecoder::decode_all(&mut bytes).expect("decode records") {
        out.extend(set.records);
    }
    out
}

pub const CODECS: [Compression; 5] = [
    Compression::None,
    Compression::Gzip,
    Compression::Snappy,
    Compression::Lz4,
    Compression::Zstd,
];
