//! SASL authentication of a SASL_PLAINTEXT or SASL_SSL connection, before any other request (Kafka's
//! `SaslServerAuthenticator`):
//!
//! 1. optionally one ApiVersions (answered as usual);
//! 2. SaslHandshake naming an enabled mechanism (otherwise UNSUPPORTED_SASL_MECHANISM
//!    with the enabled list, then the connection is closed);
//! 3. the mechanism's tokens: in SaslAuthenticate requests after a v1 handshake, or —
//!    after a v0 handshake — as bare size-prefixed tokens answered the same way (the
//!    legacy exchange of clients older than KIP-152);
//! 4. on failure, SASL_AUTHENTICATION_FAILED with Kafka's message (nothing on the
//!    legacy path), then the connection is closed.
//!
//! Any other request before authentication closes the connection without an answer.
//! The whole exchange must finish within [`DEADLINE`], so a silent client cannot hold a
//! connection; frames are limited to Kafka's `sasl.server.max.receive.size` (512 KiB).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, SaslAuthenticateRequest, SaslHandshakeRequest};

use super::dispatch::{self, Session};
use super::frame::FrameReader;
use super::outbox::Outbox;
use super::reply::Reply;
use super::Stream;
use crate::auth::scram::{self, ScramServer};
use crate::auth::{plain, AuthError, Mechanism, Principal};
use crate::broker::Broker;
use crate::handlers;

/// How long a connection may take from accept to authenticated.
pub const DEADLINE: Duration = Duration::from_secs(10);
/// Kafka's `sasl.server.max.receive.size` default: the largest frame before
/// authentication.
pub const MAX_FRAME: usize = 512 * 1024;

enum Stage {
    /// Nothing yet: ApiVersions or SaslHandshake.
    Start,
    /// After ApiVersions: SaslHandshake.
    Versioned,
    /// After the handshake: the mechanism's tokens.
    Tokens {
        mechanism: Mechanism,
        /// In SaslAuthenticate requests (handshake v1) or bare (v0).
        framed: bool,
        scram: Option<ScramServer>,
    },
}

/// What one token led to.
enum Step {
    /// Send these bytes; more tokens follow.
    Challenge(Vec<u8>),
    /// Send these bytes; the client is this user.
    Done(Vec<u8>, String),
}

/// Runs the exchange. `Some(principal)` once the client is authenticated (its answer
/// sent); `None` if the connection must be closed (any answer due already queued).
pub async fn authenticate<S: Stream>(
    stream: &mut S,
    reader: &mut FrameReader,
    outbox: &mut Outbox,
    broker: &Arc<Broker>,
    peer: SocketAddr,
    listener: usize,
) -> Option<Principal> {
    let exchange = exchange(stream, reader, outbox, broker, peer, listener);
    match tokio::time::timeout(DEADLINE, exchange).await {
        Ok(r) => r,
        Err(_) => {
            tracing::warn!(%peer, "closing connection: SASL authentication not completed within {} s", DEADLINE.as_secs());
            None
        }
    }
}

async fn send<S: Stream>(
    outbox: &mut Outbox,
    stream: &mut S,
    peer: SocketAddr,
    reply: Reply,
) -> bool {
    if let Err(e) = outbox.send(stream, &reply).await {
        tracing::debug!(%peer, error = %e, "write failed");
        return false;
    }
    match outbox.flush(stream).await {
        Ok(()) => true,
        Err(e) => {
            tracing::debug!(%peer, error = %e, "flush failed");
            false
        }
    }
}

/// Kafka's `connection.failed.authentication.delay.ms` default: how long a connection
/// whose authentication failed is kept before it is closed.
const FAILED_CLOSE_DELAY: Duration = Duration::from_millis(100);

/// After a refusal has been sent, as Kafka does: keep the connection for
/// [`FAILED_CLOSE_DELAY`] (reading and dropping whatever the client still sends) before
/// closing it. Clients read the answer before they see the close: kafka-python, for one,
/// drops data that arrives together with the end of the stream.
async fn close_after_refusal<S: Stream>(stream: &mut S) {
    use tokio::io::AsyncReadExt;
    let drain = async {
        let mut sink = [0u8; 4096];
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    };
    let _ = tokio::time::timeout(FAILED_CLOSE_DELAY, drain).await;
}

/// A bare size-prefixed token (the legacy exchange).
fn token_reply(bytes: &[u8]) -> Reply {
    let mut b = BytesMut::with_capacity(4 + bytes.len());
    b.put_i32(bytes.len() as i32);
    b.put_slice(bytes);
    b.into()
}

async fn exchange<S: Stream>(
    stream: &mut S,
    reader: &mut FrameReader,
    outbox: &mut Outbox,
    broker: &Arc<Broker>,
    peer: SocketAddr,
    listener: usize,
) -> Option<Principal> {
    let session = Session::anonymous(peer, listener);
    let max = broker.config.max_request_bytes.min(MAX_FRAME);
    let mut stage = Stage::Start;
    loop {
        let legacy = matches!(stage, Stage::Tokens { framed: false, .. });
        let read = if legacy {
            reader.next_token(stream, max).await
        } else {
            reader.next(stream, max).await
        };
        let frame = match read {
            Ok(Some(f)) => f,
            Ok(None) => return None,
            Err(super::frame::FrameError::Io(e)) => {
                tracing::debug!(%peer, error = %e, "connection lost during SASL authentication");
                return None;
            }
            Err(e) => {
                tracing::warn!(%peer, error = %e, "closing connection: bad frame during SASL authentication");
                return None;
            }
        };
        if let Stage::Tokens {
            mechanism,
            scram,
            framed: false,
        } = &mut stage
        {
            let mechanism = *mechanism;
            return match step(broker, mechanism, scram, frame).await {
                Ok(Step::Challenge(bytes)) => {
                    if !send(outbox, stream, peer, token_reply(&bytes)).await {
                        return None;
                    }
                    continue;
                }
                Ok(Step::Done(bytes, user)) => {
                    if !send(outbox, stream, peer, token_reply(&bytes)).await {
                        return None;
                    }
                    Some(authenticated(peer, mechanism, &user))
                }
                Err(e) => {
                    // The legacy exchange has no way to say why: Kafka just closes.
                    failed(peer, mechanism, &e);
                    None
                }
            };
        }
        let (key, version, correlation_id) = dispatch::prefix(&frame);
        let api = ApiKey::try_from(key).ok();
        match (api, &mut stage) {
            (Some(ApiKey::ApiVersions), Stage::Start) => {
                let too_new = dispatch::spec(key).is_some_and(|s| version > s.max);
                let reply = match dispatch::dispatch(broker, frame, &session).await {
                    Ok(Some(r)) => r,
                    Ok(None) => return None,
                    Err(e) => {
                        tracing::warn!(%peer, error = %e, "closing connection");
                        return None;
                    }
                };
                if !send(outbox, stream, peer, reply).await {
                    return None;
                }
                // A too-new version gets the KIP-511 answer and may be retried.
                if !too_new {
                    stage = Stage::Versioned;
                }
            }
            (Some(ApiKey::SaslHandshake), Stage::Start | Stage::Versioned) => {
                let (ctx, req) = decode_request::<SaslHandshakeRequest>(
                    frame,
                    key,
                    version,
                    correlation_id,
                    &session,
                )?;
                let (resp, chosen) =
                    handlers::sasl::handshake(&broker.config.sasl_mechanisms, &req);
                let reply = match dispatch::encode_response(&ctx, &resp) {
                    Ok(b) => b.into(),
                    Err(e) => {
                        tracing::warn!(%peer, error = %e, "closing connection");
                        return None;
                    }
                };
                if !send(outbox, stream, peer, reply).await {
                    return None;
                }
                let Some(mechanism) = chosen else {
                    tracing::info!(%peer, mechanism = %req.mechanism.as_str(), "closing connection: SASL mechanism not enabled");
                    close_after_refusal(stream).await;
                    return None;
                };
                let scram = match mechanism {
                    Mechanism::Scram(m) => Some(ScramServer::new(m)),
                    Mechanism::Plain => None,
                };
                stage = Stage::Tokens {
                    mechanism,
                    framed: version >= 1,
                    scram,
                };
            }
            (
                Some(ApiKey::SaslAuthenticate),
                Stage::Tokens {
                    mechanism,
                    scram,
                    framed: true,
                },
            ) => {
                let mechanism = *mechanism;
                let (ctx, req) = decode_request::<SaslAuthenticateRequest>(
                    frame,
                    key,
                    version,
                    correlation_id,
                    &session,
                )?;
                let (resp, outcome) = match step(broker, mechanism, scram, req.auth_bytes).await {
                    Ok(Step::Challenge(bytes)) => (handlers::sasl::authenticated(bytes), Ok(None)),
                    Ok(Step::Done(bytes, user)) => {
                        (handlers::sasl::authenticated(bytes), Ok(Some(user)))
                    }
                    Err(e) => (handlers::sasl::authentication_failed(&e, mechanism), Err(e)),
                };
                let reply = match dispatch::encode_response(&ctx, &resp) {
                    Ok(b) => b.into(),
                    Err(e) => {
                        tracing::warn!(%peer, error = %e, "closing connection");
                        return None;
                    }
                };
                if !send(outbox, stream, peer, reply).await {
                    return None;
                }
                match outcome {
                    Ok(None) => {}
                    Ok(Some(user)) => return Some(authenticated(peer, mechanism, &user)),
                    Err(e) => {
                        failed(peer, mechanism, &e);
                        close_after_refusal(stream).await;
                        return None;
                    }
                }
            }
            _ => {
                let name = api.map_or_else(|| format!("API key {key}"), |a| format!("{a:?}"));
                tracing::info!(%peer, request = %name, "closing connection: request before SASL authentication");
                return None;
            }
        }
    }
}

/// The request header and body of a SASL-stage request; None (the connection is closed,
/// with a log line naming the peer) when either does not decode.
fn decode_request<R: kafka_protocol::protocol::Decodable>(
    frame: Bytes,
    key: i16,
    version: i16,
    correlation_id: i32,
    session: &Session,
) -> Option<(dispatch::RequestContext, R)> {
    let mut body = frame;
    let spec = dispatch::spec(key)?;
    let decoded = dispatch::context(spec, version, correlation_id, &mut body, session)
        .and_then(|ctx| Ok((ctx, dispatch::decode(&mut body, spec.key, version)?)));
    match decoded {
        Ok(d) => Some(d),
        Err(e) => {
            tracing::warn!(peer = %session.peer, error = %e, "closing connection");
            None
        }
    }
}

fn authenticated(peer: SocketAddr, mechanism: Mechanism, user: &str) -> Principal {
    let principal = Principal::user(user);
    tracing::debug!(%peer, %principal, %mechanism, "SASL authentication succeeded");
    principal
}

fn failed(peer: SocketAddr, mechanism: Mechanism, e: &AuthError) {
    tracing::info!(%peer, %mechanism, error = %e, "SASL authentication failed; closing connection");
}

/// Evaluates one client token.
async fn step(
    broker: &Arc<Broker>,
    mechanism: Mechanism,
    scram: &mut Option<ScramServer>,
    token: Bytes,
) -> Result<Step, AuthError> {
    match (mechanism, scram) {
        (Mechanism::Plain, _) => {
            let msg = plain::parse(&token)?;
            let user = msg.user.clone();
            // PBKDF2 is deliberately slow: off the async workers.
            let b = broker.clone();
            tokio::task::spawn_blocking(move || b.verify_password(&msg.user, &msg.password))
                .await
                .map_err(|e| AuthError::Malformed(format!("password check failed: {e}")))??;
            // PLAIN's server answers nothing (an empty token).
            Ok(Step::Done(Vec::new(), user))
        }
        (Mechanism::Scram(m), Some(server)) => {
            if server.awaits_client_first() {
                let nonce = scram::server_nonce().map_err(|e| AuthError::Random(e.to_string()))?;
                let first =
                    server.client_first(&token, &nonce, |user| broker.scram_credential(user, m))?;
                Ok(Step::Challenge(first))
            } else {
                let (last, user) = server.client_final(&token)?;
                Ok(Step::Done(last, user))
            }
        }
        (Mechanism::Scram(_), None) => Err(AuthError::OutOfOrder),
    }
}
