//! The transaction coordinator without sockets: state transitions, fencing, timeouts,
//! recovery, and random traffic checked against invariants.

use std::collections::{BTreeSet, HashMap};

use super::*;
use crate::meta::{CommittedOffset, TxnRecord, TxnState};

struct H {
    c: TxnCoordinator,
    now: i64,
    next_pid: i64,
}

impl H {
    fn new() -> H {
        H {
            c: TxnCoordinator::new(TxnConfig::default(), Vec::new()).0,
            now: 1_000_000,
            next_pid: 100,
        }
    }

    fn init(&mut self, id: &str, expected: Option<(i64, i16)>) -> Result<Init, TxnError> {
        let mut next = self.next_pid;
        let r = self
            .c
            .init_producer_id(self.now, id, 60_000, expected, &mut || {
                next += 1;
                next
            });
        self.next_pid = next;
        r
    }

    /// InitProducerId until it is ready, finishing any abort it asks for.
    fn init_ready(&mut self, id: &str, expected: Option<(i64, i16)>) -> (i64, i16) {
        loop {
            match self.init(id, expected).expect("init") {
                Init::Ready {
                    producer_id, epoch, ..
                } => return (producer_id, epoch),
                Init::AbortFirst(c) => {
                    assert!(!c.commit);
                    self.c.complete(self.now, id).expect("prepared");
                }
            }
        }
    }

    fn add(
        &mut self,
        id: &str,
        pid: i64,
        epoch: i16,
        parts: &[(&str, i32)],
    ) -> Result<(), TxnError> {
        let parts: Vec<_> = parts.iter().map(|(t, p)| (t.to_string(), *p)).collect();
        self.c
            .add_partitions(self.now, id, pid, epoch, &parts)
            .map(|_| ())
    }

    fn end(
        &mut self,
        id: &str,
        pid: i64,
        epoch: i16,
        commit: bool,
    ) -> Result<Option<Completion>, TxnError> {
        match self
            .c
            .end_txn(self.now, id, pid, epoch, commit, false, &mut || -1)?
        {
            End::AlreadyDone { .. } => Ok(None),
            End::Prepare(r, c) => {
                assert_eq!(
                    r.state,
                    if commit {
                        TxnState::PrepareCommit
                    } else {
                        TxnState::PrepareAbort
                    }
                );
                Ok(Some(c))
            }
        }
    }
}

fn off(o: i64) -> CommittedOffset {
    CommittedOffset {
        offset: o,
        leader_epoch: -1,
        metadata: None,
        commit_timestamp: 0,
        expire_timestamp: None,
    }
}

#[test]
fn commit_and_abort_round_trips() {
    let mut h = H::new();
    let (pid, e) = h.init_ready("tx", None);
    assert_eq!(e, 0);
    assert_eq!(h.c.get("tx").unwrap().state, TxnState::Empty);
    // Nothing to end yet.
    assert!(matches!(
        h.end("tx", pid, e, true),
        Err(TxnError::InvalidTxnState(_))
    ));
    h.add("tx", pid, e, &[("a", 0), ("b", 1)]).unwrap();
    assert_eq!(h.c.get("tx").unwrap().state, TxnState::Ongoing);
    assert!(h.c.verify(pid, e, "a", 0).is_ok());
    assert!(matches!(
        h.c.verify(pid, e, "a", 1),
        Err(TxnError::InvalidTxnState(_))
    ));
    h.c.add_offsets(h.now, "tx", pid, e, "g").unwrap();
    h.c.stage_offsets(
        h.now,
        "tx",
        pid,
        e,
        "g",
        vec![("in".into(), 0, off(7))],
        false,
    )
    .unwrap();
    assert_eq!(h.c.pending_offsets("g"), BTreeSet::from([("in".into(), 0)]));
    let c = h.end("tx", pid, e, true).unwrap().unwrap();
    assert_eq!(c.partitions, vec![("a".into(), 0), ("b".into(), 1)]);
    assert_eq!(c.offsets.len(), 1);
    // Prepared: a second EndTxn commit waits, an abort is refused.
    assert_eq!(
        h.end("tx", pid, e, true),
        Err(TxnError::ConcurrentTransactions)
    );
    assert!(matches!(
        h.end("tx", pid, e, false),
        Err(TxnError::InvalidTxnState(_))
    ));
    let done = h.c.complete(h.now, "tx").unwrap();
    assert_eq!(done.state, TxnState::CompleteCommit);
    assert!(done.partitions.is_empty() && done.pending_offsets.is_empty());
    assert!(h.c.pending_offsets("g").is_empty());
    // A retried commit is fine; an abort of a committed transaction is not.
    assert_eq!(h.end("tx", pid, e, true), Ok(None));
    assert!(matches!(
        h.end("tx", pid, e, false),
        Err(TxnError::InvalidTxnState(_))
    ));
    // The next transaction; aborted offsets never reach the group.
    h.add("tx", pid, e, &[("a", 0)]).unwrap();
    h.c.add_offsets(h.now, "tx", pid, e, "g").unwrap();
    h.c.stage_offsets(
        h.now,
        "tx",
        pid,
        e,
        "g",
        vec![("in".into(), 0, off(9))],
        false,
    )
    .unwrap();
    let c = h.end("tx", pid, e, false).unwrap().unwrap();
    assert!(!c.commit && c.offsets.is_empty());
    h.c.complete(h.now, "tx").unwrap();
    assert_eq!(h.c.get("tx").unwrap().state, TxnState::CompleteAbort);
}

#[test]
fn bad_requests_get_kafkas_errors() {
    let mut h = H::new();
    assert!(matches!(h.init("", None), Err(TxnError::InvalidRequest(_))));
    let mut z = || 1;
    for t in [0, -5, DEFAULT_MAX_TIMEOUT_MS + 1] {
        assert_eq!(
            h.c.init_producer_id(h.now, "tx", t, None, &mut z),
            Err(TxnError::InvalidTimeout(t))
        );
    }
    let (pid, e) = h.init_ready("tx", None);
    // Unknown transactional id, wrong producer id, wrong epoch.
    assert!(matches!(
        h.add("nope", pid, e, &[("a", 0)]),
        Err(TxnError::InvalidProducerIdMapping(_))
    ));
    assert!(matches!(
        h.add("tx", pid + 1, e, &[("a", 0)]),
        Err(TxnError::InvalidProducerIdMapping(_))
    ));
    assert_eq!(
        h.add("tx", pid, e + 1, &[("a", 0)]),
        Err(TxnError::ProducerFenced)
    );
    assert!(matches!(
        h.end("nope", pid, e, true),
        Err(TxnError::InvalidProducerIdMapping(_))
    ));
    // Offsets for a group that was not added.
    h.add("tx", pid, e, &[("a", 0)]).unwrap();
    assert!(matches!(
        h.c.stage_offsets(
            h.now,
            "tx",
            pid,
            e,
            "g",
            vec![("in".into(), 0, off(1))],
            false
        ),
        Err(TxnError::InvalidTxnState(_))
    ));
    // A producer with no transaction.
    assert!(matches!(
        h.c.verify(999, 0, "a", 0),
        Err(TxnError::InvalidTxnState(_))
    ));
}

#[test]
fn a_new_producer_fences_the_old_one_and_aborts_its_transaction() {
    let mut h = H::new();
    let (pid, e0) = h.init_ready("tx", None);
    h.add("tx", pid, e0, &[("a", 0)]).unwrap();
    let abort = match h.init("tx", None).unwrap() {
        Init::AbortFirst(c) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (abort.producer_id, abort.epoch, abort.commit),
        (pid, e0 + 1, false)
    );
    assert_eq!(abort.partitions, vec![("a".into(), 0)]);
    // While the abort is under way everything else waits.
    assert_eq!(
        h.add("tx", pid, e0 + 1, &[("a", 0)]),
        Err(TxnError::ConcurrentTransactions)
    );
    h.c.complete(h.now, "tx").unwrap();
    let (pid2, e2) = h.init_ready("tx", None);
    assert_eq!((pid2, e2), (pid, e0 + 2));
    // The zombie is fenced everywhere.
    assert_eq!(
        h.add("tx", pid, e0, &[("a", 1)]),
        Err(TxnError::ProducerFenced)
    );
    assert_eq!(h.end("tx", pid, e0, true), Err(TxnError::ProducerFenced));
    assert_eq!(
        h.c.verify(pid, e0, "a", 0),
        Err(TxnError::InvalidProducerEpoch {
            epoch: e0,
            current: e0 + 2
        })
    );
    assert!(matches!(
        h.init("tx", Some((pid, e0))),
        Err(TxnError::ProducerFenced)
    ));
    assert!(matches!(
        h.init("tx", Some((pid + 50, e2))),
        Err(TxnError::ProducerFenced)
    ));
    // KIP-360: the current producer bumps its own epoch; a retry of that bump gets the
    // same epoch again.
    assert_eq!(h.init_ready("tx", Some((pid, e2))), (pid, e2 + 1));
    assert_eq!(h.init_ready("tx", Some((pid, e2))), (pid, e2 + 1));
}

#[test]
fn timed_out_transactions_are_aborted_with_a_bumped_epoch() {
    let mut h = H::new();
    let (pid, e) = h.init_ready("tx", None);
    h.add("tx", pid, e, &[("a", 0)]).unwrap();
    h.now += 59_000;
    assert!(h.c.expire(h.now).is_empty());
    h.now += 2_000;
    let expired = h.c.expire(h.now);
    assert_eq!(expired.len(), 1);
    let (rec, c) = &expired[0];
    assert_eq!(rec.state, TxnState::PrepareAbort);
    assert_eq!((c.epoch, c.commit), (e + 1, false));
    h.c.complete(h.now, "tx").unwrap();
    assert_eq!(h.end("tx", pid, e, true), Err(TxnError::ProducerFenced));
    // As in Kafka, the timed-out producer stays fenced; a new producer instance goes on.
    assert_eq!(h.init("tx", Some((pid, e))), Err(TxnError::ProducerFenced));
    assert_eq!(h.init_ready("tx", None), (pid, e + 2));
}

#[test]
fn an_exhausted_epoch_gets_a_new_producer_id() {
    let rec = TxnRecord {
        transactional_id: "tx".into(),
        producer_id: 7,
        last_producer_id: -1,
        epoch: i16::MAX - 1,
        last_epoch: i16::MAX - 2,
        timeout_ms: 1000,
        state: TxnState::CompleteCommit,
        partitions: BTreeSet::new(),
        groups: BTreeSet::new(),
        pending_offsets: Vec::new(),
        start_ms: -1,
        update_ms: 0,
        tv2: false,
        marker: None,
    };
    let (mut c, pending) = TxnCoordinator::new(TxnConfig::default(), vec![rec]);
    assert!(pending.is_empty());
    let r = c
        .init_producer_id(0, "tx", 1000, Some((7, i16::MAX - 1)), &mut || 8)
        .unwrap();
    match r {
        Init::Ready {
            producer_id,
            epoch,
            record,
        } => {
            assert_eq!((producer_id, epoch), (8, 0));
            assert_eq!(record.last_producer_id, 7);
        }
        other => panic!("{other:?}"),
    }
    // A retry from the old id with the exhausted epoch is still recognised.
    assert!(matches!(
        c.init_producer_id(0, "tx", 1000, Some((7, i16::MAX - 1)), &mut || 9),
        Ok(Init::Ready { .. })
    ));
}

#[test]
fn prepared_transactions_are_completed_after_a_restart() {
    let mut h = H::new();
    let (pid, e) = h.init_ready("tx", None);
    h.add("tx", pid, e, &[("a", 0)]).unwrap();
    h.c.add_offsets(h.now, "tx", pid, e, "g").unwrap();
    h.c.stage_offsets(
        h.now,
        "tx",
        pid,
        e,
        "g",
        vec![("in".into(), 0, off(3))],
        false,
    )
    .unwrap();
    let Ok(End::Prepare(prepared, _)) = h.c.end_txn(h.now, "tx", pid, e, true, false, &mut || -1)
    else {
        panic!("not prepared")
    };
    let (mut c, pending) = TxnCoordinator::new(TxnConfig::default(), vec![*prepared]);
    assert_eq!(pending.len(), 1);
    assert!(pending[0].commit);
    assert_eq!(pending[0].offsets.len(), 1);
    assert_eq!(c.complete(0, "tx").unwrap().state, TxnState::CompleteCommit);
}

#[test]
fn transactions_v2_bump_the_epoch_at_every_end() {
    let mut h = H::new();
    let (pid, e) = h.init_ready("tx", None);
    let mut fresh = || 500;
    // V2 may abort with nothing open: the epoch moves on.
    let Ok(End::Prepare(r, c)) = h.c.end_txn(h.now, "tx", pid, e, false, true, &mut fresh) else {
        panic!("abort of an empty V2 transaction")
    };
    assert!(c.partitions.is_empty());
    assert_eq!((r.producer_id, r.epoch), (pid, e + 1));
    h.c.complete(h.now, "tx").unwrap();
    // TxnOffsetCommit v5 adds its group; Produce v12's implicit add is AddPartitions.
    let e1 = e + 1;
    h.c.stage_offsets(
        h.now,
        "tx",
        pid,
        e1,
        "g",
        vec![("in".into(), 0, off(4))],
        true,
    )
    .unwrap();
    h.add("tx", pid, e1, &[("a", 0)]).unwrap();
    let Ok(End::Prepare(r, c)) = h.c.end_txn(h.now, "tx", pid, e1, true, true, &mut fresh) else {
        panic!("commit")
    };
    assert_eq!((c.producer_id, c.epoch, c.offsets.len()), (pid, e1 + 1, 1));
    assert_eq!((r.epoch, r.last_epoch), (e1 + 1, e1));
    h.c.complete(h.now, "tx").unwrap();
    // The old epoch may no longer write; a retry of the EndTxn is answered with the new one.
    assert!(h.c.verify(pid, e1, "a", 0).is_err());
    assert_eq!(
        h.c.end_txn(h.now, "tx", pid, e1, true, true, &mut fresh),
        Ok(End::AlreadyDone {
            producer_id: pid,
            epoch: e1 + 1
        })
    );
    // ... but a retry asking for the other outcome, or an older epoch, is fenced.
    assert_eq!(
        h.c.end_txn(h.now, "tx", pid, e1, false, true, &mut fresh),
        Err(TxnError::ProducerFenced)
    );
}

#[test]
fn transactions_v2_rotate_the_producer_id_when_epochs_run_out() {
    let rec = TxnRecord {
        transactional_id: "tx".into(),
        producer_id: 7,
        last_producer_id: -1,
        epoch: i16::MAX - 2,
        last_epoch: -1,
        timeout_ms: 60_000,
        state: TxnState::Ongoing,
        partitions: BTreeSet::from([("a".into(), 0)]),
        groups: BTreeSet::new(),
        pending_offsets: Vec::new(),
        start_ms: 0,
        update_ms: 0,
        tv2: true,
        marker: None,
    };
    let (mut c, _) = TxnCoordinator::new(TxnConfig::default(), vec![rec]);
    let Ok(End::Prepare(r, comp)) = c.end_txn(1, "tx", 7, i16::MAX - 2, true, true, &mut || 8)
    else {
        panic!("commit")
    };
    // Markers under the old id with the last epoch; the producer continues as id 8.
    assert_eq!((comp.producer_id, comp.epoch), (7, i16::MAX - 1));
    assert_eq!((r.producer_id, r.epoch, r.last_producer_id), (8, 0, 7));
    // A crash here: recovery writes the same markers.
    let (mut again, pending) = TxnCoordinator::new(TxnConfig::default(), vec![*r]);
    assert_eq!(
        (pending[0].producer_id, pending[0].epoch),
        (7, i16::MAX - 1)
    );
    let done = again.complete(2, "tx").unwrap();
    assert_eq!(done.marker, None);
    assert!(again.verify(8, 0, "a", 0).is_err());
    // The retry from the old id gets the new one.
    assert_eq!(
        again.end_txn(3, "tx", 7, i16::MAX - 2, true, true, &mut || 9),
        Ok(End::AlreadyDone {
            producer_id: 8,
            epoch: 0
        })
    );
}

#[test]
fn list_filters() {
    let mut h = H::new();
    let (p1, e1) = h.init_ready("one", None);
    let (p2, _) = h.init_ready("two", None);
    h.add("one", p1, e1, &[("a", 0)]).unwrap();
    h.now += 5_000;
    let all = |f: &ListFilter, h: &H| -> Vec<String> {
        h.c.list(h.now, f)
            .into_iter()
            .map(|r| r.transactional_id.clone())
            .collect()
    };
    let none = ListFilter {
        min_duration_ms: -1,
        ..ListFilter::default()
    };
    assert_eq!(all(&none, &h), vec!["one", "two"]);
    let ongoing = ListFilter {
        states: vec![TxnState::Ongoing],
        ..none.clone()
    };
    assert_eq!(all(&ongoing, &h), vec!["one"]);
    let by_pid = ListFilter {
        producer_ids: vec![p2],
        ..none.clone()
    };
    assert_eq!(all(&by_pid, &h), vec!["two"]);
    let long = ListFilter {
        min_duration_ms: 4_000,
        ..none.clone()
    };
    assert_eq!(all(&long, &h), vec!["one"]);
    let longer = ListFilter {
        min_duration_ms: 6_000,
        ..none
    };
    assert!(all(&longer, &h).is_empty());
}

/// A tiny deterministic generator (xorshift), so failures replay.
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn random_traffic_keeps_the_invariants() {
    for seed in 1..=20u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut h = H::new();
        let ids = ["a", "b", "c"];
        // What each client instance believes: (transactional id, producer id, epoch).
        let mut clients: Vec<(usize, i64, i16)> = Vec::new();
        let mut epochs: HashMap<String, (i64, i16)> = HashMap::new();
        for _ in 0..300 {
            h.now += rng.next(3_000) as i64;
            match rng.next(7) {
                0 => {
                    let i = rng.next(3) as usize;
                    if let Ok(Init::Ready {
                        producer_id, epoch, ..
                    }) = h.init(ids[i], None)
                    {
                        clients.push((i, producer_id, epoch));
                    } else if let Some(r) = h.c.get(ids[i]) {
                        if matches!(r.state, TxnState::PrepareAbort | TxnState::PrepareCommit) {
                            h.c.complete(h.now, ids[i]);
                        }
                    }
                }
                1 | 2 if !clients.is_empty() => {
                    let (i, pid, e) = clients[rng.next(clients.len() as u64) as usize];
                    let p = ("t", rng.next(4) as i32);
                    let _ = h.add(ids[i], pid, e, &[p]);
                }
                3 if !clients.is_empty() => {
                    let (i, pid, e) = clients[rng.next(clients.len() as u64) as usize];
                    let _ = h.c.add_offsets(h.now, ids[i], pid, e, "g");
                    let _ = h.c.stage_offsets(
                        h.now,
                        ids[i],
                        pid,
                        e,
                        "g",
                        vec![("t".into(), 0, off(1))],
                        rng.next(2) == 0,
                    );
                }
                4 if !clients.is_empty() => {
                    let k = rng.next(clients.len() as u64) as usize;
                    let (i, pid, e) = clients[k];
                    let commit = rng.next(2) == 0;
                    let tv2 = rng.next(2) == 0;
                    let mut next = h.next_pid;
                    let step = h.c.end_txn(h.now, ids[i], pid, e, commit, tv2, &mut || {
                        next += 1;
                        next
                    });
                    h.next_pid = next;
                    match step {
                        Ok(End::Prepare(r, c)) => {
                            // V1 markers carry the producer's epoch; V2 markers a bumped one,
                            // which the producer then uses.
                            let expected = if tv2 { e + 1 } else { e };
                            assert_eq!((c.producer_id, c.epoch), (pid, expected));
                            h.c.complete(h.now, ids[i]).expect("prepared");
                            clients[k] = (i, r.producer_id, r.epoch);
                        }
                        Ok(End::AlreadyDone { producer_id, epoch }) => {
                            clients[k] = (i, producer_id, epoch);
                        }
                        Err(_) => {}
                    }
                }
                5 => {
                    for (_, c) in h.c.expire(h.now) {
                        h.c.complete(h.now, &c.transactional_id).expect("prepared");
                    }
                }
                _ => {}
            }
            // Invariants.
            let mut pids = BTreeSet::new();
            for id in ids {
                let Some(r) = h.c.get(id) else { continue };
                assert!(pids.insert(r.producer_id), "producer id shared: {r:?}");
                let open = matches!(
                    r.state,
                    TxnState::Ongoing | TxnState::PrepareAbort | TxnState::PrepareCommit
                );
                assert!(
                    open || (r.partitions.is_empty()
                        && r.groups.is_empty()
                        && r.pending_offsets.is_empty()),
                    "{r:?}"
                );
                match r.state {
                    TxnState::Ongoing => assert!(r.start_ms >= 0, "{r:?}"),
                    TxnState::Empty => assert_eq!(r.start_ms, -1, "{r:?}"),
                    _ => {}
                }
                // Epochs only move forward for a producer id.
                if let Some(&(pid, e)) = epochs.get(id) {
                    if pid == r.producer_id {
                        assert!(r.epoch >= e, "epoch went back: {e} -> {}", r.epoch);
                    }
                }
                epochs.insert(id.to_string(), (r.producer_id, r.epoch));
                // Only the current epoch of an open transaction may write, and only to
                // its partitions.
                for p in 0..4 {
                    let ok = h.c.verify(r.producer_id, r.epoch, "t", p).is_ok();
                    assert_eq!(
                        ok,
                        r.state == TxnState::Ongoing
                            && r.partitions.contains(&("t".to_string(), p))
                    );
                    if r.epoch > 0 {
                        assert!(h.c.verify(r.producer_id, r.epoch - 1, "t", p).is_err());
                    }
                }
                if r.state == TxnState::Ongoing {
                    assert!(r.start_ms >= 0 && !(r.partitions.is_empty() && r.groups.is_empty()));
                }
            }
        }
    }
}
