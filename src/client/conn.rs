//! One blocking connection to one broker: one request in flight at a time, versions
//! negotiated with ApiVersions when it opens.

use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{
    ApiVersionsRequest, ApiVersionsResponse, CreateTopicsRequest, ListOffsetsRequest,
    MetadataRequest, TopicName,
};
use kafka_protocol::protocol::{Message, Request, StrBytes};

use super::frame::{api_name, decode_response, encode_frame, read_frame};
use super::versions::{self, BrokerVersions};
use super::ClientError;

pub const CLIENT_ID: &str = "rill";

/// Opens a TCP connection with `timeout` for connecting and for each response.
pub fn connect(addr: &str, timeout: Duration) -> Result<TcpStream, ClientError> {
    let err = |source| ClientError::Connect {
        addr: addr.to_string(),
        source,
    };
    let mut last = None;
    for sa in addr.to_socket_addrs().map_err(err)? {
        match TcpStream::connect_timeout(&sa, timeout) {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                stream.set_read_timeout(Some(timeout))?;
                stream.set_write_timeout(Some(timeout))?;
                return Ok(stream);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(err(last.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, "no address")
    })))
}

/// A one-request-at-a-time connection.
pub struct Conn {
    pub stream: TcpStream,
    pub addr: String,
    correlation: i32,
    client_id: String,
    timeout: Duration,
    /// The broker's ApiVersions, once asked.
    versions: Option<BrokerVersions>,
}

impl Conn {
    /// Connects and negotiates versions (ApiVersions).
    pub fn connect(addr: &str, timeout: Duration) -> Result<Conn, ClientError> {
        let mut c = Conn::connect_plain(addr, timeout)?;
        c.negotiate()?;
        Ok(c)
    }

    /// Connects without asking for versions: only `call_at` can be used.
    pub fn connect_plain(addr: &str, timeout: Duration) -> Result<Conn, ClientError> {
        Ok(Conn {
            stream: connect(addr, timeout)?,
            addr: addr.to_string(),
            correlation: 0,
            client_id: CLIENT_ID.to_string(),
            timeout,
            versions: None,
        })
    }

    pub fn set_client_id(&mut self, id: &str) {
        self.client_id = id.to_string();
    }

    /// Waits up to `timeout` for each response (long polls, rebalances).
    pub fn set_timeout(&mut self, timeout: Duration) -> Result<(), ClientError> {
        self.stream.set_read_timeout(Some(timeout))?;
        Ok(())
    }

    pub fn default_timeout(&self) -> Duration {
        self.timeout
    }

    /// ApiVersions at the highest version we know; a broker that does not know it answers
    /// in v0 with UNSUPPORTED_VERSION and its own range, and we ask again at that.
    fn negotiate(&mut self) -> Result<(), ClientError> {
        let req = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("rill"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let mut version = ApiVersionsRequest::VERSIONS.max.min(3);
        for _ in 0..2 {
            let frame = self.round_trip(version, &req)?;
            let resp = match decode_response::<ApiVersionsRequest>(
                version,
                self.correlation,
                frame.clone(),
            ) {
                Ok(r) => r,
                // The error answer comes in v0 whatever version was asked.
                Err(ClientError::Decode { .. }) if version > 0 => {
                    decode_response::<ApiVersionsRequest>(0, self.correlation, frame)?
                }
                Err(e) => return Err(e),
            };
            if resp.error_code == 35 {
                let theirs = api_range(&resp, ApiVersionsRequest::KEY).map(|r| r.1);
                match theirs {
                    Some(v) if v < version => {
                        version = v;
                        continue;
                    }
                    _ => {}
                }
            }
            super::check(|| "ApiVersions".into(), resp.error_code, None)?;
            self.versions = Some(BrokerVersions(
                resp.api_keys
                    .iter()
                    .map(|k| (k.api_key, (k.min_version, k.max_version)))
                    .collect(),
            ));
            return Ok(());
        }
        Err(ClientError::Other(format!(
            "{}: the broker refused every ApiVersions version",
            self.addr
        )))
    }

    /// The broker's versions (empty before negotiation).
    pub fn broker_versions(&self) -> BrokerVersions {
        self.versions.clone().unwrap_or_default()
    }

    /// The version `call` uses for `R`: the highest that both sides speak.
    pub fn version<R: Request>(&self) -> Result<i16, ClientError> {
        let codec = (R::VERSIONS.min, R::VERSIONS.max);
        let ours = versions::ours(R::KEY, codec);
        let broker = self.versions.as_ref().and_then(|v| v.get(R::KEY));
        ours.and_then(|o| versions::negotiate(o, broker))
            .ok_or_else(|| ClientError::Unsupported {
                api: api_name::<R>().trim_end_matches("Request"),
                ours: ours.map_or("none".into(), |(a, b)| format!("v{a}-v{b}")),
                broker: broker.map_or("not listed".into(), |(a, b)| format!("v{a}-v{b}")),
            })
    }

    /// Sends `req` at the negotiated version and reads the answer.
    pub fn call<R: Request>(&mut self, req: &R) -> Result<R::Response, ClientError> {
        let v = self.version::<R>()?;
        self.call_at(v, req)
    }

    /// Sends `req` at `version` (no negotiation) and reads the answer.
    pub fn call_at<R: Request>(
        &mut self,
        version: i16,
        req: &R,
    ) -> Result<R::Response, ClientError> {
        let frame = self.round_trip(version, req)?;
        decode_response::<R>(version, self.correlation, frame)
    }

    /// Sends without reading an answer (Produce with acks=0).
    pub fn send_only<R: Request>(&mut self, version: i16, req: &R) -> Result<(), ClientError> {
        self.correlation = self.correlation.wrapping_add(1);
        let frame = encode_frame(version, self.correlation, &self.client_id, req)?;
        self.stream.write_all(&frame).map_err(|e| self.io(e))
    }

    fn round_trip<R: Request>(&mut self, version: i16, req: &R) -> Result<Bytes, ClientError> {
        self.send_only(version, req)?;
        read_frame(&mut self.stream).map_err(|e| match e {
            ClientError::Io(io) => self.io(io),
            e => e,
        })
    }

    fn io(&self, e: std::io::Error) -> ClientError {
        match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => ClientError::Timeout {
                addr: self.addr.clone(),
            },
            _ => ClientError::Io(e),
        }
    }

    /// Partition count of `topic`, or `None` if the broker does not know it.
    pub fn partition_count(&mut self, topic: &str) -> Result<Option<i32>, ClientError> {
        let v = self.version::<MetadataRequest>()?;
        let req = super::cluster::metadata_request(Some(&[topic]), v);
        let resp = self.call_at(v, &req)?;
        let Some(t) = resp.topics.first() else {
            return Ok(None);
        };
        match t.error_code {
            0 => Ok(Some(t.partitions.len() as i32)),
            3 => Ok(None), // UNKNOWN_TOPIC_OR_PARTITION
            code => Err(ClientError::Kafka {
                api: "Metadata",
                code,
                partition: -1,
            }),
        }
    }

    /// Makes sure `topic` exists; returns the number of partitions to use.
    pub fn ensure_topic(
        &mut self,
        topic: &str,
        partitions: Option<i32>,
        create: bool,
    ) -> Result<i32, ClientError> {
        self.ensure_topic_with(topic, partitions, create, &[])
    }

    /// `ensure_topic`, creating the topic with these configs.
    pub fn ensure_topic_with(
        &mut self,
        topic: &str,
        partitions: Option<i32>,
        create: bool,
        configs: &[(String, String)],
    ) -> Result<i32, ClientError> {
        let err = |msg: String| ClientError::Topic {
            topic: topic.to_string(),
            msg,
        };
        if let Some(n) = self.partition_count(topic)? {
            return match partitions {
                Some(p) if p > n => Err(err(format!(
                    "has {n} partitions, --partitions asks for {p}"
                ))),
                Some(p) => Ok(p),
                None => Ok(n),
            };
        }
        if !create {
            return Err(err("does not exist".into()));
        }
        let want = partitions.unwrap_or(1);
        let resp = self.call(&create_topics_request(topic, want, 1, configs))?;
        for t in &resp.topics {
            // 36: TOPIC_ALREADY_EXISTS (a concurrent creator).
            if t.error_code != 36 {
                super::check(
                    || format!("topic {topic}"),
                    t.error_code,
                    t.error_message.as_deref(),
                )?;
            }
        }
        self.wait_for_topic(topic, want)?;
        Ok(want)
    }

    /// Waits until Metadata shows `topic` with at least `want` partitions (at once on
    /// rill, may lag on other brokers).
    pub fn wait_for_topic(&mut self, topic: &str, want: i32) -> Result<(), ClientError> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(n) = self.partition_count(topic)? {
                if n >= want {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(ClientError::Topic {
                    topic: topic.to_string(),
                    msg: "not visible in Metadata 30 s after creation".into(),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// ListOffsets of partitions 0..n at `timestamp` (-1 latest, -2 earliest).
    pub fn list_offsets(
        &mut self,
        topic: &str,
        n: i32,
        timestamp: i64,
    ) -> Result<Vec<i64>, ClientError> {
        let parts: Vec<i32> = (0..n).collect();
        let found = self.list_offsets_of(topic, &parts, timestamp)?;
        Ok(found.into_iter().map(|(_, o)| o).collect())
    }

    /// ListOffsets of some partitions at `timestamp`: (partition, offset) in the order
    /// asked. The offset is -1 where no record has a timestamp at or after `timestamp`.
    pub fn list_offsets_of(
        &mut self,
        topic: &str,
        partitions: &[i32],
        timestamp: i64,
    ) -> Result<Vec<(i32, i64)>, ClientError> {
        let req = ListOffsetsRequest::default()
            .with_replica_id((-1).into())
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                .with_partitions(
                    partitions
                        .iter()
                        .map(|&p| {
                            ListOffsetsPartition::default()
                                .with_partition_index(p)
                                .with_timestamp(timestamp)
                        })
                        .collect(),
                )]);
        let resp = self.call(&req)?;
        let mut out: Vec<(i32, Option<i64>)> = partitions.iter().map(|&p| (p, None)).collect();
        for t in &resp.topics {
            for p in &t.partitions {
                if p.error_code != 0 {
                    return Err(ClientError::Kafka {
                        api: "ListOffsets",
                        code: p.error_code,
                        partition: p.partition_index,
                    });
                }
                if let Some(slot) = out.iter_mut().find(|(i, _)| *i == p.partition_index) {
                    slot.1 = Some(p.offset);
                }
            }
        }
        out.into_iter()
            .map(|(p, o)| {
                o.map(|o| (p, o)).ok_or(ClientError::Decode {
                    api: "ListOffsets",
                    msg: format!("partition {p} is missing from the response"),
                })
            })
            .collect()
    }
}

/// A CreateTopics request for one topic (`-1` partitions or replication factor: the
/// broker's default).
pub fn create_topics_request(
    topic: &str,
    partitions: i32,
    replication_factor: i16,
    configs: &[(String, String)],
) -> CreateTopicsRequest {
    CreateTopicsRequest::default()
        .with_topics(vec![CreatableTopic::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
            .with_num_partitions(partitions)
            .with_replication_factor(replication_factor)
            .with_configs(
                configs
                    .iter()
                    .map(|(k, v)| {
                        CreatableTopicConfig::default()
                            .with_name(StrBytes::from_string(k.clone()))
                            .with_value(Some(StrBytes::from_string(v.clone())))
                    })
                    .collect(),
            )])
        .with_timeout_ms(30_000)
}

fn api_range(resp: &ApiVersionsResponse, key: i16) -> Option<(i16, i16)> {
    resp.api_keys
        .iter()
        .find(|k| k.api_key == key)
        .map(|k| (k.min_version, k.max_version))
}
