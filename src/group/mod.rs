//! Kafka's classic consumer-group coordinator (JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
//! DescribeGroups, ListGroups, DeleteGroups, and the group checks of OffsetCommit and
//! OffsetDelete) as a pure state machine: no sockets, no clock, no async, no wire types.
//!
//! - [`GroupCoordinator`] owns the groups. Each entry point takes `now_ms` and returns
//!   [`Output`]s: replies to requests identified by caller-chosen [`ReplyId`]s. A JoinGroup
//!   or SyncGroup may be answered later (by another request, [`GroupCoordinator::tick`] or
//!   [`GroupCoordinator::shutdown`]); every `ReplyId` is answered exactly once.
//! - Timers are data: call `tick(now)` at [`GroupCoordinator::next_deadline`].
//! - [`ClassicGroup`] is one group's state machine (`classic.rs`); inputs, outputs, answer
//!   codes (`GroupCode`: Kafka's error names; the numbers are the handlers') and settings
//!   are in `types.rs`; `subscription.rs` reads the topics out of a
//!   consumer's subscription metadata.
//!
//! Kafka's behaviour (GroupCoordinator / ClassicGroup / GroupMetadataManager) is the spec,
//! including KIP-345 static membership and KIP-394 MEMBER_ID_REQUIRED. Nothing is
//! persisted: after a restart every group starts over (members rejoin and get
//! UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION first, which clients handle).

mod assignor;
mod classic;
mod consumer;
mod coordinator;
mod service;
mod subscription;
mod types;

#[cfg(test)]
mod consumer_tests;
#[cfg(test)]
mod tests;

pub use assignor::{Assignment, ASSIGNORS};
pub use classic::ClassicGroup;
pub use consumer::*;
pub use coordinator::{GroupCoordinator, GroupOverrides};
pub use service::GroupService;
pub use subscription::assigned_partitions;
pub use subscription::subscribed_topics as parse_subscription_topics;
pub use types::*;
