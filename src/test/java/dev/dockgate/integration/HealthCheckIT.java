package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.dockgate.testing.Backends;
import dev.dockgate.testing.Docker;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.TestBackend;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Active health checks on containers discovered on the real engine: their gateway.port labels
 * point at recording servers of the test, whose health endpoint the test turns to 500 and back.
 */
class HealthCheckIT {

  static final String SUITE = "health-" + UUID.randomUUID().toString().substring(0, 6);
  static Docker docker;
  @RegisterExtension
  static final Backends backends = new Backends();
  static TestBackend a;
  static TestBackend b;
  static TestBackend c;
  static String containerC;

  @TempDir
  Path dir;
  GatewayHarness gateway;

  @BeforeAll
  static void start() {
    docker = new Docker();
    a = backends.start("a");
    b = backends.start("b");
    c = backends.start("c");
    docker.runIdle("hc-a", Map.of("app_name", "hc", "suite", SUITE, "gateway.port", "" + a.port()));
    docker.runIdle("hc-b", Map.of("app_name", "hc", "suite", SUITE, "gateway.port", "" + b.port()));
    containerC = docker.runIdle("hc-c", Map.of("app_name", "hc-solo", "suite", SUITE, "gateway.port", "" + c.port()));
  }

  @AfterAll
  static void stop() {
    docker.removeAll();
  }

  @AfterEach
  void stopGateway() {
    b.sick(false);
    c.sick(false);
    if (gateway != null) {
      gateway.close();
    }
  }

  Set<String> servers(GatewayHarness gw, int requests) {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < requests; i++) {
      var response = gw.get("/hc/x");
      assertEquals(200, response.statusCode());
      seen.add(response.headers().firstValue("X-Backend").orElse("?"));
    }
    return seen;
  }

  @Test
  void anInstanceFailingItsHealthCheckLeavesRotationAndComesBack() {
    GatewayHarness gw = gateway = new GatewayHarness(dir, """
        routes:
          - {path_prefix: /hc, backend: hc}
        backends:
          - name: hc
            match_labels: [app_name=hc, suite=%s]
            load_balancer: round_robin
            health_check: {path: /health, interval_ms: 100, timeout_ms: 100, healthy_threshold: 2, unhealthy_threshold: 2}
        """.formatted(SUITE));
    assertEquals(Set.of("a", "b"), servers(gw, 10));

    b.sick(true);
    Duration out = Poll.until(Duration.ofSeconds(2), "b out of rotation", () -> servers(gw, 6).equals(Set.of("a")));
    assertEquals(Set.of("a"), servers(gw, 20), "b stays out while sick");

    b.sick(false);
    Duration back = Poll.until(Duration.ofSeconds(2), "b back in rotation", () -> servers(gw, 6).contains("b"));
    System.out.printf("health: out after %d ms, back after %d ms%n", out.toMillis(), back.toMillis());
  }

  @Test
  @Timeout(60)
  void anInstanceThatDiesWhileUnhealthyIsRoutedWhenItComesBackHealthy() {
    GatewayHarness gw = gateway = new GatewayHarness(dir, """
        routes:
          - {path_prefix: /solo, backend: solo}
        backends:
          - name: solo
            match_labels: [app_name=hc-solo, suite=%s]
            health_check: {path: /health, interval_ms: 100, timeout_ms: 100, healthy_threshold: 2, unhealthy_threshold: 2}
        """.formatted(SUITE));
    // A cold gateway's first probes may time out (100 ms): wait for c to be in rotation.
    Poll.until(Duration.ofSeconds(5), "c in rotation", () -> gw.get("/solo/x").statusCode() == 200);
    c.sick(true);
    Poll.until(Duration.ofSeconds(3), "c out of rotation", () -> gw.get("/solo/x").statusCode() == 503);

    // Dies while unhealthy: gone from discovery, and the health checker forgets it.
    docker.kill(containerC);
    Poll.until(Duration.ofSeconds(5), "c gone from the route report", () -> instances(gw).isEmpty());

    // Back under the same id, healthy: the routers must not keep it out as the unhealthy instance it was.
    c.sick(false);
    docker.start(containerC);
    Poll.until(Duration.ofSeconds(5), "c back in the route report", () -> instances(gw).size() == 1);
    Poll.until(Duration.ofSeconds(3), "c routed again after coming back healthy",
        () -> gw.get("/solo/x").statusCode() == 200);
    assertEquals(true, instances(gw).getJsonObject(0).getBoolean("healthy"), instances(gw).encode());
  }

  static JsonArray instances(GatewayHarness gw) {
    return new JsonObject(gw.admin("/admin/routes").body()).getJsonArray("backends").getJsonObject(0)
        .getJsonArray("instances");
  }
}
