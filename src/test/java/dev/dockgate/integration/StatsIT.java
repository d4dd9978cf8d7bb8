package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.Docker;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * /stats against real traffic: exact counts and the rgate shape, including under bounded
 * concurrent load while one of two containers is killed with SIGKILL.
 */
class StatsIT {

  static final String SUITE = "stats-" + UUID.randomUUID().toString().substring(0, 6);
  static Docker docker;

  @TempDir
  Path dir;
  GatewayHarness gateway;

  @BeforeAll
  static void start() {
    docker = new Docker();
    docker.runHttpd("stable", Ports.free(), "/api/svc/id", Map.of("app_name", "svc", "suite", SUITE));
  }

  @AfterAll
  static void stop() {
    docker.removeAll();
  }

  @AfterEach
  void stopGateway() {
    if (gateway != null) {
      gateway.close();
    }
  }

  GatewayHarness gateway() {
    gateway = new GatewayHarness(dir, """
        routes:
          - path_prefix: /api/svc
            backend: svc
          - path_prefix: /api/none
            backend: none
        default_response: {status_code: 418, body: teapot}
        backends:
          - name: svc
            match_labels: [app_name=svc, suite=%1$s]
            circuit_breaker: {reset_timeout_ms: 1000}
          - name: none
            match_labels: [app_name=none, suite=%1$s]
        """.formatted(SUITE));
    return gateway;
  }

  @Test
  void countsAreExactAndShapedLikeRgate() {
    GatewayHarness gw = gateway();
    JsonObject empty = gw.stats();
    assertEquals(Set.of("requests_count", "latency_ms", "routes", "backends"), empty.fieldNames());
    assertEquals(Set.of("success", "error"), empty.getJsonObject("requests_count").fieldNames());
    assertEquals(Set.of("average", "p95", "p99"), empty.getJsonObject("latency_ms").fieldNames());
    assertEquals(0L, empty.getJsonObject("requests_count").getLong("success"));

    for (int i = 0; i < 30; i++) {
      assertEquals(200, gw.get("/api/svc/id").statusCode());
    }
    for (int i = 0; i < 7; i++) {
      assertEquals(404, gw.get("/api/svc/missing").statusCode());
    }
    for (int i = 0; i < 5; i++) {
      assertEquals(503, gw.get("/api/none/x").statusCode());
    }
    for (int i = 0; i < 3; i++) {
      assertEquals(418, gw.get("/elsewhere").statusCode());
    }
    // /stats itself is not counted, however often it is asked.
    Poll.until(Duration.ofSeconds(2), "45 requests counted", () -> gw.statsTotal() == 45);
    JsonObject stats = gw.stats();
    assertEquals(30L, stats.getJsonObject("requests_count").getLong("success"));
    assertEquals(15L, stats.getJsonObject("requests_count").getLong("error"));
    JsonObject latency = stats.getJsonObject("latency_ms");
    double avg = latency.getDouble("average");
    double p95 = latency.getDouble("p95");
    double p99 = latency.getDouble("p99");
    assertTrue(avg > 0 && avg < 1000, latency.encode());
    assertTrue(p95 > 0 && p95 <= p99, latency.encode());
    assertEquals("application/json", gw.get("/stats").headers().firstValue("content-type").orElse(""));
    // Beside rgate's keys: the same numbers per route and per backend.
    JsonObject svc = stats.getJsonObject("routes").getJsonObject("/api/svc").getJsonObject("requests_count");
    assertEquals(30L, svc.getLong("success"));
    assertEquals(7L, svc.getLong("error"));
    assertEquals(5L, stats.getJsonObject("backends").getJsonObject("none").getJsonObject("requests_count").getLong("error"));
    assertEquals(3L, stats.getJsonObject("backends").getJsonObject("(none)").getJsonObject("requests_count").getLong("error"));
    assertEquals(3L, stats.getJsonObject("routes").getJsonObject("(none)").getJsonObject("requests_count").getLong("error"));
  }

  @Test
  void aContainerKilledUnderLoadDoesNotCrashTheGatewayOrSkewStats() throws Exception {
    GatewayHarness gw = gateway();
    String victim = docker.runHttpd("victim", Ports.free(), "/api/svc/id", Map.of("app_name", "svc", "suite", SUITE));
    Poll.until(Duration.ofSeconds(2), "victim routed",
        () -> gw.get("/api/svc/id").body().trim().equals(docker.fullName("victim")));
    long before = gw.statsTotal();
    long errorsBefore = gw.stats().getJsonObject("requests_count").getLong("error");

    int total = 1500;
    // As many concurrent clients as the stable container can take alone (see HTTPD_IN_FLIGHT).
    Semaphore slots = new Semaphore(Docker.HTTPD_IN_FLIGHT);
    Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
    AtomicInteger transportErrors = new AtomicInteger();
    List<CompletableFuture<?>> inFlight = new ArrayList<>();
    HttpRequest request = HttpRequest.newBuilder(gw.uri("/api/svc/id")).timeout(Duration.ofSeconds(10)).build();
    for (int i = 0; i < total; i++) {
      slots.acquire();
      if (i == total / 3) {
        docker.kill(victim);
      }
      inFlight.add(gw.http().sendAsync(request, HttpResponse.BodyHandlers.ofString())
          .whenComplete((r, err) -> {
            if (err != null) {
              transportErrors.incrementAndGet();
            } else {
              statuses.computeIfAbsent(r.statusCode(), k -> new AtomicInteger()).incrementAndGet();
            }
            slots.release();
          }));
    }
    CompletableFuture.allOf(inFlight.toArray(CompletableFuture[]::new)).join();

    assertEquals(0, transportErrors.get(), "every request got an HTTP answer: " + statuses);
    int ok = statuses.getOrDefault(200, new AtomicInteger()).get();
    assertTrue(ok > total / 2, "most requests succeeded: " + statuses);
    statuses.keySet().forEach(s -> assertTrue(s == 200 || s == 502 || s == 503, "status " + s + ": " + statuses));
    // Still serving, from the surviving container.
    assertEquals(docker.fullName("stable"), gw.get("/api/svc/id").body().trim());

    long expected = before + total + 1;
    Poll.until(Duration.ofSeconds(3), expected + " requests counted", () -> gw.statsTotal() == expected);
    JsonObject counts = gw.stats().getJsonObject("requests_count");
    long errors = total - ok;
    assertEquals(errors, counts.getLong("error") - errorsBefore, "errors counted exactly: " + statuses);
    System.out.println("kill under load: " + statuses);
  }
}
