//! SCRAM users: each (user, mechanism)'s credential, kept in memory for authentication
//! and written through to the metadata store. Changed at run time by
//! AlterUserScramCredentials (Kafka's rules, from its `ScramControlManager`), seeded at
//! startup by `--users-file`.

use std::collections::BTreeMap;
use std::sync::{Mutex, RwLock};

use thiserror::Error;

use super::{Broker, BrokerError};
use crate::auth::credentials::{DEFAULT_ITERATIONS, MAX_ITERATIONS, MIN_ITERATIONS};
use crate::auth::{AuthError, ScramCredential, ScramMechanism};
use crate::meta::{MetaError, MetadataStore, ScramRecord};

type Key = (String, ScramMechanism);

/// The credentials, by (user, mechanism).
#[derive(Default)]
pub struct Users {
    creds: RwLock<BTreeMap<Key, ScramCredential>>,
    /// Serialises alterations (check, persist, apply).
    alter: Mutex<()>,
}

/// Why one user's alteration was refused (Kafka's codes and messages).
#[derive(Debug, Error)]
pub enum ScramAlterError {
    #[error("A user credential cannot be altered twice in the same request")]
    Duplicate,
    #[error("Attempt to delete a user credential that does not exist")]
    NotFound,
    #[error("Unknown SCRAM mechanism")]
    UnsupportedMechanism,
    #[error("{0}")]
    Unacceptable(&'static str),
    #[error("storage error: {0}")]
    Storage(String),
}

/// Why one user of a DescribeUserScramCredentials request has no answer.
#[derive(Debug, Error, PartialEq)]
pub enum ScramDescribeError {
    #[error("Cannot describe SCRAM credentials for the same user twice in a single request: {0}")]
    Duplicate(String),
    #[error("Attempt to describe a user credential that does not exist: {0}")]
    NotFound(String),
}

/// One alteration of a request: a deletion or an upsertion. `mechanism` is None for a
/// mechanism number Kafka does not know.
#[derive(Debug, Clone)]
pub struct ScramAlteration {
    pub user: String,
    pub mechanism: Option<ScramMechanism>,
    pub upsert: Option<Upsertion>,
}

/// What an upsertion carries: the client salts and iterates the password itself.
#[derive(Debug, Clone)]
pub struct Upsertion {
    pub iterations: i32,
    pub salt: Vec<u8>,
    pub salted_password: Vec<u8>,
}

/// A user's credentials as described: (mechanism, iterations).
pub type Described = Vec<(ScramMechanism, u32)>;

fn record(user: &str, m: ScramMechanism, c: &ScramCredential) -> ScramRecord {
    ScramRecord {
        user: user.to_string(),
        mechanism: m.name().to_string(),
        salt: c.salt.clone(),
        stored_key: c.stored_key.clone(),
        server_key: c.server_key.clone(),
        iterations: c.iterations,
    }
}

impl Users {
    /// Loads the stored credentials.
    pub fn load(meta: &dyn MetadataStore) -> Result<Users, MetaError> {
        let mut creds = BTreeMap::new();
        for r in meta.scram_records()? {
            let Some(m) = ScramMechanism::from_name(&r.mechanism) else {
                return Err(MetaError::Corrupt {
                    key: format!("scram/{}", r.user),
                    reason: format!("unknown mechanism {:?}", r.mechanism),
                });
            };
            let cred = ScramCredential {
                salt: r.salt,
                stored_key: r.stored_key,
                server_key: r.server_key,
                iterations: r.iterations,
            };
            creds.insert((r.user, m), cred);
        }
        Ok(Users {
            creds: RwLock::new(creds),
            alter: Mutex::new(()),
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<Key, ScramCredential>> {
        self.creds.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<Key, ScramCredential>> {
        self.creds.write().unwrap_or_else(|p| p.into_inner())
    }
}

fn check_name_and_mechanism(a: &ScramAlteration) -> Result<ScramMechanism, ScramAlterError> {
    if a.user.is_empty() {
        return Err(ScramAlterError::Unacceptable("Username must not be empty"));
    }
    a.mechanism.ok_or(ScramAlterError::UnsupportedMechanism)
}

impl Broker {
    /// The credential SCRAM authentication checks a client against.
    pub fn scram_credential(&self, user: &str, m: ScramMechanism) -> Option<ScramCredential> {
        self.users.read().get(&(user.to_string(), m)).cloned()
    }

    /// Checks a PLAIN password against the user's SCRAM-SHA-512 credential (or its
    /// SCRAM-SHA-256 one): PBKDF2 with the stored salt and iterations, then a
    /// constant-time comparison of StoredKey. CPU-bound: call it off the async workers.
    pub fn verify_password(&self, user: &str, password: &str) -> Result<(), AuthError> {
        let found = [ScramMechanism::Sha512, ScramMechanism::Sha256]
            .into_iter()
            .find_map(|m| self.scram_credential(user, m).map(|c| (m, c)));
        match found {
            Some((m, cred)) if cred.matches_password(m, password) => Ok(()),
            Some(_) => Err(AuthError::BadPassword(user.to_string())),
            None => {
                // The same work as for a real user, so the time taken does not tell.
                let _ = ScramMechanism::Sha512.salted_password(
                    password.as_bytes(),
                    b"rill-no-such-user",
                    DEFAULT_ITERATIONS,
                );
                Err(AuthError::UnknownUser(user.to_string()))
            }
        }
    }

    /// DescribeUserScramCredentials: every user with a credential when `users` is None
    /// or empty; otherwise each named user once (a name given twice is an error).
    pub fn describe_scram_users(
        &self,
        users: Option<Vec<String>>,
    ) -> Vec<(String, Result<Described, ScramDescribeError>)> {
        let creds = self.users.read();
        let mut wanted: Vec<(String, bool)> = Vec::new();
        match users {
            Some(list) if !list.is_empty() => {
                for u in list {
                    match wanted.iter_mut().find(|(w, _)| *w == u) {
                        Some(w) => w.1 = true,
                        None => wanted.push((u, false)),
                    }
                }
            }
            _ => {
                for (u, _) in creds.keys() {
                    if wanted.last().map(|(w, _)| w) != Some(u) {
                        wanted.push((u.clone(), false));
                    }
                }
            }
        }
        wanted
            .into_iter()
            .map(|(user, twice)| {
                if twice {
                    return (user.clone(), Err(ScramDescribeError::Duplicate(user)));
                }
                let infos: Described = ScramMechanism::ALL
                    .into_iter()
                    .filter_map(|m| creds.get(&(user.clone(), m)).map(|c| (m, c.iterations)))
                    .collect();
                if infos.is_empty() {
                    (user.clone(), Err(ScramDescribeError::NotFound(user)))
                } else {
                    (user, Ok(infos))
                }
            })
            .collect()
    }

    /// AlterUserScramCredentials: validates every alteration as Kafka's controller does
    /// (a user altered twice in one request, deletion or upsertion, is refused; unknown
    /// mechanisms; iterations outside 4096..=16384; deleting what does not exist), then
    /// applies the valid ones atomically and durably. Results: deletions done,
    /// upsertions done, then the refused users.
    pub fn alter_scram_users(
        &self,
        deletions: Vec<ScramAlteration>,
        upsertions: Vec<ScramAlteration>,
    ) -> Vec<(String, Result<(), ScramAlterError>)> {
        let _guard = self.users.alter.lock().unwrap_or_else(|p| p.into_inner());
        let mut to_delete: BTreeMap<String, ScramMechanism> = BTreeMap::new();
        let mut to_upsert: BTreeMap<String, (ScramMechanism, Upsertion)> = BTreeMap::new();
        let mut errors: Vec<(String, ScramAlterError)> = Vec::new();
        let failed =
            |errors: &Vec<(String, ScramAlterError)>, u: &str| errors.iter().any(|(e, _)| e == u);
        {
            let creds = self.users.read();
            for d in deletions {
                if failed(&errors, &d.user) {
                    continue;
                }
                if to_delete.remove(&d.user).is_some() {
                    errors.push((d.user, ScramAlterError::Duplicate));
                    continue;
                }
                let checked = check_name_and_mechanism(&d).and_then(|m| {
                    if creds.contains_key(&(d.user.clone(), m)) {
                        Ok(m)
                    } else {
                        Err(ScramAlterError::NotFound)
                    }
                });
                match checked {
                    Ok(m) => {
                        to_delete.insert(d.user, m);
                    }
                    Err(e) => errors.push((d.user, e)),
                }
            }
        }
        for u in upsertions {
            if failed(&errors, &u.user) {
                continue;
            }
            if to_delete.remove(&u.user).is_some() || to_upsert.remove(&u.user).is_some() {
                errors.push((u.user, ScramAlterError::Duplicate));
                continue;
            }
            let checked = check_name_and_mechanism(&u).and_then(|m| {
                let up = u
                    .upsert
                    .clone()
                    .ok_or(ScramAlterError::Unacceptable("No credential given"))?;
                if up.iterations < MIN_ITERATIONS {
                    Err(ScramAlterError::Unacceptable("Too few iterations"))
                } else if up.iterations > MAX_ITERATIONS {
                    Err(ScramAlterError::Unacceptable("Too many iterations"))
                } else {
                    Ok((m, up))
                }
            });
            match checked {
                Ok(v) => {
                    to_upsert.insert(u.user, v);
                }
                Err(e) => errors.push((u.user, e)),
            }
        }
        let new: Vec<(String, ScramMechanism, ScramCredential)> = to_upsert
            .iter()
            .map(|(user, (m, up))| {
                let cred = ScramCredential::from_salted_password(
                    *m,
                    &up.salt,
                    &up.salted_password,
                    up.iterations as u32,
                );
                (user.clone(), *m, cred)
            })
            .collect();
        let puts: Vec<ScramRecord> = new.iter().map(|(u, m, c)| record(u, *m, c)).collect();
        let removes: Vec<(String, String)> = to_delete
            .iter()
            .map(|(u, m)| (u.clone(), m.name().to_string()))
            .collect();
        let mut out: Vec<(String, Result<(), ScramAlterError>)> = Vec::new();
        if puts.is_empty() && removes.is_empty() {
            // Nothing valid to write.
        } else if let Err(e) = self.meta.alter_scram(&puts, &removes) {
            tracing::error!(error = %e, "storing SCRAM credentials failed");
            for user in to_delete.keys().chain(to_upsert.keys()) {
                out.push((user.clone(), Err(ScramAlterError::Storage(e.to_string()))));
            }
            out.extend(errors.into_iter().map(|(u, e)| (u, Err(e))));
            return out;
        } else {
            let mut creds = self.users.write();
            for (user, m) in &to_delete {
                creds.remove(&(user.clone(), *m));
                tracing::info!(user = %user, mechanism = %m, "SCRAM credential deleted");
            }
            for (user, m, cred) in new {
                tracing::info!(user = %user, mechanism = %m, iterations = cred.iterations, "SCRAM credential stored");
                creds.insert((user, m), cred);
            }
        }
        out.extend(to_delete.into_keys().map(|u| (u, Ok(()))));
        out.extend(to_upsert.into_keys().map(|u| (u, Ok(()))));
        out.extend(errors.into_iter().map(|(u, e)| (u, Err(e))));
        out
    }

    /// `--users-file` at startup: each user gets SCRAM-SHA-256 and SCRAM-SHA-512
    /// credentials of 4096 iterations. Idempotent: a stored credential that already
    /// matches the password is kept (same salt); one that does not is replaced. Users
    /// not in the file are left alone (the store is the truth; the file seeds it).
    /// Returns how many credentials were written.
    pub fn seed_users(&self, users: &[(String, String)]) -> Result<usize, BrokerError> {
        let _guard = self.users.alter.lock().unwrap_or_else(|p| p.into_inner());
        let mut new = Vec::new();
        for (user, password) in users {
            for m in ScramMechanism::ALL {
                let current = self.scram_credential(user, m);
                if current.is_some_and(|c| c.matches_password(m, password)) {
                    continue;
                }
                let cred = ScramCredential::new(m, password, DEFAULT_ITERATIONS).map_err(|e| {
                    BrokerError::Io {
                        path: "getrandom".into(),
                        source: std::io::Error::other(e.to_string()),
                    }
                })?;
                new.push((user.clone(), m, cred));
            }
        }
        if new.is_empty() {
            return Ok(0);
        }
        let puts: Vec<ScramRecord> = new.iter().map(|(u, m, c)| record(u, *m, c)).collect();
        self.meta.alter_scram(&puts, &[])?;
        let n = new.len();
        let mut creds = self.users.write();
        for (user, m, cred) in new {
            creds.insert((user, m), cred);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::BrokerConfig;

    fn open(dir: &std::path::Path) -> std::sync::Arc<Broker> {
        Broker::open(BrokerConfig::in_process(dir.to_path_buf())).expect("broker opens")
    }

    fn users(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(u, p)| (u.to_string(), p.to_string()))
            .collect()
    }

    #[test]
    fn the_users_file_seeds_idempotently_and_survives_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let salt = {
            let b = open(dir.path());
            assert_eq!(
                b.seed_users(&users(&[("alice", "a1"), ("bob", "b1")]))
                    .expect("seed"),
                4
            );
            assert_eq!(b.seed_users(&users(&[("alice", "a1")])).expect("again"), 0);
            assert!(b.verify_password("alice", "a1").is_ok());
            assert_eq!(
                b.verify_password("alice", "a2"),
                Err(AuthError::BadPassword("alice".into()))
            );
            assert_eq!(
                b.verify_password("carol", "x"),
                Err(AuthError::UnknownUser("carol".into()))
            );
            let c = b
                .scram_credential("alice", ScramMechanism::Sha256)
                .expect("stored");
            assert_eq!(c.iterations, 4096);
            b.close().expect("close");
            c.salt
        };
        let b = open(dir.path());
        // Same password: the stored credential (and its salt) is kept.
        assert_eq!(b.seed_users(&users(&[("alice", "a1")])).expect("seed"), 0);
        let c = b
            .scram_credential("alice", ScramMechanism::Sha256)
            .expect("kept");
        assert_eq!(c.salt, salt);
        // A new password replaces both credentials; bob, not in the file, stays.
        assert_eq!(b.seed_users(&users(&[("alice", "a2")])).expect("seed"), 2);
        assert!(b.verify_password("alice", "a2").is_ok());
        assert!(b.verify_password("alice", "a1").is_err());
        assert!(b.verify_password("bob", "b1").is_ok());
    }

    fn upsert(user: &str, m: Option<ScramMechanism>, iterations: i32) -> ScramAlteration {
        ScramAlteration {
            user: user.into(),
            mechanism: m,
            upsert: Some(Upsertion {
                iterations,
                salt: b"salt".to_vec(),
                salted_password: ScramMechanism::Sha256.salted_password(
                    b"pw",
                    b"salt",
                    iterations.max(1) as u32,
                ),
            }),
        }
    }

    fn delete(user: &str, m: Option<ScramMechanism>) -> ScramAlteration {
        ScramAlteration {
            user: user.into(),
            mechanism: m,
            upsert: None,
        }
    }

    fn codes(r: &[(String, Result<(), ScramAlterError>)]) -> Vec<(String, String)> {
        r.iter()
            .map(|(u, r)| {
                let what = match r {
                    Ok(()) => "ok".to_string(),
                    Err(e) => format!("{e:?}"),
                };
                (u.clone(), what)
            })
            .collect()
    }

    #[test]
    fn alterations_follow_kafkas_rules() {
        let dir = tempfile::tempdir().expect("tempdir");
        let b = open(dir.path());
        let sha256 = Some(ScramMechanism::Sha256);
        b.seed_users(&users(&[("old", "pw")])).expect("seed");
        let r = b.alter_scram_users(
            vec![
                delete("old", sha256),
                delete("ghost", sha256),
                delete("x", None),
            ],
            vec![
                upsert("new", sha256, 4096),
                upsert("few", sha256, 4095),
                upsert("many", sha256, 16385),
                upsert("twice", sha256, 4096),
                upsert("twice", sha256, 5000),
                upsert("ghost", sha256, 4096),
            ],
        );
        let got = codes(&r);
        assert_eq!(
            got,
            vec![
                ("old".to_string(), "ok".to_string()),
                ("new".into(), "ok".into()),
                ("ghost".into(), "NotFound".into()),
                ("x".into(), "UnsupportedMechanism".into()),
                ("few".into(), "Unacceptable(\"Too few iterations\")".into()),
                (
                    "many".into(),
                    "Unacceptable(\"Too many iterations\")".into()
                ),
                ("twice".into(), "Duplicate".into()),
            ]
        );
        assert!(b.scram_credential("old", ScramMechanism::Sha256).is_none());
        assert!(b.scram_credential("old", ScramMechanism::Sha512).is_some());
        assert!(b
            .scram_credential("twice", ScramMechanism::Sha256)
            .is_none());
        let c = b
            .scram_credential("new", ScramMechanism::Sha256)
            .expect("added");
        let expected = ScramCredential::from_password(ScramMechanism::Sha256, "pw", b"salt", 4096);
        assert_eq!(c, expected, "keys derived from the salted password");
        let described = b.describe_scram_users(None);
        let names: Vec<&str> = described.iter().map(|(u, _)| u.as_str()).collect();
        assert_eq!(names, ["new", "old"]);
        assert_eq!(
            b.describe_scram_users(Some(vec!["old".into()]))[0].1,
            Ok(vec![(ScramMechanism::Sha512, 4096)])
        );
        // An empty name is refused before anything else.
        let r = b.alter_scram_users(vec![], vec![upsert("", sha256, 4096)]);
        assert_eq!(
            codes(&r)[0].1,
            "Unacceptable(\"Username must not be empty\")"
        );
    }
}
