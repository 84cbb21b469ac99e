//! SigV4 failures and their one mapping onto each AWS service's error envelope.
//!
//! The same four failures are told to clients in three dialects: Kinesis names them `XxxException` in its JSON or
//! CBOR envelope, DynamoDB uses Coral's namespaced names in JSON 1.0, and CloudWatch (awsQuery) has its own codes
//! and statuses. The table lives here, in [`SigV4Error::to_envelope`], so the server maps a failure once.

use crate::envelope::ErrorEnvelope;

/// Why a request's authentication was refused. The messages are AWS's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    /// No `Authorization` header and no presigned query parameters.
    #[error("Missing Authentication Token")]
    MissingAuthenticationToken,
    /// The authentication is malformed (missing parameters, bad date, bad credential form).
    #[error("{0}")]
    IncompleteSignature(String),
    /// Well-formed but wrong: scope, skew, unsigned required headers, payload hash or signature.
    #[error("{0}")]
    InvalidSignature(String),
    /// The access key id is not one the node knows.
    #[error("The security token included in the request is invalid.")]
    UnrecognizedClient,
}

/// The four kinds of [`SigV4Error`], without their messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    MissingAuthenticationToken,
    IncompleteSignature,
    InvalidSignature,
    UnrecognizedClient,
}

/// The AWS services Strait serves on its AWS port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Kinesis,
    DynamoDb,
    CloudWatch,
}

impl Service {
    /// The signing name (credential-scope service) of the service, from its AWS model: a signature is only valid
    /// for the service it names.
    pub fn signing_name(self) -> &'static str {
        match self {
            Service::Kinesis => "kinesis",
            Service::DynamoDb => "dynamodb",
            Service::CloudWatch => "monitoring",
        }
    }
}

/// What a request without an `Authorization` header is told when any keys would do: AWS's own text says nothing
/// about that, and newcomers stop at "Unable to locate credentials" or this error.
pub const DEV_MISSING_TOKEN_MESSAGE: &str = "Missing Authentication Token. Strait's dev mode (aws.auth = \"none\") \
     accepts any access key: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to any value, and AWS_REGION \
     (e.g. us-east-1)";

impl SigV4Error {
    pub fn failure(&self) -> AuthFailure {
        match self {
            SigV4Error::MissingAuthenticationToken => AuthFailure::MissingAuthenticationToken,
            SigV4Error::IncompleteSignature(_) => AuthFailure::IncompleteSignature,
            SigV4Error::InvalidSignature(_) => AuthFailure::InvalidSignature,
            SigV4Error::UnrecognizedClient => AuthFailure::UnrecognizedClient,
        }
    }

    /// The short exception name (`InvalidSignatureException`, ...), as Kinesis's `__type` and metrics show it.
    pub fn error_type(&self) -> &'static str {
        match self.failure() {
            AuthFailure::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            AuthFailure::IncompleteSignature => "IncompleteSignatureException",
            AuthFailure::InvalidSignature => "InvalidSignatureException",
            AuthFailure::UnrecognizedClient => "UnrecognizedClientException",
        }
    }

    /// The message to send; `dev_mode` (`aws.auth = "none"`) replaces the missing-token text with a hint.
    pub fn message(&self, dev_mode: bool) -> String {
        match self {
            SigV4Error::MissingAuthenticationToken if dev_mode => {
                DEV_MISSING_TOKEN_MESSAGE.to_string()
            }
            SigV4Error::MissingAuthenticationToken
            | SigV4Error::IncompleteSignature(_)
            | SigV4Error::InvalidSignature(_)
            | SigV4Error::UnrecognizedClient => self.to_string(),
        }
    }

    /// How `service` tells a client about this failure: status, type name and (awsQuery) code.
    pub fn to_envelope(&self, service: Service, dev_mode: bool) -> ErrorEnvelope {
        let short = self.error_type();
        let (status, type_name, code) = match service {
            Service::Kinesis => (400, short, short),
            Service::DynamoDb => (
                400,
                match self.failure() {
                    AuthFailure::MissingAuthenticationToken => {
                        "com.amazon.coral.service#MissingAuthenticationTokenException"
                    }
                    AuthFailure::IncompleteSignature => {
                        "com.amazon.coral.service#IncompleteSignatureException"
                    }
                    AuthFailure::InvalidSignature => {
                        "com.amazon.coral.service#InvalidSignatureException"
                    }
                    AuthFailure::UnrecognizedClient => {
                        "com.amazon.coral.service#UnrecognizedClientException"
                    }
                },
                short,
            ),
            // awsQuery's codes and statuses, as CloudWatch answers them.
            Service::CloudWatch => match self.failure() {
                AuthFailure::MissingAuthenticationToken => {
                    (403, short, "MissingAuthenticationToken")
                }
                AuthFailure::IncompleteSignature => (400, short, "IncompleteSignature"),
                AuthFailure::InvalidSignature => (403, short, "SignatureDoesNotMatch"),
                AuthFailure::UnrecognizedClient => (403, short, "InvalidClientTokenId"),
            },
        };
        ErrorEnvelope {
            status,
            type_name,
            code,
            message: self.message(dev_mode),
        }
    }
}
