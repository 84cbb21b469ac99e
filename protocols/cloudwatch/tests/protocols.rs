//! PutMetricData in each wire protocol, and what reaches the Prometheus endpoint.

// Tests panic on the unexpected; that is what a failing assertion is.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;

use common::{NOW_MS, header, one, run, sample};
use minicbor::Encoder;
use minicbor::data::Tag;
use strait_cloudwatch::{Protocol, RequestHead, Route, route};

#[test]
fn routes_the_three_protocols_and_nothing_else() {
    let cbor = RequestHead {
        method: "POST",
        path: "/service/GraniteServiceVersion20100801/operation/PutMetricData",
        ..RequestHead::default()
    };
    assert_eq!(
        route(&cbor),
        Some(Route {
            protocol: Protocol::Cbor,
            operation: Some("PutMetricData".into())
        })
    );
    let json = RequestHead {
        method: "POST",
        path: "/",
        content_type: Some("application/x-amz-json-1.0"),
        target: Some("GraniteServiceVersion20100801.PutMetricData"),
    };
    assert_eq!(route(&json).map(|r| r.protocol), Some(Protocol::Json));
    let query = RequestHead {
        method: "POST",
        path: "/",
        content_type: Some("application/x-www-form-urlencoded; charset=utf-8"),
        ..RequestHead::default()
    };
    assert_eq!(
        route(&query),
        Some(Route {
            protocol: Protocol::Query,
            operation: None
        })
    );
    let kinesis = RequestHead {
        method: "POST",
        path: "/",
        content_type: Some("application/x-amz-json-1.1"),
        target: Some("Kinesis_20131202.PutRecord"),
    };
    assert_eq!(route(&kinesis), None);
    let dynamo = RequestHead {
        target: Some("DynamoDB_20120810.GetItem"),
        ..kinesis
    };
    assert_eq!(route(&dynamo), None);
}

#[test]
fn query_put_metric_data_answers_xml_and_exports_the_value() {
    let body = "Action=PutMetricData&Version=2010-08-01&Namespace=My%2FApp\
        &MetricData.member.1.MetricName=Latency&MetricData.member.1.Value=12.5&MetricData.member.1.Unit=Milliseconds\
        &MetricData.member.1.Dimensions.member.1.Name=Operation&MetricData.member.1.Dimensions.member.1.Value=Get\
        &MetricData.member.1.Dimensions.member.2.Name=Shard.Id&MetricData.member.1.Dimensions.member.2.Value=shardId-0\
        &MetricData.member.1.Timestamp=2026-11-25T16%3A59%3A00Z";
    let (r, text) = one(Protocol::Query, body.as_bytes().to_vec());
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(header(&r, "content-type"), Some("text/xml"));
    assert_eq!(
        String::from_utf8_lossy(&r.body),
        "<PutMetricDataResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\"><ResponseMetadata>\
         <RequestId>req-1</RequestId></ResponseMetadata></PutMetricDataResponse>"
    );
    assert_eq!(r.operation, "PutMetricData");
    let labels = [
        ("namespace", "My/App"),
        ("metric", "Latency"),
        ("operation", "Get"),
        ("shard_id", "shardId-0"),
    ];
    assert_eq!(
        sample(&text, "strait_cloudwatch_value", &labels),
        Some(12.5),
        "{text}"
    );
    assert_eq!(
        sample(&text, "strait_cloudwatch_summed_value", &labels),
        Some(12.5)
    );
    assert_eq!(
        sample(&text, "strait_cloudwatch_samples", &labels),
        Some(1.0)
    );
}

#[test]
fn json_statistic_values_accumulate_sum_and_count() {
    let body = |sum: f64, count: f64| {
        serde_json::json!({
            "Namespace": "KCL",
            "MetricData": [{
                "MetricName": "RecordsProcessed",
                "Dimensions": [{"Name": "ShardId", "Value": "shardId-000000000001"}],
                "StatisticValues": {"SampleCount": count, "Sum": sum, "Minimum": 0.0, "Maximum": sum},
                "Unit": "Count",
                "Timestamp": (NOW_MS / 1000) as f64 - 30.0
            }]
        })
        .to_string()
        .into_bytes()
    };
    let (rs, text) = run(
        10,
        &[
            (Protocol::Json, "PutMetricData", None, body(10.0, 2.0)),
            (Protocol::Json, "PutMetricData", None, body(30.0, 3.0)),
        ],
    );
    for r in &rs {
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.body, b"{}");
        assert_eq!(
            header(r, "content-type"),
            Some("application/x-amz-json-1.0")
        );
    }
    let labels = [
        ("metric", "RecordsProcessed"),
        ("shard_id", "shardId-000000000001"),
    ];
    assert_eq!(
        sample(&text, "strait_cloudwatch_summed_value", &labels),
        Some(40.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "strait_cloudwatch_samples", &labels),
        Some(5.0)
    );
    // The last datum's mean.
    assert_eq!(
        sample(&text, "strait_cloudwatch_value", &labels),
        Some(10.0)
    );
}

fn cbor_put(values: &[f64], counts: &[f64], timestamp_secs: f64) -> Vec<u8> {
    let mut e = Encoder::new(Vec::new());
    e.map(2)
        .unwrap()
        .str("Namespace")
        .unwrap()
        .str("Cbor/App")
        .unwrap();
    e.str("MetricData").unwrap().array(1).unwrap();
    e.map(4).unwrap();
    e.str("MetricName").unwrap().str("Bytes").unwrap();
    e.str("Values").unwrap().array(values.len() as u64).unwrap();
    for v in values {
        e.f64(*v).unwrap();
    }
    e.str("Counts").unwrap().array(counts.len() as u64).unwrap();
    for c in counts {
        e.f64(*c).unwrap();
    }
    e.str("Timestamp")
        .unwrap()
        .tag(Tag::new(1))
        .unwrap()
        .f64(timestamp_secs)
        .unwrap();
    e.into_writer()
}

#[test]
fn cbor_values_and_counts_weight_the_sum() {
    let now = (NOW_MS / 1000) as f64;
    let (r, text) = one(
        Protocol::Cbor,
        cbor_put(&[1.0, 2.0, 4.0], &[3.0, 1.0, 2.0], now),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body, [0xa0]);
    assert_eq!(header(&r, "smithy-protocol"), Some("rpc-v2-cbor"));
    assert_eq!(header(&r, "content-type"), Some("application/cbor"));
    let labels = [("namespace", "Cbor/App"), ("metric", "Bytes")];
    assert_eq!(
        sample(&text, "strait_cloudwatch_summed_value", &labels),
        Some(13.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "strait_cloudwatch_samples", &labels),
        Some(6.0)
    );
    assert_eq!(sample(&text, "strait_cloudwatch_value", &labels), Some(4.0));
}

#[test]
fn gzip_bodies_are_inflated() {
    let json = serde_json::json!({
        "Namespace": "Zipped",
        "MetricData": [{"MetricName": "M", "Value": 7}]
    })
    .to_string();
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(json.as_bytes()).unwrap();
    let body = z.finish().unwrap();
    let (rs, text) = run(10, &[(Protocol::Json, "PutMetricData", Some("gzip"), body)]);
    assert_eq!(
        rs[0].status,
        200,
        "{}",
        String::from_utf8_lossy(&rs[0].body)
    );
    assert_eq!(
        sample(&text, "strait_cloudwatch_value", &[("namespace", "Zipped")]),
        Some(7.0)
    );
}

#[test]
fn series_beyond_the_cap_are_dropped_and_counted() {
    let body = |metric: &str| {
        serde_json::json!({"Namespace": "Cap", "MetricData": [{"MetricName": metric, "Value": 1}]})
            .to_string()
            .into_bytes()
    };
    let (rs, text) = run(
        2,
        &[
            (Protocol::Json, "PutMetricData", None, body("a")),
            (Protocol::Json, "PutMetricData", None, body("b")),
            (Protocol::Json, "PutMetricData", None, body("c")),
            (Protocol::Json, "PutMetricData", None, body("a")),
        ],
    );
    assert!(rs.iter().all(|r| r.status == 200));
    assert_eq!(
        sample(&text, "strait_cloudwatch_samples", &[("metric", "a")]),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "strait_cloudwatch_samples", &[("metric", "c")]),
        None
    );
    assert_eq!(
        sample(&text, "strait_cloudwatch_dropped_total", &[]),
        Some(1.0)
    );
}

#[test]
fn dimension_names_become_valid_distinct_label_names() {
    assert_eq!(strait_cloudwatch::sanitize("Shard.Id"), "shard_id");
    assert_eq!(strait_cloudwatch::sanitize("ShardId"), "shard_id");
    assert_eq!(strait_cloudwatch::sanitize("KPLVersion"), "kpl_version");
    assert_eq!(
        strait_cloudwatch::sanitize("WorkerID2Name"),
        "worker_id2_name"
    );
    assert_eq!(strait_cloudwatch::sanitize("9lives"), "dim_9lives");
    assert_eq!(strait_cloudwatch::sanitize("__name__"), "dim___name__");
    let body = serde_json::json!({
        "Namespace": "Labels",
        "MetricData": [{"MetricName": "M", "Value": 1,
            "Dimensions": [{"Name": "namespace", "Value": "x"}, {"Name": "a-b", "Value": "1"},
                           {"Name": "a.b", "Value": "2"}]}]
    });
    let (r, text) = one(Protocol::Json, body.to_string().into_bytes());
    assert_eq!(r.status, 200);
    let labels = [
        ("namespace", "Labels"),
        ("dim_namespace", "x"),
        ("a_b", "1"),
        ("dim_a_b", "2"),
    ];
    assert_eq!(
        sample(&text, "strait_cloudwatch_value", &labels),
        Some(1.0),
        "{text}"
    );
}
