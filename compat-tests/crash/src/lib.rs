//! Crash test harness: a writer that is killed with SIGKILL mid-stream, and the checks that prove every
//! acknowledged record survived recovery.
//!
//! The `crash-writer` binary drives the engine directly, below the front ends, so a failure points at the storage
//! engine alone (`write` appends and prints one `ack` line per durable append; `verify` recovers the data directory
//! and dumps what is on disk). The same property through a real Kafka client is
//! `compat-tests/kafka/test_crash_kill9.py`.
//! `tests/kill9.rs` runs rounds of write, kill -9, optional on-disk damage and verify.
//!
//! Module map:
//! - [`payload`]: record keys `(round, writer, seq)` and the values derived from them.
//! - [`report`]: the text lines exchanged between the binary and the test.
//! - [`check`]: the invariants checked after every round.
//! - [`damage`]: what the test does to segment and index files between a kill and recovery.

pub mod check;
pub mod damage;
pub mod payload;
pub mod report;

/// The topic the writer creates and `verify` reads.
pub const TOPIC: &str = "crash";
