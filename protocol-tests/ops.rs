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

use crate::common::Client;

pub fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
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
