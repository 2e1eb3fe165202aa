//! The coordinator: all classic groups by id, the request entry points, and the index of
//! group deadlines behind [`GroupCoordinator::next_deadline`] / [`GroupCoordinator::tick`].

use std::collections::{BTreeSet, HashMap, HashSet};

use super::classic::{ClassicGroup, Cx};
use super::consumer::*;
use super::types::*;

/// Which request a commit check is for.
#[derive(Debug, Clone, Copy)]
enum CommitKind {
    /// OffsetCommit of this version.
    Offset(i16),
    /// TxnOffsetCommit.
    Transactional,
}

/// Kafka's classic group coordinator as a state machine: no I/O, no clock. Every entry
/// point takes the current time; before handling a request, the addressed group's timers
/// due by then fire, so answers reflect the state at `now_ms`. The caller should also call
/// [`tick`](Self::tick) at [`next_deadline`](Self::next_deadline).
///
/// Every JoinGroup/SyncGroup/Heartbeat/LeaveGroup carries a [`ReplyId`] and is answered by
/// exactly one [`Output`] with that id: in the Vec returned by the call, or later from
/// another call, `tick` or `shutdown`.
#[derive(Debug)]
pub struct GroupCoordinator {
    config: CoordinatorConfig,
    groups: HashMap<String, ClassicGroup>,
    /// KIP-848 groups. A group id is in at most one of the two maps.
    consumer_groups: HashMap<String, ConsumerGroup>,
    /// (deadline, group id) for every group with a timer.
    deadlines: BTreeSet<(u64, String)>,
    active: bool,
    /// Group configs (`consumer.session.timeout.ms`, `consumer.heartbeat.interval.ms`)
    /// set on particular groups; they override `config` for that group.
    overrides: HashMap<String, GroupOverrides>,
}

/// A group's own settings (Kafka's group configs), where set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupOverrides {
    pub consumer_session_timeout_ms: Option<u64>,
    pub consumer_heartbeat_interval_ms: Option<u64>,
}

impl Default for GroupCoordinator {
    fn default() -> Self {
        GroupCoordinator::new(CoordinatorConfig::default())
    }
}

impl GroupCoordinator {
    pub fn new(config: CoordinatorConfig) -> Self {
        GroupCoordinator {
            config,
            groups: HashMap::new(),
            consumer_groups: HashMap::new(),
            deadlines: BTreeSet::new(),
            active: true,
            overrides: HashMap::new(),
        }
    }

    /// Sets (or, with the default, clears) a group's own settings; they apply from the
    /// group's next request.
    pub fn set_overrides(&mut self, group_id: &str, o: GroupOverrides) {
        if o == GroupOverrides::default() {
            self.overrides.remove(group_id);
        } else {
            self.overrides.insert(group_id.to_string(), o);
        }
    }

    /// The settings one group runs with: the coordinator's, with the group's overrides.
    fn group_config(&self, group_id: &str) -> CoordinatorConfig {
        let mut cfg = self.config.clone();
        if let Some(o) = self.overrides.get(group_id) {
            if let Some(v) = o.consumer_session_timeout_ms {
                cfg.consumer_session_timeout_ms = v;
            }
            if let Some(v) = o.consumer_heartbeat_interval_ms {
                cfg.consumer_heartbeat_interval_ms = v;
            }
        }
        cfg
    }

    pub fn config(&self) -> &CoordinatorConfig {
        &self.config
    }

    /// False after [`shutdown`](Self::shutdown): every request then gets
    /// COORDINATOR_NOT_AVAILABLE.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// A group, for inspection.
    pub fn group(&self, group_id: &str) -> Option<&ClassicGroup> {
        self.groups.get(group_id)
    }

    pub fn group_state(&self, group_id: &str) -> Option<GroupState> {
        self.groups.get(group_id).map(|g| g.state())
    }

    /// A KIP-848 group, for inspection.
    pub fn consumer_group(&self, group_id: &str) -> Option<&ConsumerGroup> {
        self.consumer_groups.get(group_id)
    }

    /// Whether a group of either type exists.
    pub fn has_group(&self, group_id: &str) -> bool {
        self.groups.contains_key(group_id) || self.consumer_groups.contains_key(group_id)
    }

    /// Every group of either type as (group id, state name, member count), for metrics.
    pub fn group_summaries(&self) -> Vec<(String, &'static str, usize)> {
        let classic = self.groups.values().map(|g| {
            (
                g.group_id().to_string(),
                g.state().as_str(),
                g.member_ids().len(),
            )
        });
        let consumer = self.consumer_groups.values().map(|g| {
            (
                g.group_id().to_string(),
                g.state().as_str(),
                g.member_count(),
            )
        });
        classic.chain(consumer).collect()
    }

    /// Parked JoinGroup/SyncGroup requests over all groups.
    pub fn parked_replies(&self) -> usize {
        self.groups.values().map(|g| g.parked_replies()).sum()
    }

    /// Runs `f` on a group between two rounds of its due timers, then refiles its deadline.
    /// None if the group does not exist (and `create` is false).
    fn with_group<R>(
        &mut self,
        now: u64,
        group_id: &str,
        create: bool,
        out: &mut Vec<Output>,
        f: impl FnOnce(&mut ClassicGroup, &mut Cx<'_>) -> R,
    ) -> Option<R> {
        if create && !self.groups.contains_key(group_id) {
            self.groups.insert(
                group_id.to_string(),
                ClassicGroup::new(group_id.to_string()),
            );
        }
        let group = self.groups.get_mut(group_id)?;
        let mut cx = Cx {
            now,
            cfg: &self.config,
            out,
        };
        group.run_due_timers(&mut cx);
        let result = f(group, &mut cx);
        group.run_due_timers(&mut cx);
        self.refile(group_id);
        Some(result)
    }

    /// Puts the group's next deadline in the index (or takes it out).
    fn refile(&mut self, group_id: &str) {
        let (next, indexed) = if let Some(group) = self.groups.get_mut(group_id) {
            (group.next_deadline(), &mut group.indexed_deadline)
        } else if let Some(group) = self.consumer_groups.get_mut(group_id) {
            (group.next_deadline(), &mut group.indexed_deadline)
        } else {
            return;
        };
        if next == *indexed {
            return;
        }
        if let Some(old) = indexed.take() {
            self.deadlines.remove(&(old, group_id.to_string()));
        }
        if let Some(new) = next {
            self.deadlines.insert((new, group_id.to_string()));
        }
        *indexed = next;
    }

    fn remove_group(&mut self, group_id: &str) {
        let indexed = if let Some(group) = self.groups.remove(group_id) {
            group.indexed_deadline
        } else if let Some(group) = self.consumer_groups.remove(group_id) {
            group.indexed_deadline
        } else {
            None
        };
        if let Some(old) = indexed {
            self.deadlines.remove(&(old, group_id.to_string()));
        }
    }

    /// Runs `f` on a KIP-848 group after its due timers, then refiles its deadline.
    fn with_consumer_group<R>(
        &mut self,
        now: u64,
        group_id: &str,
        f: impl FnOnce(&mut ConsumerGroup, &CoordinatorConfig) -> R,
    ) -> Option<R> {
        let cfg = self.group_config(group_id);
        let group = self.consumer_groups.get_mut(group_id)?;
        group.run_due_timers(now);
        let result = f(group, &cfg);
        self.refile(group_id);
        Some(result)
    }

    /// ConsumerGroupHeartbeat (KIP-848): answered at once. `catalog` resolves the
    /// subscribed topics. An empty classic group of the same id becomes a consumer group;
    /// a classic group with members is GROUP_ID_NOT_FOUND ("not a consumer group").
    pub fn consumer_heartbeat(
        &mut self,
        now_ms: u64,
        req: &ConsumerHeartbeat,
        catalog: &dyn TopicCatalog,
    ) -> ConsumerHeartbeatResult {
        if !self.active {
            return ConsumerHeartbeatResult {
                error_code: COORDINATOR_NOT_AVAILABLE,
                ..Default::default()
            };
        }
        if let Err((code, message)) = ConsumerGroup::validate_request(req) {
            tracing::debug!(group = %req.group_id, member = %req.member_id, epoch = req.member_epoch, ?code, %message, "ConsumerGroupHeartbeat refused");
            return ConsumerHeartbeatResult::error(code, message);
        }
        let group_id = req.group_id.as_str();
        if self.groups.contains_key(group_id) {
            let mut sink = Vec::new();
            let empty = self
                .with_group(now_ms, group_id, false, &mut sink, |g, _| {
                    g.state() == GroupState::Empty && g.pending_member_count() == 0
                })
                .unwrap_or(false);
            if empty && req.member_epoch == 0 {
                tracing::info!(
                    group = group_id,
                    "converting an empty classic group to a consumer group"
                );
                self.remove_group(group_id);
            } else {
                return ConsumerHeartbeatResult::error(
                    GROUP_ID_NOT_FOUND,
                    format!("Group {group_id} is not a consumer group."),
                );
            }
        }
        if !self.consumer_groups.contains_key(group_id) {
            if req.member_epoch != 0 {
                // Kafka answers GROUP_ID_NOT_FOUND, but its groups outlive a restart and
                // Rill's membership does not: UNKNOWN_MEMBER_ID makes clients that were
                // members before a restart rejoin (librdkafka would retry the stale
                // heartbeat forever on GROUP_ID_NOT_FOUND).
                return ConsumerHeartbeatResult::error(
                    UNKNOWN_MEMBER_ID,
                    format!(
                        "Member {} is unknown: group {group_id} has no members (group membership does not survive a broker restart; rejoin).",
                        req.member_id
                    ),
                );
            }
            self.consumer_groups.insert(
                group_id.to_string(),
                ConsumerGroup::new(group_id.to_string()),
            );
        }
        let result = self.with_consumer_group(now_ms, group_id, |g, cfg| {
            g.heartbeat(req, catalog, &Step { now: now_ms, cfg })
        });
        match result {
            Some(Ok(r)) => {
                tracing::debug!(group = %req.group_id, member = %req.member_id, epoch_in = req.member_epoch, epoch = r.member_epoch, assignment = ?r.assignment.as_ref().map(|a| a.iter().map(|(_, ps)| ps.len()).sum::<usize>()), owned = ?req.owned.as_ref().map(|o| o.iter().map(|(_, ps)| ps.len()).sum::<usize>()), "ConsumerGroupHeartbeat");
                r
            }
            Some(Err((code, message))) => {
                tracing::debug!(group = %req.group_id, member = %req.member_id, epoch = req.member_epoch, ?code, %message, "ConsumerGroupHeartbeat refused");
                ConsumerHeartbeatResult::error(code, message)
            }
            None => ConsumerHeartbeatResult::error(
                GROUP_ID_NOT_FOUND,
                format!("Group {group_id} not found."),
            ),
        }
    }

    /// ConsumerGroupDescribe for one group: unknown and classic groups are
    /// GROUP_ID_NOT_FOUND, as in Kafka.
    pub fn consumer_describe(
        &mut self,
        now_ms: u64,
        group_id: &str,
    ) -> Result<DescribedConsumerGroup, (GroupCode, String)> {
        if !self.active {
            return Err((COORDINATOR_NOT_AVAILABLE, String::new()));
        }
        if self.groups.contains_key(group_id) {
            return Err((
                GROUP_ID_NOT_FOUND,
                format!("Group {group_id} is not a consumer group."),
            ));
        }
        self.with_consumer_group(now_ms, group_id, |g, _| g.describe())
            .ok_or_else(|| (GROUP_ID_NOT_FOUND, format!("Group {group_id} not found.")))
    }

    /// OffsetFetch v9's member checks (KIP-848 groups only; others accept any fetch).
    pub fn validate_offset_fetch(
        &mut self,
        now_ms: u64,
        group_id: &str,
        member_id: &str,
        member_epoch: i32,
    ) -> Result<(), GroupCode> {
        if !self.active {
            return Err(COORDINATOR_NOT_AVAILABLE);
        }
        self.with_consumer_group(now_ms, group_id, |g, _| {
            g.validate_offset_fetch(member_id, member_epoch)
        })
        .unwrap_or(Ok(()))
    }

    /// JoinGroup. An unknown member creates the group if needed; a member id for a group
    /// that does not exist is UNKNOWN_MEMBER_ID.
    pub fn join_group(&mut self, now_ms: u64, reply: ReplyId, req: JoinGroup) -> Vec<Output> {
        let error = |code: GroupCode, req: &JoinGroup| {
            vec![Output::Join(
                reply,
                JoinResult::error(req.member_id.clone(), code),
            )]
        };
        if !self.active {
            return error(COORDINATOR_NOT_AVAILABLE, &req);
        }
        if req.group_id.is_empty() {
            return error(INVALID_GROUP_ID, &req);
        }
        if req.session_timeout_ms < self.config.min_session_timeout_ms
            || req.session_timeout_ms > self.config.max_session_timeout_ms
        {
            return error(INVALID_SESSION_TIMEOUT, &req);
        }
        if let Some(cg) = self.consumer_groups.get_mut(&req.group_id) {
            cg.run_due_timers(now_ms);
            if !cg.is_empty() {
                // Kafka's answer to a classic member whose protocol the group's does not
                // support: this group's members speak KIP-848.
                return error(INCONSISTENT_GROUP_PROTOCOL, &req);
            }
            tracing::info!(group = %req.group_id, "converting an empty consumer group to a classic group");
            let id = req.group_id.clone();
            self.remove_group(&id);
        }
        let mut out = Vec::new();
        let group_id = req.group_id.clone();
        let member_id = req.member_id.clone();
        let create = member_id.is_empty();
        let joined = self.with_group(now_ms, &group_id, create, &mut out, |g, cx| {
            g.join(reply, req, cx)
        });
        if joined.is_none() {
            out.push(Output::Join(
                reply,
                JoinResult::error(member_id, UNKNOWN_MEMBER_ID),
            ));
        }
        out
    }

    /// SyncGroup. The answer may be parked until the leader's SyncGroup arrives.
    pub fn sync_group(&mut self, now_ms: u64, reply: ReplyId, req: SyncGroup) -> Vec<Output> {
        let error = |code: GroupCode| vec![Output::Sync(reply, SyncResult::error(code))];
        if !self.active {
            return error(COORDINATOR_NOT_AVAILABLE);
        }
        if req.group_id.is_empty() {
            return error(INVALID_GROUP_ID);
        }
        let mut out = Vec::new();
        let group_id = req.group_id.clone();
        let synced = self.with_group(now_ms, &group_id, false, &mut out, |g, cx| {
            g.sync(reply, req, cx)
        });
        if synced.is_none() {
            out.push(Output::Sync(reply, SyncResult::error(UNKNOWN_MEMBER_ID)));
        }
        out
    }

    /// Heartbeat: answered at once with `Output::Heartbeat(reply, error_code)` (after any
    /// outputs of timers that fired first).
    pub fn heartbeat(&mut self, now_ms: u64, reply: ReplyId, req: Heartbeat) -> Vec<Output> {
        let mut out = Vec::new();
        let code = if !self.active {
            COORDINATOR_NOT_AVAILABLE
        } else if req.group_id.is_empty() {
            INVALID_GROUP_ID
        } else {
            self.with_group(now_ms, &req.group_id, false, &mut out, |g, cx| {
                g.heartbeat(&req, cx)
            })
            .unwrap_or(UNKNOWN_MEMBER_ID)
        };
        out.push(Output::Heartbeat(reply, code));
        out
    }

    /// LeaveGroup: answered at once with `Output::Leave`, per member; the members' parked
    /// requests and other members' replies may come with it.
    pub fn leave_group(&mut self, now_ms: u64, reply: ReplyId, req: LeaveGroup) -> Vec<Output> {
        let mut out = Vec::new();
        let result = if !self.active {
            LeaveResult {
                error_code: COORDINATOR_NOT_AVAILABLE,
                members: Vec::new(),
            }
        } else if req.group_id.is_empty() {
            LeaveResult {
                error_code: INVALID_GROUP_ID,
                members: Vec::new(),
            }
        } else {
            self.with_group(now_ms, &req.group_id, false, &mut out, |g, cx| {
                g.leave(&req.members, cx)
            })
            .unwrap_or_else(|| LeaveResult {
                error_code: NONE,
                members: req
                    .members
                    .iter()
                    .map(|m| LeaveMemberResult {
                        member_id: m.member_id.clone(),
                        group_instance_id: m.group_instance_id.clone(),
                        error_code: UNKNOWN_MEMBER_ID,
                    })
                    .collect(),
            })
        };
        out.push(Output::Leave(reply, result));
        out
    }

    /// DescribeGroups for one group (state as of the last call or tick).
    pub fn describe_group(&self, group_id: &str) -> DescribedGroup {
        let dead = |error_code| DescribedGroup {
            group_id: group_id.to_string(),
            error_code,
            exists: false,
            state: GroupState::Dead,
            protocol_type: String::new(),
            protocol_data: String::new(),
            members: Vec::new(),
        };
        if !self.active {
            return dead(COORDINATOR_NOT_AVAILABLE);
        }
        match self.groups.get(group_id) {
            Some(group) => group.describe(),
            None => dead(NONE),
        }
    }

    pub fn describe_groups(&self, group_ids: &[String]) -> Vec<DescribedGroup> {
        group_ids.iter().map(|id| self.describe_group(id)).collect()
    }

    /// ListGroups, sorted by group id. Filters are case-insensitive; an empty filter
    /// matches everything; a type filter without "classic" matches nothing here.
    pub fn list_groups(
        &self,
        states_filter: &[String],
        types_filter: &[String],
    ) -> Result<Vec<ListedGroup>, GroupCode> {
        if !self.active {
            return Err(COORDINATOR_NOT_AVAILABLE);
        }
        let normalize = |filter: &[String]| -> HashSet<String> {
            filter.iter().map(|s| s.trim().to_lowercase()).collect()
        };
        let states = normalize(states_filter);
        let types = normalize(types_filter);
        let mut listed: Vec<ListedGroup> = Vec::new();
        if types.is_empty() || types.contains(CLASSIC_GROUP_TYPE) {
            listed.extend(self.groups.values().map(|g| ListedGroup {
                group_id: g.group_id().to_string(),
                protocol_type: g.protocol_type().unwrap_or_default().to_string(),
                state: g.state().as_str(),
                group_type: CLASSIC_GROUP_TYPE,
            }));
        }
        if types.is_empty() || types.contains(CONSUMER_GROUP_TYPE) {
            listed.extend(self.consumer_groups.values().map(|g| ListedGroup {
                group_id: g.group_id().to_string(),
                protocol_type: CONSUMER_PROTOCOL_TYPE.to_string(),
                state: g.state().as_str(),
                group_type: CONSUMER_GROUP_TYPE,
            }));
        }
        listed.retain(|g| states.is_empty() || states.contains(&g.state.to_lowercase()));
        listed.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        Ok(listed)
    }

    /// DeleteGroups: only Empty groups are deleted (NON_EMPTY_GROUP otherwise); unknown ones
    /// are GROUP_ID_NOT_FOUND. The caller deletes the groups' committed offsets for those
    /// answered NONE.
    pub fn delete_groups(
        &mut self,
        now_ms: u64,
        group_ids: &[String],
    ) -> (Vec<(String, GroupCode)>, Vec<Output>) {
        let mut out = Vec::new();
        let mut results = Vec::with_capacity(group_ids.len());
        for id in group_ids {
            let code = if !self.active {
                COORDINATOR_NOT_AVAILABLE
            } else if self.consumer_groups.contains_key(id) {
                match self.with_consumer_group(now_ms, id, |g, _| g.is_empty()) {
                    Some(true) => {
                        self.remove_group(id);
                        NONE
                    }
                    _ => NON_EMPTY_GROUP,
                }
            } else {
                match self.with_group(now_ms, id, false, &mut out, |g, _| g.state()) {
                    None | Some(GroupState::Dead) => GROUP_ID_NOT_FOUND,
                    Some(GroupState::Empty) => {
                        self.remove_group(id);
                        NONE
                    }
                    Some(_) => NON_EMPTY_GROUP,
                }
            };
            results.push((id.clone(), code));
        }
        (results, out)
    }

    /// OffsetCommit's group checks (Kafka's rules). A commit with a negative generation to
    /// an unknown group creates it Empty (a "simple" group) and is allowed; with a real
    /// generation it is ILLEGAL_GENERATION (OffsetCommit v9+ answers GROUP_ID_NOT_FOUND
    /// instead). Otherwise UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID / ILLEGAL_GENERATION /
    /// REBALANCE_IN_PROGRESS (CompletingRebalance). A valid member's commit restarts its
    /// session.
    pub fn validate_commit(
        &mut self,
        now_ms: u64,
        group_id: &str,
        member_id: &str,
        generation_id: i32,
        group_instance_id: Option<&str>,
    ) -> (Result<(), GroupCode>, Vec<Output>) {
        let latest = i16::MAX;
        self.validate_offset_commit(
            now_ms,
            group_id,
            member_id,
            generation_id,
            group_instance_id,
            latest,
        )
    }

    /// [`validate_commit`](Self::validate_commit) for an OffsetCommit of `api_version`:
    /// KIP-848 members must use v9+ (UNSUPPORTED_VERSION otherwise), and their member
    /// epoch must be current (STALE_MEMBER_EPOCH otherwise).
    pub fn validate_offset_commit(
        &mut self,
        now_ms: u64,
        group_id: &str,
        member_id: &str,
        generation_or_epoch: i32,
        group_instance_id: Option<&str>,
        api_version: i16,
    ) -> (Result<(), GroupCode>, Vec<Output>) {
        self.validate_commit_inner(
            now_ms,
            group_id,
            member_id,
            generation_or_epoch,
            group_instance_id,
            CommitKind::Offset(api_version),
        )
    }

    /// TxnOffsetCommit's group checks: as OffsetCommit, except that the group state is not
    /// enforced and no member/generation is needed when none is given.
    pub fn validate_txn_commit(
        &mut self,
        now_ms: u64,
        group_id: &str,
        member_id: &str,
        generation_id: i32,
        group_instance_id: Option<&str>,
    ) -> (Result<(), GroupCode>, Vec<Output>) {
        self.validate_commit_inner(
            now_ms,
            group_id,
            member_id,
            generation_id,
            group_instance_id,
            CommitKind::Transactional,
        )
    }

    fn validate_commit_inner(
        &mut self,
        now_ms: u64,
        group_id: &str,
        member_id: &str,
        generation_id: i32,
        group_instance_id: Option<&str>,
        kind: CommitKind,
    ) -> (Result<(), GroupCode>, Vec<Output>) {
        let (transactional, api_version) = match kind {
            CommitKind::Offset(v) => (false, v),
            CommitKind::Transactional => (true, i16::MAX),
        };
        let mut out = Vec::new();
        if !self.active {
            return (Err(COORDINATOR_NOT_AVAILABLE), out);
        }
        if self.consumer_groups.contains_key(group_id) {
            let result = self
                .with_consumer_group(now_ms, group_id, |g, _| {
                    g.validate_offset_commit(member_id, generation_id, transactional, api_version)
                })
                .unwrap_or(Err(GROUP_ID_NOT_FOUND));
            return (result, out);
        }
        if !self.groups.contains_key(group_id) {
            if generation_id < 0 {
                tracing::info!(group = group_id, "creating a simple group on offset commit");
                self.groups.insert(
                    group_id.to_string(),
                    ClassicGroup::new(group_id.to_string()),
                );
            } else {
                return (Err(ILLEGAL_GENERATION), out);
            }
        }
        let result = self
            .with_group(now_ms, group_id, false, &mut out, |g, cx| {
                g.validate_offset_commit(
                    member_id,
                    group_instance_id,
                    generation_id,
                    transactional,
                    cx,
                )
            })
            .unwrap_or(Err(ILLEGAL_GENERATION));
        (result, out)
    }

    /// OffsetDelete's group checks: unknown → GROUP_ID_NOT_FOUND; a non-empty group that is
    /// not a "consumer" group → NON_EMPTY_GROUP. Then each topic the group is subscribed to
    /// ([`is_subscribed_to_topic`](Self::is_subscribed_to_topic)) gets
    /// GROUP_SUBSCRIBED_TO_TOPIC.
    pub fn validate_offset_delete(&self, group_id: &str) -> Result<(), GroupCode> {
        if !self.active {
            return Err(COORDINATOR_NOT_AVAILABLE);
        }
        if self.consumer_groups.contains_key(group_id) {
            return Ok(());
        }
        let Some(group) = self.groups.get(group_id) else {
            return Err(GROUP_ID_NOT_FOUND);
        };
        match group.state() {
            GroupState::Dead => Err(GROUP_ID_NOT_FOUND),
            GroupState::Empty => Ok(()),
            _ if group.uses_consumer_protocol() => Ok(()),
            _ => Err(NON_EMPTY_GROUP),
        }
    }

    /// The topics the members of a "consumer" group subscribe to (from their metadata for
    /// the selected protocol, as of the current generation); None for other groups,
    /// unknown groups, or metadata that does not parse.
    pub fn subscribed_topics(&self, group_id: &str) -> Option<HashSet<String>> {
        if let Some(g) = self.consumer_groups.get(group_id) {
            return Some(g.subscribed_topic_names().into_iter().collect());
        }
        self.groups.get(group_id)?.subscribed_topics().cloned()
    }

    /// Kafka's rule: a consumer group whose subscriptions could not be read counts as
    /// subscribed to every topic. False for unknown groups.
    pub fn is_subscribed_to_topic(&self, group_id: &str, topic: &str) -> bool {
        if let Some(g) = self.consumer_groups.get(group_id) {
            return g.subscribed_topic_names().contains(topic);
        }
        self.groups
            .get(group_id)
            .is_some_and(|g| g.is_subscribed_to_topic(topic))
    }

    /// When `tick` next has something to do.
    pub fn next_deadline(&self) -> Option<u64> {
        self.deadlines.first().map(|(deadline, _)| *deadline)
    }

    /// Fires every timer due at `now_ms`: session expiries, join-phase completion at the
    /// rebalance timeout, the initial rebalance delay, members late to sync.
    pub fn tick(&mut self, now_ms: u64) -> Vec<Output> {
        let mut out = Vec::new();
        if !self.active {
            return out;
        }
        let due: Vec<String> = self
            .deadlines
            .iter()
            .take_while(|(deadline, _)| *deadline <= now_ms)
            .map(|(_, id)| id.clone())
            .collect();
        for id in due {
            if self.consumer_groups.contains_key(&id) {
                self.with_consumer_group(now_ms, &id, |_, _| ());
            } else {
                self.with_group(now_ms, &id, false, &mut out, |_, _| ());
            }
        }
        out
    }

    /// Answers every parked request with NOT_COORDINATOR (the client rediscovers the
    /// coordinator), forgets all groups, and refuses further requests with
    /// COORDINATOR_NOT_AVAILABLE.
    pub fn shutdown(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        let mut ids: Vec<&String> = self.groups.keys().collect();
        ids.sort();
        let ids: Vec<String> = ids.into_iter().cloned().collect();
        for id in ids {
            if let Some(group) = self.groups.get_mut(&id) {
                let mut cx = Cx {
                    now: 0,
                    cfg: &self.config,
                    out: &mut out,
                };
                group.shutdown(&mut cx);
            }
        }
        self.groups.clear();
        self.consumer_groups.clear();
        self.deadlines.clear();
        self.active = false;
        out
    }
}
