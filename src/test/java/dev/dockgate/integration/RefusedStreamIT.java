package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.events.Addresses;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.LoggedErrors;
import dev.dockgate.testing.Poll;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTP/2 backends (protocol: http2, h2c on 127.0.0.1) that refuse a stream unprocessed, with RST_STREAM REFUSED_STREAM
 * or a GOAWAY whose last-stream-id is below the stream's (RFC 9113 §8.7: such a request may be sent again, whatever
 * its method): the gateway sends it again, with its body when it still holds it, and counts one request. Before, the
 * client got 502 and the refusal counted against the instance's circuit.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RefusedStreamIT {

  static final long REFUSED_STREAM = 0x7;

  @TempDir
  Path dir;
  final Vertx vertx = Vertx.vertx();
  GatewayHarness gateway;
  final List<JsonObject> events = new CopyOnWriteArrayList<>();

  @AfterEach
  void stop() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /**
   * An h2c server that refuses its first {@code refusals} streams with RST_STREAM REFUSED_STREAM (or, with
   * {@code goAway}, answers its first stream with a GOAWAY whose last-stream-id is below it), then echoes each
   * request's method and body.
   */
  final class RefusingBackend {
    final AtomicInteger refusals;
    final boolean goAway;
    final AtomicInteger streams = new AtomicInteger();
    final AtomicInteger answered = new AtomicInteger();
    final Set<HttpConnection> connections = ConcurrentHashMap.newKeySet();
    final List<String> bodies = new CopyOnWriteArrayList<>();
    final HttpServer server;

    RefusingBackend(int refusals, boolean goAway) throws Exception {
      this.refusals = new AtomicInteger(refusals);
      this.goAway = goAway;
      server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
          .requestHandler(this::handle)
          .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    void handle(HttpServerRequest request) {
      streams.incrementAndGet();
      connections.add(request.connection());
      if (refusals.getAndDecrement() > 0) {
        if (goAway) {
          // The stream is above the last one the server says it will process: not processed, the client may send
          // it again on another connection.
          request.connection().goAway(0, Math.max(0, request.streamId() - 2));
        } else {
          request.response().reset(REFUSED_STREAM);
        }
        return;
      }
      request.body().onSuccess(body -> {
        bodies.add(body.toString(StandardCharsets.UTF_8));
        answered.incrementAndGet();
        request.response().end(request.method() + " " + body);
      });
    }

    int port() {
      return server.actualPort();
    }
  }

  GatewayHarness gateway(String route, RefusingBackend... backends) {
    StringBuilder targets = new StringBuilder();
    for (RefusingBackend b : backends) {
      targets.append(targets.isEmpty() ? "" : ", ").append("\"http://127.0.0.1:").append(b.port()).append('"');
    }
    gateway = new GatewayHarness(dir, "  h2c: true\n", """
        docker: {enabled: false}
        routes:
          - {path_prefix: /app, backend: app%s}
        backends:
          - {name: app, protocol: http2, targets: [%s], load_balancer: round_robin, circuit_breaker: {max_failures: 2}}
        """.formatted(route, targets), 1);
    Poll.until(Duration.ofSeconds(10), "the instances routed",
        () -> DockerRoutingIT.instanceCount(gateway, "app") == backends.length);
    gateway.vertx().eventBus().<JsonObject>localConsumer(Addresses.TRAFFIC, message -> events.add(message.body()));
    return gateway;
  }

  /** A gateway (more {@code serverLines}) with one route to an HTTP/2 backend of one instance on {@code port}. */
  GatewayHarness oneInstance(String serverLines, int port) {
    gateway = new GatewayHarness(dir, serverLines, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /app, backend: app}
        backends:
          - {name: app, protocol: http2, targets: ["http://127.0.0.1:%d"]}
        """.formatted(port), 1);
    Poll.until(Duration.ofSeconds(10), "the instance routed", () -> DockerRoutingIT.instanceCount(gateway, "app") == 1);
    gateway.vertx().eventBus().<JsonObject>localConsumer(Addresses.TRAFFIC, message -> events.add(message.body()));
    return gateway;
  }

  /** The request was counted once: one traffic event, with {@code status}, and one request in /stats. */
  void countedOnce(int status) {
    Poll.until(Duration.ofSeconds(5), "the request counted", () -> gateway.statsTotal() >= 1 && !events.isEmpty());
    assertEquals(1, gateway.statsTotal(), "/stats: " + gateway.stats());
    assertEquals(1, events.size(), "one traffic event: " + events);
    assertEquals(status, events.get(0).getInteger("status"), events.toString());
  }

  /** The answer ({@code status}, {@code answer}) came from the second stream, {@code expected}, counted once. */
  void answeredOnTheSecondStream(RefusingBackend backend, int status, String answer, String expected) {
    assertEquals(200, status, answer);
    assertEquals(expected, answer, "the request sent again intact");
    assertEquals(2, backend.streams.get(), "refused, then sent again");
    countedOnce(200);
  }

  HttpResponse<String> post(String path, HttpRequest.BodyPublisher body) {
    return gateway.send(HttpRequest.newBuilder(gateway.uri(path)).timeout(Duration.ofSeconds(10))
        .POST(body).build());
  }

  @Test
  void aGetWhoseStreamIsRefusedIsSentAgain() throws Exception {
    RefusingBackend backend = new RefusingBackend(1, false);
    try (LoggedErrors errors = new LoggedErrors()) {
      gateway("", backend); // retries off: the refused stream is sent again all the same, once
      HttpResponse<String> response = gateway.get("/app/get");
      answeredOnTheSecondStream(backend, response.statusCode(), response.body(), "GET ");
      assertEquals(List.of(), errors.lines());
    }
  }

  @Test
  void aPostWithASmallBodyWhoseStreamIsRefusedIsSentAgainWithItsBody() throws Exception {
    RefusingBackend backend = new RefusingBackend(1, false);
    String body = "{\"order\": 42, \"items\": [\"" + "x".repeat(3000) + "\"]}";
    try (LoggedErrors errors = new LoggedErrors()) {
      gateway("", backend);
      HttpResponse<String> response = post("/app/orders", HttpRequest.BodyPublishers.ofString(body));
      answeredOnTheSecondStream(backend, response.statusCode(), response.body(), "POST " + body);
      assertEquals(List.of(body), backend.bodies);
      assertEquals(List.of(), errors.lines());
    }
  }

  /** The same from an HTTP/2 client (h2c): its body, of a declared content-length, is held and sent again. */
  @Test
  void anHttp2ClientsPostWhoseStreamIsRefusedIsSentAgainWithItsBody() throws Exception {
    RefusingBackend backend = new RefusingBackend(1, false);
    String body = "x".repeat(20_000);
    try (LoggedErrors errors = new LoggedErrors()) {
      gateway("", backend);
      io.vertx.core.http.HttpClient h2 = vertx.createHttpClient(new io.vertx.core.http.HttpClientOptions()
          .setProtocolVersion(io.vertx.core.http.HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false));
      // The body is asked for in the response's callback: asked later, the DATA frames come before it are lost.
      List<Object> reply = h2.request(io.vertx.core.http.HttpMethod.POST, gateway.port(), "127.0.0.1", "/app/orders")
          .compose(request -> request.putHeader("content-length", Integer.toString(body.length())).send(body))
          .compose(response -> response.body().map(answer -> List.<Object>of(response.version(), response.statusCode(),
              answer.toString())))
          .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertEquals(io.vertx.core.http.HttpVersion.HTTP_2, reply.get(0));
      answeredOnTheSecondStream(backend, (Integer) reply.get(1), (String) reply.get(2), "POST " + body);
      assertEquals(List.of(), errors.lines());
    }
  }

  @Test
  void aPostAboveTheLastStreamOfAGoAwayIsSentAgainOnANewConnection() throws Exception {
    RefusingBackend backend = new RefusingBackend(1, true);
    try (LoggedErrors errors = new LoggedErrors()) {
      gateway("", backend);
      HttpResponse<String> response = post("/app/orders", HttpRequest.BodyPublishers.ofString("pay=1"));
      answeredOnTheSecondStream(backend, response.statusCode(), response.body(), "POST pay=1");
      assertEquals(2, backend.connections.size(), "the connection that went away is not used again");
      assertEquals(List.of(), errors.lines());
    }
  }

  /**
   * A GOAWAY whose last-stream-id is the request's own stream says the instance may have processed it: when the
   * connection then closes without an answer, the POST is not sent again (502, as for any broken exchange).
   */
  @Test
  void aPostAtTheLastStreamOfAGoAwayIsNotSentAgain() throws Exception {
    AtomicInteger streams = new AtomicInteger();
    HttpServer closing = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
        .requestHandler(request -> {
          streams.incrementAndGet();
          request.connection().goAway(0, request.streamId());
          vertx.setTimer(50, t -> ((io.vertx.core.net.impl.ConnectionBase) request.connection()).channel().close());
        })
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    try (LoggedErrors errors = new LoggedErrors()) {
      oneInstance("", closing.actualPort());
      HttpResponse<String> response = post("/app/orders", HttpRequest.BodyPublishers.ofString("pay=1"));
      assertEquals(502, response.statusCode(), response.body());
      assertEquals(1, streams.get(), "possibly processed: not sent again");
      assertEquals(List.of(), errors.lines());
    }
  }

  /**
   * With retries on, a stream refused on every try: each instance is tried (its refused stream sent again once),
   * then 503 saying why; nothing loops, and the refusals do not open the instances' circuits.
   */
  @Test
  void aRequestRefusedOnEveryTryEndsIn503() throws Exception {
    RefusingBackend one = new RefusingBackend(Integer.MAX_VALUE, false);
    RefusingBackend two = new RefusingBackend(Integer.MAX_VALUE, true);
    try (LoggedErrors errors = new LoggedErrors()) {
      gateway(", retries: {attempts: 2}", one, two);
      HttpResponse<String> response = post("/app/orders", HttpRequest.BodyPublishers.ofString("pay=1"));
      assertEquals(503, response.statusCode(), response.body());
      assertTrue(response.body().startsWith("backend \"app\" refused the request"), response.body());
      assertEquals(2, one.streams.get(), "its stream sent again once");
      assertEquals(2, two.streams.get(), "its stream sent again once");
      countedOnce(503);
      assertEquals(List.of(), errors.lines());
    }
  }

  /**
   * An instance refusing every stream is passed over for a moment after each refused try while another answers:
   * with retries off and round robin, of 12 requests sent one after the other it gets one per 250 ms, not every
   * other one (before: 6 of 12 answered 503).
   */
  @Test
  void anInstanceRefusingStreamsIsPassedOverForAMoment() throws Exception {
    RefusingBackend refusing = new RefusingBackend(Integer.MAX_VALUE, false);
    RefusingBackend good = new RefusingBackend(0, false);
    gateway("", refusing, good);
    int refused = 0;
    long start = System.nanoTime();
    for (int i = 0; i < 12; i++) {
      HttpResponse<String> response = gateway.get("/app/" + i);
      if (response.statusCode() == 503) {
        refused++;
      } else {
        assertEquals(200, response.statusCode(), response.body());
      }
    }
    long tookMs = (System.nanoTime() - start) / 1_000_000;
    assertTrue(refused >= 1 && refused <= 1 + tookMs / 250, refused + " of 12 refused in " + tookMs + " ms");
    assertEquals(12 - refused, good.answered.get());
  }

  /**
   * A refusal is the instance's backpressure, not its failure: with max_failures: 2, three requests refused on
   * every stream (503 each) leave its circuit closed, and the next is answered. Before, the second 502 opened it.
   */
  @Test
  void refusalsDoNotOpenTheCircuit() throws Exception {
    RefusingBackend backend = new RefusingBackend(6, false);
    gateway("", backend);
    for (int i = 0; i < 3; i++) {
      HttpResponse<String> refused = gateway.get("/app/" + i);
      assertEquals(503, refused.statusCode(), refused.body());
      assertTrue(refused.body().contains("REFUSED_STREAM"), refused.body());
    }
    HttpResponse<String> answered = gateway.get("/app/after");
    assertEquals(200, answered.statusCode(), answered.body());
    assertEquals(7, backend.streams.get());
  }

  /**
   * A body the gateway streamed as it came (chunked, of no declared size) is gone once sent: the refused request
   * is not sent again, and the client gets 503 with the reason, said in the log.
   */
  @Test
  void aStreamedBodyIsNotSentAgain() throws Exception {
    RefusingBackend backend = new RefusingBackend(1, false);
    try (LoggedErrors errors = new LoggedErrors();
        LoggedErrors info = new LoggedErrors("dev.dockgate.proxy", Level.INFO)) {
      gateway("", backend);
      HttpResponse<String> response = post("/app/upload", HttpRequest.BodyPublishers.ofInputStream(
          () -> new ByteArrayInputStream("a streamed body".getBytes(StandardCharsets.UTF_8))));
      assertEquals(503, response.statusCode(), response.body());
      assertTrue(response.body().contains("REFUSED_STREAM"), response.body());
      assertEquals(1, backend.streams.get(), "not sent again");
      countedOnce(503);
      assertEquals(List.of(), errors.lines());
      assertTrue(info.lines().stream().anyMatch(l -> l.contains("refused") && l.contains("cannot be sent again")),
          info.lines().toString());
    }
  }

  /** A raw HTTP/1.1 connection to the gateway: {@code head} then {@code body} written; the socket returned. */
  java.net.Socket rawPost(String head, String body) throws Exception {
    java.net.Socket socket = new java.net.Socket("127.0.0.1", gateway.port());
    socket.setSoTimeout(10_000);
    socket.getOutputStream().write((head + body).getBytes(StandardCharsets.ISO_8859_1));
    socket.getOutputStream().flush();
    return socket;
  }

  /** What the gateway wrote on {@code socket} until it closed it, or until {@code until} was read. */
  static String readUntil(java.net.Socket socket, String until) throws Exception {
    StringBuilder read = new StringBuilder();
    java.io.InputStream in = socket.getInputStream();
    byte[] chunk = new byte[4096];
    while (until == null || !read.toString().contains(until)) {
      int n = in.read(chunk);
      if (n < 0) {
        break;
      }
      read.append(new String(chunk, 0, n, StandardCharsets.ISO_8859_1));
    }
    return read.toString();
  }

  /**
   * A client that leaves while the gateway reads its small body whole: nothing reaches the backend, the request is
   * finished and counted once, and nothing is logged as an error.
   */
  @Test
  void aClientLeavingMidHeldBodyIsFinished() throws Exception {
    RefusingBackend backend = new RefusingBackend(0, false);
    try (LoggedErrors errors = new LoggedErrors()) {
      gateway("", backend);
      try (java.net.Socket socket = rawPost("POST /app/orders HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n",
          "only ten b")) {
        Thread.sleep(200);
      }
      Poll.until(Duration.ofSeconds(5), "the request finished", () -> !events.isEmpty());
      assertEquals(1, events.size(), events.toString());
      assertEquals(0, backend.streams.get(), "nothing sent");
      assertEquals(List.of(), errors.lines());
    }
  }

  /** Expect: 100-continue with a body the gateway holds: 100 first, then the body, sent whole to the backend. */
  @Test
  void anExpectContinueBodyIsHeldAfterThe100() throws Exception {
    RefusingBackend backend = new RefusingBackend(1, false);
    try (LoggedErrors errors = new LoggedErrors()) {
      gateway("", backend);
      try (java.net.Socket socket = rawPost("POST /app/orders HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
          + "Expect: 100-continue\r\nConnection: close\r\n\r\n", "")) {
        assertTrue(readUntil(socket, "\r\n\r\n").startsWith("HTTP/1.1 100 Continue"));
        socket.getOutputStream().write("pay=1".getBytes(StandardCharsets.ISO_8859_1));
        String answer = readUntil(socket, null);
        assertTrue(answer.startsWith("HTTP/1.1 200") && answer.endsWith("POST pay=1"), answer);
      }
      assertEquals(List.of("pay=1"), backend.bodies);
      countedOnce(200);
      assertEquals(List.of(), errors.lines());
    }
  }

  /**
   * A small body not complete within body_timeout_ms while the gateway reads it whole: 408, counted once; one over
   * max_body_bytes: 413 as before.
   */
  @Test
  void aHeldBodyTooSlowGets408() throws Exception {
    RefusingBackend backend = new RefusingBackend(0, false);
    try (LoggedErrors errors = new LoggedErrors()) {
      oneInstance("  h2c: true\n  body_timeout_ms: 500\n  max_body_bytes: 1000\n", backend.port());
      try (java.net.Socket socket = rawPost("POST /app/orders HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n",
          "part")) {
        String answer = readUntil(socket, null);
        assertTrue(answer.startsWith("HTTP/1.1 408"), answer);
      }
      countedOnce(408);
      // Under the held size but over max_body_bytes: 413 from its announced length, before anything is read.
      try (java.net.Socket socket = rawPost("POST /app/orders HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\n",
          "x".repeat(2000))) {
        String answer = readUntil(socket, "\r\n\r\n");
        assertTrue(answer.startsWith("HTTP/1.1 413"), answer);
      }
      assertEquals(0, backend.streams.get(), "nothing sent");
      assertEquals(List.of(), errors.lines());
    }
  }

  /**
   * A server that sends a GOAWAY below the request's stream and closes its connection at once (as one shutting down
   * with no stream below it in progress): the stream was not processed, the POST is sent again on a new connection.
   */
  @Test
  void aPostAboveTheLastStreamOfAGoAwayWhoseConnectionClosesIsSentAgain() throws Exception {
    AtomicInteger streams = new AtomicInteger();
    List<String> bodies = new CopyOnWriteArrayList<>();
    HttpServer closing = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
        .requestHandler(request -> {
          if (streams.incrementAndGet() == 1) {
            request.connection().goAway(0, 0);
            ((io.vertx.core.net.impl.ConnectionBase) request.connection()).channel().close();
            return;
          }
          request.body().onSuccess(body -> {
            bodies.add(body.toString());
            request.response().end("POST " + body);
          });
        })
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    try (LoggedErrors errors = new LoggedErrors()) {
      oneInstance("", closing.actualPort());
      HttpResponse<String> response = post("/app/orders", HttpRequest.BodyPublishers.ofString("pay=1"));
      assertEquals(200, response.statusCode(), response.body());
      assertEquals("POST pay=1", response.body());
      assertEquals(2, streams.get());
      assertEquals(List.of(), errors.lines());
    }
  }

  /**
   * Two POSTs of {@code length} bytes at once, their first 1000 bytes sent: with the bound too low for both, one
   * streams to the backend at once while the other is held; then each arrives intact.
   */
  void twoBodiesOneStreamed(RefusingBackend backend, int length) throws Exception {
    String head = "POST /app/orders HTTP/1.1\r\nHost: a\r\nContent-Length: " + length + "\r\nConnection: close\r\n\r\n";
    try (java.net.Socket one = rawPost(head, "a".repeat(1000));
        java.net.Socket two = rawPost(head, "b".repeat(1000))) {
      Poll.until(Duration.ofSeconds(5), "one body streamed past the bound", () -> backend.streams.get() == 1);
      Thread.sleep(300);
      assertEquals(1, backend.streams.get(), "the other held");
      one.getOutputStream().write("a".repeat(length - 1000).getBytes(StandardCharsets.ISO_8859_1));
      two.getOutputStream().write("b".repeat(length - 1000).getBytes(StandardCharsets.ISO_8859_1));
      assertTrue(readUntil(one, null).endsWith("POST " + "a".repeat(length)));
      assertTrue(readUntil(two, null).endsWith("POST " + "b".repeat(length)));
    }
  }

  /**
   * The bodies held whole at once are bounded (here gateway.held.bodies.bytes: 100000): a POST whose body would take
   * them past the bound streams as it comes, as before bodies were held; both arrive intact, and what was held is
   * given back with the answer (a body of 50000 is held again after, and sent again when refused). Before, every
   * small body was held, however many: an HTTP/2 client's 100 streams of 64 KiB each, 6.4 MiB per connection.
   */
  @Test
  void heldBodiesAreBounded() throws Exception {
    RefusingBackend backend = new RefusingBackend(0, false);
    System.setProperty("gateway.held.bodies.bytes", "100000");
    try (LoggedErrors errors = new LoggedErrors()) {
      gateway("", backend);
      twoBodiesOneStreamed(backend, 60_000);
      backend.refusals.set(1);
      String body = "c".repeat(50_000);
      HttpResponse<String> response = post("/app/orders", HttpRequest.BodyPublishers.ofString(body));
      assertEquals(200, response.statusCode(), response.body());
      assertEquals("POST " + body, response.body(), "held, then sent again when refused");
      assertEquals(List.of(), errors.lines());
    } finally {
      System.clearProperty("gateway.held.bodies.bytes");
    }
  }

  /**
   * An HTTP/2 client's body shorter or longer than its content-length, while the gateway reads it whole: the stream
   * fails (RFC 9113 §8.1.1: malformed), nothing reaches the backend, each request is counted once, nothing logged.
   */
  @Test
  void anHttp2BodyNotOfItsContentLengthIsNotSent() throws Exception {
    RefusingBackend backend = new RefusingBackend(0, false);
    try (LoggedErrors errors = new LoggedErrors()) {
      gateway("", backend);
      io.vertx.core.http.HttpClient h2 = vertx.createHttpClient(new io.vertx.core.http.HttpClientOptions()
          .setProtocolVersion(io.vertx.core.http.HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false));
      for (int declared : new int[] {10, 3}) {
        java.util.concurrent.CompletableFuture<String> outcome = new java.util.concurrent.CompletableFuture<>();
        h2.request(io.vertx.core.http.HttpMethod.POST, gateway.port(), "127.0.0.1", "/app/orders")
            .compose(request -> {
              request.exceptionHandler(err -> outcome.complete("failed: " + err));
              request.response().onComplete(ar -> {
                if (ar.failed()) {
                  outcome.complete("failed: " + ar.cause());
                } else {
                  ar.result().body().onComplete(b -> outcome.complete(ar.result().statusCode() + " "
                      + (b.succeeded() ? b.result() : b.cause())));
                }
              });
              return request.putHeader("content-length", Integer.toString(declared)).end("12345");
            });
        String got = outcome.get(10, TimeUnit.SECONDS);
        assertTrue(got.startsWith("failed") || got.startsWith("400"), got);
      }
      Thread.sleep(300);
      assertEquals(0, backend.streams.get(), "nothing sent");
      assertEquals(List.of(), errors.lines());
    }
  }

  /**
   * The bound counts the heap a held body takes: read whole, it grows by doubling, so a body of 33000 bytes takes
   * 65536. With a bound of 100000, of two such bodies the second streams. Before, their 66000 declared bytes were
   * counted, and 131072 were held.
   */
  @Test
  void heldBodiesAreCountedAsTheHeapTheyTake() throws Exception {
    RefusingBackend backend = new RefusingBackend(0, false);
    System.setProperty("gateway.held.bodies.bytes", "100000");
    try (LoggedErrors errors = new LoggedErrors()) {
      gateway("", backend);
      twoBodiesOneStreamed(backend, 33_000);
      assertEquals(List.of(), errors.lines());
    } finally {
      System.clearProperty("gateway.held.bodies.bytes");
    }
  }
}
