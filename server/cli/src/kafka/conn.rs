//! One Kafka connection: 4-byte length-prefixed frames, one request in flight at a time, API versions negotiated
//! once with ApiVersions so each request goes out at the highest version both sides speak.

use std::collections::HashMap;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use kafka_protocol::messages::{ApiVersionsRequest, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::{CliError, Result, check};

/// Connecting gives up after this: an unreachable broker should fail a script fast, with exit code 3.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A request gives up after this; Fetch long-polls for at most a few seconds, well inside it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// A response larger than this is refused rather than allocated (a misbehaving peer, or not Kafka at all).
const MAX_FRAME: usize = 256 << 20;

pub(crate) struct Conn {
    stream: TcpStream,
    addr: String,
    correlation: i32,
    /// api key -> (min, max) the broker accepts.
    versions: HashMap<i16, (i16, i16)>,
}

impl Conn {
    /// Connects and negotiates versions.
    pub(crate) async fn open(addr: &str) -> Result<Conn> {
        let connect = TcpStream::connect(addr);
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
            Ok(Ok(s)) => s,
            Ok(Err(source)) => {
                return Err(CliError::Connect {
                    addr: addr.to_string(),
                    source,
                });
            }
            Err(_) => {
                return Err(CliError::Timeout {
                    addr: addr.to_string(),
                    secs: CONNECT_TIMEOUT.as_secs(),
                });
            }
        };
        let _ = stream.set_nodelay(true);
        let mut conn = Conn {
            stream,
            addr: addr.to_string(),
            correlation: 0,
            versions: HashMap::new(),
        };
        // v3 is what current clients send; every broker since Kafka 2.4 (and Strait) answers it.
        let req = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("strait-cli"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let resp = conn.send(&req, 3).await?;
        check(resp.error_code, "ApiVersions", None)?;
        conn.versions = resp
            .api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect();
        Ok(conn)
    }

    pub(crate) fn addr(&self) -> &str {
        &self.addr
    }

    /// The version `R` goes out at: the highest both sides support, at most `cap`. Callers cap versions whose
    /// shape changes in ways they do not fill in (topic ids instead of names in Fetch v13+, for one).
    pub(crate) fn version<R: Request>(&self, cap: i16) -> Result<i16> {
        let ours = R::VERSIONS;
        let (min, max) = self.versions.get(&R::KEY).copied().ok_or_else(|| {
            CliError::Protocol(format!(
                "{} does not support API key {} (see its ApiVersions)",
                self.addr,
                R::KEY
            ))
        })?;
        let v = max.min(ours.max).min(cap);
        if v < min.max(ours.min) {
            return Err(CliError::Protocol(format!(
                "no common version of API key {} with {} (broker {min}..={max}, client up to {cap})",
                R::KEY,
                self.addr
            )));
        }
        Ok(v)
    }

    /// Sends `req` at the negotiated version (capped at `cap`) and returns the response and its version.
    pub(crate) async fn call<R: Request>(&mut self, req: &R, cap: i16) -> Result<R::Response> {
        let v = self.version::<R>(cap)?;
        self.send(req, v).await
    }

    async fn send<R: Request>(&mut self, req: &R, version: i16) -> Result<R::Response> {
        match tokio::time::timeout(REQUEST_TIMEOUT, self.round_trip(req, version)).await {
            Ok(r) => r,
            Err(_) => Err(CliError::Timeout {
                addr: self.addr.clone(),
                secs: REQUEST_TIMEOUT.as_secs(),
            }),
        }
    }

    async fn round_trip<R: Request>(&mut self, req: &R, version: i16) -> Result<R::Response> {
        self.correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_static_str("strait-cli")));
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&[0; 4]);
        let encoded = header
            .encode(&mut buf, R::header_version(version))
            .and_then(|()| req.encode(&mut buf, version));
        encoded
            .map_err(|e| CliError::Protocol(format!("cannot encode API key {}: {e}", R::KEY)))?;
        let len = u32::try_from(buf.len() - 4)
            .map_err(|_| CliError::Protocol("request too large".into()))?;
        buf[..4].copy_from_slice(&len.to_be_bytes());
        let io = |source| CliError::Connect {
            addr: self.addr.clone(),
            source,
        };
        self.stream.write_all(&buf).await.map_err(io)?;
        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len).await.map_err(io)?;
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_FRAME {
            return Err(CliError::Protocol(format!(
                "{} sent a {len}-byte frame (is it a Kafka broker?)",
                self.addr
            )));
        }
        let mut body = vec![0u8; len];
        self.stream.read_exact(&mut body).await.map_err(io)?;
        let mut body = bytes::Bytes::from(body);
        let bad = |e: anyhow::Error| {
            CliError::Protocol(format!("undecodable response to API key {}: {e}", R::KEY))
        };
        let rh =
            ResponseHeader::decode(&mut body, R::Response::header_version(version)).map_err(bad)?;
        if rh.correlation_id != self.correlation {
            return Err(CliError::Protocol(format!(
                "response out of order from {} (correlation {} for {})",
                self.addr, rh.correlation_id, self.correlation
            )));
        }
        let resp = R::Response::decode(&mut body, version).map_err(bad)?;
        if body.has_remaining() {
            return Err(CliError::Protocol(format!(
                "{} trailing bytes after the response to API key {}",
                body.remaining(),
                R::KEY
            )));
        }
        Ok(resp)
    }
}
