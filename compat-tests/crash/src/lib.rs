//! Crash test harness: a writer that is killed with SIGKILL mid-stream, and the checks that prove every
//! acknowledged record survived recovery.
//!
//! Until the Kafka front end exists, the `crash-writer` binary drives the engine directly (`write` appends and
//! prints one `ack` line per durable append; `verify` recovers the data directory and dumps what is on disk).
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
