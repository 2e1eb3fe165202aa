//! Bounded decompression of a batch's records, and compression with Kafka's codecs.
//! Decompression serves ListOffsets inside a compressed batch and the record checks of
//! compacted topics; compression serves `compression.type` other than `producer` (the one
//! place the produce path re-encodes). Output is capped so a hostile batch cannot make the
//! broker allocate without limit.

use std::io::Read;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum DecompressError {
    #[error("unknown compression codec {0}")]
    UnknownCodec(u8),
    #[error("decompressed data exceeds {0} bytes")]
    TooLarge(usize),
    #[error("corrupt compressed data: {0}")]
    Corrupt(String),
}

/// Xerial snappy framing, used by Java producers: magic, version, compat, then
/// (length, raw snappy block) pairs.
const XERIAL_MAGIC: &[u8] = b"\x82SNAPPY\x00";

fn read_capped(r: impl Read, limit: usize) -> Result<Vec<u8>, DecompressError> {
    let mut out = Vec::new();
    r.take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| DecompressError::Corrupt(e.to_string()))?;
    if out.len() > limit {
        return Err(DecompressError::TooLarge(limit));
    }
    Ok(out)
}

fn snappy_block(data: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), DecompressError> {
    let n = snap::raw::decompress_len(data).map_err(|e| DecompressError::Corrupt(e.to_string()))?;
    if out.len() + n > limit {
        return Err(DecompressError::TooLarge(limit));
    }
    let start = out.len();
    out.resize(start + n, 0);
    snap::raw::Decoder::new()
        .decompress(data, &mut out[start..])
        .map_err(|e| DecompressError::Corrupt(e.to_string()))?;
    Ok(())
}

/// Decompresses `data` compressed with Kafka codec `codec` (1 gzip, 2 snappy, 3 lz4,
/// 4 zstd), producing at most `limit` bytes.
pub fn decompress(codec: u8, data: &[u8], limit: usize) -> Result<Vec<u8>, DecompressError> {
    match codec {
        0 => Ok(data.to_vec()),
        1 => read_capped(flate2::read::GzDecoder::new(data), limit),
        2 => {
            let mut out = Vec::new();
            if let Some(mut rest) = data.strip_prefix(XERIAL_MAGIC) {
                rest = rest.get(8..).unwrap_or(&[]); // version + compatible version
                while rest.len() >= 4 {
                    let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                    let block = rest
                        .get(4..4 + len)
                        .ok_or_else(|| DecompressError::Corrupt("truncated xerial block".into()))?;
                    snappy_block(block, &mut out, limit)?;
                    rest = &rest[4 + len..];
                }
            } else {
                snappy_block(data, &mut out, limit)?;
            }
            Ok(out)
        }
        3 => {
            let d = lz4::Decoder::new(data).map_err(|e| DecompressError::Corrupt(e.to_string()))?;
            read_capped(d, limit)
        }
        4 => {
            let d = zstd::stream::read::Decoder::new(data)
                .map_err(|e| DecompressError::Corrupt(e.to_string()))?;
            read_capped(d, limit)
        }
        other => Err(DecompressError::UnknownCodec(other)),
    }
}

/// Compresses `data` with Kafka codec `codec` at `level` (None: the codec's default),
/// in the framing Kafka's own brokers write (xerial for snappy, LZ4 frames with 64 KiB
/// independent blocks).
pub fn compress(codec: u8, data: &[u8], level: Option<i32>) -> Result<Vec<u8>, DecompressError> {
    use std::io::Write;
    let io = |e: std::io::Error| DecompressError::Corrupt(e.to_string());
    match codec {
        0 => Ok(data.to_vec()),
        1 => {
            let level = level.filter(|l| (1..=9).contains(l)).unwrap_or(6) as u32;
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
            e.write_all(data).map_err(io)?;
            e.finish().map_err(io)
        }
        2 => {
            let mut out = XERIAL_MAGIC.to_vec();
            out.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1]);
            let mut enc = snap::raw::Encoder::new();
            for chunk in data.chunks(32 * 1024) {
                let block = enc
                    .compress_vec(chunk)
                    .map_err(|e| DecompressError::Corrupt(e.to_string()))?;
                out.extend_from_slice(&(block.len() as u32).to_be_bytes());
                out.extend_from_slice(&block);
            }
            Ok(out)
        }
        3 => {
            let mut enc = lz4::EncoderBuilder::new()
                .block_size(lz4::BlockSize::Max64KB)
                .block_mode(lz4::BlockMode::Independent)
                .checksum(lz4::ContentChecksum::NoChecksum)
                .block_checksum(lz4::liblz4::BlockChecksum::NoBlockChecksum)
                .level(level.unwrap_or(9).clamp(1, 17) as u32)
                .build(Vec::new())
                .map_err(io)?;
            enc.write_all(data).map_err(io)?;
            let (out, r) = enc.finish();
            r.map_err(io)?;
            Ok(out)
        }
        4 => zstd::bulk::compress(data, level.unwrap_or(3)).map_err(io),
        other => Err(DecompressError::UnknownCodec(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn gzip_roundtrip_and_cap() {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&[7u8; 10_000]).unwrap();
        let z = e.finish().unwrap();
        assert_eq!(decompress(1, &z, 10_000).unwrap().len(), 10_000);
        assert!(matches!(
            decompress(1, &z, 9_999),
            Err(DecompressError::TooLarge(_))
        ));
    }

    #[test]
    fn snappy_raw_and_xerial() {
        let raw = snap::raw::Encoder::new()
            .compress_vec(b"hello hello hello")
            .unwrap();
        assert_eq!(decompress(2, &raw, 100).unwrap(), b"hello hello hello");
        let mut x = XERIAL_MAGIC.to_vec();
        x.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1]);
        x.extend_from_slice(&(raw.len() as u32).to_be_bytes());
        x.extend_from_slice(&raw);
        assert_eq!(decompress(2, &x, 100).unwrap(), b"hello hello hello");
        assert!(decompress(2, &raw, 5).is_err());
    }

    #[test]
    fn every_codec_roundtrips() {
        let data: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for codec in 0..=4u8 {
            let z = compress(codec, &data, None).unwrap();
            assert_eq!(
                decompress(codec, &z, data.len()).unwrap(),
                data,
                "codec {codec}"
            );
        }
        assert!(compress(7, &data, None).is_err());
        // LZ4 frames as Kafka writes them: version 1, independent blocks, no block or
        // content checksum (FLG 0x60), 64 KiB blocks (BD 0x40). KafkaJS's lz4js misreads
        // frames with block checksums.
        let z = compress(3, &data, None).unwrap();
        assert_eq!(&z[..6], &[0x04, 0x22, 0x4d, 0x18, 0x60, 0x40]);
    }

    #[test]
    fn zstd_and_lz4() {
        let z = zstd::encode_all(&[1u8; 5000][..], 3).unwrap();
        assert_eq!(decompress(4, &z, 5000).unwrap().len(), 5000);
        assert!(decompress(4, &z, 4999).is_err());
        let mut enc = lz4::EncoderBuilder::new().build(Vec::new()).unwrap();
        enc.write_all(&[2u8; 3000]).unwrap();
        let (l, r) = enc.finish();
        r.unwrap();
        assert_eq!(decompress(3, &l, 3000).unwrap().len(), 3000);
        assert!(decompress(9, &l, 10).is_err());
    }
}
