package dev.strait.compat;

import dev.strait.compat.support.StraitServer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Fetch sessions (KIP-227) with the Java consumer, which opens one on its first fetch and then sends incremental
 * fetches: every record of a 64-partition topic arrives exactly once and in order per partition, including
 * records produced to a few partitions while the session is open (which only incremental answers can carry),
 * strait's own counters show the fetches really were incremental, and closing the consumer closes its session.
 */
@ExtendWith(StraitExtension.class)
class FetchSessionTest {
    private static final int PARTITIONS = 64;
    private static final int PER_PARTITION = 20;

    @Test
    void aConsumerOfManyPartitionsReadsEverythingThroughAnIncrementalSession(StraitServer strait) throws Exception {
        String topic = Clients.unique("java-fetch-session");
        try (Admin admin = Clients.admin(strait)) {
            Clients.createTopic(admin, topic, PARTITIONS, Map.of());
        }
        Map<Integer, List<String>> sent = new HashMap<>();
        try (KafkaProducer<byte[], byte[]> producer = Clients.producer(strait, Map.of())) {
            for (int p = 0; p < PARTITIONS; p++) {
                for (int i = 0; i < PER_PARTITION; i++) {
                    send(producer, sent, topic, p, "first-" + p + "-" + i);
                }
            }
            producer.flush();
        }
        long incrementalBefore = Clients.metric(strait, "strait_kafka_incremental_fetches_total");

        List<TopicPartition> all = new ArrayList<>();
        for (int p = 0; p < PARTITIONS; p++) {
            all.add(new TopicPartition(topic, p));
        }
        Map<Integer, List<String>> got = new HashMap<>();
        try (KafkaConsumer<byte[], byte[]> consumer = Clients.consumer(strait, null,
                Map.of(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 4096))) {
            consumer.assign(all);
            consumer.seekToBeginning(all);
            pollUntil(consumer, got, PARTITIONS * PER_PARTITION);
            // Later records on three partitions: the open session's incremental answers must carry them.
            try (KafkaProducer<byte[], byte[]> producer = Clients.producer(strait, Map.of())) {
                for (int p : new int[] {3, 17, 63}) {
                    for (int i = 0; i < 5; i++) {
                        send(producer, sent, topic, p, "later-" + p + "-" + i);
                    }
                }
                producer.flush();
            }
            pollUntil(consumer, got, PARTITIONS * PER_PARTITION + 15);
            assertEquals(1, Clients.metric(strait, "strait_kafka_fetch_sessions"), "the consumer's session is cached");
        }
        // Closing the consumer closes its session (a final fetch at epoch -1).
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (Clients.metric(strait, "strait_kafka_fetch_sessions") != 0) {
            assertTrue(System.nanoTime() < deadline, "the closed consumer's session is still cached");
            Thread.sleep(100);
        }
        assertEquals(sent, got, "every record exactly once, in order per partition");
        long incremental = Clients.metric(strait, "strait_kafka_incremental_fetches_total") - incrementalBefore;
        assertTrue(incremental > 0, "the consumer fetched incrementally (" + incremental + " incremental fetches)");
    }

    private static void send(KafkaProducer<byte[], byte[]> producer, Map<Integer, List<String>> sent, String topic,
            int partition, String value) {
        producer.send(new ProducerRecord<>(topic, partition, null, value.getBytes(StandardCharsets.UTF_8)));
        sent.computeIfAbsent(partition, k -> new ArrayList<>()).add(value);
    }

    private static void pollUntil(KafkaConsumer<byte[], byte[]> consumer, Map<Integer, List<String>> got, int total) {
        long deadline = System.nanoTime() + Clients.TIMEOUT.toNanos();
        int count = got.values().stream().mapToInt(List::size).sum();
        while (count < total) {
            assertTrue(System.nanoTime() < deadline, "only " + count + " of " + total + " records arrived");
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                got.computeIfAbsent(r.partition(), k -> new ArrayList<>())
                        .add(new String(r.value(), StandardCharsets.UTF_8));
                count++;
            }
        }
    }
}
