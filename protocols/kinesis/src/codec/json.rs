//! AWS JSON 1.1: blobs are base64 strings, timestamps epoch seconds with a fractional part.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{DecodeError, MAX_DEPTH};
use crate::value::Value;

pub(super) fn decode(body: &[u8]) -> Result<Value, DecodeError> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| DecodeError(format!("Invalid JSON in request body: {e}")))?;
    from_json(v, 0)
}

fn from_json(v: serde_json::Value, depth: usize) -> Result<Value, DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError("request body is nested too deeply".into()));
    }
    Ok(match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::Str(s),
        serde_json::Value::Array(a) => Value::List(
            a.into_iter()
                .map(|v| from_json(v, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        serde_json::Value::Object(o) => Value::Map(
            o.into_iter()
                .map(|(k, v)| Ok((k, from_json(v, depth + 1)?)))
                .collect::<Result<_, DecodeError>>()?,
        ),
    })
}

pub(super) fn encode(v: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write(&mut out, v);
    out
}

fn write(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Float(f) => out.extend_from_slice(float(*f).as_bytes()),
        Value::Str(s) => string(out, s),
        Value::Blob(b) => {
            out.push(b'"');
            out.extend_from_slice(STANDARD.encode(b).as_bytes());
            out.push(b'"');
        }
        // Epoch seconds with milliseconds, as AWS writes them (`1701760153.593`).
        Value::Timestamp(ms) => {
            let secs = ms.div_euclid(1000);
            let frac = ms.rem_euclid(1000);
            let s = if frac == 0 {
                format!("{secs}")
            } else {
                format!("{secs}.{frac:03}")
                    .trim_end_matches('0')
                    .to_string()
            };
            out.extend_from_slice(s.as_bytes());
        }
        Value::List(l) => {
            out.push(b'[');
            for (i, v) in l.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(out, v);
            }
            out.push(b']');
        }
        Value::Map(m) => {
            out.push(b'{');
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(out, k);
                out.push(b':');
                write(out, v);
            }
            out.push(b'}');
        }
    }
}

fn float(f: f64) -> String {
    if f.is_finite() {
        serde_json::Number::from_f64(f).map_or_else(|| "0".into(), |n| n.to_string())
    } else {
        "null".into()
    }
}

fn string(out: &mut Vec<u8>, s: &str) {
    // serde_json's escaping is the reference; a string always serialises.
    match serde_json::to_string(s) {
        Ok(q) => out.extend_from_slice(q.as_bytes()),
        Err(_) => out.extend_from_slice(b"\"\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_and_timestamps_render_like_aws() {
        let v = Value::map()
            .with("Data", Value::Blob(b"hello".to_vec()))
            .with("T", Value::Timestamp(1_701_760_153_593))
            .with("U", Value::Timestamp(1_701_760_153_000))
            .with("V", Value::Timestamp(1_701_760_153_500))
            .with("S", "a\"b");
        assert_eq!(
            String::from_utf8(encode(&v)).expect("utf-8"),
            r#"{"Data":"aGVsbG8=","T":1701760153.593,"U":1701760153,"V":1701760153.5,"S":"a\"b"}"#
        );
    }

    #[test]
    fn decodes_numbers_and_nesting() {
        let v = decode(br#"{"A":1,"B":1.5,"C":[true,null],"D":{"E":"x"}}"#).expect("decodes");
        assert_eq!(v.int("A"), Some(1));
        assert_eq!(v.get("B"), Some(&Value::Float(1.5)));
        assert_eq!(v.list("C").len(), 2);
        assert_eq!(v.get("D").and_then(|d| d.str("E")), Some("x"));
        assert!(decode(b"{").is_err());
    }
}
