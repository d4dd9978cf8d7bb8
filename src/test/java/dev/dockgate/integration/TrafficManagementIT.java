package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.Backends;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.TestBackend;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fixed targets (no Docker), load-balancing algorithms, strip_prefix, per-route methods and host,
 * against real recording servers on 127.0.0.1.
 */
class TrafficManagementIT {

  @RegisterExtension
  static final Backends backends = new Backends();
  static TestBackend a;
  static TestBackend b;
  static TestBackend c;

  @TempDir
  Path dir;
  GatewayHarness gateway;

  @BeforeAll
  static void start() {
    a = backends.start("a");
    b = backends.start("b");
    c = backends.start("c");
  }

  @AfterEach
  void stopGateway() {
    if (gateway != null) {
      gateway.close();
    }
  }

  GatewayHarness gateway(int routers) {
    a.clear();
    b.clear();
    c.clear();
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /rr, backend: rr}
          - {path_prefix: /random, backend: random, timeout_ms: 1000}
          - {path_prefix: /least, backend: least, timeout_ms: 1000}
          - {path_prefix: /svc, backend: rr, strip_prefix: true}
          - {path_prefix: /items, backend: single, methods: [GET, HEAD]}
          - {path_prefix: /admin, backend: single, host: admin.test}
        backends:
          - name: rr
            load_balancer: round_robin
            targets: [http://127.0.0.1:%1$d, http://127.0.0.1:%2$d, http://127.0.0.1:%3$d]
          - name: random
            targets: [http://127.0.0.1:%1$d, http://127.0.0.1:%2$d]
          - name: least
            load_balancer: least_requests
            targets: [http://127.0.0.1:%1$d, http://127.0.0.1:%2$d]
          - name: single
            targets: [http://127.0.0.1:%3$d/]
        """.formatted(a.port(), b.port(), c.port()), routers);
    return gateway;
  }

  static String served(HttpResponse<String> response) {
    return response.headers().firstValue("X-Backend").orElse("none");
  }

  @Test
  void roundRobinTakesEachTargetInTurn() {
    GatewayHarness gw = gateway(1);
    List<String> order = new ArrayList<>();
    for (int i = 0; i < 9; i++) {
      HttpResponse<String> response = gw.get("/rr/" + i);
      assertEquals(200, response.statusCode());
      order.add(served(response));
    }
    assertEquals(order.subList(0, 3), order.subList(3, 6));
    assertEquals(order.subList(0, 3), order.subList(6, 9));
    assertEquals(3, new java.util.HashSet<>(order.subList(0, 3)).size(), order.toString());
  }

  @Test
  void randomSpreadsOverBothTargets() {
    GatewayHarness gw = gateway(2);
    Map<String, Integer> hits = new HashMap<>();
    for (int i = 0; i < 200; i++) {
      hits.merge(served(gw.get("/random/x")), 1, Integer::sum);
    }
    assertEquals(2, hits.size(), hits.toString());
    hits.values().forEach(h -> assertTrue(h >= 60, hits.toString()));
  }

  @Test
  void leastRequestsSendsNewRequestsAwayFromAStuckTarget() {
    awayFromAStuckTarget("/least/x");
  }

  @Test
  void randomSendsNewRequestsAwayFromAStuckTarget() {
    // At random too: a first draw that falls on the instance holding a request yields to the free one.
    awayFromAStuckTarget("/random/x");
  }

  private void awayFromAStuckTarget(String path) {
    GatewayHarness gw = gateway(1);
    b.hang(true);
    try {
      // One request after the other, without waiting for the stuck ones: once b holds one, a (which
      // answers at once) has fewer requests in flight and wins every comparison.
      List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
      for (int i = 0; i < 40; i++) {
        CompletableFuture<HttpResponse<String>> f = gw.http().sendAsync(
            HttpRequest.newBuilder(gw.uri(path)).timeout(Duration.ofSeconds(20)).build(),
            HttpResponse.BodyHandlers.ofString());
        all.add(f);
        try {
          f.get(100, java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException stuck) {
          // went to b: leave it in flight
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      }
      Map<Integer, Integer> statuses = new HashMap<>();
      all.forEach(f -> statuses.merge(f.join().statusCode(), 1, Integer::sum));
      assertTrue(b.count() <= 2, "stuck target got " + b.count() + " of 40: " + statuses);
      assertEquals(40 - b.count(), statuses.getOrDefault(200, 0), statuses.toString());
      assertEquals(b.count(), statuses.getOrDefault(504, 0), statuses.toString());
    } finally {
      b.hang(false);
    }
  }

  @Test
  void stripPrefixRemovesTheRoutePrefix() {
    GatewayHarness gw = gateway(1);
    assertEquals(200, gw.get("/svc/orders/7?x=1").statusCode());
    TestBackend.Received got = firstReceived();
    assertEquals("/orders/7?x=1", got.uri());
    assertEquals(200, gw.get("/svc?y=2").statusCode());
    assertEquals("/?y=2", firstReceived().uri());
  }

  @Test
  void methodsOutsideTheRouteGet405WithAllow() {
    GatewayHarness gw = gateway(1);
    assertEquals(200, gw.get("/items/1").statusCode());
    HttpResponse<String> post = gw.send(HttpRequest.newBuilder(gw.uri("/items/1"))
        .POST(HttpRequest.BodyPublishers.ofString("x")).build());
    assertEquals(405, post.statusCode());
    assertEquals("GET, HEAD", post.headers().firstValue("allow").orElse(""));
    dev.dockgate.testing.Poll.until(Duration.ofSeconds(2), "counted", () -> gw.statsTotal() == 2);
  }

  @Test
  void hostRoutesMatchOnlyTheirHost() {
    GatewayHarness gw = gateway(1);
    assertEquals(404, gw.get("/admin/x").statusCode(), "127.0.0.1 is not admin.test");
    String answer = assertDoesNotThrow(() -> ForwardingIT.exchange(gw.port(),
        "GET /admin/x HTTP/1.1\r\nHost: admin.test\r\nConnection: close\r\n\r\n"));
    assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
    assertTrue(answer.contains("X-Backend: c") || answer.toLowerCase().contains("x-backend: c"), answer);
    // DNS's absolute form names the same host: the dot does not step past the host's route.
    String dotted = assertDoesNotThrow(() -> ForwardingIT.exchange(gw.port(),
        "GET /admin/x HTTP/1.1\r\nHost: ADMIN.test.:" + gw.port() + "\r\nConnection: close\r\n\r\n"));
    assertTrue(dotted.startsWith("HTTP/1.1 200"), dotted);
    assertTrue(dotted.toLowerCase().contains("x-backend: c"), dotted);
  }

  static <T> T assertDoesNotThrow(java.util.concurrent.Callable<T> call) {
    try {
      return call.call();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** The one request received by a, b or c since the last clear. */
  static TestBackend.Received firstReceived() {
    for (TestBackend backend : List.of(a, b, c)) {
      if (backend.count() > 0) {
        TestBackend.Received r = backend.take();
        return r;
      }
    }
    throw new AssertionError("no backend received the request");
  }
}
