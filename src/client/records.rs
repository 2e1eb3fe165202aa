//! Record batches as the client sends and reads them, through kafka-protocol's
//! `RecordBatchEncoder` / `RecordBatchDecoder`.

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

use super::ClientError;

/// A record to produce.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outgoing {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
    pub timestamp: i64,
}

/// Batch compression, as a command-line choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Codec {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Codec {
    pub fn compression(self) -> Compression {
        match self {
            Codec::None => Compression::None,
            Codec::Gzip => Compression::Gzip,
            Codec::Snappy => Compression::Snappy,
            Codec::Lz4 => Compression::Lz4,
            Codec::Zstd => Compression::Zstd,
        }
    }
}

/// Record `i` of a batch, without producer id: offset `i`, sequence `i - 1` (the
/// encoder keeps one batch only while offset - sequence is constant).
pub fn new_record(
    i: i64,
    timestamp: i64,
    key: Option<Bytes>,
    value: Option<Bytes>,
    headers: IndexMap<StrBytes, Option<Bytes>>,
) -> Record {
    Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: i,
        sequence: i as i32 - 1,
        timestamp,
        key,
        value,
        headers,
    }
}

/// Encodes records as v2 batches with RecordBatchEncoder.
pub fn encode_records(records: &[Record], compression: Compression) -> Result<Bytes, ClientError> {
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        records.iter(),
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .map_err(|e| ClientError::Encode {
        api: "RecordBatch",
        msg: e.to_string(),
    })?;
    Ok(buf.freeze())
}

/// Encodes records to produce as one v2 batch (no producer id).
pub fn encode_batch(records: &[Outgoing], compression: Compression) -> Result<Bytes, ClientError> {
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let headers = r
                .headers
                .iter()
                .map(|(k, v)| (StrBytes::from_string(k.clone()), v.clone()))
                .collect();
            new_record(
                i as i64,
                r.timestamp,
                r.key.clone(),
                r.value.clone(),
                headers,
            )
        })
        .collect();
    encode_records(&records, compression)
}

/// Decodes the whole batches of a fetched record set. A fetch may end with part of a
/// batch (cut at the byte limit); that part is left out. Control records (transaction
/// markers) are skipped. Also returns the offset after the last whole batch, so a reader
/// moves past batches that held only control records.
pub fn decode_fetched(bytes: Bytes) -> Result<(Vec<Record>, Option<i64>), ClientError> {
    let (mut records, next) = decode_fetched_all(bytes)?;
    records.retain(|r| !r.control);
    Ok((records, next))
}

/// `decode_fetched`, control records (transaction markers) included.
pub fn decode_fetched_all(mut bytes: Bytes) -> Result<(Vec<Record>, Option<i64>), ClientError> {
    let mut out = Vec::new();
    let mut next = None;
    // base offset (8) + batch length (4) + leader epoch (4) + magic (1)
    while bytes.len() >= 17 {
        let len = i32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        if len < 0 {
            return Err(ClientError::Decode {
                api: "Fetch",
                msg: format!("record batch with length {len}"),
            });
        }
        let total = 12 + len as usize;
        if bytes.len() < total {
            break;
        }
        let mut batch = bytes.split_to(total);
        let base = i64::from_be_bytes(batch[..8].try_into().unwrap_or([0; 8]));
        if batch.len() >= 27 {
            let delta = i32::from_be_bytes([batch[23], batch[24], batch[25], batch[26]]);
            next = Some(base + delta as i64 + 1);
        }
        if batch[16] != 2 {
            // Old message-set formats: not produced by current clients; skipped.
            continue;
        }
        let set = RecordBatchDecoder::decode(&mut batch).map_err(|e| ClientError::Decode {
            api: "Fetch",
            msg: format!("record batch: {e}"),
        })?;
        out.extend(set.records);
    }
    bytes.advance(bytes.len());
    Ok((out, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(i: u8) -> Outgoing {
        Outgoing {
            key: Some(Bytes::from(vec![b'k', i])),
            value: Some(Bytes::from(vec![b'v', i])),
            headers: vec![("h".into(), Some(Bytes::from_static(b"x")))],
            timestamp: 1000 + i as i64,
        }
    }

    #[test]
    fn batches_round_trip_and_partial_tails_are_left_out() {
        let a = encode_batch(&[rec(1), rec(2)], Compression::None).unwrap();
        let b = encode_batch(&[rec(3)], Compression::Lz4).unwrap();
        let mut all = BytesMut::new();
        all.extend_from_slice(&a);
        all.extend_from_slice(&b);
        let (full, next) = decode_fetched(all.clone().freeze()).unwrap();
        assert_eq!(next, Some(1)); // both batches start at relative offset 0
        assert_eq!(full.len(), 3);
        assert_eq!(full[2].key.as_deref(), Some(&b"k\x03"[..]));
        let (hk, hv) = full[0].headers.first().unwrap();
        assert_eq!((&hk[..], hv.as_deref()), ("h", Some(&b"x"[..])));
        // Cut inside the second batch: only the first one's records.
        let cut = all.freeze().slice(..a.len() + 20);
        assert_eq!(decode_fetched(cut).unwrap().0.len(), 2);
    }
}
