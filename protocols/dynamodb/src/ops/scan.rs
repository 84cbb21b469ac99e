//! Scan, and the ordered rows of a table or index that Scan and Query page through.

use serde_json::{Value as Json, json};

use super::{consumed, projection_of, read_units};
use crate::db::DynamoDb;
use crate::error::DynamoError;
use crate::expr::parse::{self, Placeholders};
use crate::expr::{Cond, Path, eval, path};
use crate::legacy;
use crate::req;
use crate::store::{Gsi, KeyPart, Table};
use crate::value::{Item, item_size, item_to_json};

/// Most data one Scan or Query page reads, as on DynamoDB.
const PAGE_BYTES: usize = 1024 * 1024;

/// One row of a table or index: its position (index key, then table key) and the item.
pub(crate) struct Row<'a> {
    pub order: Vec<KeyPart>,
    pub item: &'a Item,
}

/// The attributes that make up a row's position, in order.
pub(crate) fn order_attrs(table: &Table, gsi: Option<&Gsi>) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(g) = gsi {
        v.push(g.hash.clone());
        v.extend(g.range.clone());
    }
    v.push(table.meta.hash.clone());
    v.extend(table.meta.range.clone());
    v
}

/// All rows of the table, or of `gsi` (items lacking the index key are not in the index), in key order.
pub(crate) fn rows<'a>(table: &'a Table, gsi: Option<&Gsi>) -> Vec<Row<'a>> {
    let attrs = order_attrs(table, gsi);
    let mut out: Vec<Row<'a>> = table
        .items
        .values()
        .filter_map(|item| {
            let order: Option<Vec<KeyPart>> = attrs
                .iter()
                .map(|a| item.get(a).and_then(KeyPart::from_value))
                .collect();
            order.map(|order| Row { order, item })
        })
        .collect();
    if gsi.is_some() {
        out.sort_by(|a, b| a.order.cmp(&b.order));
    }
    out
}

/// The position encoded by an `ExclusiveStartKey`.
pub(crate) fn start_position(
    table: &Table,
    gsi: Option<&Gsi>,
    esk: &Item,
) -> Result<Vec<KeyPart>, DynamoError> {
    let attrs = order_attrs(table, gsi);
    let bad = || {
        DynamoError::validation(
            "The provided starting key is invalid: The provided key element does not match the schema",
        )
    };
    if gsi.is_none() {
        super::request_key(&table.meta, esk).map_err(|_| bad())?;
    }
    attrs
        .iter()
        .map(|a| esk.get(a).and_then(KeyPart::from_value).ok_or_else(bad))
        .collect()
}

/// The `LastEvaluatedKey` of a row.
pub(crate) fn last_key(table: &Table, gsi: Option<&Gsi>, item: &Item) -> Json {
    let attrs = order_attrs(table, gsi);
    let k: Item = item
        .iter()
        .filter(|(n, _)| attrs.contains(n))
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    item_to_json(&k)
}

/// What an index returns of an item (`KEYS_ONLY`, `INCLUDE`, `ALL`).
pub(crate) fn index_view(table: &Table, gsi: Option<&Gsi>, item: &Item) -> Item {
    let Some(g) = gsi else { return item.clone() };
    let keep: Vec<String> = match g.projection_type() {
        "ALL" => return item.clone(),
        "INCLUDE" => g
            .projection
            .get("NonKeyAttributes")
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let keys = order_attrs(table, gsi);
    item.iter()
        .filter(|(n, _)| keys.contains(n) || keep.contains(n))
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect()
}

/// The index a request names, or the table.
pub(crate) fn index<'a>(table: &'a Table, b: &Json) -> Result<Option<&'a Gsi>, DynamoError> {
    match req::opt_str(b, "IndexName")? {
        None => Ok(None),
        Some(n) => table.meta.gsi(n).map(Some).ok_or_else(|| {
            DynamoError::validation(format!("The table does not have the specified index: {n}"))
        }),
    }
}

pub(crate) fn limit(b: &Json) -> Result<Option<usize>, DynamoError> {
    match req::opt_i64(b, "Limit")? {
        None => Ok(None),
        Some(n) if n < 1 => Err(DynamoError::validation(format!(
            "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
        ))),
        Some(n) => Ok(Some(n as usize)),
    }
}

/// `FilterExpression`, or the legacy filter member (`ScanFilter` / `QueryFilter`).
pub(crate) fn filter_of(
    b: &Json,
    ph: &mut Placeholders,
    legacy_member: &str,
) -> Result<Option<Cond>, DynamoError> {
    if let Some(e) = req::opt_str(b, "FilterExpression")? {
        return Ok(Some(parse::condition("FilterExpression", e, ph)?));
    }
    match req::opt(b, legacy_member) {
        Some(f) => legacy::conditions(f, req::opt_str(b, "ConditionalOperator")?),
        None => Ok(None),
    }
}

/// Pages through `rows` (already positioned and filtered by key): applies Limit, the 1 MB page size, the filter,
/// Select and the projection, and builds the response.
#[allow(clippy::too_many_arguments)]
pub(crate) fn page<'a>(
    b: &Json,
    table: &Table,
    gsi: Option<&Gsi>,
    rows: impl Iterator<Item = Row<'a>>,
    limit: Option<usize>,
    filter: Option<&Cond>,
    proj: Option<&[Path]>,
) -> Result<Json, DynamoError> {
    let select = req::opt_str(b, "Select")?.unwrap_or(if proj.is_some() {
        "SPECIFIC_ATTRIBUTES"
    } else {
        "ALL_ATTRIBUTES"
    });
    if ![
        "ALL_ATTRIBUTES",
        "ALL_PROJECTED_ATTRIBUTES",
        "SPECIFIC_ATTRIBUTES",
        "COUNT",
    ]
    .contains(&select)
    {
        return Err(DynamoError::validation(format!(
            "1 validation error detected: Value '{select}' at 'select' failed to satisfy constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]"
        )));
    }
    if select == "SPECIFIC_ATTRIBUTES" && proj.is_none() {
        return Err(DynamoError::validation(
            "1 validation error detected: Value null at 'projectionExpression' failed to satisfy constraint: Member must not be null when Select is SPECIFIC_ATTRIBUTES",
        ));
    }
    if proj.is_some() && select != "SPECIFIC_ATTRIBUTES" {
        return Err(DynamoError::validation(
            "Cannot specify the AttributesToGet or ProjectionExpression when choosing to get ALL_ATTRIBUTES",
        ));
    }
    let consistent = req::opt_bool(b, "ConsistentRead")?.unwrap_or(false);
    if consistent && gsi.is_some() {
        return Err(DynamoError::validation(
            "Consistent reads are not supported on global secondary indexes",
        ));
    }
    let mut items = Vec::new();
    let (mut scanned, mut count, mut bytes) = (0usize, 0usize, 0usize);
    let mut last: Option<&Item> = None;
    let mut rows = rows.peekable();
    for row in rows.by_ref() {
        scanned += 1;
        bytes += item_size(row.item);
        let view = index_view(table, gsi, row.item);
        let keep = match filter {
            Some(f) => eval::eval(f, &view)?,
            None => true,
        };
        if keep {
            count += 1;
            if select != "COUNT" {
                let shown = match proj {
                    Some(p) => path::project(&view, p),
                    None => view,
                };
                items.push(item_to_json(&shown));
            }
        }
        last = Some(row.item);
        if limit.is_some_and(|l| scanned >= l) || bytes >= PAGE_BYTES {
            break;
        }
    }
    let mut out = json!({ "Count": count, "ScannedCount": scanned });
    if select != "COUNT" {
        out["Items"] = Json::Array(items);
    }
    if rows.peek().is_some()
        && let Some(item) = last
    {
        out["LastEvaluatedKey"] = last_key(table, gsi, item);
    }
    consumed(b, &table.meta.name, read_units(bytes, consistent), &mut out);
    Ok(out)
}

/// The parallel-scan segment of a partition key value.
fn segment_of(item: &Item, hash: &str, total: u32) -> u32 {
    let k = item
        .get(hash)
        .map(|v| crate::value::to_json(v).to_string())
        .unwrap_or_default();
    crc32fast::hash(k.as_bytes()) % total
}

pub(crate) async fn scan(db: &DynamoDb, b: &Json) -> Result<Json, DynamoError> {
    let name = req::table_name(b)?;
    req::no_mix(b, &req::LEGACY, &req::EXPRESSIONS)?;
    let mut ph = req::placeholders(b)?;
    let filter = filter_of(b, &mut ph, "ScanFilter")?;
    let proj = projection_of(b, &mut ph)?;
    ph.check_unused()?;
    let limit = limit(b)?;
    let segment = req::opt_i64(b, "Segment")?;
    let total = req::opt_i64(b, "TotalSegments")?;
    let seg = match (segment, total) {
        (None, None) => None,
        (Some(s), Some(t)) => {
            if !(1..=1_000_000).contains(&t) {
                return Err(DynamoError::validation(format!(
                    "1 validation error detected: Value '{t}' at 'totalSegments' failed to satisfy constraint: Member must have value less than or equal to 1000000"
                )));
            }
            if s < 0 || s >= t {
                return Err(DynamoError::validation(format!(
                    "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {s} is not less than TotalSegments: {t}"
                )));
            }
            Some((s as u32, t as u32))
        }
        (Some(_), None) => {
            return Err(DynamoError::validation(
                "The TotalSegments parameter is required but was not present in the request when Segment parameter is present",
            ));
        }
        (None, Some(_)) => {
            return Err(DynamoError::validation(
                "The Segment parameter is required but was not present in the request when parameter TotalSegments is present",
            ));
        }
    };
    let st = db.state();
    let table = super::active_table(db, &st, name)?;
    let gsi = index(table, b)?;
    let start = req::opt_item(b, "ExclusiveStartKey")?
        .map(|k| start_position(table, gsi, &k))
        .transpose()?;
    let hash = table.meta.hash.clone();
    let it = rows(table, gsi)
        .into_iter()
        .filter(|r| start.as_ref().is_none_or(|s| r.order > *s))
        .filter(|r| seg.is_none_or(|(s, t)| segment_of(r.item, &hash, t) == s));
    page(b, table, gsi, it, limit, filter.as_ref(), proj.as_deref())
}
