//! AWS's per-shard throughput limits, enforced only when configured (`enforce_limits`), so applications can test
//! their handling of ProvisionedThroughputExceededException against Strait.
//!
//! Per shard: writes 1 MiB/s and 1,000 records/s; reads 5 GetRecords calls/s and 2 MiB/s. Counted in one-second
//! windows, which is how AWS's documentation states them (AWS itself smooths over slightly longer periods).

use std::collections::HashMap;
use std::sync::Mutex;

pub const WRITE_BYTES_PER_SEC: u64 = 1024 * 1024;
pub const WRITE_RECORDS_PER_SEC: u64 = 1000;
pub const READ_CALLS_PER_SEC: u64 = 5;
pub const READ_BYTES_PER_SEC: u64 = 2 * 1024 * 1024;

#[derive(Debug, Default, Clone, Copy)]
struct Window {
    second: i64,
    write_bytes: u64,
    write_records: u64,
    read_calls: u64,
    read_bytes: u64,
}

impl Window {
    fn at(&mut self, now_ms: i64) -> &mut Window {
        let second = now_ms.div_euclid(1000);
        if self.second != second {
            // Read bytes carry over: a 10 MiB GetRecords uses up the next seconds' budget too, as on AWS.
            let carried = self
                .read_bytes
                .saturating_sub(READ_BYTES_PER_SEC * (second - self.second).max(0) as u64);
            *self = Window {
                second,
                read_bytes: carried,
                ..Window::default()
            };
        }
        self
    }
}

/// Shard key: (stream name, incarnation, shard index).
type Key = (String, u32, u32);

pub(crate) struct Limits {
    enabled: bool,
    windows: Mutex<HashMap<Key, Window>>,
}

impl Limits {
    pub(crate) fn new(enabled: bool) -> Limits {
        Limits {
            enabled,
            windows: Mutex::new(HashMap::new()),
        }
    }

    fn with<T>(&self, key: Key, now_ms: i64, f: impl FnOnce(&mut Window) -> T) -> T {
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        f(w.entry(key).or_default().at(now_ms))
    }

    /// Admits a write of `records` records totalling `bytes` to a shard, or refuses it without counting it.
    pub(crate) fn admit_write(&self, key: Key, records: u64, bytes: u64, now_ms: i64) -> bool {
        if !self.enabled {
            return true;
        }
        self.with(key, now_ms, |w| {
            if w.write_records + records > WRITE_RECORDS_PER_SEC
                || w.write_bytes + bytes > WRITE_BYTES_PER_SEC
            {
                return false;
            }
            w.write_records += records;
            w.write_bytes += bytes;
            true
        })
    }

    /// Admits one GetRecords call on a shard.
    pub(crate) fn admit_read(&self, key: Key, now_ms: i64) -> bool {
        if !self.enabled {
            return true;
        }
        self.with(key, now_ms, |w| {
            if w.read_calls >= READ_CALLS_PER_SEC || w.read_bytes >= READ_BYTES_PER_SEC {
                return false;
            }
            w.read_calls += 1;
            true
        })
    }

    /// Counts bytes returned by a GetRecords call.
    pub(crate) fn count_read_bytes(&self, key: Key, bytes: u64, now_ms: i64) {
        if self.enabled {
            self.with(key, now_ms, |w| w.read_bytes += bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        ("s".into(), 1, 0)
    }

    #[test]
    fn disabled_admits_everything() {
        let l = Limits::new(false);
        assert!(l.admit_write(key(), 1_000_000, u64::MAX / 2, 0));
        assert!((0..100).all(|_| l.admit_read(key(), 0)));
    }

    #[test]
    fn per_second_windows() {
        let l = Limits::new(true);
        assert!(l.admit_write(key(), 1000, 10, 0));
        assert!(!l.admit_write(key(), 1, 10, 999));
        assert!(l.admit_write(key(), 1, 10, 1000));
        assert!((0..5).all(|_| l.admit_read(key(), 5000)));
        assert!(!l.admit_read(key(), 5500));
        assert!(l.admit_read(key(), 6000));
        l.count_read_bytes(key(), 10 * 1024 * 1024, 6000);
        assert!(!l.admit_read(key(), 7000));
        assert!(l.admit_read(key(), 11_000));
    }
}
