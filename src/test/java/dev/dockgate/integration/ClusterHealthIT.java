package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.ClusterNodes;
import dev.dockgate.testing.GatewayCluster;
import dev.dockgate.testing.GatewayJar;
import dev.dockgate.testing.Poll;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Active health checks shared by three real gateway JVMs with {@code -cluster} on 127.0.0.1, against four
 * instances that count the health probes they get: the cluster probes at the rate one gateway alone does (each
 * instance by one node); an instance found sick by its prober leaves rotation on every node; SIGKILL that prober
 * and another node takes the probes over, the instance staying out of rotation everywhere until it recovers.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class ClusterHealthIT {

  private static final Logger LOG = Logger.getLogger(ClusterHealthIT.class.getName());
  private static final long INTERVAL_MS = 300;
  /** How long probe rates are measured. */
  private static final long WINDOW_MS = 4_500;

  @TempDir
  Path dir;
  Vertx vertx;
  final List<ProbedServer> servers = new ArrayList<>();
  GatewayCluster cluster;

  /** A backend instance on 127.0.0.1 that records when each health probe came; /health answers 500 while sick. */
  static final class ProbedServer {
    final String name;
    final HttpServer server;
    final ConcurrentLinkedQueue<Long> probes = new ConcurrentLinkedQueue<>();
    volatile boolean sick;

    ProbedServer(Vertx vertx, String name) throws Exception {
      this.name = name;
      this.server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
          .requestHandler(this::handle).listen().await(10, TimeUnit.SECONDS);
    }

    private void handle(HttpServerRequest request) {
      if (request.path().equals("/health")) {
        probes.add(System.nanoTime());
        request.response().setStatusCode(sick ? 500 : 200).end();
      } else {
        request.response().putHeader("X-Backend", name).end(name);
      }
    }

    String id() {
      return "static:127.0.0.1:" + server.actualPort();
    }

    /** Probes received from {@code fromNanos} (inclusive) to {@code toNanos} (exclusive). */
    long probesBetween(long fromNanos, long toNanos) {
      return probes.stream().filter(t -> t >= fromNanos && t < toNanos).count();
    }

    /** Probes per instance per second between the two times, averaged over {@code servers}. */
    static double rate(List<ProbedServer> servers, long fromNanos, long toNanos) {
      long probes = servers.stream().mapToLong(s -> s.probesBetween(fromNanos, toNanos)).sum();
      return probes / (servers.size() * ((toNanos - fromNanos) / 1e9));
    }
  }

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    for (String name : List.of("s1", "s2", "s3", "s4")) {
      servers.add(new ProbedServer(vertx, name));
    }
  }

  @AfterEach
  void stop() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
    if (vertx != null) {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  private String yaml() {
    return ClusterNodes.routes(String.join(", ", servers.stream().map(s -> "http://127.0.0.1:" + s.server.actualPort()).toList()),
        """
        load_balancer: round_robin
        health_check: {path: /health, interval_ms: %d, timeout_ms: %d, healthy_threshold: 2, unhealthy_threshold: 3}
        """.formatted(INTERVAL_MS, INTERVAL_MS));
  }

  @Test
  void theClusterProbesEachInstanceOnceAndEveryNodeRoutesAroundASickOneEvenAfterItsProberDies() throws Exception {
    // One gateway alone first: the probe rate the cluster must not multiply.
    double alone;
    try (GatewayJar single = new GatewayJar(dir, "", yaml(), 1, Map.of(),
        List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"), List.of(), Duration.ofSeconds(60))) {
      alone = probeRate();
    }
    cluster = new GatewayCluster(dir, 3, yaml());
    cluster.awaitMembers(3, Duration.ofSeconds(30));
    Map<String, String> owners = agreedOwners(List.of(0, 1, 2));
    double three = probeRate();
    LOG.info(String.format("health probes per instance per second: %.2f with one gateway, %.2f with three clustered"
        + " (interval %d ms); probers %s", alone, three, INTERVAL_MS, owners));
    assertTrue(three < alone * 1.5, "three nodes probe " + three + "/s per instance, one alone " + alone + "/s");
    assertTrue(three < 1.5 * 1000.0 / INTERVAL_MS, "three nodes probe " + three + "/s per instance, every "
        + INTERVAL_MS + " ms is " + 1000.0 / INTERVAL_MS + "/s");
    assertTrue(three > alone * 0.5, "three nodes probe too little: " + three + "/s against " + alone + "/s");
    for (int i = 0; i < 3; i++) {
      JsonObject check = GatewayCluster.clusterCheck(cluster.node(i));
      assertTrue(check.getJsonObject("shared").getString("health_checks").contains("one node"), check.encode());
      JsonObject report = GatewayCluster.routes(cluster.node(i));
      assertEquals(cluster.node(i).id(), report.getJsonObject("cluster").getString("node"), report.encode());
    }

    ProbedServer sick = servers.get(0);
    int prober = cluster.indexOf(owners.get(sick.id()));
    sick.sick = true;
    long marked = System.nanoTime();
    Poll.until(Duration.ofSeconds(15), "every node takes " + sick.name + " out of rotation",
        () -> List.of(0, 1, 2).stream().allMatch(i -> !inRotation(i, sick)));
    LOG.info(sick.name + " (probed by node " + prober + ") out of rotation on all three nodes after "
        + (System.nanoTime() - marked) / 1_000_000 + " ms");
    for (int i = 0; i < 3; i++) {
      assertFalse(servedBy(i, 12).contains(sick.name), "node " + i + " still sends to " + sick.name);
    }
    // SIGKILL its prober: another node takes the probes over; the instance stays out of rotation everywhere.
    List<Integer> survivors = new ArrayList<>(List.of(0, 1, 2));
    survivors.remove(Integer.valueOf(prober));
    cluster.kill(prober);
    long killed = System.nanoTime();
    Poll.until(Duration.ofSeconds(30), "a survivor probes " + sick.name + " again", () -> {
      for (int i : survivors) {
        JsonObject instance = instance(i, sick);
        assertEquals(false, instance.getBoolean("in_rotation"), "back in rotation on node " + i + ": " + instance);
      }
      return sick.probesBetween(killed, Long.MAX_VALUE) > 0;
    });
    long takeover = (sick.probes.stream().filter(t -> t >= killed).min(Long::compare).orElseThrow() - killed) / 1_000_000;
    Map<String, String> after = agreedOwners(survivors);
    assertTrue(!after.containsValue(cluster.node(prober).id()), "the dead node still probes: " + after);
    for (int i : survivors) {
      assertFalse(servedBy(i, 12).contains(sick.name), "node " + i + " sends to " + sick.name + " after the takeover");
    }
    double two = probeRate();
    LOG.info(String.format("prober SIGKILLed: first probe of %s from another node after %d ms; %.2f probes per instance"
        + " per second with two nodes; probers %s", sick.name, takeover, two, after));
    assertTrue(two < alone * 1.5 && two > alone * 0.5, "two nodes probe " + two + "/s per instance, one alone " + alone);

    // It recovers: the new prober finds it, and both survivors route to it again.
    sick.sick = false;
    Poll.until(Duration.ofSeconds(15), sick.name + " back in rotation on the survivors",
        () -> survivors.stream().allMatch(i -> inRotation(i, sick)));
    for (int i : survivors) {
      assertTrue(servedBy(i, 12).contains(sick.name), "node " + i + " does not send to " + sick.name + " again");
    }
  }

  /** Health probes per instance per second over {@link #WINDOW_MS}, averaged over the four instances. */
  private double probeRate() throws InterruptedException {
    long from = System.nanoTime();
    Thread.sleep(WINDOW_MS); // a measuring window, not a wait for readiness
    return ProbedServer.rate(servers, from, System.nanoTime());
  }

  /** Waits until the nodes agree on one prober per instance, each a node they count as member; returns it by id. */
  private Map<String, String> agreedOwners(List<Integer> nodes) {
    Map<String, String> agreed = new HashMap<>();
    Poll.until(Duration.ofSeconds(20), "nodes " + nodes + " agree on the probers", () -> {
      agreed.clear();
      Set<String> members = new HashSet<>(GatewayCluster.memberIds(GatewayCluster.clusterCheck(cluster.node(nodes.get(0)))));
      for (int i : nodes) {
        for (ProbedServer s : servers) {
          String by = instance(i, s).getString("checked_by");
          if (by == null || !members.contains(by) || !by.equals(agreed.getOrDefault(s.id(), by))) {
            return false;
          }
          agreed.put(s.id(), by);
        }
      }
      return members.size() == nodes.size();
    });
    return agreed;
  }

  private JsonObject instance(int node, ProbedServer server) {
    JsonObject report = GatewayCluster.routes(cluster.node(node));
    for (Object i : report.getJsonArray("backends").getJsonObject(0).getJsonArray("instances")) {
      if (server.id().equals(((JsonObject) i).getString("id"))) {
        return (JsonObject) i;
      }
    }
    throw new AssertionError(server.id() + " not in node " + node + "'s report: " + report.encode());
  }

  private boolean inRotation(int node, ProbedServer server) {
    JsonObject instance = instance(node, server);
    return instance.getBoolean("healthy") && instance.getBoolean("in_rotation");
  }

  /** The instances that answered {@code requests} requests sent through node {@code node}. */
  private Set<String> servedBy(int node, int requests) {
    Set<String> seen = new HashSet<>();
    for (int r = 0; r < requests; r++) {
      HttpResponse<String> response = cluster.node(node).jar().get("/api/x" + r);
      assertEquals(200, response.statusCode(), "node " + node + ": " + response.body());
      seen.add(response.headers().firstValue("X-Backend").orElse("?"));
    }
    return seen;
  }
}
