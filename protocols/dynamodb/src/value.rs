//! DynamoDB `AttributeValue`s: the typed values, their JSON form (`{"S": "x"}`, `{"N": "1"}`, binary as base64),
//! DynamoDB's validation of them, and their size as DynamoDB counts it (for the 400 KB item limit).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value as Json};

use crate::error::DynamoError;
use crate::number::Number;

/// One attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    S(String),
    N(Number),
    B(Vec<u8>),
    Bool(bool),
    Null,
    M(BTreeMap<String, AttrValue>),
    L(Vec<AttrValue>),
    /// Sets keep insertion order without duplicates (DynamoDB's order is unspecified).
    Ss(Vec<String>),
    Ns(Vec<Number>),
    Bs(Vec<Vec<u8>>),
}

/// An item: attribute name to value.
pub type Item = BTreeMap<String, AttrValue>;

impl AttrValue {
    /// The type descriptor (`S`, `N`, `BOOL`, `SS`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            AttrValue::S(_) => "S",
            AttrValue::N(_) => "N",
            AttrValue::B(_) => "B",
            AttrValue::Bool(_) => "BOOL",
            AttrValue::Null => "NULL",
            AttrValue::M(_) => "M",
            AttrValue::L(_) => "L",
            AttrValue::Ss(_) => "SS",
            AttrValue::Ns(_) => "NS",
            AttrValue::Bs(_) => "BS",
        }
    }

    /// Size as DynamoDB counts it toward the item limit (name lengths are added by the caller).
    pub fn size(&self) -> usize {
        match self {
            AttrValue::S(s) => s.len(),
            AttrValue::N(n) => n.to_string().len().div_ceil(2) + 1,
            AttrValue::B(b) => b.len(),
            AttrValue::Bool(_) | AttrValue::Null => 1,
            AttrValue::M(m) => 3 + m.iter().map(|(k, v)| k.len() + v.size() + 1).sum::<usize>(),
            AttrValue::L(l) => 3 + l.iter().map(|v| v.size() + 1).sum::<usize>(),
            AttrValue::Ss(v) => v.iter().map(String::len).sum(),
            AttrValue::Ns(v) => v.iter().map(|n| n.to_string().len().div_ceil(2) + 1).sum(),
            AttrValue::Bs(v) => v.iter().map(Vec::len).sum(),
        }
    }

    /// Order of scalar key values of the same type (S by UTF-8 bytes, N numerically, B by bytes).
    pub fn key_cmp(&self, other: &AttrValue) -> Option<Ordering> {
        match (self, other) {
            (AttrValue::S(a), AttrValue::S(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
            (AttrValue::N(a), AttrValue::N(b)) => Some(a.cmp(b)),
            (AttrValue::B(a), AttrValue::B(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }

    /// Equality as DynamoDB compares values: numbers by value, sets regardless of order.
    pub fn same(&self, other: &AttrValue) -> bool {
        match (self, other) {
            (AttrValue::Ss(a), AttrValue::Ss(b)) => {
                a.len() == b.len() && a.iter().all(|x| b.contains(x))
            }
            (AttrValue::Ns(a), AttrValue::Ns(b)) => {
                a.len() == b.len() && a.iter().all(|x| b.contains(x))
            }
            (AttrValue::Bs(a), AttrValue::Bs(b)) => {
                a.len() == b.len() && a.iter().all(|x| b.contains(x))
            }
            (AttrValue::M(a), AttrValue::M(b)) => {
                a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| v.same(w)))
            }
            (AttrValue::L(a), AttrValue::L(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y))
            }
            _ => self == other,
        }
    }
}

/// Size of an item as DynamoDB counts it: names plus values.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + v.size()).sum()
}

/// Largest item DynamoDB stores.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// How many maps and lists may nest in one attribute value (AWS: "nested attributes up to 32 levels deep"; a
/// top-level `M` or `L` is level 1). Items are stored as DynamoDB JSON, read back with serde_json's recursion
/// limit of 128, so this bound also keeps every stored item readable after a restart.
pub const MAX_NESTING_LEVELS: usize = 32;

pub(crate) fn too_deep() -> DynamoError {
    DynamoError::validation(
        "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit",
    )
}

/// The deepest nesting of maps and lists in `v` (0 for a scalar or a set), counted no further than `limit + 1`.
fn nesting(v: &AttrValue, limit: usize) -> usize {
    if limit == 0 {
        return usize::from(matches!(v, AttrValue::M(_) | AttrValue::L(_)));
    }
    match v {
        AttrValue::M(m) => 1 + m.values().map(|x| nesting(x, limit - 1)).max().unwrap_or(0),
        AttrValue::L(l) => 1 + l.iter().map(|x| nesting(x, limit - 1)).max().unwrap_or(0),
        _ => 0,
    }
}

/// Refuses an item nested deeper than [`MAX_NESTING_LEVELS`]: parsing checks each value, but an update can
/// place a nested value inside another (`SET a.b.c = :deep`), so the item to be stored is checked again.
pub fn check_nesting(item: &Item) -> Result<(), DynamoError> {
    if item
        .values()
        .any(|v| nesting(v, MAX_NESTING_LEVELS) > MAX_NESTING_LEVELS)
    {
        return Err(too_deep());
    }
    Ok(())
}

fn ser(m: impl Into<String>) -> DynamoError {
    DynamoError::Serialization(m.into())
}

fn b64(s: &Json) -> Result<Vec<u8>, DynamoError> {
    let s = s
        .as_str()
        .ok_or_else(|| ser("Unexpected value type in payload"))?;
    B64.decode(s).map_err(|_| {
        ser(
            "Base64 encoded length is expected a multiple of 4 bytes but found: ".to_string()
                + &s.len().to_string(),
        )
    })
}

fn string(v: &Json) -> Result<String, DynamoError> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| ser("Unexpected value type in payload"))
}

fn array(v: &Json) -> Result<&Vec<Json>, DynamoError> {
    v.as_array().ok_or_else(|| ser("Unexpected field type"))
}

/// Parses one `AttributeValue`, with DynamoDB's validation (exactly one type, non-empty sets without duplicates,
/// valid numbers, at most [`MAX_NESTING_LEVELS`] of maps and lists).
pub fn from_json(v: &Json) -> Result<AttrValue, DynamoError> {
    from_json_at(v, 0)
}

/// [`from_json`] for a value inside `level` maps or lists.
fn from_json_at(v: &Json, level: usize) -> Result<AttrValue, DynamoError> {
    let o = v
        .as_object()
        .ok_or_else(|| ser("Unexpected value type in payload"))?;
    let set: Vec<(&String, &Json)> = o.iter().filter(|(_, v)| !v.is_null()).collect();
    if set.len() != 1 {
        return Err(DynamoError::validation(
            "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
        )
        .or_empty(set.is_empty()));
    }
    let (t, x) = set[0];
    Ok(match t.as_str() {
        "S" => AttrValue::S(string(x)?),
        "N" => AttrValue::N(Number::parse(&string(x)?)?),
        "B" => AttrValue::B(b64(x)?),
        "BOOL" => AttrValue::Bool(
            x.as_bool()
                .ok_or_else(|| ser("Unexpected value type in payload"))?,
        ),
        "NULL" => {
            if x.as_bool() != Some(true) {
                return Err(DynamoError::validation(
                    "One or more parameter values were invalid: Null attribute value types must have the value of true",
                ));
            }
            AttrValue::Null
        }
        "M" | "L" if level >= MAX_NESTING_LEVELS => return Err(too_deep()),
        "M" => {
            let m = x
                .as_object()
                .ok_or_else(|| ser("Unexpected value type in payload"))?;
            let mut out = BTreeMap::new();
            for (k, v) in m {
                out.insert(k.clone(), from_json_at(v, level + 1)?);
            }
            AttrValue::M(out)
        }
        "L" => AttrValue::L(
            array(x)?
                .iter()
                .map(|v| from_json_at(v, level + 1))
                .collect::<Result<_, _>>()?,
        ),
        "SS" => {
            let v: Vec<String> = array(x)?.iter().map(string).collect::<Result<_, _>>()?;
            check_set(&v, |a, b| a == b, "SS")?;
            AttrValue::Ss(v)
        }
        "NS" => {
            let v: Vec<Number> = array(x)?
                .iter()
                .map(|s| string(s).and_then(|s| Number::parse(&s)))
                .collect::<Result<_, _>>()?;
            check_set(&v, |a, b| a == b, "NS")?;
            AttrValue::Ns(v)
        }
        "BS" => {
            let v: Vec<Vec<u8>> = array(x)?.iter().map(b64).collect::<Result<_, _>>()?;
            check_set(&v, |a, b| a == b, "BS")?;
            AttrValue::Bs(v)
        }
        other => {
            return Err(ser(format!(
                "Unrecognized field name '{other}' in AttributeValue"
            )));
        }
    })
}

impl DynamoError {
    fn or_empty(self, empty: bool) -> DynamoError {
        if empty {
            DynamoError::validation(
                "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes",
            )
        } else {
            self
        }
    }
}

fn check_set<T>(v: &[T], eq: impl Fn(&T, &T) -> bool, kind: &str) -> Result<(), DynamoError> {
    if v.is_empty() {
        return Err(DynamoError::validation(match kind {
            "SS" => "One or more parameter values were invalid: An string set  may not be empty",
            "NS" => "One or more parameter values were invalid: An number set  may not be empty",
            _ => "One or more parameter values were invalid: Binary sets should not be empty",
        }));
    }
    for (i, a) in v.iter().enumerate() {
        if v[..i].iter().any(|b| eq(a, b)) {
            return Err(DynamoError::validation(
                "One or more parameter values were invalid: Input collection contains duplicates",
            ));
        }
    }
    Ok(())
}

/// Renders one `AttributeValue` as DynamoDB JSON.
pub fn to_json(v: &AttrValue) -> Json {
    let (t, x) = match v {
        AttrValue::S(s) => ("S", Json::String(s.clone())),
        AttrValue::N(n) => ("N", Json::String(n.to_string())),
        AttrValue::B(b) => ("B", Json::String(B64.encode(b))),
        AttrValue::Bool(b) => ("BOOL", Json::Bool(*b)),
        AttrValue::Null => ("NULL", Json::Bool(true)),
        AttrValue::M(m) => ("M", item_to_json(m)),
        AttrValue::L(l) => ("L", Json::Array(l.iter().map(to_json).collect())),
        AttrValue::Ss(s) => (
            "SS",
            Json::Array(s.iter().cloned().map(Json::String).collect()),
        ),
        AttrValue::Ns(s) => (
            "NS",
            Json::Array(s.iter().map(|n| Json::String(n.to_string())).collect()),
        ),
        AttrValue::Bs(s) => (
            "BS",
            Json::Array(s.iter().map(|b| Json::String(B64.encode(b))).collect()),
        ),
    };
    let mut m = Map::new();
    m.insert(t.into(), x);
    Json::Object(m)
}

pub fn item_to_json(item: &Item) -> Json {
    Json::Object(item.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
}

/// Parses a map of attribute values (an item, a key, `ExpressionAttributeValues`).
pub fn item_from_json(v: &Json) -> Result<Item, DynamoError> {
    let o = v
        .as_object()
        .ok_or_else(|| ser("Unexpected value type in payload"))?;
    let mut out = BTreeMap::new();
    for (k, v) in o {
        out.insert(k.clone(), from_json(v)?);
    }
    Ok(out)
}

/// Checks what DynamoDB refuses in an item to be stored: empty sets are refused by parsing; empty names here.
pub fn check_item_names(item: &Item) -> Result<(), DynamoError> {
    if item.keys().any(String::is_empty) {
        return Err(DynamoError::validation(
            "One or more parameter values were invalid: An AttributeValue may not contain an empty string",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A value of `levels` nested lists around a string.
    fn nested(levels: usize) -> Json {
        (0..levels).fold(json!({"S": "x"}), |v, _| json!({"L": [v]}))
    }

    #[test]
    fn nesting_is_limited_to_32_levels() {
        let ok = from_json(&nested(MAX_NESTING_LEVELS)).expect("32 levels");
        let item: Item = [("a".to_string(), ok.clone())].into();
        assert!(check_nesting(&item).is_ok());
        let err = from_json(&nested(MAX_NESTING_LEVELS + 1)).expect_err("33 levels");
        assert!(
            err.to_string()
                .starts_with("Nesting Levels have exceeded supported limits")
        );
        // A map counts like a list.
        let deep_map =
            (0..=MAX_NESTING_LEVELS).fold(json!({"N": "1"}), |v, _| json!({"M": {"k": v}}));
        assert!(from_json(&deep_map).is_err());
        // An update can put a nested value inside another: the item is checked as a whole.
        let mut outer = ok;
        if let AttrValue::L(l) = &mut outer {
            l.push(AttrValue::L(vec![AttrValue::Null]));
        }
        let item: Item = [("a".to_string(), AttrValue::L(vec![outer]))].into();
        assert!(check_nesting(&item).is_err());
    }
}
