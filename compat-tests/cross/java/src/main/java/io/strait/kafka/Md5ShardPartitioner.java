package io.strait.kafka;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.producer.Partitioner;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.config.ConfigResource;

/**
 * Sends a keyed record to the partition Strait's Kinesis routing picks for the same key: the open shard whose
 * hash-key range holds MD5(serialized key bytes) read as an unsigned 128-bit big-endian integer. Use it with
 * {@code partitioner.class=io.strait.kafka.Md5ShardPartitioner} on a producer writing to Strait.
 *
 * <p>The open shards and their ranges come from the read-only topic config {@value #RANGES_CONFIG}
 * ({@code partition:startingHashKey-endingHashKey,...}), read with an Admin client built from the producer's own
 * connection settings. It is read on the first record of a topic and again whenever the topic's partition count
 * in the producer's metadata changes (every reshard adds partitions). While a reshard is being committed the
 * partitions can already exist before the new map does; as long as the newest partition is not listed as open,
 * the config is read again at most every {@value #STALE_RETRY_MS} ms.
 *
 * <p>Records with a null key do not hash: they stick to one random open partition until about
 * {@code batch.size} bytes went there, then move to another, like Kafka's built-in sticky partitioning, except
 * that closed (sealed) partitions are never chosen.
 */
public final class Md5ShardPartitioner implements Partitioner {
    /** The topic config Strait describes with the open shards' hash-key ranges. */
    public static final String RANGES_CONFIG = "strait.kinesis.hash.key.ranges";
    /** How long one read of the config may take before {@code send} fails (producer setting, ms). */
    public static final String TIMEOUT_CONFIG = "strait.md5.partitioner.timeout.ms";

    static final long STALE_RETRY_MS = 1000;

    private final Map<String, Layout> layouts = new ConcurrentHashMap<>();
    private final Map<String, Sticky> sticky = new ConcurrentHashMap<>();
    private final Map<String, Object> adminConfig = new HashMap<>();
    private Admin admin;
    private long timeoutMs = 30_000;
    private int batchSize = 16_384;

    @Override
    public void configure(Map<String, ?> configs) {
        // Only settings the Admin client knows (bootstrap, security, timeouts), so it logs no unknown-config noise.
        for (String name : AdminClientConfig.configNames()) {
            Object v = configs.get(name);
            if (v != null) {
                adminConfig.put(name, v);
            }
        }
        Object clientId = configs.get(ProducerConfig.CLIENT_ID_CONFIG);
        adminConfig.put(AdminClientConfig.CLIENT_ID_CONFIG,
                (clientId == null || clientId.toString().isEmpty() ? "producer" : clientId) + "-md5-partitioner");
        Object t = configs.get(TIMEOUT_CONFIG);
        if (t != null) {
            timeoutMs = Long.parseLong(t.toString());
        }
        Object b = configs.get(ProducerConfig.BATCH_SIZE_CONFIG);
        if (b != null) {
            batchSize = Math.max(1, Integer.parseInt(b.toString()));
        }
    }

    @Override
    public int partition(String topic, Object key, byte[] keyBytes, Object value, byte[] valueBytes,
            Cluster cluster) {
        Integer count = cluster.partitionCountForTopic(topic);
        Layout layout = layout(topic, count == null ? -1 : count);
        if (keyBytes == null) {
            int size = valueBytes == null ? 0 : valueBytes.length;
            return sticky.compute(topic, (t, cur) -> {
                Sticky next = cur == null || cur.layout != layout || cur.bytes >= batchSize
                        ? new Sticky(layout, layout.randomPartition()) : cur;
                next.bytes += size;
                return next;
            }).partition;
        }
        return layout.route(md5(keyBytes));
    }

    @Override
    public void close() {
        synchronized (this) {
            if (admin != null) {
                admin.close(Duration.ofSeconds(5));
                admin = null;
            }
        }
    }

    /** MD5 of the bytes as an unsigned 128-bit integer, as Kinesis hashes a PartitionKey's UTF-8 bytes. */
    public static BigInteger md5(byte[] bytes) {
        try {
            return new BigInteger(1, MessageDigest.getInstance("MD5").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new KafkaException("MD5 is not available in this JVM", e);
        }
    }

    /** The MD5 hash key of a Kinesis PartitionKey (its UTF-8 bytes). */
    public static BigInteger md5(String partitionKey) {
        return md5(partitionKey.getBytes(StandardCharsets.UTF_8));
    }

    private Layout layout(String topic, int partitionCount) {
        Layout l = layouts.get(topic);
        if (l != null && l.partitionCount == partitionCount && (l.complete() || !l.olderThan(STALE_RETRY_MS))) {
            return l;
        }
        synchronized (this) {
            l = layouts.get(topic);
            if (l != null && l.partitionCount == partitionCount && (l.complete() || !l.olderThan(STALE_RETRY_MS))) {
                return l;
            }
            try {
                Layout fresh = Layout.parse(partitionCount, describe(topic));
                layouts.put(topic, fresh);
                return fresh;
            } catch (KafkaException e) {
                // A failed refresh keeps the last layout rather than failing sends that it can still route.
                if (l != null) {
                    return l;
                }
                throw e;
            }
        }
    }

    private String describe(String topic) {
        if (admin == null) {
            admin = Admin.create(adminConfig);
        }
        ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        Config config;
        try {
            config = admin.describeConfigs(List.of(r)).all().get(timeoutMs, TimeUnit.MILLISECONDS).get(r);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaException("interrupted reading " + RANGES_CONFIG + " of " + topic, e);
        } catch (Exception e) {
            throw new KafkaException("cannot read " + RANGES_CONFIG + " of " + topic + ": " + e, e);
        }
        ConfigEntry entry = config == null ? null : config.get(RANGES_CONFIG);
        if (entry == null || entry.value() == null) {
            throw new KafkaException("topic " + topic + " has no " + RANGES_CONFIG
                    + " config: is the broker Strait?");
        }
        return entry.value();
    }

    /** The open partitions of one topic, sorted by hash-key range. */
    static final class Layout {
        final int partitionCount;
        final int[] partitions;
        final BigInteger[] starts;
        final BigInteger[] ends;
        final long fetchedNanos = System.nanoTime();

        private Layout(int partitionCount, int[] partitions, BigInteger[] starts, BigInteger[] ends) {
            this.partitionCount = partitionCount;
            this.partitions = partitions;
            this.starts = starts;
            this.ends = ends;
        }

        /** Parses {@code partition:start-end,...}; the ranges must cover [0, 2^128-1] without gaps or overlap. */
        static Layout parse(int partitionCount, String value) {
            List<Object[]> rows = new ArrayList<>();
            for (String part : value.split(",")) {
                int colon = part.indexOf(':');
                int dash = part.indexOf('-', colon + 1);
                if (colon < 1 || dash < 0) {
                    throw new KafkaException("bad " + RANGES_CONFIG + " entry '" + part + "'");
                }
                try {
                    rows.add(new Object[] {Integer.parseInt(part.substring(0, colon)),
                        new BigInteger(part.substring(colon + 1, dash)), new BigInteger(part.substring(dash + 1))});
                } catch (NumberFormatException e) {
                    throw new KafkaException("bad " + RANGES_CONFIG + " entry '" + part + "'", e);
                }
            }
            rows.sort((a, b) -> ((BigInteger) a[1]).compareTo((BigInteger) b[1]));
            int n = rows.size();
            int[] partitions = new int[n];
            BigInteger[] starts = new BigInteger[n];
            BigInteger[] ends = new BigInteger[n];
            BigInteger expect = BigInteger.ZERO;
            for (int i = 0; i < n; i++) {
                partitions[i] = (Integer) rows.get(i)[0];
                starts[i] = (BigInteger) rows.get(i)[1];
                ends[i] = (BigInteger) rows.get(i)[2];
                if (!starts[i].equals(expect) || ends[i].compareTo(starts[i]) < 0) {
                    throw new KafkaException(RANGES_CONFIG + " does not cover the hash-key space: " + value);
                }
                expect = ends[i].add(BigInteger.ONE);
            }
            if (!expect.equals(BigInteger.ONE.shiftLeft(128))) {
                throw new KafkaException(RANGES_CONFIG + " does not cover the hash-key space: " + value);
            }
            return new Layout(partitionCount, partitions, starts, ends);
        }

        int route(BigInteger hash) {
            int i = Arrays.binarySearch(starts, hash);
            // Not found: -(insertion point) - 1; the range starting just below `hash` holds it.
            int idx = i >= 0 ? i : -i - 2;
            return partitions[idx];
        }

        int randomPartition() {
            return partitions[ThreadLocalRandom.current().nextInt(partitions.length)];
        }

        /** The newest partition is open: the config already describes the layout these partitions belong to. */
        boolean complete() {
            return Arrays.stream(partitions).anyMatch(p -> p == partitionCount - 1);
        }

        boolean olderThan(long ms) {
            return System.nanoTime() - fetchedNanos > TimeUnit.MILLISECONDS.toNanos(ms);
        }
    }

    /** The partition null-key records currently go to, and how many bytes went there. */
    static final class Sticky {
        final Layout layout;
        final int partition;
        long bytes;

        Sticky(Layout layout, int partition) {
            this.layout = layout;
            this.partition = partition;
        }
    }
}
