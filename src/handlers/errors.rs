//! The one place where domain errors become Kafka error codes. Layers below the handlers
//! return typed errors; handlers call `kafka_code` on them and never pick codes themselves.

use kafka_protocol::error::ResponseError;

use crate::broker::fetch::FetchError;
use crate::broker::{BrokerError, ProduceError, TopicError};
use crate::log::batch::BatchError;
use crate::log::producer::ProducerError;
use crate::log::LogError;
use crate::txn::{TxnError, TxnFailure};

/// A domain error that a client sees as one Kafka error code.
pub trait KafkaCode {
    fn error(&self) -> ResponseError;
    fn kafka_code(&self) -> i16 {
        self.error().code()
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

impl KafkaCode for crate::meta::MetaError {
    fn error(&self) -> ResponseError {
        ResponseError::KafkaStorageError
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The group coordinator is a pure state machine that may not see kafka-protocol, so
    /// it answers with Kafka's numeric codes (`group::types`); they are checked here
    /// against the codec's table, so the numbers have one source of truth.
    #[test]
    fn group_coordinator_codes_are_kafkas() {
        use crate::group as g;
        let table = [
            (
                g::COORDINATOR_NOT_AVAILABLE,
                ResponseError::CoordinatorNotAvailable,
            ),
            (g::NOT_COORDINATOR, ResponseError::NotCoordinator),
            (g::ILLEGAL_GENERATION, ResponseError::IllegalGeneration),
            (
                g::INCONSISTENT_GROUP_PROTOCOL,
                ResponseError::InconsistentGroupProtocol,
            ),
            (g::INVALID_GROUP_ID, ResponseError::InvalidGroupId),
            (g::UNKNOWN_MEMBER_ID, ResponseError::UnknownMemberId),
            (
                g::INVALID_SESSION_TIMEOUT,
                ResponseError::InvalidSessionTimeout,
            ),
            (g::REBALANCE_IN_PROGRESS, ResponseError::RebalanceInProgress),
            (g::NON_EMPTY_GROUP, ResponseError::NonEmptyGroup),
            (g::GROUP_ID_NOT_FOUND, ResponseError::GroupIdNotFound),
            (g::MEMBER_ID_REQUIRED, ResponseError::MemberIdRequired),
            (
                g::GROUP_MAX_SIZE_REACHED,
                ResponseError::GroupMaxSizeReached,
            ),
            (g::FENCED_INSTANCE_ID, ResponseError::FencedInstanceId),
            (
                g::GROUP_SUBSCRIBED_TO_TOPIC,
                ResponseError::GroupSubscribedToTopic,
            ),
            (g::UNSUPPORTED_VERSION, ResponseError::UnsupportedVersion),
            (g::INVALID_REQUEST, ResponseError::InvalidRequest),
            (g::FENCED_MEMBER_EPOCH, ResponseError::FencedMemberEpoch),
            (
                g::UNRELEASED_INSTANCE_ID,
                ResponseError::UnreleasedInstanceId,
            ),
            (g::UNSUPPORTED_ASSIGNOR, ResponseError::UnsupportedAssignor),
            (g::STALE_MEMBER_EPOCH, ResponseError::StaleMemberEpoch),
            (
                g::INVALID_REGULAR_EXPRESSION,
                ResponseError::InvalidRegularExpression,
            ),
        ];
        for (ours, kafka) in table {
            assert_eq!(ours, kafka.code(), "{kafka:?}");
        }
        assert_eq!(g::UNKNOWN_SERVER_ERROR, -1);
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
