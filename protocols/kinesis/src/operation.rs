//! The operations of the Kinesis Data Streams API (`Kinesis_20131202`), as named in `X-Amz-Target`.

/// The service part of every Kinesis `X-Amz-Target` header (botocore `targetPrefix`).
pub const TARGET_PREFIX: &str = "Kinesis_20131202";

// The operations of the botocore service model that Strait intends to serve or to refuse explicitly.
// Anything else is an unknown operation, exactly as AWS treats it.
strait_aws::aws_operations! {
    "kinesis";
    AddTagsToStream,
    CreateStream,
    DecreaseStreamRetentionPeriod,
    DeleteResourcePolicy,
    DeleteStream,
    DeregisterStreamConsumer,
    DescribeAccountSettings,
    DescribeLimits,
    DescribeStream,
    DescribeStreamConsumer,
    DescribeStreamSummary,
    DisableEnhancedMonitoring,
    EnableEnhancedMonitoring,
    GetRecords,
    GetResourcePolicy,
    GetShardIterator,
    IncreaseStreamRetentionPeriod,
    ListShards,
    ListStreamConsumers,
    ListStreams,
    ListTagsForResource,
    ListTagsForStream,
    MergeShards,
    PutRecord,
    PutRecords,
    PutResourcePolicy,
    RegisterStreamConsumer,
    RemoveTagsFromStream,
    SplitShard,
    StartStreamEncryption,
    StopStreamEncryption,
    SubscribeToShard,
    TagResource,
    UntagResource,
    UpdateAccountSettings,
    UpdateMaxRecordSize,
    UpdateShardCount,
    UpdateStreamMode,
    UpdateStreamRecordDistributionStrategy,
    UpdateStreamWarmThroughput,
}

impl Operation {
    /// The full `X-Amz-Target` value a client sends for this operation.
    pub fn target(self) -> String {
        format!("{TARGET_PREFIX}.{}", self.name())
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_sorted() {
        for op in Operation::ALL {
            assert_eq!(Operation::from_name(op.name()), Some(*op));
        }
        let names: Vec<&str> = Operation::ALL.iter().map(|o| o.name()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
    }

    #[test]
    fn lookup_is_case_sensitive() {
        assert_eq!(Operation::from_name("listStreams"), None);
        assert_eq!(Operation::from_name("ListStream"), None);
        assert_eq!(
            Operation::PutRecords.target(),
            "Kinesis_20131202.PutRecords"
        );
    }
}
