//! `create`: CreateStream, then DescribeStreamSummary until the stream is ACTIVE (emulators delay it).

use std::time::{Duration, Instant};

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::types::StreamStatus;

use crate::error::BenchError;

#[derive(clap::Args)]
pub(crate) struct Args {
    #[arg(long)]
    stream: String,
    #[arg(long, default_value_t = 1)]
    shards: i32,
}

pub(crate) async fn run(client: &Client, a: Args) -> Result<serde_json::Value, BenchError> {
    let started = Instant::now();
    create_active(client, &a.stream, a.shards).await?;
    Ok(serde_json::json!({
        "op": "create", "stream": a.stream, "shards": a.shards,
        "seconds": started.elapsed().as_secs_f64(),
    }))
}

/// CreateStream, then DescribeStreamSummary until ACTIVE; the stream's ARN.
pub(crate) async fn create_active(
    client: &Client,
    stream: &str,
    shards: i32,
) -> Result<String, BenchError> {
    let started = Instant::now();
    client
        .create_stream()
        .stream_name(stream)
        .shard_count(shards)
        .send()
        .await
        .map_err(|e| BenchError::sdk("CreateStream", e))?;
    let deadline = started + Duration::from_secs(60);
    loop {
        let out = client
            .describe_stream_summary()
            .stream_name(stream)
            .send()
            .await
            .map_err(|e| BenchError::sdk("DescribeStreamSummary", e))?;
        if let Some(s) = out.stream_description_summary()
            && *s.stream_status() == StreamStatus::Active
        {
            return Ok(s.stream_arn().to_string());
        }
        if Instant::now() > deadline {
            return Err(BenchError::Timeout(format!(
                "stream {stream} not ACTIVE after 60 s"
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
