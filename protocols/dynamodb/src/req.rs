//! Reading request members with DynamoDB's validation messages (Coral's "1 validation error detected" form).

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::error::DynamoError;
use crate::expr::parse::Placeholders;
use crate::value::{Item, item_from_json};

/// `lowerCamel` form of a member name, as Coral names members in messages.
fn camel(member: &str) -> String {
    let mut c = member.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

pub(crate) fn null(member: &str) -> DynamoError {
    DynamoError::validation(format!(
        "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
        camel(member)
    ))
}

fn wrong_type() -> DynamoError {
    DynamoError::Serialization("Unexpected value type in payload".into())
}

/// An optional string member.
pub(crate) fn opt_str<'a>(b: &'a Json, member: &str) -> Result<Option<&'a str>, DynamoError> {
    match b.get(member) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s)),
        Some(_) => Err(wrong_type()),
    }
}

pub(crate) fn req_str<'a>(b: &'a Json, member: &str) -> Result<&'a str, DynamoError> {
    opt_str(b, member)?.ok_or_else(|| null(member))
}

pub(crate) fn opt_bool(b: &Json, member: &str) -> Result<Option<bool>, DynamoError> {
    match b.get(member) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Bool(v)) => Ok(Some(*v)),
        Some(_) => Err(wrong_type()),
    }
}

pub(crate) fn opt_i64(b: &Json, member: &str) -> Result<Option<i64>, DynamoError> {
    match b.get(member) {
        None | Some(Json::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(wrong_type),
    }
}

/// A present, non-null member.
pub(crate) fn opt<'a>(b: &'a Json, member: &str) -> Option<&'a Json> {
    b.get(member).filter(|v| !v.is_null())
}

/// `TableName` with its length and pattern constraints.
pub(crate) fn table_name(b: &Json) -> Result<&str, DynamoError> {
    let n = req_str(b, "TableName")?;
    check_table_name(n, "tableName")?;
    Ok(n)
}

pub(crate) fn check_table_name(n: &str, member: &str) -> Result<(), DynamoError> {
    if n.len() < 3 {
        return Err(DynamoError::validation(format!(
            "1 validation error detected: Value '{n}' at '{member}' failed to satisfy constraint: Member must have length greater than or equal to 3"
        )));
    }
    if n.len() > 255 {
        return Err(DynamoError::validation(format!(
            "1 validation error detected: Value '{n}' at '{member}' failed to satisfy constraint: Member must have length less than or equal to 255"
        )));
    }
    if !n
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
    {
        return Err(DynamoError::validation(format!(
            "1 validation error detected: Value '{n}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
        )));
    }
    Ok(())
}

/// An attribute-value map member (`Item`, `Key`, `ExclusiveStartKey`).
pub(crate) fn opt_item(b: &Json, member: &str) -> Result<Option<Item>, DynamoError> {
    opt(b, member).map(item_from_json).transpose()
}

/// `ExpressionAttributeNames` and `ExpressionAttributeValues`.
pub(crate) fn placeholders(b: &Json) -> Result<Placeholders, DynamoError> {
    let mut names = BTreeMap::new();
    if let Some(n) = opt(b, "ExpressionAttributeNames") {
        let o = n.as_object().ok_or_else(wrong_type)?;
        for (k, v) in o {
            let v = v.as_str().ok_or_else(wrong_type)?;
            if !k.starts_with('#') {
                return Err(DynamoError::validation(format!(
                    "ExpressionAttributeNames contains invalid key: Syntax error; key: \"{k}\""
                )));
            }
            names.insert(k.clone(), v.to_string());
        }
    }
    let values = opt_item(b, "ExpressionAttributeValues")?.unwrap_or_default();
    for k in values.keys() {
        if !k.starts_with(':') {
            return Err(DynamoError::validation(format!(
                "ExpressionAttributeValues contains invalid key: Syntax error; key: \"{k}\""
            )));
        }
    }
    if opt(b, "ExpressionAttributeValues").is_some() && values.is_empty() {
        return Err(DynamoError::validation(
            "ExpressionAttributeValues must not be empty",
        ));
    }
    if opt(b, "ExpressionAttributeNames").is_some() && names.is_empty() {
        return Err(DynamoError::validation(
            "ExpressionAttributeNames must not be empty",
        ));
    }
    Ok(Placeholders::new(names, values))
}

/// Refuses mixing a legacy parameter with expression parameters, as DynamoDB does.
pub(crate) fn no_mix(b: &Json, legacy: &[&str], exprs: &[&str]) -> Result<(), DynamoError> {
    let l: Vec<&str> = legacy
        .iter()
        .copied()
        .filter(|m| opt(b, m).is_some())
        .collect();
    let e: Vec<&str> = exprs
        .iter()
        .copied()
        .filter(|m| opt(b, m).is_some())
        .collect();
    if !l.is_empty() && !e.is_empty() {
        return Err(DynamoError::validation(format!(
            "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {{{}}} Expression parameters: {{{}}}",
            l.join(", "),
            e.join(", ")
        )));
    }
    Ok(())
}

/// Names of the legacy and expression parameters checked by [`no_mix`].
pub(crate) const LEGACY: [&str; 7] = [
    "Expected",
    "AttributeUpdates",
    "AttributesToGet",
    "KeyConditions",
    "QueryFilter",
    "ScanFilter",
    "ConditionalOperator",
];
pub(crate) const EXPRESSIONS: [&str; 5] = [
    "ConditionExpression",
    "UpdateExpression",
    "ProjectionExpression",
    "KeyConditionExpression",
    "FilterExpression",
];
