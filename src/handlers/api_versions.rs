use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};

use super::code;
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

pub async fn handle(
    _broker: &Arc<Broker>,
    _ctx: &RequestContext,
    _req: ApiVersionsRequest,
) -> ApiVersionsResponse {
    ApiVersionsResponse::default()
        .with_api_keys(api_keys())
        .with_finalized_features_epoch(-1)
}

/// The KIP-511 answer to an ApiVersions version we do not know (encoded as v0).
pub fn unsupported() -> ApiVersionsResponse {
    ApiVersionsResponse::default()
        .with_error_code(code(ResponseError::UnsupportedVersion))
        .with_api_keys(api_keys())
}
