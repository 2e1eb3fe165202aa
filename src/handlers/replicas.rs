//! OffsetForLeaderEpoch, ElectLeaders, ListPartitionReassignments and
//! AlterPartitionReassignments, answered as a single-node Kafka answers them.

use std::sync::Arc;

use kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::*;

use super::errors::KafkaCode;
use super::{authz, str_bytes, topic_name};
use crate::acl::Operation;
use crate::broker::Broker;
use crate::server::dispatch::RequestContext;

pub async fn offset_for_leader_epoch(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let allowed = authz::topic(broker, ctx, Operation::Describe, &t.topic).is_ok();
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let r = EpochEndOffset::default().with_partition(p.partition);
                    if !allowed {
                        return r
                            .with_error_code(authz::topic_denied())
                            .with_leader_epoch(-1)
                            .with_end_offset(-1);
                    }
                    match broker.epoch_end_offset(
                        t.topic.as_str(),
                        p.partition,
                        p.current_leader_epoch,
                        p.leader_epoch,
                    ) {
                        Ok((epoch, end)) => r.with_leader_epoch(epoch).with_end_offset(end),
                        Err(e) => r
                            .with_error_code(e.kafka_code())
                            .with_leader_epoch(-1)
                            .with_end_offset(-1),
                    }
                })
                .collect();
            OffsetForLeaderTopicResult::default()
                .with_topic(t.topic)
                .with_partitions(partitions)
        })
        .collect();
    OffsetForLeaderEpochResponse::default().with_topics(topics)
}

pub async fn elect_leaders(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: ElectLeadersRequest,
) -> ElectLeadersResponse {
    // ALTER on the cluster.
    if let Err(d) = authz::cluster(broker, ctx, Operation::Alter) {
        return ElectLeadersResponse::default()
            .with_error_code(d.kafka_code())
            .with_replica_election_results(Vec::new());
    }
    // For "every partition" Kafka reports only partitions where an election was tried:
    // none here.
    let Some(wanted) = req.topic_partitions else {
        return ElectLeadersResponse::default();
    };
    let results = wanted
        .into_iter()
        .map(|t| {
            let partition_result = t
                .partitions
                .iter()
                .map(|&p| {
                    let r = PartitionResult::default().with_partition_id(p);
                    match broker.elect_leader(t.topic.as_str(), p) {
                        Ok(()) => r,
                        Err(e) => r
                            .with_error_code(e.kafka_code())
                            .with_error_message(Some(str_bytes(&e.to_string()))),
                    }
                })
                .collect();
            ReplicaElectionResult::default()
                .with_topic(t.topic)
                .with_partition_result(partition_result)
        })
        .collect();
    ElectLeadersResponse::default().with_replica_election_results(results)
}

pub async fn list_partition_reassignments(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    _req: ListPartitionReassignmentsRequest,
) -> ListPartitionReassignmentsResponse {
    // DESCRIBE on the cluster.
    if let Err(d) = authz::cluster(broker, ctx, Operation::Describe) {
        return ListPartitionReassignmentsResponse::default()
            .with_error_code(d.kafka_code())
            .with_error_message(Some(str_bytes(&d.to_string())));
    }
    // One node, one replica per partition: no reassignment is ever in progress.
    ListPartitionReassignmentsResponse::default()
}

pub async fn alter_partition_reassignments(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: AlterPartitionReassignmentsRequest,
) -> AlterPartitionReassignmentsResponse {
    // ALTER on the cluster.
    if let Err(d) = authz::cluster(broker, ctx, Operation::Alter) {
        return AlterPartitionReassignmentsResponse::default()
            .with_error_code(d.kafka_code())
            .with_error_message(Some(str_bytes(&d.to_string())));
    }
    let responses = req
        .topics
        .into_iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let replicas: Option<Vec<i32>> =
                        p.replicas.as_ref().map(|r| r.iter().map(|b| b.0).collect());
                    let r = ReassignablePartitionResponse::default()
                        .with_partition_index(p.partition_index);
                    match broker.reassign(t.name.as_str(), p.partition_index, replicas.as_deref()) {
                        Ok(()) => r,
                        Err(e) => r
                            .with_error_code(e.kafka_code())
                            .with_error_message(Some(str_bytes(&e.to_string()))),
                    }
                })
                .collect();
            ReassignableTopicResponse::default()
                .with_name(topic_name(t.name.as_str()))
                .with_partitions(partitions)
        })
        .collect();
    AlterPartitionReassignmentsResponse::default()
        .with_allow_replication_factor_change(req.allow_replication_factor_change)
        .with_responses(responses)
}
