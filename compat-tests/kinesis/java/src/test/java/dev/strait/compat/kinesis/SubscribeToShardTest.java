package dev.strait.compat.kinesis;

import dev.strait.compat.support.StraitServer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.http.Protocol;
import software.amazon.awssdk.services.kinesis.KinesisAsyncClient;
import software.amazon.awssdk.services.kinesis.model.ChildShard;
import software.amazon.awssdk.services.kinesis.model.Record;
import software.amazon.awssdk.services.kinesis.model.ShardIteratorType;
import software.amazon.awssdk.services.kinesis.model.SubscribeToShardEvent;
import software.amazon.awssdk.services.kinesis.model.SubscribeToShardEventStream;
import software.amazon.awssdk.services.kinesis.model.SubscribeToShardResponseHandler;

/**
 * Enhanced fan-out with the Java SDK v2 as KCL uses it: KinesisAsyncClient on Netty HTTP/2, default CBOR. The
 * initial response must come before any event; events carry records in order with ContinuationSequenceNumber and
 * MillisBehindLatest; a shard that is split ends with ChildShards and no continuation.
 */
class SubscribeToShardTest {
    static StraitServer strait;
    static KinesisAsyncClient k;

    @BeforeAll
    static void start() throws Exception {
        strait = StraitServer.start();
        k = Clients.kinesis(strait, Protocol.HTTP2, null);
    }

    @AfterAll
    static void stop() throws Exception {
        k.close();
        strait.close();
    }

    /** What one subscription saw, in arrival order. */
    static final class Seen {
        final List<Object> order = new CopyOnWriteArrayList<>(); // "response" or an event
        final List<SubscribeToShardEvent> events = new CopyOnWriteArrayList<>();
        final List<Record> records = new CopyOnWriteArrayList<>();
        final AtomicReference<Throwable> error = new AtomicReference<>();
    }

    /** Subscribes and reads events until {@code done} holds (then cancels) or the stream ends. */
    static Seen subscribe(String consumerArn, String shardId, Predicate<Seen> done) throws Exception {
        Seen seen = new Seen();
        CountDownLatch finished = new CountDownLatch(1);
        SubscribeToShardResponseHandler handler = SubscribeToShardResponseHandler.builder()
                .onResponse(r -> seen.order.add("response"))
                .onError(t -> {
                    seen.error.compareAndSet(null, t);
                    finished.countDown();
                })
                .onEventStream(publisher -> publisher.subscribe(new Subscriber<SubscribeToShardEventStream>() {
                    Subscription sub;

                    @Override
                    public void onSubscribe(Subscription s) {
                        sub = s;
                        s.request(1);
                    }

                    @Override
                    public void onNext(SubscribeToShardEventStream e) {
                        seen.order.add(e);
                        if (e instanceof SubscribeToShardEvent ev) {
                            seen.events.add(ev);
                            seen.records.addAll(ev.records());
                        }
                        if (done.test(seen)) {
                            sub.cancel();
                            finished.countDown();
                        } else {
                            sub.request(1);
                        }
                    }

                    @Override
                    public void onError(Throwable t) {
                        seen.error.compareAndSet(null, t);
                        finished.countDown();
                    }

                    @Override
                    public void onComplete() {
                        finished.countDown();
                    }
                }))
                .build();
        CompletableFuture<Void> call = k.subscribeToShard(b -> b.consumerARN(consumerArn).shardId(shardId)
                .startingPosition(p -> p.type(ShardIteratorType.TRIM_HORIZON)), handler);
        boolean ended = finished.await(60, TimeUnit.SECONDS);
        call.cancel(true);
        assertTrue(ended, "subscription produced what was expected within 60 s; saw " + seen.records.size()
                + " records, error " + seen.error.get());
        return seen;
    }

    @Test
    void recordsArriveInOrderAfterTheInitialResponse() throws Exception {
        String name = PutGet.unique("java-efo");
        Clients.createActive(k, name, 1);
        String streamArn = k.describeStreamSummary(b -> b.streamName(name)).join()
                .streamDescriptionSummary().streamARN();
        List<String> sent = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            int n = i;
            sent.add(k.putRecord(b -> b.streamName(name).partitionKey("p")
                    .data(SdkBytes.fromUtf8String("old-" + n))).join().sequenceNumber());
        }
        String consumer = Clients.activeConsumer(k, streamArn, "java-efo");
        AtomicInteger written = new AtomicInteger();
        Thread writer = new Thread(() -> {
            try {
                Thread.sleep(500);
                for (int i = 0; i < 10; i++) {
                    int n = i;
                    sent.add(k.putRecord(b -> b.streamName(name).partitionKey("p")
                            .data(SdkBytes.fromUtf8String("new-" + n))).join().sequenceNumber());
                    written.incrementAndGet();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        writer.start();
        Seen seen = subscribe(consumer, "shardId-000000000000", s -> s.records.size() >= 20);
        writer.join();
        assertNull(seen.error.get(), () -> "subscription failed: " + seen.error.get());
        assertEquals("response", seen.order.get(0), "the initial response comes before any event");
        List<String> data = new ArrayList<>();
        List<String> seqs = new ArrayList<>();
        for (Record r : seen.records) {
            data.add(r.data().asUtf8String());
            seqs.add(r.sequenceNumber());
        }
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            expected.add("old-" + i);
        }
        for (int i = 0; i < 10; i++) {
            expected.add("new-" + i);
        }
        assertEquals(expected, data);
        assertEquals(sent, seqs);
        for (SubscribeToShardEvent e : seen.events) {
            assertNotNull(e.continuationSequenceNumber(), "an open shard always continues");
            assertNotNull(e.millisBehindLatest());
            assertTrue(e.childShards().isEmpty());
            if (!e.records().isEmpty()) {
                assertEquals(e.records().get(e.records().size() - 1).sequenceNumber(),
                        e.continuationSequenceNumber());
            }
            new BigInteger(e.continuationSequenceNumber());
        }
    }

    @Test
    void aSplitShardEndsWithChildShards() throws Exception {
        String name = PutGet.unique("java-split");
        Clients.createActive(k, name, 1);
        String streamArn = k.describeStreamSummary(b -> b.streamName(name)).join()
                .streamDescriptionSummary().streamARN();
        k.putRecord(b -> b.streamName(name).partitionKey("p").data(SdkBytes.fromUtf8String("x"))).join();
        String consumer = Clients.activeConsumer(k, streamArn, "java-split");
        Thread splitter = new Thread(() -> {
            try {
                Thread.sleep(1000);
                k.splitShard(b -> b.streamName(name).shardToSplit("shardId-000000000000")
                        .newStartingHashKey(BigInteger.TWO.pow(127).toString())).join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        splitter.start();
        Seen seen = subscribe(consumer, "shardId-000000000000",
                s -> s.events.stream().anyMatch(e -> !e.childShards().isEmpty()));
        splitter.join();
        assertNull(seen.error.get(), () -> "subscription failed: " + seen.error.get());
        assertEquals(1, seen.records.size());
        SubscribeToShardEvent last = seen.events.get(seen.events.size() - 1);
        assertNull(last.continuationSequenceNumber(), "shard end: no continuation");
        List<String> children = new ArrayList<>();
        for (ChildShard c : last.childShards()) {
            children.add(c.shardId());
            assertEquals(List.of("shardId-000000000000"), c.parentShards());
        }
        children.sort(null);
        assertEquals(List.of("shardId-000000000001", "shardId-000000000002"), children);
    }
}
