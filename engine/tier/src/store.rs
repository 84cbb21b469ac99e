//! [`S3Store`]: the engine's [`RemoteStore`] over S3, and the upload of one sealed segment.
//!
//! Each segment is two objects under a key unique to the upload (a fresh UUID, so a retried or repeated upload
//! never collides with an earlier one):
//! `{prefix}{hash:08x}/{topic}-{topic_id}/{partition}/{base:020}-{uuid}.log` (the segment's bytes, unchanged)
//! and the same name with `.idx` (see [`crate::idx`]). The hash (CRC32C of the partition's path) spreads
//! partitions over S3's request-rate key ranges. The `.log` key is what the engine records.

use std::sync::Arc;

use bytes::Bytes;
use strait_engine::batch::BatchHeader;
use strait_engine::partition::SealedSegment;
use strait_engine::{RemoteSegment, RemoteStore, StoreFuture};

use crate::cache::{CacheKey, ChunkCache};
use crate::error::{Result, TierError};
use crate::idx::{self, Entry, Index};
use crate::s3::{Bucket, S3Settings};

struct Inner {
    bucket: Bucket,
    prefix: String,
    cache: ChunkCache,
    chunk: u64,
    multipart_threshold: u64,
    part: u64,
}

/// The object store of tiered segments; cheap to clone.
#[derive(Clone)]
pub struct S3Store {
    inner: Arc<Inner>,
}

fn idx_key(log_key: &str) -> String {
    match log_key.strip_suffix(".log") {
        Some(stem) => format!("{stem}.idx"),
        None => format!("{log_key}.idx"),
    }
}

impl S3Store {
    /// Builds the client (no request is made; see [`check`](Self::check)).
    pub async fn connect(settings: &S3Settings) -> Result<S3Store> {
        let bucket = Bucket::connect(settings).await?;
        Ok(S3Store {
            inner: Arc::new(Inner {
                bucket,
                prefix: settings.prefix.clone(),
                cache: ChunkCache::new(usize::try_from(settings.cache_bytes).unwrap_or(usize::MAX)),
                chunk: settings.chunk_bytes.max(4096),
                multipart_threshold: settings.multipart_threshold_bytes,
                part: settings.multipart_part_bytes,
            }),
        })
    }

    /// Whether the bucket answers (HeadBucket).
    pub async fn check(&self) -> Result<()> {
        self.inner.bucket.head().await
    }

    /// The key prefix of one partition's objects.
    pub fn partition_prefix(&self, topic: &str, topic_id: uuid::Uuid, partition: u32) -> String {
        let dir = format!("{topic}-{topic_id}/{partition}");
        let hash = crc32c::crc32c(dir.as_bytes());
        format!("{}{hash:08x}/{dir}/", self.inner.prefix)
    }

    /// A fresh, unique key for the `.log` object of a segment.
    pub fn new_segment_key(
        &self,
        topic: &str,
        topic_id: uuid::Uuid,
        partition: u32,
        base: i64,
    ) -> String {
        format!(
            "{}{base:020}-{}.log",
            self.partition_prefix(topic, topic_id, partition),
            uuid::Uuid::new_v4()
        )
    }

    /// Deletes the objects under `prefix` that no segment in `referenced` (`.log` keys) owns and that are older
    /// than `min_age_ms`: uploads whose hand-over never happened (a crash or restart in between). The age guards
    /// against deleting an upload in flight. Returns how many objects went.
    pub async fn collect_orphans(
        &self,
        prefix: &str,
        referenced: &std::collections::HashSet<String>,
        now_ms: i64,
        min_age_ms: i64,
    ) -> Result<usize> {
        let mut n = 0;
        for (key, modified) in self.inner.bucket.list(prefix).await? {
            let owner = match key.strip_suffix(".idx") {
                Some(stem) => format!("{stem}.log"),
                None => key.clone(),
            };
            if referenced.contains(&owner) || modified > now_ms - min_age_ms {
                continue;
            }
            self.inner.cache.forget(&owner);
            self.inner.bucket.delete(&key).await?;
            tracing::info!(key, "deleted an orphaned tiering object");
            n += 1;
        }
        Ok(n)
    }

    /// Uploads a sealed segment (its `.log`, then its `.idx`) and describes the copy. The engine records it
    /// with `adopt_remote`; until then the objects are unreferenced.
    pub async fn upload(
        &self,
        topic: &str,
        topic_id: uuid::Uuid,
        partition: u32,
        seg: &SealedSegment,
    ) -> Result<RemoteSegment> {
        let (path, size) = (seg.log_path.clone(), seg.size_bytes);
        let walked = tokio::task::spawn_blocking(move || idx::build(&path, size))
            .await
            .map_err(|e| TierError::BadSegment {
                path: seg.log_path.display().to_string(),
                reason: format!("index task failed: {e}"),
            })??;
        let shown = || seg.log_path.display().to_string();
        let (Some(first), Some(last)) = (walked.first(), walked.last()) else {
            return Err(TierError::BadSegment {
                path: shown(),
                reason: "no batches".into(),
            });
        };
        if first.base < seg.base_offset || last.last >= seg.next_offset {
            return Err(TierError::BadSegment {
                path: shown(),
                reason: format!(
                    "batches [{}, {}] outside the segment's offsets [{}, {})",
                    first.base, last.last, seg.base_offset, seg.next_offset
                ),
            });
        }
        let key = self.new_segment_key(topic, topic_id, partition, seg.base_offset);
        let b = &self.inner.bucket;
        if size > self.inner.multipart_threshold {
            b.put_multipart(&key, &seg.log_path, size, self.inner.part)
                .await?;
        } else {
            let mut bytes =
                tokio::fs::read(&seg.log_path)
                    .await
                    .map_err(|source| TierError::LocalRead {
                        path: shown(),
                        source,
                    })?;
            if (bytes.len() as u64) < size {
                return Err(TierError::BadSegment {
                    path: shown(),
                    reason: format!("file shorter than its {size} bytes"),
                });
            }
            bytes.truncate(size as usize);
            b.put_new(&key, bytes).await?;
        }
        b.put_new(&idx_key(&key), idx::encode(&walked)).await?;
        Ok(RemoteSegment {
            base_offset: seg.base_offset,
            next_offset: seg.next_offset,
            max_timestamp: seg.max_timestamp,
            max_timestamp_offset: seg.max_timestamp_offset,
            size_bytes: size,
            key,
            aborted: Vec::new(),
        })
    }

    /// Deletes an object pair that was uploaded but never recorded (its segment went meanwhile).
    pub async fn delete_key(&self, key: &str) -> Result<()> {
        self.inner.cache.forget(key);
        self.inner.bucket.delete(key).await?;
        self.inner.bucket.delete(&idx_key(key)).await
    }
}

impl Inner {
    async fn index(&self, seg: &RemoteSegment) -> Result<Index> {
        let ck = CacheKey::Index(seg.key.clone());
        if let Some(b) = self.cache.get(&ck) {
            return Ok(Index::checked(b));
        }
        metrics::counter!("strait_tier_cache_misses_total").increment(1);
        let key = idx_key(&seg.key);
        let idx = Index::parse(&key, self.bucket.get(&key, None).await?)?;
        if idx.len() > 0 && idx.get(idx.len() - 1).end() > seg.size_bytes {
            return Err(TierError::Corrupt {
                key,
                reason: "index points past the segment".into(),
            });
        }
        self.cache.put(ck, idx.raw());
        Ok(idx)
    }

    /// Bytes `[start, end)` of a segment, through the chunk cache: runs of missing chunks are fetched with one
    /// ranged GET each and cached chunk by chunk.
    async fn span(&self, seg: &RemoteSegment, start: u64, end: u64) -> Result<Vec<u8>> {
        let c = self.chunk;
        let (first, last) = (start / c, (end - 1) / c);
        let mut chunks: Vec<Option<Bytes>> = (first..=last)
            .map(|n| self.cache.get(&CacheKey::Chunk(seg.key.clone(), n)))
            .collect();
        let mut i = 0;
        while i < chunks.len() {
            if chunks[i].is_some() {
                i += 1;
                continue;
            }
            let mut j = i;
            while j < chunks.len() && chunks[j].is_none() {
                j += 1;
            }
            let from = (first + i as u64) * c;
            let to = ((first + j as u64) * c).min(seg.size_bytes);
            metrics::counter!("strait_tier_cache_misses_total").increment((j - i) as u64);
            let got = self.bucket.get(&seg.key, Some((from, to))).await?;
            for (k, slot) in chunks[i..j].iter_mut().enumerate() {
                let lo = k as u64 * c;
                let hi = (lo + c).min(got.len() as u64);
                let piece = got.slice(lo as usize..hi as usize);
                self.cache.put(
                    CacheKey::Chunk(seg.key.clone(), first + (i + k) as u64),
                    piece.clone(),
                );
                *slot = Some(piece);
            }
            i = j;
        }
        let mut out = Vec::with_capacity((end - start) as usize);
        for (k, chunk) in chunks.into_iter().enumerate() {
            let Some(chunk) = chunk else { continue };
            let base = (first + k as u64) * c;
            let lo = start.max(base) - base;
            let hi = end.min(base + chunk.len() as u64) - base;
            if lo < hi {
                out.extend_from_slice(&chunk[lo as usize..hi as usize]);
            }
        }
        if out.len() as u64 != end - start {
            return Err(TierError::Corrupt {
                key: seg.key.clone(),
                reason: format!("segment shorter than byte {end}"),
            });
        }
        Ok(out)
    }

    async fn batches(&self, seg: &RemoteSegment, entries: &[Entry]) -> Result<Option<Vec<u8>>> {
        let (Some(first), Some(last)) = (entries.first(), entries.last()) else {
            return Ok(None);
        };
        self.span(seg, u64::from(first.pos), last.end())
            .await
            .map(Some)
    }

    async fn read(
        &self,
        seg: &RemoteSegment,
        offset: i64,
        max_bytes: usize,
        end: i64,
    ) -> Result<Option<Vec<u8>>> {
        let idx = self.index(seg).await?;
        let mut picked: Vec<Entry> = Vec::new();
        let mut total = 0usize;
        for i in idx.first_ending_at_or_after(offset)..idx.len() {
            let e = idx.get(i);
            if e.base >= end || (!picked.is_empty() && total + e.len as usize > max_bytes) {
                break;
            }
            total += e.len as usize;
            picked.push(e);
        }
        self.batches(seg, &picked).await
    }

    async fn find_by_time(
        &self,
        seg: &RemoteSegment,
        ts: i64,
        end: i64,
    ) -> Result<Option<(BatchHeader, Vec<u8>)>> {
        let idx = self.index(seg).await?;
        let Some(e) = (0..idx.len())
            .map(|i| idx.get(i))
            .take_while(|e| e.base < end)
            .find(|e| e.max_ts >= ts)
        else {
            return Ok(None);
        };
        let Some(bytes) = self.batches(seg, &[e]).await? else {
            return Ok(None);
        };
        let header = BatchHeader::parse(&bytes).map_err(|err| TierError::Corrupt {
            key: seg.key.clone(),
            reason: format!("batch at byte {}: {err}", e.pos),
        })?;
        Ok(Some((header, bytes)))
    }

    async fn read_batch(&self, seg: &RemoteSegment, base: i64) -> Result<Option<Vec<u8>>> {
        let idx = self.index(seg).await?;
        match idx.find_base(base) {
            Some(e) => self.batches(seg, &[e]).await,
            None => Ok(None),
        }
    }
}

fn remote_read() {
    metrics::counter!("strait_tier_remote_reads_total").increment(1);
}

impl RemoteStore for S3Store {
    fn read(
        &self,
        seg: Arc<RemoteSegment>,
        offset: i64,
        max_bytes: usize,
        end_offset: i64,
    ) -> StoreFuture<Option<Vec<u8>>> {
        let inner = self.inner.clone();
        Box::pin(async move {
            remote_read();
            Ok(inner.read(&seg, offset, max_bytes, end_offset).await?)
        })
    }

    fn find_by_time(
        &self,
        seg: Arc<RemoteSegment>,
        ts: i64,
        end_offset: i64,
    ) -> StoreFuture<Option<(BatchHeader, Vec<u8>)>> {
        let inner = self.inner.clone();
        Box::pin(async move {
            remote_read();
            Ok(inner.find_by_time(&seg, ts, end_offset).await?)
        })
    }

    fn read_batch(&self, seg: Arc<RemoteSegment>, base: i64) -> StoreFuture<Option<Vec<u8>>> {
        let inner = self.inner.clone();
        Box::pin(async move {
            remote_read();
            Ok(inner.read_batch(&seg, base).await?)
        })
    }

    fn delete(&self, seg: Arc<RemoteSegment>) -> StoreFuture<()> {
        let store = self.clone();
        Box::pin(async move {
            store.delete_key(&seg.key).await?;
            metrics::counter!("strait_tier_deleted_segments_total").increment(1);
            Ok(())
        })
    }
}
