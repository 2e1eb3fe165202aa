//! Scenario tests of the classic group coordinator. The harness checks on every call that
//! each ReplyId is answered at most once, and tests end by checking it was answered.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;

use super::subscription::encode_subscription;
use super::*;

const G: &str = "g";
const SESSION: i32 = 10_000;
const REBALANCE: i32 = 30_000;

fn sub(topics: &[&str]) -> Bytes {
    Bytes::from(encode_subscription(1, topics, None))
}

/// The coordinator plus a record of every request sent and every answer received.
struct H {
    c: GroupCoordinator,
    now: u64,
    next: ReplyId,
    issued: HashSet<ReplyId>,
    answers: HashMap<ReplyId, Output>,
}

impl H {
    fn new() -> Self {
        H::with(CoordinatorConfig::default())
    }

    fn with(cfg: CoordinatorConfig) -> Self {
        H {
            c: GroupCoordinator::new(cfg),
            now: 1_000,
            next: 0,
            issued: HashSet::new(),
            answers: HashMap::new(),
        }
    }

    fn reply_id(&mut self) -> ReplyId {
        self.next += 1;
        self.issued.insert(self.next);
        self.next
    }

    fn absorb(&mut self, outputs: Vec<Output>) {
        for o in outputs {
            let id = o.reply_id();
            assert!(
                self.issued.contains(&id),
                "answer to unknown reply id {id}: {o:?}"
            );
            if let Some(prev) = self.answers.insert(id, o.clone()) {
                panic!("reply id {id} answered twice: {prev:?} then {o:?}");
            }
        }
    }

    /// Moves the clock to `t` and fires due timers.
    fn at(&mut self, t: u64) {
        assert!(t >= self.now);
        self.now = t;
        let out = self.c.tick(t);
        self.absorb(out);
    }

    fn advance(&mut self, ms: u64) {
        self.at(self.now + ms);
    }

    /// Advances to the coordinator's next deadline, if it is not later than `limit`.
    fn run_until(&mut self, limit: u64) {
        while let Some(d) = self.c.next_deadline() {
            if d > limit {
                break;
            }
            self.at(d.max(self.now));
        }
        self.at(limit);
    }

    fn join(&mut self, req: JoinGroup) -> ReplyId {
        let id = self.reply_id();
        let out = self.c.join_group(self.now, id, req);
        self.absorb(out);
        id
    }

    fn sync(&mut self, req: SyncGroup) -> ReplyId {
        let id = self.reply_id();
        let out = self.c.sync_group(self.now, id, req);
        self.absorb(out);
        id
    }

    fn heartbeat(
        &mut self,
        group: &str,
        member_id: &str,
        generation_id: i32,
        instance: Option<&str>,
    ) -> GroupCode {
        let id = self.reply_id();
        let out = self.c.heartbeat(
            self.now,
            id,
            Heartbeat {
                group_id: group.into(),
                generation_id,
                member_id: member_id.into(),
                group_instance_id: instance.map(Into::into),
            },
        );
        self.absorb(out);
        match self.answers.get(&id) {
            Some(Output::Heartbeat(_, code)) => *code,
            other => panic!("heartbeat not answered: {other:?}"),
        }
    }

    fn leave(&mut self, group: &str, members: Vec<LeavingMember>) -> LeaveResult {
        let id = self.reply_id();
        let out = self.c.leave_group(
            self.now,
            id,
            LeaveGroup {
                group_id: group.into(),
                members,
            },
        );
        self.absorb(out);
        match self.answers.get(&id) {
            Some(Output::Leave(_, r)) => r.clone(),
            other => panic!("leave not answered: {other:?}"),
        }
    }

    fn join_answer(&self, id: ReplyId) -> Option<&JoinResult> {
        match self.answers.get(&id) {
            None => None,
            Some(Output::Join(_, r)) => Some(r),
            Some(o) => panic!("not a join answer: {o:?}"),
        }
    }

    fn joined(&self, id: ReplyId) -> &JoinResult {
        self.join_answer(id)
            .unwrap_or_else(|| panic!("join {id} not answered"))
    }

    fn sync_answer(&self, id: ReplyId) -> Option<&SyncResult> {
        match self.answers.get(&id) {
            None => None,
            Some(Output::Sync(_, r)) => Some(r),
            Some(o) => panic!("not a sync answer: {o:?}"),
        }
    }

    fn synced(&self, id: ReplyId) -> &SyncResult {
        self.sync_answer(id)
            .unwrap_or_else(|| panic!("sync {id} not answered"))
    }

    fn state(&self, group: &str) -> Option<GroupState> {
        self.c.group_state(group)
    }

    fn group(&self, group: &str) -> &ClassicGroup {
        self.c.group(group).expect("group exists")
    }

    fn unanswered(&self) -> Vec<ReplyId> {
        let mut v: Vec<ReplyId> = self
            .issued
            .iter()
            .filter(|id| !self.answers.contains_key(id))
            .copied()
            .collect();
        v.sort();
        v
    }

    /// Shuts down and checks every request got exactly one answer.
    fn finish(mut self) {
        let out = self.c.shutdown();
        self.absorb(out);
        assert_eq!(
            self.unanswered(),
            Vec::<ReplyId>::new(),
            "unanswered requests"
        );
        assert_eq!(self.c.parked_replies(), 0);
    }

    // ---- client-level helpers ----

    /// JoinGroup; a MEMBER_ID_REQUIRED answer is followed by a join with the given id.
    /// Returns the reply id of the last JoinGroup.
    fn join_client(&mut self, c: &mut Client) -> ReplyId {
        let id = self.join(c.req());
        if let Some(r) = self.join_answer(id) {
            if r.error_code == MEMBER_ID_REQUIRED {
                c.member_id = r.member_id.clone();
                return self.join(c.req());
            }
        }
        id
    }

    /// Reads a successful JoinGroup answer into the client.
    fn learn(&self, c: &mut Client, id: ReplyId) -> JoinResult {
        let r = self.joined(id).clone();
        assert_eq!(r.error_code, NONE, "{} join: {r:?}", c.client_id);
        c.member_id = r.member_id.clone();
        c.generation = r.generation_id;
        r
    }

    fn sync_client(&mut self, c: &Client, assignments: Vec<(String, Bytes)>) -> ReplyId {
        self.sync(c.sync_req(assignments))
    }

    fn heartbeat_client(&mut self, c: &Client) -> GroupCode {
        self.heartbeat(
            &c.group,
            &c.member_id.clone(),
            c.generation,
            c.instance.as_deref(),
        )
    }

    /// Joins all clients, rejoining whoever is told of a rebalance, until one generation
    /// holds them all; then the leader assigns "asg-<client id>" to each and everyone syncs.
    /// Returns the generation.
    fn form(&mut self, clients: &mut [Client]) -> i32 {
        let group = clients[0].group.clone();
        let mut replies: Vec<ReplyId> = clients.iter_mut().map(|c| self.join_client(c)).collect();
        for _ in 0..10 {
            if self.state(&group) == Some(GroupState::CompletingRebalance)
                && replies.iter().all(|id| self.join_answer(*id).is_some())
            {
                break;
            }
            for (i, c) in clients.iter_mut().enumerate() {
                if self.join_answer(replies[i]).is_some() {
                    self.learn(c, replies[i]);
                    if self.state(&group) == Some(GroupState::PreparingRebalance) {
                        replies[i] = self.join(c.req());
                    }
                }
            }
        }
        let mut results = Vec::new();
        for (i, c) in clients.iter_mut().enumerate() {
            results.push(self.learn(c, replies[i]));
        }
        let generation = clients[0].generation;
        assert!(clients.iter().all(|c| c.generation == generation));
        let leader = results[0].leader.clone();
        let assignments: Vec<(String, Bytes)> = clients
            .iter()
            .map(|c| {
                (
                    c.member_id.clone(),
                    Bytes::from(format!("asg-{}", c.client_id)),
                )
            })
            .collect();
        let mut syncs = Vec::new();
        // Followers first: they wait for the leader.
        for c in clients.iter().filter(|c| c.member_id != leader) {
            let id = self.sync_client(c, Vec::new());
            assert!(
                self.sync_answer(id).is_none(),
                "follower sync answered before the leader"
            );
            syncs.push((c.client_id.clone(), id));
        }
        for c in clients.iter().filter(|c| c.member_id == leader) {
            syncs.push((
                c.client_id.clone(),
                self.sync_client(c, assignments.clone()),
            ));
        }
        for (client_id, id) in syncs {
            let r = self.synced(id);
            assert_eq!(r.error_code, NONE);
            assert_eq!(r.assignment, Bytes::from(format!("asg-{client_id}")));
        }
        assert_eq!(self.state(&group), Some(GroupState::Stable));
        generation
    }
}

/// A client's identity and what it learned from the coordinator.
#[derive(Debug, Clone)]
struct Client {
    group: String,
    client_id: String,
    instance: Option<String>,
    member_id: String,
    generation: i32,
    protocol_type: String,
    protocols: Vec<(String, Bytes)>,
    session: i32,
    rebalance: i32,
    skip_assignment: bool,
}

impl Client {
    fn new(client_id: &str) -> Client {
        Client {
            group: G.into(),
            client_id: client_id.into(),
            instance: None,
            member_id: String::new(),
            generation: -1,
            protocol_type: "consumer".into(),
            protocols: vec![("range".into(), sub(&["t1"]))],
            session: SESSION,
            rebalance: REBALANCE,
            skip_assignment: false,
        }
    }

    fn static_member(client_id: &str, instance: &str) -> Client {
        Client {
            instance: Some(instance.into()),
            ..Client::new(client_id)
        }
    }

    fn with_protocols(mut self, protocols: &[(&str, &[&str])]) -> Client {
        self.protocols = protocols
            .iter()
            .map(|(name, topics)| (name.to_string(), sub(topics)))
            .collect();
        self
    }

    fn req(&self) -> JoinGroup {
        JoinGroup {
            group_id: self.group.clone(),
            member_id: self.member_id.clone(),
            group_instance_id: self.instance.clone(),
            protocol_type: self.protocol_type.clone(),
            protocols: self.protocols.clone(),
            session_timeout_ms: self.session,
            rebalance_timeout_ms: self.rebalance,
            require_known_member_id: true,
            supports_skip_assignment: self.skip_assignment,
            reason: None,
            client_id: self.client_id.clone(),
            client_host: format!("/10.0.0.{}", self.client_id.len()),
        }
    }

    fn sync_req(&self, assignments: Vec<(String, Bytes)>) -> SyncGroup {
        SyncGroup {
            group_id: self.group.clone(),
            generation_id: self.generation,
            member_id: self.member_id.clone(),
            group_instance_id: self.instance.clone(),
            protocol_type: Some(self.protocol_type.clone()),
            protocol_name: None,
            assignments,
        }
    }

    fn leaving(&self) -> LeavingMember {
        LeavingMember {
            member_id: self.member_id.clone(),
            group_instance_id: self.instance.clone(),
        }
    }
}

// ---- single member ----------------------------------------------------------------------

#[test]
fn single_member_join_sync_heartbeat() {
    let mut h = H::new();
    let mut a = Client::new("app");

    let first = h.join(a.req());
    let r = h.joined(first).clone();
    assert_eq!(r.error_code, MEMBER_ID_REQUIRED);
    assert!(r.member_id.starts_with("app-"), "{}", r.member_id);
    assert_eq!(r.member_id.len(), "app-".len() + 36);
    assert_eq!(r.generation_id, -1);
    assert_eq!(h.state(G), Some(GroupState::Empty));
    assert_eq!(h.group(G).pending_member_count(), 1);
    a.member_id = r.member_id.clone();

    let second = h.join(a.req());
    let r = h.learn(&mut a, second);
    assert_eq!(r.generation_id, 1);
    assert_eq!(r.leader, a.member_id);
    assert_eq!(r.protocol_type.as_deref(), Some("consumer"));
    assert_eq!(r.protocol_name.as_deref(), Some("range"));
    assert_eq!(r.members.len(), 1);
    assert_eq!(r.members[0].member_id, a.member_id);
    assert_eq!(r.members[0].metadata, sub(&["t1"]));
    assert_eq!(h.state(G), Some(GroupState::CompletingRebalance));
    assert_eq!(h.group(G).pending_member_count(), 0);

    // Heartbeats while waiting to sync are fine.
    assert_eq!(h.heartbeat_client(&a), NONE);

    let s = h.sync_client(&a, vec![(a.member_id.clone(), Bytes::from_static(b"p0"))]);
    let s = h.synced(s);
    assert_eq!(s.error_code, NONE);
    assert_eq!(s.assignment, Bytes::from_static(b"p0"));
    assert_eq!(s.protocol_name.as_deref(), Some("range"));
    assert_eq!(s.protocol_type.as_deref(), Some("consumer"));
    assert_eq!(h.state(G), Some(GroupState::Stable));

    assert_eq!(h.heartbeat_client(&a), NONE);
    // SyncGroup again in Stable returns the stored assignment.
    let s = h.sync_client(&a, Vec::new());
    assert_eq!(h.synced(s).assignment, Bytes::from_static(b"p0"));

    let d = h.c.describe_group(G);
    assert!(d.exists);
    assert_eq!(d.state.as_str(), "Stable");
    assert_eq!(d.protocol_type, "consumer");
    assert_eq!(d.protocol_data, "range");
    assert_eq!(d.members.len(), 1);
    assert_eq!(d.members[0].client_id, "app");
    assert_eq!(d.members[0].client_host, "/10.0.0.3");
    assert_eq!(d.members[0].metadata, sub(&["t1"]));
    assert_eq!(d.members[0].assignment, Bytes::from_static(b"p0"));
    h.finish();
}

#[test]
fn old_join_versions_skip_member_id_required() {
    let mut h = H::new();
    let a = Client::new("old");
    let mut req = a.req();
    req.require_known_member_id = false;
    let id = h.join(req);
    let r = h.joined(id);
    assert_eq!(r.error_code, NONE);
    assert!(r.member_id.starts_with("old-"));
    assert_eq!(r.generation_id, 1);
    h.finish();
}

// ---- request validation -------------------------------------------------------------------

#[test]
fn join_validation_table() {
    let base = Client::new("c").req();
    let cases: Vec<(&str, JoinGroup, GroupCode)> = vec![
        (
            "empty group id",
            JoinGroup {
                group_id: String::new(),
                ..base.clone()
            },
            INVALID_GROUP_ID,
        ),
        (
            "session too short",
            JoinGroup {
                session_timeout_ms: 5_999,
                ..base.clone()
            },
            INVALID_SESSION_TIMEOUT,
        ),
        (
            "session too long",
            JoinGroup {
                session_timeout_ms: 1_800_001,
                ..base.clone()
            },
            INVALID_SESSION_TIMEOUT,
        ),
        (
            "member id for unknown group",
            JoinGroup {
                member_id: "ghost".into(),
                ..base.clone()
            },
            UNKNOWN_MEMBER_ID,
        ),
        (
            "empty protocol type",
            JoinGroup {
                protocol_type: String::new(),
                ..base.clone()
            },
            INCONSISTENT_GROUP_PROTOCOL,
        ),
        (
            "no protocols",
            JoinGroup {
                protocols: Vec::new(),
                ..base.clone()
            },
            INCONSISTENT_GROUP_PROTOCOL,
        ),
        (
            "minimum session",
            JoinGroup {
                session_timeout_ms: 6_000,
                ..base.clone()
            },
            MEMBER_ID_REQUIRED,
        ),
        (
            "maximum session",
            JoinGroup {
                session_timeout_ms: 1_800_000,
                ..base.clone()
            },
            MEMBER_ID_REQUIRED,
        ),
    ];
    for (name, req, expected) in cases {
        let mut h = H::new();
        let echoed = req.member_id.clone();
        let id = h.join(req);
        let r = h.joined(id);
        assert_eq!(r.error_code, expected, "{name}");
        if expected != MEMBER_ID_REQUIRED && expected != INCONSISTENT_GROUP_PROTOCOL {
            assert_eq!(r.member_id, echoed, "{name}");
        }
        h.finish();
    }
}

#[test]
fn heartbeat_table() {
    let mut h = H::new();
    let mut clients = [
        Client {
            group: "hb".into(),
            ..Client::new("a")
        },
        Client {
            group: "hb".into(),
            ..Client::new("b")
        },
    ];
    let generation = h.form(&mut clients);
    let [a, b] = clients;

    type Case<'a> = (&'a str, &'a str, String, i32, Option<&'a str>, GroupCode);
    let cases: Vec<Case> = vec![
        ("stable", "hb", a.member_id.clone(), generation, None, NONE),
        (
            "wrong generation",
            "hb",
            a.member_id.clone(),
            generation + 1,
            None,
            ILLEGAL_GENERATION,
        ),
        (
            "old generation",
            "hb",
            a.member_id.clone(),
            generation - 1,
            None,
            ILLEGAL_GENERATION,
        ),
        (
            "unknown member",
            "hb",
            "nobody".into(),
            generation,
            None,
            UNKNOWN_MEMBER_ID,
        ),
        (
            "unknown instance",
            "hb",
            a.member_id.clone(),
            generation,
            Some("i-x"),
            UNKNOWN_MEMBER_ID,
        ),
        (
            "unknown group",
            "nope",
            a.member_id.clone(),
            generation,
            None,
            UNKNOWN_MEMBER_ID,
        ),
        (
            "empty group id",
            "",
            a.member_id.clone(),
            generation,
            None,
            INVALID_GROUP_ID,
        ),
    ];
    for (name, group, member, gen, instance, expected) in cases {
        assert_eq!(
            h.heartbeat(group, &member, gen, instance),
            expected,
            "{name}"
        );
    }

    // CompletingRebalance → NONE; PreparingRebalance → REBALANCE_IN_PROGRESS.
    let mut a = a;
    let rejoin = h.join(a.req()); // the leader rejoins: rebalance
    assert_eq!(h.state("hb"), Some(GroupState::PreparingRebalance));
    assert_eq!(h.heartbeat_client(&b), REBALANCE_IN_PROGRESS);
    let mut b = b;
    let b_join = h.join(b.req());
    h.learn(&mut a, rejoin);
    h.learn(&mut b, b_join);
    assert_eq!(h.state("hb"), Some(GroupState::CompletingRebalance));
    assert_eq!(h.heartbeat_client(&b), NONE);
    assert_eq!(h.heartbeat_client(&a), NONE);
    h.finish();
}

// ---- several members ----------------------------------------------------------------------

#[test]
fn three_concurrent_members_never_see_unknown_member_id() {
    let mut h = H::new();
    let mut a = Client::new("a");
    let mut b = Client::new("b");
    let mut c = Client::new("c");

    // All three get their ids first (pending), then join in turn.
    for cl in [&mut a, &mut b, &mut c] {
        let id = h.join(cl.req());
        let r = h.joined(id).clone();
        assert_eq!(r.error_code, MEMBER_ID_REQUIRED);
        cl.member_id = r.member_id;
    }
    assert_eq!(h.group(G).pending_member_count(), 3);

    // With no initial delay, A's join completes at once: generation 1 with A alone.
    let ja = h.join(a.req());
    let r = h.learn(&mut a, ja);
    assert_eq!((r.generation_id, r.members.len()), (1, 1));

    // B's join triggers a rebalance; it waits for A to rejoin and for C (still pending).
    let jb = h.join(b.req());
    assert_eq!(h.state(G), Some(GroupState::PreparingRebalance));
    assert!(h.join_answer(jb).is_none());
    // A's SyncGroup now says: rejoin.
    let sa = h.sync_client(&a, vec![(a.member_id.clone(), Bytes::from_static(b"x"))]);
    assert_eq!(h.synced(sa).error_code, REBALANCE_IN_PROGRESS);
    let ja = h.join(a.req());
    assert!(
        h.join_answer(ja).is_none(),
        "must wait for the pending member C"
    );
    let jc = h.join(c.req());

    let ra = h.learn(&mut a, ja);
    let rb = h.learn(&mut b, jb);
    let rc = h.learn(&mut c, jc);
    for r in [&ra, &rb, &rc] {
        assert_eq!(r.generation_id, 2);
        assert_eq!(r.leader, a.member_id, "the leader is kept");
    }
    let ids: Vec<&str> = ra.members.iter().map(|m| m.member_id.as_str()).collect();
    assert_eq!(
        ids,
        vec![
            a.member_id.as_str(),
            b.member_id.as_str(),
            c.member_id.as_str()
        ]
    );
    assert!(
        rb.members.is_empty() && rc.members.is_empty(),
        "followers get no member list"
    );

    // Nobody ever saw UNKNOWN_MEMBER_ID.
    assert!(h
        .answers
        .values()
        .all(|o| !matches!(o, Output::Join(_, r) if r.error_code == UNKNOWN_MEMBER_ID)));

    // Followers sync first and wait; the leader's assignment answers everyone. A member the
    // leader left out gets an empty assignment; ids that are not members are ignored.
    let sb = h.sync_client(&b, Vec::new());
    let sc = h.sync_client(&c, Vec::new());
    assert!(h.sync_answer(sb).is_none() && h.sync_answer(sc).is_none());
    let sa = h.sync_client(
        &a,
        vec![
            (a.member_id.clone(), Bytes::from_static(b"A")),
            (b.member_id.clone(), Bytes::from_static(b"B")),
            ("stranger".into(), Bytes::from_static(b"S")),
        ],
    );
    assert_eq!(h.synced(sa).assignment, Bytes::from_static(b"A"));
    assert_eq!(h.synced(sb).assignment, Bytes::from_static(b"B"));
    let rc = h.synced(sc);
    assert_eq!(rc.error_code, NONE);
    assert_eq!(rc.assignment, Bytes::new());
    assert_eq!(h.state(G), Some(GroupState::Stable));
    h.finish();
}

#[test]
fn follower_rejoin_without_change_gets_current_generation() {
    let mut h = H::new();
    let mut clients = [Client::new("a"), Client::new("b")];
    let generation = h.form(&mut clients);
    let [a, mut b] = clients;

    // Stable: an unchanged follower gets the current generation, no rebalance.
    let id = h.join(b.req());
    let r = h.learn(&mut b, id);
    assert_eq!(r.generation_id, generation);
    assert_eq!(r.leader, a.member_id);
    assert!(r.members.is_empty());
    assert_eq!(h.state(G), Some(GroupState::Stable));

    // A changed subscription triggers a rebalance.
    let b = b.with_protocols(&[("range", &["t1", "t2"])]);
    let jb = h.join(b.req());
    assert_eq!(h.state(G), Some(GroupState::PreparingRebalance));
    let mut a = a;
    let ja = h.join(a.req());
    let ra = h.learn(&mut a, ja);
    assert_eq!(ra.generation_id, generation + 1);
    assert_eq!(ra.members[1].metadata, sub(&["t1", "t2"]));
    assert!(h.join_answer(jb).is_some());

    // CompletingRebalance: the same join again (a lost answer) is answered again,
    // with the member list for the leader.
    let again = h.join(a.req());
    let r = h.joined(again);
    assert_eq!(
        (r.error_code, r.generation_id, r.members.len()),
        (NONE, generation + 1, 2)
    );
    assert_eq!(h.state(G), Some(GroupState::CompletingRebalance));
    assert_eq!(
        h.c.subscribed_topics(G),
        Some(["t1", "t2"].iter().map(|s| s.to_string()).collect())
    );
    h.finish();
}

#[test]
fn member_times_out_mid_rebalance() {
    let mut h = H::new();
    let mut clients = [Client::new("a"), Client::new("b"), Client::new("c")];
    let generation = h.form(&mut clients);
    let [mut a, mut b, c] = clients;

    // The leader rejoins: rebalance. B learns it from its heartbeat and rejoins; C is gone.
    let ja = h.join(a.req());
    h.advance(1_000);
    assert_eq!(h.heartbeat_client(&b), REBALANCE_IN_PROGRESS);
    let jb = h.join(b.req());
    assert!(h.join_answer(ja).is_none());

    // Parked members are kept alive; C's session (10 s from its last sync) expires.
    h.run_until(h.now + SESSION as u64);
    let ra = h.learn(&mut a, ja);
    let rb = h.learn(&mut b, jb);
    assert_eq!(ra.generation_id, generation + 1);
    assert_eq!(rb.generation_id, generation + 1);
    assert_eq!(ra.members.len(), 2);
    assert!(!h.group(G).has_member(&c.member_id));
    assert_eq!(h.heartbeat_client(&c), UNKNOWN_MEMBER_ID);
    h.finish();
}

#[test]
fn member_heartbeating_but_not_rejoining_is_removed_at_rebalance_timeout() {
    let mut h = H::new();
    let mut clients = [Client::new("a"), Client::new("b")];
    let generation = h.form(&mut clients);
    let [mut a, b] = clients;
    let start = h.now;
    let ja = h.join(a.req());
    // B keeps heartbeating (so its session never expires) but never rejoins.
    while h.join_answer(ja).is_none() {
        h.advance(3_000);
        if h.join_answer(ja).is_none() {
            assert_eq!(h.heartbeat_client(&b), REBALANCE_IN_PROGRESS);
        }
    }
    assert!(h.now >= start + REBALANCE as u64);
    assert!(h.now < start + REBALANCE as u64 + 3_000);
    let r = h.learn(&mut a, ja);
    assert_eq!((r.generation_id, r.members.len()), (generation + 1, 1));
    assert_eq!(h.heartbeat_client(&b), UNKNOWN_MEMBER_ID);
    h.finish();
}

#[test]
fn leader_leaves_during_sync() {
    let mut h = H::new();
    let mut a = Client::new("a");
    let mut b = Client::new("b");
    let mut c = Client::new("c");
    // Form generation 2 = {a, b, c} but stop before the leader syncs.
    let mut clients = [a.clone(), b.clone(), c.clone()];
    let mut replies: Vec<ReplyId> = clients.iter_mut().map(|cl| h.join_client(cl)).collect();
    [a, b, c] = clients;
    h.learn(&mut a, replies[0]);
    replies[0] = h.join(a.req());
    let ra = h.learn(&mut a, replies[0]);
    h.learn(&mut b, replies[1]);
    h.learn(&mut c, replies[2]);
    assert_eq!(ra.leader, a.member_id);
    assert_eq!(h.state(G), Some(GroupState::CompletingRebalance));

    let sb = h.sync_client(&b, Vec::new());
    let sc = h.sync_client(&c, Vec::new());
    let left = h.leave(G, vec![a.leaving()]);
    assert_eq!(left.error_code, NONE);
    assert_eq!(left.members[0].error_code, NONE);
    assert_eq!(h.synced(sb).error_code, REBALANCE_IN_PROGRESS);
    assert_eq!(h.synced(sc).error_code, REBALANCE_IN_PROGRESS);
    assert_eq!(h.synced(sb).assignment, Bytes::new());
    assert_eq!(h.state(G), Some(GroupState::PreparingRebalance));

    let jb = h.join(b.req());
    let jc = h.join(c.req());
    let rb = h.learn(&mut b, jb);
    let rc = h.learn(&mut c, jc);
    assert_eq!(rb.generation_id, 3);
    assert_eq!(
        rb.leader, b.member_id,
        "the earliest remaining member leads"
    );
    assert_eq!(rb.members.len(), 2);
    assert_eq!(rc.leader, b.member_id);
    h.finish();
}

#[test]
fn session_expiry_in_stable() {
    let mut h = H::new();
    let mut clients = [Client::new("a"), Client::new("b")];
    let generation = h.form(&mut clients);
    let [mut a, b] = clients;

    // A heartbeats, B stays silent.
    let deadline = h.c.next_deadline().expect("sessions are timed");
    assert_eq!(deadline, h.now + SESSION as u64);
    h.advance(5_000);
    assert_eq!(h.heartbeat_client(&a), NONE);
    h.advance(4_999);
    assert_eq!(h.state(G), Some(GroupState::Stable));
    h.advance(1);
    assert_eq!(h.state(G), Some(GroupState::PreparingRebalance));
    assert!(!h.group(G).has_member(&b.member_id));
    assert_eq!(h.heartbeat_client(&a), REBALANCE_IN_PROGRESS);
    let ja = h.join(a.req());
    let r = h.learn(&mut a, ja);
    assert_eq!((r.generation_id, r.members.len()), (generation + 1, 1));

    // The last member's session expires too: Empty, the generation still increments.
    h.advance(SESSION as u64);
    assert_eq!(h.state(G), Some(GroupState::Empty));
    assert_eq!(h.group(G).generation_id(), generation + 2);
    assert_eq!(h.group(G).protocol_name(), None);
    assert_eq!(h.c.next_deadline(), None);
    assert_eq!(h.heartbeat_client(&a), UNKNOWN_MEMBER_ID);
    h.finish();
}

#[test]
fn member_that_never_syncs_is_removed() {
    let mut h = H::new();
    let mut a = Client::new("a");
    let mut b = Client::new("b");
    let mut clients = [a.clone(), b.clone()];
    let replies: Vec<ReplyId> = clients.iter_mut().map(|c| h.join_client(c)).collect();
    [a, b] = clients;
    h.learn(&mut a, replies[0]);
    let ja = h.join(a.req());
    h.learn(&mut a, ja);
    h.learn(&mut b, replies[1]);
    // The leader syncs; B heartbeats but never syncs.
    let sa = h.sync_client(&a, vec![(a.member_id.clone(), Bytes::from_static(b"A"))]);
    assert_eq!(h.synced(sa).error_code, NONE);
    assert_eq!(h.state(G), Some(GroupState::Stable));
    for _ in 0..((REBALANCE / 3_000) + 1) {
        h.advance(3_000);
        h.heartbeat_client(&a);
        h.heartbeat_client(&b);
    }
    assert!(!h.group(G).has_member(&b.member_id));
    assert_eq!(h.state(G), Some(GroupState::PreparingRebalance));
    h.finish();
}

#[test]
fn pending_member_blocks_join_until_it_expires() {
    let mut h = H::new();
    let mut clients = [Client::new("a")];
    let generation = h.form(&mut clients);
    let [mut a] = clients;
    // B asks for an id and never comes back; that alone does not rebalance.
    let id = h.join(Client::new("b").req());
    assert_eq!(h.joined(id).error_code, MEMBER_ID_REQUIRED);
    assert_eq!(h.state(G), Some(GroupState::Stable));
    // The leader rejoins: the join phase waits for the pending member...
    let ja = h.join(a.req());
    h.advance(SESSION as u64 - 1);
    assert!(h.join_answer(ja).is_none());
    // ...until its session expires.
    h.advance(1);
    let r = h.learn(&mut a, ja);
    assert_eq!(r.generation_id, generation + 1);
    assert_eq!(h.group(G).pending_member_count(), 0);
    h.finish();
}

// ---- static membership --------------------------------------------------------------------

#[test]
fn static_member_restart_without_rebalance() {
    let mut h = H::new();
    let mut clients = [
        Client::static_member("a", "i-a"),
        Client::static_member("b", "i-b"),
    ];
    let generation = h.form(&mut clients);
    let [a_old, b] = clients;
    assert!(
        a_old.member_id.starts_with("i-a-"),
        "static ids start with the instance id"
    );

    // A restarts within its session: no member id, same instance id.
    let mut a = Client {
        member_id: String::new(),
        generation: -1,
        ..a_old.clone()
    };
    let id = h.join(a.req());
    let r = h.learn(&mut a, id);
    assert_ne!(a.member_id, a_old.member_id);
    assert_eq!(r.generation_id, generation);
    assert_eq!(r.protocol_name.as_deref(), Some("range"));
    // A was the leader; the answer names the old id so the new one does not assign.
    assert_eq!(r.leader, a_old.member_id);
    assert!(r.members.is_empty());
    assert!(!r.skip_assignment);
    assert_eq!(h.state(G), Some(GroupState::Stable));
    assert_eq!(h.group(G).leader_id(), Some(a.member_id.as_str()));

    // Its assignment is still there; the others are not disturbed.
    let s = h.sync_client(&a, Vec::new());
    assert_eq!(h.synced(s).assignment, Bytes::from_static(b"asg-a"));
    assert_eq!(h.heartbeat_client(&b), NONE);
    assert_eq!(h.heartbeat_client(&a), NONE);

    // The old incarnation is fenced.
    assert_eq!(h.heartbeat_client(&a_old), FENCED_INSTANCE_ID);
    let s = h.sync_client(&a_old, Vec::new());
    assert_eq!(h.synced(s).error_code, FENCED_INSTANCE_ID);
    let j = h.join(a_old.req());
    assert_eq!(h.joined(j).error_code, FENCED_INSTANCE_ID);
    let (res, _) =
        h.c.validate_commit(h.now, G, &a_old.member_id, generation, Some("i-a"));
    assert_eq!(res, Err(FENCED_INSTANCE_ID));
    let left = h.leave(G, vec![a_old.leaving()]);
    assert_eq!(left.members[0].error_code, FENCED_INSTANCE_ID);
    assert_eq!(h.state(G), Some(GroupState::Stable));

    // A follower restarting with JoinGroup v9+ is not the leader: no member list.
    let mut b2 = Client {
        member_id: String::new(),
        skip_assignment: true,
        ..b.clone()
    };
    let id = h.join(b2.req());
    let r = h.learn(&mut b2, id);
    assert!(!r.skip_assignment && r.members.is_empty());
    assert_eq!(h.heartbeat_client(&b), FENCED_INSTANCE_ID);
    h.finish();
}

#[test]
fn static_leader_restart_with_skip_assignment() {
    let mut h = H::new();
    let mut clients = [
        Client::static_member("a", "i-a"),
        Client::static_member("b", "i-b"),
    ];
    let generation = h.form(&mut clients);
    let [a_old, b] = clients;
    let mut a = Client {
        member_id: String::new(),
        skip_assignment: true,
        ..a_old
    };
    let id = h.join(a.req());
    let r = h.learn(&mut a, id);
    assert_eq!(r.generation_id, generation);
    assert_eq!(r.leader, a.member_id);
    assert!(r.skip_assignment);
    let ids: Vec<&str> = r.members.iter().map(|m| m.member_id.as_str()).collect();
    assert_eq!(ids, vec![a.member_id.as_str(), b.member_id.as_str()]);
    assert_eq!(h.state(G), Some(GroupState::Stable));
    h.finish();
}

#[test]
fn static_member_restart_that_changes_the_protocol_rebalances() {
    let mut h = H::new();
    let mut clients = [Client::static_member("a", "i-a")];
    let generation = h.form(&mut clients);
    let [a_old] = clients;
    let mut a = Client {
        member_id: String::new(),
        ..a_old.with_protocols(&[("cooperative-sticky", &["t1"]), ("range", &["t1"])])
    };
    let id = h.join(a.req());
    let r = h.learn(&mut a, id);
    assert_eq!(r.generation_id, generation + 1);
    assert_eq!(r.protocol_name.as_deref(), Some("cooperative-sticky"));
    h.finish();
}

#[test]
fn static_member_restart_during_sync_fences_and_rebalances() {
    let mut h = H::new();
    let mut a = Client::static_member("a", "i-a");
    let mut b = Client::static_member("b", "i-b");
    let ja = h.join(a.req());
    h.learn(&mut a, ja);
    let jb = h.join(b.req());
    let ja = h.join(a.req());
    h.learn(&mut a, ja);
    h.learn(&mut b, jb);
    assert_eq!(h.state(G), Some(GroupState::CompletingRebalance));
    let sb = h.sync_client(&b, Vec::new());
    // B restarts while its SyncGroup is parked: the old request is fenced, and since the
    // leader may be assigning to the old id, the group rebalances.
    let mut b2 = Client {
        member_id: String::new(),
        ..b.clone()
    };
    let jb2 = h.join(b2.req());
    assert_eq!(h.synced(sb).error_code, FENCED_INSTANCE_ID);
    assert_eq!(h.state(G), Some(GroupState::PreparingRebalance));
    let ja = h.join(a.req());
    let r = h.learn(&mut a, ja);
    h.learn(&mut b2, jb2);
    assert_eq!(r.generation_id, 3);
    assert_eq!(r.members.len(), 2);
    h.finish();
}

#[test]
fn static_member_that_does_not_rejoin_stays_until_session_expiry() {
    let mut h = H::new();
    let mut clients = [
        Client::static_member("a", "i-a"),
        Client::static_member("b", "i-b"),
    ];
    let generation = h.form(&mut clients);
    let [mut a, b] = clients;
    let ja = h.join(a.req());
    // B (static) keeps heartbeating but does not rejoin: the rebalance timeout completes
    // the join phase with B still a member (static members are not removed then).
    while h.join_answer(ja).is_none() {
        h.advance(3_000);
        h.heartbeat_client(&b);
    }
    let r = h.learn(&mut a, ja);
    assert_eq!(r.generation_id, generation + 1);
    assert_eq!(r.members.len(), 2);
    assert_eq!(h.heartbeat_client(&b), ILLEGAL_GENERATION);
    h.finish();
}

#[test]
fn static_member_leaving_triggers_rebalance() {
    let mut h = H::new();
    let mut clients = [
        Client::static_member("a", "i-a"),
        Client::static_member("b", "i-b"),
    ];
    let generation = h.form(&mut clients);
    let [mut a, b] = clients;
    let left = h.leave(
        G,
        vec![LeavingMember {
            member_id: String::new(),
            group_instance_id: Some("i-b".into()),
        }],
    );
    assert_eq!(left.members[0].error_code, NONE);
    assert_eq!(h.state(G), Some(GroupState::PreparingRebalance));
    let ja = h.join(a.req());
    let r = h.learn(&mut a, ja);
    assert_eq!((r.generation_id, r.members.len()), (generation + 1, 1));
    assert_eq!(h.heartbeat_client(&b), UNKNOWN_MEMBER_ID);
    h.finish();
}

// ---- protocols ------------------------------------------------------------------------

#[test]
fn protocol_selection() {
    type Protocols<'a> = &'a [&'a [&'a str]];
    let cases: Vec<(&str, Protocols, &str)> = vec![
        ("single", &[&["range"]], "range"),
        (
            "most votes",
            &[
                &["range", "rr"],
                &["rr", "range"],
                &["range", "rr", "sticky"],
            ],
            "range",
        ),
        (
            "majority second choice",
            &[&["sticky", "rr"], &["rr", "sticky"], &["rr", "sticky"]],
            "rr",
        ),
        (
            "only common one",
            &[&["sticky", "range"], &["range"]],
            "range",
        ),
        (
            "preference among common",
            &[
                &["x", "sticky", "range"],
                &["range", "sticky"],
                &["sticky", "range"],
            ],
            "sticky",
        ),
        (
            "tie goes to the first member",
            &[&["x", "y"], &["y", "x"]],
            "x",
        ),
    ];
    for (name, lists, expected) in cases {
        let mut h = H::new();
        let mut clients: Vec<Client> = lists
            .iter()
            .enumerate()
            .map(|(i, names)| {
                let protocols: Vec<(&str, &[&str])> =
                    names.iter().map(|n| (*n, &["t"][..])).collect();
                Client::new(&format!("c{i}")).with_protocols(&protocols)
            })
            .collect();
        h.form(&mut clients);
        assert_eq!(h.group(G).protocol_name(), Some(expected), "{name}");
        h.finish();
    }
}

#[test]
fn inconsistent_protocols() {
    let mut h = H::new();
    let mut clients = [Client::new("a").with_protocols(&[("range", &["t"]), ("rr", &["t"])])];
    let generation = h.form(&mut clients);
    let [a] = clients;

    let no_overlap = Client::new("b").with_protocols(&[("sticky", &["t"])]);
    let id = h.join(no_overlap.req());
    assert_eq!(h.joined(id).error_code, INCONSISTENT_GROUP_PROTOCOL);
    assert_eq!(h.joined(id).member_id, "");

    let other_type = Client {
        protocol_type: "connect".into(),
        ..Client::new("c")
    };
    let id = h.join(other_type.req());
    assert_eq!(h.joined(id).error_code, INCONSISTENT_GROUP_PROTOCOL);

    // An existing member cannot switch to something nobody else supports either... but
    // alone in the group it may narrow its list.
    let narrowed = a.clone().with_protocols(&[("rr", &["t"])]);
    let mut narrowed = narrowed;
    let id = h.join(narrowed.req());
    let r = h.learn(&mut narrowed, id);
    assert_eq!(r.generation_id, generation + 1);
    assert_eq!(r.protocol_name.as_deref(), Some("rr"));

    // SyncGroup v5+ protocol checks.
    let mut req = narrowed.sync_req(Vec::new());
    req.protocol_name = Some("range".into());
    let s = h.sync(req);
    assert_eq!(h.synced(s).error_code, INCONSISTENT_GROUP_PROTOCOL);
    let mut req = narrowed.sync_req(Vec::new());
    req.protocol_type = Some("connect".into());
    let s = h.sync(req);
    assert_eq!(h.synced(s).error_code, INCONSISTENT_GROUP_PROTOCOL);
    let mut req = narrowed.sync_req(Vec::new());
    req.protocol_name = Some("rr".into());
    let s = h.sync(req);
    assert_eq!(h.synced(s).error_code, NONE);
    h.finish();
}

#[test]
fn non_consumer_groups_work_the_same() {
    let mut h = H::new();
    let connect = |name: &str| Client {
        group: "connect-cluster".into(),
        protocol_type: "connect".into(),
        protocols: vec![
            ("sessioned".into(), Bytes::from_static(b"\x00\x01opaque")),
            ("default".into(), Bytes::from_static(b"\xff")),
        ],
        ..Client::new(name)
    };
    let mut clients = [connect("w1"), connect("w2")];
    h.form(&mut clients);
    let d = h.c.describe_group("connect-cluster");
    assert_eq!(d.protocol_type, "connect");
    assert_eq!(d.protocol_data, "sessioned");
    assert_eq!(d.members[0].metadata, Bytes::from_static(b"\x00\x01opaque"));
    assert_eq!(d.members[1].assignment, Bytes::from_static(b"asg-w2"));
    assert_eq!(h.c.subscribed_topics("connect-cluster"), None);
    assert!(!h.c.is_subscribed_to_topic("connect-cluster", "t1"));
    assert_eq!(
        h.c.validate_offset_delete("connect-cluster"),
        Err(NON_EMPTY_GROUP)
    );
    h.finish();
}

// ---- LeaveGroup, DeleteGroups ---------------------------------------------------------------

#[test]
fn leave_group_batch() {
    let mut h = H::new();
    let mut clients = [
        Client::new("a"),
        Client::static_member("b", "i-b"),
        Client::static_member("c", "i-c"),
        Client::new("d"),
    ];
    let generation = h.form(&mut clients);
    let [a, b, c, mut d] = clients;
    let pending = h.join(Client::new("p").req());
    let pending_id = h.joined(pending).member_id.clone();

    let req = vec![
        a.leaving(),
        LeavingMember {
            member_id: String::new(),
            group_instance_id: Some("i-b".into()),
        },
        LeavingMember {
            member_id: "wrong".into(),
            group_instance_id: Some("i-c".into()),
        },
        LeavingMember {
            member_id: "nobody".into(),
            group_instance_id: None,
        },
        LeavingMember {
            member_id: pending_id.clone(),
            group_instance_id: None,
        },
        LeavingMember {
            member_id: String::new(),
            group_instance_id: Some("i-zzz".into()),
        },
        LeavingMember {
            member_id: String::new(),
            group_instance_id: None,
        },
    ];
    let result = h.leave(G, req.clone());
    assert_eq!(result.error_code, NONE);
    let codes: Vec<GroupCode> = result.members.iter().map(|m| m.error_code).collect();
    assert_eq!(
        codes,
        vec![
            NONE,
            NONE,
            FENCED_INSTANCE_ID,
            UNKNOWN_MEMBER_ID,
            NONE,
            UNKNOWN_MEMBER_ID,
            UNKNOWN_MEMBER_ID
        ]
    );
    for (r, m) in result.members.iter().zip(&req) {
        assert_eq!(
            (&r.member_id, &r.group_instance_id),
            (&m.member_id, &m.group_instance_id)
        );
    }
    assert_eq!(
        h.group(G).member_ids(),
        vec![c.member_id.as_str(), d.member_id.as_str()]
    );
    assert_eq!(h.group(G).pending_member_count(), 0);
    assert_eq!(h.state(G), Some(GroupState::PreparingRebalance));
    let _ = b;

    // One rebalance for the batch: C and D rejoin, generation + 1.
    let mut c = c;
    let jc = h.join(c.req());
    let jd = h.join(d.req());
    assert_eq!(h.learn(&mut c, jc).generation_id, generation + 1);
    assert_eq!(h.learn(&mut d, jd).generation_id, generation + 1);

    // Unknown group: NONE at the top, UNKNOWN_MEMBER_ID per member.
    let r = h.leave("nope", vec![a.leaving()]);
    assert_eq!(r.error_code, NONE);
    assert_eq!(r.members[0].error_code, UNKNOWN_MEMBER_ID);
    assert_eq!(h.leave("", vec![a.leaving()]).error_code, INVALID_GROUP_ID);
    h.finish();
}

#[test]
fn leaving_member_with_parked_join_is_answered() {
    let mut h = H::new();
    let mut clients = [Client::new("a"), Client::new("b")];
    h.form(&mut clients);
    let [a, b] = clients;
    let ja = h.join(a.req());
    assert!(h.join_answer(ja).is_none());
    // A's consumer closes (from another connection) while its JoinGroup is parked.
    h.leave(G, vec![a.leaving()]);
    let r = h.joined(ja);
    assert_eq!(r.error_code, UNKNOWN_MEMBER_ID);
    // B is the only one left; its rejoin completes the phase.
    let mut b = b;
    let jb = h.join(b.req());
    let r = h.learn(&mut b, jb);
    assert_eq!(r.leader, b.member_id);
    h.finish();
}

#[test]
fn last_member_leaving_empties_the_group() {
    let mut h = H::new();
    let mut clients = [Client::new("a")];
    let generation = h.form(&mut clients);
    let [a] = clients;
    h.leave(G, vec![a.leaving()]);
    assert_eq!(h.state(G), Some(GroupState::Empty));
    assert_eq!(h.group(G).generation_id(), generation + 1);
    assert_eq!(h.group(G).leader_id(), None);
    assert_eq!(h.c.next_deadline(), None);
    // The group keeps its protocol type; a new member of any type may join it.
    assert_eq!(h.group(G).protocol_type(), Some("consumer"));
    let mut w = Client {
        protocol_type: "connect".into(),
        ..Client::new("w")
    };
    let id = h.join_client(&mut w);
    let r = h.learn(&mut w, id);
    assert_eq!(r.generation_id, generation + 2);
    assert_eq!(r.protocol_type.as_deref(), Some("connect"));
    h.finish();
}

#[test]
fn delete_groups_rules() {
    let mut h = H::new();
    let mut clients = [Client::new("a")];
    h.form(&mut clients);
    let [a] = clients;
    let (_, out) = h.c.validate_commit(h.now, "simple", "", -1, None);
    assert!(out.is_empty());

    let ids: Vec<String> = ["g", "simple", "missing", ""]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let (results, out) = h.c.delete_groups(h.now, &ids);
    assert!(out.is_empty());
    assert_eq!(
        results,
        vec![
            ("g".into(), NON_EMPTY_GROUP),
            ("simple".into(), NONE),
            ("missing".into(), GROUP_ID_NOT_FOUND),
            ("".into(), GROUP_ID_NOT_FOUND),
        ]
    );
    assert_eq!(h.state("simple"), None);

    h.leave(G, vec![a.leaving()]);
    let (results, _) =
        h.c.delete_groups(h.now, &["g".to_string(), "g".to_string()]);
    assert_eq!(
        results,
        vec![("g".into(), NONE), ("g".into(), GROUP_ID_NOT_FOUND)]
    );
    assert_eq!(h.c.describe_group(G).state, GroupState::Dead);
    assert!(!h.c.describe_group(G).exists);
    assert_eq!(h.c.next_deadline(), None);
    h.finish();
}

#[test]
fn delete_sees_expired_sessions_first() {
    let mut h = H::new();
    let mut clients = [Client::new("a")];
    h.form(&mut clients);
    // The last session expires at now + 10 s even though nobody ticked.
    let later = h.now + SESSION as u64;
    let (results, _) = h.c.delete_groups(later, &[G.to_string()]);
    assert_eq!(results, vec![(G.to_string(), NONE)]);
    h.finish();
}

// ---- offsets --------------------------------------------------------------------------------

#[test]
fn validate_commit_table() {
    let mut h = H::new();
    // "stable": {a (leader), b} Stable; "completing": {c} waiting for its sync;
    // "preparing": {e, f} with e rejoined; "static": {s} static.
    let mut stable = [Client::new("a"), Client::new("b")];
    let gen_stable = h.form(&mut stable);
    let [a, _b] = stable;

    let mut c = Client {
        group: "completing".into(),
        ..Client::new("c")
    };
    let jc = h.join_client(&mut c);
    h.learn(&mut c, jc);

    let mut prep = [
        Client {
            group: "preparing".into(),
            ..Client::new("e")
        },
        Client {
            group: "preparing".into(),
            ..Client::new("f")
        },
    ];
    let gen_prep = h.form(&mut prep);
    let [e, f] = prep;
    h.join(e.req());
    assert_eq!(h.state("preparing"), Some(GroupState::PreparingRebalance));

    let mut st = [Client {
        group: "static".into(),
        ..Client::static_member("s", "i-s")
    }];
    let gen_static = h.form(&mut st);
    let [s] = st;

    let (_, out) = h.c.validate_commit(h.now, "empty", "", -1, None); // creates it
    assert!(out.is_empty());

    type Case<'a> = (
        &'a str,
        &'a str,
        String,
        i32,
        Option<&'a str>,
        Result<(), GroupCode>,
    );
    let cases: Vec<Case> = vec![
        (
            "simple commit, unknown group",
            "fresh",
            String::new(),
            -1,
            None,
            Ok(()),
        ),
        (
            "generation for unknown group",
            "other",
            String::new(),
            3,
            None,
            Err(ILLEGAL_GENERATION),
        ),
        (
            "simple commit, empty group",
            "empty",
            String::new(),
            -1,
            None,
            Ok(()),
        ),
        (
            "member id on empty group",
            "empty",
            "x".into(),
            0,
            None,
            Err(UNKNOWN_MEMBER_ID),
        ),
        (
            "member commit",
            G,
            a.member_id.clone(),
            gen_stable,
            None,
            Ok(()),
        ),
        (
            "simple commit, live group",
            G,
            String::new(),
            -1,
            None,
            Err(UNKNOWN_MEMBER_ID),
        ),
        (
            "wrong generation",
            G,
            a.member_id.clone(),
            gen_stable - 1,
            None,
            Err(ILLEGAL_GENERATION),
        ),
        (
            "unknown member",
            G,
            "ghost".into(),
            gen_stable,
            None,
            Err(UNKNOWN_MEMBER_ID),
        ),
        (
            "no generation, member id",
            G,
            a.member_id.clone(),
            -1,
            None,
            Err(ILLEGAL_GENERATION),
        ),
        (
            "completing rebalance",
            "completing",
            c.member_id.clone(),
            c.generation,
            None,
            Err(REBALANCE_IN_PROGRESS),
        ),
        (
            "preparing, rejoined",
            "preparing",
            e.member_id.clone(),
            gen_prep,
            None,
            Ok(()),
        ),
        (
            "preparing, not rejoined",
            "preparing",
            f.member_id.clone(),
            gen_prep,
            None,
            Ok(()),
        ),
        (
            "static member",
            "static",
            s.member_id.clone(),
            gen_static,
            Some("i-s"),
            Ok(()),
        ),
        (
            "static, wrong member id",
            "static",
            "old".into(),
            gen_static,
            Some("i-s"),
            Err(FENCED_INSTANCE_ID),
        ),
        (
            "static, unknown instance",
            "static",
            s.member_id.clone(),
            gen_static,
            Some("i-x"),
            Err(UNKNOWN_MEMBER_ID),
        ),
    ];
    for (name, group, member, generation, instance, expected) in cases {
        let (res, _) =
            h.c.validate_commit(h.now, group, &member, generation, instance);
        assert_eq!(res, expected, "{name}");
    }
    assert_eq!(h.state("fresh"), Some(GroupState::Empty));
    assert_eq!(h.state("other"), None);
    assert_eq!(h.c.describe_group("fresh").protocol_type, "");

    // Transactional commits do not look at the state, nor need a member.
    let (res, _) =
        h.c.validate_txn_commit(h.now, "completing", &c.member_id, c.generation, None);
    assert_eq!(res, Ok(()));
    let (res, _) = h.c.validate_txn_commit(h.now, G, "", -1, None);
    assert_eq!(res, Ok(()));
    h.finish();
}

#[test]
fn commit_keeps_the_session_alive() {
    let mut h = H::new();
    let mut clients = [Client::new("a")];
    let generation = h.form(&mut clients);
    let [a] = clients;
    for _ in 0..5 {
        h.advance(6_000);
        let (res, _) =
            h.c.validate_commit(h.now, G, &a.member_id, generation, None);
        assert_eq!(res, Ok(()));
    }
    assert!(h.group(G).has_member(&a.member_id));
    h.advance(SESSION as u64);
    assert!(!h.group(G).has_member(&a.member_id));
    h.finish();
}

#[test]
fn subscribed_topics_and_offset_delete() {
    let mut h = H::new();
    assert_eq!(h.c.validate_offset_delete(G), Err(GROUP_ID_NOT_FOUND));
    let mut clients = [
        Client::new("a").with_protocols(&[("range", &["t1", "t2"])]),
        Client::new("b").with_protocols(&[("range", &["t2", "t3"])]),
    ];
    h.form(&mut clients);
    let [a, b] = clients;
    let expected: HashSet<String> = ["t1", "t2", "t3"].iter().map(|s| s.to_string()).collect();
    assert_eq!(h.c.subscribed_topics(G), Some(expected));
    assert_eq!(h.c.validate_offset_delete(G), Ok(()));
    assert!(h.c.is_subscribed_to_topic(G, "t3"));
    assert!(!h.c.is_subscribed_to_topic(G, "t4"));

    // Unparseable metadata: unknown topics, so every topic counts as subscribed.
    let mut bad = Client::new("bad");
    bad.protocols = vec![("range".into(), Bytes::from_static(b"\x00"))];
    let mut a = a;
    let mut b = b;
    let jbad = h.join_client(&mut bad);
    let ja = h.join(a.req());
    let jb = h.join(b.req());
    h.learn(&mut a, ja);
    h.learn(&mut b, jb);
    h.learn(&mut bad, jbad);
    assert_eq!(h.c.subscribed_topics(G), None);
    assert!(h.c.is_subscribed_to_topic(G, "anything"));

    // Empty group: subscribed to nothing, offsets deletable.
    h.leave(G, vec![a.leaving(), b.leaving(), bad.leaving()]);
    assert_eq!(h.state(G), Some(GroupState::Empty));
    assert_eq!(h.c.subscribed_topics(G), Some(HashSet::new()));
    assert!(!h.c.is_subscribed_to_topic(G, "t1"));
    assert_eq!(h.c.validate_offset_delete(G), Ok(()));
    h.finish();
}

// ---- timers ---------------------------------------------------------------------------------

#[test]
fn initial_rebalance_delay() {
    let mut h = H::with(CoordinatorConfig {
        initial_rebalance_delay_ms: 3_000,
        ..CoordinatorConfig::default()
    });
    let start = h.now;
    let mut a = Client::new("a");
    let mut b = Client::new("b");
    let mut c = Client::new("c");
    let ja = h.join_client(&mut a);
    assert_eq!(h.state(G), Some(GroupState::PreparingRebalance));
    assert_eq!(h.c.next_deadline(), Some(start + 3_000));
    h.at(start + 1_000);
    let jb = h.join_client(&mut b);
    h.at(start + 2_500);
    let jc = h.join_client(&mut c);
    // Everyone has joined, but the initial rebalance never completes early.
    assert!(h.join_answer(ja).is_none());
    // At 3 s the delay is extended (new members came) by another 3 s...
    h.at(start + 3_000);
    assert!(h.join_answer(ja).is_none());
    assert_eq!(h.c.next_deadline(), Some(start + 6_000));
    h.at(start + 5_999);
    assert!(h.join_answer(ja).is_none());
    // ...and then completes with all three in generation 1.
    h.at(start + 6_000);
    for (cl, id) in [(&mut a, ja), (&mut b, jb), (&mut c, jc)] {
        let r = h.learn(cl, id);
        assert_eq!(r.generation_id, 1);
    }
    assert_eq!(h.joined(ja).members.len(), 3);
    h.finish();
}

#[test]
fn initial_rebalance_delay_is_capped_by_the_rebalance_timeout() {
    let mut h = H::with(CoordinatorConfig {
        initial_rebalance_delay_ms: 3_000,
        ..CoordinatorConfig::default()
    });
    let start = h.now;
    let mut first = Client::new("first");
    first.rebalance = 10_000;
    let j = h.join_client(&mut first);
    // A new member every second, forever.
    let mut n = 0;
    while h.join_answer(j).is_none() {
        h.advance(1_000);
        let mut c = Client::new(&format!("c{n}"));
        c.rebalance = 10_000;
        h.join_client(&mut c);
        n += 1;
        assert!(h.now < start + 20_000, "the initial delay must end");
    }
    // delay 3 s, then extensions while (10 s - 3 s) of budget remain, each ≤ 3 s.
    assert!(
        h.now >= start + 10_000 && h.now <= start + 13_000,
        "{}",
        h.now - start
    );
    assert_eq!(h.joined(j).generation_id, 1);
    h.finish();
}

#[test]
fn new_member_join_is_dropped_after_the_new_member_timeout() {
    // A static member that never rejoins holds the join phase for the rebalance timeout;
    // with a long rebalance timeout, a new member's parked JoinGroup is dropped first.
    let mut h = H::with(CoordinatorConfig {
        new_member_join_timeout_ms: 20_000,
        ..CoordinatorConfig::default()
    });
    let mut s = Client::static_member("s", "i-s");
    s.rebalance = 600_000;
    s.session = 1_800_000;
    let mut clients = [s];
    h.form(&mut clients);
    let mut n = Client::new("n");
    let jn = h.join_client(&mut n);
    assert!(h.join_answer(jn).is_none());
    h.advance(20_000);
    assert_eq!(h.joined(jn).error_code, UNKNOWN_MEMBER_ID);
    assert_eq!(h.joined(jn).member_id, "");
    h.finish();
}

#[test]
fn next_deadline_tracks_the_earliest_timer() {
    let mut h = H::new();
    assert_eq!(h.c.next_deadline(), None);
    let id = h.join(Client::new("a").req());
    let pending_deadline = h.now + SESSION as u64;
    assert_eq!(h.joined(id).error_code, MEMBER_ID_REQUIRED);
    assert_eq!(h.c.next_deadline(), Some(pending_deadline));
    h.at(pending_deadline - 1);
    assert_eq!(h.group(G).pending_member_count(), 1);
    h.at(pending_deadline);
    assert_eq!(h.group(G).pending_member_count(), 0);
    assert_eq!(h.c.next_deadline(), None);
    // A rejoin with the expired pending id is refused (no such member).
    let mut late = Client::new("a");
    late.member_id = h.joined(id).member_id.clone();
    let id = h.join(late.req());
    assert_eq!(h.joined(id).error_code, UNKNOWN_MEMBER_ID);
    h.finish();
}

// ---- misc -----------------------------------------------------------------------------------

#[test]
fn duplicate_join_answers_the_older_request() {
    let mut h = H::new();
    let mut clients = [Client::new("a"), Client::new("b")];
    h.form(&mut clients);
    let [a, b] = clients;
    let first = h.join(b.req()); // B changes nothing: answered at once in Stable
    assert!(h.join_answer(first).is_some());
    let j1 = h.join(a.req()); // leader rejoin: parked
    let j2 = h.join(a.req()); // the same member again (retry from a new connection)
    assert_eq!(h.joined(j1).error_code, REBALANCE_IN_PROGRESS);
    assert!(h.join_answer(j2).is_none());
    let mut b = b;
    let jb = h.join(b.req());
    h.learn(&mut b, jb);
    assert_eq!(h.joined(j2).error_code, NONE);
    h.finish();
}

#[test]
fn sync_errors() {
    let mut h = H::new();
    let s = h.sync(Client::new("x").sync_req(Vec::new()));
    assert_eq!(h.synced(s).error_code, UNKNOWN_MEMBER_ID);
    let mut req = Client::new("x").sync_req(Vec::new());
    req.group_id = String::new();
    let s = h.sync(req);
    assert_eq!(h.synced(s).error_code, INVALID_GROUP_ID);

    let mut clients = [Client::new("a"), Client::new("b")];
    let generation = h.form(&mut clients);
    let [a, b] = clients;
    let mut stale = a.clone();
    stale.generation = generation - 1;
    let s = h.sync_client(&stale, Vec::new());
    assert_eq!(h.synced(s).error_code, ILLEGAL_GENERATION);
    let mut ghost = a.clone();
    ghost.member_id = "ghost".into();
    let s = h.sync_client(&ghost, Vec::new());
    assert_eq!(h.synced(s).error_code, UNKNOWN_MEMBER_ID);
    // PreparingRebalance → REBALANCE_IN_PROGRESS.
    h.join(a.req());
    let s = h.sync_client(&b, Vec::new());
    assert_eq!(h.synced(s).error_code, REBALANCE_IN_PROGRESS);
    assert_eq!(h.synced(s).assignment, Bytes::new());
    h.finish();
}

#[test]
fn group_max_size() {
    let mut h = H::with(CoordinatorConfig {
        max_group_size: 2,
        ..CoordinatorConfig::default()
    });
    let mut clients = [Client::new("a"), Client::new("b")];
    h.form(&mut clients);
    // A full group turns a new member away before giving it an id.
    let id = h.join(Client::new("c").req());
    assert_eq!(h.joined(id).error_code, GROUP_MAX_SIZE_REACHED);
    assert_eq!(h.joined(id).member_id, "");
    assert_eq!(h.group(G).pending_member_count(), 0);
    assert_eq!(h.state(G), Some(GroupState::Stable));

    // During a rebalance the members already rejoined count: the last to come back is
    // turned away (and removed).
    let mut h2 = H::with(CoordinatorConfig {
        max_group_size: 2,
        ..CoordinatorConfig::default()
    });
    let mut clients = [Client {
        group: "m".into(),
        ..Client::new("a")
    }];
    let generation = h2.form(&mut clients);
    let [a] = clients;
    let mut c = Client {
        group: "m".into(),
        ..Client::new("c")
    };
    let mut d = Client {
        group: "m".into(),
        ..Client::new("d")
    };
    for cl in [&mut c, &mut d] {
        let id = h2.join(cl.req());
        assert_eq!(h2.joined(id).error_code, MEMBER_ID_REQUIRED);
        cl.member_id = h2.joined(id).member_id.clone();
    }
    let jc = h2.join(c.req());
    let jd = h2.join(d.req());
    let ja = h2.join(a.req());
    assert_eq!(h2.joined(ja).error_code, GROUP_MAX_SIZE_REACHED);
    let rc = h2.learn(&mut c, jc);
    h2.learn(&mut d, jd);
    assert_eq!(rc.generation_id, generation + 1);
    let ids: Vec<&str> = rc.members.iter().map(|m| m.member_id.as_str()).collect();
    assert_eq!(ids, vec![c.member_id.as_str(), d.member_id.as_str()]);
    h2.finish();
    h.finish();
}

#[test]
fn describe_and_list() {
    let mut h = H::new();
    let mut clients = [Client::new("a"), Client::new("b")];
    h.form(&mut clients);
    let [a, _] = clients;
    let mut c = Client {
        group: "other".into(),
        ..Client::new("c")
    };
    h.join_client(&mut c);
    let _ = h.c.validate_commit(h.now, "simple", "", -1, None);
    h.join(a.req()); // g → PreparingRebalance

    let d = h.c.describe_group(G);
    assert_eq!(d.state.as_str(), "PreparingRebalance");
    assert_eq!(d.protocol_data, "");
    assert_eq!(d.members.len(), 2);
    assert!(d
        .members
        .iter()
        .all(|m| m.metadata.is_empty() && m.assignment.is_empty()));
    let d = h.c.describe_group("nope");
    assert_eq!(
        (d.exists, d.state, d.error_code),
        (false, GroupState::Dead, NONE)
    );
    assert_eq!(h.c.describe_groups(&["other".into(), G.into()]).len(), 2);

    let names = |filter: &[&str], types: &[&str]| -> Vec<(String, &'static str)> {
        let f: Vec<String> = filter.iter().map(|s| s.to_string()).collect();
        let t: Vec<String> = types.iter().map(|s| s.to_string()).collect();
        h.c.list_groups(&f, &t)
            .expect("active")
            .into_iter()
            .map(|g| (g.group_id, g.state))
            .collect()
    };
    let all = names(&[], &[]);
    assert_eq!(
        all,
        vec![
            (G.to_string(), "PreparingRebalance"),
            ("other".to_string(), "CompletingRebalance"),
            ("simple".to_string(), "Empty"),
        ]
    );
    assert_eq!(
        names(&["empty"], &[]),
        vec![("simple".to_string(), "Empty")]
    );
    assert_eq!(names(&[" PreparingRebalance ", "Stable"], &[]).len(), 1);
    assert_eq!(names(&[], &["Classic"]).len(), 3);
    assert!(names(&[], &["consumer"]).is_empty());
    let listed = h.c.list_groups(&[], &[]).expect("active");
    assert_eq!(listed[2].protocol_type, "");
    assert_eq!(listed[0].protocol_type, "consumer");
    assert_eq!(listed[0].group_type, "classic");
    h.finish();
}

#[test]
fn shutdown_answers_everything_parked() {
    let mut h = H::new();
    // Group 1 in PreparingRebalance with a parked join; group 2 in CompletingRebalance with
    // a parked follower sync.
    let mut clients = [Client::new("a"), Client::new("b")];
    h.form(&mut clients);
    let [a, _b] = clients;
    let parked_join = h.join(a.req());

    let mut x = Client {
        group: "two".into(),
        ..Client::new("x")
    };
    let mut y = Client {
        group: "two".into(),
        ..Client::new("y")
    };
    let jx = h.join_client(&mut x);
    h.learn(&mut x, jx);
    let jy = h.join_client(&mut y);
    let jx = h.join(x.req());
    h.learn(&mut x, jx);
    h.learn(&mut y, jy);
    let parked_sync = h.sync_client(&y, Vec::new());
    assert_eq!(h.c.parked_replies(), 2);

    let out = h.c.shutdown();
    h.absorb(out);
    let r = h.joined(parked_join);
    assert_eq!(
        (r.error_code, r.member_id.as_str()),
        (NOT_COORDINATOR, a.member_id.as_str())
    );
    assert_eq!(h.synced(parked_sync).error_code, NOT_COORDINATOR);
    assert!(h.unanswered().is_empty());

    // Everything after shutdown is refused.
    let j = h.join(Client::new("late").req());
    assert_eq!(h.joined(j).error_code, COORDINATOR_NOT_AVAILABLE);
    let s = h.sync(x.sync_req(Vec::new()));
    assert_eq!(h.synced(s).error_code, COORDINATOR_NOT_AVAILABLE);
    assert_eq!(h.heartbeat_client(&x), COORDINATOR_NOT_AVAILABLE);
    assert_eq!(
        h.leave("two", vec![x.leaving()]).error_code,
        COORDINATOR_NOT_AVAILABLE
    );
    assert_eq!(
        h.c.validate_commit(h.now, "two", "", -1, None).0,
        Err(COORDINATOR_NOT_AVAILABLE)
    );
    assert_eq!(h.c.list_groups(&[], &[]), Err(COORDINATOR_NOT_AVAILABLE));
    assert_eq!(
        h.c.describe_group("two").error_code,
        COORDINATOR_NOT_AVAILABLE
    );
    assert_eq!(
        h.c.delete_groups(h.now, &["two".into()]).0[0].1,
        COORDINATOR_NOT_AVAILABLE
    );
    assert!(h.c.tick(h.now + 1_000_000).is_empty());
    assert_eq!(h.c.next_deadline(), None);
    h.finish();
}

/// Random traffic: a few clients behaving like consumers (join, sync, heartbeat, commit,
/// rejoin when told) plus chaos (restarts, silences long enough to expire, leaves), with
/// time passing. No panics, the invariants hold after every step, the group keeps
/// reaching Stable, and every request is answered exactly once.
#[test]
fn random_traffic_keeps_invariants() {
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    enum Phase {
        NeedJoin,
        Joining(ReplyId),
        NeedSync,
        Syncing(ReplyId),
        Stable,
        SilentUntil(u64),
    }
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut rand = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut stable_steps = 0;
    for round in 0..30 {
        let cfg = CoordinatorConfig {
            initial_rebalance_delay_ms: if round % 2 == 0 { 0 } else { 2_000 },
            max_group_size: if round % 5 == 0 { 3 } else { usize::MAX },
            ..CoordinatorConfig::default()
        };
        let mut h = H::with(cfg);
        let mut clients: Vec<Client> = (0..5)
            .map(|i| {
                let mut c = if i % 2 == 0 {
                    Client::static_member(&format!("c{i}"), &format!("i{i}"))
                } else {
                    Client::new(&format!("c{i}"))
                };
                if i == 3 {
                    c = c.with_protocols(&[("rr", &["t2"]), ("range", &["t1"])]);
                }
                c.rebalance = 15_000 + 5_000 * i;
                c
            })
            .collect();
        let mut phase = vec![Phase::NeedJoin; clients.len()];
        for _ in 0..400 {
            let i = rand(clients.len() as u64) as usize;
            let forget = |c: &mut Client| {
                c.member_id.clear();
                c.generation = -1;
            };
            // Chaos now and then.
            match rand(100) {
                0 => {
                    forget(&mut clients[i]);
                    phase[i] = Phase::NeedJoin;
                }
                1 => phase[i] = Phase::SilentUntil(h.now + 5_000 + rand(30_000)),
                2 => {
                    h.leave(G, vec![clients[i].leaving()]);
                    forget(&mut clients[i]);
                    phase[i] = Phase::NeedJoin;
                }
                _ => {}
            }
            let c = clients[i].clone();
            phase[i] = match phase[i] {
                Phase::SilentUntil(t) if t > h.now => Phase::SilentUntil(t),
                Phase::SilentUntil(_) | Phase::NeedJoin => Phase::Joining(h.join(c.req())),
                Phase::Joining(id) => match h.join_answer(id).cloned() {
                    None => Phase::Joining(id),
                    Some(r) => match r.error_code {
                        NONE => {
                            clients[i].member_id = r.member_id;
                            clients[i].generation = r.generation_id;
                            Phase::NeedSync
                        }
                        MEMBER_ID_REQUIRED => {
                            clients[i].member_id = r.member_id;
                            Phase::NeedJoin
                        }
                        REBALANCE_IN_PROGRESS => Phase::NeedJoin,
                        _ => {
                            forget(&mut clients[i]);
                            Phase::NeedJoin
                        }
                    },
                },
                Phase::NeedSync => {
                    let leader = h.c.group(G).and_then(|g| g.leader_id()).map(str::to_string);
                    let assignments = match h.c.group(G) {
                        Some(g) if leader.as_deref() == Some(c.member_id.as_str()) => g
                            .member_ids()
                            .iter()
                            .map(|m| (m.to_string(), Bytes::from(m.to_string())))
                            .collect(),
                        _ => Vec::new(),
                    };
                    Phase::Syncing(h.sync_client(&c, assignments))
                }
                Phase::Syncing(id) => match h.sync_answer(id).map(|r| r.error_code) {
                    None => Phase::Syncing(id),
                    Some(NONE) => Phase::Stable,
                    Some(UNKNOWN_MEMBER_ID | FENCED_INSTANCE_ID) => {
                        forget(&mut clients[i]);
                        Phase::NeedJoin
                    }
                    Some(_) => Phase::NeedJoin,
                },
                Phase::Stable => {
                    if rand(4) == 0 {
                        let _ = h.c.validate_commit(
                            h.now,
                            G,
                            &c.member_id,
                            c.generation,
                            c.instance.as_deref(),
                        );
                    }
                    match h.heartbeat_client(&c) {
                        NONE => Phase::Stable,
                        UNKNOWN_MEMBER_ID | FENCED_INSTANCE_ID => {
                            forget(&mut clients[i]);
                            Phase::NeedJoin
                        }
                        _ => Phase::NeedJoin,
                    }
                }
            };
            h.advance(rand(700));
            check_invariants(&h);
            if h.state(G) == Some(GroupState::Stable) {
                stable_steps += 1;
            }
        }
        h.finish();
    }
    assert!(
        stable_steps > 1_000,
        "the traffic rarely reached Stable: {stable_steps}"
    );
}

fn check_invariants(h: &H) {
    let Some(g) = h.c.group(G) else { return };
    let ids = g.member_ids();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "duplicate member ids");
    match g.leader_id() {
        Some(l) => assert!(g.has_member(l), "leader {l} is not a member"),
        None => assert!(ids.is_empty(), "members without a leader"),
    }
    match g.state() {
        GroupState::Empty => {
            assert!(ids.is_empty());
            assert_eq!(g.parked_replies(), 0);
        }
        GroupState::CompletingRebalance | GroupState::Stable => {
            assert!(!ids.is_empty());
            assert!(g.protocol_name().is_some());
        }
        GroupState::PreparingRebalance => {}
        GroupState::Dead => panic!("dead group in the map"),
    }
    if let Some(d) = h.c.next_deadline() {
        assert!(d > h.now, "a due timer was not fired: {d} <= {}", h.now);
    }
}
