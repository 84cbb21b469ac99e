//! One module per group of operations; shared here: dispatch, key validation and the write path shared by the
//! single-item writes and TransactWriteItems.

mod backups;
mod batch;
mod items;
mod query;
mod scan;
mod tables;
mod tags;
mod transact;

use serde_json::{Value as Json, json};

use crate::db::DynamoDb;
use crate::error::DynamoError;
use crate::expr::parse::{self, Placeholders};
use crate::expr::{self, Cond, Path, Update, eval};
use crate::legacy;
use crate::req;
use crate::store::{KeyPart, PKey, State, Table, TableMeta};
use crate::value::{AttrValue, Item, MAX_ITEM_BYTES, item_size};

/// The operations Strait serves (the names after `DynamoDB_20120810.`).
pub const OPERATIONS: [&str; 24] = [
    "CreateTable",
    "DescribeTable",
    "UpdateTable",
    "DeleteTable",
    "ListTables",
    "UpdateContinuousBackups",
    "DescribeContinuousBackups",
    "TagResource",
    "UntagResource",
    "ListTagsOfResource",
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Scan",
    "Query",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "TransactGetItems",
    "DescribeTimeToLive",
    "DescribeLimits",
    "DescribeEndpoints",
    "ListGlobalTables",
];

pub(crate) async fn dispatch(db: &DynamoDb, op: &str, b: &Json) -> Result<Json, DynamoError> {
    match op {
        "CreateTable" => tables::create(db, b).await,
        "DescribeTable" => tables::describe(db, b).await,
        "UpdateTable" => tables::update(db, b).await,
        "DeleteTable" => tables::delete(db, b).await,
        "ListTables" => tables::list(db, b).await,
        "DescribeTimeToLive" => tables::describe_ttl(db, b).await,
        "DescribeLimits" => Ok(json!({
            "AccountMaxReadCapacityUnits": 80000, "AccountMaxWriteCapacityUnits": 80000,
            "TableMaxReadCapacityUnits": 40000, "TableMaxWriteCapacityUnits": 40000
        })),
        "DescribeEndpoints" => Ok(json!({ "Endpoints": [] })),
        "ListGlobalTables" => Ok(json!({ "GlobalTables": [] })),
        "UpdateContinuousBackups" => backups::update(db, b).await,
        "DescribeContinuousBackups" => backups::describe(db, b).await,
        "TagResource" => tags::tag(db, b).await,
        "UntagResource" => tags::untag(db, b).await,
        "ListTagsOfResource" => tags::list(db, b).await,
        "GetItem" => items::get(db, b).await,
        "PutItem" => items::put(db, b).await,
        "UpdateItem" => items::update(db, b).await,
        "DeleteItem" => items::delete(db, b).await,
        "Scan" => scan::scan(db, b).await,
        "Query" => query::query(db, b).await,
        "BatchGetItem" => batch::get(db, b).await,
        "BatchWriteItem" => batch::write(db, b).await,
        "TransactWriteItems" => transact::write(db, b).await,
        "TransactGetItems" => transact::get(db, b).await,
        _ => Err(DynamoError::UnknownOperation),
    }
}

/// A table that item operations may use (not still CREATING).
pub(crate) fn active_table<'a>(
    db: &DynamoDb,
    st: &'a State,
    name: &str,
) -> Result<&'a Table, DynamoError> {
    match st.tables.get(name) {
        Some(t) if t.meta.status(db.now_ms()) != "CREATING" => Ok(t),
        _ => Err(DynamoError::no_table()),
    }
}

fn empty_key_error(name: &str, v: &AttrValue) -> Option<DynamoError> {
    let what = match v {
        AttrValue::S(s) if s.is_empty() => "string",
        AttrValue::B(b) if b.is_empty() => "binary",
        _ => return None,
    };
    Some(DynamoError::validation(format!(
        "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty {what} value. Key: {name}"
    )))
}

fn key_names(meta: &TableMeta) -> Vec<&str> {
    let mut v = vec![meta.hash.as_str()];
    v.extend(meta.range.as_deref());
    v
}

/// A `Key` member: exactly the key attributes with their defined types.
pub(crate) fn request_key(meta: &TableMeta, key: &Item) -> Result<PKey, DynamoError> {
    let names = key_names(meta);
    let mismatch = || DynamoError::validation("The provided key element does not match the schema");
    if key.len() != names.len() {
        return Err(mismatch());
    }
    let mut parts = Vec::new();
    for n in names {
        let v = key.get(n).ok_or_else(mismatch)?;
        if meta.attr_type(n) != Some(v.type_name()) {
            return Err(mismatch());
        }
        if let Some(e) = empty_key_error(n, v) {
            return Err(e);
        }
        parts.push(KeyPart::from_value(v).ok_or_else(mismatch)?);
    }
    let mut it = parts.into_iter();
    let h = it.next().ok_or_else(mismatch)?;
    Ok((h, it.next()))
}

/// The key of an item to store, with PutItem's messages, and the index-key checks.
pub(crate) fn item_key(meta: &TableMeta, item: &Item) -> Result<PKey, DynamoError> {
    let mut parts = Vec::new();
    for n in key_names(meta) {
        let v = item.get(n).ok_or_else(|| {
            DynamoError::validation(format!(
                "One or more parameter values were invalid: Missing the key {n} in the item"
            ))
        })?;
        let want = meta.attr_type(n).unwrap_or("S");
        if v.type_name() != want {
            return Err(DynamoError::validation(format!(
                "One or more parameter values were invalid: Type mismatch for key {n} expected: {want} actual: {}",
                v.type_name()
            )));
        }
        if let Some(e) = empty_key_error(n, v) {
            return Err(e);
        }
        parts.push(KeyPart::from_value(v).ok_or_else(|| DynamoError::validation("invalid key"))?);
    }
    for g in &meta.gsis {
        for n in std::iter::once(&g.hash).chain(g.range.iter()) {
            let Some(v) = item.get(n) else { continue };
            let want = meta.attr_type(n).unwrap_or("S");
            if v.type_name() != want {
                return Err(DynamoError::validation(format!(
                    "One or more parameter values were invalid: Type mismatch for Index Key {n} Expected: {want} Actual: {} IndexName: {}",
                    v.type_name(),
                    g.name
                )));
            }
            if matches!(v, AttrValue::S(s) if s.is_empty())
                || matches!(v, AttrValue::B(b) if b.is_empty())
            {
                return Err(DynamoError::validation(format!(
                    "One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty string value. IndexName: {}, IndexKey: {n}",
                    g.name
                )));
            }
        }
    }
    if item_size(item) > MAX_ITEM_BYTES {
        return Err(DynamoError::validation(
            "Item size has exceeded the maximum allowed size",
        ));
    }
    crate::value::check_nesting(item)?;
    let mut it = parts.into_iter();
    let h = it
        .next()
        .ok_or_else(|| DynamoError::validation("invalid key"))?;
    Ok((h, it.next()))
}

/// What a write does to its item.
#[derive(Debug, Clone)]
pub(crate) enum WriteKind {
    Put(Item),
    Update {
        update: Update,
        legacy: bool,
    },
    Delete,
    /// TransactWriteItems' ConditionCheck: a condition only.
    Check,
}

/// A validated write of one item.
#[derive(Debug, Clone)]
pub(crate) struct Write {
    pub table: String,
    pub pkey: PKey,
    pub key: Item,
    pub kind: WriteKind,
    pub cond: Option<Cond>,
    pub all_old_on_fail: bool,
}

/// The result of applying a [`Write`] to the current state (not yet stored).
pub(crate) struct Outcome {
    pub old: Option<Item>,
    /// `None`: no change (ConditionCheck); `Some(None)`: deleted; `Some(Some(item))`: stored.
    pub new: Option<Option<Item>>,
}

/// Parses one write request (`kind` is `Put`, `Update`, `Delete` or `ConditionCheck`).
pub(crate) fn parse_write(
    db: &DynamoDb,
    st: &State,
    kind: &str,
    b: &Json,
) -> Result<Write, DynamoError> {
    let name = req::table_name(b)?;
    req::no_mix(b, &req::LEGACY, &req::EXPRESSIONS)?;
    let table = active_table(db, st, name)?;
    let meta = &table.meta;
    let mut ph = req::placeholders(b)?;
    let (pkey, key, wk) = match kind {
        "Put" => {
            let item = req::opt_item(b, "Item")?.ok_or_else(|| req::null("Item"))?;
            crate::value::check_item_names(&item)?;
            let pkey = item_key(meta, &item)?;
            (pkey, table.key_of(&item), WriteKind::Put(item))
        }
        _ => {
            let key = req::opt_item(b, "Key")?.ok_or_else(|| req::null("Key"))?;
            let pkey = request_key(meta, &key)?;
            let wk = match kind {
                "Update" => update_of(b, meta, &mut ph)?,
                "Delete" => WriteKind::Delete,
                _ => WriteKind::Check,
            };
            (pkey, key, wk)
        }
    };
    let cond = condition_of(b, &mut ph, kind == "ConditionCheck")?;
    ph.check_unused()?;
    let all_old_on_fail = match req::opt_str(b, "ReturnValuesOnConditionCheckFailure")? {
        None | Some("NONE") => false,
        Some("ALL_OLD") => true,
        Some(o) => {
            return Err(DynamoError::validation(format!(
                "1 validation error detected: Value '{o}' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]"
            )));
        }
    };
    Ok(Write {
        table: name.to_string(),
        pkey,
        key,
        kind: wk,
        cond,
        all_old_on_fail,
    })
}

fn update_of(b: &Json, meta: &TableMeta, ph: &mut Placeholders) -> Result<WriteKind, DynamoError> {
    let (update, legacy) = if let Some(e) = req::opt_str(b, "UpdateExpression")? {
        (parse::update(e, ph)?, false)
    } else if let Some(a) = req::opt(b, "AttributeUpdates") {
        (legacy::attribute_updates(a)?, true)
    } else {
        (Update::default(), true)
    };
    for p in update.targets() {
        if let Some(expr::PathElem::Name(n)) = p.first()
            && meta.is_key(n)
        {
            return Err(DynamoError::validation(format!(
                "One or more parameter values were invalid: Cannot update attribute {n}. This attribute is part of the key"
            )));
        }
    }
    Ok(WriteKind::Update { update, legacy })
}

/// `ConditionExpression` or `Expected` + `ConditionalOperator`.
pub(crate) fn condition_of(
    b: &Json,
    ph: &mut Placeholders,
    required: bool,
) -> Result<Option<Cond>, DynamoError> {
    if let Some(e) = req::opt_str(b, "ConditionExpression")? {
        return Ok(Some(parse::condition("ConditionExpression", e, ph)?));
    }
    if required {
        return Err(req::null("ConditionExpression"));
    }
    match req::opt(b, "Expected") {
        Some(x) => legacy::expected(x, req::opt_str(b, "ConditionalOperator")?),
        None => Ok(None),
    }
}

/// Applies a write to the current table state, checking its condition.
pub(crate) fn evaluate(table: &Table, w: &Write) -> Result<Outcome, DynamoError> {
    let old = table.items.get(&w.pkey).cloned();
    if let Some(c) = &w.cond {
        let empty = Item::new();
        if !eval::eval(c, old.as_ref().unwrap_or(&empty))? {
            return Err(DynamoError::ConditionalCheckFailed {
                item: if w.all_old_on_fail {
                    old.as_ref().map(crate::value::item_to_json)
                } else {
                    None
                },
            });
        }
    }
    let new = match &w.kind {
        WriteKind::Put(item) => Some(Some(item.clone())),
        WriteKind::Delete => Some(None),
        WriteKind::Check => None,
        WriteKind::Update { update, legacy } => {
            let base = old.clone().unwrap_or_else(|| w.key.clone());
            let new = expr::update::apply(update, &base, *legacy)?;
            item_key(&table.meta, &new)?;
            Some(Some(new))
        }
    };
    Ok(Outcome { old, new })
}

/// `ReturnValues`, checked against what the operation allows.
pub(crate) fn return_values(b: &Json, allowed: &[&str]) -> Result<String, DynamoError> {
    let rv = req::opt_str(b, "ReturnValues")?.unwrap_or("NONE");
    const ALL: [&str; 5] = ["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"];
    if !ALL.contains(&rv) {
        return Err(DynamoError::validation(format!(
            "1 validation error detected: Value '{rv}' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]"
        )));
    }
    if !allowed.contains(&rv) {
        return Err(DynamoError::validation(
            "Return values set to invalid value",
        ));
    }
    Ok(rv.to_string())
}

/// `ConsumedCapacity` when `ReturnConsumedCapacity` asks for it: 1 write unit per KB, 1 read unit per 4 KB
/// (half for eventually consistent reads), as DynamoDB bills on-demand tables.
pub(crate) fn consumed(b: &Json, table: &str, units: f64, out: &mut Json) {
    if matches!(
        req::opt_str(b, "ReturnConsumedCapacity"),
        Ok(Some("TOTAL" | "INDEXES"))
    ) {
        out["ConsumedCapacity"] = json!({ "TableName": table, "CapacityUnits": units });
    }
}

pub(crate) fn write_units(item: Option<&Item>) -> f64 {
    (item.map_or(0, item_size).max(1) as f64 / 1024.0).ceil()
}

pub(crate) fn read_units(size: usize, consistent: bool) -> f64 {
    let u = (size.max(1) as f64 / 4096.0).ceil();
    if consistent { u } else { u / 2.0 }
}

/// `ProjectionExpression` or `AttributesToGet` as paths.
pub(crate) fn projection_of(
    b: &Json,
    ph: &mut Placeholders,
) -> Result<Option<Vec<Path>>, DynamoError> {
    if let Some(e) = req::opt_str(b, "ProjectionExpression")? {
        return Ok(Some(parse::projection(e, ph)?));
    }
    match req::opt(b, "AttributesToGet") {
        Some(Json::Array(a)) => Ok(Some(
            a.iter()
                .map(|v| {
                    v.as_str()
                        .map(|s| vec![expr::PathElem::Name(s.to_string())])
                        .ok_or_else(|| {
                            DynamoError::Serialization("Unexpected value type in payload".into())
                        })
                })
                .collect::<Result<_, _>>()?,
        )),
        Some(_) => Err(DynamoError::Serialization(
            "Unexpected value type in payload".into(),
        )),
        None => Ok(None),
    }
}

/// The store operations of one outcome (the cache applies them once committed).
pub(crate) fn stage(table: &Table, w: &Write, o: &Outcome, ops: &mut Vec<strait_engine::MetaOp>) {
    match &o.new {
        None => {}
        Some(Some(item)) => ops.push(crate::store::put_item_op(table, item)),
        Some(None) if o.old.is_some() => ops.push(crate::store::delete_item_op(table, &w.key)),
        Some(None) => {}
    }
}
