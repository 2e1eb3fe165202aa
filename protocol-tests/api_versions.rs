use bytes::Buf;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, StrBytes};

use crate::common::Rill;

fn keys(resp: &ApiVersionsResponse) -> Vec<(i16, i16, i16)> {
    resp.api_keys
        .iter()
        .map(|k| (k.api_key, k.min_version, k.max_version))
        .collect()
}

#[test]
fn api_versions_v0_v3_v4_list_the_same_table() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    let v0 = c.send(0, &ApiVersionsRequest::default());
    assert_eq!(v0.error_code, 0);
    let req3 = ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("protocol-tests"))
        .with_client_software_version(StrBytes::from_static_str("1.0"));
    let v3 = c.send(3, &req3);
    let v4 = c.send(4, &req3);
    assert_eq!(keys(&v0), keys(&v3));
    assert_eq!(keys(&v3), keys(&v4));
    let k = keys(&v3);
    // Produce is advertised from v0 (librdkafka needs it for compression).
    assert!(k.contains(&(0, 0, 13)), "{k:?}");
    assert!(k.contains(&(1, 4, 18)), "{k:?}");
    assert!(k.contains(&(3, 0, 13)), "{k:?}");
    assert!(k.contains(&(18, 0, 4)), "{k:?}");
    // The classic group coordinator is there…
    assert!(k.contains(&(11, 0, 9)), "{k:?}");
    // …and KIP-848's ConsumerGroupHeartbeat and ConsumerGroupDescribe…
    assert!(k.contains(&(68, 0, 1)), "{k:?}");
    assert!(k.contains(&(69, 0, 1)), "{k:?}");
    // …idempotent producers (InitProducerId, DescribeProducers)…
    assert!(k.contains(&(22, 0, 5)), "{k:?}");
    assert!(k.contains(&(61, 0, 0)), "{k:?}");
    // …transactions, classic and V2 (AddPartitionsToTxn v4+ is broker-to-broker)…
    for want in [
        (24, 0, 3),
        (25, 0, 4),
        (26, 0, 5),
        (27, 1, 1),
        (28, 0, 5),
        (65, 0, 0),
        (66, 0, 2),
    ] {
        assert!(k.contains(&want), "{want:?} in {k:?}");
    }
}

#[test]
fn too_new_api_versions_gets_v0_reply_with_unsupported_version() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    // ApiVersions v99 with a v2 (flexible) header: key, version, correlation, client id, tags.
    let mut body = Vec::new();
    body.extend_from_slice(&18i16.to_be_bytes());
    body.extend_from_slice(&99i16.to_be_bytes());
    body.extend_from_slice(&4242i32.to_be_bytes());
    body.extend_from_slice(&(-1i16).to_be_bytes());
    body.push(0);
    body.extend_from_slice(&[0x01, 0x00]); // junk body of a version we cannot know
    c.write_frame(&body);
    let mut frame = c.read_frame().expect("a reply, not a closed connection");
    // Response header v0: correlation id only.
    assert_eq!(frame.get_i32(), 4242);
    let resp = ApiVersionsResponse::decode(&mut frame, 0).expect("v0 body");
    assert_eq!(resp.error_code, 35);
    assert!(resp
        .api_keys
        .iter()
        .any(|k| k.api_key == 18 && k.max_version == 4));
    // The connection stays usable.
    let ok = c.send(3, &ApiVersionsRequest::default());
    assert_eq!(ok.error_code, 0);
}
