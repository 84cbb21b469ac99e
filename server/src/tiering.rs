//! S3 tiering on the node: the object store the engine opens with, and the uploader task (strait-tier).

use std::sync::Arc;
use std::time::Duration;

use strait_engine::Engine;
use strait_tier::{S3Store, TierError, TierPredicate, Uploader};
use tokio::sync::watch;

use crate::config::TieringConfig;

/// How long startup waits for the bucket to answer before going on without it.
const STARTUP_CHECK: Duration = Duration::from_secs(5);

/// Builds the store. An unreachable store is a warning, not a failure: the node serves its local data, and
/// uploads (and reads of tiered data) work once the store answers.
pub async fn open_store(cfg: &TieringConfig) -> Result<S3Store, TierError> {
    let store = S3Store::connect(&cfg.settings()).await?;
    // Bounded: a store that does not answer must not hold the node's startup for the SDK's full retry budget.
    match tokio::time::timeout(STARTUP_CHECK, store.check()).await {
        Ok(Ok(())) => {
            tracing::info!(bucket = %cfg.bucket, endpoint = ?cfg.endpoint, "tiering to S3")
        }
        Ok(Err(e)) => tracing::warn!(bucket = %cfg.bucket, error = %e,
            "the tiering bucket does not answer; uploads wait until it does"),
        Err(_) => tracing::warn!(bucket = %cfg.bucket, timeout = ?STARTUP_CHECK,
            "the tiering bucket did not answer in time; uploads wait until it does"),
    }
    Ok(store)
}

/// Kinesis streams tier whenever the node tiers (Kinesis has no per-stream switch); Kafka topics by
/// `remote.storage.enable`.
fn kinesis_stream(engine: &Engine, name: &str) -> bool {
    let key = strait_shard_map::schema::stream_key(name);
    matches!(
        engine
            .meta()
            .get(strait_shard_map::schema::META_TABLE, &key),
        Ok(Some(_))
    )
}

/// Starts the uploader; it stops when `stop` turns true.
pub fn start_uploader(
    engine: &Engine,
    store: S3Store,
    cfg: &TieringConfig,
    stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let streams: TierPredicate = Arc::new(|engine, t| kinesis_stream(engine, &t.name));
    let interval = Duration::from_millis(cfg.upload_interval_ms);
    let mut uploader = Uploader::new(engine.clone(), store, interval, streams);
    if cfg.orphan_min_age_ms > 0 {
        uploader = uploader.collect_orphans_after(Duration::from_millis(cfg.orphan_min_age_ms));
    }
    uploader.spawn(stop)
}
