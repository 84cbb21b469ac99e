package dev.strait.compat;

import dev.strait.compat.support.StraitServer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RebalanceInProgressException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Three members joining at once, one leaving midway, each on its own thread committing after every poll. */
@ExtendWith(StraitExtension.class)
class ConcurrentGroupTest {
    private static final int PARTITIONS = 6;
    private static final int PER_PARTITION = 200;

    @Test
    void concurrentMembersConsumeEverythingAndCommitWithoutLosingOffsets(StraitServer strait) throws Exception {
        String topic = Clients.unique("java-concurrent");
        String group = Clients.unique("java-concurrent-g");
        try (Admin admin = Clients.admin(strait)) {
            Clients.createTopic(admin, topic, PARTITIONS, Map.of());
        }
        ConsumerGroupTest.produceTo(strait, topic, PARTITIONS, PER_PARTITION);
        Set<String> seen = ConcurrentHashMap.newKeySet();
        AtomicBoolean done = new AtomicBoolean();
        ExecutorService pool = Executors.newFixedThreadPool(3);
        List<Future<Integer>> members = new ArrayList<>();
        for (int m = 0; m < 3; m++) {
            final int id = m;
            members.add(pool.submit(() -> {
                Map<String, Object> conf = Map.of("group.protocol", "classic", "max.poll.records", 20,
                        "partition.assignment.strategy",
                        "org.apache.kafka.clients.consumer.CooperativeStickyAssignor");
                int polls = 0;
                try (KafkaConsumer<byte[], byte[]> c = Clients.consumer(strait, group, conf)) {
                    c.subscribe(List.of(topic));
                    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                    while (!done.get() && System.nanoTime() < deadline) {
                        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
                            seen.add(new String(r.value(), StandardCharsets.UTF_8));
                        }
                        try {
                            c.commitSync(Clients.TIMEOUT);
                        } catch (RebalanceInProgressException e) {
                            // legitimate while the group rebalances; the next poll rejoins
                        }
                        polls++;
                        if (id == 2 && polls == 15) {
                            return polls; // member 2 leaves midway (close sends LeaveGroup)
                        }
                        Thread.sleep(20); // slow the members down so rebalances happen mid-stream
                    }
                }
                return polls;
            }));
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (seen.size() < PARTITIONS * PER_PARTITION && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        // let the survivors commit their final positions
        Thread.sleep(1000);
        done.set(true);
        for (Future<Integer> f : members) {
            f.get(60, TimeUnit.SECONDS); // rethrows any member's failure
        }
        pool.shutdown();
        assertEquals(PARTITIONS * PER_PARTITION, seen.size(), "every record consumed at least once");
        try (Admin admin = Clients.admin(strait)) {
            Map<TopicPartition, OffsetAndMetadata> offs = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
            for (int p = 0; p < PARTITIONS; p++) {
                OffsetAndMetadata o = offs.get(new TopicPartition(topic, p));
                assertTrue(o != null && o.offset() == PER_PARTITION, "partition " + p + " committed to the end: " + o);
            }
        }
    }
}
