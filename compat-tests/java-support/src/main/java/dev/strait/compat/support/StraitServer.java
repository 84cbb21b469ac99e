package dev.strait.compat.support;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One real `strait dev` process on free loopback ports with a temporary data directory; stopped by PID. Shared by
 * the Java compat suites (each pom adds this directory as a test source root); see ../README.md.
 */
public final class StraitServer implements AutoCloseable {
    private final Path dir;
    private final Path log;
    private final int awsPort;
    private final int kafkaPort;
    private final int adminPort;
    private final Process process;

    private StraitServer(Path dir, Path log, int awsPort, int kafkaPort, int adminPort, Process process) {
        this.kafkaPort = kafkaPort;
        this.adminPort = adminPort;
        this.dir = dir;
        this.log = log;
        this.awsPort = awsPort;
        this.process = process;
    }

    public static StraitServer start() throws IOException, InterruptedException {
        return start(Map.of());
    }

    /** Starts with extra environment, e.g. {@code STRAIT_AWS__AUTH=sigv4}. */
    public static StraitServer start(Map<String, String> env) throws IOException, InterruptedException {
        String bin = System.getProperty("strait.bin");
        if (bin == null || bin.isBlank() || bin.startsWith("${")) {
            bin = System.getenv("STRAIT_BIN");
        }
        if (bin == null || bin.isBlank() || !Files.isExecutable(Path.of(bin))) {
            throw new IllegalStateException(
                    "STRAIT_BIN (or -Dstrait.bin) must point at a built strait binary; run.sh sets it. Got: " + bin);
        }
        Path dir = Files.createTempDirectory("strait-java-");
        Path log = dir.resolve("strait.log");
        int kafkaPort = freePort();
        int awsPort = freePort();
        int adminPort = freePort();
        ProcessBuilder pb = new ProcessBuilder(bin, "dev",
                "--data-dir", dir.resolve("data").toString(),
                "--kafka-addr", "127.0.0.1:" + kafkaPort,
                "--aws-addr", "127.0.0.1:" + awsPort,
                "--admin-addr", "127.0.0.1:" + adminPort)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().putAll(env);
        Process process = pb.start();
        StraitServer server = new StraitServer(dir, log, awsPort, kafkaPort, adminPort, process);
        Runtime.getRuntime().addShutdownHook(new Thread(process::destroyForcibly));
        try {
            server.awaitHealthy(adminPort, Duration.ofSeconds(30));
        } catch (RuntimeException | InterruptedException e) {
            server.printLog("strait failed to start");
            server.stop();
            throw e;
        }
        return server;
    }

    public String bootstrap() {
        return "127.0.0.1:" + kafkaPort;
    }

    /** The admin listener's Prometheus endpoint (CloudWatch PutMetricData figures are exported there). */
    public String metricsUrl() {
        return "http://127.0.0.1:" + adminPort + "/metrics";
    }

    /** The AWS API (Kinesis, DynamoDB, CloudWatch). */
    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + awsPort);
    }

    private void awaitHealthy(int adminPort, Duration timeout) throws InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/healthz"))
                .timeout(Duration.ofSeconds(1)).GET().build();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("strait exited early with status " + process.exitValue());
            }
            try {
                if (http.send(req, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("strait did not become healthy in " + timeout.toSeconds() + " s");
    }

    /** The server's process id. */
    public long pid() {
        return process.pid();
    }

    /** Prints the server's log (its last lines when long) to stderr, for the post-mortem of a failure. */
    public void printLog(String why) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            int from = Math.max(0, lines.size() - 400);
            System.err.println("===== strait log (" + why + ", last " + (lines.size() - from) + " lines) =====");
            lines.subList(from, lines.size()).forEach(System.err::println);
            System.err.println("===== end of strait log =====");
        } catch (IOException e) {
            System.err.println("could not read strait log " + log + ": " + e);
        }
    }

    private void stop() throws InterruptedException {
        if (process.isAlive()) {
            process.destroy(); // SIGTERM
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    /** Stops the server; removes its directory unless {@code keep} (a failed run) or STRAIT_KEEP_DATA is set. */
    public void close(boolean keep) throws InterruptedException {
        stop();
        if (keep || System.getenv("STRAIT_KEEP_DATA") != null) {
            System.err.println("strait data and log kept in " + dir);
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort: a temp dir left behind is harmless
        }
    }

    @Override
    public void close() throws InterruptedException {
        close(false);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
