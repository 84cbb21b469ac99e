//! CloudWatch's errors and their three renderings (awsQuery XML, AWS JSON 1.0, rpcv2-CBOR).

use thiserror::Error;

/// The kinds of signature failure (`strait-aws`'s).
pub use strait_aws::AuthFailure;
use strait_aws::ErrorEnvelope;

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
    /// A failed signature check, as `strait-aws` maps it onto CloudWatch's codes and statuses
    /// ([`strait_aws::SigV4Error::to_envelope`]).
    #[error("{}", .0.message)]
    Auth(ErrorEnvelope),
    /// The authorizer refused the operation.
    #[error("{0}")]
    AccessDenied(String),
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
            CloudWatchError::Auth(env) => env.code,
            CloudWatchError::AccessDenied(_) => "AccessDenied",
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
            CloudWatchError::Auth(env) => env.type_name,
            CloudWatchError::AccessDenied(_) => "AccessDeniedException",
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
            CloudWatchError::Auth(env) => env.status,
            CloudWatchError::AccessDenied(_) => 403,
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
