//! Record batches for the load generator: built once with kafka-protocol's encoder and
//! resent as they are. For end-to-end runs the first record's value carries the
//! (intended) send time, in nanoseconds since the run's epoch, as 8 big-endian bytes.

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{Compression, Record};

use super::{BenchError, Codec};
use crate::client::records::{encode_records, new_record};
use crate::log::batch::{self, read_varint, BatchHeader, HEADER_LEN, OFF_ATTRIBUTES, OFF_CRC};

/// A value of `size` bytes: letters from a small alphabet, so codecs find some (not
/// unlimited) redundancy, as with typical text payloads.
pub fn payload(size: usize) -> Bytes {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let v: Vec<u8> = (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b'a' + (x % 16) as u8
        })
        .collect();
    Bytes::from(v)
}

pub struct BatchTemplate {
    /// The encoded batch (base offset 0; the broker assigns the real one).
    pub batch: Bytes,
    pub records: usize,
    template: Vec<Record>,
    compression: Compression,
    /// Where the first record's value starts inside `batch` (uncompressed batches only).
    value_at: Option<usize>,
}

fn record(i: usize, ts: i64, value: Bytes, key: Option<Bytes>) -> Record {
    new_record(i as i64, ts, key, Some(value), Default::default())
}

fn encode(records: &[Record], compression: Compression) -> Result<Bytes, BenchError> {
    Ok(encode_records(records, compression)?)
}

impl BatchTemplate {
    /// A batch template; with `keys`, record `i` of every batch has key `i mod keys`
    /// (so each batch supersedes the previous one's records in a compacted topic).
    pub fn new_keyed(
        records: usize,
        record_size: usize,
        codec: Codec,
        keys: Option<usize>,
    ) -> Result<Self, BenchError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let value = payload(record_size);
        // Every record shares one value buffer: no per-record allocation.
        let template: Vec<Record> = (0..records)
            .map(|i| {
                let key = keys.map(|k| Bytes::from(format!("key-{:08}", i % k.max(1))));
                record(i, now, value.clone(), key)
            })
            .collect();
        let compression = codec.compression();
        let batch = encode(&template, compression)?;
        let h = batch::validate_batch(&batch).map_err(|e| BenchError::Batch(e.to_string()))?;
        if h.record_count as usize != records {
            return Err(BenchError::Batch("encoder split the batch".into()));
        }
        let value_at = if compression == Compression::None && record_size >= 8 {
            first_value_at(&batch[HEADER_LEN..]).map(|p| HEADER_LEN + p)
        } else {
            None
        };
        Ok(BatchTemplate {
            batch,
            records,
            template,
            compression,
            value_at,
        })
    }

    /// Stamps `ns` into the copy of this batch at `batch` (which must hold exactly the
    /// batch bytes) in place: patch the value and recompute the CRC. `false` if the batch
    /// is compressed: then use [`BatchTemplate::stamped`].
    pub fn stamp_in_place(&self, batch: &mut [u8], ns: u64) -> bool {
        let Some(at) = self.value_at else {
            return false;
        };
        batch[at..at + 8].copy_from_slice(&ns.to_be_bytes());
        let crc = crc32c::crc32c(&batch[OFF_ATTRIBUTES..]);
        batch[OFF_CRC..OFF_CRC + 4].copy_from_slice(&crc.to_be_bytes());
        true
    }

    /// A freshly encoded (compressed) batch whose first value carries `ns`.
    pub fn stamped(&self, ns: u64) -> Result<Bytes, BenchError> {
        let mut recs = self.template.clone();
        if let Some(Some(v)) = recs.first().map(|r| r.value.as_ref()) {
            let mut first = BytesMut::from(&v[..]);
            first[..8].copy_from_slice(&ns.to_be_bytes());
            recs[0].value = Some(first.freeze());
        }
        encode(&recs, self.compression)
    }
}

/// Position of the first record's value in an (uncompressed) records section, if it has
/// at least 8 bytes.
pub fn first_value_at(records: &[u8]) -> Option<usize> {
    let (_, n) = read_varint(records)?; // record length
    let mut pos = n + 1; // attributes
    let (_, n) = read_varint(records.get(pos..)?)?; // timestamp delta
    pos += n;
    let (_, n) = read_varint(records.get(pos..)?)?; // offset delta
    pos += n;
    let (key_len, n) = read_varint(records.get(pos..)?)?;
    pos += n + key_len.max(0) as usize;
    let (value_len, n) = read_varint(records.get(pos..)?)?;
    pos += n;
    (value_len >= 8 && records.len() >= pos + 8).then_some(pos)
}

/// The send time embedded in a fetched batch by an e2e producer.
pub fn embedded_ns(batch: &[u8]) -> Option<u64> {
    let h = BatchHeader::parse(batch)?;
    let body = batch.get(HEADER_LEN..h.total_len())?;
    let owned;
    let records: &[u8] = if h.compression() == 0 {
        body
    } else {
        owned = crate::log::compression::decompress(h.compression(), body, batch::MAX_DECOMPRESSED)
            .ok()?;
        &owned
    };
    let at = first_value_at(records)?;
    let mut b = [0u8; 8];
    b.copy_from_slice(records.get(at..at + 8)?);
    Some(u64::from_be_bytes(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip_for_every_codec() {
        for codec in [
            Codec::None,
            Codec::Gzip,
            Codec::Snappy,
            Codec::Lz4,
            Codec::Zstd,
        ] {
            let t = BatchTemplate::new_keyed(4, 100, codec, None).expect("template");
            let stamped = if codec == Codec::None {
                let mut b = t.batch.to_vec();
                assert!(t.stamp_in_place(&mut b, 123_456_789));
                Bytes::from(b)
            } else {
                t.stamped(123_456_789).expect("stamped")
            };
            let h = batch::validate_batch(&stamped).expect("valid batch");
            assert_eq!(h.record_count, 4);
            assert_eq!(embedded_ns(&stamped), Some(123_456_789), "{codec:?}");
        }
    }
}
