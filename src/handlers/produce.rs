use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::*;

use super::errors::KafkaCode;
use super::{authz, code, str_bytes, topic_name};
use crate::acl::Operation;
use crate::broker::{Broker, ProduceError, Topic};
use crate::log::{Appended, LogError};
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
    let result = broker
        .produce(topic, index, data.records.as_deref(), acks, implicit_txn)
        .await;
    partition_response(topic, index, result)
}

/// One partition's answer from the broker's result.
fn partition_response(
    topic: &Topic,
    index: i32,
    result: Result<Appended, ProduceError>,
) -> PartitionProduceResponse {
    match result {
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
    // A transactional producer needs WRITE on its transactional id (else every
    // partition is refused with TRANSACTIONAL_ID_AUTHORIZATION_FAILED).
    let txn_denied = req
        .transactional_id
        .as_ref()
        .filter(|t| !t.is_empty())
        .and_then(|t| authz::txn_id(broker, ctx, Operation::Write, t).err())
        .map(|d| d.kafka_code());
    let mut responses = Vec::with_capacity(req.topic_data.len());
    for t in req.topic_data {
        let topic = resolve(broker, by_id, &t);
        let allowed = authorized(broker, ctx, by_id, &t, topic.as_ref());
        let mut parts = Vec::with_capacity(t.partition_data.len());
        for p in t.partition_data {
            let admitted = match txn_denied {
                Some(code) => Err(code),
                None => admit(acks, topic.as_ref(), by_id, allowed),
            };
            let resp = match admitted {
                Ok(topic) => {
                    produce_partition(broker, topic, p, acks, implicit_txn.as_deref()).await
                }
                Err(code) => error(p.index, code, None),
            };
            parts.push(resp);
        }
        responses.push(topic_response(by_id, &t.name, t.topic_id, parts));
    }
    if acks == 0 {
        return None;
    }
    Some(ProduceResponse::default().with_responses(responses))
}

fn resolve(
    broker: &Broker,
    by_id: bool,
    t: &produce_request::TopicProduceData,
) -> Option<Arc<Topic>> {
    if by_id {
        broker.topic_by_id(t.topic_id)
    } else {
        broker.topic(&t.name)
    }
}

/// Whether the principal may WRITE to the topic: by name before it is looked up (an
/// unknown topic one may not write is TOPIC_AUTHORIZATION_FAILED, as in Kafka), by id
/// once it is found.
fn authorized(
    broker: &Broker,
    ctx: &RequestContext,
    by_id: bool,
    t: &produce_request::TopicProduceData,
    topic: Option<&Arc<Topic>>,
) -> bool {
    let name = match (by_id, topic) {
        (false, _) => t.name.as_str(),
        (true, Some(topic)) => topic.name.as_str(),
        (true, None) => return true,
    };
    authz::topic(broker, ctx, Operation::Write, name).is_ok()
}

/// The topic a partition's records go to, or the error code when it is refused before
/// the broker is asked (bad acks, not authorized, unknown topic).
fn admit(
    acks: i16,
    topic: Option<&Arc<Topic>>,
    by_id: bool,
    allowed: bool,
) -> Result<&Arc<Topic>, i16> {
    if !matches!(acks, -1..=1) {
        Err(code(ResponseError::InvalidRequiredAcks))
    } else if !allowed {
        Err(authz::topic_denied())
    } else if let Some(topic) = topic {
        Ok(topic)
    } else if by_id {
        Err(code(ResponseError::UnknownTopicId))
    } else {
        Err(code(ResponseError::UnknownTopicOrPartition))
    }
}

/// Where an answer goes in a group of requests: (request, topic, partition) indexes.
type Slot = (usize, usize, usize);

/// The record sets (and acks) of pipelined requests for one partition, in request order,
/// and where each answer goes.
struct PartitionSets<'a> {
    topic: Arc<Topic>,
    index: i32,
    sets: Vec<(Option<&'a [u8]>, i16)>,
    slots: Vec<Slot>,
}

fn topic_response(
    by_id: bool,
    name: &TopicName,
    id: uuid::Uuid,
    parts: Vec<PartitionProduceResponse>,
) -> TopicProduceResponse {
    let tr = TopicProduceResponse::default().with_partition_responses(parts);
    if by_id {
        tr.with_topic_id(id)
    } else {
        tr.with_name(topic_name(name))
    }
}

/// Several pipelined Produce requests of one connection, answered as `handle` would
/// answer them one after another, but with each partition's batches appended together
/// (`Broker::produce_many`: one write for all). Requests of transactional producers are
/// handled one by one.
pub async fn handle_many(
    broker: &Arc<Broker>,
    ctxs: &[RequestContext],
    reqs: Vec<ProduceRequest>,
) -> Vec<Option<ProduceResponse>> {
    let transactional = reqs
        .iter()
        .any(|r| r.transactional_id.as_ref().is_some_and(|t| !t.is_empty()));
    if transactional || reqs.len() < 2 {
        let mut out = Vec::with_capacity(reqs.len());
        for (ctx, req) in ctxs.iter().zip(reqs) {
            out.push(handle(broker, ctx, req).await);
        }
        return out;
    }
    // Each request's answers, per topic and partition: refusals at once, the rest after.
    let mut answers: Vec<Vec<Vec<Option<PartitionProduceResponse>>>> =
        Vec::with_capacity(reqs.len());
    let mut groups: Vec<PartitionSets> = Vec::new();
    for (ri, (ctx, req)) in ctxs.iter().zip(&reqs).enumerate() {
        let by_id = ctx.api_version >= 13;
        let mut topics = Vec::with_capacity(req.topic_data.len());
        for (ti, t) in req.topic_data.iter().enumerate() {
            let topic = resolve(broker, by_id, t);
            let allowed = authorized(broker, ctx, by_id, t, topic.as_ref());
            let mut parts = Vec::with_capacity(t.partition_data.len());
            for (pi, p) in t.partition_data.iter().enumerate() {
                match admit(req.acks, topic.as_ref(), by_id, allowed) {
                    Ok(topic) => {
                        let at = match groups
                            .iter()
                            .position(|g| Arc::ptr_eq(&g.topic, topic) && g.index == p.index)
                        {
                            Some(at) => at,
                            None => {
                                groups.push(PartitionSets {
                                    topic: topic.clone(),
                                    index: p.index,
                                    sets: Vec::new(),
                                    slots: Vec::new(),
                                });
                                groups.len() - 1
                            }
                        };
                        groups[at].sets.push((p.records.as_deref(), req.acks));
                        groups[at].slots.push((ri, ti, pi));
                        parts.push(None);
                    }
                    Err(code) => parts.push(Some(error(p.index, code, None))),
                }
            }
            topics.push(parts);
        }
        answers.push(topics);
    }
    tracing::debug!(
        requests = reqs.len(),
        partitions = groups.len(),
        "pipelined produce requests appended together"
    );
    for g in &groups {
        let results = broker.produce_many(&g.topic, g.index, &g.sets).await;
        for (&(ri, ti, pi), result) in g.slots.iter().zip(results) {
            answers[ri][ti][pi] = Some(partition_response(&g.topic, g.index, result));
        }
    }
    ctxs.iter()
        .zip(reqs)
        .zip(answers)
        .map(|((ctx, req), topics)| {
            if req.acks == 0 {
                return None;
            }
            let by_id = ctx.api_version >= 13;
            let responses = req
                .topic_data
                .into_iter()
                .zip(topics)
                .map(|(t, parts)| {
                    // Every admitted partition was answered by its group above.
                    let parts = parts.into_iter().flatten().collect();
                    topic_response(by_id, &t.name, t.topic_id, parts)
                })
                .collect();
            Some(ProduceResponse::default().with_responses(responses))
        })
        .collect()
}
