//! `strait group list|describe|delete` (ListGroups, DescribeGroups + OffsetFetch + ListOffsets, DeleteGroups);
//! `reset-offsets` lives in `reset.rs`.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Buf;
use clap::{Args, Subcommand};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    ConsumerGroupDescribeRequest, ConsumerProtocolAssignment, DeleteGroupsRequest,
    DescribeGroupsRequest, ListGroupsRequest, OffsetFetchRequest,
};
use kafka_protocol::protocol::Decodable;
use serde_json::{Value, json};

use crate::args::Global;
use crate::error::{CliError, Result, check, kafka_name};
use crate::kafka::{Client, LATEST, group_id};
use crate::output::{Table, emit, opt};

mod reset;

pub use reset::ResetArgs;

#[derive(Debug, Args)]
pub struct GroupArgs {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: GroupCommand,
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Lists groups with their protocol type and state.
    #[command(visible_alias = "ls")]
    List,
    /// Describes groups: state, members and their assignments, and per partition the committed offset, the log
    /// end offset and the lag.
    Describe {
        #[arg(required = true)]
        groups: Vec<String>,
    },
    /// Moves a group's committed offsets (the group must have no members, as with kafka-consumer-groups).
    ResetOffsets(ResetArgs),
    /// Deletes groups (their committed offsets with them); a group with members is refused by the broker.
    Delete {
        #[arg(required = true)]
        groups: Vec<String>,
    },
}

pub(crate) async fn run(args: GroupArgs) -> Result<()> {
    let g = args.global;
    let mut client = Client::connect(&g.brokers).await?;
    match args.command {
        GroupCommand::List => list(&mut client, &g).await,
        GroupCommand::Describe { groups } => {
            let mut all = Vec::new();
            for group in &groups {
                all.push(describe_one(&mut client, group).await?);
            }
            let json = Value::Array(all.iter().map(Described::to_json).collect());
            emit(g.output, &json, || {
                all.iter()
                    .map(Described::render)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        GroupCommand::ResetOffsets(r) => reset::run(&mut client, &g, r).await,
        GroupCommand::Delete { groups } => delete(&mut client, &g, &groups).await,
    }
}

async fn list(client: &mut Client, g: &Global) -> Result<()> {
    // The whole cluster's groups: ask every broker, as each answers for the groups it coordinates.
    let md = client.metadata(Some(&[])).await?;
    let mut rows = BTreeSet::new();
    for b in &md.brokers {
        let resp = client
            .call_node(b.node_id.0, &ListGroupsRequest::default(), 5)
            .await?;
        check(
            resp.error_code,
            format!("ListGroups on broker {}", b.node_id.0),
            None,
        )?;
        for l in resp.groups {
            let kind = if l.group_type.is_empty() {
                l.protocol_type.to_string()
            } else {
                l.group_type.to_string()
            };
            rows.insert((
                l.group_id.as_str().to_string(),
                kind,
                l.protocol_type.to_string(),
                l.group_state.to_string(),
            ));
        }
    }
    let json = Value::Array(
        rows.iter()
            .map(|(g, t, p, s)| json!({"group": g, "type": t, "protocol_type": p, "state": s}))
            .collect(),
    );
    emit(g.output, &json, || {
        let mut t = Table::new(&["GROUP", "TYPE", "STATE"]);
        for (g, kind, _, s) in &rows {
            t.row(vec![
                g.clone(),
                kind.clone(),
                opt((!s.is_empty()).then_some(s)),
            ]);
        }
        t.render()
    })
}

/// One member as DescribeGroups reports it, with its assignment decoded from the consumer protocol.
pub(crate) struct Member {
    pub id: String,
    pub client_id: String,
    pub host: String,
    pub instance: Option<String>,
    pub assigned: Vec<(String, i32)>,
}

/// A group's state plus, per partition, the committed offset, the log end offset and the owning member.
pub(crate) struct Described {
    pub group: String,
    pub state: String,
    pub protocol_type: String,
    pub protocol: String,
    pub members: Vec<Member>,
    /// (topic, partition) -> (committed offset or None, log end offset).
    pub offsets: BTreeMap<(String, i32), (Option<i64>, Option<i64>)>,
}

impl Described {
    fn owner(&self, tp: &(String, i32)) -> Option<&Member> {
        self.members.iter().find(|m| m.assigned.contains(tp))
    }

    fn to_json(&self) -> Value {
        json!({
            "group": self.group,
            "state": self.state,
            "protocol_type": self.protocol_type,
            "protocol": self.protocol,
            "members": self.members.iter().map(|m| json!({
                "member_id": m.id, "client_id": m.client_id, "host": m.host,
                "group_instance_id": m.instance,
                "assignments": m.assigned.iter().map(|(t, p)| json!({"topic": t, "partition": p})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "offsets": self.offsets.iter().map(|((t, p), (c, e))| json!({
                "topic": t, "partition": p, "committed_offset": c, "log_end_offset": e,
                "lag": lag(*c, *e), "member_id": self.owner(&(t.clone(), *p)).map(|m| &m.id),
            })).collect::<Vec<_>>(),
        })
    }

    fn render(&self) -> String {
        let mut out = format!(
            "GROUP        {}\nSTATE        {}\nTYPE         {}\nASSIGNOR     {}\nMEMBERS      {}\n\n",
            self.group,
            self.state,
            opt((!self.protocol_type.is_empty()).then_some(&self.protocol_type)),
            opt((!self.protocol.is_empty()).then_some(&self.protocol)),
            self.members.len()
        );
        let mut t = Table::new(&[
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "LOG-END-OFFSET",
            "LAG",
            "MEMBER-ID",
            "CLIENT-ID",
            "HOST",
        ]);
        for (tp, (c, e)) in &self.offsets {
            let m = self.owner(tp);
            t.row(vec![
                tp.0.clone(),
                tp.1.to_string(),
                opt(*c),
                opt(*e),
                opt(lag(*c, *e)),
                opt(m.map(|m| m.id.clone())),
                opt(m.map(|m| m.client_id.clone())),
                opt(m.map(|m| m.host.clone())),
            ]);
        }
        out.push_str(&t.render());
        out
    }
}

/// Lag as kafka-consumer-groups computes it: log end minus committed, unknown without a commit.
fn lag(committed: Option<i64>, end: Option<i64>) -> Option<i64> {
    Some((end? - committed?).max(0))
}

/// A group's state and members, from DescribeGroups (classic groups) or ConsumerGroupDescribe (KIP-848 groups).
pub(crate) struct GroupState {
    pub state: String,
    pub protocol_type: String,
    pub protocol: String,
    pub members: Vec<Member>,
}

/// Describes `group` at its coordinator. DescribeGroups answers GROUP_ID_NOT_FOUND for a KIP-848 consumer
/// group (it is not a classic group), so that answer is followed by ConsumerGroupDescribe.
pub(crate) async fn describe_group(
    client: &mut Client,
    coord: i32,
    group: &str,
) -> Result<GroupState> {
    let req = DescribeGroupsRequest::default().with_groups(vec![group_id(group)]);
    let resp = client.call_node(coord, &req, 5).await?;
    let d = resp
        .groups
        .into_iter()
        .next()
        .ok_or_else(|| CliError::Protocol(format!("no DescribeGroups entry for {group}")))?;
    if ResponseError::try_from_code(d.error_code) == Some(ResponseError::GroupIdNotFound)
        && client.version_of::<ConsumerGroupDescribeRequest>(1).is_ok()
    {
        return describe_consumer_group(client, coord, group).await;
    }
    check(
        d.error_code,
        format!("group {group}"),
        d.error_message.as_deref(),
    )?;
    Ok(GroupState {
        state: d.group_state.to_string(),
        protocol_type: d.protocol_type.to_string(),
        protocol: d.protocol_data.to_string(),
        members: d
            .members
            .iter()
            .map(|m| Member {
                id: m.member_id.to_string(),
                client_id: m.client_id.to_string(),
                host: m.client_host.to_string(),
                instance: m.group_instance_id.as_deref().map(str::to_string),
                assigned: decode_assignment(&m.member_assignment),
            })
            .collect(),
    })
}

async fn describe_consumer_group(
    client: &mut Client,
    coord: i32,
    group: &str,
) -> Result<GroupState> {
    let req = ConsumerGroupDescribeRequest::default().with_group_ids(vec![group_id(group)]);
    let resp = client.call_node(coord, &req, 1).await?;
    let d =
        resp.groups.into_iter().next().ok_or_else(|| {
            CliError::Protocol(format!("no ConsumerGroupDescribe entry for {group}"))
        })?;
    check(
        d.error_code,
        format!("group {group}"),
        d.error_message.as_deref(),
    )?;
    Ok(GroupState {
        state: d.group_state.to_string(),
        protocol_type: "consumer".into(),
        protocol: d.assignor_name.to_string(),
        members: d
            .members
            .iter()
            .map(|m| Member {
                id: m.member_id.to_string(),
                client_id: m.client_id.to_string(),
                host: m.client_host.to_string(),
                instance: m.instance_id.as_deref().map(str::to_string),
                assigned: m
                    .assignment
                    .topic_partitions
                    .iter()
                    .flat_map(|tp| {
                        tp.partitions
                            .iter()
                            .map(|p| (tp.topic_name.as_str().to_string(), *p))
                    })
                    .collect(),
            })
            .collect(),
    })
}

/// The group's committed offsets: (topic, partition) -> offset, from its coordinator. Partitions without a commit
/// (offset -1) are left out.
pub(crate) async fn committed(
    client: &mut Client,
    coord: i32,
    group: &str,
) -> Result<BTreeMap<(String, i32), i64>> {
    // v7 is the newest with one group per request; `topics: None` asks for every committed partition (v2+).
    let req = OffsetFetchRequest::default()
        .with_group_id(group_id(group))
        .with_topics(None);
    let resp = client.call_node(coord, &req, 7).await?;
    check(resp.error_code, format!("group {group}"), None)?;
    let mut out = BTreeMap::new();
    for t in resp.topics {
        for p in t.partitions {
            check(
                p.error_code,
                format!("{}[{}]", t.name.as_str(), p.partition_index),
                None,
            )?;
            if p.committed_offset >= 0 {
                out.insert(
                    (t.name.as_str().to_string(), p.partition_index),
                    p.committed_offset,
                );
            }
        }
    }
    Ok(out)
}

async fn describe_one(client: &mut Client, group: &str) -> Result<Described> {
    let coord = client.coordinator(group).await?;
    let d = describe_group(client, coord, group).await?;
    let members = d.members;
    let committed = committed(client, coord, group).await?;
    let mut offsets: BTreeMap<(String, i32), (Option<i64>, Option<i64>)> = BTreeMap::new();
    for (tp, off) in &committed {
        offsets.insert(tp.clone(), (Some(*off), None));
    }
    for tp in members.iter().flat_map(|m| m.assigned.iter()) {
        offsets.entry(tp.clone()).or_insert((None, None));
    }
    let topics: BTreeSet<String> = offsets.keys().map(|(t, _)| t.clone()).collect();
    for topic in topics {
        let parts: Vec<i32> = offsets
            .keys()
            .filter(|(t, _)| *t == topic)
            .map(|(_, p)| *p)
            .collect();
        // A committed offset for a deleted topic still shows, with an unknown end.
        let Ok(leaders) = client.leaders(&topic).await else {
            continue;
        };
        let known: Vec<i32> = parts
            .into_iter()
            .filter(|p| leaders.contains_key(p))
            .collect();
        let ends = client
            .list_offsets(&topic, &leaders, &known, LATEST)
            .await?;
        for (p, end) in ends {
            if let Some(e) = offsets.get_mut(&(topic.clone(), p)) {
                e.1 = Some(end);
            }
        }
    }
    Ok(Described {
        group: group.to_string(),
        state: d.state,
        protocol_type: d.protocol_type,
        protocol: d.protocol,
        members,
        offsets,
    })
}

/// A consumer-protocol assignment (version, then the ConsumerProtocolAssignment body); empty when the member has
/// none yet or the group is not a consumer group (e.g. Connect).
fn decode_assignment(raw: &bytes::Bytes) -> Vec<(String, i32)> {
    let mut buf = raw.clone();
    if buf.remaining() < 2 {
        return Vec::new();
    }
    let version = buf.get_i16();
    match ConsumerProtocolAssignment::decode(&mut buf, version.clamp(0, 3)) {
        Ok(a) => a
            .assigned_partitions
            .iter()
            .flat_map(|tp| {
                tp.partitions
                    .iter()
                    .map(|p| (tp.topic.as_str().to_string(), *p))
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

async fn delete(client: &mut Client, g: &Global, groups: &[String]) -> Result<()> {
    let mut results = Vec::new();
    for group in groups {
        let coord = client.coordinator(group).await?;
        let req = DeleteGroupsRequest::default().with_groups_names(vec![group_id(group)]);
        let resp = client.call_node(coord, &req, 2).await?;
        for r in resp.results {
            results.push((r.group_id.as_str().to_string(), r.error_code));
        }
    }
    let status = |code: i16| match CliError::kafka(code, "", None) {
        None => "deleted".to_string(),
        Some(CliError::Kafka { code, .. }) => kafka_name(code),
        Some(e) => e.to_string(),
    };
    let json = Value::Array(
        results
            .iter()
            .map(|(g, c)| json!({"group": g, "status": status(*c)}))
            .collect(),
    );
    emit(g.output, &json, || {
        let mut t = Table::new(&["GROUP", "STATUS"]);
        for (g, c) in &results {
            t.row(vec![g.clone(), status(*c)]);
        }
        t.render()
    })?;
    for (group, code) in results {
        check(code, format!("group {group}"), None)?;
    }
    Ok(())
}
