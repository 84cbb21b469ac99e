//! IncrementalAlterConfigs (v0–1): SET, DELETE, APPEND and SUBTRACT applied to a topic's current overrides,
//! the merged set validated as a whole and written with one engine call. APPEND and SUBTRACT only apply to list
//! configs (`cleanup.policy`, the throttled-replica lists) and start from the effective value, as in Kafka.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse};
use kafka_protocol::protocol::StrBytes;
use strait_access::Operation;
use strait_engine::TopicConfig;

use super::Ctx;
use super::config_catalog::{
    self as catalog, ConfigType, RESOURCE_BROKER, RESOURCE_GROUP, RESOURCE_TOPIC,
};
use super::config_resources;
use super::group_configs;
use super::topic_configs::{self, ConfigMap};
use crate::broker::Broker;
use crate::error::ApiError;

/// Kafka's `AlterConfigOp.OpType` codes.
const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;

pub async fn handle(
    ctx: &mut Ctx<'_>,
    req: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let b = ctx.broker;
    let repeated = config_resources::repeated_resources(
        req.resources
            .iter()
            .map(|r| (r.resource_type, &*r.resource_name)),
    );
    let mut responses = Vec::with_capacity(req.resources.len());
    for r in &req.resources {
        let outcome = if repeated.contains(&(r.resource_type, r.resource_name.to_string())) {
            Err(config_resources::repeated_resource_error())
        } else if let Err(e) = super::authz::config_resource(
            ctx,
            Operation::AlterConfigs,
            r.resource_type,
            &r.resource_name,
        ) {
            Err(e)
        } else {
            alter(b, r, req.validate_only).await
        };
        let resp = AlterConfigsResourceResponse::default()
            .with_resource_type(r.resource_type)
            .with_resource_name(r.resource_name.clone());
        responses.push(match outcome {
            Ok(()) => resp.with_error_code(0).with_error_message(None),
            Err(e) => resp
                .with_error_code(e.code.code())
                .with_error_message(Some(StrBytes::from_string(e.message))),
        });
    }
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}

async fn alter(b: &Broker, r: &AlterConfigsResource, validate_only: bool) -> Result<(), ApiError> {
    let mut names = std::collections::HashSet::new();
    for c in &r.configs {
        if !names.insert(&*c.name) {
            return Err(config_resources::duplicate_keys_error());
        }
        if !(SET..=SUBTRACT).contains(&c.config_operation) {
            return Err(ApiError::new(
                ResponseError::InvalidRequest,
                format!(
                    "Unknown config operation {} for {}",
                    c.config_operation, c.name
                ),
            ));
        }
    }
    match r.resource_type {
        RESOURCE_TOPIC => {
            let engine = b.engine();
            let defaults = &engine.config().topic_defaults;
            // Held from the read of the current overrides to the write of the merged ones.
            let _writes = topic_configs::config_writes().await;
            let t = topic_configs::find_topic(engine, &r.resource_name)?;
            let mut overrides = topic_configs::overrides(engine, &t)?;
            for c in &r.configs {
                apply(&mut overrides, defaults, c)?;
            }
            let validated = topic_configs::validate(defaults, &overrides)?;
            if !validate_only {
                topic_configs::store(engine, &t, &validated).await?;
            }
            Ok(())
        }
        RESOURCE_BROKER => config_resources::reject_broker_change(
            b,
            &r.resource_name,
            r.configs.iter().map(|c| &*c.name),
        ),
        RESOURCE_GROUP => {
            let ops: Vec<(String, i8, Option<String>)> = r
                .configs
                .iter()
                .map(|c| {
                    (
                        c.name.to_string(),
                        c.config_operation,
                        c.value.as_ref().map(|v| v.to_string()),
                    )
                })
                .collect();
            group_configs::alter(b, &r.resource_name, &ops, validate_only).await
        }
        other => Err(ApiError::new(
            ResponseError::InvalidRequest,
            format!(
                "Unsupported resource type: {}",
                config_resources::resource_type_name(other)
            ),
        )),
    }
}

fn apply(
    overrides: &mut ConfigMap,
    defaults: &TopicConfig,
    c: &AlterableConfig,
) -> Result<(), ApiError> {
    let name = c.name.to_string();
    let key = catalog::topic_key(&name).ok_or_else(|| catalog::unknown_key(&name))?;
    match c.config_operation {
        SET => {
            let value = topic_configs::require_value(&name, c.value.as_ref())?;
            overrides.insert(name, value);
        }
        DELETE => {
            overrides.remove(&name);
        }
        op => {
            let verb = if op == APPEND { "APPEND" } else { "SUBTRACT" };
            if key.ty != ConfigType::List {
                return Err(ApiError::new(
                    ResponseError::InvalidConfig,
                    format!("Can't {verb} to key {name} because its type is not LIST."),
                ));
            }
            let values = split(&topic_configs::require_value(&name, c.value.as_ref())?);
            // The current value is the override, else what the topic gets by default.
            let current = match overrides.get(&name) {
                Some(v) => v.clone(),
                None if key.enforced => defaults.get(&name).unwrap_or_default(),
                None => key.default.to_string(),
            };
            let mut items = split(&current);
            if op == APPEND {
                for v in values {
                    if !items.contains(&v) {
                        items.push(v);
                    }
                }
            } else {
                items.retain(|i| !values.contains(i));
            }
            overrides.insert(name, items.join(","));
        }
    }
    Ok(())
}

fn split(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}
