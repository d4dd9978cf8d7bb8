package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.LoggedErrors;
import dev.dockgate.testing.Poll;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What an instance's circuit breaker and outlier detection are told of its answers: only what the instance did, in
 * the state its try was let through in. An answer begun while the circuit was closed that ends after it opened and
 * went half-open does not close it (only the half-open probe decides); the edge's own 408 for a client's body too slow
 * is not the instance's status; a client's body over the limit, or a client leaving mid-upload, after or before the
 * backend's head, is not the instance's failure; an event stream its backend cuts before its first event byte is a
 * failure alone, so a backend cutting every stream opens its circuit.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class InstanceCountsIT {

  static final Vertx vertx = Vertx.vertx();
  /** A circuit opening at 2 failures in a row, and staying open; no startup grace. */
  static final String OPEN_AT_2 = "circuit_breaker: {max_failures: 2, reset_timeout_ms: 60000, startup_grace_ms: 0}";
  /** A circuit opening at 2 failures in a row, half-open 300 ms later; in its startup grace for a minute. */
  static final String IN_GRACE = "circuit_breaker: {max_failures: 2, reset_timeout_ms: 300, startup_grace_ms: 60000}";

  @TempDir
  Path dir;

  @AfterAll
  static void stopServers() {
    vertx.close();
  }

  /**
   * A backend by path: {@code /b/slow} a 200 whose chunked body ends 1.5 s after its first chunk; {@code /b/fail}
   * closes its connection without an answer; {@code /b/err} 500; {@code /b/early500} and {@code /b/early200} that
   * status's head at once (counted as started), reading none of the body, and its end 2 s later; {@code /b/upload} 200
   * once the whole body is read; {@code /b/slowhead} a 200 whose head comes 1.5 s after the request; a WebSocket
   * upgrade (any path) its 101 1.5 s after the request; {@code /b/emptysse} an event stream that ends with no byte;
   * {@code /b/cutsse} an event stream's head, then its connection closed 50 ms later, before any event.
   */
  static HttpServer backend(AtomicInteger slowStarted) throws Exception {
    return vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
        .requestHandler(request -> {
          String path = request.path();
          var response = request.response();
          switch (path) {
            case "/b/slow" -> {
              slowStarted.incrementAndGet();
              response.setChunked(true).write("start\n");
              vertx.setTimer(1500, id -> response.end("end\n"));
            }
            case "/b/fail" -> request.connection().close();
            case "/b/err" -> response.setStatusCode(500).end("no\n");
            case "/b/early500", "/b/early200" -> {
              slowStarted.incrementAndGet();
              request.pause(); // none of the body is read
              response.setStatusCode(path.endsWith("500") ? 500 : 200).setChunked(true).writeHead();
              vertx.setTimer(2000, id -> {
                if (!response.ended() && !response.closed()) {
                  response.end("late\n");
                }
              });
            }
            case "/b/upload" -> request.body().onSuccess(body -> response.end("got " + body.length() + "\n"));
            case "/b/slowhead" -> {
              slowStarted.incrementAndGet();
              vertx.setTimer(1500, id -> response.end("late\n"));
            }
            case "/b/emptysse" -> response.setChunked(true).putHeader("content-type", "text/event-stream").end();
            case "/b/cutsse" -> {
              response.setChunked(true).putHeader("content-type", "text/event-stream").writeHead();
              vertx.setTimer(50, id -> request.connection().close());
            }
            default -> response.setStatusCode(404).end();
          }
        })
        .webSocketHandshakeHandler(handshake -> {
          slowStarted.incrementAndGet();
          vertx.setTimer(1500, id -> handshake.accept()); // the 101 1.5 s after the upgrade request
        })
        .webSocketHandler(ws -> ws.handler(ws::write))
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /**
   * A gateway of two routers (a circuit changes state on one event loop while a try reads it on another) routing /b
   * to {@code backend} alone, with {@code backendKeys}; {@code serverLines}: as the harness.
   */
  GatewayHarness gateway(String serverLines, HttpServer backend, String backendKeys) {
    return new GatewayHarness(dir, serverLines, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /b, backend: b}
        backends:
          - {name: b, targets: ["http://127.0.0.1:%d"], %s}
        """.formatted(backend.actualPort(), backendKeys), 2);
  }

  /**
   * A long answer begun while the circuit was closed, then two failures open the circuit, which goes half-open; the
   * long answer then ends well: it says nothing of the instance now, so the circuit stays half-open, and the next
   * request, its probe, fails and opens it again. (Until 2026-12-06 that end closed the half-open circuit.)
   */
  @Test
  void aLongAnswerBegunWhileClosedThatEndsHalfOpenDoesNotCloseTheCircuit() throws Exception {
    AtomicInteger slowStarted = new AtomicInteger();
    HttpServer backend = backend(slowStarted);
    try (GatewayHarness gateway = gateway("", backend,
        "circuit_breaker: {max_failures: 2, reset_timeout_ms: 300, startup_grace_ms: 0}")) {
      CompletableFuture<HttpResponse<String>> slow = gateway.http().sendAsync(
          HttpRequest.newBuilder(gateway.uri("/b/slow")).build(), HttpResponse.BodyHandlers.ofString());
      Poll.until(Duration.ofSeconds(5), "the long answer begun", () -> slowStarted.get() == 1);
      openThenHalfOpen(gateway);
      assertTrue(!slow.isDone(), "the long answer still streams");
      HttpResponse<String> ended = slow.get(10, TimeUnit.SECONDS);
      assertEquals(200, ended.statusCode());
      assertEquals("start\nend\n", ended.body());
      Thread.sleep(300); // its end is counted right after its last write
      assertEquals(List.of("HALF_OPEN"), CutAnswerIT.circuits(gateway),
          "an answer let through while closed does not decide the half-open circuit");
      assertEquals(502, gateway.get("/b/fail").statusCode(), "the probe");
      assertEquals(List.of("OPEN"), CutAnswerIT.circuits(gateway), "the failed probe opens it again");
      HttpResponse<String> open = gateway.get("/b/fail");
      assertEquals(503, open.statusCode(), open.body());
    } finally {
      backend.close();
    }
  }

  /**
   * The same with a startup grace (startup_grace_ms): a try let through while the circuit was closed, whose head comes
   * after it opened and went half-open, does not close it. (Until 2026-12-06 tries in their instance's grace went
   * through the breaker library, whose success at the head closed the half-open circuit whatever state it began in.)
   */
  @Test
  void aSlowHeadBegunWhileClosedInTheStartupGraceDoesNotCloseTheCircuit() throws Exception {
    AtomicInteger started = new AtomicInteger();
    HttpServer backend = backend(started);
    try (GatewayHarness gateway = gateway("", backend,
        IN_GRACE)) {
      CompletableFuture<HttpResponse<String>> slow = gateway.http().sendAsync(
          HttpRequest.newBuilder(gateway.uri("/b/slowhead")).build(), HttpResponse.BodyHandlers.ofString());
      Poll.until(Duration.ofSeconds(5), "the slow head asked for", () -> started.get() == 1);
      openThenHalfOpen(gateway); // in the grace too
      assertTrue(!slow.isDone(), "the slow head not in yet");
      assertEquals(200, slow.get(10, TimeUnit.SECONDS).statusCode());
      Thread.sleep(300);
      assertEquals(List.of("HALF_OPEN"), CutAnswerIT.circuits(gateway),
          "a try let through while closed does not decide the half-open circuit");
      assertEquals(502, gateway.get("/b/fail").statusCode(), "the probe");
      assertEquals(List.of("OPEN"), CutAnswerIT.circuits(gateway), "the failed probe opens it again");
    } finally {
      backend.close();
    }
  }

  /**
   * An instance in its startup grace whose circuit is half-open refuses the probe's connection (it went down): the
   * refusal proves nothing of it, and the circuit opens again rather than closing. (Until 2026-12-06 the grace's
   * refusal was a success to the breaker library, which closed the half-open circuit on it.)
   */
  @Test
  void aProbeRefusedInTheStartupGraceDoesNotCloseTheCircuit() throws Exception {
    HttpServer backend = backend(new AtomicInteger());
    try (GatewayHarness gateway = gateway("", backend,
        IN_GRACE)) {
      assertEquals(502, gateway.get("/b/fail").statusCode());
      assertEquals(502, gateway.get("/b/fail").statusCode());
      assertEquals(List.of("OPEN"), CutAnswerIT.circuits(gateway));
      backend.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS); // refuses from now on
      Poll.until(Duration.ofSeconds(3), "half-open after reset_timeout_ms",
          () -> CutAnswerIT.circuits(gateway).equals(List.of("HALF_OPEN")));
      HttpResponse<String> probe = gateway.get("/b/fail");
      assertTrue(probe.statusCode() == 502 || probe.statusCode() == 503, probe.statusCode() + " " + probe.body());
      assertEquals(List.of("OPEN"), CutAnswerIT.circuits(gateway), "a refused probe does not close the circuit");
    } finally {
      backend.close();
    }
  }

  /**
   * A WebSocket upgrade let through while the circuit was closed, whose 101 comes after it opened and went half-open,
   * does not close it: as any try, only in the state it was let through in. (Until 2026-12-06 upgrades went through
   * the breaker library whatever the state, whose success closed the half-open circuit.)
   */
  @Test
  void aSlowUpgradeBegunWhileClosedDoesNotCloseTheCircuit() throws Exception {
    AtomicInteger started = new AtomicInteger();
    HttpServer backend = backend(started);
    try (GatewayHarness gateway = gateway("", backend,
        "circuit_breaker: {max_failures: 2, reset_timeout_ms: 300, startup_grace_ms: 0}");
        Socket socket = new Socket("127.0.0.1", gateway.port())) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(("GET /b/ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      Poll.until(Duration.ofSeconds(5), "the upgrade asked for", () -> started.get() == 1);
      openThenHalfOpen(gateway);
      String switched = statusLine(socket.getInputStream());
      assertTrue(switched.startsWith("HTTP/1.1 101 "), switched);
      Thread.sleep(300);
      assertEquals(List.of("HALF_OPEN"), CutAnswerIT.circuits(gateway),
          "an upgrade let through while closed does not decide the half-open circuit");
    } finally {
      backend.close();
    }
  }

  /**
   * A client too slow with its body (body_timeout_ms) while the instance's 500 head is in, no byte of its body yet:
   * the edge answers 408, which is not the instance's status; its 5xx run goes on (ejected at 2 5xx in a row: a 500,
   * the 500 the client did not get, a 500). (Until 2026-12-06 the edge's 408 was counted as the instance's answer.)
   */
  @Test
  void theEdges408ForASlowBodyIsNotTheInstancesStatus() throws Exception {
    HttpServer backend = backend(new AtomicInteger());
    try (LoggedErrors ejections = new LoggedErrors("dev.dockgate.resilience.Outliers", Level.WARNING);
        GatewayHarness gateway = gateway("  body_timeout_ms: 300\n", backend,
            "outlier_detection: {consecutive_5xx: 3, ejection_ms: 60000}")) {
      assertEquals(500, gateway.get("/b/err").statusCode());
      try (Socket socket = new Socket("127.0.0.1", gateway.port())) {
        socket.setSoTimeout(10_000);
        socket.getOutputStream().write(("POST /b/early500 HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n"
            + "x".repeat(10)).getBytes(StandardCharsets.US_ASCII));
        String answer = statusLine(socket.getInputStream());
        assertTrue(answer.startsWith("HTTP/1.1 408 "), answer);
      }
      Thread.sleep(300); // the try is counted once its relay is over
      assertEquals(List.of(), ejections.lines(), "two 5xx so far");
      assertEquals(500, gateway.get("/b/err").statusCode());
      Poll.until(Duration.ofSeconds(3), "ejected at the third 5xx in a row", () -> ejections.lines().size() == 1);
    } finally {
      backend.close();
    }
  }

  /**
   * A client's chunked body goes over max_body_bytes after the instance's head is in, none of its body yet: the client
   * gets 413, as for a body over the limit before any answer, and the instance's circuit (open at 2 failures in a row)
   * counts nothing; three in a row leave it closed. (Until 2026-12-06: 502, each counted against the instance.)
   */
  @Test
  void aBodyOverTheLimitAfterTheInstancesHeadIsNotItsFailure() throws Exception {
    HttpServer backend = backend(new AtomicInteger());
    try (GatewayHarness gateway = gateway("  max_body_bytes: 4096\n", backend,
        OPEN_AT_2)) {
      for (int i = 0; i < 3; i++) {
        try (Socket socket = new Socket("127.0.0.1", gateway.port())) {
          socket.setSoTimeout(10_000);
          OutputStream out = socket.getOutputStream();
          out.write(("POST /b/early200 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n"
              + "x".repeat(1024) + "\r\n").getBytes(StandardCharsets.US_ASCII));
          Thread.sleep(300); // the instance's head is in
          try {
            out.write(("2000\r\n" + "y".repeat(8192) + "\r\n").getBytes(StandardCharsets.US_ASCII));
          } catch (IOException closed) {
            // answered and closed already
          }
          String answer = statusLine(socket.getInputStream());
          assertTrue(answer.startsWith("HTTP/1.1 413 "), answer);
        }
      }
      Thread.sleep(200);
      assertEquals(List.of("CLOSED"), CutAnswerIT.circuits(gateway), "the client's body says nothing of the instance");
    } finally {
      backend.close();
    }
  }

  /**
   * The 413 for a chunked body over max_body_bytes after the instance's head is the exchange's status everywhere: the
   * access log says 413 (not 502), the request is not tried again (on idempotent-looking retries), and the client's
   * connection, its body unfinished, is closed after the answer rather than read on.
   */
  @Test
  void aBodyOverTheLimitAfterTheHeadIsLogged413NotRetriedAndItsConnectionClosed() throws Exception {
    AtomicInteger started = new AtomicInteger();
    HttpServer backend = backend(started);
    Path log = dir.resolve("access.log");
    try (GatewayHarness gateway = new GatewayHarness(dir, "  max_body_bytes: 4096\n", """
        docker: {enabled: false}
        access_log: {enabled: true, format: json, path: "%s"}
        routes:
          - {path_prefix: /b, backend: b, retries: {attempts: 2, backoff_ms: 5}}
        backends:
          - {name: b, targets: ["http://127.0.0.1:%d"], %s}
        """.formatted(log, backend.actualPort(), OPEN_AT_2), 1);
        Socket socket = new Socket("127.0.0.1", gateway.port())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(("PUT /b/early200 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n"
          + "x".repeat(1024) + "\r\n").getBytes(StandardCharsets.US_ASCII));
      Thread.sleep(300); // the instance's head is in
      out.write(("2000\r\n" + "y".repeat(8192) + "\r\n").getBytes(StandardCharsets.US_ASCII));
      String answer = readAll(socket.getInputStream()); // to the connection's close (the body never finished)
      assertTrue(answer.startsWith("HTTP/1.1 413 "), answer);
      Poll.until(Duration.ofSeconds(5), "the access log's line", () -> AccessLogIT.lines(log).size() == 1);
      io.vertx.core.json.JsonObject line = new io.vertx.core.json.JsonObject(AccessLogIT.lines(log).get(0));
      assertEquals(413, line.getInteger("status"), line.encode());
      assertEquals(1, started.get(), "tried once");
      assertEquals(List.of("CLOSED"), CutAnswerIT.circuits(gateway));
    } finally {
      backend.close();
    }
  }

  /**
   * Clients that leave mid-upload (a close, or a TCP reset), while the instance reads the body (no answer yet) or after
   * its head came (none of its body yet): none counted against the instance, whose circuit (open at 2 failures in a
   * row) stays closed.
   */
  @Test
  void clientsLeavingMidUploadAreNotTheInstancesFailures() throws Exception {
    HttpServer backend = backend(new AtomicInteger());
    try (GatewayHarness gateway = gateway("", backend,
        OPEN_AT_2)) {
      String[] paths = {"/b/upload", "/b/upload", "/b/upload", "/b/early200", "/b/early200", "/b/early200"};
      for (int i = 0; i < paths.length; i++) {
        String path = paths[i];
        try (Socket socket = new Socket("127.0.0.1", gateway.port())) {
          if (i % 3 != 0) {
            socket.setSoLinger(true, 0); // its close a TCP reset
          }
          socket.getOutputStream().write(("POST " + path + " HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n"
              + "x".repeat(1000)).getBytes(StandardCharsets.US_ASCII));
          Thread.sleep(200); // the body's start streamed on (and the early head in)
        } // left mid-upload
      }
      Poll.until(Duration.ofSeconds(5), "all 6 counted", () -> gateway.statsTotal() == 6);
      Thread.sleep(200);
      assertEquals(List.of("CLOSED"), CutAnswerIT.circuits(gateway), "the clients leaving say nothing of the instance");
      assertEquals(200, gateway.send(HttpRequest.newBuilder(gateway.uri("/b/upload"))
          .POST(HttpRequest.BodyPublishers.ofString("abc")).build()).statusCode());
    } finally {
      backend.close();
    }
  }

  /**
   * A backend that cuts every event stream right after its head, before any event: each stream is a failure alone (its
   * head not counted a success), so two in a row open the circuit. (Until 2026-12-06 each head counted a success and
   * each cut a failure, so the failures were never in a row and the circuit never opened.)
   */
  @Test
  void eventStreamsCutBeforeTheirFirstEventOpenTheCircuit() throws Exception {
    HttpServer backend = backend(new AtomicInteger());
    try (GatewayHarness gateway = gateway("", backend,
        OPEN_AT_2)) {
      for (int i = 0; i < 2; i++) {
        try (Socket socket = new Socket("127.0.0.1", gateway.port())) {
          socket.setSoTimeout(10_000);
          socket.getOutputStream().write("GET /b/cutsse HTTP/1.1\r\nHost: t\r\n\r\n"
              .getBytes(StandardCharsets.US_ASCII));
          String answer = readAll(socket.getInputStream());
          assertTrue(answer.startsWith("HTTP/1.1 200 "), "the stream's head, then its cut: " + answer);
        }
      }
      Poll.until(Duration.ofSeconds(5), "2 streams cut in a row open the circuit",
          () -> CutAnswerIT.circuits(gateway).equals(List.of("OPEN")));
      HttpResponse<String> open = gateway.get("/b/cutsse");
      assertEquals(503, open.statusCode(), open.body());
    } finally {
      backend.close();
    }
  }

  /**
   * Streams that end with no body byte are counted at their end, a success: an event stream's empty 200 (to GET and
   * HEAD), and over HTTP/2 a gRPC call's trailers-only answer (its error status in its head, no message); between
   * failures, they keep the circuit (open at 2 failures in a row) closed.
   */
  @Test
  void streamsEndingWithoutABodyByteCountAsSuccesses() throws Exception {
    HttpServer backend = backend(new AtomicInteger());
    HttpServer h2 = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
        .requestHandler(request -> {
          if (request.path().equals("/g/fail")) {
            request.connection().close();
          } else { // a trailers-only answer: one HEADERS frame with END_STREAM
            request.response().putHeader("content-type", "application/grpc").putHeader("grpc-status", "5").end();
          }
        })
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    io.vertx.core.http.HttpClient client = h2cClient();
    try (GatewayHarness gateway = new GatewayHarness(dir, "  h2c: true\n", """
        docker: {enabled: false}
        routes:
          - {path_prefix: /b, backend: b}
          - {path_prefix: /g, backend: g}
        backends:
          - {name: b, targets: ["http://127.0.0.1:%d"], %s}
          - {name: g, targets: ["http://127.0.0.1:%d"], protocol: http2, %s}
        """.formatted(backend.actualPort(), OPEN_AT_2, h2.actualPort(), OPEN_AT_2), 1)) {
      for (int i = 0; i < 2; i++) {
        assertEquals(502, gateway.get("/b/fail").statusCode());
        assertEquals(200, gateway.get("/b/emptysse").statusCode());
        assertEquals(502, gateway.get("/b/fail").statusCode());
        assertEquals(200, gateway.send(HttpRequest.newBuilder(gateway.uri("/b/emptysse"))
            .method("HEAD", HttpRequest.BodyPublishers.noBody()).build()).statusCode());
      }
      for (int i = 0; i < 3; i++) {
        io.vertx.core.http.HttpClientResponse failed = grpc(client, gateway, "/g/fail");
        assertEquals("14", failed.getHeader("grpc-status"), "the gateway's UNAVAILABLE for its 502");
        io.vertx.core.http.HttpClientResponse answer = grpc(client, gateway, "/g/Service/Method");
        assertEquals(200, answer.statusCode());
        assertEquals("5", answer.getHeader("grpc-status"), "the trailers-only answer's status");
      }
      Thread.sleep(200);
      assertEquals(List.of("CLOSED", "CLOSED"), CutAnswerIT.circuits(gateway),
          "each failure followed by a stream's success: never 2 in a row");
    } finally {
      client.close();
      h2.close();
      backend.close();
    }
  }

  /** An HTTP/2 client speaking h2c with prior knowledge. */
  static io.vertx.core.http.HttpClient h2cClient() {
    return vertx.createHttpClient(new io.vertx.core.http.HttpClientOptions()
        .setProtocolVersion(io.vertx.core.http.HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false));
  }

  /** A gRPC-like POST to the gateway over h2c, its answer read to its end. */
  static io.vertx.core.http.HttpClientResponse grpc(io.vertx.core.http.HttpClient client, GatewayHarness gateway,
      String path) throws Exception {
    return client.request(io.vertx.core.http.HttpMethod.POST, gateway.port(), "127.0.0.1", path)
        .compose(request -> request.putHeader("content-type", "application/grpc").putHeader("te", "trailers")
            .send(io.vertx.core.buffer.Buffer.buffer(new byte[] {0, 0, 0, 0, 0})))
        .compose(response -> response.body().map(body -> response))
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** Two failures in a row open the circuit (max_failures: 2), which goes half-open after reset_timeout_ms. */
  static void openThenHalfOpen(GatewayHarness gateway) throws Exception {
    assertEquals(502, gateway.get("/b/fail").statusCode());
    assertEquals(502, gateway.get("/b/fail").statusCode());
    assertEquals(List.of("OPEN"), CutAnswerIT.circuits(gateway), "2 failures in a row open it");
    Poll.until(Duration.ofSeconds(3), "half-open after reset_timeout_ms",
        () -> CutAnswerIT.circuits(gateway).equals(List.of("HALF_OPEN")));
  }

  /** The status line of the gateway's answer (or what came before the connection closed). */
  static String statusLine(InputStream in) throws IOException {
    StringBuilder got = new StringBuilder();
    try {
      for (int b; !got.toString().endsWith("\r\n") && (b = in.read()) >= 0; ) {
        got.append((char) b);
      }
    } catch (java.net.SocketException reset) {
      // closed with a reset
    }
    return got.toString();
  }

  /** What the gateway sends until it closes the connection (or resets it). */
  static String readAll(InputStream in) throws IOException {
    StringBuilder got = new StringBuilder();
    byte[] buffer = new byte[8192];
    try {
      for (int n; (n = in.read(buffer)) > 0; ) {
        got.append(new String(buffer, 0, n, StandardCharsets.ISO_8859_1));
      }
    } catch (java.net.SocketException reset) {
      // closed with a reset
    }
    return got.toString();
  }
}
