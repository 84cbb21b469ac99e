//! A small Kafka client over kafka-protocol: a bootstrap connection, cluster metadata, and one connection per
//! broker so partition requests go to the partition's leader and group requests to the group's coordinator (on
//! a single node that is all one connection; on a cluster it is what makes the commands correct).

mod conn;
pub(crate) mod records;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use kafka_protocol::error::ResponseError;

use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::metadata_response::MetadataResponse;
use kafka_protocol::messages::{BrokerId, GroupId, ListOffsetsRequest, MetadataRequest, TopicName};
use kafka_protocol::protocol::{Request, StrBytes};

pub(crate) use conn::Conn;

use crate::error::{CliError, Result, check};

/// ListOffsets' special timestamps.
pub(crate) const LATEST: i64 = -1;
pub(crate) const EARLIEST: i64 = -2;

/// How long [`Client::leaders`] waits for partitions to get a leader.
const LEADER_WAIT: Duration = Duration::from_secs(10);

/// Metadata v12 is the newest that names topics in requests the way this client fills them in.
const METADATA_CAP: i16 = 12;

pub(crate) fn topic_name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

pub(crate) fn group_id(s: &str) -> GroupId {
    GroupId(StrBytes::from_string(s.to_string()))
}

pub(crate) struct Client {
    bootstrap: Conn,
    /// node id -> host:port, from the last Metadata.
    brokers: HashMap<i32, String>,
    conns: HashMap<i32, Conn>,
}

impl Client {
    /// Connects to the first reachable address in the comma-separated `brokers` list.
    pub(crate) async fn connect(brokers: &str) -> Result<Client> {
        let mut last = None;
        for addr in brokers.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            match Conn::open(addr).await {
                Ok(bootstrap) => {
                    return Ok(Client {
                        bootstrap,
                        brokers: HashMap::new(),
                        conns: HashMap::new(),
                    });
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| CliError::Usage("--brokers is empty".into())))
    }

    /// The version the bootstrap broker and this client agree on for `R`, at most `cap`.
    pub(crate) fn version_of<R: Request>(&self, cap: i16) -> Result<i16> {
        self.bootstrap.version::<R>(cap)
    }

    /// Whether `code` means the partition's leader moved or is being elected: refresh the leaders and retry.
    pub(crate) fn leader_moved(code: i16) -> bool {
        code == ResponseError::NotLeaderOrFollower.code()
            || code == ResponseError::LeaderNotAvailable.code()
    }

    /// Sends `req` to the bootstrap broker (any broker answers cluster-wide requests).
    pub(crate) async fn call<R: Request>(&mut self, req: &R, cap: i16) -> Result<R::Response> {
        self.bootstrap.call(req, cap).await
    }

    /// Sends `req` to broker `node`, connecting to it on first use. The bootstrap connection serves a node it
    /// is already connected to, so a single-node cluster uses one connection.
    pub(crate) async fn call_node<R: Request>(
        &mut self,
        node: i32,
        req: &R,
        cap: i16,
    ) -> Result<R::Response> {
        let Some(addr) = self.brokers.get(&node).cloned() else {
            return Err(CliError::Protocol(format!(
                "broker {node} is not in the cluster metadata"
            )));
        };
        if addr == self.bootstrap.addr() {
            return self.bootstrap.call(req, cap).await;
        }
        let conn = match self.conns.entry(node) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(Conn::open(&addr).await?),
        };
        conn.call(req, cap).await
    }

    /// Cluster metadata for `topics` (`None`: every topic), remembering the broker addresses.
    pub(crate) async fn metadata(&mut self, topics: Option<&[String]>) -> Result<MetadataResponse> {
        let req = MetadataRequest::default()
            .with_allow_auto_topic_creation(false)
            .with_topics(topics.map(|ts| {
                ts.iter()
                    .map(|t| MetadataRequestTopic::default().with_name(Some(topic_name(t))))
                    .collect()
            }));
        let resp = self.call(&req, METADATA_CAP).await?;
        self.brokers = resp
            .brokers
            .iter()
            .map(|b| (b.node_id.0, format!("{}:{}", b.host.as_str(), b.port)))
            .collect();
        Ok(resp)
    }

    /// Partition -> leader of one topic, failing with the broker's error for an unknown topic. A partition
    /// without a leader (a topic just created on a cluster, an election under way) is waited for, up to
    /// [`LEADER_WAIT`], before LEADER_NOT_AVAILABLE is reported.
    pub(crate) async fn leaders(&mut self, topic: &str) -> Result<BTreeMap<i32, i32>> {
        let deadline = tokio::time::Instant::now() + LEADER_WAIT;
        loop {
            let md = self.metadata(Some(&[topic.to_string()])).await?;
            let t = md
                .topics
                .first()
                .ok_or_else(|| CliError::Protocol(format!("no metadata for topic {topic}")))?;
            let electing = t.error_code == ResponseError::LeaderNotAvailable.code()
                || t.partitions.iter().any(|p| p.leader_id.0 < 0);
            if !electing || tokio::time::Instant::now() >= deadline {
                check(t.error_code, format!("topic {topic}"), None)?;
                if let Some(p) = t.partitions.iter().find(|p| p.leader_id.0 < 0) {
                    let context = format!("{topic}[{}]", p.partition_index);
                    return Err(CliError::kafka(
                        ResponseError::LeaderNotAvailable.code(),
                        context,
                        None,
                    )
                    .unwrap_or_else(|| CliError::Protocol("no leader".into())));
                }
                return Ok(t
                    .partitions
                    .iter()
                    .map(|p| (p.partition_index, p.leader_id.0))
                    .collect());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The offset ListOffsets answers for `timestamp` (LATEST, EARLIEST or milliseconds) on each of `partitions`,
    /// asked of each partition's leader. `-1` means no record at or after the timestamp.
    pub(crate) async fn list_offsets(
        &mut self,
        topic: &str,
        leaders: &BTreeMap<i32, i32>,
        partitions: &[i32],
        timestamp: i64,
    ) -> Result<BTreeMap<i32, i64>> {
        let mut by_leader: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
        for p in partitions {
            let leader = leaders
                .get(p)
                .copied()
                .ok_or_else(|| CliError::no_partition(topic, *p))?;
            by_leader.entry(leader).or_default().push(*p);
        }
        let mut out = BTreeMap::new();
        for (leader, ps) in by_leader {
            let req = ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_topics(vec![
                    ListOffsetsTopic::default()
                        .with_name(topic_name(topic))
                        .with_partitions(
                            ps.iter()
                                .map(|p| {
                                    ListOffsetsPartition::default()
                                        .with_partition_index(*p)
                                        .with_current_leader_epoch(-1)
                                        .with_timestamp(timestamp)
                                })
                                .collect(),
                        ),
                ]);
            // v7 is the newest without the KIP-1005 special timestamps' semantics changes we do not use.
            let resp = self.call_node(leader, &req, 7).await?;
            for t in resp.topics {
                for p in t.partitions {
                    check(
                        p.error_code,
                        format!("{topic}[{}]", p.partition_index),
                        None,
                    )?;
                    out.insert(p.partition_index, p.offset);
                }
            }
        }
        Ok(out)
    }

    /// The coordinator node of `group`, registering its address so [`Client::call_node`] reaches it.
    pub(crate) async fn coordinator(&mut self, group: &str) -> Result<i32> {
        if self.brokers.is_empty() {
            self.metadata(Some(&[])).await?;
        }
        // v3 is the newest with a single key (v4 batches keys); every broker still speaks it.
        let req = FindCoordinatorRequest::default()
            .with_key(StrBytes::from_string(group.to_string()))
            .with_key_type(0);
        let resp = self.call(&req, 3).await?;
        check(
            resp.error_code,
            format!("group {group}"),
            resp.error_message.as_deref(),
        )?;
        self.brokers.insert(
            resp.node_id.0,
            format!("{}:{}", resp.host.as_str(), resp.port),
        );
        Ok(resp.node_id.0)
    }
}
