//! Where SCRAM credentials live: the cluster-scope metadata table `kafka_scram_credentials` (replicated by the
//! controller group on a cluster, like topics), plus the bootstrap users of the configuration.
//!
//! Lookup order: a stored row wins; without one, a bootstrap user of the configuration (derived once at start
//! with a random salt, held in memory only). So an operator can always log in with the configured users, an
//! AlterUserScramCredentials upsertion of the same user and mechanism replaces the configured password for the
//! whole cluster, and deleting that row falls back to the configured one. A configured-only credential cannot be
//! deleted through the API (it is answered with a message saying to remove it from the file).

use std::collections::BTreeMap;

use strait_engine::meta::tables::KAFKA_SCRAM_CREDENTIALS;
use strait_engine::{EngineError, MetaOp, MetaStore};

use super::scram::{ScramCredential, ScramHash};

/// A user and password from the configuration (`kafka.sasl.scram_users`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapUser {
    pub name: String,
    pub mechanism: ScramHash,
    pub password: String,
    pub iterations: u32,
}

/// The credential store one broker reads and writes.
pub struct ScramStore {
    meta: MetaStore,
    bootstrap: BTreeMap<(String, ScramHash), ScramCredential>,
}

impl std::fmt::Debug for ScramStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramStore")
            .field("bootstrap_users", &self.bootstrap.len())
            .finish_non_exhaustive()
    }
}

/// Row key: the user name, a NUL (names with NUL are refused), and the mechanism's wire number, so that one
/// user's rows are a key prefix.
fn key(user: &str, hash: ScramHash) -> Vec<u8> {
    let mut k = user_prefix(user);
    k.push(hash.wire_type() as u8);
    k
}

fn user_prefix(user: &str) -> Vec<u8> {
    let mut k = user.as_bytes().to_vec();
    k.push(0);
    k
}

fn parse_key(k: &[u8]) -> Option<(String, ScramHash)> {
    let (mech, rest) = k.split_last()?;
    let (nul, name) = rest.split_last()?;
    if *nul != 0 {
        return None;
    }
    let hash = ScramHash::from_wire_type(*mech as i8)?;
    Some((String::from_utf8(name.to_vec()).ok()?, hash))
}

impl ScramStore {
    /// Derives the bootstrap users' credentials (PBKDF2 at their iteration counts: done once, at start).
    pub fn new(meta: MetaStore, users: &[BootstrapUser]) -> ScramStore {
        let bootstrap = users
            .iter()
            .map(|u| {
                (
                    (u.name.clone(), u.mechanism),
                    ScramCredential::from_password(u.mechanism, &u.password, u.iterations),
                )
            })
            .collect();
        ScramStore { meta, bootstrap }
    }

    /// The credential `user` logs in with for `hash`, if any.
    pub fn lookup(
        &self,
        user: &str,
        hash: ScramHash,
    ) -> Result<Option<ScramCredential>, EngineError> {
        if let Some(row) = self.meta.get(KAFKA_SCRAM_CREDENTIALS, &key(user, hash))? {
            return match serde_json::from_slice(&row) {
                Ok(c) => Ok(Some(c)),
                Err(source) => Err(EngineError::CorruptMetadata {
                    what: format!("{KAFKA_SCRAM_CREDENTIALS} row of {user}"),
                    source,
                }),
            };
        }
        Ok(self.bootstrap.get(&(user.to_string(), hash)).cloned())
    }

    /// Every `(mechanism, iterations)` of `user`, stored or bootstrap, by mechanism.
    pub fn describe(&self, user: &str) -> Result<Vec<(ScramHash, u32)>, EngineError> {
        let mut out = BTreeMap::new();
        for ((name, hash), c) in &self.bootstrap {
            if name == user {
                out.insert(*hash, c.iterations);
            }
        }
        for (k, v) in self
            .meta
            .scan_prefix(KAFKA_SCRAM_CREDENTIALS, &user_prefix(user))?
        {
            if let (Some((_, hash)), Ok(c)) =
                (parse_key(&k), serde_json::from_slice::<ScramCredential>(&v))
            {
                out.insert(hash, c.iterations);
            }
        }
        Ok(out.into_iter().collect())
    }

    /// Every user with a credential, sorted.
    pub fn users(&self) -> Result<Vec<String>, EngineError> {
        let mut users: std::collections::BTreeSet<String> =
            self.bootstrap.keys().map(|(n, _)| n.clone()).collect();
        for (k, _) in self.meta.scan_prefix(KAFKA_SCRAM_CREDENTIALS, b"")? {
            if let Some((name, _)) = parse_key(&k) {
                users.insert(name);
            }
        }
        Ok(users.into_iter().collect())
    }

    /// Whether a row is stored for `user` and `hash` (not counting the configuration).
    pub fn is_stored(&self, user: &str, hash: ScramHash) -> Result<bool, EngineError> {
        Ok(self
            .meta
            .get(KAFKA_SCRAM_CREDENTIALS, &key(user, hash))?
            .is_some())
    }

    pub fn is_bootstrap(&self, user: &str, hash: ScramHash) -> bool {
        self.bootstrap.contains_key(&(user.to_string(), hash))
    }

    /// The op that stores `cred`.
    pub fn put_op(user: &str, hash: ScramHash, cred: &ScramCredential) -> MetaOp {
        MetaOp::Put {
            table: KAFKA_SCRAM_CREDENTIALS.into(),
            key: key(user, hash),
            // Serializing plain byte vectors and an integer cannot fail.
            value: serde_json::to_vec(cred).unwrap_or_default(),
        }
    }

    pub fn delete_op(user: &str, hash: ScramHash) -> MetaOp {
        MetaOp::Delete {
            table: KAFKA_SCRAM_CREDENTIALS.into(),
            key: key(user, hash),
        }
    }

    /// Applies a batch of puts and deletes atomically (replicated on a cluster).
    pub async fn commit(&self, ops: Vec<MetaOp>) -> Result<(), EngineError> {
        if ops.is_empty() {
            return Ok(());
        }
        self.meta.commit(ops).await
    }
}
