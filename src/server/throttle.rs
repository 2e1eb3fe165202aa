//! The request quota's side of dispatch: how long a request kept the broker busy
//! ([`Busy`]: the time spent inside its handler's `poll`, so a Fetch parked waiting for
//! data or a JoinGroup waiting for its group costs nothing while it waits, as Kafka counts
//! request-handler thread time), and setting a response's `throttle_time_ms`
//! ([`ThrottleTime`], for the versions whose schema has the field).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use kafka_protocol::messages::*;

/// A future that adds up the time spent in its inner future's `poll`.
pub(crate) struct Busy<F> {
    inner: Pin<Box<F>>,
    spent: Duration,
}

impl<F: Future> Busy<F> {
    pub(crate) fn new(inner: F) -> Busy<F> {
        Busy {
            inner: Box::pin(inner),
            spent: Duration::ZERO,
        }
    }
}

impl<F: Future> Future for Busy<F> {
    /// The output and the time spent computing it.
    type Output = (F::Output, Duration);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let start = Instant::now();
        let polled = self.inner.as_mut().poll(cx);
        let spent = self.spent + start.elapsed();
        self.spent = spent;
        polled.map(|out| (out, spent))
    }
}

/// A response's `throttle_time_ms`, where its schema has one.
pub(crate) trait ThrottleTime {
    /// The throttle time the handler set (0 if none).
    fn throttle_time(&self) -> i32;
    /// Sets it when `version` has the field; otherwise nothing (the connection is still
    /// muted, as Kafka mutes it).
    fn set_throttle_time(&mut self, version: i16, ms: i32);
}

macro_rules! throttle_time {
    ($($key:ident => $t:ty, since $since:expr);* $(;)?) => {
        $(impl ThrottleTime for $t {
            fn throttle_time(&self) -> i32 {
                self.throttle_time_ms
            }
            fn set_throttle_time(&mut self, version: i16, ms: i32) {
                if version >= $since {
                    self.throttle_time_ms = ms;
                }
            }
        })*

        /// Each API with the field: does a response of `version` with a throttle time
        /// set through the trait encode?
        #[cfg(test)]
        const WITH_FIELD: &[(ApiKey, fn(i16) -> bool)] = &[$(
            (ApiKey::$key, |version| {
                let mut resp = <$t>::default();
                resp.set_throttle_time(version, 7);
                let mut buf = bytes::BytesMut::new();
                kafka_protocol::protocol::Encodable::encode(&resp, &mut buf, version).is_ok()
                    && (version < $since || resp.throttle_time() == 7)
            }),
        )*];
    };
}

macro_rules! no_throttle_time {
    ($($t:ty),* $(,)?) => {$(
        impl ThrottleTime for $t {
            fn throttle_time(&self) -> i32 {
                0
            }
            fn set_throttle_time(&mut self, _version: i16, _ms: i32) {}
        }
    )*};
}

// The first version whose schema has ThrottleTimeMs (kafka-protocol's "Supported API
// versions" of the field).
throttle_time!(
    AddOffsetsToTxn => AddOffsetsToTxnResponse, since 0;
    AddPartitionsToTxn => AddPartitionsToTxnResponse, since 0;
    AlterClientQuotas => AlterClientQuotasResponse, since 0;
    AlterConfigs => AlterConfigsResponse, since 0;
    AlterPartitionReassignments => AlterPartitionReassignmentsResponse, since 0;
    AlterUserScramCredentials => AlterUserScramCredentialsResponse, since 0;
    ApiVersions => ApiVersionsResponse, since 1;
    ConsumerGroupDescribe => ConsumerGroupDescribeResponse, since 0;
    ConsumerGroupHeartbeat => ConsumerGroupHeartbeatResponse, since 0;
    CreateAcls => CreateAclsResponse, since 0;
    CreatePartitions => CreatePartitionsResponse, since 0;
    CreateTopics => CreateTopicsResponse, since 2;
    DeleteAcls => DeleteAclsResponse, since 0;
    DeleteGroups => DeleteGroupsResponse, since 0;
    DeleteRecords => DeleteRecordsResponse, since 0;
    DeleteTopics => DeleteTopicsResponse, since 1;
    DescribeAcls => DescribeAclsResponse, since 0;
    DescribeClientQuotas => DescribeClientQuotasResponse, since 0;
    DescribeCluster => DescribeClusterResponse, since 0;
    DescribeConfigs => DescribeConfigsResponse, since 0;
    DescribeGroups => DescribeGroupsResponse, since 1;
    DescribeLogDirs => DescribeLogDirsResponse, since 0;
    DescribeProducers => DescribeProducersResponse, since 0;
    DescribeTopicPartitions => DescribeTopicPartitionsResponse, since 0;
    DescribeTransactions => DescribeTransactionsResponse, since 0;
    DescribeUserScramCredentials => DescribeUserScramCredentialsResponse, since 0;
    ElectLeaders => ElectLeadersResponse, since 0;
    EndTxn => EndTxnResponse, since 0;
    Fetch => FetchResponse, since 1;
    FindCoordinator => FindCoordinatorResponse, since 1;
    GetTelemetrySubscriptions => GetTelemetrySubscriptionsResponse, since 0;
    Heartbeat => HeartbeatResponse, since 1;
    IncrementalAlterConfigs => IncrementalAlterConfigsResponse, since 0;
    InitProducerId => InitProducerIdResponse, since 0;
    JoinGroup => JoinGroupResponse, since 2;
    LeaveGroup => LeaveGroupResponse, since 1;
    ListConfigResources => ListConfigResourcesResponse, since 0;
    ListGroups => ListGroupsResponse, since 1;
    ListOffsets => ListOffsetsResponse, since 2;
    ListPartitionReassignments => ListPartitionReassignmentsResponse, since 0;
    ListTransactions => ListTransactionsResponse, since 0;
    Metadata => MetadataResponse, since 3;
    OffsetCommit => OffsetCommitResponse, since 3;
    OffsetDelete => OffsetDeleteResponse, since 0;
    OffsetFetch => OffsetFetchResponse, since 3;
    OffsetForLeaderEpoch => OffsetForLeaderEpochResponse, since 2;
    Produce => ProduceResponse, since 1;
    SyncGroup => SyncGroupResponse, since 1;
    TxnOffsetCommit => TxnOffsetCommitResponse, since 0;
);

no_throttle_time!(
    SaslHandshakeResponse,
    SaslAuthenticateResponse,
    WriteTxnMarkersResponse
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::dispatch::SUPPORTED;

    #[test]
    fn every_supported_version_encodes_with_a_throttle_time() {
        for spec in SUPPORTED {
            let Some((_, check)) = WITH_FIELD.iter().find(|(k, _)| *k == spec.key) else {
                assert!(
                    matches!(
                        spec.key,
                        ApiKey::SaslHandshake | ApiKey::SaslAuthenticate | ApiKey::WriteTxnMarkers
                    ),
                    "{:?} has no ThrottleTime impl",
                    spec.key
                );
                continue;
            };
            let codec = spec.key.valid_versions();
            for v in spec.min.max(codec.min)..=spec.max {
                assert!(check(v), "{:?} v{v}", spec.key);
            }
        }
    }
}
