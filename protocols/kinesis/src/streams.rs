//! Read-only access to streams for the server's cross-protocol glue (KCL checkpoints ↔ consumer-group offsets,
//! the `strait-kcl-bridge` crate), which needs stream records and consumers without going through a Kinesis request.

use std::sync::Arc;

use crate::state::Kinesis;
use crate::store::StreamRecord;

impl Kinesis {
    /// Every stream that exists now, Kinesis-created and Kafka-created alike (not those being deleted).
    pub fn stream_names(&self) -> Vec<String> {
        self.inner
            .store
            .names(&self.inner.engine)
            .into_iter()
            .filter(|n| self.stream(n).is_some())
            .collect()
    }

    /// The current record of stream `name`, if it exists.
    pub fn stream(&self, name: &str) -> Option<Arc<StreamRecord>> {
        self.lookup(name).ok().map(|(_, r)| r)
    }

    /// The stream cache's records by name: Kinesis streams and adopted Kafka topics, not synthesized views. Tests
    /// compare it with a cache rebuilt from the same committed changes ([`crate::store::StreamCache::follow`]).
    pub fn cached_streams(&self) -> std::collections::BTreeMap<String, StreamRecord> {
        self.inner.store.cache().snapshot()
    }

    /// Whether a live (not deleting) enhanced fan-out consumer named `consumer` is registered on `r`.
    pub fn has_consumer(&self, r: &StreamRecord, consumer: &str) -> bool {
        self.stream_consumers(r)
            .iter()
            .any(|c| c.name == consumer && c.status != "DELETING")
    }
}
