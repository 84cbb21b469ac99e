//! `application/x-amz-cbor-1.1`, the Java SDKs' default (and so KCL's).
//!
//! Blobs are byte strings. Timestamps follow what the Java SDK does rather than RFC 8949: tag 1 followed by an
//! integer of epoch **milliseconds** on output; on input tag 1 or no tag, integer (milliseconds) or float (seconds,
//! as smithy's CBOR writers send them). Decoding uses minicbor; encoding is a few lines of shortest-form heads.

use minicbor::Decoder;
use minicbor::data::Type;

use super::{DecodeError, MAX_DEPTH};
use crate::value::Value;

/// CBOR tag 1: epoch-based date/time.
const TAG_EPOCH: u64 = 1;

pub(super) fn decode(body: &[u8]) -> Result<Value, DecodeError> {
    let mut d = Decoder::new(body);
    let v = item(&mut d, 0)?;
    if d.position() != body.len() {
        return Err(DecodeError("trailing bytes after the CBOR body".into()));
    }
    Ok(v)
}

fn err(e: minicbor::decode::Error) -> DecodeError {
    DecodeError(format!("Invalid CBOR in request body: {e}"))
}

fn item(d: &mut Decoder<'_>, depth: usize) -> Result<Value, DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError("request body is nested too deeply".into()));
    }
    let t = d.datatype().map_err(err)?;
    Ok(match t {
        Type::Bool => Value::Bool(d.bool().map_err(err)?),
        Type::Null | Type::Undefined => {
            d.skip().map_err(err)?;
            Value::Null
        }
        Type::U8
        | Type::U16
        | Type::U32
        | Type::U64
        | Type::I8
        | Type::I16
        | Type::I32
        | Type::I64
        | Type::Int => {
            let i = i128::from(d.int().map_err(err)?);
            match i64::try_from(i) {
                Ok(i) => Value::Int(i),
                Err(_) => Value::Float(i as f64),
            }
        }
        Type::F16 => {
            // minicbor decodes half floats only with its `half` feature; the format is simple enough.
            let at = d.position();
            let bits = d
                .input()
                .get(at + 1..at + 3)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .ok_or_else(|| DecodeError("truncated CBOR half float".into()))?;
            d.set_position(at + 3);
            Value::Float(half(bits))
        }
        Type::F32 => Value::Float(f64::from(d.f32().map_err(err)?)),
        Type::F64 => Value::Float(d.f64().map_err(err)?),
        Type::Bytes => Value::Blob(d.bytes().map_err(err)?.to_vec()),
        Type::BytesIndef => {
            let mut out = Vec::new();
            for chunk in d.bytes_iter().map_err(err)? {
                out.extend_from_slice(chunk.map_err(err)?);
            }
            Value::Blob(out)
        }
        Type::String => Value::Str(d.str().map_err(err)?.to_string()),
        Type::StringIndef => {
            let mut out = String::new();
            for chunk in d.str_iter().map_err(err)? {
                out.push_str(chunk.map_err(err)?);
            }
            Value::Str(out)
        }
        Type::Array | Type::ArrayIndef => {
            let len = d.array().map_err(err)?;
            let mut out = Vec::new();
            each(d, len, |d| {
                out.push(item(d, depth + 1)?);
                Ok(())
            })?;
            Value::List(out)
        }
        Type::Map | Type::MapIndef => {
            let len = d.map().map_err(err)?;
            let mut out = Vec::new();
            each(d, len, |d| {
                let k = match item(d, depth + 1)? {
                    Value::Str(s) => s,
                    other => {
                        return Err(DecodeError(format!(
                            "CBOR map keys must be text strings, found {other:?}"
                        )));
                    }
                };
                out.push((k, item(d, depth + 1)?));
                Ok(())
            })?;
            Value::Map(out)
        }
        Type::Tag => {
            let tag = d.tag().map_err(err)?;
            let inner = item(d, depth + 1)?;
            match (tag.as_u64(), inner) {
                (TAG_EPOCH, Value::Int(ms)) => Value::Timestamp(ms),
                (TAG_EPOCH, Value::Float(secs)) => Value::Timestamp((secs * 1000.0).round() as i64),
                // Other tags carry no meaning in Kinesis shapes; the tagged value stands for itself.
                (_, v) => v,
            }
        }
        Type::Simple | Type::Break | Type::Unknown(_) => {
            return Err(DecodeError(format!("unexpected CBOR item {t}")));
        }
    })
}

/// An IEEE 754 half-precision float.
fn half(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((bits >> 10) & 0x1f);
    let frac = f64::from(bits & 0x3ff);
    sign * match exp {
        0 => frac * 2f64.powi(-24),
        31 if frac == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

/// Runs `f` once per element of a definite (`Some(n)`) or indefinite (`None`, ended by a break) container.
fn each(
    d: &mut Decoder<'_>,
    len: Option<u64>,
    mut f: impl FnMut(&mut Decoder<'_>) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    match len {
        Some(n) => {
            for _ in 0..n {
                f(d)?;
            }
        }
        None => loop {
            if d.datatype().map_err(err)? == Type::Break {
                d.set_position(d.position() + 1);
                break;
            }
            f(d)?;
        },
    }
    Ok(())
}

pub(super) fn encode(v: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write(&mut out, v);
    out
}

/// Appends a major type and argument in the shortest form.
fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    if n < 24 {
        out.push(m | n as u8);
    } else if let Ok(n) = u8::try_from(n) {
        out.extend_from_slice(&[m | 24, n]);
    } else if let Ok(n) = u16::try_from(n) {
        out.push(m | 25);
        out.extend_from_slice(&n.to_be_bytes());
    } else if let Ok(n) = u32::try_from(n) {
        out.push(m | 26);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn int(out: &mut Vec<u8>, i: i64) {
    if i >= 0 {
        head(out, 0, i as u64);
    } else {
        head(out, 1, (-1 - i) as u64);
    }
}

pub(crate) fn text(out: &mut Vec<u8>, s: &str) {
    head(out, 3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn write(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(0xf6),
        Value::Bool(b) => out.push(if *b { 0xf5 } else { 0xf4 }),
        Value::Int(i) => int(out, *i),
        Value::Float(f) => {
            out.push(0xfb);
            out.extend_from_slice(&f.to_be_bytes());
        }
        Value::Str(s) => text(out, s),
        Value::Blob(b) => {
            head(out, 2, b.len() as u64);
            out.extend_from_slice(b);
        }
        Value::Timestamp(ms) => {
            head(out, 6, TAG_EPOCH);
            int(out, *ms);
        }
        Value::List(l) => {
            head(out, 4, l.len() as u64);
            for v in l {
                write(out, v);
            }
        }
        Value::Map(m) => {
            head(out, 5, m.len() as u64);
            for (k, v) in m {
                text(out, k);
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
