use std::sync::Arc;

use bytes::BytesMut;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::*;

use super::{code, str_bytes, topic_name};
use crate::broker::{Broker, Topic};
use crate::log::batch;
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
) -> PartitionProduceResponse {
    let index = data.index;
    let Some(log) = topic.partition(index) else {
        return error(index, code(ResponseError::UnknownTopicOrPartition), None);
    };
    let Some(records) = data.records else {
        return error(
            index,
            code(ResponseError::InvalidRecord),
            Some("produce request has no records".into()),
        );
    };
    let cfg = log.config();
    let header = match batch::validate_produce(&records, cfg.max_message_bytes) {
        Ok(h) => h,
        Err(e) => {
            tracing::debug!(topic = %topic.name, partition = index, error = %e, "rejected batch");
            return error(index, e.kafka_code(), Some(e.to_string()));
        }
    };
    // The one copy on the produce path: the batch must be mutable to take its offsets.
    let mut bytes = BytesMut::from(&records[..]);
    let appended = match log.append(&mut bytes, &header) {
        Ok(a) => a,
        Err(crate::log::LogError::Deleted) => {
            return error(index, code(ResponseError::UnknownTopicOrPartition), None);
        }
        Err(e) => {
            tracing::error!(topic = %topic.name, partition = index, error = %e, "append failed");
            return error(
                index,
                code(ResponseError::KafkaStorageError),
                Some(e.to_string()),
            );
        }
    };
    broker.data_arrived.notify_waiters();
    if acks != 0 {
        if let Err(e) = broker.flusher.durable(&log).await {
            tracing::error!(topic = %topic.name, partition = index, error = %e, "fsync failed");
            return error(index, code(ResponseError::KafkaStorageError), Some(e));
        }
    }
    PartitionProduceResponse::default()
        .with_index(index)
        .with_base_offset(appended.base_offset)
        .with_log_append_time_ms(appended.log_append_time.unwrap_or(-1))
        .with_log_start_offset(appended.log_start_offset)
}

/// Produce v3+. Returns `None` for acks=0: such a request gets no response at all.
pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: ProduceRequest,
) -> Option<ProduceResponse> {
    let by_id = ctx.api_version >= 13;
    let acks = req.acks;
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
                produce_partition(broker, topic, p, acks).await
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
