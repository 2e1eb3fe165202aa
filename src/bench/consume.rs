//! Consume: a catch-up read from the start of each partition to the end it had when the
//! run began, and the consuming half of e2e (from the end onwards, reading the send time
//! embedded in each batch). Batches are walked by their headers only: no per-record work
//! except for e2e's one decode of the first record of each batch.

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{FetchRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::produce::Counts;
use super::report::{histogram, Report};
use super::workload::embedded_ns;
use super::{BenchError, LoadArgs, Mode};
use crate::client::frame::{decode_response, encode_frame, read_frame};
use crate::client::{Conn, CLIENT_ID};
use crate::log::batch::peek_span;

const FETCH_VERSION: i16 = 12;
/// After the producers stop, how long e2e consumers wait for the last records.
const E2E_GRACE: Duration = Duration::from_secs(10);

/// What one consuming connection returns: counts, latencies, time of its last record.
type ConnRead = (Counts, Histogram<u64>, Instant);
type Worker = JoinHandle<Result<ConnRead, BenchError>>;

pub struct ReadResult {
    pub counts: Counts,
    pub latency: Histogram<u64>,
    pub elapsed_s: f64,
}

/// When a consuming connection stops.
enum Goal {
    /// Read each partition up to the given end offset (or `budget` records in all).
    CatchUp {
        budget: Option<u64>,
        deadline: Option<Instant>,
    },
    /// Read until the producers are done and everything they produced is read.
    E2e {
        done: Arc<AtomicBool>,
        produced: Arc<AtomicU64>,
    },
}

struct Shared {
    goal: Goal,
    read: AtomicU64,
    epoch: Instant,
}

struct Part {
    index: i32,
    offset: i64,
    end: i64,
}

fn fetch_request(
    args: &LoadArgs,
    topic: &TopicName,
    parts: &[Part],
    max_wait: i32,
) -> FetchRequest {
    FetchRequest::default()
        .with_max_wait_ms(max_wait)
        .with_min_bytes(1)
        .with_max_bytes(args.fetch_max_bytes)
        .with_topics(vec![FetchTopic::default()
            .with_topic(topic.clone())
            .with_partitions(
                parts
                    .iter()
                    // Only partitions still below their end are asked for.
                    .filter(|p| p.offset < p.end)
                    .map(|p| {
                        FetchPartition::default()
                            .with_partition(p.index)
                            .with_fetch_offset(p.offset)
                            .with_partition_max_bytes(args.fetch_partition_bytes)
                    })
                    .collect(),
            )])
}

fn consume_connection(
    args: &LoadArgs,
    shared: &Shared,
    mut parts: Vec<Part>,
) -> Result<ConnRead, BenchError> {
    let timeout = Duration::from_millis(args.timeout_ms);
    let stream = crate::client::connect(&args.bootstrap, timeout)?;
    let mut writer: TcpStream = stream.try_clone()?;
    let mut reader = BufReader::with_capacity(256 * 1024, stream);
    let topic = TopicName(StrBytes::from_string(args.topic.clone()));
    let mut counts = Counts::default();
    let mut hist = histogram();
    let mut last_read = Instant::now();
    let mut correlation = 0i32;
    let mut done_since: Option<Instant> = None;
    loop {
        let max_wait = match &shared.goal {
            Goal::CatchUp { budget, deadline } => {
                if parts.iter().all(|p| p.offset >= p.end)
                    || budget.is_some_and(|b| shared.read.load(Ordering::Relaxed) >= b)
                    || deadline.is_some_and(|d| Instant::now() >= d)
                {
                    break;
                }
                500
            }
            Goal::E2e { done, produced } => {
                if done.load(Ordering::Acquire) {
                    let since = *done_since.get_or_insert_with(Instant::now);
                    if shared.read.load(Ordering::Relaxed) >= produced.load(Ordering::Acquire)
                        || since.elapsed() > E2E_GRACE
                    {
                        break;
                    }
                }
                100
            }
        };
        correlation = correlation.wrapping_add(1);
        let req = fetch_request(args, &topic, &parts, max_wait);
        let frame = encode_frame(FETCH_VERSION, correlation, CLIENT_ID, &req)?;
        writer.write_all(&frame)?;
        let resp = read_frame(&mut reader)?;
        let now = Instant::now();
        let now_ns = now.duration_since(shared.epoch).as_nanos() as u64;
        let resp = decode_response::<FetchRequest>(FETCH_VERSION, correlation, resp)?;
        counts.requests += 1;
        if resp.error_code != 0 {
            return Err(BenchError::Kafka {
                api: "Fetch",
                code: resp.error_code,
                partition: -1,
            });
        }
        for t in &resp.responses {
            for pd in &t.partitions {
                if pd.error_code != 0 {
                    return Err(BenchError::Kafka {
                        api: "Fetch",
                        code: pd.error_code,
                        partition: pd.partition_index,
                    });
                }
                let Some(part) = parts.iter_mut().find(|p| p.index == pd.partition_index) else {
                    continue;
                };
                let Some(records) = &pd.records else {
                    continue;
                };
                let mut rest = &records[..];
                let mut n = 0u64;
                // Whole batches only; a trailing partial batch (other brokers) is skipped.
                while let Some((base, len, last)) = peek_span(rest) {
                    if len > rest.len() {
                        break;
                    }
                    let from = base.max(part.offset);
                    if last >= from {
                        let count = (last - from + 1) as u64;
                        n += count;
                        if matches!(shared.goal, Goal::E2e { .. }) {
                            match embedded_ns(&rest[..len]) {
                                Some(sent) => {
                                    hist.saturating_record_n(
                                        now_ns.saturating_sub(sent).max(1),
                                        count,
                                    );
                                }
                                None => counts.error(format!(
                                    "partition {}: batch at offset {base} carries no send time",
                                    part.index
                                )),
                            }
                        }
                    }
                    counts.bytes += len as u64;
                    part.offset = last + 1;
                    rest = &rest[len..];
                }
                if n > 0 {
                    counts.records += n;
                    shared.read.fetch_add(n, Ordering::Relaxed);
                    last_read = now;
                }
            }
        }
    }
    Ok((counts, hist, last_read))
}

fn spawn_all(
    args: &LoadArgs,
    shared: &Arc<Shared>,
    partitions: i32,
    starts: &[i64],
    ends: &[i64],
) -> Vec<Worker> {
    (0..args.connections)
        .map(|c| {
            let parts: Vec<Part> = super::partitions_of(c, args.connections, partitions)
                .into_iter()
                .map(|p| Part {
                    index: p,
                    offset: starts[p as usize],
                    end: ends[p as usize],
                })
                .collect();
            let args = args.clone();
            let shared = shared.clone();
            thread::spawn(move || consume_connection(&args, &shared, parts))
        })
        .collect()
}

fn join_all(handles: Vec<Worker>, epoch: Instant) -> Result<ReadResult, BenchError> {
    let mut counts = Counts::default();
    let mut latency = histogram();
    let mut last = epoch;
    let mut failure = None;
    for h in handles {
        match h.join() {
            Ok(Ok((c, hist, l))) => {
                counts.add(c);
                let _ = latency.add(&hist);
                last = last.max(l);
            }
            Ok(Err(e)) => failure = failure.or(Some(e)),
            Err(_) => failure = failure.or(Some(BenchError::Panicked)),
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(ReadResult {
        counts,
        latency,
        elapsed_s: last.duration_since(epoch).as_secs_f64(),
    })
}

/// Catch-up consume.
pub fn run(args: &LoadArgs) -> Result<Report, BenchError> {
    let timeout = Duration::from_millis(args.timeout_ms);
    let mut setup = Conn::connect(&args.bootstrap, timeout)?;
    let partitions = setup.ensure_topic(&args.topic, args.partitions, false)?;
    let starts = setup.list_offsets(&args.topic, partitions, -2)?;
    let ends = setup.list_offsets(&args.topic, partitions, -1)?;
    let epoch = Instant::now();
    let shared = Arc::new(Shared {
        goal: Goal::CatchUp {
            budget: args.records,
            deadline: args.duration.map(|d| epoch + d),
        },
        read: AtomicU64::new(0),
        epoch,
    });
    let handles = spawn_all(args, &shared, partitions, &starts, &ends);
    let read = join_all(handles, epoch)?;
    // Finished reading, whatever the last batch's receipt time.
    let elapsed = epoch.elapsed().as_secs_f64();
    Ok(Report {
        mode: Mode::Consume.name(),
        topic: args.topic.clone(),
        connections: args.connections,
        partitions,
        record_size: args.record_size,
        batch_records: args.batch_records,
        compression: "as stored".into(),
        acks: args.acks,
        depth: 1,
        rate: None,
        elapsed_s: elapsed,
        records: read.counts.records,
        produced_records: None,
        bytes: read.counts.bytes,
        requests: read.counts.requests,
        errors: read.counts.errors,
        first_error: read.counts.first_error,
        latency_kind: None,
        latency: read.latency,
        service: None,
    })
}

/// The consumers of an e2e run, started before the producers.
pub struct E2eConsumers {
    pub epoch: Instant,
    done: Arc<AtomicBool>,
    produced: Arc<AtomicU64>,
    handles: Vec<Worker>,
}

impl E2eConsumers {
    pub fn start(args: &LoadArgs, partitions: i32, ends: Vec<i64>) -> Result<Self, BenchError> {
        let epoch = Instant::now();
        let done = Arc::new(AtomicBool::new(false));
        let produced = Arc::new(AtomicU64::new(0));
        let shared = Arc::new(Shared {
            goal: Goal::E2e {
                done: done.clone(),
                produced: produced.clone(),
            },
            read: AtomicU64::new(0),
            epoch,
        });
        let forever = vec![i64::MAX; partitions as usize];
        let handles = spawn_all(args, &shared, partitions, &ends, &forever);
        Ok(E2eConsumers {
            epoch,
            done,
            produced,
            handles,
        })
    }

    /// The producers have finished having produced `produced` records: read them all.
    pub fn finish(self, produced: u64) -> Result<ReadResult, BenchError> {
        self.produced.store(produced, Ordering::Release);
        self.done.store(true, Ordering::Release);
        join_all(self.handles, self.epoch)
    }

    /// Stop without waiting for the records.
    pub fn stop(self) {
        self.produced.store(0, Ordering::Release);
        self.done.store(true, Ordering::Release);
        for h in self.handles {
            let _ = h.join();
        }
    }
}
