//! KIP-848 server-side assignors: `uniform` (balanced and sticky, Kafka's default) and
//! `range` (per topic, contiguous ranges in member-id order). Pure functions over topic ids.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

/// Partitions by topic id.
pub type Assignment = BTreeMap<Uuid, BTreeSet<i32>>;

/// `uniform`: every member within one partition of every other (for members with the
/// same subscription), keeping partitions where they are as far as balance allows.
pub const UNIFORM_ASSIGNOR: &str = "uniform";
/// `range`: for each topic, its partitions split into ranges over the members subscribed
/// to it, in member-id order (co-partitioned topics line up), sticky: a member keeps its
/// previous partitions up to its share.
pub const RANGE_ASSIGNOR: &str = "range";
/// `group.consumer.assignors`: the first is the default.
pub const ASSIGNORS: [&str; 2] = [UNIFORM_ASSIGNOR, RANGE_ASSIGNOR];

/// One member as an assignor sees it.
#[derive(Debug, Clone)]
pub struct AssignorMember<'a> {
    pub member_id: &'a str,
    /// Subscribed topics that exist (ids).
    pub topics: BTreeSet<Uuid>,
    /// The member's previous target assignment (for stickiness).
    pub current: &'a Assignment,
}

/// Computes the target assignment of every member. `partitions` holds the partition
/// count of every subscribed topic; `topic_order` sorts topics (by name) for determinism.
pub fn assign(
    assignor: &str,
    members: &[AssignorMember<'_>],
    partitions: &BTreeMap<Uuid, i32>,
    topic_order: &[Uuid],
) -> BTreeMap<String, Assignment> {
    if assignor == RANGE_ASSIGNOR {
        range(members, partitions, topic_order)
    } else {
        uniform(members, partitions, topic_order)
    }
}

fn range(
    members: &[AssignorMember<'_>],
    partitions: &BTreeMap<Uuid, i32>,
    topic_order: &[Uuid],
) -> BTreeMap<String, Assignment> {
    let mut out: BTreeMap<String, Assignment> = members
        .iter()
        .map(|m| (m.member_id.to_string(), Assignment::new()))
        .collect();
    for topic in topic_order {
        let Some(&count) = partitions.get(topic) else {
            continue;
        };
        let mut subscribers: Vec<&AssignorMember<'_>> = members
            .iter()
            .filter(|m| m.topics.contains(topic))
            .collect();
        if subscribers.is_empty() || count <= 0 {
            continue;
        }
        subscribers.sort_unstable_by(|a, b| a.member_id.cmp(b.member_id));
        let n = subscribers.len() as i32;
        let (per, extra) = (count / n, count % n);
        let quota = |i: usize| (per + i32::from((i as i32) < extra)) as usize;
        // Sticky: each member keeps what it had, up to its quota (lowest first) ...
        let mut taken = BTreeSet::new();
        let mut got: Vec<BTreeSet<i32>> = vec![BTreeSet::new(); subscribers.len()];
        for (i, m) in subscribers.iter().enumerate() {
            let previous = m.current.get(topic).into_iter().flatten();
            for &p in previous.filter(|&&p| p >= 0 && p < count) {
                if got[i].len() < quota(i) && taken.insert(p) {
                    got[i].insert(p);
                }
            }
        }
        // ... and the rest go, lowest first, to members below quota in member-id order:
        // contiguous ranges when nobody had anything.
        let mut free = (0..count).filter(|p| !taken.contains(p));
        for (i, set) in got.iter_mut().enumerate() {
            while set.len() < quota(i) {
                match free.next() {
                    Some(p) => {
                        set.insert(p);
                    }
                    None => break,
                }
            }
        }
        for (m, set) in subscribers.iter().zip(got) {
            if !set.is_empty() {
                out.entry(m.member_id.to_string())
                    .or_default()
                    .insert(*topic, set);
            }
        }
    }
    out
}

fn uniform(
    members: &[AssignorMember<'_>],
    partitions: &BTreeMap<Uuid, i32>,
    topic_order: &[Uuid],
) -> BTreeMap<String, Assignment> {
    let mut sorted: Vec<&AssignorMember<'_>> = members.iter().collect();
    sorted.sort_unstable_by(|a, b| a.member_id.cmp(b.member_id));
    let index: BTreeMap<&str, usize> = sorted
        .iter()
        .enumerate()
        .map(|(i, m)| (m.member_id, i))
        .collect();
    let mut owned: Vec<Vec<(Uuid, i32)>> = vec![Vec::new(); sorted.len()];
    let mut taken: BTreeSet<(Uuid, i32)> = BTreeSet::new();

    // 1. Stickiness: keep what each member had, if still valid.
    for (i, m) in sorted.iter().enumerate() {
        for (topic, ps) in m.current {
            let Some(&count) = partitions.get(topic) else {
                continue;
            };
            if !m.topics.contains(topic) {
                continue;
            }
            for &p in ps {
                if p >= 0 && p < count && taken.insert((*topic, p)) {
                    owned[i].push((*topic, p));
                }
            }
        }
    }

    // 2. Every partition nobody kept goes to its least loaded subscriber.
    for topic in topic_order {
        let Some(&count) = partitions.get(topic) else {
            continue;
        };
        let subscribers: Vec<usize> = sorted
            .iter()
            .enumerate()
            .filter(|(_, m)| m.topics.contains(topic))
            .map(|(i, _)| i)
            .collect();
        if subscribers.is_empty() {
            continue;
        }
        for p in 0..count {
            if taken.contains(&(*topic, p)) {
                continue;
            }
            if let Some(&i) = subscribers.iter().min_by_key(|&&i| (owned[i].len(), i)) {
                owned[i].push((*topic, p));
                taken.insert((*topic, p));
            }
        }
    }

    // 3. Balance: move partitions from a member to a subscriber holding at least two fewer.
    let limit = taken.len() * sorted.len().max(1) + 1;
    for _ in 0..limit {
        let mut moved = false;
        let mut order: Vec<usize> = (0..sorted.len()).collect();
        order.sort_unstable_by_key(|&i| (std::cmp::Reverse(owned[i].len()), i));
        'outer: for &from in &order {
            // The most recently added partitions move first.
            for k in (0..owned[from].len()).rev() {
                let (topic, p) = owned[from][k];
                let target = sorted
                    .iter()
                    .enumerate()
                    .filter(|(j, m)| *j != from && m.topics.contains(&topic))
                    .map(|(j, _)| j)
                    .filter(|&j| owned[j].len() + 1 < owned[from].len())
                    .min_by_key(|&j| (owned[j].len(), j));
                if let Some(to) = target {
                    owned[from].remove(k);
                    owned[to].push((topic, p));
                    moved = true;
                    break 'outer;
                }
            }
        }
        if !moved {
            break;
        }
    }

    let mut out: BTreeMap<String, Assignment> = BTreeMap::new();
    for (member, i) in index {
        let mut a = Assignment::new();
        for &(topic, p) in &owned[i] {
            a.entry(topic).or_default().insert(p);
        }
        out.insert(member.to_string(), a);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(n: u8) -> Uuid {
        Uuid::from_bytes([n; 16])
    }

    fn count(a: &Assignment) -> usize {
        a.values().map(|s| s.len()).sum()
    }

    #[test]
    fn uniform_balances_and_sticks() {
        let t = topic(1);
        let parts = BTreeMap::from([(t, 6)]);
        let empty = Assignment::new();
        let subs = BTreeSet::from([t]);
        let one = [AssignorMember {
            member_id: "a",
            topics: subs.clone(),
            current: &empty,
        }];
        let first = assign(UNIFORM_ASSIGNOR, &one, &parts, &[t]);
        assert_eq!(count(&first["a"]), 6);

        let three = [
            AssignorMember {
                member_id: "a",
                topics: subs.clone(),
                current: &first["a"],
            },
            AssignorMember {
                member_id: "b",
                topics: subs.clone(),
                current: &empty,
            },
            AssignorMember {
                member_id: "c",
                topics: subs.clone(),
                current: &empty,
            },
        ];
        let second = assign(UNIFORM_ASSIGNOR, &three, &parts, &[t]);
        for m in ["a", "b", "c"] {
            assert_eq!(count(&second[m]), 2, "{m}: {second:?}");
        }
        // a keeps two of the partitions it had; everything is assigned exactly once.
        assert!(second["a"][&t].is_subset(&first["a"][&t]));
        let all: BTreeSet<i32> = second.values().flat_map(|a| a[&t].clone()).collect();
        assert_eq!(all, (0..6).collect());
    }

    #[test]
    fn uniform_respects_subscriptions() {
        let (t1, t2) = (topic(1), topic(2));
        let parts = BTreeMap::from([(t1, 4), (t2, 2)]);
        let empty = Assignment::new();
        let members = [
            AssignorMember {
                member_id: "a",
                topics: BTreeSet::from([t1]),
                current: &empty,
            },
            AssignorMember {
                member_id: "b",
                topics: BTreeSet::from([t1, t2]),
                current: &empty,
            },
        ];
        let out = assign(UNIFORM_ASSIGNOR, &members, &parts, &[t1, t2]);
        assert!(!out["a"].contains_key(&t2));
        assert_eq!(count(&out["a"]) + count(&out["b"]), 6);
        assert_eq!(count(&out["a"]), 3);
        assert_eq!(count(&out["b"]), 3);
    }

    #[test]
    fn range_keeps_previous_partitions_up_to_the_quota() {
        let t = topic(1);
        let parts = BTreeMap::from([(t, 6)]);
        let prev_b: Assignment = BTreeMap::from([(t, BTreeSet::from([0, 1, 2]))]);
        let prev_c: Assignment = BTreeMap::from([(t, BTreeSet::from([3, 4, 5]))]);
        let empty = Assignment::new();
        let subs = BTreeSet::from([t]);
        let members = [
            AssignorMember {
                member_id: "a",
                topics: subs.clone(),
                current: &empty,
            },
            AssignorMember {
                member_id: "b",
                topics: subs.clone(),
                current: &prev_b,
            },
            AssignorMember {
                member_id: "c",
                topics: subs.clone(),
                current: &prev_c,
            },
        ];
        let out = assign(RANGE_ASSIGNOR, &members, &parts, &[t]);
        assert_eq!(out["b"][&t], BTreeSet::from([0, 1]));
        assert_eq!(out["c"][&t], BTreeSet::from([3, 4]));
        assert_eq!(out["a"][&t], BTreeSet::from([2, 5]));
    }

    #[test]
    fn range_gives_contiguous_ranges_in_member_order() {
        let (t1, t2) = (topic(1), topic(2));
        let parts = BTreeMap::from([(t1, 5), (t2, 3)]);
        let empty = Assignment::new();
        let subs = BTreeSet::from([t1, t2]);
        let members = [
            AssignorMember {
                member_id: "b",
                topics: subs.clone(),
                current: &empty,
            },
            AssignorMember {
                member_id: "a",
                topics: subs.clone(),
                current: &empty,
            },
        ];
        let out = assign(RANGE_ASSIGNOR, &members, &parts, &[t1, t2]);
        assert_eq!(out["a"][&t1], BTreeSet::from([0, 1, 2]));
        assert_eq!(out["b"][&t1], BTreeSet::from([3, 4]));
        assert_eq!(out["a"][&t2], BTreeSet::from([0, 1]));
        assert_eq!(out["b"][&t2], BTreeSet::from([2]));
    }
}
