package dev.strait.compat.kinesis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletionException;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kinesis.KinesisAsyncClient;
import software.amazon.awssdk.services.kinesis.model.GetRecordsResponse;
import software.amazon.awssdk.services.kinesis.model.InvalidArgumentException;
import software.amazon.awssdk.services.kinesis.model.PutRecordResponse;
import software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import software.amazon.awssdk.services.kinesis.model.PutRecordsResponse;
import software.amazon.awssdk.services.kinesis.model.PutRecordsResultEntry;
import software.amazon.awssdk.services.kinesis.model.Record;
import software.amazon.awssdk.services.kinesis.model.ResourceNotFoundException;
import software.amazon.awssdk.services.kinesis.model.ShardIteratorType;

/** The put/get scenario shared by the CBOR and JSON test classes. */
final class PutGet {
    private PutGet() {}

    static String unique(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 12);
    }

    static void roundTrip(KinesisAsyncClient k) {
        String name = unique("java");
        Clients.createActive(k, name, 2);
        byte[] every = new byte[256];
        for (int i = 0; i < every.length; i++) {
            every[i] = (byte) i;
        }
        Instant before = Instant.now();
        PutRecordResponse put = k.putRecord(b -> b.streamName(name).partitionKey("pk").explicitHashKey("0")
                .data(SdkBytes.fromByteArray(every))).join();
        assertEquals("shardId-000000000000", put.shardId());
        List<PutRecordsRequestEntry> entries = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            entries.add(PutRecordsRequestEntry.builder().partitionKey("k" + i).explicitHashKey("1")
                    .data(SdkBytes.fromUtf8String("batch-" + i)).build());
        }
        PutRecordsResponse batch = k.putRecords(b -> b.streamName(name).records(entries)).join();
        assertEquals(0, batch.failedRecordCount());
        assertEquals(10, batch.records().size());

        String it = k.getShardIterator(b -> b.streamName(name).shardId("shardId-000000000000")
                .shardIteratorType(ShardIteratorType.TRIM_HORIZON)).join().shardIterator();
        GetRecordsResponse got = k.getRecords(b -> b.shardIterator(it)).join();
        List<Record> records = got.records();
        assertEquals(11, records.size());
        assertEquals(SdkBytes.fromByteArray(every), records.get(0).data());
        assertEquals("pk", records.get(0).partitionKey());
        assertEquals(put.sequenceNumber(), records.get(0).sequenceNumber());
        // CBOR timestamps are epoch milliseconds under tag 1 (the Java SDK's convention): a server writing
        // seconds there would put the record in January 1970.
        Instant arrival = records.get(0).approximateArrivalTimestamp();
        assertTrue(Duration.between(before, arrival).abs().toSeconds() < 60, "arrival " + arrival);
        BigInteger previous = new BigInteger(put.sequenceNumber());
        for (int i = 0; i < 10; i++) {
            Record r = records.get(i + 1);
            PutRecordsResultEntry sent = batch.records().get(i);
            assertEquals("batch-" + i, r.data().asUtf8String());
            assertEquals(sent.sequenceNumber(), r.sequenceNumber());
            BigInteger seq = new BigInteger(r.sequenceNumber()); // KCL compares sequence numbers as BigInteger
            assertTrue(seq.compareTo(previous) > 0);
            previous = seq;
        }
        assertEquals(0L, got.millisBehindLatest());
        assertNotNull(got.nextShardIterator());
        assertTrue(got.childShards().isEmpty());
        assertEquals(2, k.listShards(b -> b.streamName(name)).join().shards().size());
    }

    static void typedErrors(KinesisAsyncClient k) {
        CompletionException e = org.junit.jupiter.api.Assertions.assertThrows(CompletionException.class,
                () -> k.describeStreamSummary(b -> b.streamName(unique("missing"))).join());
        ResourceNotFoundException nf = assertInstanceOf(ResourceNotFoundException.class, e.getCause());
        assertEquals(400, nf.statusCode());
        assertEquals("ResourceNotFoundException", nf.awsErrorDetails().errorCode());
        assertNotNull(nf.requestId());
        e = org.junit.jupiter.api.Assertions.assertThrows(CompletionException.class,
                () -> k.getRecords(b -> b.shardIterator("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).join());
        assertInstanceOf(InvalidArgumentException.class, e.getCause());
    }
}
