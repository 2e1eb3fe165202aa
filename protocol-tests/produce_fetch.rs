use std::time::{Duration, Instant};

use kafka_protocol::records::Compression;
use uuid::Uuid;

use crate::common::{batch, decode_records, Need, Rill, CODECS};
use crate::ops::{create_topic, fetch, fetch_req, produce, produce_req, uniq};

#[test]
fn produce_and_fetch_every_codec_and_version() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    let id = create_topic(&mut c, "rt", 2, &[]);
    let mut expected_offset = 0i64;
    let produce_versions = [3i16, 5, 7, 8, 9, 11, 12, 13];
    for (i, codec) in CODECS.iter().enumerate() {
        let v = produce_versions[i % produce_versions.len()];
        let p = produce(
            &mut c,
            v,
            "rt",
            id,
            1,
            batch(10, 1_000 + i as i64 * 100, *codec),
        );
        assert_eq!(
            p.error_code, 0,
            "produce v{v} {codec:?}: {:?}",
            p.error_message
        );
        assert_eq!(p.base_offset, expected_offset);
        expected_offset += 10;
    }
    for v in [3i16, 13] {
        let p = produce(&mut c, v, "rt", id, 1, batch(1, 5, Compression::None));
        assert_eq!((p.error_code, p.base_offset), (0, expected_offset), "v{v}");
        expected_offset += 1;
    }
    for v in [4i16, 7, 11, 12, 13, 15, 16, 17, 18] {
        let mut offset = 0;
        let mut records = Vec::new();
        while offset < expected_offset {
            let pd = fetch(&mut c, v, "rt", id, 1, offset);
            assert_eq!(pd.error_code, 0, "fetch v{v}");
            assert_eq!(pd.high_watermark, expected_offset);
            let got = decode_records(pd.records.expect("records present"));
            assert!(!got.is_empty());
            offset = got.last().unwrap().offset + 1;
            records.extend(got);
        }
        assert_eq!(records.len() as i64, expected_offset, "v{v}");
        for (n, r) in records.iter().enumerate().take(50) {
            let i = (n % 10) as i64;
            assert_eq!(r.offset, n as i64);
            assert_eq!(r.key.as_deref(), Some(format!("key-{i}").as_bytes()));
            assert_eq!(r.value.as_deref(), Some(format!("value-{i}").as_bytes()));
            assert_eq!(r.timestamp, 1_000 + (n / 10) as i64 * 100 + i);
            assert_eq!(r.headers.len(), 1);
        }
    }
    // The other partition is empty: records present but empty, never null.
    let empty = fetch(&mut c, 12, "rt", id, 0, 0);
    assert_eq!(empty.records.as_ref().map(|r| r.len()), Some(0));
    assert_eq!(empty.high_watermark, 0);
}

#[test]
fn fetch_from_the_middle_of_a_batch_returns_the_whole_batch() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    let id = create_topic(&mut c, "mid", 1, &[]);
    produce(&mut c, 9, "mid", id, 0, batch(10, 0, Compression::Lz4));
    let pd = fetch(&mut c, 12, "mid", id, 0, 7);
    let recs = decode_records(pd.records.unwrap());
    assert_eq!(recs.first().unwrap().offset, 0);
    assert_eq!(recs.len(), 10);
}

#[test]
fn fetch_errors_out_of_range_and_unknown() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    let id = create_topic(&mut c, "err", 1, &[]);
    produce(&mut c, 9, "err", id, 0, batch(3, 0, Compression::None));
    let r = c.send(12, &fetch_req("err", id, 12, 0, 99, 0, 0));
    assert_eq!(r.responses[0].partitions[0].error_code, 1);
    let r = c.send(12, &fetch_req("nope", id, 12, 0, 0, 0, 0));
    assert_eq!(r.responses[0].partitions[0].error_code, 3);
    let r = c.send(13, &fetch_req("", Uuid::new_v4(), 13, 0, 0, 0, 0));
    assert_eq!(r.responses[0].partitions[0].error_code, 100);
    let r = c.send(12, &fetch_req("err", id, 12, 5, 0, 0, 0));
    assert_eq!(r.responses[0].partitions[0].error_code, 3);
}

#[test]
fn long_poll_waits_and_wakes_on_new_data() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    let id = create_topic(&mut c, "lp", 1, &[]);
    // No data: the fetch is held for max_wait_ms and returns empty.
    let t = Instant::now();
    let r = c.send(12, &fetch_req("lp", id, 12, 0, 0, 300, 1));
    assert!(
        t.elapsed() >= Duration::from_millis(290),
        "returned early: {:?}",
        t.elapsed()
    );
    assert_eq!(
        r.responses[0].partitions[0]
            .records
            .as_ref()
            .map(|b| b.len()),
        Some(0)
    );
    // Data arriving during the wait ends it early.
    let addr = rill.addr.clone();
    let lp = uniq("lp");
    let producer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        let mut p = crate::common::Client::connect(&addr);
        produce(&mut p, 9, &lp, id, 0, batch(2, 0, Compression::None))
    });
    let t = Instant::now();
    let r = c.send(12, &fetch_req("lp", id, 12, 0, 0, 20_000, 1));
    assert!(
        t.elapsed() < Duration::from_secs(15),
        "not woken: {:?}",
        t.elapsed()
    );
    assert_eq!(producer.join().unwrap().error_code, 0);
    let recs = decode_records(r.responses[0].partitions[0].records.clone().unwrap());
    assert_eq!(recs.len(), 2);
}

#[test]
fn acks_zero_gets_no_response_and_data_is_stored() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    let id = create_topic(&mut c, "a0", 1, &[]);
    for _ in 0..3 {
        c.write_request(
            9,
            &produce_req("a0", Uuid::nil(), 0, batch(1, 0, Compression::None), 0),
        );
    }
    // The next response on the connection belongs to the next request.
    let pd = fetch(&mut c, 12, "a0", id, 0, 0);
    assert_eq!(pd.high_watermark, 3);
}

#[test]
fn produce_validation_errors() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    let id = create_topic(&mut c, "val", 1, &[("max.message.bytes", "2000")]);
    // Bad CRC → CORRUPT_MESSAGE.
    let mut bad = batch(2, 0, Compression::None).to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 0x55;
    let p = produce(&mut c, 9, "val", id, 0, bad.into());
    assert_eq!(p.error_code, 2);
    // Too large for max.message.bytes → MESSAGE_TOO_LARGE.
    let p = produce(&mut c, 9, "val", id, 0, batch(200, 0, Compression::None));
    assert_eq!(p.error_code, 10);
    // Two batches in one partition's records → INVALID_RECORD.
    let mut two = batch(1, 0, Compression::None).to_vec();
    two.extend_from_slice(&batch(1, 0, Compression::None));
    let p = produce(&mut c, 9, "val", id, 0, two.into());
    assert_eq!(p.error_code, 87);
    // Unknown topic / partition.
    let p = produce(&mut c, 9, "nope", id, 0, batch(1, 0, Compression::None));
    assert_eq!(p.error_code, 3);
    let p = produce(&mut c, 9, "val", id, 4, batch(1, 0, Compression::None));
    assert_eq!(p.error_code, 3);
    // Invalid acks.
    let r = c.send(
        9,
        &produce_req("val", Uuid::nil(), 0, batch(1, 0, Compression::None), 2),
    );
    assert_eq!(r.responses[0].partition_responses[0].error_code, 21);
    // Nothing of the above was stored.
    assert_eq!(fetch(&mut c, 12, "val", id, 0, 0).high_watermark, 0);
}

#[test]
fn log_append_time_topics_stamp_batches() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    let id = create_topic(
        &mut c,
        "lat",
        1,
        &[("message.timestamp.type", "LogAppendTime")],
    );
    let p = produce(&mut c, 9, "lat", id, 0, batch(3, 5, Compression::Gzip));
    assert!(p.log_append_time_ms > 1_600_000_000_000);
    let stored = fetch(&mut c, 12, "lat", id, 0, 0).records.unwrap();
    // Timestamp type bit set and max timestamp = the broker's append time; CRC still valid.
    assert_eq!(stored[22] & 0x08, 0x08);
    assert_eq!(
        i64::from_be_bytes(stored[35..43].try_into().unwrap()),
        p.log_append_time_ms
    );
    assert_eq!(decode_records(stored).len(), 3);
}

#[test]
fn fsync_always_acknowledges_after_flush() {
    needs!(Need::Flags("--fsync always"));
    let rill = Rill::start(&["--fsync", "always"]);
    let mut c = rill.client();
    let id = create_topic(&mut c, "fs", 1, &[]);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let addr = rill.addr.clone();
            std::thread::spawn(move || {
                let mut p = crate::common::Client::connect(&addr);
                (0..20)
                    .map(|_| {
                        produce(&mut p, 9, "fs", id, 0, batch(5, 0, Compression::None)).error_code
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap().iter().all(|&e| e == 0));
    }
    assert_eq!(fetch(&mut c, 12, "fs", id, 0, 0).high_watermark, 400);
}

#[test]
fn shutdown_answers_parked_fetches_at_once() {
    needs!(Need::Restart);
    let mut rill = Rill::start(&[]);
    let mut c = rill.client();
    let id = create_topic(&mut c, "park", 1, &[]);
    c.write_request(12, &fetch_req("park", id, 12, 0, 0, 60_000, 1));
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    assert_eq!(rill.stop(), Some(0));
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "shutdown waited {:?}",
        t.elapsed()
    );
}

#[test]
fn deleting_a_topic_answers_parked_fetches_with_unknown_topic() {
    use kafka_protocol::messages::DeleteTopicsRequest;
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    for v in [12i16, 16] {
        let t = uniq(&format!("gone{v}"));
        let id = create_topic(&mut c, &t, 1, &[]);
        produce(&mut c, 9, &t, id, 0, batch(4, 0, Compression::None));
        let addr = rill.addr.clone();
        let name = t.clone();
        let deleter = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            let mut d = crate::common::Client::connect(&addr);
            d.send(
                4,
                &DeleteTopicsRequest::default().with_topic_names(vec![crate::ops::name(&name)]),
            )
            .responses[0]
                .error_code
        });
        let started = Instant::now();
        let r = c.send(v, &fetch_req(&t, id, v, 0, 4, 20_000, 1));
        assert_eq!(deleter.join().unwrap(), 0);
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "not woken by the deletion"
        );
        let expected = if v >= 13 { 100 } else { 3 };
        assert_eq!(r.responses[0].partitions[0].error_code, expected, "v{v}");
    }
}
