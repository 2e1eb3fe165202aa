use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{MetaError, MetadataStore, TopicRecord};

/// In-memory store for tests.
#[derive(Default)]
pub struct MemoryStore {
    topics: Mutex<BTreeMap<String, TopicRecord>>,
    cluster_id: Mutex<Option<String>>,
}

impl MetadataStore for MemoryStore {
    fn put_topic(&self, topic: &TopicRecord) -> Result<(), MetaError> {
        let mut t = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        t.insert(topic.name.clone(), topic.clone());
        Ok(())
    }
    fn remove_topic(&self, name: &str) -> Result<(), MetaError> {
        let mut t = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        t.remove(name);
        Ok(())
    }
    fn topics(&self) -> Result<Vec<TopicRecord>, MetaError> {
        let t = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        Ok(t.values().cloned().collect())
    }
    fn cluster_id(&self, candidate: &str) -> Result<String, MetaError> {
        let mut c = self.cluster_id.lock().unwrap_or_else(|p| p.into_inner());
        Ok(c.get_or_insert_with(|| candidate.to_string()).clone())
    }
}
