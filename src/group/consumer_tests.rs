//! KIP-848 consumer groups: the heartbeat state machine driven directly, with simulated
//! clients that adopt each assignment they are sent and report what they own.

use std::collections::BTreeMap;

use bytes::Bytes;
use uuid::Uuid;

use super::*;

const G: &str = "cg";

fn tid(name: &str) -> Uuid {
    let mut b = [0u8; 16];
    for (i, c) in name.bytes().enumerate() {
        b[i % 16] ^= c;
    }
    b[15] ^= name.len() as u8;
    Uuid::from_bytes(b)
}

struct H {
    c: GroupCoordinator,
    now: u64,
    topics: BTreeMap<String, (Uuid, i32)>,
}

/// A well-behaved client: adopts every assignment at once and reports it.
#[derive(Debug, Clone)]
struct Client {
    id: String,
    instance: Option<String>,
    epoch: i32,
    owned: Assignment,
    topics: Vec<String>,
    assignor: Option<String>,
    joined: bool,
}

impl Client {
    fn new(id: &str, topics: &[&str]) -> Client {
        Client {
            id: id.to_string(),
            instance: None,
            epoch: 0,
            owned: Assignment::new(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            assignor: None,
            joined: false,
        }
    }

    fn count(&self) -> usize {
        self.owned.values().map(|s| s.len()).sum()
    }
}

fn owned_list(a: &Assignment) -> Vec<(Uuid, Vec<i32>)> {
    a.iter()
        .map(|(t, ps)| (*t, ps.iter().copied().collect()))
        .collect()
}

impl H {
    fn new() -> H {
        H::with_config(CoordinatorConfig::default())
    }

    fn with_config(cfg: CoordinatorConfig) -> H {
        H {
            c: GroupCoordinator::new(cfg),
            now: 1_000,
            topics: BTreeMap::from([("t".to_string(), (tid("t"), 6))]),
        }
    }

    fn request(&self, cl: &Client) -> ConsumerHeartbeat {
        let full = !cl.joined;
        ConsumerHeartbeat {
            group_id: G.to_string(),
            member_id: cl.id.clone(),
            member_epoch: cl.epoch,
            instance_id: cl.instance.clone(),
            rack_id: None,
            rebalance_timeout_ms: if full { 30_000 } else { -1 },
            subscribed_topic_names: full.then(|| cl.topics.clone()),
            subscribed_topic_regex: None,
            server_assignor: if full { cl.assignor.clone() } else { None },
            owned: Some(owned_list(&cl.owned)),
            client_id: cl.id.clone(),
            client_host: "/127.0.0.1".to_string(),
            api_version: 1,
        }
    }

    fn send(&mut self, req: &ConsumerHeartbeat) -> ConsumerHeartbeatResult {
        let r = self.c.consumer_heartbeat(self.now, req, &self.topics);
        if let Some(g) = self.c.consumer_group(G) {
            g.check_invariants().unwrap();
        }
        r
    }

    /// One heartbeat of a simulated client.
    fn beat(&mut self, cl: &mut Client) -> ConsumerHeartbeatResult {
        let req = self.request(cl);
        let r = self.send(&req);
        match r.error_code {
            NONE => {
                cl.joined = true;
                cl.epoch = r.member_epoch;
                if let Some(a) = &r.assignment {
                    cl.owned = a
                        .iter()
                        .map(|(t, ps)| (*t, ps.iter().copied().collect()))
                        .collect();
                }
            }
            FENCED_MEMBER_EPOCH | UNKNOWN_MEMBER_ID => {
                cl.joined = false;
                cl.epoch = 0;
                cl.owned.clear();
            }
            _ => {}
        }
        r
    }

    /// Heartbeats every client round-robin until the group is Stable.
    fn settle(&mut self, clients: &mut [Client]) -> usize {
        for round in 1..=20 {
            for cl in clients.iter_mut() {
                self.beat(cl);
            }
            if self.state() == Some(ConsumerGroupState::Stable) {
                return round;
            }
            self.now += 100;
        }
        panic!("group did not settle: {:?}", self.c.consumer_group(G));
    }

    fn state(&self) -> Option<ConsumerGroupState> {
        self.c.consumer_group(G).map(|g| g.state())
    }
}

#[test]
fn a_lone_member_gets_every_partition_at_epoch_1() {
    let mut h = H::new();
    let mut a = Client::new("a", &["t"]);
    let r = h.beat(&mut a);
    assert_eq!(r.error_code, NONE);
    assert_eq!(r.member_id.as_deref(), Some("a"));
    assert_eq!(r.member_epoch, 1);
    assert_eq!(r.heartbeat_interval_ms, 5_000);
    assert_eq!(a.count(), 6);
    assert_eq!(h.state(), Some(ConsumerGroupState::Stable));
    // A plain heartbeat with nothing new sends no assignment.
    let r = h.beat(&mut a);
    assert_eq!(r.assignment, None);
    assert_eq!(r.member_epoch, 1);
}

#[test]
fn partitions_move_only_after_revocation() {
    let mut h = H::new();
    let mut a = Client::new("a", &["t"]);
    let mut b = Client::new("b", &["t"]);
    h.beat(&mut a);
    assert_eq!(a.count(), 6);

    // b joins: epoch 2, but every partition is still a's.
    let r = h.beat(&mut b);
    assert_eq!(r.member_epoch, 2);
    assert_eq!(b.count(), 0);
    let g = h.c.consumer_group(G).unwrap();
    assert_eq!(
        g.member("b").unwrap().state,
        MemberState::UnreleasedPartitions
    );
    assert_eq!(g.state(), ConsumerGroupState::Reconciling);

    // a is asked to give three up and stays at epoch 1 until it confirms.
    let r = h.beat(&mut a);
    assert_eq!(r.member_epoch, 1);
    assert_eq!(a.count(), 3);
    assert_eq!(
        h.c.consumer_group(G).unwrap().member("a").unwrap().state,
        MemberState::UnrevokedPartitions
    );
    // b still cannot have them.
    h.beat(&mut b);
    assert_eq!(b.count(), 0);
    // a confirms (it reports owning only its three) and moves to epoch 2.
    let r = h.beat(&mut a);
    assert_eq!(r.member_epoch, 2);
    // now b gets the released three.
    let r = h.beat(&mut b);
    assert_eq!(r.member_epoch, 2);
    assert_eq!(b.count(), 3);
    assert_eq!(h.state(), Some(ConsumerGroupState::Stable));
}

#[test]
fn three_members_two_partitions_each_then_leave_and_join() {
    let mut h = H::new();
    let mut clients = vec![
        Client::new("a", &["t"]),
        Client::new("b", &["t"]),
        Client::new("c", &["t"]),
    ];
    h.settle(&mut clients);
    for cl in &clients {
        assert_eq!(cl.count(), 2, "{cl:?}");
    }
    // c leaves (epoch -1): the others take over all six.
    let mut leave = h.request(&clients[2]);
    leave.member_epoch = -1;
    let r = h.send(&leave);
    assert_eq!((r.error_code, r.member_epoch), (NONE, -1));
    clients.pop();
    h.settle(&mut clients);
    assert_eq!(clients[0].count() + clients[1].count(), 6);
    assert_eq!(clients[0].count(), 3);
    // d joins: two each again.
    clients.push(Client::new("d", &["t"]));
    h.settle(&mut clients);
    for cl in &clients {
        assert_eq!(cl.count(), 2, "{cl:?}");
    }
    let d = h.c.consumer_describe(h.now, G).unwrap();
    assert_eq!(d.members.len(), 3);
    assert_eq!(d.assignor_name, "uniform");
    assert_eq!(d.state, ConsumerGroupState::Stable);
    assert_eq!(d.group_epoch, d.assignment_epoch);
}

#[test]
fn epochs_are_checked() {
    let mut h = H::new();
    let mut a = Client::new("a", &["t"]);
    h.beat(&mut a);
    let mut req = h.request(&a);
    req.member_epoch = 7;
    assert_eq!(h.send(&req).error_code, FENCED_MEMBER_EPOCH);
    // The previous epoch is accepted when what it owns is within its assignment (a lost
    // response); otherwise it is fenced.
    let mut clients = [a, Client::new("b", &["t"])];
    h.settle(&mut clients);
    let [a, _] = clients;
    let epoch = a.epoch;
    let mut req = h.request(&a);
    req.member_epoch =
        h.c.consumer_group(G)
            .unwrap()
            .member("a")
            .unwrap()
            .previous_epoch;
    assert!(req.member_epoch < epoch);
    assert_eq!(h.send(&req).error_code, NONE);
    req.owned = Some(vec![(tid("t"), (0..6).collect())]);
    req.member_epoch =
        h.c.consumer_group(G)
            .unwrap()
            .member("a")
            .unwrap()
            .previous_epoch;
    assert_eq!(h.send(&req).error_code, FENCED_MEMBER_EPOCH);
    // Unknown members.
    let mut ghost = Client::new("ghost", &["t"]);
    ghost.epoch = 3;
    ghost.joined = true;
    assert_eq!(h.beat(&mut ghost).error_code, UNKNOWN_MEMBER_ID);
}

#[test]
fn requests_are_validated_like_kafka() {
    let mut h = H::new();
    let cl = Client::new("a", &["t"]);
    let base = h.request(&cl);
    let cases: Vec<(&str, ConsumerHeartbeat, GroupCode)> = vec![
        (
            "v1 needs a member id",
            ConsumerHeartbeat {
                member_id: String::new(),
                ..base.clone()
            },
            INVALID_REQUEST,
        ),
        (
            "empty group id",
            ConsumerHeartbeat {
                group_id: String::new(),
                ..base.clone()
            },
            INVALID_REQUEST,
        ),
        (
            "join without rebalance timeout",
            ConsumerHeartbeat {
                rebalance_timeout_ms: -1,
                ..base.clone()
            },
            INVALID_REQUEST,
        ),
        (
            "join owning partitions",
            ConsumerHeartbeat {
                owned: Some(vec![(tid("t"), vec![0])]),
                ..base.clone()
            },
            INVALID_REQUEST,
        ),
        (
            "join without subscription",
            ConsumerHeartbeat {
                subscribed_topic_names: None,
                ..base.clone()
            },
            INVALID_REQUEST,
        ),
        (
            "static leave without instance",
            ConsumerHeartbeat {
                member_epoch: -2,
                ..base.clone()
            },
            INVALID_REQUEST,
        ),
        (
            "epoch below -2",
            ConsumerHeartbeat {
                member_epoch: -3,
                ..base.clone()
            },
            INVALID_REQUEST,
        ),
        (
            "unknown assignor",
            ConsumerHeartbeat {
                server_assignor: Some("sticky".into()),
                ..base.clone()
            },
            UNSUPPORTED_ASSIGNOR,
        ),
        (
            "bad regex",
            ConsumerHeartbeat {
                subscribed_topic_regex: Some("(".into()),
                ..base.clone()
            },
            INVALID_REGULAR_EXPRESSION,
        ),
    ];
    for (name, req, code) in cases {
        let r = h.send(&req);
        assert_eq!(r.error_code, code, "{name}");
        assert!(r.error_message.is_some(), "{name}");
    }
    // v0 lets the coordinator pick the member id.
    let r = h.send(&ConsumerHeartbeat {
        member_id: String::new(),
        api_version: 0,
        ..base
    });
    assert_eq!(r.error_code, NONE);
    assert!(r.member_id.is_some_and(|m| !m.is_empty()));
}

#[test]
fn static_member_rejoins_without_a_rebalance() {
    let mut h = H::new();
    let mut a = Client::new("a1", &["t"]);
    a.instance = Some("i-a".into());
    let mut b = Client::new("b", &["t"]);
    let mut clients = [a, b];
    h.settle(&mut clients);
    [a, b] = clients;
    let epoch_before = h.c.consumer_group(G).unwrap().group_epoch();
    let owned_before = a.owned.clone();

    // Another process with the same instance id while a1 is active: refused.
    let mut intruder = Client::new("a2", &["t"]);
    intruder.instance = Some("i-a".into());
    assert_eq!(h.beat(&mut intruder).error_code, UNRELEASED_INSTANCE_ID);

    // a1 leaves temporarily (-2) and a2 takes its place: same epoch, same partitions.
    let mut leave = h.request(&a);
    leave.member_epoch = -2;
    assert_eq!(h.send(&leave).member_epoch, -2);
    let r = h.beat(&mut intruder);
    assert_eq!(r.error_code, NONE);
    assert_eq!(intruder.owned, owned_before);
    assert_eq!(h.c.consumer_group(G).unwrap().group_epoch(), epoch_before);
    // The old member id is now fenced.
    assert_eq!(h.beat(&mut a).error_code, FENCED_INSTANCE_ID);
    // b saw nothing.
    assert_eq!(h.beat(&mut b).assignment, None);
}

#[test]
fn session_and_revocation_timeouts_remove_members() {
    let cfg = CoordinatorConfig {
        consumer_session_timeout_ms: 10_000,
        ..CoordinatorConfig::default()
    };
    let mut h = H::with_config(cfg);
    let mut clients = vec![Client::new("a", &["t"]), Client::new("b", &["t"])];
    h.settle(&mut clients);
    let epoch = h.c.consumer_group(G).unwrap().group_epoch();
    // b goes silent; a keeps heartbeating.
    for _ in 0..12 {
        h.now += 1_000;
        h.beat(&mut clients[0]);
        h.c.tick(h.now);
    }
    let g = h.c.consumer_group(G).unwrap();
    assert!(g.member("b").is_none());
    assert!(g.group_epoch() > epoch);
    h.beat(&mut clients[0]);
    assert_eq!(clients[0].count(), 6);

    // A member that never confirms a revocation is removed at its rebalance timeout.
    let mut c = Client::new("c", &["t"]);
    h.beat(&mut c);
    let mut req = h.request(&clients[0]);
    let r = h.send(&req); // told to revoke three
    assert_eq!(r.assignment.as_ref().map(|a| a[0].1.len()), Some(3));
    req.owned = Some(owned_list(&clients[0].owned)); // still reports all six
    h.send(&req);
    assert_eq!(
        h.c.consumer_group(G).unwrap().member("a").unwrap().state,
        MemberState::UnrevokedPartitions
    );
    h.now += 30_001;
    h.c.tick(h.now);
    assert!(h.c.consumer_group(G).unwrap().member("a").is_none());
}

#[test]
fn topic_changes_bump_the_epoch_and_regex_subscriptions_follow_topics() {
    let mut h = H::new();
    let mut a = Client::new("a", &["t"]);
    h.beat(&mut a);
    let epoch = a.epoch;
    h.topics.insert("t".into(), (tid("t"), 8));
    h.beat(&mut a);
    assert!(a.epoch > epoch);
    assert_eq!(a.count(), 8);

    // A regex member sees topics as they appear; the regex must match the whole name.
    let mut req = h.request(&Client::new("r", &[]));
    req.group_id = "rg".into();
    req.subscribed_topic_names = None;
    req.subscribed_topic_regex = Some("orders-.*".into());
    h.topics.insert("orders-eu".into(), (tid("orders-eu"), 2));
    h.topics.insert("__orders-x".into(), (tid("__orders-x"), 2));
    let r = h.c.consumer_heartbeat(h.now, &req, &h.topics);
    assert_eq!(r.error_code, NONE);
    let assigned: Vec<Uuid> = r.assignment.unwrap().iter().map(|(t, _)| *t).collect();
    assert_eq!(assigned, vec![tid("orders-eu")]);
    h.topics.insert("orders-us".into(), (tid("orders-us"), 1));
    let mut req2 = req.clone();
    req2.member_epoch = r.member_epoch;
    req2.rebalance_timeout_ms = -1;
    req2.subscribed_topic_regex = None;
    req2.owned = Some(vec![(tid("orders-eu"), vec![0, 1])]);
    let r = h.c.consumer_heartbeat(h.now, &req2, &h.topics);
    let mut assigned: Vec<Uuid> = r.assignment.unwrap().iter().map(|(t, _)| *t).collect();
    assigned.sort();
    let mut want = vec![tid("orders-eu"), tid("orders-us")];
    want.sort();
    assert_eq!(assigned, want);
}

#[test]
fn range_assignor_is_selected_by_the_members() {
    let mut h = H::new();
    let mut clients: Vec<Client> = ["a", "b"]
        .iter()
        .map(|id| {
            let mut c = Client::new(id, &["t"]);
            c.assignor = Some("range".into());
            c
        })
        .collect();
    h.settle(&mut clients);
    let parts = |c: &Client| c.owned[&tid("t")].iter().copied().collect::<Vec<_>>();
    assert_eq!(parts(&clients[0]), vec![0, 1, 2]);
    assert_eq!(parts(&clients[1]), vec![3, 4, 5]);
    assert_eq!(
        h.c.consumer_describe(h.now, G).unwrap().assignor_name,
        "range"
    );
}

#[test]
fn classic_and_consumer_groups_do_not_mix() {
    let mut h = H::new();
    let mut a = Client::new("a", &["t"]);
    h.beat(&mut a);
    // A classic JoinGroup to a consumer group with members.
    let join = JoinGroup {
        group_id: G.into(),
        protocol_type: "consumer".into(),
        protocols: vec![("range".into(), Bytes::new())],
        session_timeout_ms: 10_000,
        rebalance_timeout_ms: 10_000,
        ..Default::default()
    };
    let out = h.c.join_group(h.now, 1, join.clone());
    match &out[..] {
        [Output::Join(1, r)] => assert_eq!(r.error_code, INCONSISTENT_GROUP_PROTOCOL),
        other => panic!("{other:?}"),
    }
    // Classic heartbeats to it: unknown member.
    let out = h.c.heartbeat(
        h.now,
        2,
        Heartbeat {
            group_id: G.into(),
            generation_id: 1,
            member_id: "a".into(),
            group_instance_id: None,
        },
    );
    assert!(matches!(
        &out[..],
        [Output::Heartbeat(2, UNKNOWN_MEMBER_ID)]
    ));
    // DescribeGroups does not see it; ListGroups says "consumer".
    assert!(!h.c.describe_group(G).exists);
    let listed = h.c.list_groups(&[], &["consumer".into()]).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].group_type, listed[0].state),
        ("consumer", "Stable")
    );
    assert!(h
        .c
        .list_groups(&[], &["classic".into()])
        .unwrap()
        .is_empty());
    // It cannot be deleted while it has members.
    let (res, _) = h.c.delete_groups(h.now, &[G.into()]);
    assert_eq!(res[0].1, NON_EMPTY_GROUP);

    // A consumer heartbeat to a classic group with members.
    let out = h.c.join_group(
        h.now,
        3,
        JoinGroup {
            group_id: "classic".into(),
            ..join
        },
    );
    assert!(matches!(&out[..], [Output::Join(3, r)] if r.error_code == NONE));
    let mut req = h.request(&Client::new("x", &["t"]));
    req.group_id = "classic".into();
    let r = h.c.consumer_heartbeat(h.now, &req, &h.topics);
    assert_eq!(r.error_code, GROUP_ID_NOT_FOUND);
    assert_eq!(
        h.c.consumer_describe(h.now, "classic").unwrap_err().0,
        GROUP_ID_NOT_FOUND
    );

    // Once empty, a consumer group can become classic again.
    let mut leave = h.request(&a);
    leave.member_epoch = -1;
    h.send(&leave);
    let (res, _) = h.c.delete_groups(h.now, &[G.into()]);
    assert_eq!(res[0].1, NONE);
}

#[test]
fn offset_commits_check_member_epochs() {
    let mut h = H::new();
    let mut a = Client::new("a", &["t"]);
    h.beat(&mut a);
    let commit = |h: &mut H, member: &str, epoch: i32, v: i16| {
        h.c.validate_offset_commit(h.now, G, member, epoch, None, v)
            .0
    };
    assert_eq!(commit(&mut h, "a", a.epoch, 9), Ok(()));
    assert_eq!(commit(&mut h, "a", a.epoch - 1, 9), Err(STALE_MEMBER_EPOCH));
    assert_eq!(commit(&mut h, "a", a.epoch, 8), Err(UNSUPPORTED_VERSION));
    assert_eq!(commit(&mut h, "zz", a.epoch, 9), Err(UNKNOWN_MEMBER_ID));
    // Admin commits only to a group without members.
    assert_eq!(commit(&mut h, "", -1, 9), Err(UNKNOWN_MEMBER_ID));
    assert_eq!(
        h.c.validate_offset_fetch(h.now, G, "a", a.epoch - 1),
        Err(STALE_MEMBER_EPOCH)
    );
    assert_eq!(h.c.validate_offset_fetch(h.now, G, "", -1), Ok(()));
    assert_eq!(h.c.validate_offset_fetch(h.now, G, "a", a.epoch), Ok(()));
    let mut leave = h.request(&a);
    leave.member_epoch = -1;
    h.send(&leave);
    assert_eq!(commit(&mut h, "", -1, 9), Ok(()));
}

/// Random joins, leaves, silences and heartbeats: no partition ever has two owners
/// (checked after every request), and once everyone heartbeats the group settles with
/// every partition assigned and the members balanced.
#[test]
fn random_traffic_keeps_ownership_exclusive_and_settles() {
    let mut seed: u64 = 0x5eed_1234_abcd_9876;
    let mut rand = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for _run in 0..20 {
        let mut h = H::new();
        h.topics.insert("u".into(), (tid("u"), 5));
        let mut clients: Vec<Client> = Vec::new();
        let mut next = 0;
        for _ in 0..200 {
            match rand(10) {
                0 | 1 if clients.len() < 6 => {
                    next += 1;
                    clients.push(Client::new(&format!("m{next}"), &["t", "u"]));
                }
                2 if !clients.is_empty() => {
                    let i = rand(clients.len() as u64) as usize;
                    let mut req = h.request(&clients[i]);
                    req.member_epoch = -1;
                    h.send(&req);
                    clients.remove(i);
                }
                _ if !clients.is_empty() => {
                    let i = rand(clients.len() as u64) as usize;
                    let mut cl = clients[i].clone();
                    h.beat(&mut cl);
                    clients[i] = cl;
                }
                _ => {}
            }
            h.now += rand(300);
        }
        if clients.is_empty() {
            continue;
        }
        h.settle(&mut clients);
        let total: usize = clients.iter().map(|c| c.count()).sum();
        assert_eq!(total, 11);
        let max = clients.iter().map(|c| c.count()).max().unwrap();
        let min = clients.iter().map(|c| c.count()).min().unwrap();
        assert!(max - min <= 1, "unbalanced: {clients:?}");
    }
}

/// A static member told to revoke that leaves with -2 frees those partitions at once and
/// is not fenced at its rebalance timeout while away (review finding).
#[test]
fn static_leave_frees_partitions_pending_revocation() {
    let mut h = H::new();
    let mut a = Client::new("a", &["t"]);
    a.instance = Some("ia".into());
    h.beat(&mut a);
    let mut b = Client::new("b", &["t"]);
    h.beat(&mut b);
    let mut req = h.request(&a);
    req.owned = Some(owned_list(&a.owned));
    h.send(&req); // a: told to give three up, still owns six
    let mut leave = h.request(&a);
    leave.member_epoch = -2;
    h.send(&leave);
    h.beat(&mut b);
    assert_eq!(b.count(), 3, "b gets what a was giving up");
    h.now += 30_001;
    h.beat(&mut b);
    h.c.tick(h.now);
    assert!(h.c.consumer_group(G).unwrap().member("a").is_some());
}

/// A static replacement whose member id belongs to another live member replaces that
/// member too, without leaving its partitions owned by nobody (review finding).
#[test]
fn static_replacement_onto_a_live_member_id_keeps_ownership_consistent() {
    let mut h = H::new();
    let mut a = Client::new("a", &["t"]);
    a.instance = Some("ia".into());
    let mut clients = [a, Client::new("b", &["t"])];
    h.settle(&mut clients);
    let [a, b] = clients;
    let mut leave = h.request(&a);
    leave.member_epoch = -2;
    h.send(&leave);
    let mut req = h.request(&b);
    req.member_epoch = 0;
    req.instance_id = Some("ia".into());
    req.owned = Some(vec![]);
    req.rebalance_timeout_ms = 30_000;
    req.subscribed_topic_names = Some(vec!["t".into()]);
    assert_eq!(h.send(&req).error_code, NONE); // send() checks the invariants
    let mut c = b.clone();
    c.epoch = 0;
    c.joined = false;
    c.owned.clear();
    c.instance = Some("ia".into());
    let mut clients = [c];
    h.settle(&mut clients);
    assert_eq!(clients[0].count(), 6);
}

/// Once its last member is gone, a group is subscribed to nothing: OffsetDelete works,
/// and commits from outside the group are accepted whatever member id they carry.
#[test]
fn an_empty_group_is_subscribed_to_nothing_and_takes_outside_commits() {
    let mut h = H::new();
    let mut a = Client::new("a", &["t"]);
    h.beat(&mut a);
    assert!(h.c.is_subscribed_to_topic(G, "t"));
    let mut leave = h.request(&a);
    leave.member_epoch = -1;
    h.send(&leave);
    assert_eq!(h.state(), Some(ConsumerGroupState::Empty));
    assert!(!h.c.is_subscribed_to_topic(G, "t"));
    let r =
        h.c.validate_offset_commit(h.now, G, "client-generated-id", -1, None, 9);
    assert_eq!(r.0, Ok(()));
}
