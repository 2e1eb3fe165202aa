//! Connection limits, as Kafka's `ConnectionQuotas` applies them: `max.connections` (the
//! acceptors wait for a slot), `max.connections.per.ip` with
//! `max.connections.per.ip.overrides` (a connection over its IP's limit is closed at
//! once). The limits are broker configs: startup flags or `--broker-config`, changed at
//! run time with AlterConfigs.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{watch, Notify};

use crate::broker::Broker;

#[derive(Debug, Default)]
pub struct Connections {
    live: AtomicUsize,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    freed: Notify,
}

/// A connection's place in the counts, given back when dropped.
pub struct Slot {
    limits: Arc<Connections>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.limits.live.fetch_sub(1, Ordering::AcqRel);
        let mut per_ip = self.limits.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                per_ip.remove(&self.ip);
            }
        }
        drop(per_ip);
        self.limits.freed.notify_waiters();
    }
}

fn limit(broker: &Broker, name: &str) -> usize {
    broker
        .broker_setting_i64(name)
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(usize::MAX)
}

/// The limit for `ip`: its override (`ip:limit,...`), else `max.connections.per.ip`.
fn ip_limit(broker: &Broker, ip: IpAddr) -> usize {
    let overrides = broker
        .broker_setting("max.connections.per.ip.overrides")
        .unwrap_or_default();
    overrides
        .split(',')
        .filter_map(|e| e.trim().rsplit_once(':'))
        .find(|(host, _)| host.trim().parse::<IpAddr>().ok() == Some(ip))
        .and_then(|(_, n)| n.trim().parse::<usize>().ok())
        .unwrap_or_else(|| limit(broker, "max.connections.per.ip"))
}

impl Connections {
    /// Waits until there are fewer than `max.connections` connections. False on shutdown.
    pub async fn wait_for_slot(&self, broker: &Broker, stop: &mut watch::Receiver<bool>) -> bool {
        let mut warned = false;
        loop {
            let max = limit(broker, "max.connections");
            if self.live.load(Ordering::Acquire) < max {
                return true;
            }
            if !warned {
                tracing::warn!(max, "max.connections reached: new connections wait");
                warned = true;
            }
            tokio::select! {
                _ = stop.changed() => return false,
                _ = self.freed.notified() => {}
                // (The limit may be raised with AlterConfigs.)
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
    }

    /// Counts a new connection from `ip`; `None` (and a log line) if its IP is at its
    /// limit.
    pub fn open(self: &Arc<Self>, broker: &Broker, ip: IpAddr) -> Option<Slot> {
        let max = ip_limit(broker, ip);
        let mut per_ip = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        let n = per_ip.entry(ip).or_insert(0);
        if *n >= max {
            tracing::info!(%ip, max, "closing connection: max.connections.per.ip reached for this address");
            if *n == 0 {
                per_ip.remove(&ip);
            }
            return None;
        }
        *n += 1;
        self.live.fetch_add(1, Ordering::AcqRel);
        Some(Slot {
            limits: self.clone(),
            ip,
        })
    }
}
