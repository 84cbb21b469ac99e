//! Applying a committed topic record to the registry: the one path by which a topic's partitions are opened,
//! grown, reconfigured and removed, whether the change was committed by this node (its local call installs it
//! after the commit) or by another node and followed here (see `follow`).
//!
//! Every function here runs with the admin lock held, so the registry cannot change underneath it.

use std::sync::Arc;

use super::open::{Shared, open_partition};
use super::{Engine, Topic, TopicRecord, logs_dir, partition_dir};
use crate::config::TopicConfig;
use crate::error::{IoContext, Result};
use crate::events::TopicEvent;
use crate::meta::MetaOp;
use crate::partition::{self, LocalLog, PARTITIONS_TABLE, SEALS_TABLE};
use crate::topic::TopicInfo;
use crate::util::{lock, read, sync_dir, write};

/// Deletes this node's own rows (recovery points, seal records) of every partition of `topic`.
pub(super) fn node_rows_deletion(topic: &str) -> Vec<MetaOp> {
    let mut prefix = topic.as_bytes().to_vec();
    prefix.push(0);
    vec![
        MetaOp::DeletePrefix {
            table: PARTITIONS_TABLE.into(),
            prefix: prefix.clone(),
        },
        MetaOp::DeletePrefix {
            table: SEALS_TABLE.into(),
            prefix,
        },
    ]
}

impl Engine {
    /// Makes the registry's entry for `name` match `desired`, its committed record (`None`: no such topic).
    /// A record the registry already matches (the node's own change, installed by its local call) is left alone.
    pub(super) async fn reconcile(&self, name: &str, desired: Option<TopicRecord>) -> Result<()> {
        let current = read(&self.inner.topics).get(name).cloned();
        match (current, desired) {
            (None, None) => Ok(()),
            (Some(cur), None) => {
                self.retire(&cur).await?;
                tracing::info!(topic = name, "deleted topic (committed elsewhere)");
                Ok(())
            }
            (None, Some(rec)) => self.adopt(rec).await,
            (Some(cur), Some(rec)) if cur.record.id != rec.id => {
                // Deleted and re-created under the same name since this node last looked.
                self.retire(&cur).await?;
                self.adopt(rec).await
            }
            (Some(cur), Some(rec)) => self.follow_changes(cur, rec).await,
        }
    }

    /// Opens every partition of a topic committed elsewhere and installs it.
    async fn adopt(&self, record: TopicRecord) -> Result<()> {
        let config = self
            .inner
            .cfg
            .topic_defaults
            .with_overrides(&record.overrides)?;
        let parts = self
            .open_partitions(&record, 0..record.partitions, config)
            .await?;
        tracing::info!(topic = %record.name, partitions = record.partitions, "created topic (committed elsewhere)");
        self.install(
            Topic {
                record,
                config,
                partitions: parts,
            },
            TopicEvent::Created,
        );
        Ok(())
    }

    /// Applies a grown partition count and changed overrides of a topic this node has open, as
    /// `create_partitions` and `set_topic_config` do after their commits (growth first: each step is one of the
    /// local calls' own, with its own event).
    async fn follow_changes(&self, mut cur: Arc<Topic>, rec: TopicRecord) -> Result<()> {
        let have = cur.partitions.len() as u32;
        if rec.partitions > have {
            let mut grown = cur.record.clone();
            grown.partitions = rec.partitions;
            let added = self
                .open_partitions(&grown, have..rec.partitions, cur.config)
                .await?;
            let mut parts = cur.partitions.clone();
            parts.extend(added);
            tracing::info!(topic = %rec.name, partitions = rec.partitions, "grew topic (committed elsewhere)");
            self.install(
                Topic {
                    record: grown,
                    config: cur.config,
                    partitions: parts,
                },
                TopicEvent::Grown,
            );
            cur = read(&self.inner.topics)
                .get(&rec.name)
                .cloned()
                .unwrap_or(cur);
        } else if rec.partitions < have {
            // No path shrinks a topic; a record that does is not this engine's and is not followed.
            tracing::error!(topic = %rec.name, committed = rec.partitions, open = have,
                "the committed partition count is below the open one; keeping the open partitions");
        }
        if rec.overrides != cur.record.overrides {
            let config = self
                .inner
                .cfg
                .topic_defaults
                .with_overrides(&rec.overrides)?;
            let mut record = cur.record.clone();
            record.overrides = rec.overrides;
            tracing::info!(topic = %rec.name, "reconfigured topic (committed elsewhere)");
            self.reconfigure(&cur, record, config);
        }
        Ok(())
    }

    /// Makes `topic` visible and tells the front ends (`event` makes the event from its info).
    pub(super) fn install(&self, topic: Topic, event: fn(TopicInfo) -> TopicEvent) -> TopicInfo {
        let info = Self::info(&topic);
        write(&self.inner.topics).insert(topic.record.name.clone(), Arc::new(topic));
        self.emit(event(info.clone()));
        info
    }

    /// Gives `topic`'s partitions the committed `record`'s overrides, parsed as `config`.
    pub(super) fn reconfigure(
        &self,
        topic: &Topic,
        record: TopicRecord,
        config: TopicConfig,
    ) -> TopicInfo {
        for p in &topic.partitions {
            p.set_config(config);
        }
        self.install(
            Topic {
                record,
                config,
                partitions: topic.partitions.clone(),
            },
            TopicEvent::Reconfigured,
        )
    }

    /// Removes a topic whose record is deleted: hides it, tells the front ends, closes its partitions and deletes
    /// their files and this node's rows of them.
    pub(super) async fn retire(&self, topic: &Topic) -> Result<()> {
        let name = topic.record.name.as_str();
        for p in &topic.partitions {
            p.delete_remote_objects();
        }
        write(&self.inner.topics).remove(name);
        lock(&self.inner.fronts).retain(|(t, _), _| t != name);
        self.emit(TopicEvent::Deleted {
            name: name.to_string(),
            id: topic.record.id,
        });
        let mut result = Ok(());
        for p in &topic.partitions {
            if let Err(e) = p.close().await {
                tracing::warn!(topic = name, error = %e, "flush before delete failed (data is being deleted anyway)");
            }
            let dir = p.dir().to_path_buf();
            let doomed = dir.with_extension(format!("{}-delete", uuid::Uuid::new_v4().simple()));
            if let Err(e) = std::fs::rename(&dir, &doomed).at(&dir) {
                result = Err(e);
                break;
            }
            tokio::task::spawn_blocking(move || {
                if let Err(e) = std::fs::remove_dir_all(&doomed) {
                    tracing::warn!(dir = %doomed.display(), error = %e, "could not remove a deleted partition");
                }
            });
        }
        // The final flush of a closing partition records its recovery point in the background, after a local
        // deletion's own commit removed the rows; deleting them again behind it keeps a later same-named topic
        // from starting at the old one's offsets. They are node-local: a deletion committed elsewhere did not carry them.
        if let Err(e) = self.inner.meta.commit(node_rows_deletion(name)).await {
            tracing::warn!(topic = name, error = %e,
                "could not delete the partition rows of a deleted topic (a re-creation of the name clears them)");
        }
        result
    }

    /// Creates partitions `range` of `record`'s topic: before its commit on the local paths, after it when the
    /// record was committed elsewhere. On failure every directory of the range is removed again, so nothing of
    /// the attempt remains.
    pub(super) async fn open_partitions(
        &self,
        record: &TopicRecord,
        range: std::ops::Range<u32>,
        config: TopicConfig,
    ) -> Result<Vec<Arc<LocalLog>>> {
        // Rows an earlier same-named topic left on this node (its deletion interrupted by a crash before `retire`
        // cleared them) describe other files: the new partitions must not start from its recovery points or seal.
        let stale = range
            .clone()
            .flat_map(|p| {
                let key = partition::meta_key(&record.name, p);
                [PARTITIONS_TABLE, SEALS_TABLE].map(|table| MetaOp::Delete {
                    table: table.into(),
                    key: key.clone(),
                })
            })
            .collect();
        self.inner.meta.commit(stale).await?;
        let mut parts = Vec::with_capacity(range.len());
        let mut result = Ok(());
        for p in range.clone() {
            let dir = partition_dir(&self.inner.cfg.data_dir, &record.name, p);
            // A directory left by an interrupted deletion of a same-named topic must not be adopted.
            if dir.exists()
                && let Err(e) = std::fs::remove_dir_all(&dir).at(&dir)
            {
                result = Err(e);
                break;
            }
            match open_partition(
                Shared {
                    cfg: &self.inner.cfg,
                    meta: &self.inner.meta,
                    files: &self.inner.files,
                    remote: &self.inner.remote,
                },
                &record.name,
                p,
                config,
                true,
            ) {
                Ok(part) => parts.push(part),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        let result = result.and_then(|()| sync_dir(&logs_dir(&self.inner.cfg.data_dir)));
        if let Err(e) = result {
            tracing::warn!(topic = %record.name, error = %e, "creating partitions failed; removing what was created");
            self.discard_partitions(&parts).await;
            for p in range {
                let dir = partition_dir(&self.inner.cfg.data_dir, &record.name, p);
                if dir.is_dir()
                    && let Err(e) = std::fs::remove_dir_all(&dir)
                {
                    // Harmless: the next open removes directories that no topic owns.
                    tracing::warn!(dir = %dir.display(), error = %e, "could not remove a partition directory");
                }
            }
            return Err(e);
        }
        Ok(parts)
    }

    /// Stops and removes partitions whose topic change was not committed (no reader has seen them).
    pub(super) async fn discard_partitions(&self, parts: &[Arc<LocalLog>]) {
        for p in parts {
            p.halt().await;
            if let Err(e) = std::fs::remove_dir_all(p.dir()) {
                tracing::warn!(dir = %p.dir().display(), error = %e,
                    "could not remove an uncommitted partition directory (the next start removes it)");
            }
        }
    }
}
