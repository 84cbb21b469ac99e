package dev.strait.compat.kcl;

import dev.strait.compat.support.StraitServer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.model.StreamStatus;
import software.amazon.kinesis.common.InitialPositionInStream;
import software.amazon.kinesis.common.InitialPositionInStreamExtended;

/**
 * Migration both ways (docs/migration.md): a KCL app stops and a Kafka consumer group with the application's name
 * resumes exactly after its last checkpoint; a Kafka consumer group commits and stops and a KCL app with the
 * group's name resumes from those offsets. "Exactly" is checked record by record: nothing lost, nothing from
 * before the hand-over read again.
 */
class MigrationTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(120);

    private StraitServer server;
    private KinesisClient kinesis;

    @TempDir
    Path tmp;

    @BeforeEach
    void start() throws Exception {
        server = StraitServer.start();
        kinesis = KinesisClient.builder().endpointOverride(server.endpoint()).region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create("kcl-test", "kcl-test-secret")))
                .build();
    }

    @AfterEach
    void stop() throws Exception {
        if (kinesis != null) {
            kinesis.close();
        }
        if (server != null) {
            server.close();
        }
    }

    /** KCL (enhanced fan-out, its default) processes and stops; a Kafka group of the same name takes over. */
    @Test
    void kclToKafkaConsumerGroup() throws Exception {
        String stream = "mig-to-kafka";
        String app = "orders-app";
        Map<String, KclAppTest.Acked> before = new LinkedHashMap<>();
        Map<String, KclAppTest.Acked> after = new LinkedHashMap<>();
        createStream(stream, 2);
        KclAppTest.put(kinesis, stream, before, 0, 400);

        Path out = tmp.resolve("kcl.tsv");
        try (KclConsumer kcl = KclConsumer.start(KclConsumer.Options.of(server.endpoint(), stream, app,
                KclConsumer.Mode.EFO, out))) {
            KclAppTest.awaitCondition("KCL processed the first 400 records", TIMEOUT,
                    () -> processedKeys(out).containsAll(before.keySet()));
            assertTrue(kcl.stop(Duration.ofSeconds(60)), "KCL shut down gracefully (checkpointing)");
        }

        // The checkpoints are the group's offsets: one past the last record of each shard.
        Map<TopicPartition, Long> expected = new HashMap<>();
        for (KclAppTest.Acked a : before.values()) {
            expected.merge(partition(stream, a.shardId()), offsetOf(a.seq()) + 1, Math::max);
        }
        try (Admin admin = admin()) {
            Map<TopicPartition, OffsetAndMetadata> committed =
                    admin.listConsumerGroupOffsets(app).partitionsToOffsetAndMetadata().get();
            assertEquals(expected, committed.entrySet().stream()
                    .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().offset())),
                    "OffsetFetch shows the KCL checkpoints");
            Collection<ConsumerGroupListing> groups = admin.listConsumerGroups().all().get();
            assertTrue(groups.stream().anyMatch(g -> g.groupId().equals(app)), "ListGroups lists " + app);
            // What `kafka-consumer-groups --describe` shows: the group exists, with no members (DescribeGroups).
            var described = admin.describeConsumerGroups(List.of(app)).all().get().get(app);
            assertEquals(org.apache.kafka.common.GroupState.EMPTY, described.groupState(), "DescribeGroups state");
            assertTrue(described.members().isEmpty(), "no Kafka members");
        }

        KclAppTest.put(kinesis, stream, after, 400, 200);
        Map<String, String> received = new HashMap<>();
        try (KafkaConsumer<String, String> consumer = consumer(app)) {
            consumer.subscribe(List.of(stream));
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (received.size() < after.size() && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    received.put(r.key(), r.value());
                    assertTrue(after.containsKey(r.key()),
                            "the Kafka group re-read " + r.key() + " which KCL had checkpointed");
                }
            }
            // A little longer, so a late re-read of an old record would be seen.
            for (int i = 0; i < 4; i++) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    assertTrue(after.containsKey(r.key()), "re-read " + r.key());
                }
            }
        }
        assertEquals(after.keySet(), received.keySet(), "the Kafka group received every record after the hand-over");
        for (KclAppTest.Acked a : after.values()) {
            assertEquals(a.data(), received.get(a.key()), "byte-exact " + a.key());
        }
        System.out.printf("kclToKafkaConsumerGroup: KCL processed %d, the Kafka group resumed at %s and received %d,"
                + " re-read 0%n", before.size(), expected, received.size());
    }

    /** A Kafka group consumes, commits and stops; a KCL app of the same name (polling, TRIM_HORIZON) resumes. */
    @Test
    void kafkaConsumerGroupToKclPolling() throws Exception {
        kafkaToKcl("mig-to-kcl-polling", "billing-polling", KclConsumer.Mode.POLLING);
    }

    /** The same with KCL's default retrieval, enhanced fan-out. */
    @Test
    void kafkaConsumerGroupToKclFanOut() throws Exception {
        kafkaToKcl("mig-to-kcl-efo", "billing-efo", KclConsumer.Mode.EFO);
    }

    private void kafkaToKcl(String stream, String group, KclConsumer.Mode mode) throws Exception {
        Map<String, KclAppTest.Acked> before = new LinkedHashMap<>();
        Map<String, KclAppTest.Acked> after = new LinkedHashMap<>();
        createStream(stream, 2);
        KclAppTest.put(kinesis, stream, before, 0, 300);

        // The Kafka group reads everything there is and commits.
        try (KafkaConsumer<String, String> consumer = consumer(group)) {
            consumer.subscribe(List.of(stream));
            Set<String> seen = new java.util.HashSet<>();
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (!seen.containsAll(before.keySet()) && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    seen.add(r.key());
                }
            }
            assertTrue(seen.containsAll(before.keySet()), "the Kafka group read every record");
            consumer.commitSync();
        }

        KclAppTest.put(kinesis, stream, after, 300, 150);
        // TRIM_HORIZON: without the group's offsets KCL would start from the first record of every shard.
        Path out = tmp.resolve(group + ".tsv");
        try (KclConsumer kcl = KclConsumer.start(new KclConsumer.Options(server.endpoint(), stream, group, mode,
                InitialPositionInStreamExtended.newInitialPosition(InitialPositionInStream.TRIM_HORIZON), out, null,
                true))) {
            KclAppTest.awaitCondition("KCL processed the records written after the hand-over", TIMEOUT,
                    () -> processedKeys(out).containsAll(after.keySet()));
            Thread.sleep(3000); // a late re-read of an old record would show up here
            assertTrue(kcl.stop(Duration.ofSeconds(60)), "KCL shut down gracefully");
        }
        List<Line> lines = Line.read(out);
        for (Line l : lines) {
            assertTrue(after.containsKey(l.key()), "KCL re-read " + l.key() + " which the Kafka group had committed");
            assertEquals(after.get(l.key()).data(), l.data(), "byte-exact " + l.key());
            assertEquals(after.get(l.key()).seq(), l.seq(), "sequence number of " + l.key());
        }
        // And KCL's checkpoints flowed back into the group: its offsets are now at the ends of the shards.
        Map<TopicPartition, Long> ends = new HashMap<>();
        for (KclAppTest.Acked a : after.values()) {
            ends.merge(partition(stream, a.shardId()), offsetOf(a.seq()) + 1, Math::max);
        }
        try (Admin admin = admin()) {
            Map<TopicPartition, OffsetAndMetadata> committed =
                    admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
            for (Map.Entry<TopicPartition, Long> e : ends.entrySet()) {
                assertEquals(e.getValue(), committed.get(e.getKey()).offset(), "group offset of " + e.getKey());
            }
        }
        System.out.printf("kafkaConsumerGroupToKcl(%s): the group committed %d records, KCL processed %d lines for %d"
                + " new records, re-read 0%n", mode, before.size(), lines.size(), after.size());
    }

    private Set<String> processedKeys(Path out) {
        return Line.read(out).stream().map(Line::key).collect(Collectors.toSet());
    }

    /** Shard `shardId-00000000000N` is partition N of the topic named like the stream. */
    private static TopicPartition partition(String stream, String shardId) {
        return new TopicPartition(stream, Integer.parseInt(shardId.substring("shardId-".length())));
    }

    /** The offset a Strait sequence number encodes: digits 22..41 hold offset + 1 (shard-map/src/sequence.rs). */
    private static long offsetOf(BigInteger seq) {
        String s = seq.toString();
        return Long.parseLong(s.substring(22, 41)) - 1;
    }

    private void createStream(String stream, int shards) throws InterruptedException {
        kinesis.createStream(b -> b.streamName(stream).shardCount(shards));
        KclAppTest.awaitCondition(stream + " ACTIVE", Duration.ofSeconds(30), () -> kinesis
                .describeStreamSummary(b -> b.streamName(stream)).streamDescriptionSummary().streamStatus()
                == StreamStatus.ACTIVE);
    }

    private KafkaConsumer<String, String> consumer(String group) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, server.bootstrap());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        return new KafkaConsumer<>(p);
    }

    private Admin admin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, server.bootstrap());
        return Admin.create(p);
    }
}
