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
    client
        .create_stream()
        .stream_name(&a.stream)
        .shard_count(a.shards)
        .send()
        .await
        .map_err(|e| BenchError::sdk("CreateStream", e))?;
    let deadline = started + Duration::from_secs(60);
    loop {
        let out = client
            .describe_stream_summary()
            .stream_name(&a.stream)
            .send()
            .await
            .map_err(|e| BenchError::sdk("DescribeStreamSummary", e))?;
        let status = out
            .stream_description_summary()
            .map(|s| s.stream_status().clone());
        if status == Some(StreamStatus::Active) {
            break;
        }
        if Instant::now() > deadline {
            return Err(BenchError::Timeout(format!(
                "stream {} not ACTIVE after 60 s",
                a.stream
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(serde_json::json!({
        "op": "create", "stream": a.stream, "shards": a.shards,
        "seconds": started.elapsed().as_secs_f64(),
    }))
}
