//! Damage the test does to a data directory after a kill, before recovery: what a crash, a torn write or a lost
//! index file can leave behind. None of it touches acknowledged bytes — those were fsynced, so no crash may
//! take them — only what lies after them in the active segment, and the index files, which the engine must treat
//! as disposable hints.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use rand::Rng;
use strait_engine::batch::{BatchIter, set_base_offset};

use crate::TOPIC;

/// One kind of damage, applied to every partition of the topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// Random bytes after the last batch of the active segment (a write that was cut before its data landed).
    GarbageTail,
    /// A byte copy of the last batch appended after it: CRC-valid, but at an offset that does not follow on.
    DuplicateTail,
    /// An unacked last batch cut in half, or, if the last batch was acked, half of a next batch appended.
    TornTail,
    /// Every `.index` / `.timeindex` file overwritten with random bytes.
    IndexGarbage,
    /// Every `.index` / `.timeindex` file deleted.
    IndexDelete,
    /// Every offset-index entry but the first moved one byte on: well-formed, but pointing inside batches.
    IndexSkew,
}

impl Damage {
    pub const ALL: [Damage; 6] = [
        Damage::GarbageTail,
        Damage::DuplicateTail,
        Damage::TornTail,
        Damage::IndexGarbage,
        Damage::IndexDelete,
        Damage::IndexSkew,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Damage::GarbageTail => "garbage-tail",
            Damage::DuplicateTail => "duplicate-tail",
            Damage::TornTail => "torn-tail",
            Damage::IndexGarbage => "index-garbage",
            Damage::IndexDelete => "index-delete",
            Damage::IndexSkew => "index-skew",
        }
    }
}

/// Applies `damage` to every partition directory of the topic. `acked_end` maps a partition to the offset after
/// its last acked record, so that no acked batch is cut. Returns one line per change made.
pub fn apply(
    damage: Damage,
    data_dir: &Path,
    acked_end: &HashMap<u32, i64>,
    rng: &mut impl Rng,
) -> std::io::Result<Vec<String>> {
    let mut done = Vec::new();
    for (p, dir) in partition_dirs(data_dir)? {
        let acked = acked_end.get(&p).copied().unwrap_or(0);
        match damage {
            Damage::GarbageTail => {
                let mut junk = vec![0u8; rng.random_range(1..=4096)];
                rng.fill_bytes(&mut junk);
                if let Some(seg) = files(&dir, ".log")?.pop() {
                    append(&seg, &junk)?;
                    done.push(format!(
                        "p{p}: appended {} random bytes to {}",
                        junk.len(),
                        name(&seg)
                    ));
                }
            }
            Damage::DuplicateTail | Damage::TornTail => {
                done.extend(damage_tail(damage, p, &dir, acked)?)
            }
            Damage::IndexGarbage | Damage::IndexDelete | Damage::IndexSkew => {
                let mut idx = files(&dir, ".index")?;
                if damage != Damage::IndexSkew {
                    idx.extend(files(&dir, ".timeindex")?);
                }
                for f in &idx {
                    damage_index(damage, f, rng)?;
                }
                let what = match damage {
                    Damage::IndexGarbage => "overwrote with random bytes",
                    Damage::IndexDelete => "deleted",
                    _ => "moved all but the first entry by one byte in",
                };
                done.push(format!("p{p}: {what} {} index files", idx.len()));
            }
        }
    }
    Ok(done)
}

fn damage_tail(
    damage: Damage,
    p: u32,
    dir: &Path,
    acked_end: i64,
) -> std::io::Result<Option<String>> {
    let Some(seg) = files(dir, ".log")?.pop() else {
        return Ok(None);
    };
    let bytes = std::fs::read(&seg)?;
    let Some((base, next, range)) = BatchIter::new(&bytes)
        .map_while(Result::ok)
        .last()
        .map(|(h, r)| (h.base_offset, h.last_offset() + 1, r))
    else {
        return Ok(Some(format!(
            "p{p}: active segment {} holds no batch; left alone",
            name(&seg)
        )));
    };
    let last = &bytes[range.clone()];
    Ok(Some(match damage {
        Damage::DuplicateTail => {
            append(&seg, last)?;
            format!(
                "p{p}: appended a copy of batch {base} ({} bytes) to {}",
                last.len(),
                name(&seg)
            )
        }
        _ if base >= acked_end => {
            let cut = range.start + last.len() / 2;
            OpenOptions::new()
                .write(true)
                .open(&seg)?
                .set_len(cut as u64)?;
            format!(
                "p{p}: cut unacked batch {base} in half ({} of {} bytes kept)",
                cut - range.start,
                last.len()
            )
        }
        _ => {
            let mut half = last[..last.len() / 2].to_vec();
            set_base_offset(&mut half, next);
            append(&seg, &half)?;
            format!("p{p}: last batch {base} is acked; appended half of a batch at offset {next}")
        }
    }))
}

fn damage_index(damage: Damage, f: &Path, rng: &mut impl Rng) -> std::io::Result<()> {
    match damage {
        Damage::IndexDelete => std::fs::remove_file(f),
        Damage::IndexGarbage => {
            let mut junk = vec![0u8; std::fs::metadata(f)?.len().max(64) as usize];
            rng.fill_bytes(&mut junk);
            std::fs::write(f, &junk)
        }
        _ => {
            // Entries are (relative offset u32, position u32), big-endian; the first must stay (0, 0) for the
            // file to look valid, so every later position moves by one byte.
            let mut idx = std::fs::read(f)?;
            for e in idx.chunks_exact_mut(8).skip(1) {
                let pos = u32::from_be_bytes([e[4], e[5], e[6], e[7]]) + 1;
                e[4..8].copy_from_slice(&pos.to_be_bytes());
            }
            std::fs::write(f, &idx)
        }
    }
}

/// `(partition, directory)` for each partition of the topic, from `<data>/logs/<topic>-<p>`.
fn partition_dirs(data_dir: &Path) -> std::io::Result<Vec<(u32, PathBuf)>> {
    let prefix = format!("{TOPIC}-");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(data_dir.join("logs"))? {
        let path = entry?.path();
        let p = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|n| n.parse().ok());
        if let Some(p) = p
            && path.is_dir()
        {
            out.push((p, path));
        }
    }
    out.sort();
    Ok(out)
}

/// Files in `dir` ending in `suffix`, in name order; segment names are zero-padded offsets, so the last `.log` is
/// the active segment.
fn files(dir: &Path, suffix: &str) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(suffix))
        {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

fn append(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    OpenOptions::new().append(true).open(path)?.write_all(bytes)
}

fn name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
