//! Strait's CloudWatch: `PutMetricData` in the three protocols the SDKs speak, so that clients which publish
//! metrics by default (KCL) work against Strait, and their figures show up on Strait's Prometheus endpoint.
//!
//! Sans I/O: the server hands over the request head and the body bytes ([`route`], [`CloudWatch::handle`]) and
//! writes back the [`Response`]. Authentication is the server's shared SigV4 check; its failures are rendered
//! here with [`Response::error`].
//!
//! * rpcv2-CBOR: `POST /service/GraniteServiceVersion20100801/operation/PutMetricData`, `smithy-protocol:
//!   rpc-v2-cbor` (botocore's and newer SDKs' first choice).
//! * AWS JSON 1.0: `X-Amz-Target: GraniteServiceVersion20100801.PutMetricData`.
//! * awsQuery: `POST /`, a form body with `Action=PutMetricData`, XML answers.

mod error;
mod export;
pub mod put_metric_data;
mod value;

use std::io::Read;

pub use error::{AuthFailure, CloudWatchError};
pub use export::sanitize;
use strait_access::{Decision, Operation as Acl, Resource};
use strait_aws::ErrorEnvelope;
pub use strait_aws::RequestContext;
use strait_aws::envelope::{cbor_text, xml_escape};

use crate::export::Exporter;
use crate::value::Value;

/// The awsJson1_0 target prefix and the rpcv2-CBOR service name.
pub const SERVICE: &str = "GraniteServiceVersion20100801";
/// The Smithy namespace of CloudWatch's error shapes in `__type`.
const SHAPE_NAMESPACE: &str = "com.amazonaws.cloudwatch";
const XMLNS: &str = "http://monitoring.amazonaws.com/doc/2010-08-01/";
const CBOR_PATH_PREFIX: &str = "/service/GraniteServiceVersion20100801/operation/";
/// Decompressed bodies above this are refused (CloudWatch takes 1 MB requests).
const MAX_INFLATED_BYTES: u64 = 4 * 1024 * 1024;

/// The operations implemented.
pub const OPERATIONS: [&str; 1] = ["PutMetricData"];

/// A CloudWatch operation Strait serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    PutMetricData,
}

impl Operation {
    pub const ALL: &'static [Operation] = &[Operation::PutMetricData];

    pub fn name(self) -> &'static str {
        match self {
            Operation::PutMetricData => "PutMetricData",
        }
    }

    /// The IAM action, e.g. `"cloudwatch:PutMetricData"`.
    pub fn iam_action(self) -> &'static str {
        match self {
            Operation::PutMetricData => "cloudwatch:PutMetricData",
        }
    }

    /// What the operation must be allowed to do, in Kafka's ACL terms: metrics are the node's, so every
    /// CloudWatch operation is judged on the cluster. Publishing is a write (there is no CLUSTER WRITE grant in
    /// Kafka's own APIs, so an ACL for it names exactly this).
    pub fn required(self) -> (Acl, Resource<'static>) {
        match self {
            Operation::PutMetricData => (Acl::Write, Resource::Cluster),
        }
    }
}

/// The wire protocol of a request, which is also the protocol of its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Query,
    Json,
    Cbor,
}

/// What the server knows of a request before reading its body.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestHead<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub content_type: Option<&'a str>,
    pub target: Option<&'a str>,
}

/// A request recognised as CloudWatch's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub protocol: Protocol,
    /// From the path or target; awsQuery names it in the body (`Action`), so `None` there.
    pub operation: Option<String>,
}

/// Whether a request is CloudWatch's, and in which protocol. Kinesis and DynamoDB never use these paths, targets
/// or form bodies, so this can be asked first.
pub fn route(head: &RequestHead<'_>) -> Option<Route> {
    if let Some(op) = head.path.strip_prefix(CBOR_PATH_PREFIX) {
        return Some(Route {
            protocol: Protocol::Cbor,
            operation: Some(op.to_string()),
        });
    }
    if let Some(op) = head
        .target
        .and_then(|t| t.strip_prefix(SERVICE))
        .and_then(|t| t.strip_prefix('.'))
    {
        return Some(Route {
            protocol: Protocol::Json,
            operation: Some(op.to_string()),
        });
    }
    let form = head.content_type.is_some_and(|c| {
        c.split(';').next().is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
    });
    (head.method == "POST" && head.path == "/" && form).then_some(Route {
        protocol: Protocol::Query,
        operation: None,
    })
}

/// Settings.
#[derive(Debug, Clone)]
pub struct CloudWatchConfig {
    /// Distinct Prometheus series (namespace + metric + dimensions) kept; data for more are counted in
    /// `strait_cloudwatch_dropped_total` and dropped.
    pub max_series: usize,
}

impl Default for CloudWatchConfig {
    fn default() -> Self {
        CloudWatchConfig { max_series: 10_000 }
    }
}

/// An answer: status, headers (besides the request id, which the server adds) and body.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// The operation, for the server's request counter (`unknown` if not one of [`OPERATIONS`]).
    pub operation: &'static str,
    /// The error code, if it failed.
    pub error: Option<&'static str>,
}

/// The CloudWatch service; cheap to share (`Arc` it).
#[derive(Debug)]
pub struct CloudWatch {
    exporter: Exporter,
}

impl CloudWatch {
    pub fn new(config: CloudWatchConfig) -> CloudWatch {
        CloudWatch {
            exporter: Exporter::new(config.max_series),
        }
    }

    /// Answers one authenticated request, asking `ctx`'s authorizer once the operation is known. `now_ms` bounds
    /// timestamps; `ctx.request_id` goes into awsQuery bodies.
    pub fn handle(
        &self,
        ctx: &RequestContext,
        route: &Route,
        content_encoding: Option<&str>,
        body: &[u8],
        now_ms: i64,
    ) -> Response {
        let (op, result) = self.dispatch(ctx, route, content_encoding, body, now_ms);
        match result {
            Ok(()) => Response::ok(route.protocol, op, &ctx.request_id),
            Err(e) => Response::error(route.protocol, op, &e, &ctx.request_id),
        }
    }

    fn dispatch(
        &self,
        ctx: &RequestContext,
        route: &Route,
        content_encoding: Option<&str>,
        body: &[u8],
        now_ms: i64,
    ) -> (&'static str, Result<(), CloudWatchError>) {
        let inflated;
        let body = match content_encoding.map(str::trim) {
            None | Some("") | Some("identity") => body,
            Some(e) if e.eq_ignore_ascii_case("gzip") => match gunzip(body) {
                Ok(b) => {
                    inflated = b;
                    &inflated[..]
                }
                Err(e) => return ("unknown", Err(e)),
            },
            Some(e) => {
                return (
                    "unknown",
                    Err(CloudWatchError::Serialization(format!(
                        "unsupported Content-Encoding {e}"
                    ))),
                );
            }
        };
        let decoded = match route.protocol {
            Protocol::Query => value::from_form(body),
            Protocol::Json => value::from_json(body).map(|v| (route.operation.clone(), v)),
            Protocol::Cbor => value::from_cbor(body).map(|v| (route.operation.clone(), v)),
        };
        let (action, input) = match decoded {
            Ok(d) => d,
            Err(e) => return (operation_name(route.operation.as_deref()), Err(e)),
        };
        let Some(action) = action else {
            return (
                "unknown",
                Err(CloudWatchError::MissingAction(
                    "The request must contain the parameter Action.".into(),
                )),
            );
        };
        match action.as_str() {
            "PutMetricData" => {
                let op = Operation::PutMetricData;
                if let Err(e) = authorize(ctx, op) {
                    return (op.name(), Err(e));
                }
                (op.name(), self.put_metric_data(&input, now_ms))
            }
            other => (
                "unknown",
                Err(CloudWatchError::UnknownOperation(format!(
                    "The action {other} is not valid for this web service."
                ))),
            ),
        }
    }

    fn put_metric_data(&self, input: &Value, now_ms: i64) -> Result<(), CloudWatchError> {
        if !matches!(input, Value::Map(_)) {
            return Err(CloudWatchError::Serialization(
                "the request body must be a structure".into(),
            ));
        }
        let req = put_metric_data::parse(input, now_ms as f64 / 1000.0)?;
        self.exporter.record(&req);
        Ok(())
    }
}

fn operation_name(op: Option<&str>) -> &'static str {
    OPERATIONS
        .iter()
        .copied()
        .find(|o| Some(*o) == op)
        .unwrap_or("unknown")
}

fn gunzip(body: &[u8]) -> Result<Vec<u8>, CloudWatchError> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .take(MAX_INFLATED_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| CloudWatchError::Serialization(format!("invalid gzip body: {e}")))?;
    if out.len() as u64 > MAX_INFLATED_BYTES {
        return Err(CloudWatchError::Serialization(
            "the decompressed request body is too large".into(),
        ));
    }
    Ok(out)
}

/// The one authorization question of `op`, answered as AWS does when denied.
fn authorize(ctx: &RequestContext, op: Operation) -> Result<(), CloudWatchError> {
    let (acl, resource) = op.required();
    match ctx.authorize(acl, resource, op.iam_action()) {
        Decision::Allow => Ok(()),
        // CloudWatch metrics have no ARN: AWS names the action alone.
        Decision::Deny => Err(CloudWatchError::AccessDenied(format!(
            "User: {} is not authorized to perform: {} because no identity-based policy allows the {} action",
            ctx.principal_arn("000000000000"),
            op.iam_action(),
            op.iam_action()
        ))),
    }
}

impl Response {
    fn ok(protocol: Protocol, operation: &'static str, request_id: &str) -> Response {
        let (headers, body) = match protocol {
            Protocol::Query => (
                vec![("content-type", "text/xml".to_string())],
                format!(
                    "<{operation}Response xmlns=\"{XMLNS}\"><ResponseMetadata><RequestId>{}</RequestId>\
                     </ResponseMetadata></{operation}Response>",
                    xml_escape(request_id)
                )
                .into_bytes(),
            ),
            Protocol::Json => (
                vec![("content-type", "application/x-amz-json-1.0".to_string())],
                b"{}".to_vec(),
            ),
            // An empty output structure: an empty CBOR map.
            Protocol::Cbor => (
                vec![
                    ("content-type", "application/cbor".to_string()),
                    ("smithy-protocol", "rpc-v2-cbor".to_string()),
                ],
                vec![0xa0],
            ),
        };
        Response {
            status: 200,
            headers,
            body,
            operation,
            error: None,
        }
    }

    /// An envelope decided outside the crate (a failed signature check, through
    /// [`strait_aws::SigV4Error::to_envelope`]) in `protocol`'s shape.
    pub fn from_envelope(
        protocol: Protocol,
        operation: &'static str,
        env: &ErrorEnvelope,
        request_id: &str,
    ) -> Response {
        let e = CloudWatchError::Auth(env.clone());
        Response::error(protocol, operation, &e, request_id)
    }

    /// The error answer in `protocol`'s shape.
    pub fn error(
        protocol: Protocol,
        operation: &'static str,
        e: &CloudWatchError,
        request_id: &str,
    ) -> Response {
        let message = e.to_string();
        let type_ = format!("{SHAPE_NAMESPACE}#{}", e.shape());
        // awsQueryCompatible: the JSON and CBOR SDKs read the query error code from this header.
        let query_error = ("x-amzn-query-error", format!("{};{}", e.code(), e.fault()));
        let (headers, body) = match protocol {
            Protocol::Query => (
                vec![("content-type", "text/xml".to_string())],
                strait_aws::envelope::query_error(XMLNS, e.fault(), e.code(), &message, request_id),
            ),
            Protocol::Json => (
                vec![
                    ("content-type", "application/x-amz-json-1.0".to_string()),
                    ("x-amzn-errortype", e.shape().to_string()),
                    query_error,
                ],
                serde_json::json!({ "__type": type_, "message": message })
                    .to_string()
                    .into_bytes(),
            ),
            Protocol::Cbor => {
                let mut b = vec![0xa2];
                cbor_text(&mut b, "__type");
                cbor_text(&mut b, &type_);
                cbor_text(&mut b, "message");
                cbor_text(&mut b, &message);
                (
                    vec![
                        ("content-type", "application/cbor".to_string()),
                        ("smithy-protocol", "rpc-v2-cbor".to_string()),
                        query_error,
                    ],
                    b,
                )
            }
        };
        Response {
            status: e.status(),
            headers,
            body,
            operation,
            error: Some(e.code()),
        }
    }
}
