package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.ClusterNodes;
import dev.dockgate.testing.GatewayClient;
import dev.dockgate.testing.GatewayJar;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import dev.dockgate.testing.TestBackend;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three real gateway JVMs with {@code -cluster} on 127.0.0.1 (Hazelcast TCP-IP join, one port each from
 * DOCKGATE_CLUSTER_PORT): bounded load spread unevenly over them, /stats?scope=cluster equal to what the load
 * generator counted, per node and in total; then one node killed with SIGKILL: reported missing, never counted
 * twice or dropped without a word, while the others keep serving.
 */
@Timeout(value = 170, unit = TimeUnit.SECONDS)
class ClusterIT {

  private static final Logger LOG = Logger.getLogger(ClusterIT.class.getName());
  /** Requests sent to each node, uneven so that a node's numbers cannot pass for another's. */
  private static final int[] SENT = {90, 60, 30};

  @TempDir
  Path dir;
  Vertx vertx;
  TestBackend backend;
  final List<Node> nodes = new ArrayList<>();

  /** One gateway process: its client port's client, its admin port, its node id. */
  record Node(GatewayJar jar, GatewayClient admin, String id) {
  }

  /** What the load generator saw from one node. */
  static final class Counted {
    final AtomicLong success = new AtomicLong();
    final AtomicLong error = new AtomicLong();
  }

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    backend = new TestBackend(vertx, "svc");
    int[] hazelcast = {Ports.free(), Ports.free(), Ports.free()};
    String yaml = ClusterNodes.yaml(backend.port(), "it-" + hazelcast[0], hazelcast);
    long begun = System.nanoTime();
    List<CompletableFuture<Node>> starting = new ArrayList<>();
    for (int port : hazelcast) {
      starting.add(CompletableFuture.supplyAsync(() -> {
        int adminPort = Ports.free();
        GatewayJar jar = new GatewayJar(dir, "  admin_listener: {host: 127.0.0.1, port: " + adminPort + "}\n", yaml, 1,
            Map.of("DOCKGATE_CLUSTER_PORT", Integer.toString(port)),
            List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"), List.of("-cluster"), Duration.ofSeconds(100));
        return new Node(jar, new GatewayClient(adminPort), null);
      }));
    }
    for (CompletableFuture<Node> f : starting) {
      try {
        nodes.add(f.join());
      } catch (RuntimeException e) {
        stop();
        throw e;
      }
    }
    // Every node sees all three members before the load starts (a node may be ready before the last one joined).
    for (int i = 0; i < nodes.size(); i++) {
      Node node = nodes.get(i);
      Poll.until(Duration.ofSeconds(30), "node " + i + " sees 3 members",
          () -> cluster(node).getJsonArray("members").size() == 3);
      nodes.set(i, new Node(node.jar(), node.admin(), cluster(node).getString("node")));
    }
    LOG.info("three nodes started and joined in " + (System.nanoTime() - begun) / 1_000_000 + " ms");
  }

  @AfterEach
  void stop() throws Exception {
    nodes.forEach(n -> n.jar().close());
    if (backend != null) {
      backend.close();
    }
    if (vertx != null) {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void clusterStatsEqualWhatTheClientsCountedAndADeadNodeIsReportedMissing() throws Exception {
    Counted[] counted = {new Counted(), new Counted(), new Counted()};
    load(counted, SENT);
    // Each node's /stats is its own traffic only: nothing per request crossed the cluster.
    for (int i = 0; i < 3; i++) {
      JsonObject own = nodes.get(i).jar().stats();
      assertEquals(counted[i].success.get(), count(own, "success"), "node " + i + " /stats success");
      assertEquals(counted[i].error.get(), count(own, "error"), "node " + i + " /stats error");
    }
    for (int asked = 0; asked < 3; asked++) {
      JsonObject view = clusterStats(nodes.get(asked));
      assertTrue(view.getBoolean("complete"), "complete: " + view.encode());
      assertEquals(3, view.getJsonArray("answered").size());
      long success = 0;
      long error = 0;
      for (int i = 0; i < 3; i++) {
        JsonObject section = view.getJsonObject("nodes").getJsonObject(nodes.get(i).id());
        assertEquals(counted[i].success.get(), count(section, "success"), "cluster view of node " + i);
        assertEquals(counted[i].error.get(), count(section, "error"), "cluster view of node " + i);
        success += counted[i].success.get();
        error += counted[i].error.get();
      }
      assertEquals(success, count(view, "success"), "cluster success total");
      assertEquals(error, count(view, "error"), "cluster error total");
      assertMergedPercentiles(view);
    }

    // SIGKILL the third node: no goodbye, its roster entry stays; the others must report it missing.
    Node dead = nodes.get(2);
    dead.jar().kill();
    long killed = System.nanoTime();
    Node asker = nodes.get(0);
    Duration reported = Poll.until(Duration.ofSeconds(20), "dead node reported missing",
        () -> missing(clusterStats(asker)).containsKey(dead.id()));
    Duration left = Poll.until(Duration.ofSeconds(30), "dead node out of the membership",
        () -> missing(clusterStats(asker)).getOrDefault(dead.id(), "").startsWith("left the cluster"));
    long leftMs = (System.nanoTime() - killed) / 1_000_000;
    LOG.info("SIGKILLed node reported missing after " + reported.toMillis() + " ms, out of the membership after "
        + leftMs + " ms");

    // The others keep serving; the totals are theirs, the dead node's requests are neither summed nor dropped silently.
    Counted[] after = {new Counted(), new Counted(), new Counted()};
    load(after, new int[] {20, 20, 0});
    for (Node n : List.of(nodes.get(0), nodes.get(1))) {
      JsonObject view = clusterStats(n);
      assertEquals(false, view.getBoolean("complete"));
      assertEquals(List.of(dead.id()), List.copyOf(missing(view).keySet()));
      assertEquals(2, view.getJsonArray("answered").size());
      long success = counted[0].success.get() + counted[1].success.get() + after[0].success.get()
          + after[1].success.get();
      long error = counted[0].error.get() + counted[1].error.get() + after[0].error.get() + after[1].error.get();
      assertEquals(success, count(view, "success"), "cluster success after the kill");
      assertEquals(error, count(view, "error"), "cluster error after the kill");
      JsonArray members = cluster(n).getJsonArray("members");
      assertEquals(2, members.size(), "members after the kill: " + members.encode());
    }
    // 18 of each 20 reach the backend, the other 2 go where no route is (404): no request failed because a peer died.
    assertEquals(List.of(18L, 18L), List.of(after[0].success.get(), after[1].success.get()), "served after the kill");
  }

  /** Sends {@code sent[i]} requests to node i from 6 threads; every 10th to a path with no route (a 404, an error). */
  private void load(Counted[] counted, int[] sent) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(6);
    try {
      List<CompletableFuture<Void>> all = new ArrayList<>();
      for (int i = 0; i < sent.length; i++) {
        GatewayJar jar = nodes.get(i).jar();
        Counted c = counted[i];
        for (int r = 0; r < sent[i]; r++) {
          String path = r % 10 == 9 ? "/nowhere/" + r : "/api/item/" + r;
          all.add(CompletableFuture.runAsync(() -> {
            HttpResponse<String> response = jar.get(path);
            if (response.statusCode() >= 200 && response.statusCode() < 400) {
              c.success.incrementAndGet();
            } else {
              c.error.incrementAndGet();
            }
          }, pool));
        }
      }
      CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    } finally {
      pool.shutdownNow();
    }
  }

  private static long count(JsonObject stats, String key) {
    return stats.getJsonObject("requests_count").getLong(key);
  }

  /** Percentiles of a merged histogram lie between the nodes' own; an average of them would too, so check p99 >= p95. */
  private static void assertMergedPercentiles(JsonObject view) {
    double p99 = view.getJsonObject("latency_ms").getDouble("p99");
    double low = Double.MAX_VALUE;
    double high = 0;
    for (String id : view.getJsonObject("nodes").fieldNames()) {
      double node = view.getJsonObject("nodes").getJsonObject(id).getJsonObject("latency_ms").getDouble("p99");
      low = Math.min(low, node);
      high = Math.max(high, node);
    }
    assertTrue(p99 >= low * 0.99 && p99 <= high * 1.01, "cluster p99 " + p99 + " outside the nodes' [" + low + ", " + high + "]");
  }

  private static JsonObject clusterStats(Node node) {
    HttpResponse<String> response = node.jar().get("/stats?scope=cluster");
    assertEquals(200, response.statusCode(), response.body());
    return new JsonObject(response.body());
  }

  private static Map<String, String> missing(JsonObject view) {
    Map<String, String> result = new java.util.TreeMap<>();
    view.getJsonArray("missing").forEach(m -> result.put(((JsonObject) m).getString("node"),
        ((JsonObject) m).getString("reason")));
    return result;
  }

  private static JsonObject cluster(Node node) {
    return ClusterNodes.check(node.admin());
  }
}
