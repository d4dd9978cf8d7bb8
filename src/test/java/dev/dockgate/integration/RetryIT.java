package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.Docker;
import dev.dockgate.testing.Backends;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import dev.dockgate.testing.TestBackend;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Retries: idempotent bodiless requests only, another instance each time, within the budget. */
class RetryIT {

  @RegisterExtension
  static final Backends backends = new Backends();
  static TestBackend live;
  static TestBackend dropping;
  static int refused;

  @TempDir
  Path dir;
  GatewayHarness gateway;

  @BeforeAll
  static void start() {
    live = backends.start("live");
    dropping = backends.start("dropping");
    dropping.drop(true);
    refused = Ports.free();
  }

  @AfterEach
  void stopGateway() {
    if (gateway != null) {
      gateway.close();
    }
  }

  GatewayHarness gateway(String retries) {
    return gateway(retries, refused);
  }

  /** Round robin over the instance on {@code firstPort} and the live one. */
  GatewayHarness gateway(String retries, int firstPort) {
    live.clear();
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /r, backend: half, retries: %3$s}
        backends:
          - name: half
            load_balancer: round_robin
            targets: [http://127.0.0.1:%1$d, http://127.0.0.1:%2$d]
            circuit_breaker: {max_failures: 1000, startup_grace_ms: 0}
        """.formatted(firstPort, live.port(), retries), 1);
    return gateway;
  }

  Map<Integer, Integer> send(GatewayHarness gw, String method, int n) {
    Map<Integer, Integer> statuses = new java.util.TreeMap<>();
    for (int i = 0; i < n; i++) {
      HttpRequest.BodyPublisher body = method.equals("POST") || method.equals("PUT")
          ? HttpRequest.BodyPublishers.ofString("x") : HttpRequest.BodyPublishers.noBody();
      statuses.merge(gw.send(HttpRequest.newBuilder(gw.uri("/r/" + i)).timeout(Duration.ofSeconds(5)).method(method, body).build()).statusCode(),
          1, Integer::sum);
    }
    return statuses;
  }

  @Test
  void idempotentRequestsAreRetriedOnAnotherInstance() {
    // Round robin: every request tries the refused instance first, so every one needs a retry.
    GatewayHarness gw = gateway("{attempts: 2, backoff_ms: 1, budget_percent: 100}");
    assertEquals(Map.of(200, 20), send(gw, "GET", 20));
    assertEquals(Map.of(200, 10), send(gw, "DELETE", 10));
    assertEquals(Map.of(200, 10), send(gw, "HEAD", 10));
    Poll.until(Duration.ofSeconds(2), "counted", () -> gw.statsTotal() == 40);
    assertEquals(0L, gw.stats().getJsonObject("requests_count").getLong("error"));
  }

  /**
   * Each retry is counted where an operator looks: the traffic event's {@code retries}, {@code gateway_retries_total}
   * by route and backend, the combined access log's {@code retries=N}; a request answered at its first try has none.
   * Before, a retry showed nowhere but in client spans.
   */
  @Test
  void retriesAreCountedInTheEventsMetricsAndAccessLog() {
    GatewayHarness gw = gateway("{attempts: 2, backoff_ms: 1, budget_percent: 100}");
    List<JsonObject> events = new java.util.concurrent.CopyOnWriteArrayList<>();
    gw.vertx().eventBus().<JsonObject>consumer(dev.dockgate.events.Addresses.TRAFFIC, m -> events.add(m.body().copy()));
    assertEquals(Map.of(200, 6), send(gw, "GET", 6)); // round robin: each first try meets the refused instance
    Poll.until(Duration.ofSeconds(5), "6 events", () -> events.size() == 6);
    for (JsonObject e : events) {
      assertEquals(1, e.getInteger("retries"), e.encode());
    }
    Poll.until(Duration.ofSeconds(5), "the retries in /metrics\n" + gw.admin("/metrics").body(), () -> gw.admin("/metrics")
        .body().contains("gateway_retries_total{backend=\"half\",route=\"/r\"} 6.0"));

    events.clear();
    gateway = null;
    gw.close();
    GatewayHarness once = gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /r, backend: one, retries: {attempts: 2, backoff_ms: 1, budget_percent: 100}}
        backends:
          - {name: one, targets: [http://127.0.0.1:%d]}
        """.formatted(live.port()), 1);
    once.vertx().eventBus().<JsonObject>consumer(dev.dockgate.events.Addresses.TRAFFIC, m -> events.add(m.body().copy()));
    assertEquals(Map.of(200, 4), send(once, "GET", 4)); // answered at the first try: no retry
    Poll.until(Duration.ofSeconds(5), "4 events", () -> events.size() == 4);
    events.forEach(e -> assertTrue(!e.containsKey("retries"), e.encode()));
    assertTrue(!once.admin("/metrics").body().contains("gateway_retries_total"), "no retry, no series");
  }

  /**
   * A client that leaves while its retry waits out its backoff: its event names the instance of its last try, as the
   * event of any failed try does. Before, the retry had cleared it: {@code "instance":null} with {@code "retries":1}.
   */
  @Test
  void aClientLeavingDuringARetrysBackoffHasTheInstanceOfItsLastTry() {
    GatewayHarness gw = gateway("{attempts: 1, backoff_ms: 60000, max_backoff_ms: 60000, budget_percent: 100,"
        + " deadline_ms: 0}");
    List<JsonObject> events = new java.util.concurrent.CopyOnWriteArrayList<>();
    gw.vertx().eventBus().<JsonObject>consumer(dev.dockgate.events.Addresses.TRAFFIC, m -> events.add(m.body().copy()));
    // Round robin: the first try meets the refused instance; the retry waits up to 60 s (full jitter); the client
    // leaves after 500 ms.
    dev.dockgate.testing.RawHttp.exchange(gw.port(), "GET /r/x HTTP/1.1\r\nHost: gw\r\n\r\n"
        .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1), 1, 300, 500);
    Poll.until(Duration.ofSeconds(5), "the event", () -> events.size() == 1);
    JsonObject event = events.get(0);
    assertEquals(1, event.getInteger("retries"), event.encode());
    assertTrue(event.getString("instance") != null, "the instance of the last try: " + event.encode());
  }

  @Test
  void anyRequestRefusedAtConnectIsRetriedSinceNothingWasSent() {
    GatewayHarness gw = gateway("{attempts: 2, backoff_ms: 1, budget_percent: 100}");
    assertEquals(Map.of(200, 10), send(gw, "POST", 10));
    assertEquals(Map.of(200, 10), send(gw, "PUT", 10));
    assertEquals(20, live.count());
  }

  @Test
  void requestsWithABodyOrNotIdempotentAreNotRetriedOnceSent() {
    // The first instance takes each request and then drops the connection without an answer.
    GatewayHarness gw = gateway("{attempts: 2, backoff_ms: 1, budget_percent: 100}", dropping.port());
    assertEquals(Map.of(200, 5, 502, 5), send(gw, "POST", 10));
    assertEquals(Map.of(200, 5, 502, 5), send(gw, "PUT", 10));
    // Bodiless idempotent requests are replayed.
    assertEquals(Map.of(200, 10), send(gw, "GET", 10));
  }

  @Test
  void withoutRetriesHalfFail() {
    GatewayHarness gw = gateway("{attempts: 0}");
    assertEquals(Map.of(200, 10, 503, 10), send(gw, "GET", 20));
  }

  @Test
  void anExhaustedBudgetStopsRetries() {
    GatewayHarness gw = gateway("{attempts: 2, backoff_ms: 1, budget_percent: 0, min_per_second: 3}");
    // Ten requests in well under a second. The first three are retried (the fixed allowance), each
    // costing two round-robin steps; after that requests alternate between the refused and the live
    // instance and every other one fails. Unbudgeted, none would (see the first test).
    Map<Integer, Integer> statuses = send(gw, "GET", 10);
    int failed = statuses.getOrDefault(503, 0);
    assertEquals(10, failed + statuses.getOrDefault(200, 0), statuses.toString());
    assertTrue(failed >= 3 && failed <= 4, statuses.toString());
  }

  @Test
  void aContainerKilledUnderLoadLosesNoGet() throws Exception {
    String suite = "retry-" + UUID.randomUUID().toString().substring(0, 6);
    try (Docker docker = new Docker()) {
      docker.runHttpd("a", Ports.free(), "/api/k/id", Map.of("app_name", "k", "suite", suite));
      String victim = docker.runHttpd("b", Ports.free(), "/api/k/id", Map.of("app_name", "k", "suite", suite));
      gateway = new GatewayHarness(dir, """
          routes:
            - {path_prefix: /api/k, backend: k, retries: {attempts: 2, backoff_ms: 5}}
          backends:
            - {name: k, match_labels: [app_name=k, suite=%s]}
          """.formatted(suite));
      GatewayHarness gw = gateway;
      Poll.until(Duration.ofSeconds(3), "both containers routed", () -> {
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (int i = 0; i < 20; i++) {
          seen.add(gw.get("/api/k/id").body().trim());
        }
        return seen.size() == 2;
      });
      long before = gw.statsTotal();

      int total = 2000;
      // As many concurrent clients as the surviving container can take alone (see HTTPD_IN_FLIGHT).
      Semaphore slots = new Semaphore(Docker.HTTPD_IN_FLIGHT);
      Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
      Map<String, AtomicInteger> failures = new ConcurrentHashMap<>();
      AtomicInteger transport = new AtomicInteger();
      List<CompletableFuture<?>> all = new ArrayList<>();
      HttpRequest get = HttpRequest.newBuilder(gw.uri("/api/k/id")).timeout(Duration.ofSeconds(10)).build();
      for (int i = 0; i < total; i++) {
        slots.acquire();
        if (i == total / 3) {
          // From the host, as a crash: Docker tells of it only after the process died.
          docker.killProcess(victim);
        }
        all.add(gw.http().sendAsync(get, HttpResponse.BodyHandlers.ofString()).whenComplete((r, err) -> {
          if (err != null) {
            transport.incrementAndGet();
          } else {
            statuses.computeIfAbsent(r.statusCode(), k -> new AtomicInteger()).incrementAndGet();
            if (r.statusCode() != 200) {
              failures.computeIfAbsent(r.statusCode() + " " + r.body().trim(), k -> new AtomicInteger()).incrementAndGet();
            }
          }
          slots.release();
        }));
      }
      CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).join();
      assertEquals(0, transport.get());
      assertEquals(Map.of(200, total), Map.copyOf(statuses.entrySet().stream()
          .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, e -> e.getValue().get()))), "failed: " + failures);
      Poll.until(Duration.ofSeconds(3), "all counted", () -> gw.statsTotal() == before + total);
      JsonObject counts = gw.stats().getJsonObject("requests_count");
      assertEquals(0L, counts.getLong("error"));
      assertTrue(counts.getLong("success") >= total);
    }
  }
}
