//! Client quotas, raw: AlterClientQuotas / DescribeClientQuotas v0–1 (validation, filters,
//! persistence across a restart) and a produce-rate quota throttling Produce responses.

use kafka_protocol::messages::alter_client_quotas_request::{EntityData, EntryData, OpData};
use kafka_protocol::messages::describe_client_quotas_request::ComponentData;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;

use crate::common::{batch, Client, Need, Rill};

const INVALID_REQUEST: i16 = 42;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn entity(parts: &[(&str, Option<&str>)]) -> Vec<EntityData> {
    parts
        .iter()
        .map(|(t, n)| {
            EntityData::default()
                .with_entity_type(s(t))
                .with_entity_name(n.map(s))
        })
        .collect()
}

fn alter(
    c: &mut Client,
    version: i16,
    parts: &[(&str, Option<&str>)],
    ops: &[(&str, f64, bool)],
    validate_only: bool,
) -> (i16, Option<String>) {
    let req = AlterClientQuotasRequest::default()
        .with_validate_only(validate_only)
        .with_entries(vec![EntryData::default()
            .with_entity(entity(parts))
            .with_ops(
                ops.iter()
                    .map(|(k, v, remove)| {
                        OpData::default()
                            .with_key(s(k))
                            .with_value(*v)
                            .with_remove(*remove)
                    })
                    .collect(),
            )]);
    let resp = c.send(version, &req);
    assert_eq!(resp.entries.len(), 1);
    let e = &resp.entries[0];
    assert_eq!(e.entity.len(), parts.len(), "the entity is echoed");
    (
        e.error_code,
        e.error_message.as_ref().map(|m| m.to_string()),
    )
}

/// An entity as "type=name|<default>" joined by ",", and its values.
type Described = (String, Vec<(String, f64)>);

/// Each described entry, sorted.
fn describe(
    c: &mut Client,
    version: i16,
    components: &[(&str, i8, Option<&str>)],
    strict: bool,
) -> Result<Vec<Described>, i16> {
    let req = DescribeClientQuotasRequest::default()
        .with_strict(strict)
        .with_components(
            components
                .iter()
                .map(|(t, m, n)| {
                    ComponentData::default()
                        .with_entity_type(s(t))
                        .with_match_type(*m)
                        .with_match(n.map(s))
                })
                .collect(),
        );
    let resp = c.send(version, &req);
    if resp.error_code != 0 {
        assert!(resp.error_message.is_some());
        return Err(resp.error_code);
    }
    let mut out: Vec<_> = resp
        .entries
        .unwrap_or_default()
        .into_iter()
        .map(|e| {
            let mut ent: Vec<String> = e
                .entity
                .iter()
                .map(|p| {
                    format!(
                        "{}={}",
                        p.entity_type.as_str(),
                        p.entity_name.as_deref().unwrap_or("<default>")
                    )
                })
                .collect();
            ent.sort();
            let mut values: Vec<(String, f64)> = e
                .values
                .iter()
                .map(|v| (v.key.to_string(), v.value))
                .collect();
            values.sort_by(|a, b| a.0.cmp(&b.0));
            (ent.join(","), values)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

#[test]
fn alter_and_describe_client_quotas_every_version_and_after_a_restart() {
    needs!(
        Need::Restart,
        Need::Fresh("lists every client quota of the cluster")
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rill = Rill::start_on(dir.path(), &[]);
    let mut c = rill.client();
    for v in 0..=1 {
        let user = format!("alice{v}");
        assert_eq!(
            alter(
                &mut c,
                v,
                &[("user", Some(&user))],
                &[("producer_byte_rate", 1024.0, false)],
                false
            )
            .0,
            0
        );
        assert_eq!(
            alter(
                &mut c,
                v,
                &[("user", Some(&user)), ("client-id", None)],
                &[
                    ("consumer_byte_rate", 2048.0, false),
                    ("request_percentage", 12.5, false)
                ],
                false
            )
            .0,
            0
        );
        // validate_only changes nothing.
        assert_eq!(
            alter(
                &mut c,
                v,
                &[("client-id", Some("app"))],
                &[("producer_byte_rate", 1.0, false)],
                true
            )
            .0,
            0
        );
        let exact = describe(&mut c, v, &[("user", 0, Some(&user))], false).expect("describes");
        assert_eq!(
            exact,
            vec![
                (
                    format!("client-id=<default>,user={user}"),
                    vec![
                        ("consumer_byte_rate".into(), 2048.0),
                        ("request_percentage".into(), 12.5)
                    ]
                ),
                (
                    format!("user={user}"),
                    vec![("producer_byte_rate".into(), 1024.0)]
                ),
            ]
        );
        let strict = describe(&mut c, v, &[("user", 0, Some(&user))], true).expect("describes");
        assert_eq!(strict.len(), 1);
    }
    assert!(describe(&mut c, 1, &[("client-id", 2, None)], false)
        .expect("describes")
        .iter()
        .all(|(e, _)| !e.contains("client-id=app")));
    // Refusals, each with INVALID_REQUEST and a message.
    for (parts, ops) in [
        (
            vec![("user", Some("x"))],
            vec![("producer_byte_rate", 10.5, false)],
        ),
        (
            vec![("user", Some("x"))],
            vec![("producer_byte_rate", -1.0, false)],
        ),
        (vec![("user", Some("x"))], vec![("no_such_key", 1.0, false)]),
        (
            vec![("ip", Some("not-an-ip"))],
            vec![("connection_creation_rate", 1.0, false)],
        ),
        (
            vec![("ip", None), ("user", None)],
            vec![("connection_creation_rate", 1.0, false)],
        ),
        (
            vec![("group", Some("g"))],
            vec![("producer_byte_rate", 1.0, false)],
        ),
    ] {
        let (code, message) = alter(&mut c, 1, &parts, &ops, false);
        assert_eq!(code, INVALID_REQUEST, "{parts:?} {ops:?}");
        assert!(message.is_some());
    }
    assert_eq!(
        describe(&mut c, 1, &[("user", 2, None), ("user", 2, None)], false),
        Err(INVALID_REQUEST)
    );
    // A removal, then a restart: what is left is still there.
    assert_eq!(
        alter(
            &mut c,
            1,
            &[("user", Some("alice0"))],
            &[("producer_byte_rate", 0.0, true)],
            false
        )
        .0,
        0
    );
    drop(c);
    rill.stop();
    let rill = Rill::start_on(dir.path(), &[]);
    let mut c = rill.client();
    let all = describe(&mut c, 1, &[], false).expect("describes");
    let entities: Vec<&str> = all.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(
        entities,
        vec![
            "client-id=<default>,user=alice0",
            "client-id=<default>,user=alice1",
            "user=alice1"
        ]
    );
}

#[test]
fn a_producer_over_its_byte_rate_is_throttled() {
    needs!(
        Need::Flags("--default-partitions 1"),
        Need::Fresh("throttles User:ANONYMOUS, every other test's client too")
    );
    let rill = Rill::start(&["--default-partitions", "1"]);
    let mut c = rill.client();
    // ANONYMOUS on PLAINTEXT; the client id of the test client is what `Client` sends.
    assert_eq!(
        alter(
            &mut c,
            1,
            &[("user", Some("ANONYMOUS"))],
            &[("producer_byte_rate", 10_000.0, false)],
            false
        )
        .0,
        0
    );
    let produce = |c: &mut Client| {
        let req = ProduceRequest::default()
            .with_acks(1)
            .with_timeout_ms(5000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(TopicName(s("throttled")))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(batch(200, 0, Compression::None)))])]);
        c.send::<ProduceRequest>(9, &req)
    };
    let mut m = rill.client();
    m.send::<MetadataRequest>(
        12,
        &MetadataRequest::default()
            .with_topics(Some(vec![metadata_request::MetadataRequestTopic::default(
            )
            .with_name(Some(TopicName(s("throttled"))))]))
            .with_allow_auto_topic_creation(true),
    );
    let first = produce(&mut c);
    let size = batch(200, 0, Compression::None).len() as f64;
    // Within the first 10 s window's allowance: 100 000 bytes.
    let mut throttles = vec![first.throttle_time_ms];
    while throttles.len() < 60 && *throttles.last().expect("one") == 0 {
        throttles.push(produce(&mut c).throttle_time_ms);
    }
    let last = *throttles.last().expect("one");
    assert!(
        last > 0,
        "no throttle after {} bytes: {throttles:?}",
        size * throttles.len() as f64
    );
    assert!(
        throttles.len() as f64 * size > 100_000.0,
        "throttled within the allowance"
    );
    // (rate - quota) / quota × window: at most one batch over, over a 10 s window.
    assert!(
        last as f64 <= size / 10_000.0 * 1000.0 * 1.1 + 1.0,
        "{last} ms for {size} bytes"
    );
    // The throttled connection reads nothing more for the throttle time.
    let start = std::time::Instant::now();
    let next = produce(&mut c);
    assert!(
        start.elapsed().as_millis() as i32 >= last - 5,
        "muted for {last} ms"
    );
    assert!(next.throttle_time_ms >= 0);
}

/// A broker with `key` set to `value` for the protocol tests' client id, and a client.
fn with_client_quota(key: &str, value: f64) -> (Rill, Client) {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    let set = alter(
        &mut c,
        1,
        &[("client-id", Some("protocol-tests"))],
        &[(key, value, false)],
        false,
    );
    assert_eq!(set.0, 0, "{set:?}");
    (rill, c)
}

fn creatable(name: &str, partitions: i32) -> create_topics_request::CreatableTopic {
    create_topics_request::CreatableTopic::default()
        .with_name(TopicName(s(name)))
        .with_num_partitions(partitions)
        .with_replication_factor(1)
}

/// KIP-599: `controller_mutation_rate` 1 partition/s gives a burst of 10. CreateTopics v6+
/// refuses topics once the bucket is in debt (THROTTLING_QUOTA_EXCEEDED, throttle = debt /
/// rate); v5 creates them and only throttles; DeleteTopics v5+ and CreatePartitions v3+
/// are refused in debt too.
#[test]
fn controller_mutations_over_the_quota_are_refused_or_throttled() {
    const THROTTLED: i16 = 89;
    needs!(Need::Fresh(
        "throttles the client id protocol-tests (every test's) and counts every topic"
    ));
    let (rill, mut c) = with_client_quota("controller_mutation_rate", 1.0);
    let req = CreateTopicsRequest::default()
        .with_timeout_ms(5000)
        .with_topics(vec![
            creatable("m-a", 8),
            creatable("m-b", 5),
            creatable("m-c", 1),
        ]);
    let resp = c.send(7, &req);
    let codes: Vec<i16> = resp.topics.iter().map(|t| t.error_code).collect();
    // 10 credits: m-a leaves 2, m-b leaves -3, m-c is refused.
    assert_eq!(codes, vec![0, 0, THROTTLED], "{resp:?}");
    assert_eq!(
        resp.topics[2].error_message.as_deref(),
        Some("The throttling quota has been exceeded.")
    );
    assert!(
        (2500..=3000).contains(&resp.throttle_time_ms),
        "throttle {} ms for a debt of 3 partitions at 1/s",
        resp.throttle_time_ms
    );
    // A new connection (the first is muted): v5 is permissive, the topic is created and
    // the response throttled.
    let mut old = rill.client();
    let resp = old.send(
        5,
        &CreateTopicsRequest::default()
            .with_timeout_ms(5000)
            .with_topics(vec![creatable("m-d", 1)]),
    );
    assert_eq!(resp.topics[0].error_code, 0, "{resp:?}");
    assert!(resp.throttle_time_ms >= 3000, "{}", resp.throttle_time_ms);
    // In debt: DeleteTopics v6 and CreatePartitions v3 are refused; nothing changed.
    let mut d = rill.client();
    let del = d.send(
        6,
        &DeleteTopicsRequest::default()
            .with_topics(vec![delete_topics_request::DeleteTopicState::default()
                .with_name(Some(TopicName(s("m-a"))))]),
    );
    assert_eq!(del.responses[0].error_code, THROTTLED, "{del:?}");
    assert!(del.throttle_time_ms > 0);
    let mut p = rill.client();
    let grow = p.send(
        3,
        &CreatePartitionsRequest::default()
            .with_timeout_ms(5000)
            .with_topics(vec![
                create_partitions_request::CreatePartitionsTopic::default()
                    .with_name(TopicName(s("m-b")))
                    .with_count(6),
            ]),
    );
    assert_eq!(grow.results[0].error_code, THROTTLED, "{grow:?}");
    let mut m = rill.client();
    let meta = m.send::<MetadataRequest>(12, &MetadataRequest::default().with_topics(None));
    let mut names: Vec<(String, usize)> = meta
        .topics
        .iter()
        .map(|t| {
            (
                t.name.as_ref().map(|n| n.to_string()).unwrap_or_default(),
                t.partitions.len(),
            )
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![("m-a".into(), 8), ("m-b".into(), 5), ("m-d".into(), 1)]
    );
}

/// KIP-124: `request_percentage` bounds the time a client's requests keep the broker
/// busy. With a tiny quota a single request puts the client over it: the response carries
/// a throttle time, capped at one sample window (1 s), and the connection is muted; a
/// client with another client id is not throttled.
#[test]
fn request_percentage_throttles_a_busy_client() {
    needs!(Need::Fresh(
        "throttles the client id protocol-tests, every other test's client too"
    ));
    let (rill, mut c) = with_client_quota("request_percentage", 0.000_001);
    let metadata = MetadataRequest::default().with_topics(None);
    let first = c.send::<MetadataRequest>(12, &metadata);
    assert!(
        first.throttle_time_ms > 0 && first.throttle_time_ms <= 1000,
        "{}",
        first.throttle_time_ms
    );
    let start = std::time::Instant::now();
    let second = c.send::<MetadataRequest>(12, &metadata);
    assert!(
        start.elapsed().as_millis() as i32 >= first.throttle_time_ms - 5,
        "muted for {} ms",
        first.throttle_time_ms
    );
    assert!(second.throttle_time_ms > 0);
    // ApiVersions v0 has no throttle field: answered, still throttled by muting.
    let v0 = c.send::<ApiVersionsRequest>(0, &ApiVersionsRequest::default());
    assert_eq!(v0.error_code, 0);
    // Another client id has no quota.
    let mut other = crate::common::Client::connect(&rill.addr);
    let (corr, frame) = {
        other.correlation += 1;
        let f = rill::client::frame::encode_frame(12, other.correlation, "someone-else", &metadata)
            .expect("encode");
        (other.correlation, f)
    };
    other.write_raw(&frame);
    let resp = other.read_response::<MetadataRequest>(12, corr);
    assert_eq!(resp.throttle_time_ms, 0);
}
