//! `/metrics` over HTTP, parsed with a Prometheus text-format parser: traffic counters,
//! request histograms and error counts, partition gauges and consumer-group lag.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use prometheus_parse::{Scrape, Value};

use crate::common::{batch, Need, Rill};
use crate::ops::{create_topic, fetch, name, produce};

/// GET `path` over HTTP/1.1 on `addr`: (status line, body).
fn http_get(addr: &str, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).expect("connect to the HTTP listener");
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("write request");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head.lines().next().unwrap_or_default().to_string();
    // axum answers a small body with Content-Length; decode chunks if it did not.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).expect("chunk size");
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            rest = &tail[n + 2..];
        }
        out
    } else {
        body.to_string()
    };
    (status, body)
}

fn scrape(addr: &str) -> Scrape {
    let (status, body) = http_get(addr, "/metrics");
    assert!(status.contains("200"), "{status}\n{body}");
    Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).expect("valid exposition")
}

/// The value of the one sample of `metric` whose labels include `labels`.
fn value(s: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let matching: Vec<_> = s
        .samples
        .iter()
        .filter(|x| x.metric == metric)
        .filter(|x| labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .collect();
    assert!(matching.len() <= 1, "several {metric} {labels:?}");
    matching.first().map(|x| match &x.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
        Value::Histogram(b) => b.iter().map(|c| c.count).fold(0.0, f64::max),
        Value::Summary(_) => f64::NAN,
    })
}

/// A sum over every sample of `metric` whose labels include `labels`.
fn total(s: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    s.samples
        .iter()
        .filter(|x| x.metric == metric)
        .filter(|x| labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match &x.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            _ => 0.0,
        })
        .sum()
}

fn commit(c: &mut crate::common::Client, group: &str, topic: &str, partition: i32, offset: i64) {
    // A commit outside any generation (what admin tools do for an empty group).
    let req = OffsetCommitRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(name(topic))
            .with_partitions(vec![OffsetCommitRequestPartition::default()
                .with_partition_index(partition)
                .with_committed_offset(offset)])]);
    let resp = c.send(8, &req);
    assert_eq!(resp.topics[0].partitions[0].error_code, 0);
}

#[test]
fn metrics_show_traffic_requests_errors_partitions_and_group_lag() {
    needs!(
        Need::Flags("--http-listen 127.0.0.1:0 --fsync always"),
        Need::Fresh("compares broker-wide request totals before and after")
    );
    let rill = Rill::start(&["--http-listen", "127.0.0.1:0", "--fsync", "always"]);
    let http = rill.http().to_string();
    let mut c = rill.client();
    let id = create_topic(&mut c, "metered", 2, &[]);
    let before = scrape(&http);
    let produces_before = total(
        &before,
        "rill_request_duration_seconds_count",
        &[("api", "Produce")],
    );

    let b0 = batch(10, 1_000, Compression::None);
    let b1 = batch(5, 1_000, Compression::None);
    let bytes_in = (b0.len() + b1.len()) as f64;
    assert_eq!(produce(&mut c, 9, "metered", id, 0, b0).error_code, 0);
    assert_eq!(produce(&mut c, 9, "metered", id, 1, b1).error_code, 0);
    // A partition that does not exist: UNKNOWN_TOPIC_OR_PARTITION in the response.
    let bad = produce(
        &mut c,
        9,
        "metered",
        id,
        7,
        batch(1, 1_000, Compression::None),
    );
    assert_eq!(bad.error_code, 3);
    let fetched = fetch(&mut c, 12, "metered", id, 0, 0);
    let bytes_out = fetched.records.as_ref().map_or(0, |r| r.len()) as f64;
    assert!(bytes_out > 0.0);
    commit(&mut c, "lagging", "metered", 0, 4);
    commit(&mut c, "lagging", "metered", 1, 5);

    let s = scrape(&http);
    let topic = [("topic", "metered")];
    assert_eq!(value(&s, "rill_topic_records_in_total", &topic), Some(15.0));
    assert_eq!(
        value(&s, "rill_topic_bytes_in_total", &topic),
        Some(bytes_in)
    );
    assert_eq!(
        value(&s, "rill_topic_bytes_out_total", &topic),
        Some(bytes_out)
    );
    assert_eq!(
        value(&s, "rill_topic_records_out_total", &topic),
        Some(10.0)
    );

    let p0 = [("topic", "metered"), ("partition", "0")];
    let p1 = [("topic", "metered"), ("partition", "1")];
    assert_eq!(value(&s, "rill_partition_log_end_offset", &p0), Some(10.0));
    assert_eq!(value(&s, "rill_partition_log_end_offset", &p1), Some(5.0));
    assert_eq!(value(&s, "rill_partition_log_start_offset", &p0), Some(0.0));
    assert!(value(&s, "rill_partition_size_bytes", &p0).is_some_and(|b| b > 0.0));

    // Lag = end offset − committed offset, per partition.
    let g0 = [
        ("group", "lagging"),
        ("topic", "metered"),
        ("partition", "0"),
    ];
    let g1 = [
        ("group", "lagging"),
        ("topic", "metered"),
        ("partition", "1"),
    ];
    assert_eq!(value(&s, "rill_group_lag", &g0), Some(10.0 - 4.0));
    assert_eq!(value(&s, "rill_group_lag", &g1), Some(0.0));
    assert_eq!(
        value(&s, "rill_group_members", &[("group", "lagging")]),
        Some(0.0)
    );

    // Requests moved: three Produce v9 requests, one Fetch v12, two OffsetCommit v8.
    let produces = total(
        &s,
        "rill_request_duration_seconds_count",
        &[("api", "Produce"), ("version", "9")],
    );
    assert_eq!(produces - produces_before, 3.0);
    assert_eq!(
        value(
            &s,
            "rill_request_duration_seconds_count",
            &[("api", "Fetch"), ("version", "12")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &s,
            "rill_request_duration_seconds_count",
            &[("api", "OffsetCommit"), ("version", "8")]
        ),
        Some(2.0)
    );
    assert!(s
        .samples
        .iter()
        .any(|x| x.metric == "rill_request_duration_seconds"
            && matches!(x.value, Value::Histogram(_))));
    assert_eq!(
        value(
            &s,
            "rill_request_errors_total",
            &[("api", "Produce"), ("error", "UNKNOWN_TOPIC_OR_PARTITION")]
        ),
        Some(1.0)
    );

    // Each acknowledged produce waited for a group-commit round; the cleaner ran a pass.
    assert!(value(&s, "rill_fsync_duration_seconds_count", &[]).is_some_and(|n| n >= 2.0));
    assert!(value(&s, "rill_cleaner_passes_total", &[]).is_some_and(|n| n >= 1.0));

    // This connection is open on the PLAINTEXT listener.
    assert!(
        value(&s, "rill_connections_open", &[("listener", "PLAINTEXT")]).is_some_and(|n| n >= 1.0)
    );
    assert!(value(
        &s,
        "rill_connections_accepted_total",
        &[("listener", "PLAINTEXT")]
    )
    .is_some_and(|n| n >= 1.0));
    // Every metric the Grafana dashboard and README's table name is in the scrape.
    let root = env!("CARGO_MANIFEST_DIR");
    for doc in ["docs/grafana/rill-dashboard.json", "README.md"] {
        let text = std::fs::read_to_string(format!("{root}/{doc}")).expect(doc);
        let names = metric_names(&text);
        assert!(names.len() > 10, "{doc} names {names:?}");
        for n in names {
            let base = n.strip_suffix("_bucket").unwrap_or(&n);
            assert!(
                s.samples.iter().any(|x| x.metric == base),
                "{doc} names {n}, which /metrics does not have"
            );
        }
    }

    // A deleted topic leaves no partition gauges behind (the others stay).
    let r = c.send(
        4,
        &DeleteTopicsRequest::default()
            .with_topic_names(vec![name("metered")])
            .with_timeout_ms(5000),
    );
    assert_eq!(r.responses[0].error_code, 0);
    create_topic(&mut c, "other", 1, &[]);
    let s = scrape(&http);
    assert_eq!(value(&s, "rill_partition_log_end_offset", &p0), None);
    assert_eq!(value(&s, "rill_group_lag", &g0), None);
    assert_eq!(
        value(
            &s,
            "rill_partition_log_end_offset",
            &[("topic", "other"), ("partition", "0")]
        ),
        Some(0.0)
    );
    drop(c);
}

/// The `rill_…` metric names a text mentions.
fn metric_names(text: &str) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("rill_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .unwrap_or(tail.len());
        let name = tail[..end].trim_end_matches('_');
        // Not a metric: the crate's own paths (rill_broker.py and the like).
        if name.len() > "rill_".len() && !name.starts_with("rill_broker") {
            out.insert(name.to_string());
        }
        rest = &tail[end..];
    }
    out
}
