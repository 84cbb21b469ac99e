//! The Kinesis service's entry point: turns a routed request body into a response body. The front end's state
//! and configuration are in [`crate::state`], the clock in [`crate::clock`].
//!
//! The server calls [`Kinesis::handle`] with the operation (from [`crate::route`]), the wire format and the body
//! bytes; everything AWS-visible (decoding, validation, the operation, encoding, error rendering) happens here,
//! with no sockets and no files of its own (state lives in the engine's metadata store).

use crate::codec;
use crate::envelope::WireFormat;
use crate::error::KinesisError;
use crate::model;
use crate::operation::Operation;
use crate::ops;
use crate::value::Value;

pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use crate::state::{Kinesis, KinesisConfig};

/// A rendered answer: status, body, and the headers AWS sets that depend on the outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// `Content-Type` of `body`, when it has one.
    pub content_type: Option<&'static str>,
    /// `x-amzn-ErrorType` for errors.
    pub error_type: Option<&'static str>,
    pub body: Vec<u8>,
}

impl Response {
    fn ok(format: WireFormat, v: &Value) -> Response {
        Response {
            status: 200,
            content_type: Some(format.content_type()),
            error_type: None,
            body: codec::encode(format, v),
        }
    }

    /// The rendering of `err` for a request in `format`.
    pub fn error(err: &KinesisError, format: WireFormat) -> Response {
        let r = err.to_response(format);
        Response {
            status: r.status,
            content_type: r.content_type,
            error_type: r.error_type,
            body: r.body,
        }
    }
}

impl Kinesis {
    /// Answers one request: decodes and validates `body`, runs the operation, renders the result or the error in
    /// the request's format.
    pub async fn handle(&self, op: Operation, format: WireFormat, body: &[u8]) -> Response {
        match self.call(op, format, body).await {
            Ok(v) => Response::ok(format, &v),
            Err(e) => {
                match &e {
                    KinesisError::StorageUnavailable(m) => {
                        tracing::debug!(operation = op.name(), error = %m, "Kinesis request refused");
                    }
                    KinesisError::Internal(m) => {
                        tracing::warn!(operation = op.name(), error = %m, "Kinesis request failed internally");
                    }
                    _ => {}
                }
                Response::error(&e, format)
            }
        }
    }

    /// Decodes, validates and runs an operation, returning the response document.
    pub async fn call(
        &self,
        op: Operation,
        format: WireFormat,
        body: &[u8],
    ) -> Result<Value, KinesisError> {
        let mut req = codec::decode(format, body).map_err(|e| KinesisError::Serialization(e.0))?;
        model::validate(op, format, &mut req)?;
        ops::dispatch(self, op, req).await
    }
}
