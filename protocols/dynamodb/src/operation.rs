//! The DynamoDB operations Strait serves, and what each must be allowed to do in Kafka's ACL terms: one
//! exhaustive table ([`required`]), so access control only adds ACLs and never touches handlers.
//!
//! A table is judged as [`strait_access::Resource::Table`] (KCL's lease table is named after the application,
//! i.e. the consumer group). Following `shared/notes/cluster-tiering-security.md` §4.3, reads are DESCRIBE and
//! item writes READ (committing a lease is what an offset commit is to Kafka, which needs GROUP READ).

use serde_json::Value as Json;
use strait_access::Operation as Acl;

strait_aws::aws_operations! {
    "dynamodb";
    CreateTable,
    DescribeTable,
    UpdateTable,
    DeleteTable,
    ListTables,
    UpdateContinuousBackups,
    DescribeContinuousBackups,
    TagResource,
    UntagResource,
    ListTagsOfResource,
    GetItem,
    PutItem,
    UpdateItem,
    DeleteItem,
    Scan,
    Query,
    BatchGetItem,
    BatchWriteItem,
    TransactWriteItems,
    TransactGetItems,
    DescribeTimeToLive,
    DescribeLimits,
    DescribeEndpoints,
    ListGlobalTables,
}

/// What an operation is judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// The account (listings, limits, endpoints).
    Cluster,
    /// Every table the request names.
    Tables,
}

/// The ACL operation and subject `op` requires. A table is judged as the consumer group of its name (a KCL lease
/// table is named after the application, whose group its checkpoints are offsets of), so the operations are the
/// ones Kafka defines for groups: reading the table is DESCRIBE, writing it READ (a Kafka offset commit needs
/// GROUP READ), and creating it READ too (a KCL worker creates its lease table when it starts).
pub fn required(op: Operation) -> (Acl, Subject) {
    use Operation as O;
    match op {
        O::CreateTable => (Acl::Read, Subject::Tables),
        O::DeleteTable => (Acl::Delete, Subject::Tables),
        O::DescribeTable
        | O::DescribeContinuousBackups
        | O::ListTagsOfResource
        | O::DescribeTimeToLive
        | O::GetItem
        | O::Scan
        | O::Query
        | O::BatchGetItem
        | O::TransactGetItems => (Acl::Describe, Subject::Tables),
        O::PutItem | O::UpdateItem | O::DeleteItem | O::BatchWriteItem | O::TransactWriteItems => {
            (Acl::Read, Subject::Tables)
        }
        O::UpdateTable | O::UpdateContinuousBackups | O::TagResource | O::UntagResource => {
            (Acl::AlterConfigs, Subject::Tables)
        }
        O::ListTables | O::DescribeLimits | O::DescribeEndpoints | O::ListGlobalTables => {
            (Acl::Describe, Subject::Cluster)
        }
    }
}

/// The tables a request names, each once, in order: `TableName`, a table ARN's name (`ResourceArn`), the keys of
/// `RequestItems` (batches) and the `TableName`s of `TransactItems`. A request naming none is judged on "".
pub fn tables_named(req: &Json) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |t: &str| {
        if !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    };
    if let Some(t) = req.get("TableName").and_then(Json::as_str) {
        add(t);
    }
    if let Some(arn) = req.get("ResourceArn").and_then(Json::as_str) {
        add(arn.split_once(":table/").map_or(arn, |(_, t)| t));
    }
    if let Some(items) = req.get("RequestItems").and_then(Json::as_object) {
        for t in items.keys() {
            add(t);
        }
    }
    for item in req
        .get("TransactItems")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        for kind in ["Get", "Put", "Update", "Delete", "ConditionCheck"] {
            if let Some(t) = item
                .get(kind)
                .and_then(|k| k.get("TableName"))
                .and_then(Json::as_str)
            {
                add(t);
            }
        }
    }
    if out.is_empty() {
        out.push(String::new());
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_enum_and_the_wire_list_agree() {
        let names: Vec<&str> = Operation::ALL.iter().map(|o| o.name()).collect();
        assert_eq!(names, crate::OPERATIONS.to_vec());
        for op in Operation::ALL {
            assert_eq!(Operation::from_name(op.name()), Some(*op));
        }
    }

    #[test]
    fn tables_come_from_every_place_a_request_names_them() {
        assert_eq!(tables_named(&json!({"TableName": "a"})), ["a"]);
        assert_eq!(
            tables_named(&json!({"ResourceArn": "arn:aws:dynamodb:r:0:table/b"})),
            ["b"]
        );
        assert_eq!(
            tables_named(&json!({"RequestItems": {"c": [], "d": []}})),
            ["c", "d"]
        );
        assert_eq!(
            tables_named(
                &json!({"TransactItems": [{"Put": {"TableName": "e"}}, {"Get": {"TableName": "e"}}]})
            ),
            ["e"]
        );
        assert_eq!(tables_named(&json!({})), [""]);
    }
}
