//! Kafka ACLs as pure data and rules: resource types, pattern types, operations and
//! permissions with Kafka's codes; bindings and their validation (Kafka's
//! `AclControlManager` and `AclApis`); filters with Kafka's matching (`AclBindingFilter`:
//! ANY, MATCH, null fields meaning any); and `AclSet`, the index the authorizer checks
//! (Kafka's `StandardAuthorizer`: DENY wins over ALLOW, no matching ALLOW denies unless no
//! binding names the resource and `allow.everyone.if.no.acl.found` is set, super users
//! may do anything, ALLOW of READ/WRITE/DELETE/ALTER implies DESCRIBE and ALLOW of
//! ALTER_CONFIGS implies DESCRIBE_CONFIGS, hosts matched against the client's address).
//!
//! No wire types, sockets or runtime (the walls test keeps it so): `broker/acls.rs` keeps
//! the set (in the metadata store), the handlers turn requests into these types.

mod set;

use std::fmt;
use std::net::IpAddr;

use thiserror::Error;

use crate::meta::AclRecord;
pub use set::{check, check_any, AclSet, Policy, Verdict};

/// The only name a CLUSTER resource has (Kafka's `Resource.CLUSTER_NAME`).
pub const CLUSTER_NAME: &str = "kafka-cluster";
/// The resource name and host that match any (Kafka's `WILDCARD_RESOURCE`).
pub const WILDCARD: &str = "*";
/// The principal that matches any user.
pub const WILDCARD_PRINCIPAL: &str = "User:*";

macro_rules! kafka_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $code:literal, $kname:literal;)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($variant = $code,)*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// From Kafka's code; None for a code Kafka calls UNKNOWN.
            pub fn from_code(code: i8) -> Option<$name> {
                match code {
                    $($code => Some($name::$variant),)*
                    _ => None,
                }
            }

            pub fn code(self) -> i8 {
                self as i8
            }

            /// Kafka's name (`TRANSACTIONAL_ID`).
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $kname,)*
                }
            }

            /// By Kafka's name, any case, `-` or `_` (`Transactional-Id`).
            pub fn parse(s: &str) -> Option<$name> {
                let s = s.replace('-', "_");
                Self::ALL.iter().copied().find(|v| v.name().eq_ignore_ascii_case(&s))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

kafka_enum!(
    /// Kafka's `ResourceType` (UNKNOWN, 0, is `from_code`'s None).
    ResourceType {
        Any = 1, "ANY";
        Topic = 2, "TOPIC";
        Group = 3, "GROUP";
        Cluster = 4, "CLUSTER";
        TransactionalId = 5, "TRANSACTIONAL_ID";
        DelegationToken = 6, "DELEGATION_TOKEN";
        User = 7, "USER";
    }
);

kafka_enum!(
    /// Kafka's `PatternType`: bindings are LITERAL or PREFIXED; filters may say ANY or
    /// MATCH.
    PatternType {
        Any = 1, "ANY";
        Match = 2, "MATCH";
        Literal = 3, "LITERAL";
        Prefixed = 4, "PREFIXED";
    }
);

kafka_enum!(
    /// Kafka's `AclOperation`.
    Operation {
        Any = 1, "ANY";
        All = 2, "ALL";
        Read = 3, "READ";
        Write = 4, "WRITE";
        Create = 5, "CREATE";
        Delete = 6, "DELETE";
        Alter = 7, "ALTER";
        Describe = 8, "DESCRIBE";
        ClusterAction = 9, "CLUSTER_ACTION";
        DescribeConfigs = 10, "DESCRIBE_CONFIGS";
        AlterConfigs = 11, "ALTER_CONFIGS";
        IdempotentWrite = 12, "IDEMPOTENT_WRITE";
        CreateTokens = 13, "CREATE_TOKENS";
        DescribeTokens = 14, "DESCRIBE_TOKENS";
        TwoPhaseCommit = 15, "TWO_PHASE_COMMIT";
    }
);

kafka_enum!(
    /// Kafka's `AclPermissionType`.
    Permission {
        Any = 1, "ANY";
        Deny = 2, "DENY";
        Allow = 3, "ALLOW";
    }
);

/// Why an ACL request (or part of one) is refused. Every case is Kafka's
/// INVALID_REQUEST, with its message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AclError {
    #[error("{0}")]
    InvalidRequest(String),
}

fn invalid(msg: impl Into<String>) -> AclError {
    AclError::InvalidRequest(msg.into())
}

/// A field of a request as sent: a known value or a code Kafka calls UNKNOWN.
pub type Code<T> = Result<T, i8>;

/// Reads a code off the wire.
pub fn code<T>(c: i8, from: fn(i8) -> Option<T>) -> Code<T> {
    from(c).ok_or(c)
}

/// An ACL binding: who may (or may not) do what on which resources, from where.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AclBinding {
    pub resource_type: ResourceType,
    pub resource_name: String,
    pub pattern_type: PatternType,
    pub principal: String,
    pub host: String,
    pub operation: Operation,
    pub permission: Permission,
}

/// A CreateAcls creation as sent: each code may be one Kafka does not know.
#[derive(Debug, Clone)]
pub struct AclCreation {
    pub resource_type: Code<ResourceType>,
    pub resource_name: String,
    pub pattern_type: Code<PatternType>,
    pub principal: String,
    pub host: String,
    pub operation: Code<Operation>,
    pub permission: Code<Permission>,
}

impl AclCreation {
    /// Validates a new binding as Kafka does (its `AclApis` and
    /// `AclControlManager.validateNewAcl`, in that order).
    pub fn validate(self) -> Result<AclBinding, AclError> {
        if let Ok(ResourceType::Cluster) = self.resource_type {
            if self.resource_name != CLUSTER_NAME {
                return Err(invalid(format!(
                    "The only valid name for the CLUSTER resource is {CLUSTER_NAME}"
                )));
            }
        }
        if self.resource_name.is_empty() {
            return Err(invalid("Invalid empty resource name"));
        }
        let resource_type = match self.resource_type {
            Ok(ResourceType::Any) => return Err(invalid("Invalid resourceType ANY")),
            Ok(t) => t,
            Err(_) => return Err(invalid("Invalid resourceType UNKNOWN")),
        };
        let pattern_type = match self.pattern_type {
            Ok(p @ (PatternType::Literal | PatternType::Prefixed)) => p,
            Ok(p) => return Err(invalid(format!("Invalid patternType {p}"))),
            Err(_) => return Err(invalid("Invalid patternType UNKNOWN")),
        };
        let operation = match self.operation {
            Ok(Operation::Any) => return Err(invalid("Invalid operation ANY")),
            Ok(o) => o,
            Err(_) => return Err(invalid("Invalid operation UNKNOWN")),
        };
        let permission = match self.permission {
            Ok(p @ (Permission::Allow | Permission::Deny)) => p,
            Ok(p) => return Err(invalid(format!("Invalid permissionType {p}"))),
            Err(_) => return Err(invalid("Invalid permissionType UNKNOWN")),
        };
        parse_principal(&self.principal)?;
        Ok(AclBinding {
            resource_type,
            resource_name: self.resource_name,
            pattern_type,
            principal: self.principal,
            host: self.host,
            operation,
            permission,
        })
    }
}

/// Checks `Type:name` (Kafka's `SecurityUtils.parseKafkaPrincipal`).
fn parse_principal(p: &str) -> Result<(), AclError> {
    match p.split_once(':') {
        Some((t, n)) if !t.is_empty() && !n.is_empty() => Ok(()),
        _ => Err(invalid(format!(
            "Could not parse principal from `{p}` (no colon is present separating the principal type from the principal name)"
        ))),
    }
}

/// A DescribeAcls or DeleteAcls filter (Kafka's `AclBindingFilter`). None names mean any.
#[derive(Debug, Clone)]
pub struct AclFilter {
    pub resource_type: Code<ResourceType>,
    pub resource_name: Option<String>,
    pub pattern_type: Code<PatternType>,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: Code<Operation>,
    pub permission: Code<Permission>,
}

impl AclFilter {
    /// A filter that matches every binding.
    pub fn any() -> AclFilter {
        AclFilter {
            resource_type: Ok(ResourceType::Any),
            resource_name: None,
            pattern_type: Ok(PatternType::Any),
            principal: None,
            host: None,
            operation: Ok(Operation::Any),
            permission: Ok(Permission::Any),
        }
    }

    /// A filter with an UNKNOWN part is refused (Kafka's `AclControlManager.validateFilter`).
    pub fn validate(&self) -> Result<(), AclError> {
        if self.resource_type.is_err() || self.pattern_type.is_err() {
            return Err(invalid("Unknown patternFilter."));
        }
        if self.operation.is_err() || self.permission.is_err() {
            return Err(invalid("Unknown entryFilter."));
        }
        Ok(())
    }

    /// Whether `b` matches (Kafka's `ResourcePatternFilter` and
    /// `AccessControlEntryFilter`): MATCH finds the bindings that would apply to the named
    /// resource (the literal name, the `*` wildcard and every prefix of it); ANY and an
    /// exact pattern type compare names exactly.
    pub fn matches(&self, b: &AclBinding) -> bool {
        let (Ok(rt), Ok(pt), Ok(op), Ok(perm)) = (
            self.resource_type,
            self.pattern_type,
            self.operation,
            self.permission,
        ) else {
            return false;
        };
        if rt != ResourceType::Any && rt != b.resource_type {
            return false;
        }
        if !matches!(pt, PatternType::Any | PatternType::Match) && pt != b.pattern_type {
            return false;
        }
        let name_ok = match &self.resource_name {
            None => true,
            Some(n) if pt == PatternType::Any || pt == b.pattern_type => *n == b.resource_name,
            Some(n) => match b.pattern_type {
                PatternType::Literal => *n == b.resource_name || b.resource_name == WILDCARD,
                PatternType::Prefixed => n.starts_with(&b.resource_name),
                PatternType::Any | PatternType::Match => false,
            },
        };
        name_ok
            && self.principal.as_ref().is_none_or(|p| *p == b.principal)
            && self.host.as_ref().is_none_or(|h| *h == b.host)
            && (op == Operation::Any || op == b.operation)
            && (perm == Permission::Any || perm == b.permission)
    }
}

impl AclBinding {
    pub fn to_record(&self) -> AclRecord {
        AclRecord {
            resource_type: self.resource_type.code(),
            resource_name: self.resource_name.clone(),
            pattern_type: self.pattern_type.code(),
            principal: self.principal.clone(),
            host: self.host.clone(),
            operation: self.operation.code(),
            permission: self.permission.code(),
        }
    }

    /// A stored binding; None when a code is not a binding's.
    pub fn from_record(r: &AclRecord) -> Option<AclBinding> {
        AclCreation {
            resource_type: code(r.resource_type, ResourceType::from_code),
            resource_name: r.resource_name.clone(),
            pattern_type: code(r.pattern_type, PatternType::from_code),
            principal: r.principal.clone(),
            host: r.host.clone(),
            operation: code(r.operation, Operation::from_code),
            permission: code(r.permission, Permission::from_code),
        }
        .validate()
        .ok()
    }
}

impl fmt::Display for AclBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "(principal={}, host={}, operation={}, permissionType={}) on {}:{}:{}",
            self.principal,
            self.host,
            self.operation,
            self.permission,
            self.resource_type,
            self.pattern_type,
            self.resource_name
        )
    }
}

/// What a request asks to do: an operation on one named resource (always a literal
/// name, as in Kafka's `Action`).
#[derive(Debug, Clone, Copy)]
pub struct Action<'a> {
    pub operation: Operation,
    pub resource_type: ResourceType,
    pub name: &'a str,
}

/// Who asks, from where.
#[derive(Debug, Clone, Copy)]
pub struct Requester<'a> {
    /// `User:alice`
    pub principal: &'a str,
    pub host: IpAddr,
}

/// An action the authorizer refused; `handlers::errors` turns it into the resource
/// type's Kafka code (TOPIC_AUTHORIZATION_FAILED, GROUP_AUTHORIZATION_FAILED, …).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("Principal {principal} is not authorized to {operation} {resource_type} {name}")]
pub struct Denied {
    pub principal: String,
    pub operation: Operation,
    pub resource_type: ResourceType,
    pub name: String,
}

/// Parses `--super-users`: Kafka's `super.users` (`User:admin;User:ops`), or
/// comma-separated bare names (`admin,ops`, each becoming `User:<name>`); both
/// separators may be mixed. Empty entries are skipped.
pub fn parse_super_users(s: &str) -> Result<Vec<String>, AclError> {
    let mut out: Vec<String> = Vec::new();
    for part in s.split([';', ',']).map(str::trim).filter(|p| !p.is_empty()) {
        let p = if part.contains(':') {
            parse_principal(part)?;
            part.to_string()
        } else {
            format!("User:{part}")
        };
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
