use super::*;

fn batch(pid: i64, epoch: i16, first: i32, count: i32) -> ProducerBatch {
    ProducerBatch {
        producer_id: pid,
        epoch,
        first_seq: first,
        last_seq: last_sequence(first, count - 1),
    }
}

fn meta(b: &ProducerBatch, offset: i64) -> BatchMeta {
    BatchMeta {
        first_seq: b.first_seq,
        last_seq: b.last_seq,
        first_offset: offset,
        last_offset: offset + b.last_seq.wrapping_sub(b.first_seq) as i64,
        log_append_time: -1,
    }
}

fn rejected(v: Verdict) -> ResponseError {
    match v {
        Verdict::Reject(code, _) => code,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn unknown_producer_may_start_anywhere() {
    let st = PartitionProducers::default();
    assert_eq!(st.check(&batch(7, 0, 42, 3)), Verdict::Append);
}

#[test]
fn in_order_duplicate_and_out_of_order() {
    let mut st = PartitionProducers::default();
    let b0 = batch(7, 0, 0, 3);
    st.record(&b0, meta(&b0, 100), 0);
    let b1 = batch(7, 0, 3, 2);
    assert_eq!(st.check(&b1), Verdict::Append);
    st.record(&b1, meta(&b1, 110), 0);
    assert_eq!(st.check(&b0), Verdict::Duplicate(meta(&b0, 100)));
    assert_eq!(st.check(&b1), Verdict::Duplicate(meta(&b1, 110)));
    assert_eq!(
        rejected(st.check(&batch(7, 0, 6, 1))),
        ResponseError::OutOfOrderSequenceNumber
    );
    // Overlapping but not identical to a cached batch is not a duplicate.
    assert_eq!(
        rejected(st.check(&batch(7, 0, 3, 1))),
        ResponseError::OutOfOrderSequenceNumber
    );
    assert_eq!(st.check(&batch(7, 0, 5, 1)), Verdict::Append);
}

#[test]
fn only_the_last_five_batches_are_remembered() {
    let mut st = PartitionProducers::default();
    for i in 0..6 {
        let b = batch(1, 0, i, 1);
        st.record(&b, meta(&b, i as i64), 0);
    }
    assert_eq!(
        rejected(st.check(&batch(1, 0, 0, 1))),
        ResponseError::OutOfOrderSequenceNumber
    );
    assert!(matches!(
        st.check(&batch(1, 0, 1, 1)),
        Verdict::Duplicate(_)
    ));
}

#[test]
fn epochs_fence_and_restart_sequences() {
    let mut st = PartitionProducers::default();
    let b = batch(9, 3, 10, 1);
    st.record(&b, meta(&b, 0), 0);
    assert_eq!(
        rejected(st.check(&batch(9, 2, 11, 1))),
        ResponseError::InvalidProducerEpoch
    );
    assert_eq!(
        rejected(st.check(&batch(9, 4, 11, 1))),
        ResponseError::OutOfOrderSequenceNumber
    );
    let bumped = batch(9, 4, 0, 2);
    assert_eq!(st.check(&bumped), Verdict::Append);
    st.record(&bumped, meta(&bumped, 1), 0);
    assert_eq!(
        rejected(st.check(&b)),
        ResponseError::InvalidProducerEpoch,
        "old epoch's batch is no longer a duplicate"
    );
}

#[test]
fn sequences_wrap_at_i32_max() {
    assert_eq!(last_sequence(i32::MAX - 1, 2), 0);
    assert_eq!(last_sequence(i32::MAX, 0), i32::MAX);
    let mut st = PartitionProducers::default();
    let b = batch(5, 0, i32::MAX - 1, 2);
    st.record(&b, meta(&b, 0), 0);
    assert_eq!(st.check(&batch(5, 0, 0, 1)), Verdict::Append);
    let b = batch(5, 0, i32::MAX - 1, 3);
    st.record(&b, meta(&b, 0), 0);
    assert_eq!(st.check(&batch(5, 0, 1, 1)), Verdict::Append);
}

#[test]
fn idle_producers_expire() {
    let mut st = PartitionProducers::default();
    let b = batch(1, 0, 0, 1);
    st.record(&b, meta(&b, 0), 1_000);
    let b2 = batch(2, 0, 0, 1);
    st.record(&b2, meta(&b2, 0), PRODUCER_EXPIRATION_MS + 5_000);
    st.expire(PRODUCER_EXPIRATION_MS + 2_000);
    assert_eq!(st.producer_count(), 1);
    assert_eq!(st.check(&batch(1, 0, 77, 1)), Verdict::Append);
}
