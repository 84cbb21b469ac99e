package dev.strait.compat.cross;

import dev.strait.compat.support.StraitServer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.http.Protocol;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kinesis.KinesisAsyncClient;
import software.amazon.awssdk.services.kinesis.model.ConsumerStatus;
import software.amazon.awssdk.services.kinesis.model.GetRecordsResponse;
import software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import software.amazon.awssdk.services.kinesis.model.PutRecordsResponse;
import software.amazon.awssdk.services.kinesis.model.Record;
import software.amazon.awssdk.services.kinesis.model.Shard;
import software.amazon.awssdk.services.kinesis.model.ShardIteratorType;
import software.amazon.awssdk.services.kinesis.model.StreamStatus;
import software.amazon.awssdk.services.kinesis.model.SubscribeToShardEvent;
import software.amazon.awssdk.services.kinesis.model.SubscribeToShardEventStream;
import software.amazon.awssdk.services.kinesis.model.SubscribeToShardResponseHandler;

/**
 * One stream, both protocols, Java clients: the Kafka Java producer (lz4 and zstd batches, keyed, with headers)
 * and the AWS SDK v2 (default CBOR, HTTP/2) PutRecords write; a Kafka consumer group, SDK GetRecords and SDK
 * SubscribeToShard read. Every record arrives byte-exact, with its key, in per-key order, once.
 */
class CrossProtocolTest {
    static final int PARTITIONS = 4;
    static StraitServer strait;
    static KinesisAsyncClient k;

    @BeforeAll
    static void start() throws Exception {
        strait = StraitServer.start(Map.of("STRAIT_AWS__KINESIS__STATUS_DELAY_MS", "200"));
        k = kinesisClient(strait);
    }

    /** The AWS SDK v2 async client (CBOR over Netty HTTP/2, no retries) the Java cross suites use. */
    static KinesisAsyncClient kinesisClient(StraitServer s) {
        return KinesisAsyncClient.builder()
                .endpointOverride(s.endpoint())
                .region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create("AKIDSTRAITJAVA", "strait-java-secret")))
                .httpClientBuilder(NettyNioAsyncHttpClient.builder().protocol(Protocol.HTTP2)
                        .connectionTimeout(Duration.ofSeconds(5)).readTimeout(Duration.ofSeconds(60)))
                .overrideConfiguration(c -> c.retryStrategy(b -> b.maxAttempts(1)))
                .build();
    }

    @AfterAll
    static void stop() throws Exception {
        if (k != null) {
            k.close();
        }
        if (strait != null) {
            strait.close();
        }
    }

    /** A record as both protocols agree on it: key bytes and value bytes. */
    record Rec(String key, byte[] value) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Rec r && r.key.equals(key) && Arrays.equals(r.value, value);
        }

        @Override
        public int hashCode() {
            return key.hashCode() * 31 + Arrays.hashCode(value);
        }

        @Override
        public String toString() {
            return key + "/" + value.length + "B";
        }
    }

    static String unique(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 12);
    }

    static byte[] payload(Random rng) {
        byte[] b = new byte[4 + 1 + rng.nextInt(64) + 300];
        b[0] = (byte) 0xff;
        b[1] = (byte) 0xfe;
        b[3] = (byte) 0x80;
        for (int i = 4; i < b.length - 300; i++) {
            b[i] = (byte) rng.nextInt(256);
        }
        return b; // a zero tail, so compressed batches really compress
    }

    static void waitActive(String name) throws InterruptedException {
        waitActive(k, name);
    }

    static void waitActive(KinesisAsyncClient k, String name) throws InterruptedException {
        for (int i = 0; i < 600; i++) {
            if (k.describeStreamSummary(b -> b.streamName(name)).join().streamDescriptionSummary().streamStatus()
                    == StreamStatus.ACTIVE) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError(name + " not ACTIVE after 60 s");
    }

    static String create(String how) throws Exception {
        String name = unique("java-" + how);
        if (how.equals("kafka")) {
            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, strait.bootstrap()))) {
                admin.createTopics(List.of(new NewTopic(name, PARTITIONS, (short) 1))).all().get(30, TimeUnit.SECONDS);
            }
        } else {
            k.createStream(b -> b.streamName(name).shardCount(PARTITIONS)).join();
        }
        waitActive(name);
        return name;
    }

    static List<Rec> kafkaWrite(String topic) throws Exception {
        Random rng = new Random(topic.hashCode());
        List<Rec> sent = new ArrayList<>();
        for (String codec : List.of("none", "lz4", "zstd", "gzip", "snappy")) {
            Properties p = new Properties();
            p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, strait.bootstrap());
            p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec);
            p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
            try (KafkaProducer<byte[], byte[]> prod =
                    new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
                List<java.util.concurrent.Future<?>> acks = new ArrayList<>();
                for (int i = 0; i < 20; i++) {
                    for (int j = 0; j < 3; j++) {
                        Rec r = new Rec("java-" + codec + "-" + j, payload(rng));
                        ProducerRecord<byte[], byte[]> pr = new ProducerRecord<>(topic, r.key.getBytes(), r.value);
                        if (i % 3 == 0) {
                            pr.headers().add("h", new byte[] {1, 2});
                        }
                        acks.add(prod.send(pr));
                        sent.add(r);
                    }
                }
                for (var a : acks) {
                    a.get(30, TimeUnit.SECONDS);
                }
            }
        }
        return sent;
    }

    static List<Rec> kinesisWrite(String stream) {
        Random rng = new Random(stream.hashCode() + 1);
        List<Rec> sent = new ArrayList<>();
        for (int i = 0; i < 25; i++) {
            for (int j = 0; j < 8; j++) {
                sent.add(new Rec("sdk-" + j, payload(rng)));
            }
        }
        for (int from = 0; from < sent.size(); from += 100) {
            List<PutRecordsRequestEntry> entries = sent.subList(from, Math.min(from + 100, sent.size())).stream()
                    .map(r -> PutRecordsRequestEntry.builder().partitionKey(r.key)
                            .data(SdkBytes.fromByteArray(r.value)).build())
                    .toList();
            PutRecordsResponse resp = k.putRecords(b -> b.streamName(stream).records(entries)).join();
            assertEquals(0, resp.failedRecordCount(), "PutRecords failed records: " + resp.records());
        }
        return sent;
    }

    static List<Rec> consumeGroup(String topic, int expected) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, strait.bootstrap());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, unique("grp"));
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        List<Rec> got = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c =
                new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            c.subscribe(List.of(topic));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            long extra = Long.MAX_VALUE;
            while (System.nanoTime() < Math.min(deadline, extra)) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                    got.add(new Rec(new String(r.key()), r.value()));
                }
                if (got.size() >= expected && extra == Long.MAX_VALUE) {
                    extra = System.nanoTime() + TimeUnit.SECONDS.toNanos(2); // a duplicate would show
                }
            }
        }
        return got;
    }

    static List<Shard> shards(String stream) {
        return k.listShards(b -> b.streamName(stream)).join().shards();
    }

    static List<Rec> getRecords(String stream) {
        List<Rec> got = new ArrayList<>();
        for (Shard s : shards(stream)) {
            String it = k.getShardIterator(b -> b.streamName(stream).shardId(s.shardId())
                    .shardIteratorType(ShardIteratorType.TRIM_HORIZON)).join().shardIterator();
            while (it != null) {
                String cur = it;
                GetRecordsResponse r = k.getRecords(b -> b.shardIterator(cur)).join();
                r.records().forEach(x -> got.add(new Rec(x.partitionKey(), x.data().asByteArray())));
                it = r.nextShardIterator();
                if (r.records().isEmpty() && r.millisBehindLatest() == 0) {
                    break;
                }
            }
        }
        return got;
    }

    static List<Rec> subscribe(String stream) throws Exception {
        String streamArn = k.describeStreamSummary(b -> b.streamName(stream)).join()
                .streamDescriptionSummary().streamARN();
        String consumerArn = k.registerStreamConsumer(b -> b.streamARN(streamArn).consumerName(unique("efo")))
                .join().consumer().consumerARN();
        for (int i = 0; i < 600 && k.describeStreamConsumer(b -> b.consumerARN(consumerArn)).join()
                .consumerDescription().consumerStatus() != ConsumerStatus.ACTIVE; i++) {
            Thread.sleep(100);
        }
        List<Rec> got = new ArrayList<>();
        for (Shard s : shards(stream)) {
            List<Record> recs = new CopyOnWriteArrayList<>();
            AtomicReference<Throwable> error = new AtomicReference<>();
            CountDownLatch finished = new CountDownLatch(1);
            SubscribeToShardResponseHandler handler = SubscribeToShardResponseHandler.builder()
                    .onError(t -> {
                        error.compareAndSet(null, t);
                        finished.countDown();
                    })
                    .onEventStream(pub -> pub.subscribe(new Subscriber<SubscribeToShardEventStream>() {
                        Subscription sub;

                        @Override
                        public void onSubscribe(Subscription x) {
                            sub = x;
                            x.request(1);
                        }

                        @Override
                        public void onNext(SubscribeToShardEventStream e) {
                            if (e instanceof SubscribeToShardEvent ev) {
                                recs.addAll(ev.records());
                                // at the tip with nothing new, or shard end: this shard is read
                                if ((ev.records().isEmpty() && ev.millisBehindLatest() == 0)
                                        || ev.continuationSequenceNumber() == null) {
                                    sub.cancel();
                                    finished.countDown();
                                    return;
                                }
                            }
                            sub.request(1);
                        }

                        @Override
                        public void onError(Throwable t) {
                            error.compareAndSet(null, t);
                            finished.countDown();
                        }

                        @Override
                        public void onComplete() {
                            finished.countDown();
                        }
                    }))
                    .build();
            CompletableFuture<Void> call = k.subscribeToShard(b -> b.consumerARN(consumerArn).shardId(s.shardId())
                    .startingPosition(p -> p.type(ShardIteratorType.TRIM_HORIZON)), handler);
            boolean ended = finished.await(60, TimeUnit.SECONDS);
            call.cancel(true);
            assertTrue(ended, "SubscribeToShard on " + s.shardId() + " did not reach the tip in 60 s");
            assertNull(error.get(), () -> "SubscribeToShard failed: " + error.get());
            recs.forEach(x -> got.add(new Rec(x.partitionKey(), x.data().asByteArray())));
        }
        return got;
    }

    static void check(List<Rec> expected, List<Rec> got, String where) {
        Map<Rec, Integer> exp = new HashMap<>();
        Map<Rec, Integer> seen = new HashMap<>();
        expected.forEach(r -> exp.merge(r, 1, Integer::sum));
        got.forEach(r -> seen.merge(r, 1, Integer::sum));
        assertEquals(expected.size(), got.size(), where + ": record count (lost or duplicated records)");
        assertEquals(exp, seen, where + ": records differ");
        Map<String, List<Rec>> expByKey = new LinkedHashMap<>();
        Map<String, List<Rec>> gotByKey = new LinkedHashMap<>();
        expected.forEach(r -> expByKey.computeIfAbsent(r.key, x -> new ArrayList<>()).add(r));
        got.forEach(r -> gotByKey.computeIfAbsent(r.key, x -> new ArrayList<>()).add(r));
        for (String key : expByKey.keySet()) {
            assertEquals(expByKey.get(key), gotByKey.get(key), where + ": records of key " + key + " out of order");
        }
    }

    @ParameterizedTest(name = "stream created through {0}")
    @ValueSource(strings = {"kafka", "kinesis"})
    void everyWriterIsReadByEveryReader(String how) throws Exception {
        String name = create(how);
        List<Rec> expected = new ArrayList<>(kafkaWrite(name));
        expected.addAll(kinesisWrite(name));
        check(expected, consumeGroup(name, expected.size()), "Kafka consumer group on " + name);
        check(expected, getRecords(name), "GetRecords on " + name);
        check(expected, subscribe(name), "SubscribeToShard on " + name);
    }

    /**
     * After SplitShard the parent's partition is sealed: the Java producer's send to it fails with
     * PolicyViolationException (POLICY_VIOLATION, not retried), a send to a child succeeds, and a Kafka consumer
     * group reads the parent's and the children's records.
     */
    @Test
    void closedParentRefusesTheJavaProducer() throws Exception {
        String name = create("kinesis");
        k.putRecord(b -> b.streamName(name).partitionKey("p").data(SdkBytes.fromUtf8String("before"))).join();
        String parent = shards(name).get(0).shardId();
        k.splitShard(b -> b.streamName(name).shardToSplit(parent)
                .newStartingHashKey(java.math.BigInteger.ONE.shiftLeft(125).toString())).join();
        waitActive(name);
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, strait.bootstrap());
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 20000);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10000);
        try (KafkaProducer<byte[], byte[]> prod =
                new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            // PARTITIONS shards were created, so shard 0 is partition 0 and the children are PARTITIONS, +1.
            var e = assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> prod.send(new ProducerRecord<>(name, 0, "k".getBytes(), "late".getBytes()))
                            .get(30, TimeUnit.SECONDS));
            assertInstanceOf(org.apache.kafka.common.errors.PolicyViolationException.class, e.getCause(),
                    "send to the closed parent: " + e.getCause());
            prod.send(new ProducerRecord<>(name, PARTITIONS, "k".getBytes(), "child".getBytes()))
                    .get(30, TimeUnit.SECONDS);
        }
        List<Rec> got = consumeGroup(name, 2);
        assertTrue(got.contains(new Rec("p", "before".getBytes())) && got.contains(new Rec("k", "child".getBytes()))
                && got.size() == 2, "consumer group read " + got);
    }
}
