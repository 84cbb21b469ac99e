//! The Kinesis `PartitionKey` of a Kafka record key, and back: a reversible rule.
//!
//! A Kinesis PartitionKey is a Unicode string of 1 to 256 characters; a Kafka key is any byte string or null.
//! A record written through Kinesis stores its PartitionKey's UTF-8 bytes as the Kafka key, so the rule must be
//! the identity on such keys for Kinesis writers to read back what they wrote. Every other Kafka key is escaped:
//!
//! - **ordinary** key (valid UTF-8, 1 to 256 characters, not starting with [`ESCAPE_PREFIX`]): the key as text;
//! - null: `~kafka:null`;
//! - any other key (empty, not UTF-8, longer than 256 characters, or starting with `~kafka:`):
//!   `~kafka:b64:` followed by the key's bytes in unpadded base64url (RFC 4648 §5).
//!
//! Escaping every key that starts with the prefix keeps the rule injective: no ordinary key looks escaped. An
//! escaped PartitionKey can be longer than 256 characters (Kinesis readers accept that; AWS only bounds what
//! writers send). Characters are counted as Unicode scalar values, as PutRecord's validation counts them.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::ShardMapError;

/// Every escaped PartitionKey starts with this, and every Kafka key that starts with it is escaped.
pub const ESCAPE_PREFIX: &str = "~kafka:";
/// The PartitionKey of a null Kafka key.
pub const NULL_PARTITION_KEY: &str = "~kafka:null";
/// The start of the PartitionKey of an escaped (non-null) Kafka key; unpadded base64url of the key follows.
pub const BYTES_PREFIX: &str = "~kafka:b64:";
/// The longest PartitionKey Kinesis accepts from writers, in characters.
pub const MAX_PARTITION_KEY_CHARS: usize = 256;

/// The key as text when the rule leaves it unchanged (an ordinary key), else `None`.
pub fn ordinary(key: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(key).ok()?;
    let chars = s.chars().count();
    let fits = (1..=MAX_PARTITION_KEY_CHARS).contains(&chars);
    (fits && !s.starts_with(ESCAPE_PREFIX)).then_some(s)
}

/// The PartitionKey a Kinesis reader sees for a Kafka record `key`.
pub fn encode_kafka_key(key: Option<&[u8]>) -> Cow<'_, str> {
    match key {
        None => Cow::Borrowed(NULL_PARTITION_KEY),
        Some(k) => match ordinary(k) {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(format!("{BYTES_PREFIX}{}", URL_SAFE_NO_PAD.encode(k))),
        },
    }
}

/// The Kafka key a Kinesis reader's PartitionKey stands for: the inverse of [`encode_kafka_key`].
///
/// A string of 1 to 256 characters that does not start with [`ESCAPE_PREFIX`] is an ordinary key and decodes to
/// its UTF-8 bytes. Anything else [`encode_kafka_key`] never produces is refused: an empty or longer string
/// without the prefix, and a string with the prefix that is neither [`NULL_PARTITION_KEY`] nor [`BYTES_PREFIX`]
/// followed by the canonical unpadded base64url of a key that is not ordinary.
pub fn decode_partition_key(partition_key: &str) -> Result<Option<Vec<u8>>, ShardMapError> {
    let bad = |reason| ShardMapError::InvalidEscapedPartitionKey {
        value: partition_key.to_string(),
        reason,
    };
    let Some(rest) = partition_key.strip_prefix(ESCAPE_PREFIX) else {
        return match ordinary(partition_key.as_bytes()) {
            Some(s) => Ok(Some(s.as_bytes().to_vec())),
            None => Err(bad(
                "empty or longer than 256 characters, so never left unescaped",
            )),
        };
    };
    if rest == "null" {
        return Ok(None);
    }
    let b64 = partition_key
        .strip_prefix(BYTES_PREFIX)
        .ok_or_else(|| bad("after `~kafka:` comes `null` or `b64:`"))?;
    // The default engine refuses padding and non-zero trailing bits, so each key has exactly one encoding.
    let key = URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|_| bad("not canonical unpadded base64url"))?;
    if ordinary(&key).is_some() {
        return Err(bad("an ordinary key is never escaped"));
    }
    Ok(Some(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(k: Option<&[u8]>) -> String {
        encode_kafka_key(k).into_owned()
    }

    #[test]
    fn ordinary_keys_are_unchanged() {
        assert_eq!(enc(Some(b"k-1")), "k-1");
        assert_eq!(enc(Some("ключ".as_bytes())), "ключ");
        let max = "é".repeat(256); // 256 characters, 512 bytes
        assert_eq!(enc(Some(max.as_bytes())), max);
        assert_eq!(enc(Some(b"~kafka")), "~kafka");
        assert_eq!(enc(Some(b"~kafka;null")), "~kafka;null");
    }

    #[test]
    fn other_keys_are_escaped() {
        assert_eq!(enc(None), "~kafka:null");
        assert_eq!(enc(Some(b"")), "~kafka:b64:");
        assert_eq!(enc(Some(b"\xff\xfe-k-\xc3")), "~kafka:b64:__4tay3D");
        assert_eq!(enc(Some(b"~kafka:null")), "~kafka:b64:fmthZmthOm51bGw");
        let long = "a".repeat(257);
        assert_eq!(
            enc(Some(long.as_bytes())),
            format!("~kafka:b64:{}", URL_SAFE_NO_PAD.encode(&long))
        );
    }

    #[test]
    fn decodes_what_it_encodes() {
        for k in [
            None,
            Some(&b""[..]),
            Some(b"k"),
            Some(b"\xff"),
            Some(b"~kafka:b64:"),
        ] {
            assert_eq!(
                decode_partition_key(&enc(k)).as_ref().map(Option::as_deref),
                Ok(k)
            );
        }
    }

    #[test]
    fn refuses_what_it_never_produces() {
        for bad in [
            "~kafka:",
            "~kafka:NULL",
            "~kafka:b64:a",       // 6 bits: not a whole byte
            "~kafka:b64:QR",      // non-zero trailing bits
            "~kafka:b64:QQ==",    // padded
            "~kafka:b64:a+/b",    // standard alphabet
            "~kafka:b64:ay0x",    // "k-1" is ordinary
            "~kafka:other:thing", // unknown tag
            "",                   // the empty key is escaped
        ] {
            assert!(
                matches!(
                    decode_partition_key(bad),
                    Err(ShardMapError::InvalidEscapedPartitionKey { .. })
                ),
                "{bad}"
            );
        }
        assert!(decode_partition_key(&"a".repeat(257)).is_err());
    }
}
