package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.Docker;
import dev.dockgate.testing.GatewayJar;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import dev.dockgate.testing.TestCerts;
import dev.dockgate.testing.SecondEngine;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Discovery from two real engines: the main one on its unix socket and a second one of the test's
 * own ({@link SecondEngine}, {@code scripts/second-docker.sh}) over TCP with TLS, both holding a container of the same
 * name and labels. The real jar routes to both; with the second engine down its last instances stay
 * (its container runs on, --live-restore) while the first engine's changes are still followed; once
 * it is back its changes are seen again. A wrong CA is refused, logged, and no instance of it routed.
 */
class MultiEngineIT {

  static SecondEngine second;
  static Docker main;
  static Docker onSecond;

  @TempDir
  Path dir;

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final int adminPort = Ports.free();

  @BeforeAll
  static void engines() {
    main = new Docker();
    second = new SecondEngine();
    onSecond = main.onEngine(second.host());
  }

  @AfterAll
  static void stopSecondEngine() {
    if (second != null) {
      second.close();
    }
  }

  @AfterEach
  void removeContainers() {
    main.removeAll();
    if (onSecond != null) {
      onSecond.removeAll();
    }
  }

  /** A host-network busybox httpd on 127.0.0.1:{@code port} whose /api/who answers {@code answer}. */
  private static String serve(Docker engine, String name, int port, String answer) {
    Map<String, String> labels = new HashMap<>(Map.of("app_name", main.fullName("multi"), "gateway.port",
        Integer.toString(port)));
    return engine.run(name, labels, List.of("busybox", "sh", "-c", "mkdir -p /www/api && echo " + answer
        + " > /www/api/who && exec busybox httpd -f -p 127.0.0.1:" + port + " -h /www"));
  }

  private GatewayJar gateway(String secondTls) {
    return new GatewayJar(dir, "  admin_listener: {port: " + adminPort + "}\n", """
        docker:
          engines:
            - unix:///var/run/docker.sock
            - name: second
              host: "%s"
              tls: %s
        routes: [{path_prefix: /api, backend: multi}]
        backends:
          - name: multi
            match_labels: [app_name=%s]
            load_balancer: round_robin
            circuit_breaker: {startup_grace_ms: 0}
        """.formatted(second.tcpHost(), secondTls, main.fullName("multi")), 1);
  }

  private String tls(Path ca) {
    return "{ca_file: \"%s\", cert_file: \"%s\", key_file: \"%s\"}".formatted(ca, second.clientCert(), second.clientKey());
  }

  /** The answers of {@code n} requests to /api/who: every one must be a 200. */
  private static Set<String> answers(GatewayJar gw, int n) {
    return answers(gw, n, true);
  }

  /** The answers of {@code n} requests to /api/who; while waiting for a change ({@code strict} false), 200s only. */
  private static Set<String> answers(GatewayJar gw, int n, boolean strict) {
    Set<String> seen = new TreeSet<>();
    for (int i = 0; i < n; i++) {
      HttpResponse<String> response = gw.get("/api/who");
      if (strict) {
        assertEquals(200, response.statusCode(), "request " + i + ": " + response.body());
      }
      if (response.statusCode() == 200) {
        seen.add(response.body().trim());
      }
    }
    return seen;
  }

  /** The discovery check of /health on the admin listener: its HTTP status and data. */
  private JsonObject discovery() {
    try {
      HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/health"))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
      JsonObject check = new JsonObject(health.body()).getJsonArray("checks").stream().map(JsonObject.class::cast)
          .filter(c -> c.getString("id").equals("discovery")).findFirst().orElseThrow();
      return check.getJsonObject("data").put("http_status", health.statusCode());
    } catch (Exception e) {
      throw new AssertionError("GET /health: " + e, e);
    }
  }

  private JsonObject engine(JsonObject discovery, String name) {
    return discovery.getJsonArray("engines").stream().map(JsonObject.class::cast)
        .filter(e -> e.getString("name").equals(name)).findFirst().orElseThrow(() -> new AssertionError(discovery.encode()));
  }

  private JsonObject routeReport() throws Exception {
    HttpResponse<String> routes = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/admin/routes"))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    return new JsonObject(routes.body());
  }

  @Test
  @Timeout(240)
  void routesToBothEnginesAndKeepsOnesInstancesWhileItIsDown() throws Exception {
    int mainPort = Ports.free();
    int secondPort = Ports.free();
    String mainId = serve(main, "multi", mainPort, "main");
    String secondId = serve(onSecond, "multi", secondPort, "second");

    try (GatewayJar gw = gateway(tls(second.ca()))) {
      Poll.until(Duration.ofSeconds(15), "instances of both engines routed", () -> answers(gw, 6, false).size() == 2);
      assertEquals(Set.of("main", "second"), answers(gw, 10));

      // Same container name on both engines, told apart by the engine in the instance id.
      JsonObject report = routeReport();
      JsonArray instances = report.getJsonArray("backends").getJsonObject(0).getJsonArray("instances");
      assertEquals(2, instances.size(), instances.encode());
      Set<String> ids = new TreeSet<>();
      for (Object o : instances) {
        JsonObject instance = (JsonObject) o;
        assertEquals(main.fullName("multi"), instance.getString("name"), instances.encode());
        ids.add(instance.getString("id"));
      }
      assertEquals(new TreeSet<>(Set.of("local/" + mainId, "second/" + secondId)), ids);

      JsonObject both = discovery();
      assertEquals(200, both.getInteger("http_status"), both.encode());
      assertEquals("connected", both.getString("state"), both.encode());
      // The main engine is shared with the rest of the suite (other labeled containers may run there):
      // only the second engine's count is this test's alone; the total is the engines' sum.
      assertEquals(1, engine(both, "second").getInteger("instances"), both.encode());
      assertEquals(engine(both, "local").getInteger("instances") + 1, both.getInteger("instances"), both.encode());
      assertEquals(true, engine(both, "second").getBoolean("tls"), both.encode());
      assertEquals(second.tcpHost(), engine(both, "second").getString("engine"), both.encode());
      assertEquals("connected", engine(report.getJsonObject("discovery"), "second").getString("state"), report.encode());

      // The second engine goes away: its container runs on, its last instance stays in rotation.
      second.stop();
      Poll.until(Duration.ofSeconds(15), "second engine reported lost",
          () -> !engine(discovery(), "second").getBoolean("connected"));
      JsonObject degraded = discovery();
      assertEquals("degraded", degraded.getString("state"), degraded.encode());
      assertEquals(200, degraded.getInteger("http_status"), "ready while one engine is followed: " + degraded.encode());
      assertEquals(true, engine(degraded, "local").getBoolean("connected"), degraded.encode());
      assertEquals(1, engine(degraded, "second").getInteger("instances"), degraded.encode());
      assertEquals(false, engine(routeReport().getJsonObject("discovery"), "second").getBoolean("connected"));
      assertTrue(gw.output().contains("docker engine second (" + second.tcpHost() + ") unreachable"), gw.output());
      assertEquals(Set.of("main", "second"), answers(gw, 10));

      // The first engine is still followed meanwhile.
      String mainNext = serve(main, "multi-next", Ports.free(), "main-next");
      Poll.until(Duration.ofSeconds(15), "a new container of the first engine routed while the second is down",
          () -> answers(gw, 9, false).contains("main-next"));
      main.kill(mainId);
      Poll.until(Duration.ofSeconds(15), "the first engine's killed container dropped",
          () -> !answers(gw, 9, false).contains("main"));

      // Back: the second engine's changes are seen again.
      second.start();
      Poll.until(Duration.ofSeconds(30), "second engine followed again",
          () -> engine(discovery(), "second").getBoolean("connected"));
      String secondNext = serve(onSecond, "multi-next", Ports.free(), "second-next");
      onSecond.kill(secondId);
      Poll.until(Duration.ofSeconds(15), "the second engine's new container routed and its killed one dropped",
          () -> answers(gw, 9, false).equals(Set.of("main-next", "second-next")));
      assertEquals(Set.of("main-next", "second-next"), answers(gw, 10));
      assertTrue(gw.output().contains("docker engine second (" + second.tcpHost() + ") reachable again"), gw.output());
      assertEquals("connected", discovery().getString("state"));
      assertFalse(gw.output().contains("SEVERE"), gw.output());
      assertTrue(mainNext.length() > 0 && secondNext.length() > 0);
    }
  }

  /**
   * The second engine stopped with SIGSTOP while followed over TLS: the kernel keeps its sockets open and the event
   * stream stays silent, so only the liveness check tells; the gateway reports it unreachable within its bound
   * (docs/discovery.md), keeps its last instance, and once the engine runs again follows its changes. Before, the
   * gateway waited on the silent stream for ever: no WARNING, and nothing the engine did afterwards was seen.
   */
  @Test
  @Timeout(180)
  void anEngineFrozenWithSigstopIsReportedWithinItsBoundAndFollowedOnceItRuns() throws Exception {
    String secondId = serve(onSecond, "multi", Ports.free(), "second");
    try (GatewayJar gw = gateway(tls(second.ca()))) {
      Poll.until(Duration.ofSeconds(15), "the second engine's container routed", () -> answers(gw, 3, false).contains("second"));
      String unreachable = "docker engine second (" + second.tcpHost() + ") unreachable";
      second.freeze();
      try {
        Duration noticed = Poll.until(Duration.ofSeconds(32), "the frozen engine reported unreachable",
            () -> gw.output().contains(unreachable));
        System.out.printf("engine stopped with SIGSTOP reported after %d ms%n", noticed.toMillis());
        assertEquals(Set.of("second"), answers(gw, 5), "its last instance kept");
      } finally {
        second.thaw();
      }
      Poll.until(Duration.ofSeconds(30), "the second engine followed again",
          () -> engine(discovery(), "second").getBoolean("connected"));
      serve(onSecond, "multi-next", Ports.free(), "second-next");
      onSecond.kill(secondId);
      Poll.until(Duration.ofSeconds(15), "its new container routed and its killed one dropped",
          () -> answers(gw, 6, false).equals(Set.of("second-next")));
      assertEquals(1, gw.output().lines().filter(l -> l.contains(unreachable)).count(), gw.output());
      assertFalse(gw.output().contains("SEVERE"), gw.output());
    }
  }

  @Test
  @Timeout(120)
  void anEngineWhoseCertificateTheCaDoesNotSignIsRefused() throws Exception {
    serve(main, "multi", Ports.free(), "main");
    serve(onSecond, "multi", Ports.free(), "second");
    Path wrongCa = TestCerts.selfSigned(dir, "wrong-ca").cert();

    try (GatewayJar gw = gateway(tls(wrongCa))) {
      Poll.until(Duration.ofSeconds(15), "the refusal logged",
          () -> gw.output().contains("docker engine second (" + second.tcpHost() + ") refused: the TLS handshake failed"));
      Poll.until(Duration.ofSeconds(15), "the first engine's container routed", () -> answers(gw, 3, false).contains("main"));
      assertEquals(Set.of("main"), answers(gw, 10), "nothing of the engine that was not verified");
      JsonObject status = discovery();
      JsonObject refused = engine(status, "second");
      assertEquals(false, refused.getBoolean("connected"), status.encode());
      assertEquals(0, refused.getInteger("instances"), status.encode());
      assertTrue(refused.getString("last_error", "").startsWith("TLS handshake failed"), status.encode());
      assertEquals("degraded", status.getString("state"), status.encode());
    }
  }
}
