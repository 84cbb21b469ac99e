//! Every CloudWatch operation asks the request's authorizer: under a deny-all authorizer PutMetricData answers
//! AccessDenied in each protocol and exports nothing.

mod common;

use std::sync::Arc;

use common::*;
use metrics_exporter_prometheus::PrometheusBuilder;
use strait_access::DenyAll;
use strait_cloudwatch::{CloudWatch, CloudWatchConfig, Operation, Protocol, RequestContext};

#[test]
fn deny_all_refuses_every_operation_and_exports_nothing() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let cw = CloudWatch::new(CloudWatchConfig::default());
    let mut denied = RequestContext::anonymous(Arc::new(DenyAll));
    denied.request_id = "req-1".into();
    let bodies = [
        (
            Protocol::Query,
            b"Action=PutMetricData&Version=2010-08-01&Namespace=App&MetricData.member.1.MetricName=m\
              &MetricData.member.1.Value=1"
                .to_vec(),
        ),
        (
            Protocol::Json,
            br#"{"Namespace":"App","MetricData":[{"MetricName":"m","Value":1}]}"#.to_vec(),
        ),
        // {"Namespace": "App"}
        (
            Protocol::Cbor,
            vec![0xa1, 0x69, b'N', b'a', b'm', b'e', b's', b'p', b'a', b'c', b'e', 0x63, b'A', b'p', b'p'],
        ),
    ];
    metrics::with_local_recorder(&recorder, || {
        for op in Operation::ALL {
            for (protocol, body) in &bodies {
                let r = cw.handle(&denied, &route(*protocol, op.name()), None, body, NOW_MS);
                assert_eq!(r.status, 403, "{protocol:?}");
                assert_eq!(r.error, Some("AccessDenied"), "{protocol:?}");
                assert_eq!(r.operation, op.name());
                let text = String::from_utf8_lossy(&r.body);
                assert!(
                    text.contains("is not authorized to perform: cloudwatch:PutMetricData"),
                    "{protocol:?}: {text}"
                );
            }
        }
    });
    assert!(
        !handle.render().contains("App"),
        "nothing is exported: {}",
        handle.render()
    );
}
