//! What one replica remembers about its Raft group between restarts, in the node's metadata store (table
//! `raft_group_state`, node scope: a replica's vote is its own, never replicated).
//!
//! Rows per group, keyed by the group's key and a suffix:
//! - `vote`: the vote, written durably before openraft is told it is saved (Raft's one hard rule for it);
//! - `commit`: the last known committed log id, a hint written in the background (a stale value is safe);
//! - `start`: where the Raft log starts (index and offset of its first entry, and the last purged id);
//! - `applied`: the last applied log id and membership, written in the background (re-applying is harmless:
//!   applying only moves the committed point forward).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use strait_engine::meta::tables::RAFT_GROUP_STATE;
use strait_engine::{MetaOp, MetaStore};

use crate::error::GroupError;
use crate::types::{LogId, StoredMembership, Vote};

/// Where the Raft log starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Start {
    pub(crate) first_index: u64,
    pub(crate) offset: i64,
    pub(crate) purged: Option<LogId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Applied {
    pub(crate) log_id: Option<LogId>,
    pub(crate) membership: StoredMembership,
}

/// The rows of one group.
#[derive(Clone)]
pub(crate) struct GroupState {
    meta: MetaStore,
    key: Vec<u8>,
}

impl GroupState {
    pub(crate) fn new(meta: MetaStore, group_key: &str) -> GroupState {
        GroupState {
            meta,
            key: group_key.as_bytes().to_vec(),
        }
    }

    fn row(&self, what: &str) -> Vec<u8> {
        let mut k = self.key.clone();
        k.push(0);
        k.extend_from_slice(what.as_bytes());
        k
    }

    fn get<T: DeserializeOwned>(&self, what: &str) -> Result<Option<T>, GroupError> {
        let Some(v) = self.meta.get(RAFT_GROUP_STATE, &self.row(what))? else {
            return Ok(None);
        };
        serde_json::from_slice(&v)
            .map(Some)
            .map_err(|e| GroupError::CorruptState {
                row: what.to_string(),
                reason: e.to_string(),
            })
    }

    fn op<T: Serialize>(&self, what: &str, v: &T) -> Result<MetaOp, GroupError> {
        Ok(MetaOp::Put {
            table: RAFT_GROUP_STATE.into(),
            key: self.row(what),
            value: serde_json::to_vec(v).map_err(|e| GroupError::CorruptState {
                row: what.to_string(),
                reason: e.to_string(),
            })?,
        })
    }

    pub(crate) fn vote(&self) -> Result<Option<Vote>, GroupError> {
        self.get("vote")
    }

    /// Returns once the vote is durable.
    pub(crate) async fn save_vote(&self, v: &Vote) -> Result<(), GroupError> {
        Ok(self.meta.commit(vec![self.op("vote", v)?]).await?)
    }

    pub(crate) fn committed(&self) -> Result<Option<LogId>, GroupError> {
        self.get("commit")
    }

    pub(crate) fn save_committed(&self, c: &Option<LogId>) -> Result<(), GroupError> {
        self.meta.commit_in_background(vec![self.op("commit", c)?]);
        Ok(())
    }

    pub(crate) fn start(&self) -> Result<Option<Start>, GroupError> {
        self.get("start")
    }

    pub(crate) async fn save_start(&self, s: &Start) -> Result<(), GroupError> {
        Ok(self.meta.commit(vec![self.op("start", s)?]).await?)
    }

    pub(crate) fn applied(&self) -> Result<Option<Applied>, GroupError> {
        self.get("applied")
    }

    /// Durable when `wait`, else in the background.
    pub(crate) async fn save_applied(&self, a: &Applied, wait: bool) -> Result<(), GroupError> {
        let op = self.op("applied", a)?;
        if wait {
            self.meta.commit(vec![op]).await?;
        } else {
            self.meta.commit_in_background(vec![op]);
        }
        Ok(())
    }
}
