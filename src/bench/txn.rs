//! `rill bench txn`: transactional producers, each on its own connection, running
//! transactions of N records back to back (InitProducerId once, then AddPartitionsToTxn →
//! Produce → EndTxn per transaction; with `--v2`, Produce v12 and EndTxn v5 of
//! Transactions V2). Reports transactions/s, records/s and the latency of a whole
//! transaction.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Args;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, EndTxnRequest, InitProducerIdRequest, ProduceRequest, ProducerId,
    TopicName, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;

use super::report::histogram;
use super::{parse_duration, BenchError};
use crate::client::Conn;
use crate::log::batch::{set_producer, simple_batch};

#[derive(Args, Debug, Clone)]
pub struct TxnArgs {
    /// Broker address (host:port).
    #[arg(long, short = 'b', default_value = "127.0.0.1:9092")]
    pub bootstrap: String,
    /// Topic; created with --partitions partitions if it does not exist.
    #[arg(long, short = 't', default_value = "rill-bench-txn")]
    pub topic: String,
    /// Transactional producers, one connection each.
    #[arg(long, short = 'c', default_value_t = 1)]
    pub connections: usize,
    /// Partitions; each transaction writes to the next one in turn.
    #[arg(long, short = 'p', default_value_t = 1)]
    pub partitions: i32,
    /// Records per transaction (one batch).
    #[arg(long, default_value_t = 10)]
    pub txn_records: i32,
    /// Bytes of each record's value.
    #[arg(long, default_value_t = 100)]
    pub record_size: usize,
    /// How long to run.
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    pub duration: Duration,
    /// Use Transactions V2 (Produce v12 adds the partition, EndTxn v5 bumps the epoch).
    #[arg(long)]
    pub v2: bool,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    pub json: bool,
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn check(api: &'static str, code: i16, partition: i32) -> Result<(), BenchError> {
    if code == 0 {
        Ok(())
    } else {
        Err(BenchError::Kafka {
            api,
            code,
            partition,
        })
    }
}

/// One producer's loop; returns (transactions, latencies in ns).
fn producer(
    a: &TxnArgs,
    id: usize,
    stop: &AtomicBool,
) -> Result<(u64, hdrhistogram::Histogram<u64>), BenchError> {
    let mut conn = Conn::connect(&a.bootstrap, Duration::from_secs(30))?;
    let txn_id = format!("rill-bench-txn-{}-{id}", std::process::id());
    let init = conn.call_at(
        4,
        &InitProducerIdRequest::default()
            .with_transactional_id(Some(TransactionalId(s(&txn_id))))
            .with_transaction_timeout_ms(60_000)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1),
    )?;
    check("InitProducerId", init.error_code, -1)?;
    let (mut pid, mut epoch) = (init.producer_id.0, init.producer_epoch);
    let mut seqs: HashMap<i32, i32> = HashMap::new();
    let template = simple_batch(a.txn_records, crate::log::now_ms(), a.record_size);
    let mut hist = histogram();
    let mut count = 0u64;
    let mut partition = id as i32 % a.partitions;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        if !a.v2 {
            let r = conn.call_at(
                3,
                &AddPartitionsToTxnRequest::default()
                    .with_v3_and_below_transactional_id(TransactionalId(s(&txn_id)))
                    .with_v3_and_below_producer_id(ProducerId(pid))
                    .with_v3_and_below_producer_epoch(epoch)
                    .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
                        .with_name(TopicName(s(&a.topic)))
                        .with_partitions(vec![partition])]),
            )?;
            for t in &r.results_by_topic_v3_and_below {
                for p in &t.results_by_partition {
                    check("AddPartitionsToTxn", p.partition_error_code, partition)?;
                }
            }
        }
        let seq = seqs.entry(partition).or_insert(0);
        let mut batch = template.clone();
        set_producer(&mut batch, pid, epoch, *seq, true);
        *seq = seq.wrapping_add(a.txn_records);
        let req = ProduceRequest::default()
            .with_transactional_id(Some(TransactionalId(s(&txn_id))))
            .with_acks(-1)
            .with_timeout_ms(30_000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(TopicName(s(&a.topic)))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(partition)
                    .with_records(Some(Bytes::from(batch)))])]);
        let r = conn.call_at(if a.v2 { 12 } else { 9 }, &req)?;
        for t in &r.responses {
            for p in &t.partition_responses {
                check("Produce", p.error_code, partition)?;
            }
        }
        let end = conn.call_at(
            if a.v2 { 5 } else { 4 },
            &EndTxnRequest::default()
                .with_transactional_id(TransactionalId(s(&txn_id)))
                .with_producer_id(ProducerId(pid))
                .with_producer_epoch(epoch)
                .with_committed(true),
        )?;
        check("EndTxn", end.error_code, -1)?;
        if a.v2 && (end.producer_id.0, end.producer_epoch) != (pid, epoch) {
            // A new epoch (or id) starts its sequences over.
            (pid, epoch) = (end.producer_id.0, end.producer_epoch);
            seqs.clear();
        }
        hist.saturating_record(started.elapsed().as_nanos() as u64);
        count += 1;
        partition = (partition + 1) % a.partitions;
    }
    Ok((count, hist))
}

pub fn run(a: TxnArgs) -> Result<(), BenchError> {
    if a.connections == 0 || a.partitions < 1 || a.txn_records < 1 {
        return Err(BenchError::Usage(
            "--connections, --partitions and --txn-records must be at least 1".into(),
        ));
    }
    Conn::connect(&a.bootstrap, Duration::from_secs(30))?.ensure_topic(
        &a.topic,
        Some(a.partitions),
        true,
    )?;
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..a.connections)
        .map(|i| {
            let (a, stop) = (a.clone(), stop.clone());
            std::thread::spawn(move || producer(&a, i, &stop))
        })
        .collect();
    std::thread::sleep(a.duration);
    stop.store(true, Ordering::Relaxed);
    let mut total = 0u64;
    let mut hist = histogram();
    for w in workers {
        let (n, h) = w.join().map_err(|_| BenchError::Panicked)??;
        total += n;
        hist.add(&h).map_err(|e| BenchError::Batch(e.to_string()))?;
    }
    let secs = started.elapsed().as_secs_f64();
    let tps = total as f64 / secs;
    let us = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "mode": if a.v2 { "txn-v2" } else { "txn" },
                "connections": a.connections,
                "partitions": a.partitions,
                "txn_records": a.txn_records,
                "record_size": a.record_size,
                "elapsed_s": secs,
                "transactions": total,
                "transactions_per_s": tps,
                "records_per_s": tps * a.txn_records as f64,
                "latency_p50_us": us(0.5),
                "latency_p99_us": us(0.99),
            })
        );
    } else {
        println!(
            "txn{}: {} producers, {} partitions, {} records of {} B per transaction\n  {:.0} transactions/s ({:.0} records/s) over {:.1} s\n  transaction latency (us): p50 {:.1}  p99 {:.1}  max {:.1}",
            if a.v2 { " (V2)" } else { "" },
            a.connections,
            a.partitions,
            a.txn_records,
            a.record_size,
            tps,
            tps * a.txn_records as f64,
            secs,
            us(0.5),
            us(0.99),
            hist.max() as f64 / 1000.0
        );
    }
    Ok(())
}
