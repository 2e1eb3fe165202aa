//! `rill produce TOPIC`: lines from stdin or a file become records, many per Produce
//! request (one batch per partition, one request per partition leader).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Args;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;

use super::{parse_kv, AdminError, Connection};
use crate::client::records::{encode_batch, Codec, Outgoing};
use crate::client::{check, Cluster, TopicInfo};

#[derive(Args, Debug)]
pub struct ProduceArgs {
    pub topic: String,
    /// Read lines from this file instead of stdin.
    #[arg(long, short = 'f')]
    pub file: Option<PathBuf>,
    /// Split each line at the first SEP into key and value (a line without it is an error).
    #[arg(long, short = 'K')]
    pub key_separator: Option<String>,
    /// A header for every record, name=value (repeatable).
    #[arg(long = "header", short = 'H', value_parser = parse_kv)]
    pub headers: Vec<(String, String)>,
    /// Send every record to this partition (default: by key hash as Kafka's Java client
    /// does (murmur2), records without a key batch by batch across partitions).
    #[arg(long, short = 'p')]
    pub partition: Option<i32>,
    /// 0 (no answer), 1 (the leader) or -1 / all (every in-sync replica).
    #[arg(long, default_value = "all", value_parser = parse_acks, allow_hyphen_values = true)]
    pub acks: i16,
    #[arg(long, value_enum, default_value_t = Codec::None)]
    pub compression: Codec,
    /// Most records in one Produce request.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_records: u64,
    /// How long a line waits for more before its batch is sent (ms).
    #[arg(long, default_value_t = 50)]
    pub linger_ms: u64,
    #[command(flatten)]
    pub conn: Connection,
}

pub fn parse_acks(s: &str) -> Result<i16, String> {
    match s {
        "all" | "-1" => Ok(-1),
        "0" => Ok(0),
        "1" => Ok(1),
        _ => Err(format!("acks must be 0, 1, -1 or all, not {s:?}")),
    }
}

/// Splits a line into key and value at the first `sep`.
pub fn split_key<'a>(line: &'a [u8], sep: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    if sep.is_empty() || line.len() < sep.len() {
        return None;
    }
    let at = line.windows(sep.len()).position(|w| w == sep)?;
    Some((&line[..at], &line[at + sep.len()..]))
}

pub use crate::broker::produce::{key_partition as partition_for_key, murmur2};

/// Turns one input line (without its line end) into a record.
pub fn line_to_record(
    line: &[u8],
    key_separator: Option<&str>,
    headers: &[(String, Option<Bytes>)],
    line_no: u64,
    timestamp: i64,
) -> Result<Outgoing, AdminError> {
    let (key, value) = match key_separator {
        Some(sep) => {
            let (k, v) = split_key(line, sep.as_bytes()).ok_or_else(|| {
                AdminError::Failed(format!(
                    "no key separator {sep:?} found on line {line_no}: {:?}",
                    String::from_utf8_lossy(line)
                ))
            })?;
            (Some(Bytes::copy_from_slice(k)), v)
        }
        None => (None, line),
    };
    Ok(Outgoing {
        key,
        value: Some(Bytes::copy_from_slice(value)),
        headers: headers.to_vec(),
        timestamp,
    })
}

struct Producer {
    cluster: Cluster,
    topic: TopicInfo,
    acks: i16,
    compression: Compression,
    /// Partition for keyless records of the current batch (sticky, then the next).
    sticky: i32,
}

impl Producer {
    fn send(&mut self, pending: &mut BTreeMap<i32, Vec<Outgoing>>) -> Result<(), AdminError> {
        let mut by_leader: BTreeMap<i32, Vec<PartitionProduceData>> = BTreeMap::new();
        for (p, records) in std::mem::take(pending) {
            if records.is_empty() {
                continue;
            }
            let leader = self
                .topic
                .partitions
                .iter()
                .find(|i| i.index == p)
                .map_or(-1, |i| i.leader);
            if leader < 0 {
                return Err(AdminError::Failed(format!(
                    "partition {}-{p} has no leader",
                    self.topic.name
                )));
            }
            let batch = encode_batch(&records, self.compression)?;
            by_leader.entry(leader).or_default().push(
                PartitionProduceData::default()
                    .with_index(p)
                    .with_records(Some(batch)),
            );
        }
        for (leader, parts) in by_leader {
            let req = ProduceRequest::default()
                .with_acks(self.acks)
                .with_timeout_ms(30_000)
                .with_topic_data(vec![TopicProduceData::default()
                    .with_name(TopicName(StrBytes::from_string(self.topic.name.clone())))
                    .with_partition_data(parts)]);
            let conn = self.cluster.broker(leader)?;
            if self.acks == 0 {
                let v = conn.version::<ProduceRequest>()?;
                conn.send_only(v, &req)?;
                continue;
            }
            let resp = conn.call(&req)?;
            for t in &resp.responses {
                for p in &t.partition_responses {
                    check(
                        || format!("cannot produce to {}-{}", self.topic.name, p.index),
                        p.error_code,
                        p.error_message.as_deref(),
                    )?;
                }
            }
        }
        self.sticky = (self.sticky + 1) % self.topic.partitions.len().max(1) as i32;
        Ok(())
    }
}

/// How lines are sent: acks, compression, the partition, batching.
#[derive(Debug, Clone)]
pub struct SendOptions {
    pub acks: i16,
    pub compression: Compression,
    /// Every record to this partition (default: by key, keyless ones sticky).
    pub partition: Option<i32>,
    /// Most records in one Produce request.
    pub batch_records: u64,
    /// Most line bytes in one Produce request.
    pub batch_bytes: usize,
    /// How long a line waits for more before its batch is sent.
    pub linger: Duration,
    /// Input size, for a progress line on stderr (when it is a terminal).
    pub progress_total: Option<u64>,
}

/// Reads lines from `input` (without their line ends) and produces the record
/// `to_record(line, line_number)` makes of each to `topic`; returns how many were sent.
/// Lines are read on their own thread so a quiet stdin still sends what it gave.
pub fn produce_lines(
    cluster: Cluster,
    topic: TopicInfo,
    input: Box<dyn Read + Send>,
    opts: &SendOptions,
    mut to_record: impl FnMut(&[u8], u64) -> Result<Outgoing, AdminError>,
) -> Result<u64, AdminError> {
    let n = topic.partitions.len() as i32;
    if let Some(p) = opts.partition {
        if !(0..n).contains(&p) {
            return Err(AdminError::Failed(format!(
                "topic {} has no partition {p} (it has {n})",
                topic.name
            )));
        }
    }
    let read_bytes = Arc::new(AtomicU64::new(0));
    let (tx, rx) = sync_channel::<std::io::Result<Vec<u8>>>(4096);
    let counter = read_bytes.clone();
    std::thread::Builder::new()
        .name("rill-produce-input".into())
        .spawn(move || {
            let mut r = BufReader::with_capacity(1 << 20, input);
            loop {
                let mut line = Vec::new();
                match r.read_until(b'\n', &mut line) {
                    Ok(0) => return,
                    Ok(n) => {
                        counter.fetch_add(n as u64, Ordering::Relaxed);
                        if line.last() == Some(&b'\n') {
                            line.pop();
                            if line.last() == Some(&b'\r') {
                                line.pop();
                            }
                        }
                        if tx.send(Ok(line)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
        })?;
    let progress = opts
        .progress_total
        .filter(|t| *t >= 1 << 20 && std::io::stderr().is_terminal());
    let mut producer = Producer {
        cluster,
        topic,
        acks: opts.acks,
        compression: opts.compression,
        sticky: 0,
    };
    let mut pending: BTreeMap<i32, Vec<Outgoing>> = BTreeMap::new();
    let mut count = 0u64;
    let mut in_batch = 0u64;
    let mut batch_bytes = 0usize;
    let mut last_progress = Instant::now();
    loop {
        let line = match rx.recv_timeout(opts.linger) {
            Ok(line) => Some(line?),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        if let Some(line) = line {
            count += 1;
            let rec = match to_record(&line, count) {
                Ok(r) => r,
                Err(e) => {
                    // The lines before the bad one are still sent, then the error ends it.
                    if in_batch > 0 {
                        producer.send(&mut pending)?;
                    }
                    return Err(e);
                }
            };
            let p = match (opts.partition, &rec.key) {
                (Some(p), _) => p,
                (None, Some(k)) => partition_for_key(k, n),
                (None, None) => producer.sticky,
            };
            batch_bytes += line.len();
            pending.entry(p).or_default().push(rec);
            in_batch += 1;
            if in_batch < opts.batch_records && batch_bytes < opts.batch_bytes {
                continue;
            }
        }
        if in_batch > 0 {
            producer.send(&mut pending)?;
            in_batch = 0;
            batch_bytes = 0;
        }
        if let Some(total) = progress {
            if last_progress.elapsed() >= Duration::from_millis(250) {
                last_progress = Instant::now();
                show_progress(count, read_bytes.load(Ordering::Relaxed), total, false);
            }
        }
    }
    if in_batch > 0 {
        producer.send(&mut pending)?;
    }
    if let Some(total) = progress {
        show_progress(count, read_bytes.load(Ordering::Relaxed), total, true);
    }
    Ok(count)
}

pub fn run(a: ProduceArgs) -> Result<(), AdminError> {
    let mut cluster = a.conn.cluster()?;
    let topic = cluster.topic(&a.topic)?;
    let headers: Vec<(String, Option<Bytes>)> = a
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), Some(Bytes::from(v.clone()))))
        .collect();
    let (input, total): (Box<dyn Read + Send>, Option<u64>) = match &a.file {
        Some(f) => {
            let file = std::fs::File::open(f)
                .map_err(|e| AdminError::Failed(format!("cannot open {}: {e}", f.display())))?;
            let len = file.metadata().ok().map(|m| m.len());
            (Box::new(file), len)
        }
        None => (Box::new(std::io::stdin()), None),
    };
    let opts = SendOptions {
        acks: a.acks,
        compression: a.compression.compression(),
        partition: a.partition,
        batch_records: a.batch_records,
        batch_bytes: 1 << 20,
        linger: Duration::from_millis(a.linger_ms),
        progress_total: total,
    };
    let sep = a.key_separator.clone();
    produce_lines(cluster, topic, input, &opts, |line, no| {
        line_to_record(line, sep.as_deref(), &headers, no, crate::log::now_ms())
    })?;
    Ok(())
}

fn show_progress(records: u64, read: u64, total: u64, done: bool) {
    let mib = |b: u64| b as f64 / (1u64 << 20) as f64;
    let pct = (read * 100).checked_div(total).unwrap_or(100);
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "\r{records} records, {:.1} of {:.1} MiB ({pct}%){}",
        mib(read),
        mib(total),
        if done { "\n" } else { "" }
    );
    let _ = err.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_separator_splits_at_the_first_occurrence() {
        assert_eq!(split_key(b"k:v:w", b":"), Some((&b"k"[..], &b"v:w"[..])));
        assert_eq!(split_key(b"k::v", b"::"), Some((&b"k"[..], &b"v"[..])));
        assert_eq!(split_key(b":v", b":"), Some((&b""[..], &b"v"[..])));
        assert_eq!(split_key(b"kv", b":"), None);
        assert_eq!(split_key(b"kv", b""), None);
        let r = line_to_record(b"a\tb", Some("\t"), &[], 1, 5).unwrap();
        assert_eq!(r.key.as_deref(), Some(&b"a"[..]));
        assert_eq!(r.value.as_deref(), Some(&b"b"[..]));
        let e = line_to_record(b"ab", Some("\t"), &[], 7, 5).unwrap_err();
        assert!(e.to_string().contains("line 7"), "{e}");
    }

    #[test]
    fn acks_values() {
        assert_eq!(parse_acks("all"), Ok(-1));
        assert_eq!(parse_acks("-1"), Ok(-1));
        assert_eq!(parse_acks("1"), Ok(1));
        assert!(parse_acks("2").is_err());
    }

    #[test]
    fn murmur2_is_kafkas() {
        // Kafka's UtilsTest vectors.
        assert_eq!(murmur2(b"21"), -973932308);
        assert_eq!(murmur2(b"foobar"), -790332482);
        assert_eq!(murmur2(b"a-little-bit-long-string"), -985981536);
        assert_eq!(murmur2(b"a-little-bit-longer-string"), -1486304829);
        assert_eq!(
            murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"),
            -58897971
        );
        assert_eq!(murmur2(b"abc"), 479470107);
    }
}
