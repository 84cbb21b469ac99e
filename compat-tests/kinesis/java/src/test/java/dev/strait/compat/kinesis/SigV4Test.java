package dev.strait.compat.kinesis;

import dev.strait.compat.support.StraitServer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.http.Protocol;
import software.amazon.awssdk.services.kinesis.KinesisAsyncClient;
import software.amazon.awssdk.services.kinesis.model.KinesisException;

/**
 * SigV4 verification (aws.auth = sigv4) with the Java SDK's own signer: CBOR bodies, and HTTP/2, where the signed
 * `host` header travels as the `:authority` pseudo-header, and HTTP/1.1.
 */
class SigV4Test {
    static final String KEY = "AKIDSTRAITJAVASIGV4";
    static final String SECRET = "java/sigv4+secret0000000000000000000000";
    static StraitServer strait;

    @BeforeAll
    static void start() throws Exception {
        strait = StraitServer.start(Map.of(
                "STRAIT_AWS__AUTH", "sigv4",
                "STRAIT_AWS__ACCESS_KEYS",
                "[{access_key_id=\"" + KEY + "\", secret_access_key=\"" + SECRET + "\"}]",
                // Kafka stays open on purpose (this test is about the AWS API); a node refuses that unless told.
                "STRAIT_SECURITY__ALLOW_UNAUTHENTICATED_KAFKA", "true"));
    }

    @AfterAll
    static void stop() throws Exception {
        strait.close();
    }

    @Test
    void correctKeysWorkOverHttp2AndHttp1() {
        for (Protocol p : new Protocol[] {Protocol.HTTP2, Protocol.HTTP1_1}) {
            try (KinesisAsyncClient k = Clients.kinesis(strait, p, null, KEY, SECRET)) {
                PutGet.roundTrip(k);
            }
        }
    }

    @Test
    void wrongSecretIsInvalidSignature() {
        try (KinesisAsyncClient k = Clients.kinesis(strait, Protocol.HTTP2, null, KEY, "not-the-secret")) {
            CompletionException e = assertThrows(CompletionException.class, () -> k.listStreams().join());
            KinesisException ke = assertInstanceOf(KinesisException.class, e.getCause());
            assertEquals("InvalidSignatureException", ke.awsErrorDetails().errorCode());
        }
    }

    @Test
    void unknownKeyIsUnrecognizedClient() {
        try (KinesisAsyncClient k = Clients.kinesis(strait, Protocol.HTTP2, null, "AKIDUNKNOWN", SECRET)) {
            CompletionException e = assertThrows(CompletionException.class, () -> k.listStreams().join());
            KinesisException ke = assertInstanceOf(KinesisException.class, e.getCause());
            assertEquals("UnrecognizedClientException", ke.awsErrorDetails().errorCode());
        }
    }
}
