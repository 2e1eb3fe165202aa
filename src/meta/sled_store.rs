use std::path::Path;

use super::{MetaError, MetadataStore, TopicRecord};

/// sled-backed store: tree `topics` keyed by name (JSON values), key `cluster_id` in the
/// default tree. Each write is flushed before returning.
pub struct SledStore {
    db: sled::Db,
    topics: sled::Tree,
}

impl SledStore {
    pub fn open(dir: &Path) -> Result<SledStore, MetaError> {
        let db = sled::Config::new()
            .path(dir)
            .flush_every_ms(Some(1000))
            .open()?;
        let topics = db.open_tree("topics")?;
        Ok(SledStore { db, topics })
    }
}

impl MetadataStore for SledStore {
    fn put_topic(&self, topic: &TopicRecord) -> Result<(), MetaError> {
        let value = serde_json::to_vec(topic).map_err(|e| MetaError::Corrupt {
            key: topic.name.clone(),
            reason: e.to_string(),
        })?;
        self.topics.insert(topic.name.as_bytes(), value)?;
        self.topics.flush()?;
        Ok(())
    }

    fn remove_topic(&self, name: &str) -> Result<(), MetaError> {
        self.topics.remove(name.as_bytes())?;
        self.topics.flush()?;
        Ok(())
    }

    fn topics(&self) -> Result<Vec<TopicRecord>, MetaError> {
        let mut out = Vec::new();
        for item in self.topics.iter() {
            let (k, v) = item?;
            let t: TopicRecord = serde_json::from_slice(&v).map_err(|e| MetaError::Corrupt {
                key: String::from_utf8_lossy(&k).into_owned(),
                reason: e.to_string(),
            })?;
            out.push(t);
        }
        Ok(out)
    }

    fn cluster_id(&self, candidate: &str) -> Result<String, MetaError> {
        let _ = self.db.compare_and_swap(
            "cluster_id",
            None as Option<&[u8]>,
            Some(candidate.as_bytes()),
        )?;
        self.db.flush()?;
        let v = self
            .db
            .get("cluster_id")?
            .ok_or_else(|| MetaError::Corrupt {
                key: "cluster_id".into(),
                reason: "missing after insert".into(),
            })?;
        Ok(String::from_utf8_lossy(&v).into_owned())
    }
}
