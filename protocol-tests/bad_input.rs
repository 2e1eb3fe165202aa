//! Hostile or broken input closes (only) the offending connection or gets Kafka's error;
//! the broker keeps serving everyone else and stores nothing bad.

use std::io::Write;
use std::net::TcpStream;

use kafka_protocol::messages::*;
use kafka_protocol::records::Compression;

use crate::common::{batch, Client, Need, Rill};
use crate::ops::{create_topic, fetch, produce};

/// A v1 request header (key, version, correlation id, null client id) followed by `body`.
fn request(key: i16, version: i16, body: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&key.to_be_bytes());
    b.extend_from_slice(&version.to_be_bytes());
    b.extend_from_slice(&7i32.to_be_bytes());
    b.extend_from_slice(&(-1i16).to_be_bytes());
    b.extend_from_slice(body);
    b
}

/// A flexible (v2) request header followed by `body`.
fn request_flex(key: i16, version: i16, body: &[u8]) -> Vec<u8> {
    let mut b = request(key, version, &[]);
    b.push(0); // no tagged fields
    b.extend_from_slice(body);
    b
}

fn assert_still_serving(rill: &mut Rill) {
    assert!(rill.is_running(), "broker died:\n{}", rill.log());
    let mut c = rill.client();
    let r = c.send(3, &ApiVersionsRequest::default());
    assert_eq!(r.error_code, 0);
    let m = c.send(12, &MetadataRequest::default().with_topics(None));
    assert_eq!(m.brokers.len(), 1);
}

fn closes(rill: &Rill, frame_body: &[u8]) {
    let mut c = rill.client();
    c.write_frame(frame_body);
    assert!(c.is_closed_by_peer(), "connection should be closed");
}

#[test]
fn absurd_array_lengths_do_not_kill_the_broker() {
    let mut rill = Rill::start(&[]);
    // Metadata v1 whose topics array claims 2^31-1 entries (the known codec hazard).
    closes(&rill, &request(3, 1, &[0x7f, 0xff, 0xff, 0xff]));
    assert_still_serving(&mut rill);
    // The same through a compact array (Metadata v9): unsigned varint 2^32-1.
    closes(&rill, &request_flex(3, 9, &[0xff, 0xff, 0xff, 0xff, 0x0f]));
    assert_still_serving(&mut rill);
    // CreateTopics v2 with a huge configs array inside a topic.
    let mut body = Vec::new();
    body.extend_from_slice(&1i32.to_be_bytes()); // one topic
    body.extend_from_slice(&1i16.to_be_bytes());
    body.push(b't');
    body.extend_from_slice(&1i32.to_be_bytes()); // partitions
    body.extend_from_slice(&1i16.to_be_bytes()); // rf
    body.extend_from_slice(&0x7fff_ffffi32.to_be_bytes()); // assignments
    closes(&rill, &request(19, 2, &body));
    assert_still_serving(&mut rill);
}

#[test]
fn record_batch_claiming_2_pow_31_records_is_refused() {
    let mut rill = Rill::start(&[]);
    let mut c = rill.client();
    let id = create_topic(&mut c, "huge", 1, &[]);
    let mut b = batch(1, 0, Compression::None).to_vec();
    b[57..61].copy_from_slice(&i32::MAX.to_be_bytes()); // record count
    b[23..27].copy_from_slice(&(i32::MAX - 1).to_be_bytes()); // last offset delta
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    let p = produce(&mut c, 9, "huge", id, 0, b.into());
    assert_eq!(p.error_code, 87);
    assert_eq!(fetch(&mut c, 12, "huge", id, 0, 0).high_watermark, 0);
    assert_still_serving(&mut rill);
}

#[test]
fn bad_frames_close_only_that_connection() {
    needs!(Need::Flags("--max-request-bytes 1048576"));
    let mut rill = Rill::start(&["--max-request-bytes", "1048576"]);
    let mut bystander = rill.client();
    // Negative size.
    let mut s = TcpStream::connect(&rill.addr).unwrap();
    s.write_all(&(-5i32).to_be_bytes()).unwrap();
    let mut c = Client {
        stream: s,
        correlation: 0,
    };
    assert!(c.is_closed_by_peer());
    // Over --max-request-bytes: refused before any allocation.
    let mut s = TcpStream::connect(&rill.addr).unwrap();
    s.write_all(&(64 * 1024 * 1024i32).to_be_bytes()).unwrap();
    let mut c = Client {
        stream: s,
        correlation: 0,
    };
    assert!(c.is_closed_by_peer());
    // Shorter than a request header.
    closes(&rill, &[0, 18, 0]);
    // Unknown API key, unsupported version, Produce v2 (removed in Kafka 4).
    closes(&rill, &request(999, 0, &[]));
    closes(&rill, &request(3, 77, &[]));
    closes(&rill, &request(0, 2, &[0, 1, 0, 0, 0, 0, 0, 0, 0, 0]));
    // An API Kafka has but Rill does not advertise (JoinGroup).
    closes(&rill, &request(11, 5, &[]));
    // Garbage body for a valid key/version.
    closes(&rill, &request(19, 5, &[0xde, 0xad]));
    // The bystander connection was never disturbed.
    let r = bystander.send(3, &ApiVersionsRequest::default());
    assert_eq!(r.error_code, 0);
    assert_still_serving(&mut rill);
}
