//! CloudWatch's errors and their three renderings (awsQuery XML, AWS JSON 1.0, rpcv2-CBOR).

use thiserror::Error;

/// Which signature check failed; the server's shared SigV4 check maps its failures onto these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    MissingAuthenticationToken,
    IncompleteSignature,
    InvalidSignature,
    UnrecognizedClient,
}

/// Everything a CloudWatch request can fail with, each carrying CloudWatch's own message.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum CloudWatchError {
    #[error("{0}")]
    InvalidParameterValue(String),
    #[error("{0}")]
    MissingParameter(String),
    #[error("{0}")]
    InvalidParameterCombination(String),
    /// The body could not be decoded at all (bad JSON/CBOR/gzip, wrong types).
    #[error("{0}")]
    Serialization(String),
    /// A CloudWatch operation Strait does not implement (only PutMetricData is).
    #[error("{0}")]
    UnknownOperation(String),
    /// awsQuery without an `Action` parameter.
    #[error("{0}")]
    MissingAction(String),
    #[error("{message}")]
    Auth {
        failure: AuthFailure,
        message: String,
    },
    #[error("{0}")]
    Internal(String),
}

impl CloudWatchError {
    /// The awsQuery error code (also sent as `x-amzn-query-error` by the JSON and CBOR protocols, because the
    /// service is `awsQueryCompatible` and SDKs take the code from that header).
    pub fn code(&self) -> &'static str {
        match self {
            CloudWatchError::InvalidParameterValue(_) => "InvalidParameterValue",
            CloudWatchError::MissingParameter(_) => "MissingParameter",
            CloudWatchError::InvalidParameterCombination(_) => "InvalidParameterCombination",
            CloudWatchError::Serialization(_) => "SerializationException",
            CloudWatchError::UnknownOperation(_) => "InvalidAction",
            CloudWatchError::MissingAction(_) => "MissingAction",
            CloudWatchError::Auth { failure, .. } => match failure {
                AuthFailure::MissingAuthenticationToken => "MissingAuthenticationToken",
                AuthFailure::IncompleteSignature => "IncompleteSignature",
                AuthFailure::InvalidSignature => "SignatureDoesNotMatch",
                AuthFailure::UnrecognizedClient => "InvalidClientTokenId",
            },
            CloudWatchError::Internal(_) => "InternalServiceError",
        }
    }

    /// The error shape name the JSON and CBOR protocols put in `__type`.
    pub fn shape(&self) -> &'static str {
        match self {
            CloudWatchError::InvalidParameterValue(_) => "InvalidParameterValueException",
            CloudWatchError::MissingParameter(_) => "MissingRequiredParameterException",
            CloudWatchError::InvalidParameterCombination(_) => {
                "InvalidParameterCombinationException"
            }
            CloudWatchError::Serialization(_) => "SerializationException",
            CloudWatchError::UnknownOperation(_) => "UnknownOperationException",
            CloudWatchError::MissingAction(_) => "MissingAction",
            CloudWatchError::Auth { failure, .. } => match failure {
                AuthFailure::MissingAuthenticationToken => "MissingAuthenticationTokenException",
                AuthFailure::IncompleteSignature => "IncompleteSignatureException",
                AuthFailure::InvalidSignature => "InvalidSignatureException",
                AuthFailure::UnrecognizedClient => "UnrecognizedClientException",
            },
            CloudWatchError::Internal(_) => "InternalServiceFault",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            CloudWatchError::InvalidParameterValue(_)
            | CloudWatchError::MissingParameter(_)
            | CloudWatchError::InvalidParameterCombination(_)
            | CloudWatchError::Serialization(_)
            | CloudWatchError::UnknownOperation(_)
            | CloudWatchError::MissingAction(_) => 400,
            CloudWatchError::Auth { failure, .. } => match failure {
                AuthFailure::IncompleteSignature => 400,
                AuthFailure::MissingAuthenticationToken
                | AuthFailure::InvalidSignature
                | AuthFailure::UnrecognizedClient => 403,
            },
            CloudWatchError::Internal(_) => 500,
        }
    }

    /// `Sender` (the client's fault) or `Receiver` (ours), as awsQuery's `<Type>` says.
    pub fn fault(&self) -> &'static str {
        if self.status() >= 500 {
            "Receiver"
        } else {
            "Sender"
        }
    }
}
