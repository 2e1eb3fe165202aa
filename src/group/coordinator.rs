//! The coordinator: all classic groups by id, the request entry points, and the index of
//! group deadlines behind [`GroupCoordinator::next_deadline`] / [`GroupCoordinator::tick`].

use std::collections::{BTreeSet, HashMap, HashSet};

use super::classic::{ClassicGroup, Cx};
use super::types::*;

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
    /// (deadline, group id) for every group with a timer.
    deadlines: BTreeSet<(u64, String)>,
    active: bool,
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
            deadlines: BTreeSet::new(),
            active: true,
        }
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
        let Some(group) = self.groups.get_mut(group_id) else {
            return;
        };
        let next = group.next_deadline();
        if next == group.indexed_deadline {
            return;
        }
        if let Some(old) = group.indexed_deadline.take() {
            self.deadlines.remove(&(old, group_id.to_string()));
        }
        if let Some(new) = next {
            self.deadlines.insert((new, group_id.to_string()));
        }
        group.indexed_deadline = next;
    }

    fn remove_group(&mut self, group_id: &str) {
        if let Some(group) = self.groups.remove(group_id) {
            if let Some(old) = group.indexed_deadline {
                self.deadlines.remove(&(old, group_id.to_string()));
            }
        }
    }

    /// JoinGroup. An unknown member creates the group if needed; a member id for a group
    /// that does not exist is UNKNOWN_MEMBER_ID.
    pub fn join_group(&mut self, now_ms: u64, reply: ReplyId, req: JoinGroup) -> Vec<Output> {
        let error = |code: i16, req: &JoinGroup| {
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
        let error = |code: i16| vec![Output::Sync(reply, SyncResult::error(code))];
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
    ) -> Result<Vec<ListedGroup>, i16> {
        if !self.active {
            return Err(COORDINATOR_NOT_AVAILABLE);
        }
        let normalize = |filter: &[String]| -> HashSet<String> {
            filter.iter().map(|s| s.trim().to_lowercase()).collect()
        };
        let states = normalize(states_filter);
        let types = normalize(types_filter);
        if !types.is_empty() && !types.contains(CLASSIC_GROUP_TYPE) {
            return Ok(Vec::new());
        }
        let mut listed: Vec<ListedGroup> = self
            .groups
            .values()
            .filter(|g| states.is_empty() || states.contains(&g.state().as_str().to_lowercase()))
            .map(|g| ListedGroup {
                group_id: g.group_id().to_string(),
                protocol_type: g.protocol_type().unwrap_or_default().to_string(),
                state: g.state(),
                group_type: CLASSIC_GROUP_TYPE,
            })
            .collect();
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
    ) -> (Vec<(String, i16)>, Vec<Output>) {
        let mut out = Vec::new();
        let mut results = Vec::with_capacity(group_ids.len());
        for id in group_ids {
            let code = if !self.active {
                COORDINATOR_NOT_AVAILABLE
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
    ) -> (Result<(), i16>, Vec<Output>) {
        self.validate_commit_inner(
            now_ms,
            group_id,
            member_id,
            generation_id,
            group_instance_id,
            false,
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
    ) -> (Result<(), i16>, Vec<Output>) {
        self.validate_commit_inner(
            now_ms,
            group_id,
            member_id,
            generation_id,
            group_instance_id,
            true,
        )
    }

    fn validate_commit_inner(
        &mut self,
        now_ms: u64,
        group_id: &str,
        member_id: &str,
        generation_id: i32,
        group_instance_id: Option<&str>,
        transactional: bool,
    ) -> (Result<(), i16>, Vec<Output>) {
        let mut out = Vec::new();
        if !self.active {
            return (Err(COORDINATOR_NOT_AVAILABLE), out);
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
    pub fn validate_offset_delete(&self, group_id: &str) -> Result<(), i16> {
        if !self.active {
            return Err(COORDINATOR_NOT_AVAILABLE);
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
        self.groups.get(group_id)?.subscribed_topics().cloned()
    }

    /// Kafka's rule: a consumer group whose subscriptions could not be read counts as
    /// subscribed to every topic. False for unknown groups.
    pub fn is_subscribed_to_topic(&self, group_id: &str, topic: &str) -> bool {
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
            self.with_group(now_ms, &id, false, &mut out, |_, _| ());
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
        self.deadlines.clear();
        self.active = false;
        out
    }
}
