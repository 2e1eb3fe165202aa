//! kafka-configs.sh: `--describe` and `--alter` of topic, broker and group configs
//! (DescribeConfigs with synonyms, IncrementalAlterConfigs), with Kafka's output lines.

use std::collections::BTreeMap;
use std::io::Write;

use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{
    DescribeConfigsRequest, IncrementalAlterConfigsRequest, ListConfigResourcesRequest,
    ListGroupsRequest,
};
use kafka_protocol::protocol::StrBytes;

use super::args::{flag, maybe_value, unsupported, value, Opt, Parsed, Takes};
use super::{props, Connect, ToolError};
use crate::client::{check, ClientError, Cluster};

/// ConfigResource types on the wire.
pub const TOPIC: i8 = 2;
pub const BROKER: i8 = 4;
pub const GROUP: i8 = 32;

/// DescribeConfigs config sources.
pub const DYNAMIC_TOPIC_CONFIG: i8 = 1;
pub const DYNAMIC_BROKER_CONFIG: i8 = 2;
pub const DYNAMIC_DEFAULT_BROKER_CONFIG: i8 = 3;
pub const DEFAULT_CONFIG: i8 = 5;
pub const DYNAMIC_GROUP_CONFIG: i8 = 8;

/// Kafka's name for a config source (`ConfigEntry.ConfigSource`).
pub fn source_name(source: i8) -> &'static str {
    match source {
        1 => "DYNAMIC_TOPIC_CONFIG",
        2 => "DYNAMIC_BROKER_CONFIG",
        3 => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        4 => "STATIC_BROKER_CONFIG",
        5 => "DEFAULT_CONFIG",
        6 => "DYNAMIC_BROKER_LOGGER_CONFIG",
        7 => "DYNAMIC_CLIENT_METRICS_CONFIG",
        8 => "DYNAMIC_GROUP_CONFIG",
        _ => "UNKNOWN",
    }
}

/// One config as DescribeConfigs described it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub name: String,
    pub value: Option<String>,
    pub source: i8,
    pub sensitive: bool,
    /// (source, name, value), most specific first.
    pub synonyms: Vec<(i8, String, Option<String>)>,
}

impl Entry {
    /// Kafka's describe line: `  name=value sensitive=false synonyms={SOURCE:name=value, ...}`
    /// (a missing value, as for sensitive configs, prints `null` as Java does).
    pub fn describe_line(&self) -> String {
        let synonyms = self
            .synonyms
            .iter()
            .map(|(s, n, v)| format!("{}:{n}={}", source_name(*s), v.as_deref().unwrap_or("null")))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "  {}={} sensitive={} synonyms={{{synonyms}}}",
            self.name,
            self.value.as_deref().unwrap_or("null"),
            self.sensitive
        )
    }
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// DescribeConfigs of some resources of one type: name → entries sorted by name.
pub fn describe(
    cluster: &mut Cluster,
    resource_type: i8,
    names: &[String],
    synonyms: bool,
) -> Result<BTreeMap<String, Vec<Entry>>, ToolError> {
    let req = DescribeConfigsRequest::default()
        .with_include_synonyms(synonyms)
        .with_resources(
            names
                .iter()
                .map(|n| {
                    DescribeConfigsResource::default()
                        .with_resource_type(resource_type)
                        .with_resource_name(s(n))
                        .with_configuration_keys(None)
                })
                .collect(),
        );
    let resp = cluster.any().call(&req)?;
    let mut out = BTreeMap::new();
    for r in resp.results {
        let name = r.resource_name.to_string();
        check(
            || format!("configs of {name}"),
            r.error_code,
            r.error_message.as_deref(),
        )?;
        let mut entries: Vec<Entry> = r
            .configs
            .into_iter()
            .map(|c| Entry {
                name: c.name.to_string(),
                value: c.value.map(|v| v.to_string()),
                source: c.config_source,
                sensitive: c.is_sensitive,
                synonyms: c
                    .synonyms
                    .into_iter()
                    .map(|y| (y.source, y.name.to_string(), y.value.map(|v| v.to_string())))
                    .collect(),
            })
            .collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        out.insert(name, entries);
    }
    Ok(out)
}

const SPECS: &[Opt] = &[
    value("bootstrap-server"),
    value("command-config"),
    flag("describe"),
    flag("alter"),
    flag("all"),
    value("entity-type"),
    value("entity-name"),
    flag("entity-default"),
    value("add-config"),
    value("add-config-file"),
    value("delete-config"),
    value("topic"),
    value("broker"),
    flag("broker-defaults"),
    value("group"),
    flag("help"),
    flag("version"),
    unsupported(
        "bootstrap-controller",
        Takes::Value,
        "rill has no separate controllers",
    ),
    unsupported("client", Takes::Value, "client quotas are not implemented"),
    unsupported(
        "client-defaults",
        Takes::Nothing,
        "client quotas are not implemented",
    ),
    unsupported(
        "user",
        Takes::Value,
        "user quotas and SCRAM credentials are not implemented",
    ),
    unsupported(
        "user-defaults",
        Takes::Nothing,
        "user quotas are not implemented",
    ),
    unsupported("ip", Takes::Value, "connection quotas are not implemented"),
    unsupported(
        "ip-defaults",
        Takes::Nothing,
        "connection quotas are not implemented",
    ),
    unsupported(
        "broker-logger",
        Takes::Value,
        "broker loggers are not exposed",
    ),
    unsupported(
        "client-metrics",
        Takes::Value,
        "client metrics configs are not supported by rill's version of this tool",
    ),
    maybe_value("zookeeper"),
];

/// The entity types this tool handles.
fn resource_type(entity: &str) -> Result<i8, ToolError> {
    match entity {
        "topics" => Ok(TOPIC),
        "brokers" => Ok(BROKER),
        "groups" => Ok(GROUP),
        "clients" | "users" | "ips" | "broker-loggers" | "client-metrics" => {
            Err(ToolError::Usage(format!(
                "--entity-type {entity} is not supported by rill's version of this tool (topics, brokers and groups are)"
            )))
        }
        other => Err(ToolError::Invalid(format!(
            "Invalid entity type {other}, the entity type must be one of topics, brokers, groups"
        ))),
    }
}

/// (entity type, entity name) from `--entity-type/--entity-name/--entity-default` or the
/// shorthand flags; a default entity has the name "".
fn entity(p: &Parsed) -> Result<(String, Option<String>), ToolError> {
    let long = p.has("entity-type") || p.has("entity-name") || p.has("entity-default");
    let short: Vec<(&str, Option<String>)> = [
        ("topic", "topics"),
        ("broker", "brokers"),
        ("group", "groups"),
    ]
    .iter()
    .filter(|(f, _)| p.has(f))
    .map(|(f, t)| (*t, p.value(f).map(str::to_string)))
    .chain(
        p.has("broker-defaults")
            .then_some(("brokers", Some(String::new()))),
    )
    .collect();
    if long && !short.is_empty() {
        return Err(ToolError::Invalid(
            "--entity-{type,name,default} should not be used together with --topic, --broker, --broker-defaults or --group".into(),
        ));
    }
    if short.len() > 1 {
        return Err(ToolError::Invalid(
            "only one entity may be given (rill's version of this tool does not combine entity types)".into(),
        ));
    }
    if let Some((t, n)) = short.into_iter().next() {
        return Ok((t.to_string(), n));
    }
    let types = p.values("entity-type");
    let t = match types.as_slice() {
        [one] => one.to_string(),
        [] => {
            return Err(ToolError::Invalid(
                "At least one entity type must be specified".into(),
            ))
        }
        _ => return Err(ToolError::Invalid(
            "only one --entity-type may be given (users and clients together are not supported)"
                .into(),
        )),
    };
    let name = if p.has("entity-default") {
        Some(String::new())
    } else {
        p.value("entity-name").map(str::to_string)
    };
    Ok((t, name))
}

/// `--add-config`: `k1=v1,k2=[a,b],k3=v3` (commas inside brackets belong to the value,
/// the brackets are dropped), as Kafka splits it.
pub fn parse_add_config(spec: &str) -> Result<Vec<(String, String)>, ToolError> {
    let bad = || {
        ToolError::Invalid(
            "Invalid entity config: all configs to be added must be in the format \"key=val\" or \"key=[val1,val2]\" to group values which contain commas.".into(),
        )
    };
    let mut pairs = Vec::new();
    let mut depth = 0usize;
    let mut cur = String::new();
    let mut parts = Vec::new();
    for c in spec.chars() {
        match c {
            '[' => {
                depth += 1;
                cur.push(c);
            }
            ']' => {
                depth = depth.saturating_sub(1);
                cur.push(c);
            }
            ',' if depth == 0 => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    parts.push(cur);
    for part in parts {
        // Split at '=' outside brackets; exactly one such '=' is allowed.
        let mut depth = 0usize;
        let mut at = Vec::new();
        for (i, c) in part.char_indices() {
            match c {
                '[' => depth += 1,
                ']' => depth = depth.saturating_sub(1),
                '=' if depth == 0 => at.push(i),
                _ => {}
            }
        }
        let [i] = at.as_slice() else {
            return Err(bad());
        };
        let key = part[..*i].trim().to_string();
        let value: String = part[i + 1..]
            .chars()
            .filter(|c| *c != '[' && *c != ']')
            .collect();
        pairs.push((key, value.trim().to_string()));
    }
    for (k, _) in &pairs {
        if !k
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '$' | '.' | '_' | '-'))
        {
            return Err(ToolError::Invalid(format!(
                "Invalid character found for config key: {k}"
            )));
        }
    }
    Ok(pairs)
}

pub fn run(argv: &[String]) -> Result<(), ToolError> {
    let Some(p) = super::parse_or_help(
        "kafka-configs.sh",
        "describe and change topic, broker and group configs",
        SPECS,
        argv,
    )?
    else {
        return Ok(());
    };
    if p.has("zookeeper") {
        return Err(ToolError::Usage(
            "--zookeeper is not supported (Kafka 3 removed it too): use --bootstrap-server".into(),
        ));
    }
    if p.count_of(&["describe", "alter"]) != 1 {
        return Err(ToolError::Usage(
            "Command must include exactly one action: --describe, --alter".into(),
        ));
    }
    if p.has("describe") && (p.has("add-config") || p.has("delete-config")) {
        return Err(ToolError::Usage(
            "--add-config and --delete-config go with --alter, not --describe".into(),
        ));
    }
    if !p.has("bootstrap-server") {
        return Err(ToolError::Usage(
            "--bootstrap-server must be specified".into(),
        ));
    }
    let (etype, ename) = entity(&p)?;
    let rtype = resource_type(&etype)?;
    if rtype == BROKER {
        if let Some(n) = ename.as_deref().filter(|n| !n.is_empty()) {
            if n.parse::<i32>().is_err() {
                return Err(ToolError::Invalid(format!(
                    "The entity name for brokers must be a valid integer broker id, but it is: {n}"
                )));
            }
        }
    }
    let client_props = match p.value("command-config") {
        Some(f) => props::load(f)?,
        None => BTreeMap::new(),
    };
    let conn = Connect::new(p.value("bootstrap-server"), &client_props, None)?;
    let mut cluster = conn.cluster()?;
    if p.has("alter") {
        alter(&p, &mut cluster, &etype, rtype, ename)
    } else {
        describe_entities(&p, &mut cluster, &etype, rtype, ename)
    }
}

/// The source a dynamic value of this entity has.
fn dynamic_source(rtype: i8, name: &str) -> i8 {
    match rtype {
        TOPIC => DYNAMIC_TOPIC_CONFIG,
        GROUP => DYNAMIC_GROUP_CONFIG,
        _ if name.is_empty() => DYNAMIC_DEFAULT_BROKER_CONFIG,
        _ => DYNAMIC_BROKER_CONFIG,
    }
}

fn singular(etype: &str) -> &str {
    etype.strip_suffix('s').unwrap_or(etype)
}

fn group_ids(cluster: &mut Cluster) -> Result<Vec<String>, ToolError> {
    cluster.metadata(Some(&[]))?;
    let ids: Vec<i32> = cluster.brokers.keys().copied().collect();
    let mut out = Vec::new();
    for id in ids {
        let resp = cluster.broker(id)?.call(&ListGroupsRequest::default())?;
        check(|| "ListGroups".into(), resp.error_code, None)?;
        out.extend(resp.groups.into_iter().map(|g| g.group_id.to_string()));
    }
    // Groups that only have configs (ListConfigResources v1); brokers without it: none.
    let req = ListConfigResourcesRequest::default().with_resource_types(vec![GROUP]);
    match cluster.any().call(&req) {
        Ok(resp) if resp.error_code == 0 => out.extend(
            resp.config_resources
                .into_iter()
                .filter(|r| r.resource_type == GROUP)
                .map(|r| r.resource_name.to_string()),
        ),
        Ok(_) | Err(ClientError::Unsupported { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The entities `--describe` covers: the one named (if it exists) or all of the type.
fn entities(
    cluster: &mut Cluster,
    rtype: i8,
    etype: &str,
    name: Option<&str>,
    all: bool,
) -> Result<Option<Vec<String>>, ToolError> {
    let existing: Vec<String> = match rtype {
        TOPIC => {
            let mut v: Vec<String> = cluster
                .metadata(None)?
                .topics
                .iter()
                .filter_map(|t| t.name.as_ref().map(|n| n.to_string()))
                .collect();
            v.sort();
            v
        }
        BROKER => {
            cluster.metadata(Some(&[]))?;
            cluster.brokers.keys().map(i32::to_string).collect()
        }
        _ => group_ids(cluster)?,
    };
    match name {
        Some(n) => {
            let known = existing.iter().any(|e| e == n) || (rtype == BROKER && n.is_empty());
            if !known && !all {
                say!(
                    "The {} '{n}' doesn't exist and doesn't have dynamic config.",
                    singular(etype)
                );
                return Ok(None);
            }
            Ok(Some(vec![n.to_string()]))
        }
        None => {
            let mut v = existing;
            if rtype == BROKER {
                v.push(String::new());
            }
            Ok(Some(v))
        }
    }
}

fn describe_entities(
    p: &Parsed,
    cluster: &mut Cluster,
    etype: &str,
    rtype: i8,
    name: Option<String>,
) -> Result<(), ToolError> {
    let all = p.has("all");
    let Some(names) = entities(cluster, rtype, etype, name.as_deref(), all)? else {
        return Ok(());
    };
    let mut out = std::io::stdout().lock();
    for n in names {
        let described = describe(cluster, rtype, std::slice::from_ref(&n), true)?;
        let entries = described.get(&n).cloned().unwrap_or_default();
        if n.is_empty() {
            writeln!(out, "Default configs for {etype} in the cluster are:")?;
        } else {
            writeln!(
                out,
                "{} configs for {} {n} are:",
                if all { "All" } else { "Dynamic" },
                singular(etype)
            )?;
        }
        let want = dynamic_source(rtype, &n);
        for e in entries.iter().filter(|e| all || e.source == want) {
            writeln!(out, "{}", e.describe_line())?;
        }
    }
    Ok(())
}

fn alter(
    p: &Parsed,
    cluster: &mut Cluster,
    etype: &str,
    rtype: i8,
    name: Option<String>,
) -> Result<(), ToolError> {
    let name = name.ok_or_else(|| {
        ToolError::Invalid(format!(
            "An entity name must be specified with --alter of {etype}"
        ))
    })?;
    if name.is_empty() && rtype != BROKER {
        return Err(ToolError::Invalid(format!(
            "--entity-default is not valid for {etype}"
        )));
    }
    if p.has("add-config") && p.has("add-config-file") {
        return Err(ToolError::Invalid(
            "Only one of --add-config or --add-config-file must be specified".into(),
        ));
    }
    let mut to_set: Vec<(String, String)> = Vec::new();
    if let Some(f) = p.value("add-config-file") {
        to_set.extend(props::load(f)?);
    }
    for spec in p.values("add-config") {
        to_set.extend(parse_add_config(spec)?);
    }
    let to_delete: Vec<String> = p
        .values("delete-config")
        .iter()
        .flat_map(|v| v.split(','))
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .collect();
    if to_set.is_empty() && to_delete.is_empty() {
        return Err(ToolError::Invalid(
            "At least one of --add-config, --add-config-file, or --delete-config must be specified with --alter".into(),
        ));
    }
    // As Kafka's tool does: deleting a config that is not set on the entity is an error.
    if !to_delete.is_empty() {
        let current = describe(cluster, rtype, std::slice::from_ref(&name), false)?;
        let want = dynamic_source(rtype, &name);
        let set: Vec<&str> = current
            .get(&name)
            .into_iter()
            .flatten()
            .filter(|e| e.source == want)
            .map(|e| e.name.as_str())
            .collect();
        let missing: Vec<&str> = to_delete
            .iter()
            .map(String::as_str)
            .filter(|k| !set.contains(k))
            .collect();
        if !missing.is_empty() {
            return Err(ToolError::Invalid(format!(
                "Invalid config(s): {}",
                missing.join(",")
            )));
        }
    }
    let ops: Vec<AlterableConfig> = to_delete
        .iter()
        .map(|k| {
            AlterableConfig::default()
                .with_name(s(k))
                .with_config_operation(1) // DELETE
                .with_value(None)
        })
        .chain(to_set.iter().map(|(k, v)| {
            AlterableConfig::default()
                .with_name(s(k))
                .with_config_operation(0) // SET
                .with_value(Some(s(v)))
        }))
        .collect();
    let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(rtype)
            .with_resource_name(s(&name))
            .with_configs(ops),
    ]);
    let resp = cluster.any().call(&req)?;
    for r in &resp.responses {
        check(
            || format!("cannot alter configs of {} '{name}'", singular(etype)),
            r.error_code,
            r.error_message.as_deref(),
        )?;
    }
    if name.is_empty() {
        say!("Completed updating default config for {etype} in the cluster.");
    } else {
        say!("Completed updating config for {} {name}.", singular(etype));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_config_brackets_and_errors() {
        let got = parse_add_config("a=1,b=[x,y,z],c = 3 ,d=").unwrap();
        assert_eq!(
            got,
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x,y,z".into()),
                ("c".into(), "3".into()),
                ("d".into(), "".into()),
            ]
        );
        assert!(parse_add_config("a").is_err());
        assert!(parse_add_config("a=1=2").is_err());
        assert!(parse_add_config("a b=1").is_err());
        let one = parse_add_config("cleanup.policy=[compact,delete]").unwrap();
        assert_eq!(one[0].1, "compact,delete");
    }

    #[test]
    fn describe_lines_are_kafkas() {
        let e = Entry {
            name: "retention.ms".into(),
            value: Some("1000".into()),
            source: DYNAMIC_TOPIC_CONFIG,
            sensitive: false,
            synonyms: vec![
                (
                    DYNAMIC_TOPIC_CONFIG,
                    "retention.ms".into(),
                    Some("1000".into()),
                ),
                (
                    DEFAULT_CONFIG,
                    "log.retention.hours".into(),
                    Some("168".into()),
                ),
            ],
        };
        assert_eq!(
            e.describe_line(),
            "  retention.ms=1000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=1000, DEFAULT_CONFIG:log.retention.hours=168}"
        );
        let secret = Entry {
            name: "p".into(),
            value: None,
            source: DYNAMIC_BROKER_CONFIG,
            sensitive: true,
            synonyms: vec![],
        };
        assert_eq!(
            secret.describe_line(),
            "  p=null sensitive=true synonyms={}"
        );
    }

    #[test]
    fn entities_from_flags() {
        let p = |v: &[&str]| {
            super::super::args::parse(SPECS, &v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap()
        };
        assert_eq!(
            entity(&p(&["--entity-type", "topics", "--entity-name", "t"])).unwrap(),
            ("topics".into(), Some("t".into()))
        );
        assert_eq!(
            entity(&p(&["--topic", "t"])).unwrap(),
            ("topics".into(), Some("t".into()))
        );
        assert_eq!(
            entity(&p(&["--broker-defaults"])).unwrap(),
            ("brokers".into(), Some(String::new()))
        );
        assert_eq!(
            entity(&p(&["--entity-type", "brokers", "--entity-default"])).unwrap(),
            ("brokers".into(), Some(String::new()))
        );
        assert!(entity(&p(&["--topic", "t", "--entity-type", "topics"])).is_err());
        assert!(entity(&p(&[])).is_err());
        assert!(resource_type("users").is_err());
        assert_eq!(resource_type("groups").unwrap(), GROUP);
    }
}
