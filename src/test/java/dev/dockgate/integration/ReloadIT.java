package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.Docker;
import dev.dockgate.testing.Backends;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import dev.dockgate.testing.TestBackend;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Editing the config file of a running gateway: applied live under load, or rejected and reported. */
class ReloadIT {

  @RegisterExtension
  static final Backends backends = new Backends();
  static TestBackend a;
  static TestBackend b;

  @TempDir
  Path dir;
  GatewayHarness gateway;

  @BeforeAll
  static void start() {
    a = backends.start("a");
    b = backends.start("b");
  }

  @AfterEach
  void stopGateway() {
    if (gateway != null) {
      gateway.close();
    }
  }

  String config(boolean withB) {
    return """
        docker: {enabled: false}
        routes:
          - {path_prefix: /a, backend: a}
        %s
        backends:
          - {name: a, targets: ["http://127.0.0.1:%d"]}
          - {name: b, targets: ["http://127.0.0.1:%d"]}
        """.formatted(withB ? "  - {path_prefix: /b, backend: b}" : "", a.port(), b.port());
  }

  /** GETs {@code path} over and over from two threads until stopped; counts answers by status. */
  static final class Load implements AutoCloseable {
    final Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
    final AtomicBoolean running = new AtomicBoolean(true);
    final List<Thread> threads = new CopyOnWriteArrayList<>();

    Load(GatewayHarness gw, String path) {
      for (int t = 0; t < 2; t++) {
        Thread thread = new Thread(() -> {
          for (int i = 0; i < 5_000 && running.get(); i++) {
            int status;
            try {
              status = gw.get(path).statusCode();
            } catch (RuntimeException e) {
              status = -1;
            }
            statuses.computeIfAbsent(status, k -> new AtomicInteger()).incrementAndGet();
          }
        });
        thread.start();
        threads.add(thread);
      }
    }

    @Override
    public void close() throws InterruptedException {
      running.set(false);
      for (Thread t : threads) {
        t.join(20_000);
      }
    }
  }

  @Test
  void aRouteAddedUnderLoadIsLiveWithinASecondAndNothingFails() throws Exception {
    GatewayHarness gw = gateway = new GatewayHarness(dir, config(false));
    assertEquals(404, gw.get("/b/x").statusCode());
    Load load = new Load(gw, "/a/x");
    try (load) {
      Poll.until(Duration.ofSeconds(2), "load running", () -> load.statuses.values().stream().mapToInt(AtomicInteger::get).sum() > 50);
      gw.rewriteConfig(config(true));
      Duration live = Poll.until(Duration.ofSeconds(1), "new route live", () -> gw.get("/b/x").statusCode() == 200);
      System.out.println("route live after " + live.toMillis() + " ms");
      Thread.sleep(200); // keep the load on across the switch
    }
    assertEquals(1, load.statuses.size(), "only 200s: " + load.statuses);
    assertTrue(load.statuses.containsKey(200), load.statuses.toString());
  }

  @Test
  void anInvalidEditIsRejectedReportedAndTheOldRoutesStay() throws Exception {
    List<String> warnings = new CopyOnWriteArrayList<>();
    Handler capture = new Handler() {
      @Override
      public void publish(LogRecord record) {
        warnings.add(record.getMessage());
      }

      @Override
      public void flush() {
      }

      @Override
      public void close() {
      }
    };
    Logger logger = Logger.getLogger("dev.dockgate.ConfigWatcher");
    logger.addHandler(capture);
    try {
      GatewayHarness gw = gateway = new GatewayHarness(dir, config(false));
      gw.rewriteConfig(config(true).replace("backend: b}", "backend: bee}"));
      Poll.until(Duration.ofSeconds(2), "rejection logged", () -> warnings.stream().anyMatch(w ->
          w.contains(gw.configFile() + ": routes[1].backend: unknown backend \"bee\"; known: a, b")));
      assertEquals(200, gw.get("/a/x").statusCode());
      assertEquals(404, gw.get("/b/x").statusCode());
      // Fixed, the edit goes live.
      gw.rewriteConfig(config(true));
      Poll.until(Duration.ofSeconds(1), "corrected route live", () -> gw.get("/b/x").statusCode() == 200);
      long rejections = warnings.stream().filter(w -> w.startsWith("config change rejected")).count();
      assertEquals(1, rejections, "reported once: " + warnings);
    } finally {
      logger.removeHandler(capture);
    }
  }

  @Test
  void changedBackendLabelsMoveTheRouteToOtherContainers() {
    String suite = "reload-" + UUID.randomUUID().toString().substring(0, 6);
    try (Docker docker = new Docker()) {
      docker.runHttpd("blue", Ports.free(), "/api/c/id", Map.of("color", "blue", "suite", suite));
      docker.runHttpd("green", Ports.free(), "/api/c/id", Map.of("color", "green", "suite", suite));
      String body = """
          routes:
            - {path_prefix: /api/c, backend: c}
          backends:
            - {name: c, match_labels: [color=%s, suite=%s]}
          """;
      GatewayHarness gw = gateway = new GatewayHarness(dir, body.formatted("blue", suite));
      assertEquals(docker.fullName("blue"), gw.get("/api/c/id").body().trim());
      Load load = new Load(gw, "/api/c/id");
      try (load) {
        gw.rewriteConfig(body.formatted("green", suite));
        Poll.until(Duration.ofSeconds(1), "route follows the new labels",
            () -> gw.get("/api/c/id").body().trim().equals(docker.fullName("green")));
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
      assertEquals(1, load.statuses.size(), "only 200s while the labels changed: " + load.statuses);
      for (int i = 0; i < 20; i++) {
        HttpResponse<String> r = gw.get("/api/c/id");
        assertEquals(docker.fullName("green"), r.body().trim());
      }
    }
  }
}
