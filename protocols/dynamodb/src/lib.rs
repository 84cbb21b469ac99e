//! Strait's DynamoDB API subset, sans I/O: the server hands it the `X-Amz-Target` value and the request body and
//! gets back a complete response (status, headers including `x-amz-crc32`, body). It serves what the Kinesis
//! Client Library needs for its lease, coordinator-state and worker-metrics tables; tables and items are persisted
//! in the engine's metadata store and mirrored in memory from its committed changes (see `README.md` for the
//! exact subset).
//!
//! Module map:
//! - [`service`]: the entry point ([`DynamoDb::handle`], which takes a [`RequestContext`] and asks its
//!   authorizer once per table named, before the operation runs) and [`Response`].
//! - `db`: [`DynamoDb`]'s state, configuration and commit path; the clock is `strait-aws`'s.
//! - [`operation`]: the operations and the ACL operation and resource each requires.
//! - [`value`], [`number`]: `AttributeValue`s and DynamoDB's decimal numbers.
//! - [`expr`]: condition/filter/key-condition, update and projection expressions: parser, evaluator, updater.
//! - [`legacy`]: `Expected`, `AttributeUpdates`, `KeyConditions`, `ScanFilter`/`QueryFilter` as expressions.
//! - [`hook`]: [`ItemHook`], through which the server observes item writes and reads.
//! - [`store`]: tables and items and their layout in the metadata store.
//! - [`cache`]: [`TableCache`], the in-memory tables and items, built only from committed metadata changes.
//! - [`error`]: [`DynamoError`] and its JSON 1.0 rendering.
//! - `ops`: the operations.

pub mod cache;
mod db;
pub mod error;
pub mod expr;
pub mod hook;
pub mod legacy;
pub mod number;
pub mod operation;
mod ops;
mod req;
pub mod service;
pub mod store;
pub mod value;

pub use cache::{CacheSnapshot, TableCache};
pub use error::{AuthFailure, CancellationReason, DynamoError};
pub use hook::{HookFuture, ItemHook, ItemWrite};
pub use operation::Operation;
pub use ops::OPERATIONS;
pub use service::{
    CONTENT_TYPE, Clock, DynamoConfig, DynamoDb, ManualClock, Response, SystemClock, TARGET_PREFIX,
    is_dynamodb_target,
};
pub use strait_aws::RequestContext;
