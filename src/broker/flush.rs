//! The `--fsync` policy. `always` uses group commit: producers that arrive while an
//! fsync runs share the next one.

use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{oneshot, Notify};

use crate::log::PartitionLog;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// Acknowledge a produce only after its data is fsynced.
    Always,
    /// fsync dirty partitions every so often in the background.
    Interval(Duration),
    /// Leave flushing to the OS (data still survives a broker crash, not a power cut).
    Never,
}

impl FromStr for FsyncPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "always" => Ok(FsyncPolicy::Always),
            "never" => Ok(FsyncPolicy::Never),
            _ => s
                .strip_prefix("interval:")
                .and_then(|ms| ms.parse::<u64>().ok())
                .filter(|&ms| ms > 0)
                .map(|ms| FsyncPolicy::Interval(Duration::from_millis(ms)))
                .ok_or_else(|| {
                    format!("invalid fsync policy {s:?}: expected always, never or interval:<ms>")
                }),
        }
    }
}

type Waiter = oneshot::Sender<Result<(), String>>;

#[derive(Default)]
struct Queue {
    logs: Vec<Arc<PartitionLog>>,
    waiters: Vec<Waiter>,
}

pub struct Flusher {
    pub policy: FsyncPolicy,
    queue: Mutex<Queue>,
    wake: Notify,
    /// `rill_fsync_duration_seconds`: each round's duration.
    rounds: Option<metrics::Histogram>,
}

impl Flusher {
    pub fn new(policy: FsyncPolicy) -> Flusher {
        Flusher {
            policy,
            queue: Mutex::new(Queue::default()),
            wake: Notify::new(),
            rounds: None,
        }
    }

    /// Records each fsync round's duration in `h`.
    pub fn with_histogram(mut self, h: metrics::Histogram) -> Flusher {
        self.rounds = Some(h);
        self
    }

    /// Records one fsync round (group commit, or a periodic flush) that took `d`.
    pub fn record_round(&self, d: Duration) {
        if let Some(h) = &self.rounds {
            h.record(d.as_secs_f64());
        }
    }

    /// Under `always`, waits until `log`'s appended data is on disk. Otherwise returns
    /// at once.
    pub async fn durable(&self, log: &Arc<PartitionLog>) -> Result<(), String> {
        if self.policy != FsyncPolicy::Always {
            return Ok(());
        }
        let (tx, rx) = oneshot::channel();
        {
            let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            if !q.logs.iter().any(|l| Arc::ptr_eq(l, log)) {
                q.logs.push(log.clone());
            }
            q.waiters.push(tx);
        }
        self.wake.notify_one();
        rx.await.unwrap_or_else(|_| Err("flusher stopped".into()))
    }

    /// The group-commit loop for `always`: one fsync round serves every waiter queued
    /// before it started.
    pub async fn run_group_commit(self: Arc<Self>) {
        loop {
            self.wake.notified().await;
            let batch = std::mem::take(&mut *self.queue.lock().unwrap_or_else(|p| p.into_inner()));
            if batch.waiters.is_empty() {
                continue;
            }
            let logs = batch.logs;
            let started = std::time::Instant::now();
            let res = tokio::task::spawn_blocking(move || flush_all(&logs))
                .await
                .unwrap_or_else(|e| Err(format!("fsync task failed: {e}")));
            self.record_round(started.elapsed());
            for w in batch.waiters {
                let _ = w.send(res.clone());
            }
        }
    }
}

/// At most this many fdatasyncs of one group-commit round run at once.
const PARALLEL_FSYNCS: usize = 16;

/// fdatasyncs every log of a round, several at once: the device merges concurrent
/// flushes, where one after another each pays a full round trip to the disk.
fn flush_all(logs: &[Arc<PartitionLog>]) -> Result<(), String> {
    let flush = |l: &Arc<PartitionLog>| l.flush().map_err(|e| format!("fsync failed: {e}"));
    if logs.len() <= 1 {
        return logs.iter().try_for_each(flush);
    }
    for chunk in logs.chunks(PARALLEL_FSYNCS) {
        std::thread::scope(|s| {
            let running: Vec<_> = chunk.iter().map(|l| s.spawn(move || flush(l))).collect();
            running.into_iter().try_for_each(|t| {
                t.join()
                    .unwrap_or_else(|_| Err("fsync thread panicked".to_string()))
            })
        })?;
    }
    Ok(())
}
