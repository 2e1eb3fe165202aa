//! Results of a load run: throughput and latency percentiles, as text or JSON.

use std::fmt::Write as _;

use hdrhistogram::Histogram;

/// Latencies are recorded in nanoseconds, 3 significant digits, up to one hour.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("constant bounds are valid")
}

#[derive(Debug)]
pub struct Report {
    pub mode: &'static str,
    pub topic: String,
    pub connections: usize,
    pub partitions: i32,
    pub record_size: usize,
    pub batch_records: usize,
    pub compression: String,
    pub acks: i16,
    pub depth: usize,
    pub rate: Option<f64>,
    pub elapsed_s: f64,
    /// Produce: records acknowledged (sent, for acks=0). Consume and e2e: records read.
    pub records: u64,
    /// e2e: records produced (acknowledged).
    pub produced_records: Option<u64>,
    /// Record-batch bytes (as on the wire and on disk, without protocol framing).
    pub bytes: u64,
    pub requests: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    /// What the latency measures, if any.
    pub latency_kind: Option<&'static str>,
    pub latency: Histogram<u64>,
    /// Fixed-rate produce: ack latency from the actual send time (the broker's part,
    /// without the time a request waited behind the schedule or for a depth slot).
    pub service: Option<Histogram<u64>>,
}

fn summary(h: &Histogram<u64>) -> serde_json::Value {
    let us = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    serde_json::json!({
        "samples": h.len(),
        "min_us": h.min() as f64 / 1000.0,
        "mean_us": h.mean() / 1000.0,
        "p50_us": us(0.5),
        "p90_us": us(0.9),
        "p99_us": us(0.99),
        "p999_us": us(0.999),
        "max_us": h.max() as f64 / 1000.0,
    })
}

fn line(h: &Histogram<u64>) -> String {
    let us = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    format!(
        "p50 {:.1}  p99 {:.1}  p99.9 {:.1}  max {:.1}  ({} samples)",
        us(0.5),
        us(0.99),
        us(0.999),
        h.max() as f64 / 1000.0,
        h.len()
    )
}

const MIB: f64 = 1024.0 * 1024.0;

impl Report {
    pub fn records_per_s(&self) -> f64 {
        self.records as f64 / self.elapsed_s.max(1e-9)
    }
    pub fn mib_per_s(&self) -> f64 {
        self.bytes as f64 / MIB / self.elapsed_s.max(1e-9)
    }

    pub fn to_json(&self) -> String {
        let latency = (self.latency_kind.is_some() && !self.latency.is_empty()).then(|| {
            let mut v = summary(&self.latency);
            v["kind"] = serde_json::json!(self.latency_kind);
            v
        });
        let service = self.service.as_ref().filter(|h| !h.is_empty()).map(summary);
        serde_json::json!({
            "mode": self.mode,
            "topic": self.topic,
            "connections": self.connections,
            "partitions": self.partitions,
            "record_size": self.record_size,
            "batch_records": self.batch_records,
            "compression": self.compression,
            "acks": self.acks,
            "depth": self.depth,
            "rate": self.rate,
            "elapsed_s": self.elapsed_s,
            "records": self.records,
            "produced_records": self.produced_records,
            "bytes": self.bytes,
            "requests": self.requests,
            "errors": self.errors,
            "first_error": self.first_error,
            "records_per_s": self.records_per_s(),
            "mib_per_s": self.mib_per_s(),
            "latency": latency,
            "service_latency": service,
        })
        .to_string()
    }

    pub fn human(&self) -> String {
        let mut s = String::new();
        let rate = match self.rate {
            Some(r) => format!("fixed rate {r:.0} records/s"),
            None => "max rate".into(),
        };
        let _ = writeln!(
            s,
            "rill bench {}: topic {}, {} connection(s), {} partition(s), {} B records, {} per batch, {}, acks={}, depth {}, {}",
            self.mode,
            self.topic,
            self.connections,
            self.partitions,
            self.record_size,
            self.batch_records,
            self.compression,
            self.acks,
            self.depth,
            rate
        );
        if let Some(p) = self.produced_records {
            let _ = writeln!(s, "  produced   {p} records");
        }
        let _ = writeln!(
            s,
            "  {:<10} {} records, {} batch bytes in {:.3} s ({} requests)",
            if self.mode == "produce" {
                "sent"
            } else {
                "read"
            },
            self.records,
            self.bytes,
            self.elapsed_s,
            self.requests
        );
        let _ = writeln!(
            s,
            "  throughput {:.1} MiB/s, {:.0} records/s",
            self.mib_per_s(),
            self.records_per_s()
        );
        if let (Some(kind), false) = (self.latency_kind, self.latency.is_empty()) {
            let _ = writeln!(s, "  {kind} latency (us): {}", line(&self.latency));
        }
        if let Some(h) = self.service.as_ref().filter(|h| !h.is_empty()) {
            let _ = writeln!(s, "  from actual send (us): {}", line(h));
        }
        if self.errors > 0 {
            let _ = writeln!(
                s,
                "  ERRORS: {} (first: {})",
                self.errors,
                self.first_error.as_deref().unwrap_or("?")
            );
        }
        s
    }
}
