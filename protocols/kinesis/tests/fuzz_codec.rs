//! Fuzzing of the request-body decoders (AWS JSON 1.1 and CBOR): random bytes, valid bodies with bytes flipped,
//! truncated or appended, and deeply nested documents in every container shape each format has. Whatever
//! arrives, the decoder returns a document or a `DecodeError` (answered with SerializationException); nesting
//! past [`MAX_DEPTH`] gets the nesting error; nothing panics. Each case runs on a thread with a tokio worker's
//! 2 MiB stack, so a stack overflow aborts the test. Runs a bounded number of cases in CI (`PROPTEST_CASES`
//! raises it for longer local runs).

use proptest::prelude::*;
use strait_kinesis::codec::{DecodeError, MAX_DEPTH, decode, encode};
use strait_kinesis::{Value, WireFormat};

const WORKER_STACK: usize = 2 * 1024 * 1024;

fn decode_on_worker_stack(format: WireFormat, body: Vec<u8>) -> Result<Value, DecodeError> {
    std::thread::Builder::new()
        .stack_size(WORKER_STACK)
        .spawn(move || {
            let r = decode(format, &body);
            // What decodes must also encode back (responses mirror the request's format).
            if let Ok(v) = &r {
                drop(encode(format, v));
            }
            r
        })
        .expect("thread")
        .join()
        .expect("the decoder panicked or overflowed the stack")
}

fn format() -> impl Strategy<Value = WireFormat> {
    prop_oneof![Just(WireFormat::Json), Just(WireFormat::Cbor)]
}

/// A PutRecords-like body in `format`.
fn valid(format: WireFormat) -> Vec<u8> {
    let record = Value::Map(vec![
        ("Data".into(), Value::Blob(b"hello".to_vec())),
        ("PartitionKey".into(), Value::Str("pk".into())),
    ]);
    let v = Value::Map(vec![
        ("StreamName".into(), Value::Str("s".into())),
        ("Records".into(), Value::List(vec![record.clone(), record])),
        ("Timestamp".into(), Value::Timestamp(1_701_760_153_593)),
        ("Limit".into(), Value::Int(-7)),
        ("Ratio".into(), Value::Float(0.5)),
        ("Flag".into(), Value::Bool(true)),
        ("Nothing".into(), Value::Null),
    ]);
    encode(format, &v)
}

/// `depth` levels of one container shape around a scalar, inside a top-level map.
fn nested(format: WireFormat, shape: u8, depth: usize) -> Vec<u8> {
    match format {
        WireFormat::Json => {
            let (open, close) = match shape % 2 {
                0 => ("[", "]"),
                _ => ("{\"a\":", "}"),
            };
            format!("{{\"x\":{}1{}}}", open.repeat(depth), close.repeat(depth)).into_bytes()
        }
        WireFormat::Cbor => {
            let mut b = vec![0xa1, 0x61, b'x'];
            match shape % 4 {
                0 => b.extend(std::iter::repeat_n(0x81, depth)),
                1 => (0..depth).for_each(|_| b.extend_from_slice(&[0xa1, 0x61, b'a'])),
                2 => b.extend(std::iter::repeat_n(0xc1, depth)),
                _ => b.extend(std::iter::repeat_n(0x9f, depth)),
            }
            b.push(0x01);
            if shape % 4 == 3 {
                b.extend(std::iter::repeat_n(0xff, depth));
            }
            b
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(f in format(), body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_on_worker_stack(f, body);
    }

    #[test]
    fn mutated_valid_bodies_never_panic(
        f in format(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<u8>()), 1..8),
    ) {
        let mut b = valid(f);
        prop_assert!(decode(f, &b).is_ok());
        for (at, op, byte) in edits {
            let i = at.index(b.len() + 1);
            match op {
                0 if i < b.len() => b[i] = byte,
                1 => b.insert(i, byte),
                2 => b.truncate(i),
                _ => b.extend(std::iter::repeat_n(byte, usize::from(byte % 16))),
            }
        }
        let _ = decode_on_worker_stack(f, b);
    }

    #[test]
    fn deep_nesting_gets_the_nesting_error(f in format(), shape in 0u8..4, depth in 0usize..5000) {
        let r = decode_on_worker_stack(f, nested(f, shape, depth));
        // The top-level map is level 0, so `depth` containers inside it reach level `depth`.
        if depth >= MAX_DEPTH {
            let e = r.expect_err("too deep");
            prop_assert_eq!(e, DecodeError::TooDeep);
        } else {
            prop_assert!(r.is_ok(), "depth {}: {:?}", depth, r);
        }
    }
}
