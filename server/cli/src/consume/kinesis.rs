//! `strait consume --kinesis`: GetShardIterator then GetRecords on each shard in turn, following a closed
//! shard to its end (its iterator runs out) and printing what it reads like the Kafka path does.

use std::time::Duration;

use aws_sdk_kinesis::primitives::DateTime;
use aws_sdk_kinesis::types::ShardIteratorType;

use super::{ConsumeArgs, Printer};
use crate::error::{CliError, Result};
use crate::format::{Shown, kinesis_json};
use crate::kinesis;

/// Kinesis allows 5 GetRecords per second per shard; a round that read nothing waits this long.
const IDLE: Duration = Duration::from_millis(250);

pub(crate) async fn run(a: ConsumeArgs) -> Result<()> {
    let ep = a.global.aws_endpoint.clone();
    let k = kinesis::client(&ep);
    if a.sequence_number.is_some() && a.shard.len() != 1 {
        return Err(CliError::Usage(
            "--sequence-number belongs to one shard: give exactly one --shard".into(),
        ));
    }
    if a.offset.is_some() {
        return Err(CliError::Usage(
            "--offset is for Kafka; with --kinesis use --sequence-number".into(),
        ));
    }
    let shards: Vec<String> = if a.shard.is_empty() {
        crate::stream::shards(&k, &ep, &a.topic)
            .await?
            .iter()
            .map(|s| s.shard_id().to_string())
            .collect()
    } else {
        a.shard.clone()
    };
    let (kind, seq, ts) = if let Some(s) = &a.sequence_number {
        (ShardIteratorType::AtSequenceNumber, Some(s.clone()), None)
    } else if a.from_beginning {
        (ShardIteratorType::TrimHorizon, None, None)
    } else if let Some(ms) = a.timestamp {
        (
            ShardIteratorType::AtTimestamp,
            None,
            Some(DateTime::from_millis(ms)),
        )
    } else {
        (ShardIteratorType::Latest, None, None)
    };
    // (shard, iterator, caught up): a shard whose iterator is gone is closed and read to its end.
    let mut cursors: Vec<(String, Option<String>, bool)> = Vec::new();
    for shard in shards {
        let it = k
            .get_shard_iterator()
            .stream_name(&a.topic)
            .shard_id(&shard)
            .shard_iterator_type(kind.clone())
            .set_starting_sequence_number(seq.clone())
            .set_timestamp(ts)
            .send()
            .await
            .map_err(|e| kinesis::error(&ep, e))?;
        cursors.push((shard, it.shard_iterator().map(str::to_string), false));
    }
    let mut printer = Printer::new(&a);
    loop {
        if printer.done() || cursors.iter().all(|c| c.1.is_none()) {
            break;
        }
        if a.end && cursors.iter().all(|c| c.1.is_none() || c.2) {
            break;
        }
        let mut read = 0;
        for (shard, iterator, caught_up) in cursors.iter_mut() {
            let Some(it) = iterator.clone() else { continue };
            let resp = k
                .get_records()
                .shard_iterator(it)
                .send()
                .await
                .map_err(|e| kinesis::error(&ep, e))?;
            for r in resp.records() {
                let data = bytes::Bytes::copy_from_slice(r.data().as_ref());
                let key = bytes::Bytes::from(r.partition_key().unwrap_or("").to_string());
                let shown = Shown {
                    topic: &a.topic,
                    partition: shard.clone(),
                    offset: r.sequence_number().to_string(),
                    timestamp: r
                        .approximate_arrival_timestamp()
                        .and_then(|t| t.to_millis().ok())
                        .unwrap_or(-1),
                    key: Some(&key),
                    value: Some(&data),
                    headers: &[],
                };
                printer.print(&shown, kinesis_json)?;
            }
            read += resp.records().len();
            *caught_up = resp.records().is_empty() && resp.millis_behind_latest() == Some(0);
            *iterator = resp.next_shard_iterator().map(str::to_string);
            if printer.done() {
                break;
            }
        }
        if read == 0 && !printer.done() {
            tokio::time::sleep(IDLE).await;
        }
    }
    printer.progress.finish();
    Ok(())
}
