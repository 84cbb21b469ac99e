//! Operations the ShareFetch and ShareAcknowledge handlers share: creating a share-partition at its start offset
//! and applying acknowledgement batches.

use std::time::Instant;

use kafka_protocol::error::ResponseError;
use strait_engine::Partition;

use super::partition::{ACK_RENEW, AckError, SharePartition};
use super::wire::PartitionReq;
use super::{ShareCoordinator, ShareState, SpKey};

/// The share-partition for `key`, created on first use at its persisted start offset, else where the group's
/// `share.auto.offset.reset` says (`latest`, Kafka's default: the high watermark; `earliest`: the log start).
pub fn partition_state<'a>(
    shares: &ShareCoordinator,
    st: &'a mut ShareState,
    key: &SpKey,
    p: &Partition,
) -> &'a mut SharePartition {
    if !st.partitions.contains_key(key) {
        let start = shares.view().start(key).unwrap_or_else(|| {
            let reset = shares
                .group_configs(st, &key.0)
                .get("share.auto.offset.reset")
                .cloned()
                .unwrap_or_else(|| "latest".into());
            if reset == "earliest" {
                p.log_start()
            } else {
                p.high_watermark()
            }
        });
        st.partitions
            .insert(key.clone(), SharePartition::new(start));
    }
    let sp = st
        .partitions
        .get_mut(key)
        .unwrap_or_else(|| unreachable!("inserted above"));
    sp.clamp_to_log(p.log_start());
    sp
}

/// Applies a partition's acknowledgement batches in order; the first refused batch stops the rest and gives the
/// partition's acknowledge error (what Kafka reports per partition).
pub fn apply_acks(
    shares: &ShareCoordinator,
    st: &mut ShareState,
    key: &SpKey,
    p: &Partition,
    member: &str,
    req: &PartitionReq,
    renew_allowed: bool,
) -> Result<(), (ResponseError, String)> {
    let lock = shares.lock_duration(st, &key.0);
    let max = shares.cfg.max_delivery_attempts;
    let now = Instant::now();
    let sp = partition_state(shares, st, key, p);
    sp.expire_locks(now, max);
    for a in &req.acks {
        if !renew_allowed && a.types.contains(&ACK_RENEW) {
            return Err((
                ResponseError::InvalidRequest,
                "RENEW acknowledgements need IsRenewAck (v2)".into(),
            ));
        }
        sp.acknowledge(
            member,
            a.first_offset..=a.last_offset,
            &a.types,
            lock,
            max,
            now,
        )
        .map_err(|e| match e {
            AckError::NotAcquired(_) => (ResponseError::InvalidRecordState, e.to_string()),
            AckError::Malformed(m) => (ResponseError::InvalidRequest, m),
        })?;
    }
    Ok(())
}
