//! GROUP config resources (KIP-848/KIP-932 dynamic group configs) for IncrementalAlterConfigs and
//! DescribeConfigs. Strait knows the share-group ones (`share::GROUP_CONFIG_KEYS`); they are stored per group in
//! the meta store and read when a share-partition starts (`share.auto.offset.reset`) or records are acquired
//! (`share.record.lock.duration.ms`).

use kafka_protocol::error::ResponseError;

use super::config_catalog::{ConfigType, SOURCE_DEFAULT};
use super::config_resources::{Described, synonym};
use crate::broker::Broker;
use crate::coordinator::share::GROUP_CONFIG_KEYS;
use crate::error::ApiError;

/// Kafka's `ConfigSource.GROUP_CONFIG`.
const SOURCE_GROUP: i8 = 8;

fn check(name: &str, value: &str) -> Result<(), ApiError> {
    let bad = |why: &str| {
        Err(ApiError::new(
            ResponseError::InvalidConfig,
            format!("Invalid value {value} for configuration {name}: {why}"),
        ))
    };
    match name {
        "share.auto.offset.reset" => match value {
            "latest" | "earliest" => Ok(()),
            _ => bad(
                "String must be one of: latest, earliest (by_duration is not supported by Strait)",
            ),
        },
        "share.record.lock.duration.ms" => match value.parse::<i64>() {
            Ok(v) if (15_000..=60_000).contains(&v) => Ok(()),
            _ => bad("Value must be an integer in [15000, 60000]"),
        },
        "share.isolation.level" => match value {
            "read_uncommitted" => Ok(()),
            _ => bad("Strait's share fetches read uncommitted; only read_uncommitted is supported"),
        },
        _ => Err(ApiError::new(
            ResponseError::InvalidConfig,
            format!("Unknown group config name: {name}"),
        )),
    }
}

/// Applies SET (0) and DELETE (1) operations to a group's configs, all or nothing. The change is committed
/// before this returns, and the share coordinator reads it back from committed state.
pub async fn alter(
    b: &Broker,
    group: &str,
    ops: &[(String, i8, Option<String>)],
    validate_only: bool,
) -> Result<(), ApiError> {
    if group.is_empty() {
        return Err(ApiError::new(
            ResponseError::InvalidRequest,
            "Group name must not be empty",
        ));
    }
    b.shares()
        .alter_group_configs(group, validate_only, |configs| {
            for (name, op, value) in ops {
                match op {
                    0 => {
                        let v = value.clone().ok_or_else(|| {
                            ApiError::new(
                                ResponseError::InvalidRequest,
                                format!("Null value not supported for: {name}"),
                            )
                        })?;
                        check(name, &v)?;
                        configs.insert(name.clone(), v);
                    }
                    1 => {
                        check(
                            name,
                            GROUP_CONFIG_KEYS
                                .iter()
                                .find(|k| k.0 == name)
                                .map_or("", |k| k.1),
                        )?;
                        configs.remove(name);
                    }
                    _ => {
                        return Err(ApiError::new(
                            ResponseError::InvalidConfig,
                            format!(
                                "Can't APPEND or SUBTRACT to key {name} because its type is not LIST."
                            ),
                        ));
                    }
                }
            }
            Ok(())
        })
        .await
}

/// Every known group config with its value: the group's override, else the default.
pub fn describe(b: &Broker, group: &str) -> Result<Vec<Described>, ApiError> {
    let shares = b.shares();
    let configs = shares.group_configs(&shares.lock(), group);
    Ok(GROUP_CONFIG_KEYS
        .iter()
        .map(|(name, default, doc)| {
            let mut synonyms = Vec::new();
            if let Some(v) = configs.get(*name) {
                synonyms.push(synonym(name, v, SOURCE_GROUP));
            }
            synonyms.push(synonym(name, default, SOURCE_DEFAULT));
            let ty = if name.ends_with(".ms") {
                ConfigType::Int
            } else {
                ConfigType::String
            };
            Described {
                name: name.to_string(),
                value: configs
                    .get(*name)
                    .cloned()
                    .unwrap_or_else(|| default.to_string()),
                source: synonyms[0].source,
                read_only: false,
                ty,
                doc,
                synonyms,
            }
        })
        .collect())
}
