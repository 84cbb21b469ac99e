//! Sans-I/O building blocks of Strait's Kinesis Data Streams API.
//!
//! This crate owns what the AWS wire format says and nothing about sockets, runtimes or storage, so the server
//! (and fuzzers, and tests) can drive it with plain values:
//!
//! - [`operation`]: the `Kinesis_20131202.<Operation>` names the API defines.
//! - [`envelope`]: routing a request head (method, `Content-Type`, `X-Amz-Target`) to an [`Operation`], with the
//!   same precedence of checks that AWS applies.
//! - [`error`]: [`KinesisError`] and its rendering into AWS's status code, `__type` and body shapes.
//!
//! ```
//! use strait_kinesis::{route, Operation, RequestHead, WireFormat};
//!
//! let head = RequestHead {
//!     method: "POST",
//!     content_type: Some("application/x-amz-json-1.1"),
//!     target: Some("Kinesis_20131202.ListStreams"),
//! };
//! let route = route(&head).expect("a well-formed Kinesis request");
//! assert_eq!(route.operation, Operation::ListStreams);
//! assert_eq!(route.format, WireFormat::Json);
//! ```

pub mod envelope;
pub mod error;
pub mod operation;

pub use envelope::{RequestHead, Route, WireFormat, route};
pub use error::{ErrorResponse, KinesisError};
pub use operation::{Operation, TARGET_PREFIX};
