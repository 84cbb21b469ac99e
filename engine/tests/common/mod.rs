//! Helpers shared by the engine's integration tests.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::path::Path;

use bytes::BytesMut;
use strait_engine::batch::{BatchBuilder, RecordInput, decode_records};
use strait_engine::{AppendOptions, Engine, EngineConfig, Partition};

pub fn config(dir: &Path) -> EngineConfig {
    EngineConfig {
        data_dir: dir.to_path_buf(),
        ..EngineConfig::default()
    }
}

pub fn overrides(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A batch of `n` records whose values are `"{tag}-{i}"`.
pub fn batch(tag: &str, n: usize, ts: i64) -> BytesMut {
    records_into(BatchBuilder::new(), tag, n, ts)
}

/// Adds `n` records whose values are `"{tag}-{i}"` to `b` and finishes the batch.
pub fn records_into(mut b: BatchBuilder, tag: &str, n: usize, ts: i64) -> BytesMut {
    for i in 0..n {
        let v = format!("{tag}-{i}");
        b.push(RecordInput {
            key: Some(tag.as_bytes()),
            value: Some(v.as_bytes()),
            headers: &[],
            timestamp_ms: ts,
        });
    }
    b.finish()
}

pub async fn append(p: &Partition, tag: &str, n: usize, ts: i64) -> strait_engine::AppendInfo {
    p.append(batch(tag, n, ts).into(), AppendOptions::default())
        .await
        .expect("append")
}

/// Every record value from log start to the high watermark, with its offset.
pub async fn read_all(p: &Partition) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    let mut next = p.log_start();
    loop {
        let r = p.read(next, 64 * 1024).await.expect("read");
        if r.records.is_empty() {
            return out;
        }
        for item in strait_engine::batch::BatchIter::new(&r.records) {
            let (_, range) = item.expect("valid batch");
            let (_, recs) = decode_records(&r.records[range]).expect("decode");
            for rec in recs {
                if rec.offset >= next {
                    out.push((
                        rec.offset,
                        String::from_utf8_lossy(rec.value.unwrap_or_default()).into_owned(),
                    ));
                    next = rec.offset + 1;
                }
            }
        }
    }
}

/// Simulates a process crash: no clean-shutdown marker, nothing flushed beyond what was acknowledged.
pub async fn crash(e: Engine) {
    e.abandon().await;
}

pub fn segment_files(dir: &Path, topic: &str, p: u32, ext: &str) -> Vec<std::path::PathBuf> {
    let d = dir.join("logs").join(format!("{topic}-{p}"));
    let mut v: Vec<_> = std::fs::read_dir(&d)
        .expect("partition dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().and_then(|x| x.to_str()) == Some(ext))
        .collect();
    v.sort();
    v
}
