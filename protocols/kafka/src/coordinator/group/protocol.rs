//! Protocol negotiation: which protocols (for consumers: assignors) a joining member may offer, which one
//! the group uses for a generation, and the member list the leader runs it on.

use indexmap::IndexMap;

use super::member::{JoinedMember, Protocol};
use super::state::{Group, GroupState};

impl Group {
    /// Whether a member offering `protocol_type` and `names` could join: an empty group takes anything
    /// non-empty; otherwise the type must match and one of the names must be supported by every member.
    pub(crate) fn supports_protocols(&self, protocol_type: &str, names: &[Protocol]) -> bool {
        if self.is(GroupState::Empty) {
            return !protocol_type.is_empty() && !names.is_empty();
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && names.iter().any(|p| self.supported_by_all(&p.name))
    }

    fn supported_by_all(&self, name: &str) -> bool {
        self.members
            .values()
            .all(|m| m.protocols.iter().any(|p| p.name == name))
    }

    /// Kafka's vote: every member votes for its most preferred protocol among those all members support; the
    /// most votes win. Ties go to the protocol that received a vote first (members in join order), so the
    /// outcome is deterministic.
    pub(crate) fn select_protocol(&self) -> Option<String> {
        let mut votes: IndexMap<&str, usize> = IndexMap::new();
        for m in self.members.values() {
            if let Some(p) = m.protocols.iter().find(|p| self.supported_by_all(&p.name)) {
                *votes.entry(p.name.as_str()).or_default() += 1;
            }
        }
        let mut best: Option<(&str, usize)> = None;
        for (name, n) in votes {
            if best.is_none_or(|(_, b)| n > b) {
                best = Some((name, n));
            }
        }
        best.map(|(name, _)| name.to_string())
    }

    /// Members as the leader sees them in its JoinGroup response: metadata for the selected protocol.
    pub(crate) fn joined_members(&self) -> Vec<JoinedMember> {
        let protocol = self.protocol_name.as_deref().unwrap_or_default();
        self.members
            .values()
            .map(|m| JoinedMember {
                member_id: m.id.clone(),
                instance_id: m.instance_id.clone(),
                metadata: m.metadata(protocol),
            })
            .collect()
    }
}
