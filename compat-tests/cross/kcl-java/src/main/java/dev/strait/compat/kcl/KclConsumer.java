package dev.strait.compat.kcl;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.cloudwatch.CloudWatchAsyncClient;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.kinesis.KinesisAsyncClient;
import software.amazon.kinesis.common.ConfigsBuilder;
import software.amazon.kinesis.common.InitialPositionInStream;
import software.amazon.kinesis.common.InitialPositionInStreamExtended;
import software.amazon.kinesis.common.KinesisClientUtil;
import software.amazon.kinesis.coordinator.Scheduler;
import software.amazon.kinesis.exceptions.InvalidStateException;
import software.amazon.kinesis.exceptions.ShutdownException;
import software.amazon.kinesis.lifecycle.events.InitializationInput;
import software.amazon.kinesis.lifecycle.events.LeaseLostInput;
import software.amazon.kinesis.lifecycle.events.ProcessRecordsInput;
import software.amazon.kinesis.lifecycle.events.ShardEndedInput;
import software.amazon.kinesis.lifecycle.events.ShutdownRequestedInput;
import software.amazon.kinesis.processor.RecordProcessorCheckpointer;
import software.amazon.kinesis.processor.ShardRecordProcessor;
import software.amazon.kinesis.processor.SingleStreamTracker;
import software.amazon.kinesis.retrieval.KinesisClientRecord;
import software.amazon.kinesis.retrieval.polling.PollingConfig;

/**
 * An ordinary Kinesis Client Library 3.x application: one {@link Scheduler} consuming one stream, appending every
 * record it is given to an output file and checkpointing after every batch. Nothing in it knows about Strait: the
 * three AWS clients only get an endpoint override, a region and static credentials.
 *
 * <p>Output: one line per processed record, fields separated by a tab:
 * {@code shardId sequenceNumber subSequenceNumber partitionKey base64(data)}. The partition key is escaped
 * ({@code \\}, {@code \t}, {@code \n}, {@code \r}) so that a line is always one record. A record's line is written
 * and flushed before the batch is checkpointed, so every checkpointed record is in the file.
 *
 * <p>Usable from a {@code main} (see {@link #main}) and from tests ({@link #start} / {@link #stop}).
 */
public final class KclConsumer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(KclConsumer.class);

    /** Retrieval modes: KCL's default enhanced fan-out (SubscribeToShard) or GetRecords polling. */
    public enum Mode {
        EFO,
        POLLING
    }

    /** What the consumer is started with; see README.md for the command-line form. */
    public record Options(
            URI endpoint,
            String streamName,
            String applicationName,
            Mode mode,
            InitialPositionInStreamExtended initialPosition,
            Path output,
            String workerId,
            boolean fastTimers) {

        public Options {
            if (workerId == null || workerId.isBlank()) {
                workerId = "worker-" + UUID.randomUUID();
            }
        }

        public static Options of(URI endpoint, String stream, String app, Mode mode, Path output) {
            return new Options(endpoint, stream, app, mode,
                    InitialPositionInStreamExtended.newInitialPosition(InitialPositionInStream.TRIM_HORIZON), output,
                    null, true);
        }
    }

    private final Options options;
    private final Scheduler scheduler;
    private final Thread thread;
    private final BufferedWriter out;
    private final List<AutoCloseable> clients = new ArrayList<>();

    private KclConsumer(Options options) throws IOException {
        this.options = options;
        Region region = Region.US_EAST_1;
        StaticCredentialsProvider credentials =
                StaticCredentialsProvider.create(AwsBasicCredentials.create("kcl-test", "kcl-test-secret"));
        // KCL requires the Kinesis client on Netty with HTTP/2 (SubscribeToShard); KinesisClientUtil sets it up.
        KinesisAsyncClient kinesis = KinesisClientUtil.createKinesisAsyncClient(KinesisAsyncClient.builder()
                .endpointOverride(options.endpoint())
                .region(region)
                .credentialsProvider(credentials));
        DynamoDbAsyncClient dynamo = DynamoDbAsyncClient.builder()
                .endpointOverride(options.endpoint())
                .region(region)
                .credentialsProvider(credentials)
                .build();
        CloudWatchAsyncClient cloudWatch = CloudWatchAsyncClient.builder()
                .endpointOverride(options.endpoint())
                .region(region)
                .credentialsProvider(credentials)
                .build();
        clients.add(kinesis);
        clients.add(dynamo);
        clients.add(cloudWatch);

        Files.createDirectories(options.output().toAbsolutePath().getParent());
        out = Files.newBufferedWriter(options.output(), StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE);

        SingleStreamTracker tracker = new SingleStreamTracker(options.streamName(), options.initialPosition());
        ConfigsBuilder configs = new ConfigsBuilder(tracker, options.applicationName(), kinesis, dynamo, cloudWatch,
                options.workerId(), Processor::new);

        var retrieval = configs.retrievalConfig();
        if (options.mode() == Mode.POLLING) {
            PollingConfig polling = new PollingConfig(options.streamName(), kinesis);
            if (options.fastTimers()) {
                // KCL's floor (PollingConfig.MIN_IDLE_MILLIS_BETWEEN_READS); the default is 1500 ms.
                polling.idleTimeBetweenReadsInMillis(200L);
            }
            retrieval.retrievalSpecificConfig(polling);
        }
        // else: KCL's default, enhanced fan-out (a stream consumer named after the application, SubscribeToShard).

        var leases = configs.leaseManagementConfig();
        var coordinator = configs.coordinatorConfig();
        if (options.fastTimers()) {
            // Same behaviour as KCL's defaults, on a shorter clock, so that a test run takes seconds, not minutes.
            leases.failoverTimeMillis(3_000L);           // default 10 s: lease expiry, renewal every third of it
            leases.shardSyncIntervalMillis(5_000L);      // default 60 s
            leases.leasesRecoveryAuditorExecutionFrequencyMillis(5_000L); // default 2 min
            leases.dynamoDbLockBasedLeaderLeaseDurationInMillis(6_000L);  // default 2 min: leader lock expiry
            leases.dynamoDbLockBasedLeaderHeartbeatPeriodInMillis(2_000L); // default 30 s
            leases.workerUtilizationAwareAssignmentConfig().workerMetricsReporterFreqInMillis(2_000L); // default 30 s
            coordinator.parentShardPollIntervalMillis(1_000L); // default 10 s: how often a child checks its parents
        }

        scheduler = new Scheduler(
                configs.checkpointConfig(),
                coordinator,
                leases,
                configs.lifecycleConfig(),
                configs.metricsConfig(), // default: CloudWatch metrics on, MetricsLevel.DETAILED
                configs.processorConfig(),
                retrieval);
        thread = new Thread(scheduler, "kcl-scheduler-" + options.applicationName());
        thread.setDaemon(true);
    }

    /** Builds the scheduler and starts it on its own thread. */
    public static KclConsumer start(Options options) throws IOException {
        KclConsumer c = new KclConsumer(options);
        log.info("starting KCL consumer {}", options);
        c.thread.start();
        return c;
    }

    public Options options() {
        return options;
    }

    public Scheduler scheduler() {
        return scheduler;
    }

    /**
     * Stops the scheduler gracefully: every record processor is asked to shut down (and checkpoints), leases are
     * released, then the scheduler thread ends. Returns whether the graceful shutdown completed in time.
     */
    public boolean stop(Duration timeout) throws InterruptedException {
        boolean graceful;
        try {
            CompletableFuture<Boolean> f = scheduler.startGracefulShutdown();
            graceful = Boolean.TRUE.equals(f.get(timeout.toMillis(), TimeUnit.MILLISECONDS));
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            log.warn("graceful shutdown did not complete", e);
            graceful = false;
        }
        if (!graceful) {
            scheduler.shutdown();
        }
        thread.join(timeout.toMillis());
        return graceful;
    }

    @Override
    public void close() throws Exception {
        if (thread.isAlive()) {
            stop(Duration.ofSeconds(30));
        }
        synchronized (out) {
            out.close();
        }
        for (AutoCloseable c : clients) {
            c.close();
        }
    }

    /** One line of the output file. */
    static String line(String shardId, KinesisClientRecord r) {
        byte[] data = new byte[r.data().remaining()];
        r.data().duplicate().get(data);
        return shardId + '\t' + r.sequenceNumber() + '\t' + r.subSequenceNumber() + '\t'
                + escape(r.partitionKey()) + '\t' + Base64.getEncoder().encodeToString(data);
    }

    static String escape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '\\' -> b.append("\\\\");
                case '\t' -> b.append("\\t");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    /** Appends each batch to the output file, then checkpoints it. */
    private final class Processor implements ShardRecordProcessor {
        private String shardId;

        @Override
        public void initialize(InitializationInput input) {
            shardId = input.shardId();
            log.info("initialize {} at {}", shardId, input.extendedSequenceNumber());
        }

        @Override
        public void processRecords(ProcessRecordsInput input) {
            if (input.records().isEmpty()) {
                return;
            }
            try {
                synchronized (out) {
                    for (KinesisClientRecord r : input.records()) {
                        out.write(line(shardId, r));
                        out.newLine();
                    }
                    out.flush();
                }
            } catch (IOException e) {
                // Not checkpointing means the batch is delivered again; the app itself cannot go on.
                throw new UncheckedIOException(e);
            }
            checkpoint(input.checkpointer(), "batch");
        }

        @Override
        public void leaseLost(LeaseLostInput input) {
            log.info("lease lost {}", shardId);
        }

        @Override
        public void shardEnded(ShardEndedInput input) {
            log.info("shard ended {}", shardId);
            // Required by KCL: checkpointing at SHARD_END lets the child shards start.
            checkpoint(input.checkpointer(), "shard end");
        }

        @Override
        public void shutdownRequested(ShutdownRequestedInput input) {
            log.info("shutdown requested {}", shardId);
            checkpoint(input.checkpointer(), "shutdown");
        }

        private void checkpoint(RecordProcessorCheckpointer c, String why) {
            try {
                c.checkpoint();
            } catch (ShutdownException e) {
                // The lease moved to another worker; that worker re-reads from the last checkpoint.
                log.info("{}: checkpoint at {} skipped, lease lost: {}", shardId, why, e.getMessage());
            } catch (InvalidStateException e) {
                throw new IllegalStateException("checkpoint at " + why + " failed for " + shardId, e);
            }
        }
    }

    /**
     * {@code KclConsumer --endpoint URL --stream NAME --app NAME [--mode efo|polling] [--position
     * TRIM_HORIZON|LATEST|AT_TIMESTAMP] [--timestamp ISO-8601|epoch-ms] --output FILE [--worker-id ID]
     * [--default-timers]}. Runs until SIGTERM/SIGINT, then
     * shuts down gracefully (checkpoints are written).
     */
    public static void main(String[] args) throws Exception {
        URI endpoint = null;
        String stream = null;
        String app = null;
        Mode mode = Mode.EFO;
        InitialPositionInStream position = InitialPositionInStream.TRIM_HORIZON;
        Instant timestamp = null;
        Path output = null;
        String worker = null;
        boolean fast = true;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--endpoint" -> endpoint = URI.create(value(args, ++i, a));
                case "--stream" -> stream = value(args, ++i, a);
                case "--app" -> app = value(args, ++i, a);
                case "--mode" -> mode = Mode.valueOf(value(args, ++i, a).toUpperCase(Locale.ROOT));
                case "--position" -> position =
                        InitialPositionInStream.valueOf(value(args, ++i, a).toUpperCase(Locale.ROOT));
                case "--timestamp" -> timestamp = parseInstant(value(args, ++i, a));
                case "--output" -> output = Path.of(value(args, ++i, a));
                case "--worker-id" -> worker = value(args, ++i, a);
                case "--default-timers" -> fast = false;
                default -> usage("unknown argument " + a);
            }
        }
        if (endpoint == null || stream == null || app == null || output == null) {
            usage("--endpoint, --stream, --app and --output are required");
        }
        InitialPositionInStreamExtended initial;
        if (position == InitialPositionInStream.AT_TIMESTAMP) {
            if (timestamp == null) {
                usage("--position AT_TIMESTAMP needs --timestamp");
            }
            initial = InitialPositionInStreamExtended.newInitialPositionAtTimestamp(Date.from(timestamp));
        } else {
            initial = InitialPositionInStreamExtended.newInitialPosition(position);
        }
        KclConsumer c = start(new Options(endpoint, stream, app, mode, initial, output, worker, fast));
        CompletableFuture<Void> stopped = new CompletableFuture<>();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                c.close();
            } catch (Exception e) {
                log.warn("shutdown failed", e);
            }
            stopped.complete(null);
        }));
        c.thread.join();
        stopped.getNow(null);
    }

    private static Instant parseInstant(String s) {
        return s.chars().allMatch(Character::isDigit) ? Instant.ofEpochMilli(Long.parseLong(s)) : Instant.parse(s);
    }

    private static String value(String[] args, int i, String name) {
        if (i >= args.length) {
            usage(name + " needs a value");
        }
        return args[i];
    }

    private static void usage(String why) {
        System.err.println(why);
        System.err.println("usage: KclConsumer --endpoint URL --stream NAME --app NAME [--mode efo|polling]"
                + " [--position TRIM_HORIZON|LATEST|AT_TIMESTAMP] [--timestamp ISO-8601|epoch-ms] --output FILE"
                + " [--worker-id ID] [--default-timers]");
        System.exit(2);
    }
}
