//! Consumer lag as the node reports it, on `/metrics` (`crate::scrape`) and in the web console (`crate::console`):
//! the high watermark of each partition this node hosts, minus a group's committed offset. Kafka groups and KCL
//! applications alike (KCL checkpoints are stored as group offsets).

use std::collections::HashMap;

use strait_engine::{Engine, PartitionLog};

/// High watermarks by topic and partition.
#[derive(Debug, Default)]
pub struct HighWatermarks(HashMap<String, HashMap<i32, i64>>);

impl HighWatermarks {
    /// Those of every partition of every topic this node hosts.
    pub fn of(engine: &Engine) -> HighWatermarks {
        let mut hws = HighWatermarks::default();
        for t in engine.list_topics() {
            let Ok(parts) = engine.partitions(&t.name) else {
                continue;
            };
            for p in parts {
                hws.insert(&t.name, p.index() as i32, p.high_watermark());
            }
        }
        hws
    }

    pub fn insert(&mut self, topic: &str, partition: i32, high_watermark: i64) {
        self.0
            .entry(topic.to_string())
            .or_default()
            .insert(partition, high_watermark);
    }

    pub fn get(&self, topic: &str, partition: i32) -> Option<i64> {
        self.0.get(topic).and_then(|ps| ps.get(&partition)).copied()
    }
}

/// Lag of a committed offset: one past the high watermark (a reset ahead, a truncated log) is no lag.
pub fn lag(high_watermark: i64, committed: i64) -> i64 {
    (high_watermark - committed).max(0)
}
