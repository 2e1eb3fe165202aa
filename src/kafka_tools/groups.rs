//! kafka-consumer-groups.sh: `--list`, `--describe` (offsets, `--members`, `--state`),
//! `--delete`, `--reset-offsets` and `--delete-offsets`, with Kafka's tables.
//!
//! One difference on purpose: where Kafka's tool prints "Error: ..." and still exits 0
//! (an unknown group, a failed delete or reset), this one exits 1.

use std::collections::BTreeMap;
use std::io::Write;

use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::{
    ConsumerGroupDescribeRequest, DeleteGroupsRequest, DescribeGroupsRequest, GroupId,
    ListGroupsRequest, OffsetDeleteRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::args::{flag, maybe_value, unsupported, value, Opt, Parsed, Takes};
use super::{props, Connect, ToolError};
use crate::admin::group::{parse_datetime, reset_target, Reset};
use crate::admin::member::{commit_offsets, decode_assignment, fetch_offsets, Tp};
use crate::admin::offsets_at;
use crate::client::{check, error_name, ClientError, Cluster};

const SPECS: &[Opt] = &[
    value("bootstrap-server"),
    value("command-config"),
    flag("list"),
    flag("describe"),
    flag("delete"),
    flag("reset-offsets"),
    flag("delete-offsets"),
    value("validate-regex"),
    value("group"),
    flag("all-groups"),
    value("topic"),
    flag("all-topics"),
    flag("members"),
    flag("offsets"),
    maybe_value("state"),
    maybe_value("type"),
    flag("to-earliest"),
    flag("to-latest"),
    flag("to-current"),
    value("to-offset"),
    value("shift-by"),
    value("to-datetime"),
    value("by-duration"),
    flag("dry-run"),
    flag("execute"),
    value("timeout"),
    flag("help"),
    flag("version"),
    unsupported("verbose", Takes::Nothing, "the extra columns are not shown"),
    unsupported(
        "from-file",
        Takes::Value,
        "reset plans from CSV files are not read",
    ),
    unsupported(
        "export",
        Takes::Nothing,
        "reset plans are not written as CSV",
    ),
    unsupported(
        "zookeeper",
        Takes::Value,
        "Kafka 3 removed it too: use --bootstrap-server",
    ),
];

const ACTIONS: &[&str] = &[
    "list",
    "describe",
    "delete",
    "reset-offsets",
    "delete-offsets",
    "validate-regex",
];

const RESETS: &[&str] = &[
    "to-earliest",
    "to-latest",
    "to-current",
    "to-offset",
    "shift-by",
    "to-datetime",
    "by-duration",
];

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// `s` left-aligned in `w` columns, as Java's `%-Ns`.
fn pad(s: &str, w: usize) -> String {
    format!("{s:<w$}")
}

fn widest<'a>(min: usize, items: impl Iterator<Item = &'a str>) -> usize {
    items.map(|s| s.chars().count()).fold(min, usize::max)
}

pub fn run(argv: &[String]) -> Result<(), ToolError> {
    let Some(p) = super::parse_or_help(
        "kafka-consumer-groups.sh",
        "list, describe, delete consumer groups and reset their offsets",
        SPECS,
        argv,
    )?
    else {
        return Ok(());
    };
    if p.count_of(ACTIONS) != 1 {
        return Err(ToolError::Usage(
            "Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets, --validate-regex".into(),
        ));
    }
    if let Some(re) = p.value("validate-regex") {
        match regex::Regex::new(re) {
            Ok(_) => say!("The regular expression `{re}` is valid."),
            Err(e) => say!("The regular expression `{re}` is invalid: {e}."),
        }
        return Ok(());
    }
    if !p.has("bootstrap-server") {
        return Err(ToolError::Usage(
            "--bootstrap-server must be specified".into(),
        ));
    }
    let needs_group = p.has("describe") || p.has("delete") || p.has("reset-offsets");
    if needs_group && !p.has("group") && !p.has("all-groups") {
        return Err(ToolError::Usage(
            "Option [describe|delete|reset-offsets] takes one of these options: [all-groups], [group]".into(),
        ));
    }
    if p.has("delete-offsets") && (!p.has("group") || !p.has("topic")) {
        return Err(ToolError::Usage(
            "--delete-offsets needs --group and --topic".into(),
        ));
    }
    let client_props = match p.value("command-config") {
        Some(f) => props::load(f)?,
        None => BTreeMap::new(),
    };
    let timeout = p.number::<u64>("timeout")?;
    let conn = Connect::new(p.value("bootstrap-server"), &client_props, timeout)?;
    let mut cluster = conn.cluster()?;
    if p.has("list") {
        list(&p, &mut cluster)
    } else if p.has("describe") {
        describe(&p, &mut cluster)
    } else if p.has("delete") {
        delete(&p, &mut cluster)
    } else if p.has("reset-offsets") {
        reset(&p, &mut cluster)
    } else {
        delete_offsets(&p, &mut cluster)
    }
}

/// A group as ListGroups shows it.
struct Listed {
    id: String,
    state: String,
    kind: String,
}

/// Consumer groups (protocol type "consumer", or none: offsets only) of every broker.
fn list_groups(cluster: &mut Cluster) -> Result<Vec<Listed>, ToolError> {
    cluster.metadata(Some(&[]))?;
    let ids: Vec<i32> = cluster.brokers.keys().copied().collect();
    let mut out: BTreeMap<String, Listed> = BTreeMap::new();
    for id in ids {
        let resp = cluster.broker(id)?.call(&ListGroupsRequest::default())?;
        check(|| "ListGroups".into(), resp.error_code, None)?;
        for g in resp.groups {
            if !matches!(g.protocol_type.as_str(), "consumer" | "") {
                continue;
            }
            let kind = match g.group_type.as_str() {
                "classic" => "Classic",
                "consumer" => "Consumer",
                _ => "Unknown",
            };
            out.insert(
                g.group_id.to_string(),
                Listed {
                    id: g.group_id.to_string(),
                    state: if g.group_state.is_empty() {
                        "Unknown".into()
                    } else {
                        g.group_state.to_string()
                    },
                    kind: kind.into(),
                },
            );
        }
    }
    Ok(out.into_values().collect())
}

fn list(p: &Parsed, cluster: &mut Cluster) -> Result<(), ToolError> {
    let groups = list_groups(cluster)?;
    let mut out = std::io::stdout().lock();
    let with_type = p.has("type");
    let with_state = p.has("state");
    if !with_type && !with_state {
        for g in &groups {
            writeln!(out, "{}", g.id)?;
        }
        return Ok(());
    }
    let wanted = |opt: &str, valid: &[&str]| -> Result<Vec<String>, ToolError> {
        let Some(v) = p.value(opt).filter(|v| !v.trim().is_empty()) else {
            return Ok(Vec::new());
        };
        let list: Vec<String> = v.split(',').map(|x| x.trim().to_lowercase()).collect();
        if let Some(bad) = list.iter().find(|x| !valid.contains(&x.as_str())) {
            return Err(ToolError::Invalid(format!(
                "Invalid {opt} '{bad}' in '{v}'. Valid values are: {}",
                valid.join(", ")
            )));
        }
        Ok(list)
    };
    let states = wanted(
        "state",
        &[
            "preparingrebalance",
            "completingrebalance",
            "stable",
            "dead",
            "empty",
            "assigning",
            "reconciling",
        ],
    )?;
    let types = wanted("type", &["classic", "consumer"])?;
    let shown: Vec<&Listed> = groups
        .iter()
        .filter(|g| states.is_empty() || states.contains(&g.state.to_lowercase()))
        .filter(|g| types.is_empty() || types.contains(&g.kind.to_lowercase()))
        .collect();
    let gw = widest(15, shown.iter().map(|g| g.id.as_str())) + 10;
    let line = |id: &str, kind: &str, state: &str| {
        let mut l = pad(id, gw);
        if with_type {
            l.push(' ');
            l.push_str(&pad(kind, 20));
        }
        if with_state {
            l.push(' ');
            l.push_str(&pad(state, 20));
        }
        l
    };
    writeln!(out, "{}", line("GROUP", "TYPE", "STATE"))?;
    for g in shown {
        writeln!(out, "{}", line(&g.id, &g.kind, &g.state))?;
    }
    Ok(())
}

struct Member {
    id: String,
    instance_id: String,
    client_id: String,
    host: String,
    assignment: Vec<Tp>,
}

struct Described {
    state: String,
    strategy: String,
    members: Vec<Member>,
    coordinator: String,
}

/// DescribeGroups of one group; `None` if the group does not exist.
fn describe_group(cluster: &mut Cluster, group: &str) -> Result<Option<Described>, ToolError> {
    let (node, addr) = cluster.coordinator_node(group)?;
    let req = DescribeGroupsRequest::default().with_groups(vec![GroupId(s(group))]);
    let resp = cluster.coordinator(group)?.call(&req)?;
    let Some(g) = resp.groups.into_iter().next() else {
        return Err(ToolError::Failed(format!(
            "group {group} is missing from the DescribeGroups answer"
        )));
    };
    // 69: GROUP_ID_NOT_FOUND. A KIP-848 consumer group is not a classic group: ask
    // ConsumerGroupDescribe, as Kafka's admin client does.
    if g.error_code == 69 || g.group_state.as_str() == "Dead" {
        return describe_consumer_group(cluster, group, format!("{addr}  ({node})"));
    }
    check(
        || format!("group {group}"),
        g.error_code,
        g.error_message.as_deref(),
    )?;
    let consumer = g.protocol_type.as_str() == "consumer";
    Ok(Some(Described {
        state: g.group_state.to_string(),
        strategy: g.protocol_data.to_string(),
        coordinator: format!("{addr}  ({node})"),
        members: g
            .members
            .iter()
            .map(|m| Member {
                id: m.member_id.to_string(),
                instance_id: m
                    .group_instance_id
                    .as_ref()
                    .map(|i| i.to_string())
                    .unwrap_or_default(),
                client_id: m.client_id.to_string(),
                host: m.client_host.to_string(),
                assignment: if consumer {
                    decode_assignment(&m.member_assignment)
                } else {
                    Vec::new()
                },
            })
            .collect(),
    }))
}

/// ConsumerGroupDescribe of a KIP-848 group; `None` if the broker does not know it (or
/// does not speak the API).
fn describe_consumer_group(
    cluster: &mut Cluster,
    group: &str,
    coordinator: String,
) -> Result<Option<Described>, ToolError> {
    let req = ConsumerGroupDescribeRequest::default().with_group_ids(vec![GroupId(s(group))]);
    let resp = match cluster.coordinator(group)?.call(&req) {
        Ok(r) => r,
        Err(ClientError::Unsupported { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let Some(g) = resp.groups.into_iter().next() else {
        return Ok(None);
    };
    // 69: GROUP_ID_NOT_FOUND
    if g.error_code == 69 || g.group_state.as_str() == "Dead" {
        return Ok(None);
    }
    check(
        || format!("group {group}"),
        g.error_code,
        g.error_message.as_deref(),
    )?;
    Ok(Some(Described {
        state: g.group_state.to_string(),
        strategy: g.assignor_name.to_string(),
        coordinator,
        members: g
            .members
            .iter()
            .map(|m| Member {
                id: m.member_id.to_string(),
                instance_id: m
                    .instance_id
                    .as_ref()
                    .map(|i| i.to_string())
                    .unwrap_or_default(),
                client_id: m.client_id.to_string(),
                host: m.client_host.to_string(),
                assignment: m
                    .assignment
                    .topic_partitions
                    .iter()
                    .flat_map(|t| t.partitions.iter().map(|p| (t.topic_name.to_string(), *p)))
                    .collect(),
            })
            .collect(),
    }))
}

/// The groups `--group` / `--all-groups` name.
fn group_ids(p: &Parsed, cluster: &mut Cluster) -> Result<Vec<String>, ToolError> {
    if p.has("all-groups") {
        Ok(list_groups(cluster)?.into_iter().map(|g| g.id).collect())
    } else {
        Ok(p.values("group").into_iter().map(str::to_string).collect())
    }
}

/// Kafka's notes about a group's state; false if there is nothing to show.
fn state_note(group: &str, state: &str) {
    match state {
        "Empty" => eprintln!("\nConsumer group '{group}' has no active members."),
        "PreparingRebalance" | "CompletingRebalance" | "Assigning" | "Reconciling" => {
            eprintln!("\nWarning: Consumer group '{group}' is rebalancing.")
        }
        _ => {}
    }
}

/// One row of the offsets table.
#[derive(Debug, Clone, PartialEq)]
pub struct OffsetRow {
    pub group: String,
    pub topic: String,
    pub partition: i32,
    pub current: Option<i64>,
    pub log_end: Option<i64>,
    pub consumer_id: String,
    pub host: String,
    pub client_id: String,
}

/// Kafka's offsets table: a blank line, the header, the rows.
pub fn offsets_table(rows: &[OffsetRow]) -> String {
    let gw = widest(15, rows.iter().map(|r| r.group.as_str()));
    let tw = widest(15, rows.iter().map(|r| r.topic.as_str()));
    let cw = widest(15, rows.iter().map(|r| r.consumer_id.as_str()));
    let hw = widest(15, rows.iter().map(|r| r.host.as_str()));
    let line = |c: [&str; 9]| {
        format!(
            "\n{} {} {} {} {} {} {} {} {}",
            pad(c[0], gw),
            pad(c[1], tw),
            pad(c[2], 10),
            pad(c[3], 15),
            pad(c[4], 15),
            pad(c[5], 15),
            pad(c[6], cw),
            pad(c[7], hw),
            c[8]
        )
    };
    let mut out = line([
        "GROUP",
        "TOPIC",
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
    ]);
    let dash = |v: Option<i64>| v.map_or("-".to_string(), |o| o.to_string());
    for r in rows {
        let lag = match (r.current.filter(|c| *c != -1), r.log_end) {
            (Some(c), Some(e)) => (e - c).to_string(),
            _ => "-".into(),
        };
        out.push_str(&line([
            &r.group,
            &r.topic,
            &r.partition.to_string(),
            &dash(r.current),
            &dash(r.log_end),
            &lag,
            &r.consumer_id,
            &r.host,
            &r.client_id,
        ]));
    }
    out.push('\n');
    out
}

/// Log end offsets of some partitions, topic by topic (`None` where unknown).
fn log_ends(cluster: &mut Cluster, tps: &[Tp]) -> Result<BTreeMap<Tp, i64>, ToolError> {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (t, p) in tps {
        by_topic.entry(t).or_default().push(*p);
    }
    let mut out = BTreeMap::new();
    for (t, ps) in by_topic {
        let Ok(info) = cluster.topic(t) else { continue };
        let known: Vec<i32> = ps
            .into_iter()
            .filter(|p| {
                info.partitions
                    .iter()
                    .any(|i| i.index == *p && i.leader >= 0)
            })
            .collect();
        for (p, o) in offsets_at(cluster, &info, &known, -1)? {
            out.insert((t.to_string(), p), o);
        }
    }
    Ok(out)
}

fn describe(p: &Parsed, cluster: &mut Cluster) -> Result<(), ToolError> {
    let views = p.count_of(&["members", "state", "offsets"]);
    if views > 1 {
        return Err(ToolError::Usage(
            "only one of --members, --state and --offsets may be given".into(),
        ));
    }
    let mut failed = false;
    let mut out = std::io::stdout().lock();
    for group in group_ids(p, cluster)? {
        let Some(d) = describe_group(cluster, &group)? else {
            writeln!(out, "\nError: Consumer group '{group}' does not exist.")?;
            failed = true;
            continue;
        };
        state_note(&group, &d.state);
        if p.has("state") {
            let gw = widest(15, std::iter::once(group.as_str()));
            let cw = widest(25, std::iter::once(d.coordinator.as_str()));
            let strategy = if d.strategy.is_empty() {
                "-"
            } else {
                d.strategy.as_str()
            };
            let line = |a: &str, b: &str, c: &str, st: &str, n: &str| {
                format!(
                    "\n{} {} {} {} {n}",
                    pad(a, gw),
                    pad(b, cw),
                    pad(c, 20),
                    pad(st, 20)
                )
            };
            write!(
                out,
                "{}",
                line(
                    "GROUP",
                    "COORDINATOR (ID)",
                    "ASSIGNMENT-STRATEGY",
                    "STATE",
                    "#MEMBERS"
                )
            )?;
            write!(
                out,
                "{}",
                line(
                    &group,
                    &d.coordinator,
                    strategy,
                    &d.state,
                    &d.members.len().to_string()
                )
            )?;
            writeln!(out)?;
        } else if p.has("members") {
            write!(out, "{}", members_table(&group, &d.members))?;
        } else {
            let rows = offset_rows(cluster, &group, &d)?;
            if !rows.is_empty() {
                write!(out, "{}", offsets_table(&rows))?;
            }
        }
    }
    out.flush()?;
    if failed {
        return Err(ToolError::Reported);
    }
    Ok(())
}

fn offset_rows(
    cluster: &mut Cluster,
    group: &str,
    d: &Described,
) -> Result<Vec<OffsetRow>, ToolError> {
    let committed = fetch_offsets(cluster, group, None)?;
    let mut members: Vec<&Member> = d
        .members
        .iter()
        .filter(|m| !m.assignment.is_empty())
        .collect();
    // Kafka lists the members with the most partitions first.
    members.sort_by_key(|m| std::cmp::Reverse(m.assignment.len()));
    let mut tps: Vec<Tp> = members
        .iter()
        .flat_map(|m| m.assignment.iter().cloned())
        .collect();
    let unassigned: Vec<Tp> = committed
        .keys()
        .filter(|tp| !tps.contains(tp))
        .cloned()
        .collect();
    tps.extend(unassigned.iter().cloned());
    let ends = log_ends(cluster, &tps)?;
    let row = |tp: &Tp, m: Option<&Member>| OffsetRow {
        group: group.to_string(),
        topic: tp.0.clone(),
        partition: tp.1,
        current: committed.get(tp).copied().filter(|o| *o >= 0),
        log_end: ends.get(tp).copied(),
        consumer_id: m.map_or("-".into(), |m| m.id.clone()),
        host: m.map_or("-".into(), |m| m.host.clone()),
        client_id: m.map_or("-".into(), |m| m.client_id.clone()),
    };
    let mut rows = Vec::new();
    for m in members {
        let mut mine = m.assignment.clone();
        mine.sort();
        rows.extend(mine.iter().map(|tp| row(tp, Some(m))));
    }
    let mut rest = unassigned;
    rest.sort();
    rows.extend(rest.iter().map(|tp| row(tp, None)));
    Ok(rows)
}

/// Kafka's members table (each line ends with a space after #PARTITIONS, as Kafka's).
fn members_table(group: &str, members: &[Member]) -> String {
    let gw = widest(15, std::iter::once(group));
    let cw = widest(15, members.iter().map(|m| m.id.as_str()));
    let iw = widest(17, members.iter().map(|m| m.instance_id.as_str()));
    let hw = widest(15, members.iter().map(|m| m.host.as_str()));
    let lw = widest(15, members.iter().map(|m| m.client_id.as_str()));
    let with_instance = members.iter().any(|m| !m.instance_id.is_empty());
    let line = |g: &str, c: &str, i: &str, h: &str, l: &str, n: &str| {
        let mut s = format!("{} {} ", pad(g, gw), pad(c, cw));
        if with_instance {
            s.push_str(&pad(i, iw));
            s.push(' ');
        }
        s.push_str(&format!("{} {} {} ", pad(h, hw), pad(l, lw), pad(n, 15)));
        s
    };
    let mut out = format!(
        "\n{}\n",
        line(
            "GROUP",
            "CONSUMER-ID",
            "GROUP-INSTANCE-ID",
            "HOST",
            "CLIENT-ID",
            "#PARTITIONS"
        )
    );
    for m in members {
        out.push_str(&line(
            group,
            &m.id,
            &m.instance_id,
            &m.host,
            &m.client_id,
            &m.assignment.len().to_string(),
        ));
        out.push('\n');
    }
    out
}

fn delete(p: &Parsed, cluster: &mut Cluster) -> Result<(), ToolError> {
    let groups = group_ids(p, cluster)?;
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for g in &groups {
        let req = DeleteGroupsRequest::default().with_groups_names(vec![GroupId(s(g))]);
        let resp = cluster.coordinator(g)?.call(&req)?;
        for r in &resp.results {
            if r.error_code == 0 {
                ok.push(format!("'{}'", r.group_id.0));
            } else {
                failed.push((r.group_id.0.to_string(), error_name(r.error_code)));
            }
        }
    }
    if failed.is_empty() {
        say!(
            "Deletion of requested consumer groups ({}) was successful.",
            ok.join(", ")
        );
        return Ok(());
    }
    say!("\nError: Deletion of some consumer groups failed:");
    for (g, e) in &failed {
        say!("* Group '{g}' could not be deleted due to: {e}");
    }
    if !ok.is_empty() {
        say!(
            "\nThese consumer groups were deleted successfully: {}",
            ok.join(", ")
        );
    }
    Err(ToolError::Reported)
}

/// `t` (every partition) or `t:0,2`.
fn topic_partitions(cluster: &mut Cluster, spec: &str) -> Result<Vec<Tp>, ToolError> {
    match spec.split_once(':') {
        Some((t, ps)) => ps
            .split(',')
            .map(|p| {
                p.trim()
                    .parse::<i32>()
                    .map(|p| (t.to_string(), p))
                    .map_err(|_| {
                        ToolError::Invalid(format!(
                            "Invalid partition '{p}' specified in topic arg '{spec}'"
                        ))
                    })
            })
            .collect(),
        None => {
            let info = cluster.topic(spec)?;
            Ok(info
                .partitions
                .iter()
                .map(|p| (spec.to_string(), p.index))
                .collect())
        }
    }
}

/// An ISO-8601 duration such as `PT1H30M`, `P2D`, `-PT10S` (days, hours, minutes,
/// seconds with a fraction), in milliseconds.
pub fn parse_duration(s: &str) -> Result<i64, ToolError> {
    let bad = || ToolError::Invalid(format!("Text cannot be parsed to a Duration: {s}"));
    let (neg, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let rest = rest
        .strip_prefix('P')
        .or_else(|| rest.strip_prefix('p'))
        .ok_or_else(bad)?;
    let (date, time) = match rest.split_once(['T', 't']) {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut ms: f64 = 0.0;
    let mut any = false;
    let mut take = |part: &str, units: &[(char, f64)]| -> Result<(), ToolError> {
        let mut num = String::new();
        let mut next_unit = 0;
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' || c == '-' || c == '+' {
                num.push(c);
                continue;
            }
            let u = c.to_ascii_uppercase();
            let i = units[next_unit..]
                .iter()
                .position(|(n, _)| *n == u)
                .ok_or_else(bad)?;
            let v: f64 = num.parse().map_err(|_| bad())?;
            ms += v * units[next_unit + i].1;
            next_unit += i + 1;
            num.clear();
            any = true;
        }
        if num.is_empty() {
            Ok(())
        } else {
            Err(bad())
        }
    };
    take(date, &[('D', 86_400_000.0)])?;
    if let Some(t) = time {
        if t.is_empty() {
            return Err(bad());
        }
        take(t, &[('H', 3_600_000.0), ('M', 60_000.0), ('S', 1000.0)])?;
    }
    if !any {
        return Err(bad());
    }
    let ms = ms.round() as i64;
    Ok(if neg { -ms } else { ms })
}

fn reset(p: &Parsed, cluster: &mut Cluster) -> Result<(), ToolError> {
    if p.count_of(RESETS) != 1 {
        return Err(ToolError::Usage(format!(
            "--reset-offsets needs exactly one of: {}",
            RESETS
                .iter()
                .map(|r| format!("--{r}"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if p.has("topic") == p.has("all-topics") {
        return Err(ToolError::Usage(
            "One of the reset scopes should be defined: --all-topics, --topic.".into(),
        ));
    }
    if p.has("dry-run") && p.has("execute") {
        return Err(ToolError::Usage(
            "--dry-run and --execute cannot be given together".into(),
        ));
    }
    // None: --to-current (the committed offset, else the log end).
    let how = if p.has("to-earliest") {
        Some(Reset::Earliest)
    } else if p.has("to-latest") {
        Some(Reset::Latest)
    } else if let Some(o) = p.number::<i64>("to-offset")? {
        Some(Reset::Offset(o))
    } else if let Some(d) = p.number::<i64>("shift-by")? {
        Some(Reset::ShiftBy(d))
    } else if p.has("to-current") {
        None
    } else {
        Some(Reset::Datetime)
    };
    let at_time = if let Some(dt) = p.value("to-datetime") {
        Some(parse_datetime(dt).map_err(ToolError::Invalid)?)
    } else if let Some(d) = p.value("by-duration") {
        Some(crate::log::now_ms() - parse_duration(d)?)
    } else {
        None
    };
    let execute = p.has("execute");
    let mut plan: BTreeMap<String, BTreeMap<Tp, i64>> = BTreeMap::new();
    let mut failed = false;
    for group in group_ids(p, cluster)? {
        if let Some(d) = describe_group(cluster, &group)? {
            if !matches!(d.state.as_str(), "Empty" | "Dead") {
                say!(
                    "\nError: Assignments can only be reset if the group '{group}' is inactive, but the current state is {}.",
                    d.state
                );
                failed = true;
                continue;
            }
        }
        let committed = fetch_offsets(cluster, &group, None)?;
        let tps: Vec<Tp> = if p.has("all-topics") {
            committed.keys().cloned().collect()
        } else {
            let mut v = Vec::new();
            for spec in p.values("topic") {
                v.extend(topic_partitions(cluster, spec)?);
            }
            v
        };
        let mut by_topic: BTreeMap<String, Vec<i32>> = BTreeMap::new();
        for (t, part) in &tps {
            by_topic.entry(t.clone()).or_default().push(*part);
        }
        let mut new = BTreeMap::new();
        for (t, parts) in by_topic {
            let info = cluster.topic(&t)?;
            let missing: Vec<String> = parts
                .iter()
                .filter(|x| !info.partitions.iter().any(|i| i.index == **x))
                .map(|x| format!("{t}-{x}"))
                .collect();
            if !missing.is_empty() {
                return Err(ToolError::Failed(format!(
                    "The partitions \"{}\" do not exist",
                    missing.join(",")
                )));
            }
            let earliest = offsets_at(cluster, &info, &parts, -2)?;
            let latest = offsets_at(cluster, &info, &parts, -1)?;
            let by_time = match at_time {
                Some(ms) => offsets_at(cluster, &info, &parts, ms)?,
                None => BTreeMap::new(),
            };
            for part in parts {
                let tp = (t.clone(), part);
                let cur = committed.get(&tp).copied().filter(|o| *o >= 0);
                let lo = earliest.get(&part).copied().unwrap_or(0);
                let hi = latest.get(&part).copied().unwrap_or(0);
                if at_time.is_some() && by_time.get(&part).is_none_or(|o| *o < 0) {
                    say!(
                        "\nWarn: Partition {part} from topic {t} is empty. Falling back to latest known offset."
                    );
                }
                let target = match how {
                    None => cur.unwrap_or(hi),
                    Some(how) => reset_target(how, cur, lo, hi, by_time.get(&part).copied())
                        .map_err(|_| {
                            ToolError::Invalid(format!(
                                "Cannot shift offset for partition {t}-{part} since there is no current committed offset"
                            ))
                        })?,
                };
                new.insert(tp, target);
            }
        }
        if execute && !new.is_empty() {
            let resp = commit_offsets(cluster, &group, -1, "", &new)?;
            for t in &resp.topics {
                for part in &t.partitions {
                    check(
                        || {
                            format!(
                                "cannot commit {}-{} for group {group}",
                                t.name.0, part.partition_index
                            )
                        },
                        part.error_code,
                        None,
                    )?;
                }
            }
        }
        plan.insert(group, new);
    }
    print!("{}", reset_table(&plan));
    if !execute && !p.has("dry-run") {
        eprintln!("Dry run: nothing was committed (add --execute to commit these offsets, or --dry-run to say so).");
    }
    if failed {
        return Err(ToolError::Reported);
    }
    Ok(())
}

/// Kafka's NEW-OFFSET table (nothing but a newline when there is no row).
pub fn reset_table(plan: &BTreeMap<String, BTreeMap<Tp, i64>>) -> String {
    let gw = widest(15, plan.keys().map(String::as_str));
    let tw = widest(
        15,
        plan.values()
            .flat_map(|m| m.keys())
            .map(|(t, _)| t.as_str()),
    );
    let line = |g: &str, t: &str, part: &str, o: &str| {
        format!("\n{} {} {} {o}", pad(g, gw), pad(t, tw), pad(part, 10))
    };
    let mut out = String::new();
    if !plan.is_empty() {
        out.push_str(&line("GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"));
    }
    for (g, m) in plan {
        for ((t, part), o) in m {
            out.push_str(&line(g, t, &part.to_string(), &o.to_string()));
        }
    }
    out.push('\n');
    out
}

fn delete_offsets(p: &Parsed, cluster: &mut Cluster) -> Result<(), ToolError> {
    let group = p.value("group").unwrap_or_default().to_string();
    // (topic, partition or -1) → error, None for success.
    let mut results: BTreeMap<(String, i32), Option<String>> = BTreeMap::new();
    let mut wanted: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for spec in p.values("topic") {
        match topic_partitions(cluster, spec) {
            Ok(tps) => {
                for (t, part) in tps {
                    wanted.entry(t).or_default().push(part);
                }
            }
            Err(ToolError::Client(e)) => {
                results.insert((spec.to_string(), -1), Some(e.to_string()));
            }
            Err(e) => return Err(e),
        }
    }
    let req = OffsetDeleteRequest::default()
        .with_group_id(GroupId(s(&group)))
        .with_topics(
            wanted
                .iter()
                .map(|(t, ps)| {
                    OffsetDeleteRequestTopic::default()
                        .with_name(TopicName(s(t)))
                        .with_partitions(
                            ps.iter()
                                .map(|x| {
                                    OffsetDeleteRequestPartition::default().with_partition_index(*x)
                                })
                                .collect(),
                        )
                })
                .collect(),
        );
    let resp = cluster.coordinator(&group)?.call(&req)?;
    let mut partition_errors = false;
    for t in &resp.topics {
        for part in &t.partitions {
            let err = (part.error_code != 0).then(|| error_name(part.error_code));
            partition_errors |= err.is_some();
            results.insert((t.name.to_string(), part.partition_index), err);
        }
    }
    let top = resp.error_code;
    let ok = top == 0 && !partition_errors && !results.values().any(Option::is_some);
    if top == 0 && !partition_errors {
        say!("Request succeeded for deleting offsets from group {group}.");
    } else if top != 0 {
        say!("\nError: {}", error_name(top));
    } else {
        say!("\nError: Encountered some partition-level error, see the follow-up details.");
    }
    let tw = widest(15, results.keys().map(|(t, _)| t.as_str()));
    let line = |t: &str, part: &str, st: &str| {
        format!("\n{} {} {}", pad(t, tw), pad(part, 10), pad(st, 15))
    };
    let mut out = line("TOPIC", "PARTITION", "STATUS");
    for ((t, part), err) in &results {
        let part = if *part >= 0 {
            part.to_string()
        } else {
            "-".into()
        };
        let status = err
            .as_ref()
            .map_or("Successful".to_string(), |e| format!("Error: {e}"));
        out.push_str(&line(t, &part, &status));
    }
    say!("{out}");
    if ok {
        Ok(())
    } else {
        Err(ToolError::Reported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_table_has_kafkas_columns() {
        let rows = vec![
            OffsetRow {
                group: "g".into(),
                topic: "t".into(),
                partition: 0,
                current: Some(3),
                log_end: Some(5),
                consumer_id: "-".into(),
                host: "-".into(),
                client_id: "-".into(),
            },
            OffsetRow {
                group: "g".into(),
                topic: "t".into(),
                partition: 1,
                current: None,
                log_end: Some(7),
                consumer_id: "c-1".into(),
                host: "/127.0.0.1".into(),
                client_id: "cli".into(),
            },
        ];
        let t = offsets_table(&rows);
        let lines: Vec<&str> = t.split('\n').collect();
        assert_eq!(lines[0], "");
        assert_eq!(
            lines[1],
            "GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID"
        );
        let cols: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(cols, vec!["g", "t", "0", "3", "5", "2", "-", "-", "-"]);
        let cols: Vec<&str> = lines[3].split_whitespace().collect();
        assert_eq!(
            cols,
            vec!["g", "t", "1", "-", "7", "-", "c-1", "/127.0.0.1", "cli"]
        );
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[4], "");
    }

    #[test]
    fn reset_table_lines() {
        let mut plan = BTreeMap::new();
        plan.insert(
            "g".to_string(),
            [(("t".to_string(), 0), 10i64)].into_iter().collect(),
        );
        assert_eq!(
            reset_table(&plan),
            format!(
                "\n{} {} {} NEW-OFFSET\n{} {} {} 10\n",
                pad("GROUP", 15),
                pad("TOPIC", 15),
                pad("PARTITION", 10),
                pad("g", 15),
                pad("t", 15),
                pad("0", 10)
            )
        );
        assert_eq!(reset_table(&BTreeMap::new()), "\n");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("PT1H").unwrap(), 3_600_000);
        assert_eq!(parse_duration("P1DT2H3M4.5S").unwrap(), 93_784_500);
        assert_eq!(parse_duration("PT10M").unwrap(), 600_000);
        assert_eq!(parse_duration("-PT1S").unwrap(), -1000);
        assert!(parse_duration("1H").is_err());
        assert!(parse_duration("PT").is_err());
        assert!(parse_duration("P1H").is_err());
        assert!(parse_duration("PT1S1M").is_err());
    }

    #[test]
    fn members_table_lines() {
        let m = Member {
            id: "m1".into(),
            instance_id: String::new(),
            client_id: "c".into(),
            host: "/1.2.3.4".into(),
            assignment: vec![("t".into(), 0)],
        };
        let t = members_table("g", &[m]);
        let lines: Vec<&str> = t.split('\n').collect();
        assert_eq!(lines[0], "");
        assert!(lines[1].starts_with(
            "GROUP           CONSUMER-ID     HOST            CLIENT-ID       #PARTITIONS"
        ));
        assert_eq!(
            lines[2].split_whitespace().collect::<Vec<_>>(),
            vec!["g", "m1", "/1.2.3.4", "c", "1"]
        );
    }
}
