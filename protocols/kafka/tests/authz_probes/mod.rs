//! Probes for the DenyAll test (`tests/authz.rs`) of the admin, offset, group-admin, transaction-admin and share
//! APIs: each sends a minimal valid request and returns the error code where Kafka puts its authorization error.
//! APIs whose Kafka answer under deny is an empty listing assert that and return 0.

use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::alter_share_group_offsets_request::{
    AlterShareGroupOffsetsRequestPartition, AlterShareGroupOffsetsRequestTopic,
};
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::delete_share_group_offsets_request::DeleteShareGroupOffsetsRequestTopic;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_share_group_offsets_request::{
    DescribeShareGroupOffsetsRequestGroup, DescribeShareGroupOffsetsRequestTopic,
};
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::*;

use strait_kafka::share::wire::{PartitionReq, ShareRequest, ShareResponse, TopicReq};

use crate::common::TestBroker;
use crate::common::records::name;
use crate::{CLUSTER, GROUP, TOPIC, TXN, s};

/// Kafka's config resource types.
const TOPIC_RESOURCE: i8 = 2;
const BROKER_RESOURCE: i8 = 4;

fn group(id: &str) -> GroupId {
    GroupId(s(id))
}

fn txn(id: &str) -> TransactionalId {
    TransactionalId(s(id))
}

pub(crate) async fn probe(t: &mut TestBroker, api: ApiKey) -> Option<i16> {
    Some(match api {
        ApiKey::OffsetForLeaderEpoch => {
            let req = OffsetForLeaderEpochRequest::default().with_topics(vec![
                OffsetForLeaderTopic::default()
                    .with_topic(name("t"))
                    .with_partitions(vec![
                        OffsetForLeaderPartition::default()
                            .with_partition(0)
                            .with_leader_epoch(0),
                    ]),
            ]);
            t.call(4, &req).await.topics[0].partitions[0].error_code
        }
        ApiKey::CreatePartitions => {
            let req = CreatePartitionsRequest::default().with_topics(vec![
                CreatePartitionsTopic::default()
                    .with_name(name("t"))
                    .with_count(2),
            ]);
            t.call(3, &req).await.results[0].error_code
        }
        ApiKey::DeleteRecords => {
            let req = DeleteRecordsRequest::default().with_topics(vec![
                DeleteRecordsTopic::default()
                    .with_name(name("t"))
                    .with_partitions(vec![
                        DeleteRecordsPartition::default()
                            .with_partition_index(0)
                            .with_offset(-1),
                    ]),
            ]);
            t.call(2, &req).await.topics[0].partitions[0].error_code
        }
        ApiKey::DescribeConfigs => {
            let resource = |kind, n: &str| {
                DescribeConfigsResource::default()
                    .with_resource_type(kind)
                    .with_resource_name(s(n))
            };
            let req = DescribeConfigsRequest::default().with_resources(vec![
                resource(TOPIC_RESOURCE, "t"),
                resource(BROKER_RESOURCE, "1"),
            ]);
            let r = t.call(4, &req).await;
            assert_eq!(r.results[1].error_code, CLUSTER);
            assert!(r.results[0].configs.is_empty());
            r.results[0].error_code
        }
        ApiKey::AlterConfigs => {
            use kafka_protocol::messages::alter_configs_request::{
                AlterConfigsResource, AlterableConfig,
            };
            let config = AlterableConfig::default()
                .with_name(s("retention.ms"))
                .with_value(Some(s("1000")));
            let req = AlterConfigsRequest::default().with_resources(vec![
                AlterConfigsResource::default()
                    .with_resource_type(TOPIC_RESOURCE)
                    .with_resource_name(s("t"))
                    .with_configs(vec![config]),
                AlterConfigsResource::default()
                    .with_resource_type(BROKER_RESOURCE)
                    .with_resource_name(s("1")),
            ]);
            let r = t.call(2, &req).await;
            assert_eq!(r.responses[1].error_code, CLUSTER);
            r.responses[0].error_code
        }
        ApiKey::IncrementalAlterConfigs => {
            use kafka_protocol::messages::incremental_alter_configs_request::{
                AlterConfigsResource, AlterableConfig,
            };
            let config = AlterableConfig::default()
                .with_name(s("retention.ms"))
                .with_config_operation(0)
                .with_value(Some(s("1000")));
            let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
                AlterConfigsResource::default()
                    .with_resource_type(TOPIC_RESOURCE)
                    .with_resource_name(s("t"))
                    .with_configs(vec![config]),
                AlterConfigsResource::default()
                    .with_resource_type(BROKER_RESOURCE)
                    .with_resource_name(s("1")),
            ]);
            let r = t.call(1, &req).await;
            assert_eq!(r.responses[1].error_code, CLUSTER);
            r.responses[0].error_code
        }
        ApiKey::FindCoordinator => {
            let txns = FindCoordinatorRequest::default()
                .with_key_type(1)
                .with_coordinator_keys(vec![s("x")]);
            assert_eq!(t.call(4, &txns).await.coordinators[0].error_code, TXN);
            let old = FindCoordinatorRequest::default().with_key(s("g"));
            assert_eq!(t.call(3, &old).await.error_code, GROUP);
            let groups = FindCoordinatorRequest::default().with_coordinator_keys(vec![s("g")]);
            t.call(4, &groups).await.coordinators[0].error_code
        }
        ApiKey::OffsetCommit => {
            let req = OffsetCommitRequest::default()
                .with_group_id(group("g"))
                .with_generation_id_or_member_epoch(-1)
                .with_topics(vec![
                    OffsetCommitRequestTopic::default()
                        .with_name(name("t"))
                        .with_partitions(vec![
                            OffsetCommitRequestPartition::default()
                                .with_partition_index(0)
                                .with_committed_offset(5),
                        ]),
                ]);
            t.call(8, &req).await.topics[0].partitions[0].error_code
        }
        ApiKey::OffsetFetch => {
            let old = OffsetFetchRequest::default()
                .with_group_id(group("g"))
                .with_topics(Some(vec![
                    OffsetFetchRequestTopic::default()
                        .with_name(name("t"))
                        .with_partition_indexes(vec![0]),
                ]));
            assert_eq!(t.call(7, &old).await.error_code, GROUP);
            assert_eq!(
                t.call(1, &old).await.topics[0].partitions[0].error_code,
                GROUP
            );
            let req = OffsetFetchRequest::default().with_groups(vec![
                OffsetFetchRequestGroup::default()
                    .with_group_id(group("g"))
                    .with_topics(Some(vec![
                        OffsetFetchRequestTopics::default()
                            .with_name(name("t"))
                            .with_partition_indexes(vec![0]),
                    ])),
            ]);
            t.call(8, &req).await.groups[0].error_code
        }
        ApiKey::OffsetDelete => {
            let req = OffsetDeleteRequest::default()
                .with_group_id(group("g"))
                .with_topics(vec![
                    OffsetDeleteRequestTopic::default()
                        .with_name(name("t"))
                        .with_partitions(vec![
                            OffsetDeleteRequestPartition::default().with_partition_index(0),
                        ]),
                ]);
            t.call(0, &req).await.error_code
        }
        ApiKey::ListGroups => {
            let r = t.call(5, &ListGroupsRequest::default()).await;
            assert!(r.groups.is_empty(), "{:?}", r.groups);
            r.error_code
        }
        ApiKey::DescribeGroups => {
            let req = DescribeGroupsRequest::default().with_groups(vec![group("g")]);
            t.call(5, &req).await.groups[0].error_code
        }
        ApiKey::DeleteGroups => {
            let req = DeleteGroupsRequest::default().with_groups_names(vec![group("g")]);
            t.call(2, &req).await.results[0].error_code
        }
        ApiKey::AddPartitionsToTxn => {
            let req = AddPartitionsToTxnRequest::default()
                .with_v3_and_below_transactional_id(txn("x"))
                .with_v3_and_below_producer_id(ProducerId(1))
                .with_v3_and_below_topics(vec![
                    AddPartitionsToTxnTopic::default()
                        .with_name(name("t"))
                        .with_partitions(vec![0]),
                ]);
            let r = t.call(3, &req).await;
            r.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code
        }
        ApiKey::TxnOffsetCommit => {
            let req = TxnOffsetCommitRequest::default()
                .with_transactional_id(txn("x"))
                .with_group_id(group("g"))
                .with_producer_id(ProducerId(1))
                .with_topics(vec![
                    TxnOffsetCommitRequestTopic::default()
                        .with_name(name("t"))
                        .with_partitions(vec![
                            TxnOffsetCommitRequestPartition::default()
                                .with_partition_index(0)
                                .with_committed_offset(1),
                        ]),
                ]);
            t.call(3, &req).await.topics[0].partitions[0].error_code
        }
        ApiKey::DescribeProducers => {
            use kafka_protocol::messages::describe_producers_request::TopicRequest;
            let req = DescribeProducersRequest::default().with_topics(vec![
                TopicRequest::default()
                    .with_name(name("t"))
                    .with_partition_indexes(vec![0]),
            ]);
            t.call(0, &req).await.topics[0].partitions[0].error_code
        }
        ApiKey::DescribeTopicPartitions => {
            use kafka_protocol::messages::describe_topic_partitions_request::TopicRequest;
            let req = DescribeTopicPartitionsRequest::default()
                .with_topics(vec![TopicRequest::default().with_name(name("t"))]);
            let r = t.call(0, &req).await;
            assert!(r.topics[0].partitions.is_empty(), "nothing disclosed");
            r.topics[0].error_code
        }
        ApiKey::DescribeTransactions => {
            let req = DescribeTransactionsRequest::default().with_transactional_ids(vec![txn("x")]);
            t.call(0, &req).await.transaction_states[0].error_code
        }
        ApiKey::ListTransactions => {
            let r = t.call(1, &ListTransactionsRequest::default()).await;
            assert!(r.transaction_states.is_empty());
            r.error_code
        }
        ApiKey::ConsumerGroupDescribe => {
            let req = ConsumerGroupDescribeRequest::default().with_group_ids(vec![group("g")]);
            t.call(1, &req).await.groups[0].error_code
        }
        ApiKey::ShareGroupDescribe => {
            let req = ShareGroupDescribeRequest::default().with_group_ids(vec![group("g")]);
            t.call(1, &req).await.groups[0].error_code
        }
        ApiKey::ShareFetch | ApiKey::ShareAcknowledge => {
            let id = t.broker.engine().topic("t").expect("topic").id;
            let q = ShareRequest {
                group_id: Some("g".into()),
                member_id: Some("m".into()),
                session_epoch: 0,
                topics: vec![TopicReq {
                    topic_id: id,
                    partitions: vec![PartitionReq {
                        partition: 0,
                        acks: Vec::new(),
                    }],
                }],
                ..Default::default()
            };
            share_call(t, api, &q).await.error_code
        }
        ApiKey::DescribeShareGroupOffsets => {
            let req = DescribeShareGroupOffsetsRequest::default().with_groups(vec![
                DescribeShareGroupOffsetsRequestGroup::default()
                    .with_group_id(group("g"))
                    .with_topics(Some(vec![
                        DescribeShareGroupOffsetsRequestTopic::default()
                            .with_topic_name(name("t"))
                            .with_partitions(vec![0]),
                    ])),
            ]);
            t.call(0, &req).await.groups[0].error_code
        }
        ApiKey::AlterShareGroupOffsets => {
            let req = AlterShareGroupOffsetsRequest::default()
                .with_group_id(group("g"))
                .with_topics(vec![
                    AlterShareGroupOffsetsRequestTopic::default()
                        .with_topic_name(name("t"))
                        .with_partitions(vec![
                            AlterShareGroupOffsetsRequestPartition::default()
                                .with_partition_index(0)
                                .with_start_offset(0),
                        ]),
                ]);
            t.call(0, &req).await.error_code
        }
        ApiKey::DeleteShareGroupOffsets => {
            let req = DeleteShareGroupOffsetsRequest::default()
                .with_group_id(group("g"))
                .with_topics(vec![
                    DeleteShareGroupOffsetsRequestTopic::default().with_topic_name(name("t")),
                ]);
            t.call(0, &req).await.error_code
        }
        ApiKey::DescribeAcls => t.call(3, &acl_filter()).await.error_code,
        ApiKey::CreateAcls => {
            let req = CreateAclsRequest::default().with_creations(vec![
                create_acls_request::AclCreation::default()
                    .with_resource_type(2)
                    .with_resource_name(s("t"))
                    .with_resource_pattern_type(3)
                    .with_principal(s("User:x"))
                    .with_host(s("*"))
                    .with_operation(3)
                    .with_permission_type(3),
            ]);
            t.call(3, &req).await.results[0].error_code
        }
        ApiKey::DeleteAcls => {
            let f = acl_filter();
            let req = DeleteAclsRequest::default().with_filters(vec![
                delete_acls_request::DeleteAclsFilter::default()
                    .with_resource_type_filter(f.resource_type_filter)
                    .with_pattern_type_filter(f.pattern_type_filter)
                    .with_operation(f.operation)
                    .with_permission_type(f.permission_type),
            ]);
            t.call(3, &req).await.filter_results[0].error_code
        }
        _ => return None,
    })
}

/// A DescribeAcls request for every binding (type, pattern, operation and permission ANY).
fn acl_filter() -> DescribeAclsRequest {
    DescribeAclsRequest::default()
        .with_resource_type_filter(1)
        .with_pattern_type_filter(1)
        .with_operation(1)
        .with_permission_type(1)
}

/// The code `probe` returns for `api` under DenyAll, if it probes it.
pub(crate) fn expected(api: ApiKey) -> Option<i16> {
    Some(match api {
        ApiKey::OffsetForLeaderEpoch
        | ApiKey::CreatePartitions
        | ApiKey::DeleteRecords
        | ApiKey::DescribeProducers
        | ApiKey::DescribeTopicPartitions
        | ApiKey::DescribeConfigs
        | ApiKey::AlterConfigs
        | ApiKey::IncrementalAlterConfigs => TOPIC,
        ApiKey::FindCoordinator
        | ApiKey::OffsetCommit
        | ApiKey::OffsetFetch
        | ApiKey::OffsetDelete
        | ApiKey::DescribeGroups
        | ApiKey::DeleteGroups
        | ApiKey::ConsumerGroupDescribe
        | ApiKey::ShareGroupDescribe
        | ApiKey::ShareFetch
        | ApiKey::ShareAcknowledge
        | ApiKey::DescribeShareGroupOffsets
        | ApiKey::AlterShareGroupOffsets
        | ApiKey::DeleteShareGroupOffsets => GROUP,
        ApiKey::AddPartitionsToTxn | ApiKey::TxnOffsetCommit | ApiKey::DescribeTransactions => TXN,
        ApiKey::DescribeAcls | ApiKey::CreateAcls | ApiKey::DeleteAcls => CLUSTER,
        // Kafka filters these listings to what the principal may describe: empty, no error.
        ApiKey::ListGroups | ApiKey::ListTransactions => 0,
        _ => return None,
    })
}

/// Sends a ShareFetch or ShareAcknowledge v2 (see `common::share`).
async fn share_call(t: &mut TestBroker, api: ApiKey, q: &ShareRequest) -> ShareResponse {
    crate::common::share::share_call(t, api == ApiKey::ShareFetch, q).await
}
