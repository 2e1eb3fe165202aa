//! Transactions: AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, TxnOffsetCommit,
//! WriteTxnMarkers, DescribeTransactions, ListTransactions. Each turns the wire request
//! into a `TxnService` call and its result into Kafka error codes.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::describe_transactions_response::{
    TopicData, TransactionState as DescribedTxn,
};
use kafka_protocol::messages::list_transactions_response::TransactionState as ListedTxn;
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::errors::KafkaCode;
use super::{authz, code, str_bytes, topic_name};
use crate::acl::Operation;
use crate::broker::Broker;
use crate::log::now_ms;
use crate::meta::{CommittedOffset, TxnState};
use crate::server::dispatch::RequestContext;
use crate::txn::{ListFilter, TxnError, TxnFailure};

fn fail_code(e: &TxnFailure) -> i16 {
    if !matches!(e, TxnFailure::Txn(_)) {
        tracing::error!(error = %e, "transaction operation failed");
    }
    e.kafka_code()
}

/// AddPartitionsToTxn v0–3 (the client versions; v4+ are broker-to-broker).
pub async fn add_partitions_to_txn(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: AddPartitionsToTxnRequest,
) -> AddPartitionsToTxnResponse {
    let mut wanted = Vec::new();
    // Refused partitions and their codes: WRITE on the transactional id, then on each
    // topic, then unknown ones. If any is refused, none is added.
    let mut unknown: Vec<((String, i32), i16)> = Vec::new();
    let txn_denied = authz::txn_id(
        broker,
        ctx,
        Operation::Write,
        &req.v3_and_below_transactional_id,
    )
    .err()
    .map(|d| d.kafka_code());
    for t in &req.v3_and_below_topics {
        let topic = broker.topic(&t.name);
        let topic_denied = authz::topic(broker, ctx, Operation::Write, &t.name).is_err();
        for &p in &t.partitions {
            let key = (t.name.to_string(), p);
            if let Some(c) = txn_denied {
                unknown.push((key, c));
            } else if topic_denied {
                unknown.push((key, authz::topic_denied()));
            } else if topic.as_ref().and_then(|tp| tp.partition(p)).is_some() {
                wanted.push(key);
            } else {
                unknown.push((key, code(ResponseError::UnknownTopicOrPartition)));
            }
        }
    }
    // Kafka checks the partitions first: if any is unknown, none is added.
    let result = if unknown.is_empty() {
        broker
            .txns
            .add_partitions(
                broker,
                &req.v3_and_below_transactional_id,
                req.v3_and_below_producer_id.0,
                req.v3_and_below_producer_epoch,
                &wanted,
            )
            .await
            .map_err(|e| fail_code(&e))
    } else {
        Err(code(ResponseError::OperationNotAttempted))
    };
    let err_of = |t: &str, p: i32| match &result {
        Ok(()) => 0,
        Err(e) if !unknown.is_empty() => unknown
            .iter()
            .find(|((ut, up), _)| ut == t && *up == p)
            .map_or(*e, |(_, c)| *c),
        Err(e) => *e,
    };
    let topics = req
        .v3_and_below_topics
        .iter()
        .map(|t| {
            AddPartitionsToTxnTopicResult::default()
                .with_name(t.name.clone())
                .with_results_by_partition(
                    t.partitions
                        .iter()
                        .map(|&p| {
                            AddPartitionsToTxnPartitionResult::default()
                                .with_partition_index(p)
                                .with_partition_error_code(err_of(&t.name, p))
                        })
                        .collect(),
                )
        })
        .collect();
    AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(topics)
}

pub async fn add_offsets_to_txn(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: AddOffsetsToTxnRequest,
) -> AddOffsetsToTxnResponse {
    // WRITE on the transactional id, READ on the group.
    if let Err(d) = authz::txn_id(broker, ctx, Operation::Write, &req.transactional_id)
        .and_then(|()| authz::group(broker, ctx, Operation::Read, &req.group_id))
    {
        return AddOffsetsToTxnResponse::default().with_error_code(d.kafka_code());
    }
    let err = match broker
        .txns
        .add_offsets(
            broker,
            &req.transactional_id,
            req.producer_id.0,
            req.producer_epoch,
            &req.group_id,
        )
        .await
    {
        Ok(()) => 0,
        Err(e) => fail_code(&e),
    };
    AddOffsetsToTxnResponse::default().with_error_code(err)
}

/// EndTxn v0–5; v5 is Transactions V2: the epoch is bumped and returned.
pub async fn end_txn(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: EndTxnRequest,
) -> EndTxnResponse {
    let tv2 = ctx.api_version >= 5 && broker.transactions_v2();
    if let Err(d) = authz::txn_id(broker, ctx, Operation::Write, &req.transactional_id) {
        return EndTxnResponse::default()
            .with_error_code(d.kafka_code())
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1);
    }
    match broker
        .txns
        .end_txn(
            broker,
            &req.transactional_id,
            req.producer_id.0,
            req.producer_epoch,
            req.committed,
            tv2,
        )
        .await
    {
        Ok((pid, epoch)) => EndTxnResponse::default()
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch),
        Err(e) => EndTxnResponse::default()
            .with_error_code(fail_code(&e))
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1),
    }
}

/// TxnOffsetCommit v0–5: the group's member checks (KIP-447, v3+), then the offsets are
/// staged in the transaction and reach the group only if it commits. v5 (Transactions
/// V2) adds the group to the transaction itself.
pub async fn txn_offset_commit(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: TxnOffsetCommitRequest,
) -> TxnOffsetCommitResponse {
    let group = req.group_id.to_string();
    let (member, generation, instance) = if ctx.api_version >= 3 {
        (
            req.member_id.to_string(),
            req.generation_id,
            req.group_instance_id.as_ref().map(|s| s.to_string()),
        )
    } else {
        (String::new(), -1, None)
    };
    let checked = broker.groups.with(|c, now| {
        c.validate_txn_commit(now, &group, &member, generation, instance.as_deref())
    });
    let now = now_ms();
    let mut staged = Vec::new();
    let mut per_partition: Vec<Vec<i16>> = Vec::new();
    // WRITE on the transactional id, READ on the group, READ on each topic.
    let denied = authz::txn_id(broker, ctx, Operation::Write, &req.transactional_id)
        .and_then(|()| authz::group(broker, ctx, Operation::Read, &group))
        .err()
        .map(|d| d.kafka_code());
    for t in &req.topics {
        let topic = broker.topic(&t.name);
        let topic_denied = authz::topic(broker, ctx, Operation::Read, &t.name).is_err();
        let mut errs = Vec::with_capacity(t.partitions.len());
        for p in &t.partitions {
            let err = match denied {
                Some(c) => c,
                None if topic_denied => authz::topic_denied(),
                None => super::groups::commit_entry_error(
                    checked,
                    topic.as_ref(),
                    p.partition_index,
                    p.committed_metadata.as_ref(),
                ),
            };
            if err == 0 {
                staged.push((
                    t.name.to_string(),
                    p.partition_index,
                    CommittedOffset {
                        offset: p.committed_offset,
                        leader_epoch: p.committed_leader_epoch,
                        metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
                        commit_timestamp: now,
                        expire_timestamp: None,
                    },
                ));
            }
            errs.push(err);
        }
        per_partition.push(errs);
    }
    let stage_err = if staged.is_empty() {
        0
    } else {
        match broker
            .txns
            .stage_offsets(
                broker,
                &req.transactional_id,
                req.producer_id.0,
                req.producer_epoch,
                &group,
                staged,
                ctx.api_version >= 5 && broker.transactions_v2(),
            )
            .await
        {
            Ok(()) => 0,
            Err(e) => fail_code(&e),
        }
    };
    let topics = req
        .topics
        .iter()
        .zip(per_partition)
        .map(|(t, errs)| {
            TxnOffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(
                    t.partitions
                        .iter()
                        .zip(errs)
                        .map(|(p, e)| {
                            TxnOffsetCommitResponsePartition::default()
                                .with_partition_index(p.partition_index)
                                .with_error_code(if e == 0 { stage_err } else { e })
                        })
                        .collect(),
                )
        })
        .collect();
    TxnOffsetCommitResponse::default().with_topics(topics)
}

/// WriteTxnMarkers v1: writes markers directly (what `kafka-transactions.sh abort` uses
/// to end a hanging transaction the coordinator does not know).
pub async fn write_txn_markers(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: WriteTxnMarkersRequest,
) -> WriteTxnMarkersResponse {
    // CLUSTER_ACTION on the cluster (Kafka's brokers send these to each other).
    let denied = authz::cluster(broker, ctx, Operation::ClusterAction)
        .err()
        .map(|d| d.kafka_code());
    let mut results = Vec::with_capacity(req.markers.len());
    for m in &req.markers {
        let mut topics = Vec::with_capacity(m.topics.len());
        for t in &m.topics {
            let topic = broker.topic(&t.name);
            let mut parts = Vec::with_capacity(t.partition_indexes.len());
            for &p in &t.partition_indexes {
                let log = topic.as_ref().and_then(|tp| tp.partition(p));
                let err = match denied.map_or(Ok(log), Err) {
                    Err(c) => c,
                    Ok(None) => code(ResponseError::UnknownTopicOrPartition),
                    Ok(Some(log)) => match log.append_marker(
                        m.producer_id.0,
                        m.producer_epoch,
                        m.coordinator_epoch,
                        m.transaction_result,
                    ) {
                        Ok(_) => match broker.flusher.durable(&log).await {
                            Ok(()) => 0,
                            Err(_) => code(ResponseError::KafkaStorageError),
                        },
                        Err(e) => e.kafka_code(),
                    },
                };
                parts.push(
                    WritableTxnMarkerPartitionResult::default()
                        .with_partition_index(p)
                        .with_error_code(err),
                );
            }
            topics.push(
                WritableTxnMarkerTopicResult::default()
                    .with_name(t.name.clone())
                    .with_partitions(parts),
            );
        }
        results.push(
            WritableTxnMarkerResult::default()
                .with_producer_id(m.producer_id)
                .with_topics(topics),
        );
    }
    broker.data_arrived.notify_waiters();
    WriteTxnMarkersResponse::default().with_markers(results)
}

pub async fn describe_transactions(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: DescribeTransactionsRequest,
) -> DescribeTransactionsResponse {
    let coord = broker.txns.read().await;
    let states = req
        .transactional_ids
        .iter()
        .map(|id| {
            let resp = DescribedTxn::default().with_transactional_id(id.clone());
            if let Err(d) = authz::txn_id(broker, ctx, Operation::Describe, id) {
                return resp.with_error_code(d.kafka_code());
            }
            let Some(r) = coord.get(id) else {
                return resp.with_error_code(
                    TxnError::TransactionalIdNotFound(id.to_string()).kafka_code(),
                );
            };
            let mut topics: Vec<TopicData> = Vec::new();
            for (t, p) in &r.partitions {
                match topics.last_mut() {
                    Some(last) if last.topic.as_str() == t => last.partitions.push(*p),
                    _ => topics.push(
                        TopicData::default()
                            .with_topic(topic_name(t))
                            .with_partitions(vec![*p]),
                    ),
                }
            }
            resp.with_transaction_state(str_bytes(r.state.name()))
                .with_transaction_timeout_ms(r.timeout_ms)
                .with_transaction_start_time_ms(r.start_ms)
                .with_producer_id(ProducerId(r.producer_id))
                .with_producer_epoch(r.epoch)
                .with_topics(topics)
        })
        .collect();
    DescribeTransactionsResponse::default().with_transaction_states(states)
}

/// ListTransactions v0–2: state and producer id filters, duration (v1), id pattern (v2).
pub async fn list_transactions(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: ListTransactionsRequest,
) -> ListTransactionsResponse {
    let mut filter = ListFilter {
        min_duration_ms: if ctx.api_version >= 1 {
            req.duration_filter
        } else {
            -1
        },
        producer_ids: req.producer_id_filters.iter().map(|p| p.0).collect(),
        ..ListFilter::default()
    };
    let mut unknown: Vec<StrBytes> = Vec::new();
    for s in &req.state_filters {
        match TxnState::ALL.iter().find(|st| st.name() == s.as_str()) {
            Some(st) => filter.states.push(*st),
            None => unknown.push(s.clone()),
        }
    }
    let pattern = match req
        .transactional_id_pattern
        .as_deref()
        .filter(|p| ctx.api_version >= 2 && !p.is_empty())
    {
        None => None,
        Some(p) => match regex::Regex::new(&format!("^(?:{p})$")) {
            Ok(re) => Some(re),
            Err(_) => {
                return ListTransactionsResponse::default()
                    .with_error_code(code(ResponseError::InvalidRegularExpression));
            }
        },
    };
    let coord = broker.txns.read().await;
    // A state filter naming only unknown states matches nothing (as in Kafka).
    let states = if !unknown.is_empty() && filter.states.is_empty() {
        Vec::new()
    } else {
        coord
            .list(now_ms(), &filter)
            .into_iter()
            .filter(|r| {
                pattern
                    .as_ref()
                    .is_none_or(|re| re.is_match(&r.transactional_id))
            })
            // Only the transactional ids one may describe.
            .filter(|r| {
                authz::txn_id(broker, ctx, Operation::Describe, &r.transactional_id).is_ok()
            })
            .map(|r| {
                ListedTxn::default()
                    .with_transactional_id(TransactionalId(str_bytes(&r.transactional_id)))
                    .with_producer_id(ProducerId(r.producer_id))
                    .with_transaction_state(str_bytes(r.state.name()))
            })
            .collect()
    };
    ListTransactionsResponse::default()
        .with_unknown_state_filters(unknown)
        .with_transaction_states(states)
}
