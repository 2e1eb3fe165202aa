//! `rill topic create|list|describe|delete|alter-config`.

use std::io::Write;

use clap::{Args, Subcommand};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{
    CreateTopicsRequest, DeleteTopicsRequest, DescribeConfigsRequest,
    IncrementalAlterConfigsRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::{offsets_at, parse_kv, AdminError, Connection};
use crate::client::{check, create_topics_request, Cluster};

/// ConfigResource type of a topic.
const TOPIC_RESOURCE: i8 = 2;
/// DescribeConfigs config_source of a value set on the topic itself.
const DYNAMIC_TOPIC_CONFIG: i8 = 1;

#[derive(Args, Debug)]
pub struct TopicArgs {
    #[command(subcommand)]
    pub command: TopicCommand,
}

#[derive(Subcommand, Debug)]
pub enum TopicCommand {
    /// Create a topic.
    Create(CreateArgs),
    /// List the topics' names.
    List(ListArgs),
    /// Partitions (leader, replicas, in-sync replicas, log start and end offsets) and the
    /// topic's own configs.
    Describe(DescribeArgs),
    /// Delete topics.
    Delete(DeleteArgs),
    /// Set or remove topic configs (IncrementalAlterConfigs).
    AlterConfig(AlterConfigArgs),
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    pub name: String,
    /// Partitions (default: the broker's num.partitions).
    #[arg(long, short = 'p', value_parser = clap::value_parser!(i32).range(1..))]
    pub partitions: Option<i32>,
    /// Replication factor (default: the broker's default.replication.factor).
    #[arg(long, short = 'r', value_parser = clap::value_parser!(i16).range(1..))]
    pub replication_factor: Option<i16>,
    /// A topic config, name=value (repeatable).
    #[arg(long = "config", short = 'c', value_parser = parse_kv)]
    pub configs: Vec<(String, String)>,
    #[command(flatten)]
    pub conn: Connection,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Leave out internal topics (__consumer_offsets, __transaction_state).
    #[arg(long)]
    pub exclude_internal: bool,
    #[command(flatten)]
    pub conn: Connection,
}

#[derive(Args, Debug)]
pub struct DescribeArgs {
    pub name: String,
    #[command(flatten)]
    pub conn: Connection,
}

#[derive(Args, Debug)]
pub struct DeleteArgs {
    #[arg(required = true)]
    pub names: Vec<String>,
    #[command(flatten)]
    pub conn: Connection,
}

#[derive(Args, Debug)]
pub struct AlterConfigArgs {
    pub name: String,
    /// Set a config, name=value (repeatable).
    #[arg(long = "set", value_parser = parse_kv)]
    pub set: Vec<(String, String)>,
    /// Remove a config override, back to its default (repeatable).
    #[arg(long = "delete")]
    pub delete: Vec<String>,
    #[command(flatten)]
    pub conn: Connection,
}

pub fn run(args: TopicArgs) -> Result<(), AdminError> {
    match args.command {
        TopicCommand::Create(a) => create(a),
        TopicCommand::List(a) => list(a),
        TopicCommand::Describe(a) => describe(a),
        TopicCommand::Delete(a) => delete(a),
        TopicCommand::AlterConfig(a) => alter_config(a),
    }
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn create(a: CreateArgs) -> Result<(), AdminError> {
    let mut cluster = a.conn.cluster()?;
    let conn = cluster.any();
    let v = conn.version::<CreateTopicsRequest>()?;
    // -1 (the broker's default) needs CreateTopics v4.
    let default = if v >= 4 { -1 } else { 1 };
    let req = create_topics_request(
        &a.name,
        a.partitions.unwrap_or(default),
        a.replication_factor.unwrap_or(default as i16),
        &a.configs,
    );
    let resp = conn.call_at(v, &req)?;
    for t in &resp.topics {
        check(
            || format!("cannot create topic {}", a.name),
            t.error_code,
            t.error_message.as_deref(),
        )?;
    }
    conn.wait_for_topic(&a.name, a.partitions.unwrap_or(1))?;
    println!("Created topic {}.", a.name);
    Ok(())
}

fn list(a: ListArgs) -> Result<(), AdminError> {
    let mut cluster = a.conn.cluster()?;
    let resp = cluster.metadata(None)?;
    let mut names: Vec<String> = resp
        .topics
        .iter()
        .filter(|t| !(a.exclude_internal && t.is_internal))
        .filter_map(|t| t.name.as_ref().map(|n| n.to_string()))
        .collect();
    names.sort();
    let mut out = std::io::stdout().lock();
    for n in names {
        writeln!(out, "{n}")?;
    }
    Ok(())
}

/// The topic's own (non-default) configs, sorted by name.
fn topic_configs(cluster: &mut Cluster, topic: &str) -> Result<Vec<(String, String)>, AdminError> {
    let req =
        DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(TOPIC_RESOURCE)
            .with_resource_name(s(topic))
            .with_configuration_keys(None)]);
    let resp = cluster.any().call(&req)?;
    let mut out = Vec::new();
    for r in &resp.results {
        check(
            || format!("configs of topic {topic}"),
            r.error_code,
            r.error_message.as_deref(),
        )?;
        for c in &r.configs {
            if c.config_source == DYNAMIC_TOPIC_CONFIG {
                let value = if c.is_sensitive {
                    "[hidden]".to_string()
                } else {
                    c.value.as_ref().map(|v| v.to_string()).unwrap_or_default()
                };
                out.push((c.name.to_string(), value));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn ids(v: &[i32]) -> String {
    v.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

fn describe(a: DescribeArgs) -> Result<(), AdminError> {
    let mut cluster = a.conn.cluster()?;
    let topic = cluster.topic(&a.name)?;
    let configs = topic_configs(&mut cluster, &a.name)?;
    let parts: Vec<i32> = topic.partitions.iter().map(|p| p.index).collect();
    let starts = offsets_at(&mut cluster, &topic, &parts, -2)?;
    let ends = offsets_at(&mut cluster, &topic, &parts, -1)?;
    let rf = topic.partitions.first().map_or(0, |p| p.replicas.len());
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Topic: {}\tTopicId: {}\tPartitionCount: {}\tReplicationFactor: {}\tConfigs: {}",
        topic.name,
        topic.id,
        topic.partitions.len(),
        rf,
        configs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    )?;
    for p in &topic.partitions {
        let off = |m: &std::collections::BTreeMap<i32, i64>| {
            m.get(&p.index).map_or("-".to_string(), i64::to_string)
        };
        writeln!(
            out,
            "\tTopic: {}\tPartition: {}\tLeader: {}\tReplicas: {}\tIsr: {}\tLogStartOffset: {}\tLogEndOffset: {}",
            topic.name,
            p.index,
            if p.leader < 0 { "none".to_string() } else { p.leader.to_string() },
            ids(&p.replicas),
            ids(&p.isr),
            off(&starts),
            off(&ends),
        )?;
    }
    Ok(())
}

fn delete(a: DeleteArgs) -> Result<(), AdminError> {
    let mut cluster = a.conn.cluster()?;
    let conn = cluster.any();
    let v = conn.version::<DeleteTopicsRequest>()?;
    let req = delete_topics_request(a.names.iter().map(String::as_str), v);
    let resp = conn.call_at(v, &req)?;
    let mut failed = Vec::new();
    for r in &resp.responses {
        let name = r.name.as_ref().map(|n| n.to_string()).unwrap_or_default();
        match check(
            || format!("cannot delete topic {name}"),
            r.error_code,
            r.error_message.as_deref(),
        ) {
            Ok(()) => println!("Deleted topic {name}."),
            Err(e) => failed.push(e.to_string()),
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(AdminError::Failed(failed.join("; ")))
    }
}

fn alter_config(a: AlterConfigArgs) -> Result<(), AdminError> {
    if a.set.is_empty() && a.delete.is_empty() {
        return Err(AdminError::Failed(
            "nothing to change: give --set name=value or --delete name".into(),
        ));
    }
    let mut cluster = a.conn.cluster()?;
    // Fail on an unknown topic with Metadata's error, as other brokers may answer
    // DescribeConfigs/IncrementalAlterConfigs for it differently.
    let topic = cluster.topic(&a.name)?;
    let configs: Vec<AlterableConfig> = a
        .set
        .iter()
        .map(|(k, v)| {
            AlterableConfig::default()
                .with_name(s(k))
                .with_config_operation(0) // SET
                .with_value(Some(s(v)))
        })
        .chain(a.delete.iter().map(|k| {
            AlterableConfig::default()
                .with_name(s(k))
                .with_config_operation(1) // DELETE
                .with_value(None)
        }))
        .collect();
    let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(TOPIC_RESOURCE)
            .with_resource_name(s(&topic.name))
            .with_configs(configs),
    ]);
    let resp = cluster.any().call(&req)?;
    for r in &resp.responses {
        check(
            || format!("cannot alter configs of topic {}", a.name),
            r.error_code,
            r.error_message.as_deref(),
        )?;
    }
    println!("Completed updating config for topic {}.", a.name);
    Ok(())
}

/// DeleteTopics for these names at version `v` (by name in `topics` from v6, in
/// `topic_names` before), with a 30 s timeout.
pub fn delete_topics_request<'a>(
    names: impl Iterator<Item = &'a str>,
    v: i16,
) -> DeleteTopicsRequest {
    let names: Vec<TopicName> = names.map(|n| TopicName(s(n))).collect();
    if v >= 6 {
        DeleteTopicsRequest::default().with_topics(
            names
                .into_iter()
                .map(|n| DeleteTopicState::default().with_name(Some(n)))
                .collect(),
        )
    } else {
        DeleteTopicsRequest::default().with_topic_names(names)
    }
    .with_timeout_ms(30_000)
}
