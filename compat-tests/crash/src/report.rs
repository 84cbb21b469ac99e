//! The line protocol between `crash-writer` and the test: one space-separated line per fact.
//!
//! The writer prints `ack` lines; `verify` prints the other kinds. Both sides use these types, so the format has
//! one definition. Lines are plain text so a failing run can be read (and grepped) by a person.

use std::fmt;
use std::str::FromStr;

/// A run of consecutive records of one writer task stored as one batch: what an ack names and what `verify`
/// finds on disk (every append is exactly one batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BatchRef {
    pub partition: u32,
    pub base_offset: i64,
    pub count: u32,
    pub round: u32,
    pub writer: u32,
    pub first_seq: u64,
}

impl BatchRef {
    pub fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.count) - 1
    }
    pub fn end_seq(&self) -> u64 {
        self.first_seq + u64::from(self.count)
    }
    fn fields(&self) -> String {
        let b = self;
        format!(
            "{} {} {} {} {} {}",
            b.partition, b.base_offset, b.count, b.round, b.writer, b.first_seq
        )
    }
}

/// One line of output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// Writer: the engine is open and the topic exists.
    Ready,
    /// Writer: this batch was appended and `append()` returned Ok (so it is durable).
    Ack(BatchRef),
    /// Verify: how long `Engine::open` (the crash recovery) took.
    Open { millis: u64 },
    /// Verify: the topic does not exist (the writer was killed before creating it).
    NoTopic,
    /// Verify: a partition's offsets after recovery.
    Partition {
        partition: u32,
        log_start: i64,
        high_watermark: i64,
        log_end: i64,
    },
    /// Verify: a batch whose records all decoded, with byte-exact values and dense offsets and seqs.
    Batch(BatchRef),
    /// Verify: anything that is not a well-formed batch of this harness.
    Bad {
        partition: u32,
        offset: i64,
        reason: String,
    },
    /// Verify: the last line, so a cut-off dump is not mistaken for a complete one.
    Done { batches: u64, records: u64 },
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Line::Ready => write!(f, "ready"),
            Line::Ack(b) => write!(f, "ack {}", b.fields()),
            Line::Open { millis } => write!(f, "open {millis}"),
            Line::NoTopic => write!(f, "no-topic"),
            Line::Partition {
                partition,
                log_start,
                high_watermark,
                log_end,
            } => {
                write!(
                    f,
                    "partition {partition} {log_start} {high_watermark} {log_end}"
                )
            }
            Line::Batch(b) => write!(f, "batch {}", b.fields()),
            // The reason goes last so it may contain spaces.
            Line::Bad {
                partition,
                offset,
                reason,
            } => write!(f, "bad {partition} {offset} {reason}"),
            Line::Done { batches, records } => write!(f, "done {batches} {records}"),
        }
    }
}

fn num<T: FromStr>(it: &mut std::str::SplitWhitespace<'_>) -> Option<T> {
    it.next()?.parse().ok()
}

fn batch_ref(it: &mut std::str::SplitWhitespace<'_>) -> Option<BatchRef> {
    Some(BatchRef {
        partition: num(it)?,
        base_offset: num(it)?,
        count: num(it)?,
        round: num(it)?,
        writer: num(it)?,
        first_seq: num(it)?,
    })
}

impl Line {
    /// Parses one line (without its newline); `None` for anything malformed.
    pub fn parse(s: &str) -> Option<Line> {
        let mut it = s.split_whitespace();
        let line = match it.next()? {
            "ready" => Line::Ready,
            "ack" => Line::Ack(batch_ref(&mut it)?),
            "open" => Line::Open {
                millis: num(&mut it)?,
            },
            "no-topic" => Line::NoTopic,
            "partition" => Line::Partition {
                partition: num(&mut it)?,
                log_start: num(&mut it)?,
                high_watermark: num(&mut it)?,
                log_end: num(&mut it)?,
            },
            "batch" => Line::Batch(batch_ref(&mut it)?),
            "bad" => {
                let partition = num(&mut it)?;
                let offset = num(&mut it)?;
                let reason = it.collect::<Vec<_>>().join(" ");
                return Some(Line::Bad {
                    partition,
                    offset,
                    reason,
                });
            }
            "done" => Line::Done {
                batches: num(&mut it)?,
                records: num(&mut it)?,
            },
            _ => return None,
        };
        it.next().is_none().then_some(line)
    }
}

/// Splits output into complete lines: text after the last newline is a line the process was killed while
/// printing, so it is not a statement of anything.
pub fn complete_lines(out: &str) -> impl Iterator<Item = &str> {
    let end = out.rfind('\n').map_or(0, |i| i + 1);
    out[..end].lines()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        let b = BatchRef {
            partition: 2,
            base_offset: 40,
            count: 3,
            round: 1,
            writer: 4,
            first_seq: 17,
        };
        let all = [
            Line::Ready,
            Line::Ack(b),
            Line::Open { millis: 12 },
            Line::NoTopic,
            Line::Partition {
                partition: 1,
                log_start: 0,
                high_watermark: 9,
                log_end: 9,
            },
            Line::Batch(b),
            Line::Bad {
                partition: 0,
                offset: 5,
                reason: "value differs at byte 3".into(),
            },
            Line::Done {
                batches: 3,
                records: 9,
            },
        ];
        for l in all {
            assert_eq!(Line::parse(&l.to_string()), Some(l));
        }
        assert_eq!(Line::parse("ack 1 2 3"), None);
        assert_eq!(Line::parse("ack 1 2 3 4 5 6 7"), None);
    }

    #[test]
    fn partial_last_line_is_dropped() {
        let out = "ack 0 0 1 0 0 0\nack 0 1 1 0";
        assert_eq!(
            complete_lines(out).collect::<Vec<_>>(),
            vec!["ack 0 0 1 0 0 0"]
        );
        assert_eq!(complete_lines("ack 0 1").count(), 0);
    }
}
