//! The shard lineage of one stream: every shard it ever had, which are open, and which parents each came from.
//!
//! Shard `i` is partition `i` of the stream's topic. Shards are never removed (closed shards stay readable until
//! retention empties them, and AWS keeps listing them), so the map only grows, and shard indices are dense:
//! `shards()[i].index == i`.

use serde::{Deserialize, Serialize};

use crate::error::ShardMapError;
use crate::hash::{HashRange, even_ranges, hash_key};
use crate::sequence::SequenceNumber;
use crate::shard_id::shard_id;

/// How a shard was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedInfo {
    /// The partition's sealed end offset: one past its last record (0 for a shard that never had a record).
    pub end_offset: i64,
    /// When the shard was closed (Unix ms).
    pub closed_ms: i64,
}

/// One shard of the lineage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// Shard index = partition index.
    pub index: u32,
    pub hash_range: HashRange,
    /// ParentShardId: the split shard, or the `ShardToMerge` of a merge.
    pub parent: Option<u32>,
    /// AdjacentParentShardId: the `AdjacentShardToMerge` of a merge.
    pub adjacent_parent: Option<u32>,
    /// When the shard was created (Unix ms).
    pub created_ms: i64,
    /// `None` while the shard is open (accepts writes).
    pub closed: Option<ClosedInfo>,
}

impl ShardInfo {
    pub fn shard_id(&self) -> String {
        shard_id(self.index)
    }
    pub fn is_open(&self) -> bool {
        self.closed.is_none()
    }
    /// The parents (0, 1 or 2), parent first.
    pub fn parents(&self) -> impl Iterator<Item = u32> + '_ {
        self.parent.into_iter().chain(self.adjacent_parent)
    }
    /// `SequenceNumberRange.StartingSequenceNumber`.
    pub fn starting_sequence_number(&self, incarnation: u32) -> String {
        SequenceNumber::shard_start(incarnation, self.index).encode()
    }
    /// `SequenceNumberRange.EndingSequenceNumber`: `None` while open.
    pub fn ending_sequence_number(&self, incarnation: u32) -> Option<String> {
        self.closed
            .map(|c| SequenceNumber::shard_end(incarnation, self.index, c.end_offset).encode())
    }
}

/// The lineage of one stream. Serializes (serde, e.g. JSON in the engine's metadata store) as
/// `{"shards":[ShardInfo...]}`; deserializing re-checks every invariant, so a damaged record is refused
/// ([`ShardMapError::CorruptMap`] as the serde error) rather than misrouting records.
///
/// Invariants: indices are dense; the open shards' ranges partition `0..=2^128-1` exactly; every parent has a
/// lower index than its child and is closed; a child with one parent lies inside it; a child with two parents is
/// exactly their union (which is contiguous).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Repr", into = "Repr")]
pub struct ShardMap {
    shards: Vec<ShardInfo>,
    /// Indices of open shards in hash-key order (derived, not serialized).
    open: Vec<u32>,
}

#[derive(Serialize, Deserialize)]
struct Repr {
    shards: Vec<ShardInfo>,
}

impl TryFrom<Repr> for ShardMap {
    type Error = ShardMapError;
    fn try_from(r: Repr) -> Result<ShardMap, ShardMapError> {
        ShardMap::from_shards(r.shards)
    }
}

impl From<ShardMap> for Repr {
    fn from(m: ShardMap) -> Repr {
        Repr { shards: m.shards }
    }
}

impl ShardMap {
    /// A new stream of `count` open shards with AWS's even ranges, created at `now_ms`.
    pub fn new(count: u32, now_ms: i64) -> Result<ShardMap, ShardMapError> {
        if count == 0 {
            return Err(ShardMapError::InvalidShardCount { requested: 0 });
        }
        let shards = even_ranges(count)
            .into_iter()
            .zip(0u32..)
            .map(|(hash_range, index)| ShardInfo {
                index,
                hash_range,
                parent: None,
                adjacent_parent: None,
                created_ms: now_ms,
                closed: None,
            })
            .collect();
        ShardMap::from_shards(shards)
    }

    /// A map from an explicit lineage, checked against every invariant.
    pub fn from_shards(shards: Vec<ShardInfo>) -> Result<ShardMap, ShardMapError> {
        let open = check(&shards)?;
        Ok(ShardMap { shards, open })
    }

    /// Every shard, open and closed, by index.
    pub fn shards(&self) -> &[ShardInfo] {
        &self.shards
    }

    /// Shard `index`, or [`ShardMapError::ShardNotFound`].
    pub fn shard(&self, index: u32) -> Result<&ShardInfo, ShardMapError> {
        self.shards
            .get(index as usize)
            .ok_or(ShardMapError::ShardNotFound { shard: index })
    }

    /// The number of shards ever created, which is also the index the next new shard gets and the partition count
    /// the stream's topic must have.
    pub fn next_index(&self) -> u32 {
        // Indices are u32 and dense, so the length fits.
        self.shards.len() as u32
    }

    /// Open shards in hash-key order.
    pub fn open_shards(&self) -> impl Iterator<Item = &ShardInfo> + '_ {
        self.open.iter().map(|&i| &self.shards[i as usize])
    }

    pub fn open_count(&self) -> u32 {
        self.open.len() as u32
    }

    /// The open shard whose range contains `hash` (there is always exactly one).
    pub fn route(&self, hash: u128) -> u32 {
        let i = self
            .open
            .partition_point(|&s| self.shards[s as usize].hash_range.end < hash);
        // The open ranges end at 2^128-1, so `i` is in bounds; min() only keeps indexing panic-free.
        self.open[i.min(self.open.len() - 1)]
    }

    /// [`route`](Self::route) of the MD5 hash key of `partition_key`.
    pub fn route_partition_key(&self, partition_key: &[u8]) -> u32 {
        self.route(hash_key(partition_key))
    }

    /// Shards with `index` as ParentShardId or AdjacentParentShardId (GetRecords' ChildShards at shard end).
    pub fn children(&self, index: u32) -> Vec<&ShardInfo> {
        self.shards
            .iter()
            .filter(|s| s.parents().any(|p| p == index))
            .collect()
    }
}

/// Checks the invariants; returns the open shards in hash-key order.
fn check(shards: &[ShardInfo]) -> Result<Vec<u32>, ShardMapError> {
    let bad = |msg: String| Err(ShardMapError::CorruptMap(msg));
    if u32::try_from(shards.len()).is_err() {
        return bad("more than 2^32 shards".into());
    }
    for (i, s) in shards.iter().enumerate() {
        if s.index as usize != i {
            return bad(format!("shard at position {i} has index {}", s.index));
        }
        if s.hash_range.start > s.hash_range.end {
            return bad(format!("shard {i} has an empty hash range"));
        }
        if let Some(c) = s.closed
            && c.end_offset < 0
        {
            return bad(format!("shard {i} has a negative end offset"));
        }
        for p in s.parents() {
            match shards.get(p as usize) {
                Some(ps) if p < s.index && ps.closed.is_some() => {}
                _ => {
                    return bad(format!(
                        "shard {i} has parent {p}, which is not an earlier closed shard"
                    ));
                }
            }
        }
        match (s.parent, s.adjacent_parent) {
            (None, None) => {}
            (Some(p), None) => {
                let pr = shards[p as usize].hash_range;
                if s.hash_range.start < pr.start || s.hash_range.end > pr.end {
                    return bad(format!("shard {i} is not inside its parent {p}"));
                }
            }
            (Some(p), Some(a)) => {
                let (x, y) = (shards[p as usize].hash_range, shards[a as usize].hash_range);
                let (lo, hi) = if x.start <= y.start { (x, y) } else { (y, x) };
                if lo.end.checked_add(1) != Some(hi.start)
                    || s.hash_range
                        != (HashRange {
                            start: lo.start,
                            end: hi.end,
                        })
                {
                    return bad(format!(
                        "shard {i} is not the union of its parents {p} and {a}"
                    ));
                }
            }
            (None, Some(_)) => {
                return bad(format!("shard {i} has an adjacent parent but no parent"));
            }
        }
    }
    let mut open: Vec<u32> = shards
        .iter()
        .filter(|s| s.is_open())
        .map(|s| s.index)
        .collect();
    open.sort_by_key(|&i| shards[i as usize].hash_range.start);
    let mut expected_start = Some(0u128);
    for &i in &open {
        let r = shards[i as usize].hash_range;
        if Some(r.start) != expected_start {
            return bad(format!("open shard {i} leaves a gap or overlaps before it"));
        }
        expected_start = r.end.checked_add(1);
    }
    if open.is_empty() || expected_start.is_some() {
        return bad("open shards do not cover the hash-key space up to 2^128-1".into());
    }
    Ok(open)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_map_routes_and_round_trips() {
        let m = ShardMap::new(4, 1000).expect("map");
        assert_eq!(m.open_count(), 4);
        assert_eq!(m.route(0), 0);
        assert_eq!(m.route(u128::MAX), 3);
        assert_eq!(m.route(1u128 << 127), 2);
        let json = serde_json::to_string(&m).expect("json");
        assert!(json.contains(r#""start":"85070591730234615865843651857942052864""#));
        let back: ShardMap = serde_json::from_str(&json).expect("back");
        assert_eq!(back, m);
        assert!(ShardMap::new(0, 0).is_err());
    }

    #[test]
    fn refuses_corrupt_json() {
        let m = ShardMap::new(2, 0).expect("map");
        let json = serde_json::to_string(&m).expect("json");
        // Drop the second shard: the space is no longer covered.
        let v: serde_json::Value = serde_json::from_str(&json).expect("value");
        let mut shards = v["shards"].as_array().expect("array").clone();
        shards.pop();
        let broken = serde_json::json!({ "shards": shards }).to_string();
        let err = serde_json::from_str::<ShardMap>(&broken).expect_err("corrupt");
        assert!(err.to_string().contains("corrupt shard map"), "{err}");
    }
}
