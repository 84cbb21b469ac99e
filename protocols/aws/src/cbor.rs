//! CBOR as the AWS wire protocols use it (`application/x-amz-cbor-1.1` for Kinesis, rpcv2-CBOR for CloudWatch):
//! one bounded decoder into a neutral tree ([`Cbor`]) that each service maps onto its own document model, and the
//! shortest-form writer primitives their encoders share. Decoding uses minicbor.

use minicbor::Decoder;
use minicbor::data::Type;

/// CBOR tag 1: epoch-based date/time.
pub const TAG_EPOCH: u64 = 1;

/// One decoded CBOR item. Text and byte strings given in chunks (indefinite length) are joined; map keys must be
/// text (no AWS shape has other keys).
#[derive(Debug, Clone, PartialEq)]
pub enum Cbor {
    Null,
    Bool(bool),
    /// An integer that fits in an `i64` (larger ones decode as [`Cbor::Float`]).
    Int(i64),
    Float(f64),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Cbor>),
    Map(Vec<(String, Cbor)>),
    Tagged(u64, Box<Cbor>),
}

/// Why a body is not acceptable CBOR. The text is what the services put in their serialization errors.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CborError {
    /// Not well-formed CBOR, or not the shape AWS bodies have (non-text map keys, trailing bytes).
    #[error("{0}")]
    Malformed(String),
    /// Nested deeper than the caller allows: a refusal of this server, not a parse failure.
    #[error("request body is nested too deeply")]
    TooDeep,
}

fn err(e: minicbor::decode::Error) -> CborError {
    CborError::Malformed(format!("Invalid CBOR in request body: {e}"))
}

/// Decodes one complete CBOR item making up all of `body`, nested at most `max_depth` containers deep (bounds
/// recursion on hostile input).
pub fn decode(body: &[u8], max_depth: usize) -> Result<Cbor, CborError> {
    let mut d = Decoder::new(body);
    let v = item(&mut d, 0, max_depth)?;
    if d.position() != body.len() {
        return Err(CborError::Malformed(
            "trailing bytes after the CBOR body".into(),
        ));
    }
    Ok(v)
}

fn item(d: &mut Decoder<'_>, depth: usize, max: usize) -> Result<Cbor, CborError> {
    if depth > max {
        return Err(CborError::TooDeep);
    }
    let t = d.datatype().map_err(err)?;
    Ok(match t {
        Type::Bool => Cbor::Bool(d.bool().map_err(err)?),
        Type::Null | Type::Undefined => {
            d.skip().map_err(err)?;
            Cbor::Null
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
                Ok(i) => Cbor::Int(i),
                Err(_) => Cbor::Float(i as f64),
            }
        }
        Type::F16 => {
            // minicbor decodes half floats only with its `half` feature; the format is simple enough.
            let at = d.position();
            let bits = d
                .input()
                .get(at + 1..at + 3)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .ok_or_else(|| CborError::Malformed("truncated CBOR half float".into()))?;
            d.set_position(at + 3);
            Cbor::Float(half(bits))
        }
        Type::F32 => Cbor::Float(f64::from(d.f32().map_err(err)?)),
        Type::F64 => Cbor::Float(d.f64().map_err(err)?),
        Type::Bytes => Cbor::Bytes(d.bytes().map_err(err)?.to_vec()),
        Type::BytesIndef => {
            let mut out = Vec::new();
            for chunk in d.bytes_iter().map_err(err)? {
                out.extend_from_slice(chunk.map_err(err)?);
            }
            Cbor::Bytes(out)
        }
        Type::String => Cbor::Text(d.str().map_err(err)?.to_string()),
        Type::StringIndef => {
            let mut out = String::new();
            for chunk in d.str_iter().map_err(err)? {
                out.push_str(chunk.map_err(err)?);
            }
            Cbor::Text(out)
        }
        Type::Array | Type::ArrayIndef => {
            let len = d.array().map_err(err)?;
            let mut out = Vec::new();
            each(d, len, |d| {
                out.push(item(d, depth + 1, max)?);
                Ok(())
            })?;
            Cbor::Array(out)
        }
        Type::Map | Type::MapIndef => {
            let len = d.map().map_err(err)?;
            let mut out = Vec::new();
            each(d, len, |d| {
                let k = match item(d, depth + 1, max)? {
                    Cbor::Text(s) => s,
                    other => {
                        return Err(CborError::Malformed(format!(
                            "CBOR map keys must be text strings, found {other:?}"
                        )));
                    }
                };
                out.push((k, item(d, depth + 1, max)?));
                Ok(())
            })?;
            Cbor::Map(out)
        }
        Type::Tag => {
            let tag = d.tag().map_err(err)?;
            Cbor::Tagged(tag.as_u64(), Box::new(item(d, depth + 1, max)?))
        }
        Type::Simple | Type::Break | Type::Unknown(_) => {
            return Err(CborError::Malformed(format!("unexpected CBOR item {t}")));
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
    mut f: impl FnMut(&mut Decoder<'_>) -> Result<(), CborError>,
) -> Result<(), CborError> {
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

/// Appends a major type and its argument in the shortest form.
pub fn head(out: &mut Vec<u8>, major: u8, n: u64) {
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

/// Appends an integer (major type 0 or 1).
pub fn int(out: &mut Vec<u8>, i: i64) {
    if i >= 0 {
        head(out, 0, i as u64);
    } else {
        head(out, 1, (-1 - i) as u64);
    }
}

/// Appends a text string (major type 3).
pub fn text(out: &mut Vec<u8>, s: &str) {
    head(out, 3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Appends a byte string (major type 2).
pub fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    head(out, 2, b.len() as u64);
    out.extend_from_slice(b);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_indefinite_containers_tags_and_half_floats() {
        // {_ "A": (_ h'01', h'02'), "T": 1(1.5), "H": 1.5 as a half float}
        let body = [
            0xbf, 0x61, b'A', 0x5f, 0x41, 0x01, 0x41, 0x02, 0xff, 0x61, b'T', 0xc1, 0xfb, 0x3f,
            0xf8, 0, 0, 0, 0, 0, 0, 0x61, b'H', 0xf9, 0x3e, 0x00, 0xff,
        ];
        let v = decode(&body, 8).expect("decodes");
        assert_eq!(
            v,
            Cbor::Map(vec![
                ("A".into(), Cbor::Bytes(vec![1, 2])),
                ("T".into(), Cbor::Tagged(1, Box::new(Cbor::Float(1.5)))),
                ("H".into(), Cbor::Float(1.5)),
            ])
        );
    }

    #[test]
    fn writer_round_trips_through_the_decoder() {
        let mut out = Vec::new();
        head(&mut out, 5, 3);
        text(&mut out, "n");
        int(&mut out, -300);
        text(&mut out, &"k".repeat(300));
        bytes(&mut out, &[0, 255]);
        text(&mut out, "big");
        int(&mut out, i64::MAX);
        let v = decode(&out, 4).expect("decodes");
        assert_eq!(
            v,
            Cbor::Map(vec![
                ("n".into(), Cbor::Int(-300)),
                ("k".repeat(300), Cbor::Bytes(vec![0, 255])),
                ("big".into(), Cbor::Int(i64::MAX)),
            ])
        );
    }

    #[test]
    fn garbage_depth_and_trailing_bytes_are_errors_not_panics() {
        for body in [
            &[0x1c][..],
            &[0xa1, 0x01],
            &[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            &[0x01, 0x02],
            &[0xf9, 0x3e],
        ] {
            assert!(decode(body, 8).is_err(), "{body:?}");
        }
        let deep = [0x81u8; 10];
        let mut body = deep.to_vec();
        body.push(0x01);
        assert_eq!(decode(&body, 9), Err(CborError::TooDeep));
        assert!(decode(&body, 10).is_ok());
    }
}
