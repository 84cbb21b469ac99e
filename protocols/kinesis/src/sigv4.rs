//! SigV4 verification for Kinesis callers: [`strait_aws::sigv4`], with failures as [`KinesisError`]s. The
//! verifier itself (both forms, scope checks, AWS's messages) lives in `strait-aws`, shared with DynamoDB and
//! CloudWatch.

pub use strait_aws::sigv4::{
    AccessKey, Authorization, Location, MAX_SKEW_MS, Scope, SignedRequest,
};
pub use strait_aws::time::{format_amz_date, parse_amz_date};

use crate::error::KinesisError;

/// Parses the request's authentication without checking the signature (see [`strait_aws::sigv4::parse`]).
pub fn parse(req: &SignedRequest<'_>) -> Result<Authorization, KinesisError> {
    strait_aws::sigv4::parse(req).map_err(KinesisError::from)
}

/// Verifies the request's signature (see [`strait_aws::sigv4::verify`]).
pub fn verify(
    req: &SignedRequest<'_>,
    keys: &[AccessKey],
    scope: Scope<'_>,
    now_ms: i64,
) -> Result<(), KinesisError> {
    strait_aws::sigv4::verify(req, keys, scope, now_ms)
        .map(|_| ())
        .map_err(KinesisError::from)
}
