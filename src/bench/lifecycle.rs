//! `rill bench lifecycle`: the log lifecycle's own costs, measured in-process on this
//! machine's disk: the log cleaner's throughput (MB/s of log cleaned) and the cost of a
//! retention pass over many partitions (nothing due, and one deleting every partition's
//! expired data).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::BenchError;
use crate::broker::{Broker, BrokerConfig};
use crate::log::batch::{self, KeyValue};
use crate::log::cleaner::{CleanerConfig, MAP_ENTRY_BYTES};
use crate::log::{LogConfig, PartitionLog};

#[derive(Args, Debug, Clone)]
pub struct LifecycleArgs {
    /// MiB of log to write and then compact.
    #[arg(long, default_value_t = 256)]
    pub clean_mib: u64,
    /// Distinct keys in that log (the cleaner keeps one record per key).
    #[arg(long, default_value_t = 100_000)]
    pub keys: usize,
    /// Bytes of each record's value.
    #[arg(long, default_value_t = 1024)]
    pub record_size: usize,
    /// Batch codec id for the compaction run (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
    #[arg(long, default_value_t = 0)]
    pub codec: u8,
    /// Cleaner map memory (`log.cleaner.dedupe.buffer.size`).
    #[arg(long, default_value_t = 134_217_728)]
    pub dedupe_buffer_size: usize,
    /// Partitions for the retention pass (topics of 10 partitions).
    #[arg(long, default_value_t = 10_000)]
    pub partitions: usize,
    /// Where to write (default: a temporary directory, removed afterwards).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

fn io(e: impl std::fmt::Display) -> BenchError {
    BenchError::Batch(e.to_string())
}

/// Writes `clean_mib` of keyed records and compacts it once; (MB read, seconds, stats).
fn cleaner_run(a: &LifecycleArgs, dir: &std::path::Path) -> Result<serde_json::Value, BenchError> {
    let cfg = LogConfig {
        segment_bytes: 64 << 20,
        ..LogConfig::default()
    };
    let log = PartitionLog::open(&dir.join("clean"), cfg.clone(), true).map_err(io)?;
    let value = vec![b'v'; a.record_size];
    let keys: Vec<Vec<u8>> = (0..a.keys.max(1))
        .map(|k| format!("key-{k:09}").into_bytes())
        .collect();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let target = a.clean_mib << 20;
    let mut written = 0u64;
    let mut records = 0u64;
    let t0 = Instant::now();
    while written < target {
        let recs: Vec<KeyValue> = (0..64)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let k = &keys[(x % keys.len() as u64) as usize];
                (Some(&k[..]), Some(&value[..]))
            })
            .collect();
        let plain = batch::keyed_batch(&recs, crate::log::now_ms() - 10_000);
        let b = if a.codec == 0 {
            plain
        } else {
            batch::recompress(&plain, a.codec, None).map_err(io)?
        };
        let h = batch::validate_produce(&b, usize::MAX).map_err(io)?;
        log.append(&b, &h, false).map_err(io)?;
        written += b.len() as u64;
        records += 64;
    }
    log.flush().map_err(io)?;
    let write_s = t0.elapsed().as_secs_f64();
    // One more batch in a new segment, so the whole written log is cleanable.
    log.set_config(LogConfig {
        segment_ms: 1,
        ..cfg.clone()
    });
    std::thread::sleep(std::time::Duration::from_millis(5));
    let last = batch::keyed_batch(&[(Some(b"end"), Some(b"end"))], crate::log::now_ms());
    let h = batch::validate_produce(&last, usize::MAX).map_err(io)?;
    log.append(&last, &h, false).map_err(io)?;
    log.set_config(cfg);
    let cc = CleanerConfig {
        min_dirty_ratio: 0.0,
        min_lag_ms: 0,
        max_lag_ms: i64::MAX,
        delete_retention_ms: i64::MAX,
        map_entries: (a.dedupe_buffer_size / MAP_ENTRY_BYTES).max(1),
    };
    let t1 = Instant::now();
    let mut passes = 0;
    let mut read = 0u64;
    let mut out = 0u64;
    let mut removed = 0u64;
    while let Some(s) = log.clean(crate::log::now_ms(), &cc).map_err(io)? {
        passes += 1;
        read += s.bytes_read;
        out += s.bytes_written;
        removed += s.records_removed;
        if !s.map_full {
            break;
        }
    }
    let secs = t1.elapsed().as_secs_f64();
    log.delete().map_err(io)?;
    Ok(serde_json::json!({
        "log_mib": written as f64 / (1 << 20) as f64,
        "records": records,
        "keys": a.keys,
        "codec": a.codec,
        "write_mib_per_s": written as f64 / (1 << 20) as f64 / write_s,
        "clean_seconds": secs,
        "clean_passes": passes,
        "cleaned_mib_per_s": written as f64 / (1 << 20) as f64 / secs,
        "bytes_read": read,
        "bytes_written": out,
        "records_removed": removed,
    }))
}

/// Creates `partitions` partitions, times a retention pass with nothing due, then one
/// that deletes every partition's expired data.
fn retention_run(
    a: &LifecycleArgs,
    dir: &std::path::Path,
) -> Result<serde_json::Value, BenchError> {
    crate::cli::raise_open_files_limit();
    let broker = Broker::open(BrokerConfig {
        auto_create_topics: false,
        ..BrokerConfig::in_process(dir.join("retention"))
    })
    .map_err(io)?;
    let per_topic = 10;
    let topics = a.partitions.div_ceil(per_topic);
    let configs = BTreeMap::from([
        ("retention.ms".to_string(), "60000".to_string()),
        ("segment.bytes".to_string(), "1024".to_string()),
        ("segment.index.bytes".to_string(), "4096".to_string()),
    ]);
    let t0 = Instant::now();
    for t in 0..topics {
        let topic = broker
            .create_topic(
                &format!("ret-{t:05}"),
                per_topic as i32,
                1,
                configs.clone(),
                false,
            )
            .map_err(io)?;
        // One old batch per partition (one segment: a sealed segment more per partition
        // would double the open files). A deleting pass rolls it, then deletes it.
        for p in topic.partitions() {
            let b = batch::simple_batch(8, 1_000, 100);
            let h = batch::validate_produce(&b, usize::MAX).map_err(io)?;
            p.append(&b, &h, false).map_err(io)?;
        }
    }
    let setup_s = t0.elapsed().as_secs_f64();
    // Nothing due: records are "old" only relative to a clock far in the past.
    let t1 = Instant::now();
    let idle = broker.retention_pass(2_000);
    let idle_s = t1.elapsed().as_secs_f64();
    let t2 = Instant::now();
    let busy = broker.retention_pass(crate::log::now_ms());
    let busy_s = t2.elapsed().as_secs_f64();
    broker.close().map_err(io)?;
    Ok(serde_json::json!({
        "partitions": topics * per_topic,
        "setup_seconds": setup_s,
        "idle_pass_ms": idle_s * 1000.0,
        "idle_deleted_segments": idle.segments,
        "deleting_pass_ms": busy_s * 1000.0,
        "deleted_segments": busy.segments,
        "deleted_partitions": busy.partitions,
    }))
}

pub fn run(a: LifecycleArgs) -> Result<(), BenchError> {
    let tmp;
    let dir = match &a.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            tmp = tempfile::Builder::new()
                .prefix("rill-lifecycle-")
                .tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let cleaner = cleaner_run(&a, &dir)?;
    let retention = retention_run(&a, &dir)?;
    let report = serde_json::json!({ "cleaner": cleaner, "retention": retention });
    if a.json {
        println!("{report}");
    } else {
        println!(
            "cleaner: {:.0} MiB log ({} keys, codec {}) compacted in {:.2} s = {:.1} MiB/s ({} pass(es), {} records removed)",
            cleaner["log_mib"].as_f64().unwrap_or(0.0),
            a.keys,
            a.codec,
            cleaner["clean_seconds"].as_f64().unwrap_or(0.0),
            cleaner["cleaned_mib_per_s"].as_f64().unwrap_or(0.0),
            cleaner["clean_passes"],
            cleaner["records_removed"],
        );
        println!(
            "retention: {} partitions, pass with nothing due {:.1} ms, pass deleting {} segments {:.1} ms",
            retention["partitions"],
            retention["idle_pass_ms"].as_f64().unwrap_or(0.0),
            retention["deleted_segments"],
            retention["deleting_pass_ms"].as_f64().unwrap_or(0.0),
        );
    }
    Ok(())
}
