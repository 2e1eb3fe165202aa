//! The error codes of a response, for `rill_request_errors_total`: each response type
//! says where its codes are (top-level, per topic, per partition), and dispatch counts
//! every code other than NONE before encoding. Walking the typed responses catches every
//! code a client sees, whichever handler or helper chose it; the mapping from domain
//! errors to codes stays in `errors.rs`.

use kafka_protocol::messages::*;

/// Calls `f` with each error code in a response (NONE included; the caller skips it).
pub trait ErrorCodes {
    fn error_codes(&self, _f: &mut dyn FnMut(i16)) {}
}

impl<T: ErrorCodes> ErrorCodes for Option<T> {
    fn error_codes(&self, f: &mut dyn FnMut(i16)) {
        if let Some(r) = self {
            r.error_codes(f);
        }
    }
}

/// Responses whose only code is the top-level `error_code`.
macro_rules! top_level {
    ($($t:ty),* $(,)?) => {$(
        impl ErrorCodes for $t {
            fn error_codes(&self, f: &mut dyn FnMut(i16)) {
                f(self.error_code);
            }
        }
    )*};
}

/// Responses whose codes are not counted (per-resource results of admin APIs with
/// their own shapes; their failures are rare and logged).
macro_rules! uncounted {
    ($($t:ty),* $(,)?) => {$(
        impl ErrorCodes for $t {}
    )*};
}

top_level!(
    AddOffsetsToTxnResponse,
    AddPartitionsToTxnResponse,
    AlterPartitionReassignmentsResponse,
    ApiVersionsResponse,
    ConsumerGroupHeartbeatResponse,
    DescribeAclsResponse,
    DescribeClientQuotasResponse,
    DescribeClusterResponse,
    DescribeLogDirsResponse,
    DescribeUserScramCredentialsResponse,
    ElectLeadersResponse,
    EndTxnResponse,
    GetTelemetrySubscriptionsResponse,
    HeartbeatResponse,
    InitProducerIdResponse,
    JoinGroupResponse,
    LeaveGroupResponse,
    ListConfigResourcesResponse,
    ListGroupsResponse,
    ListPartitionReassignmentsResponse,
    ListTransactionsResponse,
    OffsetDeleteResponse,
    SaslAuthenticateResponse,
    SaslHandshakeResponse,
    SyncGroupResponse,
);

uncounted!(
    AlterClientQuotasResponse,
    AlterConfigsResponse,
    AlterUserScramCredentialsResponse,
    ConsumerGroupDescribeResponse,
    CreateAclsResponse,
    DeleteAclsResponse,
    DescribeConfigsResponse,
    DescribeProducersResponse,
    DescribeTopicPartitionsResponse,
    DescribeTransactionsResponse,
    IncrementalAlterConfigsResponse,
    OffsetForLeaderEpochResponse,
    WriteTxnMarkersResponse,
);

impl ErrorCodes for ProduceResponse {
    fn error_codes(&self, f: &mut dyn FnMut(i16)) {
        for t in &self.responses {
            for p in &t.partition_responses {
                f(p.error_code);
            }
        }
    }
}

impl ErrorCodes for FetchResponse {
    fn error_codes(&self, f: &mut dyn FnMut(i16)) {
        f(self.error_code);
        for t in &self.responses {
            for p in &t.partitions {
                f(p.error_code);
            }
        }
    }
}

impl ErrorCodes for MetadataResponse {
    fn error_codes(&self, f: &mut dyn FnMut(i16)) {
        f(self.error_code);
        for t in &self.topics {
            f(t.error_code);
        }
    }
}

impl ErrorCodes for ListOffsetsResponse {
    fn error_codes(&self, f: &mut dyn FnMut(i16)) {
        for t in &self.topics {
            for p in &t.partitions {
                f(p.error_code);
            }
        }
    }
}

impl ErrorCodes for OffsetCommitResponse {
    fn error_codes(&self, f: &mut dyn FnMut(i16)) {
        for t in &self.topics {
            for p in &t.partitions {
                f(p.error_code);
            }
        }
    }
}

impl ErrorCodes for TxnOffsetCommitResponse {
    fn error_codes(&self, f: &mut dyn FnMut(i16)) {
        for t in &self.topics {
            for p in &t.partitions {
                f(p.error_code);
            }
        }
    }
}

impl ErrorCodes for OffsetFetchResponse {
    fn error_codes(&self, f: &mut dyn FnMut(i16)) {
        f(self.error_code);
        for t in &self.topics {
            for p in &t.partitions {
                f(p.error_code);
            }
        }
        for g in &self.groups {
            f(g.error_code);
            for t in &g.topics {
                for p in &t.partitions {
                    f(p.error_code);
                }
            }
        }
    }
}

impl ErrorCodes for FindCoordinatorResponse {
    fn error_codes(&self, f: &mut dyn FnMut(i16)) {
        f(self.error_code);
        for c in &self.coordinators {
            f(c.error_code);
        }
    }
}

impl ErrorCodes for CreateTopicsResponse {
    fn error_codes(&self, f: &mut dyn FnMut(i16)) {
        for t in &self.topics {
            f(t.error_code);
        }
    }
}

impl ErrorCodes for DeleteTopicsResponse {
    fn error_codes(&self, f: &mut dyn FnMut(i16)) {
        for t in &self.responses {
            f(t.error_code);
        }
    }
}

impl ErrorCodes for CreatePartitionsResponse {
    fn error_codes(&self, f: &mut dyn FnMut(i16)) {
        for t in &self.results {
            f(t.error_code);
        }
    }
}

impl ErrorCodes for DeleteRecordsResponse {
    fn error_codes(&self, f: &mut dyn FnMut(i16)) {
        for t in &self.topics {
            for p in &t.partitions {
                f(p.error_code);
            }
        }
    }
}

impl ErrorCodes for DescribeGroupsResponse {
    fn error_codes(&self, f: &mut dyn FnMut(i16)) {
        for g in &self.groups {
            f(g.error_code);
        }
    }
}

impl ErrorCodes for DeleteGroupsResponse {
    fn error_codes(&self, f: &mut dyn FnMut(i16)) {
        for g in &self.results {
            f(g.error_code);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};

    #[test]
    fn finds_top_level_and_partition_codes() {
        let resp = FetchResponse::default().with_responses(vec![FetchableTopicResponse::default()
            .with_partitions(vec![
                PartitionData::default().with_error_code(1),
                PartitionData::default(),
            ])]);
        let mut seen = Vec::new();
        resp.error_codes(&mut |c| seen.push(c));
        assert_eq!(seen, vec![0, 1, 0]);
        let mut seen = Vec::new();
        Some(HeartbeatResponse::default().with_error_code(25)).error_codes(&mut |c| seen.push(c));
        assert_eq!(seen, vec![25]);
    }
}
