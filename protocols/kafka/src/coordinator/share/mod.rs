//! Share groups (KIP-932): the share-group coordinator, share sessions and share-partition delivery state.
//!
//! - `group.rs`: members, member epochs and the assignment (every member subscribed to a topic gets all of its
//!   partitions: share groups let several members consume one partition, and records, not partitions, are what
//!   is handed out).
//! - `partition.rs`: per (group, topic, partition) record states, acquisition locks and delivery counts.
//! - `session.rs`: share sessions keyed by (group, member), with KIP-932 session epochs.
//! - `store.rs`: what survives a restart: share-partition start offsets and group configs, in the engine's meta
//!   store; `view.rs`: those rows as committed, followed through a `MetaWatcher` (handlers commit rows, never
//!   edit the view).
//! - `wire.rs`: the ShareFetch/ShareAcknowledge v1–2 codecs the `kafka-protocol` crate lacks.
//!
//! All state sits behind one mutex that is never held across I/O: the fetch handler reads the log unlocked and
//! then acquires under the lock, which rechecks every record's state.

pub mod group;
pub mod ops;
pub mod partition;
pub mod session;
pub mod store;
pub mod view;
/// The hand-written ShareFetch/ShareAcknowledge codec, kept reachable under its old path.
pub use crate::codec::share_wire as wire;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use strait_engine::{EngineError, MetaStore};

use crate::coordinator::follow::Follow;

pub use group::ShareGroup;
pub use partition::SharePartition;
pub use session::ShareSession;
pub use view::{ShareSnapshot, ShareView};

/// Kafka's share-group defaults (broker configs `group.share.*`).
#[derive(Debug, Clone, Copy)]
pub struct ShareConfig {
    /// `group.share.record.lock.duration.ms`.
    pub record_lock: Duration,
    /// `group.share.delivery.count.limit`.
    pub max_delivery_attempts: i16,
    /// `group.share.session.timeout.ms`.
    pub session_timeout: Duration,
    /// `group.share.heartbeat.interval.ms`.
    pub heartbeat_interval: Duration,
    /// `group.share.partition.max.record.locks`: records one share-partition keeps acquired at once.
    pub max_record_locks: usize,
}

impl Default for ShareConfig {
    fn default() -> Self {
        ShareConfig {
            record_lock: Duration::from_secs(30),
            max_delivery_attempts: 5,
            session_timeout: Duration::from_secs(45),
            heartbeat_interval: Duration::from_secs(5),
            max_record_locks: 2000,
        }
    }
}

/// The group configs Strait knows for share groups (IncrementalAlterConfigs/DescribeConfigs on GROUP).
pub const GROUP_CONFIG_KEYS: &[(&str, &str, &str)] = &[
    (
        "share.auto.offset.reset",
        "latest",
        "Where a share group starts on a partition it has no start offset for: latest, earliest or by_duration:<ISO-8601>.",
    ),
    (
        "share.record.lock.duration.ms",
        "30000",
        "How long a share consumer holds the acquisition lock on records it fetched.",
    ),
    (
        "share.isolation.level",
        "read_uncommitted",
        "Accepted and described; share fetches read up to the high watermark.",
    ),
];

/// Key of a share-partition: (group, topic id, partition).
pub type SpKey = (String, uuid::Uuid, i32);

#[derive(Default)]
pub struct ShareState {
    pub groups: HashMap<String, ShareGroup>,
    pub partitions: HashMap<SpKey, SharePartition>,
    /// Share sessions by (group, member).
    pub sessions: HashMap<(String, String), ShareSession>,
}

pub struct ShareCoordinator {
    pub cfg: ShareConfig,
    pub meta: MetaStore,
    state: Mutex<ShareState>,
    /// The committed rows (start offsets, group configs); changed only by the watcher.
    view: Arc<ShareView>,
    follow: Follow,
    /// Serializes group-config changes from the read of the committed overrides to the commit of the new ones.
    config_writes: tokio::sync::Mutex<()>,
}

impl ShareCoordinator {
    /// A coordinator whose committed view follows `meta`'s share tables, fed their current contents first.
    pub fn new(meta: MetaStore, cfg: ShareConfig) -> ShareCoordinator {
        let view = Arc::new(ShareView::default());
        ShareCoordinator {
            cfg,
            follow: Follow::new(&meta, view::TABLES, view.clone()),
            meta,
            state: Mutex::new(ShareState::default()),
            view,
            config_writes: tokio::sync::Mutex::new(()),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, ShareState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The committed rows. If the view could not be loaded yet, that is logged and what it holds is used (as a
    /// failed read of the rows always counted as "none").
    pub fn view(&self) -> &ShareView {
        if let Err(e) = self.follow.ensure() {
            tracing::warn!(error = %e, "reading share-group state failed");
        }
        &self.view
    }

    /// The committed rows (what tests compare across a restart and a replica).
    #[doc(hidden)]
    pub fn snapshot(&self) -> ShareSnapshot {
        self.view.snapshot()
    }

    /// A group's committed config overrides. The share lock (`_st`) is held by every caller, so acquisitions
    /// made under it use one value.
    pub fn group_configs(&self, _st: &ShareState, group: &str) -> BTreeMap<String, String> {
        self.view().configs(group)
    }

    /// Changes a group's config overrides with `change` (which sees the committed ones) and commits the result
    /// unless `validate_only`; once this returns `Ok`, readers see it. Changes of group configs run one at a
    /// time, so none is lost between the read and the commit.
    pub async fn alter_group_configs<E: From<EngineError>>(
        &self,
        group: &str,
        validate_only: bool,
        change: impl FnOnce(&mut BTreeMap<String, String>) -> Result<(), E>,
    ) -> Result<(), E> {
        let _writes = self.config_writes.lock().await;
        self.follow.ensure()?;
        let mut configs = self.view.configs(group);
        change(&mut configs)?;
        if !validate_only {
            self.meta
                .commit(vec![store::put_group_configs_op(group, &configs)])
                .await?;
        }
        Ok(())
    }

    /// The acquisition lock for a group: its `share.record.lock.duration.ms`, else the broker default.
    pub fn lock_duration(&self, st: &ShareState, group: &str) -> Duration {
        self.group_configs(st, group)
            .get("share.record.lock.duration.ms")
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(self.cfg.record_lock, Duration::from_millis)
    }

    /// Releases everything `member` holds in `group` and drops its share session.
    pub fn release_member(&self, st: &mut ShareState, group: &str, member: &str) {
        st.sessions.remove(&(group.to_string(), member.to_string()));
        let max = self.cfg.max_delivery_attempts;
        for ((g, _, _), p) in st.partitions.iter_mut() {
            if g == group {
                p.release_member(member, max);
            }
        }
    }

    /// Expires members whose session timed out (releasing their records) and acquisition locks that passed their
    /// deadline; called once a second by the broker.
    pub fn sweep(&self) {
        let now = std::time::Instant::now();
        let mut st = self.lock();
        let expired: Vec<(String, String)> = st
            .groups
            .iter()
            .flat_map(|(g, grp)| {
                grp.expired(now, self.cfg.session_timeout)
                    .into_iter()
                    .map(move |m| (g.clone(), m))
            })
            .collect();
        for (g, m) in expired {
            if let Some(grp) = st.groups.get_mut(&g) {
                grp.remove(&m);
            }
            tracing::info!(group = %g, member = %m, "share group member session expired");
            self.release_member(&mut st, &g, &m);
        }
        let max = self.cfg.max_delivery_attempts;
        for p in st.partitions.values_mut() {
            p.expire_locks(now, max);
        }
        self.persist_dirty(&mut st);
    }

    /// Whether a share group exists: it has members, or persisted state (start offsets) from earlier.
    pub fn group_exists(&self, st: &ShareState, group: &str) -> bool {
        st.groups.contains_key(group)
            || st.partitions.keys().any(|(g, _, _)| g == group)
            || self.view().has_starts(group)
    }

    /// Deletes an empty share group with its start offsets and configs. Errors: NON_EMPTY_GROUP with members.
    pub fn delete_group(
        &self,
        st: &mut ShareState,
        group: &str,
    ) -> Result<(), kafka_protocol::error::ResponseError> {
        if st.groups.get(group).is_some_and(|g| !g.members.is_empty()) {
            return Err(kafka_protocol::error::ResponseError::NonEmptyGroup);
        }
        st.groups.remove(group);
        st.partitions.retain(|(g, _, _), _| g != group);
        st.sessions.retain(|(g, _), _| g != group);
        self.meta
            .commit_in_background(store::delete_group_ops(group));
        Ok(())
    }

    /// Persists every SPSO that moved (in the background: the meta store batches writes).
    pub fn persist_dirty(&self, st: &mut ShareState) {
        let mut ops = Vec::new();
        for (key, p) in st.partitions.iter_mut() {
            if let Some(start) = p.take_dirty_start() {
                ops.push(store::put_start_op(key, start));
            }
        }
        if !ops.is_empty() {
            self.meta.commit_in_background(ops);
        }
    }
}
