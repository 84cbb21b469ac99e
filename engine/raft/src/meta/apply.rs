//! Applying committed controller entries to the node's local redb, on every replica, in log order.
//!
//! Each entry becomes **one** local redb commit holding: the entry's cluster-scope ops (every node), its
//! node-scope ops (the origin node only), the applied point (the entry's last offset) and the origin's dedup
//! window. Because all of it lands in one transaction, a replay after a restart (openraft re-applies from its
//! lazily saved applied point) skips every entry at or below the stored applied point and never applies one twice,
//! and the dedup window never disagrees with the ops it admitted. The applied point is an **offset** of the
//! controller log rather than a Raft index: the hook sees where an entry landed, offsets grow with indexes, and
//! committed entries never move.
//!
//! **Dedup.** A proposal whose outcome was unknown (leader lost mid-write, reply lost) is retried with the same
//! request id, so the log can hold it twice. Each origin incarnation has a window of its last [`WINDOW`] applied
//! request ids, stored with the applied point: a request id in the window is a duplicate (skipped, but its
//! waiter hears "applied"); one below a full window's lowest is stale (skipped, and its waiter hears an error,
//! so nothing is acknowledged that was not applied). Both decisions depend only on the log, so every replica
//! makes the same one. Windows of past incarnations stay (a few KiB per process start).

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use bytes::Bytes;
use strait_engine::meta::tables::{RAFT_GROUP_STATE, Scope, scope_of};
use strait_engine::{Absent, MetaOp, RedbStore};
use tokio::sync::oneshot;

use crate::error::GroupError;
use crate::machine::ApplyHook;
use crate::types::{Appended, RaftNodeId};

use super::entry::{self, Origin};

/// Request ids remembered per origin incarnation. A proposal is retried for seconds at most, while thousands of
/// newer ones from the same process would have to apply in between for a retry to fall out of the window.
pub(crate) const WINDOW: usize = 1024;

/// What the origin's waiter learns about its proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Applied here (now, or as an earlier copy of the same proposal).
    Applied,
    /// Not applied anywhere: a key its proposal required absent was present (see `strait_engine::Absent`).
    Present,
    /// Skipped: it reached the log after its window had moved past it. Not applied anywhere.
    Stale,
    /// The local commit failed; the group stops.
    Failed,
}

enum Verdict {
    New,
    Duplicate,
    Stale,
}

/// The rows of the applier in `raft_group_state` (node scope), under the controller group's key.
fn row(group_key: &str, what: &[u8]) -> Vec<u8> {
    let mut k = group_key.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(what);
    k
}

fn applied_row(group_key: &str) -> Vec<u8> {
    row(group_key, b"meta_applied")
}

fn window_row(group_key: &str, node: RaftNodeId, incarnation: u64) -> Vec<u8> {
    let mut what = b"meta_seen/".to_vec();
    what.extend_from_slice(&node.to_be_bytes());
    what.extend_from_slice(&incarnation.to_be_bytes());
    row(group_key, &what)
}

fn encode_window(w: &BTreeSet<u64>) -> Vec<u8> {
    w.iter().flat_map(|r| r.to_be_bytes()).collect()
}

fn decode_window(b: &[u8]) -> BTreeSet<u64> {
    b.chunks_exact(8)
        .map(|c| {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            u64::from_be_bytes(a)
        })
        .collect()
}

struct State {
    /// Last offset of the last entry applied (durably, with its ops).
    applied: Option<i64>,
    /// Windows loaded so far, keyed by (node, incarnation).
    windows: HashMap<(RaftNodeId, u64), BTreeSet<u64>>,
}

/// The controller group's [`ApplyHook`]; also where the origin's `commit` waits for its own replica.
pub(crate) struct Applier {
    node: RaftNodeId,
    incarnation: u64,
    group_key: String,
    local: RedbStore,
    state: Mutex<State>,
    pending: Mutex<HashMap<u64, oneshot::Sender<Outcome>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Applier {
    pub(crate) fn open(
        node: RaftNodeId,
        incarnation: u64,
        group_key: String,
        local: RedbStore,
    ) -> Result<Applier, GroupError> {
        let applied = match local.get(RAFT_GROUP_STATE, &applied_row(&group_key))? {
            None => None,
            Some(v) => Some(i64::from_be_bytes(v.as_slice().try_into().map_err(
                |_| GroupError::CorruptState {
                    row: "meta_applied".into(),
                    reason: format!("{} bytes, expected 8", v.len()),
                },
            )?)),
        };
        Ok(Applier {
            node,
            incarnation,
            group_key,
            local,
            state: Mutex::new(State {
                applied,
                windows: HashMap::new(),
            }),
            pending: Mutex::new(HashMap::new()),
        })
    }

    /// Registers this node's proposal `req` before it is sent: its apply here completes the receiver.
    pub(crate) fn expect(&self, req: u64) -> oneshot::Receiver<Outcome> {
        let (tx, rx) = oneshot::channel();
        lock(&self.pending).insert(req, tx);
        rx
    }

    /// Drops the waiter of a proposal its caller gave up on.
    pub(crate) fn forget(&self, req: u64) {
        lock(&self.pending).remove(&req);
    }

    /// The last offset applied locally, if any.
    pub(crate) fn applied(&self) -> Option<i64> {
        lock(&self.state).applied
    }

    fn verdict(&self, o: &Origin) -> Result<(Verdict, BTreeSet<u64>), GroupError> {
        let key = (o.node, o.incarnation);
        let cached = lock(&self.state).windows.get(&key).cloned();
        let mut w = match cached {
            Some(w) => w,
            None => self
                .local
                .get(
                    RAFT_GROUP_STATE,
                    &window_row(&self.group_key, o.node, o.incarnation),
                )?
                .map(|v| decode_window(&v))
                .unwrap_or_default(),
        };
        let v = if w.contains(&o.req) {
            Verdict::Duplicate
        } else if w.len() >= WINDOW && w.first().is_some_and(|&lo| o.req < lo) {
            Verdict::Stale
        } else {
            w.insert(o.req);
            while w.len() > WINDOW {
                w.pop_first();
            }
            Verdict::New
        };
        Ok((v, w))
    }

    fn settle(&self, origin: &Origin, outcome: Outcome) {
        if origin.node == self.node
            && origin.incarnation == self.incarnation
            && let Some(tx) = lock(&self.pending).remove(&origin.req)
        {
            // The waiter may have given up already.
            let _ = tx.send(outcome);
        }
    }

    fn any_present(&self, absent: &[Absent]) -> Result<bool, GroupError> {
        for a in absent {
            if self.local.get(&a.table, &a.key)?.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn apply_entry(&self, batch: &Bytes, at: Appended) -> Result<(), GroupError> {
        if lock(&self.state)
            .applied
            .is_some_and(|a| at.base_offset <= a)
        {
            // A replay of an entry this replica already applied (with its ops, in one transaction).
            return Ok(());
        }
        let e = entry::decode(batch).map_err(|err| GroupError::Inconsistent {
            group: self.group_key.clone(),
            reason: format!("entry at offset {}: {err}", at.base_offset),
        })?;
        let (verdict, window) = self.verdict(&e.origin)?;
        let mine = e.origin.node == self.node;
        // Every replica decides from the same state (the entries before this one), so all decide alike. A
        // present key skips the ops but still records the request, so a retried copy is not judged again.
        let present = matches!(verdict, Verdict::New) && self.any_present(&e.absent)?;
        let mut ops: Vec<MetaOp> = Vec::with_capacity(e.ops.len() + 2);
        if matches!(verdict, Verdict::New) && !present {
            ops.extend(
                e.ops
                    .into_iter()
                    .filter(|op| mine || scope_of(op.table()) == Scope::Cluster),
            );
        }
        if matches!(verdict, Verdict::New) {
            ops.push(MetaOp::Put {
                table: RAFT_GROUP_STATE.into(),
                key: window_row(&self.group_key, e.origin.node, e.origin.incarnation),
                value: encode_window(&window),
            });
        }
        ops.push(MetaOp::Put {
            table: RAFT_GROUP_STATE.into(),
            key: applied_row(&self.group_key),
            value: at.last_offset.to_be_bytes().to_vec(),
        });
        if let Err(err) = self.local.commit(ops).await {
            self.settle(&e.origin, Outcome::Failed);
            return Err(err.into());
        }
        {
            let mut s = lock(&self.state);
            s.applied = Some(at.last_offset);
            s.windows
                .insert((e.origin.node, e.origin.incarnation), window);
        }
        self.settle(
            &e.origin,
            match verdict {
                Verdict::New if present => Outcome::Present,
                Verdict::New | Verdict::Duplicate => Outcome::Applied,
                Verdict::Stale => Outcome::Stale,
            },
        );
        Ok(())
    }
}

impl ApplyHook for Applier {
    fn apply<'a>(
        &'a self,
        batch: &'a Bytes,
        at: Appended,
    ) -> Pin<Box<dyn Future<Output = Result<(), GroupError>> + Send + 'a>> {
        Box::pin(self.apply_entry(batch, at))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use strait_engine::meta::tables::{PARTITIONS, TOPICS};
    use strait_engine::{MetaWatcher, Tables};

    use super::*;
    use crate::meta::entry::Entry;

    fn at(offset: i64) -> Appended {
        Appended {
            base_offset: offset,
            last_offset: offset,
            log_append_time: -1,
            leader_epoch: 1,
        }
    }

    fn batch(node: RaftNodeId, req: u64, key: &str) -> Bytes {
        guarded(node, req, key, false)
    }

    /// `batch`, made conditional on `key`'s absence from TOPICS when `if_absent`.
    fn guarded(node: RaftNodeId, req: u64, key: &str, if_absent: bool) -> Bytes {
        let absent = if_absent.then(|| Absent {
            table: TOPICS.into(),
            key: key.as_bytes().to_vec(),
        });
        let e = Entry {
            origin: Origin {
                node,
                incarnation: 9,
                req,
            },
            absent: absent.into_iter().collect(),
            ops: vec![
                MetaOp::Put {
                    table: TOPICS.into(),
                    key: key.as_bytes().to_vec(),
                    value: b"v".to_vec(),
                },
                MetaOp::Put {
                    table: PARTITIONS.into(),
                    key: key.as_bytes().to_vec(),
                    value: b"local".to_vec(),
                },
            ],
        };
        entry::encode(&e, 0).expect("encode")
    }

    /// An applier of node 1 over a fresh store, and the cluster-table keys its watcher saw, in order.
    fn applier(dir: &std::path::Path) -> (Applier, Arc<Mutex<Vec<String>>>) {
        let local = RedbStore::open(&dir.join("m.redb"), 1 << 20).expect("open");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let w: Arc<dyn MetaWatcher> = Arc::new(move |ops: &[MetaOp]| {
            lock(&s2).extend(ops.iter().map(|o| match o {
                MetaOp::Put { key, .. } => String::from_utf8_lossy(key).into_owned(),
                other => format!("{other:?}"),
            }));
        });
        local.watch(Tables::cluster(), w).expect("watch");
        let a = Applier::open(1, 9, "__strait_controller/0".into(), local).expect("applier");
        (a, seen)
    }

    #[tokio::test]
    async fn replays_at_or_below_the_applied_offset_are_skipped_even_with_new_request_ids() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, seen) = applier(dir.path());
        a.apply_entry(&batch(2, 1, "a"), at(0))
            .await
            .expect("apply");
        a.apply_entry(&batch(2, 2, "b"), at(1))
            .await
            .expect("apply");
        // The applied offset alone decides: this entry is not a known request, yet it sits below the point.
        a.apply_entry(&batch(2, 3, "c"), at(1))
            .await
            .expect("replay");
        assert_eq!(*lock(&seen), ["a", "b"]);
        assert_eq!(a.applied(), Some(1));
        // Node-scope ops of another origin never land here.
        assert_eq!(a.local.get(PARTITIONS, b"a").expect("get"), None);
        // The applied point survives a reopen, in the same store as the ops.
        let local = a.local.clone();
        drop(a);
        let b = Applier::open(1, 10, "__strait_controller/0".into(), local).expect("reopen");
        assert_eq!(b.applied(), Some(1));
    }

    #[tokio::test]
    async fn a_proposal_in_the_log_twice_applies_once_and_its_waiter_hears_applied() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, seen) = applier(dir.path());
        let waiter = a.expect(5);
        a.apply_entry(&batch(1, 5, "x"), at(0))
            .await
            .expect("apply");
        assert_eq!(waiter.await.expect("settled"), Outcome::Applied);
        // This node's own node-scope op lands with it.
        assert_eq!(
            a.local.get(PARTITIONS, b"x").expect("get"),
            Some(b"local".to_vec())
        );
        // The retried copy, later in the log.
        let again = a.expect(5);
        a.apply_entry(&batch(1, 5, "x"), at(1))
            .await
            .expect("apply copy");
        assert_eq!(again.await.expect("settled"), Outcome::Applied);
        assert_eq!(*lock(&seen), ["x"]);
        assert_eq!(a.applied(), Some(1));
    }

    #[tokio::test]
    async fn a_proposal_older_than_a_full_window_is_stale_not_applied() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, seen) = applier(dir.path());
        for i in 0..WINDOW as u64 {
            a.apply_entry(&batch(1, 100 + i, "k"), at(i as i64))
                .await
                .expect("apply");
        }
        let late = a.expect(7);
        a.apply_entry(&batch(1, 7, "late"), at(WINDOW as i64))
            .await
            .expect("apply");
        assert_eq!(late.await.expect("settled"), Outcome::Stale);
        assert!(!lock(&seen).iter().any(|k| k == "late"));
    }

    /// Two nodes create the same key at once: the first entry in the log wins on every replica; the second is
    /// skipped whole (its node-scope op too) and its waiter hears that the key was present.
    #[tokio::test]
    async fn a_guarded_entry_whose_key_is_present_is_skipped_and_its_waiter_told() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, seen) = applier(dir.path());
        let first = a.expect(1);
        a.apply_entry(&guarded(1, 1, "t", true), at(0))
            .await
            .expect("apply");
        assert_eq!(first.await.expect("settled"), Outcome::Applied);
        let second = a.expect(2);
        a.apply_entry(&guarded(1, 2, "t", true), at(1))
            .await
            .expect("apply");
        assert_eq!(second.await.expect("settled"), Outcome::Present);
        assert_eq!(*lock(&seen), ["t"]);
        assert_eq!(a.applied(), Some(1));
        // A replica of another node decides the same from the same log.
        let dir2 = tempfile::tempdir().expect("tempdir");
        let (b, seen2) = applier(dir2.path());
        b.apply_entry(&guarded(2, 1, "t", true), at(0))
            .await
            .expect("apply");
        b.apply_entry(&guarded(3, 1, "t", true), at(1))
            .await
            .expect("apply");
        assert_eq!(*lock(&seen2), ["t"]);
    }

    #[test]
    fn windows_round_trip() {
        let w: BTreeSet<u64> = [1, 7, u64::MAX].into_iter().collect();
        assert_eq!(decode_window(&encode_window(&w)), w);
    }
}
