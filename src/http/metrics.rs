//! `/metrics`: the broker's counters and histograms (recorded as they happen, see
//! `crate::metrics`) followed by the gauges of current state, computed at scrape time
//! from in-memory state: per-partition log start, end and size; per-group members,
//! state and per-partition lag. Both parts are rendered by metrics-exporter-prometheus
//! (the gauges through a recorder made for the scrape, so a deleted topic or group
//! leaves no stale series); their metric names are disjoint.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use metrics::{Key, Label, Level, Metadata, Recorder, SharedString};

use super::HttpState;
use crate::broker::Broker;

/// The exposition format's content type.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

static META: Metadata<'static> = Metadata::new("rill", Level::INFO, Some(module_path!()));

/// The groups' scrape-time gauges and their help texts.
const GAUGES: &[(&str, &str)] = &[
    (
        "rill_group_members",
        "Members of the consumer group now (classic or KIP-848).",
    ),
    (
        "rill_group_state",
        "1 for the consumer group's current state (label state: Empty, PreparingRebalance, CompletingRebalance, Stable, Assigning, Reconciling, ...).",
    ),
    (
        "rill_group_lag",
        "Log end offset minus the group's committed offset, per partition (0 if the commit is ahead).",
    ),
];

/// `GET /metrics`
pub(crate) async fn metrics(State(state): State<Arc<HttpState>>) -> Response {
    let Some(broker) = state.broker().cloned() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "starting\n").into_response();
    };
    // Reads partitions' offsets and the metadata store's committed offsets: off the
    // async threads.
    match tokio::task::spawn_blocking(move || render(&broker)).await {
        Ok(body) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "rendering /metrics failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "rendering failed\n").into_response()
        }
    }
}

/// The whole exposition: recorded metrics, then the scrape-time gauges.
pub(crate) fn render(broker: &Broker) -> String {
    let mut out = broker.metrics.render();
    out.push_str(&partition_gauges(broker));
    out.push_str(&group_gauges(broker));
    out
}

/// Rendering the partition gauges may take at most this share of the time between
/// renderings (1%: a 70 ms rendering of 10k partitions is redone at most every 7 s)...
const PARTITION_RENDER_BUDGET: u32 = 100;
/// ...once a rendering takes longer than this; below it, every scrape renders afresh.
const PARTITION_RENDER_FREE: Duration = Duration::from_millis(1);

/// Sets every partition's gauges (one partition lock each, no disk access) and renders
/// them. The gauges are registered once and kept; when a topic or partition is gone, the
/// set is started again so it leaves no stale series. With many partitions (rendering
/// over [`PARTITION_RENDER_FREE`]), scrapes in quick succession get the last rendering
/// while it is younger than [`PARTITION_RENDER_BUDGET`] times its cost, unless topics or
/// partitions were added or removed: scraping every second costs the broker about 1% of
/// a core however many partitions it has, and the values are at most seconds old.
fn partition_gauges(broker: &Broker) -> String {
    let topics = broker.topics();
    let mut pg = broker
        .metrics
        .partition_gauges
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let counts: HashMap<&str, usize> = topics
        .iter()
        .map(|t| (t.name.as_str(), t.partition_count().max(0) as usize))
        .collect();
    let stale = pg
        .topics
        .iter()
        .any(|(name, gauges)| counts.get(name.as_str()).is_none_or(|n| *n < gauges.len()));
    if stale {
        *pg = crate::metrics::PartitionGauges::new();
    }
    let partitions: usize = counts.values().sum();
    if let Some(c) = &pg.cached {
        if c.partitions == partitions
            && c.cost > PARTITION_RENDER_FREE
            && c.at.elapsed() < c.cost * PARTITION_RENDER_BUDGET
        {
            return c.text.clone();
        }
    }
    let started = Instant::now();
    for t in &topics {
        let parts = t.partitions();
        let gauges = pg.topic(&t.name, parts.len());
        for (p, g) in parts.iter().zip(gauges) {
            let (start, end) = p.offsets();
            g[0].set(start as f64);
            g[1].set(end as f64);
            g[2].set(p.size_bytes() as f64);
        }
    }
    let text = pg.recorder.handle().render();
    pg.cached = Some(crate::metrics::CachedRender {
        at: Instant::now(),
        cost: started.elapsed(),
        partitions,
        text: text.clone(),
    });
    text
}

fn labels(pairs: &[(&'static str, String)]) -> Vec<Label> {
    pairs
        .iter()
        .map(|(k, v)| Label::new(*k, v.clone()))
        .collect()
}

/// The groups' gauges, through a recorder of their own (dropped after this scrape, so a
/// group or commit that is gone leaves no stale series): one coordinator lock, and one
/// read of each group's committed offsets from the metadata store.
fn group_gauges(broker: &Broker) -> String {
    let rec = crate::metrics::new_recorder();
    for (name, help) in GAUGES {
        rec.describe_gauge((*name).into(), None, SharedString::const_str(help));
    }
    let set = |name: &'static str, l: Vec<Label>, v: f64| {
        rec.register_gauge(&Key::from_parts(name, l), &META).set(v);
    };
    let live = broker
        .groups
        .with(|c, _now| (c.group_summaries(), Vec::new()));
    let mut groups: HashMap<String, (&'static str, usize)> = live
        .into_iter()
        .map(|(g, state, members)| (g, (state, members)))
        .collect();
    match broker.groups_with_offsets() {
        Ok(with_offsets) => {
            for g in with_offsets {
                groups.entry(g).or_insert(("Empty", 0));
            }
        }
        Err(e) => tracing::warn!(error = %e, "listing groups' offsets for /metrics failed"),
    }
    let mut topics = HashMap::new();
    for (group, (state, members)) in &groups {
        set(
            "rill_group_members",
            labels(&[("group", group.clone())]),
            *members as f64,
        );
        set(
            "rill_group_state",
            labels(&[("group", group.clone()), ("state", (*state).to_string())]),
            1.0,
        );
        let committed = match broker.committed_for_lag(group) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(%group, error = %e, "reading committed offsets for /metrics failed");
                continue;
            }
        };
        for (topic, partition, offset) in committed {
            let log = topics
                .entry(topic.clone())
                .or_insert_with(|| broker.topic(&topic))
                .as_ref()
                .and_then(|t| t.partition(partition));
            let Some(log) = log else {
                continue; // a deleted topic or partition
            };
            let (_, end) = log.offsets();
            set(
                "rill_group_lag",
                labels(&[
                    ("group", group.clone()),
                    ("topic", topic.clone()),
                    ("partition", partition.to_string()),
                ]),
                (end - offset).max(0) as f64,
            );
        }
    }
    rec.handle().render()
}
