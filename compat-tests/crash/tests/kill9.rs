//! kill -9 crash test: rounds of write, SIGKILL, optional damage to the files, recovery and verification, all in
//! one data directory, so every round also recovers what earlier rounds left.
//!
//! Environment: `STRAIT_CRASH_ROUNDS` (default 20), `STRAIT_CRASH_SEED` (default: from the clock; printed, so a
//! failing run can be replayed).

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::say;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use strait_crash_test::check::{Dump, check};
use strait_crash_test::damage::{self, Damage};
use strait_crash_test::report::{BatchRef, Line, complete_lines};

/// How long one `verify` may take before the test calls it a hang.
const VERIFY_LIMIT: Duration = Duration::from_secs(120);

fn env_or<T: std::str::FromStr>(name: &str, default: impl FnOnce() -> T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a valid value")),
        Err(_) => default(),
    }
}

/// Every third round damages the files after the kill, cycling through all kinds of damage.
fn damage_for(round: u32) -> Option<Damage> {
    (round % 3 == 2).then(|| Damage::ALL[(round as usize / 3) % Damage::ALL.len()])
}

#[test]
fn no_acknowledged_record_is_lost_across_kill9() {
    let rounds: u32 = env_or("STRAIT_CRASH_ROUNDS", || 20);
    let seed: u64 = env_or("STRAIT_CRASH_SEED", || {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        now.map_or(0, |d| d.as_nanos() as u64)
    });
    say(&format!(
        "crash test: {rounds} rounds, seed {seed} (replay with STRAIT_CRASH_SEED={seed})"
    ));
    let dir = tempfile::Builder::new()
        .prefix("strait-crash-")
        .tempdir()
        .expect("temp dir");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut acks: Vec<BatchRef> = Vec::new();
    let mut damaged_rounds = 0;
    for round in 0..rounds {
        let run_for = Duration::from_millis(rng.random_range(150..=1200));
        let run = common::write_then_kill(dir.path(), round, seed, run_for);
        let new_acks = parse_acks(&run.stdout, round);
        let round_records: u64 = new_acks.iter().map(|a| u64::from(a.count)).sum();
        acks.extend(new_acks.iter().copied());
        let damage = damage_for(round);
        if let Some(d) = damage {
            damaged_rounds += 1;
            let changes = damage::apply(d, dir.path(), &acked_end(&acks), &mut rng)
                .expect("damage the files");
            say(&format!(
                "  round {round}: damage {}: {}",
                d.name(),
                changes.join("; ")
            ));
        }
        let v = common::verify(dir.path(), VERIFY_LIMIT);
        let dump = Dump::parse(&v.stdout).unwrap_or_else(|e| panic!("round {round}: {e}"));
        let (fig, errors) = check(&acks, &dump);
        say(&format!(
            "round {round:>2}: writer ran {} ms (ready after {}), acked {} records in {} batches; on disk {} records \
             in {} batches (of which {} never acked); recovery: engine open {} ms, verify {} ms{}",
            run_for.as_millis(),
            run.ready_after
                .map_or("never".into(), |d| format!("{} ms", d.as_millis())),
            round_records,
            new_acks.len(),
            fig.disk_records,
            fig.disk_batches,
            fig.unacked_batches,
            dump.open_ms.map_or("?".into(), |m| m.to_string()),
            v.elapsed.as_millis(),
            damage.map_or(String::new(), |d| format!(", after {}", d.name())),
        ));
        if damage.is_some() {
            show_engine_warnings(&v.stderr);
        }
        if !errors.is_empty() {
            let kept = dir.keep();
            panic!(
                "round {round} (seed {seed}): {} violations, {} acked records lost; data kept in {}\n{}\nwriter \
                 stderr:\n{}\nverify stderr:\n{}",
                errors.len(),
                fig.lost_records,
                kept.display(),
                errors
                    .iter()
                    .take(30)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n"),
                run.stderr,
                v.stderr,
            );
        }
    }
    let total: u64 = acks.iter().map(|a| u64::from(a.count)).sum();
    assert!(
        total > 0,
        "no append was ever acknowledged: the test proved nothing"
    );
    say(&format!(
        "crash test: {rounds} rounds ({damaged_rounds} with damaged files), {total} acknowledged records, 0 lost \
         (seed {seed})"
    ));
}

/// Shows what recovery logged about the damage (what it cut or rebuilt), briefly.
fn show_engine_warnings(stderr: &str) {
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .collect();
    for l in warnings.iter().take(3) {
        // Drops the timestamp; keeps the level, target, message and fields.
        let l = l.split_once(' ').map_or(*l, |(_, rest)| rest.trim_start());
        say(&format!("    engine: {l}"));
    }
    if warnings.len() > 3 {
        say(&format!(
            "    engine: ... {} more warnings",
            warnings.len() - 3
        ));
    }
}

/// The ack lines of one writer run; only complete lines count.
fn parse_acks(stdout: &str, round: u32) -> Vec<BatchRef> {
    let mut acks = Vec::new();
    for raw in complete_lines(stdout) {
        match Line::parse(raw) {
            Some(Line::Ack(a)) => {
                assert_eq!(a.round, round, "ack from another round: {raw}");
                acks.push(a);
            }
            Some(Line::Ready) => {}
            _ => panic!("round {round}: unexpected writer output line {raw:?}"),
        }
    }
    acks
}

/// Per partition, the offset after the last acked record: damage must leave everything below it alone.
fn acked_end(acks: &[BatchRef]) -> HashMap<u32, i64> {
    let mut end = HashMap::new();
    for a in acks {
        let e = end.entry(a.partition).or_insert(0);
        *e = (*e).max(a.last_offset() + 1);
    }
    end
}
