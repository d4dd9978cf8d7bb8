package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.events.Addresses;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.LoggedErrors;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.TestCerts;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An answer its backend cuts mid-body (a close or a reset after the head and a part of the body, of a declared length
 * or chunked, over HTTP/1.1, HTTPS or HTTP/2), as nginx's "upstream prematurely closed connection" and Envoy's UPE:
 * the client's answer is cut; the traffic event keeps the status and the bytes sent and says {@code "cut":"backend"};
 * /stats counts an error; the access log line ends {@code cut=backend}; {@code gateway_backend_cut_answers_total}
 * counts it; the instance's circuit counts a failure (two in a row open it); one INFO line per instance (paced) names
 * the route, backend, instance and the bytes received; the request is not sent again. A client that leaves mid-body is
 * none of that.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class CutAnswerIT {

  static final Vertx vertx = Vertx.vertx();
  /** The body bytes each cutting backend sends before it cuts. */
  static final int PART = 32768;

  @TempDir
  Path dir;

  @AfterAll
  static void stopServers() {
    vertx.close();
  }

  @Test
  void anHttp1AnswerItsBackendClosesMidBodyIsCountedAsCutByTheBackend() throws Exception {
    cutByHttp1Backends(false, null, "/cut/length");
  }

  @Test
  void anHttp1AnswerItsBackendResetsMidBodyIsCountedAsCutByTheBackend() throws Exception {
    cutByHttp1Backends(true, null, "/cut/length");
  }

  @Test
  void aChunkedAnswerItsBackendClosesMidBodyIsCountedAsCutByTheBackend() throws Exception {
    cutByHttp1Backends(false, null, "/cut/chunked");
  }

  @Test
  void anHttpsAnswerItsBackendClosesMidBodyIsCountedAsCutByTheBackend() throws Exception {
    cutByHttp1Backends(false, TestCerts.selfSigned(dir, "backend"), "/cut/length");
  }

  @Test
  void anHttp2AnswerWhoseStreamItsBackendResetsMidBodyIsCountedAsCutByTheBackend() throws Exception {
    AtomicInteger requests = new AtomicInteger();
    HttpServer a = http2Cutting(requests);
    HttpServer b = http2Cutting(requests);
    try {
      cut(a.actualPort(), b.actualPort(), "protocol: http2, ", null, "/cut/length", requests);
    } finally {
      a.close();
      b.close();
    }
  }

  /**
   * A client that reads a part of a long answer and leaves: its event keeps the status and bytes it got without
   * {@code cut}, /stats counts a success (as documented), nothing is said of the backend, its circuit stays closed.
   */
  @Test
  void aClientLeavingMidBodyIsNotCountedAsABackendCut() throws Exception {
    AtomicInteger requests = new AtomicInteger();
    NetServer a = cutting(false, null, requests);
    NetServer b = cutting(false, null, requests);
    Path log = dir.resolve("access.log");
    List<JsonObject> events = new CopyOnWriteArrayList<>();
    try (Said said = new Said(); GatewayHarness gateway = gateway(a.actualPort(), b.actualPort(), "", null, log)) {
      gateway.vertx().eventBus().<JsonObject>localConsumer(Addresses.TRAFFIC, m -> events.add(m.body()));
      for (int i = 0; i < 2; i++) {
        try (Socket socket = new Socket("127.0.0.1", gateway.port())) {
          socket.getOutputStream().write("GET /cut/slow HTTP/1.1\r\nHost: t\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
          InputStream in = socket.getInputStream();
          byte[] buffer = new byte[4096];
          int got = 0;
          while (got < 1000) {
            int n = in.read(buffer);
            assertTrue(n > 0, "the answer's start arrives");
            got += n;
          }
        } // left mid-body
      }
      Poll.until(Duration.ofSeconds(5), "both requests counted", () -> gateway.statsTotal() == 2 && events.size() == 2);
      for (JsonObject event : events) {
        assertEquals(200, event.getInteger("status"), event.encode());
        assertTrue(event.getLong("bytes") > 0, event.encode());
        assertFalse(event.containsKey("cut"), "a client leaving is not a backend's cut: " + event.encode());
      }
      assertEquals(2, gateway.stats().getJsonObject("requests_count").getLong("success"), gateway.stats().encode());
      assertEquals(List.of(), said.cuts(), "nothing said of the backend");
      assertEquals(List.of("CLOSED", "CLOSED"), circuits(gateway), "the clients leaving say nothing of the instances");
      assertFalse(gateway.admin("/metrics").body().contains("gateway_backend_cut_answers_total{"),
          "no cut counted");
      Poll.until(Duration.ofSeconds(5), "both logged", () -> AccessLogIT.lines(log).size() == 2);
      for (String line : AccessLogIT.lines(log)) {
        assertFalse(line.contains("cut="), line);
      }
    } finally {
      a.close();
      b.close();
    }
  }

  /**
   * A client whose chunked upload goes over {@code max_body_bytes} while its answer streams: the gateway resets the
   * backend's side for the client, which is no backend's cut (no {@code cut}, nothing said, the circuit closed).
   */
  @Test
  void anAnswerCutForItsClientsBodyOverTheLimitIsNotABackendCut() throws Exception {
    AtomicInteger requests = new AtomicInteger();
    NetServer a = cutting(false, null, requests);
    NetServer b = cutting(false, null, requests);
    List<JsonObject> events = new CopyOnWriteArrayList<>();
    try (Said said = new Said(); GatewayHarness gateway = gateway("  max_body_bytes: 4096\n", a.actualPort(),
        b.actualPort(), "", null, dir.resolve("access-limit.log"))) {
      gateway.vertx().eventBus().<JsonObject>localConsumer(Addresses.TRAFFIC, m -> events.add(m.body()));
      try (Socket socket = new Socket("127.0.0.1", gateway.port())) {
        socket.setSoTimeout(10_000);
        java.io.OutputStream out = socket.getOutputStream();
        out.write(("POST /cut/slow HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" + "x".repeat(1024)
            + "\r\n").getBytes(StandardCharsets.US_ASCII));
        InputStream in = socket.getInputStream();
        byte[] buffer = new byte[65536];
        int got = 0;
        while (got < 1000) {
          int n = in.read(buffer);
          assertTrue(n > 0, "the answer's start arrives");
          got += n;
        }
        try {
          out.write(("2000\r\n" + "y".repeat(8192) + "\r\n").getBytes(StandardCharsets.US_ASCII));
          while (in.read(buffer) > 0) {
            // the rest of what was relayed, until the gateway closes
          }
        } catch (java.io.IOException closed) {
          // closed by the gateway
        }
      }
      Poll.until(Duration.ofSeconds(5), "counted", () -> gateway.statsTotal() == 1 && events.size() == 1);
      assertFalse(events.get(0).containsKey("cut"), "the client's body, not the backend: " + events.get(0).encode());
      assertEquals(List.of(), said.cuts(), "nothing said of the backend");
      assertEquals(List.of("CLOSED", "CLOSED"), circuits(gateway));
    } finally {
      a.close();
      b.close();
    }
  }

  /**
   * An event stream lasts as long as its client reads it: its instance counts it a success at its first event, not
   * only at its end, so that failures between streams still open are not "in a row". One instance, its circuit open at
   * 2 failures in a row: a failure, an event stream opened and kept, a failure leave the circuit closed.
   */
  @Test
  void anEventStreamStillOpenIsASuccessBetweenTwoFailuresOfItsInstance() throws Exception {
    streamsBetween("/sse/fail", 502, new ArrayList<>(), gateway -> assertEquals(List.of("CLOSED"), circuits(gateway),
        "the stream the instance answered between the two failures: not 2 failures in a row"));
  }

  /**
   * The same for outlier detection (ejected at 2 5xx in a row): a 500, an event stream opened and kept, a 500 leave
   * the instance in rotation (its stream's 200 counted at its first event).
   */
  @Test
  void anEventStreamStillOpenCountsItsStatusBetweenTwo5xxOfItsInstance() throws Exception {
    List<String> ejections = new CopyOnWriteArrayList<>();
    streamsBetween("/sse/err", 500, ejections, gateway -> assertEquals(List.of(), ejections,
        "the stream's 200 between the two 500s: not 2 5xx in a row"));
  }

  /**
   * A gRPC call (a server stream, say) lasts as long as its client wants: the same over h2c on both sides, an HTTP/2
   * backend resetting a call before its head (a failure), then answering one whose stream stays open, then resetting
   * another: the circuit stays closed.
   */
  @Test
  void aGrpcCallStillOpenIsASuccessBetweenTwoFailuresOfItsInstance() throws Exception {
    HttpServer backend = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
        .requestHandler(request -> {
          if (request.path().endsWith("/Fail")) {
            request.response().reset(2); // INTERNAL_ERROR before any head: a failure of the instance
          } else {
            request.response().putHeader("content-type", "application/grpc")
                .write(Buffer.buffer(new byte[] {0, 0, 0, 0, 0})); // one empty message, and the call goes on
          }
        })
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    io.vertx.core.http.HttpClient client = vertx.createHttpClient(new io.vertx.core.http.HttpClientOptions()
        .setProtocolVersion(io.vertx.core.http.HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false));
    try (GatewayHarness gateway = new GatewayHarness(dir, "  h2c: true\n", """
            docker: {enabled: false}
            routes:
              - {path_prefix: /g.S/, backend: caller}
            backends:
              - {name: caller, protocol: http2, targets: ["http://127.0.0.1:%d"],
                 circuit_breaker: {max_failures: 2, reset_timeout_ms: 60000, startup_grace_ms: 0}}
            """.formatted(backend.actualPort()), 1)) {
      try {
        assertEquals("14", grpcCall(client, gateway.port(), "/g.S/Fail", true), "UNAVAILABLE, from the gateway");
        assertEquals("open", grpcCall(client, gateway.port(), "/g.S/Stream", false));
        assertEquals("14", grpcCall(client, gateway.port(), "/g.S/Fail", true));
        assertEquals(List.of("CLOSED"), circuits(gateway),
            "the call the instance answered between the two failures: not 2 failures in a row");
      } finally {
        client.close(); // the open call with it, before the gateway stops (its drain would wait for it)
      }
    } finally {
      backend.close();
    }
  }

  /**
   * A gRPC call over h2c to {@code path}, one empty message sent; {@code end}: the call's end awaited, its grpc-status
   * returned; else "open" once the answer's head and first message are in, the call left open.
   */
  private static String grpcCall(io.vertx.core.http.HttpClient client, int port, String path, boolean end)
      throws Exception {
    java.util.concurrent.CompletableFuture<String> got = new java.util.concurrent.CompletableFuture<>();
    client.request(io.vertx.core.http.HttpMethod.POST, port, "127.0.0.1", path).onSuccess(request -> {
      request.putHeader("content-type", "application/grpc").putHeader("te", "trailers").setChunked(true);
      request.response().onSuccess(response -> {
        response.handler(chunk -> {
          if (!end) {
            got.complete("open");
          }
        });
        response.endHandler(v -> got.complete(response.getHeader("grpc-status") != null
            ? response.getHeader("grpc-status") : response.getTrailer("grpc-status")));
        response.exceptionHandler(got::completeExceptionally);
      }).onFailure(got::completeExceptionally);
      Buffer message = Buffer.buffer(new byte[] {0, 0, 0, 0, 0});
      if (end) {
        request.end(message);
      } else {
        request.write(message);
      }
    }).onFailure(got::completeExceptionally);
    return got.get(10, TimeUnit.SECONDS);
  }

  /**
   * A route to one instance (circuit open at 2 failures in a row, ejected at 2 5xx in a row) asked {@code path}
   * (answered {@code status}), an event stream that stays open, {@code path} again; then {@code check}, the stream
   * still open. The outlier detection's WARNING lines go to {@code ejections}.
   */
  private void streamsBetween(String path, int status, List<String> ejections,
      java.util.function.Consumer<GatewayHarness> check) throws Exception {
    HttpServer backend = streamer();
    try (LoggedErrors outliers = new LoggedErrors("dev.dockgate.resilience.Outliers", Level.WARNING);
        GatewayHarness gateway = toStreamer(backend)) {
      assertEquals(status, gateway.get(path).statusCode());
      try (Socket stream = openStream(gateway.port())) { // closed before the gateway stops, whose drain waits for it
        assertEquals(status, gateway.get(path).statusCode());
        Poll.until(Duration.ofSeconds(5), "both counted", () -> gateway.statsTotal() == 2);
        Thread.sleep(300); // an instance's count comes at its answer's end, right after the exchange's
        ejections.addAll(outliers.lines());
        check.accept(gateway);
      }
    } finally {
      backend.close();
    }
  }

  /**
   * Answers without a body (a HEAD's, a 204, a 304) end at once, and their end counts them for their instance: each
   * between two failures leaves the circuit (open at 2 failures in a row) closed.
   */
  @Test
  void bodilessAnswersEndAndCountForTheirInstanceBetweenTwoFailures() throws Exception {
    HttpServer backend = streamer();
    try (GatewayHarness gateway = toStreamer(backend)) {
      java.net.http.HttpClient client = java.net.http.HttpClient.newHttpClient();
      assertEquals(502, gateway.get("/sse/fail").statusCode());
      for (String[] ask : new String[][] {{"HEAD", "/sse/head", "200"}, {"GET", "/sse/204", "204"},
          {"GET", "/sse/304", "304"}}) {
        java.net.http.HttpResponse<String> answer = client.send(java.net.http.HttpRequest.newBuilder(
            java.net.URI.create("http://127.0.0.1:" + gateway.port() + ask[1]))
            .method(ask[0], java.net.http.HttpRequest.BodyPublishers.noBody()).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString());
        assertEquals(Integer.parseInt(ask[2]), answer.statusCode(), ask[0] + " " + ask[1]);
        Thread.sleep(100); // its end counted right after its last write
        assertEquals(502, gateway.get("/sse/fail").statusCode());
        assertEquals(List.of("CLOSED"), circuits(gateway), ask[0] + " " + ask[1] + " between two failures");
      }
    } finally {
      backend.close();
    }
  }

  /**
   * A backend: {@code .../fail} closes its connection without an answer, {@code .../err} answers 500, {@code .../head}
   * 200 with 10 bytes (none to HEAD), {@code .../204} and {@code .../304} those, anything else opens an event stream
   * that stays open.
   */
  private static HttpServer streamer() throws Exception {
    return vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
        .requestHandler(request -> {
          if (request.path().endsWith("/fail")) {
            request.connection().close(); // no answer: a failure of the instance
          } else if (request.path().endsWith("/err")) {
            request.response().setStatusCode(500).end("no\n");
          } else if (request.path().endsWith("/head")) {
            request.response().end("0123456789");
          } else if (request.path().endsWith("/204") || request.path().endsWith("/304")) {
            request.response().setStatusCode(Integer.parseInt(request.path().substring(request.path().length() - 3)))
                .end();
          } else {
            request.response().setChunked(true).putHeader("content-type", "text/event-stream")
                .write("data: open\n\n"); // and nothing more while the client reads
          }
        })
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** A gateway routing /sse to {@code backend} alone: circuit open at 2 failures in a row, ejected at 2 5xx in a row. */
  private GatewayHarness toStreamer(HttpServer backend) {
    return new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /sse, backend: streamer}
        backends:
          - {name: streamer, targets: ["http://127.0.0.1:%d"],
             circuit_breaker: {max_failures: 2, reset_timeout_ms: 60000, startup_grace_ms: 0},
             outlier_detection: {consecutive_5xx: 2, ejection_ms: 60000}}
        """.formatted(backend.actualPort()), 1);
  }

  /** An event stream opened through the gateway on port {@code port}: once its head and first event are in. */
  private static Socket openStream(int port) throws Exception {
    Socket socket = new Socket("127.0.0.1", port);
    socket.setSoTimeout(10_000);
    socket.getOutputStream().write("GET /sse/events HTTP/1.1\r\nHost: t\r\n\r\n"
        .getBytes(StandardCharsets.US_ASCII));
    InputStream in = socket.getInputStream();
    StringBuilder got = new StringBuilder();
    byte[] buffer = new byte[4096];
    while (!got.toString().contains("data: open")) {
      int n = in.read(buffer);
      assertTrue(n > 0, "the stream's head and first event arrive: " + got);
      got.append(new String(buffer, 0, n, StandardCharsets.US_ASCII));
    }
    assertTrue(got.toString().startsWith("HTTP/1.1 200 "), got.toString());
    return socket;
  }

  private void cutByHttp1Backends(boolean reset, TestCerts.Pem tls, String path) throws Exception {
    AtomicInteger requests = new AtomicInteger();
    NetServer a = cutting(reset, tls, requests);
    NetServer b = cutting(reset, tls, requests);
    try {
      cut(a.actualPort(), b.actualPort(), "", tls, path, requests);
    } finally {
      a.close();
      b.close();
    }
  }

  /**
   * Four GETs through a route with retries to two cutting instances (round robin, circuits opening at 2 failures in a
   * row, no startup grace: during one, a try runs inside the breaker, whose library counts its head a success): each client's answer is cut, and each request is counted, logged and held against its instance as one
   * cut by its backend; none is sent again; then both circuits are open and a fifth GET gets 503 without a try.
   */
  private void cut(int portA, int portB, String backendKeys, TestCerts.Pem tls, String path, AtomicInteger requests)
      throws Exception {
    Path log = dir.resolve("access-" + System.nanoTime() + ".log");
    List<JsonObject> events = new CopyOnWriteArrayList<>();
    try (Said said = new Said(); LoggedErrors errors = new LoggedErrors();
        GatewayHarness gateway = gateway(portA, portB, backendKeys, tls, log)) {
      gateway.vertx().eventBus().<JsonObject>localConsumer(Addresses.TRAFFIC, m -> events.add(m.body()));
      List<String> seen = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        seen.add(StreamingIT.fetch(gateway.port(), path));
      }
      assertEquals(List.of("cut", "cut", "cut", "cut"), seen, "each client sees its answer cut");
      Poll.until(Duration.ofSeconds(5), "the 4 requests counted", () -> gateway.statsTotal() == 4 && events.size() == 4);
      assertEquals(4, requests.get(), "no answer already begun is asked again (retries: 1)");
      for (JsonObject event : events) {
        assertEquals(200, event.getInteger("status"), "the status sent: " + event.encode());
        assertEquals(PART, event.getLong("bytes"), "the bytes sent: " + event.encode());
        assertEquals("backend", event.getString("cut"), event.encode());
      }
      JsonObject counts = gateway.stats().getJsonObject("requests_count");
      assertEquals(0, counts.getLong("success"), "/stats: " + counts);
      assertEquals(4, counts.getLong("error"), "/stats: " + counts);
      String metrics = gateway.admin("/metrics").body();
      assertTrue(metrics.contains("gateway_backend_cut_answers_total{backend=\"cutter\",route=\"/cut\"} 4.0"), metrics);
      Poll.until(Duration.ofSeconds(5), "the 4 requests logged", () -> AccessLogIT.lines(log).size() == 4);
      for (String line : AccessLogIT.lines(log)) {
        assertTrue(line.contains("\" 200 " + PART + " \"-\" \"-\" "), line);
        assertTrue(line.endsWith(" cut=backend"), line);
      }
      List<String> cuts = said.cuts();
      assertEquals(2, cuts.size(), "one line per instance (the second cut of each within 10 s is paced): " + cuts);
      for (String line : cuts) {
        assertTrue(line.startsWith("INFO "), line);
        assertTrue(line.contains("route /cut") && line.contains("backend \"cutter\"") && line.contains("instance ")
            && line.contains(" after " + PART + " bytes"), line);
      }
      Poll.until(Duration.ofSeconds(5), "both circuits open after 2 cuts in a row each",
          () -> circuits(gateway).equals(List.of("OPEN", "OPEN")));
      assertEquals(503, gateway.get(path).statusCode(), "no instance left to try");
      assertEquals(4, requests.get(), "the open circuits let no request through");
      assertEquals(List.of(), errors.lines(), "a backend's cut is an expected network event: no error logged");
    }
  }

  GatewayHarness gateway(int portA, int portB, String backendKeys, TestCerts.Pem tls, Path log) {
    return gateway("", portA, portB, backendKeys, tls, log);
  }

  /** {@code serverLines}: more keys of the server section (as GatewayHarness takes them). */
  GatewayHarness gateway(String serverLines, int portA, int portB, String backendKeys, TestCerts.Pem tls, Path log) {
    String scheme = tls == null ? "http" : "https";
    return new GatewayHarness(dir, serverLines, """
        docker: {enabled: false}
        access_log: {enabled: true, format: combined, path: "%s"}
        routes:
          - {path_prefix: /cut, backend: cutter, retries: {attempts: 1, backoff_ms: 0}}
        backends:
          - {name: cutter, %stargets: ["%s://127.0.0.1:%d", "%s://127.0.0.1:%d"], load_balancer: round_robin,%s
             circuit_breaker: {max_failures: 2, reset_timeout_ms: 60000, startup_grace_ms: 0}}
        """.formatted(log, backendKeys, scheme, portA, scheme, portB,
        tls == null ? "" : " tls: {ca_file: \"" + tls.cert() + "\"},"), 1);
  }

  /**
   * The same over HTTP/2 toward the client (h2c): each stream is reset with INTERNAL_ERROR after the part, and counted
   * as cut by the backend; a stream the client resets itself (CANCEL) after a part of a long answer is not.
   */
  @Test
  void anAnswerCutToAnHttp2ClientIsCountedAsCutByTheBackendAndOneTheClientResetsIsNot() throws Exception {
    AtomicInteger requests = new AtomicInteger();
    NetServer a = cutting(false, null, requests);
    NetServer b = cutting(false, null, requests);
    Path log = dir.resolve("access-h2.log");
    List<JsonObject> events = new CopyOnWriteArrayList<>();
    io.vertx.core.http.HttpClient client = vertx.createHttpClient(new io.vertx.core.http.HttpClientOptions()
        .setProtocolVersion(io.vertx.core.http.HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false));
    try (Said said = new Said();
        GatewayHarness gateway = gateway("  h2c: true\n", a.actualPort(), b.actualPort(), "", null, log)) {
      gateway.vertx().eventBus().<JsonObject>localConsumer(Addresses.TRAFFIC, m -> events.add(m.body()));
      assertEquals("200 after " + PART + ": reset 2", h2(client, gateway.port(), "/cut/length", false));
      assertEquals("200 after " + PART + ": reset 2", h2(client, gateway.port(), "/cut/chunked", false));
      Poll.until(Duration.ofSeconds(5), "both counted", () -> gateway.statsTotal() == 2 && events.size() == 2);
      for (JsonObject event : events) {
        assertEquals("backend", event.getString("cut"), event.encode());
        assertEquals(PART, event.getLong("bytes"), event.encode());
      }
      assertEquals(2, gateway.stats().getJsonObject("requests_count").getLong("error"), gateway.stats().encode());
      assertEquals(2, said.cuts().size(), said.cuts().toString());
      events.clear();
      assertTrue(h2(client, gateway.port(), "/cut/slow", true).startsWith("200 after "), "the client's own reset");
      Poll.until(Duration.ofSeconds(5), "counted", () -> gateway.statsTotal() == 3 && events.size() == 1);
      assertFalse(events.get(0).containsKey("cut"), "a client's reset is not a backend's cut: " + events.get(0));
      assertEquals(1, gateway.stats().getJsonObject("requests_count").getLong("success"), gateway.stats().encode());
      assertEquals(2, said.cuts().size(), "nothing more said: " + said.cuts());
    } finally {
      client.close();
      a.close();
      b.close();
    }
  }

  /**
   * One GET over h2c: "STATUS after BYTES: reset CODE" or "...: ended"; {@code leave}: the client resets its stream
   * (CANCEL) once a part of the body is in.
   */
  static String h2(io.vertx.core.http.HttpClient client, int port, String path, boolean leave) throws Exception {
    java.util.concurrent.CompletableFuture<String> end = new java.util.concurrent.CompletableFuture<>();
    client.request(io.vertx.core.http.HttpMethod.GET, port, "127.0.0.1", path)
        // the handlers set in the callback that sends (see TlsIT.send): an answer read first would lose its end
        .compose(req -> req.send().onSuccess(response -> {
          long[] got = new long[1];
          response.handler(chunk -> {
            got[0] += chunk.length();
            if (leave && got[0] >= 1000 && !end.isDone()) {
              req.reset(0x8);
              end.complete(response.statusCode() + " after " + got[0] + ": left");
            }
          });
          response.exceptionHandler(err -> end.complete(response.statusCode() + " after " + got[0] + ": "
              + (err instanceof io.vertx.core.http.StreamResetException reset ? "reset " + reset.getCode() : err)));
          response.endHandler(v -> end.complete(response.statusCode() + " after " + got[0] + ": ended"));
        }))
        .onFailure(end::completeExceptionally);
    return end.get(10, TimeUnit.SECONDS);
  }

  /** The circuit states of backend cutter's instances. */
  static List<String> circuits(GatewayHarness gateway) {
    JsonObject report = new JsonObject(gateway.admin("/admin/routes").body());
    List<String> states = new ArrayList<>();
    for (Object backend : report.getJsonArray("backends")) {
      for (Object instance : ((JsonObject) backend).getJsonArray("instances")) {
        states.add(((JsonObject) instance).getString("circuit"));
      }
    }
    return states;
  }

  /**
   * A raw HTTP/1.1 backend answering each request 200, by its path: {@code .../chunked} chunked, else with a
   * Content-Length of 1,000,000; then {@link #PART} bytes of the body; then, 300 ms later (all of it relayed), it
   * closes its connection (with SO_LINGER 0 when {@code reset}: a TCP reset). {@code .../slow}: the part, then nothing
   * more until the gateway closes.
   */
  static NetServer cutting(boolean reset, TestCerts.Pem tls, AtomicInteger requests) throws Exception {
    byte[] part = new byte[PART];
    java.util.Arrays.fill(part, (byte) 'x');
    return vertx.createNetServer(BackendQuirksIT.options(tls).setSoLinger(reset ? 0 : -1))
        .connectHandler(socket -> BackendQuirksIT.onHeads(socket, head -> {
          requests.incrementAndGet();
          String path = head.substring(head.indexOf(' ') + 1, head.indexOf(' ', head.indexOf(' ') + 1));
          boolean chunked = path.endsWith("/chunked");
          Buffer answer = Buffer.buffer("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
              + (chunked ? "Transfer-Encoding: chunked\r\n\r\n" + Integer.toHexString(PART) + "\r\n"
                  : "Content-Length: 1000000\r\n\r\n"));
          answer.appendBytes(part);
          if (chunked) {
            answer.appendString("\r\n");
          }
          socket.write(answer);
          if (!path.endsWith("/slow")) {
            vertx.setTimer(300, id -> socket.close());
          }
          return false;
        }))
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /**
   * An h2c backend answering each request 200 with a Content-Length of 1,000,000 and {@link #PART} bytes of the body,
   * then, 300 ms later, resetting the stream (INTERNAL_ERROR).
   */
  static HttpServer http2Cutting(AtomicInteger requests) throws Exception {
    Buffer part = Buffer.buffer(new byte[PART]);
    return vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
        .requestHandler(request -> {
          requests.incrementAndGet();
          request.response().putHeader("content-length", "1000000").write(part);
          vertx.setTimer(300, id -> request.response().reset(2));
        })
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** The proxy's log lines of INFO and above (and any with a stack trace) while open, those about cut answers apart. */
  static final class Said implements AutoCloseable {
    private final LoggedErrors lines = new LoggedErrors("dev.dockgate.proxy", Level.INFO);

    /** The lines about answers cut by their backends. */
    List<String> cuts() {
      return lines.lines().stream().filter(line -> line.contains(" cut its answer ")).toList();
    }

    @Override
    public void close() {
      lines.close();
    }
  }
}
