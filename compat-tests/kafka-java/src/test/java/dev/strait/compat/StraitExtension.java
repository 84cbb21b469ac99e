package dev.strait.compat;

import dev.strait.compat.support.StraitServer;

import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * Starts one strait process for the whole test run (kept in the root store, so every class shares it and it is
 * stopped when the run ends), injects it as a {@link StraitServer} parameter, and prints its log when a test fails.
 */
public final class StraitExtension implements BeforeAllCallback, ParameterResolver, TestWatcher {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(StraitExtension.class);

    /** Closed by JUnit when the root context closes, after every test class. */
    private static final class Resource implements ExtensionContext.Store.CloseableResource, AutoCloseable {
        final StraitServer server;
        final AtomicBoolean failed = new AtomicBoolean();

        Resource(StraitServer server) {
            this.server = server;
        }

        @Override
        public void close() throws Exception {
            server.close(failed.get());
        }
    }

    private static Resource resource(ExtensionContext context) {
        return context.getRoot().getStore(NS).getOrComputeIfAbsent("strait", k -> {
            try {
                return new Resource(StraitServer.start());
            } catch (Exception e) {
                throw new IllegalStateException("could not start strait: " + e.getMessage(), e);
            }
        }, Resource.class);
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        resource(context);
    }

    @Override
    public boolean supportsParameter(ParameterContext p, ExtensionContext e) {
        return p.getParameter().getType() == StraitServer.class;
    }

    @Override
    public Object resolveParameter(ParameterContext p, ExtensionContext e) {
        return resource(e).server;
    }

    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
        Resource r = resource(context);
        r.failed.set(true);
        r.server.printLog(context.getDisplayName() + " failed: " + cause);
    }
}
