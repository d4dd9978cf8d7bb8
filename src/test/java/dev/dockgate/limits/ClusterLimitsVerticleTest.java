package dev.dockgate.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.cluster.HazelcastSettings;
import dev.dockgate.config.ClusterConfig;
import dev.dockgate.config.RetryConfig;
import dev.dockgate.config.RouteConfig;
import dev.dockgate.events.Addresses;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import java.net.ServerSocket;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The cluster rate-limit verticle on a real one-member Hazelcast cluster: what it publishes, and how often, with and
 * without cluster-scope limits, and after it stops. Each report is one message on {@link Addresses#RATE_LIMIT_DEMAND}.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ClusterLimitsVerticleTest {

  private Vertx vertx;
  private final List<JsonObject> reports = new CopyOnWriteArrayList<>();
  private final List<Long> times = new CopyOnWriteArrayList<>();

  @BeforeEach
  void cluster() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    ClusterConfig config = new ClusterConfig("limits-" + port, List.of("127.0.0.1:" + port), "127.0.0.1", port, false);
    vertx = Vertx.builder().withClusterManager(new HazelcastClusterManager(HazelcastSettings.of(config)))
        .buildClustered().await(30, TimeUnit.SECONDS);
    vertx.eventBus().<JsonObject>consumer(Addresses.RATE_LIMIT_DEMAND, msg -> {
      reports.add(msg.body());
      times.add(System.nanoTime());
    }).completion().await(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void close() throws Exception {
    if (vertx != null) {
      vertx.close().await(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void anIdleNodeSaysItIsThereOnceASecondAndAReloadedClusterLimitIsSharedEveryPeriod() throws Exception {
    RateLimiters limiters = new RateLimiters();
    ClusterLimitsVerticle verticle = new ClusterLimitsVerticle(limiters);
    String id = vertx.deployVerticle(verticle).await(10, TimeUnit.SECONDS);
    Thread.sleep(3_300);
    List<JsonObject> idle = List.copyOf(reports);
    // Its timer fires only when it has something to say: a wakeup costs a thread switch on an idle machine.
    assertTrue(verticle.ticks() <= 4, verticle.ticks() + " timer firings in 3.3 s without a cluster-scope limit");
    // No cluster-scope limit: presence alone, about every 4 periods (1 s): 3 in 3.3 s, give or take a late timer.
    assertTrue(idle.size() >= 2 && idle.size() <= 4, "presence reports in 3.3 s: " + idle);
    for (JsonObject report : idle) {
      assertEquals(new JsonObject(), report.getJsonObject("limits"), report.encode());
    }

    // A reload makes a limit cluster-scope: from the next tick (within a second), one report every period.
    RateLimitConfig shared = new RateLimitConfig(10, 5, "client_ip", 1_000, RateLimitConfig.Scope.CLUSTER);
    RouteConfig route = new RouteConfig("/api", "web", 30_000, false, List.of(), null, RetryConfig.NONE,
        Map.of(RateLimitFeature.KEY, shared));
    limiters.forRoute(route, shared).tryAcquire("k", System.nanoTime());
    Thread.sleep(1_200); // the idle tick that sees it, at most a second away
    int before = reports.size();
    long from = System.nanoTime();
    Thread.sleep(2_000);
    int during = reports.size() - before;
    assertTrue(during >= 6 && during <= 9, during + " reports in 2 s with a cluster-scope limit (one per "
        + ClusterLimitsVerticle.PERIOD_MS + " ms: 8)");
    assertTrue(times.get(times.size() - 1) > from);

    // Stopped: the last message is the node leaving, and nothing follows it; nothing is logged as a warning (its own
    // consumer, being unregistered, got the message and Vert.x warned "Discarding message ... not registered").
    try (dev.dockgate.testing.LoggedErrors warnings = new dev.dockgate.testing.LoggedErrors("",
        java.util.logging.Level.WARNING)) {
      vertx.undeploy(id).await(10, TimeUnit.SECONDS);
      Thread.sleep(1_000);
      assertEquals(List.of(), warnings.lines(), "warnings at the verticle's stop");
    }
    int after = reports.size();
    Thread.sleep(1_000);
    assertEquals(after, reports.size(), "reports after the verticle stopped");
    assertEquals(true, reports.get(reports.size() - 1).getBoolean("left"), reports.get(reports.size() - 1).encode());
  }

  /** Limiters with the cluster verticle deployed on them, as a clustered node has. */
  private RateLimiters deployed() throws Exception {
    RateLimiters limiters = new RateLimiters();
    vertx.deployVerticle(new ClusterLimitsVerticle(limiters)).await(10, TimeUnit.SECONDS);
    return limiters;
  }

  /** The cluster id {@code limiters} give route /api limited by {@code limit}, once a request made it. */
  private static String clusterId(RateLimiters limiters, RateLimitConfig limit) {
    RouteConfig route = new RouteConfig("/api", "web", 30_000, false, List.of(), null, RetryConfig.NONE,
        Map.of(RateLimitFeature.KEY, limit));
    limiters.forRoute(route, limit).tryAcquire("k", System.nanoTime());
    return limiters.clusterIds().iterator().next();
  }

  @Test
  void aPeerLimitingTheSameRouteWithOtherSettingsIsWarnedAboutOnce() throws Exception {
    RateLimiters limiters = deployed();
    String own = clusterId(limiters, new RateLimitConfig(40, 20, "client_ip", 1_000, RateLimitConfig.Scope.CLUSTER));
    String same = own;
    String other = own.replace("40.0/s", "80.0/s").replace("40/s", "80/s");
    assertTrue(!other.equals(own), own);
    JsonObject load = new JsonObject().put("k", new io.vertx.core.json.JsonArray().add(1).add(0).add(0));
    try (dev.dockgate.testing.LoggedErrors warnings = new dev.dockgate.testing.LoggedErrors("dev.dockgate.limits",
        java.util.logging.Level.WARNING)) {
      // A peer with the same settings: nothing to say.
      vertx.eventBus().publish(Addresses.RATE_LIMIT_DEMAND, new JsonObject().put("node", "peer-a")
          .put("limits", new JsonObject().put(same, load)));
      // A peer limiting the same route at 80/s, reported four times: one warning.
      for (int i = 0; i < 4; i++) {
        vertx.eventBus().publish(Addresses.RATE_LIMIT_DEMAND, new JsonObject().put("node", "peer-b")
            .put("limits", new JsonObject().put(other, load)));
      }
      dev.dockgate.testing.Poll.until(java.time.Duration.ofSeconds(5), "the warning",
          () -> warnings.lines().stream().anyMatch(l -> l.contains("peer-b")));
      Thread.sleep(300);
      List<String> said = warnings.lines().stream().filter(l -> l.contains("cluster rate limits: node")).toList();
      assertEquals(1, said.size(), said.toString());
      assertTrue(said.get(0).contains("node peer-b limits route " + RateLimiters.routeOf(own) + " at 80"), said.get(0));
      assertTrue(said.get(0).contains("this node at 40"), said.get(0));
    }
  }
  /**
   * A peer keying IPv6 clients by their /64 where this node keys them by address (a reload on one node only): the
   * nodes share no budget for those clients, and that is said (before: ipv6_prefix was not in the limit's cluster id,
   * the two limits were taken for one and nothing was said).
   */
  @Test
  void aPeerKeyingIpv6ClientsByAnotherPrefixIsWarnedAbout() throws Exception {
    RateLimiters limiters = deployed();
    clusterId(limiters, new RateLimitConfig(40, 20, "client_ip", 1_000, RateLimitConfig.Scope.CLUSTER));
    // The peer's id, made as the peer makes it.
    RateLimiters peer = new RateLimiters();
    peer.joinCluster(ClusterView.unheard(2));
    String other = clusterId(peer, new RateLimitConfig(40, 20, "client_ip", 1_000, RateLimitConfig.Scope.CLUSTER, 64));
    JsonObject load = new JsonObject().put("k", new io.vertx.core.json.JsonArray().add(1).add(0).add(0));
    try (dev.dockgate.testing.LoggedErrors warnings = new dev.dockgate.testing.LoggedErrors("dev.dockgate.limits",
        java.util.logging.Level.WARNING)) {
      vertx.eventBus().publish(Addresses.RATE_LIMIT_DEMAND, new JsonObject().put("node", "peer-c")
          .put("limits", new JsonObject().put(other, load)));
      dev.dockgate.testing.Poll.until(java.time.Duration.ofSeconds(5), "the warning about " + other,
          () -> warnings.lines().stream().anyMatch(l -> l.contains("peer-c")));
      String said = warnings.lines().stream().filter(l -> l.contains("peer-c")).findFirst().orElseThrow();
      assertTrue(said.contains("ipv6_prefix 64"), said);
    }
  }
}
