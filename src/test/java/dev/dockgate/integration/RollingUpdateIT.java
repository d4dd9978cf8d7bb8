package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.Docker;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three rolling updates under mixed GET/POST load on the real engine: start the new container, then
 * {@code docker stop} the old one. The gateway drops an instance at the first sign it is going away
 * (the kill event) and lets its in-flight requests finish, so no request of either kind fails.
 */
class RollingUpdateIT {

  @TempDir
  Path dir;

  @Test
  void rollingUpdatesUnderLoadLoseNoRequest() throws Exception {
    String suite = "roll-" + UUID.randomUUID().toString().substring(0, 6);
    Map<String, String> labels = Map.of("app_name", "roll", "suite", suite);
    try (Docker docker = new Docker();
         GatewayHarness gw = new GatewayHarness(dir, """
             routes:
               - {path_prefix: /cgi-bin, backend: roll, retries: {attempts: 2, backoff_ms: 10}}
             backends:
               # A new container is announced when it starts, a moment before its server listens: the
               # refusals meanwhile are retried elsewhere but may open its circuit; probe again soon.
               - {name: roll, match_labels: [app_name=roll, suite=%s], circuit_breaker: {reset_timeout_ms: 1000}}
             """.formatted(suite))) {
      String current = docker.runDrainingCgi("v0", Ports.free(), 1500, labels);
      String currentName = docker.fullName("v0");
      Poll.until(Duration.ofSeconds(5), "v0 serving", () -> gw.get("/cgi-bin/echo").statusCode() == 200);

      AtomicBoolean running = new AtomicBoolean(true);
      Map<String, AtomicInteger> outcomes = new ConcurrentHashMap<>();
      List<Thread> workers = new ArrayList<>();
      for (int w = 0; w < 6; w++) {
        boolean post = w % 2 == 1;
        Thread t = new Thread(() -> {
          for (int i = 0; i < 3_000 && running.get(); i++) {
            HttpRequest.Builder b = HttpRequest.newBuilder(gw.uri("/cgi-bin/echo")).timeout(Duration.ofSeconds(10));
            HttpRequest request = post ? b.POST(HttpRequest.BodyPublishers.ofString("payload-" + i)).build() : b.GET().build();
            String outcome;
            try {
              HttpResponse<String> r = gw.http().send(request, HttpResponse.BodyHandlers.ofString());
              boolean echoed = !post || r.body().contains("payload-" + i);
              outcome = (post ? "POST " : "GET ") + r.statusCode() + (echoed ? "" : " (body lost)");
            } catch (Exception e) {
              outcome = (post ? "POST " : "GET ") + e.getClass().getSimpleName();
            }
            outcomes.computeIfAbsent(outcome, k -> new AtomicInteger()).incrementAndGet();
          }
        });
        t.start();
        workers.add(t);
      }

      for (int round = 1; round <= 3; round++) {
        String name = "v" + round;
        String next = docker.runDrainingCgi(name, Ports.free(), 1500, labels);
        String nextName = docker.fullName(name);
        Poll.until(Duration.ofSeconds(10), name + " in rotation",
            () -> gw.get("/cgi-bin/echo").body().startsWith(nextName));
        docker.stop(current);
        Poll.until(Duration.ofSeconds(5), currentName + " out of rotation", () -> {
          for (int i = 0; i < 10; i++) {
            if (!gw.get("/cgi-bin/echo").body().startsWith(nextName)) {
              return false;
            }
          }
          return true;
        });
        current = next;
        currentName = nextName;
      }
      running.set(false);
      for (Thread t : workers) {
        t.join(30_000);
      }

      int total = outcomes.values().stream().mapToInt(AtomicInteger::get).sum();
      System.out.println("rolling updates: " + total + " requests: " + outcomes);
      assertTrue(outcomes.getOrDefault("GET 200", new AtomicInteger()).get() > 100, outcomes.toString());
      assertTrue(outcomes.getOrDefault("POST 200", new AtomicInteger()).get() > 100, outcomes.toString());
      assertEquals(2, outcomes.size(), "only successful GETs and POSTs: " + outcomes);
    }
  }
}
