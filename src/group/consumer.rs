//! One KIP-848 consumer group (ConsumerGroupHeartbeat): members with epochs, a target
//! assignment computed by a server-side assignor whenever the group epoch moves, and each
//! member's reconciliation towards its target, one heartbeat at a time.
//!
//! Epochs: the *group epoch* bumps when membership, subscriptions or the subscribed topics'
//! partition counts change; the *assignment epoch* is the group epoch the target assignment
//! was computed for; a member's *epoch* reaches the assignment epoch once it has revoked
//! what it must give up. A partition is handed to its new owner only once no other member
//! holds it (assigned or pending revocation), so no partition is ever owned twice.
//!
//! Member states (Kafka's names): STABLE (at the target), UNREVOKED_PARTITIONS (must give
//! partitions up first; keeps its epoch until it confirms by listing what it still owns),
//! UNRELEASED_PARTITIONS (at the new epoch, waiting for partitions others still hold).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use uuid::Uuid;

use super::assignor::{self, Assignment, AssignorMember, ASSIGNORS};
use super::types::*;

/// The group type consumer groups report in ListGroups.
pub const CONSUMER_GROUP_TYPE: &str = "consumer";

/// The topics the coordinator can see (names, ids and partition counts).
pub trait TopicCatalog {
    /// (topic id, partition count) of an existing topic.
    fn lookup(&self, name: &str) -> Option<(Uuid, i32)>;
    /// Every topic name (for regex subscriptions).
    fn names(&self) -> Vec<String>;
}

impl TopicCatalog for BTreeMap<String, (Uuid, i32)> {
    fn lookup(&self, name: &str) -> Option<(Uuid, i32)> {
        self.get(name).copied()
    }
    fn names(&self) -> Vec<String> {
        self.keys().cloned().collect()
    }
}

/// A ConsumerGroupHeartbeat request.
#[derive(Debug, Clone, Default)]
pub struct ConsumerHeartbeat {
    pub group_id: String,
    pub member_id: String,
    pub member_epoch: i32,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    /// -1: unchanged.
    pub rebalance_timeout_ms: i32,
    pub subscribed_topic_names: Option<Vec<String>>,
    pub subscribed_topic_regex: Option<String>,
    pub server_assignor: Option<String>,
    /// The partitions the member owns (None: unchanged since the last heartbeat).
    pub owned: Option<Vec<(Uuid, Vec<i32>)>>,
    pub client_id: String,
    pub client_host: String,
    pub api_version: i16,
}

/// The answer to a ConsumerGroupHeartbeat.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConsumerHeartbeatResult {
    pub error_code: GroupCode,
    pub error_message: Option<String>,
    pub member_id: Option<String>,
    pub member_epoch: i32,
    pub heartbeat_interval_ms: i32,
    /// Sent when the request was a full one or the member's assignment changed.
    pub assignment: Option<Vec<(Uuid, Vec<i32>)>>,
}

impl ConsumerHeartbeatResult {
    pub fn error(code: GroupCode, message: impl Into<String>) -> Self {
        ConsumerHeartbeatResult {
            error_code: code,
            error_message: Some(message.into()),
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberState {
    Stable,
    UnrevokedPartitions,
    UnreleasedPartitions,
}

/// A consumer group's state as Kafka names it (ConsumerGroupDescribe, ListGroups).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumerGroupState {
    Empty,
    Assigning,
    Reconciling,
    Stable,
}

impl ConsumerGroupState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsumerGroupState::Empty => "Empty",
            ConsumerGroupState::Assigning => "Assigning",
            ConsumerGroupState::Reconciling => "Reconciling",
            ConsumerGroupState::Stable => "Stable",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ConsumerMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub subscribed_names: BTreeSet<String>,
    pub subscribed_regex: Option<String>,
    pub server_assignor: Option<String>,
    pub epoch: i32,
    pub previous_epoch: i32,
    pub state: MemberState,
    /// What the member may use now.
    pub assigned: Assignment,
    /// What it must give up before it moves on.
    pub pending_revocation: Assignment,
    session_deadline: u64,
    revocation_deadline: Option<u64>,
}

impl ConsumerMember {
    fn new(member_id: String) -> Self {
        ConsumerMember {
            member_id,
            instance_id: None,
            rack_id: None,
            client_id: String::new(),
            client_host: String::new(),
            rebalance_timeout_ms: 300_000,
            subscribed_names: BTreeSet::new(),
            subscribed_regex: None,
            server_assignor: None,
            epoch: 0,
            previous_epoch: -1,
            state: MemberState::Stable,
            assigned: Assignment::new(),
            pending_revocation: Assignment::new(),
            session_deadline: 0,
            revocation_deadline: None,
        }
    }
}

/// A member as ConsumerGroupDescribe shows it (topic names resolved by the caller).
#[derive(Debug, Clone)]
pub struct DescribedConsumerMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub member_epoch: i32,
    pub client_id: String,
    pub client_host: String,
    pub subscribed_topic_names: Vec<String>,
    pub subscribed_topic_regex: Option<String>,
    pub assignment: Assignment,
    pub target_assignment: Assignment,
}

#[derive(Debug, Clone)]
pub struct DescribedConsumerGroup {
    pub group_id: String,
    pub state: ConsumerGroupState,
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub assignor_name: String,
    pub members: Vec<DescribedConsumerMember>,
}

/// Everything the group needs from the coordinator for one step.
pub struct Step<'a> {
    pub now: u64,
    pub cfg: &'a CoordinatorConfig,
}

#[derive(Debug)]
pub struct ConsumerGroup {
    group_id: String,
    group_epoch: i32,
    assignment_epoch: i32,
    members: BTreeMap<String, ConsumerMember>,
    /// group.instance.id → member id.
    static_members: HashMap<String, String>,
    /// Target assignment by member id, as of `assignment_epoch`.
    target: BTreeMap<String, Assignment>,
    /// Every partition some member holds (assigned or pending revocation) → that member.
    owners: HashMap<(Uuid, i32), String>,
    /// Subscribed topic name → (id, partitions), as of the last group epoch bump.
    subscription: BTreeMap<String, (Uuid, i32)>,
    assignor: String,
    /// The deadline filed in the coordinator's index (maintained by the coordinator).
    pub(crate) indexed_deadline: Option<u64>,
}

type HbResult = Result<ConsumerHeartbeatResult, (GroupCode, String)>;

impl ConsumerGroup {
    pub fn new(group_id: String) -> Self {
        ConsumerGroup {
            group_id,
            group_epoch: 0,
            assignment_epoch: 0,
            members: BTreeMap::new(),
            static_members: HashMap::new(),
            target: BTreeMap::new(),
            owners: HashMap::new(),
            subscription: BTreeMap::new(),
            assignor: ASSIGNORS[0].to_string(),
            indexed_deadline: None,
        }
    }

    pub fn group_id(&self) -> &str {
        &self.group_id
    }

    pub fn group_epoch(&self) -> i32 {
        self.group_epoch
    }

    pub fn assignment_epoch(&self) -> i32 {
        self.assignment_epoch
    }

    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn member(&self, member_id: &str) -> Option<&ConsumerMember> {
        self.members.get(member_id)
    }

    pub fn members(&self) -> impl Iterator<Item = &ConsumerMember> {
        self.members.values()
    }

    pub fn state(&self) -> ConsumerGroupState {
        if self.members.is_empty() {
            ConsumerGroupState::Empty
        } else if self.group_epoch > self.assignment_epoch {
            ConsumerGroupState::Assigning
        } else if self
            .members
            .values()
            .any(|m| m.epoch != self.assignment_epoch || m.state != MemberState::Stable)
        {
            ConsumerGroupState::Reconciling
        } else {
            ConsumerGroupState::Stable
        }
    }

    /// Topic names the members subscribe to (explicit names and regex matches, as of the
    /// last epoch bump).
    pub fn subscribed_topic_names(&self) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = self
            .members
            .values()
            .flat_map(|m| m.subscribed_names.iter().cloned())
            .collect();
        // Regex matches, as of the last epoch bump, of members still here.
        for m in self
            .members
            .values()
            .filter(|m| m.subscribed_regex.is_some())
        {
            let ids = self.member_topics(m);
            names.extend(
                self.subscription
                    .iter()
                    .filter(|(_, (id, _))| ids.contains(id))
                    .map(|(name, _)| name.clone()),
            );
        }
        names
    }

    pub fn next_deadline(&self) -> Option<u64> {
        self.members
            .values()
            .flat_map(|m| std::iter::once(m.session_deadline).chain(m.revocation_deadline))
            .min()
    }

    /// Session expiry and revocation timeouts: such members are removed (fenced).
    pub fn run_due_timers(&mut self, now: u64) {
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| {
                m.session_deadline <= now || m.revocation_deadline.is_some_and(|d| d <= now)
            })
            .map(|m| m.member_id.clone())
            .collect();
        for id in expired {
            tracing::info!(group = %self.group_id, member = %id, "consumer group member expired (session or revocation timeout)");
            self.remove_member(&id);
        }
    }

    fn remove_member(&mut self, member_id: &str) {
        if let Some(m) = self.members.remove(member_id) {
            if let Some(instance) = &m.instance_id {
                if self.static_members.get(instance).map(String::as_str) == Some(member_id) {
                    self.static_members.remove(instance);
                }
            }
            self.release_all(&m);
            self.target.remove(member_id);
            self.group_epoch += 1;
        }
    }

    fn release_all(&mut self, m: &ConsumerMember) {
        self.release(&m.member_id, &m.assigned);
        self.release(&m.member_id, &m.pending_revocation);
    }

    /// Frees `partitions` where `member_id` is their owner.
    fn release(&mut self, member_id: &str, partitions: &Assignment) {
        for (topic, ps) in partitions {
            for p in ps {
                if self.owners.get(&(*topic, *p)).map(String::as_str) == Some(member_id) {
                    self.owners.remove(&(*topic, *p));
                }
            }
        }
    }

    /// Validates a heartbeat request as Kafka does before it reaches the group.
    pub fn validate_request(req: &ConsumerHeartbeat) -> Result<(), (GroupCode, String)> {
        let invalid = |m: &str| Err((INVALID_REQUEST, m.to_string()));
        if (req.api_version >= 1 || req.member_epoch > 0 || req.member_epoch == -1)
            && req.member_id.is_empty()
        {
            return invalid("MemberId can't be empty.");
        }
        if req.group_id.is_empty() {
            return invalid("GroupId can't be empty.");
        }
        if req.instance_id.as_deref() == Some("") {
            return invalid("InstanceId can't be empty.");
        }
        if req.rack_id.as_deref() == Some("") {
            return invalid("RackId can't be empty.");
        }
        match req.member_epoch {
            0 => {
                if req.rebalance_timeout_ms == -1 {
                    return invalid("RebalanceTimeoutMs must be provided in first request.");
                }
                if req.owned.as_ref().is_none_or(|o| !o.is_empty()) {
                    return invalid("TopicPartitions must be empty when (re-)joining.");
                }
                if req.subscribed_topic_names.is_none() && req.subscribed_topic_regex.is_none() {
                    return invalid(
                        "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.",
                    );
                }
            }
            -2 if req.instance_id.is_none() => return invalid("InstanceId can't be null."),
            e if e < -2 => return invalid("MemberEpoch is invalid."),
            _ => {}
        }
        if let Some(a) = &req.server_assignor {
            if !ASSIGNORS.contains(&a.as_str()) {
                return Err((
                    UNSUPPORTED_ASSIGNOR,
                    format!(
                        "ServerAssignor {a} is not supported. Supported assignors: {}.",
                        ASSIGNORS.join(", ")
                    ),
                ));
            }
        }
        if let Some(re) = req
            .subscribed_topic_regex
            .as_deref()
            .filter(|r| !r.is_empty())
        {
            if let Err(e) = regex::Regex::new(re) {
                return Err((
                    INVALID_REGULAR_EXPRESSION,
                    format!("SubscribedTopicRegex `{re}` is not a valid regular expression: {e}."),
                ));
            }
        }
        Ok(())
    }

    /// ConsumerGroupHeartbeat (request already validated).
    pub fn heartbeat(
        &mut self,
        req: &ConsumerHeartbeat,
        catalog: &dyn TopicCatalog,
        step: &Step<'_>,
    ) -> HbResult {
        if req.member_epoch < 0 {
            return self.leave(req);
        }
        let now = step.now;
        let member_id = if req.member_id.is_empty() {
            Uuid::new_v4().to_string()
        } else {
            req.member_id.clone()
        };
        let mut member = self.take_member(req, &member_id)?;
        let old_assigned = member.assigned.clone();

        // 1. Update the member; a changed subscription bumps the group epoch.
        let mut bump = self.group_epoch == 0;
        if let Some(i) = &req.instance_id {
            if let Some(previous) = member.instance_id.replace(i.clone()) {
                if &previous != i
                    && self.static_members.get(&previous).map(String::as_str) == Some(&member_id)
                {
                    self.static_members.remove(&previous);
                }
            }
        }
        if let Some(r) = &req.rack_id {
            member.rack_id = Some(r.clone());
        }
        if req.rebalance_timeout_ms >= 0 {
            member.rebalance_timeout_ms = req.rebalance_timeout_ms;
        }
        if let Some(a) = &req.server_assignor {
            if member.server_assignor.as_ref() != Some(a) {
                member.server_assignor = Some(a.clone());
                bump = true;
            }
        }
        if let Some(names) = &req.subscribed_topic_names {
            let names: BTreeSet<String> = names.iter().cloned().collect();
            if names != member.subscribed_names {
                member.subscribed_names = names;
                bump = true;
            }
        }
        if let Some(re) = &req.subscribed_topic_regex {
            let re = (!re.is_empty()).then(|| re.clone());
            if re != member.subscribed_regex {
                member.subscribed_regex = re;
                bump = true;
            }
        }
        member.client_id = req.client_id.clone();
        member.client_host = req.client_host.clone();
        member.session_deadline = now + step.cfg.consumer_session_timeout_ms;
        if let Some(i) = &member.instance_id {
            self.static_members.insert(i.clone(), member_id.clone());
        }
        self.members.insert(member_id.clone(), member);

        // Subscribed topics' metadata: a new topic, a deleted one or more partitions
        // bump the epoch too.
        let subscription = self.compute_subscription(catalog);
        if subscription != self.subscription {
            self.subscription = subscription;
            bump = true;
        }
        if bump {
            self.group_epoch += 1;
            tracing::debug!(group = %self.group_id, epoch = self.group_epoch, "consumer group epoch bumped");
        }

        // 2. A new target assignment when the group epoch moved.
        if self.group_epoch > self.assignment_epoch {
            self.compute_target();
        }

        // 3. Reconcile this member towards its target.
        self.reconcile(&member_id, req.owned.as_deref(), now);

        let Some(m) = self.members.get(&member_id) else {
            return Err((UNKNOWN_SERVER_ERROR, format!("member {member_id} vanished")));
        };
        let full = req.member_epoch == 0
            || (req.rebalance_timeout_ms != -1
                && req.subscribed_topic_names.is_some()
                && req.owned.is_some());
        let assignment = (full || m.assigned != old_assigned).then(|| {
            m.assigned
                .iter()
                .map(|(t, ps)| (*t, ps.iter().copied().collect()))
                .collect()
        });
        Ok(ConsumerHeartbeatResult {
            error_code: NONE,
            error_message: None,
            member_id: Some(member_id),
            member_epoch: m.epoch,
            heartbeat_interval_ms: step.cfg.consumer_heartbeat_interval_ms as i32,
            assignment,
        })
    }

    /// Finds (or creates, for epoch 0) the member a heartbeat is from, applying Kafka's
    /// fencing rules, and takes it out of the map for updating.
    fn take_member(
        &mut self,
        req: &ConsumerHeartbeat,
        member_id: &str,
    ) -> Result<ConsumerMember, (GroupCode, String)> {
        if let Some(instance) = &req.instance_id {
            let existing = self.static_members.get(instance).cloned();
            match (req.member_epoch, existing) {
                (0, None) => {}
                (0, Some(old)) if old == member_id => {}
                (0, Some(old)) if !self.members.contains_key(&old) => {
                    // A stale entry (its member is gone): the instance id is free.
                    self.static_members.remove(instance);
                }
                (0, Some(old)) => {
                    let old_epoch = self.members.get(&old).map_or(-2, |m| m.epoch);
                    if old_epoch != -2 {
                        return Err((
                            UNRELEASED_INSTANCE_ID,
                            format!(
                                "Static member {member_id} with instance id {instance} cannot join the group because the instance id is owned by {old} member."
                            ),
                        ));
                    }
                    // A different live member under the new id is replaced outright.
                    if let Some(other) = self.members.remove(member_id) {
                        self.release_all(&other);
                        self.target.remove(member_id);
                        if let Some(i) = &other.instance_id {
                            if self.static_members.get(i).map(String::as_str) == Some(member_id) {
                                self.static_members.remove(i);
                            }
                        }
                        self.group_epoch += 1;
                    }
                    // The replacement takes over the old member's epoch and partitions:
                    // no rebalance for anyone.
                    let mut m = self
                        .members
                        .remove(&old)
                        .unwrap_or_else(|| ConsumerMember::new(member_id.to_string()));
                    m.member_id = member_id.to_string();
                    m.epoch = m.previous_epoch.max(0);
                    for (t, ps) in m.assigned.iter().chain(m.pending_revocation.iter()) {
                        for p in ps {
                            self.owners.insert((*t, *p), member_id.to_string());
                        }
                    }
                    if let Some(target) = self.target.remove(&old) {
                        self.target.insert(member_id.to_string(), target);
                    }
                    return Ok(m);
                }
                _ => self.check_static_member(instance, member_id)?,
            }
        }
        match self.members.remove(member_id) {
            None if req.member_epoch == 0 => {
                tracing::info!(group = %self.group_id, member = %member_id, "member joins the consumer group");
                Ok(ConsumerMember::new(member_id.to_string()))
            }
            None => Err(self.unknown_member(member_id)),
            Some(mut m) if req.member_epoch == 0 => {
                // A known member rejoining from scratch gives up what it held.
                self.release_all(&m);
                m.assigned.clear();
                m.pending_revocation.clear();
                m.previous_epoch = m.epoch;
                m.epoch = 0;
                m.state = MemberState::Stable;
                m.revocation_deadline = None;
                Ok(m)
            }
            Some(m) => {
                let received = req.member_epoch;
                let fenced = received > m.epoch
                    || (received < m.epoch
                        && (received != m.previous_epoch
                            || !is_subset(req.owned.as_deref(), &m.assigned)));
                if fenced {
                    let msg = format!(
                        "The consumer group member has a {} member epoch ({received}) than the one known by the group coordinator ({}). The member must abandon all its partitions and rejoin.",
                        if received > m.epoch { "greater" } else { "smaller" },
                        m.epoch
                    );
                    self.members.insert(member_id.to_string(), m);
                    return Err((FENCED_MEMBER_EPOCH, msg));
                }
                Ok(m)
            }
        }
    }

    /// A request from `member_id` naming `instance`: the instance must be known and held
    /// by that member (UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID otherwise).
    fn check_static_member(
        &self,
        instance: &str,
        member_id: &str,
    ) -> Result<(), (GroupCode, String)> {
        match self.static_members.get(instance) {
            None => Err((
                UNKNOWN_MEMBER_ID,
                format!("Instance id {instance} is unknown."),
            )),
            Some(holder) if holder != member_id => Err((
                FENCED_INSTANCE_ID,
                format!(
                    "Static member {member_id} with instance id {instance} was fenced by member {holder}."
                ),
            )),
            Some(_) => Ok(()),
        }
    }

    fn unknown_member(&self, member_id: &str) -> (GroupCode, String) {
        (
            UNKNOWN_MEMBER_ID,
            format!(
                "Member {member_id} is not a member of group {}.",
                self.group_id
            ),
        )
    }

    /// Epoch -1 (leave) and -2 (a static member leaving for a while, keeping its place).
    fn leave(&mut self, req: &ConsumerHeartbeat) -> HbResult {
        match &req.instance_id {
            Some(instance) => self.check_static_member(instance, &req.member_id)?,
            None if !self.members.contains_key(&req.member_id) => {
                return Err(self.unknown_member(&req.member_id))
            }
            None => {}
        }
        let member_id = req.member_id.clone();
        if req.member_epoch == -2 {
            if let Some(mut m) = self.members.remove(&member_id) {
                tracing::info!(group = %self.group_id, member = %member_id, "static member leaves temporarily");
                if m.epoch >= 0 {
                    m.previous_epoch = m.epoch;
                }
                m.epoch = -2;
                // It keeps what it was assigned (its place), but what it was giving up
                // is free at once, and no revocation is awaited from it any more.
                let pending = std::mem::take(&mut m.pending_revocation);
                self.release(&member_id, &pending);
                m.revocation_deadline = None;
                m.state = MemberState::Stable;
                self.members.insert(member_id.clone(), m);
            }
        } else {
            tracing::info!(group = %self.group_id, member = %member_id, "member leaves the consumer group");
            self.remove_member(&member_id);
        }
        Ok(ConsumerHeartbeatResult {
            member_id: Some(member_id),
            member_epoch: req.member_epoch,
            ..Default::default()
        })
    }

    fn compute_subscription(&self, catalog: &dyn TopicCatalog) -> BTreeMap<String, (Uuid, i32)> {
        let mut names: BTreeSet<String> = BTreeSet::new();
        let mut all_names: Option<Vec<String>> = None;
        for m in self.members.values() {
            names.extend(m.subscribed_names.iter().cloned());
            if let Some(re) = &m.subscribed_regex {
                let Ok(re) = regex::Regex::new(&format!("^(?:{re})$")) else {
                    continue;
                };
                let all = all_names.get_or_insert_with(|| catalog.names());
                names.extend(all.iter().filter(|n| re.is_match(n)).cloned());
            }
        }
        names
            .into_iter()
            .filter_map(|n| catalog.lookup(&n).map(|meta| (n, meta)))
            .collect()
    }

    /// The topics a member subscribes to, as ids (of existing topics).
    fn member_topics(&self, m: &ConsumerMember) -> BTreeSet<Uuid> {
        let re = m
            .subscribed_regex
            .as_ref()
            .and_then(|re| regex::Regex::new(&format!("^(?:{re})$")).ok());
        self.subscription
            .iter()
            .filter(|(name, _)| {
                m.subscribed_names.contains(*name) || re.as_ref().is_some_and(|r| r.is_match(name))
            })
            .map(|(_, (id, _))| *id)
            .collect()
    }

    fn compute_target(&mut self) {
        // The assignor most members ask for; the default when none asks.
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for m in self.members.values() {
            if let Some(a) = &m.server_assignor {
                *votes.entry(a.as_str()).or_default() += 1;
            }
        }
        let chosen = votes
            .iter()
            .max_by_key(|(name, n)| (**n, std::cmp::Reverse(**name)))
            .map(|(name, _)| name.to_string())
            .unwrap_or_else(|| ASSIGNORS[0].to_string());
        self.assignor = chosen;

        let partitions: BTreeMap<Uuid, i32> = self.subscription.values().copied().collect();
        let order: Vec<Uuid> = self.subscription.values().map(|(id, _)| *id).collect();
        let empty = Assignment::new();
        let specs: Vec<AssignorMember<'_>> = self
            .members
            .values()
            .map(|m| AssignorMember {
                member_id: &m.member_id,
                topics: self.member_topics(m),
                current: self.target.get(&m.member_id).unwrap_or(&empty),
            })
            .collect();
        let target = assignor::assign(&self.assignor, &specs, &partitions, &order);
        self.target = target;
        self.assignment_epoch = self.group_epoch;
    }

    /// Moves one member towards its target assignment (Kafka's CurrentAssignmentBuilder).
    fn reconcile(&mut self, member_id: &str, owned: Option<&[(Uuid, Vec<i32>)]>, now: u64) {
        let Some(mut m) = self.members.remove(member_id) else {
            return;
        };
        if m.state == MemberState::UnrevokedPartitions {
            let still_owns = owned.is_none_or(|o| intersects(o, &m.pending_revocation));
            if still_owns {
                self.members.insert(member_id.to_string(), m);
                return;
            }
            // Revocation confirmed: those partitions are free for their new owners.
            let pending = std::mem::take(&mut m.pending_revocation);
            self.release(member_id, &pending);
            m.revocation_deadline = None;
            m.state = MemberState::Stable;
        }
        let settled = m.epoch == self.assignment_epoch && m.state == MemberState::Stable;
        if !settled {
            let target = self.target.get(member_id).cloned().unwrap_or_default();
            let mut kept = Assignment::new();
            let mut revoke = Assignment::new();
            for (t, ps) in &m.assigned {
                for p in ps {
                    if target.get(t).is_some_and(|s| s.contains(p)) {
                        kept.entry(*t).or_default().insert(*p);
                    } else {
                        revoke.entry(*t).or_default().insert(*p);
                    }
                }
            }
            let owns_revoked = !revoke.is_empty() && owned.is_none_or(|o| intersects(o, &revoke));
            if owns_revoked {
                m.state = MemberState::UnrevokedPartitions;
                m.assigned = kept;
                m.pending_revocation = revoke;
                m.revocation_deadline = Some(now + m.rebalance_timeout_ms.max(0) as u64);
            } else {
                self.release(member_id, &revoke);
                let mut assigned = kept;
                let mut unreleased = false;
                for (t, ps) in &target {
                    for p in ps {
                        if assigned.get(t).is_some_and(|s| s.contains(p)) {
                            continue;
                        }
                        match self.owners.get(&(*t, *p)) {
                            Some(owner) if owner != member_id => unreleased = true,
                            _ => {
                                assigned.entry(*t).or_default().insert(*p);
                            }
                        }
                    }
                }
                for (t, ps) in &assigned {
                    for p in ps {
                        self.owners.insert((*t, *p), member_id.to_string());
                    }
                }
                if m.epoch != self.assignment_epoch {
                    m.previous_epoch = m.epoch;
                    m.epoch = self.assignment_epoch;
                }
                m.assigned = assigned;
                m.pending_revocation.clear();
                m.revocation_deadline = None;
                m.state = if unreleased {
                    MemberState::UnreleasedPartitions
                } else {
                    MemberState::Stable
                };
            }
        }
        self.members.insert(member_id.to_string(), m);
    }

    /// OffsetCommit's checks for this group (`transactional`: TxnOffsetCommit).
    pub fn validate_offset_commit(
        &self,
        member_id: &str,
        member_epoch: i32,
        transactional: bool,
        api_version: i16,
    ) -> Result<(), GroupCode> {
        // Commits from outside the group (admin tools, manual assignment) while it has
        // no members, and transactional commits that name no member.
        if member_epoch < 0 && self.members.is_empty() {
            return Ok(());
        }
        if transactional && member_epoch == -1 && member_id.is_empty() {
            return Ok(());
        }
        let Some(m) = self.members.get(member_id) else {
            return Err(UNKNOWN_MEMBER_ID);
        };
        if !transactional && api_version < 9 {
            return Err(UNSUPPORTED_VERSION);
        }
        if member_epoch != m.epoch {
            return Err(STALE_MEMBER_EPOCH);
        }
        Ok(())
    }

    /// OffsetFetch v9's checks: a fetch naming a member must come from it, at its epoch.
    pub fn validate_offset_fetch(
        &self,
        member_id: &str,
        member_epoch: i32,
    ) -> Result<(), GroupCode> {
        if member_epoch < 0 && member_id.is_empty() {
            return Ok(());
        }
        let Some(m) = self.members.get(member_id) else {
            return Err(UNKNOWN_MEMBER_ID);
        };
        if member_epoch != m.epoch {
            return Err(STALE_MEMBER_EPOCH);
        }
        Ok(())
    }

    pub fn describe(&self) -> DescribedConsumerGroup {
        let empty = Assignment::new();
        DescribedConsumerGroup {
            group_id: self.group_id.clone(),
            state: self.state(),
            group_epoch: self.group_epoch,
            assignment_epoch: self.assignment_epoch,
            assignor_name: self.assignor.clone(),
            members: self
                .members
                .values()
                .map(|m| DescribedConsumerMember {
                    member_id: m.member_id.clone(),
                    instance_id: m.instance_id.clone(),
                    rack_id: m.rack_id.clone(),
                    member_epoch: m.epoch,
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    subscribed_topic_names: m.subscribed_names.iter().cloned().collect(),
                    subscribed_topic_regex: m.subscribed_regex.clone(),
                    assignment: m.assigned.clone(),
                    target_assignment: self.target.get(&m.member_id).unwrap_or(&empty).clone(),
                })
                .collect(),
        }
    }

    /// Checks that no partition is held by two members and that `owners` matches the
    /// members' assignments (used by tests).
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut seen: HashMap<(Uuid, i32), &str> = HashMap::new();
        for m in self.members.values() {
            for (t, ps) in m.assigned.iter().chain(m.pending_revocation.iter()) {
                for p in ps {
                    if let Some(other) = seen.insert((*t, *p), &m.member_id) {
                        return Err(format!(
                            "partition {t}/{p} held by both {other} and {}",
                            m.member_id
                        ));
                    }
                    if self.owners.get(&(*t, *p)) != Some(&m.member_id) {
                        return Err(format!(
                            "owners of {t}/{p} is {:?}, not {}",
                            self.owners.get(&(*t, *p)),
                            m.member_id
                        ));
                    }
                }
            }
        }
        if seen.len() != self.owners.len() {
            return Err(format!(
                "owners has {} entries, members hold {}",
                self.owners.len(),
                seen.len()
            ));
        }
        Ok(())
    }
}

fn is_subset(owned: Option<&[(Uuid, Vec<i32>)]>, assigned: &Assignment) -> bool {
    let Some(owned) = owned else {
        return false;
    };
    owned.iter().all(|(t, ps)| {
        assigned
            .get(t)
            .is_some_and(|set| ps.iter().all(|p| set.contains(p)))
    })
}

fn intersects(owned: &[(Uuid, Vec<i32>)], set: &Assignment) -> bool {
    owned
        .iter()
        .any(|(t, ps)| set.get(t).is_some_and(|s| ps.iter().any(|p| s.contains(p))))
}
