//! One classic group: members, state, generation and timers, and Kafka's transitions
//! between them.
//!
//! ```text
//! Empty ── first join ──▶ PreparingRebalance ── all rejoined, or rebalance timeout ──▶
//!     CompletingRebalance ── leader's SyncGroup ──▶ Stable
//! PreparingRebalance ── nobody left when the join phase ends ──▶ Empty
//! CompletingRebalance | Stable ── new member, changed metadata, leader rejoin, leave,
//!     session expiry, member late to sync ──▶ PreparingRebalance
//! Empty ── DeleteGroups ──▶ Dead (removed);  any ── shutdown ──▶ Dead
//! ```
//!
//! Every method gets the current time and an output list in [`Cx`]; replies to parked
//! JoinGroup/SyncGroup requests are pushed there when they are decided. Timers are plain
//! deadlines, fired by [`ClassicGroup::run_due_timers`].

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use uuid::Uuid;

use super::subscription;
use super::types::*;

/// What a group operation needs from its caller: the time, the settings, and where to put
/// replies.
pub(super) struct Cx<'a> {
    pub now: u64,
    pub cfg: &'a CoordinatorConfig,
    pub out: &'a mut Vec<Output>,
}

#[derive(Debug, Clone)]
struct Member {
    member_id: String,
    group_instance_id: Option<String>,
    client_id: String,
    client_host: String,
    session_timeout_ms: u64,
    rebalance_timeout_ms: u64,
    protocol_type: String,
    /// (name, metadata), the member's preference order, names unique.
    protocols: Vec<(String, Bytes)>,
    assignment: Bytes,
    /// The parked JoinGroup of this member, if any.
    awaiting_join: Option<ReplyId>,
    /// The parked SyncGroup of this member, if any.
    awaiting_sync: Option<ReplyId>,
    /// Added in the current join phase and not yet answered: such a member can expire
    /// (after `new_member_join_timeout_ms`) even while its JoinGroup is parked.
    is_new: bool,
    /// When the session expires unless reset by a heartbeat (or join/sync).
    heartbeat_deadline: u64,
}

impl Member {
    fn supports(&self, protocol: &str) -> bool {
        self.protocols.iter().any(|(name, _)| name == protocol)
    }

    fn metadata(&self, protocol: Option<&str>) -> Bytes {
        protocol
            .and_then(|p| self.protocols.iter().find(|(name, _)| name == p))
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    /// Same protocols, same order, same metadata.
    fn matches(&self, protocols: &[(String, Bytes)]) -> bool {
        self.protocols == protocols
    }

    /// A member whose JoinGroup or SyncGroup is parked is kept alive by it (unless new).
    fn needs_heartbeat(&self) -> bool {
        self.is_new || (self.awaiting_join.is_none() && self.awaiting_sync.is_none())
    }
}

/// The join-phase timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JoinTimer {
    /// First rebalance of an Empty group (Kafka's InitialDelayedJoin): fires after `delay`,
    /// and is extended while new members keep arriving, for at most `remaining` more.
    Initial {
        deadline: u64,
        delay: u64,
        remaining: u64,
    },
    /// Any other rebalance (Kafka's DelayedJoin): completes the join phase with whoever
    /// has rejoined by then.
    Rebalance { deadline: u64 },
}

impl JoinTimer {
    fn deadline(self) -> u64 {
        match self {
            JoinTimer::Initial { deadline, .. } | JoinTimer::Rebalance { deadline } => deadline,
        }
    }
}

/// The timer that fires next.
#[derive(Debug)]
enum Due {
    PendingMember(String),
    Member(String),
    Sync,
    Join,
}

/// One classic consumer group (Kafka's ClassicGroup).
#[derive(Debug)]
pub struct ClassicGroup {
    group_id: String,
    state: GroupState,
    generation_id: i32,
    protocol_type: Option<String>,
    protocol_name: Option<String>,
    leader_id: Option<String>,
    /// In join order (the earliest-joined member is the fallback leader).
    members: Vec<Member>,
    /// Members told MEMBER_ID_REQUIRED, with the deadline of their session.
    pending_members: HashMap<String, u64>,
    /// Members of the current generation that have not sent SyncGroup yet.
    pending_sync: HashSet<String>,
    join_timer: Option<JoinTimer>,
    /// Members still in `pending_sync` at this time are removed.
    sync_deadline: Option<u64>,
    /// A member joined during the initial delayed rebalance (extends the delay).
    new_member_added: bool,
    subscribed_topics: Option<HashSet<String>>,
    /// The deadline this group is filed under in the coordinator's index.
    pub(super) indexed_deadline: Option<u64>,
}

/// Keeps the first occurrence of each protocol name.
fn dedup_protocols(protocols: Vec<(String, Bytes)>) -> Vec<(String, Bytes)> {
    let mut seen = HashSet::new();
    protocols
        .into_iter()
        .filter(|(name, _)| seen.insert(name.clone()))
        .collect()
}

fn timeout_ms(ms: i32) -> u64 {
    u64::try_from(ms).unwrap_or(0)
}

/// A v5+ SyncGroup protocol type/name conflicts only when both sides know it.
fn inconsistent(requested: Option<&str>, group: Option<&str>) -> bool {
    matches!((requested, group), (Some(r), Some(g)) if r != g)
}

impl ClassicGroup {
    pub(super) fn new(group_id: String) -> Self {
        ClassicGroup {
            group_id,
            state: GroupState::Empty,
            generation_id: 0,
            protocol_type: None,
            protocol_name: None,
            leader_id: None,
            members: Vec::new(),
            pending_members: HashMap::new(),
            pending_sync: HashSet::new(),
            join_timer: None,
            sync_deadline: None,
            new_member_added: false,
            subscribed_topics: None,
            indexed_deadline: None,
        }
    }

    // ---- read-only view -------------------------------------------------------------

    pub fn group_id(&self) -> &str {
        &self.group_id
    }

    pub fn state(&self) -> GroupState {
        self.state
    }

    pub fn generation_id(&self) -> i32 {
        self.generation_id
    }

    pub fn protocol_type(&self) -> Option<&str> {
        self.protocol_type.as_deref()
    }

    /// The protocol selected for the current generation.
    pub fn protocol_name(&self) -> Option<&str> {
        self.protocol_name.as_deref()
    }

    pub fn leader_id(&self) -> Option<&str> {
        self.leader_id.as_deref()
    }

    /// Member ids in join order.
    pub fn member_ids(&self) -> Vec<&str> {
        self.members.iter().map(|m| m.member_id.as_str()).collect()
    }

    pub fn has_member(&self, member_id: &str) -> bool {
        self.member_index(member_id).is_some()
    }

    /// The current member id of a static member.
    pub fn static_member_id(&self, group_instance_id: &str) -> Option<&str> {
        self.static_member_index(group_instance_id)
            .map(|i| self.members[i].member_id.as_str())
    }

    /// Members told MEMBER_ID_REQUIRED that have not joined yet.
    pub fn pending_member_count(&self) -> usize {
        self.pending_members.len()
    }

    /// The stored assignment of a member (empty until the leader's SyncGroup).
    pub fn assignment(&self, member_id: &str) -> Option<&Bytes> {
        self.member_index(member_id)
            .map(|i| &self.members[i].assignment)
    }

    /// Topics of all members' subscriptions for a "consumer" group, computed when a
    /// generation starts; None if not a consumer group or a subscription did not parse.
    pub fn subscribed_topics(&self) -> Option<&HashSet<String>> {
        self.subscribed_topics.as_ref()
    }

    /// Kafka's rule for OffsetDelete: when the topics are unknown, a "consumer" group is
    /// assumed subscribed to everything, any other group to nothing.
    pub fn is_subscribed_to_topic(&self, topic: &str) -> bool {
        match &self.subscribed_topics {
            Some(topics) => topics.contains(topic),
            None => self.uses_consumer_protocol(),
        }
    }

    pub(super) fn uses_consumer_protocol(&self) -> bool {
        self.protocol_type.as_deref() == Some(CONSUMER_PROTOCOL_TYPE)
    }

    /// Parked JoinGroup and SyncGroup requests.
    pub fn parked_replies(&self) -> usize {
        self.members
            .iter()
            .map(|m| {
                usize::from(m.awaiting_join.is_some()) + usize::from(m.awaiting_sync.is_some())
            })
            .sum()
    }

    pub(super) fn describe(&self) -> DescribedGroup {
        let stable = self.state == GroupState::Stable;
        let protocol = self.protocol_name.as_deref();
        DescribedGroup {
            group_id: self.group_id.clone(),
            error_code: NONE,
            exists: true,
            state: self.state,
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            protocol_data: if stable {
                self.protocol_name.clone().unwrap_or_default()
            } else {
                String::new()
            },
            members: self
                .members
                .iter()
                .map(|m| DescribedMember {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    metadata: if stable {
                        m.metadata(protocol)
                    } else {
                        Bytes::new()
                    },
                    assignment: if stable {
                        m.assignment.clone()
                    } else {
                        Bytes::new()
                    },
                })
                .collect(),
        }
    }

    // ---- helpers ----------------------------------------------------------------------

    fn member_index(&self, member_id: &str) -> Option<usize> {
        self.members.iter().position(|m| m.member_id == member_id)
    }

    fn static_member_index(&self, group_instance_id: &str) -> Option<usize> {
        self.members
            .iter()
            .position(|m| m.group_instance_id.as_deref() == Some(group_instance_id))
    }

    fn is_leader(&self, member_id: &str) -> bool {
        self.leader_id.as_deref() == Some(member_id)
    }

    fn leader_or_empty(&self) -> String {
        self.leader_id.clone().unwrap_or_default()
    }

    /// The largest rebalance timeout of the members.
    fn rebalance_timeout_ms(&self) -> u64 {
        self.members
            .iter()
            .map(|m| m.rebalance_timeout_ms)
            .max()
            .unwrap_or(0)
    }

    /// Every member has a parked JoinGroup and no MEMBER_ID_REQUIRED member is outstanding.
    fn has_all_members_joined(&self) -> bool {
        self.members.iter().all(|m| m.awaiting_join.is_some()) && self.pending_members.is_empty()
    }

    fn can_rebalance(&self) -> bool {
        matches!(
            self.state,
            GroupState::Stable | GroupState::CompletingRebalance | GroupState::Empty
        )
    }

    fn is_initial_rebalance(&self) -> bool {
        matches!(self.join_timer, Some(JoinTimer::Initial { .. }))
    }

    /// An Empty group accepts any non-empty protocol type and protocol list; otherwise the
    /// type must match and one of the protocols must be supported by every member.
    fn supports_protocols(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if self.state == GroupState::Empty {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols
                .iter()
                .any(|(name, _)| self.members.iter().all(|m| m.supports(name)))
    }

    /// Among the protocols every member supports, each member votes for its most preferred
    /// one; the most votes win. Ties go to the earliest-joined member's preference.
    fn select_protocol(&self) -> Option<String> {
        let first = self.members.first()?;
        let candidates: Vec<&str> = first
            .protocols
            .iter()
            .map(|(name, _)| name.as_str())
            .filter(|name| self.members.iter().all(|m| m.supports(name)))
            .collect();
        let mut votes = vec![0usize; candidates.len()];
        for m in &self.members {
            if let Some(i) = m
                .protocols
                .iter()
                .find_map(|(name, _)| candidates.iter().position(|c| c == name))
            {
                votes[i] += 1;
            }
        }
        let mut best: Option<(usize, usize)> = None;
        for (i, &v) in votes.iter().enumerate() {
            if best.is_none_or(|(_, bv)| v > bv) {
                best = Some((i, v));
            }
        }
        best.map(|(i, _)| candidates[i].to_string())
    }

    fn current_members(&self) -> Vec<JoinMember> {
        let protocol = self.protocol_name.as_deref();
        self.members
            .iter()
            .map(|m| JoinMember {
                member_id: m.member_id.clone(),
                group_instance_id: m.group_instance_id.clone(),
                metadata: m.metadata(protocol),
            })
            .collect()
    }

    fn compute_subscribed_topics(&self) -> Option<HashSet<String>> {
        if !self.uses_consumer_protocol() {
            return None;
        }
        if self.members.is_empty() {
            return Some(HashSet::new());
        }
        let protocol = self.protocol_name.as_deref()?;
        let mut topics = HashSet::new();
        for m in &self.members {
            let metadata = m.metadata(Some(protocol));
            topics.extend(subscription::subscribed_topics(&metadata)?);
        }
        Some(topics)
    }

    /// The current generation as a successful JoinGroup answer.
    fn current_join_result(&self, member_id: &str, with_members: bool) -> JoinResult {
        JoinResult {
            error_code: NONE,
            generation_id: self.generation_id,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            leader: self.leader_or_empty(),
            skip_assignment: false,
            member_id: member_id.to_string(),
            members: if with_members {
                self.current_members()
            } else {
                Vec::new()
            },
        }
    }

    /// Kafka's validateMember: a given instance id must map to this member id
    /// (FENCED_INSTANCE_ID if it maps to another, UNKNOWN_MEMBER_ID if to none), and the
    /// member id must exist.
    fn validate_member(
        &self,
        member_id: &str,
        group_instance_id: Option<&str>,
    ) -> Result<usize, GroupCode> {
        if let Some(instance) = group_instance_id {
            match self.static_member_index(instance) {
                None => return Err(UNKNOWN_MEMBER_ID),
                Some(i) if self.members[i].member_id != member_id => {
                    tracing::info!(
                        group = %self.group_id, member_id, instance,
                        current = %self.members[i].member_id,
                        "static member fenced"
                    );
                    return Err(FENCED_INSTANCE_ID);
                }
                Some(i) => return Ok(i),
            }
        }
        self.member_index(member_id).ok_or(UNKNOWN_MEMBER_ID)
    }

    fn reset_heartbeat(&mut self, idx: usize, now: u64) {
        let m = &mut self.members[idx];
        m.heartbeat_deadline = now.saturating_add(m.session_timeout_ms);
    }

    fn answer_join(&mut self, idx: usize, result: JoinResult, cx: &mut Cx<'_>) -> bool {
        match self.members[idx].awaiting_join.take() {
            Some(reply) => {
                cx.out.push(Output::Join(reply, result));
                true
            }
            None => false,
        }
    }

    fn answer_sync(&mut self, idx: usize, result: SyncResult, cx: &mut Cx<'_>) -> bool {
        match self.members[idx].awaiting_sync.take() {
            Some(reply) => {
                cx.out.push(Output::Sync(reply, result));
                true
            }
            None => false,
        }
    }

    /// Kafka's add: the first member sets the protocol type, the first ever (or first after
    /// the group emptied) becomes leader.
    fn add_member(&mut self, member: Member) {
        if self.members.is_empty() {
            self.protocol_type = Some(member.protocol_type.clone());
        }
        if self.leader_id.is_none() {
            self.leader_id = Some(member.member_id.clone());
        }
        self.pending_members.remove(&member.member_id);
        self.members.push(member);
    }

    /// Kafka's remove. A parked JoinGroup or SyncGroup of the member is answered with
    /// UNKNOWN_MEMBER_ID (it is no longer a member). A removed leader is replaced by the
    /// earliest-joined remaining member.
    fn remove_member(&mut self, member_id: &str, cx: &mut Cx<'_>) {
        if let Some(idx) = self.member_index(member_id) {
            self.answer_join(idx, JoinResult::error("", UNKNOWN_MEMBER_ID), cx);
            self.answer_sync(idx, SyncResult::error(UNKNOWN_MEMBER_ID), cx);
            self.members.remove(idx);
            if self.is_leader(member_id) {
                self.leader_id = self.members.first().map(|m| m.member_id.clone());
            }
        }
        self.pending_members.remove(member_id);
        self.pending_sync.remove(member_id);
    }

    // ---- JoinGroup ----------------------------------------------------------------------

    /// JoinGroup on an existing group (the coordinator creates the group for an unknown
    /// member and answers UNKNOWN_MEMBER_ID for a known one when the group is missing).
    pub(super) fn join(&mut self, reply: ReplyId, mut req: JoinGroup, cx: &mut Cx<'_>) {
        req.protocols = dedup_protocols(std::mem::take(&mut req.protocols));
        if !self.accept_joining_member(&req.member_id, cx.cfg.max_group_size) {
            self.remove_member(&req.member_id, cx);
            cx.out.push(Output::Join(
                reply,
                JoinResult::error("", GROUP_MAX_SIZE_REACHED),
            ));
            self.maybe_complete_join(cx);
        } else if req.member_id.is_empty() {
            self.join_new_member(reply, req, cx);
        } else {
            self.join_existing_member(reply, req, cx);
        }
    }

    /// Kafka's group size limit: in PreparingRebalance the members already rejoined count
    /// (so the last ones to rejoin are turned away), otherwise the whole group.
    fn accept_joining_member(&self, member_id: &str, max_size: usize) -> bool {
        match self.state {
            GroupState::Empty | GroupState::Dead => true,
            GroupState::PreparingRebalance => {
                let awaiting = self
                    .members
                    .iter()
                    .filter(|m| m.awaiting_join.is_some())
                    .count();
                self.member_index(member_id)
                    .is_some_and(|i| self.members[i].awaiting_join.is_some())
                    || awaiting < max_size
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                self.has_member(member_id) || self.members.len() < max_size
            }
        }
    }

    /// A member without an id: static members get one and join (replacing a previous
    /// incarnation of the same instance id); dynamic members of JoinGroup v4+ first get
    /// MEMBER_ID_REQUIRED with their new id and are remembered as pending.
    fn join_new_member(&mut self, reply: ReplyId, req: JoinGroup, cx: &mut Cx<'_>) {
        if self.state == GroupState::Dead {
            cx.out.push(Output::Join(
                reply,
                JoinResult::error("", COORDINATOR_NOT_AVAILABLE),
            ));
            return;
        }
        if !self.supports_protocols(&req.protocol_type, &req.protocols) {
            cx.out.push(Output::Join(
                reply,
                JoinResult::error("", INCONSISTENT_GROUP_PROTOCOL),
            ));
            return;
        }
        let prefix = req.group_instance_id.as_deref().unwrap_or(&req.client_id);
        let new_id = format!("{prefix}-{}", Uuid::new_v4());
        match req.group_instance_id.as_deref() {
            Some(instance) => match self.static_member_id(instance) {
                Some(old_id) => {
                    let old_id = old_id.to_string();
                    self.update_static_member_and_rebalance(reply, &old_id, new_id, &req, cx)
                }
                None => self.add_member_and_rebalance(reply, new_id, &req, cx),
            },
            None if req.require_known_member_id => {
                let deadline = cx.now.saturating_add(timeout_ms(req.session_timeout_ms));
                self.pending_members.insert(new_id.clone(), deadline);
                cx.out.push(Output::Join(
                    reply,
                    JoinResult::error(new_id, MEMBER_ID_REQUIRED),
                ));
            }
            None => self.add_member_and_rebalance(reply, new_id, &req, cx),
        }
    }

    /// A member with an id: a pending member joins for real; a known member either gets
    /// the current generation back (nothing changed) or triggers/joins a rebalance.
    fn join_existing_member(&mut self, reply: ReplyId, req: JoinGroup, cx: &mut Cx<'_>) {
        let member_id = req.member_id.clone();
        if self.state == GroupState::Dead {
            cx.out.push(Output::Join(
                reply,
                JoinResult::error(member_id, COORDINATOR_NOT_AVAILABLE),
            ));
            return;
        }
        if !self.supports_protocols(&req.protocol_type, &req.protocols) {
            cx.out.push(Output::Join(
                reply,
                JoinResult::error(member_id, INCONSISTENT_GROUP_PROTOCOL),
            ));
            return;
        }
        if req.group_instance_id.is_none() && self.pending_members.contains_key(&member_id) {
            self.add_member_and_rebalance(reply, member_id, &req, cx);
            return;
        }
        let idx = match self.validate_member(&member_id, req.group_instance_id.as_deref()) {
            Ok(idx) => idx,
            Err(code) => {
                cx.out
                    .push(Output::Join(reply, JoinResult::error(member_id, code)));
                return;
            }
        };
        match self.state {
            GroupState::PreparingRebalance => {
                self.update_member_and_rebalance(idx, reply, &req, "member rejoined", cx)
            }
            GroupState::CompletingRebalance => {
                if self.members[idx].matches(&req.protocols) {
                    // The member probably lost the JoinGroup answer: send it again.
                    self.reset_heartbeat(idx, cx.now);
                    let result = self.current_join_result(&member_id, self.is_leader(&member_id));
                    cx.out.push(Output::Join(reply, result));
                } else {
                    self.update_member_and_rebalance(
                        idx,
                        reply,
                        &req,
                        "member metadata changed",
                        cx,
                    )
                }
            }
            GroupState::Stable => {
                if self.is_leader(&member_id) {
                    // Lets the leader trigger a rebalance for changes only it sees (topic
                    // metadata for consumers).
                    self.update_member_and_rebalance(idx, reply, &req, "leader rejoined", cx)
                } else if !self.members[idx].matches(&req.protocols) {
                    self.update_member_and_rebalance(
                        idx,
                        reply,
                        &req,
                        "member metadata changed",
                        cx,
                    )
                } else {
                    self.reset_heartbeat(idx, cx.now);
                    let result = self.current_join_result(&member_id, false);
                    cx.out.push(Output::Join(reply, result));
                }
            }
            GroupState::Empty | GroupState::Dead => {
                cx.out.push(Output::Join(
                    reply,
                    JoinResult::error(member_id, UNKNOWN_MEMBER_ID),
                ));
            }
        }
    }

    fn add_member_and_rebalance(
        &mut self,
        reply: ReplyId,
        member_id: String,
        req: &JoinGroup,
        cx: &mut Cx<'_>,
    ) {
        let member = Member {
            member_id,
            group_instance_id: req.group_instance_id.clone(),
            client_id: req.client_id.clone(),
            client_host: req.client_host.clone(),
            session_timeout_ms: timeout_ms(req.session_timeout_ms),
            rebalance_timeout_ms: timeout_ms(req.rebalance_timeout_ms),
            protocol_type: req.protocol_type.clone(),
            protocols: req.protocols.clone(),
            assignment: Bytes::new(),
            awaiting_join: Some(reply),
            awaiting_sync: None,
            is_new: true,
            // A new member cannot heartbeat while its JoinGroup is parked; it is dropped if
            // the join phase takes longer than this (the client will retry).
            heartbeat_deadline: cx.now.saturating_add(cx.cfg.new_member_join_timeout_ms),
        };
        if self.state == GroupState::PreparingRebalance && self.is_initial_rebalance() {
            self.new_member_added = true;
        }
        self.add_member(member);
        self.maybe_prepare_rebalance_or_complete_join("new member joined", cx);
    }

    /// New protocols/timeouts and a parked JoinGroup for an existing member. A JoinGroup
    /// already parked for it (a retry from a new connection) is answered
    /// REBALANCE_IN_PROGRESS, which makes a client rejoin with the same id.
    fn update_member(&mut self, idx: usize, reply: ReplyId, req: &JoinGroup, cx: &mut Cx<'_>) {
        let m = &mut self.members[idx];
        m.protocols = req.protocols.clone();
        m.session_timeout_ms = timeout_ms(req.session_timeout_ms);
        m.rebalance_timeout_ms = timeout_ms(req.rebalance_timeout_ms);
        if let Some(old) = m.awaiting_join.replace(reply) {
            let member_id = m.member_id.clone();
            cx.out.push(Output::Join(
                old,
                JoinResult::error(member_id, REBALANCE_IN_PROGRESS),
            ));
        }
    }

    fn update_member_and_rebalance(
        &mut self,
        idx: usize,
        reply: ReplyId,
        req: &JoinGroup,
        reason: &str,
        cx: &mut Cx<'_>,
    ) {
        self.update_member(idx, reply, req, cx);
        self.maybe_prepare_rebalance_or_complete_join(reason, cx);
    }

    /// A known instance id joined without a member id (a restarted static member): the new
    /// id replaces the old one, which is fenced from now on. In a Stable group whose selected
    /// protocol would not change there is no rebalance: the member gets the current
    /// generation and keeps its assignment.
    fn update_static_member_and_rebalance(
        &mut self,
        reply: ReplyId,
        old_id: &str,
        new_id: String,
        req: &JoinGroup,
        cx: &mut Cx<'_>,
    ) {
        let current_leader = self.leader_or_empty();
        let Some(idx) = self.replace_static_member(old_id, new_id.clone(), cx) else {
            // Unreachable: the caller found the member.
            cx.out.push(Output::Join(
                reply,
                JoinResult::error("", UNKNOWN_MEMBER_ID),
            ));
            return;
        };
        self.reset_heartbeat(idx, cx.now);
        self.update_member(idx, reply, req, cx);
        match self.state {
            GroupState::Stable => {
                let selected = self.select_protocol();
                if selected.is_some() && selected == self.protocol_name {
                    tracing::info!(group = %self.group_id, old_id, new_id = %new_id,
                        "static member rejoined without rebalance");
                    let result = if req.supports_skip_assignment {
                        let is_leader = self.is_leader(&new_id);
                        JoinResult {
                            skip_assignment: is_leader,
                            ..self.current_join_result(&new_id, is_leader)
                        }
                    } else {
                        // The old leader id: a rejoined leader must not think it leads and
                        // compute an assignment a Stable group would never distribute.
                        JoinResult {
                            leader: current_leader,
                            ..self.current_join_result(&new_id, false)
                        }
                    };
                    self.answer_join(idx, result, cx);
                    self.subscribed_topics = self.compute_subscribed_topics();
                } else {
                    self.maybe_prepare_rebalance_or_complete_join(
                        "static member rejoined with a protocol change",
                        cx,
                    );
                }
            }
            // The leader may already be assigning with the old id: start over.
            GroupState::CompletingRebalance => self.prepare_rebalance("static member rejoined", cx),
            GroupState::PreparingRebalance => self.maybe_complete_join(cx),
            GroupState::Empty | GroupState::Dead => {}
        }
    }

    /// Renames a static member; its parked requests are answered FENCED_INSTANCE_ID.
    fn replace_static_member(
        &mut self,
        old_id: &str,
        new_id: String,
        cx: &mut Cx<'_>,
    ) -> Option<usize> {
        let idx = self.member_index(old_id)?;
        self.answer_join(idx, JoinResult::error(old_id, FENCED_INSTANCE_ID), cx);
        self.answer_sync(idx, SyncResult::error(FENCED_INSTANCE_ID), cx);
        let m = &mut self.members[idx];
        m.member_id = new_id.clone();
        m.is_new = false;
        if self.is_leader(old_id) {
            self.leader_id = Some(new_id.clone());
        }
        if self.pending_sync.remove(old_id) {
            self.pending_sync.insert(new_id);
        }
        Some(idx)
    }

    // ---- rebalance ----------------------------------------------------------------------

    fn maybe_prepare_rebalance_or_complete_join(&mut self, reason: &str, cx: &mut Cx<'_>) {
        if self.can_rebalance() {
            self.prepare_rebalance(reason, cx);
        } else {
            self.maybe_complete_join(cx);
        }
    }

    /// → PreparingRebalance. Parked SyncGroups get REBALANCE_IN_PROGRESS. From Empty the
    /// join phase waits for the initial delay; otherwise it completes as soon as every
    /// member has rejoined, or at the rebalance timeout.
    fn prepare_rebalance(&mut self, reason: &str, cx: &mut Cx<'_>) {
        tracing::debug!(group = %self.group_id, state = self.state.as_str(),
            generation = self.generation_id, reason, "preparing rebalance");
        if self.state == GroupState::CompletingRebalance {
            self.reset_and_propagate_assignment_error(REBALANCE_IN_PROGRESS, cx);
        }
        self.pending_sync.clear();
        self.sync_deadline = None;
        let initial = self.state == GroupState::Empty;
        if initial {
            let delay = cx.cfg.initial_rebalance_delay_ms;
            let remaining = self.rebalance_timeout_ms().saturating_sub(delay);
            self.join_timer = Some(JoinTimer::Initial {
                deadline: cx.now.saturating_add(delay),
                delay,
                remaining,
            });
            self.new_member_added = false;
        }
        self.state = GroupState::PreparingRebalance;
        if !initial {
            if self.has_all_members_joined() {
                self.complete_join(cx);
            } else {
                let deadline = cx.now.saturating_add(self.rebalance_timeout_ms());
                self.join_timer = Some(JoinTimer::Rebalance { deadline });
            }
        }
    }

    /// Completes the join phase if everyone is in (never early during the initial delay).
    fn maybe_complete_join(&mut self, cx: &mut Cx<'_>) {
        if self.state == GroupState::PreparingRebalance
            && !self.is_initial_rebalance()
            && self.has_all_members_joined()
        {
            self.complete_join(cx);
        }
    }

    /// End of the join phase: dynamic members that did not rejoin are removed (static ones
    /// stay until their session expires), the generation increments, a protocol is
    /// selected, and every parked JoinGroup is answered (the leader with the members) →
    /// CompletingRebalance; or → Empty if nobody is left. If members remain but none has
    /// rejoined, wait another rebalance timeout.
    fn complete_join(&mut self, cx: &mut Cx<'_>) {
        self.join_timer = None;
        let not_rejoined: Vec<String> = self
            .members
            .iter()
            .filter(|m| m.awaiting_join.is_none() && m.group_instance_id.is_none())
            .map(|m| m.member_id.clone())
            .collect();
        for id in &not_rejoined {
            tracing::info!(group = %self.group_id, member = %id, "removing member that did not rejoin");
            self.remove_member(id, cx);
        }
        if self.state == GroupState::Dead {
            return;
        }
        if !self.maybe_elect_new_joined_leader() && !self.members.is_empty() {
            let deadline = cx.now.saturating_add(self.rebalance_timeout_ms().max(1));
            self.join_timer = Some(JoinTimer::Rebalance { deadline });
            return;
        }
        self.init_next_generation();
        if self.state == GroupState::Empty {
            tracing::info!(group = %self.group_id, generation = self.generation_id, "group is empty");
            return;
        }
        tracing::info!(group = %self.group_id, generation = self.generation_id,
            members = self.members.len(), protocol = ?self.protocol_name, "join phase complete");
        let all = self.current_members();
        for idx in 0..self.members.len() {
            let id = self.members[idx].member_id.clone();
            let is_leader = self.is_leader(&id);
            let result = JoinResult {
                members: if is_leader { all.clone() } else { Vec::new() },
                ..self.current_join_result(&id, false)
            };
            self.answer_join(idx, result, cx);
            self.reset_heartbeat(idx, cx.now);
            self.members[idx].is_new = false;
            self.pending_sync.insert(id);
        }
        self.sync_deadline = Some(cx.now.saturating_add(self.rebalance_timeout_ms()));
    }

    /// Keeps the leader if it rejoined, else picks the first member that did. False if
    /// there is no leader or nobody rejoined.
    fn maybe_elect_new_joined_leader(&mut self) -> bool {
        let Some(leader) = self.leader_id.as_deref() else {
            return false;
        };
        if self
            .member_index(leader)
            .is_some_and(|i| self.members[i].awaiting_join.is_some())
        {
            return true;
        }
        match self.members.iter().find(|m| m.awaiting_join.is_some()) {
            Some(m) => {
                self.leader_id = Some(m.member_id.clone());
                true
            }
            None => false,
        }
    }

    fn init_next_generation(&mut self) {
        self.generation_id = self.generation_id.wrapping_add(1);
        if self.members.is_empty() {
            self.protocol_name = None;
            self.state = GroupState::Empty;
        } else {
            self.protocol_name = self.select_protocol();
            self.state = GroupState::CompletingRebalance;
        }
        self.subscribed_topics = self.compute_subscribed_topics();
        self.pending_sync.clear();
    }

    fn reset_and_propagate_assignment_error(&mut self, error: GroupCode, cx: &mut Cx<'_>) {
        for m in &mut self.members {
            m.assignment = Bytes::new();
        }
        self.propagate_assignment(error, cx);
    }

    fn set_and_propagate_assignment(
        &mut self,
        assignment: &HashMap<String, Bytes>,
        cx: &mut Cx<'_>,
    ) {
        for m in &mut self.members {
            m.assignment = assignment.get(&m.member_id).cloned().unwrap_or_default();
        }
        self.propagate_assignment(NONE, cx);
    }

    /// Answers every parked SyncGroup (with its member's assignment, or the error) and
    /// restarts those members' sessions.
    fn propagate_assignment(&mut self, error: GroupCode, cx: &mut Cx<'_>) {
        let (protocol_type, protocol_name) = if error == NONE {
            (self.protocol_type.clone(), self.protocol_name.clone())
        } else {
            (None, None)
        };
        for idx in 0..self.members.len() {
            let result = SyncResult {
                error_code: error,
                protocol_type: protocol_type.clone(),
                protocol_name: protocol_name.clone(),
                assignment: self.members[idx].assignment.clone(),
            };
            if self.answer_sync(idx, result, cx) {
                self.reset_heartbeat(idx, cx.now);
            }
        }
    }

    fn remove_pending_sync_member(&mut self, member_id: &str) {
        self.pending_sync.remove(member_id);
        if self.pending_sync.is_empty() {
            self.sync_deadline = None;
        }
    }

    // ---- SyncGroup, Heartbeat, LeaveGroup, OffsetCommit ------------------------------------

    /// SyncGroup. In CompletingRebalance the request is parked; the leader's assignment
    /// (members it left out get an empty one) answers every parked SyncGroup → Stable.
    /// In Stable the stored assignment is returned at once.
    pub(super) fn sync(&mut self, reply: ReplyId, req: SyncGroup, cx: &mut Cx<'_>) {
        let answer = |code: GroupCode, cx: &mut Cx<'_>| {
            cx.out.push(Output::Sync(reply, SyncResult::error(code)));
        };
        match self.state {
            GroupState::Empty => return answer(UNKNOWN_MEMBER_ID, cx),
            GroupState::Dead => return answer(COORDINATOR_NOT_AVAILABLE, cx),
            _ => {}
        }
        let idx = match self.validate_member(&req.member_id, req.group_instance_id.as_deref()) {
            Ok(idx) => idx,
            Err(code) => return answer(code, cx),
        };
        if req.generation_id != self.generation_id {
            return answer(ILLEGAL_GENERATION, cx);
        }
        if inconsistent(req.protocol_type.as_deref(), self.protocol_type.as_deref())
            || inconsistent(req.protocol_name.as_deref(), self.protocol_name.as_deref())
        {
            return answer(INCONSISTENT_GROUP_PROTOCOL, cx);
        }
        match self.state {
            GroupState::PreparingRebalance => answer(REBALANCE_IN_PROGRESS, cx),
            GroupState::CompletingRebalance => {
                if let Some(old) = self.members[idx].awaiting_sync.replace(reply) {
                    cx.out
                        .push(Output::Sync(old, SyncResult::error(REBALANCE_IN_PROGRESS)));
                }
                self.remove_pending_sync_member(&req.member_id);
                if self.is_leader(&req.member_id) {
                    let assignment: HashMap<String, Bytes> = req.assignments.into_iter().collect();
                    tracing::info!(group = %self.group_id, generation = self.generation_id,
                        "assignment received from leader");
                    self.set_and_propagate_assignment(&assignment, cx);
                    self.state = GroupState::Stable;
                }
            }
            GroupState::Stable => {
                self.remove_pending_sync_member(&req.member_id);
                self.reset_heartbeat(idx, cx.now);
                cx.out.push(Output::Sync(
                    reply,
                    SyncResult {
                        error_code: NONE,
                        protocol_type: self.protocol_type.clone(),
                        protocol_name: self.protocol_name.clone(),
                        assignment: self.members[idx].assignment.clone(),
                    },
                ));
            }
            GroupState::Empty | GroupState::Dead => answer(UNKNOWN_MEMBER_ID, cx),
        }
    }

    /// Heartbeat: restarts the session; REBALANCE_IN_PROGRESS tells the member to rejoin.
    pub(super) fn heartbeat(&mut self, req: &Heartbeat, cx: &mut Cx<'_>) -> GroupCode {
        if self.state == GroupState::Dead {
            return COORDINATOR_NOT_AVAILABLE;
        }
        let idx = match self.validate_member(&req.member_id, req.group_instance_id.as_deref()) {
            Ok(idx) => idx,
            Err(code) => return code,
        };
        if req.generation_id != self.generation_id {
            return ILLEGAL_GENERATION;
        }
        match self.state {
            GroupState::Empty => UNKNOWN_MEMBER_ID,
            GroupState::PreparingRebalance => {
                self.reset_heartbeat(idx, cx.now);
                REBALANCE_IN_PROGRESS
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                self.reset_heartbeat(idx, cx.now);
                NONE
            }
            GroupState::Dead => COORDINATOR_NOT_AVAILABLE,
        }
    }

    /// LeaveGroup: each member is removed (a static one may be named by instance id alone;
    /// a member id that does not own the instance id is FENCED_INSTANCE_ID), then one
    /// rebalance is triggered, or the join phase completes if it was waiting for them.
    pub(super) fn leave(&mut self, members: &[LeavingMember], cx: &mut Cx<'_>) -> LeaveResult {
        if self.state == GroupState::Dead {
            return LeaveResult {
                error_code: COORDINATOR_NOT_AVAILABLE,
                members: Vec::new(),
            };
        }
        let mut results = Vec::with_capacity(members.len());
        for leaving in members {
            let code = if leaving.member_id.is_empty() {
                match leaving
                    .group_instance_id
                    .as_deref()
                    .and_then(|i| self.static_member_id(i))
                {
                    Some(id) => {
                        let id = id.to_string();
                        self.remove_leaving_member(&id, cx);
                        NONE
                    }
                    None => UNKNOWN_MEMBER_ID,
                }
            } else if self.pending_members.contains_key(&leaving.member_id) {
                self.pending_members.remove(&leaving.member_id);
                NONE
            } else {
                match self.validate_member(&leaving.member_id, leaving.group_instance_id.as_deref())
                {
                    Ok(_) => {
                        self.remove_leaving_member(&leaving.member_id, cx);
                        NONE
                    }
                    Err(code) => code,
                }
            };
            results.push(LeaveMemberResult {
                member_id: leaving.member_id.clone(),
                group_instance_id: leaving.group_instance_id.clone(),
                error_code: code,
            });
        }
        if results.iter().any(|r| r.error_code == NONE) {
            match self.state {
                GroupState::Stable | GroupState::CompletingRebalance => {
                    self.maybe_prepare_rebalance_or_complete_join("members left", cx)
                }
                GroupState::PreparingRebalance => self.maybe_complete_join(cx),
                GroupState::Empty | GroupState::Dead => {}
            }
        }
        LeaveResult {
            error_code: NONE,
            members: results,
        }
    }

    fn remove_leaving_member(&mut self, member_id: &str, cx: &mut Cx<'_>) {
        tracing::info!(group = %self.group_id, member = member_id, "member left the group");
        self.remove_member(member_id, cx);
    }

    /// Kafka's OffsetCommit/TxnOffsetCommit checks. Generation < 0 with no member is a
    /// simple (admin) commit, allowed when the group is Empty. A member's commit in Stable
    /// or PreparingRebalance keeps its session alive.
    pub(super) fn validate_offset_commit(
        &mut self,
        member_id: &str,
        group_instance_id: Option<&str>,
        generation_id: i32,
        transactional: bool,
        cx: &mut Cx<'_>,
    ) -> Result<(), GroupCode> {
        if self.state == GroupState::Dead {
            return Err(COORDINATOR_NOT_AVAILABLE);
        }
        if generation_id < 0 && self.state == GroupState::Empty {
            return Ok(());
        }
        if generation_id >= 0 || !member_id.is_empty() || group_instance_id.is_some() {
            self.validate_member(member_id, group_instance_id)?;
            if generation_id != self.generation_id {
                return Err(ILLEGAL_GENERATION);
            }
        } else if !transactional && self.state != GroupState::Empty {
            return Err(UNKNOWN_MEMBER_ID);
        }
        if transactional {
            return Ok(());
        }
        match self.state {
            GroupState::CompletingRebalance => Err(REBALANCE_IN_PROGRESS),
            GroupState::Stable | GroupState::PreparingRebalance => {
                if let Some(idx) = self.member_index(member_id) {
                    self.reset_heartbeat(idx, cx.now);
                }
                Ok(())
            }
            GroupState::Empty | GroupState::Dead => Ok(()),
        }
    }

    // ---- timers -------------------------------------------------------------------------

    /// The earliest time at which [`run_due_timers`](Self::run_due_timers) has work.
    pub(super) fn next_deadline(&self) -> Option<u64> {
        self.earliest_timer().map(|(deadline, _)| deadline)
    }

    /// The earliest timer; on equal deadlines sessions expire before the sync and join
    /// timers fire.
    fn earliest_timer(&self) -> Option<(u64, Due)> {
        let mut best: Option<(u64, Due)> = None;
        let mut consider = |deadline: u64, due: Due| {
            if best.as_ref().is_none_or(|(b, _)| deadline < *b) {
                best = Some((deadline, due));
            }
        };
        for (id, &deadline) in &self.pending_members {
            consider(deadline, Due::PendingMember(id.clone()));
        }
        for m in self.members.iter().filter(|m| m.needs_heartbeat()) {
            consider(m.heartbeat_deadline, Due::Member(m.member_id.clone()));
        }
        if let Some(deadline) = self.sync_deadline {
            consider(deadline, Due::Sync);
        }
        if let Some(timer) = self.join_timer {
            consider(timer.deadline(), Due::Join);
        }
        best
    }

    /// Fires every timer due at `cx.now`, earliest first.
    pub(super) fn run_due_timers(&mut self, cx: &mut Cx<'_>) {
        // Each step removes a member or a timer or moves a timer past `now`; the bound is
        // only a guard against a logic error spinning forever.
        let bound = 4 * (self.members.len() + self.pending_members.len()) + 16;
        for _ in 0..bound {
            let Some((deadline, due)) = self.earliest_timer() else {
                return;
            };
            if deadline > cx.now {
                return;
            }
            match due {
                Due::PendingMember(id) => self.expire_pending_member(&id, cx),
                Due::Member(id) => self.expire_member(&id, cx),
                Due::Sync => self.expire_pending_sync(cx),
                Due::Join => self.fire_join_timer(cx),
            }
        }
        tracing::warn!(group = %self.group_id, "timer processing stopped at its bound");
    }

    /// A MEMBER_ID_REQUIRED member that never came back.
    fn expire_pending_member(&mut self, member_id: &str, cx: &mut Cx<'_>) {
        tracing::info!(group = %self.group_id, member = member_id, "pending member expired");
        self.pending_members.remove(member_id);
        if self.state == GroupState::PreparingRebalance && self.has_all_members_joined() {
            self.complete_join(cx);
        }
    }

    /// Session timeout (or a new member's JoinGroup waiting too long): the member is
    /// removed; a Stable/CompletingRebalance group rebalances, a joining group may now be
    /// complete.
    fn expire_member(&mut self, member_id: &str, cx: &mut Cx<'_>) {
        tracing::info!(group = %self.group_id, member = member_id, "member session expired");
        self.remove_member(member_id, cx);
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.maybe_prepare_rebalance_or_complete_join("member session expired", cx)
            }
            GroupState::PreparingRebalance if self.has_all_members_joined() => {
                self.complete_join(cx)
            }
            _ => {}
        }
    }

    /// Members that did not send SyncGroup within the rebalance timeout after the join
    /// phase are removed, and the group rebalances.
    fn expire_pending_sync(&mut self, cx: &mut Cx<'_>) {
        self.sync_deadline = None;
        if !matches!(
            self.state,
            GroupState::CompletingRebalance | GroupState::Stable
        ) || self.pending_sync.is_empty()
        {
            return;
        }
        let mut late: Vec<String> = self.pending_sync.drain().collect();
        late.sort();
        for id in &late {
            tracing::info!(group = %self.group_id, member = %id, "member did not sync in time");
            self.remove_member(id, cx);
        }
        self.prepare_rebalance("members did not sync in time", cx);
    }

    fn fire_join_timer(&mut self, cx: &mut Cx<'_>) {
        let Some(timer) = self.join_timer.take() else {
            return;
        };
        if self.state != GroupState::PreparingRebalance {
            return;
        }
        match timer {
            JoinTimer::Initial {
                delay, remaining, ..
            } if self.new_member_added
                && remaining != 0
                && cx.cfg.initial_rebalance_delay_ms > 0 =>
            {
                self.new_member_added = false;
                let next_delay = cx.cfg.initial_rebalance_delay_ms.min(remaining);
                self.join_timer = Some(JoinTimer::Initial {
                    deadline: cx.now.saturating_add(next_delay),
                    delay: next_delay,
                    remaining: remaining.saturating_sub(delay),
                });
            }
            _ => self.complete_join(cx),
        }
    }

    /// Coordinator shutdown: every parked request is answered NOT_COORDINATOR (the client
    /// looks for the coordinator again) and the group is Dead.
    pub(super) fn shutdown(&mut self, cx: &mut Cx<'_>) {
        for idx in 0..self.members.len() {
            let id = self.members[idx].member_id.clone();
            self.answer_join(idx, JoinResult::error(id, NOT_COORDINATOR), cx);
            self.answer_sync(idx, SyncResult::error(NOT_COORDINATOR), cx);
        }
        self.state = GroupState::Dead;
        self.join_timer = None;
        self.sync_deadline = None;
    }
}
