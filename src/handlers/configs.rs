//! DescribeConfigs, AlterConfigs and IncrementalAlterConfigs: wire resources in, broker
//! calls (`broker/configs.rs`), Kafka codes out.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::errors::KafkaCode;
use super::{authz, str_bytes};
use crate::acl::{Denied, Operation};
use crate::broker::configs::ConfigResource;
use crate::broker::Broker;
use crate::config::{ConfigError, ConfigType, Described, Op, Source};
use crate::server::dispatch::RequestContext;

/// Kafka's ConfigResource.Type codes.
const TOPIC: i8 = 2;
const BROKER: i8 = 4;
const BROKER_LOGGER: i8 = 8;
const GROUP: i8 = 32;

/// Kafka's number for a config source.
pub fn source_code(s: Source) -> i8 {
    match s {
        Source::Topic => 1,
        Source::DynamicBroker => 2,
        Source::DynamicDefaultBroker => 3,
        Source::StaticBroker => 4,
        Source::Default => 5,
        Source::Group => 8,
    }
}

fn type_code(t: ConfigType) -> i8 {
    match t {
        ConfigType::Boolean => 1,
        ConfigType::String => 2,
        ConfigType::Int => 3,
        ConfigType::Short => 4,
        ConfigType::Long => 5,
        ConfigType::Double => 6,
        ConfigType::List => 7,
        ConfigType::Class => 8,
        ConfigType::Password => 9,
    }
}

fn resource(ty: i8, name: &StrBytes) -> Result<ConfigResource, ConfigError> {
    let name = name.to_string();
    match ty {
        TOPIC => Ok(ConfigResource::Topic(name)),
        BROKER => Ok(ConfigResource::Broker(name)),
        GROUP => Ok(ConfigResource::Group(name)),
        BROKER_LOGGER => Err(ConfigError::InvalidRequest(
            "Broker loggers are not configurable through the Kafka API in Rill; use --log-level"
                .into(),
        )),
        other => Err(ConfigError::InvalidRequest(format!(
            "Unsupported resource type {other}"
        ))),
    }
}

fn entry(d: Described, synonyms: bool, docs: bool) -> DescribeConfigsResourceResult {
    let hide = |v: Option<String>| {
        if d.sensitive {
            None
        } else {
            v.map(|v| str_bytes(&v))
        }
    };
    DescribeConfigsResourceResult::default()
        .with_name(str_bytes(d.name))
        .with_value(hide(d.value.clone()))
        .with_read_only(d.read_only)
        .with_config_source(source_code(d.source))
        .with_is_sensitive(d.sensitive)
        .with_synonyms(if synonyms {
            d.synonyms
                .iter()
                .map(|s| {
                    DescribeConfigsSynonym::default()
                        .with_name(str_bytes(s.name))
                        .with_value(hide(s.value.clone()))
                        .with_source(source_code(s.source))
                })
                .collect()
        } else {
            Vec::new()
        })
        .with_config_type(type_code(d.ty))
        .with_documentation(docs.then(|| str_bytes(d.doc)))
}

/// DESCRIBE_CONFIGS or ALTER_CONFIGS on the topic, the cluster (broker resources) or the
/// group.
fn authorize(
    broker: &Broker,
    ctx: &RequestContext,
    op: Operation,
    res: &ConfigResource,
) -> Result<(), Denied> {
    match res {
        ConfigResource::Topic(n) => authz::topic(broker, ctx, op, n),
        ConfigResource::Broker(_) => authz::cluster(broker, ctx, op),
        ConfigResource::Group(n) => authz::group(broker, ctx, op, n),
    }
}

pub async fn describe_configs(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let results = req
        .resources
        .into_iter()
        .map(|r| {
            let base = DescribeConfigsResult::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone());
            let keys: Option<Vec<String>> = r
                .configuration_keys
                .as_ref()
                .map(|ks| ks.iter().map(|k| k.to_string()).collect());
            let res = resource(r.resource_type, &r.resource_name);
            if let Some(Err(d)) = res
                .as_ref()
                .ok()
                .map(|res| authorize(broker, ctx, Operation::DescribeConfigs, res))
            {
                return base
                    .with_error_code(d.kafka_code())
                    .with_error_message(Some(str_bytes(&d.to_string())));
            }
            match res.and_then(|res| broker.describe_configs(&res, keys.as_deref())) {
                Ok(entries) => base.with_configs(
                    entries
                        .into_iter()
                        .map(|d| entry(d, req.include_synonyms, req.include_documentation))
                        .collect(),
                ),
                Err(e) => base
                    .with_error_code(e.kafka_code())
                    .with_error_message(Some(str_bytes(&e.to_string()))),
            }
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

pub async fn list_config_resources(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: ListConfigResourcesRequest,
) -> ListConfigResourcesResponse {
    use kafka_protocol::messages::list_config_resources_response::ConfigResource as Listed;
    // v0 knew only client-metrics resources; v1 lists every type. An empty filter asks
    // for all the version knows.
    const CLIENT_METRICS: i8 = 16;
    let known: &[i8] = if ctx.api_version == 0 {
        &[CLIENT_METRICS]
    } else {
        &[TOPIC, BROKER, GROUP, CLIENT_METRICS, BROKER_LOGGER]
    };
    if let Some(bad) = req.resource_types.iter().find(|t| !known.contains(t)) {
        let e = ConfigError::InvalidRequest(format!("Unsupported resource type {bad}"));
        return ListConfigResourcesResponse::default().with_error_code(e.kafka_code());
    }
    let wanted = |t: i8| {
        known.contains(&t) && (req.resource_types.is_empty() || req.resource_types.contains(&t))
    };
    match broker.config_resources() {
        Ok(all) => ListConfigResourcesResponse::default().with_config_resources(
            all.into_iter()
                .map(|r| match r {
                    ConfigResource::Topic(n) => (TOPIC, n),
                    ConfigResource::Broker(n) => (BROKER, n),
                    ConfigResource::Group(n) => (GROUP, n),
                })
                .filter(|(t, _)| wanted(*t))
                .filter(|(t, n)| {
                    let res = match *t {
                        TOPIC => ConfigResource::Topic(n.clone()),
                        GROUP => ConfigResource::Group(n.clone()),
                        _ => ConfigResource::Broker(n.clone()),
                    };
                    authorize(broker, ctx, Operation::DescribeConfigs, &res).is_ok()
                })
                .map(|(t, n)| {
                    Listed::default()
                        .with_resource_type(t)
                        .with_resource_name(str_bytes(&n))
                })
                .collect(),
        ),
        Err(e) => ListConfigResourcesResponse::default().with_error_code(e.kafka_code()),
    }
}

/// Runs `act` on each resource of an alter request, refusing resources named more than
/// once as Kafka does. Returns (type, name, error code, message) per resource.
fn alter_each<R>(
    resources: &[R],
    allowed: impl Fn(&ConfigResource) -> Result<(), Denied>,
    id: impl Fn(&R) -> (i8, StrBytes),
    act: impl Fn(&R, ConfigResource) -> Result<(), ConfigError>,
) -> Vec<(i8, StrBytes, i16, Option<StrBytes>)> {
    let mut seen = HashSet::new();
    let dupes: HashSet<(i8, String)> = resources
        .iter()
        .map(|r| {
            let (t, n) = id(r);
            (t, n.to_string())
        })
        .filter(|k| !seen.insert(k.clone()))
        .collect();
    resources
        .iter()
        .map(|r| {
            let (t, n) = id(r);
            let result = if dupes.contains(&(t, n.to_string())) {
                Err(ConfigError::InvalidRequest(
                    "Error due to duplicate config resources in the request".into(),
                ))
            } else {
                match resource(t, &n) {
                    Ok(res) => match allowed(&res) {
                        Ok(()) => act(r, res),
                        Err(d) => return (t, n, d.kafka_code(), Some(str_bytes(&d.to_string()))),
                    },
                    Err(e) => Err(e),
                }
            };
            let (code, message) = match result {
                Ok(()) => (0, None),
                Err(e) => (e.kafka_code(), Some(str_bytes(&e.to_string()))),
            };
            (t, n, code, message)
        })
        .collect()
}

pub async fn alter_configs(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: AlterConfigsRequest,
) -> AlterConfigsResponse {
    let results = alter_each(
        &req.resources,
        |res| authorize(broker, ctx, Operation::AlterConfigs, res),
        |r| (r.resource_type, r.resource_name.clone()),
        |r, res| {
            let mut configs = BTreeMap::new();
            for c in &r.configs {
                let Some(v) = &c.value else {
                    return Err(ConfigError::InvalidRequest(format!(
                        "Null value not supported for : {}",
                        c.name.as_str()
                    )));
                };
                if configs.insert(c.name.to_string(), v.to_string()).is_some() {
                    return Err(ConfigError::InvalidRequest(format!(
                        "Error due to duplicate config keys: {}",
                        c.name.as_str()
                    )));
                }
            }
            broker.alter_configs(&res, configs, req.validate_only)
        },
    );
    AlterConfigsResponse::default().with_responses(
        results
            .into_iter()
            .map(|(t, n, code, message)| {
                alter_configs_response::AlterConfigsResourceResponse::default()
                    .with_error_code(code)
                    .with_error_message(message)
                    .with_resource_type(t)
                    .with_resource_name(n)
            })
            .collect(),
    )
}

fn op(code: i8, name: &str, value: Option<&StrBytes>) -> Result<Op, ConfigError> {
    let value = || {
        value.map(|v| v.to_string()).ok_or_else(|| {
            ConfigError::InvalidRequest(format!("Null value not supported for : {name}"))
        })
    };
    match code {
        0 => Ok(Op::Set(value()?)),
        1 => Ok(Op::Delete),
        2 => Ok(Op::Append(value()?)),
        3 => Ok(Op::Subtract(value()?)),
        other => Err(ConfigError::InvalidRequest(format!(
            "Unknown config operation {other} for {name}"
        ))),
    }
}

pub async fn incremental_alter_configs(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let results = alter_each(
        &req.resources,
        |res| authorize(broker, ctx, Operation::AlterConfigs, res),
        |r| (r.resource_type, r.resource_name.clone()),
        |r, res| {
            let ops = r
                .configs
                .iter()
                .map(|c| {
                    op(c.config_operation, c.name.as_str(), c.value.as_ref())
                        .map(|o| (c.name.to_string(), o))
                })
                .collect::<Result<Vec<_>, _>>()?;
            broker.incremental_alter_configs(&res, &ops, req.validate_only)
        },
    );
    IncrementalAlterConfigsResponse::default().with_responses(
        results
            .into_iter()
            .map(|(t, n, code, message)| {
                incremental_alter_configs_response::AlterConfigsResourceResponse::default()
                    .with_error_code(code)
                    .with_error_message(message)
                    .with_resource_type(t)
                    .with_resource_name(n)
            })
            .collect(),
    )
}
