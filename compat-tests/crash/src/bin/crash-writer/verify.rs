//! `crash-writer verify`: recovers the data directory and reports every batch, checking each record's value
//! byte for byte against the one its key implies.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use strait_crash_test::TOPIC;
use strait_crash_test::payload::RecordId;
use strait_crash_test::report::{BatchRef, Line};
use strait_engine::batch::{BatchIter, decode_records};
use strait_engine::{Engine, EngineConfig, FsyncPolicy};

use crate::BoxError;

/// Bytes asked for per read: large enough that a read returns many batches.
const READ_BYTES: usize = 1 << 20;

pub(crate) async fn run(data_dir: PathBuf) -> Result<(), BoxError> {
    let mut out = BufWriter::new(std::io::stdout().lock());
    let started = std::time::Instant::now();
    let engine = Engine::open(EngineConfig {
        data_dir,
        fsync: FsyncPolicy::Always,
        ..Default::default()
    })
    .await?;
    writeln!(
        out,
        "{}",
        Line::Open {
            millis: started.elapsed().as_millis() as u64
        }
    )?;
    let (mut batches, mut records) = (0u64, 0u64);
    match engine.topic(TOPIC) {
        None => writeln!(out, "{}", Line::NoTopic)?,
        Some(topic) => {
            for p in 0..topic.partitions {
                let part = engine.partition(TOPIC, p)?;
                let o = part.offsets();
                writeln!(
                    out,
                    "{}",
                    Line::Partition {
                        partition: p,
                        log_start: o.log_start,
                        high_watermark: o.high_watermark,
                        log_end: o.log_end
                    }
                )?;
                let mut offset = o.log_start;
                while offset < o.high_watermark {
                    let read = part.read(offset, READ_BYTES).await?;
                    let before = offset;
                    for item in BatchIter::new(&read.records) {
                        let line = match item {
                            Ok((h, range)) => {
                                offset = h.last_offset() + 1;
                                inspect(p, &read.records[range])
                            }
                            Err(e) => Line::Bad {
                                partition: p,
                                offset,
                                reason: format!("unreadable batch: {e}"),
                            },
                        };
                        if let Line::Batch(b) = &line {
                            batches += 1;
                            records += u64::from(b.count);
                        }
                        writeln!(out, "{line}")?;
                    }
                    if offset == before {
                        let reason = "read made no progress below the high watermark".to_string();
                        writeln!(
                            out,
                            "{}",
                            Line::Bad {
                                partition: p,
                                offset,
                                reason
                            }
                        )?;
                        break;
                    }
                }
            }
        }
    }
    writeln!(out, "{}", Line::Done { batches, records })?;
    out.flush()?;
    engine.shutdown().await?;
    Ok(())
}

/// Checks one stored batch: dense offsets, one writer's consecutive seqs, byte-exact values.
fn inspect(partition: u32, bytes: &[u8]) -> Line {
    let bad = |offset: i64, reason: String| Line::Bad {
        partition,
        offset,
        reason,
    };
    let (h, recs) = match decode_records(bytes) {
        Ok(v) => v,
        Err(e) => return bad(-1, format!("batch does not decode: {e}")),
    };
    if recs.len() != h.record_count as usize || recs.is_empty() {
        return bad(
            h.base_offset,
            format!(
                "header says {} records, decoded {}",
                h.record_count,
                recs.len()
            ),
        );
    }
    let Some(first) = recs[0].key.and_then(RecordId::parse_key) else {
        return bad(h.base_offset, "first key is not a crash-test key".into());
    };
    for (i, r) in recs.iter().enumerate() {
        let want = RecordId {
            seq: first.seq + i as u64,
            ..first
        };
        if r.offset != h.base_offset + i as i64 {
            return bad(
                r.offset,
                format!(
                    "record {i} of batch {} has offset {}",
                    h.base_offset, r.offset
                ),
            );
        }
        if r.key != Some(want.key().as_slice()) {
            return bad(
                r.offset,
                format!(
                    "key {:?}, expected {want}",
                    r.key.map(String::from_utf8_lossy)
                ),
            );
        }
        let expected = want.value();
        if r.value != Some(expected.as_slice()) {
            let got = r.value.unwrap_or_default();
            let at = got
                .iter()
                .zip(&expected)
                .position(|(a, b)| a != b)
                .unwrap_or(got.len().min(expected.len()));
            return bad(
                r.offset,
                format!(
                    "value of {want}: {} bytes, expected {}, first difference at byte {at}",
                    got.len(),
                    expected.len()
                ),
            );
        }
    }
    Line::Batch(BatchRef {
        partition,
        base_offset: h.base_offset,
        count: recs.len() as u32,
        round: first.round,
        writer: first.writer,
        first_seq: first.seq,
    })
}
