use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::*;

use super::errors::KafkaCode;
use super::{code, str_bytes, topic_name};
use crate::broker::{Broker, ProduceError, Topic};
use crate::log::LogError;
use crate::server::dispatch::RequestContext;

fn error(index: i32, err: i16, message: Option<String>) -> PartitionProduceResponse {
    PartitionProduceResponse::default()
        .with_index(index)
        .with_error_code(err)
        .with_base_offset(-1)
        .with_error_message(message.map(|m| str_bytes(&m)))
}

async fn produce_partition(
    broker: &Arc<Broker>,
    topic: &Topic,
    data: produce_request::PartitionProduceData,
    acks: i16,
    implicit_txn: Option<&str>,
) -> PartitionProduceResponse {
    let index = data.index;
    match broker
        .produce(topic, index, data.records.as_deref(), acks, implicit_txn)
        .await
    {
        Ok(appended) => PartitionProduceResponse::default()
            .with_index(index)
            .with_base_offset(appended.base_offset)
            .with_log_append_time_ms(appended.log_append_time.unwrap_or(-1))
            .with_log_start_offset(appended.log_start_offset),
        Err(e) => {
            match &e {
                ProduceError::Log(LogError::Io { .. }) | ProduceError::Flush(_) => {
                    tracing::error!(topic = %topic.name, partition = index, error = %e, "produce failed")
                }
                _ => {
                    tracing::debug!(topic = %topic.name, partition = index, error = %e, "produce refused")
                }
            }
            let message = match e {
                ProduceError::UnknownTopicOrPartition | ProduceError::Log(LogError::Deleted) => {
                    None
                }
                _ => Some(e.to_string()),
            };
            let resp = error(index, e.kafka_code(), message);
            match &e {
                ProduceError::Records { records, .. } => resp.with_record_errors(
                    records
                        .iter()
                        .map(|(i, m)| {
                            BatchIndexAndErrorMessage::default()
                                .with_batch_index(*i)
                                .with_batch_index_error_message(Some(str_bytes(m)))
                        })
                        .collect(),
                ),
                _ => resp,
            }
        }
    }
}

/// Produce v3+. Returns `None` for acks=0: such a request gets no response at all.
pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: ProduceRequest,
) -> Option<ProduceResponse> {
    let by_id = ctx.api_version >= 13;
    let acks = req.acks;
    // Transactions V2 (KIP-890): Produce v12+ adds its partitions to the transaction.
    let implicit_txn: Option<String> = req
        .transactional_id
        .as_ref()
        .filter(|t| ctx.api_version >= 12 && broker.transactions_v2() && !t.is_empty())
        .map(|t| t.to_string());
    let mut responses = Vec::with_capacity(req.topic_data.len());
    for t in req.topic_data {
        let topic = if by_id {
            broker.topic_by_id(t.topic_id)
        } else {
            broker.topic(&t.name)
        };
        let mut parts = Vec::with_capacity(t.partition_data.len());
        for p in t.partition_data {
            let resp = if !matches!(acks, -1..=1) {
                error(p.index, code(ResponseError::InvalidRequiredAcks), None)
            } else if let Some(topic) = &topic {
                produce_partition(broker, topic, p, acks, implicit_txn.as_deref()).await
            } else if by_id {
                error(p.index, code(ResponseError::UnknownTopicId), None)
            } else {
                error(p.index, code(ResponseError::UnknownTopicOrPartition), None)
            };
            parts.push(resp);
        }
        let mut tr = TopicProduceResponse::default().with_partition_responses(parts);
        tr = if by_id {
            tr.with_topic_id(t.topic_id)
        } else {
            tr.with_name(topic_name(&t.name))
        };
        responses.push(tr);
    }
    if acks == 0 {
        return None;
    }
    Some(ProduceResponse::default().with_responses(responses))
}
