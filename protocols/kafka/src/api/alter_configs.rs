//! AlterConfigs (v0–2), the legacy non-incremental API: the given configs become the topic's complete override
//! set (keys not listed return to their defaults), as in Kafka. validate_only checks without changing.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_configs_request::AlterConfigsResource;
use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};
use kafka_protocol::protocol::StrBytes;
use strait_access::Operation;

use super::Ctx;
use super::config_catalog::{RESOURCE_BROKER, RESOURCE_TOPIC};
use super::config_resources;
use super::topic_configs::{self, ConfigMap};
use crate::broker::Broker;
use crate::error::ApiError;

pub async fn handle(ctx: &mut Ctx<'_>, req: AlterConfigsRequest) -> AlterConfigsResponse {
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
    AlterConfigsResponse::default().with_responses(responses)
}

async fn alter(b: &Broker, r: &AlterConfigsResource, validate_only: bool) -> Result<(), ApiError> {
    match r.resource_type {
        RESOURCE_TOPIC => {
            let mut wanted = ConfigMap::new();
            for c in &r.configs {
                let value = topic_configs::require_value(&c.name, c.value.as_ref())?;
                if wanted.insert(c.name.to_string(), value).is_some() {
                    return Err(config_resources::duplicate_keys_error());
                }
            }
            let engine = b.engine();
            let _writes = topic_configs::config_writes().await;
            let t = topic_configs::find_topic(engine, &r.resource_name)?;
            let validated = topic_configs::validate(&engine.config().topic_defaults, &wanted)?;
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
        other => Err(ApiError::new(
            ResponseError::InvalidRequest,
            format!(
                "Unsupported resource type: {}",
                config_resources::resource_type_name(other)
            ),
        )),
    }
}
