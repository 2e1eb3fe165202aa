//! A classic-protocol consumer group member (JoinGroup, SyncGroup, Heartbeat,
//! OffsetCommit, LeaveGroup) with the range assignor, for `rill consume --group`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as AssignedPartitions;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ConsumerProtocolAssignment, ConsumerProtocolSubscription, GroupId, HeartbeatRequest,
    JoinGroupRequest, LeaveGroupRequest, OffsetCommitRequest, OffsetFetchRequest, SyncGroupRequest,
    TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use super::AdminError;
use crate::client::{check, ClientError, Cluster};

pub const SESSION_TIMEOUT_MS: i32 = 45_000;
pub const REBALANCE_TIMEOUT_MS: i32 = 60_000;
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(3);
const PROTOCOL: &str = "range";

// Error codes this member reacts to.
const ILLEGAL_GENERATION: i16 = 22;
const UNKNOWN_MEMBER_ID: i16 = 25;
const REBALANCE_IN_PROGRESS: i16 = 27;
const MEMBER_ID_REQUIRED: i16 = 79;
const COORDINATOR_ERRORS: [i16; 3] = [14, 15, 16];

/// A (topic, partition).
pub type Tp = (String, i32);

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// The consumer protocol's embedded messages: a version (i16), then the message.
fn encode_versioned<M: Encodable>(m: &M, version: i16) -> Result<Bytes, ClientError> {
    let mut buf = BytesMut::new();
    buf.put_i16(version);
    m.encode(&mut buf, version)
        .map_err(|e| ClientError::Encode {
            api: "ConsumerProtocol",
            msg: e.to_string(),
        })?;
    Ok(buf.freeze())
}

fn decode_versioned<M: Decodable>(mut b: Bytes, max: i16) -> Option<M> {
    if b.len() < 2 {
        return None;
    }
    let v = b.get_i16();
    M::decode(&mut b, v.clamp(0, max)).ok()
}

/// The partitions in an assignment blob (empty for none or an unreadable one).
pub fn decode_assignment(b: &Bytes) -> Vec<Tp> {
    let Some(a) = decode_versioned::<ConsumerProtocolAssignment>(b.clone(), 3) else {
        return Vec::new();
    };
    let mut out: Vec<Tp> = a
        .assigned_partitions
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| (t.topic.to_string(), *p)))
        .collect();
    out.sort();
    out
}

/// The range assignor: for each topic, its partitions split in order among the members
/// subscribed to it (sorted by id), the first ones taking one more when it does not
/// divide evenly.
pub fn range_assign(
    subscriptions: &BTreeMap<String, Vec<String>>,
    partitions: &BTreeMap<String, i32>,
) -> BTreeMap<String, Vec<Tp>> {
    let mut out: BTreeMap<String, Vec<Tp>> = subscriptions
        .keys()
        .map(|m| (m.clone(), Vec::new()))
        .collect();
    for (topic, &n) in partitions {
        let members: Vec<&String> = subscriptions
            .iter()
            .filter(|(_, ts)| ts.contains(topic))
            .map(|(m, _)| m)
            .collect();
        if members.is_empty() {
            continue;
        }
        let (each, extra) = (n as usize / members.len(), n as usize % members.len());
        let mut next = 0i32;
        for (i, m) in members.iter().enumerate() {
            let take = each + usize::from(i < extra);
            for _ in 0..take {
                if let Some(v) = out.get_mut(*m) {
                    v.push((topic.clone(), next));
                }
                next += 1;
            }
        }
    }
    out
}

fn assignment_bytes(tps: &[Tp]) -> Result<Bytes, ClientError> {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (t, p) in tps {
        by_topic.entry(t).or_default().push(*p);
    }
    let a = ConsumerProtocolAssignment::default().with_assigned_partitions(
        by_topic
            .into_iter()
            .map(|(t, ps)| {
                AssignedPartitions::default()
                    .with_topic(TopicName(s(t)))
                    .with_partitions(ps)
            })
            .collect(),
    );
    encode_versioned(&a, 0)
}

pub enum Beat {
    Ok,
    /// The group is rebalancing (or forgot us): rejoin.
    Rejoin,
}

pub struct Member {
    pub group: String,
    pub topics: Vec<String>,
    pub member_id: String,
    pub generation: i32,
    pub assignment: Vec<Tp>,
    last_beat: Instant,
}

impl Member {
    pub fn new(group: &str, topics: Vec<String>) -> Member {
        Member {
            group: group.to_string(),
            topics,
            member_id: String::new(),
            generation: -1,
            assignment: Vec::new(),
            last_beat: Instant::now(),
        }
    }

    fn coordinator_error(&self, cluster: &mut Cluster, code: i16) -> bool {
        if COORDINATOR_ERRORS.contains(&code) {
            cluster.forget_coordinator(&self.group);
            std::thread::sleep(Duration::from_millis(200));
            return true;
        }
        false
    }

    /// Joins (or rejoins) the group and syncs; returns the new assignment.
    pub fn join(&mut self, cluster: &mut Cluster) -> Result<&[Tp], AdminError> {
        let deadline = Instant::now() + Duration::from_millis(REBALANCE_TIMEOUT_MS as u64 * 2);
        loop {
            if Instant::now() > deadline {
                return Err(AdminError::Failed(format!(
                    "could not join group {}: the rebalance did not complete",
                    self.group
                )));
            }
            let sub = ConsumerProtocolSubscription::default()
                .with_topics(self.topics.iter().map(|t| s(t)).collect());
            let req = JoinGroupRequest::default()
                .with_group_id(GroupId(s(&self.group)))
                .with_session_timeout_ms(SESSION_TIMEOUT_MS)
                .with_rebalance_timeout_ms(REBALANCE_TIMEOUT_MS)
                .with_member_id(s(&self.member_id))
                .with_protocol_type(s("consumer"))
                .with_protocols(vec![JoinGroupRequestProtocol::default()
                    .with_name(s(PROTOCOL))
                    .with_metadata(encode_versioned(&sub, 0)?)]);
            let conn = cluster.coordinator(&self.group)?;
            let normal = conn.default_timeout();
            conn.set_timeout(Duration::from_millis(REBALANCE_TIMEOUT_MS as u64 + 5_000))?;
            let resp = conn.call(&req);
            conn.set_timeout(normal)?;
            let resp = resp?;
            match resp.error_code {
                0 => {}
                MEMBER_ID_REQUIRED => {
                    self.member_id = resp.member_id.to_string();
                    continue;
                }
                UNKNOWN_MEMBER_ID => {
                    self.member_id.clear();
                    continue;
                }
                REBALANCE_IN_PROGRESS => continue,
                code if self.coordinator_error(cluster, code) => continue,
                code => check(|| format!("cannot join group {}", self.group), code, None)?,
            }
            self.member_id = resp.member_id.to_string();
            self.generation = resp.generation_id;
            let protocol_name = resp.protocol_name.clone();
            let assignments = if resp.leader == resp.member_id {
                self.assign(cluster, &resp.members)?
            } else {
                Vec::new()
            };
            let req = SyncGroupRequest::default()
                .with_group_id(GroupId(s(&self.group)))
                .with_generation_id(self.generation)
                .with_member_id(s(&self.member_id))
                .with_assignments(assignments);
            let conn = cluster.coordinator(&self.group)?;
            let v = conn.version::<SyncGroupRequest>()?;
            let req = if v >= 5 {
                req.with_protocol_type(Some(s("consumer")))
                    .with_protocol_name(protocol_name)
            } else {
                req
            };
            conn.set_timeout(Duration::from_millis(REBALANCE_TIMEOUT_MS as u64 + 5_000))?;
            let resp = conn.call_at(v, &req);
            conn.set_timeout(normal)?;
            let resp = resp?;
            match resp.error_code {
                0 => {}
                REBALANCE_IN_PROGRESS | ILLEGAL_GENERATION => continue,
                UNKNOWN_MEMBER_ID => {
                    self.member_id.clear();
                    continue;
                }
                code if self.coordinator_error(cluster, code) => continue,
                code => check(|| format!("cannot sync group {}", self.group), code, None)?,
            }
            self.assignment = decode_assignment(&resp.assignment);
            self.last_beat = Instant::now();
            return Ok(&self.assignment);
        }
    }

    /// The leader's part: every member's subscription → range assignment.
    fn assign(
        &self,
        cluster: &mut Cluster,
        members: &[kafka_protocol::messages::join_group_response::JoinGroupResponseMember],
    ) -> Result<Vec<SyncGroupRequestAssignment>, AdminError> {
        let mut subs: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for m in members {
            let topics = decode_versioned::<ConsumerProtocolSubscription>(m.metadata.clone(), 3)
                .map(|sub| sub.topics.iter().map(|t| t.to_string()).collect())
                .unwrap_or_default();
            subs.insert(m.member_id.to_string(), topics);
        }
        let mut topics: Vec<String> = subs.values().flatten().cloned().collect();
        topics.sort();
        topics.dedup();
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        let meta = cluster.metadata(Some(&names))?;
        let counts: BTreeMap<String, i32> = meta
            .topics
            .iter()
            .filter(|t| t.error_code == 0)
            .filter_map(|t| Some((t.name.as_ref()?.to_string(), t.partitions.len() as i32)))
            .collect();
        range_assign(&subs, &counts)
            .into_iter()
            .map(|(m, tps)| {
                Ok(SyncGroupRequestAssignment::default()
                    .with_member_id(s(&m))
                    .with_assignment(assignment_bytes(&tps)?))
            })
            .collect()
    }

    /// Heartbeats if one is due.
    pub fn heartbeat(&mut self, cluster: &mut Cluster) -> Result<Beat, AdminError> {
        if self.last_beat.elapsed() < HEARTBEAT_INTERVAL {
            return Ok(Beat::Ok);
        }
        self.last_beat = Instant::now();
        let req = HeartbeatRequest::default()
            .with_group_id(GroupId(s(&self.group)))
            .with_generation_id(self.generation)
            .with_member_id(s(&self.member_id));
        let resp = cluster.coordinator(&self.group)?.call(&req)?;
        match resp.error_code {
            0 => Ok(Beat::Ok),
            REBALANCE_IN_PROGRESS | ILLEGAL_GENERATION => Ok(Beat::Rejoin),
            UNKNOWN_MEMBER_ID => {
                self.member_id.clear();
                Ok(Beat::Rejoin)
            }
            code if self.coordinator_error(cluster, code) => Ok(Beat::Rejoin),
            code => Err(
                check(|| format!("heartbeat to group {}", self.group), code, None)
                    .err()
                    .map_or(AdminError::Failed("heartbeat".into()), AdminError::from),
            ),
        }
    }

    /// Committed offsets of the assigned partitions (-1: none).
    pub fn committed(&self, cluster: &mut Cluster) -> Result<BTreeMap<Tp, i64>, AdminError> {
        let mut by_topic: BTreeMap<String, Vec<i32>> = BTreeMap::new();
        for (t, p) in &self.assignment {
            by_topic.entry(t.clone()).or_default().push(*p);
        }
        fetch_offsets(cluster, &self.group, Some(&by_topic))
    }

    /// Commits positions; `Ok(false)` if the group moved on (rejoin needed).
    pub fn commit(
        &mut self,
        cluster: &mut Cluster,
        positions: &BTreeMap<Tp, i64>,
    ) -> Result<bool, AdminError> {
        if positions.is_empty() {
            return Ok(true);
        }
        let resp = commit_offsets(
            cluster,
            &self.group,
            self.generation,
            &self.member_id,
            positions,
        )?;
        for t in &resp.topics {
            for p in &t.partitions {
                match p.error_code {
                    0 => {}
                    REBALANCE_IN_PROGRESS | ILLEGAL_GENERATION | UNKNOWN_MEMBER_ID => {
                        return Ok(false)
                    }
                    code => check(
                        || {
                            format!(
                                "cannot commit {}-{} for group {}",
                                t.name.0, p.partition_index, self.group
                            )
                        },
                        code,
                        None,
                    )?,
                }
            }
        }
        Ok(true)
    }

    /// Leaves the group (best effort: the session timeout would remove us anyway).
    pub fn leave(&mut self, cluster: &mut Cluster) -> Result<(), AdminError> {
        if self.member_id.is_empty() {
            return Ok(());
        }
        let conn = cluster.coordinator(&self.group)?;
        let v = conn.version::<LeaveGroupRequest>()?;
        let req = LeaveGroupRequest::default().with_group_id(GroupId(s(&self.group)));
        let req = if v >= 3 {
            req.with_members(vec![
                MemberIdentity::default().with_member_id(s(&self.member_id))
            ])
        } else {
            req.with_member_id(s(&self.member_id))
        };
        conn.call_at(v, &req)?;
        self.member_id.clear();
        Ok(())
    }
}

/// OffsetCommit of `positions` for `group` (generation -1 and no member: an admin commit
/// into an empty group).
pub fn commit_offsets(
    cluster: &mut Cluster,
    group: &str,
    generation: i32,
    member_id: &str,
    positions: &BTreeMap<Tp, i64>,
) -> Result<kafka_protocol::messages::OffsetCommitResponse, AdminError> {
    let mut by_topic: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
    for ((t, p), o) in positions {
        by_topic.entry(t).or_default().push(
            OffsetCommitRequestPartition::default()
                .with_partition_index(*p)
                .with_committed_offset(*o),
        );
    }
    let req = OffsetCommitRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(s(member_id))
        .with_topics(
            by_topic
                .into_iter()
                .map(|(t, ps)| {
                    OffsetCommitRequestTopic::default()
                        .with_name(TopicName(s(t)))
                        .with_partitions(ps)
                })
                .collect(),
        );
    Ok(cluster.coordinator(group)?.call(&req)?)
}

/// OffsetFetch of `group`: these topics' partitions, or everything the group committed
/// (`None`). Partitions without a committed offset are -1.
pub fn fetch_offsets(
    cluster: &mut Cluster,
    group: &str,
    topics: Option<&BTreeMap<String, Vec<i32>>>,
) -> Result<BTreeMap<Tp, i64>, AdminError> {
    let conn = cluster.coordinator(group)?;
    let v = conn.version::<OffsetFetchRequest>()?;
    let mut out = BTreeMap::new();
    let what = || format!("committed offsets of group {group}");
    if v >= 8 {
        let req =
            OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
                .with_group_id(GroupId(s(group)))
                .with_topics(topics.map(|ts| {
                    ts.iter()
                        .map(|(t, ps)| {
                            OffsetFetchRequestTopics::default()
                                .with_name(TopicName(s(t)))
                                .with_partition_indexes(ps.clone())
                        })
                        .collect()
                }))]);
        let resp = conn.call_at(v, &req)?;
        for g in &resp.groups {
            check(what, g.error_code, None)?;
            for t in &g.topics {
                for p in &t.partitions {
                    check(what, p.error_code, None)?;
                    out.insert((t.name.to_string(), p.partition_index), p.committed_offset);
                }
            }
        }
    } else {
        let req = OffsetFetchRequest::default()
            .with_group_id(GroupId(s(group)))
            .with_topics(topics.map(|ts| {
                ts.iter()
                    .map(|(t, ps)| {
                        OffsetFetchRequestTopic::default()
                            .with_name(TopicName(s(t)))
                            .with_partition_indexes(ps.clone())
                    })
                    .collect()
            }));
        let resp = conn.call_at(v, &req)?;
        check(what, resp.error_code, None)?;
        for t in &resp.topics {
            for p in &t.partitions {
                check(what, p.error_code, None)?;
                out.insert((t.name.to_string(), p.partition_index), p.committed_offset);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subs(v: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        v.iter()
            .map(|(m, ts)| (m.to_string(), ts.iter().map(|t| t.to_string()).collect()))
            .collect()
    }

    #[test]
    fn range_assignment_splits_each_topic_in_order() {
        let parts: BTreeMap<String, i32> = [("a".to_string(), 5), ("b".to_string(), 1)].into();
        let got = range_assign(&subs(&[("m1", &["a", "b"]), ("m2", &["a"])]), &parts);
        let tp = |t: &str, p| (t.to_string(), p);
        assert_eq!(
            got["m1"],
            vec![tp("a", 0), tp("a", 1), tp("a", 2), tp("b", 0)]
        );
        assert_eq!(got["m2"], vec![tp("a", 3), tp("a", 4)]);
        // More members than partitions: some get nothing.
        let one: BTreeMap<String, i32> = [("a".to_string(), 1)].into();
        let got = range_assign(&subs(&[("x", &["a"]), ("y", &["a"])]), &one);
        assert_eq!(got["x"], vec![tp("a", 0)]);
        assert!(got["y"].is_empty());
    }

    #[test]
    fn assignments_round_trip_with_their_version_prefix() {
        let tps = vec![
            ("t".to_string(), 0),
            ("t".to_string(), 2),
            ("u".to_string(), 1),
        ];
        let b = assignment_bytes(&tps).unwrap();
        assert_eq!(&b[..2], &[0, 0]);
        assert_eq!(decode_assignment(&b), tps);
        assert!(decode_assignment(&Bytes::new()).is_empty());
    }
}
