use std::collections::BTreeMap;
use std::path::Path;

use super::{
    AclRecord, CommittedOffset, GroupOffset, MetaError, MetadataStore, ScramRecord, TopicRecord,
    TxnRecord,
};

/// sled-backed store: tree `topics` keyed by name (JSON values), tree `offsets` keyed by
/// (group, topic, partition) as `u16 len | group | u16 len | topic | i32 partition`,
/// key `cluster_id` in the default tree, tree `configs` keyed by resource (`broker:1`,
/// `group:g`), tree `scram` keyed by (user, mechanism) like offsets' keys, tree `acls`
/// keyed by the binding's JSON (empty values). Each write is flushed before returning.
pub struct SledStore {
    db: sled::Db,
    topics: sled::Tree,
    offsets: sled::Tree,
    transactions: sled::Tree,
    configs: sled::Tree,
    scram: sled::Tree,
    acls: sled::Tree,
}

fn push_str(key: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    key.extend_from_slice(&(b.len().min(u16::MAX as usize) as u16).to_be_bytes());
    key.extend_from_slice(&b[..b.len().min(u16::MAX as usize)]);
}

fn group_prefix(group: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(group.len() + 2);
    push_str(&mut k, group);
    k
}

fn scram_key(user: &str, mechanism: &str) -> Vec<u8> {
    let mut k = group_prefix(user);
    push_str(&mut k, mechanism);
    k
}

fn offset_key(group: &str, topic: &str, partition: i32) -> Vec<u8> {
    let mut k = group_prefix(group);
    push_str(&mut k, topic);
    k.extend_from_slice(&partition.to_be_bytes());
    k
}

/// Splits a key into (group, topic, partition).
fn parse_offset_key(k: &[u8]) -> Option<(String, String, i32)> {
    let gl = u16::from_be_bytes([*k.first()?, *k.get(1)?]) as usize;
    let g = std::str::from_utf8(k.get(2..2 + gl)?).ok()?;
    let rest = k.get(2 + gl..)?;
    let tl = u16::from_be_bytes([*rest.first()?, *rest.get(1)?]) as usize;
    let t = std::str::from_utf8(rest.get(2..2 + tl)?).ok()?;
    let p = rest.get(2 + tl..2 + tl + 4)?;
    Some((
        g.to_string(),
        t.to_string(),
        i32::from_be_bytes([p[0], p[1], p[2], p[3]]),
    ))
}

/// sled reports a database locked by someone else as an `Other` error wrapping the
/// lock's `WouldBlock`.
fn lock_busy(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::WouldBlock || e.to_string().contains("could not acquire lock")
}

impl SledStore {
    pub fn open(dir: &Path) -> Result<SledStore, MetaError> {
        // sled's flusher thread can hold the database's file lock for a moment after the
        // previous handle in this process is dropped; another process holding it is
        // still refused after the retries.
        let mut attempts = 0;
        let db = loop {
            match sled::Config::new()
                .path(dir)
                .flush_every_ms(Some(1000))
                .open()
            {
                Err(sled::Error::Io(e)) if lock_busy(&e) && attempts < 40 => {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(25));
                }
                other => break other?,
            }
        };
        let topics = db.open_tree("topics")?;
        let offsets = db.open_tree("offsets")?;
        let transactions = db.open_tree("transactions")?;
        let configs = db.open_tree("configs")?;
        let scram = db.open_tree("scram")?;
        let acls = db.open_tree("acls")?;
        Ok(SledStore {
            db,
            topics,
            offsets,
            transactions,
            configs,
            scram,
            acls,
        })
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

    fn put_transaction(&self, txn: &TxnRecord) -> Result<(), MetaError> {
        let value = serde_json::to_vec(txn).map_err(|e| MetaError::Corrupt {
            key: txn.transactional_id.clone(),
            reason: e.to_string(),
        })?;
        self.transactions
            .insert(txn.transactional_id.as_bytes(), value)?;
        self.transactions.flush()?;
        Ok(())
    }

    fn transactions(&self) -> Result<Vec<TxnRecord>, MetaError> {
        let mut out = Vec::new();
        for item in self.transactions.iter() {
            let (k, v) = item?;
            out.push(serde_json::from_slice(&v).map_err(|e| MetaError::Corrupt {
                key: String::from_utf8_lossy(&k).into_owned(),
                reason: e.to_string(),
            })?);
        }
        Ok(out)
    }

    fn put_configs(&self, key: &str, configs: &BTreeMap<String, String>) -> Result<(), MetaError> {
        if configs.is_empty() {
            self.configs.remove(key.as_bytes())?;
        } else {
            let value = serde_json::to_vec(configs).map_err(|e| MetaError::Corrupt {
                key: key.to_string(),
                reason: e.to_string(),
            })?;
            self.configs.insert(key.as_bytes(), value)?;
        }
        self.configs.flush()?;
        Ok(())
    }

    fn all_configs(&self) -> Result<Vec<super::ResourceConfigs>, MetaError> {
        let mut out = Vec::new();
        for item in self.configs.iter() {
            let (k, v) = item?;
            let key = String::from_utf8_lossy(&k).into_owned();
            let map = serde_json::from_slice(&v).map_err(|e| MetaError::Corrupt {
                key: key.clone(),
                reason: e.to_string(),
            })?;
            out.push((key, map));
        }
        Ok(out)
    }

    fn allocate_producer_ids(&self, count: i64) -> Result<i64, MetaError> {
        const KEY: &str = "next_producer_id";
        let corrupt = || MetaError::Corrupt {
            key: KEY.into(),
            reason: "not an 8-byte integer".into(),
        };
        let mut first = 0;
        let mut bad = false;
        self.db.fetch_and_update(KEY, |old| {
            first = match old {
                None => 0,
                Some(b) => match <[u8; 8]>::try_from(b) {
                    Ok(a) => i64::from_be_bytes(a),
                    Err(_) => {
                        bad = true;
                        return old.map(|b| b.to_vec());
                    }
                },
            };
            Some((first + count).to_be_bytes().to_vec())
        })?;
        if bad {
            return Err(corrupt());
        }
        self.db.flush()?;
        Ok(first)
    }

    fn commit_offsets(&self, group: &str, offsets: &[GroupOffset]) -> Result<(), MetaError> {
        let mut batch = sled::Batch::default();
        for (t, p, c) in offsets {
            let v = serde_json::to_vec(c).map_err(|e| MetaError::Corrupt {
                key: format!("{group}/{t}/{p}"),
                reason: e.to_string(),
            })?;
            batch.insert(offset_key(group, t, *p), v);
        }
        self.offsets.apply_batch(batch)?;
        self.offsets.flush()?;
        Ok(())
    }

    fn group_offsets(&self, group: &str) -> Result<Vec<GroupOffset>, MetaError> {
        let mut out = Vec::new();
        for item in self.offsets.scan_prefix(group_prefix(group)) {
            let (k, v) = item?;
            let corrupt = |reason: String| MetaError::Corrupt {
                key: String::from_utf8_lossy(&k).into_owned(),
                reason,
            };
            let (_, t, p) = parse_offset_key(&k).ok_or_else(|| corrupt("bad key".into()))?;
            let c: CommittedOffset =
                serde_json::from_slice(&v).map_err(|e| corrupt(e.to_string()))?;
            out.push((t, p, c));
        }
        out.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        Ok(out)
    }

    fn delete_offsets(
        &self,
        group: &str,
        partitions: Option<&[(String, i32)]>,
    ) -> Result<(), MetaError> {
        let mut batch = sled::Batch::default();
        match partitions {
            Some(ps) => {
                for (t, p) in ps {
                    batch.remove(offset_key(group, t, *p));
                }
            }
            None => {
                for item in self.offsets.scan_prefix(group_prefix(group)) {
                    batch.remove(item?.0);
                }
            }
        }
        self.offsets.apply_batch(batch)?;
        self.offsets.flush()?;
        Ok(())
    }

    fn offset_groups(&self) -> Result<Vec<String>, MetaError> {
        let mut out: Vec<String> = Vec::new();
        for item in self.offsets.iter() {
            let (k, _) = item?;
            if let Some((g, _, _)) = parse_offset_key(&k) {
                if out.last() != Some(&g) {
                    out.push(g);
                }
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn alter_scram(
        &self,
        puts: &[ScramRecord],
        removes: &[(String, String)],
    ) -> Result<(), MetaError> {
        let mut batch = sled::Batch::default();
        for r in puts {
            let v = serde_json::to_vec(r).map_err(|e| MetaError::Corrupt {
                key: format!("scram/{}/{}", r.user, r.mechanism),
                reason: e.to_string(),
            })?;
            batch.insert(scram_key(&r.user, &r.mechanism), v);
        }
        for (user, mechanism) in removes {
            batch.remove(scram_key(user, mechanism));
        }
        self.scram.apply_batch(batch)?;
        self.scram.flush()?;
        Ok(())
    }

    fn scram_records(&self) -> Result<Vec<ScramRecord>, MetaError> {
        let mut out: Vec<ScramRecord> = Vec::new();
        for item in self.scram.iter() {
            let (k, v) = item?;
            out.push(serde_json::from_slice(&v).map_err(|e| MetaError::Corrupt {
                key: format!("scram/{}", String::from_utf8_lossy(&k)),
                reason: e.to_string(),
            })?);
        }
        out.sort_by(|a, b| (&a.user, &a.mechanism).cmp(&(&b.user, &b.mechanism)));
        Ok(out)
    }

    fn alter_acls(&self, puts: &[AclRecord], removes: &[AclRecord]) -> Result<(), MetaError> {
        let key = |r: &AclRecord| {
            serde_json::to_vec(r).map_err(|e| MetaError::Corrupt {
                key: format!("acls/{}", r.resource_name),
                reason: e.to_string(),
            })
        };
        let mut batch = sled::Batch::default();
        for r in removes {
            batch.remove(key(r)?);
        }
        for r in puts {
            batch.insert(key(r)?, &[] as &[u8]);
        }
        self.acls.apply_batch(batch)?;
        self.acls.flush()?;
        Ok(())
    }

    fn acl_records(&self) -> Result<Vec<AclRecord>, MetaError> {
        let mut out: Vec<AclRecord> = Vec::new();
        for item in self.acls.iter() {
            let (k, _) = item?;
            out.push(serde_json::from_slice(&k).map_err(|e| MetaError::Corrupt {
                key: format!("acls/{}", String::from_utf8_lossy(&k)),
                reason: e.to_string(),
            })?);
        }
        out.sort();
        Ok(out)
    }
}
