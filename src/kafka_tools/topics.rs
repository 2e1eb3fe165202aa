//! kafka-topics.sh: `--create`, `--list`, `--describe`, `--delete` and `--alter
//! --partitions`, with Kafka's output (`Created topic X.`, the describe lines).

use std::collections::BTreeMap;
use std::io::Write;

use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::{
    CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::args::{flag, unsupported, value, Opt, Parsed, Takes};
use super::configs::{self, Entry, DEFAULT_CONFIG, TOPIC};
use super::{is_internal_topic, props, topic_pattern, Connect, ToolError};
use crate::client::{check, create_topics_request, topic_info, Cluster, TopicInfo};

const SPECS: &[Opt] = &[
    value("bootstrap-server"),
    value("command-config"),
    flag("create"),
    flag("list"),
    flag("describe"),
    flag("delete"),
    flag("alter"),
    value("topic"),
    value("topic-id"),
    value("partitions"),
    value("replication-factor"),
    value("config"),
    flag("if-exists"),
    flag("if-not-exists"),
    flag("exclude-internal"),
    flag("topics-with-overrides"),
    flag("under-replicated-partitions"),
    flag("unavailable-partitions"),
    flag("under-min-isr-partitions"),
    flag("at-min-isr-partitions"),
    value("partition-size-limit-per-response"),
    flag("help"),
    flag("version"),
    unsupported(
        "zookeeper",
        Takes::Value,
        "Kafka 3 removed it too: use --bootstrap-server",
    ),
    unsupported(
        "replica-assignment",
        Takes::Value,
        "manual replica placement is not supported",
    ),
    unsupported(
        "delete-config",
        Takes::Value,
        "Kafka 4 dropped it: use kafka-configs.sh --alter --delete-config",
    ),
];

const ACTIONS: &[&str] = &["create", "list", "describe", "delete", "alter"];

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// `--config k=v`, split as Kafka splits it (exactly one `=`, spaces around it dropped).
pub fn parse_topic_config(spec: &str) -> Result<(String, String), ToolError> {
    let parts: Vec<&str> = spec.split('=').collect();
    match parts.as_slice() {
        [k, v] if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(ToolError::Invalid(format!(
            "Invalid topic config '{spec}': all configs to be added must be in the format \"key=val\"."
        ))),
    }
}

fn check_args(p: &Parsed) -> Result<(), ToolError> {
    if p.count_of(ACTIONS) != 1 {
        return Err(ToolError::Usage(
            "Command must include exactly one action: --list, --describe, --create, --alter or --delete".into(),
        ));
    }
    if !p.has("bootstrap-server") {
        return Err(ToolError::Usage(
            "--bootstrap-server must be specified".into(),
        ));
    }
    let only = |opt: &str, actions: &[&str]| -> Result<(), ToolError> {
        if p.has(opt) && !actions.iter().any(|a| p.has(a)) {
            return Err(ToolError::Usage(format!(
                "--{opt} can only be used with {}",
                actions
                    .iter()
                    .map(|a| format!("--{a}"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            )));
        }
        Ok(())
    };
    only("config", &["create"])?;
    only("partitions", &["create", "alter"])?;
    only("replication-factor", &["create"])?;
    only("if-exists", &["alter", "delete", "describe"])?;
    only("if-not-exists", &["create"])?;
    only("exclude-internal", &["list", "describe"])?;
    for report in [
        "topics-with-overrides",
        "under-replicated-partitions",
        "unavailable-partitions",
        "under-min-isr-partitions",
        "at-min-isr-partitions",
        "topic-id",
        "partition-size-limit-per-response",
    ] {
        only(report, &["describe"])?;
    }
    if !p.has("list") && !p.has("describe") && !p.has("topic") {
        return Err(ToolError::Usage(
            "Missing required argument \"[topic]\"".into(),
        ));
    }
    if p.has("alter") && !p.has("partitions") {
        return Err(ToolError::Usage(
            "--alter needs --partitions (to alter topic configs use kafka-configs.sh)".into(),
        ));
    }
    Ok(())
}

pub fn run(argv: &[String]) -> Result<(), ToolError> {
    let Some(p) = super::parse_or_help(
        "kafka-topics.sh",
        "create, delete, describe, or change a topic",
        SPECS,
        argv,
    )?
    else {
        return Ok(());
    };
    check_args(&p)?;
    let client_props = match p.value("command-config") {
        Some(f) => props::load(f)?,
        None => BTreeMap::new(),
    };
    let conn = Connect::new(p.value("bootstrap-server"), &client_props, None)?;
    if p.has("create") {
        return create(&p, &conn);
    }
    let mut cluster = conn.cluster()?;
    if p.has("list") {
        list(&p, &mut cluster)
    } else if p.has("describe") {
        describe(&p, &mut cluster)
    } else if p.has("delete") {
        delete(&p, &mut cluster)
    } else {
        alter(&p, &mut cluster)
    }
}

fn create(p: &Parsed, conn: &Connect) -> Result<(), ToolError> {
    let name = p.value("topic").unwrap_or_default().to_string();
    let partitions = p.number::<i32>("partitions")?;
    let rf = p.number::<i32>("replication-factor")?;
    if rf.is_some_and(|r| !(1..=i16::MAX as i32).contains(&r)) {
        return Err(ToolError::Invalid(format!(
            "The replication factor must be between 1 and {} inclusive",
            i16::MAX
        )));
    }
    if partitions.is_some_and(|n| n < 1) {
        return Err(ToolError::Invalid(
            "The partitions must be greater than 0".into(),
        ));
    }
    let configs = p
        .values("config")
        .into_iter()
        .map(parse_topic_config)
        .collect::<Result<Vec<_>, _>>()?;
    let mut cluster = conn.cluster()?;
    let c = cluster.any();
    let v = c.version::<CreateTopicsRequest>()?;
    // -1 (the broker's default) needs CreateTopics v4.
    let default = if v >= 4 { -1 } else { 1 };
    let req = create_topics_request(
        &name,
        partitions.unwrap_or(default),
        rf.map_or(default as i16, |r| r as i16),
        &configs,
    );
    let resp = c.call_at(v, &req)?;
    for t in &resp.topics {
        // 36: TOPIC_ALREADY_EXISTS, fine with --if-not-exists.
        if t.error_code == 36 && p.has("if-not-exists") {
            return Ok(());
        }
        if t.error_code != 0 {
            return Err(ToolError::Failed(
                t.error_message
                    .as_deref()
                    .filter(|m| !m.is_empty())
                    .map(str::to_string)
                    .unwrap_or_else(|| crate::client::error_name(t.error_code)),
            ));
        }
    }
    c.wait_for_topic(&name, partitions.unwrap_or(1))?;
    say!("Created topic {name}.");
    Ok(())
}

/// Every topic (with its metadata), sorted by name.
fn all_topics(cluster: &mut Cluster) -> Result<Vec<TopicInfo>, ToolError> {
    let resp = cluster.metadata(None)?;
    let mut out: Vec<TopicInfo> = resp
        .topics
        .iter()
        .filter(|t| t.error_code == 0)
        .map(topic_info)
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The topics `--topic` (a pattern) and `--exclude-internal` select.
fn selected(p: &Parsed, cluster: &mut Cluster) -> Result<Vec<TopicInfo>, ToolError> {
    let exclude = p.has("exclude-internal");
    let pattern = p.value("topic").map(topic_pattern).transpose()?;
    Ok(all_topics(cluster)?
        .into_iter()
        .filter(|t| !(exclude && (t.internal || is_internal_topic(&t.name))))
        .filter(|t| pattern.as_ref().is_none_or(|re| re.is_match(&t.name)))
        .collect())
}

/// Kafka's check that a named topic matched something (unless `--if-exists`).
fn require_found(p: &Parsed, found: &[TopicInfo]) -> Result<(), ToolError> {
    if let Some(t) = p.value("topic").filter(|t| !t.is_empty()) {
        if found.is_empty() && !p.has("if-exists") {
            return Err(ToolError::Invalid(format!(
                "Topic '{t}' does not exist as expected"
            )));
        }
    }
    Ok(())
}

fn list(p: &Parsed, cluster: &mut Cluster) -> Result<(), ToolError> {
    let names: Vec<String> = selected(p, cluster)?.into_iter().map(|t| t.name).collect();
    // Kafka joins the names with newlines and prints that line (so an empty list is an
    // empty line).
    say!("{}", names.join("\n"));
    Ok(())
}

fn ids(v: &[i32]) -> String {
    v.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

/// The first line of a topic's description.
pub fn topic_line(t: &TopicInfo, configs: &[Entry]) -> String {
    let configs = configs
        .iter()
        .filter(|e| e.source != DEFAULT_CONFIG)
        .map(|e| format!("{}={}", e.name, e.value.as_deref().unwrap_or("null")))
        .collect::<Vec<_>>()
        .join(",");
    let id = if t.id.is_empty() || t.id == "00000000-0000-0000-0000-000000000000" {
        String::new()
    } else {
        format!("\tTopicId: {}", kafka_uuid(&t.id))
    };
    format!(
        "Topic: {}{id}\tPartitionCount: {}\tReplicationFactor: {}\tConfigs: {configs}",
        t.name,
        t.partitions.len(),
        t.partitions.first().map_or(0, |p| p.replicas.len()),
    )
}

/// A topic id as Kafka prints it (URL-safe base64 of the 16 bytes, no padding), from
/// the hyphenated form; anything else is printed as given.
pub fn kafka_uuid(id: &str) -> String {
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    match bytes {
        Some(b) if b.len() == 16 => base64_url(&b),
        _ => id.to_string(),
    }
}

fn base64_url(data: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (*b as u32) << (16 - 8 * i));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// One partition's line (leading tab); ELR fields are "N/A" as Kafka prints them when it
/// learnt the partitions from Metadata.
pub fn partition_line(topic: &str, p: &crate::client::PartitionInfo) -> String {
    format!(
        "\tTopic: {topic}\tPartition: {}\tLeader: {}\tReplicas: {}\tIsr: {}\tElr: N/A\tLastKnownElr: N/A",
        p.index,
        if p.leader < 0 {
            "none".to_string()
        } else {
            p.leader.to_string()
        },
        ids(&p.replicas),
        ids(&p.isr),
    )
}

fn describe(p: &Parsed, cluster: &mut Cluster) -> Result<(), ToolError> {
    let topics = match p.value("topic-id") {
        Some(id) => {
            let found: Vec<TopicInfo> = all_topics(cluster)?
                .into_iter()
                .filter(|t| t.id == id || kafka_uuid(&t.id) == id)
                .collect();
            if found.is_empty() && !p.has("if-exists") {
                return Err(ToolError::Invalid(format!(
                    "TopicId '{id}' does not exist as expected"
                )));
            }
            found
        }
        None => {
            let found = selected(p, cluster)?;
            require_found(p, &found)?;
            found
        }
    };
    if topics.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = topics.iter().map(|t| t.name.clone()).collect();
    let configs = configs::describe(cluster, TOPIC, &names, false)?;
    cluster.metadata(Some(&[]))?;
    let live: Vec<i32> = cluster.brokers.keys().copied().collect();
    let overrides_only = p.has("topics-with-overrides");
    let reports = [
        "under-replicated-partitions",
        "unavailable-partitions",
        "under-min-isr-partitions",
        "at-min-isr-partitions",
    ];
    let reporting = reports.iter().any(|r| p.has(r));
    let mut out = std::io::stdout().lock();
    for t in &topics {
        let entries = configs.get(&t.name).map(Vec::as_slice).unwrap_or_default();
        let has_overrides = entries.iter().any(|e| e.source != DEFAULT_CONFIG);
        if !reporting && (!overrides_only || has_overrides) && !t.partitions.is_empty() {
            writeln!(out, "{}", topic_line(t, entries))?;
        }
        if overrides_only {
            continue;
        }
        let min_isr: usize = entries
            .iter()
            .find(|e| e.name == "min.insync.replicas")
            .and_then(|e| e.value.as_deref())
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        for part in &t.partitions {
            let under_replicated = part.replicas.len() > part.isr.len();
            let unavailable = part.leader < 0 || !live.contains(&part.leader);
            let under_min_isr = part.leader < 0 || part.isr.len() < min_isr;
            let at_min_isr = part.isr.len() == min_isr;
            let show = !reporting
                || (p.has("under-replicated-partitions") && under_replicated)
                || (p.has("unavailable-partitions") && unavailable)
                || (p.has("under-min-isr-partitions") && under_min_isr)
                || (p.has("at-min-isr-partitions") && at_min_isr);
            if show {
                writeln!(out, "{}", partition_line(&t.name, part))?;
            }
        }
    }
    Ok(())
}

fn delete(p: &Parsed, cluster: &mut Cluster) -> Result<(), ToolError> {
    let topics = selected(p, cluster)?;
    require_found(p, &topics)?;
    if topics.is_empty() {
        return Ok(());
    }
    let c = cluster.any();
    let v = c.version::<DeleteTopicsRequest>()?;
    let req = crate::admin::topic::delete_topics_request(topics.iter().map(|t| t.name.as_str()), v);
    let resp = c.call_at(v, &req)?;
    for r in &resp.responses {
        let name = r.name.as_ref().map(|n| n.to_string()).unwrap_or_default();
        check(
            || format!("cannot delete topic {name}"),
            r.error_code,
            r.error_message.as_deref(),
        )?;
    }
    Ok(())
}

fn alter(p: &Parsed, cluster: &mut Cluster) -> Result<(), ToolError> {
    let count = p.number::<i32>("partitions")?.unwrap_or(0);
    let topics = selected(p, cluster)?;
    require_found(p, &topics)?;
    if topics.is_empty() {
        return Ok(());
    }
    let req = CreatePartitionsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(
            topics
                .iter()
                .map(|t| {
                    CreatePartitionsTopic::default()
                        .with_name(TopicName(s(&t.name)))
                        .with_count(count)
                        .with_assignments(None)
                })
                .collect(),
        );
    let resp = cluster.any().call(&req)?;
    for r in &resp.results {
        check(
            || format!("cannot add partitions to topic {}", r.name.0),
            r.error_code,
            r.error_message.as_deref(),
        )?;
    }
    for t in &topics {
        cluster.any().wait_for_topic(&t.name, count)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::PartitionInfo;

    #[test]
    fn topic_configs_split_like_kafka() {
        assert_eq!(
            parse_topic_config("retention.ms = 100").unwrap(),
            ("retention.ms".into(), "100".into())
        );
        assert!(parse_topic_config("a=b=c").is_err());
        assert!(parse_topic_config("novalue").is_err());
        assert!(parse_topic_config("=x").is_err());
    }

    #[test]
    fn ids_print_as_kafka_does() {
        // Kafka's Uuid.toString is URL-safe base64 without padding (22 characters).
        assert_eq!(
            kafka_uuid("00000000-0000-0000-0000-000000000001"),
            "AAAAAAAAAAAAAAAAAAAAAQ"
        );
        assert_eq!(
            kafka_uuid("fbffffff-ffff-ffff-ffff-ffffffffffff"),
            format!("-{}w", "_".repeat(20))
        );
        assert_eq!(kafka_uuid("not-a-uuid"), "not-a-uuid");
    }

    #[test]
    fn describe_lines() {
        let t = TopicInfo {
            name: "orders".into(),
            id: "00000000-0000-0000-0000-000000000001".into(),
            internal: false,
            partitions: vec![PartitionInfo {
                index: 0,
                leader: 1,
                replicas: vec![1],
                isr: vec![1],
            }],
        };
        let configs = vec![
            Entry {
                name: "cleanup.policy".into(),
                value: Some("compact".into()),
                source: configs::DYNAMIC_TOPIC_CONFIG,
                sensitive: false,
                synonyms: vec![],
            },
            Entry {
                name: "retention.ms".into(),
                value: Some("604800000".into()),
                source: DEFAULT_CONFIG,
                sensitive: false,
                synonyms: vec![],
            },
        ];
        assert_eq!(
            topic_line(&t, &configs),
            "Topic: orders\tTopicId: AAAAAAAAAAAAAAAAAAAAAQ\tPartitionCount: 1\tReplicationFactor: 1\tConfigs: cleanup.policy=compact"
        );
        assert_eq!(
            partition_line("orders", &t.partitions[0]),
            "\tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\tElr: N/A\tLastKnownElr: N/A"
        );
    }
}
