//! CreateTable, DescribeTable, UpdateTable, DeleteTable, ListTables, DescribeTimeToLive.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};
use strait_engine::MetaOp;

use crate::db::DynamoDb;
use crate::error::DynamoError;
use crate::req;
use crate::store::{self, Gsi, META_TABLE, Table, TableMeta};
use crate::value::item_size;

fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

fn throughput(mode: &str, r: i64, w: i64) -> Json {
    let (r, w) = if mode == "PAY_PER_REQUEST" {
        (0, 0)
    } else {
        (r, w)
    };
    json!({ "NumberOfDecreasesToday": 0, "ReadCapacityUnits": r, "WriteCapacityUnits": w })
}

fn key_schema(hash: &str, range: Option<&str>) -> Json {
    let mut v = vec![json!({ "AttributeName": hash, "KeyType": "HASH" })];
    if let Some(r) = range {
        v.push(json!({ "AttributeName": r, "KeyType": "RANGE" }));
    }
    Json::Array(v)
}

/// The `TableDescription` DynamoDB returns, with live item counts.
pub(crate) fn description(db: &DynamoDb, t: &Table, status: Option<&str>) -> Json {
    let m = &t.meta;
    let now = db.now_ms();
    let arn = db.table_arn(&m.name);
    let size: usize = t.items.values().map(item_size).sum();
    let mut d = json!({
        "TableName": m.name,
        "TableId": m.id,
        "TableArn": arn,
        "TableStatus": status.unwrap_or(m.status(now)),
        "CreationDateTime": secs(m.created_ms),
        "KeySchema": key_schema(&m.hash, m.range.as_deref()),
        "AttributeDefinitions": m.attribute_definitions.iter()
            .map(|(n, t)| json!({ "AttributeName": n, "AttributeType": t })).collect::<Vec<_>>(),
        "ProvisionedThroughput": throughput(&m.billing_mode, m.read_capacity, m.write_capacity),
        "TableSizeBytes": size,
        "ItemCount": t.items.len(),
        "DeletionProtectionEnabled": m.deletion_protection,
    });
    if m.billing_mode == "PAY_PER_REQUEST" {
        d["BillingModeSummary"] = json!({
            "BillingMode": "PAY_PER_REQUEST",
            "LastUpdateToPayPerRequestDateTime": secs(m.created_ms),
        });
    }
    if !m.gsis.is_empty() {
        let gs: Vec<Json> = m.gsis.iter().map(|g| {
            let creating = now < g.ready_ms;
            let count = t.items.values().filter(|i| i.contains_key(&g.hash) && g.range.as_ref().is_none_or(|r| i.contains_key(r))).count();
            let mut j = json!({
                "IndexName": g.name,
                "KeySchema": key_schema(&g.hash, g.range.as_deref()),
                "Projection": g.projection,
                "IndexStatus": if creating { "CREATING" } else { "ACTIVE" },
                "ProvisionedThroughput": throughput(&m.billing_mode, g.read_capacity, g.write_capacity),
                "IndexSizeBytes": 0,
                "ItemCount": count,
                "IndexArn": format!("{arn}/index/{}", g.name),
            });
            if creating {
                j["Backfilling"] = json!(true);
            }
            j
        }).collect();
        d["GlobalSecondaryIndexes"] = Json::Array(gs);
    }
    d
}

fn ser() -> DynamoError {
    DynamoError::Serialization("Unexpected value type in payload".into())
}

/// `KeySchema` as (hash, range).
fn parse_key_schema(
    ks: Option<&Json>,
    member: &str,
) -> Result<(String, Option<String>), DynamoError> {
    let ks = ks
        .ok_or_else(|| req::null(member))?
        .as_array()
        .ok_or_else(ser)?;
    let mut hash = None;
    let mut range = None;
    for (i, e) in ks.iter().enumerate() {
        let n = req::req_str(e, "AttributeName")?.to_string();
        match (i, req::req_str(e, "KeyType")?) {
            (0, "HASH") => hash = Some(n),
            (1, "RANGE") => range = Some(n),
            (_, t @ ("HASH" | "RANGE")) => {
                return Err(DynamoError::validation(format!(
                    "Invalid KeySchema: {} KeyType must be {}; found {t}",
                    if i == 0 { "The first" } else { "The second" },
                    if i == 0 { "HASH" } else { "RANGE" }
                )));
            }
            (_, t) => {
                return Err(DynamoError::validation(format!(
                    "1 validation error detected: Value '{t}' at '{member}.{}.member.keyType' failed to satisfy constraint: Member must satisfy enum value set: [HASH, RANGE]",
                    i + 1
                )));
            }
        }
    }
    if ks.is_empty() || ks.len() > 2 {
        return Err(DynamoError::validation(format!(
            "1 validation error detected: Value '[]' at '{member}' failed to satisfy constraint: Member must have length less than or equal to 2 and greater than or equal to 1"
        )));
    }
    if range.as_ref() == hash.as_ref() {
        return Err(DynamoError::validation(
            "Invalid KeySchema: Some index key attribute have no definition",
        ));
    }
    Ok((hash.ok_or_else(|| req::null(member))?, range))
}

fn parse_gsi(g: &Json, mode: &str, now: i64, delay: i64) -> Result<Gsi, DynamoError> {
    let name = req::req_str(g, "IndexName")?;
    if name.len() < 3 {
        return Err(DynamoError::validation(format!(
            "1 validation error detected: Value '{name}' at 'globalSecondaryIndexes.1.member.indexName' failed to satisfy constraint: Member must have length greater than or equal to 3"
        )));
    }
    let (hash, range) = parse_key_schema(req::opt(g, "KeySchema"), "KeySchema")?;
    let projection = req::opt(g, "Projection")
        .cloned()
        .ok_or_else(|| req::null("Projection"))?;
    let pt = projection
        .get("ProjectionType")
        .and_then(Json::as_str)
        .unwrap_or("");
    if !["ALL", "KEYS_ONLY", "INCLUDE"].contains(&pt) {
        return Err(DynamoError::validation(
            "One or more parameter values were invalid: Unknown ProjectionType: ".to_string() + pt,
        ));
    }
    let (r, w) = capacity(g, mode)?;
    Ok(Gsi {
        name: name.into(),
        hash,
        range,
        projection,
        ready_ms: now + delay,
        read_capacity: r,
        write_capacity: w,
    })
}

fn capacity(b: &Json, mode: &str) -> Result<(i64, i64), DynamoError> {
    let pt = req::opt(b, "ProvisionedThroughput");
    match (mode, pt) {
        ("PAY_PER_REQUEST", None) => Ok((0, 0)),
        ("PAY_PER_REQUEST", Some(_)) => Err(DynamoError::validation(
            "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
        )),
        (_, None) => Err(DynamoError::validation(
            "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
        )),
        (_, Some(p)) => {
            let r = req::opt_i64(p, "ReadCapacityUnits")?
                .ok_or_else(|| req::null("ReadCapacityUnits"))?;
            let w = req::opt_i64(p, "WriteCapacityUnits")?
                .ok_or_else(|| req::null("WriteCapacityUnits"))?;
            if r < 1 || w < 1 {
                return Err(DynamoError::validation(format!(
                    "1 validation error detected: Value '{}' at 'provisionedThroughput.{}' failed to satisfy constraint: Member must have value greater than or equal to 1",
                    r.min(w),
                    if r < 1 {
                        "readCapacityUnits"
                    } else {
                        "writeCapacityUnits"
                    }
                )));
            }
            Ok((r, w))
        }
    }
}

fn billing_mode(b: &Json, default: &str) -> Result<String, DynamoError> {
    match req::opt_str(b, "BillingMode")? {
        None => Ok(default.to_string()),
        Some(m @ ("PROVISIONED" | "PAY_PER_REQUEST")) => Ok(m.to_string()),
        Some(m) => Err(DynamoError::validation(format!(
            "1 validation error detected: Value '{m}' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]"
        ))),
    }
}

fn parse_attr_defs(b: &Json) -> Result<Vec<(String, String)>, DynamoError> {
    let defs =
        req::opt(b, "AttributeDefinitions").ok_or_else(|| req::null("AttributeDefinitions"))?;
    let mut out = Vec::new();
    for d in defs.as_array().ok_or_else(ser)? {
        let n = req::req_str(d, "AttributeName")?;
        let t = req::req_str(d, "AttributeType")?;
        if !["S", "N", "B"].contains(&t) {
            return Err(DynamoError::validation(format!(
                "1 validation error detected: Value '{t}' at 'attributeDefinitions.1.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]"
            )));
        }
        if out.iter().any(|(x, _): &(String, String)| x == n) {
            return Err(DynamoError::validation(
                "Cannot have two attributes with the same name",
            ));
        }
        out.push((n.to_string(), t.to_string()));
    }
    Ok(out)
}

/// Every key attribute (table and indexes) must be defined, and nothing else.
fn check_defs(defs: &[(String, String)], keys: &[&String]) -> Result<(), DynamoError> {
    let names: Vec<&String> = defs.iter().map(|(n, _)| n).collect();
    let undefined: Vec<&String> = keys
        .iter()
        .copied()
        .filter(|k| !names.contains(k))
        .collect();
    if !undefined.is_empty() {
        return Err(DynamoError::validation(format!(
            "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], AttributeDefinitions: [{}]",
            keys.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            names
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut uniq: Vec<&String> = keys.to_vec();
    uniq.sort();
    uniq.dedup();
    if uniq.len() != names.len() {
        return Err(DynamoError::validation(
            "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
        ));
    }
    Ok(())
}

fn all_keys(m: &TableMeta) -> Vec<&String> {
    let mut keys = vec![&m.hash];
    keys.extend(m.range.iter());
    for g in &m.gsis {
        keys.push(&g.hash);
        keys.extend(g.range.iter());
    }
    keys
}

fn parse_tags(b: &Json) -> Result<Vec<(String, String)>, DynamoError> {
    let Some(t) = req::opt(b, "Tags") else {
        return Ok(Vec::new());
    };
    t.as_array()
        .ok_or_else(ser)?
        .iter()
        .map(|e| {
            Ok((
                req::req_str(e, "Key")?.to_string(),
                req::req_str(e, "Value")?.to_string(),
            ))
        })
        .collect()
}

pub(crate) async fn create(db: &DynamoDb, b: &Json) -> Result<Json, DynamoError> {
    let name = req::table_name(b)?;
    let defs = parse_attr_defs(b)?;
    let (hash, range) = parse_key_schema(req::opt(b, "KeySchema"), "KeySchema")?;
    let mode = billing_mode(b, "PROVISIONED")?;
    let (r, w) = capacity(b, &mode)?;
    let now = db.now_ms();
    let delay = db.config().status_delay.as_millis() as i64;
    let mut gsis = Vec::new();
    if let Some(g) = req::opt(b, "GlobalSecondaryIndexes") {
        for x in g.as_array().ok_or_else(ser)? {
            let gsi = parse_gsi(x, &mode, now, delay)?;
            if gsis.iter().any(|o: &Gsi| o.name == gsi.name) {
                return Err(DynamoError::validation(format!(
                    "One or more parameter values were invalid: Duplicate index name: {}",
                    gsi.name
                )));
            }
            gsis.push(gsi);
        }
    }
    if req::opt(b, "LocalSecondaryIndexes").is_some() {
        return Err(DynamoError::validation(
            "LocalSecondaryIndexes are not supported by Strait",
        ));
    }
    let meta = TableMeta {
        name: name.into(),
        id: uuid::Uuid::new_v4().to_string(),
        created_ms: now,
        busy_status: "CREATING".into(),
        busy_until_ms: now + delay,
        hash,
        range,
        attribute_definitions: defs,
        billing_mode: mode,
        read_capacity: r,
        write_capacity: w,
        gsis,
        pitr: false,
        tags: parse_tags(b)?,
        deletion_protection: req::opt_bool(b, "DeletionProtectionEnabled")?.unwrap_or(false),
    };
    check_defs(&meta.attribute_definitions, &all_keys(&meta))?;
    let _writer = db.writer().await;
    if db.state().tables.contains_key(name) {
        return Err(DynamoError::ResourceInUse(format!(
            "Table already exists: {name}"
        )));
    }
    db.commit(vec![store::put_table_op(&meta)?]).await?;
    let t = Table {
        meta,
        items: BTreeMap::new(),
    };
    Ok(json!({ "TableDescription": description(db, &t, Some("CREATING")) }))
}

pub(crate) fn not_found(name: &str) -> DynamoError {
    DynamoError::ResourceNotFound(format!(
        "Requested resource not found: Table: {name} not found"
    ))
}

pub(crate) async fn describe(db: &DynamoDb, b: &Json) -> Result<Json, DynamoError> {
    let name = req::table_name(b)?;
    let st = db.state();
    let t = st.tables.get(name).ok_or_else(|| not_found(name))?;
    Ok(json!({ "Table": description(db, t, None) }))
}

pub(crate) async fn describe_ttl(db: &DynamoDb, b: &Json) -> Result<Json, DynamoError> {
    let name = req::table_name(b)?;
    let st = db.state();
    st.tables.get(name).ok_or_else(|| not_found(name))?;
    Ok(json!({ "TimeToLiveDescription": { "TimeToLiveStatus": "DISABLED" } }))
}

pub(crate) async fn delete(db: &DynamoDb, b: &Json) -> Result<Json, DynamoError> {
    let name = req::table_name(b)?;
    let _writer = db.writer().await;
    let d = {
        let st = db.state();
        let t = st.tables.get(name).ok_or_else(|| not_found(name))?;
        deletable(db, t)?;
        description(db, t, Some("DELETING"))
    };
    db.commit(vec![
        MetaOp::DeletePrefix {
            table: META_TABLE.into(),
            prefix: store::items_prefix(name),
        },
        MetaOp::Delete {
            table: META_TABLE.into(),
            key: store::table_key(name),
        },
    ])
    .await?;
    Ok(json!({ "TableDescription": d }))
}

/// Refuses to delete a table still being created or protected against deletion.
fn deletable(db: &DynamoDb, t: &Table) -> Result<(), DynamoError> {
    let name = &t.meta.name;
    let now = db.now_ms();
    if t.meta.status(now) == "CREATING" {
        return Err(DynamoError::ResourceInUse(format!(
            "Attempt to change a resource which is still in use: Table is being created: {name}"
        )));
    }
    if t.meta.deletion_protection {
        return Err(DynamoError::validation(
            "Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.",
        ));
    }
    Ok(())
}

pub(crate) async fn list(db: &DynamoDb, b: &Json) -> Result<Json, DynamoError> {
    let start = req::opt_str(b, "ExclusiveStartTableName")?;
    let limit = req::opt_i64(b, "Limit")?.unwrap_or(100);
    if !(1..=100).contains(&limit) {
        return Err(DynamoError::validation(format!(
            "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value {} 100",
            if limit < 1 {
                "greater than or equal to 1, less than or equal to"
            } else {
                "less than or equal to"
            }
        )));
    }
    let st = db.state();
    let mut names: Vec<&String> = st
        .tables
        .keys()
        .filter(|n| start.is_none_or(|s| n.as_str() > s))
        .collect();
    names.sort();
    let more = names.len() > limit as usize;
    names.truncate(limit as usize);
    let mut out = json!({ "TableNames": names });
    if more && let Some(last) = names.last() {
        out["LastEvaluatedTableName"] = json!(last);
    }
    Ok(out)
}

pub(crate) async fn update(db: &DynamoDb, b: &Json) -> Result<Json, DynamoError> {
    let name = req::table_name(b)?;
    let _writer = db.writer().await;
    let m = {
        let st = db.state();
        let t = st.tables.get(name).ok_or_else(|| not_found(name))?;
        updated(db, &t.meta, b)?
    };
    db.commit(vec![store::put_table_op(&m)?]).await?;
    let st = db.state();
    let t = st.tables.get(name).ok_or_else(|| not_found(name))?;
    Ok(json!({ "TableDescription": description(db, t, None) }))
}

/// The description UpdateTable makes of `current`, or why the request is refused.
fn updated(db: &DynamoDb, current: &TableMeta, b: &Json) -> Result<TableMeta, DynamoError> {
    let name = &current.name;
    let now = db.now_ms();
    let delay = db.config().status_delay.as_millis() as i64;
    if current.status(now) != "ACTIVE" {
        return Err(DynamoError::ResourceInUse(format!(
            "Attempt to change a resource which is still in use: Table is being {}: {name}",
            if current.status(now) == "CREATING" {
                "created"
            } else {
                "updated"
            }
        )));
    }
    let mut m = current.clone();
    let mut changed = false;
    if req::opt(b, "BillingMode").is_some() || req::opt(b, "ProvisionedThroughput").is_some() {
        m.billing_mode = billing_mode(b, &m.billing_mode)?;
        if req::opt(b, "ProvisionedThroughput").is_some() || m.billing_mode == "PAY_PER_REQUEST" {
            let (r, w) = capacity(b, &m.billing_mode)?;
            m.read_capacity = r;
            m.write_capacity = w;
        }
        changed = true;
    }
    if let Some(v) = req::opt_bool(b, "DeletionProtectionEnabled")? {
        m.deletion_protection = v;
        changed = true;
    }
    if let Some(defs) = req::opt(b, "AttributeDefinitions") {
        let new = parse_attr_defs(&json!({ "AttributeDefinitions": defs }))?;
        for (n, ty) in new {
            match m.attribute_definitions.iter().find(|(x, _)| *x == n) {
                Some((_, old)) if *old != ty => {
                    return Err(DynamoError::validation(format!(
                        "One or more parameter values were invalid: Attribute {n} is already defined with type {old}"
                    )));
                }
                Some(_) => {}
                None => m.attribute_definitions.push((n, ty)),
            }
        }
    }
    if let Some(updates) = req::opt(b, "GlobalSecondaryIndexUpdates") {
        for u in updates.as_array().ok_or_else(ser)? {
            if let Some(c) = req::opt(u, "Create") {
                let g = parse_gsi(c, &m.billing_mode, now, delay)?;
                if m.gsi(&g.name).is_some() {
                    return Err(DynamoError::validation(format!(
                        "One or more parameter values were invalid: Index {} already exists",
                        g.name
                    )));
                }
                m.gsis.push(g);
            } else if let Some(d) = req::opt(u, "Delete") {
                let n = req::req_str(d, "IndexName")?;
                if m.gsi(n).is_none() {
                    return Err(DynamoError::ResourceNotFound(format!(
                        "Requested resource not found: Index: {n} not found"
                    )));
                }
                m.gsis.retain(|g| g.name != n);
            } else if let Some(up) = req::opt(u, "Update") {
                let n = req::req_str(up, "IndexName")?;
                let (r, w) = capacity(up, &m.billing_mode)?;
                let g = m.gsis.iter_mut().find(|g| g.name == n).ok_or_else(|| {
                    DynamoError::ResourceNotFound(format!(
                        "Requested resource not found: Index: {n} not found"
                    ))
                })?;
                g.read_capacity = r;
                g.write_capacity = w;
            }
            changed = true;
        }
        // Only attributes some key uses may stay defined.
        let keys: Vec<String> = all_keys(&m).into_iter().cloned().collect();
        m.attribute_definitions.retain(|(n, _)| keys.contains(n));
        check_defs(&m.attribute_definitions, &keys.iter().collect::<Vec<_>>())?;
    }
    if req::opt(b, "StreamSpecification").is_some() || req::opt(b, "SSESpecification").is_some() {
        changed = true;
    }
    if !changed {
        return Err(DynamoError::validation(
            "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required",
        ));
    }
    m.busy_status = "UPDATING".into();
    m.busy_until_ms = now + delay;
    // Existing items with a wrongly-typed value for a new index key would make the index fail to build; on
    // DynamoDB such items are reported as violations and left out of the index, which is what `rows` does.
    Ok(m)
}
