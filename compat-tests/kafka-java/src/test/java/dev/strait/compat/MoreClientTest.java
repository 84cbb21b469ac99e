package dev.strait.compat;

import dev.strait.compat.support.StraitServer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.clients.admin.MemberToRemove;
import org.apache.kafka.clients.admin.RemoveMembersFromConsumerGroupOptions;
import org.apache.kafka.clients.admin.ReplicaInfo;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicCollection;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.UnknownTopicIdException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Further client paths beyond the four required areas: codecs, timestamps, static members, admin extras. */
@ExtendWith(StraitExtension.class)
class MoreClientTest {
    private static final long T = 30;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"none", "gzip", "snappy", "lz4", "zstd"})
    void everyCompressionCodecRoundTrips(String codec, StraitServer strait) throws Exception {
        String topic = Clients.unique("java-codec-" + codec);
        TopicPartition tp = new TopicPartition(topic, 0);
        try (Admin admin = Clients.admin(strait)) {
            Clients.createTopic(admin, topic, 1, Map.of());
        }
        Random rnd = new Random(7);
        List<byte[]> values = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> p = Clients.producer(strait,
                Map.of("compression.type", codec, "linger.ms", 20))) {
            for (int i = 0; i < 2000; i++) {
                byte[] v = ("value-" + i + "-" + "abc".repeat(rnd.nextInt(50))).getBytes(StandardCharsets.UTF_8);
                values.add(v);
                p.send(new ProducerRecord<>(topic, 0, Integer.toString(i).getBytes(StandardCharsets.UTF_8), v));
            }
            p.flush();
        }
        try (KafkaConsumer<byte[], byte[]> c = Clients.consumer(strait, null, Map.of())) {
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            int i = 0;
            long deadline = System.nanoTime() + Duration.ofSeconds(T).toNanos();
            while (i < values.size()) {
                assertTrue(System.nanoTime() < deadline, "read " + i + " records");
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(300))) {
                    assertEquals(i, r.offset());
                    assertEquals(Integer.toString(i), new String(r.key(), StandardCharsets.UTF_8));
                    assertArrayEquals(values.get(i), r.value());
                    i++;
                }
            }
        }
    }

    @Test
    void consumerOffsetsForTimesAndBeginningEndOffsets(StraitServer strait) throws Exception {
        String topic = Clients.unique("java-times");
        TopicPartition tp = new TopicPartition(topic, 0);
        long base = System.currentTimeMillis() - 100_000;
        try (Admin admin = Clients.admin(strait)) {
            Clients.createTopic(admin, topic, 1, Map.of());
        }
        try (KafkaProducer<byte[], byte[]> p = Clients.producer(strait, Map.of("linger.ms", 50))) {
            for (int i = 0; i < 100; i++) {
                p.send(new ProducerRecord<>(topic, 0, base + i * 10L, null, new byte[] {(byte) i}));
            }
            p.flush();
        }
        try (KafkaConsumer<byte[], byte[]> c = Clients.consumer(strait, null, Map.of())) {
            assertEquals(Map.of(tp, 0L), c.beginningOffsets(List.of(tp), Duration.ofSeconds(T)));
            assertEquals(Map.of(tp, 100L), c.endOffsets(List.of(tp), Duration.ofSeconds(T)));
            Map<TopicPartition, OffsetAndTimestamp> at = c.offsetsForTimes(Map.of(tp, base + 425),
                    Duration.ofSeconds(T));
            assertEquals(43, at.get(tp).offset(), "first record at or after the time, inside a batch");
            assertEquals(base + 430, at.get(tp).timestamp());
            Map<TopicPartition, OffsetAndTimestamp> none = c.offsetsForTimes(Map.of(tp, base + 5000),
                    Duration.ofSeconds(T));
            assertEquals(null, none.get(tp), "no record that late");
            c.assign(List.of(tp));
            c.seek(tp, at.get(tp).offset());
            ConsumerRecord<byte[], byte[]> first = c.poll(Duration.ofSeconds(5)).iterator().next();
            assertEquals(43, first.offset());
            assertEquals(43, first.value()[0]);
        }
    }

    @Test
    void staticMemberRejoinsWithItsAssignmentAndGroupOffsetsCanBeAlteredAndDeleted(StraitServer strait)
            throws Exception {
        String topic = Clients.unique("java-static");
        String group = Clients.unique("java-static-g");
        Map<String, Object> conf = Map.of("group.protocol", "classic", "group.instance.id", "instance-a",
                "session.timeout.ms", 10_000);
        try (Admin admin = Clients.admin(strait)) {
            Clients.createTopic(admin, topic, 2, Map.of());
            ConsumerGroupTest.produceTo(strait, topic, 2, 5);
            for (int round = 0; round < 2; round++) {
                try (KafkaConsumer<byte[], byte[]> c = Clients.consumer(strait, group, conf)) {
                    c.subscribe(List.of(topic));
                    long deadline = System.nanoTime() + Duration.ofSeconds(T).toNanos();
                    while (c.assignment().size() < 2) {
                        assertTrue(System.nanoTime() < deadline, "static member assigned");
                        c.poll(Duration.ofMillis(200));
                    }
                    c.commitSync(Map.of(new TopicPartition(topic, 0), new OffsetAndMetadata(1 + round)),
                            Clients.TIMEOUT);
                    var desc = admin.describeConsumerGroups(List.of(group)).all().get(T, TimeUnit.SECONDS)
                            .get(group);
                    assertEquals(1, desc.members().size());
                    assertEquals("instance-a", desc.members().iterator().next().groupInstanceId().orElseThrow());
                }
            }
            // A static member's close does not leave the group (KIP-345): Kafka keeps it until its session times
            // out, so the group is not Empty yet and altering its offsets must wait. Remove it explicitly.
            admin.removeMembersFromConsumerGroup(group,
                    new RemoveMembersFromConsumerGroupOptions(
                            List.of(new MemberToRemove("instance-a"))))
                    .all().get(T, TimeUnit.SECONDS);
            TopicPartition p0 = new TopicPartition(topic, 0);
            TopicPartition p1 = new TopicPartition(topic, 1);
            admin.alterConsumerGroupOffsets(group, Map.of(p0, new OffsetAndMetadata(4), p1,
                    new OffsetAndMetadata(2))).all().get(T, TimeUnit.SECONDS);
            Map<TopicPartition, OffsetAndMetadata> offs = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get(T, TimeUnit.SECONDS);
            assertEquals(4, offs.get(p0).offset());
            assertEquals(2, offs.get(p1).offset());
            admin.deleteConsumerGroupOffsets(group, Set.of(p0)).all().get(T, TimeUnit.SECONDS);
            offs = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(T, TimeUnit.SECONDS);
            assertFalse(offs.containsKey(p0) && offs.get(p0) != null, "p0's offset deleted: " + offs);
            assertEquals(2, offs.get(p1).offset());
        }
    }

    @Test
    void describeTopicsByIdAndDescribeLogDirs(StraitServer strait) throws Exception {
        String topic = Clients.unique("java-ids");
        try (Admin admin = Clients.admin(strait)) {
            Clients.createTopic(admin, topic, 2, Map.of());
            ConsumerGroupTest.produceTo(strait, topic, 2, 3);
            Uuid id = admin.describeTopics(List.of(topic)).allTopicNames().get(T, TimeUnit.SECONDS).get(topic)
                    .topicId();
            TopicDescription byId = admin.describeTopics(TopicCollection.ofTopicIds(List.of(id))).allTopicIds()
                    .get(T, TimeUnit.SECONDS).get(id);
            assertEquals(topic, byId.name());
            assertEquals(2, byId.partitions().size());
            ExecutionException e = assertThrows(ExecutionException.class, () -> admin.describeTopics(
                    TopicCollection.ofTopicIds(List.of(Uuid.randomUuid()))).allTopicIds().get(T, TimeUnit.SECONDS));
            assertInstanceOf(UnknownTopicIdException.class, e.getCause(), String.valueOf(e.getCause()));

            int node = admin.describeCluster().nodes().get(T, TimeUnit.SECONDS).iterator().next().id();
            Map<String, LogDirDescription> dirs = admin.describeLogDirs(List.of(node)).allDescriptions()
                    .get(T, TimeUnit.SECONDS).get(node);
            assertEquals(1, dirs.size(), "one log dir: " + dirs.keySet());
            LogDirDescription dir = dirs.values().iterator().next();
            ReplicaInfo r = dir.replicaInfos().get(new TopicPartition(topic, 0));
            assertNotNull(r, "partition 0 listed in " + dir.replicaInfos().keySet());
            assertTrue(r.size() > 0, "partition 0 holds data: " + r);
        }
    }
}
