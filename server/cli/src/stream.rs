//! `strait stream list|describe|create|delete|split|merge`: the Kinesis view of streams, shards and resharding.

use std::time::Duration;

use aws_sdk_kinesis::types::{Shard, StreamStatus};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::args::Global;
use crate::error::{CliError, Result};
use crate::kinesis;
use crate::output::{Table, emit, opt};

/// How long split/merge/create wait for the stream to be ACTIVE again.
const WAIT: Duration = Duration::from_secs(60);

#[derive(Debug, Args)]
pub struct StreamArgs {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: StreamCommand,
}

#[derive(Debug, Subcommand)]
pub enum StreamCommand {
    /// Lists streams with their status.
    #[command(visible_alias = "ls")]
    List,
    /// Describes a stream: status, retention, and every shard with its hash-key range, sequence-number range,
    /// open/closed state and parents.
    Describe { stream: String },
    /// Creates a stream (provisioned, with --shards shards) and waits until it is ACTIVE.
    Create {
        stream: String,
        #[arg(long, default_value_t = 1)]
        shards: i32,
    },
    /// Deletes a stream.
    Delete { stream: String },
    /// Splits a shard in two at a hash key (default: the middle of its range) and waits until ACTIVE.
    Split {
        stream: String,
        shard: String,
        /// The first hash key of the second child (decimal).
        #[arg(long)]
        at: Option<String>,
    },
    /// Merges two adjacent shards into one and waits until ACTIVE.
    Merge {
        stream: String,
        shard: String,
        adjacent: String,
    },
}

pub(crate) async fn run(args: StreamArgs) -> Result<()> {
    let g = args.global;
    let ep = g.aws_endpoint.clone();
    let k = kinesis::client(&ep);
    match args.command {
        StreamCommand::List => {
            let mut names = Vec::new();
            let mut token = None;
            loop {
                let resp = k
                    .list_streams()
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| kinesis::error(&ep, e))?;
                for s in resp.stream_summaries() {
                    names.push((
                        s.stream_name().to_string(),
                        s.stream_status().as_str().to_string(),
                    ));
                }
                token = resp.next_token().map(str::to_string);
                if token.is_none() || !resp.has_more_streams() {
                    break;
                }
            }
            let json = Value::Array(
                names
                    .iter()
                    .map(|(n, s)| json!({"stream": n, "status": s}))
                    .collect(),
            );
            emit(g.output, &json, || {
                let mut t = Table::new(&["STREAM", "STATUS"]);
                for (n, s) in &names {
                    t.row(vec![n.clone(), s.clone()]);
                }
                t.render()
            })
        }
        StreamCommand::Describe { stream } => describe(&k, &g, &stream).await,
        StreamCommand::Create { stream, shards } => {
            k.create_stream()
                .stream_name(&stream)
                .shard_count(shards)
                .send()
                .await
                .map_err(|e| kinesis::error(&ep, e))?;
            wait_active(&k, &ep, &stream).await?;
            describe(&k, &g, &stream).await
        }
        StreamCommand::Delete { stream } => {
            k.delete_stream()
                .stream_name(&stream)
                .send()
                .await
                .map_err(|e| kinesis::error(&ep, e))?;
            emit(
                g.output,
                &json!({"stream": stream, "status": "DELETING"}),
                || format!("deleting {stream}\n"),
            )
        }
        StreamCommand::Split { stream, shard, at } => {
            let at = match at {
                Some(a) => a,
                None => midpoint(&k, &ep, &stream, &shard).await?,
            };
            k.split_shard()
                .stream_name(&stream)
                .shard_to_split(&shard)
                .new_starting_hash_key(&at)
                .send()
                .await
                .map_err(|e| kinesis::error(&ep, e))?;
            wait_active(&k, &ep, &stream).await?;
            describe(&k, &g, &stream).await
        }
        StreamCommand::Merge {
            stream,
            shard,
            adjacent,
        } => {
            k.merge_shards()
                .stream_name(&stream)
                .shard_to_merge(&shard)
                .adjacent_shard_to_merge(&adjacent)
                .send()
                .await
                .map_err(|e| kinesis::error(&ep, e))?;
            wait_active(&k, &ep, &stream).await?;
            describe(&k, &g, &stream).await
        }
    }
}

/// Every shard of the stream, open and closed (ListShards, all pages).
pub(crate) async fn shards(
    k: &aws_sdk_kinesis::Client,
    ep: &str,
    stream: &str,
) -> Result<Vec<Shard>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        // ListShards takes either the stream name or a next token, never both.
        let req = match &token {
            Some(t) => k.list_shards().next_token(t),
            None => k.list_shards().stream_name(stream),
        };
        let resp = req.send().await.map_err(|e| kinesis::error(ep, e))?;
        out.extend(resp.shards().iter().cloned());
        token = resp.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}

/// The middle of a shard's hash-key range, where an even split puts the second child's first key.
async fn midpoint(
    k: &aws_sdk_kinesis::Client,
    ep: &str,
    stream: &str,
    shard: &str,
) -> Result<String> {
    let all = shards(k, ep, stream).await?;
    let s = all
        .iter()
        .find(|s| s.shard_id() == shard)
        .ok_or_else(|| CliError::Aws {
            code: "ResourceNotFoundException".into(),
            message: format!("shard {shard} is not in stream {stream}"),
        })?;
    let range = s.hash_key_range();
    let parse = |v: &str| {
        v.parse::<u128>()
            .map_err(|_| CliError::Protocol(format!("hash key {v:?} is not a number")))
    };
    let (lo, hi) = match range {
        Some(r) => (parse(r.starting_hash_key())?, parse(r.ending_hash_key())?),
        None => {
            return Err(CliError::Protocol(format!(
                "shard {shard} has no hash-key range"
            )));
        }
    };
    Ok((lo + (hi - lo) / 2 + 1).to_string())
}

async fn wait_active(k: &aws_sdk_kinesis::Client, ep: &str, stream: &str) -> Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let d = k
            .describe_stream_summary()
            .stream_name(stream)
            .send()
            .await
            .map_err(|e| kinesis::error(ep, e))?;
        if d.stream_description_summary()
            .is_some_and(|s| *s.stream_status() == StreamStatus::Active)
        {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(CliError::Protocol(format!(
                "stream {stream} not ACTIVE after {} s",
                WAIT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn shard_json(s: &Shard) -> Value {
    let seq = s.sequence_number_range();
    json!({
        "shard_id": s.shard_id(),
        "parent_shard_id": s.parent_shard_id(),
        "adjacent_parent_shard_id": s.adjacent_parent_shard_id(),
        "hash_key_range": s.hash_key_range().map(|r| json!({
            "start": r.starting_hash_key(), "end": r.ending_hash_key(),
        })),
        "sequence_number_range": seq.map(|r| json!({
            "start": r.starting_sequence_number(), "end": r.ending_sequence_number(),
        })),
        // A shard is closed once its range has an end: it was split or merged away.
        "open": seq.is_none_or(|r| r.ending_sequence_number().is_none()),
    })
}

async fn describe(k: &aws_sdk_kinesis::Client, g: &Global, stream: &str) -> Result<()> {
    let ep = &g.aws_endpoint;
    let d = k
        .describe_stream_summary()
        .stream_name(stream)
        .send()
        .await
        .map_err(|e| kinesis::error(ep, e))?;
    let s = d
        .stream_description_summary()
        .ok_or_else(|| CliError::Protocol("no stream description".into()))?;
    let shards = shards(k, ep, stream).await?;
    let status = s.stream_status().as_str().to_string();
    let mode = s
        .stream_mode_details()
        .map(|m| m.stream_mode().as_str().to_string());
    let json = json!({
        "stream": s.stream_name(),
        "arn": s.stream_arn(),
        "status": status,
        "mode": mode,
        "retention_hours": s.retention_period_hours(),
        "open_shards": s.open_shard_count(),
        "shards": shards.iter().map(shard_json).collect::<Vec<_>>(),
    });
    emit(g.output, &json, || {
        let mut out = format!(
            "STREAM       {}\nARN          {}\nSTATUS       {status}\nMODE         {}\nRETENTION    {} h\nOPEN-SHARDS  {}\n\n",
            s.stream_name(),
            s.stream_arn(),
            opt(mode.as_deref()),
            s.retention_period_hours(),
            s.open_shard_count(),
        );
        let mut t = Table::new(&[
            "SHARD",
            "STATE",
            "PARENT",
            "ADJACENT-PARENT",
            "HASH-KEY-START",
            "HASH-KEY-END",
        ]);
        for sh in &shards {
            let open = shard_json(sh)["open"].as_bool().unwrap_or(true);
            let r = sh.hash_key_range();
            t.row(vec![
                sh.shard_id().to_string(),
                if open { "open" } else { "closed" }.to_string(),
                opt(sh.parent_shard_id()),
                opt(sh.adjacent_parent_shard_id()),
                opt(r.map(|r| r.starting_hash_key())),
                opt(r.map(|r| r.ending_hash_key())),
            ]);
        }
        out.push_str(&t.render());
        out
    })
}
