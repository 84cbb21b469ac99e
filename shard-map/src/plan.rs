//! Resharding plans: SplitShard, MergeShards and UpdateShardCount(UNIFORM_SCALING).
//!
//! Planning only validates and computes; it changes nothing. The front end then executes the plan against the
//! engine and commits it with [`ShardMap::apply`]:
//!
//! 1. Grow the topic to [`ReshardPlan::partition_count_after`] partitions (new partitions, not yet routed to).
//! 2. Seal the partition of every shard in [`ReshardPlan::seal`] (`Partition::seal`, idempotent) and collect the
//!    returned end offsets. Writers keep routing with the old map meanwhile; an append that reaches a sealed
//!    partition fails with `PartitionSealed` and is retried by the front end after the new map is visible (or the
//!    front end excludes writers for the duration with a per-stream lock).
//! 3. `apply(&plan, &end_offsets)` and persist the new map; writers now route to the children.
//!
//! To survive a crash between steps, persist the plan (it is serde-serializable) before step 1 and redo it on
//! start: growing to a count already reached and sealing a sealed partition are both no-ops.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::ShardMapError;
use crate::hash::{HashRange, even_ranges};
use crate::map::{ClosedInfo, ShardInfo, ShardMap};

/// What a resharding operation will do. Build with [`ShardMap::plan_split`], [`ShardMap::plan_merge`] or
/// [`ShardMap::plan_update_shard_count`]; commit with [`ShardMap::apply`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReshardPlan {
    /// [`ShardMap::next_index`] of the map the plan was made against; `apply` refuses the plan on any other.
    pub base_next_index: u32,
    /// Creation time of the new shards and closing time of the sealed ones.
    pub now_ms: i64,
    /// Every shard the plan creates, in index order starting at `base_next_index`, all open as created. Those
    /// also listed in `seal` are intermediate shards (UpdateShardCount) that are closed at once, without records.
    pub new_shards: Vec<ShardInfo>,
    /// Every shard whose partition must be sealed before `apply`, in the order the plan closes them: the currently
    /// open shards the plan closes and the intermediate new shards (whose partitions are sealed empty).
    pub seal: Vec<u32>,
}

impl ReshardPlan {
    /// The partition count the stream's topic must have before sealing (new shards included).
    pub fn partition_count_after(&self) -> u32 {
        self.base_next_index + self.new_shards.len() as u32
    }

    /// True when there is nothing to do (UpdateShardCount to the current, already uniform layout).
    pub fn is_empty(&self) -> bool {
        self.new_shards.is_empty() && self.seal.is_empty()
    }
}

/// Builds a plan on a working copy of the open shards (in hash-key order).
struct Planner {
    plan: ReshardPlan,
    /// `(range, index)` of the shards open at this point of the plan, in hash-key order.
    open: Vec<(HashRange, u32)>,
}

impl Planner {
    fn new(map: &ShardMap, now_ms: i64) -> Planner {
        Planner {
            plan: ReshardPlan {
                base_next_index: map.next_index(),
                now_ms,
                new_shards: Vec::new(),
                seal: Vec::new(),
            },
            open: map.open_shards().map(|s| (s.hash_range, s.index)).collect(),
        }
    }

    fn create(&mut self, hash_range: HashRange, parent: u32, adjacent_parent: Option<u32>) -> u32 {
        let index = self.plan.partition_count_after();
        self.plan.new_shards.push(ShardInfo {
            index,
            hash_range,
            parent: Some(parent),
            adjacent_parent,
            created_ms: self.plan.now_ms,
            closed: None,
        });
        index
    }

    /// Splits the open shard at `pos` so that the second child starts at `key` (start < key <= end).
    fn split(&mut self, pos: usize, key: u128) {
        let (r, parent) = self.open[pos];
        let lo = self.create(
            HashRange {
                start: r.start,
                end: key - 1,
            },
            parent,
            None,
        );
        let hi = self.create(
            HashRange {
                start: key,
                end: r.end,
            },
            parent,
            None,
        );
        self.plan.seal.push(parent);
        self.open.splice(
            pos..=pos,
            [
                (
                    HashRange {
                        start: r.start,
                        end: key - 1,
                    },
                    lo,
                ),
                (
                    HashRange {
                        start: key,
                        end: r.end,
                    },
                    hi,
                ),
            ],
        );
    }

    /// Merges the open shards at `left` and `left + 1`; `parent_first` names which becomes ParentShardId.
    fn merge(&mut self, left: usize, parent_first: bool) {
        let (lr, li) = self.open[left];
        let (rr, ri) = self.open[left + 1];
        let (parent, adjacent) = if parent_first { (li, ri) } else { (ri, li) };
        let range = HashRange {
            start: lr.start,
            end: rr.end,
        };
        let child = self.create(range, parent, Some(adjacent));
        self.plan.seal.push(parent);
        self.plan.seal.push(adjacent);
        self.open.splice(left..=left + 1, [(range, child)]);
    }

    fn finish(self) -> ReshardPlan {
        self.plan
    }
}

impl ShardMap {
    /// Commits an executed plan: closes every shard in `plan.seal` with the end offset its partition was sealed at
    /// (`end_offsets[shard]`, as returned by the engine's `Partition::seal`) and adds the new shards. All or
    /// nothing: on error the map is unchanged.
    pub fn apply(
        &mut self,
        plan: &ReshardPlan,
        end_offsets: &BTreeMap<u32, i64>,
    ) -> Result<(), ShardMapError> {
        if plan.base_next_index != self.next_index() {
            return Err(ShardMapError::StalePlan {
                planned: plan.base_next_index,
                actual: self.next_index(),
            });
        }
        let mut shards = self.shards().to_vec();
        shards.extend(plan.new_shards.iter().copied());
        for &s in &plan.seal {
            let end_offset = *end_offsets
                .get(&s)
                .ok_or(ShardMapError::MissingEndOffset { shard: s })?;
            let shard = shards
                .get_mut(s as usize)
                .ok_or(ShardMapError::ShardNotFound { shard: s })?;
            if shard.closed.is_some() {
                return Err(ShardMapError::ShardClosed { shard: s });
            }
            shard.closed = Some(ClosedInfo {
                end_offset,
                closed_ms: plan.now_ms,
            });
        }
        *self = ShardMap::from_shards(shards)?;
        Ok(())
    }

    fn open_shard(&self, index: u32) -> Result<&ShardInfo, ShardMapError> {
        let s = self.shard(index)?;
        if !s.is_open() {
            return Err(ShardMapError::ShardClosed { shard: index });
        }
        Ok(s)
    }

    /// SplitShard: `parent` (open) becomes two children, `[start, key-1]` then `[key, end]`, numbered from
    /// [`next_index`](Self::next_index). AWS requires `start + 1 < key < end`.
    pub fn plan_split(
        &self,
        parent: u32,
        new_starting_hash_key: u128,
        now_ms: i64,
    ) -> Result<ReshardPlan, ShardMapError> {
        let r = self.open_shard(parent)?.hash_range;
        let key = new_starting_hash_key;
        if key <= r.start.saturating_add(1) || key >= r.end {
            return Err(ShardMapError::InvalidSplitHashKey {
                shard: parent,
                key,
                start: r.start,
                end: r.end,
            });
        }
        let mut p = Planner::new(self, now_ms);
        let pos = p
            .open
            .iter()
            .position(|&(_, i)| i == parent)
            .ok_or(ShardMapError::ShardClosed { shard: parent })?;
        p.split(pos, key);
        Ok(p.finish())
    }

    /// MergeShards: `shard` and `adjacent` (both open, ranges touching, in either order) become one child with
    /// ParentShardId `shard` and AdjacentParentShardId `adjacent`.
    pub fn plan_merge(
        &self,
        shard: u32,
        adjacent: u32,
        now_ms: i64,
    ) -> Result<ReshardPlan, ShardMapError> {
        self.open_shard(shard)?;
        self.open_shard(adjacent)?;
        let mut p = Planner::new(self, now_ms);
        let pos = |i: u32| p.open.iter().position(|&(_, s)| s == i);
        let (Some(a), Some(b)) = (pos(shard), pos(adjacent)) else {
            return Err(ShardMapError::NotAdjacent { shard, adjacent });
        };
        // Open shards are contiguous in hash-key order, so neighbours in the list are adjacent ranges.
        if a.abs_diff(b) != 1 {
            return Err(ShardMapError::NotAdjacent { shard, adjacent });
        }
        p.merge(a.min(b), a < b);
        Ok(p.finish())
    }

    /// UpdateShardCount with UNIFORM_SCALING: ends with `target` open shards with [`even_ranges`]`(target)`.
    ///
    /// Executed as splits at every target boundary that is not a current one, then merges at every current
    /// boundary that is not a target one, so each new shard has one or two parents (ParentShardId,
    /// AdjacentParentShardId) that cover it exactly. Shards made by one step and consumed by a later one are
    /// created and closed at once, without records (AWS also creates such short-lived shards). Open shards whose
    /// range is already a target range stay open and untouched. Planning to the current, already uniform layout
    /// yields an empty plan.
    ///
    /// AWS's limits: `target` at most twice and at least half the open shard count, and at most `shard_limit`
    /// (AWS's default per-stream limit is 500; Strait's is configuration). AWS's rate limit (scalings per rolling
    /// 24 hours) is time-based and left to the front end.
    pub fn plan_update_shard_count(
        &self,
        target: u32,
        shard_limit: u32,
        now_ms: i64,
    ) -> Result<ReshardPlan, ShardMapError> {
        let open = self.open_count();
        if target == 0 {
            return Err(ShardMapError::InvalidShardCount { requested: 0 });
        }
        if target > shard_limit {
            return Err(ShardMapError::ShardLimitExceeded {
                limit: shard_limit,
                open,
                target,
            });
        }
        if u64::from(target) > 2 * u64::from(open) {
            return Err(ShardMapError::ScaleUpTooFar { open, target });
        }
        if 2 * u64::from(target) < u64::from(open) {
            return Err(ShardMapError::ScaleDownTooFar { open, target });
        }
        let wanted: Vec<u128> = even_ranges(target)
            .iter()
            .skip(1)
            .map(|r| r.start)
            .collect();
        let mut p = Planner::new(self, now_ms);
        let current: Vec<u128> = p.open.iter().skip(1).map(|(r, _)| r.start).collect();
        for &key in wanted.iter().filter(|k| current.binary_search(k).is_err()) {
            // key > 0 and not a current start, so it lies strictly inside the shard that contains it.
            let pos = p.open.partition_point(|(r, _)| r.end < key);
            p.split(pos, key);
        }
        for &key in current.iter().filter(|k| wanted.binary_search(k).is_err()) {
            let pos = p.open.partition_point(|(r, _)| r.start < key);
            p.merge(pos - 1, true);
        }
        Ok(p.finish())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn offsets(plan: &ReshardPlan) -> BTreeMap<u32, i64> {
        plan.seal.iter().map(|&s| (s, 0)).collect()
    }

    #[test]
    fn split_numbers_children_like_aws() {
        let mut m = ShardMap::new(1, 0).expect("map");
        let plan = m.plan_split(0, 1u128 << 127, 5).expect("plan");
        assert_eq!(plan.seal, vec![0]);
        assert_eq!(plan.partition_count_after(), 3);
        m.apply(&plan, &BTreeMap::from([(0, 17)])).expect("apply");
        let ids: Vec<_> = m.open_shards().map(|s| s.shard_id()).collect();
        assert_eq!(ids, ["shardId-000000000001", "shardId-000000000002"]);
        assert_eq!(m.shard(1).expect("1").parent, Some(0));
        assert_eq!(
            m.shard(0).expect("0").closed.map(|c| c.end_offset),
            Some(17)
        );
        assert_eq!(m.children(0).len(), 2);
        // A closed shard cannot be split again; the AWS text names it.
        let err = m.plan_split(0, 1u128 << 126, 6).expect_err("closed");
        assert_eq!(err, ShardMapError::ShardClosed { shard: 0 });
        assert!(
            err.aws_message("s", "0")
                .contains("has already been merged or split")
        );
        // The same plan cannot be applied twice.
        assert!(matches!(
            m.apply(&plan, &BTreeMap::from([(0, 17)])),
            Err(ShardMapError::StalePlan { .. })
        ));
    }

    #[test]
    fn split_bounds_follow_aws() {
        let m = ShardMap::new(1, 0).expect("map");
        for bad in [0, 1, u128::MAX] {
            assert!(matches!(
                m.plan_split(0, bad, 0),
                Err(ShardMapError::InvalidSplitHashKey { .. })
            ));
        }
        assert!(m.plan_split(0, 2, 0).is_ok());
        assert!(m.plan_split(0, u128::MAX - 1, 0).is_ok());
        assert_eq!(
            m.plan_split(7, 2, 0),
            Err(ShardMapError::ShardNotFound { shard: 7 })
        );
    }

    #[test]
    fn merge_needs_adjacent_open_shards() {
        let mut m = ShardMap::new(3, 0).expect("map");
        assert_eq!(
            m.plan_merge(0, 2, 0),
            Err(ShardMapError::NotAdjacent {
                shard: 0,
                adjacent: 2
            })
        );
        assert!(m.plan_merge(1, 1, 0).is_err());
        let plan = m
            .plan_merge(2, 1, 0)
            .expect("reverse order is adjacent too");
        m.apply(&plan, &offsets(&plan)).expect("apply");
        let child = m.shard(3).expect("child");
        assert_eq!((child.parent, child.adjacent_parent), (Some(2), Some(1)));
        assert_eq!(child.hash_range.end, u128::MAX);
        assert_eq!(m.open_count(), 2);
        assert_eq!(
            m.plan_merge(1, 3, 0),
            Err(ShardMapError::ShardClosed { shard: 1 })
        );
    }

    #[test]
    fn update_shard_count_limits() {
        let m = ShardMap::new(4, 0).expect("map");
        assert_eq!(
            m.plan_update_shard_count(9, 500, 0),
            Err(ShardMapError::ScaleUpTooFar { open: 4, target: 9 })
        );
        assert_eq!(
            m.plan_update_shard_count(1, 500, 0),
            Err(ShardMapError::ScaleDownTooFar { open: 4, target: 1 })
        );
        assert!(matches!(
            m.plan_update_shard_count(8, 6, 0),
            Err(ShardMapError::ShardLimitExceeded { .. })
        ));
        assert!(m.plan_update_shard_count(0, 500, 0).is_err());
        assert!(
            m.plan_update_shard_count(4, 500, 0)
                .expect("same")
                .is_empty()
        );
        assert!(m.plan_update_shard_count(8, 500, 0).is_ok());
        assert!(m.plan_update_shard_count(2, 500, 0).is_ok());
    }

    #[test]
    fn update_shard_count_ends_uniform() {
        for (from, to) in [(1, 2), (2, 1), (3, 4), (4, 3), (3, 5), (5, 3), (7, 13)] {
            let mut m = ShardMap::new(from, 0).expect("map");
            let plan = m.plan_update_shard_count(to, 500, 1).expect("plan");
            m.apply(&plan, &offsets(&plan)).expect("apply");
            let open: Vec<_> = m.open_shards().map(|s| s.hash_range).collect();
            assert_eq!(open, even_ranges(to), "{from} -> {to}");
        }
    }
}
