//! Shared helpers: a service, a local Prometheus recorder to read back what was exported, and the clock.

#![allow(dead_code, unreachable_pub)]

use metrics_exporter_prometheus::PrometheusBuilder;
use strait_cloudwatch::{CloudWatch, CloudWatchConfig, Protocol, Response, Route};

/// 2026-11-25T17:00:00Z.
pub const NOW_MS: i64 = 1_795_626_000_000;

pub fn route(protocol: Protocol, op: &str) -> Route {
    Route {
        protocol,
        operation: (protocol != Protocol::Query).then(|| op.to_string()),
    }
}

/// Runs requests against a fresh service with its own recorder; returns the answers and the `/metrics` text.
pub fn run(
    max_series: usize,
    reqs: &[(Protocol, &str, Option<&str>, Vec<u8>)],
) -> (Vec<Response>, String) {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let cw = CloudWatch::new(CloudWatchConfig { max_series });
    let out = metrics::with_local_recorder(&recorder, || {
        reqs.iter()
            .map(|(p, op, enc, body)| cw.handle(&ctx(), &route(*p, op), *enc, body, NOW_MS))
            .collect()
    });
    (out, handle.render())
}

/// An anonymous request under allow-all, with request id `req-1`.
pub fn ctx() -> strait_cloudwatch::RequestContext {
    let mut c = strait_cloudwatch::RequestContext::allow_all();
    c.request_id = "req-1".into();
    c
}

pub fn one(protocol: Protocol, body: Vec<u8>) -> (Response, String) {
    let (mut r, text) = run(10_000, &[(protocol, "PutMetricData", None, body)]);
    (r.remove(0), text)
}

pub fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

/// The value of the exported sample whose line has `name{` and contains every label pair given.
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .find(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}
