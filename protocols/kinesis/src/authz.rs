//! What each Kinesis operation must be allowed to do, in Kafka's ACL terms: one exhaustive table
//! ([`required`]), so access control only adds ACLs and never touches handlers.
//!
//! A stream is a Kafka topic and a stream consumer (enhanced fan-out) is a consumer group, following the mapping
//! of `shared/notes/cluster-tiering-security.md` §4.3 (itself after AWS's MSK IAM-to-ACL mapping).

use strait_access::Operation as Acl;

use crate::operation::Operation;
use crate::value::Value;

/// What kind of resource an operation is judged on; its name comes from the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// The account as a whole (listings, account settings and limits).
    Cluster,
    /// The stream the request names (`StreamName`, `StreamARN`, or the stream of a `ConsumerARN`/`ResourceARN`).
    Stream,
    /// The consumer the request names (`ConsumerName` or `ConsumerARN`).
    Consumer,
    /// Nothing up front: the answer lists only the streams the principal may perform the operation on (ListStreams
    /// with TOPIC DESCRIBE, as Kafka's Metadata lists only the topics the principal may describe).
    Listed,
}

/// The ACL operation and subject `op` requires.
pub fn required(op: Operation) -> (Acl, Subject) {
    use Operation as O;
    match op {
        O::PutRecord | O::PutRecords => (Acl::Write, Subject::Stream),
        O::GetRecords | O::GetShardIterator | O::SubscribeToShard => (Acl::Read, Subject::Stream),
        O::DescribeStream
        | O::DescribeStreamSummary
        | O::ListShards
        | O::DescribeStreamConsumer
        | O::ListStreamConsumers
        | O::ListTagsForStream
        | O::ListTagsForResource
        | O::GetResourcePolicy => (Acl::Describe, Subject::Stream),
        O::ListStreams => (Acl::Describe, Subject::Listed),
        O::DescribeLimits | O::DescribeAccountSettings => (Acl::Describe, Subject::Cluster),
        O::UpdateAccountSettings => (Acl::AlterConfigs, Subject::Cluster),
        O::CreateStream => (Acl::Create, Subject::Stream),
        O::DeleteStream => (Acl::Delete, Subject::Stream),
        // Resharding changes the topic's partitions: Kafka's ALTER (CreatePartitions).
        O::UpdateShardCount | O::SplitShard | O::MergeShards => (Acl::Alter, Subject::Stream),
        O::IncreaseStreamRetentionPeriod
        | O::DecreaseStreamRetentionPeriod
        | O::AddTagsToStream
        | O::RemoveTagsFromStream
        | O::TagResource
        | O::UntagResource
        | O::UpdateStreamMode
        | O::StartStreamEncryption
        | O::StopStreamEncryption
        | O::EnableEnhancedMonitoring
        | O::DisableEnhancedMonitoring
        | O::PutResourcePolicy
        | O::DeleteResourcePolicy
        | O::UpdateMaxRecordSize
        | O::UpdateStreamRecordDistributionStrategy
        | O::UpdateStreamWarmThroughput => (Acl::AlterConfigs, Subject::Stream),
        O::RegisterStreamConsumer => (Acl::Read, Subject::Consumer),
        O::DeregisterStreamConsumer => (Acl::Delete, Subject::Consumer),
    }
}

/// A question whose ALLOW is enough instead of [`required`]'s: CreateStream may be allowed by CLUSTER CREATE
/// (Kafka's CreateTopics accepts either CLUSTER CREATE or TOPIC CREATE).
pub fn instead(op: Operation) -> Option<(Acl, Subject)> {
    match op {
        Operation::CreateStream => Some((Acl::Create, Subject::Cluster)),
        _ => None,
    }
}

/// A question that must be allowed besides [`required`]'s: SubscribeToShard reads through a registered consumer,
/// so it also needs GROUP READ on that consumer (as a Kafka consumer needs its group).
pub fn also(op: Operation) -> Option<(Acl, Subject)> {
    match op {
        Operation::SubscribeToShard => Some((Acl::Read, Subject::Consumer)),
        _ => None,
    }
}

/// The name of the stream or consumer `req` names ("" when it names none: the operation then fails validation
/// for an authorized caller, and is judged on the empty name for any other).
pub fn subject_name(subject: Subject, req: &Value) -> String {
    let arn = req
        .str("StreamARN")
        .or_else(|| req.str("ConsumerARN"))
        .or_else(|| req.str("ResourceARN"));
    match subject {
        Subject::Cluster | Subject::Listed => String::new(),
        Subject::Stream => req
            .str("StreamName")
            .map(str::to_string)
            .or_else(|| arn.and_then(|a| arn_part(a).map(|(s, _)| s.to_string())))
            .unwrap_or_default(),
        Subject::Consumer => req
            .str("ConsumerName")
            .map(str::to_string)
            .or_else(|| {
                req.str("ConsumerARN")
                    .and_then(|a| arn_part(a).and_then(|(_, c)| c.map(str::to_string)))
            })
            .unwrap_or_default(),
    }
}

/// (stream, consumer) of `...:stream/<stream>[/consumer/<consumer>:<secs>]`.
fn arn_part(arn: &str) -> Option<(&str, Option<&str>)> {
    let (_, path) = arn.split_once(":stream/")?;
    Some(match path.split_once("/consumer/") {
        None => (path, None),
        Some((stream, c)) => (stream, Some(c.rsplit_once(':').map_or(c, |(c, _)| c))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_names_or_arns() {
        let by_name = Value::map().with("StreamName", "s");
        assert_eq!(subject_name(Subject::Stream, &by_name), "s");
        let consumer = Value::map().with(
            "ConsumerARN",
            "arn:aws:kinesis:us-east-1:0:stream/s/consumer/c:17",
        );
        assert_eq!(subject_name(Subject::Stream, &consumer), "s");
        assert_eq!(subject_name(Subject::Consumer, &consumer), "c");
        assert_eq!(subject_name(Subject::Cluster, &consumer), "");
        assert_eq!(subject_name(Subject::Stream, &Value::map()), "");
    }
}
