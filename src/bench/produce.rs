//! Produce (and the producing half of e2e): per connection, a writer thread that sends
//! pre-encoded Produce frames (at max rate or on a fixed schedule) and a reader thread
//! that matches responses to requests in order and records ack latency.

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    InitProducerIdRequest, MetadataRequest, ProduceRequest, ProducerId, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::report::{histogram, Report};
use super::workload::BatchTemplate;
use super::{consume, BenchError, LoadArgs, Mode};
use crate::client::frame::{decode_response, encode_frame, read_frame, CORRELATION_AT};
use crate::client::{Conn, CLIENT_ID};
use crate::log::batch::set_producer;

const PRODUCE_VERSION: i16 = 9;
const METADATA_VERSION: i16 = 12;

/// A whole Produce request frame for one partition, and where its batch sits in it.
struct ProduceFrame {
    bytes: Vec<u8>,
    batch_at: usize,
    batch_len: usize,
}

impl ProduceFrame {
    fn new(topic: &str, partition: i32, acks: i16, batch: &Bytes) -> Result<Self, BenchError> {
        let req = ProduceRequest::default()
            .with_acks(acks)
            .with_timeout_ms(30_000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(partition)
                    .with_records(Some(batch.clone()))])]);
        let bytes = encode_frame(PRODUCE_VERSION, 0, CLIENT_ID, &req)?;
        // The records are the last field but for a few tagged-field bytes.
        let n = batch.len();
        let batch_at = (0..16)
            .filter_map(|tail| bytes.len().checked_sub(tail + n))
            .find(|&at| bytes[at..at + n] == batch[..])
            .ok_or_else(|| BenchError::Encode {
                api: "Produce",
                msg: "cannot locate the batch in the encoded request".into(),
            })?;
        Ok(ProduceFrame {
            bytes,
            batch_at,
            batch_len: n,
        })
    }

    fn set_correlation(&mut self, c: i32) {
        self.bytes[CORRELATION_AT..CORRELATION_AT + 4].copy_from_slice(&c.to_be_bytes());
    }
}

/// One request awaiting its response.
struct InFlight {
    correlation: i32,
    /// When the schedule wanted it sent (= `sent` at max rate).
    intended: Instant,
    /// When it was actually written.
    sent: Instant,
    records: u64,
    bytes: u64,
}

#[derive(Default)]
pub struct Counts {
    pub records: u64,
    pub bytes: u64,
    pub requests: u64,
    pub errors: u64,
    pub first_error: Option<String>,
}

impl Counts {
    pub fn error(&mut self, e: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(e);
        }
    }
    pub fn add(&mut self, o: Counts) {
        self.records += o.records;
        self.bytes += o.bytes;
        self.requests += o.requests;
        self.errors += o.errors;
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
    }
}

/// What every producing connection shares.
struct Plan {
    args: LoadArgs,
    template: BatchTemplate,
    epoch: Instant,
    deadline: Option<Instant>,
    budget: Option<u64>,
    claimed: AtomicU64,
    e2e: bool,
}

pub fn run(args: &LoadArgs, e2e: bool) -> Result<Report, BenchError> {
    let timeout = Duration::from_millis(args.timeout_ms);
    let mut setup = Conn::connect(&args.bootstrap, timeout)?;
    let partitions =
        setup.ensure_topic_with(&args.topic, args.partitions, true, &args.topic_config)?;
    let template = BatchTemplate::new_keyed(
        args.batch_records,
        args.record_size,
        args.compression,
        args.keys,
    )?;
    let duration = match (args.duration, args.records) {
        (None, None) => Some(Duration::from_secs(10)),
        (d, _) => d,
    };
    // The consumers of e2e start at the current end of each partition.
    let consumer = if e2e {
        let ends = setup.list_offsets(&args.topic, partitions, -1)?;
        Some(consume::E2eConsumers::start(args, partitions, ends)?)
    } else {
        None
    };
    let epoch = consumer.as_ref().map_or_else(Instant::now, |c| c.epoch);
    let plan = Arc::new(Plan {
        args: args.clone(),
        template,
        epoch,
        deadline: duration.map(|d| epoch + d),
        budget: args.records,
        claimed: AtomicU64::new(0),
        e2e,
    });
    let mut workers = Vec::with_capacity(args.connections);
    for c in 0..args.connections {
        let parts = super::partitions_of(c, args.connections, partitions);
        let plan = plan.clone();
        workers.push(thread::spawn(move || connection(&plan, c, &parts)));
    }
    let mut counts = Counts::default();
    let mut hist = histogram();
    let mut service = histogram();
    let mut failure = None;
    for w in workers {
        match w.join() {
            Ok(Ok((c, h))) => {
                counts.add(c);
                let _ = hist.add(&h.intended);
                let _ = service.add(&h.service);
            }
            Ok(Err(e)) => failure = failure.or(Some(e)),
            Err(_) => failure = failure.or(Some(BenchError::Panicked)),
        }
    }
    let produced_elapsed = plan.epoch.elapsed().as_secs_f64();
    if let Some(e) = failure {
        if let Some(c) = consumer {
            c.stop();
        }
        return Err(e);
    }
    let mut report = Report {
        mode: if e2e { Mode::E2e } else { Mode::Produce }.name(),
        topic: args.topic.clone(),
        connections: args.connections,
        partitions,
        record_size: args.record_size,
        batch_records: args.batch_records,
        compression: format!("{:?}", args.compression).to_lowercase(),
        acks: args.acks,
        depth: args.depth,
        rate: args.rate,
        elapsed_s: produced_elapsed,
        records: counts.records,
        produced_records: None,
        bytes: counts.bytes,
        requests: counts.requests,
        errors: counts.errors,
        first_error: counts.first_error,
        latency_kind: (args.acks != 0).then_some("ack"),
        latency: hist,
        service: (args.acks != 0 && args.rate.is_some()).then_some(service),
    };
    if let Some(c) = consumer {
        let read = c.finish(report.records)?;
        report.produced_records = Some(report.records);
        report.records = read.counts.records;
        report.bytes = read.counts.bytes;
        report.requests = read.counts.requests;
        report.errors += read.counts.errors;
        report.first_error = report.first_error.or(read.counts.first_error);
        report.elapsed_s = read.elapsed_s;
        report.latency_kind = Some("end-to-end");
        report.latency = read.latency;
        report.service = None;
    }
    Ok(report)
}

/// A fresh producer id (InitProducerId without a transactional id), epoch 0.
fn init_producer_id(bootstrap: &str, timeout: Duration) -> Result<i64, BenchError> {
    let r = Conn::connect_plain(bootstrap, timeout)?.call_at(
        4,
        &InitProducerIdRequest::default()
            .with_transactional_id(None)
            .with_transaction_timeout_ms(60_000)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1),
    )?;
    if r.error_code != 0 {
        return Err(BenchError::Kafka {
            api: "InitProducerId",
            code: r.error_code,
            partition: -1,
        });
    }
    Ok(r.producer_id.0)
}

fn connection(plan: &Plan, index: usize, parts: &[i32]) -> Result<(Counts, Acks), BenchError> {
    let args = &plan.args;
    let timeout = Duration::from_millis(args.timeout_ms);
    let mut stream = crate::client::connect(&args.bootstrap, timeout)?;
    let mut frames = parts
        .iter()
        .map(|&p| ProduceFrame::new(&args.topic, p, args.acks, &plan.template.batch))
        .collect::<Result<Vec<_>, _>>()?;
    // `depth` slots: the writer takes one per request, the reader returns it with the
    // response.
    let (slot_tx, slots) = sync_channel::<()>(args.depth);
    for _ in 0..args.depth {
        let _ = slot_tx.send(());
    }
    let (tx, rx) = channel::<InFlight>();
    let reader = if args.acks != 0 {
        let r = stream.try_clone()?;
        Some(thread::spawn(move || read_acks(r, rx, slot_tx)))
    } else {
        drop(rx);
        None
    };
    let batch_records = plan.template.records as u64;
    let interval = args.rate.map(|r| {
        Duration::from_secs_f64(plan.template.records as f64 * args.connections as f64 / r)
    });
    // Connections start staggered over one interval so their sends interleave.
    let mut next =
        plan.epoch + interval.unwrap_or_default() * index as u32 / args.connections as u32;
    let mut sent = Counts::default();
    let mut correlation = 0i32;
    let mut k = 0usize;
    // Idempotent: this connection's producer id, and the next sequence per partition.
    let producer_id = if args.idempotent {
        Some(init_producer_id(&args.bootstrap, timeout)?)
    } else {
        None
    };
    let mut sequences = vec![0i32; parts.len()];
    loop {
        if let Some(b) = plan.budget {
            if plan.claimed.fetch_add(batch_records, Ordering::Relaxed) >= b {
                break;
            }
        }
        let intended = match interval {
            Some(iv) => {
                let t = next;
                next += iv;
                if plan.deadline.is_some_and(|d| t >= d) {
                    break;
                }
                let now = Instant::now();
                if t > now {
                    thread::sleep(t - now);
                }
                t
            }
            None => {
                let now = Instant::now();
                if plan.deadline.is_some_and(|d| now >= d) {
                    break;
                }
                now
            }
        };
        let slot = k % parts.len();
        k += 1;
        let frame = &mut frames[slot];
        correlation = correlation.wrapping_add(1);
        if plan.e2e {
            let ns = intended.duration_since(plan.epoch).as_nanos() as u64;
            let (at, len) = (frame.batch_at, frame.batch_len);
            if !plan
                .template
                .stamp_in_place(&mut frame.bytes[at..at + len], ns)
            {
                let batch = plan.template.stamped(ns)?;
                *frame = ProduceFrame::new(&args.topic, parts[slot], args.acks, &batch)?;
            }
        }
        if let Some(pid) = producer_id {
            let (at, len) = (frame.batch_at, frame.batch_len);
            set_producer(
                &mut frame.bytes[at..at + len],
                pid,
                0,
                sequences[slot],
                false,
            );
            sequences[slot] = sequences[slot].wrapping_add(plan.template.records as i32);
        }
        frame.set_correlation(correlation);
        if args.acks != 0 {
            // Blocks while `depth` requests are in flight; fails if the reader failed
            // (its error is reported below).
            if slots.recv().is_err() {
                break;
            }
            let inflight = InFlight {
                correlation,
                intended,
                sent: Instant::now(),
                records: batch_records,
                bytes: frame.batch_len as u64,
            };
            if tx.send(inflight).is_err() {
                break;
            }
        }
        if let Err(e) = stream.write_all(&frame.bytes) {
            sent.error(format!("write failed: {e}"));
            break;
        }
        sent.records += batch_records;
        sent.bytes += frame.batch_len as u64;
        sent.requests += 1;
    }
    drop(tx);
    match reader {
        Some(r) => {
            let (acked, hist) = r.join().map_err(|_| BenchError::Panicked)??;
            let mut c = acked;
            if sent.errors > 0 {
                c.errors += sent.errors;
                c.first_error = c.first_error.or(sent.first_error);
            }
            Ok((c, hist))
        }
        None => {
            // acks=0: the broker answers nothing, so a Metadata round trip on the same
            // connection (served in order) tells when it has handled every produce.
            correlation = correlation.wrapping_add(1);
            let req = MetadataRequest::default().with_topics(Some(vec![]));
            let frame = encode_frame(METADATA_VERSION, correlation, CLIENT_ID, &req)?;
            stream.write_all(&frame)?;
            let resp = read_frame(&mut stream)?;
            decode_response::<MetadataRequest>(METADATA_VERSION, correlation, resp)?;
            Ok((
                sent,
                Acks {
                    intended: histogram(),
                    service: histogram(),
                },
            ))
        }
    }
}

/// Ack latencies: from the intended send time, and from the actual one.
pub struct Acks {
    pub intended: Histogram<u64>,
    pub service: Histogram<u64>,
}

fn read_acks(
    stream: TcpStream,
    rx: Receiver<InFlight>,
    slots: SyncSender<()>,
) -> Result<(Counts, Acks), BenchError> {
    let mut r = std::io::BufReader::with_capacity(64 * 1024, stream);
    let mut counts = Counts::default();
    let mut acks = Acks {
        intended: histogram(),
        service: histogram(),
    };
    for inflight in rx {
        let frame = read_frame(&mut r)?;
        let done = Instant::now();
        let resp = decode_response::<ProduceRequest>(PRODUCE_VERSION, inflight.correlation, frame)?;
        counts.requests += 1;
        let mut failed = false;
        for t in &resp.responses {
            for p in &t.partition_responses {
                if p.error_code != 0 {
                    failed = true;
                    let msg = p.error_message.as_ref().map(|m| m.to_string());
                    counts.error(format!(
                        "partition {}: error code {} {}",
                        p.index,
                        p.error_code,
                        msg.unwrap_or_default()
                    ));
                }
            }
        }
        let _ = slots.send(());
        if !failed {
            counts.records += inflight.records;
            counts.bytes += inflight.bytes;
            let ns = done.duration_since(inflight.intended).as_nanos() as u64;
            acks.intended.saturating_record(ns.max(1));
            let ns = done.duration_since(inflight.sent).as_nanos() as u64;
            acks.service.saturating_record(ns.max(1));
        }
    }
    Ok((counts, acks))
}
