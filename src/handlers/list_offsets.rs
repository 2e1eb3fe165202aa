use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::*;

use super::errors::KafkaCode;
use super::{authz, code};
use crate::acl::Operation;
use crate::broker::Broker;
use crate::log::{LogError, PartitionLog};
use crate::server::dispatch::RequestContext;

pub const LATEST: i64 = -1;
pub const EARLIEST: i64 = -2;
pub const MAX_TIMESTAMP: i64 = -3;
pub const EARLIEST_LOCAL: i64 = -4;
pub const LATEST_TIERED: i64 = -5;

/// (offset, timestamp) for one ListOffsets query; (-1, -1) when there is no such record.
/// Under read_committed (`committed`) nothing at or past the last stable offset is
/// visible, and LATEST is the last stable offset, as in Kafka.
fn lookup(log: &PartitionLog, ts: i64, committed: bool) -> Result<(i64, i64), LogError> {
    let (start, end) = log.offsets();
    let visible_end = if committed {
        log.last_stable_offset()
    } else {
        end
    };
    let found = match ts {
        LATEST => return Ok((visible_end, -1)),
        EARLIEST | EARLIEST_LOCAL => return Ok((start, -1)),
        LATEST_TIERED => return Ok((-1, -1)),
        MAX_TIMESTAMP => log.max_timestamp_offset()?,
        t => log.offset_for_timestamp(t)?,
    };
    Ok(found
        .filter(|&(offset, _)| offset < visible_end)
        .unwrap_or((-1, -1)))
}

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: ListOffsetsRequest,
) -> ListOffsetsResponse {
    let version = ctx.api_version;
    let committed = version >= 2 && req.isolation_level == 1;
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let allowed = authz::topic(broker, ctx, Operation::Describe, &t.name).is_ok();
            let topic = broker.topic(&t.name);
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let resp = ListOffsetsPartitionResponse::default()
                        .with_partition_index(p.partition_index)
                        .with_timestamp(-1)
                        .with_offset(-1)
                        .with_leader_epoch(-1);
                    if !allowed {
                        return resp.with_error_code(authz::topic_denied());
                    }
                    let Some(log) = topic.as_ref().and_then(|t| t.partition(p.partition_index))
                    else {
                        return resp.with_error_code(code(ResponseError::UnknownTopicOrPartition));
                    };
                    if p.current_leader_epoch > 0 {
                        return resp.with_error_code(code(ResponseError::UnknownLeaderEpoch));
                    }
                    let needs = match p.timestamp {
                        MAX_TIMESTAMP => 7,
                        EARLIEST_LOCAL => 8,
                        LATEST_TIERED => 9,
                        _ => 0,
                    };
                    if version < needs {
                        return resp.with_error_code(code(ResponseError::UnsupportedVersion));
                    }
                    match lookup(&log, p.timestamp, committed) {
                        // leader_epoch exists from v4 and may not be set below it.
                        Ok((offset, ts)) => resp
                            .with_offset(offset)
                            .with_timestamp(ts)
                            .with_leader_epoch(if offset >= 0 && version >= 4 { 0 } else { -1 }),
                        Err(e) => {
                            tracing::error!(error = %e, "list offsets failed");
                            resp.with_error_code(e.kafka_code())
                        }
                    }
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}
