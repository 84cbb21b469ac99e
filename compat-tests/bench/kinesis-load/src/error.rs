//! Errors of the load generator: an SDK call that failed, or a run that did not reach its goal in time.

use aws_sdk_kinesis::error::{DisplayErrorContext, SdkError};

#[derive(Debug, thiserror::Error)]
pub(crate) enum BenchError {
    #[error("{op}: {message}")]
    Sdk { op: &'static str, message: String },
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    Unexpected(String),
}

impl BenchError {
    /// Keeps the SDK's whole error chain (service error code and message), not just "service error".
    pub(crate) fn sdk<E, R>(op: &'static str, e: SdkError<E, R>) -> BenchError
    where
        E: std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        BenchError::Sdk {
            op,
            message: DisplayErrorContext(&e).to_string(),
        }
    }
}
