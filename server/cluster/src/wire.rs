//! The wire format, as a pure codec (no I/O).
//!
//! Every frame is `length: u32 BE` followed by `length` bytes: a fixed 21-byte header and the payload.
//!
//! | field       | type   | meaning                                                         |
//! |-------------|--------|-----------------------------------------------------------------|
//! | version     | u8     | frame format version, [`FRAME_VERSION`]                         |
//! | kind        | u8     | [`Kind`]                                                        |
//! | flags       | u8     | bit 0 = [`FLAG_ORDERED`]; other bits are ignored (reserved)     |
//! | correlation | u64 BE | matches a Response/Error to its Request, a Pong to its Ping     |
//! | group       | u64 BE | the group the request belongs to (0 = controller)               |
//! | method      | u16 BE | opaque to the transport                                         |
//!
//! The first frame each side sends is a [`Hello`]; an Error frame carries a [`RemoteError`] payload.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::NodeId;
use crate::error::RemoteError;

/// "STRT": the first bytes of every Hello payload, so a stray client (an HTTP probe, a Kafka client pointed at
/// the wrong port) is recognised and dropped at once.
pub const MAGIC: u32 = 0x5354_5254;
/// Version of the frame header layout.
pub const FRAME_VERSION: u8 = 1;
/// Version of the protocol spoken after the Hello; carried in the Hello so a mixed-version cluster can negotiate.
pub const PROTOCOL_VERSION: u16 = 1;
/// Bytes of the length prefix.
pub const LEN_PREFIX: usize = 4;
/// Bytes of the fixed header after the length prefix.
pub const HEADER_LEN: usize = 21;
/// Flag bit: the request belongs to the ordered lane of its (sender, group).
pub const FLAG_ORDERED: u8 = 0x01;
/// Upper bound of a Hello frame; a first frame longer than this is not a Strait node.
pub const MAX_HELLO_LEN: usize = 4096;

/// Error codes the transport itself produces. Handler codes should stay below `0xFF00`.
pub mod codes {
    /// The remote handler panicked while handling the request.
    pub const HANDLER_PANICKED: u16 = 0xFFFF;
    /// The handler's response was larger than the frame limit of either node.
    pub const RESPONSE_TOO_LARGE: u16 = 0xFFFE;
    /// The accepting node refused the connection during the Hello exchange.
    pub const REFUSED: u16 = 0xFFFD;
    /// The receiving node is shutting down and no longer handles requests.
    pub const SHUTTING_DOWN: u16 = 0xFFFC;
}

/// Frame kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// Connection opening: magic, versions, cluster id, node id, frame limit.
    Hello = 1,
    /// A request for the receiver's handler.
    Request = 2,
    /// A successful response, correlated to a request.
    Response = 3,
    /// A failed request ([`RemoteError`] payload), or a refused Hello (correlation 0).
    Error = 4,
    /// Keepalive probe, sent by an idle writer.
    Ping = 5,
    /// Keepalive answer.
    Pong = 6,
}

impl Kind {
    fn from_u8(b: u8) -> Result<Kind, WireError> {
        Ok(match b {
            1 => Kind::Hello,
            2 => Kind::Request,
            3 => Kind::Response,
            4 => Kind::Error,
            5 => Kind::Ping,
            6 => Kind::Pong,
            other => return Err(WireError::UnknownKind(other)),
        })
    }
}

/// The fixed part of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// What the frame is.
    pub kind: Kind,
    /// Flag bits ([`FLAG_ORDERED`]).
    pub flags: u8,
    /// Correlation id (request ↔ response).
    pub correlation: u64,
    /// Group id.
    pub group: u64,
    /// Method number.
    pub method: u16,
}

impl Header {
    /// A header with only a kind and a correlation id (Hello, Ping, Pong, Response, Error).
    pub fn control(kind: Kind, correlation: u64) -> Header {
        Header {
            kind,
            flags: 0,
            correlation,
            group: 0,
            method: 0,
        }
    }

    /// Appends the length prefix and this header for a payload of `payload_len` bytes.
    pub fn encode(&self, payload_len: usize, dst: &mut BytesMut) {
        // Callers check the frame limit (≤ u32::MAX) before encoding, so this cannot truncate.
        let len = u32::try_from(HEADER_LEN + payload_len).unwrap_or(u32::MAX);
        dst.reserve(LEN_PREFIX + HEADER_LEN);
        dst.put_u32(len);
        dst.put_u8(FRAME_VERSION);
        dst.put_u8(self.kind as u8);
        dst.put_u8(self.flags);
        dst.put_u64(self.correlation);
        dst.put_u64(self.group);
        dst.put_u16(self.method);
    }

    fn decode(mut src: &[u8]) -> Result<Header, WireError> {
        let version = src.get_u8();
        if version != FRAME_VERSION {
            return Err(WireError::Version(version));
        }
        let kind = Kind::from_u8(src.get_u8())?;
        Ok(Header {
            kind,
            flags: src.get_u8(),
            correlation: src.get_u64(),
            group: src.get_u64(),
            method: src.get_u16(),
        })
    }

    /// Whether the ordered flag is set.
    pub fn ordered(&self) -> bool {
        self.flags & FLAG_ORDERED != 0
    }
}

/// A decoded frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The fixed header.
    pub header: Header,
    /// The payload (a zero-copy slice of the read buffer).
    pub payload: Bytes,
}

/// Why bytes on a connection are not a valid frame. Any of these closes that connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The length prefix is shorter than the fixed header.
    #[error("frame length {0} is shorter than the {HEADER_LEN}-byte header")]
    TooShort(u32),
    /// The length prefix exceeds the receiver's frame limit.
    #[error("frame length {len} exceeds the limit of {max} bytes")]
    TooLarge {
        /// Announced length.
        len: u32,
        /// The limit.
        max: usize,
    },
    /// Unsupported header version.
    #[error("unsupported frame version {0}")]
    Version(u8),
    /// Unknown frame kind.
    #[error("unknown frame kind {0}")]
    UnknownKind(u8),
    /// A Hello payload that does not start with [`MAGIC`].
    #[error("bad magic {0:#010x} (not a Strait node)")]
    BadMagic(u32),
    /// A Hello or Error payload cut short.
    #[error("truncated {0} payload")]
    Truncated(&'static str),
    /// A Hello whose cluster id is not UTF-8.
    #[error("cluster id is not UTF-8")]
    ClusterIdNotUtf8,
}

/// Takes one complete frame off the front of `buf`, or returns `None` when more bytes are needed (reserving room
/// for the rest of the frame). `max_frame` bounds the length prefix (header + payload).
pub fn decode(buf: &mut BytesMut, max_frame: usize) -> Result<Option<Frame>, WireError> {
    if buf.len() < LEN_PREFIX {
        return Ok(None);
    }
    let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    if (len as usize) < HEADER_LEN {
        return Err(WireError::TooShort(len));
    }
    if len as usize > max_frame {
        return Err(WireError::TooLarge {
            len,
            max: max_frame,
        });
    }
    let total = LEN_PREFIX + len as usize;
    if buf.len() < total {
        buf.reserve(total - buf.len());
        return Ok(None);
    }
    let mut frame = buf.split_to(total).freeze();
    frame.advance(LEN_PREFIX);
    let header = Header::decode(&frame[..HEADER_LEN])?;
    let payload = frame.slice(HEADER_LEN..);
    Ok(Some(Frame { header, payload }))
}

/// Encodes a whole frame (length, header, payload) into `dst`.
pub fn encode(header: &Header, payload: &[u8], dst: &mut BytesMut) {
    header.encode(payload.len(), dst);
    dst.extend_from_slice(payload);
}

/// The first frame's payload, sent by both sides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    /// Protocol version the sender speaks.
    pub protocol_version: u16,
    /// The sender's node id.
    pub node: NodeId,
    /// The largest frame (header + payload) the sender accepts; the other side never sends more.
    pub max_frame: u32,
    /// The sender's cluster id; a mismatch closes the connection.
    pub cluster_id: String,
}

impl Hello {
    /// Encodes the payload: magic u32, protocol version u16, node id i32, max frame u32, cluster id (u16 length,
    /// UTF-8 bytes).
    pub fn encode(&self) -> Bytes {
        let id = self.cluster_id.as_bytes();
        let id = &id[..id.len().min(usize::from(u16::MAX))];
        let mut b = BytesMut::with_capacity(16 + id.len());
        b.put_u32(MAGIC);
        b.put_u16(self.protocol_version);
        b.put_i32(self.node);
        b.put_u32(self.max_frame);
        b.put_u16(id.len() as u16);
        b.extend_from_slice(id);
        b.freeze()
    }

    /// Decodes a Hello payload.
    pub fn decode(mut p: &[u8]) -> Result<Hello, WireError> {
        if p.len() < 4 {
            return Err(WireError::Truncated("hello"));
        }
        let magic = p.get_u32();
        if magic != MAGIC {
            return Err(WireError::BadMagic(magic));
        }
        if p.len() < 12 {
            return Err(WireError::Truncated("hello"));
        }
        let protocol_version = p.get_u16();
        let node = p.get_i32();
        let max_frame = p.get_u32();
        let id_len = usize::from(p.get_u16());
        if p.len() < id_len {
            return Err(WireError::Truncated("hello"));
        }
        let cluster_id = std::str::from_utf8(&p[..id_len])
            .map_err(|_| WireError::ClusterIdNotUtf8)?
            .to_owned();
        Ok(Hello {
            protocol_version,
            node,
            max_frame,
            cluster_id,
        })
    }
}

impl RemoteError {
    /// Encodes an Error payload: code u16, then the message as UTF-8.
    pub fn encode(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(2 + self.message.len());
        b.put_u16(self.code);
        b.extend_from_slice(self.message.as_bytes());
        b.freeze()
    }

    /// Decodes an Error payload; a message that is not UTF-8 is decoded lossily (it is only ever logged).
    pub fn decode(mut p: &[u8]) -> Result<RemoteError, WireError> {
        if p.len() < 2 {
            return Err(WireError::Truncated("error"));
        }
        let code = p.get_u16();
        Ok(RemoteError {
            code,
            message: String::from_utf8_lossy(p).into_owned(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail loudly
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            kind: Kind::Request,
            flags: FLAG_ORDERED,
            correlation: 7,
            group: 42,
            method: 3,
        }
    }

    #[test]
    fn round_trip_in_pieces() {
        let mut wire = BytesMut::new();
        encode(&header(), b"hello", &mut wire);
        encode(&Header::control(Kind::Ping, 9), b"", &mut wire);
        let all = wire.freeze();
        // Feed one byte at a time: partial input never yields a frame or an error.
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        for b in all.iter() {
            buf.put_u8(*b);
            while let Some(f) = decode(&mut buf, 1024).unwrap() {
                frames.push(f);
            }
        }
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].header, header());
        assert!(frames[0].header.ordered());
        assert_eq!(&frames[0].payload[..], b"hello");
        assert_eq!(frames[1].header.kind, Kind::Ping);
        assert!(buf.is_empty());
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let mut b = BytesMut::from(&[0u8, 0, 0, 3, 1, 2, 3][..]);
        assert_eq!(decode(&mut b, 1024), Err(WireError::TooShort(3)));
        let mut b = BytesMut::from(&[0xFFu8, 0xFF, 0xFF, 0xFF][..]);
        assert!(matches!(
            decode(&mut b, 1024),
            Err(WireError::TooLarge { .. })
        ));
        let mut w = BytesMut::new();
        encode(&header(), b"", &mut w);
        w[5] = 99;
        assert_eq!(decode(&mut w, 1024), Err(WireError::UnknownKind(99)));
        let mut w = BytesMut::new();
        encode(&header(), b"", &mut w);
        w[4] = 2;
        assert_eq!(decode(&mut w, 1024), Err(WireError::Version(2)));
        // Arbitrary garbage never panics.
        for seed in 0u32..2000 {
            let bytes: Vec<u8> = (0..64u32)
                .map(|i| (seed.wrapping_mul(2654435761) >> (i % 24)) as u8)
                .collect();
            let mut b = BytesMut::from(&bytes[..]);
            while let Ok(Some(_)) = decode(&mut b, 1 << 20) {}
            let _ = Hello::decode(&bytes);
            let _ = RemoteError::decode(&bytes);
        }
    }

    #[test]
    fn hello_round_trip_and_refusals() {
        let h = Hello {
            protocol_version: PROTOCOL_VERSION,
            node: 3,
            max_frame: 1 << 24,
            cluster_id: "prod".into(),
        };
        assert_eq!(Hello::decode(&h.encode()).unwrap(), h);
        assert_eq!(
            Hello::decode(b"GET / HTTP/1.1"),
            Err(WireError::BadMagic(0x4745_5420))
        );
        let enc = h.encode();
        assert_eq!(
            Hello::decode(&enc[..enc.len() - 1]),
            Err(WireError::Truncated("hello"))
        );
    }

    #[test]
    fn remote_error_round_trip() {
        let e = RemoteError {
            code: 17,
            message: "no such partition".into(),
        };
        assert_eq!(RemoteError::decode(&e.encode()).unwrap(), e);
        assert_eq!(
            RemoteError::decode(&[1]),
            Err(WireError::Truncated("error"))
        );
    }
}
