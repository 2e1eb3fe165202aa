//! The admin CLI: `rill topic`, `rill produce`, `rill consume`, `rill group` and
//! `rill cluster`, one file per family, all speaking to a broker (any Kafka broker, not
//! only Rill) through `crate::client`.
//!
//! Errors end the command with one line on stderr (`rill: ...`) and exit code 1; clap's
//! usage errors exit with 2.

pub mod cluster;
pub mod consume;
pub mod group;
pub(crate) mod member;
pub mod produce;
pub mod topic;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use thiserror::Error;

use crate::client::{ClientError, Cluster, TopicInfo};

/// Where the broker is; flattened into every admin command.
#[derive(Args, Debug, Clone)]
pub struct Connection {
    /// Broker to bootstrap from (host:port; several comma-separated).
    #[arg(
        long,
        short = 'b',
        env = "RILL_BOOTSTRAP",
        default_value = "localhost:9092"
    )]
    pub bootstrap: String,
    /// How long to wait for a connection or an answer (ms).
    #[arg(long, default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_ms: u64,
}

impl Connection {
    pub fn cluster(&self) -> Result<Cluster, AdminError> {
        Ok(Cluster::connect(
            &self.bootstrap,
            Duration::from_millis(self.request_timeout_ms),
        )?)
    }
}

#[derive(Debug, Error)]
pub enum AdminError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("{0}")]
    Failed(String),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// Parses `name=value` (the value may contain `=`; the name may not be empty).
pub fn parse_kv(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected name=value, got {s:?}")),
    }
}

/// Latest (-1) or earliest (-2) offsets, or the first offset at a timestamp, of some
/// partitions of `topic`, each asked of its leader.
pub fn offsets_at(
    cluster: &mut Cluster,
    topic: &TopicInfo,
    partitions: &[i32],
    timestamp: i64,
) -> Result<BTreeMap<i32, i64>, AdminError> {
    let mut by_leader: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    for &p in partitions {
        let info = topic
            .partitions
            .iter()
            .find(|i| i.index == p)
            .ok_or_else(|| {
                AdminError::Failed(format!("topic {} has no partition {p}", topic.name))
            })?;
        by_leader.entry(info.leader).or_default().push(p);
    }
    let mut out = BTreeMap::new();
    for (leader, parts) in by_leader {
        if leader < 0 {
            return Err(AdminError::Failed(format!(
                "topic {}: partitions {parts:?} have no leader",
                topic.name
            )));
        }
        let conn = cluster.broker(leader)?;
        out.extend(conn.list_offsets_of(&topic.name, &parts, timestamp)?);
    }
    Ok(out)
}

/// A flag set by Ctrl-C (SIGINT) or SIGTERM, for loops that should stop cleanly.
pub fn interrupted_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    let spawned = std::thread::Builder::new()
        .name("rill-signals".into())
        .spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                #[cfg(unix)]
                {
                    use tokio::signal::unix::{signal, SignalKind};
                    if let Ok(mut term) = signal(SignalKind::terminate()) {
                        tokio::select! {
                            _ = tokio::signal::ctrl_c() => {}
                            _ = term.recv() => {}
                        }
                        return;
                    }
                }
                let _ = tokio::signal::ctrl_c().await;
            });
            f.store(true, Ordering::SeqCst);
        });
    if spawned.is_err() {
        // Without the thread Ctrl-C kills the process, as it would anyway.
    }
    flag
}

/// Prints rows as left-aligned columns separated by two spaces.
pub fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == r.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[c]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_value_arguments() {
        assert_eq!(parse_kv("a=b"), Ok(("a".into(), "b".into())));
        assert_eq!(parse_kv("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert_eq!(parse_kv("a="), Ok(("a".into(), "".into())));
        assert!(parse_kv("=b").is_err());
        assert!(parse_kv("ab").is_err());
    }

    #[test]
    fn tables_align() {
        let t = table(&[
            vec!["A".into(), "BB".into(), "C".into()],
            vec!["aaa".into(), "b".into(), "c".into()],
        ]);
        assert_eq!(t, "A    BB  C\naaa  b   c\n");
    }
}
