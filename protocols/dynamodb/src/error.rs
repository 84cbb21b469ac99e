//! DynamoDB API errors and the JSON 1.0 shapes DynamoDB answers them with: status 400 (500 for internal errors),
//! `{"__type": "<namespace>#<Name>", "message": ...}`. Validation and serialization errors come from Coral's own
//! namespaces, modelled exceptions from `com.amazonaws.dynamodb.v20120810`; SDKs match on the part after `#`.

use serde_json::{Value as Json, json};
use strait_aws::ErrorEnvelope;

const DDB: &str = "com.amazonaws.dynamodb.v20120810#";

/// Why a DynamoDB request was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DynamoError {
    /// `X-Amz-Target` does not name a DynamoDB operation Strait serves.
    #[error("unknown operation")]
    UnknownOperation,
    /// The body is not JSON or a member has the wrong JSON type.
    #[error("{0}")]
    Serialization(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    ResourceInUse(String),
    /// The continuous-backups operations' own "no such table" error.
    #[error("{0}")]
    TableNotFound(String),
    /// A condition failed; `item` is the current item when `ReturnValuesOnConditionCheckFailure=ALL_OLD`.
    #[error("The conditional request failed")]
    ConditionalCheckFailed { item: Option<Json> },
    /// A transaction was cancelled; one reason per action, in request order.
    #[error("Transaction cancelled")]
    TransactionCanceled { reasons: Vec<CancellationReason> },
    /// A TransactWriteItems retry reused a `ClientRequestToken` with a different payload.
    #[error("{0}")]
    IdempotentParameterMismatch(String),
    /// SigV4 authentication failed (the server verifies signatures and reports the outcome through this).
    /// A failed signature check, as `strait-aws` maps it onto DynamoDB's names ([`SigV4Error::to_envelope`]).
    ///
    /// [`SigV4Error::to_envelope`]: strait_aws::SigV4Error::to_envelope
    #[error("{}", .0.message)]
    Auth(ErrorEnvelope),
    /// The metadata store failed; the request may be retried.
    /// The authorizer refused the operation; AWS's message ("User: … is not authorized to perform: …").
    #[error("{0}")]
    AccessDenied(String),
    #[error("internal error: {0}")]
    Internal(String),
    /// The node's storage failed (disk full, I/O error) and is recovering: answered as `InternalServerError`
    /// (500), which SDKs retry, with the reason. The engine logs the outage once, so requests are not logged again.
    #[error("The node's storage is unavailable: {0}")]
    StorageUnavailable(String),
}

/// Coral's authentication exceptions, all `400` on DynamoDB's JSON 1.0 protocol (the kinds are `strait-aws`'s).
pub use strait_aws::AuthFailure;

/// Why one action of a transaction did not happen.
#[derive(Debug, Clone, PartialEq)]
pub struct CancellationReason {
    /// `None`, `ConditionalCheckFailed` or `ValidationError`.
    pub code: &'static str,
    pub message: Option<String>,
    /// The item as it stood, rendered (`ReturnValuesOnConditionCheckFailure = ALL_OLD`).
    pub item: Option<Json>,
}

impl DynamoError {
    /// The `__type` value.
    /// Every type name [`type_name`](Self::type_name) returns for an error of this crate's own (not the
    /// authentication envelopes, which are decided before a request is served or forwarded).
    pub const TYPE_NAMES: &'static [&'static str] = &[
        "com.amazon.coral.service#UnknownOperationException",
        "com.amazon.coral.service#SerializationException",
        "com.amazon.coral.validate#ValidationException",
        "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
        "com.amazonaws.dynamodb.v20120810#ResourceInUseException",
        "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
        "com.amazonaws.dynamodb.v20120810#TableNotFoundException",
        "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
        "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "com.amazon.coral.service#AccessDeniedException",
        "com.amazonaws.dynamodb.v20120810#InternalServerError",
    ];

    pub fn type_name(&self) -> &'static str {
        match self {
            DynamoError::UnknownOperation => "com.amazon.coral.service#UnknownOperationException",
            DynamoError::Serialization(_) => "com.amazon.coral.service#SerializationException",
            DynamoError::Validation(_) => "com.amazon.coral.validate#ValidationException",
            DynamoError::ResourceNotFound(_) => {
                "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"
            }
            DynamoError::ResourceInUse(_) => {
                "com.amazonaws.dynamodb.v20120810#ResourceInUseException"
            }
            DynamoError::IdempotentParameterMismatch(_) => {
                "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException"
            }
            DynamoError::TableNotFound(_) => {
                "com.amazonaws.dynamodb.v20120810#TableNotFoundException"
            }
            DynamoError::ConditionalCheckFailed { .. } => {
                "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"
            }
            DynamoError::TransactionCanceled { .. } => {
                "com.amazonaws.dynamodb.v20120810#TransactionCanceledException"
            }
            DynamoError::Auth(env) => env.type_name,
            DynamoError::AccessDenied(_) => "com.amazon.coral.service#AccessDeniedException",
            DynamoError::Internal(_) | DynamoError::StorageUnavailable(_) => {
                "com.amazonaws.dynamodb.v20120810#InternalServerError"
            }
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            DynamoError::Internal(_) | DynamoError::StorageUnavailable(_) => 500,
            DynamoError::Auth(env) => env.status,
            DynamoError::UnknownOperation
            | DynamoError::Serialization(_)
            | DynamoError::Validation(_)
            | DynamoError::ResourceNotFound(_)
            | DynamoError::ResourceInUse(_)
            | DynamoError::TableNotFound(_)
            | DynamoError::IdempotentParameterMismatch(_)
            | DynamoError::AccessDenied(_)
            | DynamoError::ConditionalCheckFailed { .. }
            | DynamoError::TransactionCanceled { .. } => 400,
        }
    }

    /// The response body.
    pub fn body(&self) -> Json {
        let ty = self.type_name();
        match self {
            DynamoError::UnknownOperation => json!({ "__type": ty }),
            // Coral's serialization errors carry `Message`, the others `message`.
            DynamoError::Serialization(m) => json!({ "__type": ty, "Message": m }),
            DynamoError::Validation(m)
            | DynamoError::ResourceNotFound(m)
            | DynamoError::ResourceInUse(m)
            | DynamoError::TableNotFound(m)
            | DynamoError::IdempotentParameterMismatch(m)
            | DynamoError::AccessDenied(m)
            | DynamoError::Auth(ErrorEnvelope { message: m, .. }) => {
                json!({ "__type": ty, "message": m })
            }
            // The reason (e.g. a full disk) rather than a bare "Internal server error", so a KCL operator sees why
            // lease updates keep failing.
            DynamoError::Internal(m) => json!({ "__type": ty, "message": m }),
            DynamoError::StorageUnavailable(_) => {
                json!({ "__type": ty, "message": self.to_string() })
            }
            DynamoError::ConditionalCheckFailed { item } => {
                let mut b = json!({ "__type": ty, "message": "The conditional request failed" });
                if let Some(item) = item {
                    b["Item"] = item.clone();
                }
                b
            }
            DynamoError::TransactionCanceled { reasons } => {
                let codes: Vec<&str> = reasons.iter().map(|r| r.code).collect();
                let msg = format!(
                    "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
                    codes.join(", ")
                );
                let rs: Vec<Json> = reasons
                    .iter()
                    .map(|r| {
                        let mut o = json!({ "Code": r.code });
                        if let Some(m) = &r.message {
                            o["Message"] = json!(m);
                        }
                        if let Some(i) = &r.item {
                            o["Item"] = i.clone();
                        }
                        o
                    })
                    .collect();
                json!({ "__type": ty, "Message": msg, "CancellationReasons": rs })
            }
        }
    }

    pub(crate) fn validation(m: impl Into<String>) -> DynamoError {
        DynamoError::Validation(m.into())
    }

    /// DynamoDB's answer to an item operation on a table that does not exist (or is not ACTIVE yet).
    pub(crate) fn no_table() -> DynamoError {
        DynamoError::ResourceNotFound("Requested resource not found".into())
    }
}

impl From<strait_engine::EngineError> for DynamoError {
    fn from(e: strait_engine::EngineError) -> DynamoError {
        use strait_engine::EngineError as E;
        match e {
            // Transient: the node recovers once the disk takes writes again; SDKs retry a 500.
            E::Io { .. } | E::Meta(_) | E::PartitionFailed { .. } => {
                DynamoError::StorageUnavailable(e.to_string())
            }
            e => DynamoError::Internal(e.to_string()),
        }
    }
}

/// Namespace prefix of DynamoDB's own exceptions.
pub const EXCEPTION_NAMESPACE: &str = DDB;
