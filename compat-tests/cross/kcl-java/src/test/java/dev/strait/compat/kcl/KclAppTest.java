package dev.strait.compat.kcl;

import dev.strait.compat.support.StraitServer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ResourceNotFoundException;
import software.amazon.awssdk.services.dynamodb.model.ScanRequest;
import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import software.amazon.awssdk.services.kinesis.model.PutRecordsResponse;
import software.amazon.awssdk.services.kinesis.model.PutRecordsResultEntry;
import software.amazon.awssdk.services.kinesis.model.ScalingType;
import software.amazon.awssdk.services.kinesis.model.Shard;
import software.amazon.awssdk.services.kinesis.model.StreamStatus;
import software.amazon.kinesis.common.InitialPositionInStream;
import software.amazon.kinesis.common.InitialPositionInStreamExtended;

/**
 * A real KCL 3.x application ({@link KclConsumer}) against a real `strait dev`, in both retrieval modes: records
 * written while it runs, a SplitShard and a MergeShards during consumption, every acknowledged record processed,
 * children after their parents, checkpoints in the lease table that advance, and a restart that resumes after
 * the checkpoints.
 */
class KclAppTest {
    private static final String SHARD0 = "shardId-000000000000";
    private static final String SHARD1 = "shardId-000000000001";
    private static final String SHARD3 = "shardId-000000000003";
    private static final InitialPositionInStreamExtended TRIM_HORIZON =
            InitialPositionInStreamExtended.newInitialPosition(InitialPositionInStream.TRIM_HORIZON);
    private static final Duration PROCESS_TIMEOUT = Duration.ofSeconds(120);

    // One strait per test, so that the two modes can run in parallel and each one's request counters are its own.
    private StraitServer server;
    private KinesisClient kinesis;
    private DynamoDbClient dynamo;

    @TempDir
    Path tmp;

    @BeforeEach
    void start() throws Exception {
        server = StraitServer.start();
        StaticCredentialsProvider creds =
                StaticCredentialsProvider.create(AwsBasicCredentials.create("kcl-test", "kcl-test-secret"));
        kinesis = KinesisClient.builder().endpointOverride(server.endpoint()).region(Region.US_EAST_1)
                .credentialsProvider(creds).build();
        dynamo = DynamoDbClient.builder().endpointOverride(server.endpoint()).region(Region.US_EAST_1)
                .credentialsProvider(creds).build();
    }

    @AfterEach
    void stop() throws Exception {
        if (kinesis != null) {
            kinesis.close();
        }
        if (dynamo != null) {
            dynamo.close();
        }
        if (server != null) {
            server.close();
        }
    }

    @Test
    void enhancedFanOut() throws Exception {
        scenario(KclConsumer.Mode.EFO);
    }

    @Test
    void polling() throws Exception {
        scenario(KclConsumer.Mode.POLLING);
    }

    /**
     * Two workers of one application (EFO): the second joins while the first consumes, then the first stops
     * gracefully and the second takes over every lease (KCL 3.x lease assignment by the leader, graceful handoff,
     * lease expiry) and processes everything; what it re-reads is only what the first had not checkpointed.
     */
    @Test
    void twoWorkersHandOver() throws Exception {
        long started = System.nanoTime();
        String stream = "kcl-two";
        String app = "kcl-app-two";
        Path outA = tmp.resolve("a.tsv");
        Path outB = tmp.resolve("b.tsv");
        Map<String, Acked> acked = new LinkedHashMap<>();
        kinesis.createStream(b -> b.streamName(stream).shardCount(4));
        awaitActive(stream);

        KclConsumer a = KclConsumer.start(new KclConsumer.Options(server.endpoint(), stream, app,
                KclConsumer.Mode.EFO, TRIM_HORIZON, outA, "worker-a", true));
        KclConsumer b = null;
        try {
            put(stream, acked, 0, 400);
            awaitCondition("worker A processed records", Duration.ofSeconds(90), () -> Line.read(outA).size() >= 100);
            b = KclConsumer.start(new KclConsumer.Options(server.endpoint(), stream, app, KclConsumer.Mode.EFO,
                    TRIM_HORIZON, outB, "worker-b", true));
            put(stream, acked, 400, 400);
            Thread.sleep(5_000); // let B register its worker metrics and the leader see it
            put(stream, acked, 800, 200);

            assertTrue(a.stop(Duration.ofSeconds(60)), "graceful shutdown of worker A completed");
            Map<String, Map<String, AttributeValue>> atStop = leases(app);
            List<Line> linesA = Line.read(outA);
            put(stream, acked, 1000, 400);

            awaitCondition("worker B holds every lease", Duration.ofSeconds(60), () -> leases(app).values().stream()
                    .allMatch(l -> l.get("leaseOwner") != null && "worker-b".equals(l.get("leaseOwner").s())));
            awaitCondition("every acknowledged record processed by A or B", PROCESS_TIMEOUT, () -> {
                List<Line> all = new ArrayList<>(Line.read(outA));
                all.addAll(Line.read(outB));
                return missing(acked.keySet(), all).isEmpty();
            });
            List<Line> linesB = Line.read(outB);
            assertTrue(b.stop(Duration.ofSeconds(60)), "graceful shutdown of worker B completed");

            // Per shard: what A processed beyond its checkpoint at its stop is the only thing B may repeat.
            Map<String, BigInteger> lastA = new HashMap<>();
            linesA.forEach(l -> lastA.merge(l.shardId(), l.seq(), BigInteger::max));
            int reread = 0;
            for (Line l : linesB) {
                BigInteger top = lastA.get(l.shardId());
                if (top == null || l.seq().compareTo(top) > 0) {
                    continue; // new to B
                }
                reread++;
                String cp = checkpoint(atStop.get(l.shardId()));
                assertTrue(!isSequence(cp) || l.seq().compareTo(new BigInteger(cp)) > 0,
                        "B re-read " + l.key() + " at or below A's checkpoint " + cp + " on " + l.shardId());
            }
            for (Line l : linesA) {
                Acked k = acked.get(l.key());
                assertEquals(k.seq(), l.seq(), l.key());
                assertEquals(k.shardId(), l.shardId(), l.key());
            }
            for (Line l : linesB) {
                Acked k = acked.get(l.key());
                assertEquals(k.seq(), l.seq(), l.key());
                assertEquals(k.shardId(), l.shardId(), l.key());
            }
            assertFalse(linesB.isEmpty(), "worker B processed records");
            System.out.printf("KCL two workers: %d records acknowledged; A processed %d lines, B %d lines "
                            + "(%d re-read by B from A's unchecked window); A's checkpoints at stop %s; %.1f s%n",
                    acked.size(), linesA.size(), linesB.size(), reread,
                    atStop.entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey, e -> checkpoint(e.getValue()))),
                    (System.nanoTime() - started) / 1e9);
        } catch (Throwable t) {
            server.printLog("two workers failed");
            throw t;
        } finally {
            a.close();
            if (b != null) {
                b.close();
            }
        }
    }

    /**
     * Initial positions other than TRIM_HORIZON, on a stream resharded before the apps start (so ListShards'
     * AT_TIMESTAMP / AT_LATEST filters decide which shards get leases): AT_TIMESTAMP (polling) processes exactly
     * the records written after its timestamp, LATEST (EFO) none written before it started reading.
     */
    @Test
    void latestAndAtTimestamp() throws Exception {
        long started = System.nanoTime();
        String stream = "kcl-positions";
        kinesis.createStream(b -> b.streamName(stream).shardCount(2));
        awaitActive(stream);
        Map<String, Acked> before = new LinkedHashMap<>();
        put(stream, before, 0, 200);
        kinesis.splitShard(b -> b.streamName(stream).shardToSplit(SHARD0)
                .newStartingHashKey(BigInteger.ONE.shiftLeft(126).toString()));
        awaitActive(stream);
        put(stream, before, 200, 200);
        Thread.sleep(1_500);
        Instant t = Instant.now();
        Thread.sleep(1_500);
        Map<String, Acked> afterT = new LinkedHashMap<>();
        put(stream, afterT, 400, 200);

        Path outTs = tmp.resolve("at-timestamp.tsv");
        Path outLatest = tmp.resolve("latest.tsv");
        KclConsumer ts = KclConsumer.start(new KclConsumer.Options(server.endpoint(), stream, "kcl-app-ts",
                KclConsumer.Mode.POLLING, InitialPositionInStreamExtended.newInitialPositionAtTimestamp(Date.from(t)),
                outTs, null, true));
        KclConsumer latest = KclConsumer.start(new KclConsumer.Options(server.endpoint(), stream, "kcl-app-latest",
                KclConsumer.Mode.EFO, InitialPositionInStreamExtended.newInitialPosition(InitialPositionInStream.LATEST),
                outLatest, null, true));
        try {
            awaitCondition("AT_TIMESTAMP app processed the records after its timestamp", PROCESS_TIMEOUT,
                    () -> missing(afterT.keySet(), Line.read(outTs)).isEmpty());
            // LATEST skips whatever is written before the app has its iterators: write a trickle until it reads
            // from every open shard, then a batch that must be processed completely.
            Map<String, Acked> live = new LinkedHashMap<>();
            AtomicInteger next = new AtomicInteger(600);
            Set<String> open = Set.of(SHARD1, "shardId-000000000002", SHARD3);
            awaitCondition("LATEST app reads every open shard", PROCESS_TIMEOUT, () -> {
                try {
                    put(stream, live, next.getAndAdd(30), 30);
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                return Line.read(outLatest).stream().map(Line::shardId).collect(Collectors.toSet()).containsAll(open);
            });
            Map<String, Acked> last = new LinkedHashMap<>();
            put(stream, last, next.get(), 300);
            awaitCondition("LATEST app processed everything written once it was reading", PROCESS_TIMEOUT,
                    () -> missing(last.keySet(), Line.read(outLatest)).isEmpty());
            awaitCondition("AT_TIMESTAMP app processed everything after its timestamp", PROCESS_TIMEOUT,
                    () -> missing(last.keySet(), Line.read(outTs)).isEmpty() && missing(live.keySet(), Line.read(outTs)).isEmpty());

            List<Line> linesTs = Line.read(outTs);
            List<Line> linesLatest = Line.read(outLatest);
            for (Line l : linesTs) {
                assertFalse(before.containsKey(l.key()), "AT_TIMESTAMP app processed " + l.key() + ", written before "
                        + t + ", from " + l.shardId());
                assertTrue(open.contains(l.shardId()), "AT_TIMESTAMP app read a shard closed before its timestamp: " + l);
            }
            for (Line l : linesLatest) {
                assertFalse(before.containsKey(l.key()) || afterT.containsKey(l.key()),
                        "LATEST app processed " + l.key() + ", written before it started");
            }
            Map<String, Acked> all = new HashMap<>(before);
            all.putAll(afterT);
            all.putAll(live);
            all.putAll(last);
            for (Line l : linesTs) {
                assertEquals(all.get(l.key()).seq(), l.seq(), l.key());
            }
            for (Line l : linesLatest) {
                assertEquals(all.get(l.key()).seq(), l.seq(), l.key());
            }
            System.out.printf("KCL initial positions: AT_TIMESTAMP (polling) processed %d lines (%d written after "
                            + "its timestamp, %d before it, none of which it read); LATEST (EFO) processed %d lines, "
                            + "%d of the %d written while it started; %.1f s%n",
                    linesTs.size(), afterT.size() + live.size() + last.size(), before.size(), linesLatest.size(),
                    linesLatest.stream().filter(l -> live.containsKey(l.key())).count(), live.size(),
                    (System.nanoTime() - started) / 1e9);
            assertTrue(ts.stop(Duration.ofSeconds(60)), "graceful shutdown (AT_TIMESTAMP app)");
            assertTrue(latest.stop(Duration.ofSeconds(60)), "graceful shutdown (LATEST app)");
        } catch (Throwable e) {
            server.printLog("initial positions failed");
            throw e;
        } finally {
            ts.close();
            latest.close();
        }
    }

    /**
     * KPL-aggregated records (the KPL's own format, built here: magic, protobuf AggregatedRecord, MD5) read by KCL
     * (EFO): every user record comes out with its partition key, data and subsequence number; an aggregate holding
     * a user record whose explicit hash key is outside the shard is dropped whole, as KCL does, which only works if
     * ListShards' hash ranges match how strait routed the records; a restart resumes after the last aggregate.
     */
    @Test
    void kplAggregatedRecords() throws Exception {
        long started = System.nanoTime();
        String stream = "kcl-kpl";
        String app = "kcl-app-kpl";
        kinesis.createStream(b -> b.streamName(stream).shardCount(2));
        awaitActive(stream);
        Map<String, BigInteger[]> ranges = new TreeMap<>();
        for (Shard sh : kinesis.listShards(b -> b.streamName(stream)).shards()) {
            ranges.put(sh.shardId(), new BigInteger[] {new BigInteger(sh.hashKeyRange().startingHashKey()),
                new BigInteger(sh.hashKeyRange().endingHashKey())});
        }
        // user key -> (data, shard, aggregate's sequence number, subsequence number)
        Map<String, String[]> expected = new LinkedHashMap<>();
        Set<String> poisoned = new HashSet<>();
        int n = 0;
        for (int round = 0; round < 10; round++) {
            for (var e : ranges.entrySet()) {
                boolean poison = round == 4;
                List<String[]> users = new ArrayList<>(); // {partitionKey, explicitHashKey or null, data}
                for (int i = 0; i < 20; i++) {
                    String key = KplAggregate.keyInRange(e.getValue(), "user-" + n++);
                    String ehk = i % 5 == 4 ? e.getValue()[0].add(BigInteger.valueOf(i)).toString() : null;
                    users.add(new String[] {key, ehk, "data of " + key + " " + "y".repeat(i)});
                }
                if (poison) {
                    // Outside this shard: the neighbour's first hash key, or the one before this shard's start.
                    BigInteger outside = e.getValue()[1].add(BigInteger.ONE).bitLength() > 128
                            ? e.getValue()[0].subtract(BigInteger.ONE) : e.getValue()[1].add(BigInteger.ONE);
                    users.add(new String[] {"user-" + n++, outside.toString(), "poison"});
                }
                SdkBytes blob = SdkBytes.fromByteArray(KplAggregate.aggregate(users));
                var r = kinesis.putRecord(b -> b.streamName(stream).partitionKey(users.get(0)[0])
                        .explicitHashKey(e.getValue()[0].toString()).data(blob));
                assertEquals(e.getKey(), r.shardId(), "the aggregate is routed by its explicit hash key");
                for (int i = 0; i < users.size(); i++) {
                    String[] u = users.get(i);
                    if (poison) {
                        poisoned.add(u[0]);
                    } else {
                        expected.put(u[0], new String[] {u[2], r.shardId(), r.sequenceNumber(), Integer.toString(i)});
                    }
                }
            }
        }
        Path out1 = tmp.resolve("kpl1.tsv");
        KclConsumer run1 = KclConsumer.start(KclConsumer.Options.of(server.endpoint(), stream, app,
                KclConsumer.Mode.EFO, out1));
        List<Line> lines;
        try {
            awaitCondition("every user record of every intact aggregate processed", PROCESS_TIMEOUT,
                    () -> missing(expected.keySet(), Line.read(out1)).isEmpty());
            Thread.sleep(2_000); // anything else (a poisoned user record) would have arrived with its batch
            lines = Line.read(out1);
            assertTrue(run1.stop(Duration.ofSeconds(60)), "graceful shutdown");
        } catch (Throwable t) {
            server.printLog("KPL run 1 failed");
            throw t;
        } finally {
            run1.close();
        }
        for (Line l : lines) {
            assertFalse(poisoned.contains(l.key()), "a user record of an aggregate KCL must drop: " + l);
            String[] x = expected.get(l.key());
            assertNotNull(x, "unexpected record " + l);
            assertEquals(x[0], l.data(), l.key() + ": data");
            assertEquals(x[1], l.shardId(), l.key() + ": shard");
            assertEquals(new BigInteger(x[2]), l.seq(), l.key() + ": sequence number of its aggregate");
            assertEquals(Long.parseLong(x[3]), l.subSeq(), l.key() + ": subsequence number");
        }
        Map<String, Map<String, AttributeValue>> leases = leases(app);
        for (String shard : ranges.keySet()) {
            Line last = lines.stream().filter(l -> l.shardId().equals(shard))
                    .max((a, b) -> a.seq().compareTo(b.seq()) != 0 ? a.seq().compareTo(b.seq())
                            : Long.compare(a.subSeq(), b.subSeq())).orElseThrow();
            assertEquals(last.seq().toString(), checkpoint(leases.get(shard)), shard + " checkpoint");
            assertEquals(Long.toString(last.subSeq()), leases.get(shard).get("checkpointSubSequenceNumber").n(),
                    shard + " checkpoint subsequence number");
        }

        // Restart: one more aggregate per shard; only it is processed.
        Map<String, String> fresh = new HashMap<>();
        for (var e : ranges.entrySet()) {
            List<String[]> users = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                String key = KplAggregate.keyInRange(e.getValue(), "fresh-" + n++);
                users.add(new String[] {key, null, "fresh " + key});
                fresh.put(key, e.getKey());
            }
            SdkBytes blob = SdkBytes.fromByteArray(KplAggregate.aggregate(users));
            kinesis.putRecord(b -> b.streamName(stream).partitionKey(users.get(0)[0]).data(blob));
        }
        Path out2 = tmp.resolve("kpl2.tsv");
        KclConsumer run2 = KclConsumer.start(KclConsumer.Options.of(server.endpoint(), stream, app,
                KclConsumer.Mode.EFO, out2));
        try {
            awaitCondition("the restarted app processed the new aggregates", PROCESS_TIMEOUT,
                    () -> missing(fresh.keySet(), Line.read(out2)).isEmpty());
            assertTrue(run2.stop(Duration.ofSeconds(60)), "graceful shutdown (restart)");
        } finally {
            run2.close();
        }
        List<Line> lines2 = Line.read(out2);
        for (Line l : lines2) {
            assertEquals(fresh.get(l.key()), l.shardId(), "after the restart only the new aggregates: " + l);
        }
        System.out.printf("KCL KPL aggregation: %d user records in %d aggregates processed (%d lines), %d user "
                        + "records of poisoned aggregates dropped; after a restart %d new, %d lines; %.1f s%n",
                expected.size(), 18, lines.size(), poisoned.size(), fresh.size(), lines2.size(),
                (System.nanoTime() - started) / 1e9);
    }

    /** An acknowledged record: what PutRecords answered for it. */
    record Acked(String key, String data, String shardId, BigInteger seq) {}

    private void scenario(KclConsumer.Mode mode) throws Exception {
        long started = System.nanoTime();
        String tag = mode.name().toLowerCase();
        String stream = "kcl-" + tag;
        String app = "kcl-app-" + tag;
        Path out1 = tmp.resolve("run1.tsv");
        Path out2 = tmp.resolve("run2.tsv");
        Map<String, Acked> acked = new LinkedHashMap<>();

        kinesis.createStream(b -> b.streamName(stream).shardCount(2));
        awaitActive(stream);

        KclConsumer run1 = KclConsumer.start(KclConsumer.Options.of(server.endpoint(), stream, app, mode, out1));
        Map<String, Map<String, AttributeValue>> early;
        try {
            put(stream, acked, 0, 500);
            awaitCondition("KCL processed its first records", Duration.ofSeconds(90),
                    () -> Line.read(out1).size() >= 100);
            awaitCondition("a numeric checkpoint in the lease table", Duration.ofSeconds(30),
                    () -> leases(app).values().stream().anyMatch(l -> isSequence(checkpoint(l))));
            early = leases(app);

            // Reshard while the application consumes: split shard 0 in two, merge its upper child with 1, then
            // UpdateShardCount to 3 (uniform scaling over the uneven ranges left: splits and merges, with
            // intermediate shards that are created and closed at once, as on AWS).
            BigInteger half = BigInteger.ONE.shiftLeft(126);
            kinesis.splitShard(b -> b.streamName(stream).shardToSplit(SHARD0).newStartingHashKey(half.toString()));
            awaitActive(stream);
            put(stream, acked, 500, 500);
            kinesis.mergeShards(b -> b.streamName(stream).shardToMerge(SHARD3).adjacentShardToMerge(SHARD1));
            awaitActive(stream);
            put(stream, acked, 1000, 1000);
            kinesis.updateShardCount(b -> b.streamName(stream).targetShardCount(3)
                    .scalingType(ScalingType.UNIFORM_SCALING));
            awaitActive(stream);
            put(stream, acked, 2000, 500);

            awaitCondition("every acknowledged record processed", PROCESS_TIMEOUT,
                    () -> missing(acked.keySet(), Line.read(out1)).isEmpty());
            // The last batches' checkpoints land just after their lines are written.
            Set<String> openNow = openShards(shards(stream));
            awaitCondition("open shards checkpointed at their last processed record", Duration.ofSeconds(30),
                    () -> openShardsCheckpointedAtLast(app, Line.read(out1), openNow));
        } catch (Throwable t) {
            server.printLog(mode + " run 1 failed");
            run1.close();
            throw t;
        }
        List<Line> lines1 = Line.read(out1);
        Map<String, Set<String>> topology = shards(stream);
        Set<String> open = openShards(topology);
        Set<String> closed = new TreeSet<>(topology.keySet());
        closed.removeAll(open);
        assertEquals(3, open.size(), "open shards after UpdateShardCount: " + open);
        Map<String, Map<String, AttributeValue>> after = leases(app);
        assertTrue(run1.stop(Duration.ofSeconds(60)), "graceful shutdown of run 1 completed");
        run1.close();
        Map<String, Map<String, AttributeValue>> atStop = leases(app);

        // Every acknowledged record, in the shard and at the sequence number PutRecords answered, with its data.
        Map<String, List<Line>> byKey = lines1.stream().collect(Collectors.groupingBy(Line::key));
        for (Acked a : acked.values()) {
            List<Line> got = byKey.get(a.key());
            assertNotNull(got, "record " + a.key() + " was never processed");
            for (Line l : got) {
                assertEquals(a.shardId(), l.shardId(), a.key() + ": shard");
                assertEquals(a.seq(), l.seq(), a.key() + ": sequence number");
                assertEquals(0L, l.subSeq(), a.key() + ": not aggregated");
                assertEquals(a.data(), l.data(), a.key() + ": data");
            }
        }
        int duplicates1 = lines1.size() - byKey.size();

        // Per shard, first deliveries in sequence order.
        Map<String, List<Line>> byShard = new TreeMap<>(lines1.stream().collect(Collectors.groupingBy(Line::shardId)));
        for (var e : byShard.entrySet()) {
            Set<BigInteger> seen = new HashSet<>();
            BigInteger last = BigInteger.valueOf(-1);
            for (Line l : e.getValue()) {
                if (seen.add(l.seq())) {
                    assertTrue(l.seq().compareTo(last) > 0, e.getKey() + ": sequence numbers in order");
                    last = l.seq();
                }
            }
        }
        assertTrue(byShard.keySet().containsAll(Set.of(SHARD0, SHARD1, SHARD3)), "records from the first parents");
        assertTrue(byShard.keySet().containsAll(open), "records from every open shard");

        // Children only after their ancestors were processed to the end (an intermediate shard of
        // UpdateShardCount may hold no record; its own ancestors are checked instead).
        for (String child : byShard.keySet()) {
            for (String ancestor : ancestors(topology, child)) {
                if (byShard.containsKey(ancestor)) {
                    assertChildAfterParent(byShard, ancestor, child);
                }
            }
        }

        // Lease table: closed shards at SHARD_END (or already cleaned up), open shards at their last processed
        // record, every lease naming its parents as ListShards does; and checkpoints moved since the early snapshot.
        for (String c : closed) {
            Map<String, AttributeValue> l = after.get(c);
            if (l != null) {
                assertEquals("SHARD_END", checkpoint(l), c + " checkpoint");
            }
        }
        for (String o : open) {
            Map<String, AttributeValue> l = after.get(o);
            assertNotNull(l, "lease for " + o);
            assertTrue(isSequence(checkpoint(l)), o + " checkpoint is a sequence number: " + checkpoint(l));
            assertEquals(lastSeq(byShard.get(o)), new BigInteger(checkpoint(l)), o + " checkpoint");
        }
        for (var e : after.entrySet()) {
            assertEquals(topology.get(e.getKey()), ss(e.getValue(), "parentShardId"), e.getKey() + " parents");
        }
        int moved = 0;
        for (var e : early.entrySet()) {
            String before = checkpoint(e.getValue());
            Map<String, AttributeValue> now = after.get(e.getKey());
            String cp = now == null ? "SHARD_END" : checkpoint(now);
            assertTrue(advanced(before, cp), e.getKey() + ": checkpoint " + before + " -> " + cp);
            if (!before.equals(cp)) {
                moved++;
            }
        }
        assertTrue(moved >= 1, "at least one checkpoint moved");

        // Restart: a new scheduler (new worker id) under the same application name resumes after the checkpoints
        // taken at the graceful stop; it may re-read only records that were not checkpointed.
        Map<String, BigInteger> checkpointed = new HashMap<>();
        for (String o : open) {
            String cp = checkpoint(atStop.get(o));
            assertTrue(isSequence(cp), o + " checkpoint at stop: " + cp);
            checkpointed.put(o, new BigInteger(cp));
        }
        Set<String> window = lines1.stream()
                .filter(l -> checkpointed.containsKey(l.shardId()) && l.seq().compareTo(checkpointed.get(l.shardId())) > 0)
                .map(Line::key).collect(Collectors.toSet());
        Map<String, Acked> second = new LinkedHashMap<>();
        put(stream, second, 2500, 300);
        KclConsumer run2 = KclConsumer.start(KclConsumer.Options.of(server.endpoint(), stream, app, mode, out2));
        List<Line> lines2;
        try {
            awaitCondition("the restarted application processed the new records", PROCESS_TIMEOUT,
                    () -> missing(second.keySet(), Line.read(out2)).isEmpty());
            lines2 = Line.read(out2);
            assertTrue(run2.stop(Duration.ofSeconds(60)), "graceful shutdown of run 2 completed");
        } catch (Throwable t) {
            server.printLog(mode + " run 2 failed");
            throw t;
        } finally {
            run2.close();
        }
        Set<String> reread = lines2.stream().map(Line::key).filter(acked::containsKey).collect(Collectors.toSet());
        assertTrue(window.containsAll(reread), "re-read only unchecked records: re-read " + reread
                + ", unchecked window " + window);
        for (Line l : lines2) {
            assertFalse(closed.contains(l.shardId()), "closed shard re-read: " + l);
            Acked a = second.containsKey(l.key()) ? second.get(l.key()) : acked.get(l.key());
            assertEquals(a.seq(), l.seq(), l.key() + ": sequence number after restart");
        }
        int duplicates2 = lines2.size() - lines2.stream().map(Line::key).collect(Collectors.toSet()).size();

        System.out.printf("KCL %s: %d records acknowledged, %d lines processed (%d duplicates) in run 1; "
                        + "run 2: %d new records, %d lines, %d re-read (window %d), %d duplicates; "
                        + "checkpoints at stop %s; shards %s; %.1f s%n",
                mode, acked.size(), lines1.size(), duplicates1, second.size(), lines2.size(), reread.size(),
                window.size(), duplicates2, checkpointed, topology, (System.nanoTime() - started) / 1e9);
        assertServedAsExpected(mode, app);
    }

    /**
     * From strait's own request counters: the mode really read through SubscribeToShard (EFO) or GetRecords
     * (polling), nothing failed inside strait, and KCL's default CloudWatch metrics (namespace = application name)
     * arrived through PutMetricData.
     */
    private void assertServedAsExpected(KclConsumer.Mode mode, String app) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(server.metricsUrl())).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        Map<String, Long> requests = new TreeMap<>();
        Pattern p = Pattern.compile("^strait_aws_requests_total\\{(.*)} (\\d+)$", Pattern.MULTILINE);
        Matcher m = p.matcher(r.body());
        while (m.find()) {
            String labels = m.group(1);
            String op = label(labels, "operation");
            String err = label(labels, "error");
            requests.merge(err.equals("none") ? op : op + "/" + err, Long.parseLong(m.group(2)), Long::sum);
        }
        System.out.println("KCL " + mode + " requests served by strait: " + requests);
        long subscribes = requests.getOrDefault("SubscribeToShard", 0L);
        long gets = requests.getOrDefault("GetRecords", 0L);
        if (mode == KclConsumer.Mode.EFO) {
            assertTrue(subscribes >= 5, "EFO reads through SubscribeToShard (one per shard at least): " + subscribes);
            assertEquals(0L, gets, "EFO does not poll");
            assertTrue(requests.getOrDefault("RegisterStreamConsumer", 0L) >= 1, "EFO registers a consumer");
        } else {
            assertTrue(gets > 0, "polling reads through GetRecords");
            assertEquals(0L, subscribes, "polling does not subscribe");
        }
        for (String k : requests.keySet()) {
            assertFalse(k.endsWith("/InternalFailure") || k.endsWith("/InternalServerError"),
                    "strait failed internally: " + k + " x" + requests.get(k));
        }
        assertTrue(requests.getOrDefault("PutMetricData", 0L) > 0, "KCL published CloudWatch metrics");
        assertTrue(r.body().contains("namespace=\"" + app + "\""),
                "KCL's CloudWatch metrics for " + app + " reached strait's /metrics");
    }

    private static String label(String labels, String name) {
        Matcher m = Pattern.compile(name + "=\"([^\"]*)\"").matcher(labels);
        return m.find() ? m.group(1) : "";
    }

    private void assertChildAfterParent(Map<String, List<Line>> byShard, String parent, String child) {
        int lastParent = byShard.get(parent).stream().mapToInt(Line::index).max().orElseThrow();
        int firstChild = byShard.get(child).stream().mapToInt(Line::index).min().orElseThrow();
        assertTrue(lastParent < firstChild,
                child + " processed (line " + firstChild + ") after its parent " + parent + " (line " + lastParent + ")");
    }

    /** Every shard of the stream (ListShards, closed ones included) with its parents. */
    private Map<String, Set<String>> shards(String stream) {
        Map<String, Set<String>> all = new TreeMap<>();
        openShardIds.clear();
        // One page: a handful of shards, far below ListShards' default of 1,000 per page.
        {
            for (Shard sh : kinesis.listShards(b -> b.streamName(stream)).shards()) {
                Set<String> parents = new TreeSet<>();
                if (sh.parentShardId() != null) {
                    parents.add(sh.parentShardId());
                }
                if (sh.adjacentParentShardId() != null) {
                    parents.add(sh.adjacentParentShardId());
                }
                all.put(sh.shardId(), parents);
                if (sh.sequenceNumberRange().endingSequenceNumber() == null) {
                    openShardIds.add(sh.shardId());
                }
            }
        }
        return all;
    }

    private final Set<String> openShardIds = new TreeSet<>();

    /** The open shards of the last {@link #shards} call. */
    private Set<String> openShards(Map<String, Set<String>> topology) {
        assertTrue(topology.keySet().containsAll(openShardIds));
        return new TreeSet<>(openShardIds);
    }

    private static Set<String> ancestors(Map<String, Set<String>> topology, String shard) {
        Set<String> out = new TreeSet<>();
        List<String> todo = new ArrayList<>(topology.getOrDefault(shard, Set.of()));
        while (!todo.isEmpty()) {
            String p = todo.remove(todo.size() - 1);
            if (out.add(p)) {
                todo.addAll(topology.getOrDefault(p, Set.of()));
            }
        }
        return out;
    }

    private boolean openShardsCheckpointedAtLast(String app, List<Line> lines, Set<String> openShards) {
        Map<String, Map<String, AttributeValue>> l = leases(app);
        for (String open : openShards) {
            Map<String, AttributeValue> lease = l.get(open);
            List<Line> mine = lines.stream().filter(x -> x.shardId().equals(open)).toList();
            if (lease == null || mine.isEmpty() || !isSequence(checkpoint(lease))
                    || !new BigInteger(checkpoint(lease)).equals(lastSeq(mine))) {
                return false;
            }
        }
        return true;
    }

    private BigInteger lastSeq(List<Line> lines) {
        return lines.stream().map(Line::seq).max(BigInteger::compareTo).orElseThrow();
    }

    private boolean advanced(String before, String after) {
        if (after.equals("SHARD_END")) {
            return true;
        }
        if (!isSequence(after)) {
            return before.equals(after);
        }
        return !isSequence(before) || new BigInteger(after).compareTo(new BigInteger(before)) >= 0;
    }

    private boolean isSequence(String checkpoint) {
        return checkpoint != null && !checkpoint.isEmpty() && checkpoint.chars().allMatch(Character::isDigit);
    }

    private String checkpoint(Map<String, AttributeValue> lease) {
        AttributeValue v = lease.get("checkpoint");
        return v == null ? null : v.s();
    }

    private Set<String> ss(Map<String, AttributeValue> item, String name) {
        assertNotNull(item, "lease item");
        AttributeValue v = item.get(name);
        return v == null ? Set.of() : new HashSet<>(v.ss());
    }

    /** The lease table's shard leases by leaseKey (the table is named after the application). */
    private Map<String, Map<String, AttributeValue>> leases(String app) {
        Map<String, Map<String, AttributeValue>> all = new TreeMap<>();
        try {
            for (var page : dynamo.scanPaginator(ScanRequest.builder().tableName(app).consistentRead(true).build())) {
                for (var item : page.items()) {
                    AttributeValue key = item.get("leaseKey");
                    if (key != null && key.s() != null && key.s().startsWith("shardId-")) {
                        all.put(key.s(), item);
                    }
                }
            }
        } catch (ResourceNotFoundException e) {
            // the application has not created its lease table yet
        }
        return all;
    }

    private Set<String> missing(Set<String> keys, List<Line> lines) {
        Set<String> m = new HashSet<>(keys);
        lines.forEach(l -> m.remove(l.key()));
        return m;
    }

    /** PutRecords in batches of 50, retrying failed entries; every acknowledged record lands in {@code acked}. */
    private void put(String stream, Map<String, Acked> acked, int from, int count) throws InterruptedException {
        put(kinesis, stream, acked, from, count);
    }

    static void put(KinesisClient kinesis, String stream, Map<String, Acked> acked, int from, int count)
            throws InterruptedException {
        for (int base = from; base < from + count; base += 50) {
            Map<String, String> pending = new LinkedHashMap<>();
            for (int i = base; i < Math.min(base + 50, from + count); i++) {
                pending.put(String.format("key-%05d", i), "payload " + i + " " + "x".repeat(i % 97));
            }
            for (int attempt = 0; !pending.isEmpty(); attempt++) {
                if (attempt == 10) {
                    fail("PutRecords kept failing for " + pending.keySet());
                }
                List<PutRecordsRequestEntry> entries = pending.entrySet().stream()
                        .map(e -> PutRecordsRequestEntry.builder().partitionKey(e.getKey())
                                .data(SdkBytes.fromUtf8String(e.getValue())).build())
                        .toList();
                PutRecordsResponse r = kinesis.putRecords(b -> b.streamName(stream).records(entries));
                List<String> keys = new ArrayList<>(pending.keySet());
                for (int i = 0; i < keys.size(); i++) {
                    PutRecordsResultEntry res = r.records().get(i);
                    if (res.errorCode() == null) {
                        String k = keys.get(i);
                        acked.put(k, new Acked(k, pending.remove(k), res.shardId(), new BigInteger(res.sequenceNumber())));
                    }
                }
            }
            Thread.sleep(20);
        }
    }

    private void awaitActive(String stream) throws InterruptedException {
        awaitCondition(stream + " ACTIVE", Duration.ofSeconds(30), () -> kinesis
                .describeStreamSummary(b -> b.streamName(stream)).streamDescriptionSummary().streamStatus()
                == StreamStatus.ACTIVE);
    }

    static void awaitCondition(String what, Duration timeout, BooleanSupplier ok) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!ok.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out after " + timeout.toSeconds() + " s waiting for: " + what);
            }
            Thread.sleep(250);
        }
    }
}
