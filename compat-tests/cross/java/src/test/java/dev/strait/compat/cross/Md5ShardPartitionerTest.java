package dev.strait.compat.cross;

import dev.strait.compat.support.StraitServer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strait.kafka.Md5ShardPartitioner;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.http.Protocol;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kinesis.KinesisAsyncClient;
import software.amazon.awssdk.services.kinesis.model.Shard;
import software.amazon.awssdk.services.kinesis.model.StreamStatus;

/**
 * {@code partitioner.class=io.strait.kafka.Md5ShardPartitioner}: a Java producer's keyed records land on the shard
 * that Kinesis PutRecord (AWS SDK v2) picks for the same PartitionKey, never on a closed parent, and follow a
 * reshard made while the producer runs; null keys go to open shards only.
 */
class Md5ShardPartitionerTest {
    static StraitServer strait;
    static KinesisAsyncClient k;

    @BeforeAll
    static void start() throws Exception {
        strait = StraitServer.start(Map.of("STRAIT_AWS__KINESIS__STATUS_DELAY_MS", "200"));
        k = CrossProtocolTest.kinesisClient(strait);
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

    static void waitActive(String name) throws InterruptedException {
        CrossProtocolTest.waitActive(k, name);
    }

    static Shard shard(String stream, String shardId) {
        return k.listShards(b -> b.streamName(stream)).join().shards().stream()
                .filter(s -> s.shardId().equals(shardId)).findFirst().orElseThrow();
    }

    /** Splits a shard at the middle of its hash-key range. */
    static void splitInHalf(String stream, String shardId) throws InterruptedException {
        Shard s = shard(stream, shardId);
        BigInteger start = new BigInteger(s.hashKeyRange().startingHashKey());
        BigInteger end = new BigInteger(s.hashKeyRange().endingHashKey());
        String mid = start.add(end).shiftRight(1).toString();
        k.splitShard(b -> b.streamName(stream).shardToSplit(shardId).newStartingHashKey(mid)).join();
        waitActive(stream);
    }

    static String shardId(int partition) {
        return String.format("shardId-%012d", partition);
    }

    /** Sends `keys` (UTF-8) and asserts each landed where PutRecord with the same PartitionKey lands. */
    static Set<Integer> sendAndCompare(KafkaProducer<byte[], byte[]> prod, String stream, List<String> keys,
            Set<Integer> closed) throws Exception {
        List<Future<RecordMetadata>> acks = new ArrayList<>();
        for (String key : keys) {
            acks.add(prod.send(new ProducerRecord<>(stream, key.getBytes(StandardCharsets.UTF_8),
                    "via-kafka".getBytes(StandardCharsets.UTF_8))));
        }
        prod.flush();
        Set<Integer> used = new HashSet<>();
        for (int i = 0; i < keys.size(); i++) {
            String key = keys.get(i);
            int partition = acks.get(i).get(30, TimeUnit.SECONDS).partition();
            String kinesisShard = k.putRecord(b -> b.streamName(stream).partitionKey(key)
                    .data(SdkBytes.fromUtf8String("via-kinesis"))).join().shardId();
            assertEquals(kinesisShard, shardId(partition), "key " + key);
            assertFalse(closed.contains(partition), "key " + key + " went to closed partition " + partition);
            used.add(partition);
        }
        return used;
    }

    @Test
    void keyedRecordsLandWhereKinesisRoutesThemAcrossReshards() throws Exception {
        String stream = "java-md5-" + UUID.randomUUID().toString().substring(0, 12);
        k.createStream(b -> b.streamName(stream).shardCount(4)).join();
        waitActive(stream);
        splitInHalf(stream, shardId(1)); // shard 1 closes; children 4 and 5

        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, strait.bootstrap());
        p.put(ProducerConfig.PARTITIONER_CLASS_CONFIG, Md5ShardPartitioner.class.getName());
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        // Picks up the next reshard quickly (default 5 min).
        p.put(ProducerConfig.METADATA_MAX_AGE_CONFIG, 500);
        try (KafkaProducer<byte[], byte[]> prod =
                new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            List<String> keys = new ArrayList<>();
            for (int i = 0; i < 500; i++) {
                keys.add("user-" + i);
            }
            Set<Integer> used = sendAndCompare(prod, stream, keys, Set.of(1));
            assertEquals(Set.of(0, 2, 3, 4, 5), used, "every open shard gets keys");

            // Null keys: sticky, open shards only (a closed one would refuse them with POLICY_VIOLATION).
            List<Future<RecordMetadata>> nulls = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                nulls.add(prod.send(new ProducerRecord<>(stream, null, new byte[200])));
            }
            prod.flush();
            for (Future<RecordMetadata> f : nulls) {
                assertFalse(f.get(30, TimeUnit.SECONDS).partition() == 1, "null key on the closed parent");
            }

            // A reshard while the producer runs: once its metadata shows the new partitions, the partitioner
            // reads the ranges again.
            splitInHalf(stream, shardId(4)); // shard 4 closes; children 6 and 7
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (prod.partitionsFor(stream).size() < 8) {
                assertTrue(System.nanoTime() < deadline, "producer metadata never showed 8 partitions");
                Thread.sleep(100);
            }
            Set<Integer> after = sendAndCompare(prod, stream, keys, Set.of(1, 4));
            assertEquals(Set.of(0, 2, 3, 5, 6, 7), after, "every open shard gets keys after the second split");
        }
    }
}
