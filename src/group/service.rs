//! The async face of the coordinator: hands requests to the pure state machine under one
//! lock, routes its outputs to the waiting requests by `ReplyId`, and drives its timers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, Notify};

use super::*;

struct State {
    coordinator: GroupCoordinator,
    waiters: HashMap<ReplyId, oneshot::Sender<Output>>,
}

pub struct GroupService {
    state: Mutex<State>,
    next_reply: AtomicU64,
    /// Woken whenever the earliest deadline may have moved.
    timers_changed: Notify,
    epoch: Instant,
}

impl GroupService {
    pub fn new(config: CoordinatorConfig) -> GroupService {
        GroupService {
            state: Mutex::new(State {
                coordinator: GroupCoordinator::new(config),
                waiters: HashMap::new(),
            }),
            next_reply: AtomicU64::new(1),
            timers_changed: Notify::new(),
            epoch: Instant::now(),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn route(state: &mut State, outputs: Vec<Output>) {
        for out in outputs {
            if let Some(tx) = state.waiters.remove(&out.reply_id()) {
                // The requester may have gone (connection closed): nothing to do then.
                let _ = tx.send(out);
            }
        }
    }

    /// Runs `f` against the coordinator with a fresh reply id and waits for that reply.
    async fn call(
        &self,
        f: impl FnOnce(&mut GroupCoordinator, u64, ReplyId) -> Vec<Output>,
    ) -> Option<Output> {
        let id = self.next_reply.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut s = self.lock();
            s.waiters.insert(id, tx);
            let now = self.now_ms();
            let outputs = f(&mut s.coordinator, now, id);
            Self::route(&mut s, outputs);
        }
        self.timers_changed.notify_one();
        rx.await.ok()
    }

    pub async fn join(&self, req: JoinGroup) -> JoinResult {
        let member = req.member_id.clone();
        match self.call(|c, now, id| c.join_group(now, id, req)).await {
            Some(Output::Join(_, r)) => r,
            _ => JoinResult::error(member, COORDINATOR_NOT_AVAILABLE),
        }
    }

    pub async fn sync(&self, req: SyncGroup) -> SyncResult {
        match self.call(|c, now, id| c.sync_group(now, id, req)).await {
            Some(Output::Sync(_, r)) => r,
            _ => SyncResult::error(COORDINATOR_NOT_AVAILABLE),
        }
    }

    pub async fn heartbeat(&self, req: Heartbeat) -> GroupCode {
        match self.call(|c, now, id| c.heartbeat(now, id, req)).await {
            Some(Output::Heartbeat(_, code)) => code,
            _ => COORDINATOR_NOT_AVAILABLE,
        }
    }

    pub async fn leave(&self, req: LeaveGroup) -> LeaveResult {
        match self.call(|c, now, id| c.leave_group(now, id, req)).await {
            Some(Output::Leave(_, r)) => r,
            _ => LeaveResult {
                error_code: COORDINATOR_NOT_AVAILABLE,
                members: Vec::new(),
            },
        }
    }

    /// Runs a synchronous query or command (describe, list, delete, commit checks),
    /// routing any replies it produces.
    pub fn with<T>(&self, f: impl FnOnce(&mut GroupCoordinator, u64) -> (T, Vec<Output>)) -> T {
        let mut s = self.lock();
        let now = self.now_ms();
        let (value, outputs) = f(&mut s.coordinator, now);
        Self::route(&mut s, outputs);
        drop(s);
        self.timers_changed.notify_one();
        value
    }

    /// Answers every parked request and refuses new ones.
    pub fn shutdown(&self) {
        let mut s = self.lock();
        let outputs = s.coordinator.shutdown();
        Self::route(&mut s, outputs);
    }

    /// Fires the coordinator's timers (session expiry, rebalance timeouts, initial delay).
    pub async fn run_timers(&self) {
        loop {
            let notified = self.timers_changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let wait = {
                let mut s = self.lock();
                let now = self.now_ms();
                let outputs = s.coordinator.tick(now);
                Self::route(&mut s, outputs);
                s.coordinator
                    .next_deadline()
                    .map(|d| Duration::from_millis(d.saturating_sub(now)))
            };
            match wait {
                Some(d) => {
                    tokio::select! {
                        _ = &mut notified => {}
                        _ = tokio::time::sleep(d) => {}
                    }
                }
                None => notified.await,
            }
        }
    }
}
