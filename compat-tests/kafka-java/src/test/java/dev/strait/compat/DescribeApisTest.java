package dev.strait.compat;

import dev.strait.compat.support.StraitServer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The Java Admin's describeTopics (over DescribeTopicPartitions, paginated) and describeProducers (what
 * kafka-transactions.sh describe-producers prints), checked against what the test's own producers did and against
 * strait's per-API request counters, which show the newer API really was used.
 */
@ExtendWith(StraitExtension.class)
class DescribeApisTest {
    private static final long T = 30;
    private static final String DTP_REQUESTS = "strait_kafka_requests_total{api=\"DescribeTopicPartitions\"}";

    @Test
    void describeTopicsPagesThroughDescribeTopicPartitions(StraitServer strait) throws Exception {
        String big = Clients.unique("java-dtp-big");
        String small = Clients.unique("java-dtp-small");
        long before = Clients.metric(strait, DTP_REQUESTS);
        try (Admin admin = Clients.admin(strait)) {
            Clients.createTopic(admin, big, 7, Map.of());
            Clients.createTopic(admin, small, 2, Map.of());
            // Three partitions per page: the client follows the broker's cursor across both topics.
            Map<String, TopicDescription> d = admin.describeTopics(List.of(big, small),
                            new DescribeTopicsOptions().partitionSizeLimitPerResponse(3))
                    .allTopicNames().get(T, TimeUnit.SECONDS);
            assertEquals(List.of(0, 1, 2, 3, 4, 5, 6), partitions(d.get(big)));
            assertEquals(List.of(0, 1), partitions(d.get(small)));
            for (TopicPartitionInfo p : d.get(big).partitions()) {
                assertEquals(1, p.leader().id());
                assertEquals(1, p.isr().size());
            }
        }
        long used = Clients.metric(strait, DTP_REQUESTS) - before;
        assertTrue(used >= 3, "9 partitions at 3 per page take at least 3 requests, saw " + used);
    }

    @Test
    void describeProducersShowsIdempotentAndTransactionalProducers(StraitServer strait) throws Exception {
        String topic = Clients.unique("java-producers");
        try (Admin admin = Clients.admin(strait)) {
            Clients.createTopic(admin, topic, 1, Map.of());
            TopicPartition tp = new TopicPartition(topic, 0);
            try (KafkaProducer<byte[], byte[]> idem = Clients.producer(strait, Map.of());
                    KafkaProducer<byte[], byte[]> txn = Clients.producer(strait,
                            Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, Clients.unique("java-describe-txn")))) {
                for (int i = 0; i < 5; i++) {
                    idem.send(new ProducerRecord<>(topic, 0, null, ("idem-" + i).getBytes())).get(T, TimeUnit.SECONDS);
                }
                txn.initTransactions();
                txn.beginTransaction();
                RecordMetadata first = txn.send(new ProducerRecord<>(topic, 0, null, "txn-0".getBytes()))
                        .get(T, TimeUnit.SECONDS);
                txn.send(new ProducerRecord<>(topic, 0, null, "txn-1".getBytes())).get(T, TimeUnit.SECONDS);

                List<ProducerState> states = admin.describeProducers(List.of(tp)).partitionResult(tp)
                        .get(T, TimeUnit.SECONDS).activeProducers();
                assertEquals(2, states.size(), states.toString());
                ProducerState open = states.stream()
                        .filter(s -> s.currentTransactionStartOffset().isPresent()).findFirst().orElseThrow();
                assertEquals(OptionalLong.of(first.offset()), open.currentTransactionStartOffset());
                assertEquals(1, open.lastSequence());
                ProducerState plain = states.stream().filter(s -> s != open).findFirst().orElseThrow();
                assertEquals(4, plain.lastSequence());
                assertTrue(plain.currentTransactionStartOffset().isEmpty());
                assertTrue(plain.lastTimestamp() > 0);

                // Committed: no producer holds an open transaction any more.
                txn.commitTransaction();
                states = admin.describeProducers(List.of(tp)).partitionResult(tp)
                        .get(T, TimeUnit.SECONDS).activeProducers();
                assertTrue(states.stream().allMatch(s -> s.currentTransactionStartOffset().isEmpty()),
                        states.toString());
            }
        }
    }

    private static List<Integer> partitions(TopicDescription d) {
        return d.partitions().stream().map(TopicPartitionInfo::partition).toList();
    }
}
