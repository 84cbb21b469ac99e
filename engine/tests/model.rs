//! Property test: random appends, segment rolls, suffix truncations, simulated crashes with torn writes and
//! clean restarts; after every reopen the log equals the acknowledged prefix the model expects.

mod common;

use common::*;
use proptest::prelude::*;
use strait_engine::{AppendOptions, Engine};

#[derive(Debug, Clone)]
enum Op {
    Append { records: usize },
    Truncate { keep_batches_back: usize },
    CrashWithTornWrite { garbage: Vec<u8> },
    CleanRestart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1usize..12).prop_map(|records| Op::Append { records }),
        1 => (0usize..4).prop_map(|keep_batches_back| Op::Truncate { keep_batches_back }),
        1 => proptest::collection::vec(any::<u8>(), 0..300).prop_map(|garbage| Op::CrashWithTornWrite { garbage }),
        1 => Just(Op::CleanRestart),
    ]
}

async fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut e = Engine::open(config(dir.path())).await.expect("open");
    e.create_topic("m", 1, overrides(&[("segment.bytes", "1500")]))
        .await
        .expect("create");
    // model: acknowledged batches as (first offset, values)
    let mut model: Vec<(i64, Vec<String>)> = Vec::new();
    let mut next = 0i64;
    let mut serial = 0usize;
    for op in ops {
        match op {
            Op::Append { records } => {
                let tag = format!("s{serial}");
                serial += 1;
                let p = e.partition("m", 0).expect("p");
                let info = p
                    .append(
                        batch(&tag, records, serial as i64).into(),
                        AppendOptions::default(),
                    )
                    .await
                    .expect("append");
                assert_eq!(info.base_offset, next);
                model.push((next, (0..records).map(|i| format!("{tag}-{i}")).collect()));
                next += records as i64;
            }
            Op::Truncate { keep_batches_back } => {
                if keep_batches_back >= model.len() {
                    continue;
                }
                let keep = model.len() - keep_batches_back;
                model.truncate(keep);
                let last = model.last().map_or(-1, |(o, v)| o + v.len() as i64 - 1);
                e.partition("m", 0)
                    .expect("p")
                    .truncate_after(last)
                    .await
                    .expect("truncate");
                next = last + 1;
            }
            Op::CrashWithTornWrite { garbage } => {
                crash(e).await;
                if let Some(active) = segment_files(dir.path(), "m", 0, "log").pop() {
                    use std::io::Write;
                    let mut f = std::fs::OpenOptions::new()
                        .append(true)
                        .open(&active)
                        .expect("open");
                    f.write_all(&garbage).expect("torn write");
                }
                e = Engine::open(config(dir.path()))
                    .await
                    .expect("reopen after crash");
            }
            Op::CleanRestart => {
                e.shutdown().await.expect("shutdown");
                drop(e);
                e = Engine::open(config(dir.path())).await.expect("reopen");
            }
        }
        let p = e.partition("m", 0).expect("p");
        let got = read_all(&p).await;
        let want: Vec<(i64, String)> = model
            .iter()
            .flat_map(|(o, vs)| {
                vs.iter()
                    .enumerate()
                    .map(move |(i, v)| (o + i as i64, v.clone()))
            })
            .collect();
        assert_eq!(got, want);
        assert_eq!(p.offsets().log_end, next);
    }
    e.shutdown().await.expect("shutdown");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn reopened_log_equals_acknowledged_prefix(ops in proptest::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(run(ops));
    }
}
