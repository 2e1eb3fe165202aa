use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::*;
use kafka_protocol::records::Compression;

use crate::common::{batch, Client, Rill};
use crate::ops::{create_topic, name, produce};

fn list(c: &mut Client, v: i16, topic: &str, ts: i64) -> (i16, i64, i64) {
    let req = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(name(topic))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_timestamp(ts)])]);
    let resp = c.send(v, &req);
    let p = &resp.topics[0].partitions[0];
    (p.error_code, p.offset, p.timestamp)
}

#[test]
fn list_offsets_earliest_latest_timestamp_and_max() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    let id = create_topic(&mut c, "lo", 1, &[("segment.bytes", "2048")]);
    // Ten batches of five records, timestamps 10_000.. in steps of 10 per record,
    // spread over several segments; one compressed batch with the largest timestamp.
    for b in 0..10i64 {
        let codec = if b == 9 {
            Compression::Zstd
        } else {
            Compression::None
        };
        let records = batch(5, 0, codec);
        // Re-stamp through a fresh batch whose timestamps step by 1 from 10_000 + 50*b.
        let records = if b == 9 {
            records
        } else {
            batch(5, 10_000 + 50 * b, Compression::None)
        };
        let p = produce(&mut c, 9, "lo", id, 0, records);
        assert_eq!(p.error_code, 0);
    }
    // The zstd batch (offsets 45..49) carries timestamps 0..4: max stays in batch 8.
    for v in [1i16, 4, 7, 9, 10] {
        assert_eq!(list(&mut c, v, "lo", -2), (0, 0, -1), "earliest v{v}");
        assert_eq!(list(&mut c, v, "lo", -1), (0, 50, -1), "latest v{v}");
        assert_eq!(list(&mut c, v, "lo", 10_000), (0, 0, 10_000), "ts v{v}");
        assert_eq!(list(&mut c, v, "lo", 10_103), (0, 13, 10_103), "ts v{v}");
        assert_eq!(list(&mut c, v, "lo", 10_104), (0, 14, 10_104), "ts v{v}");
        assert_eq!(list(&mut c, v, "lo", 10_105), (0, 15, 10_150), "gap v{v}");
        assert_eq!(list(&mut c, v, "lo", 99_999), (0, -1, -1), "past end v{v}");
    }
    // Max timestamp (-3, v7+): record 44 has 10_000 + 400 + 4.
    assert_eq!(list(&mut c, 7, "lo", -3), (0, 44, 10_404));
    // -3 needs v7.
    assert_eq!(list(&mut c, 6, "lo", -3).0, 35);
    // Unknown topic.
    assert_eq!(list(&mut c, 7, "none", -1).0, 3);
}

#[test]
fn list_offsets_on_empty_partition() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    create_topic(&mut c, "empty", 1, &[]);
    assert_eq!(list(&mut c, 9, "empty", -1), (0, 0, -1));
    assert_eq!(list(&mut c, 9, "empty", -2), (0, 0, -1));
    assert_eq!(list(&mut c, 9, "empty", 5), (0, -1, -1));
    assert_eq!(list(&mut c, 9, "empty", -3), (0, -1, -1));
}

#[test]
fn list_offsets_finds_the_exact_record_inside_compressed_batches() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    let id = create_topic(&mut c, "lz", 1, &[]);
    for (k, codec) in crate::common::CODECS.iter().enumerate() {
        let p = produce(
            &mut c,
            9,
            "lz",
            id,
            0,
            batch(5, 1_000 * (k as i64 + 1), *codec),
        );
        assert_eq!(p.error_code, 0);
    }
    for k in 0..5i64 {
        let ts = 1_000 * (k + 1) + 3;
        assert_eq!(list(&mut c, 9, "lz", ts), (0, 5 * k + 3, ts), "codec #{k}");
    }
    // The max timestamp is the last record of the last (zstd) batch.
    assert_eq!(list(&mut c, 9, "lz", -3), (0, 24, 5_004));
}
