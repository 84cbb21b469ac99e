//! Shard ids: `shardId-` followed by the shard (= partition) index as 12 zero-padded decimal digits.

use crate::error::ShardMapError;

const PREFIX: &str = "shardId-";
const DIGITS: usize = 12;

/// The shard id of shard (partition) `index`: `shardId-000000000000` for 0.
pub fn shard_id(index: u32) -> String {
    format!("{PREFIX}{index:0DIGITS$}")
}

/// The index in a shard id. Strict: exactly `shardId-` and 12 decimal digits, as every id Strait (and AWS)
/// hands out. kinesalite resolves looser spellings by their numeric suffix, claiming AWS does too; that is not
/// verified against AWS, so Strait answers such ids as it answers any unknown shard (ResourceNotFoundException),
/// which is also what a client that only echoes ids it was given can never observe.
pub fn parse_shard_id(s: &str) -> Result<u32, ShardMapError> {
    let bad = || ShardMapError::InvalidShardId(s.to_string());
    let digits = s.strip_prefix(PREFIX).ok_or_else(bad)?;
    if digits.len() != DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    digits.parse::<u32>().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        assert_eq!(shard_id(0), "shardId-000000000000");
        assert_eq!(shard_id(12), "shardId-000000000012");
        assert_eq!(shard_id(u32::MAX), "shardId-004294967295");
        for i in [0, 1, 99, 123_456, u32::MAX] {
            assert_eq!(parse_shard_id(&shard_id(i)), Ok(i));
        }
        for bad in [
            "",
            "1",
            "shardId-",
            "shardId-1",
            "shardId-0000000000001",
            "shardid-000000000001",
            "shardId-00000000000a",
            "shardId-+00000000001",
            "shardId-999999999999",
            " shardId-000000000001",
        ] {
            assert!(parse_shard_id(bad).is_err(), "{bad:?}");
        }
    }
}
