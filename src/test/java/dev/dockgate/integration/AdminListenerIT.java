package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.auth.ApiKeyAuth;
import dev.dockgate.testing.Backends;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import dev.dockgate.testing.RawHttp;
import dev.dockgate.testing.TestBackend;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The admin endpoints on a listener of their own: served only there, counting the main port's
 * traffic, while the main port routes their paths like any other; and API keys in front of them.
 */
class AdminListenerIT {

  @RegisterExtension
  static final Backends backends = new Backends();
  static TestBackend backend;

  @TempDir
  Path dir;
  GatewayHarness gateway;
  int adminPort;

  @BeforeAll
  static void start() {
    backend = backends.start("admin-listener");
  }

  @AfterEach
  void stopGateway() {
    if (gateway != null) {
      gateway.close();
    }
  }

  GatewayHarness gateway(String adminKeys) {
    backend.clear();
    adminPort = Ports.free();
    gateway = new GatewayHarness(dir, "  admin_listener: {host: 127.0.0.1, port: %d%s}\n".formatted(adminPort, adminKeys), """
        docker: {enabled: false}
        routes:
          - {path_prefix: /api, backend: app}
          - {path_prefix: /metrics, backend: app}
        default_response: {status_code: 404, body: "no route"}
        backends:
          - {name: app, targets: ["http://127.0.0.1:%d"]}
        """.formatted(backend.port()), 2);
    return gateway;
  }

  HttpResponse<String> admin(String path, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + path))
        .timeout(Duration.ofSeconds(10));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return gateway.send(b.build());
  }

  static String sha(String key) {
    return HexFormat.of().formatHex(ApiKeyAuth.sha256(key));
  }

  @Test
  void adminPathsLeaveTheMainPortAndCountItsTraffic() {
    gateway("");
    HttpResponse<String> stats = gateway.get("/stats");
    assertEquals(200, stats.statusCode(), "/stats, rgate's contract, stays on the main port");
    assertTrue(stats.body().contains("requests_count"), stats.body());
    assertEquals(200, gateway.get("/health/live").statusCode(), "so does liveness");
    assertEquals("no route", gateway.get("/health").body());
    assertEquals("no route", gateway.get("/dashboard").body());
    assertEquals("no route", gateway.get("/admin/routes").body());
    assertEquals(200, gateway.get("/metrics").statusCode(), "a route with that prefix now takes it");
    assertEquals("/metrics", backend.take().uri());
    assertEquals(200, gateway.get("/api/a").statusCode());
    assertEquals(200, gateway.get("/api/b").statusCode());

    // Both router instances listen on the admin port; any of them answers with the shared numbers.
    Poll.until(Duration.ofSeconds(3), "admin /stats counts 3 successes and 3 errors of the main port", () -> {
      HttpResponse<String> r = admin("/stats");
      JsonObject counts = new JsonObject(r.body()).getJsonObject("requests_count");
      return r.statusCode() == 200 && counts.getLong("success") == 3 && counts.getLong("error") == 3;
    });
    assertEquals(200, admin("/health/live").statusCode());
    assertEquals(200, admin("/health").statusCode());
    assertTrue(admin("/metrics").body().contains("gateway_requests_total"));
    assertEquals("/api", new JsonObject(admin("/admin/routes").body()).getJsonArray("routes").getJsonObject(0)
        .getString("path_prefix"));
    assertTrue(admin("/dashboard").body().contains("<html"));
    HttpResponse<String> other = admin("/api/a");
    assertEquals(404, other.statusCode(), "the admin port routes nothing");
    assertEquals("not an admin endpoint\n", other.body());
    assertTrue(other.headers().firstValue("date").isPresent(), "a 404 carries a Date (RFC 9110 §6.6.1)");
  }

  @Test
  void aHeadOfTheDashboardStreamIsAnsweredAndTheConnectionServesOn() throws Exception {
    gateway("");
    // HEAD is allowed on every admin endpoint; on the event stream it must end after the head, as a GET's
    // head would begin, rather than leave the connection holding an answer that never ends.
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", adminPort)) {
      socket.setSoTimeout(5_000);
      socket.getOutputStream().write(("HEAD /dashboard/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
          + "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      StringBuilder seen = new StringBuilder();
      byte[] chunk = new byte[4096];
      while (!seen.toString().contains("{\"status\":\"UP\"}")) {
        int n;
        try {
          n = socket.getInputStream().read(chunk);
        } catch (java.net.SocketTimeoutException e) {
          throw new AssertionError("no answer to the request after HEAD /dashboard/events within 5 s; got: " + seen, e);
        }
        assertTrue(n > 0, "connection closed after: " + seen);
        seen.append(new String(chunk, 0, n, StandardCharsets.ISO_8859_1));
      }
      String text = seen.toString();
      assertTrue(text.startsWith("HTTP/1.1 200 OK\r\n"), text);
      assertTrue(text.toLowerCase(java.util.Locale.ROOT).contains("content-type: text/event-stream"), text);
      assertTrue(!text.contains("data:"), "no event follows a HEAD: " + text);
      assertTrue(text.contains("\r\n\r\nHTTP/1.1 200 OK\r\n"), "the next answer follows the head, no body between: " + text);
    }
  }

  /**
   * DNS rebinding: a page of evil.example whose name is re-pointed at 127.0.0.1 reaches the loopback admin listener
   * as its own origin, so the browser lets it read the answer; it sends its own name as Host. Before, /admin/routes
   * (addresses, labels) was answered 200 to it.
   */
  @Test
  @org.junit.jupiter.api.Timeout(60)
  void onLoopbackOnlyLoopbackNamesAndAddressesAreAnswered() {
    gateway("");
    for (String host : List.of("evil.example", "evil.example:" + adminPort, "localhost.evil.example", "127.0.0.1.nip.io")) {
      RawHttp.Exchange refused = RawHttp.exchange(adminPort,
          ("GET /admin/routes HTTP/1.1\r\nHost: " + host + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII), 1, 200, 5_000);
      assertEquals(421, refused.status(), "Host: " + host + "\n" + refused.raw());
      assertTrue(!refused.raw().contains("path_prefix"), refused.raw());
      assertTrue(refused.closed() || refused.responses().get(0).closes(), "its connection ends: " + refused.raw());
    }
    // Host header values only: every request goes to 127.0.0.1 (192.0.2.10, RFC 5737's, is never reached).
    for (String host : List.of("127.0.0.1:" + adminPort, "localhost", "LOCALHOST.:" + adminPort, "ops.localhost",
        "[::1]:" + adminPort, "192.0.2.10")) {
      RawHttp.Exchange answered = RawHttp.exchange(adminPort,
          ("GET /admin/routes HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII), 1, 200, 5_000);
      assertEquals(200, answered.status(), "Host: " + host + "\n" + answered.raw());
    }
  }

  /** Admin answers are never sniffed nor framed; the dashboard may run its own script only and reach its own stream. */
  @Test
  @org.junit.jupiter.api.Timeout(60)
  void answersForbidFramingSniffingAndForeignScripts() {
    gateway("");
    for (String path : List.of("/admin/routes", "/metrics", "/health", "/stats", "/nothing")) {
      HttpResponse<String> r = admin(path);
      assertEquals("nosniff", r.headers().firstValue("x-content-type-options").orElse(null), path);
      String csp = r.headers().firstValue("content-security-policy").orElse("");
      assertTrue(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), path + ": " + csp);
    }
    HttpResponse<String> page = admin("/dashboard");
    String csp = page.headers().firstValue("content-security-policy").orElse("");
    String body = page.body();
    String script = body.substring(body.indexOf("<script>") + 8, body.indexOf("</script>"));
    String hash = Base64.getEncoder().encodeToString(ApiKeyAuth.sha256(script));
    assertTrue(csp.contains("script-src 'sha256-" + hash + "'"), csp);
    assertTrue(csp.contains("connect-src 'self'") && csp.contains("frame-ancestors 'none'")
        && csp.contains("default-src 'none'") && !csp.contains("unsafe-eval"), csp);
    assertEquals("nosniff", page.headers().firstValue("x-content-type-options").orElse(null));
  }

  @Test
  void withKeysEveryAdminRequestNeedsOne() {
    gateway(", api_keys: [{name: ops, sha256: \"%s\"}, {name: ci, sha256: \"%s\"}], api_key_header: X-Admin-Key"
        .formatted(sha("ops-secret"), sha("ci-secret")));
    HttpResponse<String> none = admin("/stats");
    assertEquals(401, none.statusCode());
    assertEquals(List.of("Basic realm=\"dockgate admin\", charset=\"UTF-8\"", "ApiKey header=\"X-Admin-Key\""),
        none.headers().allValues("www-authenticate"));
    assertTrue(none.headers().firstValue("date").isPresent(), "a 401 carries a Date (RFC 9110 §6.6.1)");
    assertEquals(401, admin("/stats", "X-Admin-Key", "ops-secre").statusCode());
    assertEquals(401, admin("/stats", "X-API-Key", "ops-secret").statusCode(), "only the configured header counts");
    assertEquals(401, admin("/nowhere").statusCode(), "nothing is told about paths without a key");

    HttpResponse<String> ok = admin("/stats", "X-Admin-Key", "ops-secret");
    assertEquals(200, ok.statusCode(), ok.body());
    assertTrue(new JsonObject(ok.body()).containsKey("requests_count"));
    assertEquals(200, admin("/admin/routes", "X-Admin-Key", "ci-secret").statusCode());
    assertEquals(404, admin("/nowhere", "X-Admin-Key", "ci-secret").statusCode());

    String basic = "Basic " + Base64.getEncoder().encodeToString("anyone:ops-secret".getBytes(StandardCharsets.UTF_8));
    assertEquals(200, admin("/dashboard", "Authorization", basic).statusCode(), "a browser's Basic credentials");
    String wrong = "Basic " + Base64.getEncoder().encodeToString("ops-secret:x".getBytes(StandardCharsets.UTF_8));
    assertEquals(401, admin("/dashboard", "Authorization", wrong).statusCode(), "the key is the password");
    assertEquals(401, admin("/dashboard", "Authorization", "Basic !!!").statusCode());

    assertEquals(404, gateway.get("/admin/routes").statusCode(), "still not on the main port");
    assertEquals(200, gateway.get("/stats").statusCode(), "/stats needs no key on the main port (rgate's contract)");
  }

  @Test
  void withTlsOnTheMainPortTheAdminListenerServesHttpsToo() throws Exception {
    dev.dockgate.testing.TestCerts.Pem pem = dev.dockgate.testing.TestCerts.selfSigned(dir, "admin");
    adminPort = Ports.free();
    gateway = new GatewayHarness(dir, """
          tls: {cert_file: "%s", key_file: "%s"}
          admin_listener: {port: %d, api_keys: [{name: ops, sha256: "%s"}]}
        """.formatted(pem.cert(), pem.key(), adminPort, sha("ops-key")), """
        docker: {enabled: false}
        backends:
          - {name: app, targets: ["http://127.0.0.1:%d"]}
        """.formatted(backend.port()), 1);
    java.net.http.HttpClient https = https(pem);
    HttpResponse<String> stats = https.send(HttpRequest.newBuilder(URI.create("https://localhost:" + adminPort + "/stats"))
        .header("X-API-Key", "ops-key").build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, stats.statusCode(), stats.body());
    assertTrue(new JsonObject(stats.body()).containsKey("requests_count"));
    assertEquals(401, https.send(HttpRequest.newBuilder(URI.create("https://localhost:" + adminPort + "/stats")).build(),
        HttpResponse.BodyHandlers.ofString()).statusCode());
    HttpResponse<String> plain = gateway.http().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/stats")).header("X-API-Key", "ops-key")
            .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(400, plain.statusCode(), "no plain HTTP: the key would travel in clear");
    assertEquals("The plain HTTP request was sent to the HTTPS port\n", plain.body());
  }
  /**
   * The admin listener's own connection cap never keeps a keyed readiness check out: a connection between
   * requests (idle, or its head not complete) is closed to make room for a new one, clients without a key and
   * requests with a body get no kept-alive connection, event streams hold at most half the places, and idle
   * connections go at the main listener's header timeout. Before, idle connections were held until
   * idle_timeout_ms (60 s), a trickled body as long as it trickled, and a 401 kept its connection.
   */
  @Test
  void connectionsAreCappedWithoutLockingChecksOut() throws Exception {
    adminPort = Ports.free();
    gateway = new GatewayHarness(dir, """
          admin_listener: {host: 127.0.0.1, port: %d, max_connections: 3, api_keys: [{name: ops, sha256: "%s"}]}
          header_timeout_ms: 2000
        """.formatted(adminPort, sha("ops-key")), """
        docker: {enabled: false}
        backends:
          - {name: app, targets: ["http://127.0.0.1:%d"]}
        """.formatted(backend.port()), 2);
    String check = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: ops-key\r\n\r\n";

    // Three connections that send nothing fill the cap; a check still gets in, and the oldest of them makes room.
    List<RawConnection> idle = new java.util.ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        idle.add(new RawConnection(adminPort));
        Thread.sleep(50); // in order: the first is the longest idle
      }
      long opened = System.nanoTime();
      try (RawConnection checker = new RawConnection(adminPort)) {
        assertTrue(checker.exchange(check).startsWith("HTTP/1.1 200"), "a keyed check with three idle connections open");
      }
      assertTrue(idle.get(0).closedWithoutAnswer(), "the connection idle the longest made room");
      assertTrue((System.nanoTime() - opened) / 1_000_000 < 1_500, "at once, not at header_timeout_ms (2000)");
      for (RawConnection other : idle.subList(1, 3)) {
        assertTrue(other.closedWithoutAnswer(), "an idle admin connection is closed at header_timeout_ms");
      }
      long heldMs = (System.nanoTime() - opened) / 1_000_000;
      assertTrue(heldMs < 5_000, "idle connections held " + heldMs + " ms, header_timeout_ms is 2000");
    } finally {
      idle.forEach(RawConnection::close);
    }

    // Without a key: 401, and the connection is not kept.
    for (int i = 0; i < 3; i++) {
      try (RawConnection anonymous = new RawConnection(adminPort)) {
        String answer = anonymous.exchange("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        assertTrue(answer.startsWith("HTTP/1.1 401"), answer);
        assertTrue(answer.toLowerCase(java.util.Locale.ROOT).contains("connection: close"), answer);
        assertTrue(anonymous.closedWithoutAnswer(), "closed after its 401");
      }
    }

    // One event stream (half of three, rounded down); a second is refused; two kept-alive connections idle between
    // requests; a new check makes room by closing the one idle the longest.
    String events = "GET /dashboard/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: ops-key\r\n\r\n";
    try (RawConnection stream = new RawConnection(adminPort)) {
      assertTrue(stream.head(events).startsWith("HTTP/1.1 200"), "the first event stream");
      try (RawConnection refused = new RawConnection(adminPort)) {
        String tooMany = refused.exchange(events);
        assertTrue(tooMany.startsWith("HTTP/1.1 503"), tooMany);
        assertTrue(tooMany.toLowerCase(java.util.Locale.ROOT).contains("connection: close"), tooMany);
        assertTrue(refused.closedWithoutAnswer(), "closed after its 503");
      }
      try (RawConnection first = new RawConnection(adminPort)) {
        assertTrue(first.exchange(check).startsWith("HTTP/1.1 200"));
        Thread.sleep(50);
        try (RawConnection second = new RawConnection(adminPort)) {
          assertTrue(second.exchange(check).startsWith("HTTP/1.1 200"));
          try (RawConnection checker = new RawConnection(adminPort)) {
            assertTrue(checker.exchange(check).startsWith("HTTP/1.1 200"), "a check with the cap taken");
          }
          assertTrue(first.closedWithoutAnswer(), "the kept-alive connection idle the longest made room");
          assertTrue(second.exchange(check).startsWith("HTTP/1.1 200"), "the other one still serves");
        }
      }
      assertTrue(stream.head("").contains("data:"), "the stream goes on");
    }

    // A body is not read: its answer is the connection's last.
    try (RawConnection slow = new RawConnection(adminPort)) {
      String answer = slow.exchange("POST /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: ops-key\r\n"
          + "Content-Length: 100000\r\n\r\n" + "x".repeat(10));
      assertTrue(answer.startsWith("HTTP/1.1 405"), "a POST to a read-only endpoint: " + answer);
      assertTrue(answer.toLowerCase(java.util.Locale.ROOT).contains("connection: close"), answer);
      long answered = System.nanoTime();
      assertTrue(slow.closedWithoutAnswer(), "closed after its answer, the body unread");
      assertTrue((System.nanoTime() - answered) / 1_000_000 < 1_500, "at once, not at a timeout");
    }
  }

  /** Requests the codec refuses get the same answers on the admin port as on the main one, with a Date. */
  @Test
  void malformedRequestsAreAnsweredAsOnTheMainPort() throws Exception {
    gateway("");
    String manyHeaders = "GET /health HTTP/1.1\r\nHost: a\r\n" + "X-Filler: 1\r\n".repeat(200) + "\r\n";
    for (String request : List.of("GET /health HTTP/2.0\r\nHost: a\r\n\r\n", manyHeaders,
        "GET /" + "a".repeat(5_000) + " HTTP/1.1\r\nHost: a\r\n\r\n")) {
      String main;
      try (RawConnection connection = new RawConnection(gateway.port())) {
        main = connection.head(request);
      }
      try (RawConnection connection = new RawConnection(adminPort)) {
        String admin = connection.head(request);
        assertEquals(main.substring(9, 12), admin.substring(9, 12), "admin: " + admin + "\nmain: " + main);
        assertTrue(admin.toLowerCase(java.util.Locale.ROOT).contains("\ndate: "), admin);
      }
    }
  }

  /**
   * A request the codec refuses gets the main listener's answer there too: the strict decoder's status (505 for
   * another HTTP version) and {@code Connection: close}, as the connection is closed after it. Before, Vert.x's own
   * answer: 400 for each, without it.
   */
  @Test
  void aRefusedRequestIsAnsweredAsOnTheMainListener() {
    gateway("");
    Map<String, Integer> refused = Map.of(
        "GET /health HTTP/2.0\r\nHost: a\r\n\r\n", 505,
        "GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400,
        "POST /health HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
        "GET /health#top HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    refused.forEach((request, status) -> {
      RawHttp.Exchange got = RawHttp.exchange(adminPort, request.getBytes(StandardCharsets.ISO_8859_1), 1, 300, 5_000);
      assertEquals(status, got.status(), got.raw());
      assertTrue(got.closed(), "closed after: " + got.raw());
      assertTrue(got.responses().get(0).closes(), "says Connection: close: " + got.raw());
      assertTrue(got.responses().get(0).head().toLowerCase(java.util.Locale.ROOT).contains("\r\ndate: "), got.raw());
    });
  }

  /** An HTTP/1.1 client trusting {@code pem}'s certificate. */
  static java.net.http.HttpClient https(dev.dockgate.testing.TestCerts.Pem pem) throws Exception {
    java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    try (java.io.InputStream in = java.nio.file.Files.newInputStream(pem.cert())) {
      trust.setCertificateEntry("gateway", java.security.cert.CertificateFactory.getInstance("X.509")
          .generateCertificate(in));
    }
    javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(
        javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    javax.net.ssl.SSLContext ssl = javax.net.ssl.SSLContext.getInstance("TLS");
    ssl.init(null, tmf.getTrustManagers(), null);
    return java.net.http.HttpClient.newBuilder().sslContext(ssl)
        .version(java.net.http.HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
  }

  /** Over TLS too, connections that never finish their handshake make room for a check (counted at accept). */
  @Test
  void overTlsHandshakesNeverFinishedMakeRoomForACheck() throws Exception {
    dev.dockgate.testing.TestCerts.Pem pem = dev.dockgate.testing.TestCerts.selfSigned(dir, "admin");
    adminPort = Ports.free();
    gateway = new GatewayHarness(dir, """
          tls: {cert_file: "%s", key_file: "%s"}
          admin_listener: {port: %d, max_connections: 2}
          header_timeout_ms: 5000
        """.formatted(pem.cert(), pem.key(), adminPort), """
        docker: {enabled: false}
        backends:
          - {name: app, targets: ["http://127.0.0.1:%d"]}
        """.formatted(backend.port()), 2);
    try (RawConnection first = new RawConnection(adminPort); RawConnection second = new RawConnection(adminPort)) {
      Thread.sleep(200); // both accepted and counted
      long asked = System.nanoTime();
      HttpResponse<String> health = https(pem).send(HttpRequest.newBuilder(
          URI.create("https://localhost:" + adminPort + "/health")).timeout(Duration.ofSeconds(5)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, health.statusCode(), health.body());
      assertTrue((System.nanoTime() - asked) / 1_000_000 < 3_000, "at once, not at header_timeout_ms (5000)");
      assertTrue(first.closedWithoutAnswer(), "the silent connection accepted first made room");
    }
  }

  /** A raw HTTP/1.1 client connection to 127.0.0.1, reads bounded by 5 s. */
  private static final class RawConnection implements AutoCloseable {
    private final java.net.Socket socket;
    private final java.io.InputStream in;

    RawConnection(int port) throws java.io.IOException {
      socket = new java.net.Socket("127.0.0.1", port);
      socket.setSoTimeout(5_000);
      in = new java.io.BufferedInputStream(socket.getInputStream());
    }

    /** Sends {@code request} and reads one answer with a Content-Length (head and body). */
    String exchange(String request) throws java.io.IOException {
      String head = head(request);
      java.util.regex.Matcher length = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(head);
      int body = length.find() ? Integer.parseInt(length.group(1)) : 0;
      return head + new String(in.readNBytes(body), StandardCharsets.UTF_8);
    }

    /** Sends {@code request} (may be empty) and reads up to the end of a head, or whatever comes next. */
    String head(String request) throws java.io.IOException {
      if (!request.isEmpty()) {
        socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
      }
      StringBuilder text = new StringBuilder();
      for (int b = in.read(); b >= 0; b = in.read()) {
        text.append((char) b);
        if (text.toString().endsWith("\r\n\r\n") || text.toString().endsWith("\n\n")) {
          break;
        }
      }
      return text.toString();
    }

    /** True when the peer closes (or resets) the connection without another byte, within 5 s. */
    boolean closedWithoutAnswer() throws java.io.IOException {
      try {
        return in.read() < 0;
      } catch (java.net.SocketException reset) {
        return true;
      }
    }

    @Override
    public void close() {
      try {
        socket.close();
      } catch (java.io.IOException ignored) {
        // closing anyway
      }
    }
  }
}
