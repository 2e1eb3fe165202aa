//! ACL bindings: kept in memory (`acl::AclSet`, what the authorizer checks) and written
//! through to the metadata store; CreateAcls, DescribeAcls and DeleteAcls as broker calls,
//! and the authorizer's checks (`--authorizer acl`; off, everything is allowed and the
//! bindings are only stored and listed).

use std::net::IpAddr;
use std::sync::RwLock;

use thiserror::Error;

use super::Broker;
use crate::acl::{
    self, AclBinding, AclCreation, AclError, AclFilter, AclSet, Action, Denied, Operation, Policy,
    Requester, ResourceType,
};
use crate::auth::Principal;
use crate::meta::{MetaError, MetadataStore};

/// Why one creation or one deletion filter failed.
#[derive(Debug, Error)]
pub enum AclOpError {
    #[error(transparent)]
    Invalid(#[from] AclError),
    #[error("storage error: {0}")]
    Storage(String),
}

impl From<MetaError> for AclOpError {
    fn from(e: MetaError) -> Self {
        AclOpError::Storage(e.to_string())
    }
}

/// The bindings, and the authorizer's settings.
pub struct Acls {
    set: RwLock<AclSet>,
    /// Whether requests are checked (`--authorizer acl`).
    enforce: bool,
    /// Super users and `allow.everyone.if.no.acl.found`.
    policy: Policy,
}

impl Acls {
    pub fn load(
        meta: &dyn MetadataStore,
        enforce: bool,
        policy: Policy,
    ) -> Result<Acls, MetaError> {
        let mut bindings = Vec::new();
        for r in meta.acl_records()? {
            match AclBinding::from_record(&r) {
                Some(b) => bindings.push(b),
                None => {
                    return Err(MetaError::Corrupt {
                        key: format!("acls/{}", r.resource_name),
                        reason: format!("not an ACL binding: {r:?}"),
                    })
                }
            }
        }
        if enforce {
            tracing::info!(
                acls = bindings.len(),
                super_users = ?policy.super_users,
                allow_everyone_if_no_acl_found = policy.allow_if_no_acl,
                "ACL authorizer on"
            );
        }
        Ok(Acls {
            set: RwLock::new(AclSet::new(bindings)),
            enforce,
            policy,
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, AclSet> {
        self.set.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, AclSet> {
        self.set.write().unwrap_or_else(|p| p.into_inner())
    }
}

impl Broker {
    /// Whether requests are authorized (`--authorizer acl`).
    pub fn authorizer_enabled(&self) -> bool {
        self.acls.enforce
    }

    /// Checks one action of `principal` connected from `host`. Always Ok without an
    /// authorizer.
    pub fn authorize(
        &self,
        principal: &Principal,
        host: IpAddr,
        action: Action<'_>,
    ) -> Result<(), Denied> {
        if !self.acls.enforce {
            return Ok(());
        }
        let who = Requester {
            principal: principal.as_str(),
            host,
        };
        let r = acl::check(&self.acls.read(), &self.acls.policy, &who, &action);
        if let Err(d) = &r {
            tracing::debug!(denied = %d, host = %host, "authorization failed");
        }
        r
    }

    /// Whether `principal` may do `op` on some resource of type `rt` (Kafka's
    /// `authorizeByResourceType`, super users and `allow.everyone.if.no.acl.found`
    /// included). Always true without an authorizer.
    pub fn authorize_any(
        &self,
        principal: &Principal,
        host: IpAddr,
        op: Operation,
        rt: ResourceType,
    ) -> bool {
        if !self.acls.enforce {
            return true;
        }
        let who = Requester {
            principal: principal.as_str(),
            host,
        };
        acl::check_any(&self.acls.read(), &self.acls.policy, &who, op, rt)
    }

    /// CreateAcls: each creation validated as Kafka does; the valid new ones are stored
    /// together, durably, then checked against. A binding that exists already succeeds.
    pub fn create_acls(&self, creations: Vec<AclCreation>) -> Vec<Result<(), AclOpError>> {
        let mut set = self.acls.write();
        let mut results: Vec<Result<(), AclOpError>> = Vec::with_capacity(creations.len());
        let mut new: Vec<AclBinding> = Vec::new();
        for c in creations {
            match c.validate() {
                Ok(b) => {
                    if !set.contains(&b) && !new.contains(&b) {
                        new.push(b);
                    }
                    results.push(Ok(()));
                }
                Err(e) => results.push(Err(e.into())),
            }
        }
        if new.is_empty() {
            return results;
        }
        let records: Vec<_> = new.iter().map(AclBinding::to_record).collect();
        if let Err(e) = self.meta.alter_acls(&records, &[]) {
            tracing::error!(error = %e, "storing ACLs failed");
            let msg = e.to_string();
            return results
                .into_iter()
                .map(|r| r.and(Err(AclOpError::Storage(msg.clone()))))
                .collect();
        }
        for b in new {
            tracing::info!(acl = %b, "ACL created");
            set.insert(b);
        }
        results
    }

    /// DescribeAcls: the bindings the filter matches.
    pub fn describe_acls(&self, filter: &AclFilter) -> Result<Vec<AclBinding>, AclError> {
        filter.validate()?;
        Ok(self.acls.read().matching(filter))
    }

    /// DeleteAcls: each filter's matching bindings, all removed together and durably (a
    /// binding two filters match is reported by both).
    pub fn delete_acls(&self, filters: &[AclFilter]) -> Vec<Result<Vec<AclBinding>, AclOpError>> {
        let mut set = self.acls.write();
        let mut results: Vec<Result<Vec<AclBinding>, AclOpError>> = filters
            .iter()
            .map(|f| {
                f.validate()?;
                Ok(set.matching(f))
            })
            .collect();
        let mut doomed: Vec<AclBinding> = results
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .flatten()
            .cloned()
            .collect();
        doomed.sort();
        doomed.dedup();
        if doomed.is_empty() {
            return results;
        }
        let records: Vec<_> = doomed.iter().map(AclBinding::to_record).collect();
        if let Err(e) = self.meta.alter_acls(&[], &records) {
            tracing::error!(error = %e, "deleting ACLs failed");
            let msg = e.to_string();
            for r in results.iter_mut().filter(|r| r.is_ok()) {
                *r = Err(AclOpError::Storage(msg.clone()));
            }
            return results;
        }
        for b in &doomed {
            tracing::info!(acl = %b, "ACL deleted");
            set.remove(b);
        }
        results
    }
}
