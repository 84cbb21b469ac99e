//! Kinesis API errors and the exact shapes AWS answers them with.
//!
//! AWS is not uniform here: modelled exceptions are `400` with a `{"__type", "message"}` body in the request's
//! own format (JSON or CBOR), but requests it cannot route at all get `403`/`404` with an XML body, and the
//! legacy `application/json` content type gets a `404` with Coral's 1.0 envelope around the error. SDKs key retries and error types off
//! these shapes, so each variant renders exactly one of them. The shapes were checked by kinesalite's test suite
//! against AWS itself.

use strait_aws::envelope::{cbor_error, json_error};
use strait_aws::{ErrorEnvelope, SigV4Error};

use crate::operation::Operation;
use crate::wire::WireFormat;

/// Largest request body accepted; larger ones get `413`. AWS accepts records of up to 10 MiB (and 10 MiB of data
/// per PutRecords call) since `MaxRecordSizeInKiB` exists; in JSON that payload is base64, 4/3 of its size, so the
/// body limit leaves room for a full 10 MiB of data plus keys and framing. The 10 MiB data limit itself is
/// enforced per operation, with AWS's errors.
pub const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024 / 3 * 4 + 1024 * 1024;

/// Why a Kinesis request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KinesisError {
    /// Not a `POST`, or neither the content type nor the target identify an operation.
    #[error("Unable to determine service/operation name to be authorized")]
    AccessDenied,
    /// The authorizer refused the operation; the message is AWS's ("User: … is not authorized to perform: …").
    #[error("{0}")]
    NotAuthorized(String),
    /// A target with an unknown service or operation, or no target at all.
    #[error("unknown operation {}", .target.as_deref().unwrap_or("(no X-Amz-Target header)"))]
    UnknownOperation { target: Option<String> },
    /// A known operation that this version of Strait does not serve; AWS's answer for an operation it does not
    /// offer is `UnknownOperationException`, which SDKs do not retry.
    #[error("operation {0} is not implemented by Strait yet")]
    NotImplemented(Operation),
    /// A target was given but the content type is neither AWS JSON 1.1, CBOR 1.1 nor legacy JSON.
    #[error("unsupported content type for a Kinesis request")]
    UnsupportedContentType,
    /// `Content-Type: application/json`, the deprecated AWS JSON 1.0 envelope, which Kinesis no longer serves.
    #[error("the application/json protocol is not supported; use application/x-amz-json-1.1")]
    DeprecatedJsonProtocol,
    /// No `Authorization` header and no presigned query parameters.
    #[error("Missing Authentication Token")]
    MissingAuthenticationToken,
    /// The body exceeds [`MAX_REQUEST_BYTES`].
    #[error("request body exceeds {MAX_REQUEST_BYTES} bytes")]
    RequestTooLarge,
    /// The body is not valid JSON/CBOR, or a member has the wrong type.
    #[error("{0}")]
    Serialization(String),
    /// A request with no body at all for a known operation (except CBOR, whose empty body is an empty
    /// structure): AWS answers a bare `SerializationException`, with no message.
    #[error("the request has no body")]
    EmptyBody,
    /// The body cannot be decoded as JSON/CBOR or is not a structure; AWS answers a bare
    /// `SerializationException`. The reason is only logged.
    #[error("unreadable request body: {0}")]
    UnreadableBody(String),
    /// Model constraints failed; the message lists every failure in AWS's format.
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    ResourceInUse(String),
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    ExpiredIterator(String),
    #[error("{0}")]
    ExpiredNextToken(String),
    #[error("{0}")]
    ProvisionedThroughputExceeded(String),
    /// The `Authorization` header is present but lacks a part (Credential, SignedHeaders, Signature, a date).
    #[error("{0}")]
    IncompleteSignature(String),
    /// The signature does not match, or the request time is outside the allowed skew.
    #[error("{0}")]
    InvalidSignature(String),
    /// The access key id is not one of the configured keys.
    #[error("The security token included in the request is invalid.")]
    UnrecognizedClient,
    /// Strait failed (corrupt metadata, a bug). AWS answers `InternalFailure` with status 500.
    #[error("{0}")]
    Internal(String),
    /// The node's storage failed (disk full, I/O error) and is recovering: answered as `InternalFailure` (500),
    /// which SDKs retry, with the reason. The engine logs the outage once, so requests are not logged again.
    #[error("The node's storage is unavailable: {0}")]
    StorageUnavailable(String),
}

/// A rendered error: everything the HTTP layer needs besides the request id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorResponse {
    pub status: u16,
    /// `Content-Type` of `body`; `None` for AWS's untyped XML answers and empty bodies.
    pub content_type: Option<&'static str>,
    /// Value for the `x-amzn-ErrorType` header, when AWS sends one.
    pub error_type: Option<&'static str>,
    pub body: Vec<u8>,
}

impl KinesisError {
    /// The AWS exception name (`__type`).
    pub fn error_type(&self) -> &'static str {
        match self {
            KinesisError::AccessDenied | KinesisError::NotAuthorized(_) => "AccessDeniedException",
            KinesisError::UnknownOperation { .. }
            | KinesisError::NotImplemented(_)
            | KinesisError::UnsupportedContentType
            | KinesisError::DeprecatedJsonProtocol => "UnknownOperationException",
            KinesisError::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            KinesisError::RequestTooLarge => "RequestEntityTooLarge",
            KinesisError::Serialization(_)
            | KinesisError::EmptyBody
            | KinesisError::UnreadableBody(_) => "SerializationException",
            KinesisError::Validation(_) => "ValidationException",
            KinesisError::ResourceNotFound(_) => "ResourceNotFoundException",
            KinesisError::ResourceInUse(_) => "ResourceInUseException",
            KinesisError::InvalidArgument(_) => "InvalidArgumentException",
            KinesisError::LimitExceeded(_) => "LimitExceededException",
            KinesisError::ExpiredIterator(_) => "ExpiredIteratorException",
            KinesisError::ExpiredNextToken(_) => "ExpiredNextTokenException",
            KinesisError::ProvisionedThroughputExceeded(_) => {
                "ProvisionedThroughputExceededException"
            }
            KinesisError::IncompleteSignature(_) => "IncompleteSignatureException",
            KinesisError::InvalidSignature(_) => "InvalidSignatureException",
            KinesisError::UnrecognizedClient => "UnrecognizedClientException",
            KinesisError::Internal(_) | KinesisError::StorageUnavailable(_) => "InternalFailure",
        }
    }

    /// The HTTP status AWS uses for this error.
    pub fn status(&self) -> u16 {
        match self {
            KinesisError::AccessDenied => 403,
            KinesisError::UnsupportedContentType => 404,
            KinesisError::DeprecatedJsonProtocol => 404,
            KinesisError::RequestTooLarge => 413,
            KinesisError::Internal(_) | KinesisError::StorageUnavailable(_) => 500,
            KinesisError::UnknownOperation { .. }
            | KinesisError::NotImplemented(_)
            | KinesisError::NotAuthorized(_)
            | KinesisError::MissingAuthenticationToken
            | KinesisError::Serialization(_)
            | KinesisError::EmptyBody
            | KinesisError::UnreadableBody(_)
            | KinesisError::Validation(_)
            | KinesisError::ResourceNotFound(_)
            | KinesisError::ResourceInUse(_)
            | KinesisError::InvalidArgument(_)
            | KinesisError::LimitExceeded(_)
            | KinesisError::ExpiredIterator(_)
            | KinesisError::ExpiredNextToken(_)
            | KinesisError::ProvisionedThroughputExceeded(_)
            | KinesisError::IncompleteSignature(_)
            | KinesisError::InvalidSignature(_)
            | KinesisError::UnrecognizedClient => 400,
        }
    }

    /// Renders the error the way AWS does for a request in `format`.
    pub fn to_response(&self, format: WireFormat) -> ErrorResponse {
        let status = self.status();
        let error_type = self.error_type();
        match self {
            KinesisError::AccessDenied => xml(status, error_type, Some(&self.to_string())),
            KinesisError::UnsupportedContentType => xml(status, error_type, None),
            KinesisError::DeprecatedJsonProtocol => ErrorResponse {
                status,
                content_type: Some("application/json"),
                error_type: Some(error_type),
                body: serde_json::json!({
                    "Output": {
                        "__type": "com.amazon.coral.service#UnknownOperationException",
                    },
                    "Version": "1.0",
                })
                .to_string()
                .into_bytes(),
            },
            KinesisError::RequestTooLarge => ErrorResponse {
                status,
                content_type: None,
                error_type: None,
                body: Vec::new(),
            },
            // AWS spells this one member `Message`, unlike every other exception.
            KinesisError::Serialization(m) => {
                modelled_with(status, error_type, "Message", m, format)
            }
            // Requests AWS cannot read or route far enough to name a reason get the type alone.
            KinesisError::EmptyBody
            | KinesisError::UnreadableBody(_)
            | KinesisError::UnknownOperation { .. } => bare(status, error_type, format),
            KinesisError::NotImplemented(_)
            | KinesisError::NotAuthorized(_)
            | KinesisError::MissingAuthenticationToken
            | KinesisError::Validation(_)
            | KinesisError::ResourceNotFound(_)
            | KinesisError::ResourceInUse(_)
            | KinesisError::InvalidArgument(_)
            | KinesisError::LimitExceeded(_)
            | KinesisError::ExpiredIterator(_)
            | KinesisError::ExpiredNextToken(_)
            | KinesisError::ProvisionedThroughputExceeded(_)
            | KinesisError::IncompleteSignature(_)
            | KinesisError::InvalidSignature(_)
            | KinesisError::UnrecognizedClient
            | KinesisError::Internal(_)
            | KinesisError::StorageUnavailable(_) => {
                modelled(status, error_type, &self.to_string(), format)
            }
        }
    }
}

/// A modelled exception: `{"__type": .., "message": ..}` in the request's own format.
fn modelled(
    status: u16,
    error_type: &'static str,
    message: &str,
    format: WireFormat,
) -> ErrorResponse {
    modelled_with(status, error_type, "message", message, format)
}

/// A SigV4 failure as Kinesis names it (the variants `strait_aws::sigv4` reports).
impl From<SigV4Error> for KinesisError {
    fn from(e: SigV4Error) -> KinesisError {
        match e {
            SigV4Error::MissingAuthenticationToken => KinesisError::MissingAuthenticationToken,
            SigV4Error::IncompleteSignature(m) => KinesisError::IncompleteSignature(m),
            SigV4Error::InvalidSignature(m) => KinesisError::InvalidSignature(m),
            SigV4Error::UnrecognizedClient => KinesisError::UnrecognizedClient,
        }
    }
}

/// An envelope decided elsewhere (a SigV4 failure, through [`SigV4Error::to_envelope`]) as a modelled answer in
/// the request's format.
pub fn from_envelope(env: &ErrorEnvelope, format: WireFormat) -> ErrorResponse {
    modelled_with(env.status, env.type_name, "message", &env.message, format)
}

fn modelled_with(
    status: u16,
    error_type: &'static str,
    message_key: &str,
    message: &str,
    format: WireFormat,
) -> ErrorResponse {
    let body = match format {
        WireFormat::Json => json_error(error_type, message_key, message),
        WireFormat::Cbor => cbor_error(error_type, message_key, message),
    };
    ErrorResponse {
        status,
        content_type: Some(format.content_type()),
        error_type: Some(error_type),
        body,
    }
}

/// `{"__type": ..}` alone, in the request's format.
fn bare(status: u16, error_type: &'static str, format: WireFormat) -> ErrorResponse {
    let body = match format {
        WireFormat::Json => serde_json::json!({ "__type": error_type })
            .to_string()
            .into_bytes(),
        WireFormat::Cbor => {
            let mut out = vec![0xa1]; // a definite-length map of one entry
            strait_aws::envelope::cbor_text(&mut out, "__type");
            strait_aws::envelope::cbor_text(&mut out, error_type);
            out
        }
    };
    ErrorResponse {
        status,
        content_type: Some(format.content_type()),
        error_type: Some(error_type),
        body,
    }
}

fn xml(status: u16, error_type: &'static str, message: Option<&str>) -> ErrorResponse {
    let body = match message {
        Some(m) => format!("<{error_type}>\n  <Message>{m}</Message>\n</{error_type}>\n"),
        None => format!("<{error_type}/>\n"),
    };
    ErrorResponse {
        status,
        content_type: None,
        error_type: Some(error_type),
        body: body.into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_implemented_is_an_unknown_operation_in_json() {
        let r = KinesisError::NotImplemented(Operation::ListStreams).to_response(WireFormat::Json);
        assert_eq!(r.status, 400);
        assert_eq!(r.content_type, Some("application/x-amz-json-1.1"));
        assert_eq!(r.error_type, Some("UnknownOperationException"));
        let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json body");
        assert_eq!(v["__type"], "UnknownOperationException");
        assert_eq!(
            v["message"],
            "operation ListStreams is not implemented by Strait yet"
        );
    }

    #[test]
    fn cbor_body_is_a_two_entry_text_map() {
        let r = KinesisError::MissingAuthenticationToken.to_response(WireFormat::Cbor);
        assert_eq!(r.content_type, Some("application/x-amz-cbor-1.1"));
        let mut want = vec![0xa2, 0x66];
        want.extend_from_slice(b"__type");
        want.extend_from_slice(&[0x78, 35]);
        want.extend_from_slice(b"MissingAuthenticationTokenException");
        want.push(0x67);
        want.extend_from_slice(b"message");
        want.extend_from_slice(&[0x78, 28]);
        want.extend_from_slice(b"Missing Authentication Token");
        assert_eq!(r.body, want);
    }

    #[test]
    fn unroutable_requests_get_xml() {
        let r = KinesisError::AccessDenied.to_response(WireFormat::Json);
        assert_eq!(r.status, 403);
        assert_eq!(r.content_type, None);
        assert_eq!(
            String::from_utf8(r.body).expect("utf-8"),
            "<AccessDeniedException>\n  <Message>Unable to determine service/operation name to be authorized\
             </Message>\n</AccessDeniedException>\n"
        );
        let r = KinesisError::UnsupportedContentType.to_response(WireFormat::Json);
        assert_eq!(
            (r.status, r.body),
            (404, b"<UnknownOperationException/>\n".to_vec())
        );
    }
}
