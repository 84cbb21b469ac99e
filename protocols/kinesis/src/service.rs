//! The Kinesis service's entry point: turns a routed request body into a response body. The front end's state
//! and configuration are in [`crate::state`], the clock in [`crate::clock`].
//!
//! The server calls [`Kinesis::handle`] with the operation (from [`crate::route`]), the wire format and the body
//! bytes; everything AWS-visible (decoding, validation, the operation, encoding, error rendering) happens here,
//! with no sockets and no files of its own (state lives in the engine's metadata store).

use strait_access::{Decision, Resource};
pub use strait_aws::RequestContext;

use crate::authz::{self, Subject};
use crate::codec;
use crate::error::KinesisError;
use crate::model;
use crate::operation::Operation;
use crate::ops;
use crate::value::Value;
use crate::wire::WireFormat;

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
    /// Answers one request: decodes and validates `body`, asks the authorizer, runs the operation, renders the
    /// result or the error in the request's format.
    pub async fn handle(
        &self,
        ctx: &RequestContext,
        op: Operation,
        format: WireFormat,
        body: &[u8],
    ) -> Response {
        match self.call(ctx, op, format, body).await {
            // Operations without an output shape answer an empty body (in the request's content type).
            Ok(_) if !model::has_output(op) => Response {
                status: 200,
                content_type: Some(format.content_type()),
                error_type: None,
                body: Vec::new(),
            },
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

    /// Decodes the body, asks the authorizer, validates and runs an operation, returning the response document.
    ///
    /// Authorization comes after decoding (the stream is named in the body) and before validation, so a caller
    /// who may not act on a stream learns nothing more about the request than that.
    pub async fn call(
        &self,
        ctx: &RequestContext,
        op: Operation,
        format: WireFormat,
        body: &[u8],
    ) -> Result<Value, KinesisError> {
        let mut req = codec::decode(format, body)?;
        self.authorize(ctx, op, &req)?;
        model::validate(op, format, &mut req)?;
        ops::dispatch(self, op, req, &|name| self.visible(ctx, name)).await
    }

    /// Asks the authorizer about `op` on what `body` names, for callers that run the operation themselves (the
    /// SubscribeToShard event stream).
    pub fn authorize_request(
        &self,
        ctx: &RequestContext,
        op: Operation,
        format: WireFormat,
        body: &[u8],
    ) -> Result<(), KinesisError> {
        let req = codec::decode(format, body)?;
        self.authorize(ctx, op, &req)
    }

    /// The authorization of `op` ([`authz::required`], [`authz::instead`], [`authz::also`]), answered as AWS
    /// does when denied. A listing ([`Subject::Listed`]) is filtered by the operation instead.
    fn authorize(
        &self,
        ctx: &RequestContext,
        op: Operation,
        req: &Value,
    ) -> Result<(), KinesisError> {
        let (acl, subject) = authz::required(op);
        if subject == Subject::Listed {
            return Ok(());
        }
        if let Some((acl, subject)) = authz::instead(op)
            && self.check(ctx, op, acl, subject, req).is_ok()
        {
            return Ok(());
        }
        self.check(ctx, op, acl, subject, req)?;
        match authz::also(op) {
            Some((acl, subject)) => self.check(ctx, op, acl, subject, req),
            None => Ok(()),
        }
    }

    /// Whether `ctx` may see stream `name` in a listing (TOPIC DESCRIBE).
    pub(crate) fn visible(&self, ctx: &RequestContext, name: &str) -> bool {
        ctx.authorize(
            strait_access::Operation::Describe,
            Resource::Topic(name),
            Operation::ListStreams.iam_action(),
        ) == Decision::Allow
    }

    /// One authorization question: `acl` on the `subject` `req` names.
    fn check(
        &self,
        ctx: &RequestContext,
        op: Operation,
        acl: strait_access::Operation,
        subject: Subject,
        req: &Value,
    ) -> Result<(), KinesisError> {
        let mut name = authz::subject_name(subject, req);
        // GetRecords names its stream only inside the iterator (authenticated by the node's key).
        if subject == Subject::Stream
            && name.is_empty()
            && let Some(token) = req.str("ShardIterator")
        {
            match crate::tokens::IteratorToken::decode(self.inner.store.secret(), token) {
                Ok(it) => name = it.stream,
                // An iterator this node did not issue reads nothing: the operation refuses it as AWS does
                // ("Invalid ShardIterator."), so there is nothing to authorize.
                Err(_) => return Ok(()),
            }
        }
        let resource = match subject {
            Subject::Cluster | Subject::Listed => Resource::Cluster,
            Subject::Stream => Resource::Topic(&name),
            Subject::Consumer => Resource::Group(&name),
        };
        match ctx.authorize(acl, resource, op.iam_action()) {
            Decision::Allow => Ok(()),
            Decision::Deny => {
                let cfg = &self.inner.cfg;
                let stream_arn = |s: &str| {
                    format!(
                        "arn:aws:kinesis:{}:{}:stream/{s}",
                        cfg.region, cfg.account_id
                    )
                };
                let arn = match subject {
                    Subject::Cluster | Subject::Listed => {
                        format!("arn:aws:kinesis:{}:{}:*", cfg.region, cfg.account_id)
                    }
                    Subject::Stream => stream_arn(&name),
                    Subject::Consumer => {
                        req.str("ConsumerARN")
                            .map(str::to_string)
                            .unwrap_or_else(|| {
                                let stream = authz::subject_name(Subject::Stream, req);
                                format!("{}/consumer/{name}", stream_arn(&stream))
                            })
                    }
                };
                Err(KinesisError::NotAuthorized(ctx.denied_message(
                    &cfg.account_id,
                    op.iam_action(),
                    &arn,
                )))
            }
        }
    }
}
