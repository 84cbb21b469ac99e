//! Fuzzing of PutMetricData's three decoders (awsQuery form, JSON 1.0, rpc-v2-CBOR) through the whole request
//! path: random bytes, valid bodies with bytes flipped, truncated or appended, and deeply nested documents (and
//! query parameter names of many segments). Whatever arrives, the answer is a success or a 4xx in the protocol's
//! own shape; nesting past the limit is a SerializationException; nothing panics. Each case runs on a thread
//! with a tokio worker's 2 MiB stack, so a stack overflow aborts the test. Runs a bounded number of cases in CI
//! (`PROPTEST_CASES` raises it for longer local runs).

use proptest::prelude::*;
use strait_cloudwatch::{CloudWatch, CloudWatchConfig, Protocol, Response, Route};

const WORKER_STACK: usize = 2 * 1024 * 1024;

fn handle(protocol: Protocol, gzip: bool, body: Vec<u8>) -> Response {
    std::thread::Builder::new()
        .stack_size(WORKER_STACK)
        .spawn(move || {
            let cw = CloudWatch::new(CloudWatchConfig { max_series: 100 });
            let route = Route {
                protocol,
                operation: (protocol != Protocol::Query).then(|| "PutMetricData".to_string()),
            };
            cw.handle(
                &strait_cloudwatch::RequestContext::allow_all(),
                &route,
                gzip.then_some("gzip"),
                &body,
                1_795_626_000_000,
            )
        })
        .expect("thread")
        .join()
        .expect("the service panicked or overflowed the stack")
}

fn protocol() -> impl Strategy<Value = Protocol> {
    prop_oneof![
        Just(Protocol::Query),
        Just(Protocol::Json),
        Just(Protocol::Cbor)
    ]
}

fn valid(p: Protocol) -> Vec<u8> {
    match p {
        Protocol::Query => b"Action=PutMetricData&Version=2010-08-01&Namespace=App&MetricData.member.1.MetricName=M\
            &MetricData.member.1.Value=1.5&MetricData.member.1.Dimensions.member.1.Name=d\
            &MetricData.member.1.Dimensions.member.1.Value=v"
            .to_vec(),
        Protocol::Json => br#"{"Namespace":"App","MetricData":[{"MetricName":"M","Value":1.5,
            "Dimensions":[{"Name":"d","Value":"v"}],"StatisticValues":null}]}"#
            .to_vec(),
        // {"Namespace": "App", "MetricData": [{"MetricName": "M", "Value": 1.5}]}
        Protocol::Cbor => {
            let mut b = vec![0xa2, 0x69];
            b.extend_from_slice(b"Namespace");
            b.extend_from_slice(&[0x63, b'A', b'p', b'p', 0x6a]);
            b.extend_from_slice(b"MetricData");
            b.extend_from_slice(&[0x81, 0xa2, 0x6a]);
            b.extend_from_slice(b"MetricName");
            b.extend_from_slice(&[0x61, b'M', 0x65]);
            b.extend_from_slice(b"Value");
            b.extend_from_slice(&[0xf9, 0x3e, 0x00]);
            b
        }
    }
}

fn nested(p: Protocol, depth: usize) -> Vec<u8> {
    match p {
        Protocol::Query => format!(
            "Action=PutMetricData&{}=1",
            vec!["a"; depth.max(1)].join(".")
        )
        .into_bytes(),
        Protocol::Json => format!(
            "{{\"Namespace\":{}1{}}}",
            "[".repeat(depth),
            "]".repeat(depth)
        )
        .into_bytes(),
        Protocol::Cbor => {
            let mut b = vec![0xa1, 0x61, b'N'];
            b.extend(std::iter::repeat_n(0x81, depth));
            b.push(0x01);
            b
        }
    }
}

fn assert_client_error(r: &Response) {
    assert!(
        r.status == 200 || (400..500).contains(&r.status),
        "status {}",
        r.status
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(p in protocol(), gzip in any::<bool>(), body in prop::collection::vec(any::<u8>(), 0..512)) {
        assert_client_error(&handle(p, gzip, body));
    }

    #[test]
    fn mutated_valid_bodies_never_panic(
        p in protocol(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<u8>()), 1..8),
    ) {
        let mut b = valid(p);
        prop_assert_eq!(handle(p, false, b.clone()).status, 200);
        for (at, op, byte) in edits {
            let i = at.index(b.len() + 1);
            match op {
                0 if i < b.len() => b[i] = byte,
                1 => b.insert(i, byte),
                2 => b.truncate(i),
                _ => b.extend(std::iter::repeat_n(byte, usize::from(byte % 16))),
            }
        }
        assert_client_error(&handle(p, false, b));
    }

    #[test]
    fn deep_nesting_gets_a_serialization_error(p in protocol(), depth in 40usize..20_000) {
        let r = handle(p, false, nested(p, depth));
        prop_assert_eq!(r.error, Some("SerializationException"));
        prop_assert_eq!(r.status, 400);
    }
}
