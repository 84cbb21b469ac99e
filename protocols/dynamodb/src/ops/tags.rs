//! TagResource, UntagResource, ListTagsOfResource on table ARNs.

use serde_json::{Value as Json, json};

use crate::db::DynamoDb;
use crate::error::DynamoError;
use crate::req;
use crate::store::{self, TableMeta};

/// The table name of a table ARN of this account and region.
fn table_of(db: &DynamoDb, arn: &str) -> Result<String, DynamoError> {
    let prefix = db.table_arn("");
    match arn.strip_prefix(&prefix) {
        Some(n) if !n.is_empty() && !n.contains('/') => Ok(n.to_string()),
        _ => Err(DynamoError::validation(format!(
            "Invalid TableArn: Invalid ResourceArn provided as input {arn}"
        ))),
    }
}

fn not_found(arn: &str) -> DynamoError {
    DynamoError::ResourceNotFound(format!(
        "Requested resource not found: ResourcArn: {arn} not found"
    ))
}

/// The committed description of the table `arn` names.
fn table_meta(db: &DynamoDb, name: &str, arn: &str) -> Result<TableMeta, DynamoError> {
    let st = db.state();
    let t = st.tables.get(name).ok_or_else(|| not_found(arn))?;
    Ok(t.meta.clone())
}

pub(crate) async fn tag(db: &DynamoDb, b: &Json) -> Result<Json, DynamoError> {
    let arn = req::req_str(b, "ResourceArn")?;
    let name = table_of(db, arn)?;
    let tags = req::opt(b, "Tags").ok_or_else(|| req::null("Tags"))?;
    let mut new = Vec::new();
    for t in tags
        .as_array()
        .ok_or_else(|| DynamoError::Serialization("Unexpected value type in payload".into()))?
    {
        new.push((
            req::req_str(t, "Key")?.to_string(),
            req::req_str(t, "Value")?.to_string(),
        ));
    }
    let _writer = db.writer().await;
    let mut m = table_meta(db, &name, arn)?;
    for (k, v) in new {
        m.tags.retain(|(x, _)| *x != k);
        m.tags.push((k, v));
    }
    db.commit(vec![store::put_table_op(&m)?]).await?;
    Ok(json!({}))
}

pub(crate) async fn untag(db: &DynamoDb, b: &Json) -> Result<Json, DynamoError> {
    let arn = req::req_str(b, "ResourceArn")?;
    let name = table_of(db, arn)?;
    let keys: Vec<String> = req::opt(b, "TagKeys")
        .and_then(Json::as_array)
        .ok_or_else(|| req::null("TagKeys"))?
        .iter()
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect();
    let _writer = db.writer().await;
    let mut m = table_meta(db, &name, arn)?;
    m.tags.retain(|(k, _)| !keys.contains(k));
    db.commit(vec![store::put_table_op(&m)?]).await?;
    Ok(json!({}))
}

pub(crate) async fn list(db: &DynamoDb, b: &Json) -> Result<Json, DynamoError> {
    let arn = req::req_str(b, "ResourceArn")?;
    let name = table_of(db, arn)?;
    let st = db.state();
    let t = st.tables.get(&name).ok_or_else(|| not_found(arn))?;
    let tags: Vec<Json> = t
        .meta
        .tags
        .iter()
        .map(|(k, v)| json!({ "Key": k, "Value": v }))
        .collect();
    Ok(json!({ "Tags": tags }))
}
