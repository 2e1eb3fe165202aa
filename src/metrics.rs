//! The broker's metrics: one Prometheus recorder per `Broker` (not the process-global
//! one, so several in-process brokers — tests, `rill::testing::TestBroker` — never mix),
//! and the handles the hot paths keep so that recording is an atomic add, never a lookup.
//!
//! Counters and histograms live here and are rendered by `/metrics`
//! (`http/metrics.rs`); the gauges that describe current state (partition offsets and
//! sizes, group lag and members) are computed there at scrape time instead.
//! No Kafka wire types here: API names come in as `&'static str`.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use metrics::{Counter, Gauge, Histogram, Key, Label, Level, Metadata, Recorder, SharedString};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// Latency buckets (seconds) of every `_seconds` histogram: 50 µs to 10 s.
pub(crate) const LATENCY_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0,
];

static META: Metadata<'static> = Metadata::new("rill", Level::INFO, Some(module_path!()));

/// Request slots are kept for API keys and versions below these.
const MAX_API_KEY: usize = 128;
const MAX_API_VERSION: usize = 32;

/// Names, types and help texts of the metrics recorded here.
const DESCRIPTIONS: &[(&str, Kind, &str)] = &[
    (
        "rill_request_duration_seconds",
        Kind::Histogram,
        "Time from a request's decoding to its encoded response, by Kafka API and version (the _count is the number of requests).",
    ),
    (
        "rill_request_errors_total",
        Kind::Counter,
        "Error codes other than NONE in responses, by Kafka API and Kafka error name (top-level and per-partition codes).",
    ),
    (
        "rill_topic_bytes_in_total",
        Kind::Counter,
        "Record-batch bytes appended to the topic by Produce (retried duplicates not counted).",
    ),
    (
        "rill_topic_records_in_total",
        Kind::Counter,
        "Records appended to the topic by Produce (the batch headers' record counts).",
    ),
    (
        "rill_topic_bytes_out_total",
        Kind::Counter,
        "Record-batch bytes of the topic served by Fetch.",
    ),
    (
        "rill_topic_records_out_total",
        Kind::Counter,
        "Records of the topic served by Fetch, approximated by the offsets the served batches span (control records and compacted-away offsets included).",
    ),
    (
        "rill_connections_open",
        Kind::Gauge,
        "Client connections open now, by listener.",
    ),
    (
        "rill_connections_accepted_total",
        Kind::Counter,
        "Client connections accepted, by listener.",
    ),
    (
        "rill_fsync_duration_seconds",
        Kind::Histogram,
        "Duration of one fsync round: a group commit (--fsync always) or a periodic flush (--fsync interval).",
    ),
    (
        "rill_retention_passes_total",
        Kind::Counter,
        "Retention passes run (log.retention.check.interval.ms).",
    ),
    (
        "rill_retention_segments_deleted_total",
        Kind::Counter,
        "Segments deleted by retention (retention.ms, retention.bytes).",
    ),
    (
        "rill_retention_bytes_deleted_total",
        Kind::Counter,
        "Bytes of segments deleted by retention.",
    ),
    (
        "rill_cleaner_passes_total",
        Kind::Counter,
        "Log cleaner passes over the compacted topics.",
    ),
    (
        "rill_cleaner_partitions_cleaned_total",
        Kind::Counter,
        "Partitions compacted by the log cleaner.",
    ),
    (
        "rill_cleaner_bytes_read_total",
        Kind::Counter,
        "Bytes of segments read by the log cleaner.",
    ),
    (
        "rill_cleaner_bytes_reclaimed_total",
        Kind::Counter,
        "Bytes the log cleaner reclaimed (segment bytes read minus written).",
    ),
    (
        "rill_cleaner_records_removed_total",
        Kind::Counter,
        "Records removed by compaction (superseded keys, expired tombstones).",
    ),
];

#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// A recorder whose `_seconds` histograms use [`LATENCY_BUCKETS`].
pub(crate) fn new_recorder() -> PrometheusRecorder {
    let builder = PrometheusBuilder::new();
    // set_buckets fails only for an empty list.
    match builder.set_buckets(LATENCY_BUCKETS) {
        Ok(b) => b.build_recorder(),
        Err(_) => PrometheusBuilder::new().build_recorder(),
    }
}

/// One topic's traffic counters (kept by the `Topic`).
pub struct TopicCounters {
    pub bytes_in: Counter,
    pub records_in: Counter,
    pub bytes_out: Counter,
    pub records_out: Counter,
    /// The same totals as `bytes_out`/`records_out`, readable: the console's out-rates.
    pub fetched: Fetched,
}

/// Bytes and records fetched from a topic since the broker started.
#[derive(Default)]
pub struct Fetched {
    pub bytes: std::sync::atomic::AtomicU64,
    pub records: std::sync::atomic::AtomicU64,
}

/// One listener's connection metrics.
pub struct ListenerCounters {
    pub open: Gauge,
    pub accepted: Counter,
}

/// A broker's metrics registry and the handles its hot paths use.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    /// Latency histograms by API key × MAX_API_VERSION + version, registered on first use.
    requests: Box<[OnceLock<Histogram>]>,
    errors: Mutex<HashMap<(i16, i16), Counter>>,
    listeners: Vec<ListenerCounters>,
    pub fsync: Histogram,
    pub retention_passes: Counter,
    pub retention_segments: Counter,
    pub retention_bytes: Counter,
    pub cleaner_passes: Counter,
    pub cleaner_partitions: Counter,
    pub cleaner_bytes_read: Counter,
    pub cleaner_bytes_reclaimed: Counter,
    pub cleaner_records_removed: Counter,
    /// The per-partition gauges `/metrics` sets at each scrape (see `http/metrics.rs`):
    /// kept between scrapes so a scrape only sets values.
    pub(crate) partition_gauges: Mutex<PartitionGauges>,
}

/// Per-partition gauges in a recorder of their own, registered once per partition. A
/// recorder cannot forget a series, so when a partition goes away the whole set is
/// started again (`reset`).
pub(crate) struct PartitionGauges {
    pub(crate) recorder: PrometheusRecorder,
    /// Topic name → per partition: [log start offset, log end offset, size].
    pub(crate) topics: HashMap<String, Vec<[Gauge; 3]>>,
    /// The last rendering: when, how long it took, for how many partitions, the text.
    pub(crate) cached: Option<CachedRender>,
}

pub(crate) struct CachedRender {
    pub(crate) at: std::time::Instant,
    pub(crate) cost: std::time::Duration,
    pub(crate) partitions: usize,
    pub(crate) text: String,
}

impl PartitionGauges {
    pub(crate) const NAMES: [(&'static str, &'static str); 3] = [
        (
            "rill_partition_log_start_offset",
            "The partition's log start offset (first offset still stored).",
        ),
        (
            "rill_partition_log_end_offset",
            "The partition's log end offset (high watermark: the next offset to be written).",
        ),
        (
            "rill_partition_size_bytes",
            "Bytes of the partition's segment files.",
        ),
    ];

    pub(crate) fn new() -> PartitionGauges {
        let recorder = new_recorder();
        for (name, help) in Self::NAMES {
            recorder.describe_gauge(name.into(), None, SharedString::const_str(help));
        }
        PartitionGauges {
            recorder,
            topics: HashMap::new(),
            cached: None,
        }
    }

    /// The gauges of `topic`'s partitions `0..partitions`, registering what is missing.
    pub(crate) fn topic(&mut self, topic: &str, partitions: usize) -> &[[Gauge; 3]] {
        let recorder = &self.recorder;
        let gauges = self.topics.entry(topic.to_string()).or_default();
        while gauges.len() < partitions {
            let p = gauges.len().to_string();
            gauges.push(Self::NAMES.map(|(name, _)| {
                let labels = vec![
                    Label::new("topic", topic.to_string()),
                    Label::new("partition", p.clone()),
                ];
                recorder.register_gauge(&key(name, labels), &META)
            }));
        }
        &gauges[..partitions]
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn key(name: &'static str, labels: Vec<Label>) -> Key {
    Key::from_parts(name, labels)
}

impl Metrics {
    /// `listeners`: the listeners' names, in `BrokerConfig::listeners` order.
    pub fn new(listeners: &[String]) -> Metrics {
        let recorder = new_recorder();
        for (name, kind, help) in DESCRIPTIONS {
            let help = SharedString::const_str(help);
            match kind {
                Kind::Counter => recorder.describe_counter((*name).into(), None, help),
                Kind::Gauge => recorder.describe_gauge((*name).into(), None, help),
                Kind::Histogram => recorder.describe_histogram((*name).into(), None, help),
            }
        }
        let counter = |name: &'static str| recorder.register_counter(&key(name, vec![]), &META);
        let listeners = listeners
            .iter()
            .map(|l| {
                let labels = || vec![Label::new("listener", l.clone())];
                ListenerCounters {
                    open: recorder.register_gauge(&key("rill_connections_open", labels()), &META),
                    accepted: recorder
                        .register_counter(&key("rill_connections_accepted_total", labels()), &META),
                }
            })
            .collect();
        Metrics {
            fsync: recorder.register_histogram(&key("rill_fsync_duration_seconds", vec![]), &META),
            retention_passes: counter("rill_retention_passes_total"),
            retention_segments: counter("rill_retention_segments_deleted_total"),
            retention_bytes: counter("rill_retention_bytes_deleted_total"),
            cleaner_passes: counter("rill_cleaner_passes_total"),
            cleaner_partitions: counter("rill_cleaner_partitions_cleaned_total"),
            cleaner_bytes_read: counter("rill_cleaner_bytes_read_total"),
            cleaner_bytes_reclaimed: counter("rill_cleaner_bytes_reclaimed_total"),
            cleaner_records_removed: counter("rill_cleaner_records_removed_total"),
            handle: recorder.handle(),
            recorder,
            requests: (0..MAX_API_KEY * MAX_API_VERSION)
                .map(|_| OnceLock::new())
                .collect(),
            errors: Mutex::new(HashMap::new()),
            listeners,
            partition_gauges: Mutex::new(PartitionGauges::new()),
        }
    }

    /// The latency histogram of one API version (registered on first use, labelled with
    /// `name`: Kafka's name of the API), or `None` for a key or version out of range.
    pub fn request(&self, api: i16, version: i16, name: &'static str) -> Option<&Histogram> {
        let (k, v) = (usize::try_from(api).ok()?, usize::try_from(version).ok()?);
        if k >= MAX_API_KEY || v >= MAX_API_VERSION {
            return None;
        }
        let cell = self.requests.get(k * MAX_API_VERSION + v)?;
        Some(cell.get_or_init(|| {
            self.recorder.register_histogram(
                &key(
                    "rill_request_duration_seconds",
                    vec![
                        Label::new("api", name),
                        Label::new("version", version.to_string()),
                    ],
                ),
                &META,
            )
        }))
    }

    /// Counts one error code (not NONE) in a response of API `api` (Kafka's name `name`).
    pub fn request_error(&self, api: i16, name: &'static str, code: i16) {
        if code == 0 {
            return;
        }
        let mut errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        errors
            .entry((api, code))
            .or_insert_with(|| {
                self.recorder.register_counter(
                    &key(
                        "rill_request_errors_total",
                        vec![
                            Label::new("api", name),
                            Label::new("error", error_name(code)),
                        ],
                    ),
                    &META,
                )
            })
            .increment(1);
    }

    /// A topic's traffic counters (registered once per topic; the topic keeps them).
    pub fn topic(&self, topic: &str) -> TopicCounters {
        let c = |name: &'static str| {
            self.recorder.register_counter(
                &key(name, vec![Label::new("topic", topic.to_string())]),
                &META,
            )
        };
        TopicCounters {
            bytes_in: c("rill_topic_bytes_in_total"),
            records_in: c("rill_topic_records_in_total"),
            bytes_out: c("rill_topic_bytes_out_total"),
            records_out: c("rill_topic_records_out_total"),
            fetched: Fetched::default(),
        }
    }

    /// The connection metrics of listener `index` (`None` for an unknown index).
    pub fn listener(&self, index: usize) -> Option<&ListenerCounters> {
        self.listeners.get(index)
    }

    /// The counters and histograms in the Prometheus text format.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Folds recorded histogram samples into their buckets, so memory stays bounded
    /// when nobody scrapes. Run every few seconds.
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }
}

/// Kafka's name for an error code (`UNKNOWN_TOPIC_OR_PARTITION`), from kafka-protocol's
/// error table; an unknown code as `UNKNOWN_CODE_<n>`.
pub(crate) fn error_name(code: i16) -> String {
    match kafka_protocol::ResponseError::try_from_code(code) {
        None => "NONE".into(),
        Some(kafka_protocol::ResponseError::Unknown(c)) => format!("UNKNOWN_CODE_{c}"),
        Some(e) => crate::handlers::errors::error_name(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_are_kafkas() {
        assert_eq!(error_name(3), "UNKNOWN_TOPIC_OR_PARTITION");
        assert_eq!(error_name(1), "OFFSET_OUT_OF_RANGE");
        assert_eq!(error_name(25), "UNKNOWN_MEMBER_ID");
    }

    #[test]
    fn records_requests_errors_and_topics_per_broker() {
        let a = Metrics::new(&["PLAINTEXT".into()]);
        let b = Metrics::new(&["PLAINTEXT".into()]);
        a.request(0, 9, "Produce").expect("slot").record(0.002);
        assert!(a.request(0, 99, "Produce").is_none());
        assert!(a.request(-1, 4, "x").is_none());
        a.request_error(0, "Produce", 3);
        a.request_error(0, "Produce", 3);
        a.request_error(0, "Produce", 0);
        a.topic("t").bytes_in.increment(10);
        a.listener(0).expect("listener").accepted.increment(1);
        let text = a.render();
        assert!(
            text.contains(r#"rill_request_duration_seconds_count{api="Produce",version="9"} 1"#),
            "{text}"
        );
        assert!(text.contains(
            r#"rill_request_errors_total{api="Produce",error="UNKNOWN_TOPIC_OR_PARTITION"} 2"#
        ));
        assert!(text.contains(r#"rill_topic_bytes_in_total{topic="t"} 10"#));
        assert!(text.contains(r#"rill_connections_accepted_total{listener="PLAINTEXT"} 1"#));
        assert!(text.contains("# TYPE rill_request_duration_seconds histogram"));
        // The other broker saw none of it.
        assert!(!b.render().contains("Produce"));
    }
}
