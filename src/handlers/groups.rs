//! Classic consumer groups: FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
//! DescribeGroups, ListGroups, DeleteGroups, and committed offsets (OffsetCommit,
//! OffsetFetch, OffsetDelete). Group logic lives in `crate::group`; this module maps
//! wire versions onto it.

use std::collections::HashSet;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::errors::KafkaCode;
use super::{authz, code, str_bytes, topic_name};
use crate::acl::Operation;
use crate::broker::offsets::Committed;
use crate::broker::Broker;
use crate::group;
use crate::log::now_ms;
use crate::meta::{CommittedOffset, GroupOffset};
use crate::server::dispatch::RequestContext;

/// Kafka's `offset.metadata.max.bytes`.
const OFFSET_METADATA_MAX_BYTES: usize = 4096;

/// The per-partition checks of OffsetCommit and TxnOffsetCommit: the group check's
/// error if any, else UNKNOWN_TOPIC_OR_PARTITION or OFFSET_METADATA_TOO_LARGE, else 0.
pub(super) fn commit_entry_error(
    group_check: Result<(), group::GroupCode>,
    topic: Option<&Arc<crate::broker::Topic>>,
    partition: i32,
    metadata: Option<&StrBytes>,
) -> i16 {
    if let Err(e) = group_check {
        e.kafka_code()
    } else if topic.and_then(|t| t.partition(partition)).is_none() {
        code(ResponseError::UnknownTopicOrPartition)
    } else if metadata.is_some_and(|m| m.len() > OFFSET_METADATA_MAX_BYTES) {
        code(ResponseError::OffsetMetadataTooLarge)
    } else {
        0
    }
}
const KEY_TYPE_GROUP: i8 = 0;
const KEY_TYPE_TRANSACTION: i8 = 1;

fn opt(s: &Option<StrBytes>) -> Option<String> {
    s.as_ref().map(|v| v.to_string())
}

fn sopt(s: &Option<String>) -> Option<StrBytes> {
    s.as_deref().map(str_bytes)
}

fn client_id(ctx: &RequestContext) -> String {
    ctx.client_id.clone().unwrap_or_default()
}

pub async fn find_coordinator(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    let node = BrokerId(broker.config.node_id);
    let listener = broker.config.listener(ctx.listener);
    let host = str_bytes(&listener.advertised_host);
    let port = listener.advertised_port as i32;
    // Rill coordinates every group and every transactional id (share groups: none).
    // DESCRIBE on the group or transactional id.
    let answer = |key_type: i8, key: &str| -> (i16, Option<StrBytes>) {
        let allowed = match key_type {
            KEY_TYPE_GROUP => authz::group(broker, ctx, Operation::Describe, key),
            KEY_TYPE_TRANSACTION => authz::txn_id(broker, ctx, Operation::Describe, key),
            _ => Ok(()),
        };
        if let Err(d) = allowed {
            (d.kafka_code(), Some(str_bytes(&d.to_string())))
        } else if key_type == KEY_TYPE_GROUP || key_type == KEY_TYPE_TRANSACTION {
            (0, None)
        } else {
            (
                code(ResponseError::CoordinatorNotAvailable),
                Some(str_bytes("Rill coordinates groups and transactions only")),
            )
        }
    };
    if ctx.api_version >= 4 {
        let coordinators = req
            .coordinator_keys
            .iter()
            .map(|k| {
                let (err, msg) = answer(req.key_type, k);
                let c = Coordinator::default()
                    .with_key(k.clone())
                    .with_error_code(err)
                    .with_error_message(msg);
                if err == 0 {
                    c.with_node_id(node).with_host(host.clone()).with_port(port)
                } else {
                    c.with_node_id(BrokerId(-1)).with_port(-1)
                }
            })
            .collect();
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    let (err, msg) = answer(req.key_type, &req.key);
    let resp = FindCoordinatorResponse::default().with_error_code(err);
    let resp = if ctx.api_version >= 1 {
        resp.with_error_message(msg)
    } else {
        resp
    };
    if err == 0 {
        resp.with_node_id(node).with_host(host).with_port(port)
    } else {
        resp.with_node_id(BrokerId(-1)).with_port(-1)
    }
}

pub async fn join_group(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: JoinGroupRequest,
) -> JoinGroupResponse {
    let v = ctx.api_version;
    if let Err(d) = authz::group(broker, ctx, Operation::Read, &req.group_id) {
        return JoinGroupResponse::default()
            .with_error_code(d.kafka_code())
            .with_generation_id(-1)
            .with_protocol_name((v < 7).then(|| str_bytes("")));
    }
    let r = broker
        .groups
        .join(group::JoinGroup {
            group_id: req.group_id.to_string(),
            member_id: req.member_id.to_string(),
            group_instance_id: opt(&req.group_instance_id),
            protocol_type: req.protocol_type.to_string(),
            protocols: req
                .protocols
                .iter()
                .map(|p| (p.name.to_string(), p.metadata.clone()))
                .collect(),
            session_timeout_ms: req.session_timeout_ms,
            // v0 has no rebalance timeout: Kafka uses the session timeout.
            rebalance_timeout_ms: if v == 0 {
                req.session_timeout_ms
            } else {
                req.rebalance_timeout_ms
            },
            require_known_member_id: v >= 4,
            supports_skip_assignment: v >= 9,
            reason: opt(&req.reason),
            client_id: client_id(ctx),
            client_host: ctx.client_host.clone(),
        })
        .await;
    let mut resp = JoinGroupResponse::default()
        .with_error_code(r.error_code.kafka_code())
        .with_generation_id(r.generation_id)
        .with_leader(str_bytes(&r.leader))
        .with_member_id(str_bytes(&r.member_id))
        .with_members(
            r.members
                .iter()
                .map(|m| {
                    JoinGroupResponseMember::default()
                        .with_member_id(str_bytes(&m.member_id))
                        .with_group_instance_id(sopt(&m.group_instance_id))
                        .with_metadata(m.metadata.clone())
                })
                .collect(),
        );
    // protocol_name is nullable only from v7; before that it is "" when unknown.
    resp = if v >= 7 {
        resp.with_protocol_type(sopt(&r.protocol_type))
            .with_protocol_name(sopt(&r.protocol_name))
    } else {
        resp.with_protocol_name(Some(str_bytes(r.protocol_name.as_deref().unwrap_or(""))))
    };
    if v >= 9 {
        resp = resp.with_skip_assignment(r.skip_assignment);
    }
    resp
}

pub async fn sync_group(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: SyncGroupRequest,
) -> SyncGroupResponse {
    let v = ctx.api_version;
    if let Err(d) = authz::group(broker, ctx, Operation::Read, &req.group_id) {
        return SyncGroupResponse::default().with_error_code(d.kafka_code());
    }
    let r = broker
        .groups
        .sync(group::SyncGroup {
            group_id: req.group_id.to_string(),
            generation_id: req.generation_id,
            member_id: req.member_id.to_string(),
            group_instance_id: opt(&req.group_instance_id),
            protocol_type: if v >= 5 {
                opt(&req.protocol_type)
            } else {
                None
            },
            protocol_name: if v >= 5 {
                opt(&req.protocol_name)
            } else {
                None
            },
            assignments: req
                .assignments
                .iter()
                .map(|a| (a.member_id.to_string(), a.assignment.clone()))
                .collect(),
        })
        .await;
    let resp = SyncGroupResponse::default()
        .with_error_code(r.error_code.kafka_code())
        .with_assignment(r.assignment);
    if v >= 5 {
        resp.with_protocol_type(sopt(&r.protocol_type))
            .with_protocol_name(sopt(&r.protocol_name))
    } else {
        resp
    }
}

pub async fn heartbeat(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: HeartbeatRequest,
) -> HeartbeatResponse {
    if let Err(d) = authz::group(broker, ctx, Operation::Read, &req.group_id) {
        return HeartbeatResponse::default().with_error_code(d.kafka_code());
    }
    let err = broker
        .groups
        .heartbeat(group::Heartbeat {
            group_id: req.group_id.to_string(),
            generation_id: req.generation_id,
            member_id: req.member_id.to_string(),
            group_instance_id: opt(&req.group_instance_id),
        })
        .await;
    HeartbeatResponse::default().with_error_code(err.kafka_code())
}

pub async fn leave_group(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: LeaveGroupRequest,
) -> LeaveGroupResponse {
    let v = ctx.api_version;
    if let Err(d) = authz::group(broker, ctx, Operation::Read, &req.group_id) {
        return LeaveGroupResponse::default().with_error_code(d.kafka_code());
    }
    let members = if v >= 3 {
        req.members
            .iter()
            .map(|m| group::LeavingMember {
                member_id: m.member_id.to_string(),
                group_instance_id: opt(&m.group_instance_id),
            })
            .collect()
    } else {
        vec![group::LeavingMember {
            member_id: req.member_id.to_string(),
            group_instance_id: None,
        }]
    };
    let r = broker
        .groups
        .leave(group::LeaveGroup {
            group_id: req.group_id.to_string(),
            members,
        })
        .await;
    if v >= 3 {
        LeaveGroupResponse::default()
            .with_error_code(r.error_code.kafka_code())
            .with_members(
                r.members
                    .iter()
                    .map(|m| {
                        MemberResponse::default()
                            .with_member_id(str_bytes(&m.member_id))
                            .with_group_instance_id(sopt(&m.group_instance_id))
                            .with_error_code(m.error_code.kafka_code())
                    })
                    .collect(),
            )
    } else {
        // v0–2: the single member's result is the response's error.
        let err = if r.error_code != group::NONE {
            r.error_code
        } else {
            r.members
                .first()
                .map(|m| m.error_code)
                .unwrap_or(group::NONE)
        };
        LeaveGroupResponse::default().with_error_code(err.kafka_code())
    }
}

pub async fn describe_groups(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: DescribeGroupsRequest,
) -> DescribeGroupsResponse {
    let v = ctx.api_version;
    let ids: Vec<String> = req.groups.iter().map(|g| g.to_string()).collect();
    let described = broker
        .groups
        .with(|c, _| (c.describe_groups(&ids), Vec::new()));
    let groups = described
        .into_iter()
        .map(|g| {
            if let Err(e) = authz::group(broker, ctx, Operation::Describe, &g.group_id) {
                return DescribedGroup::default()
                    .with_group_id(GroupId(str_bytes(&g.group_id)))
                    .with_error_code(e.kafka_code());
            }
            let mut d = DescribedGroup::default()
                .with_group_id(GroupId(str_bytes(&g.group_id)))
                .with_error_code(g.error_code.kafka_code())
                .with_group_state(str_bytes(g.state.as_str()))
                .with_protocol_type(str_bytes(&g.protocol_type))
                .with_protocol_data(str_bytes(&g.protocol_data))
                .with_members(
                    g.members
                        .iter()
                        .map(|m| {
                            DescribedGroupMember::default()
                                .with_member_id(str_bytes(&m.member_id))
                                .with_group_instance_id(sopt(&m.group_instance_id))
                                .with_client_id(str_bytes(&m.client_id))
                                .with_client_host(str_bytes(&m.client_host))
                                .with_member_metadata(m.metadata.clone())
                                .with_member_assignment(m.assignment.clone())
                        })
                        .collect(),
                );
            if v >= 6 && g.error_code == group::NONE && !g.exists {
                d = d
                    .with_error_code(code(ResponseError::GroupIdNotFound))
                    .with_error_message(Some(str_bytes(&format!(
                        "Group {} not found.",
                        g.group_id
                    ))));
            }
            if v >= 3 && req.include_authorized_operations {
                // Of the operations a group supports (READ 3, DELETE 6, DESCRIBE 8), those
                // allowed (all of them without an authorizer).
                d = d.with_authorized_operations(super::metadata::authorized_ops(
                    broker,
                    ctx,
                    crate::acl::ResourceType::Group,
                    &g.group_id,
                    (1 << 3) | (1 << 6) | (1 << 8),
                ));
            }
            d
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}

pub async fn list_groups(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: ListGroupsRequest,
) -> ListGroupsResponse {
    let v = ctx.api_version;
    let states: Vec<String> = req.states_filter.iter().map(|s| s.to_string()).collect();
    let types: Vec<String> = req.types_filter.iter().map(|s| s.to_string()).collect();
    let listed = broker
        .groups
        .with(|c, _| (c.list_groups(&states, &types), Vec::new()));
    let all_groups = authz::cluster(broker, ctx, Operation::Describe).is_ok();
    match listed {
        Ok(groups) => ListGroupsResponse::default().with_groups(
            groups
                .iter()
                // DESCRIBE on the cluster lists every group, else those one may describe.
                .filter(|g| {
                    all_groups
                        || authz::group(broker, ctx, Operation::Describe, &g.group_id).is_ok()
                })
                .map(|g| {
                    let mut l = ListedGroup::default()
                        .with_group_id(GroupId(str_bytes(&g.group_id)))
                        .with_protocol_type(str_bytes(&g.protocol_type));
                    if v >= 4 {
                        l = l.with_group_state(str_bytes(g.state));
                    }
                    if v >= 5 {
                        l = l.with_group_type(str_bytes(g.group_type));
                    }
                    l
                })
                .collect(),
        ),
        Err(e) => ListGroupsResponse::default().with_error_code(e.kafka_code()),
    }
}

pub async fn delete_groups(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: DeleteGroupsRequest,
) -> DeleteGroupsResponse {
    // DELETE on each group; the others are answered GROUP_AUTHORIZATION_FAILED.
    let (ids, denied): (Vec<String>, Vec<String>) = req
        .groups_names
        .iter()
        .map(|g| g.to_string())
        .partition(|g| authz::group(broker, ctx, Operation::Delete, g).is_ok());
    // A group that only has committed offsets (no members ever joined here since the
    // last start) is deletable too, as in Kafka where such groups exist as Empty.
    let known: HashSet<String> = broker
        .groups_with_offsets()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let results = broker.groups.with(|c, now| c.delete_groups(now, &ids));
    let results = results
        .into_iter()
        .map(|(id, group_err)| {
            let mut err = if group_err == group::GROUP_ID_NOT_FOUND && known.contains(&id) {
                0
            } else {
                group_err.kafka_code()
            };
            if err == 0 {
                if let Err(e) = broker.delete_offsets(&id, None) {
                    tracing::error!(group = %id, error = %e, "deleting group offsets failed");
                    err = e.kafka_code();
                }
            }
            DeletableGroupResult::default()
                .with_group_id(GroupId(str_bytes(&id)))
                .with_error_code(err)
        })
        .chain(denied.iter().map(|id| {
            DeletableGroupResult::default()
                .with_group_id(GroupId(str_bytes(id)))
                .with_error_code(code(ResponseError::GroupAuthorizationFailed))
        }))
        .collect();
    DeleteGroupsResponse::default().with_results(results)
}

pub async fn offset_commit(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: OffsetCommitRequest,
) -> OffsetCommitResponse {
    let v = ctx.api_version;
    let group_id = req.group_id.to_string();
    let existed = broker
        .groups
        .with(|c, _| (c.has_group(&group_id), Vec::new()));
    let mut check = broker.groups.with(|c, now| {
        c.validate_offset_commit(
            now,
            &group_id,
            &req.member_id,
            req.generation_id_or_member_epoch,
            req.group_instance_id.as_deref(),
            v,
        )
    });
    if v >= 9 && !existed && check == Err(group::ILLEGAL_GENERATION) {
        check = Err(group::GROUP_ID_NOT_FOUND);
    }
    let now = now_ms();
    let expire = (v <= 4 && req.retention_time_ms >= 0).then(|| now + req.retention_time_ms);
    let mut to_store: Vec<GroupOffset> = Vec::new();
    let mut results: Vec<(usize, i32, i16)> = Vec::new();
    // READ on the group, then on each topic.
    let group_denied = authz::group(broker, ctx, Operation::Read, &group_id)
        .err()
        .map(|d| d.kafka_code());
    for (ti, t) in req.topics.iter().enumerate() {
        let topic = broker.topic(&t.name);
        let topic_denied = authz::topic(broker, ctx, Operation::Read, &t.name).is_err();
        for p in &t.partitions {
            let err = match group_denied {
                Some(c) => c,
                None if topic_denied => authz::topic_denied(),
                None => commit_entry_error(
                    check,
                    topic.as_ref(),
                    p.partition_index,
                    p.committed_metadata.as_ref(),
                ),
            };
            if err == 0 {
                to_store.push((
                    t.name.to_string(),
                    p.partition_index,
                    CommittedOffset {
                        offset: p.committed_offset,
                        leader_epoch: p.committed_leader_epoch,
                        metadata: opt(&p.committed_metadata),
                        commit_timestamp: now,
                        expire_timestamp: expire,
                    },
                ));
            }
            results.push((ti, p.partition_index, err));
        }
    }
    let storage_err = if to_store.is_empty() {
        0
    } else {
        match broker.commit_offsets(&group_id, &to_store) {
            Ok(()) => 0,
            Err(e) => {
                tracing::error!(group = %group_id, error = %e, "storing offsets failed");
                e.kafka_code()
            }
        }
    };
    let mut topics: Vec<OffsetCommitResponseTopic> = req
        .topics
        .iter()
        .map(|t| OffsetCommitResponseTopic::default().with_name(t.name.clone()))
        .collect();
    for (ti, p, err) in results {
        let err = if err == 0 { storage_err } else { err };
        topics[ti].partitions.push(
            OffsetCommitResponsePartition::default()
                .with_partition_index(p)
                .with_error_code(err),
        );
    }
    OffsetCommitResponse::default().with_topics(topics)
}

/// One group's committed offsets for the requested partitions (all when `wanted` is None),
/// as (topic, [(partition, offset, epoch, metadata, error)]).
type FetchedTopic = (String, Vec<(i32, i64, i32, Option<String>, i16)>);

/// A group's offsets as `fetch_group_offsets` reads them, for a principal with DESCRIBE
/// on the group: partitions of named topics it may not describe get
/// TOPIC_AUTHORIZATION_FAILED; asked for all, such topics are left out.
async fn fetch_authorized_offsets(
    broker: &Broker,
    ctx: &RequestContext,
    group_id: &str,
    wanted: Option<Vec<(String, Vec<i32>)>>,
    require_stable: bool,
) -> Result<Vec<FetchedTopic>, i16> {
    authz::group(broker, ctx, Operation::Describe, group_id).map_err(|d| d.kafka_code())?;
    let listed = wanted.is_some();
    let fetched = fetch_group_offsets(broker, group_id, wanted, require_stable).await?;
    Ok(fetched
        .into_iter()
        .filter_map(|(t, rows)| {
            if authz::topic(broker, ctx, Operation::Describe, &t).is_ok() {
                Some((t, rows))
            } else if listed {
                let denied = authz::topic_denied();
                let rows = rows
                    .into_iter()
                    .map(|r| (r.0, -1, -1, None, denied))
                    .collect();
                Some((t, rows))
            } else {
                None
            }
        })
        .collect())
}

async fn fetch_group_offsets(
    broker: &Broker,
    group_id: &str,
    wanted: Option<Vec<(String, Vec<i32>)>>,
    require_stable: bool,
) -> Result<Vec<FetchedTopic>, i16> {
    let offsets = broker
        .committed_offsets(group_id, wanted, require_stable)
        .await
        .map_err(|e| {
            tracing::error!(group = %group_id, error = %e, "reading offsets failed");
            e.kafka_code()
        })?;
    let unstable = code(ResponseError::UnstableOffsetCommit);
    Ok(offsets
        .into_iter()
        .map(|(t, rows)| {
            let rows = rows
                .into_iter()
                .map(|(p, c)| match c {
                    Committed::At(c) => (p, c.offset, c.leader_epoch, c.metadata, 0),
                    Committed::Nothing => (p, -1, -1, Some(String::new()), 0),
                    Committed::Unstable => (p, -1, -1, None, unstable),
                })
                .collect();
            (t, rows)
        })
        .collect())
}

pub async fn offset_fetch(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: OffsetFetchRequest,
) -> OffsetFetchResponse {
    let require_stable = ctx.api_version >= 7 && req.require_stable;
    if ctx.api_version >= 8 {
        let mut fetched = Vec::with_capacity(req.groups.len());
        for g in &req.groups {
            let wanted: Option<Vec<(String, Vec<i32>)>> = g.topics.as_ref().map(|ts| {
                ts.iter()
                    .map(|t| (t.name.to_string(), t.partition_indexes.clone()))
                    .collect()
            });
            fetched.push(
                fetch_authorized_offsets(broker, ctx, &g.group_id, wanted, require_stable).await,
            );
        }
        let groups = req
            .groups
            .iter()
            .zip(fetched)
            .map(|(g, fetched)| {
                let resp = OffsetFetchResponseGroup::default().with_group_id(g.group_id.clone());
                // v9 (KIP-848): a fetch naming a member must come from a current member.
                let member = g.member_id.as_deref().unwrap_or("").to_string();
                let checked = broker.groups.with(|c, now| {
                    let r = c.validate_offset_fetch(now, &g.group_id, &member, g.member_epoch);
                    (r, Vec::new())
                });
                if let Err(e) = checked {
                    if fetched.is_ok() {
                        return resp.with_error_code(e.kafka_code());
                    }
                }
                match fetched {
                    Ok(topics) => resp.with_topics(
                        topics
                            .into_iter()
                            .map(|(t, ps)| {
                                OffsetFetchResponseTopics::default()
                                    .with_name(topic_name(&t))
                                    .with_partitions(
                                        ps.into_iter()
                                            .map(|(p, o, e, m, err)| {
                                                OffsetFetchResponsePartitions::default()
                                                    .with_partition_index(p)
                                                    .with_committed_offset(o)
                                                    .with_committed_leader_epoch(e)
                                                    .with_metadata(sopt(&m))
                                                    .with_error_code(err)
                                            })
                                            .collect(),
                                    )
                            })
                            .collect(),
                    ),
                    Err(e) => resp.with_error_code(e),
                }
            })
            .collect();
        return OffsetFetchResponse::default().with_groups(groups);
    }
    let wanted = req.topics.as_ref().map(|ts| {
        ts.iter()
            .map(|t| (t.name.to_string(), t.partition_indexes.clone()))
            .collect()
    });
    match fetch_authorized_offsets(broker, ctx, &req.group_id, wanted, require_stable).await {
        Ok(topics) => OffsetFetchResponse::default().with_topics(
            topics
                .into_iter()
                .map(|(t, ps)| {
                    OffsetFetchResponseTopic::default()
                        .with_name(topic_name(&t))
                        .with_partitions(
                            ps.into_iter()
                                .map(|(p, o, e, m, err)| {
                                    OffsetFetchResponsePartition::default()
                                        .with_partition_index(p)
                                        .with_committed_offset(o)
                                        .with_committed_leader_epoch(e)
                                        .with_metadata(sopt(&m))
                                        .with_error_code(err)
                                })
                                .collect(),
                        )
                })
                .collect(),
        ),
        // The top-level error exists from v2.
        Err(e) if ctx.api_version >= 2 => OffsetFetchResponse::default().with_error_code(e),
        Err(_) => OffsetFetchResponse::default(),
    }
}

pub async fn offset_delete(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: OffsetDeleteRequest,
) -> OffsetDeleteResponse {
    let group_id = req.group_id.to_string();
    if let Err(d) = authz::group(broker, ctx, Operation::Delete, &group_id) {
        return OffsetDeleteResponse::default().with_error_code(d.kafka_code());
    }
    let has_offsets = broker.has_offsets(&group_id);
    let check = broker
        .groups
        .with(|c, _| (c.validate_offset_delete(&group_id), Vec::new()));
    let check = match check {
        Err(group::GROUP_ID_NOT_FOUND) if has_offsets => Ok(()),
        other => other,
    };
    if let Err(e) = check {
        return OffsetDeleteResponse::default().with_error_code(e.kafka_code());
    }
    let subscribed = broker
        .groups
        .with(|c, _| (c.subscribed_topics(&group_id), Vec::new()));
    let mut deletable = Vec::new();
    let topics: Vec<OffsetDeleteResponseTopic> = req
        .topics
        .iter()
        .map(|t| {
            let in_use = subscribed
                .as_ref()
                .is_some_and(|s| s.contains(t.name.as_str()));
            let parts = t
                .partitions
                .iter()
                .map(|p| {
                    let err = if authz::topic(broker, ctx, Operation::Read, &t.name).is_err() {
                        authz::topic_denied()
                    } else if in_use {
                        group::GROUP_SUBSCRIBED_TO_TOPIC.kafka_code()
                    } else if broker
                        .topic(&t.name)
                        .and_then(|tp| tp.partition(p.partition_index))
                        .is_none()
                    {
                        code(ResponseError::UnknownTopicOrPartition)
                    } else {
                        deletable.push((t.name.to_string(), p.partition_index));
                        0
                    };
                    OffsetDeleteResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(err)
                })
                .collect();
            OffsetDeleteResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(parts)
        })
        .collect();
    if let Err(e) = broker.delete_offsets(&group_id, Some(&deletable)) {
        tracing::error!(group = %group_id, error = %e, "deleting offsets failed");
        return OffsetDeleteResponse::default().with_error_code(e.kafka_code());
    }
    OffsetDeleteResponse::default().with_topics(topics)
}
