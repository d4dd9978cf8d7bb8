package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.GatewayJar;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import dev.dockgate.testing.TestBackend;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
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

  /** One request the load generator sent: when (nanoseconds from the start), to which node, and its answer. */
  record Sent(long at, int node, CompletableFuture<HttpResponse<String>> answer) {
  }

  /**
   * What one run of the load generator got back. {@code accepted}: past the limit (not a 429), whatever the backend
   * then did; {@code open}: of those, answered 503 (the backend's circuit open after timeouts on a busy machine);
   * {@code ideal}: what one token bucket of the limit's rate and burst would accept for the same send times.
   */
  record Outcome(long accepted, long refused, long open, long ideal, double seconds, double lateSeconds,
      HttpResponse<String> aRefusal, long[] attempts, long[] acceptedBy, long[][] perSecond,
      List<Map<Integer, Long>> statuses) {

    /** Per node: accepted of attempts, and accepted in each second of the run. */
    String byNode() {
      StringBuilder text = new StringBuilder();
      for (int i = 0; i < attempts.length; i++) {
        text.append(String.format("%n  node %d: %d of %d accepted, per second %s, statuses %s", i, acceptedBy[i],
            attempts[i], Arrays.toString(perSecond[i]), statuses.get(i)));
      }
      return text.toString();
    }
  }

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    backend = new TestBackend(vertx, "svc");
    int[] hazelcast = {Ports.free(), Ports.free(), Ports.free()};
    String members = String.join(", ", Arrays.stream(hazelcast).mapToObj(p -> "\"127.0.0.1:" + p + "\"").toList());
    String yaml = """
        docker: {enabled: false}
        routes:
          - path_prefix: /api
            backend: svc
            rate_limit: {requests_per_second: %s, burst: %d, scope: cluster}
          - path_prefix: /warm
            backend: svc
        backends:
          - name: svc
            targets: [http://127.0.0.1:%d]
        cluster:
          name: limits-%d
          host: 127.0.0.1
          members: [%s]
        """.formatted(RATE, BURST, backend.port(), hazelcast[0], members);
    // Each node logs its shares every period (FINE), kept in target/ for the record.
    Path logging = dir.resolve("logging.properties");
    Files.writeString(logging, """
        handlers=java.util.logging.ConsoleHandler
        java.util.logging.ConsoleHandler.level=FINE
        java.util.logging.SimpleFormatter.format=%1$tT.%1$tL %4$-7s [%3$s] %5$s%6$s%n
        .level=INFO
        dev.dockgate.limits.ClusterTokenBuckets.level=FINE
        """);
    List<CompletableFuture<GatewayJar>> starting = new ArrayList<>();
    for (int port : hazelcast) {
      starting.add(CompletableFuture.supplyAsync(() -> new GatewayJar(dir, "", yaml, 1,
          Map.of("DOCKGATE_CLUSTER_PORT", Integer.toString(port)),
          List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
              "-Djava.util.logging.config.file=" + logging), List.of("-cluster"), Duration.ofSeconds(100))));
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
    Path kept = Path.of("target", "cluster-rate-limit");
    Files.createDirectories(kept);
    for (int i = 0; i < nodes.size(); i++) {
      Files.writeString(kept.resolve("node-" + i + ".log"), nodes.get(i).output());
    }
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
    // Warm the JVMs' proxy path first (a cold node stalls for seconds, and its queued requests then arrive as one
    // burst), touch the limit on every node, then let the buckets refill and the demand fade.
    load("/warm", new double[] {1 / 3.0, 1 / 3.0, 1 / 3.0}, 2 * RATE, 4, RATE, BURST);
    load("/api", new double[] {1 / 3.0, 1 / 3.0, 1 / 3.0}, 6, 1, RATE, BURST);
    Thread.sleep(3_000);
    int reached = backend.waiting();
    Outcome skewed = load("/api", new double[] {0.90, 0.05, 0.05}, 2 * RATE, 10, RATE, BURST);
    double budget = RATE * skewed.seconds() + BURST;
    String figures = String.format("cluster limit %.0f/s burst %d, 90/5/5 at %.0f/s for %.2f s (sends up to %.2f s"
        + " late): %d accepted, %d refused; one bucket would accept %d for the same send times (%+.1f%%); budget"
        + " %.0f; %d answered 503 by an open circuit; load average %s%s", RATE, BURST, 2 * RATE, skewed.seconds(),
        skewed.lateSeconds(), skewed.accepted(), skewed.refused(), skewed.ideal(),
        100.0 * (skewed.accepted() - skewed.ideal()) / skewed.ideal(), budget, skewed.open(), loadAverage(),
        skewed.byNode());
    LOG.info(figures);
    logShares();
    assertTrue(Math.abs(skewed.accepted() - skewed.ideal()) <= 0.10 * skewed.ideal(), figures);
    assertTrue(skewed.accepted() <= 1.10 * budget, figures);
    // What passed the limit reached the backend (those that timed out there included), nothing else did.
    Poll.until(Duration.ofSeconds(10), "backend got every accepted request",
        () -> backend.waiting() - reached == skewed.accepted() - skewed.open());

    HttpResponse<String> refused = skewed.aRefusal();
    assertEquals(429, refused.statusCode());
    assertEquals(Integer.toString(BURST), refused.headers().firstValue("ratelimit-limit").orElse(""));
    assertEquals("0", refused.headers().firstValue("ratelimit-remaining").orElse(""));
    assertTrue(Long.parseLong(refused.headers().firstValue("ratelimit-reset").orElse("0")) >= 1, refused.headers().toString());
    assertTrue(Long.parseLong(refused.headers().firstValue("retry-after").orElse("0")) >= 1, refused.headers().toString());

    // SIGKILL the busiest node: the two left stop hearing it within 5 s and hold 2/3 of the budget for 60 s.
    int[] logged = {nodes.get(1).output().length(), nodes.get(2).output().length()};
    nodes.get(0).kill();
    for (int i = 1; i < 3; i++) {
      GatewayJar node = nodes.get(i);
      int from = logged[i - 1];
      Poll.until(Duration.ofSeconds(30), "the dead node's share held back", () -> node.output().substring(from)
          .contains("cluster rate limits: 2 of 3 nodes heard; the nodes heard hold 2/3"));
    }
    // Their buckets refilled meanwhile: two thirds of the rate and of the burst.
    Outcome after = load("/api", new double[] {0, 0.5, 0.5}, 2 * RATE, 8, RATE * 2 / 3, BURST * 2 / 3.0);
    double share = RATE * 2 / 3 * after.seconds() + BURST * 2 / 3.0;
    String held = String.format("after the kill, 2 nodes at %.0f/s for %.2f s (sends up to %.2f s late): %d accepted;"
        + " one bucket of 2/3 of the rate and burst would accept %d (%+.1f%%), the whole budget %.0f%s", 2 * RATE,
        after.seconds(), after.lateSeconds(), after.accepted(), after.ideal(),
        100.0 * (after.accepted() - after.ideal()) / after.ideal(), RATE * after.seconds() + BURST, after.byNode());
    LOG.info(held);
    assertTrue(Math.abs(after.accepted() - after.ideal()) <= 0.10 * after.ideal(), held);
    assertTrue(after.accepted() <= 1.10 * share, held);
  }

  /** The machine's load average over 1, 5 and 15 minutes, for the record. */
  private static String loadAverage() throws IOException {
    return String.join(" ", Arrays.asList(Files.readString(Path.of("/proc/loadavg")).split(" ")).subList(0, 3));
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
   * Sends {@code perSecond} requests a second to {@code path} for {@code seconds} s, evenly paced, node i getting
   * {@code weights[i]} of them in turn, each on its own request (the client keeps connections open); waits for every
   * answer and compares the accepted count with one ideal bucket of {@code rate} and {@code burst} fed the same send
   * times.
   */
  private Outcome load(String path, double[] weights, double perSecond, int seconds, double rate, double burst)
      throws Exception {
    List<Sent> sent = new ArrayList<>();
    double[] due = new double[weights.length];
    long period = (long) (1e9 / perSecond);
    long late = 0;
    long start = System.nanoTime();
    for (int i = 0; i < perSecond * seconds; i++) {
      long wait = start + i * period - System.nanoTime();
      if (wait > 0) {
        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
      }
      int node = pick(weights, due);
      HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + nodes.get(node).port() + path + "/x"))
          .timeout(Duration.ofSeconds(20)).build();
      long at = System.nanoTime() - start;
      late = Math.max(late, at - i * period);
      sent.add(new Sent(at, node, http.sendAsync(request, HttpResponse.BodyHandlers.ofString())));
    }
    double elapsed = (System.nanoTime() - start) / 1e9;
    CompletableFuture.allOf(sent.stream().map(Sent::answer).toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    long accepted = 0;
    long refused = 0;
    long open = 0;
    HttpResponse<String> aRefusal = null;
    long[] attempts = new long[nodes.size()];
    long[] acceptedBy = new long[nodes.size()];
    long[][] bySecond = new long[nodes.size()][(int) Math.ceil(elapsed)];
    List<Map<Integer, Long>> statuses = new ArrayList<>();
    nodes.forEach(n -> statuses.add(new TreeMap<>()));
    for (Sent s : sent) {
      HttpResponse<String> answer = s.answer().join();
      attempts[s.node()]++;
      statuses.get(s.node()).merge(answer.statusCode(), 1L, Long::sum);
      if (answer.statusCode() == 429) {
        refused++;
        aRefusal = answer;
        continue;
      }
      // Past the limit, whatever the backend then did (on a busy machine it may time out: 504, then 503).
      accepted++;
      acceptedBy[s.node()]++;
      bySecond[s.node()][(int) Math.min(s.at() / 1_000_000_000L, bySecond[s.node()].length - 1)]++;
      open += answer.statusCode() == 503 ? 1 : 0;
    }
    long ideal = idealBucket(sent.stream().mapToLong(Sent::at).toArray(), rate, burst);
    return new Outcome(accepted, refused, open, ideal, elapsed, late / 1e9, aRefusal, attempts, acceptedBy, bySecond, statuses);
  }

  /** How many of requests sent at {@code times} (nanoseconds, ascending) one token bucket, full at first, accepts. */
  static long idealBucket(long[] times, double rate, double burst) {
    double tokens = burst;
    long last = times.length == 0 ? 0 : times[0];
    long accepted = 0;
    for (long t : times) {
      tokens = Math.min(burst, tokens + (t - last) * rate / 1e9);
      last = t;
      if (tokens >= 1) {
        tokens -= 1;
        accepted++;
      }
    }
    return accepted;
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
