package dev.dockgate.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link ConsulTestServer} answers as Consul's source does (agent/http.go, agent/health_endpoint.go,
 * agent/consul/state/catalog.go, agent/blockingquery): argument parsing and error precedence, the
 * token's sources, service names without case, {@code wait} as a Go duration, and the index rules.
 */
@Timeout(60)
class ConsulTestServerTest {

  Vertx vertx;
  ConsulTestServer consul;
  HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    consul = new ConsulTestServer(vertx);
    consul.register("node-a", "127.0.0.1", "orders-1", "orders", "127.0.0.1", 8001, "primary");
    consul.register("node-b", "127.0.0.1", "orders-2", "orders", "127.0.0.1", 8002);
    consul.check("orders-2", "critical");
  }

  @AfterEach
  void stop() {
    consul.close();
    vertx.close();
  }

  HttpResponse<String> get(String pathAndQuery, String... headers) throws Exception {
    return send("GET", pathAndQuery, headers);
  }

  HttpResponse<String> send(String method, String pathAndQuery, String... headers) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(consul.address() + pathAndQuery))
        .timeout(Duration.ofSeconds(30)).method(method, HttpRequest.BodyPublishers.noBody());
    if (headers.length > 0) {
      request.headers(headers);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  static int entries(HttpResponse<String> response) {
    assertEquals(200, response.statusCode(), response.body());
    return new JsonArray(response.body()).size();
  }

  static long index(HttpResponse<String> response) {
    return Long.parseLong(response.headers().firstValue("X-Consul-Index").orElseThrow());
  }

  @Test
  void waitIsAGoDurationZeroOrLessMeaningTheDefaultAndTenMinutesTheMost() {
    long ms = 1_000_000;
    assertEquals(5 * 60_000 * ms, ConsulTestServer.queryTimeoutNanos(null));
    assertEquals(5 * 60_000 * ms, ConsulTestServer.queryTimeoutNanos(""));
    assertEquals(5 * 60_000 * ms, ConsulTestServer.queryTimeoutNanos("0"));
    assertEquals(5 * 60_000 * ms, ConsulTestServer.queryTimeoutNanos("-0"));
    assertEquals(5 * 60_000 * ms, ConsulTestServer.queryTimeoutNanos("0s"));
    assertEquals(5 * 60_000 * ms, ConsulTestServer.queryTimeoutNanos("-1s"));
    assertEquals(500 * ms, ConsulTestServer.queryTimeoutNanos(".5s"));
    assertEquals(1_000 * ms, ConsulTestServer.queryTimeoutNanos("1.s"));
    assertEquals(1_000 * ms, ConsulTestServer.queryTimeoutNanos("+1s"));
    assertEquals(90_000 * ms, ConsulTestServer.queryTimeoutNanos("1m30s"));
    assertEquals(4_000 * ms, ConsulTestServer.queryTimeoutNanos("4000ms"));
    assertEquals(1_500 * ms, ConsulTestServer.queryTimeoutNanos("1s500ms"));
    assertEquals(250_000, ConsulTestServer.queryTimeoutNanos("250us"));
    assertEquals(250_000, ConsulTestServer.queryTimeoutNanos("250\u00b5s"));
    assertEquals(250_000, ConsulTestServer.queryTimeoutNanos("250\u03bcs"));
    assertEquals(100, ConsulTestServer.queryTimeoutNanos("100ns"));
    assertEquals(10 * 60_000 * ms, ConsulTestServer.queryTimeoutNanos("15m"));
    assertEquals(10 * 60_000 * ms, ConsulTestServer.queryTimeoutNanos("1.5h"));
    assertEquals(5_400_000 * ms, ConsulTestServer.goDuration("1.5h"));
    assertEquals(Long.MIN_VALUE, ConsulTestServer.goDuration("-9223372036854775808ns"));
    for (String bad : new String[] {"ms", "s", "m", "h", "us", "ns", "1", "10", "+", "-", ".s", "1x", "1e3s", "1 s",
        " 1s", "1s ", "- 1s", "1S", "1sec", "9223372036854775808ns", "99999999999999999999s"}) {
      assertThrows(IllegalArgumentException.class, () -> ConsulTestServer.goDuration(bad), bad);
    }
  }

  @Test
  void jitterIsBelowASixteenthOfTheWait() {
    for (int i = 0; i < 10_000; i++) {
      long jitter = ConsulTestServer.jitterNanos(16_000);
      assertTrue(jitter >= 0 && jitter < 1_000, "jitter " + jitter);
    }
    assertEquals(0, ConsulTestServer.jitterNanos(15));
  }

  @Test
  void aBlockingQueryWaitsItsWaitPlusAtMostASixteenth() throws Exception {
    long index = index(get("/v1/health/service/orders"));
    long started = System.nanoTime();
    HttpResponse<String> response = get("/v1/health/service/orders?index=" + index + "&wait=400ms");
    long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    assertEquals(index, index(response));
    assertTrue(tookMs >= 400 && tookMs < 400 + 25 + 500, "answered after " + tookMs + " ms");
  }

  @Test
  void passingIsAGoBooleanAndBarePassingIsTrue() throws Exception {
    for (String yes : new String[] {"passing", "passing=", "passing=1", "passing=t", "passing=T", "passing=TRUE",
        "passing=true", "passing=True"}) {
      assertEquals(1, entries(get("/v1/health/service/orders?" + yes)), yes);
    }
    for (String no : new String[] {"", "passing=0", "passing=f", "passing=F", "passing=FALSE", "passing=false",
        "passing=False"}) {
      assertEquals(2, entries(get("/v1/health/service/orders?" + no)), no);
    }
    for (String bad : new String[] {"yes", "tRuE", "2", "on", "%20true"}) {
      HttpResponse<String> response = get("/v1/health/service/orders?passing=" + bad);
      assertEquals(400, response.statusCode(), bad);
      assertEquals("Invalid value for ?passing", response.body());
    }
  }

  @Test
  void errorsComeInConsulsOrder() throws Exception {
    consul.requireToken("good");
    // wait, then index, are parsed before anything else is looked at
    refused(400, "Invalid wait time", "?wait=soon&index=x&dc=elsewhere&passing=maybe", "");
    refused(400, "Invalid index", "?index=-1&dc=elsewhere&passing=maybe", "");
    refused(400, "Invalid index", "?index=%2B5", "orders");
    refused(400, "Invalid index", "?index=18446744073709551616", "orders");
    // then the service name
    refused(400, "Missing service name", "?dc=elsewhere&passing=maybe", "");
    // then the RPC: the datacenter, the token
    refused(500, "No path to datacenter", "?dc=elsewhere&passing=maybe", "orders");
    refused(403, "ACL not found", "?passing=maybe", "orders");
    // passing last, read once the query has run
    HttpResponse<String> r = get("/v1/health/service/orders?passing=maybe", "X-Consul-Token", "good");
    assertEquals(400, r.statusCode());
    assertEquals("Invalid value for ?passing", r.body());
    // an index too large to be reached blocks its whole wait, then answers
    assertEquals(200, get("/v1/health/service/orders?index=18446744073709551615&wait=10ms",
        "X-Consul-Token", "good").statusCode());
  }

  /** {@code query} on {@code service} with an unknown token is refused with {@code status} and {@code body}. */
  void refused(int status, String body, String query, String service) throws Exception {
    HttpResponse<String> r = get("/v1/health/service/" + service + query, "X-Consul-Token", "unknown");
    assertEquals(status, r.statusCode(), query);
    assertEquals(body, r.body(), query);
    assertEquals("text/plain; charset=utf-8", r.headers().firstValue("Content-Type").orElse(""));
  }

  @Test
  void onlyGetIsAllowed() throws Exception {
    for (String method : new String[] {"POST", "PUT", "DELETE", "HEAD", "PATCH"}) {
      HttpResponse<String> r = send(method, "/v1/health/service/orders");
      assertEquals(405, r.statusCode(), method);
      assertEquals("OPTIONS,GET", r.headers().firstValue("Allow").orElse(""), method);
      if (!method.equals("HEAD")) {
        assertEquals("method " + method + " not allowed", r.body());
      }
    }
    HttpResponse<String> options = send("OPTIONS", "/v1/health/service/orders");
    assertEquals(200, options.statusCode());
    assertEquals("OPTIONS,GET", options.headers().firstValue("Allow").orElse(""));
    assertEquals(404, get("/v1/health/node/node-a").statusCode());
  }

  /** Waits up to 5 s for {@code condition}, polling every 10 ms. */
  private static void await(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < end, "not within 5 s: " + what);
      Thread.sleep(10);
    }
  }

  /** One request on a connection of its own; what came back until the server closed it. */
  String onItsOwnConnection(java.net.Socket socket) throws Exception {
    socket.setSoTimeout(5_000);
    socket.getOutputStream().write("GET /v1/health/service/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    return new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
  }

  @Test
  void connectionsBeyondTheLimitPerClientIpGetGoConnlimitsAnswerAndAreClosed() throws Exception {
    consul.maxConnsPerClient(1);
    try (java.net.Socket held = new java.net.Socket("127.0.0.1", consul.port())) {
      await(() -> consul.countedConnections() == 1, "the held connection accepted and counted");
      try (java.net.Socket over = new java.net.Socket("127.0.0.1", consul.port())) {
        String answer = onItsOwnConnection(over);
        assertTrue(answer.startsWith("HTTP/1.1 429 Too Many Requests\r\n"), answer);
        assertTrue(answer.contains("\r\n\r\nYour IP is issuing too many concurrent connections, please rate limit your"
            + " calls\n"), answer);
      }
    }
    await(() -> consul.countedConnections() == 0, "the held connection freed");
    try (java.net.Socket next = new java.net.Socket("127.0.0.1", consul.port())) {
      assertTrue(onItsOwnConnection(next).startsWith("HTTP/1.1 200 OK"), "a connection closed frees its place");
    }
  }

  @Test
  void theTokenComesFromTheQueryThenXConsulTokenThenABearerAuthorization() throws Exception {
    assertEquals("q", ConsulTestServer.token("q", "h", "Bearer b"));
    assertEquals("h", ConsulTestServer.token("", "h", "Bearer b"));
    assertEquals("b", ConsulTestServer.token(null, "", "Bearer b"));
    assertEquals("b", ConsulTestServer.token(null, null, "bEaReR b"));
    assertEquals("b", ConsulTestServer.token(null, null, "Bearer   b  c"));
    assertEquals("", ConsulTestServer.token(null, null, "Bearer "));
    assertEquals("", ConsulTestServer.token(null, null, "Basic b"));
    assertEquals("", ConsulTestServer.token(null, null, "Bearerb"));

    consul.requireToken("good");
    assertEquals(1, entries(get("/v1/health/service/orders?passing&token=good", "X-Consul-Token", "unknown")));
    assertEquals(403, get("/v1/health/service/orders?token=unknown", "X-Consul-Token", "good").statusCode());
    assertEquals(1, entries(get("/v1/health/service/orders?passing", "X-Consul-Token", "good",
        "Authorization", "Bearer unknown")));
    assertEquals(1, entries(get("/v1/health/service/orders?passing", "Authorization", "bearer good")));
    assertEquals(0, entries(get("/v1/health/service/orders?passing", "Authorization", "Basic good")));
    assertEquals("good", consul.seen().get(consul.seen().size() - 2).token());
  }

  @Test
  void serviceNamesHaveNoCase() throws Exception {
    HttpResponse<String> lower = get("/v1/health/service/orders");
    HttpResponse<String> upper = get("/v1/health/service/ORDERS");
    assertEquals(2, entries(upper));
    assertEquals(index(lower), index(upper));
    assertTrue(upper.body().contains("\"Service\":\"orders\""), upper.body());
    consul.register("node-c", "127.0.0.1", "orders-3", "Orders", "127.0.0.1", 8003);
    assertEquals(3, entries(get("/v1/health/service/oRdErS")));
    assertEquals(consul.index("ORDERS"), index(get("/v1/health/service/orders")));
  }

  java.util.concurrent.CompletableFuture<HttpResponse<String>> later(String pathAndQuery) {
    return http.sendAsync(HttpRequest.newBuilder(URI.create(consul.address() + pathAndQuery))
        .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aServiceWithoutInstancesAnswersAndBlocksOnOneIndex() throws Exception {
    // none ever deregistered: the catalog's latest index, for the answer and for blocking alike
    long catalog = index(get("/v1/health/service/payment"));
    assertEquals(consul.index("orders"), catalog, "the last write was to orders");
    var blocked = later("/v1/health/service/payment?index=" + catalog + "&wait=300ms");
    consul.register("node-c", "127.0.0.1", "billing-1", "billing", "127.0.0.1", 8003); // not payment: no wake
    HttpResponse<String> timedOut = blocked.get();
    assertEquals(catalog + 1, index(timedOut), "read again at the wait's end");
    assertEquals(catalog + 1, index(get("/v1/health/service/payment?index=" + (catalog - 1))), "a lower index: at once");

    // the last instance of a service deregistered: that index, for every service without instances
    consul.deregister("billing-1");
    long extinct = consul.index("billing");
    assertEquals(catalog + 2, extinct);
    assertEquals(extinct, index(get("/v1/health/service/payment")));
    consul.register("node-a", "127.0.0.1", "orders-3", "orders", "127.0.0.1", 8003);
    assertEquals(extinct, index(get("/v1/health/service/payment")), "not the catalog's newer index");
    long started = System.nanoTime();
    assertEquals(extinct, index(get("/v1/health/service/payment?index=" + extinct + "&wait=200ms")));
    assertTrue(System.nanoTime() - started >= TimeUnit.MILLISECONDS.toNanos(200), "blocked on the index it reports");
    // and an instance registering ends the wait
    var waiting = later("/v1/health/service/payment?index=" + extinct + "&wait=20s");
    await(() -> consul.blockedQueries() == 1, "the query blocked");
    consul.register("node-a", "127.0.0.1", "payment-1", "payment", "127.0.0.1", 8004);
    assertEquals(consul.index("payment"), index(waiting.get(5, TimeUnit.SECONDS)));
  }

  @Test
  void aRestoreAnswersBlockedQueriesAtOnceFromTheOldStoreAndLaterWritesLandAboveEveryIndex() throws Exception {
    ConsulTestServer.Snapshot snapshot = consul.snapshot();
    long atSnapshot = consul.index("orders");
    consul.check("orders-2", "passing");
    consul.check("orders-2", "critical");
    consul.check("orders-2", "passing");
    long high = consul.index("orders");
    var blocked = later("/v1/health/service/orders?passing&index=" + high + "&wait=20s");
    await(() -> consul.blockedQueries() == 1, "the query blocked");
    assertTrue(!blocked.isDone());
    long started = System.nanoTime();
    consul.restoreSnapshot(snapshot);
    HttpResponse<String> old = blocked.get(2, TimeUnit.SECONDS);
    assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(1), "answered at once");
    assertEquals(high, index(old), "the abandoned store's index");
    assertEquals(2, entries(old), "the abandoned store's instances (orders-2 passing)");

    HttpResponse<String> now = get("/v1/health/service/orders?passing");
    assertEquals(atSnapshot, index(now), "the snapshot's index: lower than before the restore");
    assertEquals(1, entries(now), "the snapshot's instances (orders-2 critical)");
    var next = later("/v1/health/service/orders?index=" + high + "&wait=20s");
    await(() -> consul.blockedQueries() == 1, "the query blocked");
    consul.check("orders-1", "warning");
    long after = index(next.get(5, TimeUnit.SECONDS));
    assertEquals(high + 3, after, "past the restore's own index and its no-op, above every earlier index");
  }

  @Test
  void aRebuiltClusterAnswersBlockedQueriesAtTheirWaitsEndWithItsLowerIndex() throws Exception {
    long high = consul.index("orders");
    var blocked = later("/v1/health/service/orders?index=" + high + "&wait=1s");
    await(() -> consul.blockedQueries() == 1, "the query blocked");
    long rebuilt = System.nanoTime();
    consul.rebuiltCluster(3);
    HttpResponse<String> answer = blocked.get(5, TimeUnit.SECONDS);
    assertTrue(System.nanoTime() - rebuilt >= TimeUnit.MILLISECONDS.toNanos(1000), "waited its whole wait again on"
        + " the new servers");
    assertEquals(3, index(answer));
    assertEquals(2, entries(answer));
    consul.check("orders-1", "warning");
    assertEquals(4, consul.index("orders"));
  }
}
