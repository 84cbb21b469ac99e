//! Server-side assignors (KIP-848): `uniform` (balanced and sticky: partitions stay with their current owner
//! while that keeps the member within its fair share) and `range` (per topic, consecutive ranges in member order,
//! as the classic range assignor). Members subscribed to different topics are handled by both: a partition only
//! goes to a member subscribed to its topic.

use std::collections::{BTreeMap, BTreeSet};

/// topic id → partitions.
pub type Assignment = BTreeMap<uuid::Uuid, BTreeSet<i32>>;

pub const UNIFORM: &str = "uniform";
pub const RANGE: &str = "range";

pub fn known(name: &str) -> bool {
    name == UNIFORM || name == RANGE
}

/// One member's input: the topics (by id) it is subscribed to.
pub struct MemberSpec<'a> {
    pub id: &'a str,
    pub topics: BTreeSet<uuid::Uuid>,
}

/// Assigns every partition of `topics` (id → partition count) that some member subscribes to.
pub fn assign(
    assignor: &str,
    members: &[MemberSpec<'_>],
    topics: &BTreeMap<uuid::Uuid, u32>,
    previous: &BTreeMap<String, Assignment>,
) -> BTreeMap<String, Assignment> {
    let mut out: BTreeMap<String, Assignment> = members
        .iter()
        .map(|m| (m.id.to_string(), Assignment::new()))
        .collect();
    if assignor == RANGE {
        for (topic, &n) in topics {
            let subs: Vec<&str> = members
                .iter()
                .filter(|m| m.topics.contains(topic))
                .map(|m| m.id)
                .collect();
            if subs.is_empty() {
                continue;
            }
            let per = n as usize / subs.len();
            let extra = n as usize % subs.len();
            let mut next = 0i32;
            for (i, m) in subs.iter().enumerate() {
                let count = per + usize::from(i < extra);
                let parts = out
                    .entry(m.to_string())
                    .or_default()
                    .entry(*topic)
                    .or_default();
                for _ in 0..count {
                    parts.insert(next);
                    next += 1;
                }
            }
        }
        return prune(out);
    }
    // Uniform: a fair share per member, current owners kept first, the rest to the least loaded subscriber.
    let total: usize = topics
        .iter()
        .filter(|(t, _)| members.iter().any(|m| m.topics.contains(t)))
        .map(|(_, n)| *n as usize)
        .sum();
    let share = if members.is_empty() {
        0
    } else {
        total.div_ceil(members.len())
    };
    let mut load: BTreeMap<&str, usize> = members.iter().map(|m| (m.id, 0)).collect();
    let mut unassigned = Vec::new();
    for (topic, &n) in topics {
        for p in 0..n as i32 {
            let owner = members.iter().find(|m| {
                m.topics.contains(topic)
                    && previous
                        .get(m.id)
                        .and_then(|a| a.get(topic))
                        .is_some_and(|s| s.contains(&p))
            });
            match owner {
                Some(m) if load[m.id] < share => {
                    *load.get_mut(m.id).expect("member") += 1;
                    out.entry(m.id.to_string())
                        .or_default()
                        .entry(*topic)
                        .or_default()
                        .insert(p);
                }
                _ => unassigned.push((*topic, p)),
            }
        }
    }
    for (topic, p) in unassigned {
        let best = members
            .iter()
            .filter(|m| m.topics.contains(&topic))
            .min_by_key(|m| (load[m.id], m.id));
        if let Some(m) = best {
            *load.get_mut(m.id).expect("member") += 1;
            out.entry(m.id.to_string())
                .or_default()
                .entry(topic)
                .or_default()
                .insert(p);
        }
    }
    prune(out)
}

fn prune(mut out: BTreeMap<String, Assignment>) -> BTreeMap<String, Assignment> {
    for a in out.values_mut() {
        a.retain(|_, ps| !ps.is_empty());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(n: u128) -> uuid::Uuid {
        uuid::Uuid::from_u128(n)
    }

    #[test]
    fn uniform_balances_and_sticks() {
        let topics = BTreeMap::from([(t(1), 4u32), (t(2), 2)]);
        let both = BTreeSet::from([t(1), t(2)]);
        let m = |id| MemberSpec {
            id,
            topics: both.clone(),
        };
        let a = assign(UNIFORM, &[m("a"), m("b")], &topics, &BTreeMap::new());
        let count = |a: &Assignment| a.values().map(BTreeSet::len).sum::<usize>();
        assert_eq!((count(&a["a"]), count(&a["b"])), (3, 3));
        // A third member takes two partitions; the others keep most of theirs.
        let b = assign(UNIFORM, &[m("a"), m("b"), m("c")], &topics, &a);
        assert_eq!((count(&b["a"]), count(&b["b"]), count(&b["c"])), (2, 2, 2));
        for id in ["a", "b"] {
            for (topic, ps) in &b[id] {
                assert!(
                    ps.is_subset(&a[id][topic]),
                    "{id} kept only partitions it had"
                );
            }
        }
    }

    #[test]
    fn range_and_partial_subscriptions() {
        let topics = BTreeMap::from([(t(1), 5u32), (t(2), 2)]);
        let a = assign(
            RANGE,
            &[
                MemberSpec {
                    id: "a",
                    topics: BTreeSet::from([t(1)]),
                },
                MemberSpec {
                    id: "b",
                    topics: BTreeSet::from([t(1), t(2)]),
                },
            ],
            &topics,
            &BTreeMap::new(),
        );
        assert_eq!(a["a"][&t(1)], BTreeSet::from([0, 1, 2]));
        assert_eq!(a["b"][&t(1)], BTreeSet::from([3, 4]));
        assert_eq!(a["b"][&t(2)], BTreeSet::from([0, 1]));
        assert!(!a["a"].contains_key(&t(2)));
    }
}
