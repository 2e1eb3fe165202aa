//! Cluster metadata (topics and their configs, the cluster id) behind a narrow trait.
//!
//! `SledStore` is the durable implementation; `MemoryStore` serves tests. Every write
//! is durable when the call returns (sled is flushed), because callers acknowledge
//! clients right after.

mod memory;
mod sled_store;

use std::collections::BTreeMap;

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

/// The metadata operations the broker needs; nothing more.
pub trait MetadataStore: Send + Sync {
    fn put_topic(&self, topic: &TopicRecord) -> Result<(), MetaError>;
    fn remove_topic(&self, name: &str) -> Result<(), MetaError>;
    fn topics(&self) -> Result<Vec<TopicRecord>, MetaError>;
    /// Returns the stored cluster id, storing `candidate` first if there is none.
    fn cluster_id(&self, candidate: &str) -> Result<String, MetaError>;
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
    }

    #[test]
    fn memory_store() {
        exercise(&MemoryStore::default());
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
        assert_eq!(s.cluster_id("z").unwrap(), "x");
    }
}
