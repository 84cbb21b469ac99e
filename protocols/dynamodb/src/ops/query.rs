//! Query: a key condition on the table's or an index's keys, in sort-key order.

use serde_json::Value as Json;

use super::projection_of;
use super::scan::{Row, filter_of, index, limit, order_attrs, page, rows, start_position};
use crate::db::DynamoDb;
use crate::error::DynamoError;
use crate::expr::parse;
use crate::expr::{CmpOp, Cond, Operand, PathElem, eval};
use crate::legacy;
use crate::req;
use crate::value::{AttrValue, Item};

/// The parts of a key condition: the partition key equality and at most one sort-key condition.
fn split(c: Cond, out: &mut Vec<Cond>) {
    match c {
        Cond::And(a, b) => {
            split(*a, out);
            split(*b, out);
        }
        other => out.push(other),
    }
}

fn unsupported() -> DynamoError {
    DynamoError::validation("Query key condition not supported")
}

/// The attribute a key-condition part constrains.
fn subject(c: &Cond) -> Result<&str, DynamoError> {
    let op = match c {
        Cond::Cmp(Operand::Path(p), op, Operand::Value(_)) => (p, Some(*op)),
        Cond::Between(Operand::Path(p), Operand::Value(_), Operand::Value(_)) => (p, None),
        Cond::BeginsWith(Operand::Path(p), Operand::Value(_)) => (p, None),
        _ => return Err(unsupported()),
    };
    if op.1 == Some(CmpOp::Ne) {
        return Err(DynamoError::validation(
            "Unsupported operator on KeyConditionExpression: operator: <>",
        ));
    }
    match op.0.as_slice() {
        [PathElem::Name(n)] => Ok(n),
        _ => Err(unsupported()),
    }
}

pub(crate) async fn query(db: &DynamoDb, b: &Json) -> Result<Json, DynamoError> {
    let name = req::table_name(b)?;
    req::no_mix(b, &req::LEGACY, &req::EXPRESSIONS)?;
    let mut ph = req::placeholders(b)?;
    let key_cond = if let Some(e) = req::opt_str(b, "KeyConditionExpression")? {
        parse::condition("KeyConditionExpression", e, &mut ph)?
    } else if let Some(k) = req::opt(b, "KeyConditions") {
        legacy::conditions(k, None)?.ok_or_else(|| {
            DynamoError::validation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
        })?
    } else {
        return Err(DynamoError::validation(
            "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
        ));
    };
    let filter = filter_of(b, &mut ph, "QueryFilter")?;
    let proj = projection_of(b, &mut ph)?;
    ph.check_unused()?;
    let limit = limit(b)?;
    let forward = req::opt_bool(b, "ScanIndexForward")?.unwrap_or(true);

    let st = db.state();
    let table = super::active_table(db, &st, name)?;
    let gsi = index(table, b)?;
    let (hash, range) = match gsi {
        Some(g) => (g.hash.clone(), g.range.clone()),
        None => (table.meta.hash.clone(), table.meta.range.clone()),
    };
    let mut parts = Vec::new();
    split(key_cond, &mut parts);
    let mut hash_cond = None;
    let mut range_cond = None;
    for p in parts {
        let s = subject(&p)?.to_string();
        if s == hash {
            if !matches!(p, Cond::Cmp(_, CmpOp::Eq, _)) || hash_cond.is_some() {
                return Err(DynamoError::validation("Query key condition not supported"));
            }
            hash_cond = Some(p);
        } else if Some(&s) == range.as_ref() {
            if range_cond.is_some() {
                return Err(unsupported());
            }
            range_cond = Some(p);
        } else {
            return Err(DynamoError::validation(format!(
                "Query condition missed key schema element: {}",
                hash
            )));
        }
    }
    let Some(hash_cond) = hash_cond else {
        return Err(DynamoError::validation(format!(
            "Query condition missed key schema element: {hash}"
        )));
    };
    if let Cond::Cmp(_, _, Operand::Value(v)) = &hash_cond {
        let want = table.meta.attr_type(&hash).unwrap_or("S");
        if v.type_name() != want {
            return Err(DynamoError::validation(
                "One or more parameter values were invalid: Condition parameter type does not match schema type",
            ));
        }
        if matches!(v, AttrValue::S(s) if s.is_empty()) {
            return Err(DynamoError::validation(format!(
                "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: {hash}"
            )));
        }
    }
    let start = req::opt_item(b, "ExclusiveStartKey")?
        .map(|k| start_position(table, gsi, &k))
        .transpose()?;
    let _ = order_attrs(table, gsi);
    let matches = |item: &Item| -> Result<bool, DynamoError> {
        Ok(eval::eval(&hash_cond, item)?
            && range_cond
                .as_ref()
                .map_or(Ok(true), |c| eval::eval(c, item))?)
    };
    let mut selected: Vec<Row<'_>> = Vec::new();
    for r in rows(table, gsi) {
        if matches(r.item)? {
            selected.push(r);
        }
    }
    // Within one partition the table's own rows are already in sort-key order; index rows were sorted.
    if !forward {
        selected.reverse();
    }
    let it = selected.into_iter().filter(|r| match &start {
        None => true,
        Some(s) => {
            if forward {
                r.order > *s
            } else {
                r.order < *s
            }
        }
    });
    page(b, table, gsi, it, limit, filter.as_ref(), proj.as_deref())
}
