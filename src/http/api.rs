//! The JSON API under `/api/` (docs/http-api.md): what the web console shows, for
//! scripts too. Every call goes through the broker's own domain calls (topics, logs,
//! committed offsets, the group coordinator, produce, configs), never through a Kafka
//! client. Errors are `{"error": "...", "code": "KAFKA_ERROR_NAME"}` with an HTTP status
//! that fits.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use base64::Engine;
use kafka_protocol::error::ResponseError;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Who;
use super::HttpState;
use crate::acl::{Operation, ResourceType};
use crate::broker::configs::ConfigResource;
use crate::broker::{Broker, Topic};
use crate::group::GroupState;
use crate::handlers::errors::{error_name, KafkaCode};
use crate::log::batch::{self, BatchHeader};
use crate::log::{now_ms, Isolation, PartitionLog};
use crate::meta::CommittedOffset;

/// Most topics or groups one page lists.
const MAX_PAGE: usize = 1000;
/// Most records one messages call returns.
const MAX_MESSAGES: usize = 500;
/// Bytes of batches one messages call reads at most (past the first record).
const MAX_READ_BYTES: usize = 4 << 20;

/// What the API keeps between calls: when it started and the last sample of each
/// topic's totals (end offsets, size, bytes and records fetched), from which the in- and
/// out-rates are computed.
pub(crate) struct ApiState {
    started: Instant,
    started_ms: i64,
    samples: Mutex<HashMap<String, Sample>>,
}

#[derive(Clone, Copy)]
struct Sample {
    at: Instant,
    totals: Totals,
    /// The rates last computed from the sample before this one.
    rates: Option<Rates>,
}

/// A topic's running totals: end offsets summed, bytes stored, bytes and records fetched.
#[derive(Clone, Copy, Default)]
struct Totals {
    ends: i64,
    bytes: u64,
    fetched_bytes: u64,
    fetched_records: u64,
}

/// Per second: records in, bytes in, records out, bytes out.
#[derive(Clone, Copy)]
struct Rates([f64; 4]);

/// The routes under `/api`.
pub(crate) fn router(state: Arc<HttpState>) -> Router<Arc<HttpState>> {
    let api = Arc::new(ApiState {
        started: Instant::now(),
        started_ms: now_ms(),
        samples: Mutex::new(HashMap::new()),
    });
    Router::new()
        .route("/cluster", get(cluster))
        .route("/topics", get(list_topics).post(create_topic))
        .route("/topics/{name}", get(describe_topic).delete(delete_topic))
        .route(
            "/topics/{name}/messages",
            get(read_messages).post(produce_message),
        )
        .route("/groups", get(list_groups))
        .route("/groups/{id}", get(describe_group))
        .route("/groups/{id}/offsets", post(reset_offsets))
        .fallback(not_found)
        .layer(Extension(api))
        .layer(axum::middleware::from_fn_with_state(
            state,
            super::auth::identify,
        ))
}

/// An API error: HTTP status, Kafka's error name, message.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: String,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message)
    }

    /// A domain error, with the status its Kafka error fits.
    fn kafka(e: &(impl KafkaCode + std::fmt::Display)) -> ApiError {
        let err = e.error();
        ApiError {
            status: status_of(&err),
            code: error_name(&err),
            message: e.to_string(),
        }
    }

    fn internal(e: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN_SERVER_ERROR",
            e.to_string(),
        )
    }

    fn unknown_partition(topic: &str, partition: i32) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "UNKNOWN_TOPIC_OR_PARTITION",
            format!("Partition {partition} of topic '{topic}' does not exist."),
        )
    }

    fn unknown_topic(name: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "UNKNOWN_TOPIC_OR_PARTITION",
            format!("Topic '{name}' does not exist."),
        )
    }
}

/// The HTTP status for a Kafka error.
fn status_of(e: &ResponseError) -> StatusCode {
    use ResponseError as E;
    match e {
        E::UnknownTopicOrPartition | E::GroupIdNotFound | E::UnknownTopicId => {
            StatusCode::NOT_FOUND
        }
        E::TopicAlreadyExists | E::NonEmptyGroup => StatusCode::CONFLICT,
        E::TopicAuthorizationFailed
        | E::GroupAuthorizationFailed
        | E::ClusterAuthorizationFailed => StatusCode::FORBIDDEN,
        E::InvalidTopicException
        | E::InvalidPartitions
        | E::InvalidReplicationFactor
        | E::InvalidConfig
        | E::InvalidRequest
        | E::InvalidRecord
        | E::CorruptMessage
        | E::MessageTooLarge
        | E::RecordListTooLarge
        | E::PolicyViolation => StatusCode::BAD_REQUEST,
        E::CoordinatorNotAvailable | E::BrokerNotAvailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"error": self.message, "code": self.code})),
        )
            .into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> ApiError {
        ApiError::bad_request(e.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> ApiError {
        ApiError::bad_request(e.body_text())
    }
}

type ApiResult = Result<Response, ApiError>;

fn ok(v: Value) -> ApiResult {
    Ok(Json(v).into_response())
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "INVALID_REQUEST",
        "no such API endpoint",
    )
}

/// The broker, or 503 while it opens its data dir.
fn broker_of(state: &HttpState) -> Result<Arc<Broker>, ApiError> {
    state.broker().cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "BROKER_NOT_AVAILABLE",
            "the broker is still starting (recovering its data dir)",
        )
    })
}

/// `op` on topic `name`, or 403 TOPIC_AUTHORIZATION_FAILED.
fn allowed(who: &Who, broker: &Broker, op: Operation, name: &str) -> Result<(), ApiError> {
    who.check(broker, op, ResourceType::Topic, name)
        .map_err(|e| ApiError::kafka(&e))
}

/// The broker and topic `name`, once `who` may do `op` on it (503 / 403 / 404).
fn permitted_topic(
    state: &HttpState,
    who: &Who,
    op: Operation,
    name: &str,
) -> Result<(Arc<Broker>, Arc<Topic>), ApiError> {
    let broker = broker_of(state)?;
    allowed(who, &broker, op, name)?;
    let topic = topic_of(&broker, name)?;
    Ok((broker, topic))
}

fn topic_of(broker: &Broker, name: &str) -> Result<Arc<Topic>, ApiError> {
    broker
        .topic(name)
        .ok_or_else(|| ApiError::unknown_topic(name))
}

// ------------------------------------------------------------------------- cluster

async fn cluster(
    State(state): State<Arc<HttpState>>,
    Extension(api): Extension<Arc<ApiState>>,
    Extension(who): Extension<Who>,
) -> ApiResult {
    let broker = broker_of(&state)?;
    let topics: Vec<Arc<Topic>> = broker
        .topics()
        .into_iter()
        .filter(|t| who.sees(&broker, ResourceType::Topic, &t.name))
        .collect();
    let partitions: i64 = topics.iter().map(|t| t.partition_count() as i64).sum();
    let listeners: Vec<Value> = broker
        .config
        .listeners
        .iter()
        .map(|l| {
            json!({
                "name": l.name,
                "security_protocol": l.protocol.name(),
                "host": l.bound_host,
                "port": l.bound_port,
                "advertised_host": l.advertised_host,
                "advertised_port": l.advertised_port,
            })
        })
        .collect();
    ok(json!({
        "broker_id": broker.config.node_id,
        "cluster_id": broker.cluster_id,
        "version": env!("CARGO_PKG_VERSION"),
        "started_at_ms": api.started_ms,
        "uptime_ms": api.started.elapsed().as_millis() as u64,
        "listeners": listeners,
        "topics": topics.len(),
        "partitions": partitions,
        "authorizer": broker.config.acl_authorizer,
        "principal": who.principal.as_str(),
    }))
}

// -------------------------------------------------------------------------- topics

#[derive(Deserialize)]
struct PageQuery {
    search: Option<String>,
    offset: Option<usize>,
    limit: Option<usize>,
}

impl PageQuery {
    fn window(&self, default: usize) -> (usize, usize) {
        (
            self.offset.unwrap_or(0),
            self.limit.unwrap_or(default).clamp(1, MAX_PAGE),
        )
    }

    fn matches(&self, name: &str) -> bool {
        match self.search.as_deref().map(str::trim) {
            None | Some("") => true,
            Some(s) => name.to_lowercase().contains(&s.to_lowercase()),
        }
    }
}

/// A topic's records (end − start summed over partitions) and running totals.
fn topic_totals(broker: &Broker, t: &Topic) -> (i64, Totals) {
    let mut records = 0;
    let mut totals = Totals::default();
    for p in t.partitions() {
        let (start, end) = p.offsets();
        records += end - start;
        totals.ends += end;
        totals.bytes += p.size_bytes();
    }
    let fetched = &broker.topic_counters(t).fetched;
    totals.fetched_bytes = fetched.bytes.load(std::sync::atomic::Ordering::Relaxed);
    totals.fetched_records = fetched.records.load(std::sync::atomic::Ordering::Relaxed);
    (records, totals)
}

impl ApiState {
    /// Records/s and bytes/s appended to and fetched from `topic` since the previous
    /// sample at least a second old; None on the first look.
    fn rates(&self, topic: &str, totals: Totals) -> Option<Rates> {
        let now = Instant::now();
        let mut samples = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = Sample {
            at: now,
            totals,
            rates: None,
        };
        let Some(prev) = samples.get(topic).copied() else {
            samples.insert(topic.to_string(), fresh);
            return None;
        };
        let dt = now.duration_since(prev.at).as_secs_f64();
        if dt < 1.0 {
            return prev.rates;
        }
        let (a, b) = (totals, prev.totals);
        let rates = Some(Rates([
            (a.ends - b.ends).max(0) as f64 / dt,
            a.bytes.saturating_sub(b.bytes) as f64 / dt,
            a.fetched_records.saturating_sub(b.fetched_records) as f64 / dt,
            a.fetched_bytes.saturating_sub(b.fetched_bytes) as f64 / dt,
        ]));
        samples.insert(topic.to_string(), Sample { rates, ..fresh });
        rates
    }
}

impl ApiState {
    /// Drops the samples of deleted topics (checked once there are noticeably more).
    fn forget_deleted(&self, topics: &[Arc<Topic>]) {
        let mut samples = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        if samples.len() > topics.len() + 64 {
            let live: BTreeSet<&str> = topics.iter().map(|t| t.name.as_str()).collect();
            samples.retain(|name, _| live.contains(name.as_str()));
        }
    }
}

fn topic_summary(api: &ApiState, broker: &Broker, t: &Topic) -> Value {
    let (records, totals) = topic_totals(broker, t);
    let rates = api.rates(&t.name, totals);
    let rate = |i: usize| rates.map(|r| r.0[i]);
    json!({
        "name": t.name,
        "id": t.id.to_string(),
        "partitions": t.partition_count(),
        "records": records,
        "size_bytes": totals.bytes,
        "in_records_per_sec": rate(0),
        "in_bytes_per_sec": rate(1),
        "out_records_per_sec": rate(2),
        "out_bytes_per_sec": rate(3),
    })
}

async fn list_topics(
    State(state): State<Arc<HttpState>>,
    Extension(api): Extension<Arc<ApiState>>,
    Extension(who): Extension<Who>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> ApiResult {
    let Query(q) = query?;
    let broker = broker_of(&state)?;
    let (offset, limit) = q.window(50);
    let all = broker.topics();
    api.forget_deleted(&all);
    let matching: Vec<Arc<Topic>> = all
        .into_iter()
        .filter(|t| q.matches(&t.name) && who.sees(&broker, ResourceType::Topic, &t.name))
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|t| topic_summary(&api, &broker, t))
        .collect();
    ok(json!({
        "total": matching.len(),
        "offset": offset,
        "limit": limit,
        "topics": page,
    }))
}

#[derive(Deserialize)]
struct NewTopic {
    name: String,
    #[serde(default = "minus_one")]
    partitions: i32,
    #[serde(default = "minus_one_i16")]
    replication_factor: i16,
    #[serde(default)]
    configs: BTreeMap<String, String>,
}

fn minus_one() -> i32 {
    -1
}
fn minus_one_i16() -> i16 {
    -1
}

async fn create_topic(
    State(state): State<Arc<HttpState>>,
    Extension(api): Extension<Arc<ApiState>>,
    Extension(who): Extension<Who>,
    body: Result<Json<NewTopic>, JsonRejection>,
) -> ApiResult {
    let Json(req) = body?;
    let broker = broker_of(&state)?;
    // As CreateTopics: CREATE on the cluster, or else on the topic.
    if who
        .check(
            &broker,
            Operation::Create,
            ResourceType::Cluster,
            crate::acl::CLUSTER_NAME,
        )
        .is_err()
    {
        who.check(&broker, Operation::Create, ResourceType::Topic, &req.name)
            .map_err(|e| ApiError::kafka(&e))?;
    }
    let topic = broker
        .create_topic(
            &req.name,
            req.partitions,
            req.replication_factor,
            req.configs,
            false,
        )
        .map_err(|e| ApiError::kafka(&e))?;
    Ok((
        StatusCode::CREATED,
        Json(topic_summary(&api, &broker, &topic)),
    )
        .into_response())
}

async fn delete_topic(
    State(state): State<Arc<HttpState>>,
    Extension(who): Extension<Who>,
    Path(name): Path<String>,
) -> ApiResult {
    let (broker, topic) = permitted_topic(&state, &who, Operation::Delete, &name)?;
    broker
        .delete_topic(&topic)
        .map_err(|e| ApiError::kafka(&e))?;
    ok(json!({"deleted": name}))
}

fn source_name(s: crate::config::Source) -> &'static str {
    use crate::config::Source as S;
    match s {
        S::Topic => "DYNAMIC_TOPIC_CONFIG",
        S::DynamicBroker => "DYNAMIC_BROKER_CONFIG",
        S::DynamicDefaultBroker => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        S::StaticBroker => "STATIC_BROKER_CONFIG",
        S::Default => "DEFAULT_CONFIG",
        S::Group => "GROUP_CONFIG",
    }
}

async fn describe_topic(
    State(state): State<Arc<HttpState>>,
    Extension(who): Extension<Who>,
    Path(name): Path<String>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> ApiResult {
    let Query(q) = query?;
    let broker = broker_of(&state)?;
    allowed(&who, &broker, Operation::Describe, &name)?;
    let configs_allowed = who
        .check(
            &broker,
            Operation::DescribeConfigs,
            ResourceType::Topic,
            &name,
        )
        .is_ok();
    let topic = topic_of(&broker, &name)?;
    let (offset, limit) = q.window(MAX_PAGE);
    let all = topic.partitions();
    let partitions: Vec<Value> = all
        .iter()
        .enumerate()
        .skip(offset)
        .take(limit)
        .map(|(i, p)| {
            let (start, end) = p.offsets();
            json!({
                "partition": i,
                "leader": broker.config.node_id,
                "start_offset": start,
                "end_offset": end,
                "last_stable_offset": p.last_stable_offset(),
                "records": end - start,
                "size_bytes": p.size_bytes(),
            })
        })
        .collect();
    let described = if configs_allowed {
        broker
            .describe_configs(&ConfigResource::Topic(name.clone()), None)
            .map_err(|e| ApiError::kafka(&e))?
    } else {
        Vec::new()
    };
    let configs: Vec<Value> = described
        .into_iter()
        .map(|c| {
            json!({
                "name": c.name,
                "value": if c.sensitive { None } else { c.value },
                "source": source_name(c.source),
                "read_only": c.read_only,
                "sensitive": c.sensitive,
            })
        })
        .collect();
    ok(json!({
        "name": topic.name,
        "id": topic.id.to_string(),
        "partition_count": all.len(),
        "partitions_offset": offset,
        "partitions": partitions,
        "configs": configs,
    }))
}

// ------------------------------------------------------------------------ messages

#[derive(Deserialize)]
struct MessagesQuery {
    partition: Option<i32>,
    offset: Option<i64>,
    timestamp: Option<i64>,
    limit: Option<usize>,
}

/// Bytes as JSON: base64 always, the text too when they are valid UTF-8; null for null.
fn bytes_json(b: Option<&[u8]>) -> Value {
    match b {
        None => Value::Null,
        Some(b) => {
            let mut v = json!({
                "size": b.len(),
                "base64": base64::engine::general_purpose::STANDARD.encode(b),
            });
            if let Ok(s) = std::str::from_utf8(b) {
                v["text"] = Value::String(s.to_string());
            }
            v
        }
    }
}

/// Up to `limit` records of `log` from `offset` on, decoded from the stored batches
/// (compressed ones decompressed, bounded); control batches are skipped. Returns them
/// and the offset to read next.
fn read_records(
    log: &PartitionLog,
    mut offset: i64,
    limit: usize,
) -> Result<(Vec<Value>, i64), ApiError> {
    let mut out = Vec::new();
    let mut read = 0usize;
    while out.len() < limit && read < MAX_READ_BYTES {
        let r = log
            .read(offset, 1 << 20, true, Isolation::ReadUncommitted)
            .map_err(|e| ApiError::kafka(&e))?;
        if r.records.is_empty() {
            break;
        }
        let bytes = r.records.to_vec().map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "KAFKA_STORAGE_ERROR",
                e.to_string(),
            )
        })?;
        read += bytes.len();
        let before = offset;
        let mut at = 0;
        while let Some(h) = BatchHeader::parse(&bytes[at..]) {
            let Some(b) = bytes.get(at..at + h.total_len()) else {
                break;
            };
            at += h.total_len();
            let next = h.last_offset() + 1;
            if h.is_control() || next <= offset {
                offset = offset.max(next);
                continue;
            }
            let records = batch::records_section(b, &h)
                .and_then(|s| batch::parse_records(&s, h.record_count).map(|v| decode(&h, &v)))
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "CORRUPT_MESSAGE",
                        format!("the batch at offset {} cannot be decoded", h.base_offset),
                    )
                })?;
            for (o, rec) in records {
                if o >= offset && out.len() < limit {
                    out.push(rec);
                    offset = o + 1;
                }
            }
            if out.len() >= limit {
                break;
            }
            offset = offset.max(next);
        }
        if offset == before {
            break;
        }
    }
    Ok((out, offset))
}

/// (offset, JSON) of each record of a batch.
fn decode(h: &BatchHeader, records: &[batch::RecordView<'_>]) -> Vec<(i64, Value)> {
    records
        .iter()
        .map(|r| {
            let offset = h.base_offset.saturating_add(r.offset_delta);
            let timestamp = if h.is_log_append_time() {
                h.max_timestamp
            } else {
                h.base_timestamp.saturating_add(r.timestamp_delta)
            };
            let headers: Vec<Value> = batch::parse_headers(r.headers)
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| {
                    json!({"key": String::from_utf8_lossy(k), "value": bytes_json(v)})
                })
                .collect();
            let rec = json!({
                "offset": offset,
                "timestamp": timestamp,
                "timestamp_type": if h.is_log_append_time() { "LogAppendTime" } else { "CreateTime" },
                "key": bytes_json(r.key),
                "value": bytes_json(r.value),
                "headers": headers,
            });
            (offset, rec)
        })
        .collect()
}

async fn read_messages(
    State(state): State<Arc<HttpState>>,
    Extension(who): Extension<Who>,
    Path(name): Path<String>,
    query: Result<Query<MessagesQuery>, QueryRejection>,
) -> ApiResult {
    let Query(q) = query?;
    let (_, topic) = permitted_topic(&state, &who, Operation::Read, &name)?;
    let partition = q.partition.unwrap_or(0);
    let log = topic
        .partition(partition)
        .ok_or_else(|| ApiError::unknown_partition(&name, partition))?;
    let limit = q.limit.unwrap_or(50).clamp(1, MAX_MESSAGES);
    let result = tokio::task::spawn_blocking(move || {
        let (start, end) = log.offsets();
        let from = match (q.offset, q.timestamp) {
            (Some(o), _) => o.clamp(start, end),
            (None, Some(ts)) => log
                .offset_for_timestamp(ts)
                .map_err(|e| ApiError::kafka(&e))?
                .map_or(end, |(o, _)| o),
            // The newest `limit` records.
            (None, None) => (end - limit as i64).max(start),
        };
        let (messages, next) = read_records(&log, from, limit)?;
        Ok::<_, ApiError>(json!({
            "topic": name,
            "partition": partition,
            "start_offset": start,
            "end_offset": end,
            "from_offset": from,
            "next_offset": next.max(from),
            "messages": messages,
        }))
    })
    .await
    .map_err(ApiError::internal)??;
    ok(result)
}

#[derive(Deserialize)]
struct NewMessage {
    partition: Option<i32>,
    key: Option<String>,
    value: Option<String>,
    #[serde(default)]
    headers: Vec<NewHeader>,
}

#[derive(Deserialize)]
struct NewHeader {
    key: String,
    value: Option<String>,
}

async fn produce_message(
    State(state): State<Arc<HttpState>>,
    Extension(who): Extension<Who>,
    Path(name): Path<String>,
    body: Result<Json<NewMessage>, JsonRejection>,
) -> ApiResult {
    let Json(m) = body?;
    let (broker, topic) = permitted_topic(&state, &who, Operation::Write, &name)?;
    let count = topic.partition_count();
    let partition = match (m.partition, &m.key) {
        (Some(p), _) => p,
        (None, Some(k)) => crate::broker::produce::key_partition(k.as_bytes(), count),
        (None, None) => (now_ms().rem_euclid(count.max(1) as i64)) as i32,
    };
    let headers: Vec<batch::Header<'_>> = m
        .headers
        .iter()
        .map(|h| (h.key.as_bytes(), h.value.as_deref().map(str::as_bytes)))
        .collect();
    let kv = (
        m.key.as_deref().map(str::as_bytes),
        m.value.as_deref().map(str::as_bytes),
    );
    let timestamp = now_ms();
    let batch = batch::batch_with_headers(&[(kv, &headers)], timestamp);
    let appended = broker
        .produce(&topic, partition, Some(&batch), -1, None)
        .await
        .map_err(|e| ApiError::kafka(&e))?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "topic": name,
            "partition": partition,
            "offset": appended.base_offset,
            "timestamp": timestamp,
        })),
    )
        .into_response())
}

// -------------------------------------------------------------------------- groups

/// A group as the coordinator and the offsets store know it.
struct GroupView {
    group_id: String,
    state: &'static str,
    group_type: &'static str,
    protocol_type: String,
    protocol: String,
    /// (member id, instance id, client id, host, assigned partitions)
    members: Vec<Member>,
    /// Whether kafka-consumer-groups would let its offsets be reset (Empty or Dead).
    inactive: bool,
}

struct Member {
    member_id: String,
    instance_id: Option<String>,
    client_id: String,
    client_host: String,
    assignment: Vec<(String, i32)>,
}

/// The group's live view, or None if the coordinator does not know it.
fn group_view(broker: &Broker, id: &str) -> Option<GroupView> {
    broker.groups.with(|c, now| {
        if let Some(g) = c.consumer_group(id) {
            let empty = g.is_empty();
            let state = g.state().as_str();
            let view = c.consumer_describe(now, id).ok().map(|d| GroupView {
                group_id: id.to_string(),
                state,
                group_type: "consumer",
                protocol_type: "consumer".into(),
                protocol: d.assignor_name.clone(),
                members: d
                    .members
                    .into_iter()
                    .map(|m| Member {
                        member_id: m.member_id,
                        instance_id: m.instance_id,
                        client_id: m.client_id,
                        client_host: m.client_host,
                        assignment: m
                            .assignment
                            .iter()
                            .filter_map(|(t, ps)| Some((broker.topic_by_id(*t)?.name.clone(), ps)))
                            .flat_map(|(t, ps)| ps.iter().map(move |p| (t.clone(), *p)))
                            .collect(),
                    })
                    .collect(),
                inactive: empty,
            });
            return (view, Vec::new());
        }
        let d = c.describe_group(id);
        if !d.exists {
            return (None, Vec::new());
        }
        let view = GroupView {
            group_id: id.to_string(),
            state: d.state.as_str(),
            group_type: "classic",
            protocol_type: d.protocol_type,
            protocol: d.protocol_data,
            members: d
                .members
                .into_iter()
                .map(|m| Member {
                    member_id: m.member_id,
                    instance_id: m.group_instance_id,
                    client_id: m.client_id,
                    client_host: m.client_host,
                    assignment: crate::group::assigned_partitions(&m.assignment)
                        .unwrap_or_default(),
                })
                .collect(),
            inactive: matches!(d.state, GroupState::Empty | GroupState::Dead),
        };
        (Some(view), Vec::new())
    })
}

/// A group known only by its committed offsets (simple consumers, or a group whose
/// members are gone since a restart): Empty, as Kafka lists it.
fn offsets_only(id: &str) -> GroupView {
    GroupView {
        group_id: id.to_string(),
        state: GroupState::Empty.as_str(),
        group_type: "classic",
        protocol_type: String::new(),
        protocol: String::new(),
        members: Vec::new(),
        inactive: true,
    }
}

/// One partition's committed offset and lag.
struct Lag {
    topic: String,
    partition: i32,
    committed: Option<CommittedOffset>,
    end: Option<i64>,
}

impl Lag {
    fn lag(&self) -> Option<i64> {
        Some((self.end? - self.committed.as_ref()?.offset).max(0))
    }
}

/// The group's committed offsets with the end offsets they lag behind, plus assigned
/// partitions with no commit yet; sorted by topic and partition.
async fn lags(broker: &Broker, id: &str, assigned: &[(String, i32)]) -> Result<Vec<Lag>, ApiError> {
    let committed = broker
        .committed_offsets(id, None, false)
        .await
        .map_err(|e| ApiError::kafka(&e))?;
    let mut rows: BTreeMap<(String, i32), Option<CommittedOffset>> = BTreeMap::new();
    for (t, ps) in committed {
        for (p, c) in ps {
            if let crate::broker::offsets::Committed::At(c) = c {
                rows.insert((t.clone(), p), Some(c));
            }
        }
    }
    for tp in assigned {
        rows.entry(tp.clone()).or_insert(None);
    }
    Ok(rows
        .into_iter()
        .map(|((topic, partition), committed)| {
            let end = broker
                .topic(&topic)
                .and_then(|t| t.partition(partition))
                .map(|l| l.offsets().1);
            Lag {
                topic,
                partition,
                committed,
                end,
            }
        })
        .collect())
}

fn all_group_ids(broker: &Broker) -> Result<Vec<String>, ApiError> {
    let mut ids: BTreeSet<String> = broker
        .groups
        .with(|c, _| (c.list_groups(&[], &[]), Vec::new()))
        .map_err(|code| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                &error_name(
                    &ResponseError::try_from_code(code.kafka_code())
                        .unwrap_or(ResponseError::UnknownServerError),
                ),
                "the group coordinator is not available",
            )
        })?
        .into_iter()
        .map(|g| g.group_id)
        .collect();
    ids.extend(
        broker
            .groups_with_offsets()
            .map_err(|e| ApiError::kafka(&e))?,
    );
    Ok(ids.into_iter().collect())
}

async fn list_groups(
    State(state): State<Arc<HttpState>>,
    Extension(who): Extension<Who>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> ApiResult {
    let Query(q) = query?;
    let broker = broker_of(&state)?;
    let (offset, limit) = q.window(50);
    let ids: Vec<String> = all_group_ids(&broker)?
        .into_iter()
        .filter(|id| q.matches(id) && who.sees(&broker, ResourceType::Group, id))
        .collect();
    let mut page = Vec::new();
    for id in ids.iter().skip(offset).take(limit) {
        let view = group_view(&broker, id).unwrap_or_else(|| offsets_only(id));
        let rows = lags(&broker, id, &[]).await?;
        let total_lag: i64 = rows.iter().filter_map(Lag::lag).sum();
        let topics: BTreeSet<&str> = rows.iter().map(|r| r.topic.as_str()).collect();
        page.push(json!({
            "group_id": view.group_id,
            "state": view.state,
            "type": view.group_type,
            "protocol_type": view.protocol_type,
            "protocol": view.protocol,
            "members": view.members.len(),
            "topics": topics,
            "total_lag": total_lag,
        }));
    }
    ok(json!({
        "total": ids.len(),
        "offset": offset,
        "limit": limit,
        "groups": page,
    }))
}

fn unknown_group(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "GROUP_ID_NOT_FOUND",
        format!("Group {id} not found."),
    )
}

async fn describe_group(
    State(state): State<Arc<HttpState>>,
    Extension(who): Extension<Who>,
    Path(id): Path<String>,
) -> ApiResult {
    let broker = broker_of(&state)?;
    who.check(&broker, Operation::Describe, ResourceType::Group, &id)
        .map_err(|e| ApiError::kafka(&e))?;
    let view = match group_view(&broker, &id) {
        Some(v) => v,
        None if broker.has_offsets(&id) => offsets_only(&id),
        None => return Err(unknown_group(&id)),
    };
    let assigned: Vec<(String, i32)> = view
        .members
        .iter()
        .flat_map(|m| m.assignment.iter().cloned())
        .collect();
    let owner: HashMap<(String, i32), &str> = view
        .members
        .iter()
        .flat_map(|m| {
            m.assignment
                .iter()
                .map(|tp| (tp.clone(), m.member_id.as_str()))
        })
        .collect();
    let rows = lags(&broker, &id, &assigned).await?;
    let total_lag: i64 = rows.iter().filter_map(Lag::lag).sum();
    let offsets: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "topic": r.topic,
                "partition": r.partition,
                "committed_offset": r.committed.as_ref().map(|c| c.offset),
                "metadata": r.committed.as_ref().and_then(|c| c.metadata.clone()),
                "end_offset": r.end,
                "lag": r.lag(),
                "member_id": owner.get(&(r.topic.clone(), r.partition)).copied(),
            })
        })
        .collect();
    let members: Vec<Value> = view
        .members
        .iter()
        .map(|m| {
            json!({
                "member_id": m.member_id,
                "group_instance_id": m.instance_id,
                "client_id": m.client_id,
                "client_host": m.client_host,
                "assignment": m.assignment.iter().map(|(t, p)| json!({"topic": t, "partition": p})).collect::<Vec<_>>(),
            })
        })
        .collect();
    ok(json!({
        "group_id": view.group_id,
        "state": view.state,
        "type": view.group_type,
        "protocol_type": view.protocol_type,
        "protocol": view.protocol,
        "members": members,
        "offsets": offsets,
        "total_lag": total_lag,
    }))
}

#[derive(Deserialize)]
struct ResetRequest {
    /// earliest, latest, offset or timestamp
    strategy: String,
    offset: Option<i64>,
    timestamp: Option<i64>,
    /// Only this topic (every topic the group has committed offsets for otherwise).
    topic: Option<String>,
    /// Only these partitions of `topic` (all of them otherwise).
    partitions: Option<Vec<i32>>,
    #[serde(default)]
    dry_run: bool,
}

async fn reset_offsets(
    State(state): State<Arc<HttpState>>,
    Extension(who): Extension<Who>,
    Path(id): Path<String>,
    body: Result<Json<ResetRequest>, JsonRejection>,
) -> ApiResult {
    let Json(req) = body?;
    let broker = broker_of(&state)?;
    // As OffsetCommit: READ on the group and on each topic.
    who.check(&broker, Operation::Read, ResourceType::Group, &id)
        .map_err(|e| ApiError::kafka(&e))?;
    if id.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_GROUP_ID",
            "the group id must not be empty",
        ));
    }
    // The partitions to reset.
    let targets: Vec<(String, i32)> = match &req.topic {
        Some(t) => {
            let topic = topic_of(&broker, t)?;
            match &req.partitions {
                Some(ps) => {
                    if let Some(p) = ps.iter().find(|p| topic.partition(**p).is_none()) {
                        return Err(ApiError::unknown_partition(t, *p));
                    }
                    ps.iter().map(|p| (t.clone(), *p)).collect()
                }
                None => (0..topic.partition_count())
                    .map(|p| (t.clone(), p))
                    .collect(),
            }
        }
        None => lags(&broker, &id, &[])
            .await?
            .into_iter()
            .filter(|l| l.end.is_some())
            .map(|l| (l.topic, l.partition))
            .collect(),
    };
    if targets.is_empty() {
        return Err(ApiError::bad_request(
            "the group has no committed offsets: name a topic to reset",
        ));
    }
    let mut new = Vec::with_capacity(targets.len());
    for (t, p) in &targets {
        allowed(&who, &broker, Operation::Read, t)?;
        let log = topic_of(&broker, t)?
            .partition(*p)
            .ok_or_else(|| ApiError::unknown_partition(t, *p))?;
        let (start, end) = log.offsets();
        let offset = match req.strategy.as_str() {
            "earliest" => start,
            "latest" => end,
            "offset" => req
                .offset
                .ok_or_else(|| ApiError::bad_request("strategy offset needs \"offset\""))?
                .clamp(start, end),
            "timestamp" => {
                let ts = req.timestamp.ok_or_else(|| {
                    ApiError::bad_request("strategy timestamp needs \"timestamp\"")
                })?;
                let log = log.clone();
                tokio::task::spawn_blocking(move || log.offset_for_timestamp(ts))
                    .await
                    .map_err(ApiError::internal)?
                    .map_err(|e| ApiError::kafka(&e))?
                    .map_or(end, |(o, _)| o)
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown strategy {other:?}: earliest, latest, offset or timestamp"
                )))
            }
        };
        new.push((t.clone(), *p, offset));
    }
    // As kafka-consumer-groups: only an inactive group's offsets may be reset.
    if let Some(v) = group_view(&broker, &id) {
        if !v.inactive {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "NON_EMPTY_GROUP",
                format!(
                    "Assignments can only be reset if the group '{id}' is inactive, but the current state is {}.",
                    v.state
                ),
            ));
        }
    }
    if !req.dry_run {
        let now = now_ms();
        let commits: Vec<_> = new
            .iter()
            .map(|(t, p, o)| {
                (
                    t.clone(),
                    *p,
                    CommittedOffset {
                        offset: *o,
                        leader_epoch: -1,
                        metadata: Some(String::new()),
                        commit_timestamp: now,
                        expire_timestamp: None,
                    },
                )
            })
            .collect();
        broker
            .commit_offsets(&id, &commits)
            .map_err(|e| ApiError::kafka(&e))?;
    }
    ok(json!({
        "group_id": id,
        "dry_run": req.dry_run,
        "offsets": new.iter().map(|(t, p, o)| json!({"topic": t, "partition": p, "offset": o})).collect::<Vec<_>>(),
    }))
}

#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
