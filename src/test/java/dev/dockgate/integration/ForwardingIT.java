package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.Backends;
import dev.dockgate.testing.Docker;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Ports;
import dev.dockgate.testing.TestBackend;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * What crosses the gateway, asserted at both ends: a container discovered on the real engine whose
 * {@code gateway.port} label points at a recording server of the test's own, one that points at a
 * closed port (refused), and timeouts.
 */
class ForwardingIT {

  static final String SUITE = "fwd-" + UUID.randomUUID().toString().substring(0, 6);
  static Docker docker;
  @RegisterExtension
  static final Backends backends = new Backends();
  static TestBackend backend;

  @TempDir
  Path dir;
  GatewayHarness gateway;

  @BeforeAll
  static void start() {
    docker = new Docker();
    backend = backends.start("echo-1");
    docker.runIdle("echo", Map.of("app_name", "echo", "suite", SUITE, "gateway.port", "" + backend.port()));
    docker.runIdle("refused", Map.of("app_name", "refused", "suite", SUITE, "gateway.port", "" + Ports.free()));
  }

  @AfterAll
  static void stop() {
    docker.removeAll();
  }

  @AfterEach
  void stopGateway() {
    if (gateway != null) {
      gateway.close();
    }
  }

  GatewayHarness gateway() {
    backend.clear();
    gateway = new GatewayHarness(dir, """
        routes:
          - path_prefix: /echo
            backend: echo
          - path_prefix: /slow
            backend: echo
            timeout_ms: 300
          - path_prefix: /refused
            backend: refused
        backends:
          - name: echo
            match_labels: [app_name=echo, suite=%1$s]
          - name: refused
            match_labels: [app_name=refused, suite=%1$s]
            circuit_breaker: {max_failures: 3, reset_timeout_ms: 60000, startup_grace_ms: 0}
        """.formatted(SUITE));
    return gateway;
  }

  @Test
  void methodPathQueryHeadersAndBodyArriveUnchanged() {
    GatewayHarness gw = gateway();
    HttpResponse<String> response = gw.send(HttpRequest.newBuilder(gw.uri("/echo/a/b?x=1&y=two%20words"))
        .header("X-Custom", "kept")
        .header("X-Forwarded-For", "203.0.113.9")
        .method("PUT", HttpRequest.BodyPublishers.ofString("payload-123"))
        .build());
    assertEquals(200, response.statusCode());
    assertEquals("echo:payload-123", response.body());

    TestBackend.Received got = backend.take();
    assertEquals("PUT", got.method());
    assertEquals("/echo/a/b?x=1&y=two%20words", got.uri());
    assertEquals("payload-123", got.body());
    assertEquals("kept", got.headers().get("X-Custom"));
    assertEquals("127.0.0.1", got.headers().get("X-Forwarded-For"),
        "a chain from a peer that is not a trusted proxy is replaced by the address the gateway saw");
    assertEquals("http", got.headers().get("X-Forwarded-Proto"));
    assertEquals("127.0.0.1:" + gw.port(), got.headers().get("X-Forwarded-Host"));
    assertEquals("127.0.0.1:" + gw.port(), got.headers().get("Host"), "client Host is passed through");

    assertEquals("echo-1", response.headers().firstValue("X-Backend").orElse(null));
    assertFalse(response.headers().firstValue("X-Backend-Private").isPresent(), "header named by Connection dropped");
    assertFalse(response.headers().firstValue("Keep-Alive").isPresent());
    assertFalse(response.headers().firstValue("Proxy-Connection").isPresent());
  }

  @Test
  void theBackendsDateIsKeptAndAMissingOneAdded() {
    GatewayHarness gw = gateway();
    HttpResponse<String> dated = gw.get("/echo/dated");
    assertEquals(200, dated.statusCode());
    assertEquals(List.of(TestBackend.DATED), dated.headers().allValues("date"));
    HttpResponse<String> undated = gw.get("/echo/plain");
    java.time.ZonedDateTime date = java.time.ZonedDateTime.parse(undated.headers().firstValue("date").orElseThrow(),
        java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME);
    assertTrue(Math.abs(date.toEpochSecond() - System.currentTimeMillis() / 1000) < 60, date.toString());
  }

  @Test
  void theGatewaysOwnAnswersCarryADate() throws IOException {
    backend.clear();
    gateway = new GatewayHarness(dir, """
        routes:
          - {path_prefix: /echo, backend: echo, methods: [GET]}
          - path_prefix: /keyed
            backend: echo
            auth: {type: api_key, keys: [{name: ci, sha256: "%2$s"}]}
            cors: {allow_origins: ["https://app.example"]}
        backends:
          - name: echo
            match_labels: [app_name=echo, suite=%1$s]
        """.formatted(SUITE, "0".repeat(64)));
    GatewayHarness gw = gateway;
    List<HttpResponse<String>> answers = List.of(
        gw.get("/nowhere"),                                                            // default response
        gw.send(HttpRequest.newBuilder(gw.uri("/echo/x")).DELETE().build()),          // 405
        gw.get("/keyed/x"),                                                            // 401
        gw.send(HttpRequest.newBuilder(gw.uri("/keyed/x")).method("OPTIONS", HttpRequest.BodyPublishers.noBody())
            .header("Origin", "https://app.example").header("Access-Control-Request-Method", "GET").build()), // 204
        gw.get("/echo/a%2Fb"),                                                         // 400
        gw.get("/stats"));
    for (HttpResponse<String> answer : answers) {
      String date = answer.headers().firstValue("date").orElse(null);
      assertTrue(date != null, answer.statusCode() + " " + answer.uri() + " has no Date (RFC 9110 §6.6.1)");
      long at = java.time.ZonedDateTime.parse(date, java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME).toEpochSecond();
      assertTrue(Math.abs(at - System.currentTimeMillis() / 1000) < 60, date);
    }
    assertEquals(List.of(404, 405, 401, 204, 400, 200), answers.stream().map(HttpResponse::statusCode).toList());
    String malformed = exchange(gw.port(), "GET /echo/x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
    assertTrue(malformed.startsWith("HTTP/1.1 400") && malformed.toLowerCase(java.util.Locale.ROOT).contains("\r\ndate: "),
        "the edge's 400 for a malformed head:\n" + malformed);
  }

  /**
   * A route without {@code methods} takes any method but TRACE (a backend echoing it would show the headers the gateway
   * adds): 405 with the methods it takes, the backend getting nothing; a route listing TRACE gets it. Before, every
   * route forwarded TRACE.
   */
  @Test
  void traceReachesOnlyARouteThatListsIt() throws IOException {
    backend.clear();
    gateway = new GatewayHarness(dir, """
        routes:
          - {path_prefix: /echo, backend: echo}
          - {path_prefix: /echo/traced, backend: echo, methods: [GET, TRACE]}
        backends:
          - name: echo
            match_labels: [app_name=echo, suite=%1$s]
        """.formatted(SUITE));
    String refused = exchange(gateway.port(), "TRACE /echo/x HTTP/1.1\r\nHost: gw.test\r\n\r\n");
    assertTrue(refused.startsWith("HTTP/1.1 405"), refused);
    assertTrue(refused.toLowerCase(java.util.Locale.ROOT)
        .contains("\r\nallow: delete, get, head, options, patch, post, put\r\n"), refused);
    assertEquals(0, backend.count(), "TRACE refused before the backend");
    // Methods are case-sensitive (RFC 9110 §9.1), but some backends take "trace" as TRACE (Jetty's RFC7230_LEGACY
    // compliance mode takes methods without case): refused as TRACE. Before, forwarded.
    for (String method : new String[] {"trace", "Trace"}) {
      String spelled = exchange(gateway.port(), method + " /echo/x HTTP/1.1\r\nHost: gw.test\r\n\r\n");
      assertTrue(spelled.startsWith("HTTP/1.1 405"), method + ": " + spelled);
    }
    assertEquals(0, backend.count(), "no spelling of TRACE reaches the backend");
    String listed = exchange(gateway.port(), "TRACE /echo/traced/x HTTP/1.1\r\nHost: gw.test\r\n\r\n");
    assertTrue(listed.startsWith("HTTP/1.1 200"), listed);
    assertEquals("TRACE", backend.take().method());
    String other = exchange(gateway.port(), "PROPFIND /echo/x HTTP/1.1\r\nHost: gw.test\r\n\r\n");
    assertTrue(other.startsWith("HTTP/1.1 200"), "any other method still reaches the route: " + other);
  }

  /**
   * A route may list registered extension methods (WebDAV's PROPFIND, MKCOL...): they reach its backend, other
   * methods get 405 naming them. Before, the config refused any method but RFC 9110's and PATCH.
   */
  @Test
  void aRouteListingWebDavMethodsTakesThemAlone() throws IOException {
    backend.clear();
    gateway = new GatewayHarness(dir, """
        routes:
          - {path_prefix: /echo/dav, backend: echo, methods: [GET, propfind, MKCOL]}
        backends:
          - name: echo
            match_labels: [app_name=echo, suite=%1$s]
        """.formatted(SUITE));
    for (String method : new String[] {"PROPFIND", "MKCOL"}) {
      String taken = exchange(gateway.port(), method + " /echo/dav/x HTTP/1.1\r\nHost: gw.test\r\n\r\n");
      assertTrue(taken.startsWith("HTTP/1.1 200"), method + ": " + taken);
      assertEquals(method, backend.take().method());
    }
    String refused = exchange(gateway.port(), "PUT /echo/dav/x HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 0\r\n\r\n");
    assertTrue(refused.startsWith("HTTP/1.1 405"), refused);
    String allow = refused.toLowerCase(java.util.Locale.ROOT);
    assertTrue(allow.contains("propfind") && allow.contains("mkcol") && allow.contains("get"), refused);
    assertEquals(0, backend.count(), "PUT refused before the backend");
  }

  /**
   * CONNECT never reaches a backend, in any spelling and with any target: the gateway opens no tunnels, and a
   * backend that answered 2xx would take its connection for a tunnel while the gateway's pool gave it the next
   * client's request. Before, {@code CONNECT /echo/x} (origin-form, which RFC 9112 §3.2.3 does not allow) was
   * forwarded like any method. nginx refuses CONNECT too.
   */
  @Test
  void connectNeverReachesABackend() throws IOException {
    backend.clear();
    GatewayHarness gw = gateway();
    for (String method : new String[] {"CONNECT", "connect", "Connect"}) {
      String refused = exchange(gw.port(), method + " /echo/x HTTP/1.1\r\nHost: gw.test\r\n\r\n");
      assertTrue(refused.startsWith("HTTP/1.1 405"), method + ": " + refused);
      assertTrue(refused.toLowerCase(java.util.Locale.ROOT)
          .contains("\r\nallow: delete, get, head, options, patch, post, put\r\n"), refused);
    }
    String authority = exchange(gw.port(), "CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n");
    assertTrue(authority.startsWith("HTTP/1.1 4"), authority);
    assertEquals(0, backend.count(), "no CONNECT reaches the backend");
  }

  @Test
  void hopByHopRequestHeadersAreDropped() throws IOException {
    GatewayHarness gw = gateway();
    String raw = "GET /echo/hop HTTP/1.1\r\nHost: gw.test\r\nConnection: keep-alive, X-Secret-Hop\r\n"
        + "X-Secret-Hop: 1\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\n"
        // HTTP/2's upgrade settings are for this connection only (RFC 7540 §3.2.1), listed in Connection or not.
        + "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nX-Stays: yes\r\n\r\n";
    String answer = exchange(gw.port(), raw);
    assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
    TestBackend.Received got = backend.take();
    assertNull(got.headers().get("X-Secret-Hop"));
    assertNull(got.headers().get("Proxy-Connection"));
    assertNull(got.headers().get("TE"));
    assertNull(got.headers().get("HTTP2-Settings"));
    assertFalse("timeout=5".equals(got.headers().get("Keep-Alive")));
    assertEquals("yes", got.headers().get("X-Stays"));
    assertEquals("gw.test", got.headers().get("X-Forwarded-Host"));
  }

  /**
   * {@code Connection: TE, close} (close among other options, as a client that sends TE must write it) closes the
   * connection after the answer, proxied or the gateway's own (RFC 9112 §9.6); it was kept open, so a client
   * reading to the close waited until the idle timeout.
   */
  @Test
  void closeAmongOtherConnectionOptionsClosesAfterTheAnswer() throws IOException {
    GatewayHarness gw = gateway();
    for (String path : List.of("/echo/close", "/nowhere")) {
      try (Socket socket = new Socket("127.0.0.1", gw.port())) {
        socket.setSoTimeout(5_000);
        socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: gw.test\r\nTE: trailers\r\n"
            + "Connection: TE, close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1); // to the close
        assertTrue(answer.startsWith("HTTP/1.1 ") && answer.toLowerCase(java.util.Locale.ROOT).contains("\r\nconnection: close\r\n"),
            path + " answered with Connection: close, then closed:\n" + answer);
      }
    }
  }

  @Test
  void noAnswerWithinTheRouteTimeoutGives504() {
    GatewayHarness gw = gateway();
    long start = System.nanoTime();
    HttpResponse<String> response = gw.get("/slow/never");
    long ms = Duration.ofNanos(System.nanoTime() - start).toMillis();
    assertEquals(504, response.statusCode());
    assertTrue(ms >= 250 && ms < 5_000, "took " + ms + " ms");
    backend.take();
  }

  @Test
  void refusedConnectionGives503AndOpensTheCircuit() {
    GatewayHarness gw = gateway();
    for (int i = 0; i < 3; i++) {
      HttpResponse<String> response = gw.get("/refused/x");
      assertEquals(503, response.statusCode());
      assertTrue(response.body().contains("unreachable"), response.body());
    }
    HttpResponse<String> open = gw.get("/refused/x");
    assertEquals(503, open.statusCode());
    assertTrue(open.body().contains("circuit open"), open.body());
  }

  @Test
  void clientsGivingUpDoNotOpenTheBackendsCircuit() {
    GatewayHarness gw = gateway();
    // Connections alternate between the two router instances, each with its own breakers: 16
    // abandoned requests give each more than max_failures (5).
    for (int i = 0; i < 16; i++) {
      try (Socket socket = new Socket("127.0.0.1", gw.port())) {
        socket.getOutputStream().write("GET /echo/never HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        socket.getOutputStream().flush();
        backend.take(); // the request reached the backend, which never answers; now the client leaves
      } catch (IOException e) {
        throw new AssertionError(e);
      }
    }
    dev.dockgate.testing.Poll.until(Duration.ofSeconds(2), "abandoned requests finished", () -> gw.statsTotal() == 16);
    HttpResponse<String> response = gw.get("/echo/after");
    assertEquals(200, response.statusCode(), response.body());
    assertEquals(16L, gw.stats().getJsonObject("requests_count").getLong("error"), "abandoned requests count as errors (499)");
  }

  @Test
  void failuresAreCountedInStats() {
    GatewayHarness gw = gateway();
    assertEquals(200, gw.get("/echo/ok").statusCode());
    assertEquals(503, gw.get("/refused/x").statusCode());
    assertEquals(504, gw.get("/slow/never").statusCode());
    assertEquals(404, gw.get("/nowhere").statusCode());
    backend.take();
    backend.take();
    dev.dockgate.testing.Poll.until(Duration.ofSeconds(2), "4 requests counted", () -> gw.statsTotal() == 4);
    JsonObject counts = gw.stats().getJsonObject("requests_count");
    assertEquals(1, counts.getLong("success"));
    assertEquals(3, counts.getLong("error"));
  }

  static String exchange(int port, String request) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(5_000);
      OutputStream out = socket.getOutputStream();
      out.write(request.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      InputStream in = socket.getInputStream();
      ByteArrayOutputStream buf = new ByteArrayOutputStream();
      byte[] chunk = new byte[4096];
      while (true) {
        int n = in.read(chunk);
        if (n < 0) {
          break;
        }
        buf.write(chunk, 0, n);
        String text = buf.toString(StandardCharsets.ISO_8859_1);
        int headerEnd = text.indexOf("\r\n\r\n");
        if (headerEnd >= 0) {
          int cl = text.toLowerCase().indexOf("content-length:");
          if (cl >= 0 && cl < headerEnd) {
            int len = Integer.parseInt(text.substring(cl + 15, text.indexOf("\r\n", cl)).trim());
            if (buf.size() >= headerEnd + 4 + len) {
              break;
            }
          }
        }
      }
      return buf.toString(StandardCharsets.ISO_8859_1);
    }
  }
}
