//! The seam through which Kafka authenticates AWS identities without depending on the AWS crate: the Kafka front
//! end holds an [`AwsIdentityVerifier`] that the server builds from the AWS access-key table (strait-aws
//! implements it), so one access key is one principal on both protocols.

use std::fmt;
use std::sync::Arc;

use crate::Principal;

/// Verifies the two forms in which Kafka clients present AWS credentials.
pub trait AwsIdentityVerifier: Send + Sync + fmt::Debug {
    /// SASL `AWS_MSK_IAM`: the JSON payload of `aws-msk-iam-auth` (a presigned `kafka-cluster:Connect`).
    fn verify_msk_iam(&self, payload: &[u8]) -> Result<Principal, AwsIdentityError>;
    /// The token of the MSK IAM signer libraries (base64url of a presigned URL), sent inside OAUTHBEARER.
    fn verify_msk_signer_token(&self, token: &str) -> Result<Principal, AwsIdentityError>;
}

/// A shared verifier.
pub type SharedAwsIdentityVerifier = Arc<dyn AwsIdentityVerifier>;

/// Why an AWS identity was refused; the message is safe to send to the client (it names no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsIdentityError {
    pub message: String,
}

impl fmt::Display for AwsIdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AwsIdentityError {}
