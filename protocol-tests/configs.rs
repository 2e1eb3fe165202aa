//! DescribeConfigs, AlterConfigs, IncrementalAlterConfigs, DeleteRecords and
//! DescribeLogDirs on the wire, per version.

use kafka_protocol::messages::alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResult;
use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
use kafka_protocol::messages::incremental_alter_configs_request as inc;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use crate::common::{batch, encode, external, Client, Need, Rill};
use crate::ops::{create_topic, fetch_req, name, produce, uniq};

const TOPIC: i8 = 2;
const BROKER: i8 = 4;
const GROUP: i8 = 32;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// A resource name: topics and groups are the test's own (`uniq`), brokers as written.
fn resource(ty: i8, res: &str) -> StrBytes {
    if ty == BROKER {
        s(res)
    } else {
        s(&uniq(res))
    }
}

fn describe(
    c: &mut Client,
    version: i16,
    ty: i8,
    res: &str,
    keys: Option<&[&str]>,
    synonyms: bool,
) -> DescribeConfigsResult {
    let r = c.send(
        version,
        &DescribeConfigsRequest::default()
            .with_include_synonyms(synonyms)
            .with_include_documentation(version >= 3)
            .with_resources(vec![DescribeConfigsResource::default()
                .with_resource_type(ty)
                .with_resource_name(resource(ty, res))
                .with_configuration_keys(
                    keys.map(|ks| ks.iter().map(|k| s(k)).collect()),
                )]),
    );
    r.results.into_iter().next().expect("one result")
}

/// (value, source) of one config in a DescribeConfigs result.
fn value(r: &DescribeConfigsResult, key: &str) -> (Option<String>, i8) {
    let e = r
        .configs
        .iter()
        .find(|e| e.name.as_str() == key)
        .unwrap_or_else(|| panic!("{key} missing"));
    (e.value.as_ref().map(|v| v.to_string()), e.config_source)
}

fn alter(
    c: &mut Client,
    version: i16,
    ty: i8,
    res: &str,
    kv: &[(&str, &str)],
    validate: bool,
) -> i16 {
    let r = c.send(
        version,
        &AlterConfigsRequest::default()
            .with_validate_only(validate)
            .with_resources(vec![AlterConfigsResource::default()
                .with_resource_type(ty)
                .with_resource_name(resource(ty, res))
                .with_configs(
                    kv.iter()
                        .map(|(k, v)| {
                            AlterableConfig::default()
                                .with_name(s(k))
                                .with_value(Some(s(v)))
                        })
                        .collect(),
                )]),
    );
    r.responses[0].error_code
}

fn incremental(
    c: &mut Client,
    version: i16,
    ty: i8,
    res: &str,
    ops: &[(&str, i8, &str)],
) -> (i16, Option<String>) {
    let r = c.send(
        version,
        &IncrementalAlterConfigsRequest::default().with_resources(vec![
            inc::AlterConfigsResource::default()
                .with_resource_type(ty)
                .with_resource_name(resource(ty, res))
                .with_configs(
                    ops.iter()
                        .map(|(k, op, v)| {
                            inc::AlterableConfig::default()
                                .with_name(s(k))
                                .with_config_operation(*op)
                                .with_value(Some(s(v)))
                        })
                        .collect(),
                ),
        ]),
    );
    let x = &r.responses[0];
    (
        x.error_code,
        x.error_message.as_ref().map(|m| m.to_string()),
    )
}

#[test]
fn describe_configs_every_version() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    create_topic(&mut c, "dc", 1, &[("retention.ms", "1000")]);
    for v in 1..=4i16 {
        let r = describe(&mut c, v, TOPIC, "dc", None, true);
        assert_eq!(r.error_code, 0, "v{v}");
        assert!(r.configs.len() >= 30, "v{v}: {}", r.configs.len());
        assert_eq!(value(&r, "retention.ms"), (Some("1000".into()), 1));
        assert_eq!(value(&r, "cleanup.policy"), (Some("delete".into()), 5));
        let ret = r
            .configs
            .iter()
            .find(|e| e.name.as_str() == "retention.ms")
            .unwrap();
        assert_eq!(ret.synonyms[0].source, 1, "v{v}");
        assert!(ret
            .synonyms
            .iter()
            .any(|s| s.name.as_str() == "log.retention.hours"));
        if v >= 3 {
            assert_eq!(ret.config_type, 5, "LONG");
            assert!(ret.documentation.is_some());
        }
        // Filtered by key; unknown keys are left out.
        let r = describe(
            &mut c,
            v,
            TOPIC,
            "dc",
            Some(&["cleanup.policy", "nope"]),
            false,
        );
        assert_eq!(r.configs.len(), 1);
        assert!(r.configs[0].synonyms.is_empty());
        assert_eq!(
            describe(&mut c, v, TOPIC, "missing", None, false).error_code,
            3
        );
        let b = describe(&mut c, v, BROKER, "1", None, false);
        assert_eq!(b.error_code, 0);
        let node = b
            .configs
            .iter()
            .find(|e| e.name.as_str() == "node.id")
            .unwrap();
        assert!(node.read_only);
        assert_eq!(node.config_source, 4);
        assert_eq!(describe(&mut c, v, BROKER, "9", None, false).error_code, 42);
        let g = describe(&mut c, v, GROUP, "g", None, false);
        assert_eq!(
            value(&g, "consumer.session.timeout.ms"),
            (Some("45000".into()), 5)
        );
    }
}

#[test]
fn alter_configs_layers_and_errors() {
    needs!(Need::Fresh(
        "sets the broker-wide log.retention.ms and expects the default before"
    ));
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    create_topic(&mut c, "ac", 1, &[("retention.ms", "1000")]);
    for v in 0..=2i16 {
        // Full replace: retention.ms reverts to the default.
        assert_eq!(
            alter(&mut c, v, TOPIC, "ac", &[("segment.ms", "5000")], false),
            0
        );
        let r = describe(&mut c, 4, TOPIC, "ac", None, false);
        assert_eq!(value(&r, "retention.ms"), (Some("604800000".into()), 5));
        assert_eq!(value(&r, "segment.ms"), (Some("5000".into()), 1));
        assert_eq!(
            alter(&mut c, v, TOPIC, "ac", &[("segment.ms", "x")], false),
            40
        );
        assert_eq!(alter(&mut c, v, TOPIC, "ac", &[("nope", "1")], false), 40);
        assert_eq!(
            alter(&mut c, v, TOPIC, "zz", &[("segment.ms", "1")], false),
            3
        );
        assert_eq!(
            alter(&mut c, v, TOPIC, "ac", &[("segment.ms", "7")], true),
            0
        );
        assert_eq!(
            value(&describe(&mut c, 4, TOPIC, "ac", None, false), "segment.ms").0,
            Some("5000".into())
        );
        assert_eq!(
            alter(&mut c, v, BROKER, "1", &[("num.partitions", "3")], false),
            40
        );
    }
    // Cluster default, then per broker, then the topic's own.
    assert_eq!(
        alter(&mut c, 2, BROKER, "", &[("log.retention.ms", "111")], false),
        0
    );
    assert_eq!(
        value(
            &describe(&mut c, 4, TOPIC, "ac", None, false),
            "retention.ms"
        ),
        (Some("111".into()), 3)
    );
    assert_eq!(
        alter(
            &mut c,
            2,
            BROKER,
            "1",
            &[("log.retention.ms", "222")],
            false
        ),
        0
    );
    assert_eq!(
        value(
            &describe(&mut c, 4, TOPIC, "ac", None, false),
            "retention.ms"
        ),
        (Some("222".into()), 2)
    );
    let d = describe(&mut c, 4, BROKER, "", None, false);
    assert_eq!(d.configs.len(), 1);
    assert_eq!(value(&d, "log.retention.ms"), (Some("111".into()), 3));
}

#[test]
fn incremental_alter_configs_every_version() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    create_topic(&mut c, "ic", 1, &[]);
    for v in 0..=1i16 {
        assert_eq!(
            incremental(&mut c, v, TOPIC, "ic", &[("cleanup.policy", 2, "compact")]).0,
            0
        );
        assert_eq!(
            value(
                &describe(&mut c, 4, TOPIC, "ic", None, false),
                "cleanup.policy"
            )
            .0,
            Some("delete,compact".into())
        );
        assert_eq!(
            incremental(&mut c, v, TOPIC, "ic", &[("cleanup.policy", 3, "compact")]).0,
            0
        );
        assert_eq!(
            incremental(&mut c, v, TOPIC, "ic", &[("cleanup.policy", 1, "")]).0,
            0
        );
        assert_eq!(
            value(
                &describe(&mut c, 4, TOPIC, "ic", None, false),
                "cleanup.policy"
            ),
            (Some("delete".into()), 5)
        );
        let (code, msg) = incremental(&mut c, v, TOPIC, "ic", &[("retention.ms", 2, "5")]);
        assert_eq!(code, 40);
        assert!(msg.unwrap().contains("retention.ms"));
        let (code, msg) = incremental(&mut c, v, TOPIC, "ic", &[("retention.ms", 0, "soon")]);
        assert_eq!(code, 40);
        assert!(msg.unwrap().contains("retention.ms"));
        assert_eq!(
            incremental(
                &mut c,
                v,
                TOPIC,
                "ic",
                &[("retention.ms", 0, "1"), ("retention.ms", 0, "2")]
            )
            .0,
            42
        );
        assert_eq!(
            incremental(&mut c, v, TOPIC, "ic", &[("retention.ms", 9, "1")]).0,
            42
        );
        assert_eq!(
            incremental(
                &mut c,
                v,
                GROUP,
                "g",
                &[("consumer.session.timeout.ms", 0, "1000")]
            )
            .0,
            40
        );
        assert_eq!(
            incremental(
                &mut c,
                v,
                GROUP,
                "g",
                &[("consumer.session.timeout.ms", 0, "50000")]
            )
            .0,
            0
        );
        assert_eq!(
            value(
                &describe(&mut c, 4, GROUP, "g", None, false),
                "consumer.session.timeout.ms"
            ),
            (Some("50000".into()), 8)
        );
    }
}

#[test]
fn configs_survive_restart() {
    needs!(Need::Restart);
    let dir = tempfile::tempdir().unwrap();
    {
        let rill = Rill::start_on(dir.path(), &[]);
        let mut c = rill.client();
        create_topic(&mut c, "pc", 1, &[]);
        assert_eq!(
            incremental(&mut c, 1, TOPIC, "pc", &[("max.message.bytes", 0, "2000")]).0,
            0
        );
        assert_eq!(
            incremental(&mut c, 1, BROKER, "", &[("log.segment.bytes", 0, "4096")]).0,
            0
        );
        assert_eq!(
            incremental(
                &mut c,
                1,
                GROUP,
                "gg",
                &[("consumer.heartbeat.interval.ms", 0, "6000")]
            )
            .0,
            0
        );
    }
    let rill = Rill::start_on(dir.path(), &[]);
    let mut c = rill.client();
    let t = describe(&mut c, 4, TOPIC, "pc", None, false);
    assert_eq!(value(&t, "max.message.bytes"), (Some("2000".into()), 1));
    assert_eq!(value(&t, "segment.bytes"), (Some("4096".into()), 3));
    let g = describe(&mut c, 4, GROUP, "gg", None, false);
    assert_eq!(
        value(&g, "consumer.heartbeat.interval.ms"),
        (Some("6000".into()), 8)
    );
}

#[test]
fn max_message_bytes_change_applies_to_live_partitions() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    let id = create_topic(&mut c, "live", 1, &[]);
    let big = batch(20, 0, kafka_protocol::records::Compression::None);
    assert_eq!(produce(&mut c, 9, "live", id, 0, big.clone()).error_code, 0);
    assert_eq!(
        incremental(&mut c, 1, TOPIC, "live", &[("max.message.bytes", 0, "100")]).0,
        0
    );
    assert_eq!(
        produce(&mut c, 9, "live", id, 0, big).error_code,
        10,
        "MESSAGE_TOO_LARGE"
    );
}

#[test]
fn delete_records_and_describe_log_dirs_every_version() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    let id = create_topic(&mut c, "dr", 1, &[("segment.bytes", "1024")]);
    for i in 0..20 {
        let p = produce(
            &mut c,
            9,
            "dr",
            id,
            0,
            batch(5, i * 5, kafka_protocol::records::Compression::None),
        );
        assert_eq!(p.error_code, 0);
    }
    create_topic(&mut c, "compacted", 1, &[("cleanup.policy", "compact")]);
    let mut expected_low = 0;
    for v in 0..=2i16 {
        expected_low += 10;
        let r = c.send(
            v,
            &DeleteRecordsRequest::default()
                .with_timeout_ms(1000)
                .with_topics(vec![
                    DeleteRecordsTopic::default()
                        .with_name(name("dr"))
                        .with_partitions(vec![
                            DeleteRecordsPartition::default()
                                .with_partition_index(0)
                                .with_offset(expected_low),
                            DeleteRecordsPartition::default()
                                .with_partition_index(1)
                                .with_offset(1),
                        ]),
                    DeleteRecordsTopic::default()
                        .with_name(name("compacted"))
                        .with_partitions(vec![DeleteRecordsPartition::default().with_offset(0)]),
                ]),
        );
        let p = &r.topics[0].partitions;
        assert_eq!(
            (p[0].error_code, p[0].low_watermark),
            (0, expected_low),
            "v{v}"
        );
        assert_eq!(p[1].error_code, 3);
        assert_eq!(r.topics[1].partitions[0].error_code, 44, "POLICY_VIOLATION");
    }
    // Beyond the high watermark.
    let r = c.send(
        2,
        &DeleteRecordsRequest::default().with_topics(vec![DeleteRecordsTopic::default()
            .with_name(name("dr"))
            .with_partitions(vec![DeleteRecordsPartition::default().with_offset(101)])]),
    );
    assert_eq!(r.topics[0].partitions[0].error_code, 1);
    // A fetch below the start is out of range; ListOffsets earliest follows.
    let f = c.send(12, &fetch_req("dr", id, 12, 0, 5, 0, 0));
    assert_eq!(f.responses[0].partitions[0].error_code, 1);
    assert_eq!(f.responses[0].partitions[0].log_start_offset, 30);
    for v in 1..=4i16 {
        let r = c.send(
            v,
            &DescribeLogDirsRequest::default().with_topics(Some(vec![
                DescribableLogDirTopic::default()
                    .with_topic(name("dr"))
                    .with_partitions(vec![0, 7]),
            ])),
        );
        assert_eq!(r.results.len(), 1);
        let d = &r.results[0];
        assert_eq!(d.error_code, 0);
        assert_eq!(d.topics.len(), 1);
        assert_eq!(d.topics[0].partitions.len(), 1);
        assert!(d.topics[0].partitions[0].partition_size > 0);
        if v >= 4 {
            assert!(d.total_bytes > 0 && d.usable_bytes > 0 && d.usable_bytes <= d.total_bytes);
        }
        let all = c.send(v, &DescribeLogDirsRequest::default().with_topics(None));
        let names: Vec<_> = all.results[0].topics.iter().map(|t| &t.name).collect();
        assert!(names.contains(&&name("dr")) && names.contains(&&name("compacted")));
        if external().is_none() {
            assert_eq!(names.len(), 2, "every topic, and only those");
        }
    }
}

fn keyless_batch(
    n: i64,
    ts: i64,
    compression: kafka_protocol::records::Compression,
) -> bytes::Bytes {
    use kafka_protocol::records::*;
    let records: Vec<Record> = (0..n)
        .map(|i| {
            let mut r = crate::common::record(i, ts + i);
            if i % 2 == 1 {
                r.key = None;
            }
            r
        })
        .collect();
    encode(&records, compression)
}

#[test]
fn compacted_topics_refuse_keyless_records_and_timestamps_are_bounded() {
    use kafka_protocol::records::Compression;
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    let id = create_topic(&mut c, "cmp", 1, &[("cleanup.policy", "compact")]);
    for compression in [Compression::None, Compression::Lz4, Compression::Zstd] {
        for v in [3i16, 7, 8, 9, 13] {
            let p = produce(&mut c, v, "cmp", id, 0, keyless_batch(4, 0, compression));
            assert_eq!(p.error_code, 87, "INVALID_RECORD v{v} {compression:?}");
            if v >= 8 {
                let idx: Vec<i32> = p.record_errors.iter().map(|e| e.batch_index).collect();
                assert_eq!(idx, vec![1, 3]);
                assert!(p.error_message.unwrap().contains("without key"));
            }
        }
        assert_eq!(
            produce(&mut c, 9, "cmp", id, 0, batch(3, 0, compression)).error_code,
            0
        );
    }
    // Kafka 4 refuses CreateTime timestamps more than an hour ahead by default.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let id2 = create_topic(
        &mut c,
        "ts",
        1,
        &[("message.timestamp.before.max.ms", "60000")],
    );
    let p = produce(
        &mut c,
        9,
        "ts",
        id2,
        0,
        batch(2, now + 2 * 3_600_000, Compression::None),
    );
    assert_eq!(p.error_code, 32, "INVALID_TIMESTAMP");
    assert_eq!(p.record_errors.len(), 2);
    let p = produce(
        &mut c,
        9,
        "ts",
        id2,
        0,
        batch(2, now - 120_000, Compression::Gzip),
    );
    assert_eq!(p.error_code, 32);
    assert_eq!(
        produce(&mut c, 9, "ts", id2, 0, batch(2, now, Compression::None)).error_code,
        0
    );
    // A LogAppendTime topic takes any producer timestamp.
    let id3 = create_topic(
        &mut c,
        "lat",
        1,
        &[("message.timestamp.type", "LogAppendTime")],
    );
    assert_eq!(
        produce(&mut c, 9, "lat", id3, 0, batch(2, 1, Compression::None)).error_code,
        0
    );
}

#[test]
fn compression_type_reencodes_stored_batches() {
    use kafka_protocol::records::{Compression, RecordBatchDecoder};
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    let cases = [
        ("zstd", Compression::None, 4u8),
        ("gzip", Compression::Lz4, 1),
        ("snappy", Compression::Gzip, 2),
        ("lz4", Compression::Snappy, 3),
        ("uncompressed", Compression::Zstd, 0),
        ("producer", Compression::Gzip, 1),
    ];
    for (i, (codec, sent, stored)) in cases.into_iter().enumerate() {
        let t = format!("ct{i}");
        let id = create_topic(&mut c, &t, 1, &[("compression.type", codec)]);
        assert_eq!(
            produce(&mut c, 9, &t, id, 0, batch(10, 0, sent)).error_code,
            0
        );
        let f = c.send(12, &fetch_req(&t, id, 12, 0, 0, 0, 0));
        let bytes = f.responses[0].partitions[0].records.clone().unwrap();
        // attributes: the low 3 bits of the i16 at byte 21.
        assert_eq!(bytes[22] & 7, stored, "{codec}");
        let mut b = bytes.clone();
        let sets = RecordBatchDecoder::decode_all(&mut b).expect("decodes");
        let values: Vec<_> = sets[0]
            .records
            .iter()
            .map(|r| r.value.clone().unwrap())
            .collect();
        assert_eq!(values.len(), 10, "{codec}");
        assert_eq!(&values[9][..], b"value-9");
    }
}
