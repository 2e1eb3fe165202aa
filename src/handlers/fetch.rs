use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::messages::*;
use tokio::time::Instant;

use super::code;
use crate::broker::{Broker, Topic};
use crate::log::{Isolation, LogError};
use crate::server::dispatch::RequestContext;

const READ_COMMITTED: i8 = 1;

fn partition_error(index: i32, err: ResponseError) -> PartitionData {
    PartitionData::default()
        .with_partition_index(index)
        .with_error_code(code(err))
        .with_high_watermark(-1)
        .with_last_stable_offset(-1)
        .with_log_start_offset(-1)
}

/// One pass over the requested partitions. Returns the response topics, the bytes
/// gathered, and whether any partition carries an error (which ends the long poll).
fn gather(
    req: &FetchRequest,
    topics: &[Option<Arc<Topic>>],
    by_id: bool,
) -> (Vec<FetchableTopicResponse>, usize, bool) {
    let mut remaining = if req.max_bytes <= 0 {
        usize::MAX
    } else {
        req.max_bytes as usize
    };
    let mut total = 0usize;
    let mut any_error = false;
    let isolation = if req.isolation_level == READ_COMMITTED {
        Isolation::ReadCommitted
    } else {
        Isolation::ReadUncommitted
    };
    let unknown = if by_id {
        ResponseError::UnknownTopicId
    } else {
        ResponseError::UnknownTopicOrPartition
    };
    let mut out = Vec::with_capacity(req.topics.len());
    for (t, topic) in req.topics.iter().zip(topics) {
        let mut parts = Vec::with_capacity(t.partitions.len());
        for p in &t.partitions {
            let Some(log) = topic.as_ref().and_then(|tp| tp.partition(p.partition)) else {
                any_error = true;
                parts.push(partition_error(
                    p.partition,
                    if topic.is_some() {
                        ResponseError::UnknownTopicOrPartition
                    } else {
                        unknown
                    },
                ));
                continue;
            };
            if p.current_leader_epoch > 0 {
                any_error = true;
                parts.push(partition_error(
                    p.partition,
                    ResponseError::UnknownLeaderEpoch,
                ));
                continue;
            }
            let limit = (p.partition_max_bytes.max(0) as usize).min(remaining);
            // KIP-74: the first batch of the first non-empty partition is returned even
            // when it exceeds the limits, so consumers always make progress.
            let min_one = total == 0;
            match log.read(p.fetch_offset, limit, min_one, isolation) {
                Ok(r) => {
                    let n = r.records.len();
                    total += n;
                    remaining = remaining.saturating_sub(n);
                    let aborted = r.aborted.map(|list| {
                        list.into_iter()
                            .map(|(pid, first)| {
                                AbortedTransaction::default()
                                    .with_producer_id(ProducerId(pid))
                                    .with_first_offset(first)
                            })
                            .collect()
                    });
                    parts.push(
                        PartitionData::default()
                            .with_partition_index(p.partition)
                            .with_high_watermark(r.high_watermark)
                            .with_last_stable_offset(r.last_stable_offset)
                            .with_log_start_offset(r.log_start_offset)
                            .with_aborted_transactions(aborted)
                            .with_records(Some(r.records)),
                    );
                }
                Err(LogError::Deleted) => {
                    any_error = true;
                    parts.push(partition_error(p.partition, unknown));
                }
                Err(LogError::OffsetOutOfRange { .. }) => {
                    any_error = true;
                    let (start, end) = log.offsets();
                    parts.push(
                        partition_error(p.partition, ResponseError::OffsetOutOfRange)
                            .with_high_watermark(end)
                            .with_last_stable_offset(end)
                            .with_log_start_offset(start),
                    );
                }
                Err(e) => {
                    tracing::error!(error = %e, "fetch read failed");
                    any_error = true;
                    parts.push(partition_error(
                        p.partition,
                        ResponseError::KafkaStorageError,
                    ));
                }
            }
        }
        let mut tr = FetchableTopicResponse::default().with_partitions(parts);
        tr = if by_id {
            tr.with_topic_id(t.topic_id)
        } else {
            tr.with_topic(t.topic.clone())
        };
        out.push(tr);
    }
    (out, total, any_error)
}

/// Fetch v4+ (sessionless: every response carries session id 0, so clients send full
/// requests). Long-polls up to `max_wait_ms` until `min_bytes` are available, woken early
/// by appends.
pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: FetchRequest,
) -> FetchResponse {
    let by_id = ctx.api_version >= 13;
    // Topics are looked up on every pass, so one deleted during the wait is reported.
    let resolve = || -> Vec<Option<Arc<Topic>>> {
        req.topics
            .iter()
            .map(|t| {
                if by_id {
                    broker.topic_by_id(t.topic_id)
                } else {
                    broker.topic(&t.topic)
                }
            })
            .collect()
    };
    let deadline = Instant::now() + Duration::from_millis(req.max_wait_ms.max(0) as u64);
    let min_bytes = req.min_bytes.max(0) as usize;
    loop {
        let notified = broker.data_arrived.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let (responses, total, any_error) = gather(&req, &resolve(), by_id);
        if total >= min_bytes || any_error || Instant::now() >= deadline || broker.is_stopping() {
            return FetchResponse::default().with_responses(responses);
        }
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
}
