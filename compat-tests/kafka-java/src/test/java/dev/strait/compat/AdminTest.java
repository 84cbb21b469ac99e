package dev.strait.compat;

import dev.strait.compat.support.StraitServer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(StraitExtension.class)
class AdminTest {
    private static final long T = 30;

    private static Config describe(Admin admin, String topic) throws Exception {
        ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        return admin.describeConfigs(List.of(r)).all().get(T, TimeUnit.SECONDS).get(r);
    }

    @Test
    void describeClusterNamesThisSingleNodeAsController(StraitServer strait) throws Exception {
        try (Admin admin = Clients.admin(strait)) {
            DescribeClusterResult c = admin.describeCluster();
            Collection<Node> nodes = c.nodes().get(T, TimeUnit.SECONDS);
            assertEquals(1, nodes.size(), "one node: " + nodes);
            Node node = nodes.iterator().next();
            assertEquals("127.0.0.1", node.host());
            assertEquals(Integer.parseInt(strait.bootstrap().split(":")[1]), node.port());
            assertEquals(node, c.controller().get(T, TimeUnit.SECONDS));
            String clusterId = c.clusterId().get(T, TimeUnit.SECONDS);
            assertNotNull(clusterId);
            assertFalse(clusterId.isEmpty());
        }
    }

    @Test
    void topicLifecycleConfigsPartitionsAndDeletion(StraitServer strait) throws Exception {
        String topic = Clients.unique("java-admin");
        try (Admin admin = Clients.admin(strait)) {
            Node node = admin.describeCluster().nodes().get(T, TimeUnit.SECONDS).iterator().next();
            CreateTopicsResult created = admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1).configs(Map.of(
                    "retention.ms", "3600000",
                    "max.message.bytes", "200000",
                    "cleanup.policy", "delete"))));
            created.all().get(T, TimeUnit.SECONDS);
            assertEquals(2, created.numPartitions(topic).get());
            assertEquals(1, created.replicationFactor(topic).get());
            assertEquals("3600000", created.config(topic).get().get("retention.ms").value());
            assertNotNull(created.topicId(topic).get());

            TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get(T, TimeUnit.SECONDS)
                    .get(topic);
            assertEquals(topic, d.name());
            assertFalse(d.isInternal());
            assertEquals(created.topicId(topic).get(), d.topicId());
            assertEquals(List.of(0, 1), d.partitions().stream().map(TopicPartitionInfo::partition).toList());
            for (TopicPartitionInfo p : d.partitions()) {
                assertEquals(node, p.leader());
                assertEquals(List.of(node), p.replicas());
                assertEquals(List.of(node), p.isr());
            }
            assertTrue(admin.listTopics().names().get(T, TimeUnit.SECONDS).contains(topic));

            // describeConfigs: values set at creation are dynamic topic configs, the rest defaults.
            Config cfg = describe(admin, topic);
            assertEquals("3600000", cfg.get("retention.ms").value());
            assertEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, cfg.get("retention.ms").source());
            assertEquals("200000", cfg.get("max.message.bytes").value());
            assertEquals("delete", cfg.get("cleanup.policy").value());
            assertNotNull(cfg.get("segment.bytes"), "defaults are listed too");
            assertEquals(ConfigEntry.ConfigSource.DEFAULT_CONFIG, cfg.get("segment.bytes").source());

            // incrementalAlterConfigs: SET, DELETE (back to the default) and APPEND to a list config.
            ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            admin.incrementalAlterConfigs(Map.of(res, List.of(
                    new AlterConfigOp(new ConfigEntry("retention.ms", "7200000"), AlterConfigOp.OpType.SET),
                    new AlterConfigOp(new ConfigEntry("max.message.bytes", null), AlterConfigOp.OpType.DELETE),
                    new AlterConfigOp(new ConfigEntry("cleanup.policy", "compact"), AlterConfigOp.OpType.APPEND))))
                    .all().get(T, TimeUnit.SECONDS);
            cfg = describe(admin, topic);
            assertEquals("7200000", cfg.get("retention.ms").value());
            assertTrue(cfg.get("max.message.bytes").source() != ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG,
                    "deleted config falls back to its default: " + cfg.get("max.message.bytes"));
            assertEquals(Set.of("delete", "compact"),
                    Set.of(cfg.get("cleanup.policy").value().split(",")), cfg.get("cleanup.policy").toString());
            admin.incrementalAlterConfigs(Map.of(res, List.of(
                    new AlterConfigOp(new ConfigEntry("cleanup.policy", "compact"), AlterConfigOp.OpType.SUBTRACT))))
                    .all().get(T, TimeUnit.SECONDS);
            assertEquals("delete", describe(admin, topic).get("cleanup.policy").value());

            // createPartitions: 2 -> 5.
            admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(5))).all().get(T, TimeUnit.SECONDS);
            d = admin.describeTopics(List.of(topic)).allTopicNames().get(T, TimeUnit.SECONDS).get(topic);
            assertEquals(5, d.partitions().size());
            try (KafkaProducer<byte[], byte[]> p = Clients.producer(strait, Map.of())) {
                p.send(new ProducerRecord<>(topic, 4, null, "p4".getBytes(StandardCharsets.UTF_8)))
                        .get(T, TimeUnit.SECONDS);
            }

            // deleteTopics: gone from the listing and from describeTopics.
            admin.deleteTopics(List.of(topic)).all().get(T, TimeUnit.SECONDS);
            assertFalse(admin.listTopics().names().get(T, TimeUnit.SECONDS).contains(topic));
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> admin.describeTopics(List.of(topic)).allTopicNames().get(T, TimeUnit.SECONDS));
            assertInstanceOf(UnknownTopicOrPartitionException.class, e.getCause());
        }
    }

    @Test
    void listOffsetsByEveryKindOfSpecAndDeleteRecords(StraitServer strait) throws Exception {
        String topic = Clients.unique("java-offsets");
        TopicPartition tp = new TopicPartition(topic, 0);
        long base = System.currentTimeMillis() - 3_600_000;
        // timestamps: base, base+1000, ... with one outlier (the maximum) at offset 6
        long[] ts = new long[10];
        for (int i = 0; i < ts.length; i++) {
            ts[i] = base + i * 1000L;
        }
        ts[6] = base + 100_000;
        try (Admin admin = Clients.admin(strait)) {
            Clients.createTopic(admin, topic, 1, Map.of());
            Map<TopicPartition, ListOffsetsResultInfo> empty = admin.listOffsets(Map.of(
                    tp, OffsetSpec.latest())).all().get(T, TimeUnit.SECONDS);
            assertEquals(0, empty.get(tp).offset());

            try (KafkaProducer<byte[], byte[]> p = Clients.producer(strait, Map.of("linger.ms", 0))) {
                for (int i = 0; i < ts.length; i++) {
                    // one batch per record, so timestamp lookups must look inside the log, not just batch bounds
                    p.send(new ProducerRecord<>(topic, 0, ts[i], null, ("v" + i).getBytes(StandardCharsets.UTF_8)))
                            .get(T, TimeUnit.SECONDS);
                }
            }
            assertEquals(0, offset(admin, tp, OffsetSpec.earliest()));
            assertEquals(10, offset(admin, tp, OffsetSpec.latest()));
            assertEquals(3, offset(admin, tp, OffsetSpec.forTimestamp(ts[3])), "exact timestamp");
            assertEquals(4, offset(admin, tp, OffsetSpec.forTimestamp(ts[3] + 1)), "first at or after");
            assertEquals(0, offset(admin, tp, OffsetSpec.forTimestamp(base - 5000)), "before everything");
            assertEquals(6, offset(admin, tp, OffsetSpec.forTimestamp(ts[9] + 1)), "the outlier is later");
            assertEquals(-1, offset(admin, tp, OffsetSpec.forTimestamp(ts[6] + 1)), "after everything");
            ListOffsetsResultInfo max = admin.listOffsets(Map.of(tp, OffsetSpec.maxTimestamp()))
                    .all().get(T, TimeUnit.SECONDS).get(tp);
            assertEquals(6, max.offset());
            assertEquals(ts[6], max.timestamp());

            // deleteRecords moves the log start; earliest follows and a consumer starts there.
            long low = admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(4)))
                    .lowWatermarks().get(tp).get(T, TimeUnit.SECONDS).lowWatermark();
            assertEquals(4, low);
            assertEquals(4, offset(admin, tp, OffsetSpec.earliest()));
            assertEquals(10, offset(admin, tp, OffsetSpec.latest()));
            // KIP-1005 (ListOffsets v9): without tiered storage the local log is the whole log.
            assertEquals(4, offset(admin, tp, OffsetSpec.earliestLocal()));
            assertEquals(-1, offset(admin, tp, OffsetSpec.latestTiered()), "nothing tiered");
            try (KafkaConsumer<byte[], byte[]> c = Clients.consumer(strait, null, Map.of())) {
                c.assign(List.of(tp));
                c.seekToBeginning(List.of(tp));
                assertEquals(4, c.position(tp, Duration.ofSeconds(T)));
                ConsumerRecords<byte[], byte[]> rs = c.poll(Duration.ofSeconds(5));
                assertFalse(rs.isEmpty());
                assertEquals("v4", new String(rs.iterator().next().value(), StandardCharsets.UTF_8));
            }
            admin.deleteTopics(List.of(topic)).all().get(T, TimeUnit.SECONDS);
        }
    }

    private static long offset(Admin admin, TopicPartition tp, OffsetSpec spec) throws Exception {
        return admin.listOffsets(Map.of(tp, spec)).all().get(T, TimeUnit.SECONDS).get(tp).offset();
    }

    @Test
    @SuppressWarnings("deprecation") // listConsumerGroups: still the call most tools make
    void consumerGroupAdministration(StraitServer strait) throws Exception {
        String topic = Clients.unique("java-groups");
        String group = Clients.unique("java-admin-g");
        try (Admin admin = Clients.admin(strait)) {
            Clients.createTopic(admin, topic, 3, Map.of());
            ConsumerGroupTest.produceTo(strait, topic, 3, 5);
            try (KafkaConsumer<byte[], byte[]> c = Clients.consumer(strait, group,
                    Map.of("group.protocol", "classic", "client.id", "admin-test-client"))) {
                c.subscribe(List.of(topic));
                int n = 0;
                long deadline = System.nanoTime() + Clients.TIMEOUT.toNanos();
                while (n < 15) {
                    assertTrue(System.nanoTime() < deadline, "consumed " + n + " of 15");
                    n += c.poll(Duration.ofMillis(200)).count();
                }
                c.commitSync(Map.of(new TopicPartition(topic, 0), new OffsetAndMetadata(5, "meta-0"),
                        new TopicPartition(topic, 1), new OffsetAndMetadata(3, "")), Clients.TIMEOUT);

                Collection<ConsumerGroupListing> groups = admin.listConsumerGroups().all().get(T, TimeUnit.SECONDS);
                ConsumerGroupListing listing = groups.stream().filter(g -> g.groupId().equals(group)).findFirst()
                        .orElseThrow(() -> new AssertionError(group + " listed in " + groups));
                assertEquals(GroupState.STABLE, listing.groupState().orElseThrow());

                ConsumerGroupDescription desc = admin.describeConsumerGroups(List.of(group)).all()
                        .get(T, TimeUnit.SECONDS).get(group);
                assertEquals(GroupState.STABLE, desc.groupState());
                assertEquals("range", desc.partitionAssignor());
                assertEquals(1, desc.members().size());
                MemberDescription m = desc.members().iterator().next();
                assertEquals("admin-test-client", m.clientId());
                assertEquals(Set.of(0, 1, 2), m.assignment().topicPartitions().stream()
                        .map(TopicPartition::partition).collect(Collectors.toSet()));
                Node node = admin.describeCluster().nodes().get(T, TimeUnit.SECONDS).iterator().next();
                assertEquals(node, desc.coordinator());

                Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(group)
                        .partitionsToOffsetAndMetadata().get(T, TimeUnit.SECONDS);
                Map<Integer, Long> byPartition = new HashMap<>();
                offsets.forEach((k, v) -> byPartition.put(k.partition(), v.offset()));
                assertEquals(Map.of(0, 5L, 1, 3L), byPartition);
                assertEquals("meta-0", offsets.get(new TopicPartition(topic, 0)).metadata());
            }
            // After the member left, the group is Empty but keeps its offsets.
            ConsumerGroupDescription desc = admin.describeConsumerGroups(List.of(group)).all()
                    .get(T, TimeUnit.SECONDS).get(group);
            assertEquals(GroupState.EMPTY, desc.groupState());
            assertTrue(desc.members().isEmpty());
            assertEquals(2, admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
                    .get(T, TimeUnit.SECONDS).size());
            admin.deleteConsumerGroups(List.of(group)).all().get(T, TimeUnit.SECONDS);
            assertFalse(admin.listConsumerGroups().all().get(T, TimeUnit.SECONDS).stream()
                    .anyMatch(g -> g.groupId().equals(group)));
        }
    }
}
