//! The AWS-API HTTP listener. Requests are routed by `X-Amz-Target` through `strait-kinesis`, authenticated
//! (SigV4, or only checked for a well-formed signature in `auth = "none"`), and answered by the Kinesis service.
//!
//! The order of checks follows AWS: an oversize body is refused first (413), then the envelope (method, content
//! type, target), then authentication, then the body itself (decoding, authorization and validation, inside the
//! service). Authentication yields the request's principal; each service takes it in a [`RequestContext`] with
//! the node's authorizer and asks it once per operation. CORS is answered around all of it, for every service on
//! the port, as AWS does: a preflight at once, `Origin`-carrying requests with the allow/expose headers.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS,
    ACCESS_CONTROL_REQUEST_METHOD, CONNECTION, CONTENT_ENCODING, CONTENT_TYPE, HOST, HeaderName,
    HeaderValue, ORIGIN,
};
use hyper::{Request, Response, StatusCode};
use strait_access::{AuthMechanism, Principal, SharedAuthorizer};
use strait_aws::sigv4::{self, AccessKey, SignedRequest};
use strait_aws::{ErrorEnvelope, RequestContext, Service, SigV4Error};
use strait_cloudwatch::{CloudWatch, CloudWatchConfig};
use strait_dynamodb::DynamoDb;
use strait_kinesis::efo::{EfoConfig, FanOut};
use strait_kinesis::error::MAX_REQUEST_BYTES;
use strait_kinesis::{Clock, Kinesis, KinesisError, Operation, RequestHead, WireFormat, route};
use tokio::net::TcpListener;
use tracing::debug;

use crate::auth_throttle::AuthThrottle;
use crate::config::{AwsAuth, AwsConfig};
use crate::http::{self, BodyError, BoxedBody, Handler, HttpLimits, Peer, full};
use crate::limits::MemoryBudget;

/// How requests are authenticated.
#[derive(Debug, Clone)]
pub enum Auth {
    /// Any well-formed signature (`aws.auth = "none"`).
    WellFormed,
    /// Signatures verified against these keys (`aws.auth = "sigv4"`); a key listed in the map acts as that
    /// principal, any other as `User:<access key id>`.
    Verify(Vec<AccessKey>, KeyPrincipals),
}

/// Access key id → the principal its requests act as (`aws.access_keys[].principal`).
pub type KeyPrincipals = std::collections::HashMap<String, Principal>;

impl From<&AwsConfig> for Auth {
    fn from(c: &AwsConfig) -> Auth {
        match c.auth {
            AwsAuth::None => Auth::WellFormed,
            AwsAuth::Sigv4 => Auth::Verify(
                c.access_keys
                    .iter()
                    .map(crate::config::AwsAccessKey::to_access_key)
                    .collect(),
                c.access_keys
                    .iter()
                    .filter_map(|k| {
                        let (kind, name) = k.principal.as_deref()?.split_once(':')?;
                        let mut p = Principal::user(name, AuthMechanism::AwsSigV4);
                        p.principal_type = kind.to_string();
                        Some((k.access_key_id.clone(), p))
                    })
                    .collect(),
            ),
        }
    }
}

/// Serves the AWS API on `listener` until `shutdown` resolves.
// Each argument is an independent service or setting the node wires in; tests pass their own.
#[allow(clippy::too_many_arguments)]
pub async fn serve(
    listener: TcpListener,
    kinesis: Kinesis,
    dynamodb: DynamoDb,
    auth: Auth,
    cloudwatch: CloudWatchConfig,
    clock: Arc<dyn Clock>,
    guards: Guards,
    grace: Duration,
    shutdown: impl Future<Output = ()>,
) {
    // SubscribeToShard streams (crate::efo) end when shutdown starts, so they do not hold the grace period.
    let fanout = FanOut::new(kinesis.clone(), EfoConfig::default());
    let stop_streams = fanout.clone();
    let shutdown = async move {
        shutdown.await;
        stop_streams.shutdown();
    };
    let handler = Aws {
        inner: Arc::new(AwsInner {
            kinesis,
            dynamodb,
            cloudwatch: CloudWatch::new(cloudwatch),
            fanout,
            auth,
            clock,
            body_read_timeout: guards.limits.body_read_timeout,
            budget: guards.budget,
            throttle: guards.throttle,
            authorizer: guards.authorizer,
            dynamo_route: guards.dynamo_route,
        }),
    };
    http::serve(
        "aws",
        listener,
        handler,
        guards.limits,
        guards.tls,
        grace,
        shutdown,
    )
    .await;
}

/// The listener's limits and the node-wide guards it shares with the other listeners.
#[derive(Debug, Clone)]
pub struct Guards {
    pub limits: HttpLimits,
    pub budget: MemoryBudget,
    pub throttle: Arc<AuthThrottle>,
    /// The node's authorizer, which every AWS operation asks (the Kafka listener asks the same one).
    pub authorizer: SharedAuthorizer,
    /// On a cluster node: where DynamoDB requests are served (the controller leader), see
    /// `replication::DynamoRouter`. `None` on a single node.
    pub dynamo_route: Option<Arc<crate::replication::DynamoRouter>>,
    /// HTTPS, or `None` for plain HTTP.
    pub tls: Option<crate::tls::ServerTls>,
}

impl Default for Guards {
    /// The configuration's defaults (in-process tests use these).
    fn default() -> Self {
        let cfg = crate::config::Config::default();
        Guards {
            limits: HttpLimits::new(&cfg.http, cfg.aws.max_connections),
            budget: MemoryBudget::new(cfg.node.max_inflight_request_bytes),
            throttle: Arc::new(AuthThrottle::new(
                Duration::from_millis(cfg.security.auth_failure_delay_ms),
                Duration::from_millis(cfg.security.auth_failure_max_delay_ms),
            )),
            authorizer: cfg.security.build_authorizer(),
            dynamo_route: None,
            tls: None,
        }
    }
}

static X_AMZ_TARGET: HeaderName = HeaderName::from_static("x-amz-target");
static X_AMZN_REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");
static X_AMZ_ID_2: HeaderName = HeaderName::from_static("x-amz-id-2");
static X_AMZN_ERROR_TYPE: HeaderName = HeaderName::from_static("x-amzn-errortype");

struct AwsInner {
    kinesis: Kinesis,
    /// The DynamoDB subset KCL needs for its lease tables, on the same port (`X-Amz-Target: DynamoDB_20120810.*`).
    dynamodb: DynamoDb,
    /// CloudWatch `PutMetricData` (KCL publishes metrics by default), on the same port; figures go to `/metrics`.
    cloudwatch: CloudWatch,
    fanout: FanOut,
    auth: Auth,
    clock: Arc<dyn Clock>,
    body_read_timeout: Duration,
    /// In-flight request bytes, shared with the other listeners.
    budget: MemoryBudget,
    throttle: Arc<AuthThrottle>,
    authorizer: SharedAuthorizer,
    dynamo_route: Option<Arc<crate::replication::DynamoRouter>>,
}

/// The AWS-API handler; cheap to clone.
#[derive(Clone)]
pub struct Aws {
    inner: Arc<AwsInner>,
}

impl Handler<BoxedBody> for Aws {
    /// Answers one request, with AWS's CORS handling around every service on the port: a request carrying
    /// `Origin` gets `access-control-allow-origin: *` and the exposed headers; an `OPTIONS` preflight with
    /// `Origin` is answered 200 at once, echoing what it asks for (as kinesalite's suite, run against AWS, pins).
    async fn call(&self, req: Request<Incoming>) -> Response<BoxedBody> {
        let origin = req.headers().contains_key(ORIGIN);
        if origin && req.method() == hyper::Method::OPTIONS {
            return preflight(req.headers());
        }
        let mut resp = STARTED
            .scope(std::time::Instant::now(), self.answer(req))
            .await;
        if origin {
            let headers = resp.headers_mut();
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
            headers.insert(
                ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSED_HEADERS),
            );
        }
        resp
    }
}

/// The response headers AWS lets browsers read.
const EXPOSED_HEADERS: &str =
    "x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,x-amzn-ErrorMessage,Date";

/// How long browsers may cache a preflight answer (AWS's two days).
const PREFLIGHT_MAX_AGE: &str = "172800";

/// AWS's answer to a CORS preflight: 200, empty, no content type, allowing exactly the headers and method asked
/// for, any origin. No `x-amz-id-2`, unlike every other answer.
fn preflight(req: &hyper::HeaderMap) -> Response<BoxedBody> {
    let mut resp = Response::new(full(Bytes::new()));
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::try_from(uuid::Uuid::new_v4().to_string()) {
        headers.insert(X_AMZN_REQUEST_ID.clone(), v);
    }
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    if let Some(v) = req.get(ACCESS_CONTROL_REQUEST_HEADERS) {
        headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, v.clone());
    }
    if let Some(v) = req.get(ACCESS_CONTROL_REQUEST_METHOD) {
        headers.insert(ACCESS_CONTROL_ALLOW_METHODS, v.clone());
    }
    headers.insert(
        ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(PREFLIGHT_MAX_AGE),
    );
    resp
}

impl Aws {
    async fn answer(&self, req: Request<Incoming>) -> Response<BoxedBody> {
        let (parts, body) = req.into_parts();
        let peer_addr = parts.extensions.get::<Peer>().map(|p| p.0);
        let peer = peer_addr.map(|p| p.ip());
        let header = |name: &HeaderName| {
            parts
                .headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        let content_type = header(&CONTENT_TYPE);
        let target = header(&X_AMZ_TARGET);
        let cloudwatch = strait_cloudwatch::route(&strait_cloudwatch::RequestHead {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            content_type,
            target,
        });
        // Until the body is read, errors answer in the format a request with a body would get.
        let format = RequestHead {
            method: parts.method.as_str(),
            content_type,
            target,
            body_empty: false,
        }
        .response_format();
        // The body is read before anything else is answered: AWS refuses oversized requests first, and an unread
        // body would stall the next request on an HTTP/1.1 keep-alive connection.
        // The bytes stay reserved in the node's in-flight budget until this request is answered.
        let read = http::read_body(
            body,
            MAX_REQUEST_BYTES,
            self.inner.body_read_timeout,
            &self.inner.budget,
        )
        .await;
        let (body, _reserved) = match read {
            Ok(read) => read,
            Err(BodyError::TooLarge(_)) => {
                return self.refuse("unknown", &KinesisError::RequestTooLarge, format);
            }
            Err(BodyError::TimedOut(t)) => {
                crate::log_limited!(info, "http_body_timeout", ?peer, timeout = ?t,
                    "closing an AWS connection: request body not received in time (http.body_read_timeout_ms)");
                // 408 and close: the rest of the body may still be trickling in.
                let mut resp = Response::new(full(Bytes::new()));
                *resp.status_mut() = StatusCode::REQUEST_TIMEOUT;
                resp.headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
                return resp;
            }
            Err(BodyError::Read(e)) => {
                debug!(error = %e, "reading an AWS request body failed");
                // The client is gone or broke the framing; nobody is likely to read this answer.
                let mut resp = Response::new(full(Bytes::new()));
                *resp.status_mut() = StatusCode::BAD_REQUEST;
                return resp;
            }
        };
        // CloudWatch's paths, targets and form bodies are never Kinesis's or DynamoDB's, so it is asked first. A
        // form-encoded body is CloudWatch's (awsQuery) only when it names an action: SigV4 signers such as aws4
        // default a body-carrying request to the form content type, and Kinesis answers those itself.
        if let Some(r) = cloudwatch
            && (!matches!(r.protocol, strait_cloudwatch::Protocol::Query) || names_action(&body))
        {
            return self.cloudwatch(&parts, &r, &body, peer_addr).await;
        }
        let head = RequestHead {
            method: parts.method.as_str(),
            content_type,
            target,
            body_empty: body.is_empty(),
        };
        let format = head.response_format();
        let routed = route(&head);
        // KCL's lease, coordinator-state and worker-metrics tables: DynamoDB requests share the port and are told
        // apart by their target; they are authenticated like Kinesis requests but answered in DynamoDB's JSON 1.0.
        if let Some(target) = head.target
            && strait_dynamodb::is_dynamodb_target(target)
        {
            return self.dynamodb(&parts, target, &body, peer_addr).await;
        }
        let route = match routed {
            Ok(r) => r,
            Err(e) => return self.refuse("unknown", &e, format),
        };
        let op = route.operation.name();
        let id = uuid::Uuid::new_v4();
        let ctx = match self
            .authenticate(&parts, &body, Service::Kinesis, peer_addr, id.to_string())
            .await
        {
            Ok(ctx) => ctx,
            Err(env) => {
                let r = strait_kinesis::error::from_envelope(&env, format);
                count(op, r.error_type);
                return respond(
                    id,
                    r.status,
                    r.content_type,
                    r.error_type,
                    Bytes::from(r.body),
                );
            }
        };
        if route.operation == Operation::SubscribeToShard {
            // An event stream (crate::efo), authorized here as the service cannot run it; errors found before it
            // starts are ordinary error responses.
            let checked =
                self.inner
                    .kinesis
                    .authorize_request(&ctx, route.operation, route.format, &body);
            if let Err(e) = checked {
                return self.refuse(op, &e, route.format);
            }
            return match crate::efo::subscribe(&self.inner.fanout, route.format, &body).await {
                Ok(resp) => {
                    count(op, None);
                    resp
                }
                Err(e) => self.refuse(op, &e, route.format),
            };
        }
        let r = self
            .inner
            .kinesis
            .handle(&ctx, route.operation, route.format, &body)
            .await;
        count(op, r.error_type);
        respond(
            id,
            r.status,
            r.content_type,
            r.error_type,
            Bytes::from(r.body),
        )
    }
}

impl Aws {
    /// Authenticates the request (see [`Aws::check_signature`]) and returns its context, or the failure as
    /// `service` tells it (the one mapping, [`SigV4Error::to_envelope`]). A failed check against configured keys
    /// is counted and answered only after the throttle's delay for the client's address (crate::auth_throttle);
    /// with `auth = "none"` there is no secret to guess, so nothing is delayed.
    async fn authenticate(
        &self,
        parts: &hyper::http::request::Parts,
        body: &[u8],
        service: Service,
        peer: Option<std::net::SocketAddr>,
        request_id: String,
    ) -> Result<RequestContext, ErrorEnvelope> {
        match self.check_signature(parts, body, service) {
            Ok(principal) => Ok(RequestContext::new(
                principal,
                peer,
                request_id,
                self.inner.authorizer.clone(),
            )),
            Err(e) => {
                if let Auth::Verify(..) = &self.inner.auth {
                    let ip = peer
                        .map_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |p| {
                            p.ip()
                        });
                    self.inner.throttle.failed("aws", ip, e.error_type()).await;
                }
                debug!(service = ?service, error = %e, "AWS request not authenticated");
                Err(e.to_envelope(service, self.dev_mode()))
            }
        }
    }

    /// Checks the request's signature: in `sigv4` mode for the node's region (`aws.region`) and `service`, yielding
    /// the signer; in `none` mode only its form (any region and service, as emulators accept), yielding the
    /// anonymous principal.
    fn check_signature(
        &self,
        parts: &hyper::http::request::Parts,
        body: &[u8],
        service: Service,
    ) -> Result<Principal, SigV4Error> {
        let mut headers: Vec<(&str, &str)> = parts
            .headers
            .iter()
            .filter_map(|(n, v)| v.to_str().ok().map(|v| (n.as_str(), v)))
            .collect();
        // HTTP/2 carries the host in `:authority`, which SDKs sign as `host`.
        let authority = parts.uri.authority().map(|a| a.as_str().to_string());
        if let Some(a) = authority.as_deref() {
            if !parts.headers.contains_key(HOST) {
                headers.push(("host", a));
            }
            // Some HTTP/2 clients sign the pseudo-header itself.
            headers.push((":authority", a));
        }
        let req = SignedRequest {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or_default(),
            headers: &headers,
            body,
        };
        match &self.inner.auth {
            Auth::WellFormed => sigv4::parse(&req).map(|_| Principal::anonymous()),
            Auth::Verify(keys, principals) => {
                let scope = sigv4::Scope {
                    region: &self.inner.kinesis.config().region,
                    service: service.signing_name(),
                };
                sigv4::verify(&req, keys, scope, self.inner.clock.now_ms())
                    .map(|signer| principals.get(&signer.name).cloned().unwrap_or(signer))
            }
        }
    }

    /// Authenticates and answers one DynamoDB request; the crate renders every outcome, `x-amz-crc32` included.
    async fn dynamodb(
        &self,
        parts: &hyper::http::request::Parts,
        target: &str,
        body: &[u8],
        peer: Option<std::net::SocketAddr>,
    ) -> Response<BoxedBody> {
        // DynamoDB's responses carry their own request id.
        let r = match self
            .authenticate(parts, body, Service::DynamoDb, peer, String::new())
            .await
        {
            Ok(ctx) => {
                // On a cluster, authenticated here and served where conditional writes are serialised.
                let route = self.inner.dynamo_route.as_ref();
                match route.and_then(|r| r.elsewhere().map(|to| (r, to))) {
                    Some((r, to)) => r.forward(to, &ctx, target, body).await,
                    None => self.inner.dynamodb.handle(&ctx, Some(target), body).await,
                }
            }
            Err(env) => strait_dynamodb::Response::from_envelope(&env),
        };
        let op = target
            .strip_prefix(strait_dynamodb::TARGET_PREFIX)
            .and_then(|o| {
                strait_dynamodb::OPERATIONS
                    .iter()
                    .copied()
                    .find(|k| *k == o)
            })
            .unwrap_or("unknown");
        count(op, r.error);
        let mut resp = Response::new(full(Bytes::from(r.body)));
        *resp.status_mut() =
            StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        for (name, value) in r.headers {
            if let Ok(v) = HeaderValue::try_from(value) {
                resp.headers_mut().insert(HeaderName::from_static(name), v);
            }
        }
        resp
    }

    /// Authenticates and answers one CloudWatch request, in the protocol it came in.
    async fn cloudwatch(
        &self,
        parts: &hyper::http::request::Parts,
        route: &strait_cloudwatch::Route,
        body: &[u8],
        peer: Option<std::net::SocketAddr>,
    ) -> Response<BoxedBody> {
        let id = uuid::Uuid::new_v4();
        let request_id = id.to_string();
        let r = match self
            .authenticate(parts, body, Service::CloudWatch, peer, request_id.clone())
            .await
        {
            Ok(ctx) => {
                let encoding = parts
                    .headers
                    .get(&CONTENT_ENCODING)
                    .and_then(|v| v.to_str().ok());
                self.inner
                    .cloudwatch
                    .handle(&ctx, route, encoding, body, self.inner.clock.now_ms())
            }
            Err(env) => strait_cloudwatch::Response::from_envelope(
                route.protocol,
                "unknown",
                &env,
                &request_id,
            ),
        };
        count(r.operation, r.error);
        let mut resp = Response::new(full(Bytes::from(r.body)));
        *resp.status_mut() =
            StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = resp.headers_mut();
        if let Ok(v) = HeaderValue::try_from(request_id) {
            headers.insert(X_AMZN_REQUEST_ID.clone(), v);
        }
        for (name, value) in r.headers {
            if let Ok(v) = HeaderValue::try_from(value) {
                headers.insert(HeaderName::from_static(name), v);
            }
        }
        resp
    }

    fn refuse(
        &self,
        operation: &'static str,
        err: &KinesisError,
        format: WireFormat,
    ) -> Response<BoxedBody> {
        debug!(operation, error = %err, "AWS request refused");
        let r = err.to_response(format);
        count(operation, r.error_type);
        respond(
            uuid::Uuid::new_v4(),
            r.status,
            r.content_type,
            r.error_type,
            Bytes::from(r.body),
        )
    }
}

impl Aws {
    /// `aws.auth = "none"`: any keys are accepted, which error messages may tell the user.
    fn dev_mode(&self) -> bool {
        matches!(self.inner.auth, Auth::WellFormed)
    }
}

/// What a request without an `Authorization` header is told when any keys would do (see `strait-aws`).
pub use strait_aws::sigv4::DEV_MISSING_TOKEN_MESSAGE;

tokio::task_local! {
    /// When the request being answered arrived, for its latency in [`count`]: one scope around each request
    /// instead of a start time threaded through every path that answers it.
    static STARTED: std::time::Instant;
}

/// Counts an answered request and records its latency, by operation (SubscribeToShard: until its event stream
/// starts).
fn count(operation: &'static str, error: Option<&'static str>) {
    metrics::counter!(
        "strait_aws_requests_total",
        "operation" => operation,
        "error" => error.unwrap_or("none")
    )
    .increment(1);
    if let Ok(started) = STARTED.try_with(|s| *s) {
        metrics::histogram!("strait_aws_request_seconds", "operation" => operation)
            .record(started.elapsed().as_secs_f64());
    }
}

/// Whether a form-encoded body has an `Action` parameter, as every awsQuery request does.
fn names_action(body: &[u8]) -> bool {
    body.split(|b| *b == b'&')
        .any(|pair| pair.starts_with(b"Action="))
}

/// A Kinesis-style answer under request id `id`.
fn respond(
    id: uuid::Uuid,
    status: u16,
    content_type: Option<&'static str>,
    error_type: Option<&'static str>,
    body: Bytes,
) -> Response<BoxedBody> {
    let mut resp = Response::new(full(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers_mut();
    // AWS request ids are UUIDs; SDKs surface them in error messages for support cases.
    if let Ok(v) = HeaderValue::try_from(id.to_string()) {
        headers.insert(X_AMZN_REQUEST_ID.clone(), v);
    }
    if let Ok(v) = HeaderValue::try_from(strait_kinesis::envelope::extended_request_id()) {
        headers.insert(X_AMZ_ID_2.clone(), v);
    }
    if let Some(t) = error_type {
        headers.insert(X_AMZN_ERROR_TYPE.clone(), HeaderValue::from_static(t));
    }
    if let Some(ct) = content_type {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    resp
}
