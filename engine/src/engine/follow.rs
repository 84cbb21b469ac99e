//! Following the `topics` table: the registry converges on every committed topic record, including records
//! committed by other nodes of a cluster (applied to this node's store by the replicated metadata log).
//!
//! [`TopicFollower`] is the table's watcher. Watchers run on the committer's thread and must not block, while
//! opening partitions does file I/O; so the watcher only keeps its own copy of the table (decoded records) and
//! the names changed since, and wakes the follow task, which reconciles each changed name with its latest
//! record (`reconcile`) under the admin lock.
//!
//! Why the node's own changes are not applied twice: every local topic call holds the admin lock from before its
//! commit until it has installed the change in the registry, and its commit feeds the watcher before returning.
//! The task takes the changed names only once it holds the lock itself, so it sees the registry with the local
//! change installed and its record equal to the table's: nothing to do. Reconciling with the *latest* record of
//! a name, never with an intermediate one, is what makes this hold for a burst of changes too (created, deleted
//! and created again before the task runs: it compares the registry with the last of them).
//!
//! While a followed topic's partitions open, the registry does not list it yet: [`Engine::partition`] answers
//! `UnknownTopic` (for a grown topic, `UnknownPartition` for the new indices) until all are open, never a
//! half-built topic.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use super::{Engine, Inner, TopicRecord, decode};
use crate::meta::{FirstCorruptRow, MetaOp, MetaWatcher};
use crate::util::lock;

/// How long the task waits before retrying a topic it could not open or remove (a full or failing disk).
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The `topics` table's watcher (see the module docs).
#[derive(Default)]
pub(super) struct TopicFollower {
    state: Mutex<Followed>,
    wake: tokio::sync::Notify,
    corrupt: FirstCorruptRow,
}

#[derive(Default)]
struct Followed {
    /// The table as committed, by topic name.
    table: BTreeMap<String, TopicRecord>,
    /// Names whose row changed since the task last took them, in the order they first changed.
    changed: Vec<String>,
}

impl MetaWatcher for TopicFollower {
    fn apply(&self, ops: &[MetaOp]) {
        let mut st = lock(&self.state);
        let mut touched = Vec::new();
        for op in ops {
            match op {
                MetaOp::Put { key, value, .. } => {
                    let name = String::from_utf8_lossy(key).into_owned();
                    match decode::<TopicRecord>("topic", value) {
                        Ok(record) => {
                            st.table.insert(name.clone(), record);
                            touched.push(name);
                        }
                        // Left as it was: treating an unreadable row as a deletion would delete the topic's data.
                        Err(e) => self.corrupt.record("topic", key, &e),
                    }
                }
                MetaOp::Delete { key, .. } => {
                    let name = String::from_utf8_lossy(key).into_owned();
                    st.table.remove(&name);
                    touched.push(name);
                }
                MetaOp::DeletePrefix { prefix, .. } => {
                    let gone: Vec<String> = st
                        .table
                        .keys()
                        .filter(|n| n.as_bytes().starts_with(prefix))
                        .cloned()
                        .collect();
                    for name in gone {
                        st.table.remove(&name);
                        touched.push(name);
                    }
                }
            }
        }
        if !touched.is_empty() {
            st.changed.extend(touched);
            drop(st);
            self.wake.notify_one();
        }
    }
}

impl TopicFollower {
    /// Takes the changed names, each once, with its latest committed record (`None`: deleted).
    fn take_changes(&self) -> Vec<(String, Option<TopicRecord>)> {
        let mut st = lock(&self.state);
        let changed = std::mem::take(&mut st.changed);
        let mut seen = HashSet::new();
        changed
            .into_iter()
            .filter(|n| seen.insert(n.clone()))
            .map(|n| {
                let record = st.table.get(&n).cloned();
                (n, record)
            })
            .collect()
    }

    /// Marks `names` changed again (their reconciliation failed) and wakes the task after [`RETRY_AFTER`].
    fn retry_later(self: &Arc<Self>, names: Vec<String>) {
        lock(&self.state).changed.extend(names);
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            tokio::time::sleep(RETRY_AFTER).await;
            if let Some(me) = me.upgrade() {
                me.wake.notify_one();
            }
        });
    }
}

/// Starts the follow task of the engine behind `inner`; it ends when the engine is dropped or shut down.
pub(super) fn spawn(
    inner: Weak<Inner>,
    follower: Arc<TopicFollower>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            follower.wake.notified().await;
            let Some(inner) = inner.upgrade() else { break };
            let engine = Engine { inner };
            if engine.check_open().is_err() {
                break;
            }
            engine.apply_followed_topics().await;
        }
    })
}

impl Engine {
    /// Applies every committed topic change this node was fed and has not applied yet, now, instead of when the
    /// follow task gets to it; returns once the registry matches the table as last fed (topics that failed to
    /// open are retried later). A cluster node calls it where it must not answer before the partitions exist.
    pub async fn apply_followed_topics(&self) {
        let _admin = self.inner.admin.lock().await;
        if self.check_open().is_err() {
            return;
        }
        let follower = &self.inner.follower;
        // Taken under the lock: see the module docs for why this is what keeps local changes from being redone.
        let mut failed = Vec::new();
        for (name, record) in follower.take_changes() {
            if let Err(e) = self.reconcile(&name, record).await {
                tracing::error!(topic = %name, error = %e,
                    "could not apply a committed topic change; retrying");
                failed.push(name);
            }
        }
        if !failed.is_empty() {
            follower.retry_later(failed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::tables::TOPICS;

    fn record(name: &str, partitions: u32) -> TopicRecord {
        TopicRecord {
            id: uuid::Uuid::new_v4(),
            name: name.to_string(),
            partitions,
            overrides: BTreeMap::new(),
            created_ms: 0,
        }
    }

    fn put(r: &TopicRecord) -> MetaOp {
        MetaOp::Put {
            table: TOPICS.into(),
            key: r.name.as_bytes().to_vec(),
            value: serde_json::to_vec(r).expect("encode"),
        }
    }

    fn delete(name: &str) -> MetaOp {
        MetaOp::Delete {
            table: TOPICS.into(),
            key: name.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_burst_of_changes_to_a_name_is_taken_once_with_the_last_record() {
        let f = TopicFollower::default();
        let (x1, y, x2) = (record("x", 1), record("y", 2), record("x", 3));
        f.apply(&[put(&x1)]);
        f.apply(&[put(&y), delete("x")]);
        f.apply(&[put(&x2)]);
        f.apply(&[delete("y")]);
        assert_eq!(
            f.take_changes(),
            [("x".to_string(), Some(x2)), ("y".to_string(), None)]
        );
        assert!(f.take_changes().is_empty());
    }

    #[test]
    fn an_unreadable_row_is_not_taken_for_a_deletion() {
        let f = TopicFollower::default();
        let x = record("x", 1);
        f.apply(&[put(&x)]);
        f.take_changes();
        f.apply(&[MetaOp::Put {
            table: TOPICS.into(),
            key: b"x".to_vec(),
            value: b"not json".to_vec(),
        }]);
        assert!(f.take_changes().is_empty());
        assert!(f.corrupt.get().is_some());
        assert_eq!(lock(&f.state).table.get("x"), Some(&x));
    }

    #[test]
    fn a_prefix_deletion_deletes_the_names_it_covers() {
        let f = TopicFollower::default();
        f.apply(&[
            put(&record("ab", 1)),
            put(&record("ac", 1)),
            put(&record("b", 1)),
        ]);
        f.take_changes();
        f.apply(&[MetaOp::DeletePrefix {
            table: TOPICS.into(),
            prefix: b"a".to_vec(),
        }]);
        assert_eq!(
            f.take_changes(),
            [("ab".to_string(), None), ("ac".to_string(), None)]
        );
    }
}
