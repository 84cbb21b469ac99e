//! CreatePartitions (v0–3): grows topics to a new partition count, checking manual assignments against this
//! single node, with Kafka 4.x's errors; validate_only checks without changing anything.

use std::collections::{HashMap, HashSet};

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};
use kafka_protocol::protocol::StrBytes;
use strait_access::Operation;

use super::Ctx;
use super::create_topics::{MAX_NEW_PARTITIONS, check_replicas};
use crate::broker::Broker;
use crate::error::ApiError;

pub async fn handle(ctx: &mut Ctx<'_>, req: CreatePartitionsRequest) -> CreatePartitionsResponse {
    let b = ctx.broker;
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for t in &req.topics {
        *counts.entry(&*t.name.0).or_default() += 1;
    }
    let mut answered = HashSet::new();
    let mut results = Vec::with_capacity(req.topics.len());
    for t in &req.topics {
        let name: &str = &t.name.0;
        if !answered.insert(name) {
            continue;
        }
        let outcome = if counts[name] > 1 {
            Err(ApiError::new(
                ResponseError::InvalidRequest,
                "Duplicate topic name.",
            ))
        } else if let Err(e) = super::authz::topic(ctx, Operation::Alter, name) {
            // Kafka checks TOPIC ALTER before the topic's existence.
            Err(e)
        } else {
            grow(b, t, req.validate_only).await
        };
        let r = CreatePartitionsTopicResult::default().with_name(t.name.clone());
        results.push(match outcome {
            Ok(()) => r.with_error_code(0).with_error_message(None),
            Err(e) => r
                .with_error_code(e.code.code())
                .with_error_message(Some(StrBytes::from_string(e.message))),
        });
    }
    CreatePartitionsResponse::default().with_results(results)
}

async fn grow(b: &Broker, t: &CreatePartitionsTopic, validate_only: bool) -> Result<(), ApiError> {
    let name: &str = &t.name.0;
    let info = b.engine().topic(name).ok_or_else(|| {
        ApiError::new(
            ResponseError::UnknownTopicOrPartition,
            format!("The topic '{name}' does not exist."),
        )
    })?;
    let current = i64::from(info.partitions);
    let count = i64::from(t.count);
    if count < current {
        return Err(ApiError::new(
            ResponseError::InvalidPartitions,
            format!(
                "The topic {name} currently has {current} partition(s); {count} would not be an increase."
            ),
        ));
    }
    if count == current {
        return Err(ApiError::new(
            ResponseError::InvalidPartitions,
            format!("Topic already has {current} partition(s)."),
        ));
    }
    let increase = count - current;
    if increase > MAX_NEW_PARTITIONS {
        return Err(ApiError::new(
            ResponseError::InvalidPartitions,
            format!(
                "Strait creates at most {MAX_NEW_PARTITIONS} partitions in one request; {increase} were asked for."
            ),
        ));
    }
    if let Some(assignments) = &t.assignments {
        if assignments.len() as i64 != increase {
            return Err(ApiError::new(
                ResponseError::InvalidReplicaAssignment,
                format!(
                    "Attempted to add {increase} additional partition(s), but only {} assignment(s) were \
                     specified.",
                    assignments.len()
                ),
            ));
        }
        for a in assignments {
            check_replicas(b, &a.broker_ids)?;
        }
    }
    if validate_only {
        return Ok(());
    }
    b.engine().create_partitions(name, count as u32).await?;
    Ok(())
}
