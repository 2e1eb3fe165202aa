//! Version negotiation: the versions of each API this client's code can build and read,
//! and the pick per API against what a broker's ApiVersions lists.
//!
//! The upper bounds stop where a request changes shape in a way the code does not
//! follow (Produce 13 and Fetch 13 name topics by id, OffsetCommit/OffsetFetch 9 carry
//! KIP-848 member epochs); the lower ones where the code needs a field (Metadata 1's
//! "all topics", OffsetFetch 2's "all partitions", JoinGroup 1's rebalance timeout).
//! kafka-protocol's own ranges (`Message::VERSIONS`) cap both further.

use std::collections::BTreeMap;

use kafka_protocol::messages::ApiKey;

/// (API, lowest version, highest version) this client speaks.
pub const CLIENT_VERSIONS: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 12),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 8),
    (ApiKey::Metadata, 1, 12),
    (ApiKey::OffsetCommit, 2, 8),
    (ApiKey::OffsetFetch, 2, 8),
    (ApiKey::FindCoordinator, 1, 4),
    (ApiKey::JoinGroup, 1, 9),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::ListGroups, 0, 5),
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 6),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::OffsetDelete, 0, 0),
    (ApiKey::ListConfigResources, 1, 1),
    (ApiKey::DescribeAcls, 1, 3),
    (ApiKey::CreateAcls, 1, 3),
    (ApiKey::DeleteAcls, 1, 3),
    (ApiKey::ConsumerGroupDescribe, 0, 1),
];

/// The versions range this client speaks for `key`, within the codec's `codec` range.
pub fn ours(key: i16, codec: (i16, i16)) -> Option<(i16, i16)> {
    let (_, lo, hi) = CLIENT_VERSIONS.iter().find(|(k, _, _)| *k as i16 == key)?;
    let (lo, hi) = ((*lo).max(codec.0), (*hi).min(codec.1));
    (lo <= hi).then_some((lo, hi))
}

/// The version to use: the highest both sides speak, or `None` if the ranges do not
/// overlap (or the broker does not list the API).
pub fn negotiate(ours: (i16, i16), broker: Option<(i16, i16)>) -> Option<i16> {
    let (bmin, bmax) = broker?;
    let hi = ours.1.min(bmax);
    (hi >= ours.0.max(bmin)).then_some(hi)
}

/// What one broker's ApiVersions listed: key → (min, max).
#[derive(Debug, Clone, Default)]
pub struct BrokerVersions(pub BTreeMap<i16, (i16, i16)>);

impl BrokerVersions {
    pub fn get(&self, key: i16) -> Option<(i16, i16)> {
        self.0.get(&key).copied()
    }
}

/// "Produce" for key 0; the number for keys kafka-protocol does not know.
pub fn api_key_name(key: i16) -> String {
    match ApiKey::try_from(key) {
        Ok(k) => format!("{k:?}"),
        Err(_) => format!("api key {key}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_highest_common_version() {
        // A Kafka 2.x broker: Fetch up to 11.
        assert_eq!(negotiate((4, 12), Some((0, 11))), Some(11));
        // A newer broker than us.
        assert_eq!(negotiate((4, 12), Some((4, 17))), Some(12));
        // Kafka 4 dropped old versions; we still meet it in the middle.
        assert_eq!(negotiate((1, 9), Some((2, 9))), Some(9));
        // No overlap, or not listed at all.
        assert_eq!(negotiate((3, 12), Some((0, 2))), None);
        assert_eq!(negotiate((13, 13), Some((0, 12))), None);
        assert_eq!(negotiate((0, 3), None), None);
    }

    #[test]
    fn our_ranges_stay_within_the_codec() {
        assert_eq!(ours(ApiKey::Fetch as i16, (4, 18)), Some((4, 12)));
        assert_eq!(ours(ApiKey::Metadata as i16, (0, 13)), Some((1, 12)));
        assert_eq!(ours(ApiKey::Fetch as i16, (13, 18)), None);
        assert_eq!(ours(ApiKey::EndTxn as i16, (0, 5)), None);
    }

    #[test]
    fn names() {
        assert_eq!(api_key_name(0), "Produce");
        assert_eq!(api_key_name(3), "Metadata");
        assert_eq!(api_key_name(-7), "api key -7");
    }
}
