//! `application/x-amz-cbor-1.1`, the Java SDKs' default (and so KCL's).
//!
//! Blobs are byte strings. Timestamps follow what the Java SDK does rather than RFC 8949: tag 1 followed by an
//! integer of epoch **milliseconds** on output; on input tag 1 or no tag, integer (milliseconds) or float (seconds,
//! as smithy's CBOR writers send them). Decoding and the writer primitives are `strait_aws::cbor`, shared with
//! CloudWatch; this module maps its neutral tree onto [`Value`] and renders a [`Value`].

use strait_aws::cbor::{self, Cbor, TAG_EPOCH};

use super::{DecodeError, MAX_DEPTH};
use crate::value::Value;

pub(super) fn decode(body: &[u8]) -> Result<Value, DecodeError> {
    let tree = cbor::decode(body, MAX_DEPTH).map_err(|e| match e {
        cbor::CborError::Malformed(m) => DecodeError::Malformed(m),
        cbor::CborError::TooDeep => DecodeError::TooDeep,
    })?;
    Ok(value(tree))
}

/// Maps a decoded item (moving its strings and blobs, no copies).
fn value(c: Cbor) -> Value {
    match c {
        Cbor::Null => Value::Null,
        Cbor::Bool(b) => Value::Bool(b),
        Cbor::Int(i) => Value::Int(i),
        Cbor::Float(f) => Value::Float(f),
        Cbor::Bytes(b) => Value::Blob(b),
        Cbor::Text(s) => Value::Str(s),
        Cbor::Array(items) => Value::List(items.into_iter().map(value).collect()),
        Cbor::Map(entries) => Value::Map(entries.into_iter().map(|(k, v)| (k, value(v))).collect()),
        Cbor::Tagged(tag, inner) => match (tag, value(*inner)) {
            (TAG_EPOCH, Value::Int(ms)) => Value::Timestamp(ms),
            (TAG_EPOCH, Value::Float(secs)) => Value::Timestamp((secs * 1000.0).round() as i64),
            // Other tags carry no meaning in Kinesis shapes; the tagged value stands for itself.
            (_, v) => v,
        },
    }
}

pub(super) fn encode(v: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write(&mut out, v);
    out
}

fn write(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(0xf6),
        Value::Bool(b) => out.push(if *b { 0xf5 } else { 0xf4 }),
        Value::Int(i) => cbor::int(out, *i),
        Value::Float(f) => {
            out.push(0xfb);
            out.extend_from_slice(&f.to_be_bytes());
        }
        Value::Str(s) => cbor::text(out, s),
        Value::Blob(b) => cbor::bytes(out, b),
        Value::Timestamp(ms) => {
            cbor::head(out, 6, TAG_EPOCH);
            cbor::int(out, *ms);
        }
        Value::List(l) => {
            cbor::head(out, 4, l.len() as u64);
            for v in l {
                write(out, v);
            }
        }
        Value::Map(m) => {
            cbor::head(out, 5, m.len() as u64);
            for (k, v) in m {
                cbor::text(out, k);
                write(out, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_blobs_and_timestamps() {
        let v = Value::map()
            .with("Data", Value::Blob(vec![0, 1, 255]))
            .with(
                "ApproximateArrivalTimestamp",
                Value::Timestamp(1_701_760_153_593),
            )
            .with("N", Value::Int(-300))
            .with("L", Value::List(vec![Value::Bool(true), Value::Null]));
        let bytes = encode(&v);
        // tag 1 (0xc1) followed by a u64 of milliseconds, as the Java SDK reads it.
        let ts_at = bytes
            .windows(2)
            .position(|w| w == [0xc1, 0x1b])
            .expect("tag 1 + 8-byte uint");
        assert_eq!(
            &bytes[ts_at + 2..ts_at + 10],
            &1_701_760_153_593u64.to_be_bytes()
        );
        assert_eq!(decode(&bytes).expect("decodes"), v);
    }

    #[test]
    fn accepts_indefinite_containers_and_float_seconds() {
        // {_ "A": (_ h'01', h'02'), "T": 1(1.5)} with an indefinite map and byte string
        let body = [
            0xbf, 0x61, b'A', 0x5f, 0x41, 0x01, 0x41, 0x02, 0xff, 0x61, b'T', 0xc1, 0xfb, 0x3f,
            0xf8, 0, 0, 0, 0, 0, 0, 0xff,
        ];
        let v = decode(&body).expect("decodes");
        assert_eq!(v.get("A"), Some(&Value::Blob(vec![1, 2])));
        assert_eq!(v.get("T"), Some(&Value::Timestamp(1500)));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for body in [
            &[0x1c][..],
            &[0xa1, 0x01],
            &[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ] {
            assert!(decode(body).is_err());
        }
    }
}
