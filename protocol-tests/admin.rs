use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_topic_partitions_request::TopicRequest;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::*;
use uuid::Uuid;

use crate::common::{Client, Need, Rill};
use crate::ops::{create_topic, name, topic_configs, uniq};

fn topic(n: &str, partitions: i32, rf: i16, configs: &[(&str, &str)]) -> CreatableTopic {
    CreatableTopic::default()
        .with_name(name(n))
        .with_num_partitions(partitions)
        .with_replication_factor(rf)
        .with_configs(topic_configs(configs))
}

fn exists(c: &mut Client, t: &str) -> bool {
    let r = c.send(
        9,
        &MetadataRequest::default()
            .with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(name(t)))
            ]))
            .with_allow_auto_topic_creation(false),
    );
    r.topics[0].error_code == 0
}

#[test]
fn create_topics_versions_errors_and_validate_only() {
    needs!(Need::Flags("--default-partitions 2"));
    let rill = Rill::start(&["--default-partitions", "2"]);
    let mut c = rill.client();
    for v in 2..=7i16 {
        let n = format!("ct-{v}");
        let r = c.send(
            v,
            &CreateTopicsRequest::default()
                .with_timeout_ms(1000)
                .with_topics(vec![topic(&n, 3, 1, &[("cleanup.policy", "delete")])]),
        );
        let t = &r.topics[0];
        assert_eq!(t.error_code, 0, "v{v}: {:?}", t.error_message);
        if v >= 5 {
            assert_eq!(t.num_partitions, 3);
            let cfgs = t.configs.as_ref().expect("configs v5+");
            assert!(cfgs.iter().any(|c| c.name.as_str() == "cleanup.policy"
                && c.value.as_ref().map(|v| v.as_str()) == Some("delete")
                && c.config_source == 1));
        }
        if v >= 7 {
            assert!(!t.topic_id.is_nil());
        }
        assert!(exists(&mut c, &n));
    }
    let r = c.send(
        7,
        &CreateTopicsRequest::default().with_topics(vec![
            topic("ct-2", 1, 1, &[]),
            topic("bad name", 1, 1, &[]),
            topic("zero", 0, 1, &[]),
            topic("rf3", 1, 3, &[]),
            topic("badcfg", 1, 1, &[("no.such.config", "1")]),
            topic("badval", 1, 1, &[("max.message.bytes", "x")]),
            topic("dflt", -1, -1, &[]),
            topic("dup", 1, 1, &[]),
            topic("dup", 1, 1, &[]),
        ]),
    );
    let codes: Vec<i16> = r.topics.iter().map(|t| t.error_code).collect();
    assert_eq!(codes, vec![36, 17, 37, 38, 40, 40, 0, 42, 42]);
    assert_eq!(r.topics[6].num_partitions, 2);
    let r = c.send(
        7,
        &CreateTopicsRequest::default()
            .with_validate_only(true)
            .with_topics(vec![topic("only-validated", 5, 1, &[])]),
    );
    assert_eq!(r.topics[0].error_code, 0);
    assert_eq!(r.topics[0].num_partitions, 5);
    assert!(!exists(&mut c, "only-validated"));
}

#[test]
fn delete_topics_by_name_and_id() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    create_topic(&mut c, "d1", 1, &[]);
    let id2 = create_topic(&mut c, "d2", 2, &[]);
    let r = c.send(
        4,
        &DeleteTopicsRequest::default()
            .with_topic_names(vec![name("d1"), name("missing")])
            .with_timeout_ms(1000),
    );
    assert_eq!(r.responses[0].error_code, 0);
    assert_eq!(r.responses[1].error_code, 3);
    assert!(!exists(&mut c, "d1"));
    let r = c.send(
        6,
        &DeleteTopicsRequest::default().with_topics(vec![
            DeleteTopicState::default()
                .with_name(None)
                .with_topic_id(id2),
            DeleteTopicState::default()
                .with_name(None)
                .with_topic_id(Uuid::new_v4()),
        ]),
    );
    assert_eq!(r.responses[0].error_code, 0);
    assert_eq!(r.responses[0].name.as_ref().unwrap().as_str(), uniq("d2"));
    assert_eq!(r.responses[1].error_code, 100);
    assert!(!exists(&mut c, "d2"));
    // A deleted name can be created again, with a new id and no old data.
    let id3 = create_topic(&mut c, "d2", 1, &[]);
    assert_ne!(id3, id2);
}

#[test]
fn create_partitions_grows_topics() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    create_topic(&mut c, "grow", 2, &[]);
    for (v, count, code) in [(0i16, 3, 0i16), (3, 5, 0), (3, 5, 37), (3, 1, 37)] {
        let r = c.send(
            v,
            &CreatePartitionsRequest::default().with_topics(vec![CreatePartitionsTopic::default()
                .with_name(name("grow"))
                .with_count(count)]),
        );
        assert_eq!(r.results[0].error_code, code, "v{v} -> {count}");
    }
    let r = c.send(
        3,
        &CreatePartitionsRequest::default().with_topics(vec![CreatePartitionsTopic::default()
            .with_name(name("missing"))
            .with_count(3)]),
    );
    assert_eq!(r.results[0].error_code, 3);
    let m = c.send(
        12,
        &MetadataRequest::default().with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(name("grow")))
        ])),
    );
    assert_eq!(m.topics[0].partitions.len(), 5);
}

#[test]
fn describe_cluster_telemetry_and_topic_partitions() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    for v in 0..=2i16 {
        let r = c.send(v, &DescribeClusterRequest::default());
        assert_eq!(r.error_code, 0);
        assert_eq!(r.brokers.len(), 1);
        assert_eq!(r.cluster_id.len(), 22);
        assert_eq!(
            format!("{}:{}", r.brokers[0].host.as_str(), r.brokers[0].port),
            rill.addr
        );
    }
    let t = c.send(0, &GetTelemetrySubscriptionsRequest::default());
    assert_eq!(t.error_code, 0);
    assert!(!t.client_instance_id.is_nil());
    assert!(t.requested_metrics.is_empty());

    create_topic(&mut c, "dtp-a", 3, &[]);
    create_topic(&mut c, "dtp-b", 2, &[]);
    // Pagination: a limit of 2 partitions walks a(0,1) → a(2),b(0) → b(1).
    let mut cursor = None;
    let mut seen = Vec::new();
    for _ in 0..5 {
        let r = c.send(
            0,
            &DescribeTopicPartitionsRequest::default()
                .with_topics(vec![
                    TopicRequest::default().with_name(name("dtp-a")),
                    TopicRequest::default().with_name(name("dtp-b")),
                ])
                .with_response_partition_limit(2)
                .with_cursor(cursor.clone()),
        );
        for t in &r.topics {
            assert_eq!(t.error_code, 0);
            for p in &t.partitions {
                seen.push(format!(
                    "{}:{}",
                    t.name.as_ref().unwrap().as_str(),
                    p.partition_index
                ));
            }
        }
        match r.next_cursor {
            Some(nc) => {
                cursor = Some(
                    describe_topic_partitions_request::Cursor::default()
                        .with_topic_name(nc.topic_name)
                        .with_partition_index(nc.partition_index),
                )
            }
            None => break,
        }
    }
    let (a, b) = (uniq("dtp-a"), uniq("dtp-b"));
    assert_eq!(
        seen,
        vec![
            format!("{a}:0"),
            format!("{a}:1"),
            format!("{a}:2"),
            format!("{b}:0"),
            format!("{b}:1")
        ]
    );
}
