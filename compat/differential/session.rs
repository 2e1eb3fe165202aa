//! One scenario's connection to one target: sends raw requests, records each decoded
//! (and normalized) response as a tree.

use std::fmt::Debug;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiVersionsRequest, FetchRequest, FetchResponse, MetadataRequest, TopicName,
};
use kafka_protocol::protocol::{Request, StrBytes};
use kafka_protocol::records::{Compression, Record, RecordBatchDecoder};
use rill::client::frame::api_name;

use crate::common::Client;
use crate::normalize::{Identity, Normalizer};
use crate::tree::{tree_of, Node};

/// Recorded in place of a response when the target does not support the step's version.
pub const UNSUPPORTED: &str = "<version not supported by this broker>";

/// One recorded step: `Metadata v12 (unknown topic)` and its normalized response.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub label: String,
    pub api: String,
    pub tree: Node,
}

pub struct Session {
    client: Client,
    versions: Vec<(i16, i16, i16)>,
    normalizer: Normalizer,
    nonce: String,
    pub exchanges: Vec<Exchange>,
}

impl Session {
    /// Connects; learns the target's versions (ApiVersions) and identity (Metadata).
    pub fn open(addr: &str, nonce: &str) -> Session {
        let mut client = Client::connect(addr);
        let versions = client
            .send(0, &ApiVersionsRequest::default())
            .api_keys
            .iter()
            .map(|k| (k.api_key, k.min_version, k.max_version))
            .collect();
        let meta = client.send(4, &MetadataRequest::default().with_topics(Some(Vec::new())));
        let identity = Identity {
            node_ids: meta
                .brokers
                .iter()
                .map(|b| b.node_id.0.to_string())
                .collect(),
            hosts: meta
                .brokers
                .iter()
                .map(|b| format!("{:?}", b.host.as_str()))
                .collect(),
            ports: meta.brokers.iter().map(|b| b.port.to_string()).collect(),
        };
        Session {
            client,
            versions,
            normalizer: Normalizer::new(identity),
            nonce: nonce.to_string(),
            exchanges: Vec::new(),
        }
    }

    /// A name unique to this run, the same on both targets: `diff-<what>-<nonce>`.
    pub fn name(&self, what: &str) -> String {
        format!("diff-{what}-{}", self.nonce)
    }

    pub fn topic(&self, what: &str) -> TopicName {
        TopicName(StrBytes::from_string(self.name(what)))
    }

    /// Leaves normalized so far.
    pub fn masked(&self) -> usize {
        self.normalizer.masked
    }

    fn supports(&self, key: i16, version: i16) -> bool {
        self.versions
            .iter()
            .any(|&(k, lo, hi)| k == key && (lo..=hi).contains(&version))
    }

    fn label<R>(version: i16, note: &str) -> (String, String) {
        let api = api_name::<R>().trim_end_matches("Request").to_string();
        let label = if note.is_empty() {
            format!("{api} v{version}")
        } else {
            format!("{api} v{version} ({note})")
        };
        (api, label)
    }

    fn record(&mut self, api: String, label: String, mut tree: Node) {
        self.normalizer.apply(&mut tree);
        self.exchanges.push(Exchange { label, api, tree });
    }

    /// Sends a request at `version` and records its response; `None` (recorded as
    /// unsupported) if the target lacks that version.
    pub fn call<R: Request>(&mut self, version: i16, note: &str, req: &R) -> Option<R::Response>
    where
        R::Response: Debug,
    {
        let (api, label) = Self::label::<R>(version, note);
        if !self.supports(R::KEY, version) {
            self.record(api, label, Node::Leaf(UNSUPPORTED.into()));
            return None;
        }
        let resp = self.client.send(version, req);
        self.record(api, label, tree_of(&resp));
        Some(resp)
    }

    /// A Fetch, recorded with each partition's record set decoded (batch codec and
    /// version, every record's fields) in place of its bytes.
    pub fn fetch(&mut self, version: i16, note: &str, req: &FetchRequest) -> Option<FetchResponse> {
        let (api, label) = Self::label::<FetchRequest>(version, note);
        if !self.supports(FetchRequest::KEY, version) {
            self.record(api, label, Node::Leaf(UNSUPPORTED.into()));
            return None;
        }
        let resp = self.client.send(version, req);
        let decoded: Vec<Option<Node>> = resp
            .responses
            .iter()
            .flat_map(|t| t.partitions.iter())
            .map(|p| p.records.clone().map(decode_batches))
            .collect();
        let mut tree = tree_of(&resp);
        let mut next = decoded.into_iter();
        graft_records(&mut tree, &mut next);
        self.record(api, label, tree);
        Some(resp)
    }

    /// A request whose response is not recorded (set-up and readiness polls).
    pub fn quiet<R: Request>(&mut self, version: i16, req: &R) -> R::Response {
        self.client.send(version, req)
    }

    /// Waits (unrecorded) until Metadata shows `topic` with a leader for every partition:
    /// a Kafka broker may answer "not leader" right after CreateTopics.
    pub fn wait_for_topic(&mut self, topic: &TopicName) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let req = MetadataRequest::default()
                .with_allow_auto_topic_creation(false)
                .with_topics(Some(vec![
                    MetadataRequestTopic::default().with_name(Some(topic.clone()))
                ]));
            let r = self.quiet(4, &req);
            let ready = r.topics.first().is_some_and(|t| {
                t.error_code == 0
                    && !t.partitions.is_empty()
                    && t.partitions.iter().all(|p| p.leader_id.0 >= 0)
            });
            if ready {
                return;
            }
            assert!(Instant::now() < deadline, "{topic:?} has no leaders: {r:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A fetched record set as the differential harness compares it.
#[derive(Debug)]
#[allow(dead_code)] // read through Debug
struct Batch {
    compression: Compression,
    version: i8,
    records: Vec<Record>,
}

fn decode_batches(mut bytes: Bytes) -> Node {
    match RecordBatchDecoder::decode_all(&mut bytes) {
        Ok(sets) => tree_of(
            &sets
                .into_iter()
                .map(|s| Batch {
                    compression: s.compression,
                    version: s.version,
                    records: s.records,
                })
                .collect::<Vec<_>>(),
        ),
        Err(e) => Node::Leaf(format!("<undecodable record set: {e}>")),
    }
}

/// Replaces each `records: Some(b"…")` field, in order, with its decoded batches.
fn graft_records(node: &mut Node, decoded: &mut impl Iterator<Item = Option<Node>>) {
    match node {
        Node::Leaf(_) => {}
        Node::Struct(_, fields) => {
            for (k, v) in fields {
                if k == "records" {
                    if let Some(Some(n)) = decoded.next() {
                        *v = Node::Tuple("Some".into(), vec![n]);
                    }
                } else {
                    graft_records(v, decoded);
                }
            }
        }
        Node::Tuple(_, items) | Node::List(items) => {
            for n in items {
                graft_records(n, decoded);
            }
        }
    }
}
