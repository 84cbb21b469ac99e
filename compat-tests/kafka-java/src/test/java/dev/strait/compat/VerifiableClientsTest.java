package dev.strait.compat;

import dev.strait.compat.support.StraitServer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Kafka's own VerifiableProducer and VerifiableConsumer (kafka-tools), as Kafka's system tests use them: an acks=all
 * producer writes while a consumer group rebalances (a second member joins mid-stream, then the first leaves), and
 * the checker proves from the tools' JSON events that every acknowledged record was consumed exactly once.
 */
@ExtendWith(StraitExtension.class)
class VerifiableClientsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MESSAGES = 6000;

    /** A Verifiable* tool running as its own JVM, with its JSON events collected. */
    private static final class Tool {
        final Process process;
        final List<JsonNode> events = new CopyOnWriteArrayList<>();

        Tool(String mainClass, List<String> args) throws Exception {
            List<String> cmd = new ArrayList<>(List.of(
                    ProcessHandle.current().info().command().orElse("java"),
                    "-cp", System.getProperty("java.class.path"), mainClass));
            cmd.addAll(args);
            process = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        if (line.startsWith("{")) {
                            events.add(JSON.readTree(line));
                        }
                    }
                } catch (Exception e) {
                    // the process ended; what was read is kept
                }
            });
            reader.setDaemon(true);
            reader.start();
        }

        boolean saw(String name) {
            return events.stream().anyMatch(e -> name.equals(e.path("name").asText()));
        }

        void awaitEvent(String name, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!saw(name)) {
                assertTrue(System.nanoTime() < deadline, "no " + name + " event within " + timeout);
                Thread.sleep(50);
            }
        }

        /** Sends SIGTERM (the tools shut down cleanly on it) and waits for the exit. */
        void stop() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }

    private static Tool consumer(StraitServer strait, String topic, String group) throws Exception {
        return new Tool("org.apache.kafka.tools.VerifiableConsumer", List.of(
                "--bootstrap-server", strait.bootstrap(), "--topic", topic, "--group-id", group,
                "--group-protocol", "classic", "--reset-policy", "earliest", "--verbose"));
    }

    private static Set<String> consumed(List<Tool> consumers, List<String> duplicates) {
        Set<String> seen = new HashSet<>();
        for (Tool c : consumers) {
            for (JsonNode e : c.events) {
                if ("record_data".equals(e.path("name").asText())) {
                    String id = e.path("partition").asInt() + "/" + e.path("offset").asLong();
                    if (!seen.add(id)) {
                        duplicates.add(id);
                    }
                }
            }
        }
        return seen;
    }

    @Test
    void everyAcknowledgedRecordIsConsumedExactlyOnceAcrossARebalance(StraitServer strait) throws Exception {
        String topic = Clients.unique("verifiable");
        try (Admin admin = Clients.admin(strait)) {
            Clients.createTopic(admin, topic, 3, Map.of());
        }
        String group = Clients.unique("verifiable-group");
        Tool first = consumer(strait, topic, group);
        first.awaitEvent("partitions_assigned", Duration.ofSeconds(60));
        Tool producer = new Tool("org.apache.kafka.tools.VerifiableProducer", List.of(
                "--bootstrap-server", strait.bootstrap(), "--topic", topic, "--max-messages", String.valueOf(MESSAGES),
                "--acks", "-1", "--throughput", "600"));
        Thread.sleep(1000);
        Tool second = consumer(strait, topic, group); // joins mid-stream: the group rebalances
        long joinDeadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!second.events.stream().anyMatch(e -> "partitions_assigned".equals(e.path("name").asText())
                && e.path("partitions").size() > 0)) {
            assertTrue(System.nanoTime() < joinDeadline, "the second member got partitions within 30 s");
            Thread.sleep(50);
        }
        assertTrue(producer.process.isAlive(), "the rebalance happened while the producer was still writing");
        assertTrue(producer.process.waitFor(60, TimeUnit.SECONDS), "producer finished");
        Map<String, String> acked = new HashMap<>();
        for (JsonNode e : producer.events) {
            if ("producer_send_success".equals(e.path("name").asText())) {
                acked.put(e.path("partition").asInt() + "/" + e.path("offset").asLong(), e.path("value").asText());
            }
        }
        assertEquals(MESSAGES, acked.size(), "every send acknowledged");
        first.stop(); // the first member leaves: its partitions move to the second one
        List<Tool> consumers = List.of(first, second);
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        List<String> duplicates = new ArrayList<>();
        while (!consumed(consumers, duplicates = new ArrayList<>()).containsAll(acked.keySet())) {
            assertTrue(System.nanoTime() < deadline, "not every acknowledged record was consumed within 60 s");
            Thread.sleep(200);
        }
        second.stop();
        duplicates = new ArrayList<>();
        Set<String> all = consumed(consumers, duplicates);
        assertTrue(all.containsAll(acked.keySet()), "no acknowledged record lost");
        assertEquals(List.of(), duplicates, "no record consumed twice across the rebalance");
        assertTrue(first.saw("partitions_revoked"), "the first member gave partitions up when the second joined");
    }
}
