//! What Strait's AWS services (Kinesis, DynamoDB, CloudWatch) share, sans I/O. Depends on no engine, protocol
//! crate or server, so each service crate and the server can use it.
//!
//! Module map:
//! - [`sigv4`]: verification of AWS Signature Version 4 (header and presigned-query forms), yielding a
//!   [`strait_access::Principal`]; [`SigV4Error`] and its one mapping onto each service's error envelope.
//! - [`context`]: [`RequestContext`], which every service entry point takes (principal, peer, request id,
//!   authorizer).
//! - [`clock`]: the injectable [`Clock`]; [`time`]: AWS's date forms.
//! - [`envelope`]: AWS error bodies (JSON `__type`/`message`, CBOR, awsQuery XML).
//! - [`msk_iam`]: Kafka's AWS identities (SASL `AWS_MSK_IAM`, the MSK signer token in OAUTHBEARER), verified
//!   by [`sigv4`] against the same access keys.
//! - [`operations`]: the `aws_operations!` macro behind each service's `Operation` enum.
//! - [`cbor`]: the bounded CBOR decoder (into a neutral tree each service maps onto its model) and the writer
//!   primitives.

pub mod cbor;
pub mod clock;
pub mod context;
pub mod envelope;
pub mod msk_iam;
pub mod operations;
pub mod sigv4;
pub mod time;

pub use clock::{Clock, ManualClock, SystemClock};
pub use context::RequestContext;
pub use envelope::ErrorEnvelope;
pub use sigv4::{AccessKey, AuthFailure, Service, SigV4Error};
