package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.ClusterNodes;
import dev.dockgate.testing.GatewayClient;
import dev.dockgate.testing.GatewayJar;
import dev.dockgate.testing.Haproxy;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import dev.dockgate.testing.StrictClient;
import dev.dockgate.testing.TestBackend;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The documented deployment: Debian's HAProxy in TCP mode running conf/haproxy.cfg.example in front of three
 * clustered gateway JVMs on 127.0.0.1, its health checks on each gateway's readiness. Bounded load through HAProxy
 * (kept-alive and new connections, GET and requests with bodies) while one gateway is stopped with SIGTERM (no
 * request lost, exit 0) or killed with SIGKILL (clients retrying once, 200 ms later, lose nothing; /stats?scope=cluster equals
 * what they counted, per node and in total, the dead node missing until pruned, never summed).
 */
@Timeout(value = 200, unit = TimeUnit.SECONDS)
class HaproxyClusterIT {

  private static final Logger LOG = Logger.getLogger(HaproxyClusterIT.class.getName());
  private static final Duration LOAD = Duration.ofSeconds(15);
  private static final Duration HIT_AT = Duration.ofSeconds(5);
  /** A retrying client's pause before its one retry. */
  private static final Duration RETRY_AFTER = Duration.ofMillis(200);
  /** Each node proxies to its own backend, so the answer's X-Backend names the node that served it. */
  private static final int NODES = 3;

  @TempDir
  Path dir;
  Vertx vertx;
  final List<TestBackend> backends = new ArrayList<>();
  final List<Node> nodes = new ArrayList<>();
  Haproxy haproxy;
  int front;

  record Node(GatewayJar jar, GatewayClient admin, String id) {
  }

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    int[] hazelcast = new int[NODES];
    int[] admin = new int[NODES];
    for (int i = 0; i < NODES; i++) {
      backends.add(new TestBackend(vertx, "svc" + i));
      hazelcast[i] = Ports.free();
      admin[i] = Ports.free();
    }
    List<CompletableFuture<GatewayJar>> starting = new ArrayList<>();
    for (int i = 0; i < NODES; i++) {
      String yaml = ClusterNodes.yaml(backends.get(i).port(), "lb-" + hazelcast[0], hazelcast);
      String server = "  admin_listener: {host: 127.0.0.1, port: " + admin[i] + "}\n  drain_delay_ms: 5000\n";
      // The default drain timeout (30 s): a loaded machine must not turn the drain into cut requests.
      Map<String, String> env = Map.of("DOCKGATE_CLUSTER_PORT", Integer.toString(hazelcast[i]),
          "GATEWAY_DRAIN_TIMEOUT_MS", "30000");
      starting.add(CompletableFuture.supplyAsync(() -> new GatewayJar(dir, server, yaml, 1, env,
          List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"), List.of("-cluster"), Duration.ofSeconds(100))));
    }
    for (int i = 0; i < NODES; i++) {
      try {
        nodes.add(new Node(starting.get(i).join(), new GatewayClient(admin[i]), null));
      } catch (RuntimeException e) {
        starting.forEach(f -> f.thenAccept(GatewayJar::close));
        throw e;
      }
    }
    for (int i = 0; i < NODES; i++) {
      Node node = nodes.get(i);
      Poll.until(Duration.ofSeconds(30), "node " + i + " sees " + NODES + " members",
          () -> cluster(node).getJsonArray("members").size() == NODES);
      nodes.set(i, new Node(node.jar(), node.admin(), cluster(node).getString("node")));
    }
    front = Ports.free();
    int[] main = nodes.stream().mapToInt(n -> n.jar().port()).toArray();
    haproxy = new Haproxy(dir, Haproxy.fromExample(Path.of("conf/haproxy.cfg.example"), front, main, admin), front);
  }

  @AfterEach
  void stop() throws Exception {
    if (haproxy != null) {
      haproxy.close();
    }
    nodes.forEach(n -> n.jar().close());
    backends.forEach(TestBackend::close);
    if (vertx != null) {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void aGatewayStoppedWithSigtermUnderLoadLosesNoRequestAndExitsZero() throws Exception {
    Load load = new Load(front, false, "POST");
    int target = load.startAndPick();
    Node drained = nodes.get(target);
    long servedBefore = load.served.get(target);
    drained.jar().signal("TERM");
    long signalled = System.nanoTime();
    Poll.until(Duration.ofSeconds(40), "SIGTERMed gateway exited", () -> !drained.jar().isAlive());
    long exitedMs = (System.nanoTime() - signalled) / 1_000_000;
    long[] atExit = load.servedNow();
    load.await();
    LOG.info("SIGTERM: exited after " + exitedMs + " ms; " + load.summary() + "; HAProxy:\n" + stateChanges());

    assertEquals(List.of(), load.failures(), "failed requests through HAProxy while a gateway drained");
    assertEquals(0, drained.jar().exitValue(), "exit status of the drained gateway\n" + drained.jar().output());
    assertTrue(drained.jar().output().contains("drained in"), "no request cut by the drain timeout:\n" + drained.jar().output());
    assertTrue(servedBefore > 0, "the drained gateway served before SIGTERM: " + load.summary());
    assertTrue(load.closedByGateway.get() > 0, "kept-alive connections ended by Connection: close: " + load.summary());
    String server = "gw" + (target + 1);
    assertTrue(haproxy.output().contains(server + " is DOWN"), "HAProxy took " + server + " out on its readiness:\n"
        + haproxy.output());
    long[] atEnd = load.servedNow();
    for (int i = 0; i < NODES; i++) {
      if (i == target) {
        assertEquals(atExit[i], atEnd[i], "nothing served by the stopped gateway after its exit");
      } else {
        assertTrue(atEnd[i] > atExit[i], "node " + i + " served on: " + load.summary());
      }
    }
  }

  @Test
  void aGatewayKilledUnderLoadLosesNothingForClientsRetryingOnceAndClusterStatsAddUp() throws Exception {
    Load load = new Load(front, true, "PUT");
    int target = load.startAndPick();
    Node dead = nodes.get(target);
    dead.jar().kill();
    load.await();
    LOG.info("SIGKILL: " + load.summary() + "; HAProxy:\n" + stateChanges());

    assertEquals(List.of(), load.failures(), "requests failed even after one retry");
    assertTrue(load.retried.get() > 0, "some request met the dead gateway and was retried: " + load.summary());
    String server = "gw" + (target + 1);
    Poll.until(Duration.ofSeconds(20), "HAProxy marks " + server + " down", () -> haproxy.output().contains(server + " is DOWN"));
    List<Integer> alive = java.util.stream.IntStream.range(0, NODES).filter(i -> i != target).boxed().toList();
    // Until Hazelcast's failure detection drops it (5 s), the dead node is reported missing; then it is
    // pruned and the view is complete again. Either way its counts are never summed.
    Poll.until(Duration.ofSeconds(20), "dead node out of the cluster view", () -> {
      JsonObject view = clusterStats(nodes.get(alive.get(0)));
      return view.getBoolean("complete") && !view.getJsonArray("answered").contains(dead.id());
    });
    for (int asked : alive) {
      JsonObject view = clusterStats(nodes.get(asked));
      assertTrue(view.getBoolean("complete"), view.encode());
      assertFalse(view.getJsonArray("answered").contains(dead.id()), view.encode());
      assertEquals(2, view.getJsonArray("answered").size(), view.encode());
      assertFalse(view.getJsonObject("nodes").containsKey(dead.id()), "the dead node's counts are not summed: " + view.encode());
      long total = 0;
      for (int i : alive) {
        JsonObject section = view.getJsonObject("nodes").getJsonObject(nodes.get(i).id());
        assertEquals(load.served.get(i), count(section, "success"), "cluster view of node " + i + ": " + load.summary());
        assertEquals(0, count(section, "error"), "cluster view of node " + i);
        total += load.served.get(i);
      }
      assertEquals(total, count(view, "success"), "cluster total");
      assertEquals(0, count(view, "error"), "cluster errors");
    }
  }

  /**
   * Bounded load through HAProxy for {@link #LOAD}: three threads on kept-alive connections and three opening a
   * connection per request, each alternating GET and {@code bodyMethod} with a 2 KB body, at most one request per
   * 5 ms. Counts the answers per node (X-Backend); with {@code retryOnce} a request that failed is sent once more
   * on a new connection, {@link #RETRY_AFTER} later.
   */
  static final class Load {
    final int port;
    final boolean retryOnce;
    final String bodyMethod;
    final AtomicLongArray served = new AtomicLongArray(NODES);
    final AtomicLong retried = new AtomicLong();
    final AtomicLong closedByGateway = new AtomicLong();
    final ConcurrentLinkedQueue<String> failed = new ConcurrentLinkedQueue<>();
    /** The node that last answered the first kept-alive thread. */
    volatile int keptAliveNode = -1;
    CompletableFuture<Void> running;
    final long begun = System.nanoTime();

    Load(int port, boolean retryOnce, String bodyMethod) {
      this.port = port;
      this.retryOnce = retryOnce;
      this.bodyMethod = bodyMethod;
    }

    /**
     * Starts the load and, {@link #HIT_AT} later, names the gateway to stop: the one holding the first kept-alive
     * connection, so that the test always meets kept-alive clients.
     */
    int startAndPick() throws InterruptedException {
      running = start();
      Thread.sleep(HIT_AT.toMillis());
      int node = keptAliveNode;
      assertTrue(node >= 0 && served.get(node) > 0, "a kept-alive connection was served: " + summary());
      return node;
    }

    /** Waits for the load's end. */
    void await() throws Exception {
      running.get(LOAD.toSeconds() + 40, TimeUnit.SECONDS);
    }

    private CompletableFuture<Void> start() {
      ExecutorService pool = Executors.newFixedThreadPool(6);
      List<CompletableFuture<Void>> all = new ArrayList<>();
      for (int t = 0; t < 6; t++) {
        int thread = t;
        all.add(CompletableFuture.runAsync(() -> run(thread, thread < 3), pool));
      }
      return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).whenComplete((v, e) -> pool.shutdown());
    }

    private void run(int thread, boolean keepAlive) {
      long end = begun + LOAD.toNanos();
      StrictClient client = new StrictClient(port, keepAlive);
      try {
        for (int n = 0; System.nanoTime() < end; n++) {
          boolean withBody = n % 2 == 1;
          String path = "/api/" + (withBody ? "orders/" : "item/") + thread + "-" + n;
          String body = withBody ? "order " + thread + "-" + n + " " + "x".repeat(2_000) : null;
          String outcome = once(client, thread, keepAlive, withBody ? bodyMethod : "GET", path, body);
          if (outcome != null && retryOnce) {
            retried.incrementAndGet();
            String first = String.format("%.3f s %s", (System.nanoTime() - begun) / 1e9, outcome);
            // As client retry policies do: sent the instant the connection broke, a retry can still reach the dying
            // gateway (its listening socket may outlive its connections by a moment; the connection the kernel
            // accepted then is reset, and HAProxy in TCP mode cannot redispatch it).
            Thread.sleep(RETRY_AFTER.toMillis());
            outcome = once(client, thread, keepAlive, withBody ? bodyMethod : "GET", path, body);
            outcome = outcome == null ? null : outcome + " (first try: " + first + ")";
          }
          if (outcome != null) {
            failed.add(String.format("%.3f s %s", (System.nanoTime() - begun) / 1e9, outcome));
          }
          Thread.sleep(5);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        client.close();
      }
    }

    /** One request: null when answered right, else what went wrong. */
    private String once(StrictClient client, int thread, boolean keepAlive, String method, String path, String body) {
      try {
        StrictClient.Answer answer = client.send(method, path, body);
        String backend = answer.headers().getOrDefault("x-backend", "");
        if (answer.status() != 200 || !answer.body().equals("echo:" + (body == null ? "" : body))
            || !backend.startsWith("svc")) {
          return method + " " + path + ": " + answer.status() + " from " + backend + " (reused " + answer.reused() + ")";
        }
        int node = Integer.parseInt(backend.substring(3));
        served.incrementAndGet(node);
        if (thread == 0) {
          keptAliveNode = node;
        }
        if (keepAlive && "close".equalsIgnoreCase(answer.headers().get("connection"))) {
          closedByGateway.incrementAndGet(); // the gateway ended a kept-alive connection (draining)
        }
        return null;
      } catch (IOException | RuntimeException e) {
        return method + " " + path + ": " + e;
      }
    }

    List<String> failures() {
      return List.copyOf(failed);
    }

    long[] servedNow() {
      long[] now = new long[NODES];
      for (int i = 0; i < NODES; i++) {
        now[i] = served.get(i);
      }
      return now;
    }

    String summary() {
      return "served per node " + Arrays.toString(servedNow()) + ", retried " + retried.get() + ", Connection: close "
          + closedByGateway.get() + ", failed " + failed.size();
    }
  }

  /** HAProxy's lines about servers going down or up. */
  private String stateChanges() {
    return String.join("\n", haproxy.output().lines().filter(l -> l.contains(" is DOWN") || l.contains(" is UP")).toList());
  }

  private static long count(JsonObject stats, String key) {
    return stats.getJsonObject("requests_count").getLong(key);
  }

  private static JsonObject clusterStats(Node node) {
    HttpResponse<String> response = node.jar().get("/stats?scope=cluster");
    assertEquals(200, response.statusCode(), response.body());
    return new JsonObject(response.body());
  }

  private static JsonObject cluster(Node node) {
    return ClusterNodes.check(node.admin());
  }
}
