package dev.strait.compat;

import dev.strait.compat.support.StraitServer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Behaviours brokers often get wrong: oversized first batches, re-created topics, auto-commit on close. */
@ExtendWith(StraitExtension.class)
class EdgeCaseTest {
    private static final long T = 30;

    @Test
    void aRecordLargerThanTheConsumersFetchLimitsIsStillReturned(StraitServer strait) throws Exception {
        // KIP-74: the first batch of a fetch is returned even when it is larger than fetch.max.bytes and
        // max.partition.fetch.bytes, so a consumer can always make progress.
        String topic = Clients.unique("java-big");
        TopicPartition tp = new TopicPartition(topic, 0);
        byte[] big = new byte[3 * 1024 * 1024];
        new Random(1).nextBytes(big);
        try (Admin admin = Clients.admin(strait)) {
            Clients.createTopic(admin, topic, 1, Map.of("max.message.bytes", Integer.toString(8 * 1024 * 1024)));
        }
        try (KafkaProducer<byte[], byte[]> p = Clients.producer(strait, Map.of("max.request.size", 8 * 1024 * 1024))) {
            p.send(new ProducerRecord<>(topic, 0, null, big)).get(T, TimeUnit.SECONDS);
            p.send(new ProducerRecord<>(topic, 0, null, "after".getBytes(StandardCharsets.UTF_8)))
                    .get(T, TimeUnit.SECONDS);
        }
        try (KafkaConsumer<byte[], byte[]> c = Clients.consumer(strait, null,
                Map.of("fetch.max.bytes", 1024 * 1024, "max.partition.fetch.bytes", 64 * 1024))) {
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            int got = 0;
            long deadline = System.nanoTime() + Duration.ofSeconds(T).toNanos();
            while (got < 2) {
                assertTrue(System.nanoTime() < deadline, "received " + got + " of 2 records");
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                    assertEquals(got, r.offset());
                    if (got == 0) {
                        assertArrayEquals(big, r.value());
                    } else {
                        assertEquals("after", new String(r.value(), StandardCharsets.UTF_8));
                    }
                    got++;
                }
            }
        }
    }

    @Test
    void aLongLivedProducerAndConsumerFollowATopicDeletedAndRecreatedUnderTheSameName(StraitServer strait)
            throws Exception {
        String topic = Clients.unique("java-recreate");
        TopicPartition tp = new TopicPartition(topic, 0);
        try (Admin admin = Clients.admin(strait);
                KafkaProducer<byte[], byte[]> p = Clients.producer(strait, Map.of())) {
            Clients.createTopic(admin, topic, 1, Map.of());
            for (int i = 0; i < 5; i++) {
                p.send(new ProducerRecord<>(topic, 0, null, ("old" + i).getBytes(StandardCharsets.UTF_8)))
                        .get(T, TimeUnit.SECONDS);
            }
            Uuid oldId = admin.describeTopics(List.of(topic)).allTopicNames().get(T, TimeUnit.SECONDS).get(topic)
                    .topicId();
            admin.deleteTopics(List.of(topic)).all().get(T, TimeUnit.SECONDS);
            long deadline = System.nanoTime() + Duration.ofSeconds(T).toNanos();
            while (true) {
                try {
                    Clients.createTopic(admin, topic, 1, Map.of());
                    break;
                } catch (java.util.concurrent.ExecutionException e) {
                    // Kafka may still be deleting; Strait should not be, but allow the retry Kafka needs.
                    assertTrue(System.nanoTime() < deadline, "re-created: " + e.getCause());
                    Thread.sleep(200);
                }
            }
            Uuid newId = admin.describeTopics(List.of(topic)).allTopicNames().get(T, TimeUnit.SECONDS).get(topic)
                    .topicId();
            assertNotEquals(oldId, newId, "a re-created topic has a new id");
            RecordMetadata md = p.send(new ProducerRecord<>(topic, 0, null, "new0".getBytes(StandardCharsets.UTF_8)))
                    .get(T, TimeUnit.SECONDS);
            assertEquals(0, md.offset(), "the new topic starts empty");
        }
        try (KafkaConsumer<byte[], byte[]> c = Clients.consumer(strait, null, Map.of())) {
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            ConsumerRecords<byte[], byte[]> rs = ConsumerRecords.empty();
            long deadline = System.nanoTime() + Duration.ofSeconds(T).toNanos();
            while (rs.isEmpty()) {
                assertTrue(System.nanoTime() < deadline, "read the re-created topic");
                rs = c.poll(Duration.ofMillis(300));
            }
            assertEquals(1, rs.count());
            assertEquals("new0", new String(rs.iterator().next().value(), StandardCharsets.UTF_8));
        }
    }

    @Test
    void autoCommitCommitsOnCloseAndTheNextMemberResumes(StraitServer strait) throws Exception {
        String topic = Clients.unique("java-autocommit");
        String group = Clients.unique("java-auto-g");
        TopicPartition tp = new TopicPartition(topic, 0);
        try (Admin admin = Clients.admin(strait)) {
            Clients.createTopic(admin, topic, 1, Map.of());
            ConsumerGroupTest.produceTo(strait, topic, 1, 20);
            Map<String, Object> conf = Map.of("group.protocol", "classic", "enable.auto.commit", true,
                    "auto.commit.interval.ms", 60_000, "max.poll.records", 7);
            try (KafkaConsumer<byte[], byte[]> c = Clients.consumer(strait, group, conf)) {
                c.subscribe(List.of(topic));
                int n = 0;
                long deadline = System.nanoTime() + Duration.ofSeconds(T).toNanos();
                while (n < 7) {
                    assertTrue(System.nanoTime() < deadline, "consumed the first poll");
                    n += c.poll(Duration.ofMillis(200)).count();
                }
                assertEquals(7, n);
            } // close() commits the consumed position (7)
            OffsetAndMetadata committed = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
                    .get(T, TimeUnit.SECONDS).get(tp);
            assertEquals(7, committed.offset());
            try (KafkaConsumer<byte[], byte[]> c = Clients.consumer(strait, group, conf)) {
                c.subscribe(List.of(topic));
                ConsumerRecords<byte[], byte[]> rs = ConsumerRecords.empty();
                long deadline = System.nanoTime() + Duration.ofSeconds(T).toNanos();
                while (rs.isEmpty()) {
                    assertTrue(System.nanoTime() < deadline, "resumed");
                    rs = c.poll(Duration.ofMillis(200));
                }
                assertEquals(7, rs.iterator().next().offset());
            }
        }
    }
}
