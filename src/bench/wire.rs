//! Blocking Kafka client plumbing for the load generator: frames, request encoding with
//! kafka-protocol, response decoding, and topic setup (Metadata, CreateTopics).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, CreateTopicsRequest, ListOffsetsRequest, MetadataRequest, RequestHeader,
    ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};

use super::BenchError;

/// Largest response frame the bench accepts.
const MAX_RESPONSE: i32 = 512 << 20;
pub const CLIENT_ID: &str = "rill-bench";
/// Offset of the correlation id inside a request frame: length, api key, api version.
pub const CORRELATION_AT: usize = 8;

const METADATA_VERSION: i16 = 12;
const CREATE_TOPICS_VERSION: i16 = 7;
const LIST_OFFSETS_VERSION: i16 = 7;

/// "ProduceRequest" and the like, for error messages.
fn api_name<R>() -> &'static str {
    let full = std::any::type_name::<R>();
    full.rsplit("::").next().unwrap_or(full)
}

/// Encodes a whole request frame (size prefix, header, body).
pub fn encode_frame<R: Request>(
    version: i16,
    correlation: i32,
    req: &R,
) -> Result<Vec<u8>, BenchError> {
    let api = api_name::<R>();
    let key = ApiKey::try_from(R::KEY).map_err(|_| BenchError::Encode {
        api,
        msg: "unknown api key".into(),
    })?;
    let header = RequestHeader::default()
        .with_request_api_key(R::KEY)
        .with_request_api_version(version)
        .with_correlation_id(correlation)
        .with_client_id(Some(StrBytes::from_static_str(CLIENT_ID)));
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&[0u8; 4]);
    let enc = |e: anyhow::Error| BenchError::Encode {
        api,
        msg: e.to_string(),
    };
    header
        .encode(&mut buf, key.request_header_version(version))
        .map_err(enc)?;
    req.encode(&mut buf, version).map_err(enc)?;
    let len = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    Ok(buf.to_vec())
}

/// Reads one response frame.
pub fn read_frame(r: &mut impl Read) -> Result<Bytes, BenchError> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len).map_err(closed)?;
    let size = i32::from_be_bytes(len);
    if !(4..=MAX_RESPONSE).contains(&size) {
        return Err(BenchError::FrameSize(size as i64));
    }
    let mut buf = vec![0u8; size as usize];
    r.read_exact(&mut buf).map_err(closed)?;
    Ok(Bytes::from(buf))
}

fn closed(e: std::io::Error) -> BenchError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        BenchError::Closed
    } else {
        BenchError::Io(e)
    }
}

/// Decodes a response frame: checks the correlation id, returns the body.
pub fn decode_response<R: Request>(
    version: i16,
    expected: i32,
    mut frame: Bytes,
) -> Result<R::Response, BenchError> {
    let api = api_name::<R>();
    let dec = |e: anyhow::Error| BenchError::Decode {
        api,
        msg: e.to_string(),
    };
    let key = ApiKey::try_from(R::KEY).map_err(|_| BenchError::Decode {
        api,
        msg: "unknown api key".into(),
    })?;
    let header =
        ResponseHeader::decode(&mut frame, key.response_header_version(version)).map_err(dec)?;
    if header.correlation_id != expected {
        return Err(BenchError::Correlation {
            got: header.correlation_id,
            expected,
        });
    }
    R::Response::decode(&mut frame, version).map_err(dec)
}

pub fn connect(addr: &str, timeout: Duration) -> Result<TcpStream, BenchError> {
    let stream = TcpStream::connect(addr).map_err(|source| BenchError::Connect {
        addr: addr.to_string(),
        source,
    })?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(timeout))?;
    Ok(stream)
}

/// A simple one-request-at-a-time connection, for setup and probes.
pub struct Conn {
    pub stream: TcpStream,
    correlation: i32,
}

impl Conn {
    pub fn connect(addr: &str, timeout: Duration) -> Result<Conn, BenchError> {
        Ok(Conn {
            stream: connect(addr, timeout)?,
            correlation: 0,
        })
    }

    pub fn call<R: Request>(&mut self, version: i16, req: &R) -> Result<R::Response, BenchError> {
        self.correlation = self.correlation.wrapping_add(1);
        let frame = encode_frame(version, self.correlation, req)?;
        self.stream.write_all(&frame)?;
        let resp = read_frame(&mut self.stream)?;
        decode_response::<R>(version, self.correlation, resp)
    }

    /// Partition count of `topic`, or `None` if the broker does not know it.
    pub fn partition_count(&mut self, topic: &str) -> Result<Option<i32>, BenchError> {
        let req = MetadataRequest::default()
            .with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(
                TopicName(StrBytes::from_string(topic.to_string())),
            ))]))
            .with_allow_auto_topic_creation(false);
        let resp = self.call(METADATA_VERSION, &req)?;
        let Some(t) = resp.topics.first() else {
            return Ok(None);
        };
        match t.error_code {
            0 => Ok(Some(t.partitions.len() as i32)),
            3 => Ok(None), // UNKNOWN_TOPIC_OR_PARTITION
            code => Err(BenchError::Kafka {
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
    ) -> Result<i32, BenchError> {
        self.ensure_topic_with(topic, partitions, create, &[])
    }

    /// `ensure_topic`, creating the topic with these configs.
    pub fn ensure_topic_with(
        &mut self,
        topic: &str,
        partitions: Option<i32>,
        create: bool,
        configs: &[(String, String)],
    ) -> Result<i32, BenchError> {
        let err = |msg: String| BenchError::Topic {
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
        let req = CreateTopicsRequest::default()
            .with_topics(vec![CreatableTopic::default()
                .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                .with_num_partitions(want)
                .with_replication_factor(1)
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
            .with_timeout_ms(30_000);
        let resp = self.call(CREATE_TOPICS_VERSION, &req)?;
        for t in &resp.topics {
            // 36: TOPIC_ALREADY_EXISTS (a concurrent creator).
            if t.error_code != 0 && t.error_code != 36 {
                let msg = t.error_message.as_ref().map(|m| m.to_string());
                return Err(err(format!(
                    "CreateTopics failed with code {} {}",
                    t.error_code,
                    msg.unwrap_or_default()
                )));
            }
        }
        // Wait until Metadata shows it (immediate on rill, may lag on other brokers).
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(n) = self.partition_count(topic)? {
                if n >= want {
                    return Ok(want);
                }
            }
            if Instant::now() > deadline {
                return Err(err("not visible in Metadata 30 s after creation".into()));
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
    ) -> Result<Vec<i64>, BenchError> {
        let req = ListOffsetsRequest::default()
            .with_replica_id((-1).into())
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                .with_partitions(
                    (0..n)
                        .map(|p| {
                            ListOffsetsPartition::default()
                                .with_partition_index(p)
                                .with_timestamp(timestamp)
                        })
                        .collect(),
                )]);
        let resp = self.call(LIST_OFFSETS_VERSION, &req)?;
        let mut out = vec![-1i64; n as usize];
        for t in &resp.topics {
            for p in &t.partitions {
                if p.error_code != 0 {
                    return Err(BenchError::Kafka {
                        api: "ListOffsets",
                        code: p.error_code,
                        partition: p.partition_index,
                    });
                }
                if let Some(slot) = out.get_mut(p.partition_index as usize) {
                    *slot = p.offset;
                }
            }
        }
        if out.contains(&-1) {
            return Err(BenchError::Decode {
                api: "ListOffsets",
                msg: "a partition is missing from the response".into(),
            });
        }
        Ok(out)
    }
}

/// Which partitions connection `c` of `n` works on: round robin, and every connection
/// gets at least one (connections beyond the partition count share partitions).
pub fn partitions_of(c: usize, n: usize, partitions: i32) -> Vec<i32> {
    let p = partitions as usize;
    if n >= p {
        vec![(c % p) as i32]
    } else {
        (0..p).filter(|x| x % n == c).map(|x| x as i32).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_spread_over_connections() {
        assert_eq!(partitions_of(0, 2, 5), vec![0, 2, 4]);
        assert_eq!(partitions_of(1, 2, 5), vec![1, 3]);
        assert_eq!(partitions_of(3, 4, 2), vec![1]);
    }
}
