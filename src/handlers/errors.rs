//! The one place where domain errors become Kafka error codes. Layers below the handlers
//! return typed errors; handlers call `kafka_code` on them and never pick codes themselves.

use kafka_protocol::error::ResponseError;

use crate::acl::{AclError, Denied, ResourceType};
use crate::auth::{AuthError, Mechanism};
use crate::broker::acls::AclOpError;
use crate::broker::fetch::FetchError;
use crate::broker::replicas::ReplicaError;
use crate::broker::retention::DeleteRecordsError;
use crate::broker::users::{ScramAlterError, ScramDescribeError};
use crate::broker::{BrokerError, ProduceError, RecordProblem, TopicError};
use crate::config::ConfigError;
use crate::group::GroupCode;
use crate::log::batch::BatchError;
use crate::log::producer::ProducerError;
use crate::log::LogError;
use crate::txn::{TxnError, TxnFailure};

/// Kafka's name for an error (`UNKNOWN_TOPIC_OR_PARTITION`); unknown codes as
/// `error code N`.
pub fn error_name(e: &ResponseError) -> String {
    if let ResponseError::Unknown(c) = e {
        return format!("error code {c}");
    }
    let camel = format!("{e:?}");
    let mut out = String::with_capacity(camel.len() + 8);
    for (i, ch) in camel.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}

/// A domain error that a client sees as one Kafka error code.
pub trait KafkaCode {
    fn error(&self) -> ResponseError;
    fn kafka_code(&self) -> i16 {
        self.error().code()
    }
}

impl KafkaCode for crate::broker::quotas::QuotaAlterError {
    fn error(&self) -> ResponseError {
        match self {
            crate::broker::quotas::QuotaAlterError::Invalid(_) => ResponseError::InvalidRequest,
            crate::broker::quotas::QuotaAlterError::Meta(_) => ResponseError::UnknownServerError,
        }
    }
}

impl KafkaCode for BatchError {
    fn error(&self) -> ResponseError {
        match self {
            BatchError::Crc { .. } | BatchError::BadLength(_) => ResponseError::CorruptMessage,
            BatchError::TooLarge { .. } => ResponseError::MessageTooLarge,
            BatchError::BadMagic(_) => ResponseError::UnsupportedForMessageFormat,
            BatchError::Truncated
            | BatchError::NotExactlyOneBatch
            | BatchError::CountMismatch { .. }
            | BatchError::ControlBatch => ResponseError::InvalidRecord,
        }
    }
}

impl KafkaCode for ProducerError {
    fn error(&self) -> ResponseError {
        match self {
            ProducerError::OutOfOrderSequence { .. } | ProducerError::NewEpochSequence { .. } => {
                ResponseError::OutOfOrderSequenceNumber
            }
            // Kafka answers a produce with a stale epoch with INVALID_PRODUCER_EPOCH (not
            // PRODUCER_FENCED) since 2.7, so the client can abort and carry on.
            ProducerError::InvalidProducerEpoch { .. } => ResponseError::InvalidProducerEpoch,
            ProducerError::TransactionalNotAdded { .. }
            | ProducerError::NonTransactionalInTxn { .. } => ResponseError::InvalidTxnState,
            ProducerError::CoordinatorFenced { .. } => ResponseError::TransactionCoordinatorFenced,
        }
    }
}

impl KafkaCode for LogError {
    fn error(&self) -> ResponseError {
        match self {
            LogError::Deleted => ResponseError::UnknownTopicOrPartition,
            LogError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
            LogError::Producer(e) => e.error(),
            LogError::Io { .. } => ResponseError::KafkaStorageError,
        }
    }
}

impl KafkaCode for BrokerError {
    fn error(&self) -> ResponseError {
        match self {
            BrokerError::Log(e) => e.error(),
            BrokerError::Meta(_) | BrokerError::Io { .. } | BrokerError::Txn(_) => {
                ResponseError::KafkaStorageError
            }
        }
    }
}

impl KafkaCode for TopicError {
    fn error(&self) -> ResponseError {
        match self {
            TopicError::AlreadyExists(_) => ResponseError::TopicAlreadyExists,
            TopicError::UnknownTopic => ResponseError::UnknownTopicOrPartition,
            TopicError::InvalidName(_) => ResponseError::InvalidTopicException,
            TopicError::InvalidPartitions(_) => ResponseError::InvalidPartitions,
            TopicError::InvalidReplicationFactor(_) => ResponseError::InvalidReplicationFactor,
            TopicError::InvalidConfig(_) => ResponseError::InvalidConfig,
            TopicError::Storage(_) => ResponseError::KafkaStorageError,
        }
    }
}

impl KafkaCode for ProduceError {
    fn error(&self) -> ResponseError {
        match self {
            ProduceError::UnknownTopicOrPartition => ResponseError::UnknownTopicOrPartition,
            ProduceError::NoRecords => ResponseError::InvalidRecord,
            ProduceError::Batch(e) => e.error(),
            ProduceError::Log(e) => e.error(),
            ProduceError::Flush(_) => ResponseError::KafkaStorageError,
            ProduceError::Txn(e) => e.error(),
            ProduceError::Records { problem, .. } => match problem {
                RecordProblem::MissingKey => ResponseError::InvalidRecord,
                RecordProblem::Timestamp => ResponseError::InvalidTimestamp,
            },
        }
    }
}

impl KafkaCode for FetchError {
    fn error(&self) -> ResponseError {
        match self {
            FetchError::UnknownTopic | FetchError::UnknownPartition => {
                ResponseError::UnknownTopicOrPartition
            }
            FetchError::UnknownTopicId => ResponseError::UnknownTopicId,
            FetchError::UnknownLeaderEpoch(_) => ResponseError::UnknownLeaderEpoch,
            FetchError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
            FetchError::Log(e) => e.error(),
        }
    }
}

impl KafkaCode for TxnError {
    fn error(&self) -> ResponseError {
        match self {
            TxnError::InvalidRequest(_) => ResponseError::InvalidRequest,
            TxnError::InvalidTimeout(_) => ResponseError::InvalidTransactionTimeout,
            TxnError::ConcurrentTransactions => ResponseError::ConcurrentTransactions,
            TxnError::ProducerFenced => ResponseError::ProducerFenced,
            TxnError::InvalidProducerIdMapping(_) => ResponseError::InvalidProducerIdMapping,
            TxnError::InvalidTxnState(_) => ResponseError::InvalidTxnState,
            TxnError::InvalidProducerEpoch { .. } => ResponseError::InvalidProducerEpoch,
            TxnError::TransactionalIdNotFound(_) => ResponseError::TransactionalIdNotFound,
        }
    }
}

impl KafkaCode for TxnFailure {
    fn error(&self) -> ResponseError {
        match self {
            TxnFailure::Txn(e) => e.error(),
            TxnFailure::Store(_) | TxnFailure::Flush(_) => ResponseError::KafkaStorageError,
        }
    }
}

impl GroupCode {
    /// Kafka's number for the group coordinator's answer.
    pub fn kafka_code(self) -> i16 {
        match self {
            GroupCode::None => 0,
            GroupCode::UnknownServerError => ResponseError::UnknownServerError.code(),
            GroupCode::CoordinatorNotAvailable => ResponseError::CoordinatorNotAvailable.code(),
            GroupCode::NotCoordinator => ResponseError::NotCoordinator.code(),
            GroupCode::IllegalGeneration => ResponseError::IllegalGeneration.code(),
            GroupCode::InconsistentGroupProtocol => ResponseError::InconsistentGroupProtocol.code(),
            GroupCode::InvalidGroupId => ResponseError::InvalidGroupId.code(),
            GroupCode::UnknownMemberId => ResponseError::UnknownMemberId.code(),
            GroupCode::InvalidSessionTimeout => ResponseError::InvalidSessionTimeout.code(),
            GroupCode::RebalanceInProgress => ResponseError::RebalanceInProgress.code(),
            GroupCode::NonEmptyGroup => ResponseError::NonEmptyGroup.code(),
            GroupCode::GroupIdNotFound => ResponseError::GroupIdNotFound.code(),
            GroupCode::MemberIdRequired => ResponseError::MemberIdRequired.code(),
            GroupCode::GroupMaxSizeReached => ResponseError::GroupMaxSizeReached.code(),
            GroupCode::FencedInstanceId => ResponseError::FencedInstanceId.code(),
            GroupCode::GroupSubscribedToTopic => ResponseError::GroupSubscribedToTopic.code(),
            GroupCode::UnsupportedVersion => ResponseError::UnsupportedVersion.code(),
            GroupCode::InvalidRequest => ResponseError::InvalidRequest.code(),
            GroupCode::FencedMemberEpoch => ResponseError::FencedMemberEpoch.code(),
            GroupCode::UnreleasedInstanceId => ResponseError::UnreleasedInstanceId.code(),
            GroupCode::UnsupportedAssignor => ResponseError::UnsupportedAssignor.code(),
            GroupCode::StaleMemberEpoch => ResponseError::StaleMemberEpoch.code(),
            GroupCode::InvalidRegularExpression => ResponseError::InvalidRegularExpression.code(),
        }
    }
}

impl KafkaCode for DeleteRecordsError {
    fn error(&self) -> ResponseError {
        match self {
            DeleteRecordsError::UnknownTopicOrPartition => ResponseError::UnknownTopicOrPartition,
            DeleteRecordsError::Policy(_) => ResponseError::PolicyViolation,
            DeleteRecordsError::Log(e) => e.error(),
        }
    }
}

impl KafkaCode for ReplicaError {
    fn error(&self) -> ResponseError {
        match self {
            ReplicaError::UnknownTopicOrPartition => ResponseError::UnknownTopicOrPartition,
            ReplicaError::ElectionNotNeeded => ResponseError::ElectionNotNeeded,
            ReplicaError::NoReassignmentInProgress => ResponseError::NoReassignmentInProgress,
            ReplicaError::InvalidReplicaAssignment(_) => ResponseError::InvalidReplicaAssignment,
            ReplicaError::UnknownLeaderEpoch(_) => ResponseError::UnknownLeaderEpoch,
        }
    }
}

impl KafkaCode for ConfigError {
    fn error(&self) -> ResponseError {
        match self {
            ConfigError::Invalid(_) => ResponseError::InvalidConfig,
            ConfigError::InvalidRequest(_) => ResponseError::InvalidRequest,
            ConfigError::UnknownTopic(_) => ResponseError::UnknownTopicOrPartition,
            ConfigError::Storage(_) => ResponseError::KafkaStorageError,
        }
    }
}

impl KafkaCode for crate::meta::MetaError {
    fn error(&self) -> ResponseError {
        ResponseError::KafkaStorageError
    }
}

impl KafkaCode for AuthError {
    fn error(&self) -> ResponseError {
        ResponseError::SaslAuthenticationFailed
    }
}

/// What a client whose SASL authentication failed is told, in Kafka's words: PLAIN's own
/// messages for a wrong user/password or authorization id, otherwise the generic one
/// (which, like Kafka's, never says whether the user exists).
pub fn sasl_failure_message(e: &AuthError, mechanism: Mechanism) -> String {
    match (e, mechanism) {
        (AuthError::UnknownUser(_) | AuthError::BadPassword(_), Mechanism::Plain) => {
            "Authentication failed: Invalid username or password".into()
        }
        (AuthError::AuthzidMismatch { .. }, _) => {
            "Authentication failed: Client requested an authorization id that is different from username".into()
        }
        _ => format!(
            "Authentication failed during authentication due to invalid credentials with SASL mechanism {mechanism}"
        ),
    }
}

impl KafkaCode for ScramAlterError {
    fn error(&self) -> ResponseError {
        match self {
            ScramAlterError::Duplicate => ResponseError::DuplicateResource,
            ScramAlterError::NotFound => ResponseError::ResourceNotFound,
            ScramAlterError::UnsupportedMechanism => ResponseError::UnsupportedSaslMechanism,
            ScramAlterError::Unacceptable(_) => ResponseError::UnacceptableCredential,
            ScramAlterError::Storage(_) => ResponseError::KafkaStorageError,
        }
    }
}

impl KafkaCode for ScramDescribeError {
    fn error(&self) -> ResponseError {
        match self {
            ScramDescribeError::Duplicate(_) => ResponseError::DuplicateResource,
            ScramDescribeError::NotFound(_) => ResponseError::ResourceNotFound,
        }
    }
}

impl KafkaCode for Denied {
    fn error(&self) -> ResponseError {
        match self.resource_type {
            ResourceType::Topic => ResponseError::TopicAuthorizationFailed,
            ResourceType::Group => ResponseError::GroupAuthorizationFailed,
            ResourceType::TransactionalId => ResponseError::TransactionalIdAuthorizationFailed,
            ResourceType::DelegationToken => ResponseError::DelegationTokenAuthorizationFailed,
            ResourceType::Cluster | ResourceType::User | ResourceType::Any => {
                ResponseError::ClusterAuthorizationFailed
            }
        }
    }
}

impl KafkaCode for AclError {
    fn error(&self) -> ResponseError {
        match self {
            AclError::InvalidRequest(_) => ResponseError::InvalidRequest,
        }
    }
}

impl KafkaCode for AclOpError {
    fn error(&self) -> ResponseError {
        match self {
            AclOpError::Invalid(e) => e.error(),
            AclOpError::Storage(_) => ResponseError::KafkaStorageError,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_codes_are_kafkas() {
        use crate::group as g;
        assert_eq!(g::NONE.kafka_code(), 0);
        assert_eq!(g::UNKNOWN_SERVER_ERROR.kafka_code(), -1);
        assert_eq!(g::ILLEGAL_GENERATION.kafka_code(), 22);
        assert_eq!(g::UNKNOWN_MEMBER_ID.kafka_code(), 25);
        assert_eq!(g::MEMBER_ID_REQUIRED.kafka_code(), 79);
        assert_eq!(g::STALE_MEMBER_EPOCH.kafka_code(), 113);
    }

    #[test]
    fn sasl_codes_and_messages_are_kafkas() {
        use crate::auth::ScramMechanism;
        let bad = AuthError::BadPassword("u".into());
        assert_eq!(bad.kafka_code(), 58);
        assert_eq!(
            sasl_failure_message(&bad, Mechanism::Plain),
            "Authentication failed: Invalid username or password"
        );
        assert_eq!(
            sasl_failure_message(&bad, Mechanism::Scram(ScramMechanism::Sha256)),
            "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256"
        );
        assert_eq!(ScramAlterError::Duplicate.kafka_code(), 92);
        assert_eq!(ScramAlterError::NotFound.kafka_code(), 91);
        assert_eq!(ScramAlterError::UnsupportedMechanism.kafka_code(), 33);
        assert_eq!(ScramAlterError::Unacceptable("x").kafka_code(), 93);
    }

    #[test]
    fn authorization_codes_are_kafkas() {
        let denied = |resource_type| Denied {
            principal: "User:a".into(),
            operation: crate::acl::Operation::Read,
            resource_type,
            name: "x".into(),
        };
        assert_eq!(denied(ResourceType::Topic).kafka_code(), 29);
        assert_eq!(denied(ResourceType::Group).kafka_code(), 30);
        assert_eq!(denied(ResourceType::Cluster).kafka_code(), 31);
        assert_eq!(denied(ResourceType::TransactionalId).kafka_code(), 53);
        assert_eq!(denied(ResourceType::DelegationToken).kafka_code(), 65);
        assert_eq!(AclError::InvalidRequest("x".into()).kafka_code(), 42);
    }

    #[test]
    fn codes_match_kafka() {
        let crc = BatchError::Crc {
            expected: 1,
            actual: 2,
        };
        assert_eq!(crc.kafka_code(), 2);
        assert_eq!(BatchError::TooLarge { size: 2, max: 1 }.kafka_code(), 10);
        assert_eq!(BatchError::ControlBatch.kafka_code(), 87);
        let ooo = ProducerError::OutOfOrderSequence {
            producer_id: 1,
            offset: 0,
            found: 3,
            last: 1,
        };
        assert_eq!(ProduceError::Log(LogError::Producer(ooo)).kafka_code(), 45);
        let epoch = ProducerError::InvalidProducerEpoch {
            producer_id: 1,
            offset: 0,
            epoch: 0,
            current: 1,
        };
        assert_eq!(LogError::Producer(epoch).kafka_code(), 47);
        assert_eq!(
            ProducerError::TransactionalNotAdded { producer_id: 1 }.kafka_code(),
            48
        );
    }
}
