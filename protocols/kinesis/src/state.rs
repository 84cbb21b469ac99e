//! The Kinesis front end's shared state: configuration, clock, the engine, the stream store and the throughput
//! limits. Operations (`ops`) and the entry point (`service`) both use it; it uses neither.

use std::sync::Arc;
use std::time::Duration;

use strait_engine::Engine;

use crate::clock::Clock;
use crate::error::KinesisError;
use crate::limits::Limits;
use crate::store::Store;

/// Settings of the Kinesis front end (the server maps its `[aws]` config onto this).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KinesisConfig {
    /// Region in ARNs. Default `us-east-1`.
    pub region: String,
    /// Account id in ARNs and messages. Default `000000000000`.
    pub account_id: String,
    /// How long a stream stays CREATING/UPDATING/DELETING (and a consumer CREATING/DELETING) before the change
    /// is reported complete. The work itself is done at once; the delay only makes the transitions observable,
    /// as on AWS.
    pub status_delay: Duration,
    /// Enforce AWS's per-shard throughput limits with ProvisionedThroughputExceededException.
    pub enforce_limits: bool,
    /// Open shards allowed per account (DescribeLimits ShardLimit). AWS's default is 500 in most regions.
    pub shard_limit: u32,
    /// ON_DEMAND streams allowed per account. AWS's default is 50.
    pub on_demand_stream_limit: u32,
    /// How long a shard iterator stays valid after it is issued. AWS: 5 minutes; shorter values let tests see
    /// ExpiredIteratorException without waiting.
    pub iterator_ttl: Duration,
}

impl Default for KinesisConfig {
    fn default() -> Self {
        KinesisConfig {
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            status_delay: Duration::from_millis(100),
            enforce_limits: false,
            shard_limit: 500,
            on_demand_stream_limit: 50,
            iterator_ttl: Duration::from_millis(crate::tokens::ITERATOR_TTL_MS as u64),
        }
    }
}

pub(crate) struct Inner {
    pub(crate) engine: Engine,
    pub(crate) cfg: KinesisConfig,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) store: Arc<Store>,
    pub(crate) limits: Limits,
}

/// The Kinesis front end over one engine; cheap to clone.
#[derive(Clone)]
pub struct Kinesis {
    pub(crate) inner: Arc<Inner>,
}

impl Kinesis {
    /// Loads the streams' metadata from the engine's metadata store.
    pub async fn open(
        engine: Engine,
        cfg: KinesisConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Kinesis, KinesisError> {
        let store = Arc::new(Store::open(&engine).await?);
        // Deleting the topic through Kafka deletes the stream (store::lifecycle).
        crate::store::watch_topic_events(&engine, Arc::downgrade(&store));
        let limits = Limits::new(cfg.enforce_limits);
        let k = Kinesis {
            inner: Arc::new(Inner {
                engine,
                cfg,
                clock,
                store,
                limits,
            }),
        };
        k.recover_plans().await?;
        Ok(k)
    }

    pub fn config(&self) -> &KinesisConfig {
        &self.inner.cfg
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }
}
