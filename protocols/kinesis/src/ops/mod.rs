//! One module per operation (`ops/<operation>.rs`, each with `handle(&Kinesis, &Value)`), plus the helpers
//! several share: `common` (stream lookup, standard messages, shared shapes), `write` (the PutRecord(s) path),
//! `reshard` (executing shard-map plans), `retention`, `monitoring` and `resource` (ARN-addressed resources).

mod add_tags_to_stream;
pub(crate) mod common;
mod create_stream;
mod decrease_stream_retention_period;
mod delete_resource_policy;
mod delete_stream;
mod deregister_stream_consumer;
mod describe_account_settings;
mod describe_limits;
mod describe_stream;
mod describe_stream_consumer;
mod describe_stream_summary;
mod disable_enhanced_monitoring;
mod enable_enhanced_monitoring;
mod get_records;
mod get_resource_policy;
mod get_shard_iterator;
mod increase_stream_retention_period;
mod list_shards;
mod list_stream_consumers;
mod list_streams;
mod list_tags_for_resource;
mod list_tags_for_stream;
mod merge_shards;
mod monitoring;
mod put_record;
mod put_records;
mod put_resource_policy;
mod register_stream_consumer;
mod remove_tags_from_stream;
mod reshard;
mod resource;
mod retention;
mod split_shard;
mod start_stream_encryption;
mod stop_stream_encryption;
mod tag_resource;
mod untag_resource;
mod update_account_settings;
mod update_max_record_size;
mod update_shard_count;
mod update_stream_mode;
mod update_stream_record_distribution_strategy;
mod update_stream_warm_throughput;
mod write;

use crate::error::KinesisError;
use crate::operation::Operation;
use crate::state::Kinesis;
use crate::value::Value;

/// Runs one validated request. The writes take the request by value so record data moves into the batch
/// instead of being copied.
/// Runs `op`. `visible` says which streams a listing may show (the caller's authorizer: TOPIC DESCRIBE).
pub(crate) async fn dispatch(
    k: &Kinesis,
    op: Operation,
    mut owned: Value,
    visible: &(dyn Fn(&str) -> bool + Sync),
) -> Result<Value, KinesisError> {
    let req = &owned;
    match op {
        Operation::AddTagsToStream => add_tags_to_stream::handle(k, req).await,
        Operation::CreateStream => create_stream::handle(k, req).await,
        Operation::DecreaseStreamRetentionPeriod => {
            decrease_stream_retention_period::handle(k, req).await
        }
        Operation::DeleteResourcePolicy => delete_resource_policy::handle(k, req).await,
        Operation::DeleteStream => delete_stream::handle(k, req).await,
        Operation::DeregisterStreamConsumer => deregister_stream_consumer::handle(k, req).await,
        Operation::DescribeAccountSettings => describe_account_settings::handle(k, req).await,
        Operation::DescribeLimits => describe_limits::handle(k, req).await,
        Operation::DescribeStream => describe_stream::handle(k, req).await,
        Operation::DescribeStreamConsumer => describe_stream_consumer::handle(k, req).await,
        Operation::DescribeStreamSummary => describe_stream_summary::handle(k, req).await,
        Operation::DisableEnhancedMonitoring => disable_enhanced_monitoring::handle(k, req).await,
        Operation::EnableEnhancedMonitoring => enable_enhanced_monitoring::handle(k, req).await,
        Operation::GetRecords => get_records::handle(k, req).await,
        Operation::GetResourcePolicy => get_resource_policy::handle(k, req).await,
        Operation::GetShardIterator => get_shard_iterator::handle(k, req).await,
        Operation::IncreaseStreamRetentionPeriod => {
            increase_stream_retention_period::handle(k, req).await
        }
        Operation::ListShards => list_shards::handle(k, req).await,
        Operation::ListStreamConsumers => list_stream_consumers::handle(k, req).await,
        Operation::ListStreams => list_streams::handle(k, req, visible).await,
        Operation::ListTagsForResource => list_tags_for_resource::handle(k, req).await,
        Operation::ListTagsForStream => list_tags_for_stream::handle(k, req).await,
        Operation::MergeShards => merge_shards::handle(k, req).await,
        Operation::PutRecord => put_record::handle(k, &mut owned).await,
        Operation::PutRecords => put_records::handle(k, &mut owned).await,
        Operation::PutResourcePolicy => put_resource_policy::handle(k, req).await,
        Operation::RegisterStreamConsumer => register_stream_consumer::handle(k, req).await,
        Operation::RemoveTagsFromStream => remove_tags_from_stream::handle(k, req).await,
        Operation::SplitShard => split_shard::handle(k, req).await,
        Operation::StartStreamEncryption => start_stream_encryption::handle(k, req).await,
        Operation::StopStreamEncryption => stop_stream_encryption::handle(k, req).await,
        Operation::TagResource => tag_resource::handle(k, req).await,
        Operation::UntagResource => untag_resource::handle(k, req).await,
        Operation::UpdateAccountSettings => update_account_settings::handle(k, req).await,
        Operation::UpdateMaxRecordSize => update_max_record_size::handle(k, req).await,
        Operation::UpdateShardCount => update_shard_count::handle(k, req).await,
        Operation::UpdateStreamMode => update_stream_mode::handle(k, req).await,
        Operation::UpdateStreamRecordDistributionStrategy => {
            update_stream_record_distribution_strategy::handle(k, req).await
        }
        Operation::UpdateStreamWarmThroughput => {
            update_stream_warm_throughput::handle(k, req).await
        }
        // An HTTP/2 event stream: served by the server's streaming glue, not as a request/response call.
        Operation::SubscribeToShard => Err(KinesisError::NotImplemented(op)),
    }
}
