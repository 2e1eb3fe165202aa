//! One module per API family. Handlers take decoded kafka-protocol requests and return
//! responses; the storage layers below them never see wire types.

pub mod admin;
pub mod api_versions;
pub mod consumer_groups;
pub mod fetch;
pub mod groups;
pub mod list_offsets;
pub mod metadata;
pub mod produce;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::TopicName;
use kafka_protocol::protocol::StrBytes;

use crate::broker::TopicError;

pub fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

pub fn topic_name(s: &str) -> TopicName {
    TopicName(str_bytes(s))
}

pub const NONE: i16 = 0;

pub fn code(e: ResponseError) -> i16 {
    e.code()
}

impl TopicError {
    /// The Kafka error code for this failure.
    pub fn kafka_code(&self) -> i16 {
        match self {
            TopicError::AlreadyExists(_) => code(ResponseError::TopicAlreadyExists),
            TopicError::UnknownTopic => code(ResponseError::UnknownTopicOrPartition),
            TopicError::InvalidName(_) => code(ResponseError::InvalidTopicException),
            TopicError::InvalidPartitions(_) => code(ResponseError::InvalidPartitions),
            TopicError::InvalidReplicationFactor(_) => {
                code(ResponseError::InvalidReplicationFactor)
            }
            TopicError::InvalidConfig(_) => code(ResponseError::InvalidConfig),
            TopicError::Storage(_) => code(ResponseError::KafkaStorageError),
        }
    }
}
