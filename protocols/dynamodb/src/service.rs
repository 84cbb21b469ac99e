//! The entry point: [`DynamoDb::handle`] takes the `X-Amz-Target` value and the body and returns the full
//! response (status, headers including `x-amz-crc32`, body). State is held in memory behind one lock and every
//! change is committed to the engine's metadata store (one commit per request, so a transaction is atomic on
//! disk too) before it becomes visible.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value as Json;
use strait_engine::{Engine, MetaOp};
use tokio::sync::Mutex;

use crate::error::DynamoError;
use crate::hook::{ItemHook, ItemWrite};
use crate::ops;
use crate::store::{self, META_TABLE, State};

/// `X-Amz-Target` prefix of DynamoDB requests.
pub const TARGET_PREFIX: &str = "DynamoDB_20120810.";

/// Content type of DynamoDB requests and responses (AWS JSON 1.0).
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// Whether an `X-Amz-Target` value addresses DynamoDB (the server routes on this).
pub fn is_dynamodb_target(target: &str) -> bool {
    target.starts_with(TARGET_PREFIX)
}

/// Settings of the DynamoDB front end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamoConfig {
    pub region: String,
    pub account_id: String,
    /// How long tables stay CREATING/UPDATING and new indexes CREATING: short, but observable, as KCL polls
    /// DescribeTable until ACTIVE.
    pub status_delay: Duration,
}

impl Default for DynamoConfig {
    fn default() -> Self {
        DynamoConfig {
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            status_delay: Duration::from_millis(100),
        }
    }
}

/// Wall-clock time in Unix milliseconds, injectable for tests.
pub trait Clock: Send + Sync + 'static {
    fn now_ms(&self) -> i64;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }
}

/// A clock that only moves when told to.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn new(now_ms: i64) -> ManualClock {
        ManualClock(Arc::new(AtomicI64::new(now_ms)))
    }
    pub fn advance(&self, d: Duration) {
        self.0.fetch_add(d.as_millis() as i64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A complete response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// `Content-Type`, `x-amz-crc32`, `x-amzn-RequestId` (and `x-amzn-ErrorType` for errors).
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// The error's short name (`ConditionalCheckFailedException`) for metrics, `None` on success.
    pub error: Option<&'static str>,
}

impl Response {
    fn new(status: u16, body: Vec<u8>, error_type: Option<&'static str>) -> Response {
        // The Java SDK v2 verifies this CRC32 (of the body bytes as sent) on every DynamoDB response.
        let crc = crc32fast::hash(&body);
        let mut headers = vec![
            ("content-type", CONTENT_TYPE.to_string()),
            ("x-amz-crc32", crc.to_string()),
            (
                "x-amzn-requestid",
                uuid::Uuid::new_v4().simple().to_string().to_uppercase(),
            ),
        ];
        let error = error_type.map(|t| t.rsplit('#').next().unwrap_or(t));
        if let Some(e) = error {
            headers.push(("x-amzn-errortype", e.to_string()));
        }
        Response {
            status,
            headers,
            body,
            error,
        }
    }

    /// The rendering of `err` (for errors found outside the crate, such as a failed signature check).
    pub fn error(err: &DynamoError) -> Response {
        Response::new(
            err.status(),
            err.body().to_string().into_bytes(),
            Some(err.type_name()),
        )
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub(crate) struct Inner {
    pub(crate) engine: Engine,
    pub(crate) cfg: DynamoConfig,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) state: Mutex<State>,
    /// TransactWriteItems `ClientRequestToken`s seen in the last 10 minutes: token to (payload, expiry ms).
    /// Kept in memory only: a restart forgets them, so a retry across a restart is re-evaluated.
    pub(crate) tokens: std::sync::Mutex<std::collections::HashMap<String, (String, i64)>>,
    /// Set once by the server after opening (see [`DynamoDb::set_hook`]).
    pub(crate) hook: std::sync::OnceLock<Arc<dyn ItemHook>>,
}

/// The DynamoDB front end over one engine; cheap to clone.
#[derive(Clone)]
pub struct DynamoDb {
    pub(crate) inner: Arc<Inner>,
}

impl DynamoDb {
    /// Loads the tables from the engine's metadata store.
    pub fn open(
        engine: Engine,
        cfg: DynamoConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<DynamoDb, DynamoError> {
        let state = store::load(&engine)?;
        Ok(DynamoDb {
            inner: Arc::new(Inner {
                engine,
                cfg,
                clock,
                state: Mutex::new(state),
                tokens: Default::default(),
                hook: std::sync::OnceLock::new(),
            }),
        })
    }

    /// Installs the item hook; a second call is refused (returns false), so a hook can never be swapped
    /// underneath a running request.
    pub fn set_hook(&self, hook: Arc<dyn ItemHook>) -> bool {
        self.inner.hook.set(hook).is_ok()
    }

    pub fn config(&self) -> &DynamoConfig {
        &self.inner.cfg
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    pub(crate) fn table_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:dynamodb:{}:{}:table/{name}",
            self.inner.cfg.region, self.inner.cfg.account_id
        )
    }

    /// Makes `ops` durable; the caller holds the state lock and applies the change in memory afterwards.
    pub(crate) async fn commit(&self, mut ops: Vec<MetaOp>) -> Result<(), DynamoError> {
        if ops.is_empty() {
            return Ok(());
        }
        if let Some(hook) = self.inner.hook.get() {
            let writes = item_writes(&ops);
            if !writes.is_empty() {
                ops.extend(hook.before_commit(&writes).await);
            }
        }
        self.inner
            .engine
            .meta()
            .commit(ops)
            .await
            .map_err(DynamoError::from)
    }

    /// Answers one request. `target` is the `X-Amz-Target` header value.
    pub async fn handle(&self, target: Option<&str>, body: &[u8]) -> Response {
        let op = target
            .and_then(|t| t.strip_prefix(TARGET_PREFIX))
            .unwrap_or("");
        match self.call(op, body).await {
            Ok(v) => Response::new(200, v.to_string().into_bytes(), None),
            Err(e) => {
                match &e {
                    DynamoError::StorageUnavailable(m) => {
                        tracing::debug!(operation = op, error = %m, "DynamoDB request refused");
                    }
                    DynamoError::Internal(m) => {
                        tracing::warn!(operation = op, error = %m, "DynamoDB request failed internally");
                    }
                    _ => {}
                }
                Response::new(
                    e.status(),
                    e.body().to_string().into_bytes(),
                    Some(e.type_name()),
                )
            }
        }
    }

    /// Decodes the body and runs operation `op` (the part of the target after the prefix).
    pub async fn call(&self, op: &str, body: &[u8]) -> Result<Json, DynamoError> {
        let known = ops::OPERATIONS.contains(&op);
        if !known {
            return Err(DynamoError::UnknownOperation);
        }
        let body: Json = if body.is_empty() {
            Json::Object(Default::default())
        } else {
            serde_json::from_slice(body).map_err(|e| {
                // serde_json stops at 128 levels; the only deep structure a DynamoDB request has is a nested
                // attribute value, so the answer is the one for a value nested too deeply.
                if e.to_string().starts_with("recursion limit exceeded") {
                    crate::value::too_deep()
                } else {
                    DynamoError::Serialization(
                        "Start of structure or map found where not expected".into(),
                    )
                }
            })?
        };
        if !body.is_object() {
            return Err(DynamoError::Serialization(
                "Start of structure or map found where not expected".into(),
            ));
        }
        let mut out = ops::dispatch(self, op, &body).await?;
        if let Some(hook) = self.inner.hook.get() {
            returned_items(hook.as_ref(), op, &body, &mut out).await;
        }
        Ok(out)
    }
}

/// The item writes among metadata operations (`i/<table>\0<key>` rows of [`META_TABLE`]).
fn item_writes(ops: &[MetaOp]) -> Vec<ItemWrite> {
    let table_of = |key: &[u8]| {
        let rest = key.strip_prefix(b"i/")?;
        let nul = rest.iter().position(|b| *b == 0)?;
        String::from_utf8(rest[..nul].to_vec()).ok()
    };
    ops.iter()
        .filter_map(|op| match op {
            MetaOp::Put { table, key, value } if table == META_TABLE => Some(ItemWrite {
                table: table_of(key)?,
                item: Some(serde_json::from_slice(value).ok()?),
            }),
            MetaOp::Delete { table, key } if table == META_TABLE => Some(ItemWrite {
                table: table_of(key)?,
                item: None,
            }),
            _ => None,
        })
        .collect()
}

/// Passes every item a read operation returns through the hook.
async fn returned_items(hook: &dyn ItemHook, op: &str, req: &Json, out: &mut Json) {
    let table = req.get("TableName").and_then(Json::as_str).unwrap_or("");
    match op {
        "GetItem" => {
            if let Some(item) = out.get_mut("Item") {
                hook.before_return(table, item).await;
            }
        }
        "Scan" | "Query" => {
            if let Some(Json::Array(items)) = out.get_mut("Items") {
                for item in items {
                    hook.before_return(table, item).await;
                }
            }
        }
        "BatchGetItem" => {
            if let Some(Json::Object(by_table)) = out.get_mut("Responses") {
                for (table, items) in by_table.iter_mut() {
                    for item in items.as_array_mut().into_iter().flatten() {
                        hook.before_return(table, item).await;
                    }
                }
            }
        }
        "TransactGetItems" => {
            let tables: Vec<String> = req
                .get("TransactItems")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .map(|t| {
                    t.pointer("/Get/TableName")
                        .and_then(Json::as_str)
                        .unwrap_or("")
                        .to_string()
                })
                .collect();
            if let Some(Json::Array(responses)) = out.get_mut("Responses") {
                for (r, table) in responses.iter_mut().zip(tables) {
                    if let Some(item) = r.get_mut("Item") {
                        hook.before_return(&table, item).await;
                    }
                }
            }
        }
        _ => {}
    }
}
