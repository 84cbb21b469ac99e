package dev.strait.compat;

import dev.strait.compat.support.StraitServer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.InvalidReplicationFactorException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(StraitExtension.class)
class ErrorsTest {
    private static final long T = 30;

    private static Throwable cause(Future<?> f) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(T, TimeUnit.SECONDS));
        return e.getCause();
    }

    @Test
    void recordLargerThanTopicMaxMessageBytesIsRejected(StraitServer strait) throws Exception {
        String topic = Clients.unique("java-too-large");
        try (Admin admin = Clients.admin(strait)) {
            Clients.createTopic(admin, topic, 1, Map.of("max.message.bytes", "1024"));
        }
        try (KafkaProducer<byte[], byte[]> p = Clients.producer(strait, Map.of("linger.ms", 200))) {
            // The client's max.request.size (1 MiB) lets it through: the broker must refuse it.
            Throwable c = cause(p.send(new ProducerRecord<>(topic, new byte[4000])));
            assertInstanceOf(RecordTooLargeException.class, c, String.valueOf(c));

            // The idempotent producer stays usable after the rejected batch: later records (each batch under the
            // limit) land once each, in order, from offset 0.
            List<Future<RecordMetadata>> fs = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                byte[] v = ("r" + i + "-" + "x".repeat(300)).getBytes(StandardCharsets.UTF_8);
                fs.add(p.send(new ProducerRecord<>(topic, 0, null, v)));
                p.flush(); // one record per batch: a batch of several would exceed 1024 bytes (and a client
                           // whose batch.size exceeds max.message.bytes splits such a batch forever, KAFKA-8202)
            }
            List<Long> offsets = new ArrayList<>();
            for (Future<RecordMetadata> f : fs) {
                offsets.add(f.get(T, TimeUnit.SECONDS).offset());
            }
            List<Long> want = new ArrayList<>();
            for (long i = 0; i < 12; i++) {
                want.add(i);
            }
            assertEquals(want, offsets, "records after the rejected one are written once each, in order");

            // The client-side equivalent: larger than the producer's own max.request.size.
            Throwable local = cause(p.send(new ProducerRecord<>(topic, new byte[2 * 1024 * 1024])));
            assertInstanceOf(RecordTooLargeException.class, local, String.valueOf(local));
        }
    }

    @Test
    void describingAnUnknownTopicFails(StraitServer strait) {
        try (Admin admin = Clients.admin(strait)) {
            Throwable c = cause(admin.describeTopics(List.of(Clients.unique("java-missing"))).allTopicNames());
            assertInstanceOf(UnknownTopicOrPartitionException.class, c, String.valueOf(c));
        }
    }

    @Test
    void creatingAnExistingTopicFails(StraitServer strait) throws Exception {
        String topic = Clients.unique("java-exists");
        try (Admin admin = Clients.admin(strait)) {
            Clients.createTopic(admin, topic, 2, Map.of());
            Throwable c = cause(admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1))).all());
            assertInstanceOf(TopicExistsException.class, c, String.valueOf(c));
        }
    }

    @Test
    void invalidTopicRequestsFailWithTheMatchingException(StraitServer strait) throws Exception {
        String topic = Clients.unique("java-invalid");
        try (Admin admin = Clients.admin(strait)) {
            Throwable c = cause(admin.createTopics(List.of(new NewTopic(topic, 1, (short) 3))).all());
            assertInstanceOf(InvalidReplicationFactorException.class, c, String.valueOf(c));
            c = cause(admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1)
                    .configs(Map.of("no.such.config", "1")))).all());
            assertInstanceOf(InvalidConfigurationException.class, c, String.valueOf(c));
            c = cause(admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1)
                    .configs(Map.of("retention.ms", "not-a-number")))).all());
            assertInstanceOf(InvalidConfigurationException.class, c, String.valueOf(c));

            Clients.createTopic(admin, topic, 3, Map.of());
            c = cause(admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(2))).all());
            assertInstanceOf(InvalidPartitionsException.class, c, String.valueOf(c));
        }
    }

    @Test
    void fetchingOutOfRangeWithoutResetPolicyFails(StraitServer strait) throws Exception {
        String topic = Clients.unique("java-oor");
        TopicPartition tp = new TopicPartition(topic, 0);
        try (Admin admin = Clients.admin(strait)) {
            Clients.createTopic(admin, topic, 1, Map.of());
        }
        try (KafkaProducer<byte[], byte[]> p = Clients.producer(strait, Map.of())) {
            p.send(new ProducerRecord<>(topic, 0, null, new byte[] {1})).get(T, TimeUnit.SECONDS);
        }
        try (KafkaConsumer<byte[], byte[]> c = Clients.consumer(strait, null, Map.of("auto.offset.reset", "none"))) {
            c.assign(List.of(tp));
            c.seek(tp, 50);
            OffsetOutOfRangeException e = assertThrows(OffsetOutOfRangeException.class, () -> {
                long deadline = System.nanoTime() + Duration.ofSeconds(T).toNanos();
                while (System.nanoTime() < deadline) {
                    c.poll(Duration.ofMillis(200));
                }
            });
            assertEquals(Map.of(tp, 50L), e.offsetOutOfRangePartitions());
        }
    }
}
