//! Settings of the classic group coordinator. Defaults are Apache Kafka's; tests lower the timeouts.

use std::time::Duration;

/// Group coordinator settings (a part of [`BrokerConfig`](crate::BrokerConfig)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupConfig {
    /// How long the first rebalance of an empty group waits for more members before completing, extended by
    /// the same amount each time another member joins (up to the rebalance timeout). Kafka's
    /// `group.initial.rebalance.delay.ms`, 3 s: without it a group of N consumers starting together would go
    /// through up to N rebalances.
    pub initial_rebalance_delay: Duration,
    /// Smallest session timeout a member may ask for (`group.min.session.timeout.ms`, 6 s). Shorter sessions
    /// make members flap on a GC pause or a slow network.
    pub min_session_timeout: Duration,
    /// Largest session timeout a member may ask for (`group.max.session.timeout.ms`, 30 min). Longer sessions
    /// let a dead consumer hold its partitions for that long.
    pub max_session_timeout: Duration,
    /// Most members a group accepts (`group.max.size`, unbounded by default).
    pub max_size: usize,
    /// How long a JoinGroup of a brand-new member may stay parked (Kafka's fixed 5 min). New members cannot
    /// heartbeat, and a client that gave up and retried would otherwise leave a defunct member behind that
    /// holds up every rebalance.
    pub new_member_join_timeout: Duration,
    /// Longest metadata string stored with a committed offset (`offset.metadata.max.bytes`, 4096).
    pub offset_metadata_max_bytes: usize,
    /// How long the in-memory state of an Empty group lingers before it is dropped (Kafka removes empty groups
    /// at its next `offsets.retention.check.interval.ms` pass, 10 min). Its committed offsets stay in the
    /// metadata store regardless, so the group stays visible as Empty while it has any.
    pub empty_group_retention: Duration,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            initial_rebalance_delay: Duration::from_millis(3_000),
            min_session_timeout: Duration::from_millis(6_000),
            max_session_timeout: Duration::from_millis(1_800_000),
            max_size: usize::MAX,
            new_member_join_timeout: Duration::from_millis(300_000),
            offset_metadata_max_bytes: 4096,
            empty_group_retention: Duration::from_millis(600_000),
        }
    }
}
