//! Request dispatch: one table of (API key → supported versions), from which ApiVersions
//! is generated, and one match that decodes, calls the handler and encodes the reply.

use std::net::{IpAddr, SocketAddr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable};
use thiserror::Error;

use super::reply::Reply;
use super::throttle::{Busy, ThrottleTime};
use crate::auth::Principal;
use crate::broker::Broker;
use crate::handlers;
use crate::handlers::error_codes::ErrorCodes;

/// One supported API and the versions Rill implements and tests.
#[derive(Debug, Clone, Copy)]
pub struct ApiSpec {
    pub key: ApiKey,
    pub min: i16,
    pub max: i16,
}

const fn api(key: ApiKey, min: i16, max: i16) -> ApiSpec {
    ApiSpec { key, min, max }
}

/// The single source of truth for what Rill speaks. Produce is advertised from v0 because
/// librdkafka enables compression only if it is, but v0–2 requests are refused as in
/// Kafka 4 (see `check_version`).
pub const SUPPORTED: &[ApiSpec] = &[
    api(ApiKey::Produce, 0, 13),
    api(ApiKey::Fetch, 4, 18),
    api(ApiKey::ListOffsets, 1, 10),
    api(ApiKey::Metadata, 0, 13),
    api(ApiKey::OffsetCommit, 2, 9),
    api(ApiKey::OffsetFetch, 1, 9),
    api(ApiKey::FindCoordinator, 0, 6),
    api(ApiKey::JoinGroup, 0, 9),
    api(ApiKey::Heartbeat, 0, 4),
    api(ApiKey::LeaveGroup, 0, 5),
    api(ApiKey::SyncGroup, 0, 5),
    api(ApiKey::DescribeGroups, 0, 6),
    api(ApiKey::ListGroups, 0, 5),
    api(ApiKey::SaslHandshake, 0, 1),
    api(ApiKey::ApiVersions, 0, 4),
    api(ApiKey::CreateTopics, 2, 7),
    api(ApiKey::DeleteTopics, 1, 6),
    api(ApiKey::InitProducerId, 0, 5),
    api(ApiKey::AddPartitionsToTxn, 0, 3),
    api(ApiKey::AddOffsetsToTxn, 0, 4),
    api(ApiKey::EndTxn, 0, 5),
    api(ApiKey::WriteTxnMarkers, 1, 1),
    api(ApiKey::TxnOffsetCommit, 0, 5),
    api(ApiKey::DeleteRecords, 0, 2),
    api(ApiKey::OffsetForLeaderEpoch, 2, 4),
    api(ApiKey::DescribeConfigs, 1, 4),
    api(ApiKey::AlterConfigs, 0, 2),
    api(ApiKey::DescribeAcls, 1, 3),
    api(ApiKey::CreateAcls, 1, 3),
    api(ApiKey::DeleteAcls, 1, 3),
    api(ApiKey::DescribeLogDirs, 1, 4),
    api(ApiKey::CreatePartitions, 0, 3),
    api(ApiKey::DeleteGroups, 0, 2),
    api(ApiKey::SaslAuthenticate, 0, 2),
    api(ApiKey::OffsetDelete, 0, 0),
    api(ApiKey::ElectLeaders, 0, 2),
    api(ApiKey::IncrementalAlterConfigs, 0, 1),
    api(ApiKey::AlterPartitionReassignments, 0, 1),
    api(ApiKey::ListPartitionReassignments, 0, 0),
    api(ApiKey::DescribeClientQuotas, 0, 1),
    api(ApiKey::AlterClientQuotas, 0, 1),
    api(ApiKey::DescribeUserScramCredentials, 0, 0),
    api(ApiKey::AlterUserScramCredentials, 0, 0),
    api(ApiKey::DescribeCluster, 0, 2),
    api(ApiKey::DescribeProducers, 0, 0),
    api(ApiKey::DescribeTransactions, 0, 0),
    api(ApiKey::ListTransactions, 0, 2),
    api(ApiKey::GetTelemetrySubscriptions, 0, 0),
    api(ApiKey::DescribeTopicPartitions, 0, 0),
    api(ApiKey::ListConfigResources, 0, 1),
    api(ApiKey::ConsumerGroupHeartbeat, 0, 1),
    api(ApiKey::ConsumerGroupDescribe, 0, 1),
];

/// Lowest Produce version accepted on the wire (Kafka 4 removed v0–2).
pub const PRODUCE_MIN_ACCEPTED: i16 = 3;

pub fn spec(key: i16) -> Option<&'static ApiSpec> {
    SUPPORTED.iter().find(|s| s.key as i16 == key)
}

/// Kafka's name of an API (`Produce`), for metric labels.
pub(crate) fn api_name(key: ApiKey) -> &'static str {
    // By API key; the names are made once per process.
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let names = NAMES.get_or_init(|| {
        let top = SUPPORTED
            .iter()
            .map(|s| s.key as i16 as usize)
            .max()
            .unwrap_or(0);
        let mut names = vec!["Unknown"; top + 1];
        for s in SUPPORTED {
            names[s.key as i16 as usize] = Box::leak(format!("{:?}", s.key).into_boxed_str());
        }
        names
    });
    usize::try_from(key as i16)
        .ok()
        .and_then(|k| names.get(k))
        .copied()
        .unwrap_or("Unknown")
}

/// Counts the error codes of a response in `rill_request_errors_total`.
fn count_errors<R: ErrorCodes>(broker: &Broker, ctx: &RequestContext, resp: &R) {
    resp.error_codes(&mut |code| {
        if code != 0 {
            broker
                .metrics
                .request_error(ctx.api_key as i16, api_name(ctx.api_key), code);
        }
    });
}

/// Records one request's latency (and so its count) in `rill_request_duration_seconds`.
fn record_request(broker: &Broker, key: ApiKey, version: i16, started: std::time::Instant) {
    if let Some(h) = broker.metrics.request(key as i16, version, api_name(key)) {
        h.record(started.elapsed().as_secs_f64());
    }
}

/// Errors that end the connection (the client gets no reply, as with Kafka).
#[derive(Debug, Error)]
pub enum DispatchError {
    #[error("unsupported API key {0}")]
    UnknownApi(i16),
    #[error("unsupported version {version} of {key:?} (supported {min}..={max})")]
    UnsupportedVersion {
        key: ApiKey,
        version: i16,
        min: i16,
        max: i16,
    },
    #[error("malformed {key:?} v{version} request: {reason}")]
    Malformed {
        key: ApiKey,
        version: i16,
        reason: String,
    },
    #[error("failed to encode {key:?} v{version} response: {reason}")]
    Encode {
        key: ApiKey,
        version: i16,
        reason: String,
    },
}

/// What the handlers know about the request besides its body.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub api_key: ApiKey,
    pub api_version: i16,
    pub correlation_id: i32,
    pub client_id: Option<String>,
    /// The client's address as Kafka shows it in DescribeGroups (`/127.0.0.1`).
    pub client_host: String,
    /// Which listener (index into `BrokerConfig::listeners`) the connection came in on.
    pub listener: usize,
    /// Who the connection is (`User:ANONYMOUS` on PLAINTEXT listeners).
    pub principal: Principal,
    /// The client's address, which ACLs' hosts are matched against.
    pub peer: IpAddr,
}

/// What a connection knows about itself, for each of its requests.
#[derive(Debug, Clone)]
pub struct Session {
    pub peer: SocketAddr,
    pub listener: usize,
    pub principal: Principal,
}

impl Session {
    /// A connection of a PLAINTEXT listener.
    pub fn anonymous(peer: SocketAddr, listener: usize) -> Session {
        Session {
            peer,
            listener,
            principal: Principal::anonymous(),
        }
    }
}

/// Decodes with the codec, turning any panic inside it into an error.
fn guarded<T>(
    key: ApiKey,
    version: i16,
    f: impl FnOnce() -> anyhow::Result<T>,
) -> Result<T, DispatchError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(DispatchError::Malformed {
            key,
            version,
            reason: format!("{e:#}"),
        }),
        Err(_) => Err(DispatchError::Malformed {
            key,
            version,
            reason: "decoder panicked".into(),
        }),
    }
}

pub(crate) fn decode<T: Decodable>(
    body: &mut Bytes,
    key: ApiKey,
    version: i16,
) -> Result<T, DispatchError> {
    guarded(key, version, || T::decode(body, version))
}

/// Encodes `size | response header | body`.
pub fn encode_response<R: Encodable>(
    ctx: &RequestContext,
    resp: &R,
) -> Result<BytesMut, DispatchError> {
    let (key, version) = (ctx.api_key, ctx.api_version);
    let err = |e: anyhow::Error| DispatchError::Encode {
        key,
        version,
        reason: e.to_string(),
    };
    let header = ResponseHeader::default().with_correlation_id(ctx.correlation_id);
    let hv = key.response_header_version(version);
    let size = header.compute_size(hv).map_err(err)? + resp.compute_size(version).map_err(err)?;
    let mut buf = BytesMut::with_capacity(4 + size);
    buf.put_i32(size as i32);
    header.encode(&mut buf, hv).map_err(err)?;
    resp.encode(&mut buf, version).map_err(err)?;
    Ok(buf)
}

/// Checks the version and decodes the request header (`body` is left at the request).
pub(crate) fn context(
    spec: &ApiSpec,
    version: i16,
    correlation_id: i32,
    body: &mut Bytes,
    session: &Session,
) -> Result<RequestContext, DispatchError> {
    let key = spec.key;
    let min = if key == ApiKey::Produce {
        PRODUCE_MIN_ACCEPTED
    } else {
        spec.min
    };
    if version < min || version > spec.max {
        return Err(DispatchError::UnsupportedVersion {
            key,
            version,
            min,
            max: spec.max,
        });
    }
    let header: RequestHeader = guarded(key, version, || {
        RequestHeader::decode(body, key.request_header_version(version))
    })?;
    Ok(RequestContext {
        api_key: key,
        api_version: version,
        correlation_id,
        client_id: header.client_id.map(|c| c.to_string()),
        client_host: format!("/{}", session.peer.ip()),
        listener: session.listener,
        principal: session.principal.clone(),
        peer: session.peer.ip(),
    })
}

/// The fixed start of every request: api key, version, correlation id.
pub(crate) fn prefix(frame: &[u8]) -> (i16, i16, i32) {
    (
        i16::from_be_bytes([frame[0], frame[1]]),
        i16::from_be_bytes([frame[2], frame[3]]),
        i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]),
    )
}

/// A Produce response with the client's throttle time (the larger of its
/// `producer_byte_rate` and `request_percentage` throttles), after which the connection
/// waits as long. acks=0 requests get no response, but a throttled one still mutes the
/// connection, as Kafka mutes it.
fn throttled_produce(
    ctx: &RequestContext,
    resp: Option<ProduceResponse>,
    throttle: i32,
) -> Result<Option<Reply>, DispatchError> {
    match resp {
        Some(resp) => encode_response(ctx, &resp.with_throttle_time_ms(throttle))
            .map(|b| Some(Reply::from(b).muted_for(throttle))),
        None if throttle > 0 => Ok(Some(Reply::default().muted_for(throttle))),
        None => Ok(None),
    }
}

/// Several pipelined Produce frames of one connection (see `handlers::produce::
/// handle_many`). The replies are in request order; a frame that cannot be decoded ends
/// the list with its error (which closes the connection after the replies before it).
pub async fn dispatch_produce_group(
    broker: &Arc<Broker>,
    frames: Vec<Bytes>,
    session: &Session,
) -> Vec<Result<Option<Reply>, DispatchError>> {
    let mut ctxs = Vec::with_capacity(frames.len());
    let mut reqs = Vec::with_capacity(frames.len());
    let mut failed = None;
    for mut body in frames {
        let (key, version, correlation_id) = prefix(&body);
        let decoded = spec(key)
            .filter(|s| s.key == ApiKey::Produce)
            .ok_or(DispatchError::UnknownApi(key))
            .and_then(|spec| context(spec, version, correlation_id, &mut body, session))
            .and_then(|ctx| {
                let req: ProduceRequest = decode(&mut body, ctx.api_key, version)?;
                Ok((ctx, req))
            });
        match decoded {
            Ok((ctx, req)) => {
                ctxs.push(ctx);
                reqs.push(req);
            }
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    let started = std::time::Instant::now();
    let throttles: Vec<i32> = ctxs
        .iter()
        .zip(&reqs)
        .map(|(ctx, req)| handlers::quotas::produce_throttle(broker, ctx, req))
        .collect();
    let (responses, busy) = Busy::new(handlers::produce::handle_many(broker, &ctxs, reqs)).await;
    // The group's handling time, shared evenly by its requests for the request quota;
    // each request of the group took as long as the group (latency metric).
    let each = busy / ctxs.len().max(1) as u32;
    let mut out: Vec<_> = ctxs
        .iter()
        .zip(responses)
        .zip(throttles)
        .map(|((ctx, resp), throttle)| {
            let throttle = throttle.max(handlers::quotas::request_throttle(broker, ctx, each));
            count_errors(broker, ctx, &resp);
            let reply = throttled_produce(ctx, resp, throttle);
            record_request(broker, ctx.api_key, ctx.api_version, started);
            reply
        })
        .collect();
    out.extend(failed.map(Err));
    out
}

/// Handles one request frame (the bytes after its size prefix). `Ok(None)` means "send
/// nothing" (acks=0 produce). Its latency is recorded by API and version.
pub async fn dispatch(
    broker: &Arc<Broker>,
    frame: Bytes,
    session: &Session,
) -> Result<Option<Reply>, DispatchError> {
    let started = std::time::Instant::now();
    let (key, version, _) = prefix(&frame);
    let reply = dispatch_one(broker, frame, session).await;
    if let Some(spec) = spec(key) {
        record_request(broker, spec.key, version, started);
    }
    reply
}

async fn dispatch_one(
    broker: &Arc<Broker>,
    frame: Bytes,
    session: &Session,
) -> Result<Option<Reply>, DispatchError> {
    let mut body = frame;
    let (key_raw, version, correlation_id) = prefix(&body);
    let spec = spec(key_raw).ok_or(DispatchError::UnknownApi(key_raw))?;
    let key = spec.key;
    if key == ApiKey::ApiVersions && version > spec.max {
        // KIP-511: answer a too-new ApiVersions in v0 format so the client can retry.
        let ctx = RequestContext {
            api_key: key,
            api_version: 0,
            correlation_id,
            client_id: None,
            client_host: String::new(),
            listener: session.listener,
            principal: session.principal.clone(),
            peer: session.peer.ip(),
        };
        return encode_response(&ctx, &handlers::api_versions::unsupported())
            .map(|b| Some(b.into()));
    }
    let ctx = context(spec, version, correlation_id, &mut body, session)?;
    macro_rules! call {
        ($req:ty, $handler:path) => {{
            let req: $req = decode(&mut body, key, version)?;
            let (mut resp, busy) = Busy::new($handler(broker, &ctx, req)).await;
            count_errors(broker, &ctx, &resp);
            // The handler's own throttle (controller mutations) or the request quota's.
            let throttle =
                handlers::quotas::request_throttle(broker, &ctx, busy).max(resp.throttle_time());
            resp.set_throttle_time(version, throttle);
            encode_response(&ctx, &resp).map(|b| Some(Reply::from(b).muted_for(throttle)))
        }};
    }
    match key {
        ApiKey::ApiVersions => call!(ApiVersionsRequest, handlers::api_versions::handle),
        ApiKey::Metadata => call!(MetadataRequest, handlers::metadata::handle),
        ApiKey::Produce => {
            let req: ProduceRequest = decode(&mut body, key, version)?;
            let throttle = handlers::quotas::produce_throttle(broker, &ctx, &req);
            let (resp, busy) = Busy::new(handlers::produce::handle(broker, &ctx, req)).await;
            count_errors(broker, &ctx, &resp);
            let throttle = throttle.max(handlers::quotas::request_throttle(broker, &ctx, busy));
            throttled_produce(&ctx, resp, throttle)
        }
        ApiKey::Fetch => {
            let req: FetchRequest = decode(&mut body, key, version)?;
            let ((resp, records), busy) =
                Busy::new(handlers::fetch::handle(broker, &ctx, req)).await;
            count_errors(broker, &ctx, &resp);
            let bytes = records.iter().map(|(_, f)| f.len()).sum();
            let request = handlers::quotas::request_throttle(broker, &ctx, busy);
            match handlers::quotas::fetch_throttle(broker, &ctx, bytes, request) {
                // Over the consumer byte rate or the request quota: an empty response,
                // and the connection waits.
                Some(ms) => {
                    let empty = FetchResponse::default().with_throttle_time_ms(ms);
                    super::reply::encode_fetch(&ctx, empty, Vec::new())
                        .map(|r| Some(r.muted_for(ms)))
                }
                None => super::reply::encode_fetch(&ctx, resp, records).map(Some),
            }
        }
        ApiKey::ListOffsets => call!(ListOffsetsRequest, handlers::list_offsets::handle),
        ApiKey::CreateTopics => call!(CreateTopicsRequest, handlers::admin::create_topics),
        ApiKey::DeleteTopics => call!(DeleteTopicsRequest, handlers::admin::delete_topics),
        ApiKey::CreatePartitions => {
            call!(CreatePartitionsRequest, handlers::admin::create_partitions)
        }
        ApiKey::FindCoordinator => {
            call!(FindCoordinatorRequest, handlers::groups::find_coordinator)
        }
        ApiKey::JoinGroup => call!(JoinGroupRequest, handlers::groups::join_group),
        ApiKey::SyncGroup => call!(SyncGroupRequest, handlers::groups::sync_group),
        ApiKey::Heartbeat => call!(HeartbeatRequest, handlers::groups::heartbeat),
        ApiKey::LeaveGroup => call!(LeaveGroupRequest, handlers::groups::leave_group),
        ApiKey::DescribeGroups => call!(DescribeGroupsRequest, handlers::groups::describe_groups),
        ApiKey::ListGroups => call!(ListGroupsRequest, handlers::groups::list_groups),
        ApiKey::DeleteGroups => call!(DeleteGroupsRequest, handlers::groups::delete_groups),
        ApiKey::OffsetCommit => call!(OffsetCommitRequest, handlers::groups::offset_commit),
        ApiKey::OffsetFetch => call!(OffsetFetchRequest, handlers::groups::offset_fetch),
        ApiKey::OffsetDelete => call!(OffsetDeleteRequest, handlers::groups::offset_delete),
        ApiKey::DeleteRecords => call!(DeleteRecordsRequest, handlers::log_dirs::delete_records),
        ApiKey::DescribeLogDirs => {
            call!(
                DescribeLogDirsRequest,
                handlers::log_dirs::describe_log_dirs
            )
        }
        ApiKey::OffsetForLeaderEpoch => call!(
            OffsetForLeaderEpochRequest,
            handlers::replicas::offset_for_leader_epoch
        ),
        ApiKey::ElectLeaders => call!(ElectLeadersRequest, handlers::replicas::elect_leaders),
        ApiKey::ListPartitionReassignments => call!(
            ListPartitionReassignmentsRequest,
            handlers::replicas::list_partition_reassignments
        ),
        ApiKey::AlterPartitionReassignments => call!(
            AlterPartitionReassignmentsRequest,
            handlers::replicas::alter_partition_reassignments
        ),
        ApiKey::ListConfigResources => call!(
            ListConfigResourcesRequest,
            handlers::configs::list_config_resources
        ),
        ApiKey::DescribeConfigs => {
            call!(DescribeConfigsRequest, handlers::configs::describe_configs)
        }
        ApiKey::AlterConfigs => call!(AlterConfigsRequest, handlers::configs::alter_configs),
        ApiKey::IncrementalAlterConfigs => call!(
            IncrementalAlterConfigsRequest,
            handlers::configs::incremental_alter_configs
        ),
        ApiKey::DescribeCluster => call!(DescribeClusterRequest, handlers::admin::describe_cluster),
        ApiKey::InitProducerId => {
            call!(InitProducerIdRequest, handlers::producers::init_producer_id)
        }
        ApiKey::AddPartitionsToTxn => call!(
            AddPartitionsToTxnRequest,
            handlers::txn::add_partitions_to_txn
        ),
        ApiKey::AddOffsetsToTxn => call!(AddOffsetsToTxnRequest, handlers::txn::add_offsets_to_txn),
        ApiKey::EndTxn => call!(EndTxnRequest, handlers::txn::end_txn),
        ApiKey::WriteTxnMarkers => call!(WriteTxnMarkersRequest, handlers::txn::write_txn_markers),
        ApiKey::TxnOffsetCommit => call!(TxnOffsetCommitRequest, handlers::txn::txn_offset_commit),
        ApiKey::DescribeTransactions => call!(
            DescribeTransactionsRequest,
            handlers::txn::describe_transactions
        ),
        ApiKey::ListTransactions => {
            call!(ListTransactionsRequest, handlers::txn::list_transactions)
        }
        ApiKey::DescribeProducers => call!(
            DescribeProducersRequest,
            handlers::producers::describe_producers
        ),
        ApiKey::GetTelemetrySubscriptions => call!(
            GetTelemetrySubscriptionsRequest,
            handlers::admin::get_telemetry_subscriptions
        ),
        ApiKey::DescribeTopicPartitions => call!(
            DescribeTopicPartitionsRequest,
            handlers::metadata::describe_topic_partitions
        ),
        ApiKey::ConsumerGroupHeartbeat => call!(
            ConsumerGroupHeartbeatRequest,
            handlers::consumer_groups::consumer_group_heartbeat
        ),
        ApiKey::ConsumerGroupDescribe => call!(
            ConsumerGroupDescribeRequest,
            handlers::consumer_groups::consumer_group_describe
        ),
        // Before authentication these go to `server::sasl`; here (after it, or on a
        // PLAINTEXT listener) they are out of place.
        ApiKey::SaslHandshake => {
            call!(SaslHandshakeRequest, handlers::sasl::handshake_out_of_place)
        }
        ApiKey::SaslAuthenticate => call!(
            SaslAuthenticateRequest,
            handlers::sasl::authenticate_out_of_place
        ),
        ApiKey::DescribeClientQuotas => call!(
            DescribeClientQuotasRequest,
            handlers::quotas::describe_client_quotas
        ),
        ApiKey::AlterClientQuotas => call!(
            AlterClientQuotasRequest,
            handlers::quotas::alter_client_quotas
        ),
        ApiKey::CreateAcls => call!(CreateAclsRequest, handlers::acls::create_acls),
        ApiKey::DescribeAcls => call!(DescribeAclsRequest, handlers::acls::describe_acls),
        ApiKey::DeleteAcls => call!(DeleteAclsRequest, handlers::acls::delete_acls),
        ApiKey::DescribeUserScramCredentials => call!(
            DescribeUserScramCredentialsRequest,
            handlers::scram_users::describe_user_scram_credentials
        ),
        ApiKey::AlterUserScramCredentials => call!(
            AlterUserScramCredentialsRequest,
            handlers::scram_users::alter_user_scram_credentials
        ),
        other => Err(DispatchError::UnknownApi(other as i16)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_within_what_the_codec_supports() {
        for s in SUPPORTED {
            let codec = s.key.valid_versions();
            let min = if s.key == ApiKey::Produce {
                PRODUCE_MIN_ACCEPTED
            } else {
                s.min
            };
            assert!(
                min >= codec.min && s.max <= codec.max && min <= s.max,
                "{:?}: {}..={} vs codec {}",
                s.key,
                s.min,
                s.max,
                codec
            );
        }
    }

    #[test]
    fn table_has_no_duplicates() {
        for (i, a) in SUPPORTED.iter().enumerate() {
            assert!(SUPPORTED[i + 1..].iter().all(|b| b.key != a.key));
        }
    }
}
