//! DeleteRecords and DescribeLogDirs: the log lifecycle as admin clients see it.

use std::sync::Arc;

use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::*;

use super::errors::KafkaCode;
use super::{authz, str_bytes, topic_name};
use crate::acl::Operation;
use crate::broker::Broker;
use crate::server::dispatch::RequestContext;

pub async fn delete_records(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: DeleteRecordsRequest,
) -> DeleteRecordsResponse {
    // DELETE on each topic.
    let denied: Vec<bool> = req
        .topics
        .iter()
        .map(|t| authz::topic(broker, ctx, Operation::Delete, &t.name).is_err())
        .collect();
    let b = broker.clone();
    // Segment deletion is file I/O: off the async threads.
    let topics = tokio::task::spawn_blocking(move || {
        req.topics
            .into_iter()
            .zip(denied)
            .map(|(t, denied)| {
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let r = DeleteRecordsPartitionResult::default()
                            .with_partition_index(p.partition_index);
                        if denied {
                            return r
                                .with_low_watermark(-1)
                                .with_error_code(authz::topic_denied());
                        }
                        match b.delete_records(t.name.as_str(), p.partition_index, p.offset) {
                            Ok(low) => r.with_low_watermark(low),
                            Err(e) => r.with_low_watermark(-1).with_error_code(e.kafka_code()),
                        }
                    })
                    .collect();
                DeleteRecordsTopicResult::default()
                    .with_name(t.name)
                    .with_partitions(partitions)
            })
            .collect()
    })
    .await
    .unwrap_or_default();
    DeleteRecordsResponse::default().with_topics(topics)
}

pub async fn describe_log_dirs(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: DescribeLogDirsRequest,
) -> DescribeLogDirsResponse {
    // DESCRIBE on the cluster.
    if let Err(d) = authz::cluster(broker, ctx, Operation::Describe) {
        return DescribeLogDirsResponse::default().with_error_code(d.kafka_code());
    }
    // None: every partition; otherwise the requested ones that exist.
    let wanted: Vec<(String, Option<Vec<i32>>)> = match req.topics {
        None => broker
            .topics()
            .iter()
            .map(|t| (t.name.clone(), None))
            .collect(),
        Some(ts) => ts
            .into_iter()
            .map(|t| (t.topic.to_string(), Some(t.partitions)))
            .collect(),
    };
    let mut topics = Vec::new();
    for (name, parts) in wanted {
        let Some(t) = broker.topic(&name) else {
            continue;
        };
        let indexes: Vec<i32> = parts.unwrap_or_else(|| (0..t.partition_count()).collect());
        let partitions: Vec<_> = indexes
            .into_iter()
            .filter_map(|i| {
                t.partition(i).map(|p| {
                    DescribeLogDirsPartition::default()
                        .with_partition_index(i)
                        .with_partition_size(p.size_bytes() as i64)
                        .with_offset_lag(0)
                        .with_is_future_key(false)
                })
            })
            .collect();
        if !partitions.is_empty() {
            topics.push(
                DescribeLogDirsTopic::default()
                    .with_name(topic_name(&name))
                    .with_partitions(partitions),
            );
        }
    }
    let usage = broker.log_dir_usage();
    DescribeLogDirsResponse::default().with_results(vec![DescribeLogDirsResult::default()
        .with_log_dir(str_bytes(&usage.path.display().to_string()))
        .with_topics(topics)
        .with_total_bytes(usage.total_bytes)
        .with_usable_bytes(usage.usable_bytes)])
}
