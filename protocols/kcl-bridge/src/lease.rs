//! The fields of a KCL lease item that the bridge reads.

use serde_json::Value as Json;

/// A lease item's fields that matter here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The lease's `checkpoint` and `checkpointSubSequenceNumber` as stored.
    pub checkpoint: String,
    pub sub: u64,
    /// The stream named by a multi-stream lease; `None` in single-stream mode.
    pub stream: Option<String>,
    pub shard_id: String,
    pub hash_range: Option<(String, String)>,
}

/// The fields of a KCL lease item, or `None` for any other item (coordinator state, worker metrics).
pub fn lease_of(item: &Json) -> Option<Lease> {
    let s = |name: &str| item.pointer(&format!("/{name}/S")).and_then(Json::as_str);
    let lease_key = s("leaseKey")?;
    item.get("leaseCounter")?;
    let checkpoint = s("checkpoint")?.to_string();
    let sub = item
        .pointer("/checkpointSubSequenceNumber/N")
        .and_then(Json::as_str)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    // Multi-stream leases carry the stream identifier (`account:stream:creationEpoch`) and the shard id.
    let (stream, shard_id) = match (s("streamName"), s("shardId")) {
        (Some(id), Some(shard)) => {
            let parts: Vec<&str> = id.split(':').collect();
            let name = if parts.len() == 3 { parts[1] } else { id };
            (Some(name.to_string()), shard.to_string())
        }
        _ => (None, lease_key.to_string()),
    };
    let hash_range = s("startingHashKey").zip(s("endingHashKey"));
    Some(Lease {
        checkpoint,
        sub,
        stream,
        shard_id,
        hash_range: hash_range.map(|(a, b)| (a.to_string(), b.to_string())),
    })
}

/// Sets attribute `name` of a DynamoDB item (JSON form) to a value of type `ty`.
pub(crate) fn set_attr(item: &mut Json, name: &str, ty: &str, value: String) {
    if let Some(obj) = item.as_object_mut() {
        obj.insert(name.to_string(), serde_json::json!({ ty: value }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_items_are_recognised_by_their_attributes() {
        let item = serde_json::json!({
            "leaseKey": {"S": "shardId-000000000001"}, "leaseCounter": {"N": "4"},
            "checkpoint": {"S": "SHARD_END"}, "checkpointSubSequenceNumber": {"N": "2"},
            "startingHashKey": {"S": "0"}, "endingHashKey": {"S": "9"}
        });
        let l = lease_of(&item).expect("a lease");
        assert_eq!(
            (l.shard_id.as_str(), l.checkpoint.as_str(), l.sub),
            ("shardId-000000000001", "SHARD_END", 2)
        );
        assert_eq!(l.stream, None);
        assert_eq!(l.hash_range, Some(("0".into(), "9".into())));
        let multi = serde_json::json!({
            "leaseKey": {"S": "123:orders:1700000000:shardId-000000000000"}, "leaseCounter": {"N": "0"},
            "checkpoint": {"S": "TRIM_HORIZON"}, "streamName": {"S": "123:orders:1700000000"},
            "shardId": {"S": "shardId-000000000000"}
        });
        assert_eq!(
            lease_of(&multi).expect("a lease").stream.as_deref(),
            Some("orders")
        );
        // Coordinator-state and worker-metrics items are not leases.
        assert!(
            lease_of(&serde_json::json!({"key": {"S": "Leader"}, "leaseCounter": {"N": "1"}}))
                .is_none()
        );
    }
}
