package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.GatewayJar;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import dev.dockgate.testing.TestBackend;
import io.vertx.core.Vertx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A {@code scope: cluster} rate limit on three real gateway JVMs with {@code -cluster} on 127.0.0.1 (Hazelcast
 * TCP-IP join): 10 s of load at twice the rate, 90/5/5 over the nodes, accepts the cluster's budget, not three; a
 * 429 carries the RateLimit headers; after one node is SIGKILLed the two left hold 2/3 of the budget between them.
 */
@Timeout(value = 200, unit = TimeUnit.SECONDS)
class ClusterRateLimitIT {

  private static final Logger LOG = Logger.getLogger(ClusterRateLimitIT.class.getName());
  static final double RATE = 40;
  /** Half a second of the rate: a node stalled by the busy machine for less than that loses no budget. */
  static final int BURST = 20;

  @TempDir
  Path dir;
  Vertx vertx;
  TestBackend backend;
  final List<GatewayJar> nodes = new ArrayList<>();
  final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();

  /** What the load generator got back. */
  /** {@code other}: accepted but not a 200 (the backend timed out, or its circuit was open: {@code open}). */
  record Outcome(long accepted, long refused, long other, long open, double seconds, HttpResponse<String> aRefusal,
      List<Long> perNode) {
  }

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    backend = new TestBackend(vertx, "svc");
    int[] hazelcast = {Ports.free(), Ports.free(), Ports.free()};
    String members = String.join(", ", java.util.Arrays.stream(hazelcast).mapToObj(p -> "\"127.0.0.1:" + p + "\"").toList());
    String yaml = """
        docker: {enabled: false}
        routes:
          - path_prefix: /api
            backend: svc
            rate_limit: {requests_per_second: %s, burst: %d, scope: cluster}
        backends:
          - name: svc
            targets: [http://127.0.0.1:%d]
        cluster:
          name: limits-%d
          host: 127.0.0.1
          members: [%s]
        """.formatted(RATE, BURST, backend.port(), hazelcast[0], members);
    List<CompletableFuture<GatewayJar>> starting = new ArrayList<>();
    for (int port : hazelcast) {
      starting.add(CompletableFuture.supplyAsync(() -> new GatewayJar(dir, "", yaml, 1,
          Map.of("DOCKGATE_CLUSTER_PORT", Integer.toString(port)),
          List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"), List.of("-cluster"), Duration.ofSeconds(100))));
    }
    for (CompletableFuture<GatewayJar> node : starting) {
      try {
        nodes.add(node.join());
      } catch (RuntimeException e) {
        stop();
        throw e;
      }
    }
    // Each node says so once it hears both others and shares the budgets three ways.
    for (GatewayJar node : nodes) {
      Poll.until(Duration.ofSeconds(40), "three nodes share the budgets",
          () -> node.output().contains("cluster rate limits: 3 node(s) share every cluster budget"));
    }
  }

  @AfterEach
  void stop() throws Exception {
    nodes.forEach(GatewayJar::close);
    if (backend != null) {
      backend.close();
    }
    if (vertx != null) {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void skewedLoadGetsTheClusterBudgetAndTheNodesLeftHoldTheirShareAfterAKill() throws Exception {
    Outcome skewed = load(new double[] {0.90, 0.05, 0.05}, 2 * RATE, 10);
    double budget = RATE * skewed.seconds() + BURST;
    LOG.info(String.format("cluster limit %.0f/s burst %d, 90/5/5 at %.0f/s for %.2f s: %d accepted, %d refused"
        + " (budget %.0f, %+.1f%%), by node %s; %d of the accepted not a 200", RATE, BURST, 2 * RATE, skewed.seconds(),
        skewed.accepted(), skewed.refused(), budget, 100 * (skewed.accepted() - budget) / budget, skewed.perNode(),
        skewed.other()));
    logShares();
    assertTrue(Math.abs(skewed.accepted() - budget) <= 0.10 * budget,
        skewed.accepted() + " accepted, budget " + budget + " (three local limits would accept about 3x)");
    // What passed the limit reached the backend (those that timed out there included), nothing else did.
    Poll.until(Duration.ofSeconds(10), "backend got every accepted request",
        () -> backend.waiting() == skewed.accepted() - skewed.open());

    HttpResponse<String> refused = skewed.aRefusal();
    assertEquals(429, refused.statusCode());
    assertEquals(Integer.toString(BURST), refused.headers().firstValue("ratelimit-limit").orElse(""));
    assertEquals("0", refused.headers().firstValue("ratelimit-remaining").orElse(""));
    assertTrue(Long.parseLong(refused.headers().firstValue("ratelimit-reset").orElse("0")) >= 1, refused.headers().toString());
    assertTrue(Long.parseLong(refused.headers().firstValue("retry-after").orElse("0")) >= 1, refused.headers().toString());

    // SIGKILL the busiest node: the two left stop hearing it within 2 s and hold 2/3 of the budget for 60 s.
    int[] logged = {nodes.get(1).output().length(), nodes.get(2).output().length()};
    nodes.get(0).kill();
    for (int i = 1; i < 3; i++) {
      GatewayJar node = nodes.get(i);
      int from = logged[i - 1];
      Poll.until(Duration.ofSeconds(20), "the dead node's share held back", () -> node.output().substring(from)
          .contains("cluster rate limits: 2 of 3 nodes heard; the nodes heard hold 2/3"));
    }
    Outcome after = load(new double[] {0, 0.5, 0.5}, 2 * RATE, 8);
    double share = RATE * 2 / 3 * after.seconds();
    LOG.info(String.format("after the kill, 2 nodes at %.0f/s for %.2f s: %d accepted (2/3 of the budget: %.0f"
        + " plus at most the burst)", 2 * RATE, after.seconds(), after.accepted(), share));
    assertTrue(after.accepted() >= 0.9 * share && after.accepted() <= 1.1 * share + BURST,
        after.accepted() + " accepted, 2/3 of the budget is " + share + " (the whole budget would be "
        + RATE * after.seconds() + ")");
  }

  /** What each node logged about its view of the cluster, for the record. */
  private void logShares() {
    for (int i = 0; i < nodes.size(); i++) {
      int node = i;
      nodes.get(i).output().lines().filter(l -> l.contains("cluster rate limits"))
          .forEach(l -> LOG.info("node " + node + ": " + l));
    }
  }

  /**
   * Sends {@code perSecond} requests a second for {@code seconds} s, evenly paced, node i getting {@code weights[i]}
   * of them in turn, each on its own request (the client keeps connections open); waits for every answer.
   */
  private Outcome load(double[] weights, double perSecond, int seconds) throws Exception {
    List<CompletableFuture<HttpResponse<String>>> sent = new ArrayList<>();
    List<Integer> to = new ArrayList<>();
    double[] due = new double[weights.length];
    long period = (long) (1e9 / perSecond);
    long start = System.nanoTime();
    for (int i = 0; i < perSecond * seconds; i++) {
      long wait = start + i * period - System.nanoTime();
      if (wait > 0) {
        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
      }
      int node = pick(weights, due);
      to.add(node);
      HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + nodes.get(node).port() + "/api/x"))
          .timeout(Duration.ofSeconds(20)).build();
      sent.add(http.sendAsync(request, HttpResponse.BodyHandlers.ofString()));
    }
    double elapsed = (System.nanoTime() - start) / 1e9;
    CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    long accepted = 0;
    long refused = 0;
    long other = 0;
    long open = 0;
    HttpResponse<String> aRefusal = null;
    Long[] perNode = {0L, 0L, 0L};
    for (int i = 0; i < sent.size(); i++) {
      CompletableFuture<HttpResponse<String>> f = sent.get(i);
      int status = f.join().statusCode();
      if (status == 429) {
        refused++;
        aRefusal = f.join();
        continue;
      }
      // Past the limit, whatever the backend then did (on a busy machine it may time out: 504, then 503).
      accepted++;
      perNode[to.get(i)]++;
      if (status != 200) {
        other++;
        open += status == 503 ? 1 : 0;
      }
    }
    return new Outcome(accepted, refused, other, open, elapsed, aRefusal, List.of(perNode));
  }

  /** Smooth weighted round robin: each node's turn comes at its weight's share, evenly spread. */
  private static int pick(double[] weights, double[] due) {
    int best = 0;
    for (int i = 0; i < weights.length; i++) {
      due[i] += weights[i];
      if (due[i] > due[best]) {
        best = i;
      }
    }
    due[best] -= 1;
    return best;
  }
}
