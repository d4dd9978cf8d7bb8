package dev.dockgate.testing;

import io.vertx.core.Vertx;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The recording backends of a test class, on a Vert.x of their own that is closed after the
 * class's tests. Register as a static {@code @RegisterExtension} field.
 */
public final class Backends implements AfterAllCallback {

  private Vertx vertx;

  /** A new recording server on 127.0.0.1 and a free port, answering with {@code X-Backend: name}. */
  public TestBackend start(String name) {
    if (vertx == null) {
      vertx = Vertx.vertx();
    }
    return new TestBackend(vertx, name);
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    if (vertx != null) {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      vertx = null;
    }
  }
}
