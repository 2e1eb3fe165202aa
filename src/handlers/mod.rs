//! One module per API family. Handlers take decoded kafka-protocol requests and return
//! responses; the storage layers below them never see wire types.

pub mod acls;
pub mod admin;
pub mod api_versions;
pub(crate) mod authz;
pub mod configs;
pub mod consumer_groups;
pub mod error_codes;
pub mod errors;
pub mod fetch;
pub mod groups;
pub mod list_offsets;
pub mod log_dirs;
pub mod metadata;
pub mod produce;
pub mod producers;
pub mod quotas;
pub mod replicas;
pub mod sasl;
pub mod scram_users;
pub mod txn;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::TopicName;
use kafka_protocol::protocol::StrBytes;

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
