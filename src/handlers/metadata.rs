use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_topic_partitions_response::{
    Cursor, DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
};
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::*;
use uuid::Uuid;

use super::errors::KafkaCode;
use super::{authz, code, str_bytes, topic_name};
use crate::acl::{Operation, ResourceType};
use crate::broker::{Broker, Topic, TopicError};
use crate::server::dispatch::RequestContext;

/// Kafka's "authorized operations not requested" sentinel.
const OPS_OMITTED: i32 = i32::MIN;
/// Without an authorizer Kafka reports every operation the resource type supports:
/// topics READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS.
pub const TOPIC_OPS: i32 =
    (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11);
/// Cluster: CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS,
/// IDEMPOTENT_WRITE.
pub const CLUSTER_OPS: i32 =
    (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);

/// The operations of `ops` (a bit per operation code) the principal may do on the
/// resource: all of them without an authorizer.
pub(crate) fn authorized_ops(
    broker: &Broker,
    ctx: &RequestContext,
    rt: ResourceType,
    name: &str,
    ops: i32,
) -> i32 {
    if !broker.authorizer_enabled() {
        return ops;
    }
    Operation::ALL
        .iter()
        .filter(|op| ops & (1 << op.code()) != 0)
        .filter(|op| authz::check(broker, ctx, **op, rt, name).is_ok())
        .fold(0, |acc, op| acc | (1 << op.code()))
}

fn partitions(broker: &Broker, topic: &Topic) -> Vec<MetadataResponsePartition> {
    let node = BrokerId(broker.config.node_id);
    (0..topic.partition_count())
        .map(|p| {
            MetadataResponsePartition::default()
                .with_partition_index(p)
                .with_leader_id(node)
                .with_leader_epoch(0)
                .with_replica_nodes(vec![node])
                .with_isr_nodes(vec![node])
        })
        .collect()
}

fn topic_entry(broker: &Broker, topic: &Topic) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_name(Some(topic_name(&topic.name)))
        .with_topic_id(topic.id)
        .with_partitions(partitions(broker, topic))
}

fn error_entry(name: Option<TopicName>, id: Uuid, err: i16) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_name(name)
        .with_topic_id(id)
        .with_error_code(err)
}

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: MetadataRequest,
) -> MetadataResponse {
    let version = ctx.api_version;
    // v0: an empty list means all topics; v1+: null means all, empty means none.
    let wanted = match req.topics {
        None => None,
        Some(t) if t.is_empty() && version == 0 => None,
        Some(t) => Some(t),
    };
    let auto_create =
        broker.config.auto_create_topics && (version < 4 || req.allow_auto_topic_creation);
    let describable = |name: &str| authz::topic(broker, ctx, Operation::Describe, name).is_ok();
    let denied = || code(ResponseError::TopicAuthorizationFailed);
    let topics: Vec<MetadataResponseTopic> = match wanted {
        // Listing all topics shows only those the principal may describe.
        None => broker
            .topics()
            .iter()
            .filter(|t| describable(&t.name))
            .map(|t| topic_entry(broker, t))
            .collect(),
        Some(list) => list
            .into_iter()
            .map(|t| match t.name {
                Some(name) => {
                    // Not describable: refused without telling whether it exists.
                    if !describable(&name) {
                        return error_entry(Some(name), Uuid::nil(), denied());
                    }
                    if let Some(topic) = broker.topic(&name) {
                        return topic_entry(broker, &topic);
                    }
                    if !auto_create {
                        return error_entry(
                            Some(name),
                            Uuid::nil(),
                            code(ResponseError::UnknownTopicOrPartition),
                        );
                    }
                    // Auto-creation needs CREATE on the cluster or on the topic.
                    if authz::cluster(broker, ctx, Operation::Create).is_err()
                        && authz::topic(broker, ctx, Operation::Create, &name).is_err()
                    {
                        return error_entry(Some(name), Uuid::nil(), denied());
                    }
                    match broker.create_topic(&name, -1, -1, Default::default(), false) {
                        Ok(topic) => topic_entry(broker, &topic),
                        // Lost a race with another creator: fine.
                        Err(TopicError::AlreadyExists(_)) => match broker.topic(&name) {
                            Some(topic) => topic_entry(broker, &topic),
                            None => error_entry(
                                Some(name),
                                Uuid::nil(),
                                code(ResponseError::LeaderNotAvailable),
                            ),
                        },
                        Err(e) => error_entry(Some(name), Uuid::nil(), e.kafka_code()),
                    }
                }
                None => match broker.topic_by_id(t.topic_id) {
                    Some(topic) if describable(&topic.name) => topic_entry(broker, &topic),
                    Some(_) => error_entry(None, t.topic_id, denied()),
                    None => error_entry(None, t.topic_id, code(ResponseError::UnknownTopicId)),
                },
            })
            .collect(),
    };
    let with_topic_ops = version >= 8 && req.include_topic_authorized_operations;
    let topics = topics
        .into_iter()
        .map(|t: MetadataResponseTopic| {
            if t.error_code != 0 {
                return t;
            }
            let ops = match (&t.name, with_topic_ops) {
                (Some(name), true) => {
                    authorized_ops(broker, ctx, ResourceType::Topic, name, TOPIC_OPS)
                }
                _ => OPS_OMITTED,
            };
            t.with_topic_authorized_operations(ops)
        })
        .collect();
    let cluster_ops = if (8..=10).contains(&version) && req.include_cluster_authorized_operations {
        authorized_ops(
            broker,
            ctx,
            ResourceType::Cluster,
            crate::acl::CLUSTER_NAME,
            CLUSTER_OPS,
        )
    } else {
        OPS_OMITTED
    };
    // Brokers are described by the listener the client connected to, as Kafka does.
    let listener = broker.config.listener(ctx.listener);
    MetadataResponse::default()
        .with_brokers(vec![MetadataResponseBroker::default()
            .with_node_id(BrokerId(broker.config.node_id))
            .with_host(str_bytes(&listener.advertised_host))
            .with_port(listener.advertised_port as i32)])
        .with_cluster_id(Some(str_bytes(&broker.cluster_id)))
        .with_controller_id(BrokerId(broker.config.node_id))
        .with_cluster_authorized_operations(cluster_ops)
        .with_topics(topics)
}

/// DescribeTopicPartitions (KIP-966), used by `kafka-topics --describe` since 3.7:
/// topics sorted by name, paginated by `response_partition_limit` and a cursor.
pub async fn describe_topic_partitions(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: DescribeTopicPartitionsRequest,
) -> DescribeTopicPartitionsResponse {
    let node = BrokerId(broker.config.node_id);
    let limit = req.response_partition_limit.clamp(1, 2000) as usize;
    let describable = |name: &str| authz::topic(broker, ctx, Operation::Describe, name).is_ok();
    let mut names: Vec<String> = if req.topics.is_empty() {
        broker
            .topics()
            .iter()
            .filter(|t| describable(&t.name))
            .map(|t| t.name.clone())
            .collect()
    } else {
        req.topics.iter().map(|t| t.name.to_string()).collect()
    };
    names.sort();
    names.dedup();
    let (cursor_topic, cursor_part) = match &req.cursor {
        Some(c) => (Some(c.topic_name.to_string()), c.partition_index.max(0)),
        None => (None, 0),
    };
    let mut out = Vec::new();
    let mut budget = limit;
    let mut next_cursor = None;
    for name in names {
        if let Some(ct) = &cursor_topic {
            if &name < ct {
                continue;
            }
        }
        if !describable(&name) {
            out.push(
                DescribeTopicPartitionsResponseTopic::default()
                    .with_name(Some(topic_name(&name)))
                    .with_error_code(code(ResponseError::TopicAuthorizationFailed)),
            );
            continue;
        }
        let Some(topic) = broker.topic(&name) else {
            out.push(
                DescribeTopicPartitionsResponseTopic::default()
                    .with_name(Some(topic_name(&name)))
                    .with_error_code(code(ResponseError::UnknownTopicOrPartition)),
            );
            continue;
        };
        let start = if cursor_topic.as_deref() == Some(name.as_str()) {
            cursor_part
        } else {
            0
        };
        if budget == 0 {
            next_cursor = Some(
                Cursor::default()
                    .with_topic_name(topic_name(&name))
                    .with_partition_index(start),
            );
            break;
        }
        let count = topic.partition_count();
        let end = count.min(start + budget as i32);
        let parts = (start..end)
            .map(|p| {
                DescribeTopicPartitionsResponsePartition::default()
                    .with_partition_index(p)
                    .with_leader_id(node)
                    .with_leader_epoch(0)
                    .with_replica_nodes(vec![node])
                    .with_isr_nodes(vec![node])
                    .with_eligible_leader_replicas(Some(vec![]))
                    .with_last_known_elr(Some(vec![]))
            })
            .collect::<Vec<_>>();
        budget -= parts.len();
        out.push(
            DescribeTopicPartitionsResponseTopic::default()
                .with_name(Some(topic_name(&name)))
                .with_topic_id(topic.id)
                .with_topic_authorized_operations(authorized_ops(
                    broker,
                    ctx,
                    ResourceType::Topic,
                    &name,
                    TOPIC_OPS,
                ))
                .with_partitions(parts),
        );
        if end < count {
            next_cursor = Some(
                Cursor::default()
                    .with_topic_name(topic_name(&name))
                    .with_partition_index(end),
            );
            break;
        }
    }
    DescribeTopicPartitionsResponse::default()
        .with_topics(out)
        .with_next_cursor(next_cursor)
}
