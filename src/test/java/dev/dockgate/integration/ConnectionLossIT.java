package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import java.io.DataOutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Connections reset by the other side, as when a container is killed or a tap client goes away:
 * expected network events, which the gateway reports once, naming whose connection it was, and
 * never as SEVERE errors.
 */
class ConnectionLossIT {

  @TempDir
  Path dir;
  final Vertx vertx = Vertx.vertx();
  final List<LogRecord> logged = new CopyOnWriteArrayList<>();
  final Handler capture = new Handler() {
    @Override
    public void publish(LogRecord record) {
      logged.add(record);
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }
  };

  @BeforeEach
  void captureLogs() {
    Logger.getLogger("").addHandler(capture);
  }

  @AfterEach
  void stop() throws Exception {
    Logger.getLogger("").removeHandler(capture);
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  @Timeout(60)
  void aBackendResettingItsConnectionsIsReportedOnceAndTheRequestsAreAnswered() throws Exception {
    ResettingBackend resetting = ResettingBackend.start(vertx, true);
    ResettingBackend steady = ResettingBackend.start(vertx, false);
    try (GatewayHarness gw = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /app, backend: app, retries: {attempts: 2}}
        backends:
          - {name: app, targets: ["http://127.0.0.1:%d", "http://127.0.0.1:%d"], load_balancer: round_robin}
        """.formatted(resetting.port(), steady.port()), 1)) {
      for (int i = 0; i < 20; i++) {
        assertEquals(200, gw.get("/app/" + i).statusCode(), "request " + i);
      }
      assertTrue(resetting.resets() >= 2, resetting.resets() + " resets");

      assertEquals(List.of(), severe(), "SEVERE lines for expected resets");
      List<String> reports = messages(dev.dockgate.proxy.Upstream.class.getPackageName() + ".ConnectionLoss");
      assertEquals(1, reports.size(), "one report for the instance, from the one router: " + reports);
      String target = "127.0.0.1:" + resetting.port();
      assertTrue(reports.get(0).startsWith("connection to backend \"app\" instance " + target + "@" + target + " lost: "),
          reports.get(0));
    }
  }

  /**
   * An HTTP/2 backend whose connection closes mid-answer, without a GOAWAY (a Node.js server destroying its
   * session, a killed process): the client gets the part sent, and the report names the cause (the transport
   * gives none: it read "lost: null").
   */
  @Test
  @Timeout(60)
  void anHttp2BackendClosingItsConnectionMidAnswerIsReportedWithACause() throws Exception {
    io.vertx.core.http.HttpServer backend = vertx.createHttpServer(new io.vertx.core.http.HttpServerOptions()
            .setHost("127.0.0.1").setPort(0))
        .requestHandler(req -> {
          req.response().putHeader("content-length", "100000").write("x".repeat(5000));
          vertx.setTimer(100, t -> ((io.vertx.core.net.impl.ConnectionBase) req.connection()).channel().close());
        })
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    try (GatewayHarness gw = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /app, backend: app}
        backends:
          - {name: app, protocol: http2, targets: ["http://127.0.0.1:%d"]}
        """.formatted(backend.actualPort()), 1)) {
      // The answer is cut: the client's connection ends before the announced length.
      org.junit.jupiter.api.Assertions.assertThrows(java.io.UncheckedIOException.class, () -> gw.get("/app/cut"));
      String module = dev.dockgate.proxy.Upstream.class.getPackageName() + ".ConnectionLoss";
      Poll.until(Duration.ofSeconds(10), "the loss reported", () -> !messages(module).isEmpty());
      String target = "127.0.0.1:" + backend.actualPort();
      assertEquals(List.of("connection to backend \"app\" instance " + target + "@" + target + " lost: connection closed"),
          messages(module));
      assertEquals(List.of(), severe(), "SEVERE lines for a backend's connection closing");
    }
  }

  @Test
  @Timeout(60)
  void aTapClientResettingItsConnectionIsReportedOnce() throws Exception {
    ResettingBackend backend = ResettingBackend.start(vertx, false);
    int bridgePort = Ports.free();
    try (GatewayHarness gw = new GatewayHarness(dir, EventTapIT.bridgeConfig(bridgePort, backend.port()), 1)) {
      Socket tap = subscribedTap(gw, bridgePort);
      tap.setSoLinger(true, 0); // close with a reset, unread events and all
      tap.close();

      // Traffic meanwhile: the reset shows on the tap socket's next read, on the next event written
      // to it, or (as the transport reported it once on a loaded machine) as a close without error.
      Poll.until(Duration.ofSeconds(10), "the tap client's leaving logged", () -> {
        assertEquals(200, gw.get("/app/while-leaving").statusCode());
        return logged.stream().anyMatch(r -> String.valueOf(r.getMessage()).contains("reset")
            || String.valueOf(r.getMessage()).contains(" left: "));
      });
      for (int i = 0; i < 5; i++) {
        assertEquals(200, gw.get("/app/after-" + i).statusCode(), "served after the tap client left");
      }
      assertEquals(List.of(), severe(), "SEVERE lines for a tap client leaving");
      List<String> reports = tapReports();
      assertEquals(1, reports.size(), reports.toString());
      assertTrue(reports.get(0).contains(" left: "), reports.get(0));
    }
  }

  @Test
  @Timeout(60)
  void aTapClientClosingCleanlyIsReportedOnce() throws Exception {
    ResettingBackend backend = ResettingBackend.start(vertx, false);
    int bridgePort = Ports.free();
    try (GatewayHarness gw = new GatewayHarness(dir, EventTapIT.bridgeConfig(bridgePort, backend.port()), 1)) {
      Socket tap = subscribedTap(gw, bridgePort);
      String client = "127.0.0.1:" + tap.getLocalPort();
      tap.setSoTimeout(10_000);
      tap.shutdownOutput(); // a FIN: the client is done
      tap.getInputStream().readAllBytes(); // until the gateway closes its side
      tap.close();
      Poll.until(Duration.ofSeconds(10), "the tap client's leaving logged",
          () -> !tapReports().isEmpty());
      for (int i = 0; i < 5; i++) {
        assertEquals(200, gw.get("/app/after-" + i).statusCode(), "served after the tap client left");
      }
      assertEquals(List.of(), severe(), "SEVERE lines for a tap client leaving");
      assertEquals(List.of("event-bus bridge client " + client + " left: connection closed"), tapReports());
    }
  }

  /** A tap client registered for traffic events, once events are seen reaching it. */
  static Socket subscribedTap(GatewayHarness gw, int bridgePort) throws Exception {
    Socket tap = new Socket("127.0.0.1", bridgePort);
    EventTapIT.writeFrame(new DataOutputStream(tap.getOutputStream()),
        new JsonObject().put("type", "register").put("address", "gateway.traffic").put("replyAddress", "me"));
    Poll.until(Duration.ofSeconds(5), "traffic events reach the tap client", () -> {
      assertEquals(200, gw.get("/app/tapped").statusCode());
      try {
        return tap.getInputStream().available() > 0;
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    return tap;
  }

  List<String> tapReports() {
    return messages(dev.dockgate.observability.EventBusTapVerticle.class.getName()).stream()
        .filter(m -> m.startsWith("event-bus bridge client ")).toList();
  }

  List<String> severe() {
    return logged.stream().filter(r -> r.getLevel().intValue() >= Level.SEVERE.intValue())
        .map(r -> r.getLoggerName() + ": " + r.getMessage()).toList();
  }

  List<String> messages(String logger) {
    return logged.stream().filter(r -> logger.equals(r.getLoggerName()) && r.getLevel() == Level.INFO)
        .map(LogRecord::getMessage).toList();
  }

  /**
   * A keep-alive HTTP/1.1 backend on 127.0.0.1 that answers 200, or, when {@code resetting}, resets
   * each connection (SO_LINGER 0) on its second request, as a killed container's kernel does.
   */
  record ResettingBackend(NetServer server, AtomicInteger resetCount) {

    static ResettingBackend start(Vertx vertx, boolean resetting) throws Exception {
      AtomicInteger resets = new AtomicInteger();
      NetServer server = vertx.createNetServer(new NetServerOptions().setHost("127.0.0.1").setPort(0).setSoLinger(0))
          .connectHandler(socket -> serve(socket, resetting, resets))
          .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      return new ResettingBackend(server, resets);
    }

    private static void serve(NetSocket socket, boolean resetting, AtomicInteger resets) {
      AtomicInteger requests = new AtomicInteger();
      StringBuilder pending = new StringBuilder();
      socket.handler(bytes -> {
        pending.append(bytes.toString(StandardCharsets.ISO_8859_1));
        int end;
        // Heads only: the gateway sends these GETs without bodies.
        while ((end = pending.indexOf("\r\n\r\n")) >= 0) {
          pending.delete(0, end + 4);
          if (resetting && requests.incrementAndGet() >= 2) {
            resets.incrementAndGet();
            socket.close(); // SO_LINGER 0: a reset
            return;
          }
          socket.write("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
        }
      });
    }

    int port() {
      return server.actualPort();
    }

    int resets() {
      return resetCount.get();
    }
  }
}
