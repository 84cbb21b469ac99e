package dev.strait.compat;

import dev.strait.compat.support.StraitServer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.GroupProtocol;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@ExtendWith(StraitExtension.class)
class ConsumerGroupTest {
    private static final int PARTITIONS = 4;
    private static final int PER_PARTITION = 250;

    /** Records every callback so the test can check what an eager or a cooperative rebalance revoked. */
    private static final class Listener implements ConsumerRebalanceListener {
        final List<Set<TopicPartition>> revoked = new ArrayList<>();
        final List<Set<TopicPartition>> assigned = new ArrayList<>();

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            revoked.add(new HashSet<>(partitions));
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            assigned.add(new HashSet<>(partitions));
        }
    }

    @Test
    void classicIsTheDefaultGroupProtocolOfThisClient() {
        // The 4.x client defaults to the classic protocol; KIP-848 (group.protocol=consumer) is opt-in and
        // covered by TransactionsTest.consumerProtocolGroupSharesPartitions.
        ConsumerConfig cfg = new ConsumerConfig(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:1",
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
                "org.apache.kafka.common.serialization.ByteArrayDeserializer",
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
                "org.apache.kafka.common.serialization.ByteArrayDeserializer"));
        assertEquals(GroupProtocol.CLASSIC.name().toLowerCase(),
                cfg.getString(ConsumerConfig.GROUP_PROTOCOL_CONFIG).toLowerCase());
    }

    static void produce(StraitServer strait, String topic, int perPartition, String tag) throws Exception {
        produceTo(strait, topic, PARTITIONS, perPartition, tag);
    }

    static void produceTo(StraitServer strait, String topic, int partitions, int perPartition) throws Exception {
        produceTo(strait, topic, partitions, perPartition, "v");
    }

    static void produceTo(StraitServer strait, String topic, int partitions, int perPartition, String tag)
            throws Exception {
        try (KafkaProducer<byte[], byte[]> producer = Clients.producer(strait, Map.of())) {
            for (int p = 0; p < partitions; p++) {
                for (int i = 0; i < perPartition; i++) {
                    producer.send(new ProducerRecord<>(topic, p, null,
                            (tag + "-" + p + "-" + i).getBytes(StandardCharsets.UTF_8)));
                }
            }
            producer.flush();
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(classes = {RangeAssignor.class, CooperativeStickyAssignor.class})
    void twoMembersSplitPartitionsCommitAndANewMemberResumes(Class<?> assignor, StraitServer strait)
            throws Exception {
        boolean cooperative = assignor == CooperativeStickyAssignor.class;
        String topic = Clients.unique("java-group");
        String group = Clients.unique("java-g");
        try (Admin admin = Clients.admin(strait)) {
            Clients.createTopic(admin, topic, PARTITIONS, Map.of());
        }
        produce(strait, topic, PER_PARTITION, "first");

        Map<String, Object> conf = Map.of(
                ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic",
                ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, assignor.getName(),
                ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 50);
        Set<TopicPartition> all = new HashSet<>();
        for (int p = 0; p < PARTITIONS; p++) {
            all.add(new TopicPartition(topic, p));
        }

        KafkaConsumer<byte[], byte[]> c1 = Clients.consumer(strait, group, conf);
        KafkaConsumer<byte[], byte[]> c2 = Clients.consumer(strait, group, conf);
        Listener l1 = new Listener();
        Listener l2 = new Listener();
        Map<TopicPartition, Long> lastSeen = new HashMap<>();
        Set<String> consumed = new HashSet<>();
        try {
            // c1 alone owns every partition first.
            c1.subscribe(List.of(topic), l1);
            long deadline = System.nanoTime() + Clients.TIMEOUT.toNanos();
            while (!c1.assignment().equals(all)) {
                assertTrue(System.nanoTime() < deadline, "c1 got every partition; has " + c1.assignment());
                record(c1.poll(Duration.ofMillis(100)), lastSeen, consumed);
            }
            // c2 joins: both must keep polling through the rebalance until the partitions are split.
            c2.subscribe(List.of(topic), l2);
            deadline = System.nanoTime() + Clients.TIMEOUT.toNanos();
            while (true) {
                record(c1.poll(Duration.ofMillis(100)), lastSeen, consumed);
                record(c2.poll(Duration.ofMillis(100)), lastSeen, consumed);
                Set<TopicPartition> a1 = c1.assignment();
                Set<TopicPartition> a2 = c2.assignment();
                Set<TopicPartition> union = new HashSet<>(a1);
                union.addAll(a2);
                boolean disjoint = a1.stream().noneMatch(a2::contains);
                if (!a1.isEmpty() && !a2.isEmpty() && disjoint && union.equals(all)) {
                    assertEquals(PARTITIONS / 2, a1.size(), "even split; c1 has " + a1 + ", c2 has " + a2);
                    break;
                }
                assertTrue(System.nanoTime() < deadline, "partitions split between c1 " + a1 + " and c2 " + a2);
            }
            if (cooperative) {
                // Incremental rebalance: c1 gave up only what moved to c2, never everything it owned.
                Set<TopicPartition> revoked = new HashSet<>();
                l1.revoked.forEach(revoked::addAll);
                assertFalse(revoked.isEmpty(), "c1 revoked the partitions that moved");
                assertTrue(c2.assignment().containsAll(revoked),
                        "cooperative revocation " + revoked + " only of partitions now owned by c2 " + c2.assignment());
            } else {
                assertTrue(l1.revoked.stream().anyMatch(r -> r.equals(all)), "eager rebalance revoked everything");
            }

            // Both read to the end of their partitions, then commit synchronously.
            deadline = System.nanoTime() + Clients.TIMEOUT.toNanos();
            while (!allAtEnd(c1, PER_PARTITION) || !allAtEnd(c2, PER_PARTITION)) {
                assertTrue(System.nanoTime() < deadline, "c1 and c2 read to the end");
                record(c1.poll(Duration.ofMillis(100)), lastSeen, consumed);
                record(c2.poll(Duration.ofMillis(100)), lastSeen, consumed);
            }
            assertEquals(PARTITIONS * PER_PARTITION, consumed.size(), "every record consumed at least once");
            c1.commitSync(Clients.TIMEOUT);
            c2.commitSync(Clients.TIMEOUT);
            Map<TopicPartition, OffsetAndMetadata> committed = c1.committed(all, Clients.TIMEOUT);
            for (TopicPartition tp : all) {
                assertEquals(PER_PARTITION, committed.get(tp).offset(), "committed offset of " + tp);
            }
        } finally {
            c1.close(Duration.ofSeconds(10));
            c2.close(Duration.ofSeconds(10));
        }

        // More data, then a new member of the same group resumes exactly at the committed offsets.
        produce(strait, topic, 10, "second");
        try (KafkaConsumer<byte[], byte[]> c3 = Clients.consumer(strait, group, conf)) {
            c3.subscribe(List.of(topic));
            Map<Integer, List<String>> got = new HashMap<>();
            int total = 0;
            long deadline = System.nanoTime() + Clients.TIMEOUT.toNanos();
            while (total < PARTITIONS * 10) {
                assertTrue(System.nanoTime() < deadline, "c3 read the new records; has " + total);
                for (ConsumerRecord<byte[], byte[]> r : c3.poll(Duration.ofMillis(200))) {
                    assertTrue(r.offset() >= PER_PARTITION, "resumed after the commit, got offset " + r.offset());
                    got.computeIfAbsent(r.partition(), k -> new ArrayList<>())
                            .add(new String(r.value(), StandardCharsets.UTF_8));
                    total++;
                }
            }
            assertEquals(all, c3.assignment());
            for (int p = 0; p < PARTITIONS; p++) {
                List<String> want = new ArrayList<>();
                for (int i = 0; i < 10; i++) {
                    want.add("second-" + p + "-" + i);
                }
                assertEquals(want, got.get(p), "partition " + p);
            }
            c3.commitSync(Clients.TIMEOUT);
        }
        try (Admin admin = Clients.admin(strait)) {
            Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
            for (TopicPartition tp : all) {
                assertEquals(PER_PARTITION + 10, offsets.get(tp).offset(), "final committed offset of " + tp);
            }
        }
    }

    private static boolean allAtEnd(KafkaConsumer<byte[], byte[]> c, long end) {
        for (TopicPartition tp : c.assignment()) {
            if (c.position(tp) < end) {
                return false;
            }
        }
        return !c.assignment().isEmpty();
    }

    private static void record(Iterable<ConsumerRecord<byte[], byte[]>> records, Map<TopicPartition, Long> lastSeen,
            Set<String> consumed) {
        for (ConsumerRecord<byte[], byte[]> r : records) {
            consumed.add(new String(r.value(), StandardCharsets.UTF_8));
            lastSeen.put(new TopicPartition(r.topic(), r.partition()), r.offset());
        }
    }
}
