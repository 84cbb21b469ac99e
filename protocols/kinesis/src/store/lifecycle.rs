//! Keeping stream records in step with the engine's topics, whichever protocol changes them.
//!
//! A stream is a topic. Deleting the topic through Kafka (DeleteTopics) must delete the stream: its record (shard
//! lineage, consumers, tags, policy) goes, and a topic re-created under the name starts fresh. The engine calls
//! [`Store::on_topic_deleted`] synchronously after the deletion is committed: the stream leaves the cache at once
//! (ListStreams and DescribeStream stop showing it before DeleteTopics answers), and the record's removal is
//! committed right after on a spawned task (hooks may not block).
//!
//! A crash between the topic's deletion and that commit leaves a record behind. Records carry their topic's id,
//! so such a record is recognised (its topic is gone, or has another id) and removed when the front end opens
//! ([`Store::reconcile`]); until then nothing reads it as the stream (the Kafka front end checks the id too).

use std::sync::Arc;

use strait_engine::{Engine, MetaOp};
use strait_shard_map::schema::record_belongs_to;

use super::record::StreamRecord;
use super::{Store, TABLE, internal, stream_key};
use crate::error::KinesisError;

impl Store {
    /// At open: removes records whose topic is gone or was re-created, and stamps records written before they
    /// carried a topic id with the id of the topic they belong to.
    pub(super) async fn reconcile(&self, engine: &Engine) -> Result<(), KinesisError> {
        let mut ops = Vec::new();
        for (name, record) in self.cache.snapshot() {
            match engine.topic(&name) {
                Some(t) if record.topic_id == Some(t.id) => {}
                Some(t) if record.topic_id.is_none() => {
                    let mut stamped = record;
                    stamped.topic_id = Some(t.id);
                    ops.push(self.record_op(&stamped)?);
                }
                _ => {
                    tracing::info!(stream = %name, "removing the Kinesis record of a deleted topic");
                    ops.push(MetaOp::Delete {
                        table: TABLE.into(),
                        key: stream_key(&name),
                    });
                }
            }
        }
        if !ops.is_empty() {
            self.meta.commit(ops).await.map_err(internal)?;
        }
        Ok(())
    }

    /// Topic `name` (id `topic_id`) was just deleted: drops its stream from the cache now; the record follows
    /// ([`remove_record_of`](Self::remove_record_of)).
    pub(crate) fn on_topic_deleted(&self, name: &str, topic_id: &str) {
        self.cache.forget_topic(name, topic_id);
    }

    /// Removes the record of stream `name` if it belongs to the deleted topic `topic_id` (not to a topic created
    /// under the name since). Serialised with stream creation, deletion and adoption by the lifecycle lock, so the
    /// check and the removal see the same record.
    pub(crate) async fn remove_record_of(
        &self,
        name: &str,
        topic_id: &str,
    ) -> Result<(), KinesisError> {
        let _lifecycle = self.lifecycle.lock().await;
        let Some(bytes) = self.meta.get(TABLE, &stream_key(name)).map_err(internal)? else {
            return Ok(());
        };
        let belongs = match serde_json::from_slice::<StreamRecord>(&bytes) {
            Ok(r) => record_belongs_to(r.topic_id.map(|u| u.to_string()).as_deref(), topic_id),
            // A damaged record of a topic that no longer exists helps nobody.
            Err(_) => true,
        };
        if belongs {
            self.meta
                .commit(vec![MetaOp::Delete {
                    table: TABLE.into(),
                    key: stream_key(name),
                }])
                .await
                .map_err(internal)?;
        }
        Ok(())
    }
}

/// Registers the engine hook that reconciles streams with created and deleted topics. It holds the front end weakly: the
/// engine outlives no one, but a hook must not keep a closed front end alive.
pub(crate) fn watch_topic_events(engine: &Engine, store: std::sync::Weak<Store>) {
    engine.on_topic_event(Arc::new(move |event| {
        let Some(store) = store.upgrade() else {
            return;
        };
        let (name, id) = match event {
            strait_engine::TopicEvent::Deleted { name, id } => (name, id),
            // A record of an earlier topic of the name that is still cached (left by a crash, or replayed) is not
            // the new topic's stream.
            strait_engine::TopicEvent::Created(t) => {
                store.cache.forget_other_topics(&t.name, &t.id.to_string());
                return;
            }
            strait_engine::TopicEvent::Grown(_) | strait_engine::TopicEvent::Reconfigured(_) => return,
        };
        let id = id.to_string();
        store.on_topic_deleted(name, &id);
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(stream = %name, "no runtime to remove the Kinesis record of a deleted topic");
            return;
        };
        let name = name.clone();
        rt.spawn(async move {
            if let Err(e) = store.remove_record_of(&name, &id).await {
                // Harmless until the next start removes it: the record no longer counts as the stream.
                tracing::warn!(stream = %name, error = %e, "could not remove the Kinesis record of a deleted topic");
            }
        });
    }));
}
