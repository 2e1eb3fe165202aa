//! Small request helpers shared by the test modules.

use bytes::Bytes;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use crate::common::{external, Client};

/// A topic name, group id or transactional id made this test's own: as written against
/// a broker of the test's own; against an external broker (`RILL_BOOTSTRAP`), shared
/// by every test and every run, with `.<test>.<run id>` appended. Idempotent, so a
/// name passed through it twice (a helper of a helper) stays the same.
pub fn uniq(s: &str) -> String {
    if external().is_none() || s.is_empty() {
        return s.to_string();
    }
    if s.ends_with(&format!(".{}", run_id())) {
        return s.to_string(); // already made unique (maybe on the test's thread)
    }
    format!("{s}.{}.{}", test_key(), run_id())
}

/// The running test's name as a topic-name-safe key; names must be made on the test's
/// own thread (a spawned helper thread has no test name).
fn test_key() -> String {
    let thread = std::thread::current();
    let name = thread.name().filter(|n| *n != "main").unwrap_or_else(|| {
        panic!("ops::uniq called off the test's thread: make names before spawning")
    });
    name.replace("::", ".")
}

/// One id per test process: a second run against the same broker gets new names.
fn run_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        format!(
            "{:x}",
            (nanos as u64 ^ u64::from(std::process::id())) & 0xff_ffff_ffff
        )
    })
}

/// Whether a name the broker lists (topic, group, transactional id) is this test's own:
/// always on a broker of the test's own, else if it carries the test's `uniq` suffix.
pub fn mine(listed: &str) -> bool {
    external().is_none() || listed.ends_with(&format!(".{}.{}", test_key(), run_id()))
}

/// `uniq(s)` as a `StrBytes` (group ids, transactional ids).
pub fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(uniq(s))
}

/// The topic `s` (through `uniq`).
pub fn name(s: &str) -> TopicName {
    TopicName(sb(s))
}

/// CreateTopics config entries from (name, value) pairs.
pub fn topic_configs(configs: &[(&str, &str)]) -> Vec<CreatableTopicConfig> {
    configs
        .iter()
        .map(|(k, v)| {
            CreatableTopicConfig::default()
                .with_name(StrBytes::from_string(k.to_string()))
                .with_value(Some(StrBytes::from_string(v.to_string())))
        })
        .collect()
}

pub fn create_topic(
    c: &mut Client,
    topic: &str,
    partitions: i32,
    configs: &[(&str, &str)],
) -> Uuid {
    let req = CreateTopicsRequest::default()
        .with_timeout_ms(5000)
        .with_topics(vec![CreatableTopic::default()
            .with_name(name(topic))
            .with_num_partitions(partitions)
            .with_replication_factor(1)
            .with_configs(topic_configs(configs))]);
    let resp = c.send(7, &req);
    assert_eq!(
        resp.topics[0].error_code, 0,
        "{:?}",
        resp.topics[0].error_message
    );
    resp.topics[0].topic_id
}

pub fn produce_req(
    topic: &str,
    id: Uuid,
    partition: i32,
    records: Bytes,
    acks: i16,
) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name(topic))
            .with_topic_id(id)
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(records))])])
}

/// Produces one batch with acks=-1 and returns the partition's response.
pub fn produce(
    c: &mut Client,
    version: i16,
    topic: &str,
    id: Uuid,
    partition: i32,
    records: Bytes,
) -> PartitionProduceResponse {
    let req = if version >= 13 {
        produce_req("", id, partition, records, -1)
    } else {
        produce_req(topic, Uuid::nil(), partition, records, -1)
    };
    let resp = c.send(version, &req);
    assert_eq!(resp.responses.len(), 1);
    resp.responses[0].partition_responses[0].clone()
}

pub fn fetch_req(
    topic: &str,
    id: Uuid,
    version: i16,
    partition: i32,
    offset: i64,
    max_wait_ms: i32,
    min_bytes: i32,
) -> FetchRequest {
    let t = if version >= 13 {
        FetchTopic::default().with_topic_id(id)
    } else {
        FetchTopic::default().with_topic(name(topic))
    };
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(min_bytes)
        .with_max_bytes(50 * 1024 * 1024)
        .with_session_epoch(-1)
        .with_topics(vec![t.with_partitions(vec![FetchPartition::default()
            .with_partition(partition)
            .with_fetch_offset(offset)
            .with_partition_max_bytes(1024 * 1024)])])
}

pub fn fetch(
    c: &mut Client,
    version: i16,
    topic: &str,
    id: Uuid,
    partition: i32,
    offset: i64,
) -> PartitionData {
    let resp = c.send(
        version,
        &fetch_req(topic, id, version, partition, offset, 0, 0),
    );
    assert_eq!(resp.error_code, 0);
    assert_eq!(resp.responses.len(), 1);
    resp.responses[0].partitions[0].clone()
}
