//! The state machine of a partition's group. The data is already in the log when an entry commits, so applying
//! is O(1): move the log's committed point (its high watermark, which readers never pass) to the end of the
//! applied entries and answer each proposer with where its batch landed. No second write of the data.
//!
//! Snapshots are metadata only (the last applied id and membership): the log itself is the state. Installing
//! one on a replica that fell behind a purge needs the replica's log to restart at the snapshot's offset, which
//! is not built yet, so purging is never triggered and `install_snapshot` reports it as unsupported.

use std::future::Future;
use std::io::{self, Cursor};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::{EntryPayload, RaftSnapshotBuilder};
use strait_engine::batch::BatchHeader;

use crate::error::GroupError;
use crate::state::Applied;
use crate::store::Shared;
use crate::types::{
    Appended, DataConfig, LogId, Snapshot, SnapshotMeta, StoredMembership, epoch_of,
};

/// How often the applied point is written in the background while entries flow.
const PERSIST_EVERY: Duration = Duration::from_secs(1);

/// What a group's owner does with each committed data entry, besides making it readable: the controller group
/// applies the metadata changes an entry carries. Called in log order, on every replica, before the entry's
/// proposer hears back. Entries may be applied again after a restart (the applied point is saved lazily), so an
/// apply must be idempotent as a replay of a suffix in order. An error stops the group (the state machine can no
/// longer follow its log).
pub trait ApplyHook: Send + Sync + 'static {
    fn apply<'a>(
        &'a self,
        batch: &'a Bytes,
        at: Appended,
    ) -> Pin<Box<dyn Future<Output = Result<(), GroupError>> + Send + 'a>>;
}

/// A group's openraft handle.
pub(crate) type Raft = openraft::Raft<DataConfig, DataMachine>;

pub(crate) struct DataMachine {
    shared: Arc<Shared>,
    hook: Option<Arc<dyn ApplyHook>>,
    applied: Option<LogId>,
    membership: StoredMembership,
    persisted_at: Instant,
}

impl DataMachine {
    pub(crate) fn open(
        shared: Arc<Shared>,
        hook: Option<Arc<dyn ApplyHook>>,
    ) -> Result<DataMachine, GroupError> {
        let a = shared.state.applied()?.unwrap_or(Applied {
            log_id: None,
            membership: StoredMembership::default(),
        });
        // An applied point past the log's end (its tail was lost with an unsynced disk) cannot be trusted:
        // re-apply from the start, which only moves the committed point.
        let next = shared.map().next_index();
        let (applied, membership) = match a.log_id {
            Some(id) if id.index >= next => (None, StoredMembership::default()),
            _ => (a.log_id, a.membership),
        };
        Ok(DataMachine {
            shared,
            hook,
            applied,
            membership,
            persisted_at: Instant::now(),
        })
    }

    fn to_applied(&self) -> Applied {
        Applied {
            log_id: self.applied,
            membership: self.membership.clone(),
        }
    }
}

impl RaftStateMachine<DataConfig> for DataMachine {
    type SnapshotData = Cursor<Vec<u8>>;
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), io::Error> {
        Ok((self.applied, self.membership.clone()))
    }

    async fn apply<S>(&mut self, mut entries: S) -> Result<(), io::Error>
    where
        S: Stream<Item = Result<EntryResponder<DataConfig>, io::Error>> + Unpin + Send,
    {
        let mut answers = Vec::new();
        let mut end = None;
        let mut membership_changed = false;
        while let Some((e, responder)) = entries.try_next().await? {
            let idx = e.log_id.index;
            let Some((base, next)) = self.shared.map().range_of(idx) else {
                return Err(GroupError::Inconsistent {
                    group: self.shared.name.clone(),
                    reason: format!("applied entry {idx} is not in the log"),
                }
                .into());
            };
            let epoch = epoch_of(e.log_id.leader_id.term);
            let mut answer = Appended {
                base_offset: base,
                last_offset: next - 1,
                log_append_time: -1,
                leader_epoch: epoch,
            };
            match &e.payload {
                EntryPayload::Normal(b) => {
                    if let Ok(h) = BatchHeader::parse(&b.bytes)
                        && h.is_log_append_time()
                    {
                        answer.log_append_time = h.max_timestamp;
                    }
                    if let Some(hook) = &self.hook {
                        hook.apply(&b.bytes, answer).await?;
                    }
                }
                EntryPayload::Membership(m) => {
                    self.membership = StoredMembership::new(Some(e.log_id), m.clone());
                    membership_changed = true;
                }
                EntryPayload::Blank => {}
            }
            self.applied = Some(e.log_id);
            end = Some(next);
            if let Some(r) = responder {
                answers.push((r, answer));
            }
        }
        // Readers see the entries before their writers hear back: a consumer told "offset N is written" can read N.
        if let Some(end) = end {
            self.shared.log.set_high_watermark(end);
        }
        for (r, a) in answers {
            r.send(a);
        }
        if membership_changed || self.persisted_at.elapsed() >= PERSIST_EVERY {
            self.persisted_at = Instant::now();
            self.shared
                .state
                .save_applied(&self.to_applied(), membership_changed)
                .await?;
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> SnapshotBuilder {
        SnapshotBuilder {
            meta: SnapshotMeta {
                last_log_id: self.applied,
                last_membership: self.membership.clone(),
            },
        }
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        _snapshot: Cursor<Vec<u8>>,
    ) -> Result<(), io::Error> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "{}: installing a snapshot (up to {:?}) needs a log restart at its offset, not built yet",
                self.shared.name, meta.last_log_id
            ),
        ))
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, io::Error> {
        Ok(None)
    }
}

pub(crate) struct SnapshotBuilder {
    meta: SnapshotMeta,
}

impl RaftSnapshotBuilder<DataConfig> for SnapshotBuilder {
    type SnapshotData = Cursor<Vec<u8>>;

    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
        Ok(Snapshot {
            meta: self.meta.clone(),
            snapshot: Cursor::new(Vec::new()),
        })
    }
}
