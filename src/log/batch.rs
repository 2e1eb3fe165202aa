//! Record batch (magic v2) header parsing and validation.
//!
//! Layout of the fixed 61-byte header (big-endian):
//! ```text
//! 0  base_offset i64 | 8  batch_length i32 | 12 partition_leader_epoch i32 | 16 magic i8
//! 17 crc u32 (CRC-32C of bytes 21..end) | 21 attributes i16 | 23 last_offset_delta i32
//! 27 base_timestamp i64 | 35 max_timestamp i64 | 43 producer_id i64 | 51 producer_epoch i16
//! 53 base_sequence i32 | 57 record_count i32 | 61 records...
//! ```
//! `batch_length` counts the bytes after the length field itself, so a batch occupies
//! `12 + batch_length` bytes in total.

use thiserror::Error;

pub const HEADER_LEN: usize = 61;
/// Bytes before `partition_leader_epoch`: base offset + batch length.
pub const LOG_OVERHEAD: usize = 12;
pub const OFF_BASE_OFFSET: usize = 0;
pub const OFF_LENGTH: usize = 8;
pub const OFF_LEADER_EPOCH: usize = 12;
pub const OFF_MAGIC: usize = 16;
pub const OFF_CRC: usize = 17;
pub const OFF_ATTRIBUTES: usize = 21;
pub const OFF_LAST_OFFSET_DELTA: usize = 23;
pub const OFF_BASE_TIMESTAMP: usize = 27;
pub const OFF_MAX_TIMESTAMP: usize = 35;
pub const OFF_PRODUCER_ID: usize = 43;
pub const OFF_PRODUCER_EPOCH: usize = 51;
pub const OFF_BASE_SEQUENCE: usize = 53;
pub const OFF_RECORD_COUNT: usize = 57;

const ATTR_COMPRESSION_MASK: i16 = 0x07;
const ATTR_TIMESTAMP_TYPE: i16 = 0x08;
pub const ATTR_TRANSACTIONAL: i16 = 0x10;
pub const ATTR_CONTROL: i16 = 0x20;

/// Why a batch was refused. Each maps to one Kafka error code.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum BatchError {
    #[error("record set is empty or shorter than a batch header")]
    Truncated,
    #[error("produce requests must contain exactly one record batch")]
    NotExactlyOneBatch,
    #[error("unsupported record batch magic {0}")]
    BadMagic(i8),
    #[error("batch length {0} does not match the bytes present")]
    BadLength(i32),
    #[error("CRC-32C mismatch: header says {expected:#010x}, computed {actual:#010x}")]
    Crc { expected: u32, actual: u32 },
    #[error("record count {count} does not match last offset delta {last_offset_delta}")]
    CountMismatch { count: i32, last_offset_delta: i32 },
    #[error("clients may not write control batches")]
    ControlBatch,
    #[error("batch of {size} bytes exceeds max.message.bytes {max}")]
    TooLarge { size: usize, max: usize },
}

#[inline]
fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
#[inline]
fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
#[inline]
fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

/// The parsed fixed header of one v2 record batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    /// -1 when the producer is not idempotent.
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub record_count: i32,
}

impl BatchHeader {
    /// Parses the header at the start of `b`; `None` if fewer than 61 bytes are present.
    pub fn parse(b: &[u8]) -> Option<BatchHeader> {
        if b.len() < HEADER_LEN {
            return None;
        }
        Some(BatchHeader {
            base_offset: be_i64(b, OFF_BASE_OFFSET),
            batch_length: be_i32(b, OFF_LENGTH),
            magic: b[OFF_MAGIC] as i8,
            crc: u32::from_be_bytes([b[17], b[18], b[19], b[20]]),
            attributes: be_i16(b, OFF_ATTRIBUTES),
            last_offset_delta: be_i32(b, OFF_LAST_OFFSET_DELTA),
            base_timestamp: be_i64(b, OFF_BASE_TIMESTAMP),
            max_timestamp: be_i64(b, OFF_MAX_TIMESTAMP),
            producer_id: be_i64(b, OFF_PRODUCER_ID),
            producer_epoch: be_i16(b, OFF_PRODUCER_EPOCH),
            base_sequence: be_i32(b, OFF_BASE_SEQUENCE),
            record_count: be_i32(b, OFF_RECORD_COUNT),
        })
    }

    /// Total bytes this batch occupies on disk and on the wire.
    pub fn total_len(&self) -> usize {
        LOG_OVERHEAD + self.batch_length.max(0) as usize
    }
    pub fn last_offset(&self) -> i64 {
        // Saturating: a header from a client or a corrupt file may hold any base offset.
        self.base_offset
            .saturating_add(self.last_offset_delta as i64)
    }
    pub fn compression(&self) -> u8 {
        (self.attributes & ATTR_COMPRESSION_MASK) as u8
    }
    pub fn is_log_append_time(&self) -> bool {
        self.attributes & ATTR_TIMESTAMP_TYPE != 0
    }
    pub fn is_control(&self) -> bool {
        self.attributes & ATTR_CONTROL != 0
    }
    pub fn is_transactional(&self) -> bool {
        self.attributes & ATTR_TRANSACTIONAL != 0
    }
    pub fn has_producer_id(&self) -> bool {
        self.producer_id >= 0
    }
    /// The sequence number of the batch's last record (sequences wrap after i32::MAX).
    pub fn last_sequence(&self) -> i32 {
        increment_sequence(self.base_sequence, self.last_offset_delta)
    }
}

/// `seq + delta` in the producer sequence space, which wraps from i32::MAX to 0. Computed
/// in i64, so a corrupt (negative) delta from a recovered file cannot overflow.
pub fn increment_sequence(seq: i32, delta: i32) -> i32 {
    let sum = i64::from(seq) + i64::from(delta);
    if sum > i64::from(i32::MAX) {
        (sum - i64::from(i32::MAX) - 1) as i32
    } else {
        sum as i32
    }
}

#[cfg(test)]
mod sequence_tests {
    use super::increment_sequence;

    #[test]
    fn sequences_wrap_and_corrupt_deltas_do_not_overflow() {
        assert_eq!(increment_sequence(5, 3), 8);
        assert_eq!(increment_sequence(i32::MAX, 1), 0);
        assert_eq!(increment_sequence(i32::MAX - 1, 3), 1);
        // Found by fuzzing segment recovery: a negative delta read from a damaged file.
        let _ = increment_sequence(0, i32::MIN);
        let _ = increment_sequence(i32::MIN, -1);
    }
}

/// Stamps producer fields into a batch and recomputes its CRC (tests and `rill bench`).
pub fn set_producer(
    batch: &mut [u8],
    producer_id: i64,
    epoch: i16,
    base_sequence: i32,
    transactional: bool,
) {
    batch[OFF_PRODUCER_ID..OFF_PRODUCER_ID + 8].copy_from_slice(&producer_id.to_be_bytes());
    batch[OFF_PRODUCER_EPOCH..OFF_PRODUCER_EPOCH + 2].copy_from_slice(&epoch.to_be_bytes());
    batch[OFF_BASE_SEQUENCE..OFF_BASE_SEQUENCE + 4].copy_from_slice(&base_sequence.to_be_bytes());
    let mut attrs = be_i16(batch, OFF_ATTRIBUTES) & !ATTR_TRANSACTIONAL;
    if transactional {
        attrs |= ATTR_TRANSACTIONAL;
    }
    batch[OFF_ATTRIBUTES..OFF_ATTRIBUTES + 2].copy_from_slice(&attrs.to_be_bytes());
    let crc = crc32c::crc32c(&batch[OFF_ATTRIBUTES..]);
    batch[OFF_CRC..OFF_CRC + 4].copy_from_slice(&crc.to_be_bytes());
}

/// Reads only the 12-byte prefix (base offset, length) plus last offset delta:
/// enough to walk a log without parsing whole headers.
pub fn peek_span(b: &[u8]) -> Option<(i64, usize, i64)> {
    if b.len() < OFF_LAST_OFFSET_DELTA + 4 {
        return None;
    }
    let base = be_i64(b, 0);
    let len = be_i32(b, OFF_LENGTH);
    if len < (HEADER_LEN - LOG_OVERHEAD) as i32 {
        return None;
    }
    let last = base.saturating_add(be_i32(b, OFF_LAST_OFFSET_DELTA) as i64);
    Some((base, LOG_OVERHEAD + len as usize, last))
}

/// Checks one complete batch in `b` (which must be exactly the batch's bytes).
pub fn validate_batch(b: &[u8]) -> Result<BatchHeader, BatchError> {
    let h = BatchHeader::parse(b).ok_or(BatchError::Truncated)?;
    if h.magic != 2 {
        return Err(BatchError::BadMagic(h.magic));
    }
    if h.batch_length < (HEADER_LEN - LOG_OVERHEAD) as i32 || h.total_len() != b.len() {
        return Err(BatchError::BadLength(h.batch_length));
    }
    let actual = crc32c::crc32c(&b[OFF_ATTRIBUTES..]);
    if actual != h.crc {
        return Err(BatchError::Crc {
            expected: h.crc,
            actual,
        });
    }
    // Every record takes at least 7 bytes, so a count the body cannot hold is a lie too.
    // Compaction leaves batches with fewer records than their offset span.
    let body = b.len() - HEADER_LEN;
    if h.record_count <= 0
        || h.last_offset_delta < h.record_count - 1
        || (h.record_count as usize) > body
    {
        return Err(BatchError::CountMismatch {
            count: h.record_count,
            last_offset_delta: h.last_offset_delta,
        });
    }
    Ok(h)
}

/// Validates a produce request's record set: exactly one v2 batch, within `max_bytes`.
pub fn validate_produce(records: &[u8], max_bytes: usize) -> Result<BatchHeader, BatchError> {
    if records.len() < HEADER_LEN {
        return Err(BatchError::Truncated);
    }
    let len = be_i32(records, OFF_LENGTH);
    if len < 0 {
        return Err(BatchError::BadLength(len));
    }
    let total = LOG_OVERHEAD + len as usize;
    if total < records.len() {
        return Err(BatchError::NotExactlyOneBatch);
    }
    if total > records.len() {
        return Err(BatchError::BadLength(len));
    }
    let h = validate_batch(records)?;
    if h.is_control() {
        return Err(BatchError::ControlBatch);
    }
    // A producer's batch holds exactly one record per offset.
    if h.last_offset_delta != h.record_count - 1 {
        return Err(BatchError::CountMismatch {
            count: h.record_count,
            last_offset_delta: h.last_offset_delta,
        });
    }
    if records.len() > max_bytes {
        return Err(BatchError::TooLarge {
            size: records.len(),
            max: max_bytes,
        });
    }
    Ok(h)
}

/// Rewrites what the broker owns in a stored batch: the base offset and the partition
/// leader epoch (neither is covered by the CRC). For LogAppendTime topics it also sets the
/// timestamp type and max timestamp and recomputes the CRC, as Kafka does.
#[cfg(test)]
pub fn assign(batch: &mut [u8], base_offset: i64, log_append_time: Option<i64>) {
    let head = assigned_header(batch, base_offset, log_append_time);
    batch[..HEADER_LEN].copy_from_slice(&head);
}

/// The header `assign` would give `batch`, computed without touching the batch: the
/// produce path writes this header and the client's bytes after it as they arrived.
/// Only a LogAppendTime batch needs its CRC recomputed, over the new header and the rest.
pub fn assigned_header(
    batch: &[u8],
    base_offset: i64,
    log_append_time: Option<i64>,
) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h.copy_from_slice(&batch[..HEADER_LEN]);
    h[OFF_BASE_OFFSET..OFF_BASE_OFFSET + 8].copy_from_slice(&base_offset.to_be_bytes());
    h[OFF_LEADER_EPOCH..OFF_LEADER_EPOCH + 4].copy_from_slice(&0i32.to_be_bytes());
    if let Some(now) = log_append_time {
        let attrs = be_i16(&h, OFF_ATTRIBUTES) | ATTR_TIMESTAMP_TYPE;
        h[OFF_ATTRIBUTES..OFF_ATTRIBUTES + 2].copy_from_slice(&attrs.to_be_bytes());
        h[OFF_MAX_TIMESTAMP..OFF_MAX_TIMESTAMP + 8].copy_from_slice(&now.to_be_bytes());
        let crc = crc32c::crc32c_append(crc32c::crc32c(&h[OFF_ATTRIBUTES..]), &batch[HEADER_LEN..]);
        h[OFF_CRC..OFF_CRC + 4].copy_from_slice(&crc.to_be_bytes());
    }
    h
}

/// Control record type of a transaction marker (Kafka's `ControlRecordType`).
pub const CONTROL_ABORT: i16 = 0;
pub const CONTROL_COMMIT: i16 = 1;

/// A transaction marker: a control batch (attributes control + transactional) of one
/// record whose key is `version 0 | type` and value `version 0 | coordinator epoch`.
/// The base offset is assigned at append; `ts` is the marker's timestamp.
pub fn control_batch(
    producer_id: i64,
    epoch: i16,
    commit: bool,
    coordinator_epoch: i32,
    ts: i64,
) -> Vec<u8> {
    let kind = if commit {
        CONTROL_COMMIT
    } else {
        CONTROL_ABORT
    };
    let mut key = Vec::with_capacity(4);
    key.extend_from_slice(&0i16.to_be_bytes());
    key.extend_from_slice(&kind.to_be_bytes());
    let mut value = Vec::with_capacity(6);
    value.extend_from_slice(&0i16.to_be_bytes());
    value.extend_from_slice(&coordinator_epoch.to_be_bytes());
    let mut rec = vec![0u8]; // record attributes
    rec.extend(zigzag(0)); // timestamp delta
    rec.extend(zigzag(0)); // offset delta
    rec.extend(zigzag(key.len() as i64));
    rec.extend(&key);
    rec.extend(zigzag(value.len() as i64));
    rec.extend(&value);
    rec.extend(zigzag(0)); // headers
    let mut b = vec![0u8; HEADER_LEN];
    let body_len = zigzag(rec.len() as i64).len() + rec.len();
    b[OFF_LENGTH..OFF_LENGTH + 4]
        .copy_from_slice(&((HEADER_LEN - LOG_OVERHEAD + body_len) as i32).to_be_bytes());
    b[OFF_MAGIC] = 2;
    b[OFF_ATTRIBUTES..OFF_ATTRIBUTES + 2]
        .copy_from_slice(&(ATTR_CONTROL | ATTR_TRANSACTIONAL).to_be_bytes());
    b[OFF_BASE_TIMESTAMP..OFF_BASE_TIMESTAMP + 8].copy_from_slice(&ts.to_be_bytes());
    b[OFF_MAX_TIMESTAMP..OFF_MAX_TIMESTAMP + 8].copy_from_slice(&ts.to_be_bytes());
    b[OFF_PRODUCER_ID..OFF_PRODUCER_ID + 8].copy_from_slice(&producer_id.to_be_bytes());
    b[OFF_PRODUCER_EPOCH..OFF_PRODUCER_EPOCH + 2].copy_from_slice(&epoch.to_be_bytes());
    b[OFF_BASE_SEQUENCE..OFF_BASE_SEQUENCE + 4].copy_from_slice(&(-1i32).to_be_bytes());
    b[OFF_RECORD_COUNT..OFF_RECORD_COUNT + 4].copy_from_slice(&1i32.to_be_bytes());
    b.extend(zigzag(rec.len() as i64));
    b.extend(rec);
    let crc = crc32c::crc32c(&b[OFF_ATTRIBUTES..]);
    b[OFF_CRC..OFF_CRC + 4].copy_from_slice(&crc.to_be_bytes());
    b
}

/// A transaction marker read back from the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    pub commit: bool,
    pub coordinator_epoch: i32,
}

/// Parses a whole control batch as a transaction marker; `None` if it is not one.
pub fn parse_marker(batch: &[u8]) -> Option<Marker> {
    let h = BatchHeader::parse(batch)?;
    if !h.is_control() || h.compression() != 0 {
        return None;
    }
    let body = batch.get(HEADER_LEN..h.total_len())?;
    let (_, n) = read_varint(body)?; // record length
    let rec = body.get(n..)?;
    let mut at = 1; // attributes
    for _ in 0..2 {
        let (_, n) = read_varint(rec.get(at..)?)?; // timestamp delta, offset delta
        at += n;
    }
    let (key_len, n) = read_varint(rec.get(at..)?)?;
    at += n;
    let key = rec.get(at..at + usize::try_from(key_len).ok().filter(|&l| l >= 4)?)?;
    at += key.len();
    let (value_len, n) = read_varint(rec.get(at..)?)?;
    at += n;
    let value = rec.get(at..at + usize::try_from(value_len).ok().filter(|&l| l >= 6)?)?;
    let kind = be_i16(key, 2);
    if kind != CONTROL_ABORT && kind != CONTROL_COMMIT {
        return None;
    }
    Some(Marker {
        commit: kind == CONTROL_COMMIT,
        coordinator_epoch: be_i32(value, 2),
    })
}

/// Reads a zig-zag varint (as used inside records); returns (value, bytes used).
pub fn read_varint(b: &[u8]) -> Option<(i64, usize)> {
    let mut value: u64 = 0;
    for (i, byte) in b.iter().enumerate().take(10) {
        value |= ((byte & 0x7f) as u64) << (7 * i);
        if byte & 0x80 == 0 {
            let v = ((value >> 1) as i64) ^ -((value & 1) as i64);
            return Some((v, i + 1));
        }
    }
    None
}

/// Most bytes a batch's records may decompress to when the broker looks inside it.
pub const MAX_DECOMPRESSED: usize = 64 * 1024 * 1024;

/// What the broker may need to know about one record inside a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordMeta {
    pub offset: i64,
    pub timestamp: i64,
    /// -1 for a null key.
    pub key_len: i64,
}

/// Reads every record's offset, timestamp and key length, decompressing (bounded by
/// `MAX_DECOMPRESSED`) if needed. `None` if the batch is malformed or too large.
pub fn record_metas(batch: &[u8]) -> Option<Vec<RecordMeta>> {
    let h = BatchHeader::parse(batch)?;
    let body = batch.get(HEADER_LEN..h.total_len())?;
    let decompressed;
    let records: &[u8] = if h.compression() == 0 {
        body
    } else {
        decompressed =
            super::compression::decompress(h.compression(), body, MAX_DECOMPRESSED).ok()?;
        &decompressed
    };
    let mut out = Vec::with_capacity((h.record_count.max(0) as usize).min(records.len() / 7));
    let mut pos = 0;
    for _ in 0..h.record_count {
        let (len, n) = read_varint(records.get(pos..)?)?;
        let start = pos + n;
        let rec = records.get(start..start + usize::try_from(len).ok()?)?;
        // attributes: i8, then timestampDelta varlong, offsetDelta varint, keyLength varint
        let mut at = 1;
        let (ts_delta, n1) = read_varint(rec.get(at..)?)?;
        at += n1;
        let (off_delta, n2) = read_varint(rec.get(at..)?)?;
        at += n2;
        let (key_len, _) = read_varint(rec.get(at..)?)?;
        let timestamp = if h.is_log_append_time() {
            h.max_timestamp
        } else {
            h.base_timestamp.saturating_add(ts_delta)
        };
        out.push(RecordMeta {
            offset: h.base_offset.saturating_add(off_delta),
            timestamp,
            key_len,
        });
        pos = start + len as usize;
    }
    Some(out)
}

/// Re-encodes a batch's records with codec `codec` (0: none) at `level`: only the body,
/// the length, the compression bits and the CRC change. Bounded by `MAX_DECOMPRESSED`.
pub fn recompress(batch: &[u8], codec: u8, level: Option<i32>) -> Result<Vec<u8>, BatchError> {
    let h = BatchHeader::parse(batch).ok_or(BatchError::Truncated)?;
    let body = batch
        .get(HEADER_LEN..h.total_len())
        .ok_or(BatchError::BadLength(h.batch_length))?;
    let bad = |_| BatchError::BadLength(h.batch_length);
    let plain =
        super::compression::decompress(h.compression(), body, MAX_DECOMPRESSED).map_err(bad)?;
    let packed = super::compression::compress(codec, &plain, level).map_err(bad)?;
    let mut out = Vec::with_capacity(HEADER_LEN + packed.len());
    out.extend_from_slice(&batch[..HEADER_LEN]);
    out.extend_from_slice(&packed);
    let len = i32::try_from(out.len() - LOG_OVERHEAD).map_err(|_| BatchError::BadLength(-1))?;
    out[OFF_LENGTH..OFF_LENGTH + 4].copy_from_slice(&len.to_be_bytes());
    let attrs = (be_i16(&out, OFF_ATTRIBUTES) & !ATTR_COMPRESSION_MASK) | codec as i16;
    out[OFF_ATTRIBUTES..OFF_ATTRIBUTES + 2].copy_from_slice(&attrs.to_be_bytes());
    let crc = crc32c::crc32c(&out[OFF_ATTRIBUTES..]);
    out[OFF_CRC..OFF_CRC + 4].copy_from_slice(&crc.to_be_bytes());
    Ok(out)
}

/// One record inside a batch's (decompressed) records section.
#[derive(Debug, Clone, Copy)]
pub struct RecordView<'a> {
    /// The whole record, its length prefix included: copied verbatim when kept.
    pub raw: &'a [u8],
    pub offset_delta: i64,
    pub timestamp_delta: i64,
    pub key: Option<&'a [u8]>,
    /// The value is null (a tombstone).
    pub tombstone: bool,
    /// `None` for a tombstone.
    pub value: Option<&'a [u8]>,
    /// The headers section (count, then the headers): see [`parse_headers`].
    pub headers: &'a [u8],
}

/// Splits a records section into its `count` records. `None` if malformed.
pub fn parse_records(records: &[u8], count: i32) -> Option<Vec<RecordView<'_>>> {
    let mut out = Vec::with_capacity((count.max(0) as usize).min(records.len() / 7));
    let mut pos = 0;
    for _ in 0..count {
        let (len, n) = read_varint(records.get(pos..)?)?;
        let start = pos + n;
        let end = start + usize::try_from(len).ok()?;
        let rec = records.get(start..end)?;
        let mut at = 1; // attributes
        let (timestamp_delta, n1) = read_varint(rec.get(at..)?)?;
        at += n1;
        let (offset_delta, n2) = read_varint(rec.get(at..)?)?;
        at += n2;
        let (key_len, n3) = read_varint(rec.get(at..)?)?;
        at += n3;
        let key = if key_len < 0 {
            None
        } else {
            let k = rec.get(at..at + usize::try_from(key_len).ok()?)?;
            at += k.len();
            Some(k)
        };
        let (value_len, n4) = read_varint(rec.get(at..)?)?;
        at += n4;
        let value = if value_len < 0 {
            None
        } else {
            let v = rec.get(at..at + usize::try_from(value_len).ok()?)?;
            at += v.len();
            Some(v)
        };
        out.push(RecordView {
            raw: records.get(pos..end)?,
            offset_delta,
            timestamp_delta,
            key,
            tombstone: value_len < 0,
            value,
            headers: rec.get(at..)?,
        });
        pos = end;
    }
    Some(out)
}

/// A record header: key, and value (`None` when null).
pub type Header<'a> = (&'a [u8], Option<&'a [u8]>);

/// Splits a record's headers section (`RecordView::headers`). `None` if malformed.
pub fn parse_headers(b: &[u8]) -> Option<Vec<Header<'_>>> {
    let (count, mut at) = read_varint(b)?;
    // Each header takes at least two bytes (its two lengths).
    if count < 0 || count as usize > b.len() / 2 {
        return None;
    }
    let mut out = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let (klen, n) = read_varint(b.get(at..)?)?;
        at += n;
        let key = b.get(at..at + usize::try_from(klen).ok()?)?;
        at += key.len();
        let (vlen, n) = read_varint(b.get(at..)?)?;
        at += n;
        let value = if vlen < 0 {
            None
        } else {
            let v = b.get(at..at + usize::try_from(vlen).ok()?)?;
            at += v.len();
            Some(v)
        };
        out.push((key, value));
    }
    Some(out)
}

/// A batch's records section, decompressed (bounded) if needed.
pub fn records_section<'a>(batch: &'a [u8], h: &BatchHeader) -> Option<std::borrow::Cow<'a, [u8]>> {
    let body = batch.get(HEADER_LEN..h.total_len())?;
    if h.compression() == 0 {
        return Some(std::borrow::Cow::Borrowed(body));
    }
    super::compression::decompress(h.compression(), body, MAX_DECOMPRESSED)
        .ok()
        .map(std::borrow::Cow::Owned)
}

/// Rebuilds a batch keeping only some of its records (verbatim, so their offset and
/// timestamp deltas still hold): same header but for the length, record count and CRC,
/// re-compressed with the batch's own codec. The last offset delta is kept, as Kafka's
/// cleaner does, so the batch still ends where the producer's did.
pub fn rebuild(batch: &[u8], h: &BatchHeader, kept: &[&[u8]]) -> Result<Vec<u8>, BatchError> {
    let plain: Vec<u8> = kept.concat();
    let body = if h.compression() == 0 {
        plain
    } else {
        super::compression::compress(h.compression(), &plain, None)
            .map_err(|_| BatchError::BadLength(h.batch_length))?
    };
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(batch.get(..HEADER_LEN).ok_or(BatchError::Truncated)?);
    out.extend_from_slice(&body);
    let len = i32::try_from(out.len() - LOG_OVERHEAD).map_err(|_| BatchError::BadLength(-1))?;
    out[OFF_LENGTH..OFF_LENGTH + 4].copy_from_slice(&len.to_be_bytes());
    let count = kept.len() as i32;
    out[OFF_RECORD_COUNT..OFF_RECORD_COUNT + 4].copy_from_slice(&count.to_be_bytes());
    let crc = crc32c::crc32c(&out[OFF_ATTRIBUTES..]);
    out[OFF_CRC..OFF_CRC + 4].copy_from_slice(&crc.to_be_bytes());
    Ok(out)
}

/// Yields (offset, timestamp) of each record in a batch (see `record_metas`).
pub fn record_timestamps(batch: &[u8]) -> Option<Vec<(i64, i64)>> {
    record_metas(batch).map(|rs| rs.into_iter().map(|r| (r.offset, r.timestamp)).collect())
}

/// Builds an uncompressed v2 batch of `n` keyless records of `value_len` bytes, record
/// `i` stamped `base_ts + i`. For tests and benchmarks.
pub fn simple_batch(n: i32, base_ts: i64, value_len: usize) -> Vec<u8> {
    let value = vec![b'x'; value_len];
    let records: Vec<KeyValue> = (0..n).map(|_| (None, Some(&value[..]))).collect();
    keyed_batch(&records, base_ts)
}

/// A (key, value) record for `keyed_batch`; None is null.
pub type KeyValue<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

/// Builds an uncompressed v2 batch of (key, value) records (None: null), record `i`
/// stamped `base_ts + i`. For tests and benchmarks.
pub fn keyed_batch(records: &[KeyValue], base_ts: i64) -> Vec<u8> {
    let records: Vec<(KeyValue, &[Header])> = records.iter().map(|kv| (*kv, &[][..])).collect();
    batch_with_headers(&records, base_ts)
}

/// [`keyed_batch`] with headers on each record (a producer without idempotence, as the
/// web console's test messages are).
pub fn batch_with_headers(records: &[(KeyValue, &[Header])], base_ts: i64) -> Vec<u8> {
    let n = records.len() as i32;
    let mut body = Vec::new();
    let put = |rec: &mut Vec<u8>, field: Option<&[u8]>| match field {
        Some(f) => {
            rec.extend(zigzag(f.len() as i64));
            rec.extend_from_slice(f);
        }
        None => rec.extend(zigzag(-1)),
    };
    for (i, ((key, value), headers)) in records.iter().enumerate() {
        let mut rec = vec![0u8]; // attributes
        rec.extend(zigzag(i as i64)); // timestamp delta
        rec.extend(zigzag(i as i64)); // offset delta
        put(&mut rec, *key);
        put(&mut rec, *value);
        rec.extend(zigzag(headers.len() as i64));
        for (k, v) in headers.iter() {
            put(&mut rec, Some(k));
            put(&mut rec, *v);
        }
        body.extend(zigzag(rec.len() as i64));
        body.extend(rec);
    }
    let mut b = vec![0u8; HEADER_LEN];
    b[OFF_LENGTH..OFF_LENGTH + 4]
        .copy_from_slice(&((HEADER_LEN - LOG_OVERHEAD + body.len()) as i32).to_be_bytes());
    b[OFF_MAGIC] = 2;
    b[OFF_LAST_OFFSET_DELTA..OFF_LAST_OFFSET_DELTA + 4].copy_from_slice(&(n - 1).to_be_bytes());
    b[OFF_BASE_TIMESTAMP..OFF_BASE_TIMESTAMP + 8].copy_from_slice(&base_ts.to_be_bytes());
    b[OFF_MAX_TIMESTAMP..OFF_MAX_TIMESTAMP + 8]
        .copy_from_slice(&(base_ts + n as i64 - 1).to_be_bytes());
    b[43..51].copy_from_slice(&(-1i64).to_be_bytes());
    b[51..53].copy_from_slice(&(-1i16).to_be_bytes());
    b[53..57].copy_from_slice(&(-1i32).to_be_bytes());
    b[OFF_RECORD_COUNT..OFF_RECORD_COUNT + 4].copy_from_slice(&n.to_be_bytes());
    b.extend(body);
    let crc = crc32c::crc32c(&b[OFF_ATTRIBUTES..]);
    b[OFF_CRC..OFF_CRC + 4].copy_from_slice(&crc.to_be_bytes());
    b
}

fn zigzag(v: i64) -> Vec<u8> {
    let mut u = ((v << 1) ^ (v >> 63)) as u64;
    let mut out = Vec::new();
    loop {
        if u < 0x80 {
            out.push(u as u8);
            return out;
        }
        out.push((u as u8 & 0x7f) | 0x80);
        u >>= 7;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make_batch(n: i32, base_ts: i64) -> Vec<u8> {
        simple_batch(n, base_ts, 1)
    }

    #[test]
    fn valid_batch_passes_and_timestamps_parse() {
        let b = make_batch(3, 1000);
        let h = validate_produce(&b, 1 << 20).unwrap();
        assert_eq!(h.record_count, 3);
        assert_eq!(
            record_timestamps(&b).unwrap(),
            vec![(0, 1000), (1, 1001), (2, 1002)]
        );
    }

    #[test]
    fn corrupt_crc_is_rejected() {
        let mut b = make_batch(2, 0);
        let last = b.len() - 1;
        b[last] ^= 0xff;
        assert!(matches!(
            validate_produce(&b, 1 << 20),
            Err(BatchError::Crc { .. })
        ));
    }

    #[test]
    fn absurd_record_count_is_rejected() {
        let mut b = make_batch(1, 0);
        b[OFF_RECORD_COUNT..OFF_RECORD_COUNT + 4].copy_from_slice(&i32::MAX.to_be_bytes());
        b[OFF_LAST_OFFSET_DELTA..OFF_LAST_OFFSET_DELTA + 4]
            .copy_from_slice(&(i32::MAX - 1).to_be_bytes());
        let crc = crc32c::crc32c(&b[OFF_ATTRIBUTES..]);
        b[OFF_CRC..OFF_CRC + 4].copy_from_slice(&crc.to_be_bytes());
        let err = validate_produce(&b, 1 << 20).unwrap_err();
        assert!(matches!(err, BatchError::CountMismatch { .. }));
    }

    #[test]
    fn two_batches_and_oversize_are_rejected() {
        let mut b = make_batch(1, 0);
        let one = b.clone();
        b.extend(&one);
        assert_eq!(
            validate_produce(&b, 1 << 20),
            Err(BatchError::NotExactlyOneBatch)
        );
        assert!(matches!(
            validate_produce(&one, 10),
            Err(BatchError::TooLarge { .. })
        ));
    }

    #[test]
    fn control_batches_are_valid_markers() {
        for commit in [false, true] {
            let mut b = control_batch(42, 3, commit, 7, 1234);
            let h = validate_batch(&b).unwrap();
            assert!(h.is_control() && h.is_transactional());
            assert_eq!(
                (h.producer_id, h.producer_epoch, h.record_count),
                (42, 3, 1)
            );
            assert_eq!(h.base_sequence, -1);
            assign(&mut b, 99, None);
            assert_eq!(
                parse_marker(&b),
                Some(Marker {
                    commit,
                    coordinator_epoch: 7
                })
            );
            // Clients may not write them.
            assert_eq!(validate_produce(&b, 1 << 20), Err(BatchError::ControlBatch));
        }
        assert_eq!(parse_marker(&simple_batch(1, 0, 4)), None);
    }

    #[test]
    fn assign_rewrites_offset_and_log_append_time_keeps_crc_valid() {
        let mut b = make_batch(2, 5);
        assign(&mut b, 42, Some(99));
        let h = validate_batch(&b).unwrap();
        assert_eq!(h.base_offset, 42);
        assert_eq!(h.max_timestamp, 99);
        assert!(h.is_log_append_time());
    }
}
