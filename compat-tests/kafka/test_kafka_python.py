"""kafka-python (a pure-Python client with its own protocol implementation) against a real strait process."""
import uuid

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic


def test_produce_consume_and_group_commit(strait):
    topic, group = f"kp-{uuid.uuid4().hex[:8]}", f"kpg-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=strait.bootstrap)
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    admin.close()

    p = KafkaProducer(bootstrap_servers=strait.bootstrap, acks="all", compression_type="gzip")
    futures = [p.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode()) for i in range(500)]
    metas = [f.get(timeout=30) for f in futures]
    p.close()
    assert len({(m.partition, m.offset) for m in metas}) == 500

    c = KafkaConsumer(topic, bootstrap_servers=strait.bootstrap, group_id=group, auto_offset_reset="earliest",
                      enable_auto_commit=False, consumer_timeout_ms=15000)
    values = []
    for m in c:
        values.append(m.value)
        if len(values) == 500:
            break
    c.commit()
    committed = sum(c.committed(TopicPartition(topic, p)) or 0 for p in range(2))
    c.close()
    assert sorted(values) == sorted(f"v{i}".encode() for i in range(500))
    assert committed == 500
