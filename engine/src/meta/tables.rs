//! Every metadata table used anywhere in the workspace, with its owner and its [`Scope`].
//!
//! **Naming rule** for new tables: `<owner>_<what>`, lower snake case, where `<owner>` is the crate or subsystem
//! that writes the table (`engine`, `kafka`, `kinesis`, `dynamodb`, `cloudwatch`, `kcl`, ...) and `<what>` a plural
//! noun (`kafka_group_offsets`). Tables that existed before the rule keep their on-disk names (renaming a table
//! would orphan the rows of every existing data directory); they are marked [`TableDef::legacy`] and a test
//! checks that every other name follows the rule.
//!
//! **Scope.** [`Scope::Node`] tables describe this node's own files (recovery points, seal records of its local
//! logs, the health probe): they are never replicated, and a follower that catches up from a snapshot rebuilds
//! them from its own disk. [`Scope::Cluster`] tables are everything the front ends write (topics, configs,
//! offsets, producer and transaction state, Kinesis streams, DynamoDB tables): the replicated metadata log will
//! carry exactly these, and caches follow them through `MetaStore::watch`.
//!
//! Other crates still declare their own `const ..._TABLE` for now; each is listed here and should become a
//! re-export of the matching constant below (`pub use strait_engine::meta::tables::KAFKA_GROUP_OFFSETS`).

/// Whether a table replicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// This node's own state; never replicated.
    Node,
    /// Cluster state; replicated once replication lands.
    Cluster,
}

/// One registered table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDef {
    pub name: &'static str,
    /// The crate or subsystem that writes it.
    pub owner: &'static str,
    pub scope: Scope,
    /// Named before the naming rule; kept as is on disk.
    pub legacy: bool,
    pub what: &'static str,
}

const fn def(
    name: &'static str,
    owner: &'static str,
    scope: Scope,
    legacy: bool,
    what: &'static str,
) -> TableDef {
    TableDef {
        name,
        owner,
        scope,
        legacy,
        what,
    }
}

// Engine.
pub const TOPICS: &str = "topics";
pub const PARTITIONS: &str = "partitions";
pub const SEALED_PARTITIONS: &str = "sealed_partitions";
pub const HEALTH: &str = "_health";
pub const ENGINE_REMOTE_SEGMENTS: &str = "engine_remote_segments";
// Replication.
pub const RAFT_GROUP_STATE: &str = "raft_group_state";
// Kafka front end.
pub const KAFKA_GROUP_OFFSETS: &str = "kafka_group_offsets";
pub const KAFKA_TXN_STATE: &str = "kafka_txn_state";
pub const KAFKA_PRODUCER_STATE: &str = "kafka_producer_state";
pub const KAFKA_PRODUCERS: &str = "kafka_producers";
pub const KAFKA_TOPIC_EXTRA_CONFIGS: &str = "kafka_topic_extra_configs";
pub const SHARE_START_OFFSETS: &str = "share_start_offsets";
pub const GROUP_CONFIGS: &str = "group_configs";
/// ACL bindings (written by CreateAcls/DeleteAcls, enforced on every protocol); layout in `strait_access::acl`.
pub const KAFKA_ACLS: &str = "kafka_acls";
pub const KAFKA_SCRAM_CREDENTIALS: &str = "kafka_scram_credentials";
/// Retired: emptied at start by the transaction coordinator (kept registered so the name is never reused).
pub const KAFKA_TXN_ONGOING: &str = "kafka_txn_ongoing";
/// Retired, like [`KAFKA_TXN_ONGOING`].
pub const KAFKA_TXN_ABORTED: &str = "kafka_txn_aborted";
// AWS front ends.
pub const KINESIS: &str = "kinesis";
pub const DYNAMODB: &str = "dynamodb";

/// The registry.
pub const ALL: &[TableDef] = &[
    def(
        TOPICS,
        "engine",
        Scope::Cluster,
        true,
        "topic records: id, partition count, config",
    ),
    def(
        PARTITIONS,
        "engine",
        Scope::Node,
        true,
        "per local log: log start, recovery point",
    ),
    def(
        SEALED_PARTITIONS,
        "engine",
        Scope::Node,
        true,
        "seal records of local logs",
    ),
    def(
        ENGINE_REMOTE_SEGMENTS,
        "engine",
        Scope::Cluster,
        false,
        "segments of each partition that live in the object store (the tiering manifest), one row each",
    ),
    def(
        RAFT_GROUP_STATE,
        "raft",
        Scope::Node,
        false,
        "this replica's Raft vote, commit hint and index anchor per replicated group (never replicated itself)",
    ),
    def(
        HEALTH,
        "engine",
        Scope::Node,
        true,
        "the metadata store's recovery probe",
    ),
    def(
        KAFKA_GROUP_OFFSETS,
        "kafka",
        Scope::Cluster,
        false,
        "committed group offsets (also written by the KCL bridge)",
    ),
    def(
        KAFKA_TXN_STATE,
        "kafka",
        Scope::Cluster,
        false,
        "transaction coordinator state",
    ),
    def(
        KAFKA_PRODUCER_STATE,
        "kafka",
        Scope::Cluster,
        false,
        "idempotent producer state snapshots",
    ),
    def(
        KAFKA_PRODUCERS,
        "kafka",
        Scope::Cluster,
        false,
        "producer id blocks",
    ),
    def(
        KAFKA_TOPIC_EXTRA_CONFIGS,
        "kafka",
        Scope::Cluster,
        false,
        "topic configs the engine does not interpret",
    ),
    def(
        SHARE_START_OFFSETS,
        "kafka",
        Scope::Cluster,
        true,
        "share-group partition start offsets",
    ),
    def(
        GROUP_CONFIGS,
        "kafka",
        Scope::Cluster,
        true,
        "dynamic group configs (share groups)",
    ),
    def(
        KAFKA_ACLS,
        "kafka",
        Scope::Cluster,
        false,
        "ACL bindings, one key each (the Kafka and AWS front ends enforce them)",
    ),
    def(
        KAFKA_SCRAM_CREDENTIALS,
        "kafka",
        Scope::Cluster,
        false,
        "SASL/SCRAM credentials per user and mechanism: salt, iterations, StoredKey, ServerKey (no passwords)",
    ),
    def(KAFKA_TXN_ONGOING, "kafka", Scope::Cluster, false, "retired"),
    def(KAFKA_TXN_ABORTED, "kafka", Scope::Cluster, false, "retired"),
    def(
        KINESIS,
        "kinesis",
        Scope::Cluster,
        true,
        "streams, shard lineage, consumers (layout in shard-map)",
    ),
    def(
        DYNAMODB,
        "dynamodb",
        Scope::Cluster,
        true,
        "tables and items (KCL lease tables included)",
    ),
];

/// The registered definition of `name`.
pub fn lookup(name: &str) -> Option<&'static TableDef> {
    ALL.iter().find(|t| t.name == name)
}

/// The scope of `name`; an unregistered table counts as cluster state (the safe side: it replicates).
pub fn scope_of(name: &str) -> Scope {
    lookup(name).map_or(Scope::Cluster, |t| t.scope)
}

/// Names of every cluster-state table, for a watcher that follows what replicates.
pub fn cluster_tables() -> impl Iterator<Item = &'static str> {
    ALL.iter()
        .filter(|t| t.scope == Scope::Cluster)
        .map(|t| t.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_new_ones_follow_the_rule() {
        for (i, t) in ALL.iter().enumerate() {
            assert!(
                ALL[i + 1..].iter().all(|o| o.name != t.name),
                "{} registered twice",
                t.name
            );
            if !t.legacy {
                let rule = t.name.starts_with(&format!("{}_", t.owner))
                    && t.name.len() > t.owner.len() + 1
                    && t.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
                assert!(rule, "{} does not follow <owner>_<what>", t.name);
            }
        }
    }

    #[test]
    fn node_local_tables_belong_to_the_storage_layers() {
        // The engine's own files and the Raft replicas over them: nothing a front end writes is node-local.
        let node: Vec<_> = ALL.iter().filter(|t| t.scope == Scope::Node).collect();
        assert!(
            node.iter()
                .all(|t| t.owner == "engine" || t.owner == "raft")
        );
        assert_eq!(scope_of(PARTITIONS), Scope::Node);
        assert_eq!(scope_of(TOPICS), Scope::Cluster);
        assert_eq!(scope_of("unregistered"), Scope::Cluster);
        assert!(cluster_tables().all(|n| n != SEALED_PARTITIONS));
    }
}
