//! Request and response frames: size prefix, header, body, encoded and decoded with
//! kafka-protocol's types. Pure functions over bytes and `Read`, shared by the client,
//! `rill bench` and the protocol tests.

use std::io::Read;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};

use super::ClientError;

/// Largest response frame accepted.
pub const MAX_RESPONSE: i32 = 512 << 20;
/// Offset of the correlation id inside a request frame: length, api key, api version.
pub const CORRELATION_AT: usize = 8;

/// "ProduceRequest" and the like, for error messages.
pub fn api_name<R>() -> &'static str {
    let full = std::any::type_name::<R>();
    full.rsplit("::").next().unwrap_or(full)
}

fn api_key<R: Request>(api: &'static str, decoding: bool) -> Result<ApiKey, ClientError> {
    ApiKey::try_from(R::KEY).map_err(|_| {
        let msg = "unknown api key".to_string();
        if decoding {
            ClientError::Decode { api, msg }
        } else {
            ClientError::Encode { api, msg }
        }
    })
}

/// Encodes a whole request frame (size prefix, header, body).
pub fn encode_frame<R: Request>(
    version: i16,
    correlation: i32,
    client_id: &str,
    req: &R,
) -> Result<Vec<u8>, ClientError> {
    let api = api_name::<R>();
    let key = api_key::<R>(api, false)?;
    let header = RequestHeader::default()
        .with_request_api_key(R::KEY)
        .with_request_api_version(version)
        .with_correlation_id(correlation)
        .with_client_id(Some(StrBytes::from_string(client_id.to_string())));
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&[0u8; 4]);
    let enc = |e: anyhow::Error| ClientError::Encode {
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
pub fn read_frame(r: &mut impl Read) -> Result<Bytes, ClientError> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len).map_err(closed)?;
    let size = i32::from_be_bytes(len);
    if !(4..=MAX_RESPONSE).contains(&size) {
        return Err(ClientError::FrameSize(size as i64));
    }
    let mut buf = vec![0u8; size as usize];
    r.read_exact(&mut buf).map_err(closed)?;
    Ok(Bytes::from(buf))
}

fn closed(e: std::io::Error) -> ClientError {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset => {
            ClientError::Closed
        }
        _ => ClientError::Io(e),
    }
}

/// Decodes a response frame: checks the correlation id, returns the body.
pub fn decode_response<R: Request>(
    version: i16,
    expected: i32,
    frame: Bytes,
) -> Result<R::Response, ClientError> {
    decode_response_with_rest::<R>(version, expected, frame).map(|(r, _)| r)
}

/// `decode_response`, also returning how many bytes were left after the body (0 for a
/// well-formed answer; the protocol tests insist on it).
pub fn decode_response_with_rest<R: Request>(
    version: i16,
    expected: i32,
    mut frame: Bytes,
) -> Result<(R::Response, usize), ClientError> {
    let api = api_name::<R>();
    let dec = |e: anyhow::Error| ClientError::Decode {
        api,
        msg: e.to_string(),
    };
    let key = api_key::<R>(api, true)?;
    let header =
        ResponseHeader::decode(&mut frame, key.response_header_version(version)).map_err(dec)?;
    if header.correlation_id != expected {
        return Err(ClientError::Correlation {
            got: header.correlation_id,
            expected,
        });
    }
    let resp = R::Response::decode(&mut frame, version).map_err(dec)?;
    Ok((resp, frame.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::MetadataRequest;

    #[test]
    fn frames_round_trip_their_header() {
        let f = encode_frame(12, 7, "t", &MetadataRequest::default()).unwrap();
        assert_eq!(
            i32::from_be_bytes(f[..4].try_into().unwrap()) as usize,
            f.len() - 4
        );
        assert_eq!(i16::from_be_bytes([f[4], f[5]]), 3);
        assert_eq!(i16::from_be_bytes([f[6], f[7]]), 12);
        let at = CORRELATION_AT;
        assert_eq!(i32::from_be_bytes(f[at..at + 4].try_into().unwrap()), 7);
    }

    #[test]
    fn out_of_range_frames_are_refused() {
        let mut r: &[u8] = &(-5i32).to_be_bytes();
        assert!(matches!(
            read_frame(&mut r),
            Err(ClientError::FrameSize(-5))
        ));
        let mut r: &[u8] = &[0, 0];
        assert!(matches!(read_frame(&mut r), Err(ClientError::Closed)));
    }
}
