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

/**
 * The same scenario with CBOR switched off (-Daws.cborEnabled=false, as users do for emulators that lack CBOR): the
 * SDK then speaks JSON. Run next to CborTest, it proves the two really differ on the wire.
 */
class JsonTest {
    static final String JSON = "application/x-amz-json-1.1";
    static StraitServer strait;

    @BeforeAll
    static void start() throws Exception {
        System.setProperty("aws.cborEnabled", "false");
        strait = StraitServer.start();
    }

    @AfterAll
    static void stop() throws Exception {
        System.clearProperty("aws.cborEnabled");
        strait.close();
    }

    @Test
    void putGetWithCborDisabled() {
        Clients.WireProbe probe = new Clients.WireProbe();
        try (KinesisAsyncClient k = Clients.kinesis(strait, Protocol.HTTP2, probe)) {
            PutGet.roundTrip(k);
            PutGet.typedErrors(k);
        }
        assertFalse(probe.requestTypes.isEmpty());
        for (String t : probe.requestTypes) {
            assertEquals(JSON, t, "request Content-Type");
        }
        for (String t : probe.responseTypes) {
            assertTrue(t.startsWith(JSON), "response Content-Type mirrors the request: " + t);
        }
    }
}
