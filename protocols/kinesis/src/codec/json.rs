//! AWS JSON 1.1: blobs are base64 strings, timestamps epoch seconds with a fractional part.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{DecodeError, MAX_DEPTH};
use crate::value::Value;

pub(super) fn decode(body: &[u8]) -> Result<Value, DecodeError> {
    // Straight into `Value`: an earlier version parsed into a `serde_json::Value` (a BTreeMap per object) and
    // converted that, which cost about a seventh of the PutRecords path's CPU.
    let mut de = serde_json::Deserializer::from_slice(body);
    let too_deep = Cell::new(false);
    Doc {
        depth: 0,
        too_deep: &too_deep,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v))
    .map_err(|e| {
        if too_deep.get() {
            DecodeError::TooDeep
        } else {
            DecodeError::Malformed(format!("Invalid JSON in request body: {e}"))
        }
    })
}

/// Deserialises one JSON value at nesting `depth`, refusing nesting beyond [`MAX_DEPTH`] (and saying so in
/// `too_deep`, since serde's error carries only text).
#[derive(Clone, Copy)]
struct Doc<'a> {
    depth: usize,
    too_deep: &'a Cell<bool>,
}

impl Doc<'_> {
    fn inner(self) -> Self {
        Doc {
            depth: self.depth + 1,
            ..self
        }
    }
}

impl<'de> DeserializeSeed<'de> for Doc<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        if self.depth > MAX_DEPTH {
            self.too_deep.set(true);
            return Err(de::Error::custom("request body is nested too deeply"));
        }
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Doc<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }
    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        // Beyond i64 a number is kept as a float, as serde_json's own Value reported it before.
        Ok(i64::try_from(u).map_or(Value::Float(u as f64), Value::Int))
    }
    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Float(f))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::Str(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::Str(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.inner();
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(v) = seq.next_element_seed(inner)? {
            items.push(v);
        }
        Ok(Value::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = self.inner();
        let mut members: Vec<(String, Value)> = Vec::new();
        while let Some(k) = map.next_key::<String>()? {
            let v = map.next_value_seed(inner)?;
            // A repeated key keeps its last value, in the first one's place (what serde_json's map did).
            match members.iter_mut().find(|(m, _)| *m == k) {
                Some((_, old)) => *old = v,
                None => members.push((k, v)),
            }
        }
        Ok(Value::Map(members))
    }
}

pub(super) fn encode(v: &Value) -> Vec<u8> {
    // Sized up front: a GetRecords answer runs to megabytes, and growing by doubling copied it several times.
    let mut out = Vec::with_capacity(size_hint(v));
    write(&mut out, v);
    out
}

/// About the bytes `v` encodes to (exact for blobs, the bulk of large answers).
fn size_hint(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::Timestamp(_) => 24,
        Value::Str(s) => s.len() + 2,
        Value::Blob(b) => b.len().div_ceil(3) * 4 + 2,
        Value::List(l) => 2 + l.iter().map(|v| size_hint(v) + 1).sum::<usize>(),
        Value::Map(m) => {
            2 + m
                .iter()
                .map(|(k, v)| k.len() + 4 + size_hint(v))
                .sum::<usize>()
        }
    }
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
            // Encoded in place, without an intermediate String, by the SIMD encoder (GetRecords answers are
            // mostly base64).
            let at = out.len();
            out.resize(at + base64_simd::STANDARD.encoded_length(b.len()), 0);
            let n = base64_simd::STANDARD
                .encode(b, base64_simd::Out::from_slice(&mut out[at..]))
                .len();
            out.truncate(at + n);
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
    // Most strings (names, ids, sequence numbers) need no escaping: written as they are, without the
    // allocation serde_json's writer costs per string.
    if s.bytes()
        .all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b < 0x7f)
    {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return;
    }
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
