//! InitProducerId (idempotent producers) and DescribeProducers.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_producers_response::{
    PartitionResponse, ProducerState, TopicResponse,
};
use kafka_protocol::messages::*;

use super::code;
use super::errors::KafkaCode;
use crate::broker::Broker;
use crate::server::dispatch::RequestContext;

/// InitProducerId v0–5. Without a transactional id Kafka always hands out a fresh
/// producer id with epoch 0, whatever id and epoch the request carries (KIP-360's epoch
/// bump applies to transactional ids only).
pub async fn init_producer_id(
    broker: &Arc<Broker>,
    _ctx: &RequestContext,
    req: InitProducerIdRequest,
) -> InitProducerIdResponse {
    let fail = |err: ResponseError| {
        InitProducerIdResponse::default()
            .with_error_code(code(err))
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
    };
    if req.transactional_id.as_ref().is_some_and(|t| t.is_empty()) {
        return fail(ResponseError::InvalidRequest);
    }
    if req.transactional_id.is_some() {
        // There is no transaction coordinator yet (FindCoordinator says so too).
        return fail(ResponseError::CoordinatorNotAvailable);
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
    _ctx: &RequestContext,
    req: DescribeProducersRequest,
) -> DescribeProducersResponse {
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let topic = broker.topic(&t.name);
            let partitions = t
                .partition_indexes
                .iter()
                .map(|&p| {
                    let r = PartitionResponse::default().with_partition_index(p);
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
