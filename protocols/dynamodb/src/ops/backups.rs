//! UpdateContinuousBackups and DescribeContinuousBackups: the point-in-time-recovery flag is stored (Strait
//! keeps no backups; KCL only sets the flag).

use serde_json::{Value as Json, json};

use crate::db::DynamoDb;
use crate::error::DynamoError;
use crate::req;
use crate::store;

fn shape(enabled: bool, now_ms: i64) -> Json {
    let mut pitr =
        json!({ "PointInTimeRecoveryStatus": if enabled { "ENABLED" } else { "DISABLED" } });
    if enabled {
        pitr["EarliestRestorableDateTime"] = json!(now_ms as f64 / 1000.0);
        pitr["LatestRestorableDateTime"] = json!(now_ms as f64 / 1000.0);
        pitr["RecoveryPeriodInDays"] = json!(35);
    }
    json!({ "ContinuousBackupsDescription": {
        "ContinuousBackupsStatus": "ENABLED",
        "PointInTimeRecoveryDescription": pitr,
    }})
}

fn not_found(name: &str) -> DynamoError {
    DynamoError::TableNotFound(format!("Table not found: {name}"))
}

pub(crate) async fn update(db: &DynamoDb, b: &Json) -> Result<Json, DynamoError> {
    let name = req::table_name(b)?;
    let spec = req::opt(b, "PointInTimeRecoverySpecification")
        .ok_or_else(|| req::null("PointInTimeRecoverySpecification"))?;
    let enabled = req::opt_bool(spec, "PointInTimeRecoveryEnabled")?
        .ok_or_else(|| req::null("PointInTimeRecoveryEnabled"))?;
    let _writer = db.writer().await;
    let mut m = {
        let st = db.state();
        let t = st.tables.get(name).ok_or_else(|| not_found(name))?;
        t.meta.clone()
    };
    m.pitr = enabled;
    db.commit(vec![store::put_table_op(&m)?]).await?;
    Ok(shape(enabled, db.now_ms()))
}

pub(crate) async fn describe(db: &DynamoDb, b: &Json) -> Result<Json, DynamoError> {
    let name = req::table_name(b)?;
    let st = db.state();
    let t = st.tables.get(name).ok_or_else(|| not_found(name))?;
    Ok(shape(t.meta.pitr, db.now_ms()))
}
