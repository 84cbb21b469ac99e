//! TransactWriteItems (all or nothing: every condition is checked first, then all changes are committed in one
//! metadata transaction) and TransactGetItems.

use serde_json::{Value as Json, json};

use super::{Outcome, Write, evaluate, parse_write, projection_of, request_key, stage};
use crate::db::DynamoDb;
use crate::error::{CancellationReason, DynamoError};
use crate::expr::path;
use crate::req;
use crate::store::State;
use crate::value::item_to_json;

fn ser() -> DynamoError {
    DynamoError::Serialization("Unexpected value type in payload".into())
}

fn items(b: &Json) -> Result<&Vec<Json>, DynamoError> {
    let list = req::opt(b, "TransactItems").ok_or_else(|| req::null("TransactItems"))?;
    let list = list.as_array().ok_or_else(ser)?;
    if list.is_empty() || list.len() > 100 {
        return Err(DynamoError::validation(
            "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100, Member must have length greater than or equal to 1",
        ));
    }
    Ok(list)
}

/// How long DynamoDB remembers a `ClientRequestToken`.
const TOKEN_TTL_MS: i64 = 10 * 60 * 1000;

/// Whether this request repeats an already committed one (SDKs fill `ClientRequestToken` automatically and
/// reuse it on retries, so a retry after a lost response must not be applied twice).
fn seen_token(db: &DynamoDb, token: Option<&str>, payload: &str) -> Result<bool, DynamoError> {
    let Some(token) = token else { return Ok(false) };
    let now = db.now_ms();
    let mut tokens = db
        .inner
        .tokens
        .lock()
        .map_err(|_| DynamoError::Internal("token table poisoned".into()))?;
    tokens.retain(|_, (_, exp)| *exp > now);
    match tokens.get(token) {
        Some((p, _)) if p == payload => Ok(true),
        Some(_) => Err(DynamoError::IdempotentParameterMismatch(
            "DynamoDB rejected the request because you retried a request with a different payload but with an idempotent token that was already used.".into(),
        )),
        None => Ok(false),
    }
}

fn remember_token(db: &DynamoDb, token: Option<&str>, payload: String) -> Result<(), DynamoError> {
    let Some(token) = token else { return Ok(()) };
    let mut tokens = db
        .inner
        .tokens
        .lock()
        .map_err(|_| DynamoError::Internal("token table poisoned".into()))?;
    tokens.insert(token.to_string(), (payload, db.now_ms() + TOKEN_TTL_MS));
    Ok(())
}

pub(crate) async fn write(db: &DynamoDb, b: &Json) -> Result<Json, DynamoError> {
    let list = items(b)?;
    let token = req::opt_str(b, "ClientRequestToken")?;
    let payload = Json::Array(list.clone()).to_string();
    let _writer = db.writer().await;
    if seen_token(db, token, &payload)? {
        return Ok(json!({}));
    }
    let ops = {
        let st = db.state();
        staged(db, &st, list)?
    };
    db.commit(ops).await?;
    remember_token(db, token, payload)?;
    Ok(json!({}))
}

/// Checks every action of a TransactWriteItems against the committed state: their store operations, or the
/// cancellation with one reason per action.
fn staged(
    db: &DynamoDb,
    st: &State,
    list: &[Json],
) -> Result<Vec<strait_engine::MetaOp>, DynamoError> {
    let mut writes: Vec<Write> = Vec::new();
    for entry in list {
        let kinds = [
            ("ConditionCheck", "ConditionCheck"),
            ("Put", "Put"),
            ("Delete", "Delete"),
            ("Update", "Update"),
        ];
        let present: Vec<(&str, &Json)> = kinds
            .iter()
            .filter_map(|(m, k)| req::opt(entry, m).map(|v| (*k, v)))
            .collect();
        let [(kind, spec)] = present.as_slice() else {
            return Err(DynamoError::validation(
                "TransactItems can only contain one of Check, Put, Update or Delete",
            ));
        };
        let w = parse_write(db, st, kind, spec)?;
        if writes
            .iter()
            .any(|x| x.table == w.table && x.pkey == w.pkey)
        {
            return Err(DynamoError::validation(
                "Transaction request cannot include multiple operations on one item",
            ));
        }
        writes.push(w);
    }
    let mut outcomes: Vec<Option<Outcome>> = Vec::new();
    let mut reasons = Vec::new();
    let mut failed = false;
    for w in &writes {
        let table = super::active_table(db, st, &w.table)?;
        match evaluate(table, w) {
            Ok(o) => {
                reasons.push(CancellationReason {
                    code: "None",
                    message: None,
                    item: None,
                });
                outcomes.push(Some(o));
            }
            Err(DynamoError::ConditionalCheckFailed { item }) => {
                failed = true;
                reasons.push(CancellationReason {
                    code: "ConditionalCheckFailed",
                    message: Some("The conditional request failed".into()),
                    item,
                });
                outcomes.push(None);
            }
            Err(DynamoError::Validation(m)) => {
                failed = true;
                reasons.push(CancellationReason {
                    code: "ValidationError",
                    message: Some(m),
                    item: None,
                });
                outcomes.push(None);
            }
            Err(e) => return Err(e),
        }
    }
    if failed {
        return Err(DynamoError::TransactionCanceled { reasons });
    }
    let mut ops = Vec::new();
    for (w, o) in writes.iter().zip(&outcomes) {
        if let Some(o) = o {
            let table = super::active_table(db, st, &w.table)?;
            stage(table, w, o, &mut ops);
        }
    }
    Ok(ops)
}

pub(crate) async fn get(db: &DynamoDb, b: &Json) -> Result<Json, DynamoError> {
    let list = items(b)?;
    let st = db.state();
    let mut out = Vec::new();
    for entry in list {
        let g = req::opt(entry, "Get").ok_or_else(|| req::null("Get"))?;
        let name = req::table_name(g)?;
        let table = super::active_table(db, &st, name)?;
        let key = req::opt_item(g, "Key")?.ok_or_else(|| req::null("Key"))?;
        let pkey = request_key(&table.meta, &key)?;
        let mut ph = req::placeholders(g)?;
        let proj = projection_of(g, &mut ph)?;
        ph.check_unused()?;
        out.push(match table.items.get(&pkey) {
            Some(item) => {
                let shown = match &proj {
                    Some(p) => path::project(item, p),
                    None => item.clone(),
                };
                json!({ "Item": item_to_json(&shown) })
            }
            None => json!({}),
        });
    }
    Ok(json!({ "Responses": out }))
}
