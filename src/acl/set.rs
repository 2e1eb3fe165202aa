//! `AclSet`: the bindings, indexed for the authorizer. One check looks up the resource's
//! literal name, the `*` wildcard and each of the name's prefixes that some PREFIXED
//! binding has (hash lookups; no scan of unrelated bindings), so its cost does not grow
//! with the number of bindings on other resources.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use super::{
    AclBinding, AclFilter, Action, Denied, Operation, PatternType, Permission, Requester,
    ResourceType, WILDCARD, WILDCARD_PRINCIPAL,
};

/// A binding's host: any, an address (compared as an address, so `::1` and
/// `0:0:0:0:0:0:0:1` are the same, as Java writes them), or a string no address equals.
#[derive(Debug, Clone)]
enum Host {
    Any,
    Ip(IpAddr),
    Other,
}

impl Host {
    fn parse(s: &str) -> Host {
        if s == WILDCARD {
            Host::Any
        } else {
            s.parse::<IpAddr>()
                .map(|ip| Host::Ip(ip.to_canonical()))
                .unwrap_or(Host::Other)
        }
    }

    fn matches(&self, ip: IpAddr) -> bool {
        match self {
            Host::Any => true,
            Host::Ip(h) => *h == ip.to_canonical(),
            Host::Other => false,
        }
    }
}

/// The part of a binding the authorizer compares once the resource matched.
#[derive(Debug, Clone)]
struct Entry {
    principal: String,
    host_text: String,
    host: Host,
    operation: Operation,
    permission: Permission,
}

impl Entry {
    fn of(b: &AclBinding) -> Entry {
        Entry {
            principal: b.principal.clone(),
            host_text: b.host.clone(),
            host: Host::parse(&b.host),
            operation: b.operation,
            permission: b.permission,
        }
    }

    fn applies_to(&self, who: &Requester<'_>) -> bool {
        (self.principal == who.principal || self.principal == WILDCARD_PRINCIPAL)
            && self.host.matches(who.host)
    }

    /// Kafka's `StandardAuthorizerData.findResult`: None when the entry does not apply,
    /// else its permission. ALL applies to every operation; an ALLOW of READ, WRITE,
    /// DELETE or ALTER also allows DESCRIBE, one of ALTER_CONFIGS also DESCRIBE_CONFIGS
    /// (DENY entries imply nothing).
    fn result(&self, who: &Requester<'_>, op: Operation) -> Option<Permission> {
        if !self.applies_to(who) {
            return None;
        }
        let applies = self.operation == Operation::All
            || self.operation == op
            || (self.permission == Permission::Allow
                && match op {
                    Operation::Describe => matches!(
                        self.operation,
                        Operation::Read | Operation::Write | Operation::Delete | Operation::Alter
                    ),
                    Operation::DescribeConfigs => self.operation == Operation::AlterConfigs,
                    _ => false,
                });
        applies.then_some(self.permission)
    }
}

/// One resource type's bindings.
#[derive(Debug, Default)]
struct TypeIndex {
    literal: HashMap<String, Vec<Entry>>,
    prefixed: HashMap<String, Vec<Entry>>,
    /// How many PREFIXED bindings have a prefix of each length (in bytes).
    prefix_lens: BTreeMap<usize, usize>,
}

impl TypeIndex {
    /// Every entry whose resource pattern matches the literal name `name`.
    fn each_match(&self, name: &str, mut f: impl FnMut(&Entry) -> bool) {
        let mut visit = |entries: Option<&Vec<Entry>>| -> bool {
            entries.is_some_and(|es| es.iter().any(&mut f))
        };
        if visit(self.literal.get(name)) {
            return;
        }
        if name != WILDCARD && visit(self.literal.get(WILDCARD)) {
            return;
        }
        for &len in self.prefix_lens.keys() {
            if len > name.len() {
                break;
            }
            if let Some(prefix) = name.get(..len) {
                if visit(self.prefixed.get(prefix)) {
                    return;
                }
            }
        }
    }
}

/// Every ACL binding, indexed by resource type and pattern.
#[derive(Debug, Default)]
pub struct AclSet {
    all: BTreeSet<AclBinding>,
    by_type: HashMap<ResourceType, TypeIndex>,
}

impl AclSet {
    pub fn new(bindings: impl IntoIterator<Item = AclBinding>) -> AclSet {
        let mut set = AclSet::default();
        for b in bindings {
            set.insert(b);
        }
        set
    }

    pub fn len(&self) -> usize {
        self.all.len()
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    pub fn contains(&self, b: &AclBinding) -> bool {
        self.all.contains(b)
    }

    /// Adds a binding; false when it was there already.
    pub fn insert(&mut self, b: AclBinding) -> bool {
        if self.all.contains(&b) {
            return false;
        }
        let idx = self.by_type.entry(b.resource_type).or_default();
        let entry = Entry::of(&b);
        match b.pattern_type {
            PatternType::Prefixed => {
                *idx.prefix_lens.entry(b.resource_name.len()).or_default() += 1;
                idx.prefixed
                    .entry(b.resource_name.clone())
                    .or_default()
                    .push(entry);
            }
            _ => idx
                .literal
                .entry(b.resource_name.clone())
                .or_default()
                .push(entry),
        }
        self.all.insert(b);
        true
    }

    /// Removes a binding; false when it was not there.
    pub fn remove(&mut self, b: &AclBinding) -> bool {
        if !self.all.remove(b) {
            return false;
        }
        let Some(idx) = self.by_type.get_mut(&b.resource_type) else {
            return true;
        };
        let same = |e: &Entry| {
            e.principal == b.principal
                && e.operation == b.operation
                && e.permission == b.permission
                && e.host_text == b.host
        };
        let map = if b.pattern_type == PatternType::Prefixed {
            if let Some(n) = idx.prefix_lens.get_mut(&b.resource_name.len()) {
                *n -= 1;
                if *n == 0 {
                    idx.prefix_lens.remove(&b.resource_name.len());
                }
            }
            &mut idx.prefixed
        } else {
            &mut idx.literal
        };
        if let Some(entries) = map.get_mut(&b.resource_name) {
            if let Some(i) = entries.iter().position(same) {
                entries.remove(i);
            }
            if entries.is_empty() {
                map.remove(&b.resource_name);
            }
        }
        true
    }

    /// The bindings a filter matches, in order.
    pub fn matching(&self, filter: &AclFilter) -> Vec<AclBinding> {
        self.all
            .iter()
            .filter(|b| filter.matches(b))
            .cloned()
            .collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = &AclBinding> {
        self.all.iter()
    }

    /// What the bindings say about `action` by `who` (Kafka's
    /// `StandardAuthorizerData.findAclRule`): a matching DENY wins over any ALLOW; with
    /// neither, `NoAcls` when no binding names the resource at all (whatever its
    /// principal, host or operation), else `Denied`. Super users are the caller's
    /// business.
    pub fn decide(&self, who: &Requester<'_>, action: &Action<'_>) -> Verdict {
        let Some(idx) = self.by_type.get(&action.resource_type) else {
            return Verdict::NoAcls;
        };
        let mut has_acls = false;
        let mut allowed = false;
        let mut denied = false;
        idx.each_match(action.name, |e| {
            has_acls = true;
            match e.result(who, action.operation) {
                Some(Permission::Deny) => denied = true,
                Some(Permission::Allow) => allowed = true,
                _ => {}
            }
            denied
        });
        if denied {
            Verdict::Denied
        } else if allowed {
            Verdict::Allowed
        } else if has_acls {
            Verdict::Denied
        } else {
            Verdict::NoAcls
        }
    }

    /// Whether the bindings allow `action` to `who`, with Kafka's default
    /// (`allow.everyone.if.no.acl.found=false`: no matching ALLOW means no).
    pub fn allows(&self, who: &Requester<'_>, action: &Action<'_>) -> bool {
        self.decide(who, action) == Verdict::Allowed
    }

    /// Kafka's `authorizeByResourceType`: whether `who` may do `op` on at least one
    /// resource of the type, i.e. some ALLOW binding (of `op` or ALL) is not covered by a
    /// DENY one: a DENY on the `*` wildcard covers everything, a DENY literal covers its
    /// name, a DENY prefix covers names and prefixes that start with it.
    pub fn allows_any(&self, who: &Requester<'_>, op: Operation, rt: ResourceType) -> bool {
        let Some(idx) = self.by_type.get(&rt) else {
            return false;
        };
        let applies = |e: &Entry, perm: Permission| {
            e.permission == perm
                && (e.operation == op || e.operation == Operation::All)
                && e.applies_to(who)
        };
        let any = |es: &Vec<Entry>, perm| es.iter().any(|e| applies(e, perm));
        let deny_literal = |name: &str| {
            idx.literal
                .get(name)
                .is_some_and(|es| any(es, Permission::Deny))
        };
        let deny_prefix_of = |name: &str| {
            idx.prefixed
                .iter()
                .any(|(p, es)| name.starts_with(p.as_str()) && any(es, Permission::Deny))
        };
        if deny_literal(WILDCARD) {
            return false;
        }
        let literal_ok = idx.literal.iter().any(|(name, es)| {
            any(es, Permission::Allow)
                && (name == WILDCARD || (!deny_literal(name) && !deny_prefix_of(name)))
        });
        literal_ok
            || idx
                .prefixed
                .iter()
                .any(|(p, es)| any(es, Permission::Allow) && !deny_prefix_of(p))
    }
}

/// What the bindings say about one action (`AclSet::decide`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A binding allows it and none denies it.
    Allowed,
    /// A binding denies it, or the resource has bindings and none allows it.
    Denied,
    /// No binding names the resource: `allow.everyone.if.no.acl.found` decides.
    NoAcls,
}

/// The authorizer's settings: Kafka's `super.users` and `allow.everyone.if.no.acl.found`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// `User:<name>` principals that may do anything.
    pub super_users: Vec<String>,
    /// Allow an action on a resource no binding names (Kafka's default: false).
    pub allow_if_no_acl: bool,
}

impl Policy {
    fn is_super(&self, who: &Requester<'_>) -> bool {
        self.super_users.iter().any(|s| s == who.principal)
    }

    fn admits(&self, verdict: Verdict) -> bool {
        match verdict {
            Verdict::Allowed => true,
            Verdict::Denied => false,
            Verdict::NoAcls => self.allow_if_no_acl,
        }
    }
}

/// The whole check: super users may do anything; everyone else needs the bindings'
/// permission, or, with `allow_if_no_acl`, a resource no binding names.
pub fn check(
    set: &AclSet,
    policy: &Policy,
    who: &Requester<'_>,
    action: &Action<'_>,
) -> Result<(), Denied> {
    if policy.is_super(who) || policy.admits(set.decide(who, action)) {
        Ok(())
    } else {
        Err(Denied {
            principal: who.principal.to_string(),
            operation: action.operation,
            resource_type: action.resource_type,
            name: action.name.to_string(),
        })
    }
}

/// The resource name Kafka's `Authorizer.authorizeByResourceType` checks first, so that
/// super users (and, with `allow.everyone.if.no.acl.found`, everyone while no binding
/// covers that name) pass whatever the other bindings say.
const PROBE_NAME: &str = "hardcode";

/// Kafka's `authorizeByResourceType`: whether `who` may do `op` on at least one resource
/// of the type. As Kafka's, it first checks one literal resource (named `hardcode`) the
/// way `check` does, then looks for an ALLOW binding no DENY covers.
pub fn check_any(
    set: &AclSet,
    policy: &Policy,
    who: &Requester<'_>,
    op: Operation,
    rt: ResourceType,
) -> bool {
    let probe = Action {
        operation: op,
        resource_type: rt,
        name: PROBE_NAME,
    };
    check(set, policy, who, &probe).is_ok() || set.allows_any(who, op, rt)
}
