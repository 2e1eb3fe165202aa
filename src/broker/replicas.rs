//! What a single-node cluster answers about replicas, leaders and leader epochs: every
//! partition has one replica (this node), its leader, at leader epoch 0 forever.

use thiserror::Error;

use super::Broker;

/// The leader epoch of every partition (also written into every stored batch).
pub const LEADER_EPOCH: i32 = 0;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ReplicaError {
    #[error("This server does not host this topic-partition.")]
    UnknownTopicOrPartition,
    #[error("Leader election not needed for topic partition.")]
    ElectionNotNeeded,
    #[error("No reassignment is in progress for this partition.")]
    NoReassignmentInProgress,
    #[error("{0}")]
    InvalidReplicaAssignment(String),
    #[error("The leader epoch in the request ({0}) is newer than the broker's ({LEADER_EPOCH}).")]
    UnknownLeaderEpoch(i32),
}

impl Broker {
    fn has_partition(&self, topic: &str, partition: i32) -> bool {
        self.topic(topic)
            .is_some_and(|t| t.partition(partition).is_some())
    }

    /// ElectLeaders: the only replica already leads, so no election is ever needed.
    pub fn elect_leader(&self, topic: &str, partition: i32) -> Result<(), ReplicaError> {
        if !self.has_partition(topic, partition) {
            return Err(ReplicaError::UnknownTopicOrPartition);
        }
        Err(ReplicaError::ElectionNotNeeded)
    }

    /// AlterPartitionReassignments: the only valid target is this node alone (nothing to
    /// do); cancelling (None) finds nothing in progress.
    pub fn reassign(
        &self,
        topic: &str,
        partition: i32,
        replicas: Option<&[i32]>,
    ) -> Result<(), ReplicaError> {
        if !self.has_partition(topic, partition) {
            return Err(ReplicaError::UnknownTopicOrPartition);
        }
        let Some(replicas) = replicas else {
            return Err(ReplicaError::NoReassignmentInProgress);
        };
        if replicas.is_empty() {
            return Err(ReplicaError::InvalidReplicaAssignment(
                "The manual partition assignment includes an empty replica list.".into(),
            ));
        }
        if let Some(other) = replicas.iter().find(|&&r| r != self.config.node_id) {
            return Err(ReplicaError::InvalidReplicaAssignment(format!(
                "The manual partition assignment includes broker {other}, but no such broker is registered."
            )));
        }
        if replicas.len() > 1 {
            return Err(ReplicaError::InvalidReplicaAssignment(
                "The manual partition assignment includes duplicate replicas.".into(),
            ));
        }
        Ok(())
    }

    /// OffsetForLeaderEpoch: (epoch, end offset) of `epoch`. Epoch 0 is the only and
    /// latest one, so it ends at the log end; any other is undefined (-1, -1).
    pub fn epoch_end_offset(
        &self,
        topic: &str,
        partition: i32,
        current_epoch: i32,
        epoch: i32,
    ) -> Result<(i32, i64), ReplicaError> {
        let log = self
            .topic(topic)
            .and_then(|t| t.partition(partition))
            .ok_or(ReplicaError::UnknownTopicOrPartition)?;
        if current_epoch > LEADER_EPOCH {
            return Err(ReplicaError::UnknownLeaderEpoch(current_epoch));
        }
        if epoch == LEADER_EPOCH {
            Ok((LEADER_EPOCH, log.offsets().1))
        } else {
            Ok((-1, -1))
        }
    }
}
