//! SubscribeToShard's HTTP side: a started [`Subscription`] becomes a streamed
//! `application/vnd.amazon.eventstream` response body, one event-stream message per data frame.
//!
//! The body pulls the subscription directly (no task, no channel): hyper polls it when the connection can take
//! more, the subscription long-polls the shard in between, and when the client goes away (HTTP/2 RST_STREAM or a
//! closed connection) hyper drops the body and with it the subscription and its hold on the consumer's shard.
//! Over HTTP/1.1 the same body goes out with chunked transfer encoding, as AWS serves boto3 and other HTTP/1.1
//! clients; over HTTP/2 it is one stream's DATA frames.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame};
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{Response, StatusCode};
use strait_kinesis::efo::{EVENT_STREAM_CONTENT_TYPE, FanOut, Subscription};
use strait_kinesis::{KinesisError, WireFormat};

use crate::http::BoxedBody;

type Pull = Pin<Box<dyn Future<Output = (Option<Bytes>, Subscription)> + Send>>;

/// A subscription as a response body.
struct EventBody {
    /// The pending read of the next message; `None` once the body has ended.
    next: Option<Pull>,
}

fn pull(mut s: Subscription) -> Pull {
    Box::pin(async move {
        let m = s.next_message().await;
        (m, s)
    })
}

impl Body for EventBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let Some(fut) = self.next.as_mut() else {
            return Poll::Ready(None);
        };
        match fut.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready((Some(msg), s)) => {
                self.next = Some(pull(s));
                Poll::Ready(Some(Ok(Frame::data(msg))))
            }
            Poll::Ready((None, _)) => {
                self.next = None;
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.next.is_none()
    }
}

static X_AMZN_REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");
static X_AMZ_ID_2: HeaderName = HeaderName::from_static("x-amz-id-2");

/// Starts a subscription: `Ok` is the 200 event-stream response, `Err` an error to render like any other operation's.
pub async fn subscribe(
    fanout: &FanOut,
    format: WireFormat,
    body: &[u8],
) -> Result<Response<BoxedBody>, KinesisError> {
    let s = fanout.subscribe(format, body).await?;
    let mut resp = Response::new(
        EventBody {
            next: Some(pull(s)),
        }
        .boxed_unsync(),
    );
    *resp.status_mut() = StatusCode::OK;
    let headers = resp.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(EVENT_STREAM_CONTENT_TYPE),
    );
    // The request-id headers every AWS response carries (the same pair as the other operations' answers).
    let id = uuid::Uuid::new_v4();
    if let Ok(v) = HeaderValue::try_from(id.to_string()) {
        headers.insert(X_AMZN_REQUEST_ID.clone(), v);
    }
    if let Ok(v) = HeaderValue::try_from(strait_kinesis::envelope::extended_request_id()) {
        headers.insert(X_AMZ_ID_2.clone(), v);
    }
    Ok(resp)
}
