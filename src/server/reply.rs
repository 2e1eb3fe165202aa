//! Encoded responses. Most are one buffer; a Fetch response is its encoded framing with
//! the stored record bytes of each partition inserted by reference (file slices), so the
//! connection can send them from the segment files without copying them first.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::FetchResponse;

use super::dispatch::{encode_response, DispatchError, RequestContext};
use crate::log::FileSlice;

/// One response as the connection sends it: `head` with each file slice's bytes inserted
/// at its position (positions ascending).
#[derive(Debug, Default)]
pub struct Reply {
    pub(crate) head: BytesMut,
    pub(crate) files: Vec<(usize, FileSlice)>,
    /// A throttled client's wait: the connection reads nothing more for this long after
    /// sending the reply (Kafka mutes the channel, KIP-219).
    pub(crate) mute_ms: u32,
}

impl From<BytesMut> for Reply {
    fn from(head: BytesMut) -> Reply {
        Reply {
            head,
            files: Vec::new(),
            mute_ms: 0,
        }
    }
}

impl Reply {
    pub(crate) fn muted_for(mut self, ms: i32) -> Reply {
        self.mute_ms = ms.max(0) as u32;
        self
    }

    /// Bytes on the wire, size prefix included.
    pub fn len(&self) -> usize {
        self.head.len() + self.files.iter().map(|(_, f)| f.len()).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole response in memory (tests).
    #[cfg(test)]
    pub fn to_vec(&self) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.len());
        let mut last = 0;
        for (at, f) in &self.files {
            out.extend_from_slice(&self.head[last..*at]);
            out.extend_from_slice(&f.to_vec()?);
            last = *at;
        }
        out.extend_from_slice(&self.head[last..]);
        Ok(out)
    }
}

/// Records of a Fetch response held by reference: (topic index, partition index) in the
/// response, and the stored bytes that are that partition's `records`.
pub type FetchRecords = Vec<((usize, usize), FileSlice)>;

/// Encodes a Fetch response whose listed partitions' records are file slices.
///
/// kafka-protocol encodes the response; only the records are left out. A partition's
/// records are the last regular field of its entry, written as a length prefix and the
/// bytes, and nothing else in a Fetch response depends on their size but the frame's size
/// prefix. So the response is encoded twice, with those partitions' records null and with
/// them empty: the two encodings differ exactly at each such partition's length prefix
/// (compact varint 0 vs 1 from v12, int32 -1 vs 0 before), in partition order. The null
/// encoding is kept, each placeholder prefix replaced by the real one, and the slice
/// inserted after it; the frame size is patched last.
pub fn encode_fetch(
    ctx: &RequestContext,
    mut resp: FetchResponse,
    records: FetchRecords,
) -> Result<Reply, DispatchError> {
    if records.is_empty() {
        return encode_response(ctx, &resp).map(Reply::from);
    }
    let broken = |reason: &str| DispatchError::Encode {
        key: ctx.api_key,
        version: ctx.api_version,
        reason: reason.to_string(),
    };
    let set = |resp: &mut FetchResponse, value: Option<Bytes>| -> Result<(), DispatchError> {
        for ((t, p), _) in &records {
            let part = resp
                .responses
                .get_mut(*t)
                .and_then(|t| t.partitions.get_mut(*p))
                .ok_or_else(|| broken("fetch records point at no partition"))?;
            part.records = value.clone();
        }
        Ok(())
    };
    set(&mut resp, None)?;
    let null = encode_response(ctx, &resp)?;
    set(&mut resp, Some(Bytes::new()))?;
    let empty = encode_response(ctx, &resp)?;
    if null.len() != empty.len() {
        return Err(broken("fetch placeholders changed the response size"));
    }
    let compact = ctx.api_version >= 12;
    let placeholder = if compact { 1 } else { 4 };
    let mut head = BytesMut::with_capacity(null.len() + 4 * records.len());
    let mut files = Vec::with_capacity(records.len());
    let mut total = 0usize;
    let mut last = 0usize;
    for (_, slice) in records {
        let Some(d) = null[last..]
            .iter()
            .zip(&empty[last..])
            .position(|(a, b)| a != b)
        else {
            return Err(broken("fetch placeholder not found"));
        };
        let at = last + d;
        head.extend_from_slice(&null[last..at]);
        let len = slice.len();
        if compact {
            let n = u32::try_from(len + 1).map_err(|_| broken("fetch records too large"))?;
            put_unsigned_varint(&mut head, n);
        } else {
            let n = i32::try_from(len).map_err(|_| broken("fetch records too large"))?;
            head.put_i32(n);
        }
        total += len;
        files.push((head.len(), slice));
        last = at + placeholder;
    }
    if null[last..] != empty[last..] {
        return Err(broken("more fetch placeholders than records"));
    }
    head.extend_from_slice(&null[last..]);
    let size = i32::try_from(head.len() - 4 + total)
        .map_err(|_| broken("fetch response larger than 2 GiB"))?;
    head[..4].copy_from_slice(&size.to_be_bytes());
    Ok(Reply {
        head,
        files,
        mute_ms: 0,
    })
}

/// The protocol's unsigned varint (7 bits per byte, low first): a compact length prefix.
fn put_unsigned_varint(buf: &mut BytesMut, mut n: u32) {
    while n >= 0x80 {
        buf.put_u8((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    buf.put_u8(n as u8);
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Arc;

    use kafka_protocol::messages::fetch_response::{
        AbortedTransaction, FetchableTopicResponse, PartitionData,
    };
    use kafka_protocol::messages::{ApiKey, ProducerId, TopicName};
    use kafka_protocol::protocol::StrBytes;

    use super::*;

    fn ctx(version: i16) -> RequestContext {
        RequestContext {
            api_key: ApiKey::Fetch,
            api_version: version,
            correlation_id: 7,
            client_id: None,
            client_host: String::new(),
            listener: 0,
            principal: crate::auth::Principal::anonymous(),
            peer: std::net::Ipv4Addr::LOCALHOST.into(),
        }
    }

    /// Byte for byte what kafka-protocol encodes with the records in memory, for every
    /// Fetch version Rill speaks, with several topics, empty and failed partitions,
    /// aborted transactions and records of sizes that need multi-byte varints.
    #[test]
    fn matches_the_codec_in_every_version() {
        let mut file = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        file.write_all(&data).unwrap();
        let file = Arc::new(file);
        let slices = [
            (0usize, 100usize),
            (100, 0),
            (1000, 200_000),
            (250_000, 127),
        ];
        for version in 4..=18i16 {
            let mut topics = Vec::new();
            let mut records = FetchRecords::new();
            for t in 0..2 {
                let mut parts = Vec::new();
                for (i, &(pos, len)) in slices.iter().enumerate() {
                    let p = PartitionData::default()
                        .with_partition_index(i as i32)
                        .with_high_watermark(1000 + i as i64)
                        .with_aborted_transactions((i == 2).then(|| {
                            vec![AbortedTransaction::default()
                                .with_producer_id(ProducerId(9))
                                .with_first_offset(3)]
                        }));
                    if len > 0 {
                        records.push((
                            (t, parts.len()),
                            FileSlice::new(file.clone(), pos as u64, len),
                        ));
                    }
                    parts.push(p.with_records(Some(Bytes::copy_from_slice(&data[pos..pos + len]))));
                }
                parts.push(
                    PartitionData::default()
                        .with_partition_index(9)
                        .with_error_code(3),
                );
                let topic = FetchableTopicResponse::default().with_partitions(parts);
                topics.push(if version >= 13 {
                    topic.with_topic_id(uuid::Uuid::from_u128(t as u128 + 1))
                } else {
                    topic.with_topic(TopicName(StrBytes::from_string(format!("t{t}"))))
                });
            }
            let resp = FetchResponse::default()
                .with_throttle_time_ms(5)
                .with_responses(topics);
            let expected = encode_response(&ctx(version), &resp).unwrap();
            let reply = encode_fetch(&ctx(version), resp, records).unwrap();
            assert_eq!(reply.files.len(), 6, "v{version}");
            assert_eq!(reply.len(), expected.len(), "v{version}");
            assert!(
                reply.to_vec().unwrap() == expected[..],
                "v{version} differs"
            );
        }
    }
}
