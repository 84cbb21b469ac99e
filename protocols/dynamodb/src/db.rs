//! The DynamoDB front end's state and its one way to change it: [`DynamoDb`] holds the tables and items in memory
//! behind one lock, and [`DynamoDb::commit`] makes every change durable in the engine's metadata store (one commit
//! per request, so a transaction is atomic on disk too) before it becomes visible. Operations (`ops`) work on
//! this; the request entry point is in [`crate::service`].

use std::sync::Arc;
use std::time::Duration;

use strait_engine::{Engine, MetaOp};
use tokio::sync::Mutex;

pub use strait_aws::{Clock, ManualClock, SystemClock};

use crate::error::DynamoError;
use crate::hook::{ItemHook, ItemWrite};
use crate::store::{self, META_TABLE, State};

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
