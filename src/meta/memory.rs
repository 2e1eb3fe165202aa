use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{
    AclRecord, CommittedOffset, GroupOffset, MetaError, MetadataStore, ScramRecord, TopicRecord,
    TxnRecord,
};

type OffsetKey = (String, String, i32);

/// In-memory store for tests.
#[derive(Default)]
pub struct MemoryStore {
    topics: Mutex<BTreeMap<String, TopicRecord>>,
    cluster_id: Mutex<Option<String>>,
    offsets: Mutex<BTreeMap<OffsetKey, CommittedOffset>>,
    next_producer_id: Mutex<i64>,
    transactions: Mutex<BTreeMap<String, TxnRecord>>,
    configs: Mutex<BTreeMap<String, BTreeMap<String, String>>>,
    scram: Mutex<BTreeMap<(String, String), ScramRecord>>,
    acls: Mutex<std::collections::BTreeSet<AclRecord>>,
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

    fn commit_offsets(&self, group: &str, offsets: &[GroupOffset]) -> Result<(), MetaError> {
        let mut o = self.offsets.lock().unwrap_or_else(|p| p.into_inner());
        for (t, p, c) in offsets {
            o.insert((group.to_string(), t.clone(), *p), c.clone());
        }
        Ok(())
    }
    fn group_offsets(&self, group: &str) -> Result<Vec<GroupOffset>, MetaError> {
        let o = self.offsets.lock().unwrap_or_else(|p| p.into_inner());
        Ok(o.iter()
            .filter(|((g, _, _), _)| g == group)
            .map(|((_, t, p), c)| (t.clone(), *p, c.clone()))
            .collect())
    }
    fn delete_offsets(
        &self,
        group: &str,
        partitions: Option<&[(String, i32)]>,
    ) -> Result<(), MetaError> {
        let mut o = self.offsets.lock().unwrap_or_else(|p| p.into_inner());
        o.retain(|(g, t, p), _| {
            g != group || partitions.is_some_and(|ps| !ps.iter().any(|(pt, pp)| pt == t && pp == p))
        });
        Ok(())
    }
    fn offset_groups(&self) -> Result<Vec<String>, MetaError> {
        let o = self.offsets.lock().unwrap_or_else(|p| p.into_inner());
        let mut gs: Vec<String> = o.keys().map(|(g, _, _)| g.clone()).collect();
        gs.dedup();
        Ok(gs)
    }
    fn allocate_producer_ids(&self, count: i64) -> Result<i64, MetaError> {
        let mut n = self
            .next_producer_id
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let first = *n;
        *n += count;
        Ok(first)
    }
    fn put_transaction(&self, txn: &TxnRecord) -> Result<(), MetaError> {
        let mut t = self.transactions.lock().unwrap_or_else(|p| p.into_inner());
        t.insert(txn.transactional_id.clone(), txn.clone());
        Ok(())
    }
    fn transactions(&self) -> Result<Vec<TxnRecord>, MetaError> {
        let t = self.transactions.lock().unwrap_or_else(|p| p.into_inner());
        Ok(t.values().cloned().collect())
    }
    fn put_configs(&self, key: &str, configs: &BTreeMap<String, String>) -> Result<(), MetaError> {
        let mut c = self.configs.lock().unwrap_or_else(|p| p.into_inner());
        if configs.is_empty() {
            c.remove(key);
        } else {
            c.insert(key.to_string(), configs.clone());
        }
        Ok(())
    }
    fn all_configs(&self) -> Result<Vec<super::ResourceConfigs>, MetaError> {
        let c = self.configs.lock().unwrap_or_else(|p| p.into_inner());
        Ok(c.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }
    fn alter_scram(
        &self,
        puts: &[ScramRecord],
        removes: &[(String, String)],
    ) -> Result<(), MetaError> {
        let mut c = self.scram.lock().unwrap_or_else(|p| p.into_inner());
        for r in puts {
            c.insert((r.user.clone(), r.mechanism.clone()), r.clone());
        }
        for k in removes {
            c.remove(k);
        }
        Ok(())
    }
    fn scram_records(&self) -> Result<Vec<ScramRecord>, MetaError> {
        let c = self.scram.lock().unwrap_or_else(|p| p.into_inner());
        Ok(c.values().cloned().collect())
    }

    fn alter_acls(&self, puts: &[AclRecord], removes: &[AclRecord]) -> Result<(), MetaError> {
        let mut a = self.acls.lock().unwrap_or_else(|p| p.into_inner());
        for r in removes {
            a.remove(r);
        }
        a.extend(puts.iter().cloned());
        Ok(())
    }

    fn acl_records(&self) -> Result<Vec<AclRecord>, MetaError> {
        let a = self.acls.lock().unwrap_or_else(|p| p.into_inner());
        Ok(a.iter().cloned().collect())
    }
}
