package dev.strait.compat;

import dev.strait.compat.support.StraitServer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(StraitExtension.class)
class ProduceConsumeTest {
    private static final int RECORDS = 10_000;
    private static final int PARTITIONS = 3;

    private record Pos(int partition, long offset) {}

    private record Sent(byte[] key, byte[] value, List<Header> headers, long timestamp) {}

    @Test
    void defaultProducerSends10kRecordsAndConsumerReadsThemBackByteExactInOrder(StraitServer strait)
            throws Exception {
        // Kafka 3+ defaults, which this test relies on: idempotence on and acks=all.
        ProducerConfig defaults = new ProducerConfig(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, strait.bootstrap(),
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, "org.apache.kafka.common.serialization.ByteArraySerializer",
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG,
                "org.apache.kafka.common.serialization.ByteArraySerializer"));
        assertEquals(true, defaults.getBoolean(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG));
        assertEquals("-1", defaults.getString(ProducerConfig.ACKS_CONFIG));

        String topic = Clients.unique("java-produce");
        try (Admin admin = Clients.admin(strait)) {
            Clients.createTopic(admin, topic, PARTITIONS, Map.of());
        }

        Random rnd = new Random(42);
        List<Sent> sent = new ArrayList<>(RECORDS);
        List<Future<RecordMetadata>> futures = new ArrayList<>(RECORDS);
        long base = System.currentTimeMillis() - 60_000;
        try (KafkaProducer<byte[], byte[]> producer = Clients.producer(strait, Map.of())) {
            for (int i = 0; i < RECORDS; i++) {
                byte[] key = ("key-" + (i % 97)).getBytes(StandardCharsets.UTF_8);
                byte[] value = new byte[rnd.nextInt(300)]; // includes empty values
                rnd.nextBytes(value);
                if (i % 1000 == 999) {
                    value = null; // a tombstone now and then
                }
                List<Header> headers = new ArrayList<>();
                headers.add(new RecordHeader("seq", Integer.toString(i).getBytes(StandardCharsets.UTF_8)));
                if (i % 3 == 0) {
                    byte[] bin = new byte[rnd.nextInt(16)];
                    rnd.nextBytes(bin);
                    headers.add(new RecordHeader("bin", bin));
                    headers.add(new RecordHeader("null-valued", null));
                    headers.add(new RecordHeader("seq", "duplicate-key".getBytes(StandardCharsets.UTF_8)));
                }
                long ts = base + i;
                sent.add(new Sent(key, value, headers, ts));
                futures.add(producer.send(new ProducerRecord<>(topic, null, ts, key, value, headers)));
            }
            producer.flush();
        }

        // Every send succeeded; offsets per partition are dense, and follow the send order (idempotent producer).
        Map<Pos, Sent> byOffset = new HashMap<>();
        Map<Integer, Long> nextOffset = new HashMap<>();
        Map<String, Integer> partitionOfKey = new HashMap<>();
        for (int i = 0; i < RECORDS; i++) {
            RecordMetadata md = futures.get(i).get(0, TimeUnit.SECONDS);
            long expected = nextOffset.getOrDefault(md.partition(), 0L);
            assertEquals(expected, md.offset(), "record " + i + " offset in partition " + md.partition());
            nextOffset.put(md.partition(), expected + 1);
            assertEquals(sent.get(i).timestamp(), md.timestamp(), "CreateTime is echoed back");
            Integer prev = partitionOfKey.putIfAbsent(new String(sent.get(i).key(), StandardCharsets.UTF_8),
                    md.partition());
            if (prev != null) {
                assertEquals(prev, md.partition(), "one key, one partition");
            }
            byOffset.put(new Pos(md.partition(), md.offset()), sent.get(i));
        }
        assertEquals(PARTITIONS, nextOffset.size(), "keys spread over every partition");

        List<TopicPartition> tps = new ArrayList<>();
        for (int p = 0; p < PARTITIONS; p++) {
            tps.add(new TopicPartition(topic, p));
        }
        try (KafkaConsumer<byte[], byte[]> consumer = Clients.consumer(strait, null, Map.of())) {
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            Map<TopicPartition, Long> end = consumer.endOffsets(tps, Clients.TIMEOUT);
            for (TopicPartition tp : tps) {
                assertEquals(nextOffset.get(tp.partition()), end.get(tp), "high watermark of " + tp);
            }
            Map<Integer, Long> expectedNext = new HashMap<>();
            int got = 0;
            long deadline = System.nanoTime() + Clients.TIMEOUT.toNanos();
            while (got < RECORDS) {
                assertTrue(System.nanoTime() < deadline, "read " + got + " of " + RECORDS + " records in time");
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    long want = expectedNext.getOrDefault(r.partition(), 0L);
                    assertEquals(want, r.offset(), "per-partition order, partition " + r.partition());
                    expectedNext.put(r.partition(), want + 1);
                    Sent s = byOffset.get(new Pos(r.partition(), r.offset()));
                    assertNotNull(s, "record at " + r.partition() + "/" + r.offset() + " was produced");
                    assertArrayEquals(s.key(), r.key());
                    assertArrayEquals(s.value(), r.value());
                    assertEquals(s.timestamp(), r.timestamp());
                    Header[] h = r.headers().toArray();
                    assertEquals(s.headers().size(), h.length, "header count");
                    for (int i = 0; i < h.length; i++) {
                        assertEquals(s.headers().get(i).key(), h[i].key());
                        assertArrayEquals(s.headers().get(i).value(), h[i].value());
                    }
                    got++;
                }
            }
            assertEquals(RECORDS, got);
            assertTrue(consumer.poll(Duration.ofMillis(300)).isEmpty(), "nothing beyond what was produced");
        }
    }
}
