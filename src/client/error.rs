//! The client's one error type.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ClientError {
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("no broker answered at {0}")]
    NoBroker(String),
    #[error("timed out waiting for {addr} to answer")]
    Timeout { addr: String },
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot encode {api} request: {msg}")]
    Encode { api: &'static str, msg: String },
    #[error("malformed {api} response: {msg}")]
    Decode { api: &'static str, msg: String },
    #[error("response has correlation id {got}, expected {expected}")]
    Correlation { got: i32, expected: i32 },
    #[error("response frame size {0} is out of range")]
    FrameSize(i64),
    #[error("the broker closed the connection")]
    Closed,
    #[error("the broker does not support {api} at any version this client speaks ({ours}; broker: {broker})")]
    Unsupported {
        api: &'static str,
        ours: String,
        broker: String,
    },
    #[error("topic {topic}: {msg}")]
    Topic { topic: String, msg: String },
    #[error("{api} failed: {} (partition {partition})", error_name(*code))]
    Kafka {
        api: &'static str,
        code: i16,
        partition: i32,
    },
    /// An error code about one named thing (topic, group, config resource), with the
    /// broker's message when it sent one.
    #[error("{what}: {}{}", error_name(*code), message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default())]
    Refused {
        what: String,
        code: i16,
        message: Option<String>,
    },
    #[error("{0}")]
    Other(String),
}

impl ClientError {
    /// The Kafka error code this error carries, if any.
    pub fn code(&self) -> Option<i16> {
        match self {
            ClientError::Kafka { code, .. } | ClientError::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Kafka's name for an error code (`UNKNOWN_TOPIC_OR_PARTITION`), from kafka-protocol's
/// table; unknown codes as `error code N`.
pub fn error_name(code: i16) -> String {
    match kafka_protocol::ResponseError::try_from_code(code) {
        None => "NONE".into(),
        Some(e) => crate::handlers::errors::error_name(&e),
    }
}

/// `Err(Refused)` unless `code` is 0.
pub fn check(
    what: impl FnOnce() -> String,
    code: i16,
    message: Option<&str>,
) -> Result<(), ClientError> {
    if code == 0 {
        return Ok(());
    }
    Err(ClientError::Refused {
        what: what(),
        code,
        message: message.filter(|m| !m.is_empty()).map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_are_kafkas() {
        assert_eq!(error_name(3), "UNKNOWN_TOPIC_OR_PARTITION");
        assert_eq!(error_name(36), "TOPIC_ALREADY_EXISTS");
        assert_eq!(error_name(69), "GROUP_ID_NOT_FOUND");
        assert_eq!(error_name(0), "NONE");
        assert_eq!(error_name(9999), "error code 9999");
    }
}
