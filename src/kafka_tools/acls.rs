//! kafka-acls.sh: `--add`, `--remove` and `--list` of ACL bindings with DescribeAcls,
//! CreateAcls and DeleteAcls. A broker that does not offer these APIs makes the tool fail
//! with the broker's answer, never a made-up success.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};

use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::{CreateAclsRequest, DeleteAclsRequest, DescribeAclsRequest};
use kafka_protocol::protocol::StrBytes;

use super::args::{flag, maybe_value, unsupported, value, Opt, Parsed, Takes};
use super::{props, Connect, ToolError};
use crate::client::{check, Cluster};

const SPECS: &[Opt] = &[
    value("bootstrap-server"),
    maybe_value("command-config"),
    flag("add"),
    flag("remove"),
    flag("list"),
    value("topic"),
    flag("cluster"),
    value("group"),
    value("transactional-id"),
    value("delegation-token"),
    value("user-principal"),
    value("resource-pattern-type"),
    value("operation"),
    value("allow-principal"),
    value("deny-principal"),
    maybe_value("principal"),
    value("allow-host"),
    value("deny-host"),
    flag("producer"),
    flag("consumer"),
    flag("idempotent"),
    flag("force"),
    flag("help"),
    flag("version"),
    unsupported(
        "bootstrap-controller",
        Takes::Value,
        "rill has no separate controllers",
    ),
    unsupported(
        "authorizer-properties",
        Takes::Value,
        "only --bootstrap-server is supported",
    ),
];

/// Resource types on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ResourceType {
    Topic = 2,
    Group = 3,
    Cluster = 4,
    TransactionalId = 5,
    DelegationToken = 6,
    User = 7,
}

impl ResourceType {
    fn name(self) -> &'static str {
        match self {
            ResourceType::Topic => "TOPIC",
            ResourceType::Group => "GROUP",
            ResourceType::Cluster => "CLUSTER",
            ResourceType::TransactionalId => "TRANSACTIONAL_ID",
            ResourceType::DelegationToken => "DELEGATION_TOKEN",
            ResourceType::User => "USER",
        }
    }

    fn from_code(c: i8) -> String {
        [
            ResourceType::Topic,
            ResourceType::Group,
            ResourceType::Cluster,
            ResourceType::TransactionalId,
            ResourceType::DelegationToken,
            ResourceType::User,
        ]
        .iter()
        .find(|t| **t as i8 == c)
        .map_or_else(|| format!("UNKNOWN({c})"), |t| t.name().to_string())
    }

    /// The operations an ACL on this resource type may name (besides ALL).
    fn operations(self) -> &'static [Operation] {
        use Operation::*;
        match self {
            ResourceType::Topic => &[
                Read,
                Write,
                Create,
                Describe,
                Delete,
                Alter,
                DescribeConfigs,
                AlterConfigs,
            ],
            ResourceType::Group => &[Read, Describe, Delete],
            ResourceType::Cluster => &[
                Create,
                ClusterAction,
                DescribeConfigs,
                AlterConfigs,
                IdempotentWrite,
                Alter,
                Describe,
            ],
            ResourceType::TransactionalId => &[Describe, Write],
            ResourceType::DelegationToken => &[Describe],
            ResourceType::User => &[CreateTokens, DescribeTokens],
        }
    }
}

/// Pattern types on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PatternType {
    Any = 1,
    Match = 2,
    Literal = 3,
    Prefixed = 4,
}

impl PatternType {
    fn parse(s: &str) -> Result<PatternType, ToolError> {
        match s.trim().to_ascii_uppercase().as_str() {
            "ANY" => Ok(PatternType::Any),
            "MATCH" => Ok(PatternType::Match),
            "LITERAL" => Ok(PatternType::Literal),
            "PREFIXED" => Ok(PatternType::Prefixed),
            _ => Err(ToolError::Usage(format!(
                "--resource-pattern-type: '{s}' is not one of any, match, literal, prefixed"
            ))),
        }
    }

    fn from_code(c: i8) -> &'static str {
        match c {
            1 => "ANY",
            2 => "MATCH",
            3 => "LITERAL",
            4 => "PREFIXED",
            _ => "UNKNOWN",
        }
    }
}

/// ACL operations on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    All = 2,
    Read = 3,
    Write = 4,
    Create = 5,
    Delete = 6,
    Alter = 7,
    Describe = 8,
    ClusterAction = 9,
    DescribeConfigs = 10,
    AlterConfigs = 11,
    IdempotentWrite = 12,
    CreateTokens = 13,
    DescribeTokens = 14,
}

const OPERATIONS: &[(Operation, &str, &str)] = &[
    (Operation::All, "All", "ALL"),
    (Operation::Read, "Read", "READ"),
    (Operation::Write, "Write", "WRITE"),
    (Operation::Create, "Create", "CREATE"),
    (Operation::Delete, "Delete", "DELETE"),
    (Operation::Alter, "Alter", "ALTER"),
    (Operation::Describe, "Describe", "DESCRIBE"),
    (Operation::ClusterAction, "ClusterAction", "CLUSTER_ACTION"),
    (
        Operation::DescribeConfigs,
        "DescribeConfigs",
        "DESCRIBE_CONFIGS",
    ),
    (Operation::AlterConfigs, "AlterConfigs", "ALTER_CONFIGS"),
    (
        Operation::IdempotentWrite,
        "IdempotentWrite",
        "IDEMPOTENT_WRITE",
    ),
    (Operation::CreateTokens, "CreateTokens", "CREATE_TOKENS"),
    (
        Operation::DescribeTokens,
        "DescribeTokens",
        "DESCRIBE_TOKENS",
    ),
];

impl Operation {
    /// "Read", "read", "IdempotentWrite", "IDEMPOTENT_WRITE" …
    pub fn parse(s: &str) -> Result<Operation, ToolError> {
        let flat = |x: &str| x.replace('_', "").to_ascii_lowercase();
        OPERATIONS
            .iter()
            .find(|(_, camel, _)| flat(camel) == flat(s.trim()))
            .map(|(o, _, _)| *o)
            .ok_or_else(|| {
                ToolError::Usage(format!(
                    "--operation: '{s}' is not one of {}",
                    OPERATIONS
                        .iter()
                        .map(|(_, c, _)| *c)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    }

    fn from_code(c: i8) -> String {
        OPERATIONS
            .iter()
            .find(|(o, _, _)| *o as i8 == c)
            .map_or_else(|| format!("UNKNOWN({c})"), |(_, _, n)| n.to_string())
    }
}

const DENY: i8 = 2;
const ALLOW: i8 = 3;

fn permission_name(c: i8) -> &'static str {
    match c {
        DENY => "DENY",
        ALLOW => "ALLOW",
        1 => "ANY",
        _ => "UNKNOWN",
    }
}

/// A resource (or resource filter) as Kafka prints it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Resource {
    pub kind: i8,
    pub name: String,
    pub pattern: i8,
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ResourcePattern(resourceType={}, name={}, patternType={})",
            ResourceType::from_code(self.kind),
            self.name,
            PatternType::from_code(self.pattern)
        )
    }
}

/// An access control entry as Kafka prints it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ace {
    pub principal: String,
    pub host: String,
    pub operation: i8,
    pub permission: i8,
}

impl std::fmt::Display for Ace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "(principal={}, host={}, operation={}, permissionType={})",
            self.principal,
            self.host,
            Operation::from_code(self.operation),
            permission_name(self.permission)
        )
    }
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// `Type:name`, as Kafka requires principals to be written.
fn principal(p: &str) -> Result<String, ToolError> {
    let p = p.trim();
    match p.split_once(':') {
        Some((t, n)) if !t.is_empty() && !n.is_empty() => Ok(p.to_string()),
        _ => Err(ToolError::Usage(format!(
            "principal '{p}' must be in principalType:name format, e.g. User:alice"
        ))),
    }
}

/// The resources the command names.
fn resources(p: &Parsed, pattern: PatternType) -> Vec<(ResourceType, Resource)> {
    let mut out = Vec::new();
    let mut add = |t: ResourceType, names: Vec<&str>| {
        for n in names {
            out.push((
                t,
                Resource {
                    kind: t as i8,
                    name: n.trim().to_string(),
                    pattern: pattern as i8,
                },
            ));
        }
    };
    add(ResourceType::Topic, p.values("topic"));
    add(ResourceType::Group, p.values("group"));
    add(ResourceType::TransactionalId, p.values("transactional-id"));
    add(ResourceType::DelegationToken, p.values("delegation-token"));
    add(ResourceType::User, p.values("user-principal"));
    if pattern == PatternType::Literal && (p.has("cluster") || p.has("idempotent")) {
        out.push((
            ResourceType::Cluster,
            Resource {
                kind: ResourceType::Cluster as i8,
                name: "kafka-cluster".into(),
                pattern: PatternType::Literal as i8,
            },
        ));
    }
    out
}

/// The entries for one resource: principals × operations × hosts, allow and deny.
fn entries(p: &Parsed, ops: &[Operation]) -> Result<BTreeSet<Ace>, ToolError> {
    let mut out = BTreeSet::new();
    for (principals, hosts, permission) in [
        ("allow-principal", "allow-host", ALLOW),
        ("deny-principal", "deny-host", DENY),
    ] {
        let who = p
            .values(principals)
            .into_iter()
            .map(principal)
            .collect::<Result<Vec<_>, _>>()?;
        let from: Vec<String> = if p.has(hosts) {
            p.values(hosts)
                .iter()
                .map(|h| h.trim().to_string())
                .collect()
        } else {
            vec!["*".into()]
        };
        for w in &who {
            for o in ops {
                for h in &from {
                    out.insert(Ace {
                        principal: w.clone(),
                        host: h.clone(),
                        operation: *o as i8,
                        permission,
                    });
                }
            }
        }
    }
    Ok(out)
}

/// Resource → entries to add or remove, with Kafka's --producer/--consumer shorthands.
fn bindings(p: &Parsed, pattern: PatternType) -> Result<Vec<(Resource, BTreeSet<Ace>)>, ToolError> {
    use Operation::*;
    let res = resources(p, pattern);
    if res.is_empty() {
        return Err(ToolError::Usage(
            "You must provide at least one resource: --topic <topic> or --cluster or --group <group> or --delegation-token <Delegation Token ID>".into(),
        ));
    }
    let mut out: BTreeMap<Resource, BTreeSet<Ace>> = BTreeMap::new();
    if !p.has("producer") && !p.has("consumer") {
        let ops = p
            .values("operation")
            .into_iter()
            .map(Operation::parse)
            .collect::<Result<Vec<_>, _>>()?;
        let ops = if ops.is_empty() { vec![All] } else { ops };
        let acl = entries(p, &ops)?;
        for (t, r) in &res {
            if let Some(bad) = ops
                .iter()
                .find(|o| **o != All && !t.operations().contains(o))
            {
                return Err(ToolError::Usage(format!(
                    "ResourceType {} does not support operation {}",
                    t.name(),
                    Operation::from_code(*bad as i8)
                )));
            }
            out.entry(r.clone())
                .or_default()
                .extend(acl.iter().cloned());
        }
    }
    if p.has("producer") {
        for (t, r) in &res {
            let ops: &[Operation] = match t {
                ResourceType::Topic => &[Write, Describe, Create],
                ResourceType::TransactionalId => &[Write, Describe],
                ResourceType::Cluster if p.has("idempotent") => &[IdempotentWrite],
                _ => continue,
            };
            out.entry(r.clone()).or_default().extend(entries(p, ops)?);
        }
    }
    if p.has("consumer") {
        for (t, r) in &res {
            let ops: &[Operation] = match t {
                ResourceType::Topic => &[Read, Describe],
                ResourceType::Group => &[Read],
                _ => continue,
            };
            out.entry(r.clone()).or_default().extend(entries(p, ops)?);
        }
    }
    Ok(out.into_iter().collect())
}

pub fn run(argv: &[String]) -> Result<(), ToolError> {
    let Some(p) = super::parse_or_help("kafka-acls.sh", "add, remove and list ACLs", SPECS, argv)?
    else {
        return Ok(());
    };
    if p.count_of(&["add", "remove", "list"]) != 1 {
        return Err(ToolError::Usage(
            "Command must include exactly one action: --list, --add, --remove.".into(),
        ));
    }
    if !p.has("bootstrap-server") {
        return Err(ToolError::Usage(
            "One of --bootstrap-server or --bootstrap-controller must be specified".into(),
        ));
    }
    if p.has("list")
        && [
            "allow-principal",
            "deny-principal",
            "allow-host",
            "deny-host",
            "producer",
            "consumer",
            "operation",
        ]
        .iter()
        .any(|o| p.has(o))
    {
        return Err(ToolError::Usage(
            "--list takes only resources, --resource-pattern-type and --principal".into(),
        ));
    }
    if p.has("idempotent") && !p.has("producer") {
        return Err(ToolError::Usage("--idempotent goes with --producer".into()));
    }
    let pattern = PatternType::parse(p.value("resource-pattern-type").unwrap_or("literal"))?;
    let client_props = match p.value("command-config") {
        Some(f) => props::load(f)?,
        None => BTreeMap::new(),
    };
    if p.has("add") {
        if matches!(pattern, PatternType::Any | PatternType::Match) {
            return Err(ToolError::Usage(format!(
                "A '--resource-pattern-type' value of '{}' is not valid when adding acls.",
                PatternType::from_code(pattern as i8)
            )));
        }
        let b = bindings(&p, pattern)?;
        if b.iter().any(|(_, a)| a.is_empty()) {
            return Err(ToolError::Usage(
                "You must specify one of: --allow-principal, --deny-principal when trying to add ACLs.".into(),
            ));
        }
        let mut cluster =
            Connect::new(p.value("bootstrap-server"), &client_props, None)?.cluster()?;
        add(&mut cluster, &b)
    } else if p.has("remove") {
        let b = bindings(&p, pattern)?;
        let mut cluster =
            Connect::new(p.value("bootstrap-server"), &client_props, None)?.cluster()?;
        remove(&mut cluster, &b, p.has("force"))
    } else {
        let mut cluster =
            Connect::new(p.value("bootstrap-server"), &client_props, None)?.cluster()?;
        list(&p, &mut cluster, pattern)
    }
}

/// DescribeAcls of one filter (`None`: every binding): resource → entries.
fn describe(
    cluster: &mut Cluster,
    filter: Option<&Resource>,
) -> Result<BTreeMap<Resource, BTreeSet<Ace>>, ToolError> {
    let req = DescribeAclsRequest::default()
        .with_resource_type_filter(filter.map_or(1, |f| f.kind))
        .with_resource_name_filter(filter.map(|f| s(&f.name)))
        .with_pattern_type_filter(filter.map_or(PatternType::Any as i8, |f| f.pattern))
        .with_principal_filter(None)
        .with_host_filter(None)
        .with_operation(1) // ANY
        .with_permission_type(1); // ANY
    let resp = cluster.any().call(&req)?;
    check(
        || "DescribeAcls".into(),
        resp.error_code,
        resp.error_message.as_deref(),
    )?;
    let mut out: BTreeMap<Resource, BTreeSet<Ace>> = BTreeMap::new();
    for r in resp.resources {
        let res = Resource {
            kind: r.resource_type,
            name: r.resource_name.to_string(),
            pattern: r.pattern_type,
        };
        let set = out.entry(res).or_default();
        for a in r.acls {
            set.insert(Ace {
                principal: a.principal.to_string(),
                host: a.host.to_string(),
                operation: a.operation,
                permission: a.permission_type,
            });
        }
    }
    Ok(out)
}

fn add(cluster: &mut Cluster, bindings: &[(Resource, BTreeSet<Ace>)]) -> Result<(), ToolError> {
    let mut out = std::io::stdout().lock();
    for (res, acls) in bindings {
        let existing = describe(cluster, Some(res))?;
        let have = existing.get(res).cloned().unwrap_or_default();
        let mut new = Vec::new();
        for a in acls {
            if have.contains(a) {
                writeln!(out, "Acl (pattern={res}, entry={a}) already exists.")?;
            } else {
                new.push(a.clone());
            }
        }
        if new.is_empty() {
            continue;
        }
        writeln!(
            out,
            "Adding ACLs for resource `{res}`: \n {}\n",
            new.iter()
                .map(|a| format!("\t{a}"))
                .collect::<Vec<_>>()
                .join("\n")
        )?;
        let req = CreateAclsRequest::default().with_creations(
            new.iter()
                .map(|a| {
                    AclCreation::default()
                        .with_resource_type(res.kind)
                        .with_resource_name(s(&res.name))
                        .with_resource_pattern_type(res.pattern)
                        .with_principal(s(&a.principal))
                        .with_host(s(&a.host))
                        .with_operation(a.operation)
                        .with_permission_type(a.permission)
                })
                .collect(),
        );
        let resp = cluster.any().call(&req)?;
        for r in &resp.results {
            check(
                || format!("cannot add ACLs for `{res}`"),
                r.error_code,
                r.error_message.as_deref(),
            )?;
        }
    }
    Ok(())
}

fn confirm(question: &str) -> Result<bool, ToolError> {
    say!("{question}");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().eq_ignore_ascii_case("y"))
}

fn remove(
    cluster: &mut Cluster,
    bindings: &[(Resource, BTreeSet<Ace>)],
    force: bool,
) -> Result<(), ToolError> {
    for (res, acls) in bindings {
        let question = if acls.is_empty() {
            format!("Are you sure you want to delete all ACLs for resource filter `{res}`? (y/n)")
        } else {
            format!(
                "Are you sure you want to remove ACLs: \n {}\n from resource filter `{res}`? (y/n)",
                acls.iter()
                    .map(|a| format!("\t{a}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        };
        if !force && !confirm(&question)? {
            continue;
        }
        let base = DeleteAclsFilter::default()
            .with_resource_type_filter(res.kind)
            .with_resource_name_filter(Some(s(&res.name)))
            .with_pattern_type_filter(res.pattern);
        let filters: Vec<DeleteAclsFilter> = if acls.is_empty() {
            vec![base
                .with_principal_filter(None)
                .with_host_filter(None)
                .with_operation(1)
                .with_permission_type(1)]
        } else {
            acls.iter()
                .map(|a| {
                    base.clone()
                        .with_principal_filter(Some(s(&a.principal)))
                        .with_host_filter(Some(s(&a.host)))
                        .with_operation(a.operation)
                        .with_permission_type(a.permission)
                })
                .collect()
        };
        let resp = cluster
            .any()
            .call(&DeleteAclsRequest::default().with_filters(filters))?;
        for r in &resp.filter_results {
            check(
                || format!("cannot remove ACLs of `{res}`"),
                r.error_code,
                r.error_message.as_deref(),
            )?;
        }
    }
    Ok(())
}

fn list(p: &Parsed, cluster: &mut Cluster, pattern: PatternType) -> Result<(), ToolError> {
    let filters = resources(p, pattern);
    let mut all: BTreeMap<Resource, BTreeSet<Ace>> = BTreeMap::new();
    if filters.is_empty() {
        all = describe(cluster, None)?;
    } else {
        for (_, f) in &filters {
            for (r, a) in describe(cluster, Some(f))? {
                all.entry(r).or_default().extend(a);
            }
        }
    }
    let principals = p
        .values("principal")
        .into_iter()
        .map(principal)
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = std::io::stdout().lock();
    let print = |out: &mut std::io::StdoutLock, m: &BTreeMap<Resource, BTreeSet<Ace>>| {
        for (r, acls) in m {
            writeln!(
                out,
                "Current ACLs for resource `{r}`:\n{}\n",
                acls.iter()
                    .map(|a| format!("\t{a}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            )?;
        }
        Ok::<(), std::io::Error>(())
    };
    if principals.is_empty() {
        print(&mut out, &all)?;
    } else {
        for who in principals {
            writeln!(out, "ACLs for principal `{who}`")?;
            let mine: BTreeMap<Resource, BTreeSet<Ace>> = all
                .iter()
                .map(|(r, a)| {
                    (
                        r.clone(),
                        a.iter().filter(|x| x.principal == who).cloned().collect(),
                    )
                })
                .filter(|(_, a): &(Resource, BTreeSet<Ace>)| !a.is_empty())
                .collect();
            print(&mut out, &mine)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(v: &[&str]) -> Parsed {
        super::super::args::parse(SPECS, &v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap()
    }

    #[test]
    fn operations_parse_in_kafkas_spellings() {
        assert_eq!(Operation::parse("All").unwrap(), Operation::All);
        assert_eq!(Operation::parse("read").unwrap(), Operation::Read);
        assert_eq!(
            Operation::parse("IdempotentWrite").unwrap(),
            Operation::IdempotentWrite
        );
        assert_eq!(
            Operation::parse("DESCRIBE_CONFIGS").unwrap(),
            Operation::DescribeConfigs
        );
        assert!(Operation::parse("Fly").is_err());
    }

    #[test]
    fn bindings_as_librdkafka_asks_for_them() {
        // 0109 / 0115: deny everyone everything on one topic.
        let p = parsed(&[
            "--bootstrap-server",
            "h:1",
            "--add",
            "--deny-principal",
            "User:*",
            "--operation",
            "All",
            "--deny-host",
            "*",
            "--topic",
            "t",
        ]);
        let b = bindings(&p, PatternType::Literal).unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!(
            b[0].0.to_string(),
            "ResourcePattern(resourceType=TOPIC, name=t, patternType=LITERAL)"
        );
        let acls: Vec<String> = b[0].1.iter().map(|a| a.to_string()).collect();
        assert_eq!(
            acls,
            vec!["(principal=User:*, host=*, operation=ALL, permissionType=DENY)"]
        );
    }

    #[test]
    fn shorthands_and_checks() {
        let p = parsed(&[
            "--add",
            "--allow-principal",
            "User:a",
            "--producer",
            "--topic",
            "t",
            "--group",
            "g",
        ]);
        let b = bindings(&p, PatternType::Literal).unwrap();
        // --producer covers topics (Write, Describe, Create), not groups.
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].1.len(), 3);
        let p = parsed(&[
            "--add",
            "--allow-principal",
            "User:a",
            "--operation",
            "Write",
            "--group",
            "g",
        ]);
        assert!(bindings(&p, PatternType::Literal).is_err());
        let p = parsed(&["--add", "--allow-principal", "alice", "--topic", "t"]);
        assert!(bindings(&p, PatternType::Literal).is_err());
        let p = parsed(&["--list"]);
        assert!(bindings(&p, PatternType::Literal).is_err());
    }
}
