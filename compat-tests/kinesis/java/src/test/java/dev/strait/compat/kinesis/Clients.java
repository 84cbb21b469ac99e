package dev.strait.compat.kinesis;

import dev.strait.compat.support.StraitServer;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.http.Protocol;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.retries.api.BackoffStrategy;
import software.amazon.awssdk.services.kinesis.KinesisAsyncClient;
import software.amazon.awssdk.services.kinesis.model.ConsumerStatus;
import software.amazon.awssdk.services.kinesis.model.StreamStatus;

/** Clients configured as a KCL application configures them, plus a probe of what went over the wire. */
final class Clients {
    private Clients() {}

    /** Records the Content-Type of every request and response, to prove which protocol was spoken. */
    static final class WireProbe implements ExecutionInterceptor {
        final List<String> requestTypes = new CopyOnWriteArrayList<>();
        final List<String> responseTypes = new CopyOnWriteArrayList<>();

        @Override
        public void afterTransmission(Context.AfterTransmission ctx, ExecutionAttributes attrs) {
            requestTypes.add(ctx.httpRequest().firstMatchingHeader("Content-Type").orElse("<none>"));
            responseTypes.add(ctx.httpResponse().firstMatchingHeader("Content-Type").orElse("<none>"));
        }
    }

    /**
     * KinesisAsyncClient on the Netty client, which is what KCL uses: HTTP/2 (prior knowledge over http://) and
     * the SDK's default wire protocol (CBOR unless aws.cborEnabled=false).
     */
    static KinesisAsyncClient kinesis(StraitServer strait, Protocol protocol, WireProbe probe) {
        return kinesis(strait, protocol, probe, "AKIDSTRAITJAVA", "strait-java-secret");
    }

    static KinesisAsyncClient kinesis(StraitServer strait, Protocol protocol, WireProbe probe, String accessKey,
            String secretKey) {
        return KinesisAsyncClient.builder()
                .endpointOverride(strait.endpoint())
                .region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(accessKey, secretKey)))
                .httpClientBuilder(NettyNioAsyncHttpClient.builder()
                        .protocol(protocol)
                        .connectionTimeout(Duration.ofSeconds(5))
                        .readTimeout(Duration.ofSeconds(60)))
                .overrideConfiguration(c -> {
                    c.retryStrategy(b -> b.maxAttempts(1));
                    if (probe != null) {
                        c.addExecutionInterceptor(probe);
                    }
                })
                .build();
    }

    static void createActive(KinesisAsyncClient k, String name, int shards) {
        k.createStream(b -> b.streamName(name).shardCount(shards)).join();
        // The SDK's StreamExists waiter, polling every 200 ms instead of its default 10 s (CI time).
        k.waiter().waitUntilStreamExists(b -> b.streamName(name), w -> w
                .backoffStrategyV2(BackoffStrategy.fixedDelayWithoutJitter(Duration.ofMillis(200)))
                .maxAttempts(300)).join();
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

    static String activeConsumer(KinesisAsyncClient k, String streamArn, String name) throws InterruptedException {
        String arn = k.registerStreamConsumer(b -> b.streamARN(streamArn).consumerName(name)).join()
                .consumer().consumerARN();
        for (int i = 0; i < 600; i++) {
            if (k.describeStreamConsumer(b -> b.consumerARN(arn)).join().consumerDescription().consumerStatus()
                    == ConsumerStatus.ACTIVE) {
                return arn;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("consumer " + name + " not ACTIVE after 60 s");
    }
}
