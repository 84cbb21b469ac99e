//! Share groups (KIP-932): the share-group coordinator, share sessions and share-partition delivery state.
//!
//! - `group.rs`: members, member epochs and the assignment (every member subscribed to a topic gets all of its
//!   partitions: share groups let several members consume one partition, and records, not partitions, are what
//!   is handed out).
//! - `partition.rs`: per (group, topic, partition) record states, acquisition locks and delivery counts.
//! - `session.rs`: share sessions keyed by (group, member), with KIP-932 session epochs.
//! - `store.rs`: what survives a restart: share-partition start offsets and group configs, in the engine's meta
//!   store.
//! - `wire.rs`: the ShareFetch/ShareAcknowledge v1–2 codecs the `kafka-protocol` crate lacks.
//!
//! All state sits behind one mutex that is never held across I/O: the fetch handler reads the log unlocked and
//! then acquires under the lock, which rechecks every record's state.

pub mod group;
pub mod ops;
pub mod partition;
pub mod session;
pub mod store;
/// The hand-written ShareFetch/ShareAcknowledge codec, kept reachable under its old path.
pub use crate::codec::share_wire as wire;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use strait_engine::MetaStore;

pub use group::ShareGroup;
pub use partition::SharePartition;
pub use session::ShareSession;

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
    /// Group configs set with IncrementalAlterConfigs (overrides only), loaded lazily from the meta store.
    pub configs: HashMap<String, BTreeMap<String, String>>,
}

pub struct ShareCoordinator {
    pub cfg: ShareConfig,
    pub meta: MetaStore,
    state: Mutex<ShareState>,
}

impl ShareCoordinator {
    pub fn new(meta: MetaStore, cfg: ShareConfig) -> ShareCoordinator {
        ShareCoordinator {
            cfg,
            meta,
            state: Mutex::new(ShareState::default()),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, ShareState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A group's config overrides (loaded from the meta store on first use).
    pub fn group_configs(&self, st: &mut ShareState, group: &str) -> BTreeMap<String, String> {
        if let Some(c) = st.configs.get(group) {
            return c.clone();
        }
        let c = store::load_group_configs(&self.meta, group);
        st.configs.insert(group.to_string(), c.clone());
        c
    }

    /// The acquisition lock for a group: its `share.record.lock.duration.ms`, else the broker default.
    pub fn lock_duration(&self, st: &mut ShareState, group: &str) -> Duration {
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
            || !store::load_group_starts(&self.meta, group).is_empty()
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
        st.configs.remove(group);
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
