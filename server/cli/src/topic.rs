//! `strait topic list|describe|create|delete|alter-config`: Metadata, ListOffsets, DescribeConfigs, CreateTopics,
//! DeleteTopics and IncrementalAlterConfigs.

use clap::{Args, Subcommand};
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResourceResult;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{
    CreateTopicsRequest, DeleteTopicsRequest, DescribeConfigsRequest,
    IncrementalAlterConfigsRequest,
};
use kafka_protocol::protocol::StrBytes;
use serde_json::{Value, json};

use crate::args::{Global, parse_key_value};
use crate::error::{CliError, Result, check};
use crate::kafka::{Client, EARLIEST, LATEST, topic_name};
use crate::output::{Table, emit};

/// DescribeConfigs/IncrementalAlterConfigs resource type of a topic.
const TOPIC_RESOURCE: i8 = 2;
/// How long the broker may take to create or delete topics before answering.
const ADMIN_TIMEOUT_MS: i32 = 30_000;

#[derive(Debug, Args)]
pub struct TopicArgs {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: TopicCommand,
}

#[derive(Debug, Subcommand)]
pub enum TopicCommand {
    /// Lists topics with their partition and replica counts.
    #[command(visible_alias = "ls")]
    List {
        /// Includes internal topics (__consumer_offsets, ...).
        #[arg(long)]
        internal: bool,
    },
    /// Describes topics: partitions (leader, replicas, ISR, log start and end offsets) and configs.
    Describe {
        #[arg(required = true)]
        topics: Vec<String>,
        /// Shows every config in the table, not only those set on the topic (JSON always has all of them).
        #[arg(long)]
        all_configs: bool,
    },
    /// Creates topics.
    Create {
        #[arg(required = true)]
        topics: Vec<String>,
        /// Partitions [default: the broker's num.partitions].
        #[arg(long, short = 'p', default_value_t = -1, allow_negative_numbers = true)]
        partitions: i32,
        /// Replication factor [default: the broker's default.replication.factor].
        #[arg(long, short = 'r', default_value_t = -1, allow_negative_numbers = true)]
        replicas: i16,
        /// A topic config, key=value; repeatable.
        #[arg(long = "config", short = 'c', value_parser = parse_key_value)]
        configs: Vec<(String, String)>,
        /// Asks the broker to validate the request without creating anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// Deletes topics.
    Delete {
        #[arg(required = true)]
        topics: Vec<String>,
    },
    /// Sets or removes topic configs (IncrementalAlterConfigs: other configs are left as they are).
    AlterConfig {
        topic: String,
        /// key=value to set; repeatable.
        #[arg(long = "set", value_parser = parse_key_value)]
        set: Vec<(String, String)>,
        /// A key to remove (back to its default); repeatable.
        #[arg(long = "delete")]
        delete: Vec<String>,
    },
}

pub(crate) async fn run(args: TopicArgs) -> Result<()> {
    let g = args.global;
    let mut client = Client::connect(&g.brokers).await?;
    match args.command {
        TopicCommand::List { internal } => list(&mut client, &g, internal).await,
        TopicCommand::Describe {
            topics,
            all_configs,
        } => describe(&mut client, &g, &topics, all_configs).await,
        TopicCommand::Create {
            topics,
            partitions,
            replicas,
            configs,
            dry_run,
        } => {
            let req = CreateTopicsRequest::default()
                .with_timeout_ms(ADMIN_TIMEOUT_MS)
                .with_validate_only(dry_run)
                .with_topics(
                    topics
                        .iter()
                        .map(|t| {
                            CreatableTopic::default()
                                .with_name(topic_name(t))
                                .with_num_partitions(partitions)
                                .with_replication_factor(replicas)
                                .with_configs(
                                    configs
                                        .iter()
                                        .map(|(k, v)| {
                                            CreatableTopicConfig::default()
                                                .with_name(StrBytes::from_string(k.clone()))
                                                .with_value(Some(StrBytes::from_string(v.clone())))
                                        })
                                        .collect(),
                                )
                        })
                        .collect(),
                );
            let resp = client.call(&req, 7).await?;
            let rows: Vec<Outcome> = resp
                .topics
                .iter()
                .map(|t| {
                    (
                        t.name.as_str().to_string(),
                        t.error_code,
                        t.error_message.as_deref().map(str::to_string),
                        t.num_partitions,
                        t.replication_factor,
                    )
                })
                .collect();
            let verb = if dry_run { "validated" } else { "created" };
            report(
                &g,
                &rows,
                |(name, _, _, p, r)| json!({"topic": name, "partitions": p, "replication_factor": r}),
                verb,
            )
        }
        TopicCommand::Delete { topics } => {
            let v = client.version_of::<DeleteTopicsRequest>(6)?;
            let mut req = DeleteTopicsRequest::default().with_timeout_ms(ADMIN_TIMEOUT_MS);
            // v6 names topics in `topics` (which may carry ids); earlier versions in `topic_names`.
            if v >= 6 {
                req.topics = topics
                    .iter()
                    .map(|t| DeleteTopicState::default().with_name(Some(topic_name(t))))
                    .collect();
            } else {
                req.topic_names = topics.iter().map(|t| topic_name(t)).collect();
            }
            let resp = client.call(&req, 6).await?;
            let rows: Vec<Outcome> = resp
                .responses
                .iter()
                .map(|r| {
                    let name = r
                        .name
                        .as_ref()
                        .map(|n| n.as_str().to_string())
                        .unwrap_or_default();
                    (
                        name,
                        r.error_code,
                        r.error_message.as_deref().map(str::to_string),
                        0,
                        0,
                    )
                })
                .collect();
            report(&g, &rows, |(name, ..)| json!({"topic": name}), "deleted")
        }
        TopicCommand::AlterConfig { topic, set, delete } => {
            if set.is_empty() && delete.is_empty() {
                return Err(CliError::Usage(
                    "nothing to change: give --set k=v or --delete k".into(),
                ));
            }
            // Operations: 0 SET, 1 DELETE.
            let mut configs: Vec<AlterableConfig> = set
                .iter()
                .map(|(k, v)| {
                    AlterableConfig::default()
                        .with_name(StrBytes::from_string(k.clone()))
                        .with_config_operation(0)
                        .with_value(Some(StrBytes::from_string(v.clone())))
                })
                .collect();
            configs.extend(delete.iter().map(|k| {
                AlterableConfig::default()
                    .with_name(StrBytes::from_string(k.clone()))
                    .with_config_operation(1)
            }));
            let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
                AlterConfigsResource::default()
                    .with_resource_type(TOPIC_RESOURCE)
                    .with_resource_name(StrBytes::from_string(topic.clone()))
                    .with_configs(configs),
            ]);
            let resp = client.call(&req, 1).await?;
            for r in &resp.responses {
                check(
                    r.error_code,
                    format!("topic {topic}"),
                    r.error_message.as_deref(),
                )?;
            }
            let changed: Vec<Value> = set
                .iter()
                .map(|(k, v)| json!({"name": k, "value": v}))
                .chain(delete.iter().map(|k| json!({"name": k, "value": null})))
                .collect();
            emit(
                g.output,
                &json!({"topic": topic, "changed": changed}),
                || {
                    let mut t = Table::new(&["TOPIC", "CONFIG", "NEW-VALUE"]);
                    for (k, v) in &set {
                        t.row(vec![topic.clone(), k.clone(), v.clone()]);
                    }
                    for k in &delete {
                        t.row(vec![topic.clone(), k.clone(), "(default)".into()]);
                    }
                    t.render()
                },
            )
        }
    }
}

/// One topic's create/delete result: name, error code, error message, partitions, replication factor.
type Outcome = (String, i16, Option<String>, i32, i16);

/// Prints per-topic results of create/delete, then fails with the first error, so a script sees every outcome
/// and still gets a non-zero exit code.
fn report(
    g: &Global,
    rows: &[Outcome],
    ok_json: impl Fn(&Outcome) -> Value,
    verb: &str,
) -> Result<()> {
    let json: Vec<Value> = rows
        .iter()
        .map(|r| match CliError::kafka(r.1, "", r.2.as_deref()) {
            None => ok_json(r),
            Some(CliError::Kafka { code, .. }) => json!({
                "topic": r.0, "error": crate::error::kafka_name(code), "message": r.2,
            }),
            Some(other) => json!({"topic": r.0, "error": other.to_string()}),
        })
        .collect();
    emit(g.output, &Value::Array(json), || {
        let mut t = Table::new(&["TOPIC", "STATUS"]);
        for r in rows {
            let status = match CliError::kafka(r.1, "", r.2.as_deref()) {
                None => verb.to_string(),
                Some(CliError::Kafka { code, message, .. }) => {
                    let name = crate::error::kafka_name(code);
                    message.map_or(name.clone(), |m| format!("{name}: {m}"))
                }
                Some(other) => other.to_string(),
            };
            t.row(vec![r.0.clone(), status]);
        }
        t.render()
    })?;
    for r in rows {
        check(r.1, format!("topic {}", r.0), r.2.as_deref())?;
    }
    Ok(())
}

async fn list(client: &mut Client, g: &Global, internal: bool) -> Result<()> {
    let md = client.metadata(None).await?;
    let mut topics: Vec<_> = md
        .topics
        .iter()
        .filter(|t| internal || !t.is_internal)
        .map(|t| {
            let name = t
                .name
                .as_ref()
                .map(|n| n.as_str().to_string())
                .unwrap_or_default();
            let replicas = t.partitions.first().map_or(0, |p| p.replica_nodes.len());
            (name, t.partitions.len(), replicas, t.is_internal)
        })
        .collect();
    topics.sort();
    let json = Value::Array(
        topics
            .iter()
            .map(|(n, p, r, i)| json!({"name": n, "partitions": p, "replicas": r, "internal": i}))
            .collect(),
    );
    emit(g.output, &json, || {
        let mut t = Table::new(&["NAME", "PARTITIONS", "REPLICAS"]);
        for (n, p, r, _) in &topics {
            t.row(vec![n.clone(), p.to_string(), r.to_string()]);
        }
        t.render()
    })
}

/// Config sources (DescribeConfigs `config_source`), as Kafka's tools name them.
fn source_name(s: i8) -> &'static str {
    match s {
        1 => "DYNAMIC_TOPIC_CONFIG",
        2 => "DYNAMIC_BROKER_CONFIG",
        3 => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        4 => "STATIC_BROKER_CONFIG",
        5 => "DEFAULT_CONFIG",
        6 => "DYNAMIC_BROKER_LOGGER_CONFIG",
        7 => "CLIENT_METRICS_CONFIG",
        8 => "GROUP_CONFIG",
        _ => "UNKNOWN",
    }
}

async fn describe(client: &mut Client, g: &Global, topics: &[String], all: bool) -> Result<()> {
    let md = client.metadata(Some(topics)).await?;
    let req = DescribeConfigsRequest::default().with_resources(
        topics
            .iter()
            .map(|t| {
                DescribeConfigsResource::default()
                    .with_resource_type(TOPIC_RESOURCE)
                    .with_resource_name(StrBytes::from_string(t.clone()))
                    .with_configuration_keys(None)
            })
            .collect(),
    );
    let configs = client.call(&req, 4).await?;
    let mut out_json = Vec::new();
    let mut text = String::new();
    for t in &md.topics {
        let name = t
            .name
            .as_ref()
            .map(|n| n.as_str().to_string())
            .unwrap_or_default();
        check(t.error_code, format!("topic {name}"), None)?;
        let leaders = client.leaders(&name).await?;
        let ids: Vec<i32> = t.partitions.iter().map(|p| p.partition_index).collect();
        let starts = client.list_offsets(&name, &leaders, &ids, EARLIEST).await?;
        let ends = client.list_offsets(&name, &leaders, &ids, LATEST).await?;
        let mut parts: Vec<_> = t.partitions.iter().collect();
        parts.sort_by_key(|p| p.partition_index);
        let cfgs: Vec<&DescribeConfigsResourceResult> = match configs
            .results
            .iter()
            .find(|r| r.resource_name.as_str() == name)
        {
            Some(r) => {
                check(
                    r.error_code,
                    format!("configs of {name}"),
                    r.error_message.as_deref(),
                )?;
                r.configs.iter().collect()
            }
            None => Vec::new(),
        };
        let ids_of =
            |v: &[kafka_protocol::messages::BrokerId]| v.iter().map(|b| b.0).collect::<Vec<_>>();
        out_json.push(json!({
            "name": name,
            "topic_id": t.topic_id.to_string(),
            "internal": t.is_internal,
            "partitions": parts.iter().map(|p| json!({
                "partition": p.partition_index,
                "leader": p.leader_id.0,
                "replicas": ids_of(&p.replica_nodes),
                "isr": ids_of(&p.isr_nodes),
                "log_start_offset": starts.get(&p.partition_index),
                "high_watermark": ends.get(&p.partition_index),
            })).collect::<Vec<_>>(),
            "configs": cfgs.iter().map(|c| json!({
                "name": c.name.as_str(),
                "value": if c.is_sensitive { None } else { c.value.as_deref() },
                "source": source_name(c.config_source),
                "read_only": c.read_only,
                "sensitive": c.is_sensitive,
            })).collect::<Vec<_>>(),
        }));
        text.push_str(&format!(
            "NAME        {name}\nTOPIC-ID    {}\nPARTITIONS  {}\nREPLICAS    {}\n\n",
            t.topic_id,
            parts.len(),
            parts.first().map_or(0, |p| p.replica_nodes.len())
        ));
        let mut ct = Table::new(&["CONFIG", "VALUE", "SOURCE"]);
        for c in cfgs.iter().filter(|c| all || c.config_source == 1) {
            let value = if c.is_sensitive {
                "***"
            } else {
                c.value.as_deref().unwrap_or("")
            };
            ct.row(vec![
                c.name.as_str().into(),
                value.into(),
                source_name(c.config_source).into(),
            ]);
        }
        text.push_str(&ct.render());
        text.push('\n');
        let mut pt = Table::new(&[
            "PARTITION",
            "LEADER",
            "REPLICAS",
            "ISR",
            "LOG-START",
            "HIGH-WATERMARK",
        ]);
        for p in &parts {
            let list = |v: &[kafka_protocol::messages::BrokerId]| {
                ids_of(v)
                    .iter()
                    .map(i32::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            };
            pt.row(vec![
                p.partition_index.to_string(),
                p.leader_id.0.to_string(),
                list(&p.replica_nodes),
                list(&p.isr_nodes),
                crate::output::opt(starts.get(&p.partition_index)),
                crate::output::opt(ends.get(&p.partition_index)),
            ]);
        }
        text.push_str(&pt.render());
        text.push('\n');
    }
    emit(g.output, &Value::Array(out_json), || {
        text.trim_end().to_string() + "\n"
    })
}
