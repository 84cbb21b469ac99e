//! Registering a coordinator's cache as a [`MetaWatcher`] of its tables.
//!
//! The coordinators are built infallibly with the broker, but registering a watch reads the tables (the initial
//! feed) and can fail if the store cannot be read. Rather than run on with a cache that silently stops
//! following the store, a failed registration is logged and retried by the next operation that needs the cache,
//! which reports the store error to its client until it succeeds. A retry after a partial feed is harmless: the
//! caches apply `Put`s as "the row is now this", so being fed a row twice leaves the same state.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use strait_engine::{EngineError, MetaStore, MetaWatcher, Tables};

use super::lock;

pub(crate) struct Follow {
    meta: MetaStore,
    tables: &'static [&'static str],
    watcher: Arc<dyn MetaWatcher>,
    following: AtomicBool,
    /// Serializes retries, so a watcher is registered at most once.
    retry: Mutex<()>,
}

impl Follow {
    /// Registers `watcher` for `tables` of `meta` (logging a failure; see the module docs).
    pub(crate) fn new(
        meta: &MetaStore,
        tables: &'static [&'static str],
        watcher: Arc<dyn MetaWatcher>,
    ) -> Follow {
        let f = Follow {
            meta: meta.clone(),
            tables,
            watcher,
            following: AtomicBool::new(false),
            retry: Mutex::new(()),
        };
        if let Err(e) = f.ensure() {
            tracing::error!(tables = ?tables, error = %e,
                "could not load coordinator state from the metadata store; retrying on use");
        }
        f
    }

    /// `Ok` once the watcher follows its tables (registering it now if an earlier attempt failed).
    pub(crate) fn ensure(&self) -> Result<(), EngineError> {
        if self.following.load(Ordering::Acquire) {
            return Ok(());
        }
        let _retry = lock(&self.retry);
        if self.following.load(Ordering::Acquire) {
            return Ok(());
        }
        self.meta.watch(
            Tables::named(self.tables.iter().copied()),
            self.watcher.clone(),
        )?;
        self.following.store(true, Ordering::Release);
        Ok(())
    }
}
