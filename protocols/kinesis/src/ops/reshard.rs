//! Executing a resharding plan (SplitShard, MergeShards, UpdateShardCount) against the engine:
//!
//! 1. persist the plan in the stream record (so a crash in the middle is finished on restart),
//! 2. grow the topic to the plan's partition count (children get fresh partitions, not yet routed to),
//! 3. seal the partitions of the shards the plan closes, collecting their end offsets,
//! 4. commit the new lineage (`ShardMap::apply`), clear the plan, and enter UPDATING for the status delay.
//!
//! Writers hold the stream's `io` lock shared and this holds it exclusively, so no append races a seal: every
//! record acknowledged before the seal is below the parent's end offset, every later one goes to a child.

use std::collections::BTreeMap;
use std::sync::Arc;

use strait_shard_map::ReshardPlan;

use crate::error::KinesisError;
use crate::read::engine_error;
use crate::state::Kinesis;
use crate::store::{StreamHandle, StreamStatus};

impl Kinesis {
    /// Runs `plan` on stream `h` (the caller holds `h.admin`).
    pub(crate) async fn execute_plan(
        &self,
        h: &Arc<StreamHandle>,
        plan: ReshardPlan,
    ) -> Result<(), KinesisError> {
        let store = &self.inner.store;
        let _io = h.io.write().await;
        self.refuse_open_transactions(h, &plan)?;
        let pending = plan.clone();
        store
            .update_locked(h, move |rec| {
                rec.pending_plan = Some(pending);
                Ok(())
            })
            .await?;
        self.finish_plan(h, &plan).await
    }

    /// A Kafka transaction still open on a shard about to close could never get its COMMIT/ABORT marker (a sealed
    /// partition takes no appends), and its partition's last stable offset would stay put for good: Kinesis
    /// readers and READ_COMMITTED consumers would never reach the shard's end. So the reshard is refused with
    /// ResourceInUseException, which clients retry, until those transactions end.
    fn refuse_open_transactions(
        &self,
        h: &Arc<StreamHandle>,
        plan: &ReshardPlan,
    ) -> Result<(), KinesisError> {
        let name = h.record().name.clone();
        for &s in &plan.seal {
            // Shards the plan creates and closes at once (UpdateShardCount's intermediates) have no partition
            // yet, so nothing open either.
            let Ok(p) = self.inner.engine.partition(&name, s) else {
                continue;
            };
            let open = p.open_transactions();
            if !open.is_empty() {
                let producers: Vec<String> = open.keys().map(i64::to_string).collect();
                return Err(KinesisError::ResourceInUse(format!(
                    "Shard {} in stream {name} under account {} has open Kafka transactions (producer ids {}); retry once they commit or abort.",
                    strait_shard_map::shard_id(s),
                    self.account(),
                    producers.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// Steps 2-4 of a persisted plan; idempotent, so recovery can redo it.
    pub(crate) async fn finish_plan(
        &self,
        h: &Arc<StreamHandle>,
        plan: &ReshardPlan,
    ) -> Result<(), KinesisError> {
        let engine = &self.inner.engine;
        let name = h.record().name.clone();
        let current = engine
            .topic(&name)
            .ok_or_else(|| self.not_found(&name))?
            .partitions;
        if plan.partition_count_after() > current {
            engine
                .create_partitions(&name, plan.partition_count_after())
                .await
                .map_err(engine_error)?;
        }
        let mut ends = BTreeMap::new();
        for &s in &plan.seal {
            let p = engine.partition(&name, s).map_err(engine_error)?;
            ends.insert(s, p.seal().await.map_err(engine_error)?);
        }
        let now = self.now_ms();
        let stream = name.clone();
        self.inner
            .store
            .update_locked(h, |rec| {
                if rec.pending_plan.as_ref() == Some(plan) {
                    rec.shards
                        .apply(plan, &ends)
                        .map_err(|e| self.shard_error(&stream, &e))?;
                    rec.pending_plan = None;
                }
                rec.status = StreamStatus::Updating;
                rec.status_since_ms = now;
                rec.resharding = Some((now, plan.now_ms));
                Ok(())
            })
            .await?;
        // Operators follow lineage in the log: which shards closed and which opened with what hash ranges (the
        // intermediate shards of an UpdateShardCount are among both).
        let closed: Vec<String> = plan
            .seal
            .iter()
            .map(|&s| strait_shard_map::shard_id(s))
            .collect();
        let opened: Vec<String> = plan
            .new_shards
            .iter()
            .filter(|s| !plan.seal.contains(&s.index))
            .map(|s| {
                format!(
                    "{} {}..{}",
                    s.shard_id(),
                    s.hash_range.start,
                    s.hash_range.end
                )
            })
            .collect();
        tracing::info!(stream = %name, closed = ?closed, opened = ?opened, "resharded");
        Ok(())
    }

    /// Finishes resharding interrupted by a crash (called when the service opens).
    pub(crate) async fn recover_plans(&self) -> Result<(), KinesisError> {
        let engine = &self.inner.engine;
        for name in self.inner.store.names(engine) {
            let Some(h) = self.inner.store.get(engine, &name) else {
                continue;
            };
            if let Some(plan) = h.record().pending_plan.clone() {
                tracing::info!(stream = %name, "finishing a resharding interrupted by a restart");
                let _admin = h.admin.lock().await;
                let _io = h.io.write().await;
                self.finish_plan(&h, &plan).await?;
            }
        }
        Ok(())
    }

    /// ValidationException for resharding an ON_DEMAND stream: AWS only offers SplitShard, MergeShards and
    /// UpdateShardCount for PROVISIONED streams.
    pub(crate) fn require_provisioned(
        &self,
        r: &crate::store::StreamRecord,
        op: &str,
    ) -> Result<(), KinesisError> {
        if r.mode == crate::store::StreamMode::OnDemand {
            return Err(KinesisError::Validation(format!(
                "{op} is not supported for stream {} under account {} because it is in ON_DEMAND capacity mode. \
                 It is only supported for streams in PROVISIONED mode.",
                r.name,
                self.account()
            )));
        }
        Ok(())
    }

    /// LimitExceededException when adding `extra` open shards to the stream of `h` would pass the account's shard
    /// limit. A Kafka topic not counted so far becomes a Kinesis stream by this change, so its open shards are
    /// added too.
    pub(crate) fn check_account_shards(
        &self,
        h: &crate::store::StreamHandle,
        extra: u32,
    ) -> Result<(), KinesisError> {
        let cfg = &self.inner.cfg;
        let open = self.open_shards_in_account();
        let extra = if h.is_kinesis_stream() {
            extra
        } else {
            extra.saturating_add(h.record().shards.open_count())
        };
        if u64::from(open) + u64::from(extra) > u64::from(cfg.shard_limit) {
            return Err(KinesisError::LimitExceeded(format!(
                "This request would exceed the shard limit for the account {} in {}. Current shard count for \
                 the account: {open}. Limit: {}. Number of additional shards that would have resulted from this \
                 request: {extra}. Refer to the AWS Service Limits page \
                 (https://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and \
                 how to request higher limits.",
                cfg.account_id, cfg.region, cfg.shard_limit
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use strait_engine::{Engine, EngineConfig};

    use crate::clock::{Clock as _, ManualClock};
    use crate::envelope::WireFormat;
    use crate::operation::Operation;
    use crate::state::{Kinesis, KinesisConfig};
    use strait_aws::RequestContext;

    async fn open(path: &std::path::Path, clock: &ManualClock) -> (Engine, Kinesis) {
        let engine = Engine::open(EngineConfig {
            data_dir: path.to_path_buf(),
            ..Default::default()
        })
        .await
        .expect("engine");
        let k = Kinesis::open(
            engine.clone(),
            KinesisConfig::default(),
            Arc::new(clock.clone()),
        )
        .await
        .expect("kinesis");
        (engine, k)
    }

    /// A plan persisted before a crash (topic not yet grown, parent not sealed) is finished on the next open.
    #[tokio::test]
    async fn an_interrupted_reshard_is_finished_on_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = ManualClock::new(1_795_622_869_000);
        let (engine, k) = open(dir.path(), &clock).await;
        let body = br#"{"StreamName":"s","ShardCount":1}"#;
        assert_eq!(
            k.handle(
                &RequestContext::allow_all(),
                Operation::CreateStream,
                WireFormat::Json,
                body
            )
            .await
            .status,
            200
        );
        let (h, r) = k.lookup("s").expect("stream");
        let plan = r
            .shards
            .plan_split(0, 1u128 << 127, clock.now_ms())
            .expect("plan");
        // Step 1 only, as if the process died right after persisting the plan.
        k.inner
            .store
            .update(&h, move |rec| {
                rec.pending_plan = Some(plan);
                Ok(())
            })
            .await
            .expect("persist plan");
        engine.shutdown().await.expect("shutdown");
        drop((engine, k, h));

        let (engine, k) = open(dir.path(), &clock).await;
        let (_, r) = k.lookup("s").expect("stream");
        assert!(r.pending_plan.is_none(), "plan finished");
        assert_eq!(r.shards.open_count(), 2);
        assert!(r.shards.shard(0).expect("parent").closed.is_some());
        assert_eq!(engine.topic("s").expect("topic").partitions, 3);
        assert!(engine.partition("s", 0).expect("p0").is_sealed());
        engine.shutdown().await.expect("shutdown");
    }
}
