//! SASL authentication's pure parts: the mechanisms (PLAIN, SCRAM-SHA-256/512), SCRAM
//! credentials and their arithmetic, the server side of each exchange, the users file.
//! No sockets and no wire types: `server/sasl.rs` drives these on a connection, and
//! `broker/users.rs` keeps the credentials (in the metadata store).

pub mod credentials;
pub mod plain;
pub mod scram;
pub mod users_file;

use std::fmt;
use std::sync::Arc;

use thiserror::Error;

pub use credentials::{ScramCredential, ScramMechanism};

/// A SASL mechanism Rill serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    Plain,
    Scram(ScramMechanism),
}

impl Mechanism {
    pub const ALL: [Mechanism; 3] = [
        Mechanism::Plain,
        Mechanism::Scram(ScramMechanism::Sha256),
        Mechanism::Scram(ScramMechanism::Sha512),
    ];

    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Scram(m) => m.name(),
        }
    }

    /// By its exact name (mechanism names are case-sensitive in Kafka's handshake).
    pub fn from_name(name: &str) -> Option<Mechanism> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One entry of `--sasl-mechanisms`: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (upper case,
/// as in Kafka's `sasl.enabled.mechanisms`).
pub fn parse_mechanism(name: &str) -> Result<Mechanism, String> {
    let name = name.trim();
    Mechanism::from_name(name).ok_or_else(|| {
        format!(
            "{name:?} is not a SASL mechanism Rill serves (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)"
        )
    })
}

/// Why an authentication failed. The Display text is for the broker's log; what the
/// client is told is chosen in `handlers::errors` (Kafka's messages, which never say
/// whether a user exists).
#[derive(Debug, Error, PartialEq)]
pub enum AuthError {
    #[error("malformed {0}")]
    Malformed(String),
    #[error("unknown user {0:?}")]
    UnknownUser(String),
    #[error("wrong password for user {0:?}")]
    BadPassword(String),
    #[error("authorization id {authzid:?} is not the user {user:?}")]
    AuthzidMismatch { user: String, authzid: String },
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("the client-final nonce is not the server's")]
    NonceMismatch,
    #[error("SASL message out of order")]
    OutOfOrder,
    #[error("no randomness for a nonce: {0}")]
    Random(String),
}

/// Who a connection is, for the authorizer: `User:ANONYMOUS` on PLAINTEXT
/// listeners, `User:<name>` once SASL authentication succeeded.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal(Arc<str>);

impl Principal {
    pub fn anonymous() -> Principal {
        Principal(Arc::from("User:ANONYMOUS"))
    }

    pub fn user(name: &str) -> Principal {
        Principal(Arc::from(format!("User:{name}")))
    }

    /// `User:name`, as Kafka's ACLs write principals.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name without its type (`alice` of `User:alice`): what quotas are set for.
    pub fn name(&self) -> &str {
        self.0.split_once(':').map_or(&self.0, |(_, n)| n)
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mechanism_lists() {
        assert_eq!(parse_mechanism("PLAIN"), Ok(Mechanism::Plain));
        assert_eq!(
            parse_mechanism(" SCRAM-SHA-512 "),
            Ok(Mechanism::Scram(ScramMechanism::Sha512))
        );
        assert!(parse_mechanism("GSSAPI").is_err());
        assert!(parse_mechanism("plain").is_err());
        assert!(parse_mechanism("").is_err());
        assert_eq!(Principal::user("alice").as_str(), "User:alice");
        assert_eq!(Principal::anonymous().to_string(), "User:ANONYMOUS");
        assert_eq!(Principal::user("CN=a,O=b").name(), "CN=a,O=b");
    }
}
