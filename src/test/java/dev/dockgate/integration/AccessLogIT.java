package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.Backends;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.GatewayJar;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.RawHttp;
import dev.dockgate.testing.TestBackend;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Request ids end to end and the access log written to a file, in both formats. */
class AccessLogIT {

  @RegisterExtension
  static final Backends backends = new Backends();
  static TestBackend backend;

  @TempDir
  Path dir;

  @BeforeAll
  static void start() {
    backend = backends.start("logged");
  }

  GatewayHarness gateway(Path log, String format) {
    backend.clear();
    return new GatewayHarness(dir, """
        docker: {enabled: false}
        access_log: {enabled: true, format: %s, path: "%s"}
        routes:
          - {path_prefix: /app, backend: app}
        backends:
          - {name: app, targets: ["http://127.0.0.1:%d"]}
        """.formatted(format, log, backend.port()), 1);
  }

  static List<String> lines(Path log) {
    try {
      return Files.exists(log) ? Files.readAllLines(log) : List.of();
    } catch (IOException e) {
      return List.of();
    }
  }

  @Test
  void requestIdsAreKeptOrMadeForwardedReturnedAndLogged() {
    Path log = dir.resolve("access.json");
    try (GatewayHarness gw = gateway(log, "json")) {
      HttpResponse<String> given = gw.send(HttpRequest.newBuilder(gw.uri("/app/a?q=1"))
          .header("X-Request-Id", "client-id-42").build());
      assertEquals("client-id-42", given.headers().firstValue("x-request-id").orElse(""));
      assertEquals("client-id-42", backend.take().headers().get("x-request-id"));

      HttpResponse<String> made = gw.get("/app/b");
      String id = made.headers().firstValue("x-request-id").orElse("");
      assertTrue(id.matches("[0-9a-f]{32}"), id);
      assertEquals(id, backend.take().headers().get("x-request-id"));

      HttpResponse<String> unsafe = gw.send(HttpRequest.newBuilder(gw.uri("/elsewhere"))
          .header("X-Request-Id", "x".repeat(200)).build());
      assertEquals(404, unsafe.statusCode());
      assertTrue(unsafe.headers().firstValue("x-request-id").orElse("").matches("[0-9a-f]{32}"));

      Poll.until(Duration.ofSeconds(3), "three lines logged", () -> lines(log).size() == 3);
      List<JsonObject> entries = lines(log).stream().map(JsonObject::new).toList();
      JsonObject first = entries.stream().filter(e -> "client-id-42".equals(e.getString("request_id"))).findFirst().orElseThrow();
      assertEquals("GET", first.getString("method"));
      assertEquals("/app/a", first.getString("path"));
      assertEquals("HTTP/1.1", first.getString("protocol"));
      assertEquals("/app", first.getString("route"));
      assertEquals("app", first.getString("backend"));
      assertEquals("127.0.0.1:" + backend.port(), first.getString("instance"));
      assertEquals(200, first.getInteger("status"));
      assertEquals("echo:".length(), first.getLong("bytes"));
      assertEquals("127.0.0.1", first.getString("client"));
      assertTrue(first.getString("time").endsWith("Z"), first.encode());
      assertTrue(entries.stream().anyMatch(e -> e.getInteger("status") == 404 && e.getString("route") == null));
    }
  }

  /**
   * A client leaving before the answer is logged 499 with the bytes it got: none, on each transport.
   * The gateway's own 499 answer, made when the try toward the backend is reset, is never sent; it
   * was counted (43 bytes) on epoll, where that reset fails the try at once, when the try ran outside
   * the circuit breaker, as it does once the instance's startup grace is over.
   */
  @Test
  void aClientLeavingBeforeTheAnswerIsLoggedWithTheBytesItGot() throws Exception {
    for (String transport : List.of("epoll", "auto")) {
      backend.clear();
      Path log = dir.resolve("access-" + transport + ".json");
      try (GatewayJar gw = new GatewayJar(dir, "", """
          docker: {enabled: false}
          access_log: {enabled: true, format: json, path: "%s"}
          routes:
            - {path_prefix: /app, backend: app}
          backends:
            - name: app
              targets: ["http://127.0.0.1:%d"]
              circuit_breaker: {startup_grace_ms: 0}
          """.formatted(log, backend.port()), 1, Map.of("GATEWAY_TRANSPORT", transport), List.of())) {
        for (int i = 0; i < 3; i++) {
          try (Socket socket = new Socket("127.0.0.1", gw.port())) {
            socket.getOutputStream().write("GET /app/never HTTP/1.1\r\nHost: a\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
            Thread.sleep(300); // the request is at the backend, which never answers
          }
        }
        Poll.until(Duration.ofSeconds(3), "three lines logged", () -> lines(log).size() == 3);
        for (String line : lines(log)) {
          JsonObject entry = new JsonObject(line);
          assertEquals(499, entry.getInteger("status"), transport + ": " + line);
          assertEquals(0L, entry.getLong("bytes"), transport + ", nothing reached the client: " + line);
        }
      }
    }
  }

  @Test
  void combinedFormatLines() {
    Path log = dir.resolve("access.log");
    try (GatewayHarness gw = gateway(log, "combined")) {
      assertEquals(200, gw.get("/app/c").statusCode());
      Poll.until(Duration.ofSeconds(3), "a line logged", () -> lines(log).size() == 1);
      String line = lines(log).get(0);
      assertTrue(line.matches("127\\.0\\.0\\.1 - - \\[[^]]+\\] \"GET /app/c HTTP/1\\.1\" 200 5 \"-\" \"-\" "
          + "request_id=[0-9a-f]{32} consumer=- route=/app backend=app instance=127\\.0\\.0\\.1:\\d+ latency_ms=[0-9.]+"), line);
    }
  }

  /**
   * The combined line's request line is the target as the client sent it, query included (nginx's
   * {@code $request}); a quote or backslash in it is written as {@code \xHH}, so the line cannot be forged.
   */
  @Test
  void combinedFormatKeepsTheQueryEscaped() throws IOException {
    Path log = dir.resolve("access.log");
    try (GatewayHarness gw = gateway(log, "combined")) {
      assertEquals(200, gw.get("/app/q?x=1&y=a%20b").statusCode());
      String forged = ForwardingIT.exchange(gw.port(),
          "GET /app/q?say=\"+200+\"+\\ HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
      assertTrue(forged.startsWith("HTTP/1.1 200"), forged);
      Poll.until(Duration.ofSeconds(3), "two lines logged", () -> lines(log).size() == 2);
      List<String> lines = lines(log);
      assertTrue(lines.get(0).contains(" \"GET /app/q?x=1&y=a%20b HTTP/1.1\" 200 "), lines.get(0));
      assertTrue(lines.get(1).contains(" \"GET /app/q?say=\\x22+200+\\x22+\\x5C HTTP/1.1\" 200 "), lines.get(1));
    }
  }

  /**
   * Credentials in a query (an OAuth token as RFC 6750 2.3 allows, an API key) reach the backend as sent but are not
   * written in the access log, in either format: their values are logged as REDACTED, names matched in any case and
   * percent-decoded; other parameters and an empty value stay. Before, the log held them verbatim.
   */
  @Test
  void credentialsInTheQueryAreRedactedInTheLog() {
    String query = "access_token=s3cret-token&page=2&API%5FKEY=s3cret-key&token=&Key=s3cret-k";
    for (String format : List.of("combined", "json")) {
      Path log = dir.resolve("access-redacted." + format);
      try (GatewayHarness gw = gateway(log, format)) {
        assertEquals(200, gw.get("/app/q?" + query).statusCode());
        assertEquals("/app/q?" + query, backend.take().uri(), "the backend gets the query as sent");
        Poll.until(Duration.ofSeconds(3), "a line logged", () -> lines(log).size() == 1);
        String line = lines(log).get(0);
        String redacted = "access_token=REDACTED&page=2&API%5FKEY=REDACTED&token=&Key=REDACTED";
        assertTrue(!line.contains("s3cret"), line);
        assertTrue(format.equals("json") ? redacted.equals(new JsonObject(line).getString("query"))
            : line.contains(" \"GET /app/q?" + redacted + " HTTP/1.1\" 200 "), line);
      }
    }
  }

  /**
   * A head whose request line the codec could not read (a fragment, a relative target, a malformed or unsupported
   * version, a target too long, userinfo, bare-LF line endings: 400, 414, 505) reaches the gateway as Vert.x's stand-in,
   * {@code GET /bad-request HTTP/1.0}: logged with the request line {@code -}, its event without method, path, query
   * and protocol, and counted in /stats. Before, the stand-in's line was logged as the client's. A head refused for its
   * header lines keeps the line it was sent with.
   */
  @Test
  void aRequestLineTheCodecCouldNotReadIsLoggedAsADash() {
    List<String> unread = List.of("GET /app/a#f HTTP/1.1\r\nHost: a\r\n\r\n", "GET x?u=http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /app/v http/1.1\r\nHost: a\r\n\r\n", "GET /app/v HTTP/2.0\r\nHost: a\r\n\r\n",
        "GET /app/" + "u".repeat(5000) + " HTTP/1.1\r\nHost: a\r\n\r\n", "GET http://u@a/app/x HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /app/lf HTTP/1.1\nHost: a\n\n");
    String readLine = "POST /app/te?q=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    for (String format : List.of("combined", "json")) {
      Path log = dir.resolve("access-unread." + format);
      try (GatewayHarness gw = gateway(log, format)) {
        List<String> ids = new ArrayList<>();
        List<Integer> statuses = new ArrayList<>();
        for (String request : unread) {
          RawHttp.Exchange got = RawHttp.exchange(gw.port(), request.getBytes(StandardCharsets.ISO_8859_1), 1, 300, 5_000);
          statuses.add(got.status());
          ids.add(requestId(got));
        }
        assertEquals(List.of(400, 400, 400, 505, 414, 400, 400), statuses);
        RawHttp.Exchange refused = RawHttp.exchange(gw.port(), readLine.getBytes(StandardCharsets.ISO_8859_1), 1, 300, 5_000);
        assertEquals(400, refused.status(), refused.raw());
        Poll.until(Duration.ofSeconds(3), "eight lines logged", () -> lines(log).size() == 8);
        List<String> lines = lines(log);
        for (int i = 0; i < unread.size(); i++) {
          String line = line(lines, ids.get(i));
          if (format.equals("combined")) {
            assertTrue(line.contains("] \"-\" " + statuses.get(i) + " 0 \"-\" \"-\" request_id="), line);
          } else {
            JsonObject entry = new JsonObject(line);
            for (String key : List.of("method", "path", "query", "protocol")) {
              assertTrue(entry.containsKey(key) && entry.getValue(key) == null, key + " unknown: " + line);
            }
            assertEquals(statuses.get(i), entry.getInteger("status"), line);
          }
        }
        String read = line(lines, requestId(refused));
        assertTrue(format.equals("json") ? new JsonObject(read).getString("path").equals("/app/te")
            : read.contains("] \"POST /app/te?q=1 HTTP/1.1\" 400 "), read);
        assertEquals(8, gw.statsTotal(), "/stats counts each");
      }
    }
  }

  static String requestId(RawHttp.Exchange got) {
    java.util.regex.Matcher id = java.util.regex.Pattern.compile("(?i)\r\nx-request-id: ([0-9a-f]{32})").matcher(got.raw());
    assertTrue(id.find(), got.raw());
    return id.group(1);
  }

  static String line(List<String> lines, String requestId) {
    return lines.stream().filter(l -> l.contains(requestId)).findFirst().orElseThrow(() -> new AssertionError(
        "no line for " + requestId + " in " + lines));
  }
}
