//! The Raft log of a partition's group *is* the partition log: openraft's `RaftLogStorage` and `RaftLogReader`
//! over a [`PartitionLog`] opened with `CommitPolicy::External`. Entries are stored once, as the record batches
//! consumers read; Raft's own entries are control batches ([`crate::control`]).
//!
//! - **append**: the leader's fresh batches go through `append` (validated, offsets and epoch = term stamped);
//!   everything a replica receives, and every control entry, through `append_replica`, so all replicas hold the
//!   same bytes. `IOFlushed` fires from the log's durable callback: one group fsync covers many entries.
//! - **read**: entries are rebuilt from the stored batches, so what a leader sends is exactly what it stored.
//! - **truncate / purge** cut the log at batch boundaries found through the [`IndexMap`].
// #[PerformanceCriticalPath]

use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use openraft::storage::{IOFlushed, LogState, RaftLogStorage};
use openraft::{EntryPayload, RaftLogReader};
use strait_engine::batch::{BatchHeader, BatchIter};
use strait_engine::{AppendOptions, Partition};

use crate::control::{self, Control};
use crate::error::GroupError;
use crate::index::IndexMap;
use crate::state::{GroupState, Start};
use crate::types::{Batch, DataConfig, Entry, LogId, Vote, epoch_of, log_id};

/// Bytes read per step when rebuilding the index or reading entries.
const READ_CHUNK: usize = 4 << 20;

/// What the log store, its readers and the state machine share.
pub(crate) struct Shared {
    pub(crate) name: String,
    pub(crate) log: Arc<Partition>,
    pub(crate) state: GroupState,
    map: Mutex<IndexMap>,
    purged: Mutex<Option<LogId>>,
    vote: Mutex<Option<Vote>>,
}

impl Shared {
    /// Rebuilds the index of a log by walking its batch headers from where the Raft log starts.
    pub(crate) async fn open(
        name: String,
        log: Arc<Partition>,
        state: GroupState,
    ) -> Result<Arc<Shared>, GroupError> {
        let start = state.start()?.unwrap_or(Start {
            first_index: 0,
            offset: log.log_start(),
            purged: None,
        });
        if log.log_start() > start.offset {
            return Err(GroupError::Inconsistent {
                group: name,
                reason: format!(
                    "the log starts at {} but its Raft log at {}: something dropped entries outside Raft",
                    log.log_start(),
                    start.offset
                ),
            });
        }
        let mut map = IndexMap::new(start.first_index, start.offset);
        let end = log.offsets().log_end;
        let mut at = start.offset;
        while at < end {
            let chunk = log.read_uncommitted(at, READ_CHUNK).await?.records;
            if chunk.is_empty() {
                break;
            }
            for b in BatchIter::new(&chunk) {
                let (h, _) = b.map_err(strait_engine::EngineError::from)?;
                let term = u64::try_from(h.partition_leader_epoch.max(0)).unwrap_or(0);
                map.push(h.base_offset, h.last_offset() + 1, term);
                at = h.last_offset() + 1;
            }
        }
        let vote = state.vote()?;
        Ok(Arc::new(Shared {
            name,
            log,
            state,
            map: Mutex::new(map),
            purged: Mutex::new(start.purged),
            vote: Mutex::new(vote),
        }))
    }

    pub(crate) fn map(&self) -> MutexGuard<'_, IndexMap> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn inconsistent(&self, reason: String) -> GroupError {
        GroupError::Inconsistent {
            group: self.name.clone(),
            reason,
        }
    }

    /// Entries `[start, end)` rebuilt from the stored batches.
    async fn entries(&self, start: u64, end: u64) -> Result<Vec<Entry>, GroupError> {
        let (mut at, stop) = {
            let m = self.map();
            let end = end.min(m.next_index());
            if start >= end {
                return Ok(Vec::new());
            }
            match (m.offset_of(start), m.offset_of(end)) {
                (Some(a), Some(b)) => (a, b),
                _ => {
                    return Err(self.inconsistent(format!(
                        "entries {start}..{end} are not in the log (first index {})",
                        m.first_index()
                    )));
                }
            }
        };
        let mut out = Vec::with_capacity(usize::try_from(end - start).unwrap_or(0));
        let mut index = start;
        while at < stop {
            let chunk = self.log.read_uncommitted(at, READ_CHUNK).await?.records;
            if chunk.is_empty() {
                return Err(self.inconsistent(format!("no batch at offset {at}")));
            }
            for b in BatchIter::new(&chunk) {
                let (h, range) = b.map_err(strait_engine::EngineError::from)?;
                if h.base_offset >= stop {
                    break;
                }
                out.push(entry(&h, chunk.slice(range), index)?);
                index += 1;
                at = h.last_offset() + 1;
            }
        }
        Ok(out)
    }
}

/// One stored batch as a Raft entry.
fn entry(h: &BatchHeader, raw: Bytes, index: u64) -> Result<Entry, GroupError> {
    let term = u64::try_from(h.partition_leader_epoch.max(0)).unwrap_or(0);
    let payload = match control::decode(h, &raw)? {
        Some(Control::LeaderChange) => EntryPayload::Blank,
        Some(Control::Membership(m)) => EntryPayload::Membership(m),
        None => EntryPayload::Normal(Batch {
            bytes: raw,
            stamped: true,
        }),
    };
    Ok(Entry {
        log_id: log_id(term, index),
        payload,
    })
}

fn resolve(range: &impl RangeBounds<u64>) -> (u64, u64) {
    let start = match range.start_bound() {
        Bound::Included(&s) => s,
        Bound::Excluded(&s) => s + 1,
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(&e) => e + 1,
        Bound::Excluded(&e) => e,
        Bound::Unbounded => u64::MAX,
    };
    (start, end)
}

/// The log store (and its reader: a clone).
#[derive(Clone)]
pub(crate) struct LogStore {
    pub(crate) shared: Arc<Shared>,
}

impl RaftLogReader<DataConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, io::Error> {
        let (start, end) = resolve(&range);
        Ok(self.shared.entries(start, end).await?)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        Ok(*self
            .shared
            .vote
            .lock()
            .unwrap_or_else(PoisonError::into_inner))
    }
}

impl RaftLogStorage<DataConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<DataConfig>, io::Error> {
        let purged = *self
            .shared
            .purged
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let last = self.shared.map().last().or(purged);
        Ok(LogState {
            last_purged_log_id: purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> LogStore {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), io::Error> {
        self.shared.state.save_vote(vote).await?;
        *self
            .shared
            .vote
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(*vote);
        Ok(())
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), io::Error> {
        Ok(self.shared.state.save_committed(&committed)?)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, io::Error> {
        Ok(self.shared.state.committed()?)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: IOFlushed<DataConfig>,
    ) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let s = &self.shared;
        let mut end = None;
        for e in entries {
            let term = e.log_id.leader_id.term;
            let epoch = epoch_of(term);
            let (next, at) = {
                let m = s.map();
                (m.next_index(), m.end_offset())
            };
            if e.log_id.index != next {
                return Err(s
                    .inconsistent(format!("entry {} does not follow {}", e.log_id.index, next))
                    .into());
            }
            let info = match e.payload {
                EntryPayload::Normal(b) if b.stamped => s.log.append_replica(b.bytes).await,
                EntryPayload::Normal(b) => {
                    let opts = AppendOptions {
                        leader_epoch: epoch,
                        wait_durable: false,
                        forward: false,
                    };
                    s.log.append(b.bytes, opts).await
                }
                EntryPayload::Blank => {
                    let c = control::encode(&Control::LeaderChange, at, epoch)
                        .map_err(GroupError::from)?;
                    s.log.append_replica(c).await
                }
                EntryPayload::Membership(m) => {
                    let c = control::encode(&Control::Membership(m), at, epoch)
                        .map_err(GroupError::from)?;
                    s.log.append_replica(c).await
                }
            }
            .map_err(GroupError::from)?;
            s.map().push(info.base_offset, info.last_offset + 1, term);
            end = Some(info.last_offset + 1);
        }
        match end {
            Some(end) => s.log.on_durable(
                end,
                Box::new(move |r| callback.io_completed(r.map_err(io::Error::other))),
            ),
            None => callback.io_completed(Ok(())),
        }
        Ok(())
    }

    async fn truncate_after(&mut self, last: Option<LogId>) -> Result<(), io::Error> {
        let s = &self.shared;
        let keep_end = {
            let m = s.map();
            let after = last.map_or(m.first_index(), |l| l.index + 1);
            m.offset_of(after).unwrap_or_else(|| m.end_offset())
        };
        s.log
            .truncate_after(keep_end - 1)
            .await
            .map_err(GroupError::from)?;
        s.map().truncate_after(last.map(|l| l.index));
        Ok(())
    }

    async fn purge(&mut self, upto: LogId) -> Result<(), io::Error> {
        let s = &self.shared;
        let (first_index, offset) = {
            let mut m = s.map();
            let offset = m.purge(upto.index);
            (m.first_index(), offset)
        };
        // The start is recorded first: a crash before the log start moves leaves entries the next open skips.
        s.state
            .save_start(&Start {
                first_index,
                offset,
                purged: Some(upto),
            })
            .await?;
        *s.purged.lock().unwrap_or_else(PoisonError::into_inner) = Some(upto);
        if offset > s.log.log_start() {
            s.log
                .delete_records(offset)
                .await
                .map_err(GroupError::from)?;
        }
        Ok(())
    }
}
