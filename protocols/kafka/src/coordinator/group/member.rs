//! A group member and the results its parked JoinGroup / SyncGroup requests are answered with.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// One protocol a member offers in JoinGroup (for consumers: an assignor name and its subscription).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protocol {
    pub name: String,
    pub metadata: Bytes,
}

/// A member as listed to the leader in its JoinGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinedMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub metadata: Bytes,
}

/// The content of a JoinGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinResult {
    pub error: Option<ResponseError>,
    pub member_id: String,
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: String,
    /// KIP-814: the leader is told it leads but must not compute a new assignment.
    pub skip_assignment: bool,
    /// Filled for the leader only.
    pub members: Vec<JoinedMember>,
}

impl JoinResult {
    pub fn error(error: ResponseError, member_id: impl Into<String>) -> JoinResult {
        JoinResult {
            error: Some(error),
            member_id: member_id.into(),
            generation_id: -1,
            protocol_type: None,
            protocol_name: None,
            leader: String::new(),
            skip_assignment: false,
            members: Vec::new(),
        }
    }
}

/// The content of a SyncGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncResult {
    pub error: Option<ResponseError>,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignment: Bytes,
}

impl SyncResult {
    pub fn error(error: ResponseError) -> SyncResult {
        SyncResult {
            error: Some(error),
            protocol_type: None,
            protocol_name: None,
            assignment: Bytes::new(),
        }
    }
}

pub(crate) struct Member {
    pub(crate) id: String,
    pub(crate) instance_id: Option<String>,
    pub(crate) client_id: String,
    pub(crate) client_host: String,
    pub(crate) rebalance_timeout: Duration,
    pub(crate) session_timeout: Duration,
    pub(crate) protocol_type: String,
    /// In the member's order of preference.
    pub(crate) protocols: Vec<Protocol>,
    pub(crate) assignment: Bytes,
    /// Joined in the current rebalance and not yet part of a generation: such a member can be expired even
    /// while its JoinGroup is parked (it cannot heartbeat, and a vanished client must not stall the group).
    pub(crate) is_new: bool,
    /// The parked JoinGroup, answered when the join phase completes.
    pub(crate) join_waiter: Option<oneshot::Sender<JoinResult>>,
    /// The parked SyncGroup, answered when the leader's assignment arrives.
    pub(crate) sync_waiter: Option<oneshot::Sender<SyncResult>>,
    /// When the member is expired unless it heartbeats; `None` while nothing is expected of it.
    pub(crate) heartbeat_deadline: Option<Instant>,
}

/// What describes a joining member, taken from its JoinGroup request and connection.
#[derive(Debug, Clone)]
pub struct JoinParams {
    pub group_id: String,
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    pub protocol_type: String,
    pub protocols: Vec<Protocol>,
    /// The request version: v4+ requires a known member id (KIP-394), v9+ supports skipping assignment.
    pub version: i16,
    pub reason: Option<String>,
}

impl Member {
    pub(crate) fn new(id: String, p: &JoinParams) -> Member {
        Member {
            id,
            instance_id: p.instance_id.clone(),
            client_id: p.client_id.clone(),
            client_host: p.client_host.clone(),
            rebalance_timeout: p.rebalance_timeout,
            session_timeout: p.session_timeout,
            protocol_type: p.protocol_type.clone(),
            protocols: p.protocols.clone(),
            assignment: Bytes::new(),
            is_new: false,
            join_waiter: None,
            sync_waiter: None,
            heartbeat_deadline: None,
        }
    }

    pub(crate) fn is_awaiting_join(&self) -> bool {
        self.join_waiter.is_some()
    }

    pub(crate) fn is_awaiting_sync(&self) -> bool {
        self.sync_waiter.is_some()
    }

    /// Members parked in a rebalance count as alive; new members do not (see [`Member::is_new`]).
    pub(crate) fn has_satisfied_heartbeat(&self) -> bool {
        !self.is_new && (self.is_awaiting_join() || self.is_awaiting_sync())
    }

    pub(crate) fn matches(&self, protocols: &[Protocol]) -> bool {
        self.protocols == protocols
    }

    /// The member's metadata for `protocol` (empty if it does not offer it, which validation prevents).
    pub(crate) fn metadata(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|p| p.name == protocol)
            .map(|p| p.metadata.clone())
            .unwrap_or_default()
    }
}
