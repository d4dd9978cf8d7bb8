package dev.dockgate.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.dockgate.testing.Poll;
import dev.dockgate.testing.TestCerts;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The listening socket's guard against a real Vert.x TLS server on 127.0.0.1: every connection it counted is
 * released, including those Netty accepts while the server closes and then cannot register (no event loop left for
 * the socket), whose close future never completes.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AcceptGuardTest {

  @TempDir
  Path dir;

  /** Held while the test runs: a logger held only weakly could be collected, and its level with it. */
  private static final java.util.logging.Logger NETTY_ACCEPTS =
      java.util.logging.Logger.getLogger("io.netty.bootstrap.ServerBootstrap");

  @Test
  void connectionsAcceptedWhileTheServerClosesLeaveNothingCounted() throws Exception {
    // Netty warns, with a stack trace, of each connection it accepts and cannot register: hundreds here, by design.
    java.util.logging.Level level = NETTY_ACCEPTS.getLevel();
    NETTY_ACCEPTS.setLevel(java.util.logging.Level.SEVERE);
    try {
      closeUnderConnects();
    } finally {
      NETTY_ACCEPTS.setLevel(level);
    }
  }

  private void closeUnderConnects() throws Exception {
    TestCerts.Pem pem = TestCerts.selfSigned(dir, "edge");
    for (int round = 0; round < 5; round++) {
      Vertx vertx = Vertx.vertx();
      try {
        OpenConnections open = new OpenConnections();
        HttpServer server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0).setSsl(true)
                .setKeyCertOptions(new PemKeyCertOptions().setCertPath(pem.cert().toString())
                    .setKeyPath(pem.key().toString())))
            .requestHandler(request -> request.response().end())
            .listen().await(10, TimeUnit.SECONDS);
        AcceptGuard.install(AcceptGuard.listeningSocket(server), open, 0, 10_000, false, false, null, 0);
        int port = server.actualPort();
        AtomicBoolean connecting = new AtomicBoolean(true);
        Thread clients = new Thread(() -> {
          while (connecting.get()) {
            try (Socket socket = new Socket()) {
              socket.connect(new InetSocketAddress("127.0.0.1", port), 1_000);
            } catch (java.io.IOException refused) {
              // the server closed: its port refuses
            }
          }
        });
        clients.start();
        Thread.sleep(200);
        server.close().await(10, TimeUnit.SECONDS);
        connecting.set(false);
        clients.join(5_000);
        String what = "round " + round + ": every counted connection released (" + open.current()
            + " counted when the server had closed)";
        Poll.until(Duration.ofSeconds(5), what, () -> open.current() == 0);
      } finally {
        vertx.close().await(10, TimeUnit.SECONDS);
      }
    }
  }
}
