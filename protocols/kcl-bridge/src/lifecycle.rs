//! What a topic's deletion does to Kafka consumer-group offsets, whichever protocol deleted it.
//!
//! Kafka drops a deleted topic's committed offsets (Strait's DeleteTopics does too), so a topic re-created under
//! the name does not resume consumers from stale positions. A stream deleted through Kinesis (DeleteStream) is
//! the same topic going away, so the same happens: this hook removes the offsets after any deletion. For a Kafka
//! deletion that repeats what DeleteTopics does, which is harmless.

use std::sync::Arc;

use strait_engine::{Engine, TopicEvent};
use strait_kafka::GroupOffsets;
use tracing::warn;

/// Registers the hook on `engine`. Engine hooks must not block, so the removal is spawned on the current Tokio
/// runtime (topic deletions happen inside one).
pub fn drop_offsets_of_deleted_topics(engine: &Engine) {
    let offsets = GroupOffsets::new(engine.meta().clone());
    let meta = engine.meta().clone();
    engine.on_topic_event(Arc::new(move |event: &TopicEvent| {
        let TopicEvent::Deleted { name, .. } = event else {
            return;
        };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            warn!(topic = %name, "no runtime to remove the committed offsets of a deleted topic");
            return;
        };
        let (offsets, meta, name) = (offsets.clone(), meta.clone(), name.clone());
        rt.spawn(async move {
            let result = match offsets.topic_delete_ops(&name) {
                Ok(ops) if ops.is_empty() => Ok(()),
                Ok(ops) => meta.commit(ops).await,
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                warn!(topic = %name, error = %e, "could not remove committed offsets of a deleted topic");
            }
        });
    }));
}
