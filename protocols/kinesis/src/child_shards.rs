//! The `ChildShard` shape, shared by GetRecords (`ops`) and SubscribeToShard (`consumers`, `efo`) at shard end.

use strait_shard_map::ShardInfo;

use crate::value::Value;

/// The `ChildShard` shape (GetRecords and SubscribeToShard at shard end).
pub fn child_shard_value(s: &ShardInfo) -> Value {
    Value::map()
        .with("ShardId", s.shard_id())
        .with(
            "ParentShards",
            Value::List(
                s.parents()
                    .map(|p| Value::Str(strait_shard_map::shard_id(p)))
                    .collect(),
            ),
        )
        .with(
            "HashKeyRange",
            Value::map()
                .with("StartingHashKey", s.hash_range.starting_hash_key())
                .with("EndingHashKey", s.hash_range.ending_hash_key()),
        )
}
