//! The SDK client: static credentials (the servers measured accept any signed request), plain HTTP/1.1.

use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kinesis::{Client, Config};

use crate::error::BenchError;

pub(crate) fn new(endpoint: &str) -> Client {
    let config = Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDBENCH",
            "bench-secret",
            None,
            None,
            "bench",
        ))
        .endpoint_url(endpoint)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    Client::from_conf(config)
}

/// The ids of the stream's shards (DescribeStream); a stream without shards is an error.
pub(crate) async fn shard_ids(client: &Client, stream: &str) -> Result<Vec<String>, BenchError> {
    let desc = client
        .describe_stream()
        .stream_name(stream)
        .send()
        .await
        .map_err(|e| BenchError::sdk("DescribeStream", e))?;
    let ids: Vec<String> = desc
        .stream_description()
        .map(|d| {
            d.shards()
                .iter()
                .map(|s| s.shard_id().to_string())
                .collect()
        })
        .unwrap_or_default();
    if ids.is_empty() {
        return Err(BenchError::Unexpected(format!(
            "stream {stream} has no shards"
        )));
    }
    Ok(ids)
}
