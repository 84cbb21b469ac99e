//! A hook through which the server observes the items this front end writes and returns, without this crate
//! knowing why. The server uses it to keep KCL lease checkpoints and Kafka consumer-group offsets one thing
//! (the `strait-kcl-bridge` crate); the crate itself attaches no meaning to any table.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value as Json;
use strait_engine::MetaOp;

/// A boxed future borrowed from the hook.
pub type HookFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One item a request is about to write.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemWrite {
    pub table: String,
    /// The item as it will be stored (DynamoDB JSON); `None` when it is deleted.
    pub item: Option<Json>,
}

pub trait ItemHook: Send + Sync + 'static {
    /// Called with the items of one request before they are committed; the returned metadata operations are
    /// committed in the same transaction, so they are durable exactly when the items are. A hook that cannot work
    /// out what to add returns nothing (and logs why) rather than failing the request.
    fn before_commit<'a>(&'a self, writes: &'a [ItemWrite]) -> HookFuture<'a, Vec<MetaOp>>;

    /// Called with each item a read (GetItem, BatchGetItem, TransactGetItems, Query, Scan) is about to return,
    /// in DynamoDB JSON after projection; it may change attribute values in place.
    fn before_return<'a>(&'a self, table: &'a str, item: &'a mut Json) -> HookFuture<'a, ()>;
}
