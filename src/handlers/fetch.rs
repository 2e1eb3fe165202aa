//! Fetch v4–18: the wire request becomes a `FetchSpec` for `Broker::fetch` (which reads
//! and long-polls), and its results become the response.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::messages::*;

use super::authz;
use super::errors::KafkaCode;
use crate::acl::Operation;
use crate::broker::fetch::{FetchError, FetchSpec, PartitionSpec, TopicRef};
use crate::broker::Broker;
use crate::log::Isolation;
use crate::server::dispatch::RequestContext;
use crate::server::reply::FetchRecords;

const READ_COMMITTED: i8 = 1;

fn partition_error(index: i32, err: &FetchError) -> PartitionData {
    let d = PartitionData::default()
        .with_partition_index(index)
        .with_error_code(err.kafka_code())
        .with_high_watermark(-1)
        .with_last_stable_offset(-1)
        .with_log_start_offset(-1);
    match err {
        FetchError::OffsetOutOfRange { start, end } => d
            .with_high_watermark(*end)
            .with_last_stable_offset(*end)
            .with_log_start_offset(*start),
        _ => d,
    }
}

/// Fetch v4+ (sessionless: every response carries session id 0, so clients send full
/// requests). Long-polls up to `max_wait_ms` until `min_bytes` are available, woken early
/// by appends. The records stay in the segment files: they are returned beside the
/// response, by reference, for the connection to send from there.
pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: FetchRequest,
) -> (FetchResponse, FetchRecords) {
    let by_id = ctx.api_version >= 13;
    // READ on each topic (an unknown id is the broker's to answer).
    let denied: Vec<bool> = req
        .topics
        .iter()
        .map(|t| {
            let name = if by_id {
                match broker.topic_by_id(t.topic_id) {
                    Some(topic) => topic.name.clone(),
                    None => return false,
                }
            } else {
                t.topic.to_string()
            };
            authz::topic(broker, ctx, Operation::Read, &name).is_err()
        })
        .collect();
    let spec = FetchSpec {
        topics: req
            .topics
            .iter()
            .zip(&denied)
            .map(|(t, &denied)| {
                let topic = if by_id {
                    TopicRef::Id(t.topic_id)
                } else {
                    TopicRef::Name(t.topic.to_string())
                };
                let parts = t
                    .partitions
                    .iter()
                    .filter(|_| !denied)
                    .map(|p| PartitionSpec {
                        partition: p.partition,
                        offset: p.fetch_offset,
                        max_bytes: p.partition_max_bytes,
                        current_leader_epoch: p.current_leader_epoch,
                    })
                    .collect();
                (topic, parts)
            })
            .collect(),
        max_wait: Duration::from_millis(req.max_wait_ms.max(0) as u64),
        min_bytes: req.min_bytes.max(0) as usize,
        max_bytes: req.max_bytes,
        isolation: if req.isolation_level == READ_COMMITTED {
            Isolation::ReadCommitted
        } else {
            Isolation::ReadUncommitted
        },
    };
    let results = if spec.topics.iter().all(|(_, parts)| parts.is_empty()) {
        spec.topics.iter().map(|_| Vec::new()).collect()
    } else {
        broker.fetch(&spec).await
    };
    let mut records = FetchRecords::new();
    let responses = req
        .topics
        .into_iter()
        .zip(results)
        .enumerate()
        .map(|(ti, (t, results))| {
            if denied[ti] {
                let parts = t
                    .partitions
                    .iter()
                    .map(|p| {
                        PartitionData::default()
                            .with_partition_index(p.partition)
                            .with_error_code(authz::topic_denied())
                            .with_high_watermark(-1)
                            .with_last_stable_offset(-1)
                            .with_log_start_offset(-1)
                    })
                    .collect();
                let tr = FetchableTopicResponse::default().with_partitions(parts);
                return if by_id {
                    tr.with_topic_id(t.topic_id)
                } else {
                    tr.with_topic(t.topic)
                };
            }
            let parts = t
                .partitions
                .iter()
                .zip(results)
                .enumerate()
                .map(|(pi, (p, r))| match r {
                    Ok(r) => {
                        let aborted = r.aborted.map(|list| {
                            list.into_iter()
                                .map(|(pid, first)| {
                                    AbortedTransaction::default()
                                        .with_producer_id(ProducerId(pid))
                                        .with_first_offset(first)
                                })
                                .collect()
                        });
                        if !r.records.is_empty() {
                            records.push(((ti, pi), r.records));
                        }
                        PartitionData::default()
                            .with_partition_index(p.partition)
                            .with_high_watermark(r.high_watermark)
                            .with_last_stable_offset(r.last_stable_offset)
                            .with_log_start_offset(r.log_start_offset)
                            .with_aborted_transactions(aborted)
                    }
                    Err(e) => partition_error(p.partition, &e),
                })
                .collect();
            let tr = FetchableTopicResponse::default().with_partitions(parts);
            if by_id {
                tr.with_topic_id(t.topic_id)
            } else {
                tr.with_topic(t.topic)
            }
        })
        .collect();
    (FetchResponse::default().with_responses(responses), records)
}
