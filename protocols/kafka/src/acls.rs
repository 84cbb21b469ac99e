//! The ACL table's follower: keeps an [`AclAuthorizer`]'s index equal to the committed `kafka_acls` table.
//!
//! CreateAcls and DeleteAcls only commit rows; this watcher applies every committed change (the node's own, a
//! restart's replay of the table, and in a cluster the changes other nodes committed, which the replicated
//! metadata log applies to this node's store), so all nodes converge on one set of bindings and both protocols
//! judge by it. Watchers run on the metadata writer thread, so this only updates memory.

use std::sync::Arc;

use strait_access::acl::{AclAuthorizer, AclFilter, decode_key, encode_key};
use strait_engine::meta::tables::KAFKA_ACLS;
use strait_engine::meta::{FirstCorruptRow, MetaOp, MetaWatcher};
use strait_engine::{Engine, EngineError, Tables};

struct Follower {
    acls: Arc<AclAuthorizer>,
    corrupt: FirstCorruptRow,
}

impl MetaWatcher for Follower {
    fn apply(&self, ops: &[MetaOp]) {
        for op in ops {
            match op {
                MetaOp::Put { key, .. } => match decode_key(key) {
                    Ok(b) => self.acls.insert(b),
                    // Skipped (and logged): a binding this node cannot read grants nothing, and DENYs are
                    // only ever written by a node that could.
                    Err(e) => self.corrupt.record("ACL", key, &e),
                },
                MetaOp::Delete { key, .. } => {
                    if let Ok(b) = decode_key(key) {
                        self.acls.remove(&b);
                    }
                }
                MetaOp::DeletePrefix { prefix, .. } => {
                    for b in self.acls.matching(&AclFilter::any()) {
                        if encode_key(&b).starts_with(prefix) {
                            self.acls.remove(&b);
                        }
                    }
                }
            }
        }
    }
}

/// Loads the stored bindings into `acls` and keeps it following the table from now on.
pub fn follow(engine: &Engine, acls: Arc<AclAuthorizer>) -> Result<(), EngineError> {
    engine.meta().watch(
        Tables::named([KAFKA_ACLS]),
        Arc::new(Follower {
            acls,
            corrupt: FirstCorruptRow::default(),
        }),
    )
}
