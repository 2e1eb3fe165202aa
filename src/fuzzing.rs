//! Entry points for the cargo-fuzz targets in `fuzz/` (one function per target, bytes in,
//! nothing out). Each feeds its bytes to code that parses untrusted input and checks the
//! invariants that must hold whatever the bytes are; a violation panics, which the fuzzer
//! reports as a crash. The unit test at the bottom replays every committed corpus file and
//! crash reproducer (`fuzz/corpus/<target>/`, `fuzz/regressions/<target>/`) through the
//! same functions, so they are regression tests of the stable `cargo test` too.
//!
//! Compiled only for tests and with the `fuzzing` feature (which the fuzz crate turns
//! on): it is not part of the `rill` binary.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::pin::pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, CreatePartitionsRequest, CreateTopicsRequest};
use kafka_protocol::protocol::Decodable;
use tokio::io::{AsyncRead, ReadBuf};

use crate::auth::scram::{self, ScramServer};
use crate::auth::{plain, ScramCredential, ScramMechanism};
use crate::broker::{Broker, BrokerConfig};
use crate::log::batch::{self, BatchHeader, HEADER_LEN};
use crate::log::{compression, Isolation, LogConfig, PartitionLog};
use crate::server::dispatch::{self, Session};
use crate::server::frame::{self, FrameReader, MIN_REQUEST};

/// A fuzz target's entry point.
pub type Target = fn(&[u8]);

/// The fuzz targets, as named in `fuzz/fuzz_targets/` and `fuzz/corpus/`.
pub const TARGETS: &[(&str, Target)] = &[
    ("frame_reader", frame_reader),
    ("dispatch", dispatch),
    ("produce_batch", produce_batch),
    ("decompress", decompress),
    ("group_metadata", group_metadata),
    ("sasl", sasl),
    ("segment_recovery", segment_recovery),
];

// ------------------------------------------------------------------ frame_reader

/// Gives its bytes `chunk` at a time, always ready (a client writing in small pieces).
struct Chunked<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl AsyncRead for Chunked<'_> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = self.chunk.min(self.data.len()).min(buf.remaining());
        buf.put_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Poll::Ready(Ok(()))
    }
}

/// Runs a future that never waits (its reader is always ready) to completion.
fn run_ready<F: std::future::Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    match f.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("a read from an always-ready reader returned Pending"),
    }
}

/// `FrameReader` over arbitrary bytes delivered in pieces: frames (or legacy SASL tokens)
/// come back exactly as they were framed, each within the limits, until the bytes end
/// cleanly, are cut mid-frame, or hold a bad size.
pub fn frame_reader(data: &[u8]) {
    let Some((&knobs, stream)) = data.split_first() else {
        return;
    };
    let max = 64 + 16 * usize::from(knobs & 0x0f);
    let tokens = knobs & 0x10 != 0;
    let chunk = 1 + usize::from(knobs >> 5) * 9;
    let mut r = Chunked {
        data: stream,
        chunk,
    };
    let mut reader = FrameReader::new();
    let mut at = 0usize;
    loop {
        let next = if tokens {
            run_ready(reader.next_token(&mut r, max))
        } else {
            run_ready(reader.next(&mut r, max))
        };
        match next {
            Ok(Some(frame)) => {
                let size = i32::from_be_bytes(stream[at..at + 4].try_into().unwrap_or_default());
                assert_eq!(
                    size as usize,
                    frame.len(),
                    "frame length is its size prefix"
                );
                assert!(frame.len() <= max, "frame over the limit");
                assert!(tokens || frame.len() >= MIN_REQUEST, "frame under a header");
                assert_eq!(&stream[at + 4..at + 4 + frame.len()], &frame[..]);
                at += 4 + frame.len();
            }
            Ok(None) => {
                assert_eq!(at, stream.len(), "clean end only after the last frame");
                return;
            }
            Err(frame::FrameError::Truncated) => {
                assert!(at < stream.len() && !frame::has_complete_frame(&stream[at..]));
                return;
            }
            Err(frame::FrameError::Io(e)) => panic!("i/o error from an in-memory reader: {e}"),
            Err(_) => {
                // A bad size: it must be the next frame's prefix, fully read.
                assert!(stream.len() >= at + 4, "size error without a size");
                return;
            }
        }
    }
}

// ---------------------------------------------------------------------- dispatch

struct DispatchHarness {
    runtime: tokio::runtime::Runtime,
    broker: Arc<Broker>,
    session: Session,
    _dir: tempfile::TempDir,
}

/// The topic every dispatch input may use (created again if an input deletes it).
const FUZZ_TOPIC: &str = "t";

fn dispatch_harness() -> &'static DispatchHarness {
    static HARNESS: OnceLock<DispatchHarness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        // The clock is paused: a long poll or a parked JoinGroup costs no real time, the
        // clock jumps to its deadline once nothing else can run.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("fuzz harness: a Tokio runtime");
        let dir = tempfile::Builder::new()
            .prefix("rill-fuzz-")
            .tempdir()
            .expect("fuzz harness: a temporary directory");
        let config = BrokerConfig {
            auto_create_topics: false,
            ..BrokerConfig::in_process(dir.path().to_path_buf())
        };
        let broker = runtime.block_on(async {
            let broker = Broker::open(config).expect("fuzz harness: a broker");
            let b = broker.clone();
            tokio::spawn(async move { b.groups.run_timers().await });
            broker
        });
        DispatchHarness {
            runtime,
            broker,
            session: Session::anonymous(SocketAddr::from((Ipv4Addr::LOCALHOST, 9)), 0),
            _dir: dir,
        }
    })
}

/// One request frame (the bytes after the size prefix) through `dispatch` against an
/// in-process broker: whatever the bytes, it answers or refuses without panicking, and
/// an answer is a well-formed response frame echoing the correlation id. Requests that
/// would create topics or partitions (whose number the request chooses) are only
/// decoded, so a run does not fill the disk.
pub fn dispatch(data: &[u8]) {
    if data.len() < MIN_REQUEST {
        return; // FrameReader never hands out shorter frames
    }
    let h = dispatch_harness();
    let (key, version, correlation_id) = dispatch::prefix(data);
    let mut frame = Bytes::copy_from_slice(data);
    if key == ApiKey::CreateTopics as i16 || key == ApiKey::CreatePartitions as i16 {
        if let Some(spec) = dispatch::spec(key) {
            if let Ok(ctx) =
                dispatch::context(spec, version, correlation_id, &mut frame, &h.session)
            {
                let _ = if ctx.api_key == ApiKey::CreateTopics {
                    dispatch::decode::<CreateTopicsRequest>(&mut frame, ctx.api_key, version)
                        .map(drop)
                } else {
                    dispatch::decode::<CreatePartitionsRequest>(&mut frame, ctx.api_key, version)
                        .map(drop)
                };
            }
        }
        return;
    }
    h.runtime.block_on(async {
        if h.broker.topic(FUZZ_TOPIC).is_none() {
            let _ = h
                .broker
                .create_topic(FUZZ_TOPIC, 2, 1, Default::default(), false);
        }
        // An hour of (paused) time: more than any request may park for.
        let limit = Duration::from_secs(3600);
        let answer = tokio::time::timeout(
            limit,
            dispatch::dispatch(&h.broker, frame.clone(), &h.session),
        )
        .await;
        if let Ok(Ok(Some(reply))) = answer {
            check_reply(&reply, correlation_id);
        }
        if key == ApiKey::Produce as i16 {
            // The pipelined path: the same frame twice in one group.
            let group =
                dispatch::dispatch_produce_group(&h.broker, vec![frame.clone(), frame], &h.session);
            if let Ok(replies) = tokio::time::timeout(limit, group).await {
                for r in replies.into_iter().flatten().flatten() {
                    check_reply(&r, correlation_id);
                }
            }
        }
    });
}

fn check_reply(reply: &crate::server::reply::Reply, correlation_id: i32) {
    let head = &reply.head;
    assert!(
        head.len() >= 8,
        "a response frame has a size and a correlation id"
    );
    let size = i32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    assert_eq!(size as usize + 4, reply.len(), "response size prefix");
    let echoed = i32::from_be_bytes([head[4], head[5], head[6], head[7]]);
    assert_eq!(echoed, correlation_id, "correlation id echoed");
}

// ----------------------------------------------------------------- produce_batch

/// A partition log for accepted batches (appended, then read back).
fn produce_log() -> &'static (tempfile::TempDir, Mutex<PartitionLog>) {
    static LOG: OnceLock<(tempfile::TempDir, Mutex<PartitionLog>)> = OnceLock::new();
    LOG.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("rill-fuzz-")
            .tempdir()
            .expect("fuzz harness: a temporary directory");
        let config = LogConfig {
            segment_bytes: 1 << 20,
            index_interval_bytes: 256,
            segment_index_bytes: 64 * 1024,
            ..LogConfig::default()
        };
        let log = PartitionLog::open(dir.path(), config, true).expect("fuzz harness: a log");
        (dir, Mutex::new(log))
    })
}

/// A Produce request's record set through what the broker does with it: validation
/// (one v2 batch, CRC-32C, counts, size), the topic's record rules (keys on compacted
/// topics, timestamps; records decompressed, bounded), re-encoding for a topic's
/// `compression.type`, and the append. An accepted batch is stored and read back whole
/// and valid at the offset it was given.
pub fn produce_batch(data: &[u8]) {
    let Some((&knobs, records)) = data.split_first() else {
        return;
    };
    let cfg = LogConfig {
        compact: knobs & 1 != 0,
        log_append_time: knobs & 2 != 0,
        timestamp_before_max_ms: if knobs & 4 != 0 { 1000 } else { i64::MAX },
        compression: match (knobs >> 3) & 7 {
            c @ 1..=4 => Some((c, None)),
            _ => None,
        },
        ..LogConfig::default()
    };
    // Never panics on any bytes, valid or not.
    let _ = batch::peek_span(records);
    let _ = batch::parse_marker(records);
    if let Some(h) = BatchHeader::parse(records) {
        if let Some(section) = batch::records_section(records, &h) {
            let _ = batch::parse_records(&section, h.record_count);
        }
    }
    let _ = batch::record_metas(records);
    let (stored, header) = match crate::broker::produce::prepare(&cfg, records, "t", 0) {
        Ok(v) => v,
        Err(_) => return,
    };
    assert_eq!(
        header.total_len(),
        stored.len(),
        "a batch is its whole record set"
    );
    let accepted = batch::validate_batch(&stored).expect("an accepted batch validates");
    assert_eq!(accepted.record_count, header.record_count);
    if header.is_transactional() {
        return; // needs the coordinator's word
    }
    let (_, log) = produce_log();
    let log = log.lock().unwrap_or_else(|p| p.into_inner());
    log.set_config(LogConfig {
        compression: None,
        ..cfg
    });
    let Ok(appended) = log.append(&stored, &header, false) else {
        return;
    };
    let read = log
        .read(appended.base_offset, 1, true, Isolation::ReadUncommitted)
        .expect("reading back an appended batch");
    let bytes = read.records.to_vec().expect("reading the slice");
    let back = batch::validate_batch(bytes.get(..header.total_len()).unwrap_or(&bytes))
        .expect("the stored batch validates");
    assert_eq!(back.base_offset, appended.base_offset);
    assert_eq!(back.record_count, header.record_count);
    assert_eq!(
        &bytes[HEADER_LEN..header.total_len()],
        &stored[HEADER_LEN..]
    );
}

// -------------------------------------------------------------------- decompress

/// The limit decompression is called with here (the broker's is `MAX_DECOMPRESSED`).
const DECOMPRESS_LIMIT: usize = 1 << 20;

/// Bounded decompression with each codec: never more than the limit, whatever the bytes
/// claim; what compresses decompresses to itself.
pub fn decompress(data: &[u8]) {
    let Some((&knobs, body)) = data.split_first() else {
        return;
    };
    let codec = knobs % 5;
    let limit = if knobs & 0x80 != 0 {
        1024
    } else {
        DECOMPRESS_LIMIT
    };
    if let Ok(out) = compression::decompress(codec, body, limit) {
        assert!(out.len() <= limit.max(if codec == 0 { body.len() } else { 0 }));
    }
    if knobs & 0x40 != 0 && body.len() <= 4096 {
        let packed = compression::compress(codec, body, None).expect("compression of any bytes");
        let back = compression::decompress(codec, &packed, DECOMPRESS_LIMIT)
            .expect("decompressing what was compressed");
        assert_eq!(back, body, "round trip");
    }
}

// ---------------------------------------------------------------- group_metadata

/// A member's JoinGroup metadata (ConsumerProtocolSubscription) as the group coordinator
/// reads it, compared with kafka-protocol's reading of the same bytes; and an assignment
/// blob as the CLI's group member (`rill consume --group`) reads a leader's.
pub fn group_metadata(data: &[u8]) {
    use kafka_protocol::messages::ConsumerProtocolSubscription;
    let ours = crate::group::parse_subscription_topics(data);
    if data.len() >= 2 {
        let version = i16::from_be_bytes([data[0], data[1]]);
        let mut rest = Bytes::copy_from_slice(&data[2..]);
        // Every version starts with version 0's fields, all the coordinator reads.
        let theirs = std::panic::catch_unwind(move || {
            ConsumerProtocolSubscription::decode(&mut rest, 0).ok()
        })
        .ok()
        .flatten();
        if let (true, Some(sub)) = (version >= 0, theirs) {
            let topics: Vec<String> = sub.topics.iter().map(|t| t.to_string()).collect();
            assert_eq!(
                ours,
                Some(topics),
                "kafka-protocol reads a subscription we refuse"
            );
        }
    }
    let _ = crate::admin::member::decode_assignment(&Bytes::copy_from_slice(data));
}

// -------------------------------------------------------------------------- sasl

/// The fuzz user's password, for seeds of whole exchanges.
pub const SCRAM_PASSWORD: &str = "fuzz-secret";
/// The server nonce the harness uses (a real server's is random).
pub const SCRAM_SERVER_NONCE: &str = "fuzzservernonce";

fn scram_credential(m: ScramMechanism) -> ScramCredential {
    static CREDS: OnceLock<[ScramCredential; 2]> = OnceLock::new();
    let [c256, c512] = CREDS.get_or_init(|| {
        [ScramMechanism::Sha256, ScramMechanism::Sha512]
            .map(|m| ScramCredential::from_password(m, SCRAM_PASSWORD, b"fuzz-salt", 4096))
    });
    match m {
        ScramMechanism::Sha256 => c256.clone(),
        ScramMechanism::Sha512 => c512.clone(),
    }
}

/// SASL tokens as the server reads them: a PLAIN message, and a SCRAM exchange
/// (client-first, then client-final) for the user `fuzz` (any other name is unknown).
/// Layout: a knob byte (bit 0: SHA-512), the client-first's length (u16), client-first,
/// client-final. Only a proof made with [`SCRAM_PASSWORD`] may succeed.
pub fn sasl(data: &[u8]) {
    let _ = plain::parse(data);
    if data.len() < 3 {
        return;
    }
    let mechanism = if data[0] & 1 == 0 {
        ScramMechanism::Sha256
    } else {
        ScramMechanism::Sha512
    };
    let split = usize::from(u16::from_be_bytes([data[1], data[2]])).min(data.len() - 3);
    let (first, last) = data[3..].split_at(split);
    let _ = scram::parse_client_first(first);
    let mut server = ScramServer::new(mechanism);
    let lookup = |user: &str| (user == "fuzz").then(|| scram_credential(mechanism));
    let Ok(server_first) = server.client_first(first, SCRAM_SERVER_NONCE, lookup) else {
        assert!(
            server.client_final(last).is_err(),
            "final after a refused first"
        );
        return;
    };
    let server_first = String::from_utf8(server_first).expect("server-first is text");
    assert!(server_first.contains(SCRAM_SERVER_NONCE));
    if let Ok((_, user)) = server.client_final(last) {
        assert_eq!(user, "fuzz");
        // Succeeding means the client knew the password: its proof must be the one.
        let expected = scram::client::finish(
            mechanism,
            SCRAM_PASSWORD,
            std::str::from_utf8(first).unwrap_or_default(),
            &server_first,
        );
        assert!(expected.is_some(), "a proof accepted without the password");
    }
    assert!(
        server.client_final(last).is_err(),
        "an exchange finishes once"
    );
}

// -------------------------------------------------------------- segment_recovery

/// The files a `segment_recovery` input may write, by tag.
const RECOVERY_FILES: &[&str] = &[
    "00000000000000000000.log",
    "00000000000000000000.index",
    "00000000000000000000.timeindex",
    "00000000000000000000.txnindex",
    "00000000000000000000.snapshot",
    "log-start-offset",
    "cleaner-offset",
    "00000000000000000100.log",
    "00000000000000000100.index",
    "00000000000000000100.snapshot",
];

/// A partition directory made of arbitrary files, opened as after a crash (or a clean
/// shutdown): opening never panics; after a crash recovery the active segment reads back
/// as valid batches with increasing offsets; a batch appended afterwards reads back.
///
/// Layout: a knob byte (bit 0: clean shutdown), then files as (tag u8, length u16,
/// bytes); tag modulo the file count picks the name from [`RECOVERY_FILES`].
pub fn segment_recovery(data: &[u8]) {
    let Some((&knobs, mut rest)) = data.split_first() else {
        return;
    };
    let clean = knobs & 1 != 0;
    let dir = tempfile::Builder::new()
        .prefix("rill-fuzz-")
        .tempdir()
        .expect("fuzz harness: a temporary directory");
    let mut files = std::collections::BTreeMap::new();
    while rest.len() >= 3 {
        let name = RECOVERY_FILES[usize::from(rest[0]) % RECOVERY_FILES.len()];
        let len = usize::from(u16::from_be_bytes([rest[1], rest[2]])).min(rest.len() - 3);
        files.insert(name, &rest[3..3 + len]);
        rest = &rest[3 + len..];
    }
    for (name, bytes) in &files {
        std::fs::write(dir.path().join(name), bytes).expect("writing a fuzz file");
    }
    let single_segment = !files.keys().any(|n| n.starts_with("00000000000000000100"));
    let config = LogConfig {
        segment_bytes: 1 << 20,
        index_interval_bytes: 128,
        segment_index_bytes: 64 * 1024,
        ..LogConfig::default()
    };
    let Ok(log) = PartitionLog::open(dir.path(), config, clean) else {
        return;
    };
    let (start, end) = log.offsets();
    assert!(start <= end, "log start {start} after the end {end}");
    let strict = !clean && single_segment;
    read_all(&log, start, end, strict);
    let batch = batch::simple_batch(2, crate::log::now_ms(), 3);
    let Some(h) = BatchHeader::parse(&batch) else {
        return;
    };
    if let Ok(appended) = log.append(&batch, &h, false) {
        if strict {
            assert_eq!(appended.base_offset, end, "appended at the recovered end");
        }
        let read = log
            .read(appended.base_offset, 1, true, Isolation::ReadUncommitted)
            .expect("reading back an appended batch");
        let bytes = read.records.to_vec().expect("reading the slice");
        let back = batch::validate_batch(bytes.get(..batch.len()).unwrap_or(&bytes))
            .expect("the appended batch reads back valid");
        assert_eq!(back.base_offset, appended.base_offset);
    }
    drop(log);
}

/// Reads `[start, end)` batch by batch. `strict`: every batch must be valid and follow
/// the one before.
fn read_all(log: &PartitionLog, start: i64, end: i64, strict: bool) {
    let mut offset = start;
    // Each step either ends the loop or moves past at least one offset.
    for _ in 0..10_000 {
        if offset >= end {
            return;
        }
        let Ok(read) = log.read(offset, 64 * 1024, true, Isolation::ReadUncommitted) else {
            assert!(!strict, "reading offset {offset} of a recovered log failed");
            return;
        };
        let Ok(bytes) = read.records.to_vec() else {
            assert!(!strict, "reading the slice at {offset} failed");
            return;
        };
        if bytes.is_empty() {
            assert!(!strict, "nothing at {offset} below the end {end}");
            return;
        }
        let mut next = offset;
        let mut at = 0;
        while at < bytes.len() {
            let Some((_, len, last)) = batch::peek_span(&bytes[at..]) else {
                assert!(!strict, "a partial batch in a slice");
                return;
            };
            let whole = bytes.get(at..at + len);
            if strict {
                let h = batch::validate_batch(whole.unwrap_or_default())
                    .expect("a recovered batch validates");
                assert!(h.last_offset() >= next, "offsets go backwards");
            }
            next = next.max(last.saturating_add(1));
            at = at.saturating_add(len);
        }
        if next <= offset {
            assert!(!strict, "a read at {offset} does not move on");
            return;
        }
        offset = next;
    }
}

// -------------------------------------------------------------- corpus replay

/// Every file of `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` through its
/// target; the number of files run.
pub fn replay_dir(root: &Path) -> usize {
    let mut n = 0;
    for (name, target) in TARGETS {
        let Ok(entries) = std::fs::read_dir(root.join(name)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let outcome = std::panic::catch_unwind(|| target(&bytes));
            assert!(outcome.is_ok(), "fuzz input {} failed", path.display());
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed corpora and crash reproducers, without libFuzzer.
    #[test]
    fn corpora_and_regressions_replay() {
        let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        let corpus = replay_dir(&fuzz.join("corpus"));
        let regressions = replay_dir(&fuzz.join("regressions"));
        assert!(corpus > 0, "no corpus under {}", fuzz.display());
        eprintln!("replayed {corpus} corpus files and {regressions} regressions");
    }

    /// Writes the seed corpora (run by hand when the seeds change).
    #[test]
    #[ignore]
    fn write_fuzz_seeds() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        seeds::write(&root).expect("writing the seeds");
    }

    #[test]
    fn seeds_pass_their_targets() {
        for (name, seeds) in seeds::all() {
            let (_, target) = TARGETS.iter().find(|(n, _)| *n == name).expect("a target");
            assert!(!seeds.is_empty(), "{name} has seeds");
            for (i, seed) in seeds.iter().enumerate() {
                eprintln!("{name} seed {i}");
                target(seed);
            }
        }
    }
}

/// Small valid inputs for every target, made with the crate's own encoders and
/// kafka-protocol: the starting corpora (`cargo test --lib write_fuzz_seeds -- --ignored`
/// writes them to `fuzz/corpus/<target>/seed-*`).
pub mod seeds {
    use kafka_protocol::messages::*;
    use kafka_protocol::protocol::{Encodable, Request, StrBytes};

    use super::*;
    use crate::client::frame::encode_frame;

    fn s(v: &str) -> StrBytes {
        StrBytes::from_string(v.to_string())
    }

    /// A request frame without its size prefix (as `dispatch` gets it).
    fn frame<R: Request>(version: i16, req: &R) -> Option<Vec<u8>> {
        encode_frame(version, 7, "fuzz", req)
            .ok()
            .map(|f| f[4..].to_vec())
    }

    fn versioned<M: Encodable>(m: &M, version: i16) -> Vec<u8> {
        let mut b = bytes::BytesMut::new();
        b.extend_from_slice(&version.to_be_bytes());
        let _ = m.encode(&mut b, version);
        b.to_vec()
    }

    fn subscription(version: i16) -> Vec<u8> {
        versioned(
            &ConsumerProtocolSubscription::default().with_topics(vec![s(FUZZ_TOPIC), s("other")]),
            version,
        )
    }

    /// Default requests of every supported API at its lowest and highest version, and
    /// requests with content for the common ones.
    fn dispatch_seeds() -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        macro_rules! defaults {
            ($($t:ty),* $(,)?) => {$(
                if let Some(spec) = dispatch::spec(<$t as Request>::KEY) {
                    for v in [spec.min.max(dispatch::PRODUCE_MIN_ACCEPTED.min(spec.max)), spec.max] {
                        out.extend(frame(v, &<$t>::default()));
                    }
                }
            )*};
        }
        defaults!(
            ApiVersionsRequest,
            MetadataRequest,
            FetchRequest,
            ListOffsetsRequest,
            DeleteTopicsRequest,
            FindCoordinatorRequest,
            JoinGroupRequest,
            SyncGroupRequest,
            HeartbeatRequest,
            LeaveGroupRequest,
            DescribeGroupsRequest,
            ListGroupsRequest,
            DeleteGroupsRequest,
            OffsetCommitRequest,
            OffsetFetchRequest,
            OffsetDeleteRequest,
            DeleteRecordsRequest,
            DescribeLogDirsRequest,
            OffsetForLeaderEpochRequest,
            ElectLeadersRequest,
            ListPartitionReassignmentsRequest,
            AlterPartitionReassignmentsRequest,
            DescribeConfigsRequest,
            AlterConfigsRequest,
            IncrementalAlterConfigsRequest,
            DescribeClusterRequest,
            InitProducerIdRequest,
            AddPartitionsToTxnRequest,
            AddOffsetsToTxnRequest,
            EndTxnRequest,
            WriteTxnMarkersRequest,
            TxnOffsetCommitRequest,
            DescribeTransactionsRequest,
            ListTransactionsRequest,
            DescribeProducersRequest,
            GetTelemetrySubscriptionsRequest,
            DescribeTopicPartitionsRequest,
            ConsumerGroupHeartbeatRequest,
            ConsumerGroupDescribeRequest,
            SaslHandshakeRequest,
            SaslAuthenticateRequest,
            DescribeUserScramCredentialsRequest,
            CreateTopicsRequest,
            CreatePartitionsRequest,
        );
        let topic = || TopicName(s(FUZZ_TOPIC));
        let records = Bytes::from(batch::simple_batch(3, 1_700_000_000_000, 5));
        let produce = ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(1000)
            .with_topic_data(vec![produce_request::TopicProduceData::default()
                .with_name(topic())
                .with_partition_data(vec![
                    produce_request::PartitionProduceData::default()
                        .with_index(0)
                        .with_records(Some(records)),
                ])]);
        out.extend(frame(3, &produce));
        out.extend(frame(9, &produce));
        let fetch = FetchRequest::default()
            .with_max_wait_ms(500)
            .with_max_bytes(1 << 20)
            .with_topics(vec![fetch_request::FetchTopic::default()
                .with_topic(topic())
                .with_partitions(vec![fetch_request::FetchPartition::default()
                    .with_partition(0)
                    .with_partition_max_bytes(1 << 20)])]);
        out.extend(frame(4, &fetch));
        out.extend(frame(12, &fetch));
        let metadata = MetadataRequest::default().with_topics(Some(vec![
            metadata_request::MetadataRequestTopic::default().with_name(Some(topic())),
        ]));
        out.extend(frame(1, &metadata));
        out.extend(frame(12, &metadata));
        let list = ListOffsetsRequest::default().with_topics(vec![
            list_offsets_request::ListOffsetsTopic::default()
                .with_name(topic())
                .with_partitions(vec![
                    list_offsets_request::ListOffsetsPartition::default().with_timestamp(-1)
                ]),
        ]);
        out.extend(frame(7, &list));
        let join = JoinGroupRequest::default()
            .with_group_id(GroupId(s("g")))
            .with_session_timeout_ms(10_000)
            .with_rebalance_timeout_ms(10_000)
            .with_protocol_type(s("consumer"))
            .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default(
            )
            .with_name(s("range"))
            .with_metadata(Bytes::from(subscription(1)))]);
        out.extend(frame(5, &join));
        out.extend(frame(9, &join.clone().with_member_id(s("m-1"))));
        let commit = OffsetCommitRequest::default()
            .with_group_id(GroupId(s("g")))
            .with_generation_id_or_member_epoch(-1)
            .with_topics(vec![
                offset_commit_request::OffsetCommitRequestTopic::default()
                    .with_name(topic())
                    .with_partitions(vec![
                        offset_commit_request::OffsetCommitRequestPartition::default()
                            .with_committed_offset(1),
                    ]),
            ]);
        out.extend(frame(8, &commit));
        let init = InitProducerIdRequest::default()
            .with_transactional_id(Some(TransactionalId(s("tx"))))
            .with_transaction_timeout_ms(60_000);
        out.extend(frame(4, &init));
        let heartbeat = ConsumerGroupHeartbeatRequest::default()
            .with_group_id(GroupId(s("g2")))
            .with_member_epoch(0)
            .with_rebalance_timeout_ms(10_000)
            .with_subscribed_topic_names(Some(vec![topic()]));
        out.extend(frame(0, &heartbeat));
        // A too-new ApiVersions (answered in v0 form).
        out.extend(frame(3, &ApiVersionsRequest::default()).map(|mut f| {
            f[2..4].copy_from_slice(&99i16.to_be_bytes());
            f
        }));
        out
    }

    fn scram_seeds() -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for (knob, m) in [(0u8, ScramMechanism::Sha256), (1, ScramMechanism::Sha512)] {
            let first = scram::client::first("fuzz", "clientnonce");
            let mut server = ScramServer::new(m);
            let lookup = |_: &str| Some(scram_credential(m));
            let Ok(server_first) =
                server.client_first(first.as_bytes(), SCRAM_SERVER_NONCE, lookup)
            else {
                continue;
            };
            let server_first = String::from_utf8_lossy(&server_first).into_owned();
            let Some((fin, _)) = scram::client::finish(m, SCRAM_PASSWORD, &first, &server_first)
            else {
                continue;
            };
            let mut seed = vec![knob];
            seed.extend_from_slice(&(first.len() as u16).to_be_bytes());
            seed.extend_from_slice(first.as_bytes());
            seed.extend_from_slice(fin.as_bytes());
            out.push(seed);
        }
        out.push(b"\0fuzz\0fuzz-secret".to_vec());
        out.push(b"fuzz\0fuzz\0pw".to_vec());
        out
    }

    fn recovery_seeds() -> Vec<Vec<u8>> {
        let mut segment = Vec::new();
        for i in 0..4 {
            let mut b = batch::simple_batch(2 + i, 1_700_000_000_000, 10);
            let h = batch::assigned_header(&b, i64::from(i) * 10, None);
            b[..HEADER_LEN].copy_from_slice(&h);
            segment.extend_from_slice(&b);
        }
        let file = |tag: u8, bytes: &[u8]| {
            let mut v = vec![tag];
            v.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
            v.extend_from_slice(bytes);
            v
        };
        let mut out = Vec::new();
        for clean in [0u8, 1] {
            let mut seed = vec![clean];
            seed.extend(file(0, &segment));
            out.push(seed.clone());
            seed.extend(file(1, &[0, 0, 0, 10, 0, 0, 0, 100]));
            seed.extend(file(2, &[0; 12]));
            seed.extend(file(5, b"12\n"));
            out.push(seed);
        }
        // A torn tail and a second segment.
        let mut seed = vec![0];
        seed.extend(file(0, &segment));
        seed.extend(file(7, &segment[..segment.len() - 7]));
        out.push(seed);
        out
    }

    /// (target, seeds) for every target.
    pub fn all() -> Vec<(&'static str, Vec<Vec<u8>>)> {
        let dispatch = dispatch_seeds();
        let produce: Vec<Vec<u8>> = [0u8, 1, 2, 4, 8, 16, 24, 32]
            .iter()
            .map(|&k| {
                let mut v = vec![k];
                let records: Vec<batch::KeyValue> =
                    vec![(Some(b"k"), Some(b"v")), (Some(b"key2"), None)];
                v.extend(batch::keyed_batch(&records, 1_700_000_000_000));
                v
            })
            .chain((1..=4u8).filter_map(|codec| {
                let b =
                    batch::recompress(&batch::simple_batch(3, 1_700_000_000_000, 20), codec, None)
                        .ok()?;
                Some([vec![0u8], b].concat())
            }))
            .collect();
        let text = b"Kafka records: keys, values, headers. ".repeat(8);
        let decompress: Vec<Vec<u8>> = (0..5u8)
            .filter_map(|codec| {
                let packed = compression::compress(codec, &text, None).ok()?;
                Some([vec![codec], packed].concat())
            })
            .chain([vec![0x40 | 1, 1, 2, 3], vec![0x42], vec![0x80 | 4]])
            .collect();
        let group = [0i16, 1, 2, 3]
            .iter()
            .map(|&v| subscription(v))
            .chain([versioned(
                &ConsumerProtocolAssignment::default().with_assigned_partitions(vec![
                    consumer_protocol_assignment::TopicPartition::default()
                        .with_topic(TopicName(s(FUZZ_TOPIC)))
                        .with_partitions(vec![0, 1]),
                ]),
                0,
            )])
            .collect();
        let frames: Vec<Vec<u8>> = dispatch
            .iter()
            .take(4)
            .enumerate()
            .map(|(i, f)| {
                let mut v = vec![(i as u8) << 5 | 0x0f];
                v.extend_from_slice(&(f.len() as i32).to_be_bytes());
                v.extend_from_slice(f);
                v.extend_from_slice(&[0, 0, 0, 8, 0, 18, 0, 0, 0, 0, 0, 1]);
                v
            })
            .chain([vec![0x10, 0, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']])
            .collect();
        vec![
            ("frame_reader", frames),
            ("dispatch", dispatch),
            ("produce_batch", produce),
            ("decompress", decompress),
            ("group_metadata", group),
            ("sasl", scram_seeds()),
            ("segment_recovery", recovery_seeds()),
        ]
    }

    /// Writes [`all`] as `<root>/<target>/seed-<n>`.
    pub fn write(root: &Path) -> std::io::Result<()> {
        for (target, seeds) in all() {
            let dir = root.join(target);
            std::fs::create_dir_all(&dir)?;
            for (i, seed) in seeds.iter().enumerate() {
                std::fs::write(dir.join(format!("seed-{i:03}")), seed)?;
            }
        }
        Ok(())
    }
}
