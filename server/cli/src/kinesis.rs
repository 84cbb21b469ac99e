//! The Kinesis client: the AWS SDK for Rust pointed at `--aws-endpoint`, with the region and keys from the
//! environment, or us-east-1 and dummy keys (a `strait dev` node accepts any) so the commands work with nothing
//! set. aws-config's full provider chain is not used: it would probe profiles and instance metadata first,
//! which only slows a local command down.

use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kinesis::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_kinesis::{Client, Config};

use crate::error::CliError;

pub(crate) fn client(endpoint: &str) -> Client {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let region = env("AWS_REGION")
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".into());
    let (key, secret) = match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        (Some(k), Some(s)) => (k, s),
        _ => ("strait-dev".to_string(), "strait-dev".to_string()),
    };
    let creds = Credentials::new(key, secret, env("AWS_SESSION_TOKEN"), None, "strait-cli");
    let conf = Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(creds)
        .endpoint_url(endpoint)
        .build();
    Client::from_conf(conf)
}

/// Maps an SDK failure: an answered error keeps its code (`ResourceNotFoundException`, exit 1); no answer at
/// all is a connection failure (exit 3); anything else is a protocol error (exit 4).
pub(crate) fn error<E, R>(endpoint: &str, e: SdkError<E, R>) -> CliError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match &e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            CliError::Aws {
                code: err.code().unwrap_or("UnknownError").to_string(),
                message: err.message().unwrap_or("").to_string(),
            }
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => CliError::AwsConnect {
            endpoint: endpoint.to_string(),
            detail: DisplayErrorContext(&e).to_string(),
        },
        _ => CliError::Protocol(DisplayErrorContext(&e).to_string()),
    }
}
