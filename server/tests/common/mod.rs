//! Helpers shared by the integration tests: a minimal HTTP/1.1 client over a raw socket, so the tests see exactly
//! the bytes a client would.

#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// A header's value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request with `Connection: close` and reads the whole reply.
pub async fn http1(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        req.push_str(&format!("{name}: {value}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(req.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    parse(&raw).ok_or_else(|| {
        std::io::Error::other(format!(
            "unparseable reply: {:?}",
            String::from_utf8_lossy(&raw)
        ))
    })
}

fn parse(raw: &[u8]) -> Option<Reply> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Some(Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    })
}

/// Polls `GET /healthz` until it answers 200 or `timeout` passes.
pub async fn wait_healthy(admin: SocketAddr, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(r) = http1(admin, "GET", "/healthz", &[], b"").await
            && r.status == 200
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// The request a Kinesis SDK sends for ListStreams (minus the signature, which `auth = "none"` ignores).
pub fn list_streams_headers() -> [(&'static str, &'static str); 4] {
    [
        ("Content-Type", "application/x-amz-json-1.1"),
        ("X-Amz-Target", "Kinesis_20131202.ListStreams"),
        // `strait dev` accepts any well-formed signature, as emulators do.
        ("X-Amz-Date", "20260101T000000Z"),
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/kinesis/aws4_request, \
             SignedHeaders=host;x-amz-date;x-amz-target, Signature=0123456789abcdef",
        ),
    ]
}

/// Checks a successful ListStreams answer on a node without streams.
pub fn assert_no_streams(r: &Reply) {
    assert_eq!(r.status, 200, "body: {}", r.text());
    assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.1"));
    let id = r.header("x-amzn-requestid").expect("request id");
    assert_eq!(id.len(), 36, "request id {id} is not a UUID");
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON body");
    assert_eq!(v["StreamNames"], serde_json::json!([]));
    assert_eq!(v["HasMoreStreams"], false);
}

/// Checks the exact error AWS answers for an operation it does not offer.
pub fn assert_unknown_operation(r: &Reply) {
    assert_eq!(r.status, 400, "body: {}", r.text());
    assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.1"));
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("UnknownOperationException")
    );
    let id = r.header("x-amzn-requestid").expect("request id");
    assert_eq!(id.len(), 36, "request id {id} is not a UUID");
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON body");
    // AWS names no reason for a target it cannot route: the type alone.
    assert_eq!(
        v,
        serde_json::json!({"__type": "UnknownOperationException"})
    );
}
