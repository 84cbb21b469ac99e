//! The DynamoDB front end's state and its one way to change it: [`DynamoDb`] reads tables and items from a
//! [`TableCache`] that follows the engine's metadata store, and changes them only through [`DynamoDb::commit`]:
//! one metadata commit per request (so a transaction is atomic on disk too), which the cache applies once it is
//! durable and before `commit` returns. Writers are serialized by [`DynamoDb::writer`], held from reading the
//! cache through the commit, so a condition checked against the cache still holds when its write lands.
//! Operations (`ops`) work on this; the request entry point is in [`crate::service`].

use std::sync::{Arc, RwLockReadGuard};
use std::time::Duration;

use strait_engine::{Engine, MetaOp};
use tokio::sync::{Mutex, MutexGuard};

pub use strait_aws::{Clock, ManualClock, SystemClock};

use crate::cache::{CacheSnapshot, TableCache};
use crate::error::DynamoError;
use crate::hook::{ItemHook, ItemWrite};
use crate::store::{META_TABLE, State, split_item_key};

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
    /// Tables and items as committed; only the metadata watcher changes it.
    pub(crate) cache: Arc<TableCache>,
    /// Held by every write from its first read of the cache until its commit has returned (and so has been applied
    /// to the cache): two conditional writes of one key cannot both see the key absent. One lock for the store,
    /// as KCL's lease traffic needs no more.
    pub(crate) writes: Mutex<()>,
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
    /// Starts following the engine's metadata store (which first feeds the cache the stored tables and items);
    /// refuses to open over a row that does not decode.
    pub fn open(
        engine: Engine,
        cfg: DynamoConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<DynamoDb, DynamoError> {
        let cache = TableCache::follow(engine.meta())?;
        if let Some(what) = cache.corrupt() {
            return Err(DynamoError::Internal(what));
        }
        Ok(DynamoDb {
            inner: Arc::new(Inner {
                engine,
                cfg,
                clock,
                cache,
                writes: Mutex::new(()),
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

    /// Every cached table and item (what the replay tests compare).
    pub fn cached_tables(&self) -> CacheSnapshot {
        self.inner.cache.snapshot()
    }

    /// The committed state, for reading; dropped before any `.await`.
    pub(crate) fn state(&self) -> RwLockReadGuard<'_, State> {
        self.inner.cache.read()
    }

    /// The writers' lock: taken before reading what a write depends on, released after its commit.
    pub(crate) async fn writer(&self) -> MutexGuard<'_, ()> {
        self.inner.writes.lock().await
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

    /// Makes `ops` durable, with whatever the item hook adds, in one commit; when it returns the cache shows them.
    /// The caller holds [`writer`](Self::writer).
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
    let table_of = |key: &[u8]| split_item_key(key).map(|(table, _)| table);
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
