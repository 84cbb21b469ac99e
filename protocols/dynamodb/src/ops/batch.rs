//! BatchGetItem and BatchWriteItem. Strait processes every request at once, so `UnprocessedKeys` and
//! `UnprocessedItems` are always empty; a BatchWriteItem is committed in one metadata transaction.

use std::collections::HashSet;

use serde_json::{Map, Value as Json, json};

use super::{Write, evaluate, parse_write, projection_of, request_key, stage};
use crate::db::DynamoDb;
use crate::error::DynamoError;
use crate::expr::path;
use crate::req;
use crate::store::State;
use crate::value::{item_from_json, item_to_json};

fn ser() -> DynamoError {
    DynamoError::Serialization("Unexpected value type in payload".into())
}

pub(crate) async fn get(db: &DynamoDb, b: &Json) -> Result<Json, DynamoError> {
    let ri = req::opt(b, "RequestItems").ok_or_else(|| req::null("RequestItems"))?;
    let ri = ri.as_object().ok_or_else(ser)?;
    let total: usize = ri
        .values()
        .map(|t| t.get("Keys").and_then(Json::as_array).map_or(0, Vec::len))
        .sum();
    if total > 100 {
        return Err(DynamoError::validation(
            "Too many items requested for the BatchGetItem call",
        ));
    }
    if ri.is_empty() {
        return Err(DynamoError::validation(
            "1 validation error detected: Value '{}' at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    let st = db.state();
    let mut responses = Map::new();
    for (name, spec) in ri {
        req::check_table_name(name, "requestItems.key")?;
        let table = super::active_table(db, &st, name)?;
        let mut ph = req::placeholders(spec)?;
        let proj = projection_of(spec, &mut ph)?;
        ph.check_unused()?;
        let keys = spec
            .get("Keys")
            .and_then(Json::as_array)
            .ok_or_else(|| req::null("Keys"))?;
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for k in keys {
            let key = item_from_json(k)?;
            let pkey = request_key(&table.meta, &key)?;
            if !seen.insert(format!("{pkey:?}")) {
                return Err(DynamoError::validation(
                    "Provided list of item keys contains duplicates",
                ));
            }
            if let Some(item) = table.items.get(&pkey) {
                let shown = match &proj {
                    Some(p) => path::project(item, p),
                    None => item.clone(),
                };
                out.push(item_to_json(&shown));
            }
        }
        responses.insert(name.clone(), Json::Array(out));
    }
    Ok(json!({ "Responses": responses, "UnprocessedKeys": {} }))
}

pub(crate) async fn write(db: &DynamoDb, b: &Json) -> Result<Json, DynamoError> {
    let ri = req::opt(b, "RequestItems").ok_or_else(|| req::null("RequestItems"))?;
    let ri = ri.as_object().ok_or_else(ser)?;
    let _writer = db.writer().await;
    let ops = {
        let st = db.state();
        staged(db, &st, ri)?
    };
    db.commit(ops).await?;
    Ok(json!({ "UnprocessedItems": {} }))
}

/// Validates every write of a BatchWriteItem against the committed state and returns their store operations.
fn staged(
    db: &DynamoDb,
    st: &State,
    ri: &serde_json::Map<String, Json>,
) -> Result<Vec<strait_engine::MetaOp>, DynamoError> {
    let mut writes: Vec<Write> = Vec::new();
    for (name, list) in ri {
        for r in list.as_array().ok_or_else(ser)? {
            let w = match (req::opt(r, "PutRequest"), req::opt(r, "DeleteRequest")) {
                (Some(p), None) => {
                    let item = req::opt(p, "Item")
                        .cloned()
                        .ok_or_else(|| req::null("Item"))?;
                    parse_write(db, st, "Put", &json!({ "TableName": name, "Item": item }))?
                }
                (None, Some(d)) => {
                    let key = req::opt(d, "Key")
                        .cloned()
                        .ok_or_else(|| req::null("Key"))?;
                    parse_write(db, st, "Delete", &json!({ "TableName": name, "Key": key }))?
                }
                _ => {
                    return Err(DynamoError::validation(
                        "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
                    ));
                }
            };
            if writes
                .iter()
                .any(|x| x.table == w.table && x.pkey == w.pkey)
            {
                return Err(DynamoError::validation(
                    "Provided list of item keys contains duplicates",
                ));
            }
            writes.push(w);
        }
    }
    if writes.is_empty() || writes.len() > 25 {
        return Err(DynamoError::validation(
            "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]",
        ));
    }
    let mut ops = Vec::new();
    for w in &writes {
        let table = super::active_table(db, st, &w.table)?;
        let o = evaluate(table, w)?;
        stage(table, w, &o, &mut ops);
    }
    Ok(ops)
}
