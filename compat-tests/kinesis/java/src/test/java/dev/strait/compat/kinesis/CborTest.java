package dev.strait.compat.kinesis;

import dev.strait.compat.support.StraitServer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.http.Protocol;
import software.amazon.awssdk.services.kinesis.KinesisAsyncClient;

/** The Java SDK's default: CBOR (application/x-amz-cbor-1.1), over HTTP/2 and over HTTP/1.1. */
class CborTest {
    static final String CBOR = "application/x-amz-cbor-1.1";
    static StraitServer strait;

    @BeforeAll
    static void start() throws Exception {
        assertTrue(System.getProperty("aws.cborEnabled") == null, "CBOR must be the SDK default here");
        strait = StraitServer.start();
    }

    @AfterAll
    static void stop() throws Exception {
        strait.close();
    }

    private static void assertAllCbor(Clients.WireProbe probe) {
        assertFalse(probe.requestTypes.isEmpty());
        for (String t : probe.requestTypes) {
            assertEquals(CBOR, t, "request Content-Type");
        }
        for (String t : probe.responseTypes) {
            assertTrue(t.startsWith(CBOR), "response Content-Type mirrors the request: " + t);
        }
    }

    @Test
    void putGetOverHttp2() {
        Clients.WireProbe probe = new Clients.WireProbe();
        try (KinesisAsyncClient k = Clients.kinesis(strait, Protocol.HTTP2, probe)) {
            PutGet.roundTrip(k);
        }
        assertAllCbor(probe);
    }

    @Test
    void putGetOverHttp1() {
        Clients.WireProbe probe = new Clients.WireProbe();
        try (KinesisAsyncClient k = Clients.kinesis(strait, Protocol.HTTP1_1, probe)) {
            PutGet.roundTrip(k);
        }
        assertAllCbor(probe);
    }

    @Test
    void modelledErrorsInCbor() {
        Clients.WireProbe probe = new Clients.WireProbe();
        try (KinesisAsyncClient k = Clients.kinesis(strait, Protocol.HTTP2, probe)) {
            PutGet.typedErrors(k);
        }
        assertAllCbor(probe);
    }
}
