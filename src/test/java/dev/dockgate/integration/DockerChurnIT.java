package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.discovery.ContainerRecords;
import dev.dockgate.discovery.DiscoveryVerticle;
import dev.dockgate.discovery.DockerImporter;
import dev.dockgate.testing.Docker;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.LoggedErrors;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import io.vertx.servicediscovery.ServiceDiscovery;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Containers as an operator's fleet has them: restarting in a loop, with a HEALTHCHECK that flaps, with labels
 * for several backends, with a gateway label in the wrong letter case. Checked: rotation, one log line per
 * container where one is due, and no record left in the registry once they are gone.
 */
class DockerChurnIT {

  @TempDir
  Path dir;
  Docker docker;
  String suite;

  @BeforeEach
  void start() {
    docker = new Docker();
    suite = "churn-" + UUID.randomUUID().toString().substring(0, 6);
  }

  @AfterEach
  void stop() {
    docker.removeAll();
  }

  private Map<String, String> labels(String... keyValues) {
    Map<String, String> labels = new HashMap<>();
    labels.put("suite", suite);
    for (int i = 0; i < keyValues.length; i += 2) {
      labels.put(keyValues[i], keyValues[i + 1]);
    }
    return labels;
  }

  /**
   * A gateway label in another letter case is not read: one WARNING names the label and the spelling read, once
   * per container however many listings follow, and again only for another container.
   */
  @Test
  @Timeout(90)
  void aMisspeltGatewayLabelIsReportedOncePerContainer() throws Exception {
    try (LoggedErrors warnings = new LoggedErrors(DockerImporter.class.getName(), Level.WARNING);
         GatewayHarness gw = new GatewayHarness(dir, """
             routes: [{path_prefix: /api/spelt, backend: spelt}]
             backends: [{name: spelt, match_labels: [app_name=spelt, suite=%s]}]
             """.formatted(suite))) {
      String misspelt = docker.runIdle("spelt-upper", labels("app_name", "spelt", "GATEWAY.PORT", "8080"));
      Poll.until(Duration.ofSeconds(10), "a WARNING naming the misspelt label",
          () -> misspelt(warnings, "spelt-upper") == 1);
      String line = warnings.lines().stream().filter(l -> l.contains(docker.fullName("spelt-upper"))).findFirst().orElseThrow();
      assertTrue(line.contains("\"GATEWAY.PORT\" (read: gateway.port)"), line);

      // More listings: each container event brings one.
      for (int i = 0; i < 3; i++) {
        docker.stop(docker.runHttpd("spelt-other-" + i, Ports.free(), "/api/spelt/id", labels("app_name", "spelt")));
      }
      String second = docker.runIdle("spelt-mixed", labels("app_name", "spelt", "Gateway.Scheme", "https"));
      Poll.until(Duration.ofSeconds(10), "the second container's WARNING", () -> misspelt(warnings, "spelt-mixed") == 1);
      assertEquals(1, misspelt(warnings, "spelt-upper"), "one WARNING for the first container: " + warnings.lines());
      docker.stop(second);
      docker.stop(misspelt);
    }
  }

  /**
   * A HEALTHCHECK that flaps every second: the container still goes in and out of rotation at each change, but its
   * health is said once, then in at most one summary a period ({@code gateway.docker.health.log.period.ms}, 4 s here)
   * with how many changes it counted and the health now. Before, every change was one INFO line, forever.
   */
  @Test
  @Timeout(90)
  void aFlappingHealthcheckIsSaidAtMostOnceAPeriod() throws Exception {
    System.setProperty("gateway.docker.health.log.period.ms", "4000");
    try (LoggedErrors log = new LoggedErrors(DockerImporter.class.getName(), Level.INFO);
         GatewayHarness gw = new GatewayHarness(dir, """
             routes: [{path_prefix: /api/flap, backend: flap}]
             backends: [{name: flap, match_labels: [app_name=flap, suite=%s]}]
             """.formatted(suite))) {
      docker.runHttpd("flap", Ports.free(), "/api/flap/id", labels("app_name", "flap"),
          List.of("--health-cmd", "test $(( $(date +%s) % 2 )) -eq 0", "--health-interval", "200ms",
              "--health-retries", "1"));
      String name = docker.fullName("flap");
      Poll.until(Duration.ofSeconds(15), "the first change said", () -> healthLines(log, name).size() >= 1);
      java.util.Set<Integer> counts = new java.util.HashSet<>();
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (System.nanoTime() < until) {
        counts.add(DockerRoutingIT.instanceCount(gw, "flap"));
        Thread.sleep(100);
      }
      List<String> lines = healthLines(log, name);
      assertEquals(java.util.Set.of(0, 1), counts, "in and out of rotation as its health changes");
      assertTrue(lines.size() <= 5, "the first change, then at most one line every 4 s: " + lines);
      assertTrue(lines.stream().anyMatch(l -> l.matches(".*changed health \\d+ times in the last [3-5] s, now (un)?healthy")),
          lines.toString());
    } finally {
      System.clearProperty("gateway.docker.health.log.period.ms");
    }
  }

  /** The lines saying container {@code name}'s health (its first one, when published, apart). */
  private static List<String> healthLines(LoggedErrors log, String name) {
    return log.lines().stream().filter(l -> l.contains("container " + name + " (") && !l.contains("instance up")
        && (l.contains(" is ") || l.contains("changed health"))).toList();
  }

  /** Warnings about misspelt labels of container {@code name}. */
  private long misspelt(LoggedErrors warnings, String name) {
    return warnings.lines().stream().filter(l -> l.contains("case-sensitive") && l.contains(docker.fullName(name) + " "))
        .count();
  }

  /**
   * A container restarting in a loop, one whose HEALTHCHECK flaps and one serving two backends, for a while;
   * then all stopped: every backend is left without instance and the registry holds no record of theirs.
   */
  @Test
  @Timeout(180)
  void aFleetThatRestartsAndFlapsLeavesNothingBehind() throws Exception {
    try (LoggedErrors log = new LoggedErrors(DockerImporter.class.getName(), Level.INFO);
         GatewayHarness gw = new GatewayHarness(dir, """
             routes:
               - {path_prefix: /api/loop, backend: loop}
               - {path_prefix: /api/flap, backend: flap}
               - {path_prefix: /api/a, backend: a}
               - {path_prefix: /api/b, backend: b}
             backends:
               - {name: loop, match_labels: [app_name=loop, suite=%1$s]}
               - {name: flap, match_labels: [app_name=flap, suite=%1$s]}
               - {name: a, match_labels: [role=a, suite=%1$s]}
               - {name: b, match_labels: [tier=b, suite=%1$s]}
             """.formatted(suite))) {
      int loopPort = Ports.free();
      // serves about a second, exits 1, restarted by the engine
      String loop = docker.run("loop", labels("app_name", "loop", "gateway.port", Integer.toString(loopPort),
              "Gateway.Port", Integer.toString(loopPort)), List.of("--restart", "always"),
          List.of("busybox", "sh", "-c", "mkdir -p /www/api/loop && echo loop > /www/api/loop/id"
              + " && (busybox timeout 1 busybox httpd -f -p 127.0.0.1:" + loopPort + " -h /www; exit 1)"));
      // no address to reach it by: skipped, and said so once, not at every restart
      docker.run("loop-unusable", labels("app_name", "loop"), List.of("--restart", "always"),
          List.of("busybox", "sh", "-c", "sleep 1; exit 1"));
      String flap = docker.runHttpd("flap", Ports.free(), "/api/flap/id", labels("app_name", "flap"),
          List.of("--health-cmd", "test $(( $(date +%s) % 2 )) -eq 0", "--health-interval", "300ms",
              "--health-retries", "1"));
      String multi = docker.runHttpd("multi", Ports.free(), "/api/a/id", labels("role", "a", "tier", "b"));
      Poll.until(Duration.ofSeconds(10), "the two-backend container in both",
          () -> DockerRoutingIT.instanceCount(gw, "a") == 1 && DockerRoutingIT.instanceCount(gw, "b") == 1);

      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(12);
      int loopAnswers = 0;
      while (System.nanoTime() < until) {
        loopAnswers += gw.get("/api/loop/id").statusCode() == 200 ? 1 : 0;
        gw.get("/api/flap/id");
        Thread.sleep(20);
      }
      String restarts = Docker.exec(List.of("docker", "inspect", "--format", "{{.RestartCount}}", loop)).output().trim();
      List<String> lines = log.lines();
      System.out.printf("churn: loop restarted %s times, answered %d; %d discovery lines%n", restarts, loopAnswers,
          lines.size());
      lines.forEach(System.out::println);
      assertEquals(1, lines.stream().filter(l -> l.contains("case-sensitive")).count(),
          "one WARNING for the looping container's misspelt label");
      assertEquals(1, lines.stream().filter(l -> l.contains(docker.fullName("loop-unusable") + " ")).count(),
          "one line for the looping container without an address");

      docker.stop(loop);
      docker.stop(docker.fullName("loop-unusable"));
      docker.stop(flap);
      docker.stop(multi);
      Poll.until(Duration.ofSeconds(10), "every backend without instance", () -> List.of("loop", "flap", "a", "b")
          .stream().allMatch(b -> DockerRoutingIT.instanceCount(gw, b) == 0));
      ServiceDiscovery discovery = ServiceDiscovery.create(gw.vertx(), DiscoveryVerticle.discoveryOptions());
      try {
        Poll.until(Duration.ofSeconds(5), "no record of the suite's containers in the registry", () -> {
          try {
            return discovery.getRecords(r -> ContainerRecords.fromDocker(r)
                    && suite.equals(r.getMetadata().getString("suite")))
                .toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS).isEmpty();
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        });
      } finally {
        discovery.close();
      }
    }
  }
}
