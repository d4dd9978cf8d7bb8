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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The core contract against a real Docker engine: label matching, longest prefix, default
 * response, 503 without instance, random spread, discovery of started and stopped containers.
 * Containers are busybox httpd servers on 127.0.0.1, host network.
 */
class DockerRoutingIT {

  static Docker docker;
  /** A label value unique to this run, so containers of other runs never match. */
  static final String APP = "it-" + UUID.randomUUID().toString().substring(0, 6);

  @TempDir
  Path dir;
  GatewayHarness gateway;

  @BeforeAll
  static void containers() {
    docker = new Docker();
    docker.runHttpd("orders-1", Ports.free(), "/api/orders/id", labels("orders", "production"));
    docker.runHttpd("orders-2", Ports.free(), "/api/orders/id", labels("orders", "production"));
    docker.runHttpd("admin-1", Ports.free(), "/api/orders/admin/id", labels("admin", "production"));
    // Carries app_name=payment but env=staging: a partial match must not be selected.
    docker.runHttpd("payment-staging", Ports.free(), "/api/payment/id", labels("payment", "staging"));
  }

  @AfterAll
  static void removeContainers() {
    docker.removeAll();
  }

  @AfterEach
  void stopGateway() {
    if (gateway != null) {
      gateway.close();
    }
  }

  static Map<String, String> labels(String app, String env) {
    Map<String, String> labels = new HashMap<>();
    labels.put("app_name", app);
    labels.put("env", env);
    labels.put("suite", APP);
    return labels;
  }

  static String config() {
    return """
        routes:
          - path_prefix: /api/orders
            backend: orders
          - path_prefix: /api/orders/admin
            backend: admin
          - path_prefix: /api/payment
            backend: payment
        default_response:
          body: "This is not reachable"
          status_code: 403
        backends:
          - name: orders
            match_labels: [app_name=orders, env=production, suite=%1$s]
          - name: admin
            match_labels: [app_name=admin, env=production, suite=%1$s]
          - name: payment
            match_labels: [app_name=payment, env=production, suite=%1$s]
        """.formatted(APP);
  }

  GatewayHarness gateway() {
    gateway = new GatewayHarness(dir, config());
    return gateway;
  }

  /**
   * A container's labels are written by whoever starts it: a gateway.port label holding a line break and terminal
   * escapes must not forge a line of the gateway's log nor color it. Before, the skipped container's line held the
   * label as it was: a second line "... SEVERE [...] forged" and a raw ESC.
   */
  @Test
  @org.junit.jupiter.api.Timeout(120)
  void aLabelCannotForgeALogLine() {
    String forged = "2026-01-01 00:00:00.000 SEVERE  [dev.dockgate.MainVerticle] forged";
    Map<String, String> labels = labels("orders", "production");
    labels.put("gateway.port", "80\r\n" + forged + " \u001b[31mred");
    docker.runIdle("forged-label", labels);
    try (dev.dockgate.testing.GatewayJar jar = new dev.dockgate.testing.GatewayJar(dir, "", config(), 1)) {
      Poll.until(Duration.ofSeconds(20), "the container with the bad label skipped and logged",
          () -> jar.output().contains("forged-label-"));
      Poll.until(Duration.ofSeconds(5), "its whole line logged", () -> jar.output().contains("is not a port number"));
      String output = jar.output();
      assertTrue(output.lines().noneMatch(l -> l.startsWith(forged)), output);
      assertTrue(output.indexOf('\u001b') < 0 && output.indexOf('\r') < 0, output);
      assertTrue(output.contains("label gateway.port=\"80\\x0D\\x0A" + forged + " \\x1B[31mred\" is not a port number"),
          output);
    }
  }

  @Test
  void routesByPrefixToAMatchingContainer() {
    GatewayHarness gw = gateway();
    HttpResponse<String> response = gw.get("/api/orders/id");
    assertEquals(200, response.statusCode());
    String body = response.body().trim();
    assertTrue(body.equals(docker.fullName("orders-1")) || body.equals(docker.fullName("orders-2")), body);
  }

  @Test
  void longestPrefixWins() {
    GatewayHarness gw = gateway();
    HttpResponse<String> response = gw.get("/api/orders/admin/id");
    assertEquals(200, response.statusCode());
    assertEquals(docker.fullName("admin-1"), response.body().trim());
  }

  @Test
  void pathAndQueryReachTheBackendUnchanged() {
    GatewayHarness gw = gateway();
    // busybox httpd ignores the query string and serves the file named by the path.
    HttpResponse<String> response = gw.get("/api/orders/id?x=1&y=%20z");
    assertEquals(200, response.statusCode());
    assertEquals(404, gw.get("/api/orders/missing").statusCode(), "backend 404 passes through");
  }

  @Test
  void noRouteGivesTheDefaultResponse() {
    GatewayHarness gw = gateway();
    HttpResponse<String> response = gw.get("/somewhere/else");
    assertEquals(403, response.statusCode());
    assertEquals("This is not reachable", response.body());
  }

  @Test
  void partialLabelMatchIsNotSelectedAndNoInstanceGives503() {
    GatewayHarness gw = gateway();
    HttpResponse<String> response = gw.get("/api/payment/id");
    assertEquals(503, response.statusCode());
    assertTrue(response.body().contains("\"payment\""), response.body());
  }

  @Test
  void spreadsRandomlyOverTwoContainers() {
    GatewayHarness gw = gateway();
    Map<String, Integer> hits = new HashMap<>();
    int n = 200;
    for (int i = 0; i < n; i++) {
      HttpResponse<String> response = gw.get("/api/orders/id");
      assertEquals(200, response.statusCode());
      hits.merge(response.body().trim(), 1, Integer::sum);
    }
    assertEquals(2, hits.size(), hits.toString());
    // Binomial(200, 0.5): below 60 on one side has probability < 1e-8.
    hits.values().forEach(count -> assertTrue(count >= 60, hits.toString()));
  }

  @Test
  void aStartedContainerIsRoutedAndAStoppedOneDroppedWithinOneSecond() {
    GatewayHarness gw = gateway();
    assertEquals(503, gw.get("/api/payment/id").statusCode());

    String id = docker.runHttpd("payment-new", Ports.free(), "/api/payment/id", labels("payment", "production"));
    Duration up = Poll.until(Duration.ofSeconds(1), "new container routed",
        () -> gw.get("/api/payment/id").statusCode() == 200);
    assertEquals(docker.fullName("payment-new"), gw.get("/api/payment/id").body().trim());

    long stopAsked = System.nanoTime();
    Thread stopper = new Thread(() -> docker.stop(id));
    stopper.start();
    Duration down = Poll.until(Duration.ofSeconds(1), "stopped container dropped",
        () -> gw.get("/api/payment/id").statusCode() == 503);
    assertTrue(System.nanoTime() - stopAsked < Duration.ofSeconds(1).toNanos() + down.toNanos());
    try {
      stopper.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    assertEquals(503, gw.get("/api/payment/id").statusCode());
    System.out.printf("discovery latency: up %d ms, down %d ms%n", up.toMillis(), down.toMillis());
  }

  /**
   * A paused container ({@code docker pause}: its processes frozen, its sockets still accepting) leaves rotation at its
   * pause and is back at its unpause: requests go to the other instance meanwhile. Before, it stayed in rotation (the
   * engine lists a paused container among the running ones, {@code State: paused}) and each request sent there waited
   * for the route's timeout (504) until its circuit opened.
   */
  @Test
  void aPausedContainerLeavesRotationUntilUnpaused() {
    String paused = docker.runHttpd("billing-paused", Ports.free(), "/api/billing/id", labels("billing", "production"));
    docker.runHttpd("billing-other", Ports.free(), "/api/billing/id", labels("billing", "production"));
    gateway = new GatewayHarness(dir, """
        routes:
          - {path_prefix: /api/billing, backend: billing, timeout_ms: 2000}
        backends:
          - name: billing
            match_labels: [app_name=billing, env=production, suite=%s]
        """.formatted(APP));
    Poll.until(Duration.ofSeconds(5), "both instances answering", () -> {
      Set<String> seen = new HashSet<>();
      for (int i = 0; i < 20; i++) {
        seen.add(gateway.get("/api/billing/id").body().trim());
      }
      return seen.size() == 2;
    });
    docker.pause(paused);
    try {
      Poll.until(Duration.ofSeconds(2), "the paused instance out of the route's instances", () -> instanceCount(gateway) == 1);
      List<String> answers = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        HttpResponse<String> r = gateway.get("/api/billing/id");
        answers.add(r.statusCode() + " " + r.body().trim());
      }
      assertEquals(List.of(), answers.stream().filter(a -> !a.equals("200 " + docker.fullName("billing-other"))).toList(),
          "answers while one instance is paused: " + answers);
    } finally {
      docker.unpause(paused);
    }
    Poll.until(Duration.ofSeconds(5), "the unpaused instance back", () -> {
      for (int i = 0; i < 20; i++) {
        if (gateway.get("/api/billing/id").body().trim().equals(docker.fullName("billing-paused"))) {
          return true;
        }
      }
      return false;
    });
  }

  /** A gateway with one route, /api/NAME, to backend NAME: the containers labelled app_name=NAME, env=production. */
  GatewayHarness oneBackend(String name) {
    gateway = new GatewayHarness(dir, """
        routes:
          - {path_prefix: /api/%1$s, backend: %1$s}
        backends:
          - name: %1$s
            match_labels: [app_name=%1$s, env=production, suite=%2$s]
        """.formatted(name, APP));
    return gateway;
  }

  /** How many instances the billing backend has, from the admin listener's route report. */
  static int instanceCount(GatewayHarness gateway) {
    return instanceCount(gateway, "billing");
  }

  /** How many instances {@code backend} has, from the admin listener's route report. */
  static int instanceCount(GatewayHarness gateway, String backend) {
    for (Object b : new io.vertx.core.json.JsonObject(gateway.admin("/admin/routes").body()).getJsonArray("backends")) {
      if (((io.vertx.core.json.JsonObject) b).getString("name").equals(backend)) {
        return ((io.vertx.core.json.JsonObject) b).getJsonArray("instances").size();
      }
    }
    throw new AssertionError("no backend " + backend);
  }

  /**
   * A container stopped with a stop signal of its own ({@code STOPSIGNAL SIGWINCH}, as the official Apache
   * httpd image has, or {@code docker run --stop-signal}) leaves rotation at its stop's {@code kill} event,
   * while it drains, as one stopped with SIGTERM does. Before, only SIGTERM, SIGINT, SIGQUIT and SIGKILL
   * were taken for a stop: it stayed in rotation until it died (Docker 20.10 sends its {@code stop} event
   * only then), and a server that closes its listener at the signal refused every request meanwhile.
   */
  @Test
  @Timeout(60)
  void aContainerWithItsOwnStopSignalLeavesRotationWhenItIsStopped() throws Exception {
    int port = Ports.free();
    Map<String, String> labels = new HashMap<>(labels("shop", "production"));
    labels.put("gateway.port", Integer.toString(port));
    String script = "mkdir -p /www/api/shop && echo " + docker.fullName("shop-winch") + " > /www/api/shop/id"
        + " && { busybox httpd -f -p 127.0.0.1:" + port + " -h /www & pid=$!; }"
        + " && trap 'sleep 4; kill $pid; exit 0' WINCH && while true; do wait; done";
    String id = docker.run("shop-winch", labels, List.of("--stop-signal", "WINCH"), List.of("busybox", "sh", "-c", script));
    gateway = oneBackend("shop");
    Poll.until(Duration.ofSeconds(5), "the container routed", () -> gateway.get("/api/shop/id").statusCode() == 200);
    Thread stopper = new Thread(() -> Docker.exec(List.of("docker", "stop", "-t", "20", id)));
    stopper.start();
    try {
      Poll.until(Duration.ofSeconds(3), "the stopping container out of rotation", () -> instanceCount(gateway, "shop") == 0);
      assertEquals("true", Docker.exec(List.of("docker", "inspect", "--format", "{{.State.Running}}", id)).output().trim(),
          "left rotation while it drains, before it exits");
    } finally {
      stopper.join(30_000);
    }
  }

  /**
   * A container on the host network without a {@code gateway.port} label whose image (or {@code --expose})
   * exposes one TCP port is reached on the engine's host at that port, as Traefik's Docker provider does. The
   * listing shows no port for a host-network container, so the port comes from its inspection. Before, it was
   * skipped as having "no exposed port".
   */
  @Test
  @Timeout(60)
  void aHostNetworkContainerWithOneExposedPortAndNoLabelIsRouted() {
    int port = Ports.free();
    String script = "mkdir -p /www/api/exposed && echo " + docker.fullName("exposed") + " > /www/api/exposed/id"
        + " && exec busybox httpd -f -p 127.0.0.1:" + port + " -h /www";
    docker.run("exposed", labels("exposed", "production"), List.of("--expose", Integer.toString(port)),
        List.of("busybox", "sh", "-c", script));
    gateway = oneBackend("exposed");
    Poll.until(Duration.ofSeconds(5), "the container routed at its exposed port",
        () -> gateway.get("/api/exposed/id").statusCode() == 200);
    assertEquals(docker.fullName("exposed"), gateway.get("/api/exposed/id").body().trim());
  }
}
