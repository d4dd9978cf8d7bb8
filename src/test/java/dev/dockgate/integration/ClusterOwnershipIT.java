package dev.dockgate.integration;

import static dev.dockgate.integration.ClusterHealthIT.ProbedServer.rate;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.integration.ClusterHealthIT.ProbedServer;
import dev.dockgate.testing.ClusterNodes;
import dev.dockgate.testing.GatewayCluster;
import dev.dockgate.testing.Poll;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three real gateway JVMs with {@code -cluster} on 127.0.0.1 that do not see the same instances: all three check ten
 * shared instances, and node 2 (its targets overridden by DOCKGATE_BACKENDS_0_TARGETS) three more that only it knows.
 * Each instance is probed by one of the nodes that know it: the shared ones at one node's rate, node 2's own by node 2
 * at that rate too. Node 0 SIGKILLed and started again (a new node joining): no instance goes unprobed while the
 * probing is handed over.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class ClusterOwnershipIT {

  private static final Logger LOG = Logger.getLogger(ClusterOwnershipIT.class.getName());
  private static final long INTERVAL_MS = 300;
  /** One node probing an instance: once per interval. */
  private static final double ONE_NODE = 1000.0 / INTERVAL_MS;
  private static final long WINDOW_MS = 4_500;
  /**
   * The longest silence allowed between two probes of an instance handed to a joining node: this, or twice the longest
   * silence of the instances whose prober did not change (on a loaded machine every prober's timer lags), whichever is
   * more. Were the probing handed over when the node joins the membership, before its checker runs, the silence would
   * be the time from the join to its first probe: 2.2–2.5 s, against 0.6–0.76 s for the others, in a run made so.
   */
  private static final long GAP_FLOOR_MS = 1_500;

  @TempDir
  Path dir;
  Vertx vertx;
  final List<ProbedServer> shared = new ArrayList<>();
  final List<ProbedServer> onlyC = new ArrayList<>();
  GatewayCluster cluster;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    // Ten, so that a joining node almost surely wins some ((2/3)^10: 1.7% of runs hand nothing over).
    for (int i = 1; i <= 10; i++) {
      shared.add(new ProbedServer(vertx, "s" + i));
    }
    for (String name : List.of("c1", "c2", "c3")) {
      onlyC.add(new ProbedServer(vertx, name));
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

  private static String targets(List<ProbedServer> servers) {
    return String.join(",", servers.stream().map(s -> "http://127.0.0.1:" + s.server.actualPort()).toList());
  }

  private String yaml() {
    return ClusterNodes.routes(targets(shared).replace(",", ", "),
        "health_check: {path: /health, interval_ms: %d, timeout_ms: %d, healthy_threshold: 2, unhealthy_threshold: 3}"
            .formatted(INTERVAL_MS, INTERVAL_MS));
  }

  @Test
  void eachInstanceIsProbedByOneOfTheNodesThatKnowItAndAJoinerLeavesNoneUnprobed() throws Exception {
    List<ProbedServer> all = Stream.concat(shared.stream(), onlyC.stream()).toList();
    cluster = new GatewayCluster(dir, 3, yaml(),
        Map.of(2, Map.of("DOCKGATE_BACKENDS_0_TARGETS", targets(all))));
    cluster.awaitMembers(3, Duration.ofSeconds(30));
    String c = cluster.node(2).id();
    Map<String, String> owners = agreed(List.of(0, 1, 2));
    onlyC.forEach(s -> assertEquals(c, owners.get(s.id()), s.name + " is known to node 2 only"));
    JsonObject claims = GatewayCluster.routes(cluster.node(0)).getJsonObject("probe_claims");
    assertEquals(13, claims.getInteger(c), "node 0 hears node 2 check thirteen instances: " + claims);
    assertEquals(10, claims.getInteger(cluster.node(0).id()), claims.encode());

    long from = System.nanoTime();
    Thread.sleep(WINDOW_MS); // a measuring window, not a wait for readiness
    long to = System.nanoTime();
    double sharedRate = rate(shared, from, to);
    double onlyCRate = rate(onlyC, from, to);
    LOG.info(String.format("probes per instance per second (interval %d ms, one node: %.2f): %.2f for the %d shared"
        + " instances, %.2f for the %d only node 2 knows; probers %s", INTERVAL_MS, ONE_NODE, sharedRate, shared.size(),
        onlyCRate, onlyC.size(), owners));
    assertTrue(sharedRate < ONE_NODE * 1.5 && sharedRate > ONE_NODE * 0.5, "shared instances probed " + sharedRate + "/s");
    assertTrue(onlyCRate < ONE_NODE * 1.5 && onlyCRate > ONE_NODE * 0.5, "node 2's own probed " + onlyCRate + "/s");

    // Node 0 dies; once the two others probe everything, it starts again as a new node and takes its share back.
    cluster.kill(0);
    Poll.until(Duration.ofSeconds(30), "nodes 1 and 2 see 2 members", () -> List.of(1, 2).stream()
        .allMatch(i -> GatewayCluster.clusterCheck(cluster.node(i)).getJsonArray("members").size() == 2));
    Map<String, String> before = agreed(List.of(1, 2));
    long restarted = System.nanoTime();
    cluster.restart(0);
    cluster.awaitMembers(3, Duration.ofSeconds(60));
    Map<String, String> after = agreed(List.of(0, 1, 2));
    long joined = System.nanoTime();
    Thread.sleep(WINDOW_MS); // probes after the handover, to see that the new node took its share
    long end = System.nanoTime();
    String a = cluster.node(0).id();
    Map<String, Long> handed = new HashMap<>();
    Map<String, Long> kept = new HashMap<>();
    for (ProbedServer s : all) {
      long gap = longestGapMs(s, restarted, end);
      if (a.equals(after.get(s.id()))) {
        handed.put(s.name, gap);
      } else if (before.get(s.id()).equals(after.get(s.id()))) {
        kept.put(s.name, gap);
      }
    }
    long limit = Math.max(GAP_FLOOR_MS, 2 * kept.values().stream().mapToLong(Long::longValue).max().orElseThrow());
    double rejoined = rate(shared, joined, end);
    LOG.info(String.format("node 0 started again (%d ms to rejoin and agree) and took over %d of %d shared instances;"
        + " longest silence between probes: %s ms for those, %s ms for those whose prober stayed (limit %d ms); %.2f"
        + " probes per shared instance per second afterwards", (joined - restarted) / 1_000_000, handed.size(),
        shared.size(), handed, kept, limit, rejoined));
    handed.forEach((name, gap) -> assertTrue(gap <= limit, name + " went " + gap + " ms without a probe while handed to"
        + " the new node; limit " + limit + " ms: " + handed + ", kept " + kept));
    assertTrue(rejoined < ONE_NODE * 1.5, "shared instances probed " + rejoined + "/s after the join");
  }

  /** The longest time from {@code from} to {@code to} during which {@code server} got no probe, in ms. */
  private static long longestGapMs(ProbedServer server, long from, long to) {
    List<Long> times = new ArrayList<>(server.probes.stream().filter(t -> t >= from && t < to).sorted().toList());
    times.add(0, from);
    times.add(to);
    long longest = 0;
    for (int i = 1; i < times.size(); i++) {
      longest = Math.max(longest, times.get(i) - times.get(i - 1));
    }
    return longest / 1_000_000;
  }

  /**
   * Waits until the nodes that know each instance agree on its prober, a member, and the others do not list it;
   * returns the probers by instance id.
   */
  private Map<String, String> agreed(List<Integer> nodes) {
    Map<String, String> agreed = new HashMap<>();
    Poll.until(Duration.ofSeconds(30), "nodes " + nodes + " agree on the probers", () -> {
      agreed.clear();
      Map<Integer, Map<String, String>> views = new HashMap<>();
      for (int i : nodes) {
        views.put(i, checkedBy(i));
      }
      List<String> members = GatewayCluster.memberIds(GatewayCluster.clusterCheck(cluster.node(nodes.get(0))));
      if (members.size() != nodes.size()) {
        return false;
      }
      for (ProbedServer s : Stream.concat(shared.stream(), onlyC.stream()).toList()) {
        for (int i : nodes) {
          boolean knows = shared.contains(s) || i == 2;
          String by = views.get(i).get(s.id());
          if (!knows) {
            if (by != null) {
              throw new AssertionError("node " + i + " lists " + s.name + ", which it was not given");
            }
            continue;
          }
          if (by == null || !members.contains(by) || !by.equals(agreed.getOrDefault(s.id(), by))) {
            return false;
          }
          agreed.put(s.id(), by);
        }
      }
      return true;
    });
    return agreed;
  }

  /** Node {@code node}'s checked_by for each instance it lists, by instance id. */
  private Map<String, String> checkedBy(int node) {
    Map<String, String> by = new HashMap<>();
    JsonObject report = GatewayCluster.routes(cluster.node(node));
    for (Object i : report.getJsonArray("backends").getJsonObject(0).getJsonArray("instances")) {
      JsonObject instance = (JsonObject) i;
      by.put(instance.getString("id"), instance.getString("checked_by"));
    }
    return by;
  }
}
