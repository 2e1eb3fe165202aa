//! Who is asking, for the console and the JSON API. With `--authorizer acl` (security
//! on) every request must carry HTTP Basic credentials of a SASL user (checked with
//! `Broker::verify_password`, as a PLAIN login is) and sees only what that user's ACLs
//! allow; without it everyone is `User:ANONYMOUS` and everything is allowed, as on a
//! PLAINTEXT listener with no authorizer.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde_json::json;

use super::HttpState;
use crate::acl::{Action, Denied, Operation, ResourceType};
use crate::auth::Principal;
use crate::broker::Broker;

/// The requester: principal and address.
#[derive(Clone)]
pub(crate) struct Who {
    pub principal: Principal,
    pub host: IpAddr,
}

impl Who {
    pub fn check(
        &self,
        broker: &Broker,
        operation: Operation,
        resource_type: ResourceType,
        name: &str,
    ) -> Result<(), Denied> {
        broker.authorize(
            &self.principal,
            self.host,
            Action {
                operation,
                resource_type,
                name,
            },
        )
    }

    /// Whether the requester may DESCRIBE the resource (what lists are filtered by).
    pub fn sees(&self, broker: &Broker, resource_type: ResourceType, name: &str) -> bool {
        self.check(broker, Operation::Describe, resource_type, name)
            .is_ok()
    }
}

fn unauthorized(message: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            "Basic realm=\"rill\", charset=\"UTF-8\"",
        )],
        Json(json!({"error": message, "code": "SASL_AUTHENTICATION_FAILED"})),
    )
        .into_response()
}

/// (user, password) of an `Authorization: Basic ...` header.
fn basic_credentials(req: &Request) -> Option<(String, String)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, b64) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// The middleware: puts a [`Who`] on every request, or answers 401.
pub(crate) async fn identify(
    State(state): State<Arc<HttpState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let host = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
    let secured = state.broker().is_some_and(|b| b.authorizer_enabled());
    let principal = if !secured {
        Principal::anonymous()
    } else {
        let Some(broker) = state.broker().cloned() else {
            return unauthorized("the broker is starting");
        };
        let Some((user, password)) = basic_credentials(&req) else {
            return unauthorized("log in with a SASL user's name and password");
        };
        // PBKDF2: off the async workers, as for a PLAIN login.
        let name = user.clone();
        let verified =
            tokio::task::spawn_blocking(move || broker.verify_password(&name, &password)).await;
        match verified {
            Ok(Ok(())) => Principal::user(&user),
            _ => {
                tracing::info!(user = %user, %host, "HTTP console login failed");
                return unauthorized("Authentication failed: Invalid username or password");
            }
        }
    };
    req.extensions_mut().insert(Who { principal, host });
    next.run(req).await
}
