//! Cluster metadata (topics and their configs, the cluster id) behind a narrow trait.
//!
//! `SledStore` is the durable implementation; `MemoryStore` serves tests. Every write
//! is durable when the call returns (sled is flushed), because callers acknowledge
//! clients right after.

mod memory;
mod sled_store;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use memory::MemoryStore;
pub use sled_store::SledStore;

#[derive(Debug, Error)]
pub enum MetaError {
    #[error("metadata store error: {0}")]
    Store(#[from] sled::Error),
    #[error("corrupt metadata record {key}: {reason}")]
    Corrupt { key: String, reason: String },
}

/// Where a topic is in its life; a crash mid-change is finished on restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TopicState {
    /// Written before the partition directories are created.
    Creating,
    Ready,
    /// Written before the partition directories are removed.
    Deleting,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicRecord {
    pub name: String,
    pub id: [u8; 16],
    pub partitions: i32,
    pub configs: BTreeMap<String, String>,
    pub state: TopicState,
}

/// A consumer group's committed position in one partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommittedOffset {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: Option<String>,
    pub commit_timestamp: i64,
    /// When the commit may be dropped (OffsetCommit v2-4 retention); None = never.
    pub expire_timestamp: Option<i64>,
}

/// (topic, partition, offset) as stored for a group.
pub type GroupOffset = (String, i32, CommittedOffset);

/// Where a transaction is (Kafka's `TransactionState`, with its names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TxnState {
    Empty,
    Ongoing,
    PrepareCommit,
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
    Dead,
    PrepareEpochFence,
}

impl TxnState {
    pub const ALL: [TxnState; 8] = [
        TxnState::Empty,
        TxnState::Ongoing,
        TxnState::PrepareCommit,
        TxnState::PrepareAbort,
        TxnState::CompleteCommit,
        TxnState::CompleteAbort,
        TxnState::Dead,
        TxnState::PrepareEpochFence,
    ];

    /// The name Kafka's admin APIs use.
    pub fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
            TxnState::Dead => "Dead",
            TxnState::PrepareEpochFence => "PrepareEpochFence",
        }
    }
}

/// An offset staged by TxnOffsetCommit: (group, topic, partition, offset).
pub type TxnOffset = (String, String, i32, CommittedOffset);

/// One transactional id's state, as the transaction coordinator keeps it (Kafka's
/// transaction log record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnRecord {
    pub transactional_id: String,
    pub producer_id: i64,
    /// The previous producer id, when the epoch ran out and a new id was handed out.
    pub last_producer_id: i64,
    pub epoch: i16,
    /// The epoch before the last bump (-1: none), so a retried InitProducerId is known.
    pub last_epoch: i16,
    pub timeout_ms: i32,
    pub state: TxnState,
    /// Partitions added to the open transaction.
    pub partitions: BTreeSet<(String, i32)>,
    /// Groups added with AddOffsetsToTxn.
    pub groups: BTreeSet<String>,
    /// Offsets staged by TxnOffsetCommit, applied to the groups on commit.
    pub pending_offsets: Vec<TxnOffset>,
    /// When the open transaction started (-1: none).
    pub start_ms: i64,
    pub update_ms: i64,
    /// Transactions V2 (KIP-890): the transaction was ended with EndTxn v5+, so every
    /// end bumps the epoch.
    #[serde(default)]
    pub tv2: bool,
    /// The (producer id, epoch) the markers of a prepared transaction carry when they
    /// differ from the record's (a V2 end that ran out of epochs and rotated the id).
    #[serde(default)]
    pub marker: Option<(i64, i16)>,
}

/// One user's SCRAM credential for one mechanism (Kafka's `UserScramCredentialRecord`):
/// the salt, the iteration count and the two derived keys, never the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScramRecord {
    pub user: String,
    /// `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    pub mechanism: String,
    pub salt: Vec<u8>,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
    pub iterations: u32,
}

/// One ACL binding as stored (Kafka's `AccessControlEntryRecord`), with Kafka's numeric
/// codes for the resource type, pattern type, operation and permission.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AclRecord {
    pub resource_type: i8,
    pub resource_name: String,
    pub pattern_type: i8,
    /// `User:alice`, `User:*`.
    pub principal: String,
    /// `*` or an IP address.
    pub host: String,
    pub operation: i8,
    pub permission: i8,
}

/// A resource's dynamic configs, keyed as `MetadataStore::put_configs` stores them.
pub type ResourceConfigs = (String, BTreeMap<String, String>);

/// The metadata operations the broker needs; nothing more.
pub trait MetadataStore: Send + Sync {
    fn put_topic(&self, topic: &TopicRecord) -> Result<(), MetaError>;
    fn remove_topic(&self, name: &str) -> Result<(), MetaError>;
    fn topics(&self) -> Result<Vec<TopicRecord>, MetaError>;
    /// Returns the stored cluster id, storing `candidate` first if there is none.
    fn cluster_id(&self, candidate: &str) -> Result<String, MetaError>;
    /// Stores commits atomically and durably (survives kill -9 once this returns).
    fn commit_offsets(&self, group: &str, offsets: &[GroupOffset]) -> Result<(), MetaError>;
    /// Every committed offset of `group`, sorted by topic and partition.
    fn group_offsets(&self, group: &str) -> Result<Vec<GroupOffset>, MetaError>;
    /// Removes the given partitions' commits (all of the group's when `partitions` is None).
    fn delete_offsets(
        &self,
        group: &str,
        partitions: Option<&[(String, i32)]>,
    ) -> Result<(), MetaError>;
    /// Groups that have at least one committed offset.
    fn offset_groups(&self) -> Result<Vec<String>, MetaError>;
    /// Reserves `count` producer ids durably and returns the first; ids are never
    /// handed out twice, across restarts included.
    fn allocate_producer_ids(&self, count: i64) -> Result<i64, MetaError>;
    /// Stores a transactional id's state durably.
    fn put_transaction(&self, txn: &TxnRecord) -> Result<(), MetaError>;
    /// Every stored transactional id's state.
    fn transactions(&self) -> Result<Vec<TxnRecord>, MetaError>;
    /// Stores the dynamic configs of a non-topic resource (`broker:<id>`, `broker:` for
    /// the cluster default, `group:<id>`); an empty map removes the entry.
    fn put_configs(&self, key: &str, configs: &BTreeMap<String, String>) -> Result<(), MetaError>;
    /// Every stored resource's dynamic configs, by key.
    fn all_configs(&self) -> Result<Vec<ResourceConfigs>, MetaError>;
    /// Stores `puts` and removes the (user, mechanism) credentials of `removes`, all or
    /// nothing, durably.
    fn alter_scram(
        &self,
        puts: &[ScramRecord],
        removes: &[(String, String)],
    ) -> Result<(), MetaError>;
    /// Every stored SCRAM credential, sorted by user and mechanism.
    fn scram_records(&self) -> Result<Vec<ScramRecord>, MetaError>;
    /// Stores `puts` and removes `removes` (ACL bindings), all or nothing, durably.
    fn alter_acls(&self, puts: &[AclRecord], removes: &[AclRecord]) -> Result<(), MetaError>;
    /// Every stored ACL binding, sorted.
    fn acl_records(&self) -> Result<Vec<AclRecord>, MetaError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(name: &str) -> TopicRecord {
        TopicRecord {
            name: name.into(),
            id: [7; 16],
            partitions: 3,
            configs: BTreeMap::from([("cleanup.policy".into(), "delete".into())]),
            state: TopicState::Ready,
        }
    }

    fn exercise(store: &dyn MetadataStore) {
        store.put_topic(&topic("a")).unwrap();
        store.put_topic(&topic("b")).unwrap();
        let mut b = topic("b");
        b.state = TopicState::Deleting;
        store.put_topic(&b).unwrap();
        let all = store.topics().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1], b);
        store.remove_topic("a").unwrap();
        assert_eq!(store.topics().unwrap(), vec![b]);
        assert_eq!(store.cluster_id("x").unwrap(), "x");
        assert_eq!(store.cluster_id("y").unwrap(), "x");

        let off = |o: i64| CommittedOffset {
            offset: o,
            leader_epoch: -1,
            metadata: Some(format!("m{o}")),
            commit_timestamp: 1,
            expire_timestamp: None,
        };
        store
            .commit_offsets(
                "g1",
                &[
                    ("t".into(), 1, off(5)),
                    ("t".into(), 0, off(3)),
                    ("a".into(), 0, off(1)),
                ],
            )
            .unwrap();
        store
            .commit_offsets("g10", &[("t".into(), 0, off(9))])
            .unwrap();
        store
            .commit_offsets("g1", &[("t".into(), 0, off(4))])
            .unwrap();
        let g1 = store.group_offsets("g1").unwrap();
        assert_eq!(
            g1,
            vec![
                ("a".into(), 0, off(1)),
                ("t".into(), 0, off(4)),
                ("t".into(), 1, off(5))
            ]
        );
        assert_eq!(
            store.offset_groups().unwrap(),
            vec!["g1".to_string(), "g10".to_string()]
        );
        store
            .delete_offsets("g1", Some(&[("t".into(), 0)]))
            .unwrap();
        assert_eq!(store.group_offsets("g1").unwrap().len(), 2);
        store.delete_offsets("g1", None).unwrap();
        assert!(store.group_offsets("g1").unwrap().is_empty());
        assert_eq!(store.group_offsets("g10").unwrap().len(), 1);
        assert_eq!(store.allocate_producer_ids(1000).unwrap(), 0);
        assert_eq!(store.allocate_producer_ids(10).unwrap(), 1000);
        let mut txn = TxnRecord {
            transactional_id: "tx".into(),
            producer_id: 4,
            last_producer_id: -1,
            epoch: 2,
            last_epoch: 1,
            timeout_ms: 60_000,
            state: TxnState::Ongoing,
            partitions: BTreeSet::from([("t".into(), 0)]),
            groups: BTreeSet::from(["g".into()]),
            pending_offsets: vec![("g".into(), "t".into(), 0, off(7))],
            start_ms: 5,
            update_ms: 6,
            tv2: true,
            marker: None,
        };
        store.put_transaction(&txn).unwrap();
        txn.state = TxnState::CompleteCommit;
        store.put_transaction(&txn).unwrap();
        assert_eq!(store.transactions().unwrap(), vec![txn]);
        let cfg = BTreeMap::from([("log.retention.hours".to_string(), "1".to_string())]);
        store.put_configs("broker:", &cfg).unwrap();
        store.put_configs("group:g", &cfg).unwrap();
        store.put_configs("group:g", &BTreeMap::new()).unwrap();
        assert_eq!(
            store.all_configs().unwrap(),
            vec![("broker:".to_string(), cfg)]
        );
        let rec = |user: &str, mech: &str, i: u32| ScramRecord {
            user: user.into(),
            mechanism: mech.into(),
            salt: vec![1, 2],
            stored_key: vec![3],
            server_key: vec![4],
            iterations: i,
        };
        store
            .alter_scram(
                &[
                    rec("bob", "SCRAM-SHA-512", 4096),
                    rec("alice", "SCRAM-SHA-256", 4096),
                    rec("alice", "SCRAM-SHA-512", 4096),
                ],
                &[],
            )
            .unwrap();
        store
            .alter_scram(
                &[rec("alice", "SCRAM-SHA-256", 8192)],
                &[("alice".into(), "SCRAM-SHA-512".into())],
            )
            .unwrap();
        assert_eq!(
            store.scram_records().unwrap(),
            vec![
                rec("alice", "SCRAM-SHA-256", 8192),
                rec("bob", "SCRAM-SHA-512", 4096)
            ]
        );
        let acl = |name: &str, op: i8| AclRecord {
            resource_type: 2,
            resource_name: name.into(),
            pattern_type: 3,
            principal: "User:alice".into(),
            host: "*".into(),
            operation: op,
            permission: 3,
        };
        store
            .alter_acls(&[acl("t", 3), acl("t", 4), acl("a", 3)], &[])
            .unwrap();
        store.alter_acls(&[acl("b", 3)], &[acl("t", 4)]).unwrap();
        assert_eq!(
            store.acl_records().unwrap(),
            vec![acl("a", 3), acl("b", 3), acl("t", 3)]
        );
    }

    #[test]
    fn memory_store() {
        exercise(&MemoryStore::default());
    }

    #[test]
    fn a_second_open_of_a_live_store_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let _first = SledStore::open(dir.path()).unwrap();
        assert!(SledStore::open(dir.path()).is_err());
    }

    #[test]
    fn sled_store_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = SledStore::open(dir.path()).unwrap();
            exercise(&s);
        }
        let s = SledStore::open(dir.path()).unwrap();
        assert_eq!(s.topics().unwrap().len(), 1);
        assert_eq!(s.group_offsets("g10").unwrap()[0].2.offset, 9);
        assert_eq!(s.cluster_id("z").unwrap(), "x");
        assert_eq!(s.allocate_producer_ids(5).unwrap(), 1010);
        assert_eq!(s.transactions().unwrap()[0].state, TxnState::CompleteCommit);
        assert_eq!(s.all_configs().unwrap().len(), 1);
        assert_eq!(s.scram_records().unwrap().len(), 2);
        assert_eq!(s.acl_records().unwrap().len(), 3);
    }
}
