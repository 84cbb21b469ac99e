//! The console's HTTP plumbing: JSON and asset responses, JSON errors with their status codes, query strings and
//! percent-decoding, and how bytes are shown (UTF-8 text when they are, hex otherwise, cut at a bound).

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::{Value, json};

use crate::http::HttpResponse;

/// A request the console cannot answer, rendered as `{"error": {"code", "message"}}` with its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "NotFound",
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "BadRequest",
            message: message.into(),
        }
    }

    /// The node is starting (the engine or a front end is not open yet) or shutting down.
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "Unavailable",
            message: message.into(),
        }
    }

    /// Storage or metadata failures: the node's fault, not the request's.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "Internal",
            message: message.into(),
        }
    }

    pub fn response(&self) -> HttpResponse {
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        json_response(self.status, &body)
    }
}

pub type ApiResult = Result<Value, ApiError>;

pub fn json_response(status: StatusCode, body: &Value) -> HttpResponse {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    // Every answer is live state: a cached one would show stale offsets.
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

pub fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    let mut resp = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // The page loads nothing from elsewhere; say so, so an injected value could not either.
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
        ),
    );
    resp
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`, as in query strings). Malformed escapes stay
/// as they are; bytes that are not UTF-8 after decoding are an error.
pub fn percent_decode(s: &str, plus_is_space: bool) -> Result<String, ApiError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' if plus_is_space => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| ApiError::bad_request("the request is not valid UTF-8"))
}

/// The parameters of a query string, decoded; a parameter given twice keeps its first value.
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(q: Option<&str>) -> Result<Query, ApiError> {
        let mut pairs = Vec::new();
        for part in q.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            pairs.push((percent_decode(k, true)?, percent_decode(v, true)?));
        }
        Ok(Query(pairs))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    pub fn int<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, ApiError> {
        self.get(name)
            .map(|v| {
                v.trim().parse().map_err(|_| {
                    ApiError::bad_request(format!("{name} must be an integer, not {v:?}"))
                })
            })
            .transpose()
    }
}

/// How bytes are shown: `{"encoding": "utf8"|"hex", "text", "size", "truncated"}`, at most `max` bytes of them.
pub fn show_bytes(b: &[u8], max: usize) -> Value {
    let cut = &b[..b.len().min(max)];
    let (encoding, text) = match std::str::from_utf8(cut) {
        Ok(s) => ("utf8", s.to_string()),
        // A cut through a multi-byte character is still text: keep the valid prefix.
        Err(e) if cut.len() < b.len() && e.error_len().is_none() => (
            "utf8",
            String::from_utf8_lossy(&cut[..e.valid_up_to()]).into_owned(),
        ),
        Err(_) => ("hex", hex(cut)),
    };
    json!({ "encoding": encoding, "text": text, "size": b.len(), "truncated": cut.len() < b.len() })
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode_escapes_and_ignore_empty_values() {
        let q = Query::parse(Some("topic=a%2Fb&x=&n=12&s=a+b&bad=%zz")).expect("parses");
        assert_eq!(q.get("topic"), Some("a/b"));
        assert_eq!(q.get("x"), None);
        assert_eq!(q.int::<i64>("n"), Ok(Some(12)));
        assert_eq!(q.get("s"), Some("a b"));
        assert_eq!(q.get("bad"), Some("%zz"));
        assert!(q.int::<i64>("s").is_err());
        assert!(percent_decode("%ff", false).is_err());
        assert_eq!(percent_decode("%", false).as_deref(), Ok("%"));
        assert_eq!(percent_decode("a%2", false).as_deref(), Ok("a%2"));
    }

    #[test]
    fn bytes_show_as_text_or_hex_and_are_cut() {
        assert_eq!(show_bytes(b"hello", 10)["text"], "hello");
        let v = show_bytes(&[0, 159, 146, 150], 10);
        assert_eq!(
            (v["encoding"].as_str(), v["text"].as_str()),
            (Some("hex"), Some("009f9296"))
        );
        let v = show_bytes("héllo".as_bytes(), 2);
        assert_eq!(
            (v["encoding"].as_str(), v["text"].as_str()),
            (Some("utf8"), Some("h"))
        );
        assert_eq!(v["truncated"], true);
        assert_eq!(v["size"], 6);
    }
}
