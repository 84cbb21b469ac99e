//! The process's open-file limit: raised to its hard limit at start, and checked against the data on disk.
//!
//! Every connection, listener and open segment file takes a descriptor. The usual soft limit (1,024) is far
//! below what a node with many partitions and clients needs, while the hard limit is usually much higher; like
//! Kafka's and Redpanda's packaging, Strait raises the soft limit itself instead of asking every operator to.

use std::path::Path;

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
use strait_engine::EngineConfig;
use tracing::{info, warn};

/// Descriptors kept free for connections, listeners, the metadata store and short-lived index reads.
pub const HEADROOM: u64 = 256;

/// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now in force (`None`: unlimited).
pub fn raise_nofile() -> Option<u64> {
    let before = getrlimit(Resource::Nofile);
    match (before.current, before.maximum) {
        (Some(cur), Some(max)) if cur < max => {
            let raised = Rlimit {
                current: Some(max),
                maximum: Some(max),
            };
            match setrlimit(Resource::Nofile, raised) {
                Ok(()) => {
                    info!(
                        from = cur,
                        to = max,
                        "raised the open-file limit to its hard limit"
                    );
                    Some(max)
                }
                Err(e) => {
                    warn!(limit = cur, hard = max, error = %e, "could not raise the open-file limit");
                    Some(cur)
                }
            }
        }
        (cur, _) => cur,
    }
}

/// Partition directories under the data directory (without opening any of them).
fn partitions_on_disk(data_dir: &Path) -> u64 {
    std::fs::read_dir(data_dir.join("logs"))
        .map(|d| d.filter_map(Result::ok).count() as u64)
        .unwrap_or(0)
}

/// What the node needs at least: its segment-file budget (or fewer, with fewer partitions) plus [`HEADROOM`].
pub fn required(cfg: &EngineConfig, soft: Option<u64>, partitions: u64) -> u64 {
    let budget = cfg.open_files_budget(soft) as u64;
    partitions.min(budget) + HEADROOM
}

/// Warns when the open-file limit is too low for the partitions on disk given the segment-file budget.
pub fn check(cfg: &EngineConfig, soft: Option<u64>) {
    let Some(limit) = soft else { return };
    let partitions = partitions_on_disk(&cfg.data_dir);
    let need = required(cfg, soft, partitions);
    if limit < need {
        warn!(
            limit,
            need,
            partitions,
            max_open_files = cfg.open_files_budget(soft),
            "the open-file limit is too low for the partitions on disk and the segment-file budget; raise \
             `ulimit -n` (LimitNOFILE= under systemd) or lower engine.max_open_files"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirement_follows_the_budget_not_the_partition_count() {
        let mut cfg = EngineConfig::default();
        // Automatic budget: half the limit; 5,000 partitions need only the budget plus headroom.
        assert_eq!(required(&cfg, Some(4096), 5000), 2048 + HEADROOM);
        assert_eq!(required(&cfg, Some(4096), 10), 10 + HEADROOM);
        cfg.max_open_files = 4000;
        assert!(
            required(&cfg, Some(1024), 5000) > 1024,
            "an explicit budget above the limit is reported"
        );
    }

    #[test]
    fn raising_never_lowers_the_limit() {
        let before = getrlimit(Resource::Nofile).current;
        let after = raise_nofile();
        assert!(after >= before || after.is_none());
        assert_eq!(getrlimit(Resource::Nofile).current, after);
    }
}
