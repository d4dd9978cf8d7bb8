package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.Docker;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A container enters rotation only when it is ready, on the real engine, on a route without retries:
 * with a Docker HEALTHCHECK once Docker reports it healthy (and out while unhealthy), without one once
 * it accepted a connection. Each backend has a ready container "a" beside the one under test, so a
 * request sent to an instance that is not ready would fail where the other would have answered.
 */
class ReadinessIT {

  @TempDir
  Path dir;

  private static final String ROUTE = """
      routes:
        - {path_prefix: /ready, backend: ready, retries: {attempts: 0}}
      backends:
        - {name: ready, match_labels: [app_name=ready, suite=%s], load_balancer: round_robin}
      """;

  private Docker docker;
  private GatewayHarness gw;
  private Map<String, String> labels;

  @BeforeEach
  void startGatewayAndA() {
    String suite = "ready-" + UUID.randomUUID().toString().substring(0, 6);
    labels = Map.of("app_name", "ready", "suite", suite);
    docker = new Docker();
    gw = new GatewayHarness(dir, ROUTE.formatted(suite));
    docker.runHttpd("a", Ports.free(), "/ready/id", labels);
    Poll.until(Duration.ofSeconds(10), "a serving", () -> gw.get("/ready/id").statusCode() == 200);
  }

  @AfterEach
  void stop() {
    if (gw != null) {
      gw.close();
    }
    if (docker != null) {
      docker.close();
    }
  }

  @Test
  @Timeout(90)
  void aContainerWithAHealthcheckIsRoutedOnlyWhileDockerReportsItHealthy() {
    // b serves at once, but its HEALTHCHECK passes only while /tmp/ok exists
    String b = httpd("b", 0, List.of("--health-cmd", "test -e /tmp/ok",
        "--health-interval", "200ms", "--health-retries", "1"));
    Poll.until(Duration.ofSeconds(10), "b reported unhealthy", () -> docker.health(b).equals("unhealthy"));
    assertEquals(Map.of(name("a"), 30), answers(30), "b listens but is not healthy: no request for it");

    docker.execIn(b, List.of("busybox", "touch", "/tmp/ok"));
    Duration in = Poll.until(Duration.ofSeconds(10), "b in rotation once healthy",
        () -> answers(4).containsKey(name("b")));

    docker.execIn(b, List.of("busybox", "rm", "/tmp/ok"));
    Duration out = Poll.until(Duration.ofSeconds(10), "b out of rotation once unhealthy",
        () -> answers(10).equals(Map.of(name("a"), 10)));
    assertEquals("unhealthy", docker.health(b));
    System.out.printf("docker health: in %d ms after the file appeared, out %d ms after it went%n",
        in.toMillis(), out.toMillis());
  }

  @Test
  @Timeout(90)
  void aContainerWithoutAHealthcheckIsRoutedOnceItAcceptsAConnection() {
    long started = System.nanoTime();
    httpd("slow", 1_500, List.of()); // listens 1.5 s after it starts
    Map<String, Integer> seen = new TreeMap<>();
    while (!seen.containsKey(name("slow")) && System.nanoTime() - started < 15_000_000_000L) {
      answers(1).forEach((k, v) -> seen.merge(k, v, Integer::sum));
    }
    long tookMs = (System.nanoTime() - started) / 1_000_000;
    System.out.printf("connection probe: slow in rotation %d ms after docker run, answers meanwhile %s%n", tookMs, seen);
    assertTrue(seen.containsKey(name("slow")), "slow never answered: " + seen);
    assertEquals(Map.of(name("a"), seen.get(name("a")), name("slow"), 1), seen,
        "every request answered 200, by a until slow listened");
  }

  /** Who answered {@code n} requests, by name; any answer other than 200 counts under its status and body. */
  private Map<String, Integer> answers(int n) {
    Map<String, Integer> seen = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      HttpResponse<String> r = gw.get("/ready/id");
      String who = r.statusCode() == 200 ? r.body().trim() : r.statusCode() + " " + r.body().trim();
      seen.merge(who, 1, Integer::sum);
    }
    return seen;
  }

  private String name(String name) {
    return docker.fullName(name);
  }

  /** busybox httpd serving its name at /ready/id, listening {@code listenAfterMs} after the container starts. */
  private String httpd(String name, long listenAfterMs, List<String> options) {
    int port = Ports.free();
    Map<String, String> all = new java.util.HashMap<>(labels);
    all.put("gateway.port", Integer.toString(port));
    String script = (listenAfterMs > 0 ? "sleep " + listenAfterMs / 1000.0 + " && " : "")
        + "mkdir -p /www/ready && echo " + docker.fullName(name) + " > /www/ready/id"
        + " && exec busybox httpd -f -p 127.0.0.1:" + port + " -h /www";
    return docker.run(name, all, options, List.of("busybox", "sh", "-c", script));
  }
}
