//! OffsetForLeaderEpoch, ElectLeaders, partition reassignments and ListConfigResources,
//! per version, as a single-node Kafka answers them.

use kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::records::Compression;

use crate::common::{batch, Rill};
use crate::ops::{create_topic, name, produce, uniq};

#[test]
fn offset_for_leader_epoch_every_version() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    let id = create_topic(&mut c, "ep", 1, &[]);
    assert_eq!(
        produce(&mut c, 9, "ep", id, 0, batch(7, 0, Compression::None)).error_code,
        0
    );
    for v in 2..=4i16 {
        let part = |current: i32, epoch: i32, p: i32| {
            OffsetForLeaderPartition::default()
                .with_partition(p)
                .with_current_leader_epoch(current)
                .with_leader_epoch(epoch)
        };
        let r = c.send(
            v,
            &OffsetForLeaderEpochRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_topics(vec![
                    OffsetForLeaderTopic::default()
                        .with_topic(name("ep"))
                        .with_partitions(vec![
                            part(-1, 0, 0),
                            part(0, 0, 0),
                            part(-1, 5, 0),
                            part(3, 0, 0),
                            part(-1, 0, 9),
                        ]),
                    OffsetForLeaderTopic::default()
                        .with_topic(name("nope"))
                        .with_partitions(vec![part(-1, 0, 0)]),
                ]),
        );
        let got: Vec<(i16, i32, i64)> = r.topics[0]
            .partitions
            .iter()
            .map(|p| (p.error_code, p.leader_epoch, p.end_offset))
            .collect();
        assert_eq!(
            got,
            vec![(0, 0, 7), (0, 0, 7), (0, -1, -1), (75, -1, -1), (3, -1, -1)],
            "v{v}"
        );
        assert_eq!(r.topics[1].partitions[0].error_code, 3);
    }
}

#[test]
fn elect_leaders_and_reassignments_every_version() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    create_topic(&mut c, "el", 2, &[]);
    for v in 0..=2i16 {
        let r = c.send(
            v,
            &ElectLeadersRequest::default()
                .with_election_type(if v >= 1 { 1 } else { 0 })
                .with_timeout_ms(1000)
                .with_topic_partitions(Some(vec![TopicPartitions::default()
                    .with_topic(name("el"))
                    .with_partitions(vec![0, 1, 5])])),
        );
        let codes: Vec<i16> = r.replica_election_results[0]
            .partition_result
            .iter()
            .map(|p| p.error_code)
            .collect();
        assert_eq!(
            codes,
            vec![84, 84, 3],
            "v{v}: ELECTION_NOT_NEEDED, UNKNOWN_TOPIC_OR_PARTITION"
        );
        let all = c.send(
            v,
            &ElectLeadersRequest::default().with_topic_partitions(None),
        );
        assert!(all.replica_election_results.is_empty());
    }
    let l = c.send(
        0,
        &ListPartitionReassignmentsRequest::default().with_topics(None),
    );
    assert_eq!(l.error_code, 0);
    assert!(l.topics.is_empty());
    for v in 0..=1i16 {
        let p = |i: i32, replicas: Option<Vec<i32>>| {
            ReassignablePartition::default()
                .with_partition_index(i)
                .with_replicas(replicas.map(|r| r.into_iter().map(BrokerId).collect()))
        };
        let r = c.send(
            v,
            &AlterPartitionReassignmentsRequest::default().with_topics(vec![
                ReassignableTopic::default()
                    .with_name(name("el"))
                    .with_partitions(vec![
                        p(0, Some(vec![1])),
                        p(1, None),
                        p(0, Some(vec![2])),
                        p(0, Some(vec![])),
                        p(7, Some(vec![1])),
                    ]),
            ]),
        );
        let codes: Vec<i16> = r.responses[0]
            .partitions
            .iter()
            .map(|p| p.error_code)
            .collect();
        assert_eq!(codes, vec![0, 85, 39, 39, 3], "v{v}");
    }
}

#[test]
fn list_config_resources_every_version() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    create_topic(&mut c, "lr-a", 1, &[]);
    create_topic(&mut c, "lr-b", 1, &[]);
    let r = c.send(1, &ListConfigResourcesRequest::default());
    assert_eq!(r.error_code, 0);
    let got: Vec<(i8, String)> = r
        .config_resources
        .iter()
        .map(|x| (x.resource_type, x.resource_name.to_string()))
        .collect();
    assert!(got.contains(&(2, uniq("lr-a"))) && got.contains(&(2, uniq("lr-b"))));
    assert!(got.contains(&(4, "1".into())));
    let r = c.send(
        1,
        &ListConfigResourcesRequest::default().with_resource_types(vec![4]),
    );
    assert_eq!(r.config_resources.len(), 1);
    // v0 lists only client-metrics resources (none here).
    let r = c.send(0, &ListConfigResourcesRequest::default());
    assert_eq!(r.error_code, 0);
    assert!(r.config_resources.is_empty());
    let r = c.send(
        1,
        &ListConfigResourcesRequest::default().with_resource_types(vec![99]),
    );
    assert_eq!(r.error_code, 42);
}
