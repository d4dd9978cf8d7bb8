package dev.dockgate.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.config.ServerConfig;
import dev.dockgate.testing.LoggedErrors;
import dev.dockgate.testing.TestCerts;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A certificate reload that the shutdown cuts short (the routers took their listeners away, Vert.x is closing) says
 * no warning that the served certificate stays, nor that the new one is served to no listener: a real TLS server on
 * an ephemeral port, closed as the routers close theirs.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class TlsListenersTest {

  @TempDir
  Path dir;

  static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** A TLS server on port 0 serving {@code pem}, registered with {@code listeners} as a router registers its own. */
  static HttpServer listening(Vertx vertx, TlsListeners listeners, TestCerts.Pem pem) throws Exception {
    HttpServerOptions options = new HttpServerOptions().setHost("127.0.0.1").setPort(0).setSsl(true)
        .setKeyCertOptions(new PemKeyCertOptions().setCertPath(pem.cert().toString()).setKeyPath(pem.key().toString()));
    HttpServer server = await(vertx.createHttpServer(options).requestHandler(r -> r.response().end()).listen());
    listeners.add(server, options);
    return server;
  }

  @Test
  void aReloadWhileTheListenersCloseSaysNothingFalse() throws Exception {
    TestCerts.Pem a = TestCerts.selfSigned(dir, "a");
    TestCerts.Pem b = TestCerts.selfSigned(dir, "b");
    ServerConfig.Tls next = new ServerConfig.Tls(b.cert().toString(), b.key().toString());
    Vertx vertx = Vertx.vertx();
    TlsListeners listeners = new TlsListeners();
    try (LoggedErrors lines = new LoggedErrors("dev.dockgate.edge.TlsListeners", Level.INFO)) {
      HttpServer server = listening(vertx, listeners, a);
      await(listeners.serve(vertx, next));
      assertEquals(1, lines.lines().size(), lines.lines().toString());
      assertTrue(lines.lines().get(0).contains("now served to new connections on 1 listener(s)"), lines.lines().get(0));

      // The shutdown: the router takes its listener away and closes it; a reload then serves nothing.
      listeners.remove(server);
      await(server.close());
      listeners.serve(vertx, next).otherwiseEmpty().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertEquals(1, lines.lines().size(), "nothing said once the listeners close: " + lines.lines());
      // Then Vert.x closes under a reload still on its way: its file reading is refused.
      await(vertx.close());
      listeners.serve(vertx, next).otherwiseEmpty().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertEquals(1, lines.lines().size(), "nothing said as Vert.x closes: " + lines.lines());
    }
  }
}
