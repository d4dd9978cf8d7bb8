package dev.dockgate.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.benmanes.caffeine.cache.Scheduler;
import dev.dockgate.config.RetryConfig;
import dev.dockgate.config.RouteConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Cluster-scope limits on a clock the test controls: simulated nodes, each with its own limiter and peer table,
 * exchanging their reports every period as the cluster verticle does, with requests spread over them.
 */
@Timeout(60)
class ClusterTokenBucketsTest {

  static final long SECOND = 1_000_000_000L;
  static final long MS = 1_000_000L;
  static final long PERIOD = ClusterLimitsVerticle.PERIOD_MS * MS;
  static final String LIMIT = "/api";

  final AtomicLong clock = new AtomicLong(1_000 * SECOND);
  final LocalTokenBuckets.Maintenance inline = new LocalTokenBuckets.Maintenance(clock::get, Runnable::run,
      Scheduler.disabledScheduler());

  /** One simulated gateway: its limiter, what it heard, whether it still runs, what it accepted. */
  final class Node {
    final String name;
    final ClusterTokenBuckets limiter;
    final PeerDemand peers = new PeerDemand();
    boolean alive = true;
    long accepted;
    long last = clock.get();
    long nextTick;

    Node(String name, RateLimitConfig config, int members, long phase) {
      this.name = name;
      this.nextTick = clock.get() + phase;
      this.limiter = new ClusterTokenBuckets(LIMIT, config, ClusterView.unheard(members), inline);
    }

    boolean take(String key) {
      boolean allowed = limiter.tryAcquire(key, clock.get()).allowed();
      if (allowed) {
        accepted++;
      }
      return allowed;
    }
  }

  /** A cluster of simulated nodes; {@code members} is what the cluster manager lists. */
  final class Cluster {
    final List<Node> nodes = new ArrayList<>();
    int members;
    ClusterView lastView;
    double lost;
    final java.util.Random random = new java.util.Random(42);

    Cluster(int n, RateLimitConfig config) {
      members = n;
      for (int i = 0; i < n; i++) {
        nodes.add(new Node("n" + i, config, n, PERIOD * (i + 1) / n));
      }
    }

    /**
     * One node closes its period and its report reaches every other live node at once, or, with {@link #lost} set,
     * misses each of them with that probability (a report replaced before it was read, on a busy machine).
     */
    ClusterView tick(Node node) {
      long now = clock.get();
      ClusterView view = node.peers.view(now, members);
      Map<String, KeyLoad> report = node.limiter.tick(now, (now - node.last) / 1e9, view);
      node.last = now;
      for (Node to : nodes) {
        if (to != node && to.alive && random.nextDouble() >= lost) {
          to.peers.heard(node.name, Map.of(LIMIT, report), now);
        }
      }
      return view;
    }

    /**
     * Runs {@code seconds} of traffic: {@code perSecond} requests a second of key {@code key}, node i getting
     * {@code weights[i]} of them at even spacing, each node closing a period every {@link #PERIOD}. Returns the
     * accepted count.
     */
    long run(double seconds, double perSecond, double[] weights, String key) {
      long before = accepted();
      double[] due = new double[nodes.size()];
      long end = clock.get() + (long) (seconds * SECOND);
      while (clock.get() < end) {
        clock.addAndGet(MS);
        for (int i = 0; i < nodes.size(); i++) {
          due[i] += perSecond * weights[i] / 1000;
          while (due[i] >= 1) {
            due[i] -= 1;
            if (nodes.get(i).alive) {
              nodes.get(i).take(key);
            }
          }
        }
        // Each node closes its periods at its own phase, as separate processes do.
        Node first = null;
        for (Node node : nodes) {
          if (node.alive && first == null) {
            first = node;
          }
          if (clock.get() >= node.nextTick) {
            node.nextTick += PERIOD;
            if (node.alive) {
              ClusterView view = tick(node);
              lastView = node == first ? view : lastView;
            }
          }
        }
      }
      return accepted() - before;
    }

    long accepted() {
      return nodes.stream().mapToLong(n -> n.accepted).sum();
    }
  }

  static RateLimitConfig limit(double rate, int burst) {
    return new RateLimitConfig(rate, burst, "client_ip", 1_000, RateLimitConfig.Scope.CLUSTER);
  }

  static final double[] SKEWED = {0.90, 0.05, 0.05};

  @Test
  void skewedLoadOnThreeNodesGetsTheClusterBudget() {
    for (double rate : new double[] {50, 400}) {
      int burst = (int) (rate / 2);
      Cluster cluster = new Cluster(3, limit(rate, burst));
      long accepted = cluster.run(10, 2 * rate, SKEWED, "client");
      double budget = rate * 10 + burst;
      System.out.printf("cluster limit %.0f/s burst %d, 90/5/5 at twice the rate for 10 s: %d accepted of budget %.0f"
          + " (%+.1f%%)%n", rate, burst, accepted, budget, 100 * (accepted - budget) / budget);
      // Under the budget, not over it: the spare tokens of the small nodes' buckets go to the busy node, but a key
      // that is new on a node whose peers already report it starts with a floor share there, not a third of the burst.
      assertTrue(accepted <= 1.01 * budget && accepted >= 0.95 * budget, accepted + " accepted, budget " + budget);
    }
  }

  @Test
  void reportsLostOnTheWayKeepTheClusterWithinItsBudget() {
    // Views that disagree (each node missing some of its peers' reports) make nodes take spare tokens from
    // figures a period or more apart: what two nodes take together can pass what was spare, by little.
    for (double lost : new double[] {0.3, 0.6}) {
      Cluster cluster = new Cluster(3, limit(100, 50));
      cluster.lost = lost;
      long accepted = cluster.run(10, 200, SKEWED, "client") + cluster.run(10, 300, new double[] {0.4, 0.3, 0.3}, "client");
      double budget = 100 * 20 + 50;
      System.out.printf("%.0f%% of the reports lost: %d accepted of budget %.0f%n", 100 * lost, accepted, budget);
      assertTrue(accepted <= 1.01 * budget && accepted >= 0.95 * budget, accepted + " accepted, budget " + budget);
    }
  }

  @Test
  void evenAndShiftingLoadStaysWithinTheBudget() {
    Cluster cluster = new Cluster(3, limit(100, 50));
    long accepted = cluster.run(5, 300, new double[] {1 / 3.0, 1 / 3.0, 1 / 3.0}, "client")
        + cluster.run(5, 300, new double[] {0.05, 0.05, 0.90}, "client");
    double budget = 100 * 10 + 50;
    System.out.printf("even then skewed the other way, 3x the rate: %d accepted of budget %.0f%n", accepted, budget);
    assertTrue(Math.abs(accepted - budget) <= 0.05 * budget, accepted + " accepted, budget " + budget);
  }

  @Test
  void aKeyUsedOnOneNodeOnlyGetsAllOfItsBudgetThere() {
    Cluster cluster = new Cluster(3, limit(50, 25));
    cluster.run(2, 100, new double[] {1, 0, 0}, "sticky");
    long accepted = cluster.run(10, 100, new double[] {1, 0, 0}, "sticky");
    assertTrue(accepted >= 0.99 * 500 && accepted <= 1.01 * 500, accepted + " of 500");
    assertEquals(1, cluster.nodes.get(0).limiter.fraction("sticky"), 1e-9, "no peer uses the key: no floor for them");
  }

  @Test
  void spareTokensAreSplitByRefusalsAndTakenOnce() {
    Cluster cluster = new Cluster(3, limit(60, 30));
    cluster.run(2, 120, new double[] {0.7, 0.3, 0}, "client");
    long accepted = cluster.run(10, 120, new double[] {0.7, 0.3, 0}, "client");
    System.out.printf("70/30/0 at twice the rate: %d accepted of 600 in 10 s%n", accepted);
    assertTrue(accepted >= 0.99 * 600 && accepted <= 1.01 * 600, accepted + " of 600");
  }

  @Test
  void aPeersSpareIsInOneViewOnlyAndUnseenReportsAddUp() {
    PeerDemand peers = new PeerDemand();
    long now = clock.get();
    peers.heard("n1", Map.of(LIMIT, Map.of("k", new KeyLoad(4, 0, 2))), now);
    peers.heard("n1", Map.of(LIMIT, Map.of("k", new KeyLoad(4, 0, 3))), now);
    ClusterView view = peers.view(now, 2);
    assertEquals(5, view.peerLoad(LIMIT, "k").spare(), 1e-9, "two reports not yet seen");
    assertEquals(4, view.peerLoad(LIMIT, "k").demand(), 1e-9, "demand is the last report's");
    assertEquals(5.0 * 3 / (3 + 0), view.spare(LIMIT, "k", 3), 1e-9, "the only node refusing takes all of it");
    assertEquals(0, view.spare(LIMIT, "k", 0), 1e-9, "a node that refuses nothing takes nothing");
    assertEquals(0, peers.view(now, 2).peerLoad(LIMIT, "k").spare(), 1e-9, "taken once");
    peers.heard("n1", Map.of(LIMIT, Map.of("k", new KeyLoad(4, 1, 2))), now);
    assertEquals(2.0 * 3 / (3 + 1), peers.view(now, 2).spare(LIMIT, "k", 3), 1e-9, "split by refusals");
  }

  @Test
  void beforeAnyPeerIsHeardEachNodeHoldsOneMembersShare() {
    Node node = new Node("n0", limit(30, 30), 3, PERIOD);
    int accepted = 0;
    for (int i = 0; i < 30; i++) {
      accepted += node.take("k") ? 1 : 0;
    }
    assertEquals(10, accepted, "burst 30 over 3 listed members");
    assertEquals(1 / 3.0, node.limiter.fraction("k"), 1e-9);
  }

  /** Three nodes sharing 60/s after 3 s of skewed load, then {@code stopped} gone from the cluster manager's list. */
  Cluster warmedUpWithout(int... stopped) {
    Cluster cluster = new Cluster(3, limit(60, 30));
    cluster.run(3, 120, SKEWED, "client");
    for (int i : stopped) {
      cluster.nodes.get(i).alive = false;
      cluster.members--;
    }
    return cluster;
  }

  @Test
  void aNodeKilledLeavesTheOthersTwoThirdsUntilTheHoldEndsThenTheWholeBudget() {
    // The cluster manager drops the dead member; its share is held back all the same.
    Cluster cluster = warmedUpWithout(0);
    cluster.run((PeerDemand.STALE_NANOS + 2 * PERIOD) / 1e9, 120, new double[] {0, 0.5, 0.5}, "client");
    assertEquals(2, cluster.lastView.present());
    assertEquals(3, cluster.lastView.members());
    long held = cluster.run(10, 120, new double[] {0, 0.5, 0.5}, "client");
    assertTrue(Math.abs(held - 400) <= 0.05 * 400, held + " accepted in 10 s, expected 2/3 of 60/s = 400");
    cluster.run(PeerDemand.HOLD_NANOS / 1e9, 120, new double[] {0, 0.5, 0.5}, "client");
    assertEquals(2, cluster.lastView.members(), "the dead node is forgotten after the hold");
    long whole = cluster.run(10, 120, new double[] {0, 0.5, 0.5}, "client");
    assertTrue(Math.abs(whole - 600) <= 0.05 * 600, whole + " accepted in 10 s, expected 600");
  }

  @Test
  void aNodeAloneHoldsBudgetOverTheLastKnownMemberCount() {
    // A split: the first node hears nobody, and its cluster manager lists only itself.
    Cluster cluster = warmedUpWithout(1, 2);
    cluster.run((PeerDemand.STALE_NANOS + 2 * PERIOD) / 1e9, 120, new double[] {1, 0, 0}, "client");
    long alone = cluster.run(10, 120, new double[] {1, 0, 0}, "client");
    assertTrue(Math.abs(alone - 200) <= 0.05 * 200, alone + " accepted in 10 s, expected 1/3 of 60/s = 200");
  }

  @Test
  void aCleanLeaveFreesTheShareAtOnce() {
    Cluster cluster = warmedUpWithout(0);
    cluster.nodes.get(1).peers.left("n0");
    cluster.nodes.get(2).peers.left("n0");
    cluster.run(1, 120, new double[] {0, 0.5, 0.5}, "client");
    long shared = cluster.run(10, 120, new double[] {0, 0.5, 0.5}, "client");
    assertTrue(Math.abs(shared - 600) <= 0.05 * 600, shared + " accepted in 10 s, expected 600");
  }

  @Test
  void aLargerShareKeepsTheTokensTheBucketHadAndCreatesNone() {
    Node node = new Node("n0", limit(10, 30), 3, PERIOD);
    for (int i = 0; i < 10; i++) {
      assertTrue(node.take("k"), "the first third of the burst");
    }
    assertFalse(node.take("k"));
    // The others report no demand for the key: this node's share grows to nearly all of the budget.
    node.peers.heard("n1", Map.of(), clock.get());
    node.peers.heard("n2", Map.of(), clock.get());
    node.limiter.tick(clock.get(), 0.25, node.peers.view(clock.get(), 3));
    assertTrue(node.limiter.fraction("k") > 0.95);
    assertFalse(node.take("k"), "an empty bucket stays empty when its share grows");
    clock.addAndGet(SECOND);
    int accepted = 0;
    for (int i = 0; i < 30; i++) {
      accepted += node.take("k") ? 1 : 0;
    }
    assertTrue(accepted >= 9 && accepted <= 10, accepted + ": a second refills about 10 tokens at the larger share");
  }

  @Test
  void aSmallShareStillServesOneRequestAtATime() {
    Node node = new Node("n0", limit(10, 5), 3, PERIOD);
    node.peers.heard("n1", Map.of(LIMIT, Map.of("k", new KeyLoad(1_000, 500, 0))), clock.get());
    node.peers.heard("n2", Map.of(), clock.get());
    node.limiter.tick(clock.get(), 0.25, node.peers.view(clock.get(), 3));
    assertTrue(node.take("k"), "a bucket holds at least one token");
    assertFalse(node.take("k"));
    assertEquals(ClusterView.FLOOR / 3, node.limiter.fraction("k"), 1e-9);
  }

  @Test
  void keysStayWithinMaxKeysAndIdleOnesGo() {
    Node node = new Node("n0", new RateLimitConfig(10, 5, "client_ip", 500, RateLimitConfig.Scope.CLUSTER), 1, PERIOD);
    for (int i = 0; i < 5_000; i++) {
      node.take("10.0." + (i >> 8) + "." + (i & 255));
    }
    node.limiter.settle();
    assertTrue(node.limiter.keys() <= 500, node.limiter.keys() + " keys held");
    clock.addAndGet(3 * SECOND);
    node.limiter.settle();
    assertEquals(0, node.limiter.keys(), "idle keys expire");
  }

  @Test
  void reportsNameTheKeysWithDemandAndAreBounded() {
    Node node = new Node("n0", limit(10, 5), 1, PERIOD);
    node.take("a");
    node.take("a");
    Map<String, KeyLoad> report = node.limiter.tick(clock.get(), 0.25, ClusterView.ALONE);
    assertEquals(Map.of("a", new KeyLoad(8, 0, 0)), report, "2 attempts in 0.25 s: 8 per second, none refused");
    clock.addAndGet(5 * SECOND);
    for (int i = 0; i < 40; i++) {
      report = node.limiter.tick(clock.get(), 0.25, ClusterView.ALONE);
    }
    assertTrue(report.isEmpty(), "demand decays below the floor: " + report);
  }

  @Test
  void clusterScopeIsLocalOutsideAClusterAndSharedInOne() {
    RateLimiters limiters = new RateLimiters(inline);
    RateLimitConfig config = limit(10, 5);
    RouteConfig route = new RouteConfig("/api", "web", 30_000, false, List.of(), null, RetryConfig.NONE,
        Map.of(RateLimitFeature.KEY, config));
    assertInstanceOf(LocalTokenBuckets.class, limiters.forRoute(route, config), "not in a cluster: local");
    RateLimiters clustered = new RateLimiters(inline);
    clustered.joinCluster(ClusterView.unheard(2));
    RateLimiter shared = clustered.forRoute(route, config);
    assertInstanceOf(ClusterTokenBuckets.class, shared);
    shared.tryAcquire("k", clock.get());
    Map<String, Map<String, KeyLoad>> report = clustered.tick(clock.get(), 0.25, ClusterView.unheard(2));
    assertEquals(1, report.size());
    assertTrue(report.keySet().iterator().next().startsWith("/api "), report.toString());
    RateLimitConfig local = new RateLimitConfig(10, 5, "client_ip", 1_000);
    assertInstanceOf(LocalTokenBuckets.class, clustered.forRoute(route, local), "scope local stays local in a cluster");
  }
}
