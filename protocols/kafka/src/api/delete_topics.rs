//! DeleteTopics (v1–6): deletes exactly the topics named, by name (v1–5) or by name or id (v6), with Kafka 4.x's
//! answers for unknown names and ids, repeated entries and ambiguous entries.

use std::collections::{HashMap, HashSet};

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use strait_engine::TopicInfo;
use uuid::Uuid;

use super::Ctx;
use super::topic_configs::{self, ConfigMap};
use crate::broker::Broker;
use crate::error::ApiError;

/// A topic as the request names it: by name or (v6) by id.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Target {
    Name(String),
    Id(Uuid),
}

pub async fn handle(ctx: &mut Ctx<'_>, req: DeleteTopicsRequest) -> DeleteTopicsResponse {
    let b = ctx.broker;
    let entries: Vec<(Option<String>, Uuid)> = if ctx.version() >= 6 {
        req.topics
            .iter()
            .map(|t| (t.name.as_ref().map(|n| n.0.to_string()), t.topic_id))
            .collect()
    } else {
        req.topic_names
            .iter()
            .map(|n| (Some(n.0.to_string()), Uuid::nil()))
            .collect()
    };
    let target = |(name, id): &(Option<String>, Uuid)| match (name, id.is_nil()) {
        (Some(n), true) => Some(Target::Name(n.clone())),
        (None, false) => Some(Target::Id(*id)),
        _ => None,
    };
    let mut counts: HashMap<Target, usize> = HashMap::new();
    for t in entries.iter().filter_map(target) {
        *counts.entry(t).or_default() += 1;
    }
    // Every entry is resolved before anything is deleted, so that a later entry naming an already deleted topic
    // by its other identity is recognised as the same topic rather than reported unknown.
    let mut answered = HashSet::new();
    let mut resolved = Vec::with_capacity(entries.len());
    for entry in &entries {
        let (name, id) = entry;
        let Some(t) = target(entry) else {
            let message = if name.is_none() {
                "Neither topic name nor id were specified."
            } else {
                "You may not specify both topic name and topic id."
            };
            let e = ApiError::new(ResponseError::InvalidRequest, message);
            resolved.push((name.clone(), *id, Err(e)));
            continue;
        };
        if !answered.insert(t.clone()) {
            continue;
        }
        // A repeated entry is answered once and deletes nothing, as in Kafka.
        if counts[&t] > 1 {
            let message = match t {
                Target::Name(_) => "Duplicate topic name.",
                Target::Id(_) => "Duplicate topic ID.",
            };
            let e = ApiError::new(ResponseError::InvalidRequest, message);
            resolved.push((name.clone(), *id, Err(e)));
            continue;
        }
        // TOPIC DELETE, checked on the name before the topic is looked up (a denied principal does not learn
        // whether it exists); a topic named by id is checked once its name is known.
        let delete = strait_access::Operation::Delete;
        let found = match &t {
            Target::Name(n) => super::authz::topic(ctx, delete, n).and_then(|()| resolve(b, &t)),
            Target::Id(_) => resolve(b, &t)
                .and_then(|info| super::authz::topic(ctx, delete, &info.name).map(|()| info)),
        };
        resolved.push((name.clone(), *id, found));
    }
    let mut deleting = HashSet::new();
    let mut results = Vec::with_capacity(resolved.len());
    for (name, id, found) in resolved {
        results.push(match found {
            Ok(info) => {
                let outcome = delete(b, &info, &mut deleting).await;
                result(Some(info.name), info.id, outcome)
            }
            Err(e) => result(name, id, Err(e)),
        });
    }
    DeleteTopicsResponse::default().with_responses(results)
}

fn resolve(b: &Broker, t: &Target) -> Result<TopicInfo, ApiError> {
    use crate::topics::internal::{
        CONSUMER_OFFSETS, CONSUMER_OFFSETS_ID, delete_refused, is_internal,
    };
    match t {
        Target::Name(n) if is_internal(n) => Err(delete_refused(n)),
        Target::Id(i) if *i == CONSUMER_OFFSETS_ID => Err(delete_refused(CONSUMER_OFFSETS)),
        Target::Name(n) => b.engine().topic(n).ok_or_else(|| {
            ApiError::new(
                ResponseError::UnknownTopicOrPartition,
                format!("The topic '{n}' does not exist."),
            )
        }),
        Target::Id(i) => b
            .engine()
            .list_topics()
            .into_iter()
            .find(|t| t.id == *i)
            .ok_or_else(|| {
                ApiError::new(
                    ResponseError::UnknownTopicId,
                    format!("No topic has the id {i}."),
                )
            }),
    }
}

async fn delete(b: &Broker, t: &TopicInfo, deleting: &mut HashSet<Uuid>) -> Result<(), ApiError> {
    if !deleting.insert(t.id) {
        return Err(ApiError::new(
            ResponseError::InvalidRequest,
            "The provided topic name maps to an ID that was already supplied.",
        ));
    }
    let _writes = topic_configs::config_writes().await;
    b.engine().delete_topic(&t.name).await?;
    // The row is keyed by the dead topic's id, which is never reused, so failing to remove it leaves only
    // garbage; the deletion itself succeeded and is reported as such.
    if let Err(e) = topic_configs::store_extras(b.engine(), t.id, &ConfigMap::new()).await {
        tracing::warn!(topic = %t.name, error = %e, "could not remove stored-only configs of a deleted topic");
    }
    // Committed offsets go with the topic (as in Kafka), so a re-created topic does not resume consumers from
    // stale positions. The topic is already gone, so a failure here is logged, not reported.
    if let Err(e) = b.groups().delete_topic_offsets(&t.name).await {
        tracing::warn!(topic = %t.name, error = %e, "could not remove committed offsets of a deleted topic");
    }
    Ok(())
}

fn result(name: Option<String>, id: Uuid, outcome: Result<(), ApiError>) -> DeletableTopicResult {
    let r = DeletableTopicResult::default()
        .with_name(name.map(|n| TopicName(StrBytes::from_string(n))))
        .with_topic_id(id);
    match outcome {
        Ok(()) => r.with_error_code(0).with_error_message(None),
        Err(e) => r
            .with_error_code(e.code.code())
            .with_error_message(Some(StrBytes::from_string(e.message))),
    }
}
