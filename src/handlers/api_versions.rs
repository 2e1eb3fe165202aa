use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::api_versions_response::{
    ApiVersion, FinalizedFeatureKey, SupportedFeatureKey,
};
use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};

use super::{code, str_bytes};
use crate::broker::Broker;
use crate::server::dispatch::{RequestContext, SUPPORTED};

fn api_keys() -> Vec<ApiVersion> {
    SUPPORTED
        .iter()
        .map(|s| {
            ApiVersion::default()
                .with_api_key(s.key as i16)
                .with_min_version(s.min)
                .with_max_version(s.max)
        })
        .collect()
}

/// Features (v3+): `transaction.version` is supported up to 2 and finalized at the
/// broker's `--transaction-version`, as a Kafka 4 cluster reports it. Clients use
/// Transactions V2 only when it is finalized at 2.
pub async fn handle(
    broker: &Arc<Broker>,
    _ctx: &RequestContext,
    _req: ApiVersionsRequest,
) -> ApiVersionsResponse {
    let name = str_bytes("transaction.version");
    let level = broker.config.transaction_version;
    ApiVersionsResponse::default()
        .with_api_keys(api_keys())
        .with_supported_features(vec![SupportedFeatureKey::default()
            .with_name(name.clone())
            .with_min_version(0)
            .with_max_version(2)])
        .with_finalized_features_epoch(1)
        .with_finalized_features(vec![FinalizedFeatureKey::default()
            .with_name(name)
            .with_min_version_level(level)
            .with_max_version_level(level)])
}

/// The KIP-511 answer to an ApiVersions version we do not know (encoded as v0).
pub fn unsupported() -> ApiVersionsResponse {
    ApiVersionsResponse::default()
        .with_error_code(code(ResponseError::UnsupportedVersion))
        .with_api_keys(api_keys())
}
