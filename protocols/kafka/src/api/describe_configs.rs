//! DescribeConfigs (v1–4): every config of a topic with its value and source (and synonyms, type and
//! documentation when asked) plus the read-only `strait.kinesis.hash.key.ranges` and `strait.closed.partitions`,
//! and the broker's read-only
//! settings under their Kafka names.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::protocol::StrBytes;
use strait_access::Operation;

use super::Ctx;
use super::closed_partitions;
use super::config_catalog::{RESOURCE_BROKER, RESOURCE_GROUP, RESOURCE_TOPIC};
use super::config_resources::{self, Described};
use super::group_configs;
use super::hash_key_ranges;
use super::topic_configs;
use crate::broker::Broker;
use crate::error::ApiError;

pub async fn handle(ctx: &mut Ctx<'_>, req: DescribeConfigsRequest) -> DescribeConfigsResponse {
    let b = ctx.broker;
    let results = req
        .resources
        .iter()
        .map(|r| {
            let base = DescribeConfigsResult::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone());
            let outcome = super::authz::config_resource(
                ctx,
                Operation::DescribeConfigs,
                r.resource_type,
                &r.resource_name,
            )
            .and_then(|()| describe(b, r));
            match outcome {
                Ok(entries) => base
                    .with_error_code(0)
                    .with_error_message(None)
                    .with_configs(
                        entries
                            .into_iter()
                            .filter(|d| wanted(r, &d.name))
                            .map(|d| entry(d, req.include_synonyms, req.include_documentation))
                            .collect(),
                    ),
                Err(e) => base
                    .with_error_code(e.code.code())
                    .with_error_message(Some(StrBytes::from_string(e.message))),
            }
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

fn describe(b: &Broker, r: &DescribeConfigsResource) -> Result<Vec<Described>, ApiError> {
    match r.resource_type {
        RESOURCE_TOPIC => {
            let engine = b.engine();
            let t = topic_configs::find_topic(engine, &r.resource_name)?;
            let overrides = topic_configs::overrides(engine, &t)?;
            let mut described =
                topic_configs::describe_topic(&engine.config().topic_defaults, &overrides);
            described.extend(hash_key_ranges::describe(engine, &t)?);
            described.extend(closed_partitions::describe(engine, &t)?);
            Ok(described)
        }
        RESOURCE_BROKER => {
            // An empty name asks for the cluster-wide dynamic broker defaults, of which Strait has none (its
            // broker settings are all static): Kafka answers that with an empty list too.
            if config_resources::check_broker_name(b, &r.resource_name)? {
                Ok(config_resources::describe_broker(b))
            } else {
                Ok(Vec::new())
            }
        }
        RESOURCE_GROUP => group_configs::describe(b, &r.resource_name),
        other => Err(ApiError::new(
            ResponseError::InvalidRequest,
            format!(
                "Unsupported resource type: {}",
                config_resources::resource_type_name(other)
            ),
        )),
    }
}

/// A null (or, as Kafka also treats it, empty) key list means every config; unknown keys are simply absent.
fn wanted(r: &DescribeConfigsResource, name: &str) -> bool {
    match &r.configuration_keys {
        None => true,
        Some(keys) => keys.is_empty() || keys.iter().any(|k| &**k == name),
    }
}

fn entry(d: Described, synonyms: bool, documentation: bool) -> DescribeConfigsResourceResult {
    let synonyms = if synonyms {
        d.synonyms
            .into_iter()
            .map(|s| {
                DescribeConfigsSynonym::default()
                    .with_name(StrBytes::from_string(s.name))
                    .with_value(Some(StrBytes::from_string(s.value)))
                    .with_source(s.source)
            })
            .collect()
    } else {
        Vec::new()
    };
    DescribeConfigsResourceResult::default()
        .with_name(StrBytes::from_string(d.name))
        .with_value(Some(StrBytes::from_string(d.value)))
        .with_read_only(d.read_only)
        .with_config_source(d.source)
        .with_is_sensitive(false)
        .with_synonyms(synonyms)
        .with_config_type(d.ty as i8)
        .with_documentation(documentation.then(|| StrBytes::from_static_str(d.doc)))
}
