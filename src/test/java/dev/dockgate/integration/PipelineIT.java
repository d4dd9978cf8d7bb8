package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.auth.ApiKeyAuth;
import dev.dockgate.testing.Backends;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.RawHttp;
import dev.dockgate.testing.TestBackend;
import dev.dockgate.testing.Tokens;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * One request, one exchange: what the gateway answers itself on a matched route is counted with
 * that route and from arrival; a request held for a key fetch is always resumed; one request id;
 * headers the gateway sets cannot be removed or shadowed by the client; forwarded addresses are
 * believed only from trusted proxies. Checked in the access log (the traffic events) and at the backend.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PipelineIT {

  @RegisterExtension
  static final Backends backends = new Backends();
  static TestBackend backend;
  static final String KEY = "pipeline-key";
  static final String DIGEST = HexFormat.of().formatHex(ApiKeyAuth.sha256(KEY));
  static final KeyPair RSA = Tokens.rsa();
  static final long JWKS_DELAY_MS = 3_000; // longer than the gateway takes to start: the key set is fetched from its start
  static final Vertx vertx = Vertx.vertx();
  static HttpServer jwks;

  @TempDir
  Path dir;
  Path log;

  @BeforeAll
  static void start() throws Exception {
    backend = backends.start("pipeline");
    JsonObject keys = new JsonObject().put("keys", new JsonArray().add(Tokens.jwk(RSA, "k1", "RS256")));
    // A slow identity provider: the first JWT requests wait for the key set.
    jwks = vertx.createHttpServer()
        .requestHandler(req -> vertx.setTimer(JWKS_DELAY_MS, id -> req.response()
            .putHeader("content-type", "application/json").end(keys.encode())))
        .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() {
    vertx.close();
  }

  @BeforeEach
  void clear() {
    backend.clear();
    log = dir.resolve("access.json");
  }

  GatewayHarness gateway() {
    return new GatewayHarness(dir, "  trusted_proxies: [127.0.0.2]\n", """
        docker: {enabled: false}
        access_log: {enabled: true, format: json, path: "%s"}
        routes:
          - path_prefix: /keyed
            backend: app
            auth: {type: api_key, keys: [{name: ci, sha256: "%s"}]}
            rate_limit: {requests_per_second: 0.001, burst: 1, key: api_key}
            cors: {allow_origins: [https://app.example.com]}
          - path_prefix: /jwt
            backend: app
            auth: {type: jwt, jwks_url: "http://127.0.0.1:%d/jwks", forward_claims: {email: X-User-Email}}
            rate_limit: {requests_per_second: 0.001, burst: 1, key: jwt_sub}
          - path_prefix: /open
            backend: app
            rate_limit: {requests_per_second: 0.001, burst: 1}
        backends:
          - {name: app, targets: ["http://127.0.0.1:%d"]}
        """.formatted(log, DIGEST, jwks.actualPort(), backend.port()), 1);
  }

  List<JsonObject> entries() {
    try {
      return Files.exists(log) ? Files.readAllLines(log).stream().map(JsonObject::new).toList() : List.of();
    } catch (IOException e) {
      return List.of();
    }
  }

  List<JsonObject> logged(int count) {
    Poll.until(Duration.ofSeconds(5), count + " lines logged", () -> entries().size() >= count);
    return entries();
  }

  static JsonObject withStatus(List<JsonObject> entries, int status) {
    return entries.stream().filter(e -> e.getInteger("status") == status).findFirst()
        .orElseThrow(() -> new AssertionError("no " + status + " in " + entries));
  }

  HttpRequest.Builder request(GatewayHarness gw, String path) {
    return HttpRequest.newBuilder(gw.uri(path)).timeout(Duration.ofSeconds(10));
  }

  @Test
  void answersTheGatewayMakesOnARouteCarryTheRouteAndCountFromArrival() {
    try (GatewayHarness gw = gateway()) {
      // The first token arrives while the key set is still being fetched: its 401 comes after the fetch.
      String forged = Tokens.sign("RS256", Tokens.rsa().getPrivate(), Tokens.claims("mallory"), "k1");
      long sent = System.nanoTime();
      assertEquals(401, gw.send(request(gw, "/jwt/a").header("Authorization", "Bearer " + forged).build()).statusCode());
      double waitedMs = (System.nanoTime() - sent) / 1e6;
      assertEquals(401, gw.send(request(gw, "/keyed/a").build()).statusCode());
      assertEquals(200, gw.send(request(gw, "/keyed/a").header("X-API-Key", KEY).build()).statusCode());
      assertEquals(429, gw.send(request(gw, "/keyed/a").header("X-API-Key", KEY).build()).statusCode());
      HttpResponse<String> preflight = gw.send(request(gw, "/keyed/a")
          .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
          .header("Origin", "https://app.example.com").header("Access-Control-Request-Method", "GET").build());
      assertEquals(204, preflight.statusCode());
      assertEquals(404, gw.get("/nowhere").statusCode());

      List<JsonObject> entries = logged(6);
      for (int status : new int[] {401, 429, 204}) {
        JsonObject entry = entries.stream()
            .filter(e -> e.getInteger("status") == status && "/keyed".equals(e.getString("route"))).findFirst()
            .orElseThrow(() -> new AssertionError(status + " on /keyed not counted with its route: " + entries));
        assertEquals("app", entry.getString("backend"));
      }
      assertEquals("ci", withStatus(entries, 429).getString("consumer"), "the consumer was known when the limit refused");
      JsonObject late = entries.stream().filter(e -> "/jwt".equals(e.getString("route"))).findFirst().orElseThrow();
      assertEquals(401, late.getInteger("status"));
      assertTrue(waitedMs > 200, "the token waited for the key set: " + waitedMs + " ms");
      assertTrue(late.getDouble("latency_ms") >= waitedMs / 2,
          "latency counts from arrival, including the wait for the key set (client saw " + waitedMs + " ms): " + late);
      assertNull(withStatus(entries, 404).getString("route"), "route is null only when no route matched");
    }
  }

  @Test
  void aRefusalAfterAHeldJwtCheckDrainsTheBodyAndTheConnectionGoesOn() throws Exception {
    try (GatewayHarness gw = gateway()) {
      String token = Tokens.sign("RS256", RSA.getPrivate(), Tokens.claims("alice"), "k1");
      String post = "POST /jwt/upload HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + token
          + "\r\nContent-Length: 11\r\n\r\nhello world";
      String next = "GET /open/after HTTP/1.1\r\nHost: gw\r\n\r\n";
      // Two connections while the key set is fetched: both are held; one passes, the other gets 429.
      try (Socket a = connect("127.0.0.1", gw.port()); Socket b = connect("127.0.0.1", gw.port())) {
        write(a, post);
        write(b, post);
        RawHttp.Exchange first = RawHttp.read(a, 1, 100, 5_000);
        RawHttp.Exchange second = RawHttp.read(b, 1, 100, 5_000);
        List<Integer> statuses = List.of(first.status(), second.status());
        assertTrue(statuses.contains(200) && statuses.contains(429), "one accepted, one limited: " + statuses);
        Socket limited = first.status() == 429 ? a : b;
        long sent = System.nanoTime();
        write(limited, next);
        RawHttp.Exchange after = RawHttp.read(limited, 1, 100, 5_000);
        assertEquals(200, after.status(), "the refused request's body was read and the connection goes on: " + after.raw());
        assertTrue(System.nanoTime() - sent < 3_000_000_000L, "answered at once, not after the body timeout");
      }
    }
  }

  @Test
  void exactlyOneSaneRequestIdEverywhere() throws Exception {
    try (GatewayHarness gw = gateway()) {
      try (Socket s = connect("127.0.0.1", gw.port())) {
        write(s, "GET /open/id HTTP/1.1\r\nHost: gw\r\nX-Request-Id: first-id\r\nX-Request-Id: "
            + "second id=\"forged\"\r\n\r\n");
        RawHttp.Exchange answer = RawHttp.read(s, 1, 100, 5_000);
        assertEquals(200, answer.status());
        String id = header(answer.raw(), "x-request-id");
        assertTrue(id.matches("[0-9a-f]{32}"), "two ids from the client: a new one, got " + id);
        TestBackend.Received got = backend.take();
        assertEquals(List.of(id), got.headers().getAll("x-request-id"));
      }
      // A request the codec refuses (a header line without a colon) is logged with a made id, never the client's.
      RawHttp.Exchange refused = RawHttp.exchange(gw.port(),
          "GET /open/x HTTP/1.1\r\nHost: gw\r\nX-Request-Id: forged\" consumer=admin\r\nno colon here\r\n\r\n"
              .getBytes(StandardCharsets.ISO_8859_1), 1, 100, 5_000);
      assertEquals(400, refused.status());
      List<JsonObject> entries = logged(2);
      JsonObject bad = withStatus(entries, 400);
      assertTrue(bad.getString("request_id").matches("[0-9a-f]{32}"), bad.encode());
      assertEquals(header(refused.raw(), "x-request-id"), bad.getString("request_id"));
    }
  }

  @Test
  void theClientCannotRemoveOrShadowHeadersTheGatewaySets() throws Exception {
    try (GatewayHarness gw = gateway()) {
      RawHttp.Exchange answer = exchange("127.0.0.1", gw.port(), "GET /keyed/who HTTP/1.1\r\nHost: gw\r\n"
          + "X-API-Key: " + KEY + "\r\nConnection: X-Consumer-Name, X-Request-Id\r\n"
          + "X_Consumer_Name: admin\r\nX_Request_Id: shadow\r\n\r\n");
      assertEquals(200, answer.status());
      TestBackend.Received got = backend.take();
      assertEquals("ci", got.headers().get("X-Consumer-Name"), "Connection cannot strip the consumer");
      assertEquals(header(answer.raw(), "x-request-id"), got.headers().get("X-Request-Id"));
      assertNull(got.headers().get("X_Consumer_Name"), "a look-alike of a gateway header never reaches the backend");
      assertNull(got.headers().get("X_Request_Id"));
      assertNull(got.headers().get("X-API-Key"), "the key itself is not forwarded");
    }
  }

  @Test
  void forwardedAddressesAreBelievedOnlyFromTrustedProxies() throws Exception {
    try (GatewayHarness gw = gateway()) {
      String get = "GET /open/%s HTTP/1.1\r\nHost: gw\r\nX-Forwarded-For: %s\r\nConnection: close\r\n\r\n";
      // Through the trusted proxy (127.0.0.2): the client is the address it forwarded for.
      assertEquals(200, exchange("127.0.0.2", gw.port(), get.formatted("p1", "198.51.100.7")).status());
      assertEquals("198.51.100.7, 127.0.0.2", backend.take().headers().get("X-Forwarded-For"));
      // Another client behind the same proxy has its own client_ip budget (burst 1).
      assertEquals(200, exchange("127.0.0.2", gw.port(), get.formatted("p2", "198.51.100.8")).status());
      backend.take();
      assertEquals(429, exchange("127.0.0.2", gw.port(), get.formatted("p3", "198.51.100.7")).status());
      // Directly from an untrusted peer, a forged chain is replaced and the peer is the client.
      assertEquals(200, exchange("127.0.0.1", gw.port(), get.formatted("d1", "198.51.100.7")).status());
      assertEquals("127.0.0.1", backend.take().headers().get("X-Forwarded-For"));

      List<JsonObject> entries = logged(4);
      assertEquals(List.of("198.51.100.7", "198.51.100.8", "198.51.100.7", "127.0.0.1"),
          entries.stream().map(e -> e.getString("client")).toList());
    }
  }

  static RawHttp.Exchange exchange(String from, int port, String request) throws IOException {
    try (Socket socket = connect(from, port)) {
      write(socket, request);
      return RawHttp.read(socket, 1, 100, 5_000);
    }
  }

  static Socket connect(String from, int port) throws IOException {
    Socket socket = new Socket();
    socket.bind(new InetSocketAddress(from, 0));
    socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
    return socket;
  }

  static void write(Socket socket, String text) throws IOException {
    OutputStream out = socket.getOutputStream();
    out.write(text.getBytes(StandardCharsets.ISO_8859_1));
    out.flush();
  }

  static String header(String raw, String name) {
    for (String line : raw.split("\r\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).equalsIgnoreCase(name)) {
        return line.substring(colon + 1).trim();
      }
    }
    throw new AssertionError("no " + name + " in " + raw);
  }
}
