//! Property tests of the mapping: sequence numbers, routing and resharding lineage.

use std::collections::BTreeMap;

use proptest::prelude::*;
use strait_shard_map::{ReshardPlan, SequenceNumber, ShardMap};

fn big(s: &str) -> Vec<u8> {
    // Fixed-width decimal strings compare as big integers iff they compare as byte strings; check the width too.
    assert_eq!(s.len(), strait_shard_map::SEQUENCE_NUMBER_DIGITS);
    s.as_bytes().to_vec()
}

fn seq() -> impl Strategy<Value = SequenceNumber> {
    (any::<u32>(), any::<u32>(), 0..=i64::MAX).prop_map(|(incarnation, shard, offset)| {
        SequenceNumber {
            incarnation,
            shard,
            offset,
        }
    })
}

proptest! {
    #[test]
    fn sequence_numbers_round_trip(n in seq()) {
        let s = n.encode();
        prop_assert!(s.starts_with("49"));
        prop_assert!(s.bytes().all(|b| b.is_ascii_digit()));
        prop_assert_eq!(SequenceNumber::decode(&s), Ok(n));
    }

    #[test]
    fn sequence_numbers_order_like_offsets(a in seq(), b in seq()) {
        // Same shard and incarnation: strictly increasing with the offset, compared as big integers.
        let b_same = SequenceNumber { offset: b.offset, ..a };
        prop_assert_eq!(big(&a.encode()).cmp(&big(&b_same.encode())), a.offset.cmp(&b.offset));
        // In general, big-integer order is the tuple order.
        prop_assert_eq!(big(&a.encode()).cmp(&big(&b.encode())), a.cmp(&b));
    }
}

#[derive(Debug, Clone)]
enum Op {
    Split { pick: usize, at: u128 },
    Merge { pick: usize },
    Update { factor: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<usize>(), any::<u128>()).prop_map(|(pick, at)| Op::Split { pick, at }),
        any::<usize>().prop_map(|pick| Op::Merge { pick }),
        any::<u8>().prop_map(|factor| Op::Update { factor }),
    ]
}

/// Checks the invariants a reader of the lineage relies on.
fn check(m: &ShardMap) -> Result<(), TestCaseError> {
    let open: Vec<_> = m.open_shards().collect();
    prop_assert_eq!(open[0].hash_range.start, 0);
    prop_assert_eq!(open[open.len() - 1].hash_range.end, u128::MAX);
    for w in open.windows(2) {
        prop_assert_eq!(w[0].hash_range.end + 1, w[1].hash_range.start);
    }
    for s in m.shards() {
        let parents: Vec<_> = s.parents().map(|p| m.shards()[p as usize]).collect();
        prop_assert!(parents.len() <= 2);
        if !parents.is_empty() {
            let lo = parents
                .iter()
                .map(|p| p.hash_range.start)
                .min()
                .unwrap_or(0);
            let hi = parents.iter().map(|p| p.hash_range.end).max().unwrap_or(0);
            prop_assert!(lo <= s.hash_range.start && s.hash_range.end <= hi);
            prop_assert!(parents.iter().all(|p| p.closed.is_some()));
        }
    }
    Ok(())
}

fn apply(m: &mut ShardMap, plan: &ReshardPlan) {
    let offsets: BTreeMap<u32, i64> = plan.seal.iter().map(|&s| (s, i64::from(s))).collect();
    m.apply(plan, &offsets).expect("a valid plan applies");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn resharding_keeps_an_exact_partition(
        initial in 1u32..12,
        ops in proptest::collection::vec(op(), 1..12),
        keys in proptest::collection::vec(any::<u128>(), 16),
    ) {
        let mut m = ShardMap::new(initial, 0).expect("map");
        for (t, op) in ops.into_iter().enumerate() {
            let open: Vec<_> = m.open_shards().copied().collect();
            let plan = match op {
                Op::Split { pick, at } => {
                    let s = open[pick % open.len()];
                    let r = s.hash_range;
                    if r.end - r.start < 4 {
                        continue;
                    }
                    let key = r.start + 2 + at % (r.end - r.start - 2);
                    m.plan_split(s.index, key, t as i64)
                }
                Op::Merge { pick } => {
                    if open.len() < 2 {
                        continue;
                    }
                    let i = pick % (open.len() - 1);
                    m.plan_merge(open[i + 1].index, open[i].index, t as i64)
                }
                Op::Update { factor } => {
                    let n = open.len() as u32;
                    let target = (n / 2 + u32::from(factor) % (2 * n - n / 2 + 1)).clamp(n.div_ceil(2), 2 * n);
                    if target > 64 {
                        continue;
                    }
                    m.plan_update_shard_count(target, 500, t as i64)
                }
            };
            let plan = plan.expect("valid operation plans");
            let before = m.next_index();
            apply(&mut m, &plan);
            prop_assert_eq!(m.next_index(), before + plan.new_shards.len() as u32);
            check(&m)?;
            for &k in &keys {
                let s = m.route(k);
                let hits = m.open_shards().filter(|o| o.hash_range.contains(k)).count();
                prop_assert_eq!(hits, 1);
                prop_assert!(m.shard(s).expect("routed").hash_range.contains(k));
                prop_assert!(m.shard(s).expect("routed").is_open());
            }
        }
        // The lineage survives persistence.
        let json = serde_json::to_string(&m).expect("json");
        prop_assert_eq!(serde_json::from_str::<ShardMap>(&json).expect("back"), m);
    }

    #[test]
    fn update_shard_count_is_uniform(from in 1u32..40, pct in 50u32..=200) {
        let target = (from * pct / 100).clamp(from.div_ceil(2), 2 * from).max(1);
        let mut m = ShardMap::new(from, 0).expect("map");
        let plan = m.plan_update_shard_count(target, 10_000, 1).expect("plan");
        apply(&mut m, &plan);
        let open: Vec<_> = m.open_shards().map(|s| s.hash_range).collect();
        prop_assert_eq!(open, strait_shard_map::even_ranges(target));
        check(&m)?;
    }
}

/// Kafka keys biased towards the rule's edges: null, empty, ordinary text, text around 256 characters, keys
/// starting with (a piece of) the escape prefix, and arbitrary bytes.
fn kafka_key() -> impl Strategy<Value = Option<Vec<u8>>> {
    use strait_shard_map::partition_key::ESCAPE_PREFIX;
    prop_oneof![
        Just(None),
        Just(Some(Vec::new())),
        proptest::collection::vec(any::<u8>(), 0..400).prop_map(Some),
        "\\PC{1,300}".prop_map(|s| Some(s.into_bytes())),
        (250usize..=260).prop_map(|n| Some("é".repeat(n).into_bytes())),
        (
            "[~kafk:bnul64]{0,12}",
            proptest::collection::vec(any::<u8>(), 0..20)
        )
            .prop_map(|(p, rest)| {
                let mut k = p.into_bytes();
                k.extend(rest);
                Some(k)
            }),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(|rest| {
            let mut k = ESCAPE_PREFIX.as_bytes().to_vec();
            k.extend(rest);
            Some(k)
        }),
    ]
}

proptest! {
    #[test]
    fn partition_keys_decode_to_the_kafka_key(k in kafka_key()) {
        use strait_shard_map::{decode_partition_key, encode_kafka_key};
        let pk = encode_kafka_key(k.as_deref());
        prop_assert_eq!(decode_partition_key(&pk), Ok(k.clone()));
        // Identity exactly on ordinary keys.
        let ordinary = k.as_deref().and_then(strait_shard_map::partition_key::ordinary).is_some();
        prop_assert_eq!(ordinary, k.as_deref() == Some(pk.as_bytes()));
    }

    #[test]
    fn decodable_partition_keys_encode_back(s in "(~kafka:(b64:)?)?[A-Za-z0-9_~:-]{0,12}") {
        // Injectivity from the other side: whatever decodes is the unique encoding of its key.
        use strait_shard_map::{decode_partition_key, encode_kafka_key};
        if let Ok(k) = decode_partition_key(&s) {
            prop_assert_eq!(encode_kafka_key(k.as_deref()), s.as_str());
        }
    }
}
