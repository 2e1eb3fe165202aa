//! Raw-wire tests of the classic group APIs and committed offsets, per version.

use bytes::Bytes;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use uuid::Uuid;

use crate::common::{Client, Need, Rill};
use crate::ops::{create_topic, mine, name, uniq};

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// The group `v` (through `uniq`).
fn gid(v: &str) -> GroupId {
    GroupId(s(&uniq(v)))
}

fn join_req(group: &str, member: &str, instance: Option<&str>) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(gid(group))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_member_id(s(member))
        .with_group_instance_id(instance.map(s))
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(s("range"))
            .with_metadata(Bytes::from_static(
                b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
            ))])
}

fn commit(
    c: &mut Client,
    v: i16,
    group: &str,
    gen: i32,
    member: &str,
    topic: &str,
    offset: i64,
) -> i16 {
    let req = OffsetCommitRequest::default()
        .with_group_id(gid(group))
        .with_generation_id_or_member_epoch(gen)
        .with_member_id(s(member))
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(name(topic))
            .with_partitions(vec![OffsetCommitRequestPartition::default()
                .with_partition_index(0)
                .with_committed_offset(offset)
                .with_committed_metadata(Some(s(&format!("meta-{offset}"))))])]);
    c.send(v, &req).topics[0].partitions[0].error_code
}

fn fetch_offset(c: &mut Client, v: i16, group: &str, topic: &str) -> (i64, Option<String>) {
    if v >= 8 {
        let req =
            OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
                .with_group_id(gid(group))
                .with_topics(Some(vec![OffsetFetchRequestTopics::default()
                    .with_name(name(topic))
                    .with_partition_indexes(vec![0])]))]);
        let r = c.send(v, &req);
        let p = &r.groups[0].topics[0].partitions[0];
        (
            p.committed_offset,
            p.metadata.as_ref().map(|m| m.to_string()),
        )
    } else {
        let req = OffsetFetchRequest::default()
            .with_group_id(gid(group))
            .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                .with_name(name(topic))
                .with_partition_indexes(vec![0])]));
        let r = c.send(v, &req);
        let p = &r.topics[0].partitions[0];
        (
            p.committed_offset,
            p.metadata.as_ref().map(|m| m.to_string()),
        )
    }
}

#[test]
fn find_coordinator_every_version_points_at_this_broker() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    let (host, port) = rill.addr.rsplit_once(':').unwrap();
    for v in 0..=3i16 {
        let r = c.send(v, &FindCoordinatorRequest::default().with_key(s("g")));
        assert_eq!(r.error_code, 0, "v{v}");
        assert_eq!((r.host.as_str(), r.port.to_string().as_str()), (host, port));
    }
    for v in 4..=6i16 {
        let r = c.send(
            v,
            &FindCoordinatorRequest::default().with_coordinator_keys(vec![s("a"), s("b")]),
        );
        assert_eq!(r.coordinators.len(), 2);
        assert!(r
            .coordinators
            .iter()
            .all(|k| k.error_code == 0 && k.node_id.0 == 1));
    }
    // Rill is every transactional id's coordinator too.
    let r = c.send(
        3,
        &FindCoordinatorRequest::default()
            .with_key(s("tx"))
            .with_key_type(1),
    );
    assert_eq!(r.error_code, 0);
    assert_eq!(r.port.to_string(), port);
    // Share-group coordinators (key type 2) are not.
    let r = c.send(
        6,
        &FindCoordinatorRequest::default()
            .with_coordinator_keys(vec![s("sg")])
            .with_key_type(2),
    );
    assert_eq!(r.coordinators[0].error_code, 15);
}

#[test]
fn join_sync_heartbeat_leave_single_member_per_version() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    for v in [0i16, 3, 4, 5, 7, 9] {
        let group = format!("g{v}");
        let mut r = c.send(v, &join_req(&group, "", None));
        if v >= 4 {
            assert_eq!(r.error_code, 79, "v{v}: MEMBER_ID_REQUIRED first");
            assert!(r.member_id.starts_with("protocol-tests-"));
            r = c.send(v, &join_req(&group, &r.member_id.to_string(), None));
        }
        assert_eq!(r.error_code, 0, "v{v}");
        assert_eq!(r.generation_id, 1);
        assert_eq!(r.leader, r.member_id);
        assert_eq!(r.members.len(), 1);
        assert_eq!(r.protocol_name.as_ref().map(|p| p.as_str()), Some("range"));
        let member = r.member_id.to_string();
        let sv = [0i16, 3, 3, 3, 5, 5][[0i16, 3, 4, 5, 7, 9].iter().position(|&x| x == v).unwrap()];
        let mut sync = SyncGroupRequest::default()
            .with_group_id(gid(&group))
            .with_generation_id(1)
            .with_member_id(s(&member))
            .with_assignments(vec![SyncGroupRequestAssignment::default()
                .with_member_id(s(&member))
                .with_assignment(Bytes::from_static(b"assigned"))]);
        if sv >= 5 {
            sync = sync
                .with_protocol_type(Some(s("consumer")))
                .with_protocol_name(Some(s("range")));
        }
        let sr = c.send(sv, &sync);
        assert_eq!(sr.error_code, 0);
        assert_eq!(&sr.assignment[..], b"assigned");
        let hb = c.send(
            3,
            &HeartbeatRequest::default()
                .with_group_id(gid(&group))
                .with_generation_id(1)
                .with_member_id(s(&member)),
        );
        assert_eq!(hb.error_code, 0);
        let bad = c.send(
            3,
            &HeartbeatRequest::default()
                .with_group_id(gid(&group))
                .with_generation_id(7)
                .with_member_id(s(&member)),
        );
        assert_eq!(bad.error_code, 22, "ILLEGAL_GENERATION");
        // Describe while Stable, then leave (v0 single member / v3+ batched).
        let d = c.send(
            5,
            &DescribeGroupsRequest::default().with_groups(vec![gid(&group)]),
        );
        assert_eq!(d.groups[0].group_state.as_str(), "Stable");
        assert_eq!(&d.groups[0].members[0].member_assignment[..], b"assigned");
        let left = if v % 2 == 0 {
            c.send(
                0,
                &LeaveGroupRequest::default()
                    .with_group_id(gid(&group))
                    .with_member_id(s(&member)),
            )
            .error_code
        } else {
            let r = c.send(
                5,
                &LeaveGroupRequest::default()
                    .with_group_id(gid(&group))
                    .with_members(vec![MemberIdentity::default().with_member_id(s(&member))]),
            );
            r.members[0].error_code
        };
        assert_eq!(left, 0);
        let d = c.send(
            0,
            &DescribeGroupsRequest::default().with_groups(vec![gid(&group)]),
        );
        assert_eq!(d.groups[0].group_state.as_str(), "Empty");
    }
    let l = c.send(5, &ListGroupsRequest::default());
    let listed: Vec<_> = l.groups.iter().filter(|g| mine(&g.group_id)).collect();
    assert_eq!(listed.len(), 6);
    assert!(listed
        .iter()
        .all(|g| g.group_state.as_str() == "Empty" && g.group_type.as_str() == "classic"));
    let l = c.send(
        4,
        &ListGroupsRequest::default().with_states_filter(vec![s("Stable")]),
    );
    assert!(!l.groups.iter().any(|g| mine(&g.group_id)));
    let d = c.send(
        6,
        &DescribeGroupsRequest::default().with_groups(vec![gid("nope")]),
    );
    assert_eq!(d.groups[0].error_code, 69, "GROUP_ID_NOT_FOUND at v6");
}

#[test]
fn offsets_commit_fetch_delete_and_survive_kill_9() {
    needs!(Need::Restart);
    let data = tempfile::tempdir().unwrap();
    let mut rill = Rill::start_on(data.path(), &[]);
    let mut c = rill.client();
    create_topic(&mut c, "ot", 1, &[]);
    // Simple (group-less) commits, every version, read back by every fetch version.
    for v in 2..=9i16 {
        let g = format!("simple{v}");
        assert_eq!(
            commit(&mut c, v, &g, -1, "", "ot", 10 + v as i64),
            0,
            "commit v{v}"
        );
        for fv in [1i16, 2, 5, 7, 8, 9] {
            assert_eq!(
                fetch_offset(&mut c, fv, &g, "ot"),
                (10 + v as i64, Some(format!("meta-{}", 10 + v))),
                "commit v{v} fetch v{fv}"
            );
        }
    }
    // Unknown partition, unknown group.
    assert_eq!(commit(&mut c, 8, "simple2", -1, "", "no-topic", 1), 3);
    assert_eq!(fetch_offset(&mut c, 8, "never", "ot").0, -1);
    // A member commit needs the right generation.
    let r = c.send(9, &join_req("live", "", None));
    let member = r.member_id.to_string();
    let r = c.send(9, &join_req("live", &member, None));
    assert_eq!(commit(&mut c, 8, "live", 5, &member, "ot", 3), 22);
    assert_eq!(
        commit(&mut c, 8, "live", r.generation_id, "stranger", "ot", 3),
        25
    );
    // OffsetFetch with null topics returns everything the group has.
    let all = c.send(
        7,
        &OffsetFetchRequest::default()
            .with_group_id(gid("simple7"))
            .with_topics(None),
    );
    assert_eq!(all.topics.len(), 1);
    // OffsetDelete, then DeleteGroups.
    let del = c.send(
        0,
        &OffsetDeleteRequest::default()
            .with_group_id(gid("simple3"))
            .with_topics(vec![OffsetDeleteRequestTopic::default()
                .with_name(name("ot"))
                .with_partitions(vec![
                    OffsetDeleteRequestPartition::default().with_partition_index(0)
                ])]),
    );
    assert_eq!(del.error_code, 0);
    assert_eq!(del.topics[0].partitions[0].error_code, 0);
    assert_eq!(fetch_offset(&mut c, 8, "simple3", "ot").0, -1);
    let dg = c.send(
        2,
        &DeleteGroupsRequest::default().with_groups_names(vec![gid("simple4"), gid("live")]),
    );
    assert_eq!(dg.results[0].error_code, 0);
    assert_eq!(dg.results[1].error_code, 68, "NON_EMPTY_GROUP");
    assert_eq!(fetch_offset(&mut c, 8, "simple4", "ot").0, -1);
    // Acknowledged commits survive kill -9.
    rill.kill9();
    let rill = Rill::start_on(data.path(), &[]);
    let mut c = rill.client();
    assert_eq!(
        fetch_offset(&mut c, 8, "simple9", "ot"),
        (19, Some("meta-19".into()))
    );
    assert_eq!(fetch_offset(&mut c, 8, "simple3", "ot").0, -1);
}

// ------------------------------------------------------------------ KIP-848

fn cg_join(group: &str, member: &str, topics: &[&str]) -> ConsumerGroupHeartbeatRequest {
    ConsumerGroupHeartbeatRequest::default()
        .with_group_id(gid(group))
        .with_member_id(s(member))
        .with_member_epoch(0)
        .with_rebalance_timeout_ms(30_000)
        .with_subscribed_topic_names(Some(topics.iter().map(|t| name(t)).collect()))
        .with_topic_partitions(Some(Vec::new()))
}

fn cg_beat(
    group: &str,
    member: &str,
    epoch: i32,
    owned: &[(Uuid, Vec<i32>)],
) -> ConsumerGroupHeartbeatRequest {
    use kafka_protocol::messages::consumer_group_heartbeat_request::TopicPartitions;
    ConsumerGroupHeartbeatRequest::default()
        .with_group_id(gid(group))
        .with_member_id(s(member))
        .with_member_epoch(epoch)
        .with_rebalance_timeout_ms(-1)
        .with_topic_partitions(Some(
            owned
                .iter()
                .map(|(t, ps)| {
                    TopicPartitions::default()
                        .with_topic_id(*t)
                        .with_partitions(ps.clone())
                })
                .collect(),
        ))
}

fn owned_of(r: &ConsumerGroupHeartbeatResponse) -> Option<Vec<(Uuid, Vec<i32>)>> {
    r.assignment.as_ref().map(|a| {
        a.topic_partitions
            .iter()
            .map(|tp| {
                let mut ps = tp.partitions.clone();
                ps.sort();
                (tp.topic_id, ps)
            })
            .collect()
    })
}

#[test]
fn consumer_group_heartbeat_and_describe_per_version() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    let topic_id = create_topic(&mut c, "cg", 4, &[]);
    for v in 0..=1i16 {
        let group = format!("kip848-v{v}");
        // v1 requires the client to choose its member id; v0 lets the coordinator do it.
        let r = c.send(v, &cg_join(&group, "", &["cg"]));
        if v >= 1 {
            assert_eq!(r.error_code, 42, "{r:?}");
            assert!(r.error_message.is_some());
            continue;
        }
        assert_eq!(r.error_code, 0, "{r:?}");
        let a = r
            .member_id
            .clone()
            .expect("a generated member id")
            .to_string();
        assert!(!a.is_empty());
        assert_eq!(r.member_epoch, 1);
        assert_eq!(r.heartbeat_interval_ms, 5_000);
        assert_eq!(owned_of(&r), Some(vec![(topic_id, vec![0, 1, 2, 3])]));
    }
    for v in 0..=1i16 {
        let group = format!("kip848-flow-v{v}");
        let r = c.send(v, &cg_join(&group, "a", &["cg"]));
        assert_eq!((r.error_code, r.member_epoch), (0, 1));
        let mut a_owned = owned_of(&r).unwrap();
        // b joins at epoch 2 but gets nothing yet: a still holds everything.
        let r = c.send(v, &cg_join(&group, "b", &["cg"]));
        assert_eq!((r.error_code, r.member_epoch), (0, 2));
        assert_eq!(owned_of(&r), Some(vec![]));
        // a is told to keep two, and stays at epoch 1 until it confirms.
        let r = c.send(v, &cg_beat(&group, "a", 1, &a_owned));
        assert_eq!((r.error_code, r.member_epoch), (0, 1));
        a_owned = owned_of(&r).unwrap();
        assert_eq!(a_owned[0].1.len(), 2);
        let r = c.send(v, &cg_beat(&group, "a", 1, &a_owned));
        assert_eq!((r.error_code, r.member_epoch), (0, 2));
        let r = c.send(v, &cg_beat(&group, "b", 2, &[]));
        let b_owned = owned_of(&r).unwrap();
        assert_eq!(b_owned[0].1.len(), 2);
        let mut all: Vec<i32> = a_owned[0].1.iter().chain(&b_owned[0].1).copied().collect();
        all.sort();
        assert_eq!(all, vec![0, 1, 2, 3]);

        // Wrong epochs are fenced; unknown members are refused.
        assert_eq!(
            c.send(v, &cg_beat(&group, "a", 9, &a_owned)).error_code,
            110
        );
        assert_eq!(c.send(v, &cg_beat(&group, "zz", 2, &[])).error_code, 25);
        // An unknown assignor, a bad regex.
        let bad = cg_join(&group, "c", &["cg"]).with_server_assignor(Some(s("sticky")));
        assert_eq!(c.send(v, &bad).error_code, 112);
        if v >= 1 {
            let bad = cg_join(&group, "c", &[])
                .with_subscribed_topic_names(None)
                .with_subscribed_topic_regex(Some(s("(")));
            assert_eq!(c.send(v, &bad).error_code, 128);
        }

        // OffsetCommit v9 carries the member epoch; older versions are refused for
        // KIP-848 members.
        assert_eq!(commit(&mut c, 9, &group, 2, "a", "cg", 5), 0);
        assert_eq!(commit(&mut c, 9, &group, 1, "a", "cg", 5), 113);
        assert_eq!(commit(&mut c, 8, &group, 2, "a", "cg", 5), 35);
        assert_eq!(fetch_offset(&mut c, 9, &group, "cg").0, 5);

        // ConsumerGroupDescribe at both versions.
        for dv in 0..=1i16 {
            let d = c.send(
                dv,
                &ConsumerGroupDescribeRequest::default()
                    .with_group_ids(vec![gid(&group), gid("no-such-group")]),
            );
            let g = &d.groups[0];
            assert_eq!(g.error_code, 0);
            assert_eq!(g.group_state.as_str(), "Stable");
            assert_eq!((g.group_epoch, g.assignment_epoch), (2, 2));
            assert_eq!(g.assignor_name.as_str(), "uniform");
            assert_eq!(g.members.len(), 2);
            for m in &g.members {
                assert_eq!(m.member_epoch, 2);
                assert_eq!(m.subscribed_topic_names, vec![name("cg")]);
                assert_eq!(m.assignment.topic_partitions[0].topic_name, name("cg"));
                assert_eq!(m.assignment.topic_partitions[0].topic_id, topic_id);
                assert_eq!(m.assignment, m.target_assignment);
                assert_eq!(m.member_type, if dv >= 1 { 1 } else { -1 });
            }
            assert_eq!(d.groups[1].error_code, 69);
        }

        // ListGroups v5 reports the type; a type filter selects it.
        let l = c.send(
            5,
            &ListGroupsRequest::default().with_types_filter(vec![s("consumer")]),
        );
        let listed = l
            .groups
            .iter()
            .find(|g| g.group_id.as_str() == uniq(&group))
            .expect("listed");
        assert_eq!(listed.group_type.as_str(), "consumer");
        assert_eq!(listed.group_state.as_str(), "Stable");

        // A classic JoinGroup to it: INCONSISTENT_GROUP_PROTOCOL.
        let j = c.send(5, &join_req(&group, "", None));
        assert_eq!(j.error_code, 23);

        // Both leave (epoch -1); the group is then Empty and can be deleted.
        for m in ["a", "b"] {
            let r = c.send(v, &cg_beat(&group, m, -1, &[]));
            assert_eq!((r.error_code, r.member_epoch), (0, -1));
        }
        let d = c.send(
            1,
            &ConsumerGroupDescribeRequest::default().with_group_ids(vec![gid(&group)]),
        );
        assert_eq!(d.groups[0].group_state.as_str(), "Empty");
        let del = c.send(
            2,
            &DeleteGroupsRequest::default().with_groups_names(vec![gid(&group)]),
        );
        assert_eq!(del.results[0].error_code, 0);
    }
}

#[test]
fn consumer_heartbeat_to_an_active_classic_group_is_group_id_not_found() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    create_topic(&mut c, "cg", 1, &[]);
    let j = c.send(3, &join_req("classic", "", None));
    assert_eq!(j.error_code, 0);
    let r = c.send(1, &cg_join("classic", "m", &["cg"]));
    assert_eq!(r.error_code, 69);
    assert_eq!(
        r.error_message.as_ref().map(|m| m.to_string()).as_deref(),
        Some(format!("Group {} is not a consumer group.", uniq("classic")).as_str())
    );
    let d = c.send(
        0,
        &ConsumerGroupDescribeRequest::default().with_group_ids(vec![gid("classic")]),
    );
    assert_eq!(d.groups[0].error_code, 69);
}

#[test]
fn group_configs_apply_to_a_consumer_group() {
    use kafka_protocol::messages::incremental_alter_configs_request::{
        AlterConfigsResource, AlterableConfig,
    };
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    create_topic(&mut c, "gc", 1, &[]);
    let set = |c: &mut Client, value: Option<&str>| {
        let op = if value.is_some() { 0 } else { 1 };
        let r = c.send(
            1,
            &IncrementalAlterConfigsRequest::default().with_resources(vec![
                AlterConfigsResource::default()
                    .with_resource_type(32)
                    .with_resource_name(s(&uniq("gc-group")))
                    .with_configs(vec![AlterableConfig::default()
                        .with_name(s("consumer.heartbeat.interval.ms"))
                        .with_config_operation(op)
                        .with_value(value.map(s))]),
            ]),
        );
        assert_eq!(r.responses[0].error_code, 0);
    };
    set(&mut c, Some("7000"));
    let r = c.send(1, &cg_join("gc-group", "a", &["gc"]));
    assert_eq!(r.error_code, 0);
    assert_eq!(r.heartbeat_interval_ms, 7_000, "the group's own setting");
    let other = c.send(1, &cg_join("other-group", "a", &["gc"]));
    assert_eq!(
        other.heartbeat_interval_ms, 5_000,
        "other groups keep the broker's"
    );
    // Removing it brings the broker's default back at the next heartbeat.
    set(&mut c, None);
    let member = r.member_id.clone().unwrap().to_string();
    let r = c.send(1, &cg_beat("gc-group", &member, r.member_epoch, &[]));
    assert_eq!(r.error_code, 0, "{r:?}");
    assert_eq!(r.heartbeat_interval_ms, 5_000);
}
