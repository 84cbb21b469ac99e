//! Input validation against the service model, with AWS's error types and message formats.
//!
//! Two passes, as AWS's front end does them: first the body is checked (and coerced) against the shape's types:
//! a type mismatch is a `SerializationException`; then the constraints are checked (required members, lengths,
//! ranges, patterns, enums) and every failure is reported in one `ValidationException` whose message reads
//! `"2 validation errors detected: Value '' at 'streamName' failed to satisfy constraint: …; …"`. Members are
//! named by their lower-camel-case path (`records.1.member.partitionKey`), as AWS names them.
//!
//! The shapes are generated from botocore's service model (see `model/gen_shapes.py`).

mod shapes;

pub use shapes::has_output;

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use regex::Regex;

use crate::envelope::WireFormat;
use crate::error::KinesisError;
use crate::operation::Operation;
use crate::value::Value;

/// A model shape with the constraints AWS enforces on input.
#[derive(Debug)]
pub(crate) enum Shape {
    Str {
        min: Option<u64>,
        max: Option<u64>,
        pattern: Option<&'static str>,
        enums: &'static [&'static str],
    },
    Int {
        min: Option<i64>,
        max: Option<i64>,
    },
    Bool,
    Blob {
        min: Option<u64>,
        max: Option<u64>,
    },
    Timestamp,
    List {
        member: &'static Shape,
        min: Option<u64>,
        max: Option<u64>,
    },
    Map {
        key: &'static Shape,
        value: &'static Shape,
        min: Option<u64>,
        max: Option<u64>,
    },
    Struct {
        members: &'static [(&'static str, &'static Shape)],
        required: &'static [&'static str],
    },
}

/// The most constraint failures one `ValidationException` lists.
const MAX_REPORTED: usize = 10;

/// Type-checks `body` against the operation's input shape, coercing JSON strings into blobs and numbers into
/// timestamps, then checks the model's constraints.
pub fn validate(op: Operation, format: WireFormat, body: &mut Value) -> Result<(), KinesisError> {
    let Some(shape) = shapes::input(op) else {
        return Ok(());
    };
    coerce(shape, body, format)?;
    let mut errors = Vec::new();
    check_struct(shape, body, Path::Root, &mut errors);
    // AWS reports at most ten failures (kinesalite's suite, run against AWS, stops at ten too).
    errors.truncate(MAX_REPORTED);
    if errors.is_empty() {
        return Ok(());
    }
    let n = errors.len();
    let noun = if n == 1 { "error" } else { "errors" };
    Err(KinesisError::Validation(format!(
        "{n} validation {noun} detected: {}",
        errors.join("; ")
    )))
}

fn token(v: &Value) -> &'static str {
    match v {
        Value::Null => "VALUE_NULL",
        Value::Bool(true) => "TRUE_VALUE",
        Value::Bool(false) => "FALSE_VALUE",
        Value::Int(_) | Value::Float(_) | Value::Timestamp(_) => "NUMBER_VALUE",
        Value::Str(_) => "STRING_VALUE",
        Value::Blob(_) => "BLOB_VALUE",
        Value::List(_) => "START_ARRAY",
        Value::Map(_) => "START_OBJECT",
    }
}

fn mismatch(v: &Value, what: &str) -> KinesisError {
    KinesisError::Serialization(match v {
        Value::Map(_) => "Start of structure or map found where not expected.".to_string(),
        Value::List(_) => "Start of list found where not expected".to_string(),
        _ => format!("{} can not be converted to {what}", token(v)),
    })
}

/// The type pass: a wrong JSON/CBOR type is a `SerializationException`. Unknown members are ignored, as AWS
/// ignores them.
fn coerce(shape: &Shape, v: &mut Value, format: WireFormat) -> Result<(), KinesisError> {
    if matches!(v, Value::Null) {
        return Ok(());
    }
    match shape {
        Shape::Str { .. } => match v {
            Value::Str(_) => Ok(()),
            _ => Err(mismatch(v, "a String")),
        },
        Shape::Int { .. } => match v {
            Value::Int(_) => Ok(()),
            // AWS truncates fractional numbers given for integer members.
            Value::Float(f) if f.is_finite() => {
                *v = Value::Int(f.trunc() as i64);
                Ok(())
            }
            _ => Err(mismatch(v, "an Integer")),
        },
        Shape::Bool => match v {
            Value::Bool(_) => Ok(()),
            _ => Err(mismatch(v, "a Boolean")),
        },
        Shape::Blob { .. } => match v {
            Value::Blob(_) => Ok(()),
            Value::Str(s) => {
                *v = Value::Blob(decode_blob(s)?);
                Ok(())
            }
            _ => Err(mismatch(v, "a Blob")),
        },
        Shape::Timestamp => {
            let ms = match (&*v, format) {
                (Value::Timestamp(ms), _) => *ms,
                // JSON timestamps are epoch seconds, possibly fractional.
                (Value::Int(s), WireFormat::Json) => s.saturating_mul(1000),
                (Value::Float(s), WireFormat::Json) => (s * 1000.0).round() as i64,
                // Untagged CBOR numbers: integers that only make sense as milliseconds are milliseconds.
                (Value::Int(n), WireFormat::Cbor) if n.abs() >= 100_000_000_000 => *n,
                (Value::Int(s), WireFormat::Cbor) => s.saturating_mul(1000),
                (Value::Float(s), WireFormat::Cbor) => (s * 1000.0).round() as i64,
                _ => return Err(mismatch(v, "a Timestamp")),
            };
            *v = Value::Timestamp(ms);
            Ok(())
        }
        // Containers: the other container kind is named by what was found, a scalar by what was expected
        // ("Expected null" for a structure: AWS's parser only takes null in its place).
        Shape::List { member, .. } => match v {
            Value::List(items) => items.iter_mut().try_for_each(|i| coerce(member, i, format)),
            Value::Map(_) => Err(mismatch(v, "a List")),
            _ => Err(KinesisError::Serialization("Expected list or null".into())),
        },
        Shape::Map { value, .. } => match v {
            Value::Map(entries) => entries
                .iter_mut()
                .try_for_each(|(_, i)| coerce(value, i, format)),
            Value::List(_) => Err(mismatch(v, "a Map")),
            _ => Err(KinesisError::Serialization("Expected map or null".into())),
        },
        Shape::Struct { members, .. } => match v {
            Value::Map(entries) => {
                for (k, i) in entries.iter_mut() {
                    if let Some((_, s)) = members.iter().find(|(n, _)| n == k) {
                        coerce(s, i, format)?;
                    }
                }
                Ok(())
            }
            Value::List(_) => Err(mismatch(v, "a Structure")),
            _ => Err(KinesisError::Serialization("Expected null".into())),
        },
    }
}

/// A JSON string given for a blob, decoded as AWS decodes it, with its messages (checked in this order, per
/// kinesalite's suite run against AWS; "dectected" is AWS's spelling).
fn decode_blob(s: &str) -> Result<Vec<u8>, KinesisError> {
    // The hot path (every PutRecords entry): valid base64 decodes at SIMD speed. Only a refusal pays for working
    // out which of AWS's three messages applies.
    match base64_simd::STANDARD.decode_to_vec(s.as_bytes()) {
        Ok(b) => Ok(b),
        Err(_) => Err(blob_refusal(s)),
    }
}

/// AWS's message for a string that is not base64, checked in AWS's order.
fn blob_refusal(s: &str) -> KinesisError {
    let refuse = |why: String| {
        KinesisError::Serialization(format!("'{s}' can not be converted to a Blob: {why}"))
    };
    // Java counts UTF-16 code units.
    let len = s.encode_utf16().count();
    if !len.is_multiple_of(4) {
        return refuse(format!(
            "Base64 encoded length is expected a multiple of 4 bytes but found: {len}"
        ));
    }
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let alphabet = c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=');
        // Padding is only ever followed by more padding.
        let misplaced_pad = c == '=' && chars.peek().is_some_and(|n| *n != '=');
        if !alphabet || misplaced_pad {
            return refuse(format!("Invalid Base64 character: '{c}'"));
        }
    }
    refuse("Invalid last non-pad Base64 character dectected".into())
}

/// `StreamName` → `streamName`: AWS names members in lower camel case in its messages.
fn camel(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// How AWS prints a value inside `Value '…'` (Java's `toString` of the deserialised member).
fn display(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Str(s) => s.clone(),
        Value::Blob(b) => format!("java.nio.HeapByteBuffer[pos=0 lim={0} cap={0}]", b.len()),
        Value::Timestamp(ms) => ms.to_string(),
        Value::List(l) => format!("[{}]", l.iter().map(display).collect::<Vec<_>>().join(", ")),
        Value::Map(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{k}={}", display(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

static PATTERNS: LazyLock<Mutex<HashMap<&'static str, Option<Regex>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Whether `s` matches the whole of `pattern` (Java's `String.matches`). Compiled regexes are cached.
fn matches(pattern: &'static str, s: &str) -> bool {
    let mut cache = PATTERNS.lock().unwrap_or_else(|e| e.into_inner());
    let re = cache
        .entry(pattern)
        .or_insert_with(|| Regex::new(&format!("^(?:{pattern})$")).ok());
    // A pattern the regex engine cannot compile is not enforced rather than failing every request.
    re.as_ref().is_none_or(|re| re.is_match(s))
}

/// How AWS prints a model pattern: without the `^…$` anchors some model patterns carry.
fn shown_pattern(p: &str) -> &str {
    let p = p.strip_prefix('^').unwrap_or(p);
    p.strip_suffix('$').unwrap_or(p)
}

/// The constraint failures of one scalar value, as AWS words them, in AWS's order.
fn scalar_failures(shape: &Shape, v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match (shape, v) {
        (
            Shape::Str {
                min,
                max,
                pattern,
                enums,
            },
            Value::Str(s),
        ) => {
            if let Some(p) = pattern
                && !matches(p, s)
            {
                out.push(format!(
                    "Member must satisfy regular expression pattern: {}",
                    shown_pattern(p)
                ));
            }
            if !enums.is_empty() && !enums.contains(&s.as_str()) {
                out.push(format!(
                    "Member must satisfy enum value set: [{}]",
                    enums.join(", ")
                ));
            }
            let len = s.chars().count() as u64;
            if let Some(min) = min
                && len < *min
            {
                out.push(format!(
                    "Member must have length greater than or equal to {min}"
                ));
            }
            if let Some(max) = max
                && len > *max
            {
                out.push(format!(
                    "Member must have length less than or equal to {max}"
                ));
            }
        }
        (Shape::Int { min, max }, Value::Int(i)) => {
            if let Some(min) = min
                && i < min
            {
                out.push(format!(
                    "Member must have value greater than or equal to {min}"
                ));
            }
            if let Some(max) = max
                && i > max
            {
                out.push(format!(
                    "Member must have value less than or equal to {max}"
                ));
            }
        }
        (Shape::Blob { min, max }, Value::Blob(b)) => {
            let len = b.len() as u64;
            if let Some(min) = min
                && len < *min
            {
                out.push(format!(
                    "Member must have length greater than or equal to {min}"
                ));
            }
            if let Some(max) = max
                && len > *max
            {
                out.push(format!(
                    "Member must have length less than or equal to {max}"
                ));
            }
        }
        _ => {}
    }
    out
}

/// Every constraint of a scalar shape, as AWS lists them when a list item or map entry breaks any: upper bound
/// before lower bound (the order kinesalite's suite, run against AWS, shows for lengths), then pattern and enum
/// (whose order among these is not evidenced; no list or map in the model has both them and a length).
fn all_constraints(shape: &Shape) -> Vec<String> {
    let mut out = Vec::new();
    let lengths = |out: &mut Vec<String>, min: &Option<u64>, max: &Option<u64>| {
        if let Some(max) = max {
            out.push(format!(
                "Member must have length less than or equal to {max}"
            ));
        }
        if let Some(min) = min {
            out.push(format!(
                "Member must have length greater than or equal to {min}"
            ));
        }
    };
    match shape {
        Shape::Str {
            min,
            max,
            pattern,
            enums,
        } => {
            lengths(&mut out, min, max);
            if let Some(p) = pattern {
                out.push(format!(
                    "Member must satisfy regular expression pattern: {}",
                    shown_pattern(p)
                ));
            }
            if !enums.is_empty() {
                out.push(format!(
                    "Member must satisfy enum value set: [{}]",
                    enums.join(", ")
                ));
            }
        }
        Shape::Blob { min, max } => lengths(&mut out, min, max),
        Shape::Int { min, max } => {
            if let Some(max) = max {
                out.push(format!(
                    "Member must have value less than or equal to {max}"
                ));
            }
            if let Some(min) = min {
                out.push(format!(
                    "Member must have value greater than or equal to {min}"
                ));
            }
        }
        Shape::Bool
        | Shape::Timestamp
        | Shape::List { .. }
        | Shape::Map { .. }
        | Shape::Struct { .. } => {}
    }
    out
}

/// Where a value sits in the request, rendered the way AWS names it (`records.3.member.partitionKey`) only when a
/// failure is reported: building the string for every member of every record cost about a tenth of the
/// PutRecords path's CPU.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    /// A structure member (model name, rendered in lower camel case).
    Member(&'a Path<'a>, &'static str),
    /// Item `i` (from 0) of a list of structures.
    Item(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn render(&self) -> String {
        match self {
            Path::Root => String::new(),
            Path::Member(parent, name) => format!("{}{}", parent.prefix(), camel(name)),
            Path::Item(list, i) => format!("{}.{}.member", list.render(), i + 1),
        }
    }

    /// The rendering of a member inside this path starts with this.
    fn prefix(&self) -> String {
        match self {
            Path::Root => String::new(),
            other => format!("{}.", other.render()),
        }
    }
}

fn push(errors: &mut Vec<String>, v: &Value, path: &Path<'_>, constraint: &str) {
    let shown = match v {
        Value::Null => "null".to_string(),
        other => format!("'{}'", display(other)),
    };
    errors.push(format!(
        "Value {shown} at '{}' failed to satisfy constraint: {constraint}",
        path.render()
    ));
}

fn check_struct(shape: &Shape, v: &Value, at: Path<'_>, errors: &mut Vec<String>) {
    let Shape::Struct { members, required } = shape else {
        return;
    };
    for (name, member) in members.iter() {
        let path = Path::Member(&at, name);
        match v.member(name) {
            None => {
                if required.contains(name) {
                    push(errors, &Value::Null, &path, "Member must not be null");
                }
            }
            Some(value) => check(member, value, &path, errors),
        }
    }
}

fn check(shape: &Shape, v: &Value, path: &Path<'_>, errors: &mut Vec<String>) {
    match shape {
        Shape::Struct { .. } => check_struct(shape, v, *path, errors),
        Shape::List { member, min, max } => {
            let Value::List(items) = v else { return };
            let len = items.len() as u64;
            if let Some(min) = min
                && len < *min
            {
                push(
                    errors,
                    v,
                    path,
                    &format!("Member must have length greater than or equal to {min}"),
                );
            }
            if let Some(max) = max
                && len > *max
            {
                push(
                    errors,
                    v,
                    path,
                    &format!("Member must have length less than or equal to {max}"),
                );
            }
            if matches!(member, Shape::Struct { .. }) {
                for (i, item) in items.iter().enumerate() {
                    check_struct(member, item, Path::Item(path, i), errors);
                }
            } else {
                // Lists of scalars report once, for the whole list, every constraint of the member shape.
                if items.iter().any(|i| !scalar_failures(member, i).is_empty()) {
                    push(
                        errors,
                        v,
                        path,
                        &format!(
                            "Member must satisfy constraint: [{}]",
                            all_constraints(member).join(", ")
                        ),
                    );
                }
            }
        }
        Shape::Map {
            key,
            value,
            min,
            max,
        } => {
            let Value::Map(entries) = v else { return };
            let len = entries.len() as u64;
            if let Some(min) = min
                && len < *min
            {
                push(
                    errors,
                    v,
                    path,
                    &format!("Member must have length greater than or equal to {min}"),
                );
            }
            if let Some(max) = max
                && len > *max
            {
                push(
                    errors,
                    v,
                    path,
                    &format!("Member must have length less than or equal to {max}"),
                );
            }
            // As for lists: one failure per side, naming every constraint of the key or value shape.
            let bad_key = entries
                .iter()
                .any(|(k, _)| !scalar_failures(key, &Value::Str(k.clone())).is_empty());
            let bad_value = entries
                .iter()
                .any(|(_, val)| !scalar_failures(value, val).is_empty());
            if bad_key {
                push(
                    errors,
                    v,
                    path,
                    &format!(
                        "Map keys must satisfy constraint: [{}]",
                        all_constraints(key).join(", ")
                    ),
                );
            }
            if bad_value {
                push(
                    errors,
                    v,
                    path,
                    &format!(
                        "Map value must satisfy constraint: [{}]",
                        all_constraints(value).join(", ")
                    ),
                );
            }
        }
        _ => {
            for f in scalar_failures(shape, v) {
                push(errors, v, path, &f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(op: Operation, json: &str) -> Result<Value, KinesisError> {
        let mut v = crate::codec::decode(WireFormat::Json, json.as_bytes()).expect("json");
        validate(op, WireFormat::Json, &mut v).map(|()| v)
    }

    #[test]
    fn aws_message_for_an_empty_stream_name() {
        let err = run(
            Operation::CreateStream,
            r#"{"StreamName":"","ShardCount":0}"#,
        )
        .expect_err("invalid");
        assert_eq!(
            err,
            KinesisError::Validation(
                "3 validation errors detected: Value '' at 'streamName' failed to satisfy constraint: Member \
                 must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Value '' at 'streamName' failed to \
                 satisfy constraint: Member must have length greater than or equal to 1; Value '0' at \
                 'shardCount' failed to satisfy constraint: Member must have value greater than or equal to 1"
                    .into()
            )
        );
    }

    #[test]
    fn missing_required_members_are_null() {
        let err = run(Operation::GetShardIterator, "{}").expect_err("invalid");
        assert_eq!(
            err,
            KinesisError::Validation(
                "2 validation errors detected: Value null at 'shardId' failed to satisfy constraint: Member \
                 must not be null; Value null at 'shardIteratorType' failed to satisfy constraint: Member must \
                 not be null"
                    .into()
            )
        );
    }

    #[test]
    fn nested_list_members_are_numbered_from_one() {
        let err = run(
            Operation::PutRecords,
            r#"{"StreamName":"s","Records":[{"Data":"","PartitionKey":"k"},{"PartitionKey":""}]}"#,
        )
        .expect_err("invalid");
        assert_eq!(
            err,
            KinesisError::Validation(
                "2 validation errors detected: Value null at 'records.2.member.data' failed to satisfy \
                 constraint: Member must not be null; Value '' at 'records.2.member.partitionKey' failed to \
                 satisfy constraint: Member must have length greater than or equal to 1"
                    .into()
            )
        );
    }

    #[test]
    fn types_are_coerced_or_refused() {
        let v = run(
            Operation::GetShardIterator,
            r#"{"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"AT_TIMESTAMP","Timestamp":1.5}"#,
        )
        .expect("valid");
        assert_eq!(v.timestamp("Timestamp"), Some(1500));
        let v = run(
            Operation::PutRecord,
            r#"{"StreamName":"s","Data":"aGk=","PartitionKey":"k"}"#,
        )
        .expect("valid");
        assert_eq!(v.get("Data"), Some(&Value::Blob(b"hi".to_vec())));
        let err = run(Operation::CreateStream, r#"{"StreamName":5}"#).expect_err("type");
        assert_eq!(
            err,
            KinesisError::Serialization("NUMBER_VALUE can not be converted to a String".into())
        );
        assert!(matches!(
            run(Operation::PutRecord, r#"{"Data":"!!!","PartitionKey":"k"}"#),
            Err(KinesisError::Serialization(_))
        ));
    }

    #[test]
    fn blobs_decode_as_strictly_as_the_base64_crate() {
        use base64::Engine as _;
        for s in [
            "",
            "aGk=",
            "aGk",
            "aGl=",
            "aGk==",
            "aG k=",
            "aGk=\n",
            "YQ==",
            "YR==",
            "YQ",
            "Y===",
            "////",
            "-_-_",
            "aGVsbG8gd29ybGQ=",
            "aGVsbG8gd29ybGQ",
            "=",
            "A",
        ] {
            let reference = base64::engine::general_purpose::STANDARD.decode(s).ok();
            let simd = base64_simd::STANDARD.decode_to_vec(s).ok();
            assert_eq!(simd, reference, "{s:?}");
        }
    }

    #[test]
    fn enums_and_patterns() {
        let err = run(
            Operation::GetShardIterator,
            r#"{"ShardId":"x","ShardIteratorType":"OLDEST","StartingSequenceNumber":"01"}"#,
        )
        .expect_err("invalid");
        let KinesisError::Validation(m) = err else {
            panic!("not a validation error")
        };
        assert!(m.starts_with("2 validation errors detected: Value 'OLDEST' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST, AT_TIMESTAMP]"), "{m}");
        assert!(m.contains("Value '01' at 'startingSequenceNumber' failed to satisfy constraint: Member must satisfy regular expression pattern: (0|([1-9]\\d{0,128}))"), "{m}");
    }

    fn serialization(op: Operation, json: &str) -> String {
        match run(op, json) {
            Err(KinesisError::Serialization(m)) => m,
            other => panic!("{json}: {other:?}"),
        }
    }

    #[test]
    fn structural_mismatches_name_what_was_found_or_expected() {
        for (json, want) in [
            (
                r#"{"StreamName":["a"]}"#,
                "Start of list found where not expected",
            ),
            (
                r#"{"StreamName":{}}"#,
                "Start of structure or map found where not expected.",
            ),
            (r#"{"StreamModeDetails":"x"}"#, "Expected null"),
            (
                r#"{"StreamModeDetails":[]}"#,
                "Start of list found where not expected",
            ),
        ] {
            assert_eq!(serialization(Operation::CreateStream, json), want, "{json}");
        }
        assert_eq!(
            serialization(Operation::AddTagsToStream, r#"{"Tags":1}"#),
            "Expected map or null"
        );
        assert_eq!(
            serialization(Operation::AddTagsToStream, r#"{"Tags":[]}"#),
            "Start of list found where not expected"
        );
        assert_eq!(
            serialization(Operation::RemoveTagsFromStream, r#"{"TagKeys":{}}"#),
            "Start of structure or map found where not expected."
        );
    }

    #[test]
    fn base64_failures_use_aws_messages_in_aws_order() {
        let put = |data: &str| {
            serialization(
                Operation::PutRecord,
                &format!(r#"{{"Data":"{data}","PartitionKey":"k"}}"#),
            )
        };
        assert_eq!(
            put("abc"),
            "'abc' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but \
             found: 3"
        );
        assert_eq!(
            put("a;c="),
            "'a;c=' can not be converted to a Blob: Invalid Base64 character: ';'"
        );
        assert_eq!(
            put("a=bc"),
            "'a=bc' can not be converted to a Blob: Invalid Base64 character: '='"
        );
        assert_eq!(
            put("aGl="),
            "'aGl=' can not be converted to a Blob: Invalid last non-pad Base64 character dectected"
        );
    }

    #[test]
    fn list_and_map_failures_list_every_constraint_and_at_most_ten_are_reported() {
        let err = run(Operation::RemoveTagsFromStream, r#"{"TagKeys":[""]}"#).expect_err("invalid");
        assert_eq!(
            err,
            KinesisError::Validation(
                "1 validation error detected: Value '[]' at 'tagKeys' failed to satisfy constraint: Member must \
                 satisfy constraint: [Member must have length less than or equal to 128, Member must have length \
                 greater than or equal to 1]"
                    .into()
            )
        );
        let records = [r#"{"PartitionKey":""}"#; 12].join(",");
        let Err(KinesisError::Validation(m)) = run(
            Operation::PutRecords,
            &format!(r#"{{"StreamName":"s","Records":[{records}]}}"#),
        ) else {
            panic!("not a validation error")
        };
        assert!(m.starts_with("10 validation errors detected: "), "{m}");
    }
}
