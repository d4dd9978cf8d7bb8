package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.dockgate.testing.Backends;
import dev.dockgate.testing.Docker;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.TestBackend;
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

  @TempDir
  Path dir;
  GatewayHarness gateway;

  @BeforeAll
  static void start() {
    docker = new Docker();
    a = backends.start("a");
    b = backends.start("b");
    docker.runIdle("hc-a", Map.of("app_name", "hc", "suite", SUITE, "gateway.port", "" + a.port()));
    docker.runIdle("hc-b", Map.of("app_name", "hc", "suite", SUITE, "gateway.port", "" + b.port()));
  }

  @AfterAll
  static void stop() {
    docker.removeAll();
  }

  @AfterEach
  void stopGateway() {
    b.sick(false);
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
}
