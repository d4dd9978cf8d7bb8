package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.LoggedErrors;
import dev.dockgate.testing.Poll;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Answers streamed with back-pressure and cut when their backend fails. Backends resetting their connection
 * mid-answer while many clients wait: every client is answered at once (a 502 when nothing of the answer left,
 * else a visibly cut body, over HTTP/1.1 and HTTP/2, never a complete-looking one), /stats counts each request
 * once, nothing is logged as an error. A client that stops reading holds its backend back until the idle timeout. A
 * body its backend ends by closing (a FIN, or a reset once all was sent) reaches a slow client whole.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StreamingIT {

  @TempDir
  Path dir;

  /**
   * 20 clients, 5 requests each on new connections, to a backend that writes an answer's head (and for some
   * a part of its body, of a declared length or chunked) and then resets its connection: each client has
   * its 502 or its cut body within 5 s (not after the idle timeout), /stats counts the 100 requests exactly,
   * and no SEVERE line or stack trace is logged for these expected network events.
   */
  @Test
  void backendsResettingMidAnswerUnderLoadCutEachClientAtOnce() throws Exception {
    Vertx vertx = Vertx.vertx();
    NetServer backend = resetting(vertx);
    LoggedErrors errors = new LoggedErrors();
    ExecutorService clients = Executors.newFixedThreadPool(20);
    try (GatewayHarness gateway = new GatewayHarness(dir, routedTo(backend), 2)) {
      String[] paths = {"/head-only", "/length-part", "/chunked-part", "/head-only-chunked"};
      Map<String, AtomicInteger> outcomes = new ConcurrentHashMap<>();
      AtomicInteger made = new AtomicInteger();
      List<Future<?>> done = new java.util.ArrayList<>();
      for (int c = 0; c < 20; c++) {
        int client = c;
        done.add(clients.submit(() -> {
          for (int i = 0; i < 5; i++) {
            String path = paths[(client + i) % paths.length];
            made.incrementAndGet();
            String outcome = path + " " + fetch(gateway.port(), path);
            outcomes.computeIfAbsent(outcome, k -> new AtomicInteger()).incrementAndGet();
          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get(50, TimeUnit.SECONDS);
      }
      for (String outcome : outcomes.keySet()) {
        assertTrue(outcome.endsWith(" 502") || outcome.endsWith(" cut"),
            "every client is answered 502 or sees its answer cut, at once: " + outcomes);
      }
      Poll.until(Duration.ofSeconds(5), "/stats counts the " + made.get() + " requests: " + outcomes,
          () -> gateway.statsTotal() == made.get());
      assertEquals(made.get(), gateway.statsTotal(), "each request counted once");
      assertEquals(List.of(), errors.lines(), "expected network events are not logged as errors");
    } finally {
      clients.shutdownNow();
      errors.close();
      vertx.close();
    }
  }

  /**
   * Over HTTP/2 an answer without a length ends with its stream: a backend reset mid-body must reach the client
   * as a stream error, not as RST_STREAM NO_ERROR, which RFC 9113 (8.1) lets a client take for a normal end (curl
   * then keeps 64 KiB of the body as the whole answer, exit status 0). Ten h2c streams, chunked and of a
   * declared length, each cut with INTERNAL_ERROR; counted once each.
   */
  @Test
  void anAnswerCutByItsBackendIsAStreamErrorOverHttp2() throws Exception {
    Vertx vertx = Vertx.vertx();
    NetServer backend = resetting(vertx);
    try (GatewayHarness gateway = new GatewayHarness(dir, "  h2c: true\n", routedTo(backend), 1)) {
      io.vertx.core.http.HttpClient client = vertx.createHttpClient(new io.vertx.core.http.HttpClientOptions()
          .setProtocolVersion(io.vertx.core.http.HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false));
      List<String> ends = new java.util.ArrayList<>();
      for (int i = 0; i < 10; i++) {
        String path = i % 2 == 0 ? "/chunked-part" : "/length-part";
        java.util.concurrent.CompletableFuture<String> end = new java.util.concurrent.CompletableFuture<>();
        client.request(io.vertx.core.http.HttpMethod.GET, gateway.port(), "127.0.0.1", path)
            // the handlers set in the callback that sends (see TlsIT.send): an answer read first would lose its end
            .compose(req -> req.send().onSuccess(response -> {
              long[] got = new long[1];
              response.handler(chunk -> got[0] += chunk.length());
              response.exceptionHandler(err -> end.complete(response.statusCode() + " after " + got[0] + ": "
                  + (err instanceof io.vertx.core.http.StreamResetException reset ? "reset " + reset.getCode() : err)));
              response.endHandler(v -> end.complete(response.statusCode() + " after " + got[0] + ": ended"));
            }))
            .onFailure(end::completeExceptionally);
        ends.add(path + " " + end.get(10, TimeUnit.SECONDS));
      }
      for (String end : ends) {
        // Cut once relayed: reset with INTERNAL_ERROR; the reset seen before anything left (the transport may hand
        // the bytes and the reset over together): a whole 502 answer. Never a 200 that ends as if complete.
        assertTrue(end.endsWith("reset 2") || end.contains(" 502 after ") && end.endsWith(": ended"),
            "a cut answer is reset with INTERNAL_ERROR (2), or answered 502 before anything left: " + ends);
      }
      Poll.until(Duration.ofSeconds(5), "/stats counts the 10 streams", () -> gateway.statsTotal() == 10);
    } finally {
      vertx.close();
    }
  }

  /**
   * A client that reads 1 MiB of a 1 GiB answer and then stops reading, its connection left open: the gateway
   * stops reading the backend (what the backend could write stays within the sockets' buffers and a little
   * more, and stops growing), and after {@code idle_timeout_ms} it closes the client's connection and the
   * backend's, and counts the request once. The bytes read before the stall are the backend's, in order.
   */
  @Test
  void aClientThatStopsReadingHoldsTheBackendBackUntilTheIdleTimeout() throws Exception {
    Vertx vertx = Vertx.vertx();
    java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong();
    java.util.concurrent.atomic.AtomicBoolean backendClosed = new java.util.concurrent.atomic.AtomicBoolean();
    NetServer backend = endless(vertx, written, backendClosed);
    try (GatewayHarness gateway = new GatewayHarness(dir, "  idle_timeout_ms: 2000\n", """
          docker: {enabled: false}
          routes:
            - {path_prefix: /, backend: big}
          backends:
            - {name: big, targets: ["http://127.0.0.1:%d"]}
          """.formatted(backend.actualPort()), 1);
        Socket client = new Socket()) {
      client.setReceiveBufferSize(65536);
      client.connect(new java.net.InetSocketAddress("127.0.0.1", gateway.port()));
      client.getOutputStream().write("GET /big HTTP/1.1\r\nHost: t\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
      InputStream in = client.getInputStream();
      String head = dev.dockgate.testing.RawHttp.readHead(in);
      assertTrue(head.startsWith("HTTP/1.1 200"), head);
      byte[] first = in.readNBytes(1 << 20);
      for (int i = 0; i < first.length; i++) {
        if (first[i] != (byte) i) {
          throw new AssertionError("byte " + i + " of the answer differs from the backend's");
        }
      }
      long stalledAt = System.nanoTime();
      // The client reads no more: the backend is held back once the buffers on the way are full.
      Poll.until(Duration.ofSeconds(1), "the backend held back", () -> {
        long before = written.get();
        sleep(200);
        return written.get() == before;
      });
      long held = written.get();
      assertTrue(held - first.length < 48L << 20, "what the backend could write beyond what the client read"
          + " stays within the buffers on the way: " + (held - first.length) + " bytes");
      Poll.until(Duration.ofSeconds(6), "the backend's connection closed after the idle timeout", backendClosed::get);
      long closedAfterMs = (System.nanoTime() - stalledAt) / 1_000_000;
      assertTrue(closedAfterMs >= 1500, "not before the idle timeout: " + closedAfterMs + " ms");
      Poll.until(Duration.ofSeconds(5), "the request counted", () -> gateway.statsTotal() == 1);
      sleep(300);
      assertEquals(1, gateway.statsTotal(), "counted once");
      System.out.println("stalled client: backend wrote " + held + " bytes for " + first.length + " read; closed "
          + closedAfterMs + " ms after the stall");
    } finally {
      vertx.close();
    }
  }

  /**
   * Over HTTP/2 a client that stops reading one stream while its connection stays busy (a request every 300 ms
   * on other streams, so the connection's idle timeout never comes): after {@code idle_timeout_ms} of taking
   * nothing the stalled stream is reset and its backend connection closed, the other streams are answered
   * throughout, and each request is counted once. The stream and its backend connection were held for as long
   * as the client kept its connection alive.
   */
  @Test
  void anHttp2StreamWhoseClientStopsReadingIsCutAfterTheIdleTimeoutWhileItsConnectionLivesOn() throws Exception {
    Vertx vertx = Vertx.vertx();
    java.util.concurrent.atomic.AtomicBoolean backendClosed = new java.util.concurrent.atomic.AtomicBoolean();
    NetServer backend = endless(vertx, new java.util.concurrent.atomic.AtomicLong(), backendClosed);
    io.vertx.core.http.HttpServer small = vertx.createHttpServer().requestHandler(req -> req.response().end("small"))
        .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    try (GatewayHarness gateway = new GatewayHarness(dir, "  idle_timeout_ms: 2000\n  h2c: true\n", """
          docker: {enabled: false}
          routes:
            - {path_prefix: /big, backend: big}
            - {path_prefix: /small, backend: small}
          backends:
            - {name: big, targets: ["http://127.0.0.1:%d"]}
            - {name: small, targets: ["http://127.0.0.1:%d"]}
          """.formatted(backend.actualPort(), small.actualPort()), 1)) {
      io.vertx.core.http.HttpClient client = vertx.createHttpClient(new io.vertx.core.http.HttpClientOptions()
          .setProtocolVersion(io.vertx.core.http.HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false)
          // As browsers and nghttp2 do, the connection's window is granted apart from each stream's: the stalled
          // stream's window closes, the connection's stays open to the others.
          .setHttp2ConnectionWindowSize(64 << 20),
          new io.vertx.core.http.PoolOptions().setHttp2MaxSize(1));
      java.util.concurrent.CompletableFuture<String> stalled = new java.util.concurrent.CompletableFuture<>();
      long[] got = new long[1];
      client.request(io.vertx.core.http.HttpMethod.GET, gateway.port(), "127.0.0.1", "/big")
          .compose(req -> req.send().onSuccess(response -> { // the handlers set in the callback that sends
            response.handler(chunk -> {
              got[0] += chunk.length();
              if (got[0] >= 1 << 20) {
                response.pause(); // reads no more, and grants the stream no more window
              }
            });
            response.exceptionHandler(err -> stalled.complete(
                err instanceof io.vertx.core.http.StreamResetException reset ? "reset " + reset.getCode() : err.toString()));
            response.endHandler(v -> stalled.complete("ended"));
          }))
          .onFailure(stalled::completeExceptionally);
      long start = System.nanoTime();
      int others = 0;
      while (!stalled.isDone() && System.nanoTime() - start < 8_000_000_000L) {
        String answer = client.request(io.vertx.core.http.HttpMethod.GET, gateway.port(), "127.0.0.1", "/small")
            .compose(r -> r.send().compose(io.vertx.core.http.HttpClientResponse::body)).map(Buffer::toString)
            .toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertEquals("small", answer, "the connection's other streams are answered throughout");
        others++;
        sleep(300);
      }
      assertEquals("reset 2", stalled.getNow("still open after " + (System.nanoTime() - start) / 1_000_000 + " ms"),
          "the stalled stream is cut (INTERNAL_ERROR) once it took nothing for idle_timeout_ms");
      long cutAfterMs = (System.nanoTime() - start) / 1_000_000;
      assertTrue(cutAfterMs >= 1500, "not before the idle timeout: " + cutAfterMs + " ms");
      Poll.until(Duration.ofSeconds(3), "the backend's connection closed", backendClosed::get);
      int expected = others + 1;
      Poll.until(Duration.ofSeconds(5), "every request counted", () -> gateway.statsTotal() == expected);
      System.out.println("stalled h2 stream: cut " + cutAfterMs + " ms after it began, " + others
          + " other requests on its connection meanwhile");
    } finally {
      vertx.close();
    }
  }

  /**
   * An HTTP/2 answer of 100000 bytes to a client whose window (65535, the default) holds the end back: the client takes
   * nothing for 700 ms, then opens its windows and reads the rest. The traffic event (here its access-log line) counts
   * the 100000 bytes the client got and the time until it got them, as nginx logs an answer once its last byte left.
   * Before, the event was published when the gateway handed the end to Vert.x, with the bytes flow control had let
   * out by then (67413) and the latency of that moment (16 ms).
   */
  @Test
  void anHttp2AnswerHeldBackByItsClientsWindowIsCountedOnceItLeft() throws Exception {
    try (Window w = new Window(dir, 60_000); Http2FloodIT.Connection c = w.request()) {
      w.windowFull(c);
      sleep(700);
      assertEquals(65535, w.received(c), "the stream's window let 65535 bytes out: " + c.frames());
      assertTrue(Http2FloodIT.lines(w.log).isEmpty(), "not counted while its end waits: " + Http2FloodIT.lines(w.log));
      ByteArrayOutputStream open = new ByteArrayOutputStream();
      dev.dockgate.testing.RawHttp2.frame(open, dev.dockgate.testing.RawHttp2.WINDOW_UPDATE, 0, 0,
          dev.dockgate.testing.RawHttp2.increment(1 << 20));
      dev.dockgate.testing.RawHttp2.frame(open, dev.dockgate.testing.RawHttp2.WINDOW_UPDATE, 0, 1,
          dev.dockgate.testing.RawHttp2.increment(1 << 20));
      c.send(open);
      Poll.until(Duration.ofSeconds(5), "the answer's end; " + c.frames(), () -> c.any(f -> f[0] == 0 && f[1] == 1 && (f[2] & 1) != 0));
      assertEquals(Window.SIZE, w.received(c));
      Poll.until(Duration.ofSeconds(5), "its line logged", () -> Http2FloodIT.lines(w.log).size() == 1);
      io.vertx.core.json.JsonObject line = new io.vertx.core.json.JsonObject(Http2FloodIT.lines(w.log).get(0));
      assertEquals(200, line.getInteger("status"), line.encode());
      assertEquals(Window.SIZE, line.getLong("bytes"), "the bytes the client got: " + line.encode());
      assertTrue(line.getDouble("latency_ms") >= 650, "until its last byte left: " + line.encode());
      assertEquals(1, w.gateway.statsTotal());
    }
  }

  /**
   * The same answer to a client that never opens its window: its stream is reset once it took nothing for
   * {@code idle_timeout_ms} (1 s), as a stream stalled before its answer's end is, and counted then with the bytes
   * that left. Before, the stream stayed open for as long as the connection (a client's PINGs keep it), its rest held
   * in the gateway, because the answer's end had been handed to Vert.x.
   */
  @Test
  void anHttp2StreamStalledOnItsAnswersEndIsCutAfterTheIdleTimeout() throws Exception {
    try (Window w = new Window(dir, 1_000); Http2FloodIT.Connection c = w.request()) {
      w.windowFull(c);
      long start = System.nanoTime();
      Poll.until(Duration.ofSeconds(6), "the stalled stream reset",
          () -> c.any(f -> f[0] == dev.dockgate.testing.RawHttp2.RST_STREAM && f[1] == 1));
      long cutAfterMs = (System.nanoTime() - start) / 1_000_000;
      assertTrue(cutAfterMs >= 800, "not before the idle timeout: " + cutAfterMs + " ms");
      assertEquals(65535, w.received(c));
      Poll.until(Duration.ofSeconds(5), "its line logged", () -> Http2FloodIT.lines(w.log).size() == 1);
      io.vertx.core.json.JsonObject line = new io.vertx.core.json.JsonObject(Http2FloodIT.lines(w.log).get(0));
      assertEquals(200, line.getInteger("status"), "the status it was sent: " + line.encode());
      assertTrue(line.getLong("bytes") >= 65535 && line.getLong("bytes") < Window.SIZE, line.encode());
      assertTrue(line.getDouble("latency_ms") >= 900, line.encode());
      assertEquals(1, w.gateway.statsTotal());
    }
  }

  /**
   * A client that leaves while its answer's end waits for its window (idle timeout 60 s, far off), by resetting its
   * stream or by closing its connection: the request is counted at once, and once, with the bytes that left.
   */
  @Test
  void anHttp2ClientLeavingWhileItsAnswersEndIsHeldIsCountedAtOnce() throws Exception {
    for (boolean reset : new boolean[] {true, false}) {
      try (Window w = new Window(java.nio.file.Files.createDirectories(dir.resolve("reset-" + reset)), 60_000);
          Http2FloodIT.Connection c = w.request()) {
        w.windowFull(c);
        if (reset) {
          w.reset(c);
        } else {
          c.socket.close();
        }
        io.vertx.core.json.JsonObject line = w.line();
        assertEquals(200, line.getInteger("status"), "the status it was sent: " + line.encode());
        assertTrue(line.getLong("bytes") >= 65535 && line.getLong("bytes") < Window.SIZE, line.encode());
        assertEquals(1, w.gateway.statsTotal());
        sleep(300);
        assertEquals(1, Http2FloodIT.lines(w.log).size(), "counted once: " + Http2FloodIT.lines(w.log));
      }
    }
  }

  /**
   * A client that opens its window by all of the answer but its last byte, then takes nothing more while its PINGs keep
   * the connection: the gateway handed the end to the connection meanwhile (Netty holds the last byte for the window),
   * where no reset reaches it; the request is counted once the idle timeout finds it so, with the bytes handed. Before,
   * the watch of the held end tried to reset the stream, which Vert.x refuses once the end is handed, and nothing
   * counted the request for as long as the connection lived.
   */
  @Test
  void anHttp2AnswerWhoseHeldEndWasHandedOnIsCountedAtTheIdleTimeout() throws Exception {
    try (Window w = new Window(dir, 1_000); Http2FloodIT.Connection c = w.request()) {
      w.windowFull(c);
      ByteArrayOutputStream open = new ByteArrayOutputStream();
      int allButOne = Window.SIZE - 65535 - 1;
      dev.dockgate.testing.RawHttp2.frame(open, dev.dockgate.testing.RawHttp2.WINDOW_UPDATE, 0, 0,
          dev.dockgate.testing.RawHttp2.increment(allButOne));
      dev.dockgate.testing.RawHttp2.frame(open, dev.dockgate.testing.RawHttp2.WINDOW_UPDATE, 0, 1,
          dev.dockgate.testing.RawHttp2.increment(allButOne));
      c.send(open);
      Poll.until(Duration.ofSeconds(5), "all but the last byte", () -> w.received(c) == Window.SIZE - 1);
      long start = System.nanoTime();
      while (Http2FloodIT.lines(w.log).isEmpty() && System.nanoTime() - start < 6_000_000_000L) {
        ByteArrayOutputStream ping = new ByteArrayOutputStream();
        dev.dockgate.testing.RawHttp2.frame(ping, dev.dockgate.testing.RawHttp2.PING, 0, 0, new byte[8]);
        c.send(ping); // the connection lives on
        sleep(200);
      }
      assertEquals(1, Http2FloodIT.lines(w.log).size(), "counted within the idle timeouts; " + c.frames());
      io.vertx.core.json.JsonObject line = new io.vertx.core.json.JsonObject(Http2FloodIT.lines(w.log).get(0));
      assertEquals(200, line.getInteger("status"), line.encode());
      assertEquals(Window.SIZE, line.getLong("bytes"), "the bytes handed to the connection: " + line.encode());
      assertEquals(1, w.gateway.statsTotal());
    }
  }

  /**
   * A gRPC call whose answer's end is held by its client's window and then cut, by the gateway after the idle timeout
   * (RST_STREAM INTERNAL_ERROR, which its client reports as INTERNAL) or by the client itself (CANCELLED): its traffic
   * event carries that status, not a success. Before, it said the OK its backend's trailers held (which never left),
   * and /stats counted the call a success.
   */
  @Test
  void aGrpcCallWhoseHeldEndIsCutIsNoSuccess() throws Exception {
    try (Window w = new Window(dir, 1_000, "http2"); Http2FloodIT.Connection c = w.request(Window.GRPC)) {
      w.windowFull(c);
      Poll.until(Duration.ofSeconds(6), "the stalled stream reset",
          () -> c.any(f -> f[0] == dev.dockgate.testing.RawHttp2.RST_STREAM && f[1] == 1));
      io.vertx.core.json.JsonObject line = w.line();
      assertEquals(13, line.getInteger("grpc_status", -1), "INTERNAL, as its client saw the cut: " + line.encode());
    }
    try (Window w = new Window(java.nio.file.Files.createDirectories(dir.resolve("cancelled")), 60_000, "http2");
        Http2FloodIT.Connection c = w.request(Window.GRPC)) {
      w.windowFull(c);
      w.reset(c);
      io.vertx.core.json.JsonObject line = w.line();
      assertEquals(1, line.getInteger("grpc_status", -1), "CANCELLED: its client left: " + line.encode());
    }
  }

  /** A gateway (h2c) in front of a backend answering {@link #SIZE} bytes of a declared length, and its access log. */
  private static final class Window implements AutoCloseable {
    static final int SIZE = 100_000;
    final Vertx vertx = Vertx.vertx();
    final Path log;
    final GatewayHarness gateway;

    Window(Path dir, long idleTimeoutMs) throws Exception {
      this(dir, idleTimeoutMs, "http1");
    }

    /** {@code protocol}: the backend's (http2: a gRPC call's answer ends with grpc-status 0 in its trailers). */
    Window(Path dir, long idleTimeoutMs, String protocol) throws Exception {
      io.vertx.core.http.HttpServer backend = vertx.createHttpServer()
          .requestHandler(req -> {
            String type = req.getHeader("content-type");
            if (type != null) {
              req.response().putHeader("content-type", type).putTrailer("grpc-status", "0"); // a gRPC call's answer
            }
            req.response().end(Buffer.buffer(new byte[SIZE]));
          })
          .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      log = dir.resolve("access.json");
      gateway = new GatewayHarness(dir, "  h2c: true\n  idle_timeout_ms: " + idleTimeoutMs + "\n", """
          docker: {enabled: false}
          access_log: {enabled: true, format: json, path: "%s"}
          routes:
            - {path_prefix: /big, backend: big}
          backends:
            - {name: big, protocol: %s, targets: ["http://127.0.0.1:%d"]}
          """.formatted(log, protocol, backend.actualPort()), 1);
    }

    /** A raw h2c connection (default windows, none ever opened) asking for the answer on stream 1. */
    Http2FloodIT.Connection request() throws IOException {
      return request(new String[] {"GET", "/big"});
    }

    /** A gRPC call's head (its answer a gRPC one, of the same size). */
    static final String[] GRPC = {"POST", "/big", "content-type", "application/grpc", "te", "trailers"};

    /** The same with {@code head}: method, path, then further fields, name then value. */
    Http2FloodIT.Connection request(String[] head) throws IOException {
      ByteArrayOutputStream get = new ByteArrayOutputStream();
      dev.dockgate.testing.RawHttp2.frame(get, dev.dockgate.testing.RawHttp2.HEADERS, 0x5, 1,
          dev.dockgate.testing.RawHttp2.headers(head[0], head[1], java.util.Arrays.copyOfRange(head, 2, head.length)));
      Http2FloodIT.Connection c = new Http2FloodIT.Connection(gateway.port(), new byte[0]);
      c.send(get);
      return c;
    }

    /** The client resets stream 1 (CANCEL). */
    void reset(Http2FloodIT.Connection c) throws IOException {
      ByteArrayOutputStream reset = new ByteArrayOutputStream();
      dev.dockgate.testing.RawHttp2.frame(reset, dev.dockgate.testing.RawHttp2.RST_STREAM, 0, 1, new byte[] {0, 0, 0, 8});
      c.send(reset);
    }

    /** The request's access-log line, once logged (within 5 s). */
    io.vertx.core.json.JsonObject line() {
      Poll.until(Duration.ofSeconds(5), "its line logged", () -> Http2FloodIT.lines(log).size() == 1);
      return new io.vertx.core.json.JsonObject(Http2FloodIT.lines(log).get(0));
    }

    /** Waits until the stream's window is used up: 65535 bytes of the answer in (the first may take a cold JVM 0.5 s). */
    void windowFull(Http2FloodIT.Connection c) {
      Poll.until(Duration.ofSeconds(10), "the window's 65535 bytes", () -> received(c) == 65535);
    }

    /** The DATA bytes stream 1 got so far. */
    long received(Http2FloodIT.Connection c) {
      synchronized (c.seen) {
        return c.seen.stream().filter(f -> f[0] == 0 && f[1] == 1).mapToLong(f -> f[3]).sum();
      }
    }

    @Override
    public void close() {
      gateway.close();
      vertx.close();
    }
  }

  /**
   * An event stream (Server-Sent Events) whose backend sends its head at once and its first event 1.5 s later, over
   * HTTP/1.1 and over h2c: the client has the head (200, {@code text/event-stream}) before that event, as EventSource
   * opens on the head, then the event and the stream's end; counted once each. Before, the head waited for the first
   * event (1.5 s), and a stream whose first event came after {@code idle_timeout_ms} reached its client as nothing,
   * the connection closed by the idle timeout and logged 499.
   */
  @Test
  void anEventStreamsHeadReachesTheClientBeforeItsFirstEvent() throws Exception {
    Vertx vertx = Vertx.vertx();
    NetServer backend = vertx.createNetServer(new NetServerOptions().setHost("127.0.0.1").setPort(0))
        .connectHandler(socket -> {
          StringBuilder pending = new StringBuilder();
          socket.handler(bytes -> {
            pending.append(bytes.toString(StandardCharsets.ISO_8859_1));
            if (pending.indexOf("\r\n\r\n") < 0) {
              return;
            }
            pending.setLength(0); // a GET: its head alone; the connection may carry the next one
            socket.write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n");
            String event = "data: first\n\n";
            vertx.setTimer(1500, id -> socket.write(Integer.toHexString(event.length()) + "\r\n" + event + "\r\n0\r\n\r\n"));
          });
        })
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    try (GatewayHarness gateway = new GatewayHarness(dir, "  h2c: true\n", """
          docker: {enabled: false}
          routes:
            - {path_prefix: /, backend: events}
          backends:
            - {name: events, targets: ["http://127.0.0.1:%d"]}
          """.formatted(backend.actualPort()), 1);
        Socket client = new Socket("127.0.0.1", gateway.port())) {
      client.setSoTimeout(5000);
      long start = System.nanoTime();
      client.getOutputStream().write("GET /events HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n"
          .getBytes(StandardCharsets.ISO_8859_1));
      InputStream in = client.getInputStream();
      String head = dev.dockgate.testing.RawHttp.readHead(in);
      long headMs = (System.nanoTime() - start) / 1_000_000;
      assertTrue(head.startsWith("HTTP/1.1 200"), head);
      assertTrue(head.toLowerCase(java.util.Locale.ROOT).contains("content-type: text/event-stream"), head);
      assertTrue(headMs < 1000, "HTTP/1.1: the head arrives before the first event (1.5 s): after " + headMs + " ms");
      String expected = "d\r\ndata: first\n\n\r\n0\r\n\r\n"; // one chunk of 13 bytes, then the last chunk
      String rest = new String(in.readNBytes(expected.length()), StandardCharsets.ISO_8859_1);
      assertEquals(expected, rest, "the event, then the stream's end");

      io.vertx.core.http.HttpClient h2 = vertx.createHttpClient(new io.vertx.core.http.HttpClientOptions()
          .setProtocolVersion(io.vertx.core.http.HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false));
      java.util.concurrent.CompletableFuture<Long> h2Head = new java.util.concurrent.CompletableFuture<>();
      java.util.concurrent.CompletableFuture<String> h2Body = new java.util.concurrent.CompletableFuture<>();
      long h2Start = System.nanoTime();
      h2.request(io.vertx.core.http.HttpMethod.GET, gateway.port(), "127.0.0.1", "/events")
          .compose(req -> req.send().onSuccess(response -> { // the handlers set in the callback that sends
            h2Head.complete((System.nanoTime() - h2Start) / 1_000_000);
            response.body().onComplete(body -> {
              if (body.succeeded()) {
                h2Body.complete(body.result().toString());
              } else {
                h2Body.completeExceptionally(body.cause());
              }
            });
          }))
          .onFailure(h2Head::completeExceptionally);
      long h2HeadMs = h2Head.get(5, TimeUnit.SECONDS);
      assertTrue(h2HeadMs < 1000, "HTTP/2: the head arrives before the first event (1.5 s): after " + h2HeadMs + " ms");
      assertEquals("data: first\n\n", h2Body.get(5, TimeUnit.SECONDS));
      Poll.until(Duration.ofSeconds(5), "both streams counted", () -> gateway.statsTotal() == 2);
      sleep(300);
      assertEquals(2, gateway.stats().getJsonObject("requests_count").getLong("success"), "both successes, counted once");
      System.out.println("event stream: head after " + headMs + " ms (HTTP/1.1), " + h2HeadMs + " ms (h2c)");
    } finally {
      vertx.close();
    }
  }

  /**
   * A backend answers 2 MiB without a length (its close ends the body), all written at once, and closes: with a FIN,
   * and with a reset once every byte has reached the gateway's kernel (the backend's send queue empty). The client reads
   * slowly (8 KiB every 10 ms, a 16 KiB receive buffer), so the gateway holds the backend connection back (paused)
   * while the close comes: the client still gets every byte, in order, and a complete answer (its end, chunked or
   * by the close; after a reset, its bytes all there). The gateway's connection closes, on io_uring, with reads Vert.x
   * holds not yet handed on: they still reach the client as it reads (released at the close, they were cut, 123 KiB).
   */
  @Test
  void aBodyEndedByItsBackendsCloseReachesASlowClientWhole() throws Exception {
    readUntilClose(false);
  }

  /** As above, the backend resetting its connection once the gateway's kernel has acknowledged every byte. */
  @Test
  void aBodyFollowedByItsBackendsResetReachesASlowClientWhole() throws Exception {
    readUntilClose(true);
  }

  private void readUntilClose(boolean reset) throws Exception {
    byte[] body = new byte[2 << 20];
    for (int i = 0; i < body.length; i++) {
      body[i] = (byte) (i * 31 + (i >> 16));
    }
    java.util.concurrent.CompletableFuture<String> backendDone = new java.util.concurrent.CompletableFuture<>();
    try (java.net.ServerSocket server = new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
      Thread backend = new Thread(() -> {
        try (Socket socket = server.accept()) {
          dev.dockgate.testing.RawHttp.readHead(socket.getInputStream());
          java.io.OutputStream out = socket.getOutputStream();
          out.write("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
              .getBytes(StandardCharsets.ISO_8859_1));
          out.write(body);
          out.flush();
          if (reset) {
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (unacknowledged(socket) != 0) { // the rest still in this kernel would be dropped by the reset
              if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the gateway never took the whole body");
              }
              Thread.sleep(5);
            }
            socket.setSoLinger(true, 0);
          }
          backendDone.complete(reset ? "reset" : "closed");
        } catch (Exception e) {
          backendDone.completeExceptionally(e);
        }
      });
      backend.setDaemon(true);
      backend.start();
      try (GatewayHarness gateway = new GatewayHarness(dir, """
            docker: {enabled: false}
            routes:
              - {path_prefix: /, backend: plain}
            backends:
              - {name: plain, targets: ["http://127.0.0.1:%d"]}
            """.formatted(server.getLocalPort()), 1);
          Socket client = new Socket()) {
        client.setReceiveBufferSize(16 * 1024);
        client.connect(new java.net.InetSocketAddress("127.0.0.1", gateway.port()));
        client.setSoTimeout(15_000);
        client.getOutputStream().write("GET /big HTTP/1.1\r\nHost: t\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        InputStream in = client.getInputStream();
        String head = dev.dockgate.testing.RawHttp.readHead(in);
        assertTrue(head.startsWith("HTTP/1.1 200"), head);
        boolean chunked = head.toLowerCase(java.util.Locale.ROOT).contains("transfer-encoding: chunked");
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        byte[] into = new byte[8 * 1024];
        String end = "the connection closed";
        try {
          for (int n; (n = in.read(into)) > 0; ) {
            got.write(into, 0, n);
            if (chunked && endsWithLastChunk(got.toByteArray())) {
              end = "its last chunk";
              break;
            }
            Thread.sleep(10);
          }
        } catch (IOException e) {
          end = "a reset: " + e;
        }
        String how = backendDone.get(20, TimeUnit.SECONDS);
        byte[] raw = got.toByteArray();
        byte[] bytes = chunked ? dechunk(raw) : raw;
        int same = 0;
        while (same < Math.min(bytes.length, body.length) && bytes[same] == body[same]) {
          same++;
        }
        String what = "backend " + how + ", " + (chunked ? "chunked" : "close-delimited") + " toward the client, "
            + end + ": " + bytes.length + " body bytes of " + body.length + ", the first " + same + " the backend's";
        System.out.println("read until close: " + what);
        assertEquals(body.length, same, what);
        assertEquals(body.length, bytes.length, what);
        if (chunked && !reset) { // a reset is no end: the answer may be cut toward the client, its bytes all there
          assertTrue(endsWithLastChunk(raw), "the answer's end (its last chunk): " + what);
        }
      }
    }
  }

  /** The bytes {@code socket} has sent and its peer's kernel not yet acknowledged (or not sent yet), as Linux shows. */
  private static long unacknowledged(Socket socket) throws IOException {
    String local = ":%04X".formatted(socket.getLocalPort());
    String remote = ":%04X".formatted(socket.getPort());
    for (String table : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
      for (String line : java.nio.file.Files.readAllLines(Path.of(table))) {
        String[] field = line.trim().split("\\s+"); // sl, local, remote, state, tx_queue:rx_queue...
        if (field.length > 4 && field[1].endsWith(local) && field[2].endsWith(remote)) {
          return Long.parseLong(field[4].substring(0, field[4].indexOf(':')), 16);
        }
      }
    }
    return -1;
  }

  private static byte[] dechunk(byte[] raw) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int at = 0;
    while (at < raw.length) {
      int eol = at;
      while (eol + 1 < raw.length && !(raw[eol] == '\r' && raw[eol + 1] == '\n')) {
        eol++;
      }
      if (eol + 1 >= raw.length) {
        break; // a size line cut
      }
      String size = new String(raw, at, eol - at, StandardCharsets.ISO_8859_1).split(";")[0].trim();
      int n = Integer.parseInt(size, 16);
      if (n == 0) {
        break;
      }
      int from = eol + 2;
      out.write(raw, from, Math.min(n, raw.length - from));
      at = from + n + 2;
    }
    return out.toByteArray();
  }

  private static boolean endsWithLastChunk(byte[] raw) {
    String tail = new String(raw, Math.max(0, raw.length - 7), Math.min(7, raw.length), StandardCharsets.ISO_8859_1);
    return tail.endsWith("\r\n0\r\n\r\n") || tail.equals("0\r\n\r\n");
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /**
   * A backend answering any request with a 1 GiB body of a declared length (byte i is {@code (byte) i}) as fast
   * as its connection takes it, counting what it wrote and noting when its connection closes.
   */
  static NetServer endless(Vertx vertx, java.util.concurrent.atomic.AtomicLong written,
      java.util.concurrent.atomic.AtomicBoolean closed) throws Exception {
    byte[] block = new byte[65536];
    for (int i = 0; i < block.length; i++) {
      block[i] = (byte) i;
    }
    Buffer chunk = Buffer.buffer(block);
    return vertx.createNetServer(new NetServerOptions().setHost("127.0.0.1").setPort(0))
        .connectHandler(socket -> {
          socket.closeHandler(v -> closed.set(true));
          socket.handler(bytes -> {
            socket.handler(null);
            socket.write("HTTP/1.1 200 OK\r\nContent-Length: " + (1L << 30) + "\r\n\r\n");
            Runnable[] pump = new Runnable[1];
            pump[0] = () -> {
              while (!socket.writeQueueFull() && written.get() < 1L << 30) {
                socket.write(chunk);
                written.addAndGet(chunk.length());
              }
              socket.drainHandler(v -> pump[0].run());
            };
            pump[0].run();
          });
        })
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** One route to {@code backend}, whose circuit never opens (its 502s are expected). */
  static String routedTo(NetServer backend) {
    return """
        docker: {enabled: false}
        routes:
          - {path_prefix: /, backend: cut}
        backends:
          - name: cut
            targets: ["http://127.0.0.1:%d"]
            circuit_breaker: {max_failures: 1000}
        """.formatted(backend.actualPort());
  }

  /**
   * What a raw HTTP/1.1 client makes of one GET: "502", "cut" (the connection ended before the body's end: a
   * declared length not reached, or no last chunk), "whole" (a complete answer), "empty" (closed without a
   * byte), or "stuck" when nothing ended within 5 s.
   */
  static String fetch(int port, String path) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(5000);
      socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.ISO_8859_1));
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      InputStream in = socket.getInputStream();
      byte[] buffer = new byte[16384];
      try {
        int n;
        while ((n = in.read(buffer)) > 0) {
          got.write(buffer, 0, n);
        }
      } catch (SocketTimeoutException e) {
        return "stuck";
      } catch (IOException reset) {
        // a reset toward the client: what arrived before it is judged
      }
      String text = got.toString(StandardCharsets.ISO_8859_1);
      int end = text.indexOf("\r\n\r\n");
      if (end < 0) {
        return text.isEmpty() ? "empty" : "cut";
      }
      String head = text.substring(0, end).toLowerCase(java.util.Locale.ROOT);
      String body = text.substring(end + 4);
      if (head.startsWith("http/1.1 502")) {
        return "502";
      }
      java.util.regex.Matcher length = java.util.regex.Pattern.compile("\ncontent-length: *(\\d+)").matcher(head);
      if (length.find()) {
        return body.length() < Integer.parseInt(length.group(1)) ? "cut" : "whole";
      }
      return body.endsWith("\r\n0\r\n\r\n") || body.startsWith("0\r\n\r\n") ? "whole" : "cut";
    }
  }

  /**
   * A backend that reads a request head and answers by its path: {@code /head-only} (with a length) and
   * {@code /head-only-chunked} write the head alone, {@code /length-part} and {@code /chunked-part} the head and
   * 64 KiB of a 1 MiB body; then each resets its connection (SO_LINGER 0).
   */
  static NetServer resetting(Vertx vertx) throws Exception {
    byte[] part = new byte[65536];
    java.util.Arrays.fill(part, (byte) 'x');
    return vertx.createNetServer(new NetServerOptions().setHost("127.0.0.1").setPort(0).setSoLinger(0))
        .connectHandler(socket -> {
          StringBuilder pending = new StringBuilder();
          socket.handler(bytes -> {
            pending.append(bytes.toString(StandardCharsets.ISO_8859_1));
            int end = pending.indexOf("\r\n\r\n");
            if (end < 0) {
              return;
            }
            String path = pending.substring(pending.indexOf(" ") + 1, pending.indexOf(" ", pending.indexOf(" ") + 1));
            boolean chunked = path.contains("chunked");
            Buffer answer = Buffer.buffer("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                + (chunked ? "Transfer-Encoding: chunked\r\n\r\n" : "Content-Length: 1048576\r\n\r\n"));
            if (path.endsWith("-part")) {
              if (chunked) {
                answer.appendString(Integer.toHexString(part.length) + "\r\n").appendBytes(part).appendString("\r\n");
              } else {
                answer.appendBytes(part);
              }
            }
            resetAfter(socket, answer);
          });
        })
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static void resetAfter(NetSocket socket, Buffer answer) {
    socket.handler(null);
    socket.write(answer).onComplete(v -> socket.close()); // SO_LINGER 0: a reset
  }
}
