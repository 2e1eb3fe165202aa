//! DescribeClientQuotas and AlterClientQuotas (KIP-546), and the byte-rate throttles of
//! Produce and Fetch that the quotas set (`broker/quotas.rs`, `crate::quota`).

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::*;

use super::errors::KafkaCode;
use super::{authz, str_bytes};
use crate::acl::Operation;
use crate::broker::Broker;
use crate::quota::{validate_entity, Mutation, NameMatch, QuotaKey, QuotaOp, Sensor};
use crate::server::dispatch::RequestContext;

const MATCH_EXACT: i8 = 0;
const MATCH_DEFAULT: i8 = 1;
const MATCH_ANY: i8 = 2;

pub async fn describe_client_quotas(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: DescribeClientQuotasRequest,
) -> DescribeClientQuotasResponse {
    // DESCRIBE_CONFIGS on the cluster.
    if let Err(d) = authz::cluster(broker, ctx, Operation::DescribeConfigs) {
        return DescribeClientQuotasResponse::default()
            .with_error_code(d.kafka_code())
            .with_error_message(Some(str_bytes(&d.to_string())));
    }
    let components: Result<Vec<(String, NameMatch)>, String> = req
        .components
        .iter()
        .map(|c| {
            let m = match (c.match_type, &c._match) {
                (MATCH_EXACT, Some(name)) => NameMatch::Exact(name.to_string()),
                (MATCH_EXACT, None) => {
                    return Err(format!(
                        "exact match for entity type {} needs a name",
                        c.entity_type.as_str()
                    ))
                }
                (MATCH_DEFAULT, _) => NameMatch::Default,
                (MATCH_ANY, _) => NameMatch::Any,
                (t, _) => return Err(format!("unknown match type {t}")),
            };
            Ok((c.entity_type.to_string(), m))
        })
        .collect();
    let described = components.and_then(|c| {
        broker
            .describe_client_quotas(&c, req.strict)
            .map_err(|e| e.to_string())
    });
    match described {
        Ok(entries) => DescribeClientQuotasResponse::default().with_entries(Some(
            entries
                .into_iter()
                .map(|(entity, values)| {
                    describe_client_quotas_response::EntryData::default()
                        .with_entity(
                            entity
                                .0
                                .iter()
                                .map(|(t, n)| {
                                    describe_client_quotas_response::EntityData::default()
                                        .with_entity_type(str_bytes(t.name()))
                                        .with_entity_name(n.as_deref().map(str_bytes))
                                })
                                .collect(),
                        )
                        .with_values(
                            values
                                .into_iter()
                                .map(|(k, v)| {
                                    describe_client_quotas_response::ValueData::default()
                                        .with_key(str_bytes(k.name()))
                                        .with_value(v)
                                })
                                .collect(),
                        )
                })
                .collect(),
        )),
        Err(message) => DescribeClientQuotasResponse::default()
            .with_error_code(ResponseError::InvalidRequest.code())
            .with_error_message(Some(str_bytes(&message))),
    }
}

pub async fn alter_client_quotas(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: AlterClientQuotasRequest,
) -> AlterClientQuotasResponse {
    let validate_only = req.validate_only;
    // ALTER_CONFIGS on the cluster, else every entry is refused.
    let denied = authz::cluster(broker, ctx, Operation::AlterConfigs).err();
    let entries = req
        .entries
        .into_iter()
        .map(|e| {
            let parts: Vec<(String, Option<String>)> = e
                .entity
                .iter()
                .map(|p| {
                    (
                        p.entity_type.to_string(),
                        p.entity_name.as_ref().map(|n| n.to_string()),
                    )
                })
                .collect();
            let ops: Vec<QuotaOp> = e
                .ops
                .iter()
                .map(|o| QuotaOp {
                    key: o.key.to_string(),
                    value: o.value,
                    remove: o.remove,
                })
                .collect();
            let entry = alter_client_quotas_response::EntryData::default().with_entity(
                e.entity
                    .iter()
                    .map(|p| {
                        alter_client_quotas_response::EntityData::default()
                            .with_entity_type(p.entity_type.clone())
                            .with_entity_name(p.entity_name.clone())
                    })
                    .collect(),
            );
            if let Some(d) = &denied {
                return entry
                    .with_error_code(d.kafka_code())
                    .with_error_message(Some(str_bytes(&d.to_string())));
            }
            let result = validate_entity(&parts)
                .map_err(crate::broker::quotas::QuotaAlterError::from)
                .and_then(|entity| broker.alter_client_quotas(&entity, &ops, validate_only));
            let entry = alter_client_quotas_response::EntryData::default().with_entity(
                e.entity
                    .into_iter()
                    .map(|p| {
                        alter_client_quotas_response::EntityData::default()
                            .with_entity_type(p.entity_type)
                            .with_entity_name(p.entity_name)
                    })
                    .collect(),
            );
            match result {
                Ok(()) => entry,
                Err(err) => entry
                    .with_error_code(err.kafka_code())
                    .with_error_message(Some(str_bytes(&err.to_string()))),
            }
        })
        .collect();
    AlterClientQuotasResponse::default().with_entries(entries)
}

/// The quota user of a connection: its principal's name (`ANONYMOUS` on PLAINTEXT).
fn quota_user(ctx: &RequestContext) -> &str {
    ctx.principal.name()
}

/// Records a Produce request's record bytes against the client's `producer_byte_rate`;
/// the throttle time for the response (and the connection's mute).
pub fn produce_throttle(broker: &Broker, ctx: &RequestContext, req: &ProduceRequest) -> i32 {
    let bytes: usize = req
        .topic_data
        .iter()
        .flat_map(|t| t.partition_data.iter())
        .map(|p| p.records.as_ref().map_or(0, |r| r.len()))
        .sum();
    let client_id = ctx.client_id.as_deref().unwrap_or("");
    let (ms, _) = broker.record_bytes(
        QuotaKey::ProducerByteRate,
        quota_user(ctx),
        client_id,
        bytes,
        crate::log::now_ms(),
    );
    clamp(ms)
}

/// Records a Fetch response's bytes against the client's `consumer_byte_rate`. When the
/// client is over it or over its request quota (`request_throttle`, already measured),
/// the bytes are taken back and, as Kafka does, the response goes out empty with the
/// larger throttle time: `Some(ms)`.
pub fn fetch_throttle(
    broker: &Broker,
    ctx: &RequestContext,
    bytes: usize,
    request_throttle: i32,
) -> Option<i32> {
    let client_id = ctx.client_id.as_deref().unwrap_or("");
    let now = crate::log::now_ms();
    let (ms, sensor): (u64, Option<Sensor>) = broker.record_bytes(
        QuotaKey::ConsumerByteRate,
        quota_user(ctx),
        client_id,
        bytes,
        now,
    );
    let throttle = clamp(ms).max(request_throttle);
    if throttle == 0 {
        return None;
    }
    if let Some(sensor) = sensor {
        broker.unrecord_bytes(QuotaKey::ConsumerByteRate, sensor, bytes, now);
    }
    Some(throttle)
}

/// Records the time a request kept the broker busy against the client's
/// `request_percentage`; the throttle time for the response (and the connection's mute).
pub fn request_throttle(broker: &Broker, ctx: &RequestContext, busy: std::time::Duration) -> i32 {
    let client_id = ctx.client_id.as_deref().unwrap_or("");
    let nanos = u64::try_from(busy.as_nanos()).unwrap_or(u64::MAX);
    clamp(broker.record_request_time(quota_user(ctx), client_id, nanos, crate::log::now_ms()))
}

/// Spends a controller mutation (`partitions` created, added or deleted) from the client's
/// `controller_mutation_rate`: `Err(throttle_ms)` when refused (strict: new request
/// versions, answered THROTTLING_QUOTA_EXCEEDED), else `Ok(throttle_ms)`.
pub fn controller_mutation(
    broker: &Broker,
    ctx: &RequestContext,
    partitions: u32,
    strict_since: i16,
) -> Result<i32, i32> {
    let mode = if ctx.api_version >= strict_since {
        Mutation::Strict
    } else {
        Mutation::Permissive
    };
    let client_id = ctx.client_id.as_deref().unwrap_or("");
    broker
        .controller_mutation(
            quota_user(ctx),
            client_id,
            partitions,
            mode,
            crate::log::now_ms(),
        )
        .map(clamp)
        .map_err(clamp)
}

fn clamp(ms: u64) -> i32 {
    ms.min(i32::MAX as u64) as i32
}
