package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.Backends;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Ports;
import dev.dockgate.testing.TestBackend;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** /health (readiness, liveness) and /admin/routes against a running gateway. */
class AdminEndpointsIT {

  @RegisterExtension
  static final Backends backends = new Backends();
  static TestBackend backend;

  @TempDir
  Path dir;

  @BeforeAll
  static void start() {
    backend = backends.start("admin");
  }

  String config(String docker) {
    return """
        docker: %s
        routes:
          - {path_prefix: /api, backend: api, methods: [GET], retries: {attempts: 1}}
          - {path_prefix: /stuck, backend: api}
        backends:
          - name: api
            targets: ["http://127.0.0.1:%d"]
            load_balancer: round_robin
        """.formatted(docker, backend.port());
  }

  @Test
  void readyWhenDiscoveryFollowsTheEngine() {
    try (GatewayHarness gw = new GatewayHarness(dir, config("{enabled: true}"))) {
      HttpResponse<String> health = gw.admin("/health");
      assertEquals(200, health.statusCode(), health.body());
      JsonObject body = new JsonObject(health.body());
      assertEquals("UP", body.getString("status"));
      JsonArray checks = body.getJsonArray("checks");
      assertEquals(4, checks.size(), body.encode());
      JsonObject edge = checks.stream().map(JsonObject.class::cast)
          .filter(c -> c.getString("id").equals("edge")).findFirst().orElseThrow();
      assertEquals("UP", edge.getString("status"), "the strict request decoder is in place: " + body.encode());
      JsonObject discovery = checks.stream().map(JsonObject.class::cast)
          .filter(c -> c.getString("id").equals("discovery")).findFirst().orElseThrow();
      assertEquals(true, discovery.getJsonObject("data").getBoolean("connected"), body.encode());
      // Without -cluster: a cluster of this node alone, informational.
      JsonObject cluster = checks.stream().map(JsonObject.class::cast)
          .filter(c -> c.getString("id").equals("cluster")).findFirst().orElseThrow();
      assertEquals("UP", cluster.getString("status"));
      assertEquals(false, cluster.getJsonObject("data").getBoolean("enabled"), body.encode());
      assertEquals("standalone", cluster.getJsonObject("data").getString("node"), body.encode());
      assertEquals(200, gw.get("/health/live").statusCode());
    }
  }

  @Test
  void notReadyWhileTheEngineIsUnreachableButAlive() {
    try (GatewayHarness gw = new GatewayHarness(dir, config("{host: \"tcp://127.0.0.1:" + Ports.free() + "\"}"))) {
      HttpResponse<String> health = gw.admin("/health");
      assertEquals(503, health.statusCode(), health.body());
      assertEquals("DOWN", new JsonObject(health.body()).getString("status"));
      assertEquals(200, gw.get("/health/live").statusCode());
      assertEquals(200, gw.get("/api/x").statusCode(), "fixed targets still served");
    }
  }

  @Test
  void routesReportShowsRoutesBackendsAndInstances() {
    try (GatewayHarness gw = new GatewayHarness(dir, config("{enabled: false}"))) {
      HttpResponse<String> response = gw.admin("/admin/routes");
      assertEquals(200, response.statusCode());
      JsonObject report = new JsonObject(response.body());
      JsonObject route = report.getJsonArray("routes").getJsonObject(0);
      assertEquals("/api", route.getString("path_prefix"));
      assertEquals(true, route.getBoolean("rewrite_location"), "redirects to the instance rewritten on every route");
      assertEquals(false, route.getBoolean("rewrite_cookie_path"), "nothing stripped, no Path to put it back into");
      assertEquals(new JsonArray().add("GET"), route.getJsonArray("methods"));
      assertEquals(1, route.getInteger("retries"));
      assertEquals(0, route.getInteger("in_flight"));
      JsonObject backendReport = report.getJsonArray("backends").getJsonObject(0);
      assertEquals("round_robin", backendReport.getString("load_balancer"));
      JsonObject instance = backendReport.getJsonArray("instances").getJsonObject(0);
      assertEquals("127.0.0.1:" + backend.port(), instance.getString("address"));
      assertEquals("CLOSED", instance.getString("circuit"));
      assertTrue(instance.getBoolean("healthy"));
      assertTrue(instance.getBoolean("in_rotation"));
    }
  }

  @Test
  void theReadOnlyEndpointsRefuseOtherMethodsWith405() throws Exception {
    try (GatewayHarness gw = new GatewayHarness(dir, config("{enabled: false}"))) {
      String[][] endpoints = {{"main", "/stats"}, {"main", "/health/live"}, {"admin", "/admin/routes"},
          {"admin", "/metrics"}, {"admin", "/health"}};
      for (String[] endpoint : endpoints) {
        int port = endpoint[0].equals("main") ? gw.port() : gw.adminPort();
        for (String method : new String[] {"POST", "DELETE", "PUT"}) {
          HttpResponse<String> refused = gw.http().send(java.net.http.HttpRequest.newBuilder(
                  java.net.URI.create("http://127.0.0.1:" + port + endpoint[1]))
              .method(method, java.net.http.HttpRequest.BodyPublishers.ofString("x")).build(),
              HttpResponse.BodyHandlers.ofString());
          assertEquals(405, refused.statusCode(), method + " " + endpoint[1]);
          assertEquals("GET, HEAD", refused.headers().firstValue("allow").orElse(""), method + " " + endpoint[1]);
        }
        HttpResponse<Void> head = gw.http().send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("http://127.0.0.1:" + port + endpoint[1]))
            .method("HEAD", java.net.http.HttpRequest.BodyPublishers.noBody()).build(),
            HttpResponse.BodyHandlers.discarding());
        assertTrue(head.statusCode() == 200 || head.statusCode() == 503, "HEAD " + endpoint[1] + ": " + head.statusCode());
      }
      assertEquals(200, gw.get("/stats").statusCode());
    }
  }

  @Test
  void metricsAreServedInPrometheusTextAfterTraffic() {
    try (GatewayHarness gw = new GatewayHarness(dir, config("{enabled: false}"))) {
      assertEquals(200, gw.get("/api/m").statusCode());
      assertEquals(200, gw.get("/api/m").statusCode());
      assertEquals(404, gw.get("/nowhere").statusCode());
      dev.dockgate.testing.Poll.until(java.time.Duration.ofSeconds(3), "metrics counted", () -> gw.admin("/metrics").body()
          .contains("gateway_requests_total{backend=\"api\",route=\"/api\",status_class=\"2xx\"} 2.0"));
      HttpResponse<String> metrics = gw.admin("/metrics");
      assertTrue(metrics.headers().firstValue("content-type").orElse("").startsWith("text/plain; version=0.0.4"));
      String text = metrics.body();
      assertTrue(text.contains("gateway_requests_total{backend=\"none\",route=\"none\",status_class=\"4xx\"} 1.0"), text);
      assertTrue(text.contains("gateway_request_duration_seconds_count{backend=\"api\",route=\"/api\"} 2"), text);
      assertTrue(text.contains("gateway_backend_instances{backend=\"api\"} 1.0"), text);
      assertTrue(text.contains("gateway_requests_in_flight{backend=\"api\",route=\"/api\"} 0.0"), text);
      // A fixed target's id is whole: cut to 12 characters, targets on one host would share a label.
      String target = "127.0.0.1:" + backend.port();
      assertTrue(text.contains("gateway_circuit_state{backend_instance=\"api/" + target + "/static:" + target + "\"} 0.0"), text);
      for (String line : text.split("\n")) {
        assertTrue(line.startsWith("# HELP ") || line.startsWith("# TYPE ")
            || line.matches("[a-zA-Z_:][a-zA-Z0-9_:]*(\\{.*\\})? [-+0-9.eE]+|.* (NaN|[+-]Inf)"), "bad exposition line: " + line);
      }
    }
  }

  /**
   * A reload that renames a route leaves no in-flight series (nor counter) of the old name behind: before, every
   * route prefix ever configured stayed in {@code gateway_requests_in_flight} (at 0) and in the process, for good.
   */
  @Test
  void aRouteRenamedByAReloadLeavesNoInFlightSeriesBehind() throws Exception {
    try (GatewayHarness gw = new GatewayHarness(dir, config("{enabled: false}"))) {
      assertTrue(gw.admin("/metrics").body().contains("gateway_requests_in_flight{backend=\"api\",route=\"/stuck\"} 0.0"));
      gw.editConfig(yaml -> yaml.replace("path_prefix: /stuck,", "path_prefix: /parked,"));
      dev.dockgate.testing.Poll.until(java.time.Duration.ofSeconds(10), "the renamed route gauged",
          () -> gw.admin("/metrics").body().contains("gateway_requests_in_flight{backend=\"api\",route=\"/parked\"} 0.0"));
      String text = gw.admin("/metrics").body();
      assertFalse(text.contains("gateway_requests_in_flight{backend=\"api\",route=\"/stuck\"}"),
          "the old route's in-flight series is gone: " + text);
    }
  }

  @Test
  void inFlightRequestsAreGauged() throws Exception {
    try (GatewayHarness gw = new GatewayHarness(dir, config("{enabled: false}"))) {
      var parked = gw.http().sendAsync(java.net.http.HttpRequest.newBuilder(gw.uri("/stuck/never"))
          .timeout(java.time.Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
      dev.dockgate.testing.Poll.until(java.time.Duration.ofSeconds(3), "one request in flight", () -> gw.admin("/metrics").body()
          .contains("gateway_requests_in_flight{backend=\"api\",route=\"/stuck\"} 1.0"));
      JsonArray routes = new JsonObject(gw.admin("/admin/routes").body()).getJsonArray("routes");
      assertEquals(0, routes.getJsonObject(0).getInteger("in_flight"), "/api: " + routes.encode());
      assertEquals(1, routes.getJsonObject(1).getInteger("in_flight"), "/stuck: " + routes.encode());
      parked.cancel(true);
    }
  }
}
