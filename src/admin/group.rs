//! `rill group list|describe|reset-offsets|delete`, with kafka-consumer-groups.sh's
//! columns and rules.

use std::collections::BTreeMap;
use std::io::Write;

use clap::{Args, Subcommand};
use kafka_protocol::messages::{
    DeleteGroupsRequest, DescribeGroupsRequest, GroupId, ListGroupsRequest,
};
use kafka_protocol::protocol::StrBytes;

use super::member::{commit_offsets, decode_assignment, fetch_offsets, Tp};
use super::{offsets_at, table, AdminError, Connection};
use crate::client::{check, Cluster};

#[derive(Args, Debug)]
pub struct GroupArgs {
    #[command(subcommand)]
    pub command: GroupCommand,
}

#[derive(Subcommand, Debug)]
pub enum GroupCommand {
    /// List the groups' ids.
    List(ListArgs),
    /// State, members and, per partition, committed offset, log end offset and lag.
    Describe(DescribeArgs),
    /// Move a group's committed offsets (a dry run unless --execute).
    ResetOffsets(ResetArgs),
    /// Delete groups (only groups without members).
    Delete(DeleteArgs),
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Also print each group's state and protocol type.
    #[arg(long)]
    pub state: bool,
    #[command(flatten)]
    pub conn: Connection,
}

#[derive(Args, Debug)]
pub struct DescribeArgs {
    pub group: String,
    #[command(flatten)]
    pub conn: Connection,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("to").required(true).args(
    ["to_earliest", "to_latest", "to_offset", "shift_by", "to_datetime"])))]
#[command(group(clap::ArgGroup::new("which").required(true).args(["topic", "all_topics"])))]
pub struct ResetArgs {
    pub group: String,
    /// TOPIC, or TOPIC:P,P,... for some partitions (repeatable).
    #[arg(long)]
    pub topic: Vec<String>,
    /// Every topic the group has committed offsets for.
    #[arg(long)]
    pub all_topics: bool,
    #[arg(long)]
    pub to_earliest: bool,
    #[arg(long)]
    pub to_latest: bool,
    /// An offset (kept within the log's start and end).
    #[arg(long)]
    pub to_offset: Option<i64>,
    /// Move the committed offset by N (negative: back).
    #[arg(long, allow_hyphen_values = true)]
    pub shift_by: Option<i64>,
    /// The first offset at or after this time: YYYY-MM-DDTHH:mm:SS.sss, with Z or ±HH:MM
    /// (UTC when no zone is given).
    #[arg(long, value_parser = parse_datetime)]
    pub to_datetime: Option<i64>,
    /// Commit the new offsets (default: only show them).
    #[arg(long)]
    pub execute: bool,
    #[command(flatten)]
    pub conn: Connection,
}

#[derive(Args, Debug)]
pub struct DeleteArgs {
    #[arg(required = true)]
    pub groups: Vec<String>,
    #[command(flatten)]
    pub conn: Connection,
}

pub fn run(args: GroupArgs) -> Result<(), AdminError> {
    match args.command {
        GroupCommand::List(a) => list(a),
        GroupCommand::Describe(a) => describe(a),
        GroupCommand::ResetOffsets(a) => reset_offsets(a),
        GroupCommand::Delete(a) => delete(a),
    }
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn list(a: ListArgs) -> Result<(), AdminError> {
    let mut cluster = a.conn.cluster()?;
    cluster.metadata(Some(&[]))?;
    let ids: Vec<i32> = cluster.brokers.keys().copied().collect();
    let mut groups: BTreeMap<String, (String, String)> = BTreeMap::new();
    for id in ids {
        let resp = cluster.broker(id)?.call(&ListGroupsRequest::default())?;
        check(|| "ListGroups".into(), resp.error_code, None)?;
        for g in resp.groups {
            groups.insert(
                g.group_id.to_string(),
                (g.group_state.to_string(), g.protocol_type.to_string()),
            );
        }
    }
    let mut out = std::io::stdout().lock();
    if a.state {
        let mut rows = vec![vec!["GROUP".into(), "STATE".into(), "PROTOCOL-TYPE".into()]];
        rows.extend(groups.into_iter().map(|(g, (st, pt))| vec![g, st, pt]));
        write!(out, "{}", table(&rows))?;
    } else {
        for g in groups.keys() {
            writeln!(out, "{g}")?;
        }
    }
    Ok(())
}

struct Described {
    state: String,
    protocol_type: String,
    protocol: String,
    /// (member id, client id, host, assignment)
    members: Vec<(String, String, String, Vec<Tp>)>,
}

fn describe_group(cluster: &mut Cluster, group: &str) -> Result<Described, AdminError> {
    let req = DescribeGroupsRequest::default().with_groups(vec![GroupId(s(group))]);
    let resp = cluster.coordinator(group)?.call(&req)?;
    let g = resp.groups.into_iter().next().ok_or_else(|| {
        AdminError::Failed(format!(
            "group {group}: missing from the DescribeGroups answer"
        ))
    })?;
    check(
        || format!("group {group}"),
        g.error_code,
        g.error_message.as_deref(),
    )?;
    Ok(Described {
        state: g.group_state.to_string(),
        protocol_type: g.protocol_type.to_string(),
        protocol: g.protocol_data.to_string(),
        members: g
            .members
            .iter()
            .map(|m| {
                (
                    m.member_id.to_string(),
                    m.client_id.to_string(),
                    m.client_host.to_string(),
                    if g.protocol_type.as_str() == "consumer" {
                        decode_assignment(&m.member_assignment)
                    } else {
                        Vec::new()
                    },
                )
            })
            .collect(),
    })
}

/// Log end offsets of these partitions, topic by topic.
fn log_ends(cluster: &mut Cluster, tps: &[Tp], at: i64) -> Result<BTreeMap<Tp, i64>, AdminError> {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (t, p) in tps {
        by_topic.entry(t).or_default().push(*p);
    }
    let mut out = BTreeMap::new();
    for (t, ps) in by_topic {
        let info = cluster.topic(t)?;
        for (p, o) in offsets_at(cluster, &info, &ps, at)? {
            out.insert((t.to_string(), p), o);
        }
    }
    Ok(out)
}

fn describe(a: DescribeArgs) -> Result<(), AdminError> {
    let mut cluster = a.conn.cluster()?;
    let d = describe_group(&mut cluster, &a.group)?;
    let committed = fetch_offsets(&mut cluster, &a.group, None)?;
    if d.state == "Dead" && committed.is_empty() {
        return Err(AdminError::Failed(format!(
            "consumer group {} does not exist",
            a.group
        )));
    }
    let mut owner: BTreeMap<Tp, usize> = BTreeMap::new();
    for (i, m) in d.members.iter().enumerate() {
        for tp in &m.3 {
            owner.insert(tp.clone(), i);
        }
    }
    let mut tps: Vec<Tp> = committed.keys().cloned().collect();
    tps.extend(owner.keys().cloned());
    tps.sort();
    tps.dedup();
    let ends = log_ends(&mut cluster, &tps, -1)?;
    let mut out = std::io::stdout().lock();
    let mut rows = vec![vec![
        "GROUP".into(),
        "STATE".into(),
        "PROTOCOL-TYPE".into(),
        "PROTOCOL".into(),
        "MEMBERS".into(),
    ]];
    let or_dash = |v: &str| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.to_string()
        }
    };
    rows.push(vec![
        a.group.clone(),
        d.state.clone(),
        or_dash(&d.protocol_type),
        or_dash(&d.protocol),
        d.members.len().to_string(),
    ]);
    write!(out, "{}", table(&rows))?;
    if d.members.is_empty() {
        eprintln!("Consumer group '{}' has no active members.", a.group);
    }
    let mut rows = vec![[
        "GROUP",
        "TOPIC",
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
    ]
    .map(String::from)
    .to_vec()];
    for tp in &tps {
        let cur = committed.get(tp).copied().filter(|o| *o >= 0);
        let end = ends.get(tp).copied();
        let lag = match (cur, end) {
            (Some(c), Some(e)) => (e - c).max(0).to_string(),
            _ => "-".into(),
        };
        let m = owner.get(tp).map(|i| &d.members[*i]);
        rows.push(vec![
            a.group.clone(),
            tp.0.clone(),
            tp.1.to_string(),
            cur.map_or("-".into(), |c| c.to_string()),
            end.map_or("-".into(), |e| e.to_string()),
            lag,
            m.map_or("-".into(), |m| m.0.clone()),
            m.map_or("-".into(), |m| m.2.clone()),
            m.map_or("-".into(), |m| m.1.clone()),
        ]);
    }
    writeln!(out)?;
    write!(out, "{}", table(&rows))?;
    if !d.members.is_empty() {
        let mut rows = vec![[
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID",
            "#PARTITIONS",
            "ASSIGNMENT",
        ]
        .map(String::from)
        .to_vec()];
        for m in &d.members {
            let assignment =
                m.3.iter()
                    .map(|(t, p)| format!("{t}-{p}"))
                    .collect::<Vec<_>>()
                    .join(",");
            rows.push(vec![
                m.0.clone(),
                m.2.clone(),
                m.1.clone(),
                m.3.len().to_string(),
                if assignment.is_empty() {
                    "-".into()
                } else {
                    assignment
                },
            ]);
        }
        writeln!(out)?;
        write!(out, "{}", table(&rows))?;
    }
    Ok(())
}

/// How reset-offsets moves an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reset {
    Earliest,
    Latest,
    Offset(i64),
    ShiftBy(i64),
    /// The offset ListOffsets found for the time (-1: none at or after it).
    Datetime,
}

/// The new offset of one partition, kept within [earliest, latest] as Kafka's tool does.
pub fn reset_target(
    how: Reset,
    current: Option<i64>,
    earliest: i64,
    latest: i64,
    at_time: Option<i64>,
) -> Result<i64, String> {
    let clamp = |o: i64| o.clamp(earliest, latest.max(earliest));
    Ok(match how {
        Reset::Earliest => earliest,
        Reset::Latest => latest,
        Reset::Offset(o) => clamp(o),
        Reset::ShiftBy(d) => match current {
            Some(c) => clamp(c.saturating_add(d)),
            None => return Err("no committed offset to shift".into()),
        },
        Reset::Datetime => match at_time {
            Some(o) if o >= 0 => clamp(o),
            _ => latest,
        },
    })
}

/// Parses an ISO-8601 date-time (`2024-05-01T12:00:00.000`, optional `Z` / `±HH:MM`;
/// seconds and fraction optional) into Unix milliseconds. Without a zone: UTC.
pub fn parse_datetime(s: &str) -> Result<i64, String> {
    let bad = || format!("expected YYYY-MM-DDTHH:mm:SS.sss[Z|±HH:MM], got {s:?}");
    let (date, time) = s.split_once('T').ok_or_else(bad)?;
    let mut d = date.split('-');
    let num = |x: Option<&str>, lo: i64, hi: i64| -> Result<i64, String> {
        let v: i64 = x.ok_or_else(bad)?.parse().map_err(|_| bad())?;
        if (lo..=hi).contains(&v) {
            Ok(v)
        } else {
            Err(bad())
        }
    };
    let (y, mo, day) = (
        num(d.next(), 1970, 9999)?,
        num(d.next(), 1, 12)?,
        num(d.next(), 1, 31)?,
    );
    if d.next().is_some() {
        return Err(bad());
    }
    let (clock, offset_min) = if let Some(c) = time.strip_suffix('Z') {
        (c, 0)
    } else if let Some(i) = time.rfind(['+', '-']) {
        let (c, z) = time.split_at(i);
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let z = z[1..].replace(':', "");
        if z.len() != 4 {
            return Err(bad());
        }
        let h = num(Some(&z[..2]), 0, 23)?;
        let m = num(Some(&z[2..]), 0, 59)?;
        (c, sign * (h * 60 + m))
    } else {
        (time, 0)
    };
    let mut t = clock.split(':');
    let h = num(t.next(), 0, 23)?;
    let mi = num(t.next(), 0, 59)?;
    let (sec, ms) = match t.next() {
        None => (0, 0),
        Some(x) => match x.split_once('.') {
            None => (num(Some(x), 0, 59)?, 0),
            Some((a, f)) => {
                if f.is_empty() || f.len() > 3 || !f.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                let frac: i64 = format!("{f:0<3}").parse().map_err(|_| bad())?;
                (num(Some(a), 0, 59)?, frac)
            }
        },
    };
    if t.next().is_some() {
        return Err(bad());
    }
    // Days from the civil date (proleptic Gregorian).
    let (yy, mm) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * mm + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    Ok(secs * 1000 + ms)
}

/// "t" → (t, None); "t:0,2" → (t, Some([0, 2])).
fn parse_topic_spec(s: &str) -> Result<(String, Option<Vec<i32>>), AdminError> {
    match s.split_once(':') {
        None => Ok((s.to_string(), None)),
        Some((t, ps)) => {
            let parts = ps
                .split(',')
                .map(|p| p.trim().parse::<i32>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| {
                    AdminError::Failed(format!("bad --topic {s:?}: expected TOPIC:P,P"))
                })?;
            Ok((t.to_string(), Some(parts)))
        }
    }
}

fn reset_offsets(a: ResetArgs) -> Result<(), AdminError> {
    let mut cluster = a.conn.cluster()?;
    let d = describe_group(&mut cluster, &a.group)?;
    if !matches!(d.state.as_str(), "Empty" | "Dead") {
        return Err(AdminError::Failed(format!(
            "assignments can only be reset if the group '{}' is inactive, but the current state is {}",
            a.group, d.state
        )));
    }
    let committed = fetch_offsets(&mut cluster, &a.group, None)?;
    let mut wanted: Vec<(String, Option<Vec<i32>>)> = Vec::new();
    if a.all_topics {
        let mut ts: Vec<String> = committed.keys().map(|(t, _)| t.clone()).collect();
        ts.dedup();
        wanted.extend(ts.into_iter().map(|t| (t, None)));
    }
    for spec in &a.topic {
        wanted.push(parse_topic_spec(spec)?);
    }
    let how = match (a.to_earliest, a.to_latest, a.to_offset, a.shift_by) {
        (true, ..) => Reset::Earliest,
        (_, true, ..) => Reset::Latest,
        (_, _, Some(o), _) => Reset::Offset(o),
        (_, _, _, Some(d)) => Reset::ShiftBy(d),
        _ => Reset::Datetime,
    };
    let mut new: BTreeMap<Tp, i64> = BTreeMap::new();
    for (t, parts) in wanted {
        let info = cluster.topic(&t)?;
        let parts = parts.unwrap_or_else(|| info.partitions.iter().map(|p| p.index).collect());
        let earliest = offsets_at(&mut cluster, &info, &parts, -2)?;
        let latest = offsets_at(&mut cluster, &info, &parts, -1)?;
        let at_time = match a.to_datetime {
            Some(ms) => offsets_at(&mut cluster, &info, &parts, ms)?,
            None => BTreeMap::new(),
        };
        for p in parts {
            let tp = (t.clone(), p);
            let cur = committed.get(&tp).copied().filter(|o| *o >= 0);
            let target = reset_target(
                how,
                cur,
                earliest.get(&p).copied().unwrap_or(0),
                latest.get(&p).copied().unwrap_or(0),
                at_time.get(&p).copied(),
            )
            .map_err(|e| AdminError::Failed(format!("{t}-{p}: {e}")))?;
            new.insert(tp, target);
        }
    }
    if a.execute && !new.is_empty() {
        let resp = commit_offsets(&mut cluster, &a.group, -1, "", &new)?;
        for t in &resp.topics {
            for p in &t.partitions {
                check(
                    || {
                        format!(
                            "cannot commit {}-{} for group {}",
                            t.name.0, p.partition_index, a.group
                        )
                    },
                    p.error_code,
                    None,
                )?;
            }
        }
    }
    let mut rows = vec![["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]
        .map(String::from)
        .to_vec()];
    for ((t, p), o) in &new {
        rows.push(vec![
            a.group.clone(),
            t.clone(),
            p.to_string(),
            o.to_string(),
        ]);
    }
    let mut out = std::io::stdout().lock();
    write!(out, "{}", table(&rows))?;
    if !a.execute {
        eprintln!("Dry run: nothing was committed (add --execute to commit these offsets).");
    }
    Ok(())
}

fn delete(a: DeleteArgs) -> Result<(), AdminError> {
    let mut cluster = a.conn.cluster()?;
    let mut failed = Vec::new();
    for g in &a.groups {
        let req = DeleteGroupsRequest::default().with_groups_names(vec![GroupId(s(g))]);
        let resp = cluster.coordinator(g)?.call(&req)?;
        for r in &resp.results {
            match check(
                || format!("cannot delete group {}", r.group_id.0),
                r.error_code,
                None,
            ) {
                Ok(()) => println!("Deleted consumer group '{}'.", r.group_id.0),
                Err(e) => failed.push(e.to_string()),
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(AdminError::Failed(failed.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_targets_follow_kafkas_rules() {
        // earliest 10, latest 50, committed 30
        let t = |how, cur, at| reset_target(how, cur, 10, 50, at);
        assert_eq!(t(Reset::Earliest, Some(30), None), Ok(10));
        assert_eq!(t(Reset::Latest, Some(30), None), Ok(50));
        assert_eq!(t(Reset::Offset(20), None, None), Ok(20));
        assert_eq!(t(Reset::Offset(5), None, None), Ok(10));
        assert_eq!(t(Reset::Offset(99), None, None), Ok(50));
        assert_eq!(t(Reset::ShiftBy(-5), Some(30), None), Ok(25));
        assert_eq!(t(Reset::ShiftBy(-50), Some(30), None), Ok(10));
        assert_eq!(t(Reset::ShiftBy(100), Some(30), None), Ok(50));
        assert!(t(Reset::ShiftBy(1), None, None).is_err());
        assert_eq!(t(Reset::Datetime, None, Some(42)), Ok(42));
        assert_eq!(t(Reset::Datetime, None, Some(-1)), Ok(50));
    }

    #[test]
    fn datetimes_parse_as_iso_8601() {
        assert_eq!(parse_datetime("1970-01-01T00:00:00.000"), Ok(0));
        assert_eq!(parse_datetime("1970-01-01T00:00:01Z"), Ok(1000));
        assert_eq!(
            parse_datetime("2024-02-29T12:34:56.789Z"),
            Ok(1_709_210_096_789)
        );
        assert_eq!(
            parse_datetime("2024-02-29T14:34:56.789+02:00"),
            Ok(1_709_210_096_789)
        );
        assert_eq!(
            parse_datetime("2024-02-29T11:34:56.789-0100"),
            Ok(1_709_210_096_789)
        );
        assert_eq!(parse_datetime("2024-02-29T12:34"), Ok(1_709_210_040_000));
        assert_eq!(
            parse_datetime("2024-02-29T12:34:56.7Z"),
            Ok(1_709_210_096_700)
        );
        assert!(parse_datetime("2024-02-29").is_err());
        assert!(parse_datetime("2024-13-01T00:00").is_err());
        assert!(parse_datetime("yesterday").is_err());
    }

    #[test]
    fn topic_specs() {
        assert_eq!(parse_topic_spec("t").unwrap(), ("t".into(), None));
        assert_eq!(
            parse_topic_spec("t:0,2").unwrap(),
            ("t".into(), Some(vec![0, 2]))
        );
        assert!(parse_topic_spec("t:x").is_err());
    }
}
