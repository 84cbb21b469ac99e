//! Routing a request head to a Kinesis operation, with AWS's precedence of checks.
//!
//! AWS looks at the method first, then whether there is a body at all, then the content type, then
//! `X-Amz-Target`; the body's contents and the signature come later (per operation), so they are not inputs here.
//! The order matters because clients see different statuses and body formats depending on which check fails
//! first (kinesalite's connection suite, run against AWS, pins each combination).

use crate::error::KinesisError;
use crate::operation::{Operation, TARGET_PREFIX};
pub use crate::wire::WireFormat;

/// The parts of an HTTP request that decide where it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestHead<'a> {
    pub method: &'a str,
    pub content_type: Option<&'a str>,
    pub target: Option<&'a str>,
    /// The request has an empty body (AWS answers those before looking at the content type).
    pub body_empty: bool,
}

impl RequestHead<'_> {
    /// The format to answer in, including for errors raised before routing succeeds: the client's own when
    /// recognisable; otherwise CBOR for a body-less request (AWS's answer to those is CBOR unless the client
    /// asked for JSON 1.1) and JSON for the rest.
    pub fn response_format(&self) -> WireFormat {
        match self.content_type.and_then(WireFormat::from_content_type) {
            Some(f) => f,
            None if self.body_empty => WireFormat::Cbor,
            None => WireFormat::Json,
        }
    }
}

/// A value for `x-amz-id-2`: AWS sends 72 random bytes in base64 (96 characters), which some clients check the
/// size of.
pub fn extended_request_id() -> String {
    use base64::Engine as _;
    let mut bytes = Vec::with_capacity(80);
    while bytes.len() < 72 {
        bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    bytes.truncate(72);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A request AWS would accept for dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub operation: Operation,
    pub format: WireFormat,
}

/// Routes a request head, or says which error AWS answers it with.
pub fn route(head: &RequestHead<'_>) -> Result<Route, KinesisError> {
    if head.method != "POST" {
        return Err(KinesisError::AccessDenied);
    }
    let split = head.target.and_then(|t| t.split_once('.'));
    let operation = split
        .filter(|(service, _)| *service == TARGET_PREFIX)
        .and_then(|(_, op)| Operation::from_name(op));
    let content_format = head.content_type.and_then(WireFormat::from_content_type);
    // A body-less request is answered before its content type is looked at, whatever that is. A CBOR request
    // is the exception: Strait reads an empty CBOR body as an empty structure (see `codec::decode`).
    if head.body_empty && content_format != Some(WireFormat::Cbor) {
        return Err(match operation {
            Some(_) => KinesisError::EmptyBody,
            None => KinesisError::UnknownOperation {
                target: head.target.map(str::to_owned),
            },
        });
    }
    let format = match content_format {
        Some(format) => format,
        None if is_legacy_json(head.content_type) => {
            return Err(KinesisError::DeprecatedJsonProtocol);
        }
        // Without a usable content type AWS only distinguishes "no operation named" from "named but unusable".
        None => {
            return Err(match split {
                Some((service, op)) if !service.is_empty() && !op.is_empty() => {
                    KinesisError::UnsupportedContentType
                }
                _ => KinesisError::AccessDenied,
            });
        }
    };
    let operation = operation.ok_or_else(|| KinesisError::UnknownOperation {
        target: head.target.map(str::to_owned),
    })?;
    Ok(Route { operation, format })
}

fn is_legacy_json(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head<'a>(method: &'a str, ct: Option<&'a str>, target: Option<&'a str>) -> RequestHead<'a> {
        RequestHead {
            method,
            content_type: ct,
            target,
            body_empty: false,
        }
    }

    fn bodyless<'a>(ct: Option<&'a str>, target: Option<&'a str>) -> RequestHead<'a> {
        RequestHead {
            body_empty: true,
            ..head("POST", ct, target)
        }
    }

    #[test]
    fn bodyless_requests_are_answered_before_the_content_type() {
        let list = Some("Kinesis_20131202.ListStreams");
        for ct in [None, JSON, Some("application/json"), Some("text/plain")] {
            assert_eq!(
                route(&bodyless(ct, list)),
                Err(KinesisError::EmptyBody),
                "{ct:?}"
            );
            let err = route(&bodyless(ct, Some("Whatever"))).expect_err("unknown");
            assert!(
                matches!(err, KinesisError::UnknownOperation { .. }),
                "{ct:?}"
            );
        }
        assert_eq!(bodyless(None, list).response_format(), WireFormat::Cbor);
        assert_eq!(bodyless(JSON, list).response_format(), WireFormat::Json);
        // An empty CBOR body is an empty structure.
        let cbor = Some("application/x-amz-cbor-1.1");
        assert!(route(&bodyless(cbor, list)).is_ok());
    }

    const JSON: Option<&str> = Some("application/x-amz-json-1.1");

    #[test]
    fn routes_known_operations_in_both_formats() {
        let r = route(&head("POST", JSON, Some("Kinesis_20131202.PutRecords"))).expect("routes");
        assert_eq!(
            r,
            Route {
                operation: Operation::PutRecords,
                format: WireFormat::Json
            }
        );
        let cbor = Some("application/x-amz-cbor-1.1; charset=utf-8");
        let r = route(&head("POST", cbor, Some("Kinesis_20131202.GetRecords"))).expect("routes");
        assert_eq!(r.format, WireFormat::Cbor);
    }

    #[test]
    fn unknown_or_missing_targets_are_unknown_operations() {
        for target in [
            None,
            Some("Kinesis_20131202.ListStream"),
            Some("DynamoDB_20120810.ListTables"),
            Some("x"),
        ] {
            let err = route(&head("POST", JSON, target)).expect_err("unknown");
            assert_eq!(
                err,
                KinesisError::UnknownOperation {
                    target: target.map(str::to_owned)
                }
            );
            assert_eq!(err.status(), 400);
        }
    }

    #[test]
    fn method_is_checked_before_anything_else() {
        let err = route(&head("GET", JSON, Some("Kinesis_20131202.ListStreams"))).expect_err("GET");
        assert_eq!(err, KinesisError::AccessDenied);
    }

    #[test]
    fn bad_content_types_follow_aws() {
        let t = Some("Kinesis_20131202.ListStreams");
        assert_eq!(
            route(&head("POST", None, t)),
            Err(KinesisError::UnsupportedContentType)
        );
        assert_eq!(
            route(&head("POST", Some("text/plain"), None)),
            Err(KinesisError::AccessDenied)
        );
        assert_eq!(
            route(&head("POST", Some("application/x-amz-json-1.0"), t)),
            Err(KinesisError::UnsupportedContentType)
        );
        assert_eq!(
            route(&head("POST", Some("application/json"), t)),
            Err(KinesisError::DeprecatedJsonProtocol)
        );
    }

    #[test]
    fn errors_answer_in_the_clients_format() {
        assert_eq!(
            head("POST", Some("application/x-amz-cbor-1.1"), None).response_format(),
            WireFormat::Cbor
        );
        assert_eq!(head("POST", None, None).response_format(), WireFormat::Json);
    }
}
