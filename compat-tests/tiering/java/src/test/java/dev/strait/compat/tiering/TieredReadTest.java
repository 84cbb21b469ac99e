package dev.strait.compat.tiering;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strait.compat.support.StraitServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * A topic with {@code remote.storage.enable=true}, small segments and one second of local retention on a node
 * tiering to moto's S3: Apache Kafka's Admin sees the log start (earliest) in S3, the first local offset
 * (earliest-local) past the tiered segments and the last tiered offset (latest-tiered) just below it; its
 * consumer reads every record back from offset 0, in order, across the boundary.
 */
class TieredReadTest {
    static final String TOPIC = "tiered-java";
    static final int RECORDS = 3000;

    static String value(int i) {
        return "tiered-" + i + "-" + "x".repeat(100 + (i * 37) % 200);
    }

    @Test
    void adminAndConsumerAcrossTheS3Boundary() throws Exception {
        String endpoint = System.getenv("MOTO_ENDPOINT");
        String bucket = System.getenv("MOTO_BUCKET");
        assertNotNull(endpoint, "MOTO_ENDPOINT: run.sh starts moto_server and sets it");
        assertNotNull(bucket, "MOTO_BUCKET: run.sh creates the bucket and sets it");
        StraitServer server = StraitServer.start(Map.of(
                "AWS_ACCESS_KEY_ID", "test",
                "AWS_SECRET_ACCESS_KEY", "test",
                "AWS_DEFAULT_REGION", "us-east-1",
                "AWS_EC2_METADATA_DISABLED", "true",
                "STRAIT_TIERING__BUCKET", bucket,
                "STRAIT_TIERING__ENDPOINT", endpoint,
                "STRAIT_TIERING__PATH_STYLE", "true",
                "STRAIT_TIERING__UPLOAD_INTERVAL_MS", "300",
                "STRAIT_ENGINE__RETENTION_CHECK_INTERVAL_MS", "500"));
        boolean ok = false;
        try {
            Properties props = new Properties();
            props.put("bootstrap.servers", server.bootstrap());
            TopicPartition tp = new TopicPartition(TOPIC, 0);
            try (Admin admin = Admin.create(props)) {
                admin.createTopics(List.of(new NewTopic(TOPIC, 1, (short) 1).configs(Map.of(
                        "remote.storage.enable", "true",
                        "segment.bytes", "16384",
                        "local.retention.ms", "1000")))).all().get(30, TimeUnit.SECONDS);
                produce(server);

                // Segments go to S3 and leave the disk within seconds; wait until some have.
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                long local = offset(admin, tp, OffsetSpec.earliestLocal());
                while (local == 0 && System.nanoTime() < deadline) {
                    Thread.sleep(200);
                    local = offset(admin, tp, OffsetSpec.earliestLocal());
                }
                assertTrue(local > 0, "no segment left local disk in 60 s (earliest-local is still 0)");
                // The uploader may hand another segment over between the two calls: ask again until both agree.
                long tiered = offset(admin, tp, OffsetSpec.latestTiered());
                for (int i = 0; i < 20 && tiered != local - 1; i++) {
                    Thread.sleep(200);
                    local = offset(admin, tp, OffsetSpec.earliestLocal());
                    tiered = offset(admin, tp, OffsetSpec.latestTiered());
                }
                assertEquals(local - 1, tiered, "latest-tiered is the offset just below earliest-local");
                assertEquals(0, offset(admin, tp, OffsetSpec.earliest()), "the log start is in S3");
                assertEquals(RECORDS, offset(admin, tp, OffsetSpec.latest()));
                System.out.printf("tiering-java: earliest 0, earliest-local %d, latest-tiered %d, latest %d%n",
                        local, tiered, RECORDS);
            }
            consumeFromZero(server, tp);
            ok = true;
        } finally {
            if (!ok) {
                server.printLog("strait log");
            }
            server.close(!ok);
        }
    }

    static long offset(Admin admin, TopicPartition tp, OffsetSpec spec) throws Exception {
        return admin.listOffsets(Map.of(tp, spec)).partitionResult(tp).get(30, TimeUnit.SECONDS).offset();
    }

    static void produce(StraitServer server) throws Exception {
        Properties pp = new Properties();
        pp.put("bootstrap.servers", server.bootstrap());
        pp.put("key.serializer", StringSerializer.class.getName());
        pp.put("value.serializer", StringSerializer.class.getName());
        pp.put("acks", "all");
        pp.put("linger.ms", "5");
        pp.put("batch.size", "8192");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
            for (int i = 0; i < RECORDS; i++) {
                producer.send(new ProducerRecord<>(TOPIC, "k" + i, value(i)));
            }
            producer.flush();
        }
    }

    static void consumeFromZero(StraitServer server, TopicPartition tp) {
        Properties cp = new Properties();
        cp.put("bootstrap.servers", server.bootstrap());
        cp.put("key.deserializer", StringDeserializer.class.getName());
        cp.put("value.deserializer", StringDeserializer.class.getName());
        cp.put("enable.auto.commit", "false");
        List<ConsumerRecord<String, String>> got = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp)) {
            consumer.assign(List.of(tp));
            consumer.seek(tp, 0);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (got.size() < RECORDS && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    got.add(r);
                }
            }
        }
        assertEquals(RECORDS, got.size(), "every record read back");
        for (int i = 0; i < RECORDS; i++) {
            assertEquals(i, got.get(i).offset(), "in order from offset 0");
            assertEquals(value(i), got.get(i).value(), "byte-exact at offset " + i);
        }
    }
}
