//! Opening and closing the node's partitions, and the data-directory housekeeping around it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{SHUTDOWN_PARALLELISM, Topic, decode, logs_dir, partition_dir};
use crate::config::{EngineConfig, TopicConfig};
use crate::error::{EngineError, IoContext, Result};
use crate::fdcache::FdCache;
use crate::meta::MetaStore;
use crate::partition::{
    self, LocalLog, OpenArgs, PARTITIONS_TABLE, PartitionState, REMOTE_TABLE, SEALS_TABLE,
    SealRecord,
};
use crate::store::{RemoteSegment, RemoteStore};

/// Closes partitions (final flush, index files) up to [`SHUTDOWN_PARALLELISM`] at a time; returns the first
/// error. In series, thousands of partitions each waiting for their own fsyncs made a clean stop take most of a
/// minute; partitions that did not change since they were opened skip their fsyncs and index writes altogether.
pub(super) async fn close_all(parts: &[Arc<LocalLog>]) -> Option<EngineError> {
    let mut first_err = None;
    let mut running = tokio::task::JoinSet::new();
    let mut pending = parts.iter().cloned();
    loop {
        while running.len() < SHUTDOWN_PARALLELISM {
            let Some(p) = pending.next() else { break };
            running.spawn(async move {
                let res = p.close().await;
                (p, res)
            });
        }
        match running.join_next().await {
            None => break,
            Some(Ok((_, Ok(())))) => {}
            Some(Ok((p, Err(e)))) => {
                tracing::error!(topic = p.topic(), partition = p.index(), error = %e, "flush on shutdown failed");
                first_err.get_or_insert(e);
            }
            Some(Err(e)) => {
                tracing::error!(error = %e, "a partition close task failed");
                first_err.get_or_insert(EngineError::ShuttingDown);
            }
        }
    }
    first_err
}

/// What every partition of the node is opened with.
pub(super) struct Shared<'a> {
    pub(super) cfg: &'a EngineConfig,
    pub(super) meta: &'a MetaStore,
    pub(super) files: &'a Arc<FdCache>,
    pub(super) remote: &'a Option<Arc<dyn RemoteStore>>,
}

pub(super) fn open_partition(
    Shared {
        cfg,
        meta,
        files,
        remote,
    }: Shared<'_>,
    topic: &str,
    p: u32,
    config: TopicConfig,
    clean: bool,
) -> Result<Arc<LocalLog>> {
    let key = partition::meta_key(topic, p);
    let state: PartitionState = match meta.get(PARTITIONS_TABLE, &key)? {
        Some(v) => decode("partition state", &v)?,
        None => PartitionState::default(),
    };
    let sealed: Option<SealRecord> = match meta.get(SEALS_TABLE, &key)? {
        Some(v) => Some(decode("partition seal", &v)?),
        None => None,
    };
    let mut remote_prefix = key.clone();
    remote_prefix.push(0);
    let remote_segments = meta
        .scan_prefix(REMOTE_TABLE, &remote_prefix)?
        .into_iter()
        .map(|(_, v)| decode::<RemoteSegment>("remote segment", &v))
        .collect::<Result<Vec<_>>>()?;
    LocalLog::open(OpenArgs {
        topic,
        index: p,
        dir: partition_dir(&cfg.data_dir, topic, p),
        state,
        clean,
        policy: cfg.fsync,
        flush_interval: Duration::from_millis(cfg.flush_interval_ms.max(1)),
        index_interval: cfg.index_interval_bytes.max(1),
        max_inflated: cfg.max_inflated_batch_bytes,
        config,
        meta: meta.clone(),
        sealed,
        files: files.clone(),
        commit: cfg.commit,
        remote_segments,
        remote_store: remote.clone(),
    })
}

/// Warns when the data directory can be read by other users (it holds every record). Existing directories and
/// files keep their mode: the engine creates new ones owner-only but does not chmod what an operator set up.
pub(super) fn warn_if_shared(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(dir)
        && m.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(dir = %dir.display(), mode = format!("{:o}", m.permissions().mode() & 0o777),
            "the data directory is accessible to other users; `chmod 700` it to keep records private");
    }
}

/// Removes partition directories that no topic owns (a crash between a metadata change and the files following).
pub(super) fn remove_orphans(data_dir: &Path, topics: &BTreeMap<String, Arc<Topic>>) -> Result<()> {
    let logs = logs_dir(data_dir);
    let owned: std::collections::HashSet<PathBuf> = topics
        .values()
        .flat_map(|t| t.partitions.iter().map(|p| p.dir().to_path_buf()))
        .collect();
    for entry in std::fs::read_dir(&logs).at(&logs)? {
        let path = entry.at(&logs)?.path();
        if path.is_dir() && !owned.contains(&path) {
            tracing::warn!(dir = %path.display(), "removing a partition directory that no topic owns");
            std::fs::remove_dir_all(&path).at(&path)?;
        }
    }
    Ok(())
}
