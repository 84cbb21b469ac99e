//! `strait group reset-offsets`: computes new offsets with ListOffsets and commits them the way
//! kafka-consumer-groups does, as a simple-group OffsetCommit (generation -1, no member id), which a coordinator
//! accepts only while the group has no members. The emptiness check comes first so a live group is never touched.

use std::collections::{BTreeMap, BTreeSet};

use clap::{ArgGroup, Args};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::OffsetCommitRequest;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use serde_json::{Value, json};

use super::{committed, describe_group};
use crate::args::{Global, parse_time};
use crate::error::{CliError, Result, check};
use crate::kafka::{Client, EARLIEST, LATEST, group_id, topic_name};
use crate::output::{Table, emit, opt};

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["to_earliest", "to_latest", "to_offset", "to_datetime"])))]
#[command(group(ArgGroup::new("scope").required(true).args(["topic", "all_topics"])))]
pub struct ResetArgs {
    pub group: String,
    /// A topic to reset, optionally with partitions (`orders` or `orders:0,2`); repeatable.
    #[arg(long)]
    pub topic: Vec<String>,
    /// Resets every topic the group has committed offsets for.
    #[arg(long)]
    pub all_topics: bool,
    /// To each partition's log start offset.
    #[arg(long)]
    pub to_earliest: bool,
    /// To each partition's log end offset.
    #[arg(long)]
    pub to_latest: bool,
    /// To this offset, clamped into each partition's [log start, log end].
    #[arg(long)]
    pub to_offset: Option<i64>,
    /// To the first offset at or after this time (ms since the epoch or RFC 3339); the log end if none.
    #[arg(long, value_parser = parse_time)]
    pub to_datetime: Option<i64>,
    /// Prints the new offsets without committing them.
    #[arg(long)]
    pub dry_run: bool,
}

/// `orders` -> all partitions, `orders:0,2` -> those two.
pub(crate) fn parse_topic_spec(spec: &str) -> Result<(String, Option<Vec<i32>>)> {
    match spec.split_once(':') {
        None => Ok((spec.to_string(), None)),
        Some((t, ps)) => {
            let parts: std::result::Result<Vec<i32>, _> =
                ps.split(',').map(|p| p.trim().parse::<i32>()).collect();
            match parts {
                Ok(p) if !t.is_empty() && !p.is_empty() => Ok((t.to_string(), Some(p))),
                _ => Err(CliError::Usage(format!(
                    "expected TOPIC or TOPIC:P,P,..., got {spec:?}"
                ))),
            }
        }
    }
}

pub(crate) async fn run(client: &mut Client, g: &Global, a: ResetArgs) -> Result<()> {
    let coord = client.coordinator(&a.group).await?;
    let d = describe_group(client, coord, &a.group).await?;
    let state = d.state;
    // "Dead" is how a group that never existed is described; resetting creates its offsets.
    if !matches!(state.as_str(), "Empty" | "Dead" | "") || !d.members.is_empty() {
        return Err(CliError::Kafka {
            code: ResponseError::NonEmptyGroup,
            context: format!("group {}", a.group),
            message: Some(format!(
                "state {state} with {} member(s); offsets can only be reset while no consumer is in the group",
                d.members.len()
            )),
        });
    }
    let current = committed(client, coord, &a.group).await?;
    let mut scope: BTreeMap<String, Option<Vec<i32>>> = BTreeMap::new();
    if a.all_topics {
        for (t, _) in current.keys() {
            scope.insert(t.clone(), None);
        }
    }
    for spec in &a.topic {
        let (t, ps) = parse_topic_spec(spec)?;
        scope.insert(t, ps);
    }
    let mut plan: Vec<(String, i32, Option<i64>, i64)> = Vec::new();
    for (topic, parts) in &scope {
        let leaders = client.leaders(topic).await?;
        let parts: Vec<i32> = match parts {
            Some(ps) => ps.clone(),
            None if a.all_topics => current
                .keys()
                .filter(|(t, _)| t == topic)
                .map(|(_, p)| *p)
                .collect(),
            None => leaders.keys().copied().collect(),
        };
        let parts: Vec<i32> = parts
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        for p in &parts {
            if !leaders.contains_key(p) {
                return Err(CliError::no_partition(topic, *p));
            }
        }
        let starts = client
            .list_offsets(topic, &leaders, &parts, EARLIEST)
            .await?;
        let ends = client.list_offsets(topic, &leaders, &parts, LATEST).await?;
        let at = match a.to_datetime {
            Some(ts) => Some(client.list_offsets(topic, &leaders, &parts, ts).await?),
            None => None,
        };
        for p in parts {
            let (start, end) = (
                starts.get(&p).copied().unwrap_or(0),
                ends.get(&p).copied().unwrap_or(0),
            );
            let new = if a.to_earliest {
                start
            } else if a.to_latest {
                end
            } else if let Some(o) = a.to_offset {
                o.clamp(start, end.max(start))
            } else {
                match at.as_ref().and_then(|m| m.get(&p)).copied() {
                    Some(o) if o >= 0 => o,
                    _ => end,
                }
            };
            plan.push((
                topic.clone(),
                p,
                current.get(&(topic.clone(), p)).copied(),
                new,
            ));
        }
    }
    if !a.dry_run && !plan.is_empty() {
        commit(client, coord, &a.group, &plan).await?;
    }
    let json = json!({
        "group": a.group,
        "dry_run": a.dry_run,
        "offsets": plan.iter().map(|(t, p, c, n)| json!({
            "topic": t, "partition": p, "previous_offset": c, "new_offset": n,
        })).collect::<Vec<Value>>(),
    });
    emit(g.output, &json, || {
        let mut t = Table::new(&[
            "GROUP",
            "TOPIC",
            "PARTITION",
            "PREVIOUS-OFFSET",
            "NEW-OFFSET",
        ]);
        for (topic, p, c, n) in &plan {
            t.row(vec![
                a.group.clone(),
                topic.clone(),
                p.to_string(),
                opt(*c),
                n.to_string(),
            ]);
        }
        let note = if a.dry_run {
            "(dry run: nothing committed)\n"
        } else {
            ""
        };
        format!("{}{note}", t.render())
    })
}

async fn commit(
    client: &mut Client,
    coord: i32,
    group: &str,
    plan: &[(String, i32, Option<i64>, i64)],
) -> Result<()> {
    let mut topics: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
    for (t, p, _, n) in plan {
        topics.entry(t).or_default().push(
            OffsetCommitRequestPartition::default()
                .with_partition_index(*p)
                .with_committed_offset(*n)
                .with_committed_leader_epoch(-1),
        );
    }
    let req = OffsetCommitRequest::default()
        .with_group_id(group_id(group))
        .with_generation_id_or_member_epoch(-1)
        .with_retention_time_ms(-1)
        .with_topics(
            topics
                .into_iter()
                .map(|(t, ps)| {
                    OffsetCommitRequestTopic::default()
                        .with_name(topic_name(t))
                        .with_partitions(ps)
                })
                .collect(),
        );
    // v8 is the newest that names topics (v10 uses topic ids).
    let resp = client.call_node(coord, &req, 8).await?;
    for t in resp.topics {
        for p in t.partitions {
            check(
                p.error_code,
                format!(
                    "{}[{}] of group {group}",
                    t.name.as_str(),
                    p.partition_index
                ),
                None,
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_specs_name_partitions_or_all() {
        assert_eq!(
            parse_topic_spec("orders").expect("ok"),
            ("orders".into(), None)
        );
        assert_eq!(
            parse_topic_spec("orders:0,2").expect("ok"),
            ("orders".into(), Some(vec![0, 2]))
        );
        for bad in ["orders:", "orders:x", ":1"] {
            assert!(parse_topic_spec(bad).is_err(), "{bad} accepted");
        }
    }
}
