package dev.strait.compat.iam;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strait.compat.support.StraitServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * AWS_MSK_IAM with Amazon's own client library (aws-msk-iam-auth) and Apache Kafka's Java client. The JVM signs
 * with the access key in the surefire system properties (pom.xml); one node knows that key and its secret, another
 * knows the same key with another secret, so the second must refuse the very same client.
 */
class MskIamTest {
    static final String KEY = "AKIDJAVAIAM";
    static final String SECRET = "java/iam+secret000000000000000000000000";

    static StraitServer start(String secret) throws Exception {
        return StraitServer.start(Map.of(
                "STRAIT_AWS__AUTH", "sigv4",
                "STRAIT_AWS__ACCESS_KEYS",
                "[{access_key_id=\"" + KEY + "\",secret_access_key=\"" + secret + "\",principal=\"User:java-app\"}]",
                "STRAIT_KAFKA__AWS_MSK_IAM", "true"));
    }

    static Properties iam(StraitServer server) {
        Properties p = new Properties();
        p.put("bootstrap.servers", server.bootstrap());
        p.put("security.protocol", "SASL_PLAINTEXT");
        p.put("sasl.mechanism", "AWS_MSK_IAM");
        p.put("sasl.jaas.config", "software.amazon.msk.auth.iam.IAMLoginModule required;");
        p.put("sasl.client.callback.handler.class", "software.amazon.msk.auth.iam.IAMClientCallbackHandler");
        return p;
    }

    @Test
    void producesAndConsumesWithAwsMskIam() throws Exception {
        StraitServer server = start(SECRET);
        boolean ok = false;
        try {
            Properties props = iam(server);
            try (Admin admin = Admin.create(props)) {
                admin.createTopics(List.of(new NewTopic("iam-java", 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
                assertTrue(admin.listTopics().names().get(30, TimeUnit.SECONDS).contains("iam-java"));
            }
            Properties pp = iam(server);
            pp.put("key.serializer", StringSerializer.class.getName());
            pp.put("value.serializer", StringSerializer.class.getName());
            pp.put("acks", "all");
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
                for (int i = 0; i < 10; i++) {
                    producer.send(new ProducerRecord<>("iam-java", "k" + i, "v" + i)).get(30, TimeUnit.SECONDS);
                }
            }
            Properties cp = iam(server);
            cp.put("key.deserializer", StringDeserializer.class.getName());
            cp.put("value.deserializer", StringDeserializer.class.getName());
            cp.put("group.id", "iam-java-group");
            cp.put("auto.offset.reset", "earliest");
            List<String> got = new ArrayList<>();
            try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp)) {
                consumer.subscribe(List.of("iam-java"));
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (got.size() < 10 && System.nanoTime() < deadline) {
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                        got.add(r.value());
                    }
                }
                consumer.commitSync();
            }
            assertEquals(List.of("v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9"), got);
            ok = true;
        } finally {
            if (!ok) {
                server.printLog("strait log");
            }
            server.close(!ok);
        }
    }

    @Test
    void aNodeWithAnotherSecretRefusesTheSameClient() throws Exception {
        StraitServer server = start("a-different-secret-for-the-same-key000");
        boolean ok = false;
        try {
            Properties props = iam(server);
            props.put("default.api.timeout.ms", "20000");
            props.put("request.timeout.ms", "10000");
            try (Admin admin = Admin.create(props)) {
                ExecutionException e = assertThrows(ExecutionException.class,
                        () -> admin.listTopics().names().get(30, TimeUnit.SECONDS));
                assertInstanceOf(SaslAuthenticationException.class, e.getCause(), e.toString());
            }
            ok = true;
        } finally {
            if (!ok) {
                server.printLog("strait log");
            }
            server.close(!ok);
        }
    }
}
