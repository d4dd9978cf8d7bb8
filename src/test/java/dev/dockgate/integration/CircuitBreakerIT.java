package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.Backends;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import dev.dockgate.testing.TestBackend;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The per-instance circuit: opens, fails fast without connecting, probes, closes; open instances are skipped. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class CircuitBreakerIT {

  @RegisterExtension
  static final Backends backends = new Backends();
  static TestBackend crashing;
  static TestBackend healthy;

  @TempDir
  Path dir;
  GatewayHarness gateway;

  @BeforeAll
  static void start() {
    crashing = backends.start("crashing");
    healthy = backends.start("healthy");
  }

  @AfterEach
  void stopGateway() {
    crashing.drop(false);
    if (gateway != null) {
      gateway.close();
    }
  }

  GatewayHarness gateway() {
    crashing.clear();
    healthy.clear();
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /one, backend: one}
          - {path_prefix: /two, backend: two}
        backends:
          - name: one
            targets: ["http://127.0.0.1:%1$d"]
            circuit_breaker: {max_failures: 3, reset_timeout_ms: 400}
          - name: two
            targets: ["http://127.0.0.1:%1$d", "http://127.0.0.1:%2$d"]
            circuit_breaker: {max_failures: 3, reset_timeout_ms: 60000}
        """.formatted(crashing.port(), healthy.port()));
    return gateway;
  }

  @Test
  void opensAfterMaxFailuresFailsFastThenClosesAfterAGoodProbe() {
    GatewayHarness gw = gateway();
    crashing.drop(true);
    for (int i = 0; i < 3; i++) {
      assertEquals(502, gw.get("/one/x").statusCode());
    }
    assertEquals(3, crashing.count());
    for (int i = 0; i < 10; i++) {
      HttpResponse<String> open = gw.get("/one/x");
      assertEquals(503, open.statusCode());
      assertTrue(open.body().contains("circuit open"), open.body());
    }
    assertEquals(3, crashing.count(), "no attempt while the circuit is open");

    crashing.drop(false);
    Duration closed = Poll.until(Duration.ofSeconds(3), "half-open probe closes the circuit",
        () -> gw.get("/one/x").statusCode() == 200);
    assertTrue(closed.toMillis() >= 250, "not before the reset timeout: " + closed.toMillis() + " ms");
    for (int i = 0; i < 10; i++) {
      assertEquals(200, gw.get("/one/x").statusCode());
    }
  }

  @Test
  void refusalsOfANewInstanceDoNotOpenItsCircuitWithinTheStartupGrace() throws Exception {
    int late = Ports.free();
    int lateNoGrace = Ports.free();
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /late, backend: late}
          - {path_prefix: /strict, backend: strict}
        backends:
          - name: late
            targets: ["http://127.0.0.1:%d"]
            circuit_breaker: {max_failures: 2, reset_timeout_ms: 60000}
          - name: strict
            targets: ["http://127.0.0.1:%d"]
            circuit_breaker: {max_failures: 2, reset_timeout_ms: 60000, startup_grace_ms: 0}
        """.formatted(late, lateNoGrace));
    for (int i = 0; i < 6; i++) {
      HttpResponse<String> refused = gateway.get("/late/x");
      assertEquals(503, refused.statusCode());
      assertTrue(refused.body().contains("unreachable"), refused.body());
      gateway.get("/strict/x");
    }
    HttpResponse<String> strict = gateway.get("/strict/x");
    assertTrue(strict.body().contains("circuit open"), "without a grace the refusals open it: " + strict.body());

    // The instance's server comes up: served at once, not after the 60 s reset timeout.
    io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
    try {
      vertx.createHttpServer().requestHandler(req -> req.response().end("up"))
          .listen(late, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      HttpResponse<String> up = gateway.get("/late/x");
      assertEquals(200, up.statusCode(), up.body());
      assertEquals("up", up.body());
    } finally {
      vertx.close();
    }
  }

  @Test
  void refusedWebSocketUpgradesOfANewInstanceDoNotOpenItsCircuitWithinTheStartupGrace() throws Exception {
    int late = Ports.free();
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /late, backend: late}
        backends:
          - name: late
            targets: ["http://127.0.0.1:%d"]
            circuit_breaker: {max_failures: 2, reset_timeout_ms: 60000}
        """.formatted(late));
    byte[] upgrade = ("GET /late/ws HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    for (int i = 0; i < 4; i++) {
      dev.dockgate.testing.RawHttp.Exchange refused = dev.dockgate.testing.RawHttp.exchange(gateway.port(), upgrade, 1,
          300, 5_000);
      assertEquals(503, refused.status(), refused.raw());
      assertTrue(refused.raw().contains("unreachable"), "refused, not a circuit open: " + refused.raw());
    }

    // The instance's server comes up: its upgrades are served at once, not after the 60 s reset timeout.
    io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
    try {
      vertx.createHttpServer().webSocketHandler(ws -> ws.handler(ws::write))
          .listen(late, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      dev.dockgate.testing.RawHttp.Exchange up = dev.dockgate.testing.RawHttp.exchange(gateway.port(), upgrade, 1,
          300, 5_000);
      assertTrue(up.raw().startsWith("HTTP/1.1 101"), up.raw());
    } finally {
      vertx.close();
    }
  }

  @Test
  void anInstanceWithAnOpenCircuitIsSkipped() {
    GatewayHarness gw = gateway();
    crashing.drop(true);
    // Random picks: keep going until the crashing instance has failed three times.
    Poll.until(Duration.ofSeconds(5), "circuit of the crashing instance open", () -> {
      gw.get("/two/x");
      return crashing.count() >= 3;
    });
    int before = crashing.count();
    for (int i = 0; i < 40; i++) {
      HttpResponse<String> response = gw.get("/two/x");
      assertEquals(200, response.statusCode());
      assertEquals("healthy", response.headers().firstValue("X-Backend").orElse(""));
    }
    assertEquals(before, crashing.count());
  }
  @Test
  void instancesWithOpenCircuitsArePassedOverWhileAnyOtherCanAnswer() {
    TestBackend crashing2 = backends.start("crashing2");
    TestBackend healthy2 = backends.start("healthy2");
    crashing.clear();
    healthy.clear();
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /four, backend: four}
        backends:
          - name: four
            targets: ["http://127.0.0.1:%d", "http://127.0.0.1:%d", "http://127.0.0.1:%d", "http://127.0.0.1:%d"]
            circuit_breaker: {max_failures: 1, reset_timeout_ms: 60000}
        """.formatted(crashing.port(), crashing2.port(), healthy.port(), healthy2.port()));
    try {
      crashing.drop(true);
      crashing2.drop(true);
      Poll.until(Duration.ofSeconds(5), "both crashing instances' circuits open", () -> {
        gateway.get("/four/x");
        return crashing.count() >= 1 && crashing2.count() >= 1;
      });
      // Two of four open: a request whose first two picks were both of them (one in six: the pickers favour
      // instances without requests in flight, as an open circuit's always is) was sent to an open circuit, 503.
      for (int i = 0; i < 60; i++) {
        HttpResponse<String> response = gateway.get("/four/" + i);
        assertEquals(200, response.statusCode(), "request " + i + ": " + response.body());
        assertTrue(response.headers().firstValue("X-Backend").orElse("").startsWith("healthy"), response.headers().map()
            .toString());
      }
    } finally {
      crashing2.drop(false);
    }
  }
}
