//! The canonical request of SigV4, rebuilt from exactly what the client signed, and the derived-key cache.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sigv4::sign::v4::generate_signing_key;

use super::SignedRequest;

/// RFC 3986 unreserved characters stay; everything else is `%XX` (upper case), as SigV4 requires.
pub(crate) fn uri_encode(s: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// The query's parameters, decoded.
pub(crate) fn query_params(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (
                String::from_utf8_lossy(&percent_decode(k)).into_owned(),
                String::from_utf8_lossy(&percent_decode(v)).into_owned(),
            )
        })
        .collect()
}

/// The canonical request over `signed` headers. `exclude_param` (the presigned form's `X-Amz-Signature`) is left
/// out of the canonical query, as the signer could not have included it.
pub(super) fn canonical_request(
    req: &SignedRequest<'_>,
    signed: &[String],
    payload_hash: &str,
    exclude_param: Option<&str>,
) -> String {
    // Non-S3 services encode each path segment of the (already encoded) path once more.
    let path = if req.path.is_empty() { "/" } else { req.path };
    let uri = uri_encode(path.as_bytes(), true);
    let mut params: Vec<(String, String)> = req
        .query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| kv.split_once('=').unwrap_or((kv, "")))
        .filter(|(k, _)| exclude_param.is_none_or(|x| percent_decode(k) != x.as_bytes()))
        .map(|(k, v)| {
            (
                uri_encode(&percent_decode(k), false),
                uri_encode(&percent_decode(v), false),
            )
        })
        .collect();
    params.sort();
    let query = params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut headers = String::new();
    for name in signed {
        let values: Vec<String> = req
            .header_values(name)
            .iter()
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        headers.push_str(name);
        headers.push(':');
        headers.push_str(&values.join(","));
        headers.push('\n');
    }
    format!(
        "{}\n{uri}\n{query}\n{headers}\n{}\n{payload_hash}",
        req.method,
        signed.join(";")
    )
}

/// Derived signing keys by (secret, date, region, service): a key is valid for a whole day, so deriving it (four
/// HMACs) once per day per key instead of once per request keeps verification to two hashes and one HMAC.
type KeyCache = HashMap<(String, String, String, String), Vec<u8>>;
static SIGNING_KEYS: LazyLock<Mutex<KeyCache>> = LazyLock::new(|| Mutex::new(HashMap::new()));
/// Bound on cached keys; the cache is simply emptied when it is reached (a day's keys are few).
const MAX_CACHED_KEYS: usize = 1024;

/// The signing key of `secret` for the scope (`date` is the scope's `YYYYMMDD`, the day of `at_ms`).
pub(super) fn signing_key(
    secret: &str,
    date: &str,
    at_ms: i64,
    region: &str,
    service: &str,
) -> Vec<u8> {
    let id = (
        secret.to_string(),
        date.to_string(),
        region.to_string(),
        service.to_string(),
    );
    if let Some(k) = SIGNING_KEYS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&id)
    {
        return k.clone();
    }
    // aws-sigv4 takes the day as a time; the scope check has made `date` the UTC day of `at_ms`.
    let at = if at_ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(at_ms.unsigned_abs())
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_millis(at_ms.unsigned_abs()))
            .unwrap_or(SystemTime::UNIX_EPOCH)
    };
    let key = generate_signing_key(secret, at, region, service)
        .as_ref()
        .to_vec();
    let mut cache = SIGNING_KEYS.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= MAX_CACHED_KEYS {
        cache.clear();
    }
    cache.insert(id, key.clone());
    key
}
