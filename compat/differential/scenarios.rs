//! The scenarios: each a fixed sequence of raw requests at fixed versions. A step whose
//! request depends on an earlier answer (topic id, member id, generation) takes it from
//! the same target's answer, so both targets see the same conversation.

use bytes::Bytes;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use uuid::Uuid;

use crate::common::batch;
use crate::ops::{fetch_req, produce_req, topic_configs};
use crate::session::Session;

pub struct Scenario {
    pub name: &'static str,
    pub run: fn(&mut Session),
}

pub fn all() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "api_versions",
            run: api_versions,
        },
        Scenario {
            name: "metadata",
            run: metadata,
        },
        Scenario {
            name: "create_topics",
            run: create_topics,
        },
        Scenario {
            name: "produce_fetch",
            run: produce_fetch,
        },
        Scenario {
            name: "list_offsets",
            run: list_offsets,
        },
        Scenario {
            name: "group",
            run: group,
        },
        Scenario {
            name: "describe_configs",
            run: describe_configs,
        },
        Scenario {
            name: "unknown_topic",
            run: unknown_topic,
        },
    ]
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn creatable(name: &TopicName, partitions: i32, configs: &[(&str, &str)]) -> CreatableTopic {
    CreatableTopic::default()
        .with_name(name.clone())
        .with_num_partitions(partitions)
        .with_replication_factor(1)
        .with_configs(topic_configs(configs))
}

/// CreateTopics v7 (recorded), then waits for leaders; the topic's id.
fn create(sess: &mut Session, name: &TopicName, partitions: i32, configs: &[(&str, &str)]) -> Uuid {
    let req = CreateTopicsRequest::default()
        .with_timeout_ms(10_000)
        .with_topics(vec![creatable(name, partitions, configs)]);
    let resp = sess
        .call(7, "create", &req)
        .expect("CreateTopics v7 is needed to set up a scenario");
    assert_eq!(resp.topics[0].error_code, 0, "{:?}", resp.topics[0]);
    sess.wait_for_topic(name);
    resp.topics[0].topic_id
}

/// Metadata of named topics; `allow_auto_topic_creation` exists from v4 (before it, true).
fn metadata_req(version: i16, topics: &[&TopicName], auto_create: bool) -> MetadataRequest {
    MetadataRequest::default()
        .with_allow_auto_topic_creation(auto_create || version < 4)
        .with_topics(Some(
            topics
                .iter()
                .map(|t| MetadataRequestTopic::default().with_name(Some((*t).clone())))
                .collect(),
        ))
}

fn api_versions(sess: &mut Session) {
    sess.call(0, "", &ApiVersionsRequest::default());
    let req = ApiVersionsRequest::default()
        .with_client_software_name(s("rill-differential"))
        .with_client_software_version(s("1.0"));
    sess.call(3, "", &req);
    sess.call(4, "", &req);
}

fn metadata(sess: &mut Session) {
    let t = sess.topic("meta");
    create(sess, &t, 3, &[]);
    for v in [1i16, 4, 9] {
        sess.call(v, "", &metadata_req(v, &[&t], false));
    }
    sess.call(
        12,
        "authorized operations",
        &metadata_req(12, &[&t], false).with_include_topic_authorized_operations(true),
    );
    sess.call(
        4,
        "no topics",
        &MetadataRequest::default().with_topics(Some(Vec::new())),
    );
    let unknown = sess.topic("meta-unknown");
    sess.call(12, "unknown topic", &metadata_req(12, &[&unknown], false));
    let bad = TopicName(s("bad/name"));
    sess.call(12, "invalid topic name", &metadata_req(12, &[&bad], false));
}

fn create_topics(sess: &mut Session) {
    let t = sess.topic("create");
    let configs = [("cleanup.policy", "compact"), ("retention.ms", "86400000")];
    let req = |topics: Vec<CreatableTopic>| {
        CreateTopicsRequest::default()
            .with_timeout_ms(10_000)
            .with_topics(topics)
    };
    sess.call(7, "with configs", &req(vec![creatable(&t, 2, &configs)]));
    sess.wait_for_topic(&t);
    sess.call(7, "exists", &req(vec![creatable(&t, 2, &[])]));
    let v = sess.topic("create-validate");
    sess.call(
        7,
        "validate only",
        &req(vec![creatable(&v, 4, &[("max.message.bytes", "2000000")])]).with_validate_only(true),
    );
    let bad = sess.topic("create-bad");
    sess.call(7, "zero partitions", &req(vec![creatable(&bad, 0, &[])]));
    sess.call(
        7,
        "replication factor 3",
        &req(vec![creatable(&bad, 1, &[]).with_replication_factor(3)]),
    );
    sess.call(
        7,
        "invalid config value",
        &req(vec![creatable(&bad, 1, &[("cleanup.policy", "bogus")])]),
    );
    sess.call(
        7,
        "unknown config",
        &req(vec![creatable(&bad, 1, &[("no.such.config", "1")])]),
    );
    let d = sess.topic("create-defaults");
    sess.call(
        5,
        "defaults",
        &req(vec![creatable(&d, -1, &[]).with_replication_factor(-1)]),
    );
    sess.wait_for_topic(&d);
    let del = |names: Vec<TopicName>| {
        DeleteTopicsRequest::default()
            .with_timeout_ms(10_000)
            .with_topics(
                names
                    .into_iter()
                    .map(|n| DeleteTopicState::default().with_name(Some(n)))
                    .collect(),
            )
    };
    sess.call(6, "delete", &del(vec![d.clone()]));
    sess.call(6, "delete unknown", &del(vec![v]));
}

fn produce_fetch(sess: &mut Session) {
    let t = sess.topic("pf");
    let id = create(sess, &t, 1, &[]);
    let name = t.0.as_str().to_string();
    let produce = |v: i16, records: Bytes, acks: i16| {
        if v >= 13 {
            produce_req("", id, 0, records, acks)
        } else {
            produce_req(&name, Uuid::nil(), 0, records, acks)
        }
    };
    sess.call(3, "", &produce(3, batch(5, 1_000, Compression::None), -1));
    sess.call(
        9,
        "gzip",
        &produce(9, batch(3, 2_000, Compression::Gzip), -1),
    );
    sess.call(
        11,
        "acks=1",
        &produce(11, batch(2, 3_000, Compression::None), 1),
    );
    sess.call(
        13,
        "topic id",
        &produce(13, batch(1, 4_000, Compression::Lz4), -1),
    );
    sess.call(
        9,
        "unknown partition",
        &produce_req(&name, Uuid::nil(), 7, batch(1, 0, Compression::None), -1),
    );
    for (v, offset) in [(4i16, 0i64), (11, 0), (12, 6), (12, 11)] {
        sess.fetch(
            v,
            &format!("offset {offset}"),
            &fetch_req(&name, id, v, 0, offset, 0, 0),
        );
    }
    for v in [13i16, 16, 18] {
        sess.fetch(v, "topic id", &fetch_req(&name, id, v, 0, 0, 0, 0));
    }
    sess.fetch(
        12,
        "offset out of range",
        &fetch_req(&name, id, 12, 0, 100, 0, 0),
    );
    sess.fetch(
        12,
        "unknown partition",
        &fetch_req(&name, id, 12, 3, 0, 0, 0),
    );
    sess.fetch(
        13,
        "unknown topic id",
        &fetch_req("", Uuid::from_u128(0x1234), 13, 0, 0, 0, 0),
    );
}

fn list_offsets(sess: &mut Session) {
    let t = sess.topic("lo");
    create(sess, &t, 2, &[]);
    let name = t.0.as_str().to_string();
    for (ts0, codec) in [(1_000, Compression::None), (2_000, Compression::Snappy)] {
        let req = produce_req(&name, Uuid::nil(), 0, batch(5, ts0, codec), -1);
        let r = sess.quiet(9, &req);
        assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
    }
    let req = |partitions: &[(i32, i64)]| {
        ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(t.clone())
                .with_partitions(
                    partitions
                        .iter()
                        .map(|&(p, ts)| {
                            ListOffsetsPartition::default()
                                .with_partition_index(p)
                                .with_timestamp(ts)
                        })
                        .collect(),
                )])
    };
    sess.call(1, "earliest, latest", &req(&[(0, -2), (1, -1)]));
    sess.call(4, "by time 2002", &req(&[(0, 2_002), (1, 2_002)]));
    sess.call(5, "latest", &req(&[(0, -1)]));
    sess.call(7, "max timestamp", &req(&[(0, -3), (1, -3)]));
    sess.call(8, "earliest local", &req(&[(0, -4)]));
    sess.call(9, "by time past the end", &req(&[(0, 99_999)]));
    sess.call(9, "unknown partition", &req(&[(5, -1)]));
}

fn group(sess: &mut Session) {
    let t = sess.topic("grp");
    create(sess, &t, 1, &[]);
    let g = GroupId(s(&sess.name("group")));
    // Kafka creates its offsets topic on the first FindCoordinator: poll until ready.
    let find = FindCoordinatorRequest::default().with_key(g.0.clone());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while sess.quiet(1, &find).error_code != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no coordinator for {g:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    sess.call(1, "", &find);
    sess.call(
        4,
        "",
        &FindCoordinatorRequest::default().with_coordinator_keys(vec![g.0.clone()]),
    );
    let join = |member: &str| {
        JoinGroupRequest::default()
            .with_group_id(g.clone())
            .with_session_timeout_ms(30_000)
            .with_rebalance_timeout_ms(30_000)
            .with_member_id(s(member))
            .with_protocol_type(s("consumer"))
            .with_protocols(vec![JoinGroupRequestProtocol::default()
                .with_name(s("range"))
                .with_metadata(Bytes::from_static(
                    b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
                ))])
    };
    let Some(first) = sess.call(5, "new member", &join("")) else {
        return;
    };
    let member = first.member_id.to_string();
    let Some(joined) = sess.call(5, "with member id", &join(&member)) else {
        return;
    };
    let gen = joined.generation_id;
    let assignment = Bytes::from_static(b"\x00\x01\x00\x00\x00\x00\xff\xff\xff\xff");
    sess.call(
        3,
        "",
        &SyncGroupRequest::default()
            .with_group_id(g.clone())
            .with_generation_id(gen)
            .with_member_id(s(&member))
            .with_assignments(vec![SyncGroupRequestAssignment::default()
                .with_member_id(s(&member))
                .with_assignment(assignment)]),
    );
    let heartbeat = |gen: i32, member: &str| {
        HeartbeatRequest::default()
            .with_group_id(g.clone())
            .with_generation_id(gen)
            .with_member_id(s(member))
    };
    sess.call(3, "", &heartbeat(gen, &member));
    sess.call(3, "wrong generation", &heartbeat(gen + 5, &member));
    sess.call(3, "unknown member", &heartbeat(gen, "nobody"));
    let commit = |gen: i32, member: &str, offset: i64| {
        OffsetCommitRequest::default()
            .with_group_id(g.clone())
            .with_generation_id_or_member_epoch(gen)
            .with_member_id(s(member))
            .with_topics(vec![OffsetCommitRequestTopic::default()
                .with_name(t.clone())
                .with_partitions(vec![OffsetCommitRequestPartition::default()
                    .with_partition_index(0)
                    .with_committed_offset(offset)
                    .with_committed_metadata(Some(s("diff-meta")))])])
    };
    sess.call(8, "", &commit(gen, &member, 3));
    sess.call(8, "unknown member", &commit(gen, "nobody", 4));
    sess.call(8, "wrong generation", &commit(gen + 5, &member, 4));
    sess.call(
        7,
        "",
        &OffsetFetchRequest::default()
            .with_group_id(g.clone())
            .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                .with_name(t.clone())
                .with_partition_indexes(vec![0, 1])])),
    );
    sess.call(
        8,
        "",
        &OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
            .with_group_id(g.clone())
            .with_topics(Some(vec![OffsetFetchRequestTopics::default()
                .with_name(t.clone())
                .with_partition_indexes(vec![0])]))]),
    );
    let describe = DescribeGroupsRequest::default().with_groups(vec![g.clone()]);
    sess.call(5, "stable", &describe);
    sess.call(
        3,
        "",
        &LeaveGroupRequest::default()
            .with_group_id(g.clone())
            .with_members(vec![MemberIdentity::default().with_member_id(s(&member))]),
    );
    sess.call(5, "after leave", &describe);
    sess.call(
        8,
        "all topics, after leave",
        &OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
            .with_group_id(g.clone())
            .with_topics(None)]),
    );
}

fn describe_configs(sess: &mut Session) {
    let t = sess.topic("cfg");
    create(
        sess,
        &t,
        1,
        &[("cleanup.policy", "compact"), ("retention.ms", "3600000")],
    );
    let req = |name: &str, keys: Option<&[&str]>, synonyms: bool| {
        DescribeConfigsRequest::default()
            .with_include_synonyms(synonyms)
            .with_resources(vec![DescribeConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(s(name))
                .with_configuration_keys(
                    keys.map(|k| k.iter().map(|x| s(x)).collect()),
                )])
    };
    let name = t.0.as_str().to_string();
    sess.call(1, "all, synonyms", &req(&name, None, true));
    let keys = [
        "cleanup.policy",
        "retention.ms",
        "max.message.bytes",
        "segment.bytes",
        "min.insync.replicas",
        "compression.type",
        "message.timestamp.type",
    ];
    sess.call(4, "some keys", &req(&name, Some(&keys), false));
    sess.call(4, "some keys, synonyms", &req(&name, Some(&keys), true));
    sess.call(
        4,
        "unknown key",
        &req(&name, Some(&["no.such.config"]), false),
    );
    let unknown = sess.name("cfg-unknown");
    sess.call(4, "unknown topic", &req(&unknown, None, false));
}

fn unknown_topic(sess: &mut Session) {
    let t = sess.topic("nope");
    let name = t.0.as_str().to_string();
    sess.call(12, "", &metadata_req(12, &[&t], false));
    sess.call(
        9,
        "",
        &produce_req(&name, Uuid::nil(), 0, batch(1, 0, Compression::None), -1),
    );
    sess.fetch(12, "", &fetch_req(&name, Uuid::nil(), 12, 0, 0, 0, 0));
    sess.call(
        7,
        "",
        &ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(t.clone())
                .with_partitions(vec![
                    ListOffsetsPartition::default().with_timestamp(-1)
                ])]),
    );
    sess.call(
        6,
        "",
        &DeleteTopicsRequest::default()
            .with_timeout_ms(10_000)
            .with_topics(vec![DeleteTopicState::default().with_name(Some(t.clone()))]),
    );
    sess.call(
        8,
        "unknown group",
        &OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(s(&sess.name("nogroup"))))
            .with_topics(Some(vec![OffsetFetchRequestTopics::default()
                .with_name(t.clone())
                .with_partition_indexes(vec![0])]))]),
    );
}
