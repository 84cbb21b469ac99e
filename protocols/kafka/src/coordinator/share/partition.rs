//! One share-partition: the delivery state of one (share group, topic, partition), as KIP-932 defines it.
//!
//! Records below the share-partition start offset (SPSO) are done. From the SPSO up to `end` (the next offset
//! never yet acquired; Kafka's share-partition end offset plus one) every offset has a state: AVAILABLE
//! (released or lock-expired, to be delivered again), ACQUIRED (locked to one member until a deadline),
//! ACKNOWLEDGED or ARCHIVED (rejected, gap, or out of delivery attempts). When the lowest offsets are terminal the
//! SPSO moves past them; only the SPSO is persisted (see `super::store`).
//!
//! The struct holds no log data: acquisition is handed the batch headers read from the log by the caller, so the
//! coordinator lock is never held across I/O.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::wire::Acquired;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordState {
    Available,
    Acquired,
    Acknowledged,
    Archived,
}

#[derive(Debug, Clone)]
struct InFlight {
    state: RecordState,
    delivery_count: i16,
    /// The member holding the acquisition lock (ACQUIRED only).
    owner: Option<String>,
    deadline: Option<Instant>,
}

/// Acknowledgement types (ShareFetch/ShareAcknowledge `AcknowledgeTypes`).
pub const ACK_GAP: i8 = 0;
pub const ACK_ACCEPT: i8 = 1;
pub const ACK_RELEASE: i8 = 2;
pub const ACK_REJECT: i8 = 3;
pub const ACK_RENEW: i8 = 4;

/// Why an acknowledgement was refused; the handlers map each to a Kafka error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    /// An offset that is not acquired by this member (never delivered, already acknowledged, lock expired, or
    /// held by another member): INVALID_RECORD_STATE.
    #[error("offset {0} is not acquired by this member")]
    NotAcquired(i64),
    /// Malformed batch (last < first, wrong number of types, unknown type): INVALID_REQUEST.
    #[error("{0}")]
    Malformed(String),
}

/// A stored batch's offsets, as read from the log.
#[derive(Debug, Clone, Copy)]
pub struct BatchSpan {
    pub base_offset: i64,
    pub last_offset: i64,
}

#[derive(Debug)]
pub struct SharePartition {
    spso: i64,
    end: i64,
    records: BTreeMap<i64, InFlight>,
    /// The SPSO last handed to the persister, so unchanged ones are not rewritten.
    persisted: i64,
}

impl SharePartition {
    pub fn new(start: i64) -> SharePartition {
        SharePartition {
            spso: start,
            end: start,
            records: BTreeMap::new(),
            persisted: start,
        }
    }

    pub fn start_offset(&self) -> i64 {
        self.spso
    }

    /// Where the next read for acquisition starts: the first AVAILABLE offset, else the first never acquired.
    pub fn next_fetch_offset(&self) -> i64 {
        self.records
            .iter()
            .find(|(_, r)| r.state == RecordState::Available)
            .map_or(self.end, |(o, _)| *o)
    }

    /// The offset new data must reach for a fetch to find something never delivered.
    pub fn end(&self) -> i64 {
        self.end
    }

    /// Moves the SPSO (AlterShareGroupOffsets, or the log start passing it), forgetting in-flight state.
    pub fn reset(&mut self, start: i64) {
        self.spso = start;
        self.end = start;
        self.records.clear();
    }

    /// Records removed from the log (retention, DeleteRecords) cannot be delivered: skip past them.
    pub fn clamp_to_log(&mut self, log_start: i64) {
        if self.spso < log_start {
            self.records = self.records.split_off(&log_start);
            self.spso = log_start;
            self.end = self.end.max(log_start);
        }
    }

    /// Expired acquisition locks make their records AVAILABLE again (or ARCHIVED once out of attempts).
    pub fn expire_locks(&mut self, now: Instant, max_attempts: i16) {
        let mut changed = false;
        for r in self.records.values_mut() {
            if r.state == RecordState::Acquired && r.deadline.is_some_and(|d| d <= now) {
                release(r, max_attempts);
                changed = true;
            }
        }
        if changed {
            self.advance();
        }
    }

    /// Acquires up to `max_records` offsets for `member` out of the batches read from `from`. New records are
    /// taken only while the in-flight window (SPSO to end) is below `max_in_flight` (Kafka's
    /// `group.share.partition.max.record.locks`), so one stuck record cannot make the window grow without bound.
    /// Returns the acquired ranges (sorted, non-overlapping, split where delivery counts differ) and which of the
    /// batches hold any of them.
    pub fn acquire(
        &mut self,
        member: &str,
        batches: &[BatchSpan],
        (max_records, max_in_flight): (usize, usize),
        lock: Duration,
        now: Instant,
    ) -> (Vec<Acquired>, Vec<usize>) {
        let mut ranges: Vec<Acquired> = Vec::new();
        let mut used = Vec::new();
        let mut taken = 0usize;
        let deadline = now + lock;
        'batches: for (i, b) in batches.iter().enumerate() {
            let mut any = false;
            for o in b.base_offset.max(self.spso)..=b.last_offset {
                if taken >= max_records {
                    if any {
                        used.push(i);
                    }
                    break 'batches;
                }
                let count = if o >= self.end {
                    if (o - self.spso) as usize >= max_in_flight {
                        if any {
                            used.push(i);
                        }
                        break 'batches;
                    }
                    // Offsets between `end` and this batch were removed from the log: nothing to deliver.
                    self.end = o + 1;
                    self.records.insert(
                        o,
                        InFlight {
                            state: RecordState::Acquired,
                            delivery_count: 1,
                            owner: Some(member.to_string()),
                            deadline: Some(deadline),
                        },
                    );
                    1
                } else {
                    match self.records.get_mut(&o) {
                        Some(r) if r.state == RecordState::Available => {
                            r.state = RecordState::Acquired;
                            r.delivery_count = r.delivery_count.saturating_add(1);
                            r.owner = Some(member.to_string());
                            r.deadline = Some(deadline);
                            r.delivery_count
                        }
                        _ => continue,
                    }
                };
                any = true;
                taken += 1;
                match ranges.last_mut() {
                    Some(l) if l.last_offset + 1 == o && l.delivery_count == count => {
                        l.last_offset = o
                    }
                    _ => ranges.push(Acquired {
                        first_offset: o,
                        last_offset: o,
                        delivery_count: count,
                    }),
                }
            }
            if any {
                used.push(i);
            }
        }
        // Offsets the log skipped (removed records) leave nothing in flight below the first acquired one.
        self.advance();
        (ranges, used)
    }

    /// Applies one acknowledgement batch from `member`, all or nothing.
    pub fn acknowledge(
        &mut self,
        member: &str,
        offsets: std::ops::RangeInclusive<i64>,
        types: &[i8],
        lock: Duration,
        max_attempts: i16,
        now: Instant,
    ) -> Result<(), AckError> {
        let (first, last) = (*offsets.start(), *offsets.end());
        if last < first {
            return Err(AckError::Malformed(format!(
                "last offset {last} is before first offset {first}"
            )));
        }
        let span = (last - first + 1) as u64;
        if types.is_empty() || (types.len() != 1 && types.len() as u64 != span) {
            return Err(AckError::Malformed(format!(
                "{} acknowledge types for {span} offsets",
                types.len()
            )));
        }
        if let Some(t) = types.iter().find(|t| !(ACK_GAP..=ACK_RENEW).contains(*t)) {
            return Err(AckError::Malformed(format!("unknown acknowledge type {t}")));
        }
        for o in first..=last {
            match self.records.get(&o) {
                Some(r)
                    if r.state == RecordState::Acquired
                        && r.owner.as_deref() == Some(member)
                        && r.deadline.is_none_or(|d| d > now) => {}
                _ => return Err(AckError::NotAcquired(o)),
            }
        }
        for (i, o) in (first..=last).enumerate() {
            let ty = if types.len() == 1 { types[0] } else { types[i] };
            let Some(r) = self.records.get_mut(&o) else {
                continue;
            };
            match ty {
                ACK_ACCEPT => finish(r, RecordState::Acknowledged),
                ACK_GAP | ACK_REJECT => finish(r, RecordState::Archived),
                ACK_RELEASE => release(r, max_attempts),
                _ => r.deadline = Some(now + lock), // RENEW: keep the lock longer
            }
        }
        self.advance();
        Ok(())
    }

    /// Releases every record `member` holds (its session closed, it left, or it forgot the partition).
    pub fn release_member(&mut self, member: &str, max_attempts: i16) {
        let mut changed = false;
        for r in self.records.values_mut() {
            if r.state == RecordState::Acquired && r.owner.as_deref() == Some(member) {
                release(r, max_attempts);
                changed = true;
            }
        }
        if changed {
            self.advance();
        }
    }

    /// The SPSO to persist, if it moved since the last call.
    pub fn take_dirty_start(&mut self) -> Option<i64> {
        (self.persisted != self.spso).then(|| {
            self.persisted = self.spso;
            self.spso
        })
    }

    pub fn state_of(&self, offset: i64) -> Option<RecordState> {
        if offset < self.spso {
            return Some(RecordState::Acknowledged);
        }
        self.records.get(&offset).map(|r| r.state)
    }

    pub fn delivery_count(&self, offset: i64) -> Option<i16> {
        self.records.get(&offset).map(|r| r.delivery_count)
    }

    /// Moves the SPSO past terminal records at the front of the in-flight window.
    fn advance(&mut self) {
        while let Some(entry) = self.records.first_entry() {
            if *entry.key() != self.spso
                || !matches!(
                    entry.get().state,
                    RecordState::Acknowledged | RecordState::Archived
                )
            {
                break;
            }
            entry.remove();
            self.spso += 1;
        }
        // Offsets the log skips (none in the map) between the SPSO and the first in-flight record.
        if let Some((&first, _)) = self.records.first_key_value() {
            if first > self.spso {
                self.spso = first;
                self.advance();
            }
        } else {
            self.spso = self.end;
        }
    }
}

fn finish(r: &mut InFlight, state: RecordState) {
    r.state = state;
    r.owner = None;
    r.deadline = None;
}

/// Back to AVAILABLE, unless the record has been delivered `max_attempts` times: then it is ARCHIVED.
fn release(r: &mut InFlight, max_attempts: i16) {
    let state = if r.delivery_count >= max_attempts {
        RecordState::Archived
    } else {
        RecordState::Available
    };
    finish(r, state);
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: Duration = Duration::from_secs(30);

    fn batches(spans: &[(i64, i64)]) -> Vec<BatchSpan> {
        spans
            .iter()
            .map(|&(base_offset, last_offset)| BatchSpan {
                base_offset,
                last_offset,
            })
            .collect()
    }

    #[test]
    fn acquire_accept_advances_start() {
        let now = Instant::now();
        let mut p = SharePartition::new(0);
        let (r, used) = p.acquire("a", &batches(&[(0, 4), (5, 9)]), (100, 2000), LOCK, now);
        assert_eq!(
            r,
            vec![Acquired {
                first_offset: 0,
                last_offset: 9,
                delivery_count: 1
            }]
        );
        assert_eq!(used, vec![0, 1]);
        // Another member gets nothing: everything is locked.
        let (r, _) = p.acquire("b", &batches(&[(0, 4), (5, 9)]), (100, 2000), LOCK, now);
        assert!(r.is_empty());
        p.acknowledge("a", 0..=4, &[ACK_ACCEPT], LOCK, 5, now)
            .expect("acked");
        assert_eq!(p.start_offset(), 5);
        assert_eq!(
            p.acknowledge("b", 5..=5, &[ACK_ACCEPT], LOCK, 5, now),
            Err(AckError::NotAcquired(5))
        );
        assert_eq!(
            p.acknowledge("a", 0..=0, &[ACK_ACCEPT], LOCK, 5, now),
            Err(AckError::NotAcquired(0))
        );
    }

    #[test]
    fn release_redelivers_then_archives_after_max_attempts() {
        let now = Instant::now();
        let mut p = SharePartition::new(0);
        let b = batches(&[(0, 0)]);
        for attempt in 1..=5 {
            let (r, _) = p.acquire("a", &b, (10, 2000), LOCK, now);
            assert_eq!(r[0].delivery_count, attempt);
            p.acknowledge("a", 0..=0, &[ACK_RELEASE], LOCK, 5, now)
                .expect("released");
        }
        assert_eq!(p.start_offset(), 1, "archived after 5 deliveries");
        let (r, _) = p.acquire("a", &b, (10, 2000), LOCK, now);
        assert!(r.is_empty());
    }

    #[test]
    fn lock_expiry_and_member_release() {
        let now = Instant::now();
        let mut p = SharePartition::new(0);
        p.acquire(
            "a",
            &batches(&[(0, 2)]),
            (2, 2000),
            Duration::from_millis(10),
            now,
        );
        assert_eq!(p.next_fetch_offset(), 2);
        p.expire_locks(now + Duration::from_millis(20), 5);
        assert_eq!(p.state_of(0), Some(RecordState::Available));
        assert_eq!(p.next_fetch_offset(), 0);
        let (r, _) = p.acquire("b", &batches(&[(0, 2)]), (10, 2000), LOCK, now);
        assert_eq!(
            r,
            vec![
                Acquired {
                    first_offset: 0,
                    last_offset: 1,
                    delivery_count: 2
                },
                Acquired {
                    first_offset: 2,
                    last_offset: 2,
                    delivery_count: 1
                }
            ]
        );
        p.release_member("b", 5);
        assert_eq!(p.next_fetch_offset(), 0);
    }

    #[test]
    fn in_flight_window_is_bounded() {
        let now = Instant::now();
        let mut p = SharePartition::new(0);
        let (r, _) = p.acquire("a", &batches(&[(0, 9)]), (100, 4), LOCK, now);
        assert_eq!(r[0].last_offset, 3, "only four records in flight");
        // Offset 0 stays held: nothing new until the window's front moves.
        p.acknowledge("a", 1..=3, &[ACK_ACCEPT], LOCK, 5, now)
            .expect("acked");
        let (r, _) = p.acquire("b", &batches(&[(0, 9)]), (100, 4), LOCK, now);
        assert!(r.is_empty());
        p.acknowledge("a", 0..=0, &[ACK_ACCEPT], LOCK, 5, now)
            .expect("acked");
        let (r, _) = p.acquire("b", &batches(&[(0, 9)]), (100, 4), LOCK, now);
        assert_eq!((r[0].first_offset, r[0].last_offset), (4, 7));
    }

    #[test]
    fn malformed_acks_change_nothing() {
        let now = Instant::now();
        let mut p = SharePartition::new(0);
        p.acquire("a", &batches(&[(0, 3)]), (10, 2000), LOCK, now);
        assert!(matches!(
            // A reversed batch (last before first), as a buggy client may send it.
            p.acknowledge(
                "a",
                std::ops::RangeInclusive::new(3, 1),
                &[ACK_ACCEPT],
                LOCK,
                5,
                now
            ),
            Err(AckError::Malformed(_))
        ));
        assert!(matches!(
            p.acknowledge("a", 0..=3, &[1, 1], LOCK, 5, now),
            Err(AckError::Malformed(_))
        ));
        assert!(matches!(
            p.acknowledge("a", 0..=0, &[9], LOCK, 5, now),
            Err(AckError::Malformed(_))
        ));
        // Partly not acquired: all or nothing.
        assert_eq!(
            p.acknowledge("a", 2..=4, &[ACK_ACCEPT], LOCK, 5, now),
            Err(AckError::NotAcquired(4))
        );
        assert_eq!(p.state_of(2), Some(RecordState::Acquired));
        p.acknowledge("a", 0..=3, &[1, 0, 3, 1], LOCK, 5, now)
            .expect("mixed types");
        assert_eq!(p.start_offset(), 4);
    }
}
