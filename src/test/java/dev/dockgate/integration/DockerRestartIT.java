package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.dockgate.testing.Docker;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real Docker engine restarted under load. The project's engine runs with --live-restore
 * (scripts/ensure-docker.sh), so containers keep serving while dockerd is down: the gateway must
 * keep routing to them, survive the event stream's end, and follow the engine again once it is back.
 */
class DockerRestartIT {

  @TempDir
  Path dir;

  static String engineCommandLine() {
    Docker.Result pid = Docker.exec(List.of("pgrep", "-x", "dockerd"));
    if (pid.code() != 0) {
      return "";
    }
    try {
      return Files.readString(Path.of("/proc", pid.output().trim().split("\\s+")[0], "cmdline")).replace('\0', ' ');
    } catch (Exception e) {
      return "";
    }
  }

  @Test
  void routingSurvivesAnEngineRestartAndDiscoveryResumes() throws Exception {
    String cmdline = engineCommandLine();
    // Only the engine this project's script started is ours to restart.
    assumeTrue(cmdline.contains("--bridge=none"), "engine not started by scripts/ensure-docker.sh: " + cmdline);
    assertTrue(cmdline.contains("--live-restore"), "start the engine with scripts/ensure-docker.sh (--live-restore): " + cmdline);

    String suite = "restart-" + UUID.randomUUID().toString().substring(0, 6);
    Map<String, String> labels = Map.of("app_name", "rs", "suite", suite);
    try (Docker docker = new Docker()) {
      String first = docker.runHttpd("first", Ports.free(), "/api/rs/id", labels);
      try (GatewayHarness gw = new GatewayHarness(dir, """
          routes:
            - {path_prefix: /api/rs, backend: rs}
          backends:
            - {name: rs, match_labels: [app_name=rs, suite=%s], circuit_breaker: {reset_timeout_ms: 1000}}
          """.formatted(suite))) {
        Poll.until(Duration.ofSeconds(3), "first routed", () -> gw.get("/api/rs/id").statusCode() == 200);
        ReloadIT.Load load = new ReloadIT.Load(gw, "/api/rs/id");
        try (load) {
          assertEquals(0, Docker.exec(List.of("pkill", "-TERM", "-x", "dockerd")).code());
          Poll.until(Duration.ofSeconds(30), "engine stopped",
              () -> Docker.exec(List.of("pgrep", "-x", "dockerd")).code() != 0);
          for (int i = 0; i < 20; i++) {
            assertEquals(200, gw.get("/api/rs/id").statusCode(), "served while the engine is down");
          }
          Docker.Result restart = Docker.exec(List.of("scripts/ensure-docker.sh"));
          assertEquals(0, restart.code(), restart.output());
        }
        assertEquals(1, load.statuses.size(), "only 200s under load: " + load.statuses);
        assertTrue(load.statuses.containsKey(200), load.statuses.toString());

        // Discovery follows the engine again: a new container is routed, the old one dropped.
        docker.runHttpd("second", Ports.free(), "/api/rs/id", labels);
        docker.stop(first);
        Poll.until(Duration.ofSeconds(10), "discovery resumed after the restart",
            () -> gw.get("/api/rs/id").body().trim().equals(docker.fullName("second")));
      }
    }
  }
}
