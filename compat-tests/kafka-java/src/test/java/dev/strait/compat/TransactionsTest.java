package dev.strait.compat;

import dev.strait.compat.support.StraitServer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Transactions (KIP-98) and KIP-848 consumer-protocol groups through Apache Kafka's own Java client: committed
 * records visible exactly once to read_committed consumers, aborted ones never, zombie fencing, offsets committed in
 * a transaction, and a group.protocol=consumer group splitting partitions between two members.
 */
@ExtendWith(StraitExtension.class)
class TransactionsTest {
    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Every value of `topic` (all partitions, from the start) as a consumer with the given isolation sees them. */
    private static List<String> readAll(StraitServer strait, String topic, int partitions, String isolation,
            int expect) {
        List<String> got = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = Clients.consumer(strait, null, Map.of("isolation.level", isolation))) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int p = 0; p < partitions; p++) {
                tps.add(new TopicPartition(topic, p));
            }
            c.assign(tps);
            c.seekToBeginning(tps);
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    got.add(new String(r.value(), StandardCharsets.UTF_8));
                }
                boolean atEnd = true;
                Map<TopicPartition, Long> ends = c.endOffsets(tps);
                for (TopicPartition tp : tps) {
                    atEnd &= c.position(tp) >= ends.get(tp);
                }
                if (atEnd && got.size() >= expect) {
                    break;
                }
            }
        }
        return got;
    }

    @Test
    void committedOnceAbortedNever(StraitServer strait) throws Exception {
        String topic = Clients.unique("java-txn");
        try (Admin admin = Clients.admin(strait)) {
            Clients.createTopic(admin, topic, 3, Map.of());
        }
        Set<String> committed = new HashSet<>();
        try (KafkaProducer<byte[], byte[]> p = Clients.producer(strait,
                Map.of("transactional.id", Clients.unique("java-tx")))) {
            p.initTransactions();
            p.beginTransaction();
            for (int i = 0; i < 300; i++) {
                p.send(new ProducerRecord<>(topic, b("k" + i), b("c1-" + i)));
                committed.add("c1-" + i);
            }
            p.commitTransaction();
            p.beginTransaction();
            for (int i = 0; i < 200; i++) {
                p.send(new ProducerRecord<>(topic, b("k" + i), b("a-" + i)));
            }
            p.flush();
            p.abortTransaction();
            p.beginTransaction();
            for (int i = 0; i < 100; i++) {
                p.send(new ProducerRecord<>(topic, b("k" + i), b("c2-" + i)));
                committed.add("c2-" + i);
            }
            p.commitTransaction();
        }
        List<String> rc = readAll(strait, topic, 3, "read_committed", committed.size());
        assertEquals(committed.size(), rc.size(), "each committed record exactly once");
        assertEquals(committed, new HashSet<>(rc), "no aborted record, no control record");
        List<String> ru = readAll(strait, topic, 3, "read_uncommitted", 600);
        assertEquals(600, ru.size(), "read_uncommitted sees the aborted records too");
    }

    @Test
    void zombieIsFencedAndOffsetsCommitWithTheTransaction(StraitServer strait) throws Exception {
        String topic = Clients.unique("java-fence");
        String group = Clients.unique("java-txn-group");
        String txnId = Clients.unique("java-tx");
        try (Admin admin = Clients.admin(strait)) {
            Clients.createTopic(admin, topic, 1, Map.of());
        }
        TopicPartition tp = new TopicPartition(topic, 0);
        try (KafkaProducer<byte[], byte[]> zombie = Clients.producer(strait, Map.of("transactional.id", txnId))) {
            zombie.initTransactions();
            zombie.beginTransaction();
            zombie.send(new ProducerRecord<>(topic, b("zombie"))).get();
            try (KafkaProducer<byte[], byte[]> p = Clients.producer(strait, Map.of("transactional.id", txnId))) {
                p.initTransactions(); // aborts the zombie's transaction and fences it
                p.beginTransaction();
                p.send(new ProducerRecord<>(topic, b("fresh")));
                p.sendOffsetsToTransaction(Map.of(tp, new OffsetAndMetadata(42, "in-txn")),
                        new org.apache.kafka.clients.consumer.ConsumerGroupMetadata(group));
                p.commitTransaction();
            }
            assertThrows(ProducerFencedException.class, zombie::commitTransaction);
        }
        assertEquals(List.of("fresh"), readAll(strait, topic, 1, "read_committed", 1));
        try (Admin admin = Clients.admin(strait)) {
            Map<TopicPartition, OffsetAndMetadata> offsets =
                    admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
            assertEquals(42, offsets.get(tp).offset());
            assertEquals("in-txn", offsets.get(tp).metadata());
        }
    }

    /** The member owns partitions and has read each of them to its end (100 records per partition). */
    private static boolean caughtUp(KafkaConsumer<byte[], byte[]> c) {
        if (c.assignment().isEmpty()) {
            return false;
        }
        for (TopicPartition tp : c.assignment()) {
            if (c.position(tp) < 100) {
                return false;
            }
        }
        return true;
    }

    @Test
    void consumerProtocolGroupSharesPartitions(StraitServer strait) throws Exception {
        String topic = Clients.unique("java-848");
        String group = Clients.unique("java-848-group");
        try (Admin admin = Clients.admin(strait)) {
            Clients.createTopic(admin, topic, 4, Map.of());
        }
        try (KafkaProducer<byte[], byte[]> p = Clients.producer(strait, Map.of())) {
            for (int i = 0; i < 400; i++) {
                p.send(new ProducerRecord<>(topic, i % 4, null, b("v" + i)));
            }
            p.flush();
        }
        Map<String, Object> conf = Map.of("group.protocol", "consumer");
        Set<String> seen = new HashSet<>();
        try (KafkaConsumer<byte[], byte[]> a = Clients.consumer(strait, group, conf);
                KafkaConsumer<byte[], byte[]> c2 = Clients.consumer(strait, group, conf)) {
            a.subscribe(List.of(topic));
            c2.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (System.nanoTime() < deadline && !(seen.size() == 400 && caughtUp(a) && caughtUp(c2))) {
                for (ConsumerRecord<byte[], byte[]> r : a.poll(Duration.ofMillis(100))) {
                    seen.add(new String(r.value(), StandardCharsets.UTF_8));
                }
                for (ConsumerRecord<byte[], byte[]> r : c2.poll(Duration.ofMillis(100))) {
                    seen.add(new String(r.value(), StandardCharsets.UTF_8));
                }
            }
            assertEquals(400, seen.size());
            Set<TopicPartition> both = new HashSet<>(a.assignment());
            both.retainAll(c2.assignment());
            assertTrue(both.isEmpty(), "no partition assigned twice: " + a.assignment() + " / " + c2.assignment());
            assertEquals(4, a.assignment().size() + c2.assignment().size());
            a.commitSync();
            c2.commitSync();
        }
        try (Admin admin = Clients.admin(strait)) {
            var d = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
            assertEquals(org.apache.kafka.common.GroupType.CONSUMER, d.type());
            long total = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get().values()
                    .stream().mapToLong(OffsetAndMetadata::offset).sum();
            assertEquals(400, total, "both members committed at their member epochs");
        }
    }
}
