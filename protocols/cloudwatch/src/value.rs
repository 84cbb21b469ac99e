//! One document model for the three wire formats, so PutMetricData is read and validated once.

use std::collections::BTreeMap;

use strait_aws::cbor::{self, Cbor, TAG_EPOCH};

use crate::error::CloudWatchError;

/// Deeper than any PutMetricData shape; bounds recursion on hostile input.
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    /// A CBOR tag-1 timestamp, in epoch seconds.
    Time(f64),
    List(Vec<Value>),
    Map(Vec<(String, Value)>),
}

impl Value {
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

fn ser(msg: impl Into<String>) -> CloudWatchError {
    CloudWatchError::Serialization(msg.into())
}

pub(crate) fn from_json(body: &[u8]) -> Result<Value, CloudWatchError> {
    // An empty body is an empty input structure, as AWS JSON 1.0 servers treat it.
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Map(Vec::new()));
    }
    let j: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ser(format!("Invalid JSON in request body: {e}")))?;
    json(j, 0)
}

/// Converts a parsed body, with the same depth bound as CBOR (serde_json alone allows 128 levels).
fn json(j: serde_json::Value, depth: usize) -> Result<Value, CloudWatchError> {
    if depth > MAX_DEPTH {
        return Err(ser("request body is nested too deeply"));
    }
    Ok(match j {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => Value::Num(n.as_f64().unwrap_or(f64::NAN)),
        // The JSON protocol sends non-finite doubles as these strings.
        serde_json::Value::String(s) => match s.as_str() {
            "NaN" => Value::Num(f64::NAN),
            "Infinity" => Value::Num(f64::INFINITY),
            "-Infinity" => Value::Num(f64::NEG_INFINITY),
            _ => Value::Str(s),
        },
        serde_json::Value::Array(a) => Value::List(
            a.into_iter()
                .map(|v| json(v, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        serde_json::Value::Object(o) => Value::Map(
            o.into_iter()
                .map(|(k, v)| json(v, depth + 1).map(|v| (k, v)))
                .collect::<Result<_, _>>()?,
        ),
    })
}

pub(crate) fn from_cbor(body: &[u8]) -> Result<Value, CloudWatchError> {
    if body.is_empty() {
        return Ok(Value::Map(Vec::new()));
    }
    let tree = cbor::decode(body, MAX_DEPTH).map_err(|e| ser(e.to_string()))?;
    Ok(from_tree(tree))
}

/// Maps a decoded CBOR item onto the document model.
fn from_tree(c: Cbor) -> Value {
    match c {
        Cbor::Null => Value::Null,
        // No PutMetricData member is a blob.
        Cbor::Bytes(_) => Value::Null,
        Cbor::Bool(b) => Value::Bool(b),
        Cbor::Int(i) => Value::Num(i as f64),
        Cbor::Float(f) => Value::Num(f),
        Cbor::Text(s) => Value::Str(s),
        Cbor::Array(items) => Value::List(items.into_iter().map(from_tree).collect()),
        Cbor::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k, from_tree(v)))
                .collect(),
        ),
        Cbor::Tagged(tag, inner) => match (tag, from_tree(*inner)) {
            // Smithy's rpcv2-CBOR timestamps: tag 1, epoch seconds (integer or float).
            (TAG_EPOCH, Value::Num(secs)) => Value::Time(secs),
            (_, v) => v,
        },
    }
}

/// An awsQuery form body: its flat `A.member.1.B=v` pairs as a tree, plus the `Action` parameter.
pub(crate) fn from_form(body: &[u8]) -> Result<(Option<String>, Value), CloudWatchError> {
    #[derive(Default)]
    struct Node {
        leaf: Option<String>,
        kids: BTreeMap<String, Node>,
    }
    let text = std::str::from_utf8(body).map_err(|_| ser("the query body is not UTF-8"))?;
    let mut root = Node::default();
    let mut action = None;
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (unescape(k)?, unescape(v)?);
        match k.as_str() {
            "Action" => action = Some(v),
            "Version" => {}
            _ => {
                // Each dot is a level of the tree, which is converted (and dropped) recursively: a key of
                // thousands of segments would overflow the stack. The deepest PutMetricData parameter has 7.
                if k.split('.').count() > MAX_DEPTH {
                    return Err(ser("request parameter name is nested too deeply"));
                }
                let mut n = &mut root;
                for seg in k.split('.') {
                    n = n.kids.entry(seg.to_string()).or_default();
                }
                n.leaf = Some(v);
            }
        }
    }
    fn convert(n: Node) -> Value {
        if n.kids.is_empty() {
            return Value::Str(n.leaf.unwrap_or_default());
        }
        let mut map = Vec::new();
        for (k, kid) in n.kids {
            // Lists are `Name.member.N`; N is 1-based and ordered numerically.
            let v = if kid.kids.len() == 1 && kid.kids.contains_key("member") {
                let mut items: Vec<(u64, Value)> = Vec::new();
                for (i, (idx, m)) in kid.kids.into_values().flat_map(|m| m.kids).enumerate() {
                    items.push((idx.parse().unwrap_or(u64::MAX - i as u64), convert(m)));
                }
                items.sort_by_key(|(i, _)| *i);
                Value::List(items.into_iter().map(|(_, v)| v).collect())
            } else {
                convert(kid)
            };
            map.push((k, v));
        }
        Value::Map(map)
    }
    // No parameters besides Action/Version is still an (empty) input structure.
    if root.kids.is_empty() {
        return Ok((action, Value::Map(Vec::new())));
    }
    Ok((action, convert(root)))
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte.
fn unescape(s: &str) -> Result<String, CloudWatchError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| ser("malformed percent-encoding in the query body"))?;
                out.push(hex);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| ser("the query body is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_too_deep(r: Result<impl std::fmt::Debug, CloudWatchError>) -> bool {
        matches!(r, Err(CloudWatchError::Serialization(m)) if m.contains("nested too deeply"))
    }

    #[test]
    fn deep_bodies_are_refused_in_every_format() {
        let json = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n)).into_bytes();
        assert!(from_json(&json(MAX_DEPTH)).is_ok());
        assert!(is_too_deep(from_json(&json(MAX_DEPTH + 1))));
        // Past serde_json's own limit: still a SerializationException.
        assert!(matches!(
            from_json(&json(5000)),
            Err(CloudWatchError::Serialization(_))
        ));
        let mut cbor = vec![0x81; 10_000];
        cbor.push(0x01);
        assert!(is_too_deep(from_cbor(&cbor)));
        let mut tags = vec![0xc1; 10_000];
        tags.push(0x01);
        assert!(is_too_deep(from_cbor(&tags)));
    }

    #[test]
    fn query_keys_of_many_segments_are_refused_before_building_a_tree() {
        // 200,000 levels would overflow the stack converting or dropping the tree.
        let body = format!("Action=PutMetricData&{}=1", vec!["a"; 200_000].join("."));
        assert!(is_too_deep(from_form(body.as_bytes())));
        let ok = "Action=PutMetricData&Namespace=N&MetricData.member.1.Dimensions.member.1.Name=d";
        let (action, v) = from_form(ok.as_bytes()).expect("parses");
        assert_eq!(action.as_deref(), Some("PutMetricData"));
        assert!(v.get("MetricData").is_some());
    }
}
