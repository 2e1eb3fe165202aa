//! InitProducerId (idempotent producers) and DescribeProducers.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_producers_response::{
    PartitionResponse, ProducerState, TopicResponse,
};
use kafka_protocol::messages::*;

use super::errors::KafkaCode;
use super::{authz, code};
use crate::acl::{Operation, ResourceType};
use crate::broker::Broker;
use crate::server::dispatch::RequestContext;

/// InitProducerId v0–5. Without a transactional id Kafka always hands out a fresh
/// producer id with epoch 0, whatever id and epoch the request carries (KIP-360's epoch
/// bump applies to transactional ids only). With one, the transaction coordinator fences
/// the previous producer and bumps the epoch.
pub async fn init_producer_id(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: InitProducerIdRequest,
) -> InitProducerIdResponse {
    let fail = |err: ResponseError| {
        InitProducerIdResponse::default()
            .with_error_code(code(err))
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
    };
    // WRITE on the transactional id; without one, IDEMPOTENT_WRITE on the cluster or
    // WRITE on some topic (Kafka 4).
    let allowed = match &req.transactional_id {
        Some(txn_id) => authz::txn_id(broker, ctx, Operation::Write, txn_id),
        None if authz::any(broker, ctx, Operation::Write, ResourceType::Topic) => Ok(()),
        None => authz::cluster(broker, ctx, Operation::IdempotentWrite),
    };
    if let Err(d) = allowed {
        return InitProducerIdResponse::default()
            .with_error_code(d.kafka_code())
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1);
    }
    if let Some(txn_id) = &req.transactional_id {
        let expected = (ctx.api_version >= 3 && req.producer_id.0 >= 0)
            .then_some((req.producer_id.0, req.producer_epoch));
        return match broker
            .txns
            .init_producer_id(broker, txn_id, req.transaction_timeout_ms, expected)
            .await
        {
            Ok((id, epoch)) => InitProducerIdResponse::default()
                .with_producer_id(ProducerId(id))
                .with_producer_epoch(epoch),
            Err(e) => {
                if !matches!(e, crate::txn::TxnFailure::Txn(_)) {
                    tracing::error!(error = %e, "InitProducerId failed");
                }
                fail(e.error())
            }
        };
    }
    match broker.new_producer_id() {
        Ok(id) => InitProducerIdResponse::default()
            .with_producer_id(ProducerId(id))
            .with_producer_epoch(0),
        Err(e) => {
            tracing::error!(error = %e, "allocating a producer id failed");
            fail(e.error())
        }
    }
}

/// DescribeProducers v0: each partition's active idempotent/transactional producers.
pub async fn describe_producers(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: DescribeProducersRequest,
) -> DescribeProducersResponse {
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let topic = broker.topic(&t.name);
            let allowed = authz::topic(broker, ctx, Operation::Read, &t.name).is_ok();
            let partitions = t
                .partition_indexes
                .iter()
                .map(|&p| {
                    let r = PartitionResponse::default().with_partition_index(p);
                    if !allowed {
                        return r.with_error_code(authz::topic_denied());
                    }
                    let Some(log) = topic.as_ref().and_then(|t| t.partition(p)) else {
                        return r.with_error_code(code(ResponseError::UnknownTopicOrPartition));
                    };
                    let producers = log
                        .producers()
                        .into_iter()
                        .map(|(id, e)| {
                            ProducerState::default()
                                .with_producer_id(ProducerId(id))
                                .with_producer_epoch(e.epoch as i32)
                                .with_last_sequence(e.last_sequence())
                                .with_last_timestamp(e.last_timestamp)
                                .with_coordinator_epoch(e.coordinator_epoch)
                                .with_current_txn_start_offset(
                                    e.current_txn_first_offset.unwrap_or(-1),
                                )
                        })
                        .collect();
                    r.with_active_producers(producers)
                })
                .collect();
            TopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    DescribeProducersResponse::default().with_topics(topics)
}
