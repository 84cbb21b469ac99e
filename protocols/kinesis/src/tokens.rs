//! Stateless tokens: shard iterators and pagination tokens, authenticated with an HMAC so the server keeps no
//! per-iterator state and clients cannot forge positions. The key lives in the metadata store, so tokens stay
//! valid across restarts.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::error::KinesisError;

type HmacSha256 = Hmac<Sha256>;

/// MAC bytes kept per token: 128 bits are plenty against forgery and keep iterators short.
const MAC_LEN: usize = 16;
const ITERATOR_VERSION: u8 = 1;
/// Iterators are valid for 5 minutes after they are issued, as on AWS (the default of `KinesisConfig::iterator_ttl`).
pub const ITERATOR_TTL_MS: i64 = 300_000;
/// Pagination tokens (ListShards, ListStreams, ListStreamConsumers) also expire after 300 s on AWS.
pub const NEXT_TOKEN_TTL_MS: i64 = 300_000;

fn mac(key: &[u8], domain: &[u8], payload: &[u8]) -> [u8; MAC_LEN] {
    // HMAC accepts keys of any length, so construction cannot fail.
    let mut m = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0; MAC_LEN],
    };
    m.update(domain);
    m.update(payload);
    let full = m.finalize().into_bytes();
    let mut out = [0; MAC_LEN];
    out.copy_from_slice(&full[..MAC_LEN]);
    out
}

/// A position in a shard, as a shard iterator carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IteratorToken {
    pub stream: String,
    pub incarnation: u32,
    pub shard: u32,
    /// The next partition offset to read.
    pub offset: i64,
    pub issued_ms: i64,
}

impl IteratorToken {
    pub fn encode(&self, key: &[u8]) -> String {
        let mut b = Vec::with_capacity(26 + self.stream.len() + MAC_LEN);
        b.push(ITERATOR_VERSION);
        b.extend_from_slice(&self.incarnation.to_be_bytes());
        b.extend_from_slice(&self.shard.to_be_bytes());
        b.extend_from_slice(&self.offset.to_be_bytes());
        b.extend_from_slice(&self.issued_ms.to_be_bytes());
        // Stream names are at most 128 bytes (the model's limit), so the length fits a byte.
        b.push(self.stream.len().min(255) as u8);
        b.extend_from_slice(&self.stream.as_bytes()[..self.stream.len().min(255)]);
        let m = mac(key, b"iterator", &b);
        b.extend_from_slice(&m);
        STANDARD.encode(b)
    }

    /// Decodes and authenticates an iterator; anything else is AWS's "Invalid ShardIterator.".
    pub fn decode(key: &[u8], token: &str) -> Result<IteratorToken, KinesisError> {
        let invalid = || KinesisError::InvalidArgument("Invalid ShardIterator.".into());
        let b = STANDARD.decode(token.as_bytes()).map_err(|_| invalid())?;
        if b.len() < 26 + MAC_LEN || b[0] != ITERATOR_VERSION {
            return Err(invalid());
        }
        let (body, tag) = b.split_at(b.len() - MAC_LEN);
        if !bool::from(mac(key, b"iterator", body).ct_eq(tag)) {
            return Err(invalid());
        }
        let u32_at =
            |i: usize| u32::from_be_bytes([body[i], body[i + 1], body[i + 2], body[i + 3]]);
        let i64_at = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&body[i..i + 8]);
            i64::from_be_bytes(a)
        };
        let name_len = body[25] as usize;
        if body.len() != 26 + name_len {
            return Err(invalid());
        }
        let stream = std::str::from_utf8(&body[26..]).map_err(|_| invalid())?;
        Ok(IteratorToken {
            stream: stream.to_string(),
            incarnation: u32_at(1),
            shard: u32_at(5),
            offset: i64_at(9),
            issued_ms: i64_at(17),
        })
    }
}

/// Signs a pagination token's payload (`kind` keeps tokens of one API from being replayed to another).
pub fn sign_next_token(key: &[u8], kind: &str, payload: &serde_json::Value) -> String {
    let body = payload.to_string().into_bytes();
    let m = mac(key, kind.as_bytes(), &body);
    let mut b = body;
    b.extend_from_slice(&m);
    URL_SAFE_NO_PAD.encode(b)
}

/// Verifies a pagination token and returns its payload, checking the `"t"` issue time against the 300 s expiry.
pub fn open_next_token(
    key: &[u8],
    kind: &str,
    token: &str,
    now_ms: i64,
) -> Result<serde_json::Value, KinesisError> {
    let invalid = || KinesisError::InvalidArgument(format!("Invalid NextToken: {token}"));
    let b = URL_SAFE_NO_PAD
        .decode(token.as_bytes())
        .map_err(|_| invalid())?;
    if b.len() <= MAC_LEN {
        return Err(invalid());
    }
    let (body, tag) = b.split_at(b.len() - MAC_LEN);
    if !bool::from(mac(key, kind.as_bytes(), body).ct_eq(tag)) {
        return Err(invalid());
    }
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|_| invalid())?;
    let issued = v.get("t").and_then(serde_json::Value::as_i64).unwrap_or(0);
    if now_ms - issued > NEXT_TOKEN_TTL_MS {
        return Err(KinesisError::ExpiredNextToken(format!(
            "The timestamp {issued} in the NextToken has expired."
        )));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iterators_round_trip_and_resist_tampering() {
        let key = [7u8; 32];
        let t = IteratorToken {
            stream: "orders".into(),
            incarnation: 42,
            shard: 3,
            offset: 1_000_000,
            issued_ms: 1_700_000_000_000,
        };
        let s = t.encode(&key);
        assert!(s.len() <= 512);
        assert_eq!(IteratorToken::decode(&key, &s), Ok(t.clone()));
        let mut raw = STANDARD.decode(&s).expect("b64");
        raw[12] ^= 1;
        let forged = STANDARD.encode(raw);
        assert!(matches!(
            IteratorToken::decode(&key, &forged),
            Err(KinesisError::InvalidArgument(_))
        ));
        assert!(IteratorToken::decode(&[8u8; 32], &s).is_err());
        assert!(IteratorToken::decode(&key, "not an iterator").is_err());
        let long = IteratorToken {
            stream: "s".repeat(128),
            ..t
        };
        assert!(long.encode(&key).len() <= 512);
    }

    #[test]
    fn next_tokens_expire() {
        let key = [1u8; 32];
        let tok = sign_next_token(&key, "ListShards", &serde_json::json!({"t": 1000, "a": 5}));
        assert_eq!(
            open_next_token(&key, "ListShards", &tok, 2000).expect("valid")["a"],
            5
        );
        assert!(matches!(
            open_next_token(&key, "ListShards", &tok, 1000 + NEXT_TOKEN_TTL_MS + 1),
            Err(KinesisError::ExpiredNextToken(_))
        ));
        assert!(open_next_token(&key, "ListStreams", &tok, 2000).is_err());
    }
}
