//! The Kinesis service: configuration, clock, state, and the entry point that turns a routed request body into a
//! response body.
//!
//! The server calls [`Kinesis::handle`] with the operation (from [`crate::route`]), the wire format and the body
//! bytes; everything AWS-visible (decoding, validation, the operation, encoding, error rendering) happens here,
//! with no sockets and no files of its own (state lives in the engine's metadata store).

use std::sync::Arc;
use std::time::Duration;

use strait_access::{Decision, Resource};
pub use strait_aws::{Clock, ManualClock, RequestContext, SystemClock};
use strait_engine::Engine;

use crate::authz::{self, Subject};
use crate::codec;
use crate::error::KinesisError;
use crate::limits::Limits;
use crate::model;
use crate::operation::Operation;
use crate::ops;
use crate::store::Store;
use crate::value::Value;
use crate::wire::WireFormat;

/// Settings of the Kinesis front end (the server maps its `[aws]` config onto this).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KinesisConfig {
    /// Region in ARNs. Default `us-east-1`.
    pub region: String,
    /// Account id in ARNs and messages. Default `000000000000`.
    pub account_id: String,
    /// How long a stream stays CREATING/UPDATING/DELETING (and a consumer CREATING/DELETING) before the change
    /// is reported complete. The work itself is done at once; the delay only makes the transitions observable,
    /// as on AWS.
    pub status_delay: Duration,
    /// Enforce AWS's per-shard throughput limits with ProvisionedThroughputExceededException.
    pub enforce_limits: bool,
    /// Open shards allowed per account (DescribeLimits ShardLimit). AWS's default is 500 in most regions.
    pub shard_limit: u32,
    /// ON_DEMAND streams allowed per account. AWS's default is 50.
    pub on_demand_stream_limit: u32,
    /// How long a shard iterator stays valid after it is issued. AWS: 5 minutes; shorter values let tests see
    /// ExpiredIteratorException without waiting.
    pub iterator_ttl: Duration,
}

impl Default for KinesisConfig {
    fn default() -> Self {
        KinesisConfig {
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            status_delay: Duration::from_millis(100),
            enforce_limits: false,
            shard_limit: 500,
            on_demand_stream_limit: 50,
            iterator_ttl: Duration::from_millis(crate::tokens::ITERATOR_TTL_MS as u64),
        }
    }
}

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

pub(crate) struct Inner {
    pub(crate) engine: Engine,
    pub(crate) cfg: KinesisConfig,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) store: Store,
    pub(crate) limits: Limits,
}

/// The Kinesis front end over one engine; cheap to clone.
#[derive(Clone)]
pub struct Kinesis {
    pub(crate) inner: Arc<Inner>,
}

impl Kinesis {
    /// Loads the streams' metadata from the engine's metadata store.
    pub async fn open(
        engine: Engine,
        cfg: KinesisConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Kinesis, KinesisError> {
        let store = Store::open(&engine).await?;
        let limits = Limits::new(cfg.enforce_limits);
        let k = Kinesis {
            inner: Arc::new(Inner {
                engine,
                cfg,
                clock,
                store,
                limits,
            }),
        };
        k.recover_plans().await?;
        Ok(k)
    }

    pub fn config(&self) -> &KinesisConfig {
        &self.inner.cfg
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

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
        let mut req = codec::decode(format, body).map_err(|e| KinesisError::Serialization(e.0))?;
        self.authorize(ctx, op, &req)?;
        model::validate(op, format, &mut req)?;
        ops::dispatch(self, op, req).await
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
        let req = codec::decode(format, body).map_err(|e| KinesisError::Serialization(e.0))?;
        self.authorize(ctx, op, &req)
    }

    /// The one authorization question of `op` ([`authz::required`]), answered as AWS does when denied.
    fn authorize(
        &self,
        ctx: &RequestContext,
        op: Operation,
        req: &Value,
    ) -> Result<(), KinesisError> {
        let (acl, subject) = authz::required(op);
        let name = authz::subject_name(subject, req);
        let resource = match subject {
            Subject::Cluster => Resource::Cluster,
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
                    Subject::Cluster => {
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
