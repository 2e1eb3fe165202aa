//! KIP-848 consumer groups: ConsumerGroupHeartbeat and ConsumerGroupDescribe. The
//! coordinator (`crate::group`) holds the state; this translates wire types.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::consumer_group_describe_response::{
    Assignment as DescribeAssignment, DescribedGroup, Member,
    TopicPartitions as DescribeTopicPartitions,
};
use kafka_protocol::messages::consumer_group_heartbeat_response::{
    Assignment as HeartbeatAssignment, TopicPartitions as HeartbeatTopicPartitions,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::errors::KafkaCode;
use super::{authz, str_bytes, topic_name};
use crate::acl::Operation;
use crate::broker::Broker;
use crate::group::{self, ConsumerHeartbeat, TopicCatalog};
use crate::server::dispatch::RequestContext;

/// The broker's topics, as the coordinator sees them.
struct BrokerTopics<'a>(&'a Broker);

impl TopicCatalog for BrokerTopics<'_> {
    fn lookup(&self, name: &str) -> Option<(Uuid, i32)> {
        self.0.topic(name).map(|t| (t.id, t.partition_count()))
    }

    fn names(&self) -> Vec<String> {
        self.0.topics().iter().map(|t| t.name.clone()).collect()
    }
}

fn opt(s: &Option<StrBytes>) -> Option<String> {
    s.as_ref().map(|v| v.to_string())
}

pub async fn consumer_group_heartbeat(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: ConsumerGroupHeartbeatRequest,
) -> ConsumerGroupHeartbeatResponse {
    // READ on the group, DESCRIBE on the topics it subscribes to by name.
    let denied = authz::group(broker, ctx, Operation::Read, &req.group_id)
        .and_then(|()| {
            req.subscribed_topic_names
                .iter()
                .flatten()
                .try_for_each(|n| authz::topic(broker, ctx, Operation::Describe, n))
        })
        .err();
    if let Some(d) = denied {
        return ConsumerGroupHeartbeatResponse::default()
            .with_error_code(d.kafka_code())
            .with_error_message(Some(str_bytes(&d.to_string())));
    }
    let hb = ConsumerHeartbeat {
        group_id: req.group_id.to_string(),
        member_id: req.member_id.to_string(),
        member_epoch: req.member_epoch,
        instance_id: opt(&req.instance_id),
        rack_id: opt(&req.rack_id),
        rebalance_timeout_ms: req.rebalance_timeout_ms,
        subscribed_topic_names: req
            .subscribed_topic_names
            .as_ref()
            .map(|ns| ns.iter().map(|n| n.to_string()).collect()),
        subscribed_topic_regex: opt(&req.subscribed_topic_regex),
        server_assignor: opt(&req.server_assignor),
        owned: req.topic_partitions.as_ref().map(|tps| {
            tps.iter()
                .map(|tp| (tp.topic_id, tp.partitions.clone()))
                .collect()
        }),
        client_id: ctx.client_id.clone().unwrap_or_default(),
        client_host: ctx.client_host.clone(),
        api_version: ctx.api_version,
    };
    let catalog = BrokerTopics(broker);
    let r = broker
        .groups
        .with(|c, now| (c.consumer_heartbeat(now, &hb, &catalog), Vec::new()));
    let mut resp = ConsumerGroupHeartbeatResponse::default()
        .with_error_code(r.error_code.kafka_code())
        .with_error_message(r.error_message.as_deref().map(str_bytes))
        .with_member_id(r.member_id.as_deref().map(str_bytes))
        .with_member_epoch(r.member_epoch)
        .with_heartbeat_interval_ms(r.heartbeat_interval_ms);
    if let Some(a) = r.assignment {
        resp = resp.with_assignment(Some(
            HeartbeatAssignment::default().with_topic_partitions(
                a.into_iter()
                    .map(|(t, ps)| {
                        HeartbeatTopicPartitions::default()
                            .with_topic_id(t)
                            .with_partitions(ps)
                    })
                    .collect(),
            ),
        ));
    }
    resp
}

fn describe_assignment(
    a: &group::Assignment,
    names: &BTreeMap<Uuid, String>,
) -> DescribeAssignment {
    // Topics deleted since the assignment was made are left out, as Kafka does.
    DescribeAssignment::default().with_topic_partitions(
        a.iter()
            .filter_map(|(t, ps)| {
                let name = names.get(t)?;
                Some(
                    DescribeTopicPartitions::default()
                        .with_topic_id(*t)
                        .with_topic_name(topic_name(name))
                        .with_partitions(ps.iter().copied().collect()),
                )
            })
            .collect(),
    )
}

pub async fn consumer_group_describe(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: ConsumerGroupDescribeRequest,
) -> ConsumerGroupDescribeResponse {
    let names: BTreeMap<Uuid, String> = broker
        .topics()
        .iter()
        .map(|t| (t.id, t.name.clone()))
        .collect();
    let groups = req
        .group_ids
        .iter()
        .map(|id| {
            let id = id.to_string();
            if let Err(d) = authz::group(broker, ctx, Operation::Describe, &id) {
                return DescribedGroup::default()
                    .with_group_id(GroupId(str_bytes(&id)))
                    .with_error_code(d.kafka_code());
            }
            let described = broker
                .groups
                .with(|c, now| (c.consumer_describe(now, &id), Vec::new()));
            let base = DescribedGroup::default().with_group_id(GroupId(str_bytes(&id)));
            match described {
                Err((code, message)) => base
                    .with_error_code(code.kafka_code())
                    .with_error_message((!message.is_empty()).then(|| str_bytes(&message))),
                Ok(g) => {
                    let mut d = base
                        .with_group_state(str_bytes(g.state.as_str()))
                        .with_group_epoch(g.group_epoch)
                        .with_assignment_epoch(g.assignment_epoch)
                        .with_assignor_name(str_bytes(&g.assignor_name))
                        .with_members(
                            g.members
                                .iter()
                                .map(|m| {
                                    let mut member = Member::default()
                                        .with_member_id(str_bytes(&m.member_id))
                                        .with_instance_id(m.instance_id.as_deref().map(str_bytes))
                                        .with_rack_id(m.rack_id.as_deref().map(str_bytes))
                                        .with_member_epoch(m.member_epoch)
                                        .with_client_id(str_bytes(&m.client_id))
                                        .with_client_host(str_bytes(&m.client_host))
                                        .with_subscribed_topic_names(
                                            m.subscribed_topic_names
                                                .iter()
                                                .map(|n| topic_name(n))
                                                .collect(),
                                        )
                                        .with_subscribed_topic_regex(
                                            m.subscribed_topic_regex.as_deref().map(str_bytes),
                                        )
                                        .with_assignment(describe_assignment(&m.assignment, &names))
                                        .with_target_assignment(describe_assignment(
                                            &m.target_assignment,
                                            &names,
                                        ));
                                    if ctx.api_version >= 1 {
                                        member = member.with_member_type(1);
                                    }
                                    member
                                })
                                .collect(),
                        );
                    if req.include_authorized_operations {
                        // Without an authorizer: READ 3, DELETE 6, DESCRIBE 8.
                        d = d.with_authorized_operations((1 << 3) | (1 << 6) | (1 << 8));
                    } else {
                        d = d.with_authorized_operations(i32::MIN);
                    }
                    d
                }
            }
        })
        .collect();
    ConsumerGroupDescribeResponse::default().with_groups(groups)
}
