//! GetItem, PutItem, UpdateItem, DeleteItem.

use serde_json::{Value as Json, json};

use super::{
    Outcome, WriteKind, consumed, evaluate, parse_write, projection_of, read_units, return_values,
    stage, write_units,
};
use crate::db::DynamoDb;
use crate::error::DynamoError;
use crate::expr::path;
use crate::req;
use crate::value::{Item, item_size, item_to_json};

pub(crate) async fn get(db: &DynamoDb, b: &Json) -> Result<Json, DynamoError> {
    let name = req::table_name(b)?;
    req::no_mix(b, &req::LEGACY, &req::EXPRESSIONS)?;
    let key = req::opt_item(b, "Key")?.ok_or_else(|| req::null("Key"))?;
    let mut ph = req::placeholders(b)?;
    let proj = projection_of(b, &mut ph)?;
    ph.check_unused()?;
    let consistent = req::opt_bool(b, "ConsistentRead")?.unwrap_or(false);
    let st = db.state();
    let table = super::active_table(db, &st, name)?;
    let pkey = super::request_key(&table.meta, &key)?;
    let mut out = json!({});
    let item = table.items.get(&pkey);
    if let Some(item) = item {
        let shown = match &proj {
            Some(p) => path::project(item, p),
            None => item.clone(),
        };
        out["Item"] = item_to_json(&shown);
    }
    consumed(
        b,
        name,
        read_units(item.map_or(0, item_size), consistent),
        &mut out,
    );
    Ok(out)
}

/// Runs one single-item write under the writers' lock: condition checked against the cache, durable commit
/// (which the cache applies).
async fn write(
    db: &DynamoDb,
    kind: &str,
    b: &Json,
    allowed_rv: &[&str],
) -> Result<(Outcome, super::Write, String), DynamoError> {
    let rv = return_values(b, allowed_rv)?;
    let _writer = db.writer().await;
    let (w, o, ops) = {
        let st = db.state();
        let w = parse_write(db, &st, kind, b)?;
        let table = super::active_table(db, &st, &w.table)?;
        let o = evaluate(table, &w)?;
        let mut ops = Vec::new();
        stage(table, &w, &o, &mut ops);
        (w, o, ops)
    };
    db.commit(ops).await?;
    Ok((o, w, rv))
}

fn finish(b: &Json, w: &super::Write, o: &Outcome, rv: &str) -> Json {
    let mut out = json!({});
    let new = o.new.clone().flatten();
    let attrs: Option<Item> = match rv {
        "ALL_OLD" => o.old.clone(),
        "ALL_NEW" => new.clone(),
        "UPDATED_OLD" | "UPDATED_NEW" => {
            let targets: Vec<_> = match &w.kind {
                WriteKind::Update { update, .. } => update.targets().cloned().collect(),
                _ => Vec::new(),
            };
            let src = if rv == "UPDATED_OLD" {
                o.old.as_ref()
            } else {
                new.as_ref()
            };
            src.map(|i| path::project(i, &targets))
        }
        _ => None,
    };
    if let Some(a) = attrs.filter(|a| !a.is_empty()) {
        out["Attributes"] = item_to_json(&a);
    }
    let units = write_units(new.as_ref().or(o.old.as_ref()));
    consumed(b, &w.table, units, &mut out);
    out
}

pub(crate) async fn put(db: &DynamoDb, b: &Json) -> Result<Json, DynamoError> {
    let (o, w, rv) = write(db, "Put", b, &["NONE", "ALL_OLD"]).await?;
    Ok(finish(b, &w, &o, &rv))
}

pub(crate) async fn update(db: &DynamoDb, b: &Json) -> Result<Json, DynamoError> {
    let (o, w, rv) = write(
        db,
        "Update",
        b,
        &["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"],
    )
    .await?;
    Ok(finish(b, &w, &o, &rv))
}

pub(crate) async fn delete(db: &DynamoDb, b: &Json) -> Result<Json, DynamoError> {
    let (o, w, rv) = write(db, "Delete", b, &["NONE", "ALL_OLD"]).await?;
    Ok(finish(b, &w, &o, &rv))
}
