//! The `application/vnd.amazon.eventstream` message format: the framing of every SubscribeToShard event.
//!
//! A message is `total length (u32 BE) | headers length (u32 BE) | CRC32 of those 8 bytes | headers | payload |
//! CRC32 of everything before it`; a header is `name length (u8) | name | value type | value`, and only string
//! values (type 7: `u16 BE length | UTF-8`) are needed here. The CRC is the IEEE CRC-32 (`crc32fast`).
//! Written by hand because the format is this small and the smithy crate implementing it is pre-1.0; the tests
//! check it against that crate's decoder.

use bytes::{BufMut, Bytes, BytesMut};

/// Header value type: string.
const STRING: u8 = 7;
/// Prelude (two lengths and their CRC) plus the trailing message CRC.
const OVERHEAD: usize = 16;

/// Encodes one message with string-valued headers.
pub fn message(headers: &[(&str, &str)], payload: &[u8]) -> Bytes {
    let headers_len: usize = headers
        .iter()
        .map(|(n, v)| 1 + n.len() + 1 + 2 + v.len())
        .sum();
    let total = OVERHEAD + headers_len + payload.len();
    let mut out = BytesMut::with_capacity(total);
    out.put_u32(total as u32);
    out.put_u32(headers_len as u32);
    out.put_u32(crc32fast::hash(&out[..8]));
    for (name, value) in headers {
        // Names and values are this module's constants, event type names and short exception types; none
        // comes near the u8 / u16 limits.
        out.put_u8(name.len() as u8);
        out.put_slice(name.as_bytes());
        out.put_u8(STRING);
        out.put_u16(value.len() as u16);
        out.put_slice(value.as_bytes());
    }
    out.put_slice(payload);
    let crc = crc32fast::hash(&out);
    out.put_u32(crc);
    out.freeze()
}

/// An event message (`:message-type=event`).
pub fn event(event_type: &str, content_type: &str, payload: &[u8]) -> Bytes {
    message(
        &[
            (":event-type", event_type),
            (":content-type", content_type),
            (":message-type", "event"),
        ],
        payload,
    )
}

/// An exception message (`:message-type=exception`), how errors are reported once the stream has started.
pub fn exception(exception_type: &str, content_type: &str, payload: &[u8]) -> Bytes {
    message(
        &[
            (":exception-type", exception_type),
            (":content-type", content_type),
            (":message-type", "exception"),
        ],
        payload,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_eventstream::frame::read_message_from;
    use aws_smithy_types::event_stream::HeaderValue;

    fn header<'a>(m: &'a aws_smithy_types::event_stream::Message, name: &str) -> &'a str {
        let h = m
            .headers()
            .iter()
            .find(|h| h.name().as_str() == name)
            .unwrap_or_else(|| panic!("header {name}"));
        match h.value() {
            HeaderValue::String(s) => s.as_str(),
            other => panic!("header {name} is not a string: {other:?}"),
        }
    }

    #[test]
    fn smithy_decoder_reads_our_messages() {
        let bytes = event("initial-response", "application/json", b"{}");
        let mut buf = bytes.clone();
        let m = read_message_from(&mut buf).expect("a valid message");
        assert!(buf.is_empty(), "one message, fully consumed");
        assert_eq!(header(&m, ":event-type"), "initial-response");
        assert_eq!(header(&m, ":content-type"), "application/json");
        assert_eq!(header(&m, ":message-type"), "event");
        assert_eq!(&m.payload()[..], b"{}");

        let payload = vec![0xa5u8; 70_000];
        let mut buf = exception(
            "ResourceInUseException",
            "application/x-amz-cbor-1.1",
            &payload,
        );
        let m = read_message_from(&mut buf).expect("a valid message");
        assert_eq!(header(&m, ":exception-type"), "ResourceInUseException");
        assert_eq!(header(&m, ":message-type"), "exception");
        assert_eq!(&m.payload()[..], &payload[..]);
    }

    #[test]
    fn lengths_and_crcs_are_where_the_format_puts_them() {
        let b = message(&[("a", "bc")], b"xyz");
        // 16 bytes of framing, header 1+1+1+2+2 = 7, payload 3.
        assert_eq!(b.len(), 26);
        assert_eq!(&b[0..4], &26u32.to_be_bytes());
        assert_eq!(&b[4..8], &7u32.to_be_bytes());
        assert_eq!(&b[8..12], &crc32fast::hash(&b[..8]).to_be_bytes());
        assert_eq!(&b[12..19], &[1, b'a', 7, 0, 2, b'b', b'c']);
        assert_eq!(&b[19..22], b"xyz");
        assert_eq!(&b[22..], &crc32fast::hash(&b[..22]).to_be_bytes());
        // The CRC-32 check value: this is IEEE CRC-32, what the format specifies.
        assert_eq!(crc32fast::hash(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn a_corrupted_byte_is_detected_by_the_decoder() {
        let b = event(
            "SubscribeToShardEvent",
            "application/json",
            b"{\"Records\":[]}",
        );
        for i in [2usize, 9, 20, b.len() - 6, b.len() - 1] {
            let mut bad = b.to_vec();
            bad[i] ^= 0x40;
            let mut buf = Bytes::from(bad);
            assert!(
                read_message_from(&mut buf).is_err(),
                "flipping byte {i} must fail a CRC"
            );
        }
    }
}
