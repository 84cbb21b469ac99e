package dev.strait.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.strait.compat.support.StraitServer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.admin.UserScramCredentialsDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.junit.jupiter.api.Test;

/**
 * SASL/SCRAM with the Java client: a configured SCRAM-SHA-512 user creates a SCRAM-SHA-256 user through
 * Admin.alterUserScramCredentials, describes it, and that user produces and consumes; a wrong password fails with
 * SaslAuthenticationException. Its own strait (SCRAM bootstrap user), not the suite's shared open one.
 */
class ScramTest {
    private static Map<String, Object> scram(String mechanism, String user, String password) {
        return Map.of(
                CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT",
                SaslConfigs.SASL_MECHANISM, mechanism,
                SaslConfigs.SASL_JAAS_CONFIG, "org.apache.kafka.common.security.scram.ScramLoginModule required "
                        + "username=\"" + user + "\" password=\"" + password + "\";");
    }

    @Test
    void alterUserScramCredentialsThenLogInAsTheNewUser() throws Exception {
        Map<String, String> env = Map.of(
                "STRAIT_KAFKA__SASL__SCRAM_USERS",
                "[{name=\"admin\",password=\"admin-secret\",mechanism=\"SCRAM-SHA-512\"}]",
                "STRAIT_SECURITY__ALLOW_UNAUTHENTICATED_AWS", "true");
        try (StraitServer s = StraitServer.start(env)) {
            java.util.Properties ap = new java.util.Properties();
            ap.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, s.bootstrap());
            ap.putAll(scram("SCRAM-SHA-512", "admin", "admin-secret"));
            try (Admin admin = Admin.create(ap)) {
                admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(
                                "javauser", new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 8192), "java-secret")))
                        .all().get(30, TimeUnit.SECONDS);
                UserScramCredentialsDescription d = admin.describeUserScramCredentials(List.of("javauser"))
                        .description("javauser").get(30, TimeUnit.SECONDS);
                assertEquals(List.of(new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 8192)), d.credentialInfos());
            }
            String topic = Clients.unique("scram-java");
            try (KafkaProducer<byte[], byte[]> p =
                    Clients.producer(s, scram("SCRAM-SHA-256", "javauser", "java-secret"))) {
                for (int i = 0; i < 10; i++) {
                    p.send(new ProducerRecord<>(topic, ("v" + i).getBytes())).get(30, TimeUnit.SECONDS);
                }
            }
            List<String> got = new ArrayList<>();
            try (KafkaConsumer<byte[], byte[]> c =
                    Clients.consumer(s, null, scram("SCRAM-SHA-256", "javauser", "java-secret"))) {
                c.assign(List.of(new TopicPartition(topic, 0)));
                c.seekToBeginning(List.of(new TopicPartition(topic, 0)));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (got.size() < 10 && System.nanoTime() < deadline) {
                    for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                        got.add(new String(r.value()));
                    }
                }
            }
            assertEquals(List.of("v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9"), got);

            try (KafkaProducer<byte[], byte[]> p = Clients.producer(s, Map.of(
                    SaslConfigs.SASL_MECHANISM, "SCRAM-SHA-256",
                    CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT",
                    SaslConfigs.SASL_JAAS_CONFIG, "org.apache.kafka.common.security.scram.ScramLoginModule required "
                            + "username=\"javauser\" password=\"wrong\";",
                    "max.block.ms", 10_000))) {
                ExecutionException e = assertThrows(ExecutionException.class,
                        () -> p.send(new ProducerRecord<>(topic, "x".getBytes())).get(30, TimeUnit.SECONDS));
                assertInstanceOf(SaslAuthenticationException.class, e.getCause());
            }
        }
    }
}
