//! The S3 client and the object operations tiering needs: conditional single and multipart PUTs, ranged GETs
//! and deletes, each bounded by a timeout.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::error::{Result, TierError};

/// S3's smallest part (every part but the last).
pub const MIN_PART_BYTES: u64 = 5 << 20;

/// Static credentials; without them the SDK's default chain is used (environment, profile, web identity, ECS,
/// IMDS).
#[derive(Debug, Clone)]
pub struct StaticCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

/// Where and how to reach the object store.
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// `None`: AWS's own endpoint for the region.
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    /// Prepended to every key (such as `strait/`).
    pub prefix: String,
    pub credentials: Option<StaticCredentials>,
    /// Path-style addressing (`endpoint/bucket/key`), which most S3-compatible stores need.
    pub path_style: bool,
    /// Bound of the in-memory cache of indexes and chunks.
    pub cache_bytes: u64,
    /// Size of the chunks remote reads fetch and cache.
    pub chunk_bytes: u64,
    /// One attempt of one S3 call; the whole call (with retries) gets three times this.
    pub request_timeout: Duration,
    /// Segments larger than this are uploaded in parts of `multipart_part_bytes`.
    pub multipart_threshold_bytes: u64,
    pub multipart_part_bytes: u64,
}

/// The client and bucket, with every call's timeout.
#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    client: Client,
    bucket: String,
    timeout: Duration,
}

fn s3_error<E: std::error::Error + Send + Sync + 'static>(
    op: &'static str,
    key: &str,
    e: E,
) -> TierError {
    TierError::S3 {
        op,
        key: key.to_string(),
        message: DisplayErrorContext(e).to_string(),
    }
}

impl Bucket {
    pub(crate) async fn connect(s: &S3Settings) -> Result<Bucket> {
        if s.bucket.is_empty() {
            return Err(TierError::Settings("the bucket name is empty".into()));
        }
        if s.multipart_part_bytes < MIN_PART_BYTES
            || s.multipart_threshold_bytes < s.multipart_part_bytes
        {
            return Err(TierError::Settings(format!(
                "multipart parts must be at least {MIN_PART_BYTES} bytes and the threshold at least one part"
            )));
        }
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(s.request_timeout.min(Duration::from_secs(10)))
            .operation_attempt_timeout(s.request_timeout)
            .operation_timeout(s.request_timeout * 3)
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(s.region.clone()))
            .timeout_config(timeouts)
            .retry_config(RetryConfig::standard().with_max_attempts(3));
        if let Some(ep) = &s.endpoint {
            loader = loader.endpoint_url(ep);
        }
        if let Some(c) = &s.credentials {
            loader = loader.credentials_provider(Credentials::new(
                c.access_key_id.clone(),
                c.secret_access_key.clone(),
                c.session_token.clone(),
                None,
                "strait-tiering-config",
            ));
        }
        let sdk = loader.load().await;
        // Checksums only where S3 requires them: current SDKs otherwise send aws-chunked bodies with trailing
        // checksums that S3-compatible stores often mishandle (shared/notes/crates.md §7).
        let conf = aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(s.path_style)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .build();
        Ok(Bucket {
            client: Client::from_conf(conf),
            bucket: s.bucket.clone(),
            timeout: s.request_timeout * 3,
        })
    }

    /// Bounds a call (the SDK bounds each attempt; this also bounds streaming a body).
    async fn bounded<T>(
        &self,
        op: &'static str,
        key: &str,
        f: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        match tokio::time::timeout(self.timeout, f).await {
            Ok(r) => r,
            Err(_) => Err(TierError::S3 {
                op,
                key: key.to_string(),
                message: format!("timed out after {:?}", self.timeout),
            }),
        }
    }

    /// Checks that the bucket is reachable (at start, to warn early).
    pub(crate) async fn head(&self) -> Result<()> {
        let b = self.bucket.clone();
        self.bounded("HeadBucket", &b, async {
            self.client
                .head_bucket()
                .bucket(&self.bucket)
                .send()
                .await
                .map_err(|e| s3_error("HeadBucket", &b, e))?;
            Ok(())
        })
        .await
    }

    /// PUT that never overwrites (`If-None-Match: *`): keys are unique, so an existing object means a bug or
    /// another writer, and is an error rather than a silent replacement.
    pub(crate) async fn put_new(&self, key: &str, body: Vec<u8>) -> Result<()> {
        self.bounded("PutObject", key, async {
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .if_none_match("*")
                .body(ByteStream::from(body))
                .send()
                .await
                .map_err(|e| s3_error("PutObject", key, e))?;
            Ok(())
        })
        .await
    }

    /// Uploads the first `size` bytes of `path` in parts of `part` bytes, completing with `If-None-Match: *`;
    /// aborts the upload on failure (so no parts linger).
    pub(crate) async fn put_multipart(
        &self,
        key: &str,
        path: &std::path::Path,
        size: u64,
        part: u64,
    ) -> Result<()> {
        let created = self
            .bounded("CreateMultipartUpload", key, async {
                self.client
                    .create_multipart_upload()
                    .bucket(&self.bucket)
                    .key(key)
                    .send()
                    .await
                    .map_err(|e| s3_error("CreateMultipartUpload", key, e))
            })
            .await?;
        let Some(id) = created.upload_id().map(str::to_string) else {
            return Err(TierError::S3 {
                op: "CreateMultipartUpload",
                key: key.to_string(),
                message: "no upload id in the answer".into(),
            });
        };
        let r = self.upload_parts(key, &id, path, size, part).await;
        if r.is_err() {
            let abort = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&id);
            if let Err(e) = self
                .bounded("AbortMultipartUpload", key, async {
                    abort
                        .send()
                        .await
                        .map_err(|e| s3_error("AbortMultipartUpload", key, e))
                })
                .await
            {
                tracing::warn!(key, error = %e, "aborting a failed multipart upload failed");
            }
        }
        r
    }

    async fn upload_parts(
        &self,
        key: &str,
        id: &str,
        path: &std::path::Path,
        size: u64,
        part: u64,
    ) -> Result<()> {
        let io = |source| TierError::LocalRead {
            path: path.display().to_string(),
            source,
        };
        let mut file = tokio::fs::File::open(path).await.map_err(io)?;
        let mut parts = Vec::new();
        let mut at = 0u64;
        let mut number = 1i32;
        while at < size {
            let len = part.min(size - at);
            let mut buf = vec![0u8; len as usize];
            file.seek(std::io::SeekFrom::Start(at)).await.map_err(io)?;
            file.read_exact(&mut buf).await.map_err(io)?;
            let done = self
                .bounded("UploadPart", key, async {
                    self.client
                        .upload_part()
                        .bucket(&self.bucket)
                        .key(key)
                        .upload_id(id)
                        .part_number(number)
                        .body(ByteStream::from(buf))
                        .send()
                        .await
                        .map_err(|e| s3_error("UploadPart", key, e))
                })
                .await?;
            parts.push(
                CompletedPart::builder()
                    .set_e_tag(done.e_tag().map(str::to_string))
                    .part_number(number)
                    .build(),
            );
            at += len;
            number += 1;
        }
        self.bounded("CompleteMultipartUpload", key, async {
            self.client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(id)
                .if_none_match("*")
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| s3_error("CompleteMultipartUpload", key, e))?;
            Ok(())
        })
        .await
    }

    /// GET of bytes `[start, end)` of an object (the whole object when `range` is `None`).
    pub(crate) async fn get(&self, key: &str, range: Option<(u64, u64)>) -> Result<Bytes> {
        let bytes = self
            .bounded("GetObject", key, async {
                let mut req = self.client.get_object().bucket(&self.bucket).key(key);
                if let Some((start, end)) = range {
                    req = req.range(format!("bytes={start}-{}", end - 1));
                }
                let out = req
                    .send()
                    .await
                    .map_err(|e| s3_error("GetObject", key, e))?;
                let body = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| s3_error("GetObject", key, e))?;
                Ok(body.into_bytes())
            })
            .await?;
        metrics::counter!("strait_tier_remote_read_bytes_total").increment(bytes.len() as u64);
        if let Some((start, end)) = range
            && bytes.len() as u64 != end - start
        {
            return Err(TierError::Corrupt {
                key: key.to_string(),
                reason: format!(
                    "asked for {} bytes at {start}, got {}",
                    end - start,
                    bytes.len()
                ),
            });
        }
        Ok(bytes)
    }

    /// Every object under `prefix` with its last-modified time (ms since the epoch).
    pub(crate) async fn list(&self, prefix: &str) -> Result<Vec<(String, i64)>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .bounded("ListObjectsV2", prefix, async {
                    self.client
                        .list_objects_v2()
                        .bucket(&self.bucket)
                        .prefix(prefix)
                        .set_continuation_token(token.clone())
                        .send()
                        .await
                        .map_err(|e| s3_error("ListObjectsV2", prefix, e))
                })
                .await?;
            for o in page.contents() {
                if let Some(key) = o.key() {
                    let modified = o.last_modified().map_or(0, |t| t.secs() * 1000);
                    out.push((key.to_string(), modified));
                }
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
    }

    pub(crate) async fn delete(&self, key: &str) -> Result<()> {
        self.bounded("DeleteObject", key, async {
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| s3_error("DeleteObject", key, e))?;
            Ok(())
        })
        .await
    }
}
