//! Idempotent producers on the raw wire: InitProducerId, sequence checks, duplicates,
//! epochs, DescribeProducers, and producer state across restarts.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::describe_producers_request::TopicRequest;
use kafka_protocol::messages::describe_producers_response::ProducerState;
use kafka_protocol::messages::*;
use kafka_protocol::records::Compression;
use uuid::Uuid;

use crate::common::{encode, record, Client, Need, Rill};
use crate::ops::{create_topic, fetch, name, produce};

/// One v2 batch of `n` records from producer `pid`/`epoch` starting at `base_seq`.
fn idem_batch(n: i64, pid: i64, epoch: i16, base_seq: i32, transactional: bool) -> Bytes {
    let records: Vec<_> = (0..n)
        .map(|i| {
            let mut r = record(i, 1_000 + i);
            r.producer_id = pid;
            r.producer_epoch = epoch;
            r.sequence = base_seq.wrapping_add(i as i32);
            r.transactional = transactional;
            r
        })
        .collect();
    encode(&records, Compression::Lz4)
}

fn init_producer_id(c: &mut Client, version: i16) -> (i16, i64, i16) {
    let req = InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let r = c.send(version, &req);
    (r.error_code, r.producer_id.0, r.producer_epoch)
}

fn hw(c: &mut Client, topic: &str, id: Uuid) -> i64 {
    fetch(c, 12, topic, id, 0, 0).high_watermark
}

/// Produces and returns (error code, base offset).
fn send(c: &mut Client, topic: &str, id: Uuid, b: Bytes) -> (i16, i64) {
    let r = produce(c, 9, topic, id, 0, b);
    (r.error_code, r.base_offset)
}

fn describe(c: &mut Client, topic: &str) -> Vec<ProducerState> {
    let req = DescribeProducersRequest::default().with_topics(vec![TopicRequest::default()
        .with_name(name(topic))
        .with_partition_indexes(vec![0])]);
    let resp = c.send(0, &req);
    let p = &resp.topics[0].partitions[0];
    assert_eq!(p.error_code, 0);
    p.active_producers.clone()
}

#[test]
fn init_producer_id_every_version_gives_fresh_ids() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    let mut ids = Vec::new();
    for v in 0..=5 {
        let (err, pid, epoch) = init_producer_id(&mut c, v);
        assert_eq!((err, epoch), (0, 0), "v{v}");
        assert!(pid >= 0);
        ids.push(pid);
    }
    // Re-initialising with an existing id (KIP-360 fields, v3+) still gives a new one,
    // as Kafka does for producers without a transactional id.
    let r = c.send(
        4,
        &InitProducerIdRequest::default()
            .with_transactional_id(None)
            .with_producer_id(ProducerId(ids[0]))
            .with_producer_epoch(0),
    );
    assert_eq!(r.error_code, 0);
    ids.push(r.producer_id.0);
    let mut uniq = ids.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), ids.len(), "{ids:?}");
    // An empty transactional id is a malformed request in Kafka.
    let r = c.send(5, &InitProducerIdRequest::default());
    assert_eq!(r.error_code, 42, "INVALID_REQUEST");
}

#[test]
fn duplicates_gaps_epochs_and_transactional_batches() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    let id = create_topic(&mut c, "idem", 1, &[]);
    let (_, pid, _) = init_producer_id(&mut c, 5);
    assert_eq!(
        send(&mut c, "idem", id, idem_batch(3, pid, 0, 0, false)),
        (0, 0)
    );
    assert_eq!(
        send(&mut c, "idem", id, idem_batch(2, pid, 0, 3, false)),
        (0, 3)
    );
    // A retried batch gets its original offset and nothing is written.
    assert_eq!(
        send(&mut c, "idem", id, idem_batch(3, pid, 0, 0, false)),
        (0, 0)
    );
    assert_eq!(
        send(&mut c, "idem", id, idem_batch(2, pid, 0, 3, false)),
        (0, 3)
    );
    assert_eq!(hw(&mut c, "idem", id), 5);
    // A gap: OUT_OF_ORDER_SEQUENCE_NUMBER, nothing written.
    assert_eq!(
        send(&mut c, "idem", id, idem_batch(1, pid, 0, 9, false)).0,
        45
    );
    // An overlapping but different range is not a duplicate either.
    assert_eq!(
        send(&mut c, "idem", id, idem_batch(2, pid, 0, 4, false)).0,
        45
    );
    // A transactional batch for a partition never added to a transaction.
    assert_eq!(
        send(&mut c, "idem", id, idem_batch(1, pid, 0, 5, true)).0,
        48
    );
    assert_eq!(hw(&mut c, "idem", id), 5);
    // Epoch bump: the new epoch must start at 0; then the old epoch is refused.
    assert_eq!(
        send(&mut c, "idem", id, idem_batch(1, pid, 1, 5, false)).0,
        45
    );
    assert_eq!(
        send(&mut c, "idem", id, idem_batch(1, pid, 1, 0, false)),
        (0, 5)
    );
    assert_eq!(
        send(&mut c, "idem", id, idem_batch(1, pid, 0, 5, false)).0,
        47,
        "INVALID_PRODUCER_EPOCH"
    );
    // Sequences wrap from i32::MAX to 0.
    let (_, p2, _) = init_producer_id(&mut c, 5);
    assert_eq!(
        send(
            &mut c,
            "idem",
            id,
            idem_batch(2, p2, 0, i32::MAX - 1, false)
        ),
        (0, 6)
    );
    assert_eq!(
        send(&mut c, "idem", id, idem_batch(1, p2, 0, 0, false)),
        (0, 8)
    );
    assert_eq!(hw(&mut c, "idem", id), 9);
    let producers = describe(&mut c, "idem");
    let mine = producers.iter().find(|p| p.producer_id.0 == pid).unwrap();
    assert_eq!((mine.producer_epoch, mine.last_sequence), (1, 0));
    assert_eq!(mine.current_txn_start_offset, -1);
    let other = producers.iter().find(|p| p.producer_id.0 == p2).unwrap();
    assert_eq!(other.last_sequence, 0);
    // Plain (non-idempotent) batches are unaffected.
    assert_eq!(
        send(
            &mut c,
            "idem",
            id,
            crate::common::batch(2, 0, Compression::None)
        ),
        (0, 9)
    );
}

/// Produces batches 0..n of 2 records each; returns the offsets they got.
fn produce_run(c: &mut Client, topic: &str, id: Uuid, pid: i64, from: i32, n: i32) -> Vec<i64> {
    (from..from + n)
        .map(|i| {
            let (err, off) = send(c, topic, id, idem_batch(2, pid, 0, i * 2, false));
            assert_eq!(err, 0, "batch {i}");
            off
        })
        .collect()
}

#[test]
fn producer_state_survives_kill_9_clean_restart_and_segment_rolls() {
    needs!(Need::Restart);
    let data = tempfile::tempdir().unwrap();
    let mut rill = Rill::start_on(data.path(), &[]);
    let mut c = rill.client();
    // Small segments: rolls write producer snapshots along the way.
    let id = create_topic(&mut c, "ps", 1, &[("segment.bytes", "2048")]);
    let (_, pid, _) = init_producer_id(&mut c, 5);
    let offsets = produce_run(&mut c, "ps", id, pid, 0, 40);
    drop(c);
    rill.kill9();
    let mut rill = Rill::start_on(data.path(), &[]);
    let mut c = rill.client();
    // The last five batches are recognised as duplicates after the crash.
    for i in 35..40 {
        assert_eq!(
            send(&mut c, "ps", id, idem_batch(2, pid, 0, i * 2, false)),
            (0, offsets[i as usize]),
            "batch {i} after kill -9"
        );
    }
    assert_eq!(
        send(&mut c, "ps", id, idem_batch(2, pid, 0, 200, false)).0,
        45
    );
    let more = produce_run(&mut c, "ps", id, pid, 40, 3);
    assert_eq!(more[0], 80);
    drop(c);
    assert_eq!(rill.stop(), Some(0));
    let snapshots = std::fs::read_dir(data.path().join("logs"))
        .unwrap()
        .flat_map(|t| std::fs::read_dir(t.unwrap().path().join("0")).unwrap())
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "snapshot")
        })
        .count();
    assert!(snapshots >= 1);
    let rill = Rill::start_on(data.path(), &[]);
    let mut c = rill.client();
    assert_eq!(
        send(&mut c, "ps", id, idem_batch(2, pid, 0, 84, false)),
        (0, more[2]),
        "duplicate after a clean restart"
    );
    assert_eq!(produce_run(&mut c, "ps", id, pid, 43, 1), vec![86]);
    assert_eq!(hw(&mut c, "ps", id), 88);
    let p = describe(&mut c, "ps");
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].last_sequence, 87);
}

#[test]
fn idle_producers_expire() {
    needs!(Need::Flags("--producer-id-expiration-ms 1000"));
    let rill = Rill::start(&["--producer-id-expiration-ms", "1000"]);
    let mut c = rill.client();
    let id = create_topic(&mut c, "exp", 1, &[]);
    let (_, pid, _) = init_producer_id(&mut c, 5);
    assert_eq!(
        send(&mut c, "exp", id, idem_batch(1, pid, 0, 0, false)).0,
        0
    );
    assert_eq!(describe(&mut c, "exp").len(), 1);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !describe(&mut c, "exp").is_empty() {
        assert!(Instant::now() < deadline, "producer never expired");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Forgotten: its next batch is accepted from any sequence, as for a new producer.
    assert_eq!(
        send(&mut c, "exp", id, idem_batch(1, pid, 0, 7, false)),
        (0, 1)
    );
}

/// Pipelined Produce requests (all in one write, so the broker handles them as a group
/// and writes each partition's batches together) are answered exactly as if sent one by
/// one: in order, with sequences checked batch by batch, a duplicate within the group,
/// refusals in the middle, acks=0 without an answer, and contiguous offsets.
#[test]
fn pipelined_produce_requests_are_answered_in_order_as_one_by_one() {
    needs!(Need::BrokerLog);
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    let topic = name("pipelined");
    let id = create_topic(&mut c, &topic, 2, &[]);
    let (err, pid, epoch) = init_producer_id(&mut c, 4);
    assert_eq!(err, 0);
    let mut corrupt = BytesMut::from(&idem_batch(2, pid, epoch, 15, false)[..]);
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff;
    let requests: Vec<(i32, Bytes, i16, &str)> = vec![
        (0, idem_batch(5, pid, epoch, 0, false), -1, "first"),
        (
            1,
            crate::common::batch(3, 1_000, Compression::None),
            1,
            "other partition",
        ),
        (
            0,
            idem_batch(5, pid, epoch, 5, false),
            1,
            "next in sequence",
        ),
        (0, idem_batch(5, pid, epoch, 5, false), 1, "duplicate"),
        (
            0,
            idem_batch(5, pid, epoch, 20, false),
            1,
            "out of sequence",
        ),
        (0, corrupt.freeze(), 1, "bad CRC"),
        (
            1,
            crate::common::batch(2, 1_000, Compression::None),
            0,
            "acks=0",
        ),
        (
            0,
            idem_batch(5, pid, epoch, 10, false),
            -1,
            "in sequence again",
        ),
        (0, idem_batch(1, pid, epoch, 15, false), 1, "unknown topic"),
    ];
    let mut wire = Vec::new();
    let mut sent = Vec::new();
    for (partition, records, acks, what) in requests {
        let t = if what == "unknown topic" {
            "no-such-topic"
        } else {
            topic.as_str()
        };
        let req = crate::ops::produce_req(t, Uuid::nil(), partition, records, acks);
        let (correlation, frame) = c.encode_request(9, &req);
        wire.extend_from_slice(&frame);
        if acks != 0 {
            sent.push((correlation, what));
        }
    }
    c.write_raw(&wire);
    let mut got = Vec::new();
    for (correlation, what) in sent {
        let resp = c.read_response::<ProduceRequest>(9, correlation);
        let p = &resp.responses[0].partition_responses[0];
        got.push((what, p.error_code, p.base_offset));
    }
    assert_eq!(
        got,
        vec![
            ("first", 0, 0),
            ("other partition", 0, 0),
            ("next in sequence", 0, 5),
            ("duplicate", 0, 5),
            ("out of sequence", 45, -1),
            ("bad CRC", 2, -1),
            ("in sequence again", 0, 10),
            ("unknown topic", 3, -1),
        ]
    );
    assert_eq!(hw(&mut c, &topic, id), 15);
    let p1 = fetch(&mut c, 12, &topic, id, 1, 0);
    assert_eq!(p1.high_watermark, 5, "the acks=0 batch was written too");
    let records =
        crate::common::decode_records(fetch(&mut c, 12, &topic, id, 0, 0).records.unwrap());
    let offsets: Vec<i64> = records.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, (0..15).collect::<Vec<_>>());
    // The requests arrived in one write, so (some of) them were handled as a group.
    assert!(
        rill.log()
            .contains("pipelined produce requests appended together"),
        "{}",
        rill.log()
    );
}
