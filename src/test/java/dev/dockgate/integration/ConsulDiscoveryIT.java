package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.ConsulTestServer;
import dev.dockgate.testing.Docker;
import dev.dockgate.testing.GatewayJar;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import dev.dockgate.testing.TestBackend;
import dev.dockgate.testing.TestCerts;
import io.vertx.core.Vertx;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Consul discovery with the real jar against {@link ConsulTestServer} (a server following Consul's
 * documented HTTP API; no Consul can be installed here) and real backend servers on 127.0.0.1:
 * passing instances routed, a failing check taking one out within about a second through blocking
 * queries (the gateway sends few requests while nothing changes), tags, the ACL token, Consul going
 * away and coming back, an index going backwards (a rebuilt cluster), a snapshot restore, loops
 * rate-limited, and a backend combining a fixed target, a Consul service and Docker labels.
 */
class ConsulDiscoveryIT {

  @TempDir
  Path dir;
  Vertx vertx;
  ConsulTestServer consul;
  TestBackend orders1;
  TestBackend orders2;
  TestBackend orders3;
  GatewayJar gateway;

  @BeforeEach
  void servers() {
    vertx = Vertx.vertx();
    consul = new ConsulTestServer(vertx);
    orders1 = new TestBackend(vertx, "orders-1");
    orders2 = new TestBackend(vertx, "orders-2");
    orders3 = new TestBackend(vertx, "orders-3");
    // orders-1 registers its own address; orders-2 none, so its node's address is used (as Consul documents).
    consul.register("node-a", "127.0.0.1", "orders-1", "orders", "127.0.0.1", orders1.port(), "primary", "v2");
    consul.register("node-b", "127.0.0.1", "orders-2", "orders", "", orders2.port(), "primary");
    consul.register("node-c", "127.0.0.1", "orders-3", "orders", "127.0.0.1", orders3.port(), "v2", "PRIMARY");
  }

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
    consul.close();
    vertx.close();
  }

  GatewayJar start(String consulBlock, String backends, Map<String, String> env) {
    gateway = new GatewayJar(dir, "", consulBlock + """
        docker: {enabled: false}
        routes:
          - path_prefix: /api/orders
            backend: orders
          - path_prefix: /api/tagged
            backend: tagged
        backends:
          - name: orders
            consul_service: orders
          - name: tagged
            consul_service: orders
            consul_tags: [primary, v2]
        """ + backends, 1, env, List.of());
    return gateway;
  }

  /**
   * Starts the gateway with this consul block and waits until it routes to the three passing instances
   * (the start waits at most 3 s for Consul's first answers; a loaded machine can take longer).
   */
  void startRoutingAll(String consulBlock) {
    start(consulBlock, "", Map.of());
    until("the three passing instances routed", Duration.ofSeconds(20), Set.of("orders-1", "orders-2", "orders-3"),
        "/api/orders/x");
  }

  /** The backends that answered {@code rounds} requests to {@code path} (503s as "503"). */
  Set<String> answering(String path, int rounds) {
    Set<String> names = new HashSet<>();
    for (int i = 0; i < rounds; i++) {
      HttpResponse<String> r = gateway.get(path);
      names.add(r.statusCode() == 200 ? r.headers().firstValue("X-Backend").orElse(r.body().trim()) : "" + r.statusCode());
    }
    return names;
  }

  void until(String what, Duration within, Set<String> expected, String path) {
    Poll.until(within, what + " (last: " + answering(path, 1) + ")\n" + gateway.output(),
        () -> answering(path, 30).equals(expected));
  }

  void noSevere() {
    assertFalse(gateway.output().contains("SEVERE"), gateway.output());
  }

  @Test
  @Timeout(120)
  void passingInstancesAreRoutedAFailingCheckLeavesWithinASecondAndIdleQueriesBlock() throws Exception {
    startRoutingAll("consul: {address: \"" + consul.address() + "\"}\n");

    int before = consul.requests();
    long started = System.nanoTime();
    consul.check("orders-2", "critical");
    until("orders-2 out after its check failed", Duration.ofSeconds(5), Set.of("orders-1", "orders-3"), "/api/orders/x");
    long outMs = (System.nanoTime() - started) / 1_000_000;
    System.out.println("failing check to out of rotation: " + outMs + " ms");
    assertTrue(outMs < 3_000, "a failing check took " + outMs + " ms to take the instance out");

    consul.check("orders-2", "warning");
    assertEquals(Set.of("orders-1", "orders-3"), answering("/api/orders/x", 30), "warning is not passing");
    consul.check("orders-2", "passing");
    until("orders-2 back once passing", Duration.ofSeconds(5), Set.of("orders-1", "orders-2", "orders-3"),
        "/api/orders/x");

    // Idle: the blocking queries (one per distinct query: orders, orders+primary+v2) just wait. After
    // three changes in a row each query's token bucket (burst 3, then one a second) may hold its next
    // blocking call back by up to a second: it is sent before the idle window starts.
    Thread.sleep(2_500);
    int idleFrom = consul.requests();
    Thread.sleep(5_000);
    int idle = consul.requests() - idleFrom;
    System.out.println("requests to Consul over 5 s idle: " + idle + "; over the changes: " + (idleFrom - before));
    assertTrue(idle == 0, "the gateway sent " + idle + " requests in 5 idle seconds: polling, not blocking");
    assertTrue(idleFrom - before <= 3 * 2 + 4, "three changes cost " + (idleFrom - before) + " requests");

    List<ConsulTestServer.Seen> seen = consul.seen();
    assertTrue(seen.stream().anyMatch(s -> s.query().contains("index=") && s.query().contains("wait=")), seen.toString());
    assertTrue(seen.stream().allMatch(s -> s.query().contains("passing=true")), seen.toString());
    noSevere();
  }

  @Test
  @Timeout(120)
  void tagsSelectInstancesCarryingAllOfThem() {
    start("consul: {address: \"" + consul.address() + "\", datacenter: dc1}\n", "", Map.of());
    // orders-2 lacks v2; orders-3 carries PRIMARY, which Consul compares without case.
    until("the tagged instances routed", Duration.ofSeconds(20), Set.of("orders-1", "orders-3"), "/api/tagged/x");
    assertTrue(consul.seen().stream().anyMatch(s -> s.path().equals("/v1/health/service/orders")
        && s.query().contains("tag=primary") && s.query().contains("tag=v2") && s.query().contains("dc=dc1")),
        consul.seen().toString());
    consul.register("node-d", "127.0.0.1", "orders-4", "orders", "127.0.0.1", orders2.port() , "v2");
    consul.deregister("orders-1");
    until("orders-1 gone from the tagged backend", Duration.ofSeconds(5), Set.of("orders-3"), "/api/tagged/x");
    noSevere();
  }

  @Test
  @Timeout(180)
  void theTokenIsSentAndAWrongOneIsReportedOnce() {
    consul.requireToken("s3cret-token");
    consul.addTokenWithoutRead("read-nothing");
    String block = "consul: {address: \"" + consul.address() + "\", token: \"${CONSUL_TOKEN:-}\"}\n";

    start(block, "", Map.of("CONSUL_TOKEN", "s3cret-token"));
    until("routed with the token", Duration.ofSeconds(20), Set.of("orders-1", "orders-2", "orders-3"), "/api/orders/x");
    assertTrue(consul.seen().stream().allMatch(s -> "s3cret-token".equals(s.token())), consul.seen().toString());
    assertFalse(gateway.output().contains("s3cret-token"), "the token is never logged");
    gateway.close();

    start(block, "", Map.of("CONSUL_TOKEN", "wrong"));
    assertEquals(Set.of("503"), answering("/api/orders/x", 5));
    Poll.until(Duration.ofSeconds(5), "the refusal logged", () -> gateway.output().contains("403 ACL not found"));
    assertTrue(gateway.output().contains("WARNING"), gateway.output());
    noSevere();
    // The first query's line, then one line for the other (said once no other query joined for 2 s).
    Poll.until(Duration.ofSeconds(10), "the other query summed up\n" + gateway.output(),
        () -> gateway.output().contains("1 more query cannot be queried either"));
    int refusals = gateway.output().split("403 ACL not found", -1).length - 1;
    assertEquals(2, refusals, "two warnings for the whole outage:\n" + gateway.output());
    gateway.close();

    start(block, "", Map.of("CONSUL_TOKEN", "read-nothing"));
    assertEquals(Set.of("503"), answering("/api/orders/x", 5));
    Poll.until(Duration.ofSeconds(5), "the filtering logged", () -> gateway.output().contains("hides some instances"));
    gateway.close();

    start(block, "", Map.of()); // the anonymous token reads nothing under a deny policy
    assertEquals(Set.of("503"), answering("/api/orders/x", 5));
    noSevere();
  }

  @Test
  @Timeout(120)
  void anHttpsAgentWithItsOwnCaAndVerifyIncomingIsReadWithTheCaAndClientCertificateOfConsulTls() {
    // Consul's HTTPS port serves a certificate of the cluster's private CA and, with tls.https.verify_incoming,
    // wants a client certificate (CONSUL_CACERT, CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY for Consul's own CLI)
    TestCerts.Pem agent = TestCerts.selfSigned(dir, "consul-agent");
    TestCerts.Pem client = TestCerts.selfSigned(dir, "gateway-client");
    ConsulTestServer https = new ConsulTestServer(vertx, agent, client.cert());
    try {
      https.register("node-a", "127.0.0.1", "orders-1", "orders", "127.0.0.1", orders1.port(), "primary", "v2");
      https.register("node-b", "127.0.0.1", "orders-2", "orders", "", orders2.port(), "primary");
      start("consul:\n  address: \"" + https.address() + "\"\n  tls: {ca_file: \"" + agent.cert() + "\", cert_file: \""
          + client.cert() + "\", key_file: \"" + client.key() + "\"}\n", "", Map.of());
      until("the instances read over HTTPS routed", Duration.ofSeconds(20), Set.of("orders-1", "orders-2"),
          "/api/orders/x");
      https.check("orders-1", "critical");
      until("blocking queries over HTTPS follow changes", Duration.ofSeconds(5), Set.of("orders-2"), "/api/orders/x");
      assertTrue(https.requests() > 0);
      noSevere();
    } finally {
      https.close();
    }
  }

  @Test
  @Timeout(120)
  void queriesBeyondTheAgentsConnectionLimitPerClientAreReportedWithTheirCause() {
    // limits.http_max_conns_per_client (200 by default) counts the connections of a client IP; each query holds one.
    // The two queries share the pool: the one whose answer frees the connection may lose it to the other, so each
    // can be refused (one WARNING per outage) and answered in turn
    consul.maxConnsPerClient(1);
    start("consul: {address: \"" + consul.address() + "\"}\n", "", Map.of());
    Poll.until(Duration.ofSeconds(10), "the refusal logged", () -> gateway.output().contains("429 Your IP is issuing"));
    String log = gateway.output();
    assertTrue(log.contains("limits.http_max_conns_per_client"), log);
    noSevere();
    consul.maxConnsPerClient(200); // raised (the agent reloaded): the query held back is answered on its next retry
    until("both queries answered", Duration.ofSeconds(15), Set.of("orders-1", "orders-3"), "/api/tagged/x");
    assertEquals(Set.of("orders-1", "orders-2", "orders-3"), answering("/api/orders/x", 30));
  }

  @Test
  @Timeout(120)
  void ipv6AddressesOfServicesAndNodesAreRouted() throws Exception {
    // Consul stores an IPv6 Service.Address or Node.Address as written, without brackets
    io.vertx.core.http.HttpServer v6 = vertx.createHttpServer(new io.vertx.core.http.HttpServerOptions().setHost("::1"))
        .requestHandler(r -> r.response().putHeader("X-Backend", "v6").end("v6"))
        .listen(0).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    consul.deregister("orders-1");
    consul.deregister("orders-2");
    consul.deregister("orders-3");
    consul.register("node-6", "::1", "orders-6", "orders", "", v6.actualPort());
    consul.register("node-7", "127.0.0.1", "orders-7", "orders", "::1", v6.actualPort());
    start("consul: {address: \"" + consul.address() + "\"}\n", "", Map.of());
    until("the IPv6 instances routed", Duration.ofSeconds(20), Set.of("v6"), "/api/orders/x");
    assertTrue(gateway.output().contains("orders-6 on node node-6 at [::1]:" + v6.actualPort()), gateway.output());
    assertTrue(gateway.output().contains("orders-7 on node node-7 at [::1]:" + v6.actualPort()), gateway.output());
    noSevere();
  }

  @Test
  @Timeout(120)
  void consulGoingAwayKeepsTheInstancesAndItsReturnBringsUpdates() {
    startRoutingAll("consul: {address: \"" + consul.address() + "\"}\n");

    consul.stop();
    Poll.until(Duration.ofSeconds(10), "the outage logged, the other query summed up\n" + gateway.output(),
        () -> gateway.output().contains("1 more query cannot be queried either"));
    for (int i = 0; i < 3; i++) {
      assertEquals(Set.of("orders-1", "orders-2", "orders-3"), answering("/api/orders/x", 30),
          "routes keep the last instances while Consul is away");
    }
    consul.deregister("orders-3"); // while away: the gateway learns it when Consul is back
    consul.start();
    until("the change made while away seen once Consul is back", Duration.ofSeconds(10),
        Set.of("orders-1", "orders-2"), "/api/orders/x");
    consul.check("orders-1", "critical");
    until("updates follow again", Duration.ofSeconds(5), Set.of("orders-2"), "/api/orders/x");
    String log = gateway.output();
    assertTrue(log.contains("answers again"), log);
    long warnings = log.lines().filter(l -> l.contains("cannot be queried")).count();
    assertEquals(2, warnings, "the first query's warning and one for the other:\n" + log);
    noSevere();
  }

  /** Backends for 30 more Consul services, extra-1 to extra-30: 32 queries with the two of every test. */
  static String thirtyMoreServices() {
    StringBuilder more = new StringBuilder();
    for (int i = 1; i <= 30; i++) {
      more.append("  - {name: extra-").append(i).append(", consul_service: extra-").append(i).append("}\n");
    }
    return more.toString();
  }

  /**
   * An agent followed for many services going away and coming back: one WARNING in full and one summing up the
   * others, not one per query (before: 32 WARNINGs for 32 queries, and 32 INFO lines at its return).
   */
  @Test
  @Timeout(120)
  void anOutageOfAnAgentFollowedForManyServicesIsSaidInTwoLines() {
    start("consul: {address: \"" + consul.address() + "\"}\n", thirtyMoreServices(), Map.of());
    until("the three passing instances routed", Duration.ofSeconds(20), Set.of("orders-1", "orders-2", "orders-3"),
        "/api/orders/x");

    consul.stop();
    Poll.until(Duration.ofSeconds(10), "the outage summed up\n" + gateway.output(),
        () -> gateway.output().contains("31 more queries cannot be queried either"));
    assertEquals(Set.of("orders-1", "orders-2", "orders-3"), answering("/api/orders/x", 30),
        "routes keep the last instances while Consul is away");
    consul.start();
    Poll.until(Duration.ofSeconds(20), "the return summed up\n" + gateway.output(),
        () -> gateway.output().contains("31 more queries answer again"));
    String log = gateway.output();
    assertEquals(2, log.lines().filter(l -> l.contains("cannot be queried")).count(), log);
    assertEquals(2, log.lines().filter(l -> l.contains("answer again") || l.contains("answers again")).count(), log);
    assertTrue(log.contains("service extra-"), log); // the summing line names some of them
    noSevere();
  }

  /**
   * An agent that takes connections but answers none (hung, or cut off by a partition): every query times out with
   * its own message (Vert.x names the request's path and wait in it), yet they meet one state and share its two lines
   * (before: one WARNING in full per query, nothing summed).
   */
  @Test
  @Timeout(120)
  void anAgentThatAnswersNoneIsSaidInTwoLines() throws InterruptedException {
    consul.latency(Duration.ofMinutes(5));
    start("consul: {address: \"" + consul.address() + "\"}\n", thirtyMoreServices(), Map.of());
    // Plain reads give up after 10 s without an answer; the summing line 2 s after the last of them.
    Poll.until(Duration.ofSeconds(40), "the first timeout", () -> gateway.output().contains("cannot be queried"));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (!gateway.output().contains("31 more queries cannot be queried either") && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    String log = gateway.output();
    assertTrue(log.contains("31 more queries cannot be queried either"), "the timeouts summed up:\n" + log);
    assertEquals(2, log.lines().filter(l -> l.contains("cannot be queried")).count(), log);
    noSevere();
  }

  /**
   * An outage shorter than the summing line's hold: the line counting the other queries that failed is said before
   * the first query's return, not after it (before: "answers again", then "1 more query cannot be queried either",
   * as if the agent had gone away once more).
   */
  @Test
  @Timeout(120)
  void aShortOutageIsSummedUpBeforeTheAgentIsSaidToAnswerAgain() {
    startRoutingAll("consul: {address: \"" + consul.address() + "\"}\n");

    consul.stop();
    Poll.until(Duration.ofSeconds(10), "the outage logged\n" + gateway.output(),
        () -> gateway.output().contains("cannot be queried"));
    consul.start(); // well within the 2 s hold: the first retry comes after 250 ms
    Poll.until(Duration.ofSeconds(20), "the return summed up\n" + gateway.output(),
        () -> gateway.output().contains("1 more query answer again"));
    List<String> lines = gateway.output().lines().toList();
    int summed = -1;
    int back = -1;
    for (int i = 0; i < lines.size(); i++) {
      if (summed < 0 && lines.get(i).contains("1 more query cannot be queried either")) {
        summed = i;
      }
      if (back < 0 && lines.get(i).contains("answers again")) {
        back = i;
      }
    }
    assertTrue(summed >= 0 && summed < back, "the outage summed up before the return:\n" + gateway.output());
    noSevere();
  }

  @Test
  @Timeout(120)
  void anIndexGoingBackwardsRestartsTheLoop() {
    startRoutingAll("consul: {address: \"" + consul.address() + "\", wait_ms: 4000}\n");
    long high = consul.index("orders");
    int seenBefore = consul.seen().size();
    consul.rebuiltCluster(3);
    // The queries, retried on the new servers, are answered at their wait's end with the lower index;
    // the gateway then reads afresh.
    Poll.until(Duration.ofSeconds(10), "a plain read after the index went back from " + high, () -> consul.seen()
        .subList(seenBefore, consul.seen().size()).stream().anyMatch(s -> !s.query().contains("index=")));
    Poll.until(Duration.ofSeconds(3), "blocking on the new cluster's index", () -> consul.seen()
        .subList(seenBefore, consul.seen().size()).stream().anyMatch(s -> s.query().contains("index=3&")));
    long started = System.nanoTime();
    consul.check("orders-3", "critical"); // index 4: still below the one before the new cluster
    until("a change on the new cluster", Duration.ofSeconds(3), Set.of("orders-1", "orders-2"), "/api/orders/x");
    System.out.println("change on the rebuilt cluster seen in " + (System.nanoTime() - started) / 1_000_000 + " ms");
    assertTrue(gateway.output().contains("the index went back"), gateway.output());
    noSevere();
  }

  @Test
  @Timeout(120)
  void serversCappingBlockingQueriesBelowTheWaitAreLearnedNotTakenForRestoresEachTime() {
    consul.maxQueryTime(Duration.ofMillis(300)); // max_query_time far below the gateway's wait
    startRoutingAll("consul: {address: \"" + consul.address() + "\", wait_ms: 4000, min_query_interval_ms: 100}\n");
    Poll.until(Duration.ofSeconds(10), "the cap learned\n" + gateway.output(),
        () -> gateway.output().contains("the servers end blocking queries after about"));
    // Another service's plain read still under way when the cap was learned is let finish (it follows its early
    // answer within min_query_interval_ms).
    sleep(1_000);
    int early = count(gateway.output(), "answered early without a change");
    int seenBefore = consul.seen().size();
    Poll.until(Duration.ofSeconds(10), "blocking queries going on", () -> consul.seen().size() >= seenBefore + 10);
    List<ConsulTestServer.Seen> after = consul.seen().subList(seenBefore, consul.seen().size());
    assertEquals(0, after.stream().filter(s -> !s.query().contains("index=")).count(),
        "every capped answer read again from the start: " + after);
    assertEquals(early, count(gateway.output(), "answered early without a change"), gateway.output());
    // A busy host: the servers' timeouts reach the gateway 150 ms late (half their cap): still timeouts, not a sign
    // that the cap was not one (before, an eighth late had it forgotten and every timeout read afresh).
    consul.latency(Duration.ofMillis(150));
    int seenSlow = consul.seen().size();
    Poll.until(Duration.ofSeconds(15), "blocking queries going on late", () -> consul.seen().size() >= seenSlow + 10);
    List<ConsulTestServer.Seen> slow = consul.seen().subList(seenSlow, consul.seen().size());
    assertEquals(0, slow.stream().filter(s -> !s.query().contains("index=")).count(),
        "every late timeout read again from the start: " + slow);
    assertFalse(gateway.output().contains("that limit is forgotten"), gateway.output());
    consul.latency(Duration.ZERO);
    // Changes still arrive at once.
    consul.check("orders-3", "critical");
    until("orders-3 out", Duration.ofSeconds(5), Set.of("orders-1", "orders-2"), "/api/orders/x");
    // The servers' limit raised again: the first query that waits past the learned one has it forgotten.
    consul.maxQueryTime(Duration.ofMinutes(10));
    Poll.until(Duration.ofSeconds(15), "the learned limit forgotten\n" + gateway.output(),
        () -> gateway.output().contains("that limit is forgotten"));
    noSevere();
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static int count(String text, String part) {
    int n = 0;
    for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) {
      n++;
    }
    return n;
  }

  @Test
  @Timeout(120)
  void aSnapshotRestoreIsSeenAtOnceAndLaterChangesToo() {
    startRoutingAll("consul: {address: \"" + consul.address() + "\", wait_ms: 4000}\n");
    ConsulTestServer.Snapshot allPassing = consul.snapshot();
    consul.check("orders-3", "critical");
    until("orders-3 out", Duration.ofSeconds(5), Set.of("orders-1", "orders-2"), "/api/orders/x");
    long high = consul.index("orders");
    int seenBefore = consul.seen().size();
    long restored = System.nanoTime();
    consul.restoreSnapshot(allPassing);
    // Consul answers the blocked queries at once, from the abandoned store (same index): both are sent again as
    // plain reads.
    Duration again = Poll.until(Duration.ofSeconds(3), "the blocked queries answered at once and read afresh",
        () -> consul.seen().subList(seenBefore, consul.seen().size()).stream()
            .filter(s -> !s.query().contains("index=")).count() == 2);
    // The restored catalog reports the snapshot's lower index, on which a blocking query would sit for its whole
    // wait: an answer let go early without a change makes the gateway read afresh, and see the restored state.
    until("the restored orders-3 back", Duration.ofSeconds(10), Set.of("orders-1", "orders-2", "orders-3"),
        "/api/orders/x");
    long restoredMs = (System.nanoTime() - restored) / 1_000_000;
    assertTrue(gateway.output().contains("answered early without a change"), gateway.output());
    long started = System.nanoTime();
    consul.check("orders-1", "critical"); // lands above every index before the restore
    assertTrue(consul.index("orders") > high, consul.index("orders") + " after " + high);
    until("a change after the restore", Duration.ofSeconds(3), Set.of("orders-2", "orders-3"), "/api/orders/x");
    long changeMs = (System.nanoTime() - started) / 1_000_000;
    System.out.println("restore: queries sent again after " + again.toMillis() + " ms, restored state routed after "
        + restoredMs + " ms (wait 4000 ms), a change after it seen in " + changeMs + " ms");
    assertTrue(restoredMs < 2_000, "the restored state took " + restoredMs + " ms, as long as a wait (4000 ms)");
    noSevere();
  }

  @Test
  @Timeout(120)
  void loopsAreRateLimitedWhenAnswersComeBackAtOnce() throws Exception {
    startRoutingAll("consul: {address: \"" + consul.address() + "\"}\n");

    consul.churn(true);
    Thread.sleep(300);
    int from = consul.requests();
    Thread.sleep(4_000);
    int churned = consul.requests() - from;
    consul.churn(false);
    System.out.println("requests over 4 s of churn (2 queries): " + churned);
    assertTrue(churned <= 2 * (4 + 2), "a churning service drew " + churned + " requests in 4 s");
    assertTrue(churned >= 4, "the loops went on under churn: " + churned);

    Thread.sleep(2_000); // the rate-limited loops send their next queries, which block
    int blockedFrom = consul.seen().size();
    consul.zeroIndex(true); // answers them with index 0: the gateway must then wait on index 1
    Thread.sleep(1_500);
    from = consul.requests();
    Thread.sleep(4_000);
    int zero = consul.requests() - from;
    System.out.println("requests over 4 s with X-Consul-Index 0: " + zero);
    assertTrue(zero <= 2, "an index of 0 was not replaced by 1: " + zero + " requests in 4 s");
    List<ConsulTestServer.Seen> after = consul.seen().subList(blockedFrom, consul.seen().size());
    assertTrue(after.stream().anyMatch(s -> s.query().contains("index=1&")), after.toString());
    noSevere();
  }

  @Test
  @Timeout(120)
  void answersWithoutAnIndexArePolledAtTheMinimumIntervalWithOneWarning() throws Exception {
    startRoutingAll("consul: {address: \"" + consul.address() + "\", min_query_interval_ms: 500}\n");

    int seenFrom = consul.seen().size();
    consul.dropIndexHeader(true); // a proxy between passes no X-Consul-Index
    consul.check("orders-2", "critical"); // wakes the blocked queries, answered without an index
    until("orders-2 out while the index is missing", Duration.ofSeconds(5), Set.of("orders-1", "orders-3"),
        "/api/orders/x");
    Thread.sleep(1_000);
    int from = consul.seen().size();
    Thread.sleep(4_000);
    List<ConsulTestServer.Seen> polled = consul.seen().subList(from, consul.seen().size());
    System.out.println("requests over 4 s without X-Consul-Index (2 queries): " + polled.size());
    // Plain reads at min_query_interval_ms (two queries, 500 ms): about 16, not a blocking query that cannot block.
    assertTrue(polled.size() >= 8 && polled.size() <= 2 * (8 + 2), polled.size() + " requests: " + polled);
    assertEquals(0, polled.stream().filter(s -> s.query().contains("index=")).count(), polled.toString());
    consul.check("orders-2", "passing");
    until("orders-2 back while polled", Duration.ofSeconds(5), Set.of("orders-1", "orders-2", "orders-3"),
        "/api/orders/x");
    String output = gateway.output();
    assertEquals(2, count(output, "without X-Consul-Index"), output); // once per query, not per answer
    assertFalse(output.contains("the index went back"), output);

    consul.dropIndexHeader(false);
    Poll.until(Duration.ofSeconds(5), "blocking queries again\n" + gateway.output(), () -> consul.seen()
        .subList(seenFrom, consul.seen().size()).stream().anyMatch(s -> s.query().contains("index=")));
    Poll.until(Duration.ofSeconds(5), "said once the index is back\n" + gateway.output(),
        () -> count(gateway.output(), "X-Consul-Index again") == 2);
    Thread.sleep(1_500);
    int idleFrom = consul.seen().size();
    Thread.sleep(3_000);
    assertTrue(consul.seen().size() - idleFrom <= 2, "blocking again: " + consul.seen().subList(idleFrom,
        consul.seen().size()));
    noSevere();
  }

  @Test
  @Timeout(120)
  void theGatewaysOwnHealthCheckAndBreakersJudgeConsulInstances() {
    gateway = new GatewayJar(dir, "", "consul: {address: \"" + consul.address() + "\"}\n" + """
        docker: {enabled: false}
        routes:
          - path_prefix: /api/orders
            backend: orders
        backends:
          - name: orders
            consul_service: orders
            load_balancer: round_robin
            health_check: {path: /health, interval_ms: 100, timeout_ms: 100, unhealthy_threshold: 2}
        """, 1);
    until("all three routed", Duration.ofSeconds(5), Set.of("orders-1", "orders-2", "orders-3"), "/api/orders/x");
    orders2.sick(true); // Consul still says passing: the gateway's own check takes it out
    until("orders-2 out on the gateway's health check", Duration.ofSeconds(5), Set.of("orders-1", "orders-3"),
        "/api/orders/x");
    orders2.sick(false);
    until("orders-2 back", Duration.ofSeconds(5), Set.of("orders-1", "orders-2", "orders-3"), "/api/orders/x");
    orders3.close(); // refused connections: its breaker opens, the others answer
    until("orders-3 passed over once refused", Duration.ofSeconds(10), Set.of("orders-1", "orders-2"), "/api/orders/x");
    noSevere();
  }

  /**
   * A reload moving a backend to another Consul service keeps it serving throughout: the new config applies once the
   * new service's first answer is in (3 s at most), so the backend is never without instances. Before, it answered
   * 503 from the reload until that answer came (here 400 ms: a slow agent).
   */
  @Test
  @Timeout(120)
  void aReloadMovingABackendToAnotherServiceServesThroughout() throws Exception {
    startRoutingAll("consul: {address: \"" + consul.address() + "\"}\n");
    consul.register("node-p", "127.0.0.1", "payment-1", "payment", "127.0.0.1", orders1.port());
    consul.latency(Duration.ofMillis(400));
    Path conf;
    try (var files = java.nio.file.Files.list(dir)) {
      conf = files.filter(f -> f.getFileName().toString().endsWith(".yml")).findFirst().orElseThrow();
    }
    String text = java.nio.file.Files.readString(conf);
    // Routes enough that the router builds the new routing for a while: meanwhile it serves the old config, whose
    // backend follows orders, so orders' instances must stay until the new routing is live.
    StringBuilder more = new StringBuilder();
    for (int i = 0; i < 5_000; i++) {
      more.append("  - path_prefix: /filler/").append(i).append("\n    backend: tagged\n");
    }
    java.nio.file.Files.writeString(conf, text
        .replace("consul_service: orders\n  - name: tagged", "consul_service: payment\n  - name: tagged")
        .replace("routes:\n", "routes:\n" + more));
    gateway.signal("HUP");
    List<String> seen = new ArrayList<>();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    // Until payment's instance (orders-1's server) alone answers ten in a row.
    int onlyPayment = 0;
    while (onlyPayment < 10) {
      assertTrue(System.nanoTime() < deadline, "not moved within 15 s: " + seen + "\n" + gateway.output());
      HttpResponse<String> r = gateway.get("/api/orders/x");
      String who = r.statusCode() == 200 ? r.headers().firstValue("X-Backend").orElse(r.body().trim()) : "" + r.statusCode();
      seen.add(who);
      onlyPayment = who.equals("orders-1") && gateway.output().contains(" live on the router") ? onlyPayment + 1 : 0;
    }
    assertEquals(List.of(), seen.stream().filter(w -> !w.startsWith("orders-")).toList(),
        "answers other than the instances' during the move: " + seen + "\n" + gateway.output());
    noSevere();
  }

  @Test
  @Timeout(120)
  void aReloadStartsAndStopsQueries() throws Exception {
    startRoutingAll("consul: {address: \"" + consul.address() + "\"}\n");
    consul.register("node-p", "127.0.0.1", "payment-1", "payment", "127.0.0.1", orders1.port());
    Path conf;
    try (var files = java.nio.file.Files.list(dir)) {
      conf = files.filter(f -> f.getFileName().toString().endsWith(".yml")).findFirst().orElseThrow();
    }
    String text = java.nio.file.Files.readString(conf);
    java.nio.file.Files.writeString(conf, text
        .replace("consul_tags: [primary, v2]", "consul_tags: [primary]")
        .replace("consul_service: orders\n  - name: tagged", "consul_service: payment\n  - name: tagged"));
    gateway.signal("HUP");
    Poll.until(Duration.ofSeconds(10), "reloaded", () -> gateway.output().contains("config reloaded"));
    until("orders now follows payment", Duration.ofSeconds(5), Set.of("orders-1"), "/api/orders/x");
    until("tagged now needs primary only", Duration.ofSeconds(5), Set.of("orders-1", "orders-2", "orders-3"),
        "/api/tagged/x");
    int before = consul.requests();
    Thread.sleep(3_000);
    assertEquals(before, consul.requests(), "the dropped queries are gone, the new ones block");
    assertTrue(consul.seen().stream().anyMatch(s -> s.path().endsWith("/payment")), consul.seen().toString());
    noSevere();
  }

  @Test
  @Timeout(180)
  void aBackendCombinesAFixedTargetAConsulServiceAndDockerLabels() {
    String app = "consul-mix-" + UUID.randomUUID().toString().substring(0, 6);
    try (Docker docker = new Docker(); TestBackend fixed = new TestBackend(vertx, "fixed")) {
      docker.runHttpd("mixed", Ports.free(), "/api/orders/id", Map.of("app_name", app));
      String container = docker.fullName("mixed");
      gateway = new GatewayJar(dir, "", "consul: {address: \"" + consul.address() + "\"}\n" + """
          routes:
            - path_prefix: /api/orders
              backend: mixed
          backends:
            - name: mixed
              match_labels: [app_name=%s]
              consul_service: orders
              consul_tags: [v2]
              targets: [http://127.0.0.1:%d]
          """.formatted(app, fixed.port()), 1);
      until("all three sources serving", Duration.ofSeconds(10), Set.of("fixed", container, "orders-1", "orders-3"),
          "/api/orders/id");
      consul.check("orders-3", "critical");
      until("the failing Consul instance out, the others kept", Duration.ofSeconds(5),
          Set.of("fixed", container, "orders-1"), "/api/orders/id");
      noSevere();
    }
  }
}
