//! A small blocking Kafka client, used by the admin CLI (`rill topic`, `produce`,
//! `consume`, `group`, `cluster`) and by `rill bench`, and whose frame helpers the
//! protocol tests share. Requests and responses are kafka-protocol's types; versions
//! are negotiated per connection with ApiVersions (`Conn::call` uses the highest
//! version both sides speak), so it talks to any Kafka broker, not only Rill.

mod cluster;
mod conn;
mod error;
pub mod frame;
pub mod records;
pub mod versions;

pub use cluster::{metadata_request, topic_info, Cluster, PartitionInfo, TopicInfo};
pub use conn::{connect, create_topics_request, Conn, CLIENT_ID};
pub use error::{check, error_name, ClientError};
