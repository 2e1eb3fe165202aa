//! Committed offsets of consumer groups: the rules between the group handlers and the
//! metadata store (OffsetCommit v2–4 retention, transactional offsets still pending).

use std::collections::{BTreeMap, BTreeSet};

use super::Broker;
use crate::log::now_ms;
use crate::meta::{CommittedOffset, GroupOffset, MetaError};

/// One partition's committed position as OffsetFetch reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    At(CommittedOffset),
    /// Nothing committed (or the commit's retention ran out).
    Nothing,
    /// An open transaction has staged an offset here and the request asked for stable
    /// offsets only (`require_stable`).
    Unstable,
}

/// (topic, [(partition, committed)]), topics sorted by name.
pub type GroupOffsets = Vec<(String, Vec<(i32, Committed)>)>;

impl Broker {
    /// Stores commits atomically and durably (before the client is answered).
    pub fn commit_offsets(&self, group: &str, offsets: &[GroupOffset]) -> Result<(), MetaError> {
        self.meta.commit_offsets(group, offsets)
    }

    /// A group's committed offsets for the requested partitions (every committed one when
    /// `wanted` is `None`).
    pub async fn committed_offsets(
        &self,
        group: &str,
        wanted: Option<Vec<(String, Vec<i32>)>>,
        require_stable: bool,
    ) -> Result<GroupOffsets, MetaError> {
        let unstable: BTreeSet<(String, i32)> = if require_stable {
            self.txns.read().await.pending_offsets(group)
        } else {
            BTreeSet::new()
        };
        let now = now_ms();
        let mut by_topic: BTreeMap<String, BTreeMap<i32, CommittedOffset>> = BTreeMap::new();
        for (t, p, c) in self.meta.group_offsets(group)? {
            if c.expire_timestamp.is_none_or(|e| e > now) {
                by_topic.entry(t).or_default().insert(p, c);
            }
        }
        let view = |t: &str, p: i32, c: Option<&CommittedOffset>| {
            if unstable.contains(&(t.to_string(), p)) {
                Committed::Unstable
            } else {
                c.cloned().map_or(Committed::Nothing, Committed::At)
            }
        };
        Ok(match wanted {
            None => by_topic
                .iter()
                .map(|(t, ps)| {
                    let rows = ps.iter().map(|(p, c)| (*p, view(t, *p, Some(c)))).collect();
                    (t.clone(), rows)
                })
                .collect(),
            Some(list) => list
                .into_iter()
                .map(|(t, ps)| {
                    let stored = by_topic.get(&t);
                    let rows = ps
                        .into_iter()
                        .map(|p| (p, view(&t, p, stored.and_then(|s| s.get(&p)))))
                        .collect();
                    (t, rows)
                })
                .collect(),
        })
    }

    /// Removes the given partitions' commits (all of the group's when `None`).
    pub fn delete_offsets(
        &self,
        group: &str,
        partitions: Option<&[(String, i32)]>,
    ) -> Result<(), MetaError> {
        self.meta.delete_offsets(group, partitions)
    }

    /// A group's unexpired committed offsets as (topic, partition, offset), for the lag
    /// metrics (from the metadata store's in-memory tree; no transaction check).
    pub fn committed_for_lag(&self, group: &str) -> Result<Vec<(String, i32, i64)>, MetaError> {
        let now = now_ms();
        Ok(self
            .meta
            .group_offsets(group)?
            .into_iter()
            .filter(|(_, _, c)| c.expire_timestamp.is_none_or(|e| e > now))
            .map(|(t, p, c)| (t, p, c.offset))
            .collect())
    }

    /// Groups that have committed offsets.
    pub fn groups_with_offsets(&self) -> Result<Vec<String>, MetaError> {
        self.meta.offset_groups()
    }

    /// Whether `group` has any committed offset.
    pub fn has_offsets(&self, group: &str) -> bool {
        self.meta
            .group_offsets(group)
            .map(|o| !o.is_empty())
            .unwrap_or(false)
    }
}
