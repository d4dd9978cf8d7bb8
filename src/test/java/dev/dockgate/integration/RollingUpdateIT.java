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
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three rolling updates under mixed GET/POST load on the real engine: start the new container, then
 * {@code docker stop} the old one. The gateway routes a new container only once it is ready (Docker
 * reports it healthy, or, without a HEALTHCHECK, it accepted a connection), drops an instance at the
 * first sign it is going away (the kill event) and lets its in-flight requests finish, so no request
 * of either kind fails, with or without retries. The new containers' servers listen only
 * {@value #BOOT_MS} ms after they start, as a service that boots.
 */
class RollingUpdateIT {

  static final long BOOT_MS = 500;

  @TempDir
  Path dir;

  /** How the route and the containers are set up. */
  enum Setup {
    /** Retries on the route; containers without a HEALTHCHECK. */
    RETRIES("retries: {attempts: 2, backoff_ms: 10}", false),
    /** No retries; containers without a HEALTHCHECK: routed after their first accepted connection. */
    NO_RETRIES_CONNECT_PROBE("retries: {attempts: 0}", false),
    /** No retries; containers with a Docker HEALTHCHECK: routed once Docker reports them healthy. */
    NO_RETRIES_HEALTHCHECK("retries: {attempts: 0}", true);

    final String retries;
    final boolean healthcheck;

    Setup(String retries, boolean healthcheck) {
      this.retries = retries;
      this.healthcheck = healthcheck;
    }
  }

  @ParameterizedTest
  @EnumSource(Setup.class)
  @Timeout(180)
  void rollingUpdatesUnderLoadLoseNoRequest(Setup setup) throws Exception {
    String suite = "roll-" + UUID.randomUUID().toString().substring(0, 6);
    Map<String, String> labels = Map.of("app_name", "roll", "suite", suite);
    try (Docker docker = new Docker();
         GatewayHarness gw = new GatewayHarness(dir, """
             routes:
               - {path_prefix: /cgi-bin, backend: roll, %s}
             backends:
               - {name: roll, match_labels: [app_name=roll, suite=%s], circuit_breaker: {reset_timeout_ms: 1000}}
             """.formatted(setup.retries, suite))) {
      String current = start(docker, setup, "v0", 0, labels);
      String currentName = docker.fullName("v0");
      Poll.until(Duration.ofSeconds(10), "v0 serving", () -> gw.get("/cgi-bin/echo").statusCode() == 200);

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

      long began = System.nanoTime();
      for (int round = 1; round <= 3; round++) {
        String name = "v" + round;
        String next = start(docker, setup, name, BOOT_MS, labels);
        String nextName = docker.fullName(name);
        Poll.until(Duration.ofSeconds(15), name + " in rotation",
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
      long tookMs = (System.nanoTime() - began) / 1_000_000;
      running.set(false);
      for (Thread t : workers) {
        t.join(30_000);
      }

      int total = outcomes.values().stream().mapToInt(AtomicInteger::get).sum();
      int failed = total - outcomes.getOrDefault("GET 200", new AtomicInteger()).get()
          - outcomes.getOrDefault("POST 200", new AtomicInteger()).get();
      System.out.println("rolling updates (" + setup + "): 3 updates in " + tookMs + " ms, " + total
          + " requests, " + failed + " failed: " + outcomes);
      assertTrue(outcomes.getOrDefault("GET 200", new AtomicInteger()).get() > 100, outcomes.toString());
      assertTrue(outcomes.getOrDefault("POST 200", new AtomicInteger()).get() > 100, outcomes.toString());
      assertEquals(0, failed, "only successful GETs and POSTs: " + outcomes);
    }
  }

  /** A draining CGI container; with a HEALTHCHECK that fetches the CGI every 200 ms when the setup asks for one. */
  private static String start(Docker docker, Setup setup, String name, long bootMs, Map<String, String> labels) {
    int port = Ports.free();
    List<String> options = setup.healthcheck
        ? List.of("--health-cmd", "busybox wget -q -O /dev/null http://127.0.0.1:" + port + "/cgi-bin/echo",
            "--health-interval", "200ms", "--health-timeout", "2s", "--health-retries", "2")
        : List.of();
    return docker.runDrainingCgi(name, port, 1500, bootMs, labels, options);
  }
}
