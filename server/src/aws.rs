//! The AWS-API HTTP listener. Requests are routed by `X-Amz-Target` through `strait-kinesis`.
//!
//! No Kinesis operation is implemented yet, so every request gets the error AWS itself answers with: routable
//! requests get `UnknownOperationException` (which SDKs do not retry), the rest get whatever AWS's envelope
//! checks produce.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use strait_kinesis::error::MAX_REQUEST_BYTES;
use strait_kinesis::{KinesisError, RequestHead, route};
use tokio::net::TcpListener;
use tracing::debug;

use crate::http::{self, Handler, HttpResponse};

/// Serves the AWS API on `listener` until `shutdown` resolves.
pub async fn serve(listener: TcpListener, grace: Duration, shutdown: impl Future<Output = ()>) {
    http::serve("aws", listener, Aws, grace, shutdown).await;
}

static X_AMZ_TARGET: HeaderName = HeaderName::from_static("x-amz-target");
static X_AMZN_REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");
static X_AMZN_ERROR_TYPE: HeaderName = HeaderName::from_static("x-amzn-errortype");

#[derive(Clone)]
struct Aws;

impl Handler for Aws {
    async fn call(&self, req: Request<Incoming>) -> HttpResponse {
        let header = |name| {
            req.headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        let head = RequestHead {
            method: req.method().as_str(),
            content_type: header(&CONTENT_TYPE),
            target: header(&X_AMZ_TARGET),
        };
        let format = head.response_format();
        let routed = route(&head);
        // The body is read even though no operation uses it yet: AWS refuses oversized requests before anything
        // else, and an unread body would stall the next request on an HTTP/1.1 keep-alive connection.
        let body = Limited::new(req.into_body(), MAX_REQUEST_BYTES)
            .collect()
            .await;
        let err = match (routed, body) {
            (_, Err(e)) if e.is::<LengthLimitError>() => KinesisError::RequestTooLarge,
            (routed, Err(e)) => {
                debug!(error = %e, ?routed, "reading an AWS request body failed");
                // The client is gone or broke the framing; nobody is likely to read this answer.
                return status_only(StatusCode::BAD_REQUEST);
            }
            (Ok(r), Ok(_)) => KinesisError::NotImplemented(r.operation),
            (Err(e), Ok(_)) => e,
        };
        let operation = match &err {
            KinesisError::NotImplemented(op) => op.name(),
            _ => "unknown",
        };
        metrics::counter!("strait_aws_requests_total", "operation" => operation, "error" => err.error_type())
            .increment(1);
        debug!(operation, error = %err, "AWS request refused");
        let rendered = err.to_response(format);
        let mut resp = Response::new(Full::new(Bytes::from(rendered.body)));
        *resp.status_mut() =
            StatusCode::from_u16(rendered.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = resp.headers_mut();
        // AWS request ids are UUIDs; SDKs surface them in error messages for support cases.
        if let Ok(id) = HeaderValue::try_from(uuid::Uuid::new_v4().to_string()) {
            headers.insert(X_AMZN_REQUEST_ID.clone(), id);
        }
        if let Some(t) = rendered.error_type {
            headers.insert(X_AMZN_ERROR_TYPE.clone(), HeaderValue::from_static(t));
        }
        if let Some(ct) = rendered.content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        resp
    }
}

fn status_only(status: StatusCode) -> HttpResponse {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = status;
    resp
}
