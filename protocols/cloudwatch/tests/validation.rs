//! CloudWatch's validation errors, each in the shape of the protocol the request came in.

// Tests panic on the unexpected; that is what a failing assertion is.
#![allow(clippy::unwrap_used)]

mod common;

use common::{NOW_MS, header, one, run};
use minicbor::Decoder;
use strait_cloudwatch::{Protocol, Response};

fn json(v: serde_json::Value) -> Response {
    one(Protocol::Json, v.to_string().into_bytes()).0
}

/// The JSON error's `__type` short name and message, after checking the awsQueryCompatible header.
fn json_error(r: &Response, code: &str) -> (String, String) {
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        header(r, "x-amzn-query-error"),
        Some(format!("{code};Sender").as_str())
    );
    assert_eq!(r.error, Some(code));
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let t = v["__type"].as_str().unwrap();
    let short = t
        .strip_prefix("com.amazonaws.cloudwatch#")
        .unwrap()
        .to_string();
    (short, v["message"].as_str().unwrap().to_string())
}

fn datum(extra: serde_json::Value) -> serde_json::Value {
    let mut d = serde_json::json!({"MetricName": "M"});
    for (k, v) in extra.as_object().unwrap() {
        d[k] = v.clone();
    }
    serde_json::json!({"Namespace": "App", "MetricData": [d]})
}

#[test]
fn aws_namespaces_and_bad_lengths_are_invalid() {
    let r = json(
        datum(serde_json::json!({"Value": 1}))
            .as_object()
            .map(|o| {
                let mut o = o.clone();
                o.insert("Namespace".into(), "AWS/Kinesis".into());
                serde_json::Value::Object(o)
            })
            .unwrap(),
    );
    let (shape, msg) = json_error(&r, "InvalidParameterValue");
    assert_eq!(shape, "InvalidParameterValueException");
    assert_eq!(
        msg,
        "The value AWS/Kinesis for parameter Namespace is invalid."
    );

    let long = "n".repeat(256);
    let r = json(
        serde_json::json!({"Namespace": long, "MetricData": [{"MetricName": "M", "Value": 1}]}),
    );
    json_error(&r, "InvalidParameterValue");
}

#[test]
fn missing_namespace_and_metric_data_are_missing_parameters() {
    let r = json(serde_json::json!({"MetricData": [{"MetricName": "M", "Value": 1}]}));
    let (shape, msg) = json_error(&r, "MissingParameter");
    assert_eq!(shape, "MissingRequiredParameterException");
    assert_eq!(msg, "The parameter Namespace is required.");
    let r = json(serde_json::json!({"Namespace": "App"}));
    assert_eq!(
        json_error(&r, "MissingParameter").1,
        "The parameter MetricData is required."
    );
    let r = json(serde_json::json!({"Namespace": "App", "MetricData": [{"Value": 1}]}));
    assert_eq!(
        json_error(&r, "MissingParameter").1,
        "The parameter MetricData.member.1.MetricName is required."
    );
}

#[test]
fn value_kinds_are_mutually_exclusive() {
    let stats = serde_json::json!({"SampleCount": 1, "Sum": 1, "Minimum": 1, "Maximum": 1});
    let r = json(datum(
        serde_json::json!({"Value": 1, "StatisticValues": stats}),
    ));
    let (shape, msg) = json_error(&r, "InvalidParameterCombination");
    assert_eq!(shape, "InvalidParameterCombinationException");
    assert_eq!(
        msg,
        "The parameters MetricData.member.1.Value and MetricData.member.1.StatisticValues are mutually \
         exclusive and you have specified both."
    );
    let r = json(datum(serde_json::json!({"Value": 1, "Values": [1]})));
    json_error(&r, "InvalidParameterCombination");
    let r = json(datum(serde_json::json!({"Values": [1, 2], "Counts": [1]})));
    json_error(&r, "InvalidParameterValue");
    let r = json(datum(
        serde_json::json!({"StatisticValues": {"SampleCount": 1, "Sum": 1}}),
    ));
    assert_eq!(
        json_error(&r, "MissingParameter").1,
        "The parameter MetricData.member.1.StatisticValues.Minimum is required."
    );
    let r = json(datum(serde_json::json!({"Values": vec![1; 151]})));
    json_error(&r, "InvalidParameterValue");
}

#[test]
fn units_dimensions_timestamps_and_sizes_are_checked() {
    let r = json(datum(serde_json::json!({"Value": 1, "Unit": "Parsecs"})));
    assert_eq!(
        json_error(&r, "InvalidParameterValue").1,
        "The value Parsecs for parameter MetricData.member.1.Unit is invalid."
    );
    let dims: Vec<_> = (0..31)
        .map(|i| serde_json::json!({"Name": format!("d{i}"), "Value": "v"}))
        .collect();
    let r = json(datum(serde_json::json!({"Value": 1, "Dimensions": dims})));
    assert_eq!(
        json_error(&r, "InvalidParameterValue").1,
        "The collection MetricData.member.1.Dimensions must not have a size greater than 30."
    );
    let old = (NOW_MS / 1000 - 15 * 86_400) as f64;
    let r = json(datum(serde_json::json!({"Value": 1, "Timestamp": old})));
    assert_eq!(
        json_error(&r, "InvalidParameterValue").1,
        "The parameter MetricData.member.1.Timestamp must specify a time no more than two weeks in the past."
    );
    let ahead = (NOW_MS / 1000 + 3 * 3600) as f64;
    let r = json(datum(serde_json::json!({"Value": 1, "Timestamp": ahead})));
    json_error(&r, "InvalidParameterValue");
    let r = json(datum(serde_json::json!({"Value": "NaN"})));
    json_error(&r, "InvalidParameterValue");
    let data: Vec<_> = (0..1001)
        .map(|_| serde_json::json!({"MetricName": "M", "Value": 1}))
        .collect();
    let r = json(serde_json::json!({"Namespace": "App", "MetricData": data}));
    assert_eq!(
        json_error(&r, "InvalidParameterValue").1,
        "The collection MetricData must not have a size greater than 1000."
    );
    let r = json(datum(
        serde_json::json!({"Value": 1, "StorageResolution": 5}),
    ));
    json_error(&r, "InvalidParameterValue");
}

#[test]
fn query_errors_are_xml_error_responses() {
    let (r, _) = one(
        Protocol::Query,
        b"Action=PutMetricData&Version=2010-08-01&MetricData.member.1.MetricName=M&MetricData.member.1.Value=1"
            .to_vec(),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        String::from_utf8_lossy(&r.body),
        "<ErrorResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\"><Error><Type>Sender</Type>\
         <Code>MissingParameter</Code><Message>The parameter Namespace is required.</Message></Error>\
         <RequestId>req-1</RequestId></ErrorResponse>"
    );
    let (r, _) = one(
        Protocol::Query,
        b"Action=PutMetricData&Namespace=App&MetricData.member.1.MetricName=M&MetricData.member.1.Value=abc"
            .to_vec(),
    );
    assert_eq!(r.error, Some("InvalidParameterValue"));
    assert!(String::from_utf8_lossy(&r.body).contains("<Code>InvalidParameterValue</Code>"));
    let (r, _) = one(
        Protocol::Query,
        b"Action=GetMetricData&Version=2010-08-01".to_vec(),
    );
    assert_eq!(r.status, 400);
    assert!(String::from_utf8_lossy(&r.body).contains("<Code>InvalidAction</Code>"));
    let (r, _) = one(
        Protocol::Query,
        b"Action=PutMetricData&Version=2010-08-01".to_vec(),
    );
    assert_eq!(r.error, Some("MissingParameter"));
    let (r, _) = one(Protocol::Query, b"Version=2010-08-01".to_vec());
    assert_eq!(r.error, Some("MissingAction"));
}

#[test]
fn cbor_errors_are_cbor_maps() {
    let mut e = minicbor::Encoder::new(Vec::new());
    e.map(2)
        .unwrap()
        .str("Namespace")
        .unwrap()
        .str("App")
        .unwrap();
    e.str("MetricData")
        .unwrap()
        .array(1)
        .unwrap()
        .map(3)
        .unwrap();
    e.str("MetricName").unwrap().str("M").unwrap();
    e.str("Value").unwrap().f64(1.0).unwrap();
    e.str("Values").unwrap().array(1).unwrap().f64(1.0).unwrap();
    let (r, _) = one(Protocol::Cbor, e.into_writer());
    assert_eq!(r.status, 400);
    assert_eq!(header(&r, "smithy-protocol"), Some("rpc-v2-cbor"));
    assert_eq!(
        header(&r, "x-amzn-query-error"),
        Some("InvalidParameterCombination;Sender")
    );
    let mut d = Decoder::new(&r.body);
    assert_eq!(d.map().unwrap(), Some(2));
    assert_eq!(d.str().unwrap(), "__type");
    assert_eq!(
        d.str().unwrap(),
        "com.amazonaws.cloudwatch#InvalidParameterCombinationException"
    );
    assert_eq!(d.str().unwrap(), "message");
    assert!(d.str().unwrap().contains("mutually exclusive"));
    // Garbage is a serialization error, not a crash.
    let (r, _) = one(Protocol::Cbor, vec![0xff, 0x00, 0x13]);
    assert_eq!(r.status, 400);
    assert_eq!(r.error, Some("SerializationException"));
}

#[test]
fn unknown_json_operations_and_bad_bodies_are_refused() {
    let (rs, _) = run(
        10,
        &[
            (Protocol::Json, "GetMetricData", None, b"{}".to_vec()),
            (Protocol::Json, "PutMetricData", None, b"{not json".to_vec()),
            (
                Protocol::Json,
                "PutMetricData",
                Some("gzip"),
                b"not gzip".to_vec(),
            ),
        ],
    );
    assert_eq!(rs[0].status, 400);
    assert_eq!(rs[0].error, Some("InvalidAction"));
    assert_eq!(rs[1].error, Some("SerializationException"));
    assert_eq!(rs[2].error, Some("SerializationException"));
}
