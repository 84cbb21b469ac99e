//! Placeholder until the shard map lands (see README).
