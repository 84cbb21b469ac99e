//! The crash test's invariants, checked against the acks of every round so far and one `verify` dump.
//!
//! Each writer task appends one batch at a time and waits for it to be durable before building the next, so
//! after any number of crashes the log must hold, for every `(round, writer)`, the seqs `0..n` with no gap or
//! repeat, in offset order within each partition, with every acked batch at its acked offsets and at most one
//! batch that was never acked (the one in flight, or acked but killed before its ack line was printed).

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::report::{BatchRef, Line, complete_lines};

/// What one `verify` run printed.
#[derive(Debug, Default)]
pub struct Dump {
    pub open_ms: Option<u64>,
    pub no_topic: bool,
    /// partition → (log start, high watermark, log end)
    pub partitions: BTreeMap<u32, (i64, i64, i64)>,
    /// In the order printed, which is offset order within each partition.
    pub batches: Vec<BatchRef>,
    pub bad: Vec<String>,
    pub done: Option<(u64, u64)>,
}

impl Dump {
    /// Parses `verify` output; any line it does not understand is an error (the format is ours).
    pub fn parse(out: &str) -> Result<Dump, String> {
        let mut d = Dump::default();
        for raw in complete_lines(out) {
            match Line::parse(raw) {
                Some(Line::Open { millis }) => d.open_ms = Some(millis),
                Some(Line::NoTopic) => d.no_topic = true,
                Some(Line::Partition {
                    partition,
                    log_start,
                    high_watermark,
                    log_end,
                }) => {
                    d.partitions
                        .insert(partition, (log_start, high_watermark, log_end));
                }
                Some(Line::Batch(b)) => d.batches.push(b),
                Some(l @ Line::Bad { .. }) => d.bad.push(l.to_string()),
                Some(Line::Done { batches, records }) => d.done = Some((batches, records)),
                _ => return Err(format!("unexpected verify output line: {raw:?}")),
            }
        }
        Ok(d)
    }

    pub fn records(&self) -> u64 {
        self.batches.iter().map(|b| u64::from(b.count)).sum()
    }
}

/// Per-round figures for the test's log.
#[derive(Debug, Default, Clone, Copy)]
pub struct Figures {
    pub acked_records: u64,
    pub acked_batches: u64,
    pub disk_records: u64,
    pub disk_batches: u64,
    /// Batches on disk that no ack line names (at most one per writer task and round).
    pub unacked_batches: u64,
    /// Acked records not found intact at their acknowledged offsets.
    pub lost_records: u64,
}

/// Checks every invariant; returns the figures and every violation found (empty when all hold).
pub fn check(acks: &[BatchRef], dump: &Dump) -> (Figures, Vec<String>) {
    let mut errors: Vec<String> = dump.bad.clone();
    let fig = Figures {
        acked_records: acks.iter().map(|a| u64::from(a.count)).sum(),
        acked_batches: acks.len() as u64,
        disk_records: dump.records(),
        disk_batches: dump.batches.len() as u64,
        unacked_batches: 0,
        lost_records: 0,
    };
    match dump.done {
        None => errors.push("verify output has no `done` line: it stopped early".into()),
        Some((b, r)) if (b, r) != (fig.disk_batches, fig.disk_records) => errors.push(format!(
            "verify says {b} batches / {r} records but printed {} / {}",
            fig.disk_batches, fig.disk_records
        )),
        Some(_) => {}
    }
    if dump.no_topic && !acks.is_empty() {
        errors.push(format!(
            "topic is gone after recovery but {} batches were acked",
            acks.len()
        ));
    }
    check_offsets(dump, &mut errors);
    let (unacked_batches, lost_records) = check_acks(acks, dump, &mut errors);
    check_writers(acks, dump, &mut errors);
    (
        Figures {
            unacked_batches,
            lost_records,
            ..fig
        },
        errors,
    )
}

/// Offsets of each partition run densely from its log start to its high watermark, which equals its log end.
fn check_offsets(dump: &Dump, errors: &mut Vec<String>) {
    let mut next: HashMap<u32, i64> = dump
        .partitions
        .iter()
        .map(|(p, (start, _, _))| (*p, *start))
        .collect();
    for b in &dump.batches {
        let Some(n) = next.get_mut(&b.partition) else {
            errors.push(format!(
                "batch in partition {} which verify did not list: {b:?}",
                b.partition
            ));
            continue;
        };
        if b.base_offset != *n {
            errors.push(format!(
                "partition {}: expected offset {n}, found batch {b:?} (gap or duplicate)",
                b.partition
            ));
        }
        *n = b.last_offset() + 1;
    }
    for (p, (start, hw, end)) in &dump.partitions {
        let reached = next.get(p).copied().unwrap_or(*start);
        if reached != *hw {
            errors.push(format!(
                "partition {p}: batches end at offset {reached} but the high watermark is {hw}"
            ));
        }
        if hw != end {
            errors.push(format!("partition {p}: after recovery the high watermark {hw} differs from the log end {end}"));
        }
    }
}

/// Every ack names a batch that is on disk, unchanged, at its acknowledged offsets. Returns the number of batches
/// on disk that no ack names and the number of acked records not found intact.
fn check_acks(acks: &[BatchRef], dump: &Dump, errors: &mut Vec<String>) -> (u64, u64) {
    let on_disk: HashMap<(u32, i64), &BatchRef> = dump
        .batches
        .iter()
        .map(|b| ((b.partition, b.base_offset), b))
        .collect();
    let mut seen = HashSet::with_capacity(acks.len());
    let mut lost = 0;
    for a in acks {
        if !seen.insert((a.partition, a.base_offset)) {
            errors.push(format!("two acks for the same offsets: {a:?}"));
        }
        match on_disk.get(&(a.partition, a.base_offset)) {
            Some(d) if **d == *a => continue,
            None => errors.push(format!(
                "LOST acked batch {a:?}: nothing starts at that offset"
            )),
            Some(d) => errors.push(format!("LOST acked batch {a:?}: the batch there is {d:?}")),
        }
        lost += u64::from(a.count);
    }
    let unacked = dump
        .batches
        .iter()
        .filter(|b| !seen.contains(&(b.partition, b.base_offset)))
        .count() as u64;
    (unacked, lost)
}

/// Per writer task and round: seqs `0..n` exactly once, in offset order within each partition, and at most one
/// unacked batch, which must be the last.
fn check_writers(acks: &[BatchRef], dump: &Dump, errors: &mut Vec<String>) {
    let acked: HashSet<&BatchRef> = acks.iter().collect();
    let mut by_writer: BTreeMap<(u32, u32), Vec<&BatchRef>> = BTreeMap::new();
    for b in &dump.batches {
        by_writer.entry((b.round, b.writer)).or_default().push(b);
    }
    for ((round, writer), mut batches) in by_writer {
        batches.sort_by_key(|b| b.first_seq);
        let mut expected_seq = 0;
        let mut last_offset: HashMap<u32, i64> = HashMap::new();
        for b in &batches {
            if b.first_seq != expected_seq {
                errors.push(format!(
                    "round {round} writer {writer}: expected seq {expected_seq}, found {b:?}"
                ));
            }
            expected_seq = b.end_seq();
            if let Some(prev) = last_offset.insert(b.partition, b.base_offset)
                && prev >= b.base_offset
            {
                errors.push(format!("round {round} writer {writer}: {b:?} is stored before an earlier seq (offset {prev})"));
            }
        }
        let unacked: Vec<&&BatchRef> = batches.iter().filter(|b| !acked.contains(**b)).collect();
        if unacked.len() > 1
            || unacked
                .first()
                .is_some_and(|u| u.first_seq + u64::from(u.count) != expected_seq)
        {
            errors.push(format!("round {round} writer {writer}: unacked batches other than the last one in flight: {unacked:?}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(partition: u32, base_offset: i64, count: u32, writer: u32, first_seq: u64) -> BatchRef {
        BatchRef {
            partition,
            base_offset,
            count,
            round: 0,
            writer,
            first_seq,
        }
    }

    fn dump(batches: Vec<BatchRef>, hw: i64) -> Dump {
        let records = batches.iter().map(|b| u64::from(b.count)).sum();
        Dump {
            partitions: BTreeMap::from([(0, (0, hw, hw))]),
            done: Some((batches.len() as u64, records)),
            batches,
            ..Dump::default()
        }
    }

    #[test]
    fn healthy_log_passes_with_one_unacked_tail() {
        let acks = vec![b(0, 0, 2, 0, 0), b(0, 2, 3, 1, 0)];
        let d = dump(
            vec![b(0, 0, 2, 0, 0), b(0, 2, 3, 1, 0), b(0, 5, 1, 0, 2)],
            6,
        );
        let (fig, errors) = check(&acks, &d);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            (fig.acked_records, fig.disk_records, fig.unacked_batches),
            (5, 6, 1)
        );
    }

    #[test]
    fn lost_gapped_and_reordered_data_is_reported() {
        let acks = vec![b(0, 0, 2, 0, 0), b(0, 2, 1, 0, 2)];
        let (fig, errors) = check(&acks, &dump(vec![b(0, 0, 2, 0, 0)], 2));
        assert!(errors.iter().any(|e| e.starts_with("LOST")), "{errors:?}");
        assert_eq!(fig.lost_records, 1);
        let (_, errors) = check(&[], &dump(vec![b(0, 0, 2, 0, 0), b(0, 3, 1, 0, 2)], 4));
        assert!(
            errors.iter().any(|e| e.contains("gap or duplicate")),
            "{errors:?}"
        );
        let (_, errors) = check(&[], &dump(vec![b(0, 0, 1, 0, 1), b(0, 1, 1, 0, 0)], 2));
        assert!(
            errors.iter().any(|e| e.contains("earlier seq")),
            "{errors:?}"
        );
        let (_, errors) = check(&[], &dump(vec![b(0, 0, 1, 0, 0), b(0, 1, 1, 0, 1)], 2));
        assert!(
            errors.iter().any(|e| e.contains("unacked batches")),
            "{errors:?}"
        );
    }
}
