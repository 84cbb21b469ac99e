//! Strait's S3 tiering: sealed segments of tiered topics are uploaded to an S3-compatible object store and,
//! once local retention lets them go, read back from it through the engine's [`RemoteStore`] seam.
//!
//! - [`S3Store`] (`store`): the engine's [`RemoteStore`] over S3: uploads a segment as a `.log` object and an
//!   `.idx` object (`idx`) under unique keys with conditional writes, and serves reads with ranged GETs through a
//!   byte-bounded cache (`cache`) of indexes and chunks.
//! - [`Uploader`] (`uploader`): the background task that uploads and hands segments over.
//! - `s3`: the client (path style, checksums only when required, timeouts and retries on every call).
//!
//! The server builds the store from its `[tiering]` settings, opens the engine with it
//! (`Engine::open_with_remote`) and spawns the uploader. See `docs/tiering.md`.
//!
//! [`RemoteStore`]: strait_engine::RemoteStore

mod cache;
mod error;
mod idx;
mod s3;
mod store;
mod uploader;

pub use error::{Result, TierError};
pub use s3::{MIN_PART_BYTES, S3Settings, StaticCredentials};
pub use store::S3Store;
pub use uploader::{MAX_BACKOFF, PassStats, TierPredicate, Uploader};
