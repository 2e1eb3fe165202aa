//! SaslHandshake and SaslAuthenticate answers. The exchange itself runs in `server::sasl`
//! before a SASL connection reaches dispatch; what reaches dispatch (a connection already
//! authenticated, or one of a PLAINTEXT listener) is out of place, as in Kafka.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};

use super::errors::{sasl_failure_message, KafkaCode};
use super::{code, str_bytes};
use crate::auth::{AuthError, Mechanism};
use crate::broker::Broker;
use crate::server::dispatch::RequestContext;

fn names(enabled: &[Mechanism]) -> Vec<kafka_protocol::protocol::StrBytes> {
    enabled.iter().map(|m| str_bytes(m.name())).collect()
}

/// The answer to a SaslHandshake before authentication, and the mechanism chosen (None:
/// not enabled; the answer says UNSUPPORTED_SASL_MECHANISM and lists the enabled ones).
pub fn handshake(
    enabled: &[Mechanism],
    req: &SaslHandshakeRequest,
) -> (SaslHandshakeResponse, Option<Mechanism>) {
    let chosen = Mechanism::from_name(req.mechanism.as_str()).filter(|m| enabled.contains(m));
    let error = match chosen {
        Some(_) => 0,
        None => code(ResponseError::UnsupportedSaslMechanism),
    };
    let resp = SaslHandshakeResponse::default()
        .with_error_code(error)
        .with_mechanisms(names(enabled));
    (resp, chosen)
}

/// A SaslAuthenticate step that succeeded: the server's bytes (a challenge, or the
/// final message). Sessions do not expire (`connections.max.reauth.ms` = 0).
pub fn authenticated(auth_bytes: Vec<u8>) -> SaslAuthenticateResponse {
    SaslAuthenticateResponse::default()
        .with_auth_bytes(Bytes::from(auth_bytes))
        .with_session_lifetime_ms(0)
}

/// A SaslAuthenticate step that failed: SASL_AUTHENTICATION_FAILED with Kafka's message.
pub fn authentication_failed(e: &AuthError, mechanism: Mechanism) -> SaslAuthenticateResponse {
    SaslAuthenticateResponse::default()
        .with_error_code(e.kafka_code())
        .with_error_message(Some(str_bytes(&sasl_failure_message(e, mechanism))))
}

/// A SaslHandshake after authentication or on a PLAINTEXT listener: ILLEGAL_SASL_STATE.
pub async fn handshake_out_of_place(
    _broker: &Arc<Broker>,
    _ctx: &RequestContext,
    _req: SaslHandshakeRequest,
) -> SaslHandshakeResponse {
    SaslHandshakeResponse::default().with_error_code(code(ResponseError::IllegalSaslState))
}

/// A SaslAuthenticate after authentication or on a PLAINTEXT listener: ILLEGAL_SASL_STATE.
pub async fn authenticate_out_of_place(
    _broker: &Arc<Broker>,
    _ctx: &RequestContext,
    _req: SaslAuthenticateRequest,
) -> SaslAuthenticateResponse {
    SaslAuthenticateResponse::default()
        .with_error_code(code(ResponseError::IllegalSaslState))
        .with_error_message(Some(str_bytes(
            "SaslAuthenticate request received after successful authentication",
        )))
}
