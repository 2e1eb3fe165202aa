use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::*;

use crate::common::{Need, Rill};
use crate::ops::{create_topic, name, uniq};

fn by_name(topics: &[&str]) -> Option<Vec<MetadataRequestTopic>> {
    Some(
        topics
            .iter()
            .map(|t| MetadataRequestTopic::default().with_name(Some(name(t))))
            .collect(),
    )
}

#[test]
fn metadata_every_version_describes_broker_and_topics() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    let id = create_topic(&mut c, "described", 4, &[]);
    let (host, port) = rill.addr.rsplit_once(':').unwrap();
    for v in 0..=13i16 {
        let req = MetadataRequest::default()
            .with_topics(by_name(&["described"]))
            .with_allow_auto_topic_creation(v < 4);
        let resp = c.send(v, &req);
        assert_eq!(resp.brokers.len(), 1, "v{v}");
        assert_eq!(resp.brokers[0].node_id.0, 1);
        assert_eq!(resp.brokers[0].host.as_str(), host);
        assert_eq!(resp.brokers[0].port.to_string(), port);
        let t = &resp.topics[0];
        assert_eq!(t.error_code, 0, "v{v}");
        assert_eq!(t.partitions.len(), 4, "v{v}");
        assert!(t
            .partitions
            .iter()
            .all(|p| p.leader_id.0 == 1 && p.isr_nodes.len() == 1));
        if v >= 10 {
            assert_eq!(t.topic_id, id, "v{v} topic id");
        }
        if v >= 2 {
            assert!(resp.cluster_id.as_ref().is_some_and(|c| c.len() == 22));
        }
        assert_eq!(
            t.topic_authorized_operations,
            i32::MIN,
            "not requested, v{v}"
        );
        if v >= 8 {
            let asked = c.send(
                v,
                &MetadataRequest::default()
                    .with_topics(by_name(&["described"]))
                    .with_include_topic_authorized_operations(true)
                    .with_include_cluster_authorized_operations(v <= 10),
            );
            // READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS
            assert_eq!(asked.topics[0].topic_authorized_operations, 0xDF8, "v{v}");
            if v <= 10 {
                assert_eq!(asked.cluster_authorized_operations, 0x1FA0, "v{v}");
            }
        }
    }
}

#[test]
fn metadata_all_topics_none_and_auto_create() {
    needs!(
        Need::Flags("--default-partitions 3"),
        Need::Fresh("counts every topic of the cluster")
    );
    let rill = Rill::start(&["--default-partitions", "3"]);
    let mut c = rill.client();
    create_topic(&mut c, "a", 1, &[]);
    // v1+: null = all topics, empty = none; v0: empty = all.
    assert_eq!(
        c.send(1, &MetadataRequest::default().with_topics(None))
            .topics
            .len(),
        1
    );
    assert_eq!(
        c.send(1, &MetadataRequest::default().with_topics(Some(vec![])))
            .topics
            .len(),
        0
    );
    assert_eq!(
        c.send(0, &MetadataRequest::default().with_topics(Some(vec![])))
            .topics
            .len(),
        1
    );
    // v4+ honours allow_auto_topic_creation=false.
    let no = c.send(
        9,
        &MetadataRequest::default()
            .with_topics(by_name(&["nope"]))
            .with_allow_auto_topic_creation(false),
    );
    assert_eq!(no.topics[0].error_code, 3);
    let yes = c.send(
        12,
        &MetadataRequest::default()
            .with_topics(by_name(&["auto"]))
            .with_allow_auto_topic_creation(true),
    );
    assert_eq!(yes.topics[0].error_code, 0);
    assert_eq!(yes.topics[0].partitions.len(), 3);
    assert!(!yes.topics[0].topic_id.is_nil());
    // Invalid names are refused, not created.
    let bad = c.send(
        9,
        &MetadataRequest::default()
            .with_topics(by_name(&["bad/name"]))
            .with_allow_auto_topic_creation(true),
    );
    assert_eq!(bad.topics[0].error_code, 17);
    // A topic requested by id (v12+).
    let by_id = c.send(
        12,
        &MetadataRequest::default().with_topics(Some(vec![MetadataRequestTopic::default()
            .with_name(None)
            .with_topic_id(yes.topics[0].topic_id)])),
    );
    assert_eq!(
        by_id.topics[0].name.as_ref().unwrap().as_str(),
        uniq("auto")
    );
}

#[test]
fn auto_create_can_be_disabled() {
    needs!(Need::Flags("--auto-create-topics false"));
    let rill = Rill::start(&["--auto-create-topics", "false"]);
    let mut c = rill.client();
    let resp = c.send(1, &MetadataRequest::default().with_topics(by_name(&["x"])));
    assert_eq!(resp.topics[0].error_code, 3);
}
