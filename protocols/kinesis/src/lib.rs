//! Strait's Kinesis Data Streams API, sans I/O: the server hands it a routed request (operation, wire format,
//! body bytes) and gets back a response to send; state lives in the engine and its metadata store.
//!
//! Module map:
//! - [`operation`], [`envelope`]: the `Kinesis_20131202.<Operation>` names and routing a request head, with AWS's
//!   precedence of checks.
//! - [`codec`]: AWS JSON 1.1 and CBOR bodies to and from a format-neutral [`Value`].
//! - [`model`]: validation against the service model (generated from botocore's), with AWS's
//!   `SerializationException` / `ValidationException` messages.
//! - [`authz`]: the ACL operation and resource each operation requires; [`Kinesis::handle`] asks the request's
//!   authorizer ([`RequestContext`]) once, before the operation runs.
//! - [`wire`]: the two body formats.
//! - [`error`]: [`KinesisError`] and its rendering into AWS's status codes, `__type` and bodies.
//! - [`service`]: the entry point ([`Kinesis::handle`]); [`state`]: [`Kinesis`] itself, its configuration and
//!   shared state; [`clock`]: the injectable clock (`strait-aws`'s).
//! - `store`: stream metadata (status, shard lineage, tags, consumers, ...) persisted in the engine's
//!   metadata store; `ops`: one module per operation.
//! - [`read`], [`tokens`], [`consumers`]: reading shards, stateless iterators and pagination tokens, and the
//!   enhanced fan-out registry, public for the SubscribeToShard event stream.
//!
//! ```
//! use strait_kinesis::{route, Operation, RequestHead, WireFormat};
//!
//! let head = RequestHead {
//!     method: "POST",
//!     content_type: Some("application/x-amz-json-1.1"),
//!     target: Some("Kinesis_20131202.ListStreams"),
//!     body_empty: false,
//! };
//! let route = route(&head).expect("a well-formed Kinesis request");
//! assert_eq!(route.operation, Operation::ListStreams);
//! assert_eq!(route.format, WireFormat::Json);
//! ```

pub mod arn;
pub mod authz;
mod child_shards;
pub mod clock;
pub mod codec;
pub mod consumers;
pub mod efo;
pub mod envelope;
pub mod error;
pub mod limits;
pub mod model;
pub mod operation;
mod ops;
pub mod read;
pub mod service;
mod start;
pub mod state;
pub mod store;
mod streams;
pub mod time;
pub mod tokens;
pub mod value;
pub mod wire;

pub use child_shards::child_shard_value;
pub use envelope::{RequestHead, Route, WireFormat, route};
pub use error::{ErrorResponse, KinesisError};
pub use operation::{Operation, TARGET_PREFIX};
pub use service::{
    Clock, Kinesis, KinesisConfig, ManualClock, RequestContext, Response, SystemClock,
};
pub use value::Value;
