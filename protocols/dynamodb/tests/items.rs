//! GetItem, PutItem, UpdateItem, DeleteItem with both condition syntaxes, ReturnValues and validation.

mod common;

use common::open;
use serde_json::json;

/// KCL's lease life cycle, in the legacy syntax it uses (DynamoDBLeaseRefresher / DynamoDBLeaseSerializer).
#[tokio::test]
async fn kcl_lease_flow_legacy_syntax() {
    let h = open().await;
    h.lease_table("app").await;
    let create = json!({"TableName": "app",
        "Item": {"leaseKey": {"S": "shardId-000"}, "leaseCounter": {"N": "0"}, "checkpoint": {"S": "TRIM_HORIZON"},
                 "ownerSwitchesSinceCheckpoint": {"N": "0"}, "parentShardId": {"SS": ["p1"]}},
        "Expected": {"leaseKey": {"Exists": false}}});
    h.ok("PutItem", create.clone()).await;
    let r = h
        .err("PutItem", create, "ConditionalCheckFailedException")
        .await;
    assert_eq!(
        r.body["__type"],
        "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"
    );
    assert_eq!(r.message(), "The conditional request failed");

    // takeLease: counter ADD 1, owner PUT, ownerSwitchesSinceCheckpoint ADD 1, expecting the counter.
    let take = json!({"TableName": "app", "Key": {"leaseKey": {"S": "shardId-000"}},
        "Expected": {"leaseCounter": {"Value": {"N": "0"}}},
        "AttributeUpdates": {
            "leaseCounter": {"Action": "ADD", "Value": {"N": "1"}},
            "leaseOwner": {"Action": "PUT", "Value": {"S": "worker-1"}},
            "ownerSwitchesSinceCheckpoint": {"Action": "ADD", "Value": {"N": "1"}}},
        "ReturnValues": "ALL_NEW"});
    let r = h.ok("UpdateItem", take.clone()).await;
    assert_eq!(r["Attributes"]["leaseCounter"], json!({"N": "1"}));
    assert_eq!(r["Attributes"]["leaseOwner"], json!({"S": "worker-1"}));
    // The same take again sees counter 1, not 0.
    h.err("UpdateItem", take, "ConditionalCheckFailedException")
        .await;

    // renewLease: expect counter = 1, PUT 2 (numbers compare by value: "1.0" equals "1").
    h.ok(
        "UpdateItem",
        json!({"TableName": "app", "Key": {"leaseKey": {"S": "shardId-000"}},
        "Expected": {"leaseCounter": {"Value": {"N": "1.0"}, "ComparisonOperator": "EQ"}},
        "AttributeUpdates": {"leaseCounter": {"Action": "PUT", "Value": {"N": "2"}}}}),
    )
    .await;

    // checkpoint: PUT fields, DELETE pending ones (DELETE without a value removes the attribute).
    h.ok("UpdateItem", json!({"TableName": "app", "Key": {"leaseKey": {"S": "shardId-000"}},
        "Expected": {"leaseCounter": {"Value": {"N": "2"}}, "leaseOwner": {"Value": {"S": "worker-1"}}},
        "AttributeUpdates": {
            "checkpoint": {"Action": "PUT", "Value": {"S": "49590338271490256608559692538361571095921575989136588898"}},
            "checkpointSubSequenceNumber": {"Action": "PUT", "Value": {"N": "0"}},
            "pendingCheckpoint": {"Action": "DELETE"},
            "ownerSwitchesSinceCheckpoint": {"Action": "PUT", "Value": {"N": "0"}},
            "parentShardId": {"Action": "DELETE", "Value": {"SS": ["p1"]}}}})).await;
    let g = h.ok("GetItem", json!({"TableName": "app", "Key": {"leaseKey": {"S": "shardId-000"}}, "ConsistentRead": true})).await;
    let item = &g["Item"];
    assert_eq!(
        item["checkpoint"]["S"],
        "49590338271490256608559692538361571095921575989136588898"
    );
    assert!(item.get("pendingCheckpoint").is_none());
    // Removing the last element of a set removes the attribute.
    assert!(item.get("parentShardId").is_none());

    // evictLease: expect owner, PUT owner null-ish (KCL DELETEs leaseOwner).
    h.err(
        "UpdateItem",
        json!({"TableName": "app", "Key": {"leaseKey": {"S": "shardId-000"}},
        "Expected": {"leaseOwner": {"Value": {"S": "worker-2"}}},
        "AttributeUpdates": {"leaseOwner": {"Action": "DELETE"}}}),
        "ConditionalCheckFailedException",
    )
    .await;
    h.ok(
        "UpdateItem",
        json!({"TableName": "app", "Key": {"leaseKey": {"S": "shardId-000"}},
        "Expected": {"leaseOwner": {"Value": {"S": "worker-1"}}},
        "AttributeUpdates": {"leaseOwner": {"Action": "DELETE"}}}),
    )
    .await;

    // deleteLease with an expectation on the owner, which is now absent: NULL operator holds.
    h.ok(
        "DeleteItem",
        json!({"TableName": "app", "Key": {"leaseKey": {"S": "shardId-000"}},
        "Expected": {"leaseOwner": {"ComparisonOperator": "NULL"}}}),
    )
    .await;
    let g = h
        .ok(
            "GetItem",
            json!({"TableName": "app", "Key": {"leaseKey": {"S": "shardId-000"}}}),
        )
        .await;
    assert!(g.get("Item").is_none());
}

/// The coordinator-state and worker-metrics DAOs use expression syntax.
#[tokio::test]
async fn expression_conditions_and_updates() {
    let h = open().await;
    h.ok("CreateTable", json!({"TableName": "app-CoordinatorState",
        "AttributeDefinitions": [{"AttributeName": "key", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "key", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST"})).await;
    h.clock.advance(common::DELAY);
    let t = "app-CoordinatorState";
    h.ok("PutItem", json!({"TableName": t, "Item": {"key": {"S": "Leader"}, "ownerName": {"S": "w1"}, "lv": {"N": "1"}},
        "ConditionExpression": "attribute_not_exists(#k)", "ExpressionAttributeNames": {"#k": "key"}})).await;
    let r = h.err("PutItem", json!({"TableName": t, "Item": {"key": {"S": "Leader"}},
        "ConditionExpression": "attribute_not_exists(#k)", "ExpressionAttributeNames": {"#k": "key"},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}), "ConditionalCheckFailedException").await;
    assert_eq!(r.body["Item"]["ownerName"], json!({"S": "w1"}));

    let r = h.ok("UpdateItem", json!({"TableName": t, "Key": {"key": {"S": "Leader"}},
        "UpdateExpression": "SET lv = lv + :one, #n = :n, info = :m, hist = list_append(if_not_exists(hist, :empty), :h) ADD tags :s",
        "ConditionExpression": "ownerName = :owner AND (lv BETWEEN :lo AND :hi) AND NOT attribute_exists(gone) AND lv IN (:one, :two)",
        "ExpressionAttributeNames": {"#n": "name"},
        "ExpressionAttributeValues": {":one": {"N": "1"}, ":two": {"N": "2"}, ":n": {"S": "x"}, ":owner": {"S": "w1"},
            ":lo": {"N": "0"}, ":hi": {"N": "10"}, ":m": {"M": {"a": {"L": [{"S": "z"}, {"N": "5"}]}}},
            ":empty": {"L": []}, ":h": {"L": [{"S": "e1"}]}, ":s": {"SS": ["t1"]}},
        "ReturnValues": "UPDATED_NEW"})).await;
    assert_eq!(r["Attributes"]["lv"], json!({"N": "2"}));
    assert_eq!(r["Attributes"]["hist"], json!({"L": [{"S": "e1"}]}));
    assert!(r["Attributes"].get("ownerName").is_none());

    // Nested paths, size(), begins_with, contains, attribute_type.
    h.ok("UpdateItem", json!({"TableName": t, "Key": {"key": {"S": "Leader"}},
        "UpdateExpression": "SET info.a[1] = :v, info.b = :b REMOVE #n",
        "ConditionExpression": "size(info.a) = :two AND begins_with(ownerName, :w) AND contains(tags, :t1) AND attribute_type(lv, :N) AND info.a[0] = :z",
        "ExpressionAttributeNames": {"#n": "name"},
        "ExpressionAttributeValues": {":two": {"N": "2"}, ":w": {"S": "w"}, ":t1": {"S": "t1"}, ":N": {"S": "N"}, ":z": {"S": "z"},
            ":v": {"N": "6"}, ":b": {"BOOL": true}}})).await;
    let g = h
        .ok(
            "GetItem",
            json!({"TableName": t, "Key": {"key": {"S": "Leader"}},
        "ProjectionExpression": "info.a[1], #o", "ExpressionAttributeNames": {"#o": "ownerName"}}),
        )
        .await;
    assert_eq!(
        g["Item"],
        json!({"info": {"M": {"a": {"L": [{"N": "6"}]}}}, "ownerName": {"S": "w1"}})
    );

    // The leader lock released conditionally.
    h.err(
        "DeleteItem",
        json!({"TableName": t, "Key": {"key": {"S": "Leader"}},
        "ConditionExpression": "ownerName = :o", "ExpressionAttributeValues": {":o": {"S": "w2"}}}),
        "ConditionalCheckFailedException",
    )
    .await;
    let r = h.ok("DeleteItem", json!({"TableName": t, "Key": {"key": {"S": "Leader"}},
        "ConditionExpression": "ownerName = :o OR attribute_not_exists(ownerName)", "ExpressionAttributeValues": {":o": {"S": "w1"}},
        "ReturnValues": "ALL_OLD"})).await;
    assert_eq!(r["Attributes"]["lv"], json!({"N": "2"}));
    assert_eq!(r["Attributes"]["info"]["M"]["b"], json!({"BOOL": true}));
}

#[tokio::test]
async fn validation_errors() {
    let h = open().await;
    h.lease_table("val").await;
    let m = |r: common::Reply| r.message();
    assert_eq!(
        m(h.err(
            "GetItem",
            json!({"TableName": "val", "Key": {"other": {"S": "a"}}}),
            "ValidationException"
        )
        .await),
        "The provided key element does not match the schema"
    );
    assert_eq!(
        m(h.err(
            "GetItem",
            json!({"TableName": "val", "Key": {"leaseKey": {"N": "1"}}}),
            "ValidationException"
        )
        .await),
        "The provided key element does not match the schema"
    );
    assert_eq!(
        m(h.err(
            "PutItem",
            json!({"TableName": "val", "Item": {"x": {"S": "a"}}}),
            "ValidationException"
        )
        .await),
        "One or more parameter values were invalid: Missing the key leaseKey in the item"
    );
    assert_eq!(
        m(h.err(
            "PutItem",
            json!({"TableName": "val", "Item": {"leaseKey": {"N": "1"}}}),
            "ValidationException"
        )
        .await),
        "One or more parameter values were invalid: Type mismatch for key leaseKey expected: S actual: N"
    );
    assert_eq!(
        m(h.err(
            "PutItem",
            json!({"TableName": "val", "Item": {"leaseKey": {"S": ""}}}),
            "ValidationException"
        )
        .await),
        "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: leaseKey"
    );
    let big = "x".repeat(400 * 1024);
    assert_eq!(
        m(h.err(
            "PutItem",
            json!({"TableName": "val", "Item": {"leaseKey": {"S": "a"}, "d": {"S": big}}}),
            "ValidationException"
        )
        .await),
        "Item size has exceeded the maximum allowed size"
    );
    assert_eq!(
        m(h.err(
            "UpdateItem",
            json!({"TableName": "val", "Key": {"leaseKey": {"S": "a"}},
        "UpdateExpression": "SET leaseKey = :v", "ExpressionAttributeValues": {":v": {"S": "b"}}}),
            "ValidationException"
        )
        .await),
        "One or more parameter values were invalid: Cannot update attribute leaseKey. This attribute is part of the key"
    );
    assert_eq!(m(h.err("PutItem", json!({"TableName": "val", "Item": {"leaseKey": {"S": "a"}},
        "ConditionExpression": "attribute_exists(leaseKey)", "ExpressionAttributeValues": {":u": {"S": "b"}}}), "ValidationException").await),
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:u}");
    assert!(
        m(h.err(
            "PutItem",
            json!({"TableName": "val", "Item": {"leaseKey": {"S": "a"}},
        "ConditionExpression": "a = :missing"}),
            "ValidationException"
        )
        .await)
        .contains("attribute value: :missing")
    );
    assert!(
        m(h.err(
            "PutItem",
            json!({"TableName": "val", "Item": {"leaseKey": {"S": "a"}},
        "ConditionExpression": "a = = b"}),
            "ValidationException"
        )
        .await)
        .starts_with("Invalid ConditionExpression: Syntax error")
    );
    assert!(
        m(h.err(
            "PutItem",
            json!({"TableName": "val", "Item": {"leaseKey": {"S": "a"}},
        "ConditionExpression": "a = b", "Expected": {"a": {"Exists": false}}}),
            "ValidationException"
        )
        .await)
        .starts_with("Can not use both expression and non-expression parameters")
    );
    assert_eq!(
        m(h.err(
            "PutItem",
            json!({"TableName": "val", "Item": {"leaseKey": {"S": "a"}}, "ReturnValues": "ALL_NEW"}),
            "ValidationException"
        )
        .await),
        "Return values set to invalid value"
    );
    assert_eq!(
        m(h.err(
            "PutItem",
            json!({"TableName": "val", "Item": {"leaseKey": {"S": "a"}, "n": {"N": "abc"}}}),
            "ValidationException"
        )
        .await),
        "A value provided cannot be converted into a number"
    );
    h.err(
        "PutItem",
        json!({"TableName": "val", "Item": {"leaseKey": {"S": "a"}, "s": {"SS": ["a", "a"]}}}),
        "ValidationException",
    )
    .await;
    assert_eq!(
        m(h.err(
            "PutItem",
            json!({"TableName": "nope", "Item": {"leaseKey": {"S": "a"}}}),
            "ResourceNotFoundException"
        )
        .await),
        "Requested resource not found"
    );
    // ADD to a string is a type error.
    h.ok(
        "PutItem",
        json!({"TableName": "val", "Item": {"leaseKey": {"S": "a"}, "s": {"S": "x"}}}),
    )
    .await;
    h.err(
        "UpdateItem",
        json!({"TableName": "val", "Key": {"leaseKey": {"S": "a"}},
        "UpdateExpression": "ADD s :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}),
        "ValidationException",
    )
    .await;
}

#[tokio::test]
async fn numbers_are_exact_and_normalised() {
    let h = open().await;
    h.lease_table("num").await;
    h.ok("PutItem", json!({"TableName": "num", "Item": {"leaseKey": {"S": "a"}, "c": {"N": "0.1"}, "big": {"N": "1.50E2"}, "s": {"NS": ["1", "2.0"]}}})).await;
    let r = h.ok("UpdateItem", json!({"TableName": "num", "Key": {"leaseKey": {"S": "a"}},
        "UpdateExpression": "SET c = c + :x, d = :huge - :one",
        "ExpressionAttributeValues": {":x": {"N": "0.2"}, ":huge": {"N": "99999999999999999999999999999999999999"}, ":one": {"N": "1"}},
        "ReturnValues": "ALL_NEW"})).await;
    assert_eq!(r["Attributes"]["c"], json!({"N": "0.3"}));
    assert_eq!(r["Attributes"]["big"], json!({"N": "150"}));
    assert_eq!(
        r["Attributes"]["d"],
        json!({"N": "99999999999999999999999999999999999998"})
    );
    assert_eq!(r["Attributes"]["s"], json!({"NS": ["1", "2"]}));
    // Comparison is numeric, not textual: 10 > 9.
    h.ok("PutItem", json!({"TableName": "num", "Item": {"leaseKey": {"S": "b"}, "v": {"N": "10"}},
        "ConditionExpression": "attribute_not_exists(v) OR v > :nine", "ExpressionAttributeValues": {":nine": {"N": "9"}}})).await;
    h.ok(
        "PutItem",
        json!({"TableName": "num", "Item": {"leaseKey": {"S": "b"}, "v": {"N": "11"}},
        "ConditionExpression": "v > :nine", "ExpressionAttributeValues": {":nine": {"N": "9"}}}),
    )
    .await;
}

#[tokio::test]
async fn binary_bool_null_and_all_types_round_trip() {
    let h = open().await;
    h.lease_table("types").await;
    let item = json!({"leaseKey": {"S": "k"}, "b": {"B": "AAEC"}, "t": {"BOOL": false}, "z": {"NULL": true},
        "m": {"M": {"x": {"L": [{"N": "1"}, {"SS": ["a"]}]}}}, "bs": {"BS": ["AQ==", "Ag=="]}});
    h.ok("PutItem", json!({"TableName": "types", "Item": item}))
        .await;
    let g = h
        .ok(
            "GetItem",
            json!({"TableName": "types", "Key": {"leaseKey": {"S": "k"}}}),
        )
        .await;
    assert_eq!(g["Item"], item);
    let r = h.ok("PutItem", json!({"TableName": "types", "Item": {"leaseKey": {"S": "k"}}, "ReturnValues": "ALL_OLD"})).await;
    assert_eq!(r["Attributes"], item);
}

/// WorkerMetricStatsDAO (through the enhanced client): `#AMZN_MAPPED_*` placeholders, `SET ... REMOVE ...`, and
/// `attribute_exists (wid)` with a space before the parenthesis.
#[tokio::test]
async fn worker_metrics_enhanced_client_shapes() {
    let h = open().await;
    h.ok("CreateTable", json!({"TableName": "app-WorkerMetricStats",
        "AttributeDefinitions": [{"AttributeName": "wid", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "wid", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST"})).await;
    h.clock.advance(common::DELAY);
    let t = "app-WorkerMetricStats";
    let r = h.ok("UpdateItem", json!({"TableName": t, "Key": {"wid": {"S": "w1"}},
        "UpdateExpression": "SET #AMZN_MAPPED_lastUpdateTime = :AMZN_MAPPED_lastUpdateTime, #AMZN_MAPPED_metricStats = :AMZN_MAPPED_metricStats REMOVE #AMZN_MAPPED_opStats",
        "ExpressionAttributeNames": {"#AMZN_MAPPED_lastUpdateTime": "lut", "#AMZN_MAPPED_metricStats": "sts", "#AMZN_MAPPED_opStats": "ops"},
        "ExpressionAttributeValues": {":AMZN_MAPPED_lastUpdateTime": {"N": "1700000000"},
            ":AMZN_MAPPED_metricStats": {"M": {"CPU": {"L": [{"N": "10.5"}, {"N": "20"}]}}}},
        "ReturnValues": "ALL_NEW"})).await;
    assert_eq!(
        r["Attributes"]["sts"]["M"]["CPU"]["L"][0],
        json!({"N": "10.5"})
    );
    h.err("DeleteItem", json!({"TableName": t, "Key": {"wid": {"S": "w1"}},
        "ConditionExpression": "#key = :value AND attribute_exists (wid)",
        "ExpressionAttributeNames": {"#key": "lut"}, "ExpressionAttributeValues": {":value": {"N": "1"}}}),
        "ConditionalCheckFailedException").await;
    h.ok("DeleteItem", json!({"TableName": t, "Key": {"wid": {"S": "w1"}},
        "ConditionExpression": "#key = :value AND attribute_exists (wid)",
        "ExpressionAttributeNames": {"#key": "lut"}, "ExpressionAttributeValues": {":value": {"N": "1700000000"}}})).await;
    let s = h.ok("Scan", json!({"TableName": t, "FilterExpression": "#et = :etVal",
        "ExpressionAttributeNames": {"#et": "entityType"}, "ExpressionAttributeValues": {":etVal": {"S": "WORKER_METRICS"}}})).await;
    assert_eq!(s["Count"], 0);
}
