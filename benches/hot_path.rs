//! Micro-benchmarks of the produce/fetch hot path: frame decode, batch validation
//! (header + CRC-32C), append, fetch read, offset lookup, request decode and response
//! encoding, the ACL check of a Produce, and what the metrics add to a Produce request. `cargo bench --bench hot_path`;
//! `cargo bench -- --test` runs each once as a smoke test.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{FetchResponse, ProduceRequest, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use rill::log::batch::{set_producer, simple_batch, validate_produce, BatchHeader};
use rill::log::{Isolation, LogConfig, PartitionLog};

/// ~64 KiB: 64 records of 1 KiB.
fn batch_64k() -> Vec<u8> {
    simple_batch(64, 1_700_000_000_000, 1000)
}

fn validate(c: &mut Criterion) {
    let b = batch_64k();
    let mut g = c.benchmark_group("batch");
    g.throughput(Throughput::Bytes(b.len() as u64));
    g.bench_function("validate_64k", |x| {
        x.iter(|| validate_produce(black_box(&b), 1 << 20).map(|h| h.record_count))
    });
    g.finish();
}

fn append_and_read(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = PartitionLog::open(dir.path(), LogConfig::default(), true).expect("open");
    let b = batch_64k();
    let h = validate_produce(&b, 1 << 20).expect("valid");
    let mut g = c.benchmark_group("log");
    g.throughput(Throughput::Bytes(b.len() as u64));
    g.bench_function("append_64k", |x| {
        x.iter(|| log.append(&b, &h, false).map(|a| a.base_offset))
    });
    // The same with an idempotent producer: the sequence check and producer-state update
    // are on this path (the batch gets the next sequence each time).
    let mut seq = 0i32;
    let mut idem = b.clone();
    g.bench_function("append_64k_idempotent", |x| {
        x.iter(|| {
            set_producer(&mut idem, 1, 0, seq, false);
            let hi = BatchHeader::parse(&idem).expect("header");
            seq = seq.wrapping_add(hi.record_count);
            log.append(&idem, &hi, false).map(|a| a.base_offset)
        })
    });
    // Make sure there is at least 1 MiB to read.
    for _ in 0..20 {
        log.append(&b, &h, false).expect("append");
    }
    let (_, end) = log.offsets();
    g.throughput(Throughput::Bytes(1 << 20));
    g.bench_function("read_1m", |x| {
        x.iter(|| {
            log.read(
                black_box(end / 3),
                1 << 20,
                true,
                Isolation::ReadUncommitted,
            )
            .map(|r| r.records.len())
        })
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function("locate_offset", |x| {
        x.iter(|| {
            log.read(black_box(end - 10), 1, true, Isolation::ReadUncommitted)
                .map(|r| r.records.len())
        })
    });
    g.finish();
}

fn codec(c: &mut Criterion) {
    let records = Bytes::from(batch_64k());
    let req = ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(1000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_static_str("bench")))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(records.clone()))])]);
    let mut wire = BytesMut::new();
    req.encode(&mut wire, 9).expect("encode");
    let wire = wire.freeze();
    let mut g = c.benchmark_group("codec");
    g.throughput(Throughput::Bytes(wire.len() as u64));
    g.bench_function("decode_produce_v9_64k", |x| {
        x.iter(|| {
            let mut w = wire.clone();
            ProduceRequest::decode(&mut w, 9).map(|r| r.acks)
        })
    });
    let big = Bytes::from(vec![0u8; 1 << 20]);
    let resp = FetchResponse::default().with_responses(vec![FetchableTopicResponse::default()
        .with_topic(TopicName(StrBytes::from_static_str("bench")))
        .with_partitions(vec![PartitionData::default().with_records(Some(big))])]);
    g.throughput(Throughput::Bytes(1 << 20));
    g.bench_function("encode_fetch_v12_1m", |x| {
        x.iter(|| {
            let mut out = BytesMut::with_capacity((1 << 20) + 256);
            resp.encode(&mut out, 12).map(|_| out.len())
        })
    });
    g.finish();
}

/// Frame decode: the size prefix checked and one 64 KiB produce frame read into its buffer.
fn frame(c: &mut Criterion) {
    let body = batch_64k();
    let mut wire = (body.len() as i32).to_be_bytes().to_vec();
    wire.extend_from_slice(&body);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("frame");
    g.throughput(Throughput::Bytes(wire.len() as u64));
    g.bench_function("read_frame_64k", |x| {
        x.iter(|| {
            rt.block_on(async {
                let mut r: &[u8] = black_box(&wire);
                rill::server::frame::FrameReader::new()
                    .next(&mut r, 1 << 20)
                    .await
                    .map(|f| f.map(|b| b.len()))
            })
        })
    });
    g.finish();
}

/// What `--authorizer acl` adds to a Produce: one WRITE check on the topic, with 1, 100
/// and 10 000 bindings in the set (a literal ALLOW for the user's topic among the others,
/// plus prefixed bindings and DENYs for other topics and users).
fn acl_check(c: &mut Criterion) {
    use rill::acl::{
        check, AclBinding, AclSet, Action, Operation, PatternType, Permission, Requester,
        ResourceType,
    };
    let binding = |name: String, pattern, principal: &str, permission| AclBinding {
        resource_type: ResourceType::Topic,
        resource_name: name,
        pattern_type: pattern,
        principal: principal.into(),
        host: "*".into(),
        operation: Operation::Write,
        permission,
    };
    let who = Requester {
        principal: "User:alice",
        host: std::net::IpAddr::from([127, 0, 0, 1]),
    };
    let action = Action {
        operation: Operation::Write,
        resource_type: ResourceType::Topic,
        name: "orders-eu-7",
    };
    let supers = rill::acl::Policy {
        super_users: vec!["User:admin".to_string()],
        allow_if_no_acl: false,
    };
    let mut g = c.benchmark_group("acl");
    for n in [1usize, 100, 10_000] {
        let mut bindings = vec![binding(
            "orders-eu-7".into(),
            PatternType::Literal,
            "User:alice",
            Permission::Allow,
        )];
        for i in 1..n {
            let (pattern, perm) = match i % 10 {
                0 => (PatternType::Prefixed, Permission::Allow),
                1 => (PatternType::Literal, Permission::Deny),
                _ => (PatternType::Literal, Permission::Allow),
            };
            bindings.push(binding(
                format!("topic-{i}"),
                pattern,
                &format!("User:u{i}"),
                perm,
            ));
        }
        let set = AclSet::new(bindings);
        assert!(check(&set, &supers, &who, &action).is_ok());
        g.bench_function(format!("produce_write_check_{n}_bindings"), |x| {
            x.iter(|| {
                check(
                    black_box(&set),
                    &supers,
                    black_box(&who),
                    black_box(&action),
                )
                .is_ok()
            })
        });
    }
    g.finish();
}

/// What the metrics add to one Produce request of one batch: the request's latency
/// histogram (clock read twice, slot lookup, a sample pushed), the walk of its response
/// for error codes, and the topic's two "in" counters. Histogram samples are folded in
/// every 1024 requests, as the broker's upkeep and scrapes do.
fn metrics_per_request(c: &mut Criterion) {
    use kafka_protocol::messages::produce_response::{
        PartitionProduceResponse, TopicProduceResponse,
    };
    use kafka_protocol::messages::ProduceResponse;
    use rill::handlers::error_codes::ErrorCodes;
    let m = rill::metrics::Metrics::new(&["PLAINTEXT".to_string()]);
    let topic = m.topic("bench");
    let resp = ProduceResponse::default().with_responses(vec![TopicProduceResponse::default()
        .with_partition_responses(vec![PartitionProduceResponse::default()])]);
    let mut g = c.benchmark_group("metrics");
    let mut n = 0u32;
    g.bench_function("produce_request", |x| {
        x.iter(|| {
            let started = std::time::Instant::now();
            black_box(&resp).error_codes(&mut |code| {
                if code != 0 {
                    m.request_error(0, "Produce", code);
                }
            });
            topic.bytes_in.increment(black_box(65_000));
            topic.records_in.increment(black_box(64));
            if let Some(h) = m.request(0, 9, "Produce") {
                h.record(started.elapsed().as_secs_f64());
            }
            n += 1;
            if n.is_multiple_of(1024) {
                m.upkeep();
            }
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    frame,
    validate,
    append_and_read,
    codec,
    acl_check,
    metrics_per_request
);
criterion_main!(benches);
