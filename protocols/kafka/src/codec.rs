//! Request framing: header decoding (including KIP-511's unsupported-ApiVersions answer) and response encoding.
//! Frames arrive without their 4-byte length prefix and responses are returned without one: the listener frames both.

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::{Encodable, decode_request_header_from_buffer};

use crate::error::KafkaError;

/// A decoded request.
pub struct Decoded {
    pub header: RequestHeader,
    pub api: ApiKey,
    pub request: RequestKind,
}

/// What the first bytes of a frame say, before full decoding.
pub fn peek(frame: &[u8]) -> Result<(i16, i16, i32), KafkaError> {
    if frame.len() < 8 {
        return Err(KafkaError::ShortFrame(frame.len()));
    }
    let mut b = &frame[..8];
    Ok((b.get_i16(), b.get_i16(), b.get_i32()))
}

/// Decodes header and body, rejecting versions outside `range`.
pub fn decode(mut frame: Bytes, range: (i16, i16)) -> Result<Decoded, KafkaError> {
    let (key, version, _) = peek(&frame)?;
    let api = ApiKey::try_from(key).map_err(|_| KafkaError::UnknownApiKey(key))?;
    if version < range.0 || version > range.1 {
        return Err(KafkaError::UnsupportedVersion { api: key, version });
    }
    let whole = frame.clone();
    let header = decode_request_header_from_buffer(&mut frame)?;
    let request = RequestKind::decode(api, &mut frame, version)?;
    if !frame.is_empty() {
        // Apache Kafka parses the fields it knows and ignores the rest, and real clients rely on it (librdkafka
        // 2.16 sends 3 extra bytes after a Metadata v12 body), so trailing bytes are noted, not rejected.
        let hex: String = whole.iter().take(256).map(|b| format!("{b:02x}")).collect();
        tracing::debug!(api = key, version, trailing = frame.len(), frame = %hex, "request with trailing bytes");
        metrics::counter!("strait_kafka_requests_with_trailing_bytes_total").increment(1);
    }
    Ok(Decoded {
        header,
        api,
        request,
    })
}

/// Decodes only the header (for APIs whose body the generated codec cannot decode); returns it and the body.
pub fn decode_header(
    mut frame: Bytes,
    api: ApiKey,
    version: i16,
    range: (i16, i16),
) -> Result<(RequestHeader, Bytes), KafkaError> {
    if version < range.0 || version > range.1 {
        return Err(KafkaError::UnsupportedVersion {
            api: api as i16,
            version,
        });
    }
    let header = decode_request_header_from_buffer(&mut frame)?;
    Ok((header, frame))
}

/// Writes a response header (for bodies encoded outside the generated codec).
pub fn encode_header(
    buf: &mut BytesMut,
    api: ApiKey,
    version: i16,
    correlation_id: i32,
) -> Result<(), KafkaError> {
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(buf, api.response_header_version(version))?;
    Ok(())
}

mod fetch;
pub mod share_wire;

/// An encoded response without its length prefix, as the chunks to write in order: one for most responses,
/// several for a Fetch response, whose large record sets go out as the buffers the engine read them into.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frame {
    chunks: Vec<Bytes>,
    len: usize,
}

impl Frame {
    pub fn from_chunks(chunks: Vec<Bytes>) -> Self {
        let len = chunks.iter().map(Bytes::len).sum();
        Frame { chunks, len }
    }

    /// Bytes in all chunks.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn chunks(&self) -> &[Bytes] {
        &self.chunks
    }

    /// The response as one buffer: its only chunk, or a copy of all of them.
    pub fn into_bytes(mut self) -> Bytes {
        if self.chunks.len() == 1 {
            return self.chunks.swap_remove(0);
        }
        let mut buf = BytesMut::with_capacity(self.len);
        for c in &self.chunks {
            buf.extend_from_slice(c);
        }
        buf.freeze()
    }
}

impl From<Bytes> for Frame {
    fn from(b: Bytes) -> Self {
        Frame::from_chunks(vec![b])
    }
}

/// Encodes a response for the wire: a Fetch response in chunks (see [`fetch`]), any other as one buffer.
pub fn encode_frame(
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &ResponseKind,
) -> Result<Frame, KafkaError> {
    if let ResponseKind::Fetch(f) = body
        && let Some(frame) = fetch::encode(version, correlation_id, f)?
    {
        return Ok(frame);
    }
    encode(api, version, correlation_id, body).map(Frame::from)
}

/// Encodes a response: header and body, without the length prefix.
pub fn encode(
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &ResponseKind,
) -> Result<Bytes, KafkaError> {
    // A fetch answer is mostly record bytes (up to tens of MiB): sized up front, it is written once instead of
    // being regrown, and copied again, through every power of two up to its size.
    let capacity = match body {
        ResponseKind::Fetch(f) => f.compute_size(version)? + 16,
        _ => 256,
    };
    let mut buf = BytesMut::with_capacity(capacity);
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut buf, api.response_header_version(version))?;
    body.encode(&mut buf, version)?;
    Ok(buf.freeze())
}
