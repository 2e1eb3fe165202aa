use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::*;
use uuid::Uuid;

use super::errors::KafkaCode;
use super::{authz, code, str_bytes, topic_name};
use crate::acl::{Operation, ResourceType};
use crate::broker::{Broker, Topic, TopicError};
use crate::server::dispatch::RequestContext;
use crate::server::throttle::ThrottleTime;

/// The configs CreateTopics v5+ reports for a new topic, as DescribeConfigs would.
fn topic_configs(
    broker: &Broker,
    configs: &BTreeMap<String, String>,
) -> Vec<CreatableTopicConfigs> {
    broker
        .broker_layers()
        .describe_topic(configs)
        .into_iter()
        .map(|d| {
            CreatableTopicConfigs::default()
                .with_name(str_bytes(d.name))
                .with_value(d.value.as_deref().map(str_bytes))
                .with_read_only(d.read_only)
                .with_config_source(super::configs::source_code(d.source))
                .with_is_sensitive(d.sensitive)
        })
        .collect()
}

pub async fn create_topics(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: CreateTopicsRequest,
) -> CreateTopicsResponse {
    let mut seen = HashSet::new();
    let dupes: HashSet<String> = req
        .topics
        .iter()
        .filter(|t| !seen.insert(t.name.to_string()))
        .map(|t| t.name.to_string())
        .collect();
    let version = ctx.api_version;
    // CREATE on the cluster allows every topic; otherwise CREATE on each.
    let create_any = authz::cluster(broker, ctx, Operation::Create).is_ok();
    let mut throttle = 0;
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let name = t.name.to_string();
            let fail = |err: i16, msg: String| {
                CreatableTopicResult::default()
                    .with_name(t.name.clone())
                    .with_error_code(err)
                    .with_error_message(Some(str_bytes(&msg)))
                    .with_num_partitions(-1)
                    .with_replication_factor(-1)
                    .with_configs(None)
            };
            if dupes.contains(&name) {
                return fail(
                    code(ResponseError::InvalidRequest),
                    format!("Create topics request from client contains duplicate topic {name}"),
                );
            }
            if !create_any {
                if let Err(d) = authz::topic(broker, ctx, Operation::Create, &name) {
                    return fail(d.kafka_code(), "Authorization failed.".into());
                }
            }
            let mut partitions = t.num_partitions;
            let mut rf = t.replication_factor;
            if !t.assignments.is_empty() {
                if partitions != -1 || rf != -1 {
                    return fail(
                        code(ResponseError::InvalidRequest),
                        "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.".into(),
                    );
                }
                let node = broker.config.node_id;
                let bad = t.assignments.iter().enumerate().any(|(i, a)| {
                    a.partition_index != i as i32 || a.broker_ids.iter().any(|b| b.0 != node)
                });
                if bad {
                    return fail(
                        code(ResponseError::InvalidReplicaAssignment),
                        format!("Replica assignment must use broker {node} and partitions 0..n"),
                    );
                }
                partitions = t.assignments.len() as i32;
                rf = t.assignments[0].broker_ids.len() as i16;
            }
            let mut configs = BTreeMap::new();
            for c in &t.configs {
                match &c.value {
                    Some(v) => {
                        configs.insert(c.name.to_string(), v.to_string());
                    }
                    None => {
                        return fail(
                            code(ResponseError::InvalidConfig),
                            format!("Null value not supported for topic configs: {}", c.name.as_str()),
                        );
                    }
                }
            }
            // controller_mutation_rate: the partitions a new topic would have.
            if !req.validate_only && broker.topic(&name).is_none() {
                let count = if partitions == -1 {
                    broker.config.default_partitions
                } else {
                    partitions
                };
                match super::quotas::controller_mutation(broker, ctx, count.max(0) as u32, 6) {
                    Ok(ms) => throttle = throttle.max(ms),
                    Err(ms) => {
                        throttle = throttle.max(ms);
                        return fail(code(ResponseError::ThrottlingQuotaExceeded), THROTTLED.into());
                    }
                }
            }
            match broker.create_topic(&name, partitions, rf, configs, req.validate_only) {
                Ok(topic) => {
                    let mut r = CreatableTopicResult::default()
                        .with_name(t.name.clone())
                        .with_num_partitions(if req.validate_only {
                            if partitions == -1 {
                                broker.config.default_partitions
                            } else {
                                partitions
                            }
                        } else {
                            topic.partition_count()
                        })
                        .with_replication_factor(1);
                    if version >= 5 {
                        r = r.with_configs(Some(topic_configs(broker, &topic.configs())));
                    }
                    if !req.validate_only {
                        r = r.with_topic_id(topic.id);
                    }
                    r
                }
                Err(e) => fail(e.kafka_code(), e.to_string()),
            }
        })
        .collect();
    let mut resp = CreateTopicsResponse::default().with_topics(topics);
    resp.set_throttle_time(version, throttle);
    resp
}

pub async fn delete_topics(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: DeleteTopicsRequest,
) -> DeleteTopicsResponse {
    // v0–5 name topics; v6 names or IDs.
    let targets: Vec<(Option<TopicName>, Uuid)> = if ctx.api_version >= 6 {
        req.topics
            .into_iter()
            .map(|t| (t.name, t.topic_id))
            .collect()
    } else {
        req.topic_names
            .into_iter()
            .map(|n| (Some(n), Uuid::nil()))
            .collect()
    };
    let mut throttle = 0;
    let responses = targets
        .into_iter()
        .map(|(name, id)| {
            // DELETE on the topic: by name before it is looked up, by id after.
            if let Some(n) = &name {
                if let Err(d) = authz::topic(broker, ctx, Operation::Delete, n) {
                    return DeletableTopicResult::default()
                        .with_name(name.clone())
                        .with_topic_id(id)
                        .with_error_code(d.kafka_code())
                        .with_error_message(Some(str_bytes(&d.to_string())));
                }
            }
            let found: Option<Arc<Topic>> = match &name {
                Some(n) => broker.topic(n),
                None => broker.topic_by_id(id),
            };
            let result = DeletableTopicResult::default()
                .with_name(name.clone())
                .with_topic_id(id);
            let Some(topic) = found else {
                let err = if name.is_none() {
                    ResponseError::UnknownTopicId
                } else {
                    ResponseError::UnknownTopicOrPartition
                };
                return result.with_error_code(code(err));
            };
            if let Err(d) = authz::topic(broker, ctx, Operation::Delete, &topic.name) {
                return result
                    .with_error_code(d.kafka_code())
                    .with_error_message(Some(str_bytes(&d.to_string())));
            }
            let result = result
                .with_name(Some(topic_name(&topic.name)))
                .with_topic_id(topic.id);
            // controller_mutation_rate: the partitions deleted.
            let count = topic.partition_count().max(0) as u32;
            match super::quotas::controller_mutation(broker, ctx, count, 5) {
                Ok(ms) => throttle = throttle.max(ms),
                Err(ms) => {
                    throttle = throttle.max(ms);
                    return result
                        .with_error_code(code(ResponseError::ThrottlingQuotaExceeded))
                        .with_error_message(Some(str_bytes(THROTTLED)));
                }
            }
            match broker.delete_topic(&topic) {
                Ok(()) => result,
                Err(e) => result
                    .with_error_code(e.kafka_code())
                    .with_error_message(Some(str_bytes(&e.to_string()))),
            }
        })
        .collect();
    let mut resp = DeleteTopicsResponse::default().with_responses(responses);
    resp.set_throttle_time(ctx.api_version, throttle);
    resp
}

pub async fn create_partitions(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let mut throttle = 0;
    let results = req
        .topics
        .into_iter()
        .map(|t| {
            let r = CreatePartitionsTopicResult::default().with_name(t.name.clone());
            // ALTER on the topic.
            if let Err(d) = authz::topic(broker, ctx, Operation::Alter, &t.name) {
                return r
                    .with_error_code(d.kafka_code())
                    .with_error_message(Some(str_bytes(&d.to_string())));
            }
            let res = match broker.topic(&t.name) {
                None => Err(TopicError::UnknownTopic),
                Some(topic) => {
                    // controller_mutation_rate: the partitions added.
                    let added = t.count - topic.partition_count();
                    if !req.validate_only && added > 0 {
                        match super::quotas::controller_mutation(broker, ctx, added as u32, 3) {
                            Ok(ms) => throttle = throttle.max(ms),
                            Err(ms) => {
                                throttle = throttle.max(ms);
                                return r
                                    .with_error_code(code(ResponseError::ThrottlingQuotaExceeded))
                                    .with_error_message(Some(str_bytes(THROTTLED)));
                            }
                        }
                    }
                    broker.create_partitions(&topic, t.count, req.validate_only)
                }
            };
            match res {
                Ok(()) => r,
                Err(e) => r
                    .with_error_code(e.kafka_code())
                    .with_error_message(Some(str_bytes(&e.to_string()))),
            }
        })
        .collect();
    let mut resp = CreatePartitionsResponse::default().with_results(results);
    resp.set_throttle_time(ctx.api_version, throttle);
    resp
}

/// Kafka's message for THROTTLING_QUOTA_EXCEEDED.
const THROTTLED: &str = "The throttling quota has been exceeded.";

pub async fn describe_cluster(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: DescribeClusterRequest,
) -> DescribeClusterResponse {
    let resp = DescribeClusterResponse::default()
        .with_endpoint_type(req.endpoint_type)
        .with_cluster_id(str_bytes(&broker.cluster_id))
        .with_controller_id(BrokerId(broker.config.node_id));
    // endpoint_type 1 = brokers; 2 = controllers, which a broker does not describe.
    if req.endpoint_type != 1 {
        return resp
            .with_error_code(code(ResponseError::UnsupportedEndpointType))
            .with_error_message(Some(str_bytes(
                "The broker does not describe controller endpoints",
            )));
    }
    // As in Kafka, describing the cluster needs no permission; the operations reported
    // are those allowed (all without an authorizer).
    let ops = if req.include_cluster_authorized_operations {
        super::metadata::authorized_ops(
            broker,
            ctx,
            ResourceType::Cluster,
            crate::acl::CLUSTER_NAME,
            super::metadata::CLUSTER_OPS,
        )
    } else {
        i32::MIN
    };
    let listener = broker.config.listener(ctx.listener);
    resp.with_cluster_authorized_operations(ops)
        .with_brokers(vec![DescribeClusterBroker::default()
            .with_broker_id(BrokerId(broker.config.node_id))
            .with_host(str_bytes(&listener.advertised_host))
            .with_port(listener.advertised_port as i32)])
}

/// KIP-714: Rill collects no client metrics, so every client gets an empty subscription
/// and stays quiet.
pub async fn get_telemetry_subscriptions(
    _broker: &Arc<Broker>,
    _ctx: &RequestContext,
    req: GetTelemetrySubscriptionsRequest,
) -> GetTelemetrySubscriptionsResponse {
    let id = if req.client_instance_id.is_nil() {
        Uuid::new_v4()
    } else {
        req.client_instance_id
    };
    GetTelemetrySubscriptionsResponse::default()
        .with_client_instance_id(id)
        .with_push_interval_ms(300_000)
        .with_telemetry_max_bytes(1024 * 1024)
}
