package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.TestCerts;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.PemKeyCertOptions;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Backends as real servers behave, read as nginx reads them: a kept-alive connection the backend closes just as
 * the gateway reuses it (Node's and gunicorn's short keep-alive timeouts).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BackendQuirksIT {

  static final Vertx vertx = Vertx.vertx();

  @TempDir
  Path dir;

  @AfterAll
  static void stopServers() {
    vertx.close();
  }

  /**
   * Calls {@code answer} with each request head read on {@code socket} (a small body, in the head's segment, is
   * skipped); reading stops when it returns false.
   */
  static void onHeads(NetSocket socket, java.util.function.Predicate<String> answer) {
    StringBuilder pending = new StringBuilder();
    socket.handler(bytes -> {
      pending.append(bytes.toString(StandardCharsets.ISO_8859_1));
      int end;
      while ((end = pending.indexOf("\r\n\r\n")) >= 0) {
        String head = pending.substring(0, end);
        pending.delete(0, end + 4);
        pending.delete(0, Math.min(contentLength(head), pending.length()));
        if (!answer.test(head)) {
          return;
        }
      }
    });
  }

  private static int contentLength(String head) {
    for (String line : head.split("\r\n")) {
      if (line.regionMatches(true, 0, "content-length:", 0, 15)) {
        return Integer.parseInt(line.substring(15).trim());
      }
    }
    return 0;
  }

  /**
   * A kept-alive HTTP/1.1 backend that answers the first request of each connection and, on the second, closes
   * that connection without a byte of answer (with a reset when {@code reset}): what a server closing an idle
   * connection does to a request already on its way. Counts the requests it read.
   */
  record ClosingOnReuse(NetServer server, AtomicInteger heads) {

    static ClosingOnReuse start(boolean reset, TestCerts.Pem tls) throws Exception {
      AtomicInteger heads = new AtomicInteger();
      NetServer server = vertx.createNetServer(options(tls).setSoLinger(reset ? 0 : -1))
          .connectHandler(socket -> serve(socket, heads))
          .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      return new ClosingOnReuse(server, heads);
    }

    private static void serve(NetSocket socket, AtomicInteger heads) {
      AtomicInteger onThis = new AtomicInteger();
      onHeads(socket, head -> {
        heads.incrementAndGet();
        if (onThis.incrementAndGet() >= 2) {
          socket.close();
          return false;
        }
        socket.write("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n" + (head.startsWith("HEAD ") ? "" : "ok\n"));
        return true;
      });
    }

    int port() {
      return server.actualPort();
    }
  }

  /** A gateway (one router) with one route, /app, to {@code port}: a long keep-alive, a circuit opening at one failure. */
  GatewayHarness gatewayTo(int port) {
    return gatewayTo(port, null);
  }

  /** The same to an HTTPS backend whose certificate is {@code tls} (checked), or a plain one when null. */
  GatewayHarness gatewayTo(int port, TestCerts.Pem tls) {
    return new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /app, backend: app}
        backends:
          - {name: app, targets: ["%s://127.0.0.1:%d"], keep_alive_timeout_s: 30,%s
             circuit_breaker: {max_failures: 1, reset_timeout_ms: 60000}}
        """.formatted(tls == null ? "http" : "https", port,
        tls == null ? "" : " tls: {ca_file: \"" + tls.cert() + "\"},"), 1);
  }

  /** A test backend's listening options: 127.0.0.1, an ephemeral port, TLS with {@code tls} unless null. */
  static NetServerOptions options(TestCerts.Pem tls) {
    NetServerOptions options = new NetServerOptions().setHost("127.0.0.1").setPort(0);
    if (tls != null) {
      options.setSsl(true).setKeyCertOptions(new PemKeyCertOptions().setCertPath(tls.cert().toString())
          .setKeyPath(tls.key().toString()));
    }
    return options;
  }

  /** Plain HTTP, then HTTPS: the same quirks from a backend behind TLS. */
  TestCerts.Pem[] bothKinds() {
    return new TestCerts.Pem[] {null, TestCerts.selfSigned(dir, "backend")};
  }

  static Map<Integer, Integer> send(GatewayHarness gateway, String method, int n) {
    Map<Integer, Integer> statuses = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      HttpRequest.BodyPublisher body = method.equals("POST") ? HttpRequest.BodyPublishers.ofString("x")
          : HttpRequest.BodyPublishers.noBody();
      statuses.merge(gateway.send(HttpRequest.newBuilder(gateway.uri("/app/" + i)).timeout(Duration.ofSeconds(10))
          .method(method, body).build()).statusCode(), 1, Integer::sum);
    }
    return statuses;
  }

  /**
   * nginx sends a request again when the kept-alive connection it went out on closes before any byte of answer,
   * unless it is a POST, LOCK or PATCH. Each GET here meets such a connection every other time: without retries
   * configured, one instance, a circuit that opens at the first failure.
   */
  @Test
  void aRequestOnAKeptAliveConnectionTheBackendClosesIsSentAgainWhenIdempotent() throws Exception {
    for (TestCerts.Pem tls : bothKinds()) {
      for (boolean reset : new boolean[] {false, true}) {
        closedOnReuse(reset, tls);
      }
    }
  }

  private void closedOnReuse(boolean reset, TestCerts.Pem tls) throws Exception {
    ClosingOnReuse backend = ClosingOnReuse.start(reset, tls);
    try (GatewayHarness gateway = gatewayTo(backend.port(), tls)) {
      String how = (reset ? "reset" : "closed") + (tls == null ? "" : " (HTTPS)");
      assertEquals(Map.of(200, 10), send(gateway, "GET", 10), "GETs on connections " + how + " on reuse");
      assertEquals(Map.of(200, 4), send(gateway, "HEAD", 4), "HEADs on connections " + how + " on reuse");
      assertEquals(Map.of(200, 4), send(gateway, "DELETE", 4), "DELETEs on connections " + how + " on reuse");
      assertEquals(Map.of(200, 18), send(gateway, "GET", 18), "the circuit stayed closed");
      // A POST is not sent twice (nginx answers 502 too): on the reused connection it gets 502, the next one a new
      // connection; and the circuit, which opens at one failure, still does not count it.
      assertEquals(Map.of(200, 1, 502, 1), send(gateway, "POST", 2), "POSTs");
      assertEquals(Map.of(200, 4), send(gateway, "GET", 4), "the circuit stayed closed after the POST's 502");
      io.vertx.core.json.JsonObject counts = gateway.stats().getJsonObject("requests_count");
      assertEquals(10 + 4 + 4 + 18 + 1 + 4, counts.getLong("success"), "/stats: each request counted once");
      assertEquals(1, counts.getLong("error"), "/stats: the POST's 502");
      // 42 requests: the first and the second POST on new connections, the first POST on a reused one only,
      // each of the other 39 on a reused one and then on a new one: never more than twice.
      assertEquals(3 + 2 * 39, backend.heads().get(), "requests the backend read");
    } finally {
      backend.server().close();
    }
  }

  /**
   * A kept-alive backend that sends bytes belonging to no answer: a body after a 204, after a 304 or a HEAD answer
   * of a declared length, and bytes written after a complete answer, while the connection idles. Other requests:
   * 200 "ok".
   */
  /** Stray writes of the "later" case that the backend's socket has taken. */
  static final AtomicInteger STRAY_WRITTEN = new AtomicInteger();

  static NetServer strayBytes(TestCerts.Pem tls) throws Exception {
    return vertx.createNetServer(options(tls))
        .connectHandler(socket -> onHeads(socket, head -> {
          switch (head.split(" ")[1]) {
            case "/app/204" -> socket.write("HTTP/1.1 204 No Content\r\n\r\n{}");
            case "/app/304" -> socket.write("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nhello");
            case "/app/head" -> socket.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
            case "/app/later" -> {
              socket.write("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
              vertx.setTimer(100, id -> socket.write("{}").onComplete(ar -> STRAY_WRITTEN.incrementAndGet()));
            }
            default -> socket.write("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
          }
          return true;
        }))
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /**
   * Bytes a backend sends beyond an answer's end (a body after a 204, 304 or HEAD answer, or after a complete
   * answer) are no answer to the next request: nginx closes such a connection rather than reuse it. The next
   * request on it used to read them as the start of its answer and get 502, counted against the circuit.
   */
  @Test
  void bytesBeyondAnAnswersEndNeverReachTheNextRequest() throws Exception {
    for (TestCerts.Pem tls : bothKinds()) {
      bytesBeyondAnAnswersEnd(tls);
    }
  }

  private void bytesBeyondAnAnswersEnd(TestCerts.Pem tls) throws Exception {
    NetServer backend = strayBytes(tls);
    STRAY_WRITTEN.set(0);
    try (GatewayHarness gateway = gatewayTo(backend.actualPort(), tls)) {
      for (String quirk : new String[] {"204", "304", "head", "later"}) {
        for (int i = 0; i < 3; i++) {
          HttpRequest.Builder request = HttpRequest.newBuilder(gateway.uri("/app/" + quirk))
              .timeout(Duration.ofSeconds(10));
          if (quirk.equals("head")) {
            request.method("HEAD", HttpRequest.BodyPublishers.noBody());
          }
          int expected = quirk.equals("204") ? 204 : quirk.equals("304") ? 304 : 200;
          String what = quirk + " " + i + (tls == null ? "" : " (HTTPS)");
          assertEquals(expected, gateway.send(request.build()).statusCode(), what);
          if (quirk.equals("later")) {
            int written = i + 1;
            // The stray bytes leave the backend while the connection idles, and have a moment to reach the gateway.
            Poll.until(Duration.ofSeconds(5), "the stray bytes written", () -> STRAY_WRITTEN.get() >= written);
            Thread.sleep(200);
          }
          var next = gateway.get("/app/next");
          assertEquals(200, next.statusCode(), "the request after " + what + ": " + next.body());
          assertEquals("ok\n", next.body());
        }
      }
      io.vertx.core.json.JsonObject counts = gateway.stats().getJsonObject("requests_count");
      assertEquals(0, counts.getLong("error"), "/stats" + (tls == null ? "" : " (HTTPS)") + ": " + counts);
    } finally {
      backend.close();
    }
  }

  /**
   * A backend that closes a kept-alive connection while it idles in the gateway's pool (0.5 s after its answer: its
   * own keep-alive timeout, a restart) has the gateway's side closed at once, not left half-closed (CLOSE_WAIT)
   * until the pool's sweep (every 7.5 s with a 30 s keep-alive), and the next request gets a new connection.
   */
  @Test
  void aConnectionTheBackendClosesWhileItIdlesIsClosedAtOnce() throws Exception {
    for (TestCerts.Pem tls : bothKinds()) {
      NetServer backend = vertx.createNetServer(options(tls))
          .connectHandler(socket -> onHeads(socket, head -> {
            socket.write("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
            vertx.setTimer(500, id -> socket.close());
            return true;
          }))
          .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      String kind = tls == null ? "" : " (HTTPS)";
      try (GatewayHarness gateway = gatewayTo(backend.actualPort(), tls)) {
        for (int i = 0; i < 3; i++) {
          assertEquals(200, gateway.get("/app/" + i).statusCode(), "request " + i + kind);
          assertEquals(1, connectionsTo(backend.actualPort()), "the kept-alive connection, seen" + kind);
          Poll.until(Duration.ofSeconds(2), "the gateway's side of the connection closed" + kind,
              () -> closeWaits(backend.actualPort()) == 0 && connectionsTo(backend.actualPort()) == 0);
        }
      } finally {
        backend.close();
      }
    }
  }

  /**
   * An HTTPS backend that ends a kept-alive connection with its close_notify while keeping TCP open (TLS 1.3's
   * half-close; its FIN later or never): the gateway takes no further request there. A POST sent on it used to
   * reach a backend that can no longer answer, and wait for its timeout. And an answer without a length that its
   * backend ends with a close_notify alone arrives whole at once; it waited for the TCP close.
   */
  @Test
  void anHttpsConnectionItsBackendEndedWithCloseNotifyCarriesNoFurtherRequest() throws Exception {
    TestCerts.Pem tls = TestCerts.selfSigned(dir, "backend");
    AtomicInteger heads = new AtomicInteger();
    NetServer backend = vertx.createNetServer(options(tls))
        .connectHandler(socket -> onHeads(socket, head -> {
          heads.incrementAndGet();
          io.netty.handler.ssl.SslHandler tlsHandler = ((io.vertx.core.internal.net.NetSocketInternal) socket)
              .channelHandlerContext().pipeline().get(io.netty.handler.ssl.SslHandler.class);
          if (head.contains(" /app/unbounded ")) { // a body delimited by the end of the backend's output
            socket.write("HTTP/1.1 200 OK\r\n\r\n" + "x".repeat(5000)).onComplete(ar -> tlsHandler.closeOutbound());
            return false;
          }
          socket.write("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
          vertx.setTimer(100, id -> tlsHandler.closeOutbound());
          return true;
        }))
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    try (GatewayHarness gateway = gatewayTo(backend.actualPort(), tls)) {
      for (int i = 0; i < 3; i++) {
        assertEquals(Map.of(200, 1), send(gateway, "POST", 1), "POST " + i);
        Thread.sleep(400); // the close_notify has come
      }
      assertEquals(3, heads.get(), "requests the backend read: each on a new connection");
      long start = System.nanoTime();
      var unbounded = gateway.get("/app/unbounded");
      assertEquals(200, unbounded.statusCode());
      assertEquals("x".repeat(5000), unbounded.body());
      assertTrue(System.nanoTime() - start < 3_000_000_000L, "answered at the close_notify, not at a timeout");
    } finally {
      backend.close();
    }
  }

  /**
   * A connection the gateway gives up on while its backend keeps it open (the backend said {@code Connection: close}
   * and waits for the gateway's FIN, as servers with a lingering close do; it sent bytes beyond the answer's length;
   * its answer was refused, 502) is closed toward the backend, as nginx closes it. On io_uring the gateway's close,
   * made while the answer was being read, used to leave the socket established with no descriptor: the backend never
   * saw a FIN and held every such connection for as long as it kept idle ones (for ever without a timeout).
   */
  @Test
  void aConnectionTheGatewayGivesUpOnIsClosedTowardItsBackend() throws Exception {
    for (TestCerts.Pem tls : bothKinds()) {
      AtomicInteger open = new AtomicInteger();
      NetServer backend = vertx.createNetServer(options(tls))
          .connectHandler(socket -> {
            open.incrementAndGet();
            socket.closeHandler(v -> open.decrementAndGet());
            onHeads(socket, head -> {
              if (head.contains(" /app/close")) {
                socket.write("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nok\n");
              } else if (head.contains(" /app/longer")) {
                socket.write("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\nHTTP/1.1 200 OK\r\n\r\nstray");
              } else {
                socket.write("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "3\r\nok\n\r\n0\r\n\r\n");
              }
              return true;
            });
          })
          .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      String kind = tls == null ? "" : " (HTTPS)";
      try (GatewayHarness gateway = gatewayTo(backend.actualPort(), tls)) {
        // The refused answer last: it opens the circuit (max_failures: 1).
        for (String quirk : new String[] {"close", "close", "longer", "longer", "both"}) {
          var answer = gateway.get("/app/" + quirk);
          assertEquals(quirk.equals("both") ? 502 : 200, answer.statusCode(), quirk + kind + ": " + answer.body());
          Poll.until(Duration.ofSeconds(2), "the backend sees the connection of " + quirk + kind + " closed",
              () -> open.get() == 0);
        }
      } finally {
        backend.close();
      }
    }
  }

  /** This machine's TCP sockets toward 127.0.0.1:{@code port} in CLOSE_WAIT: their peer closed, they did not. */
  static long closeWaits(int port) {
    return sockets(port, "08");
  }

  /** This machine's TCP sockets toward 127.0.0.1:{@code port} still open (ESTABLISHED or CLOSE_WAIT). */
  static long connectionsTo(int port) {
    return sockets(port, "01") + sockets(port, "08");
  }

  private static long sockets(int port, String state) {
    // Netty's native sockets are IPv6 ones, 127.0.0.1 in them IPv4-mapped (/proc/net/tcp6); Java's may be either.
    java.util.Set<String> remote = java.util.Set.of(String.format("0100007F:%04X", port),
        String.format("0000000000000000FFFF00000100007F:%04X", port));
    long count = 0;
    for (String table : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
      try (var lines = java.nio.file.Files.lines(Path.of(table))) {
        count += lines.skip(1).map(String::trim).map(l -> l.split("\\s+"))
            .filter(f -> remote.contains(f[2]) && f[3].equals(state)).count();
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
    return count;
  }

  /**
   * An HTTPS instance that accepts TCP connections and never answers the TLS handshake is unreachable, each try as
   * long as {@code connect_timeout_ms}, and opens its circuit as a refusing one does. The handshake used to hold the
   * pool's slot for 10 s (Vert.x's handshake limit) past the try's end, so with {@code max_connections: 1} the next
   * tries waited for that slot and were "busy", which no circuit counts: it never opened.
   */
  @Test
  void anHttpsInstanceThatNeverAnswersTheHandshakeOpensItsCircuit() throws Exception {
    TestCerts.Pem tls = TestCerts.selfSigned(dir, "backend");
    NetServer silent = vertx.createNetServer(options(null)).connectHandler(socket -> { })
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    try (GatewayHarness gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /app, backend: app}
        backends:
          - {name: app, targets: ["https://127.0.0.1:%d"], tls: {ca_file: "%s"}, connect_timeout_ms: 500,
             max_connections: 1, circuit_breaker: {max_failures: 3, reset_timeout_ms: 60000}}
        """.formatted(silent.actualPort(), tls.cert()), 1)) {
      List<String> answers = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        var answer = gateway.get("/app/" + i);
        answers.add(answer.statusCode() + " " + answer.body().trim());
      }
      assertEquals(List.of("503 backend \"app\" is unreachable", "503 backend \"app\" is unreachable",
          "503 backend \"app\" is unreachable", "503 backend \"app\" is unavailable (circuit open)",
          "503 backend \"app\" is unavailable (circuit open)"), answers);
    } finally {
      silent.close();
    }
  }

  /**
   * A backend that answers {@code size} bytes and closes its connection at once (as Python's http.server, busybox
   * httpd's CGI or any HTTP/1.0 server does): with a Content-Length ({@code /app/length}), or delimited by the close
   * ({@code /app/close}); a chunked one too ({@code /app/chunked}).
   */
  static java.net.ServerSocket closingAfter(int size) throws java.io.IOException {
    java.net.ServerSocket server = new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"));
    byte[] body = new byte[size];
    java.util.Arrays.fill(body, (byte) 'a');
    Thread thread = new Thread(() -> {
      while (!server.isClosed()) {
        try (java.net.Socket c = server.accept()) {
          String head = dev.dockgate.testing.RawHttp.readHead(c.getInputStream());
          java.io.OutputStream out = c.getOutputStream();
          if (head.contains(" /app/chunked ")) {
            out.write(("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + Integer.toHexString(size) + "\r\n")
                .getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.write("\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
          } else {
            out.write(("HTTP/1.1 200 OK\r\n" + (head.contains(" /app/length ") ? "Content-Length: " + size + "\r\n" : "")
                + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body);
          }
          out.flush();
        } catch (java.io.IOException e) {
          // the next connection
        }
      }
    });
    thread.setDaemon(true);
    thread.start();
    return server;
  }

  /**
   * A backend that refuses an upload from its head alone (a 401 or 413 before reading the body, as a Python
   * http.server handler that checks credentials first does) and closes: the body bytes it never read make its kernel
   * reset the connection while the gateway is still writing them. Its answer is in the gateway's receive buffer ahead
   * of the reset (a client that reads after its failed write gets it: 20 times in 20 straight to such a backend), but
   * the failed write closed the connection and the gateway answered 502 (5 uploads in 12 on io_uring, each on epoll;
   * nginx 1.22 answered 502 14 times in 15), each counted against the instance's circuit: then 503, circuit open,
   * for a backend that answered every request. Now the failed write shuts the connection's output only; such a
   * connection is closed once its answer is read, and none is left for the stop to wait for (Vert.x's own close
   * would flush the rest of the upload first, which it never sends).
   */
  @Test
  void anAnswerTheBackendSendsBeforeResettingAnUploadReachesTheClient() throws Exception {
    try (java.net.ServerSocket backend = refusingUploads(); dev.dockgate.testing.GatewayJar gateway =
        new dev.dockgate.testing.GatewayJar(dir, "  drain_delay_ms: 0\n", """
        docker: {enabled: false}
        routes:
          - {path_prefix: /app, backend: app}
        backends:
          - {name: app, targets: ["http://127.0.0.1:%d"], keep_alive_timeout_s: 30,
             circuit_breaker: {max_failures: 1, reset_timeout_ms: 60000}}
        """.formatted(backend.getLocalPort()), 1)) {
      Map<String, Integer> statuses = new TreeMap<>();
      for (int i = 0; i < 10; i++) {
        statuses.merge(upload(gateway.port(), 4 << 20), 1, Integer::sum);
      }
      assertEquals(Map.of("401 no!\n", 10), statuses, "answers to 10 uploads of 4 MiB the backend refused");
      // Each such connection, its output shut by the failed write, is closed once its answer is read: none is left
      // for the stop to wait for (Vert.x's close waited to flush writes such a connection never sends).
      long stopping = System.nanoTime();
      gateway.close();
      long stopMs = (System.nanoTime() - stopping) / 1_000_000;
      assertTrue(stopMs < 5_000 && !gateway.output().contains("not stopped"),
          "stopped " + stopMs + " ms after SIGTERM: " + gateway.output().lines().filter(l -> l.contains("stop")).toList());
    }
  }

  /** A backend that answers each request 401 once its head is read and closes, its body unread. */
  static java.net.ServerSocket refusingUploads() throws java.io.IOException {
    java.net.ServerSocket server = new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"));
    Thread thread = new Thread(() -> {
      while (!server.isClosed()) {
        try (java.net.Socket c = server.accept()) {
          dev.dockgate.testing.RawHttp.readHead(c.getInputStream());
          Thread.sleep(50); // looks the credentials up, while the body fills the socket's buffers
          c.getOutputStream().write("HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\nConnection: close\r\n\r\nno!\n"
              .getBytes(StandardCharsets.US_ASCII));
        } catch (java.io.IOException e) {
          // the next connection
        } catch (InterruptedException e) {
          return;
        }
      }
    });
    thread.setDaemon(true);
    thread.start();
    return server;
  }

  /** POSTs {@code size} bytes (written beside the reading) and returns the answer's status and body. */
  static String upload(int port, int size) throws Exception {
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      Thread writer = new Thread(() -> {
        try {
          java.io.OutputStream out = socket.getOutputStream();
          out.write(("POST /app/upload HTTP/1.1\r\nHost: gw\r\nContent-Length: " + size + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
          byte[] block = new byte[64 << 10];
          for (int sent = 0; sent < size; sent += block.length) {
            out.write(block);
          }
        } catch (java.io.IOException e) {
          // the answer says what happened
        }
      });
      writer.setDaemon(true);
      writer.start();
      java.io.InputStream in = socket.getInputStream();
      String head = dev.dockgate.testing.RawHttp.readHead(in);
      java.util.regex.Matcher length = java.util.regex.Pattern.compile("(?i)\r\ncontent-length: *(\\d+)").matcher(head);
      String body = length.find() ? new String(in.readNBytes(Integer.parseInt(length.group(1))), StandardCharsets.ISO_8859_1)
          : "";
      writer.join(10_000); // the gateway reads and drops the rest of the body
      return head.substring(9, 12) + " " + body;
    }
  }

  /**
   * An answer the backend wrote whole before closing reaches a client that reads it more slowly whole, as nginx
   * relays it. On io_uring the backend's close was acted on as soon as it came, whatever the gateway had not
   * yet passed on was dropped, and the client's connection was cut: 0.2 to 2.7 MB of 3 MB arrived.
   */
  @Test
  void anAnswerTheBackendClosesRightAfterArrivesWholeAtASlowerClient() throws Exception {
    int size = 3_000_000;
    try (java.net.ServerSocket backend = closingAfter(size); GatewayHarness gateway = gatewayTo(backend.getLocalPort())) {
      for (String path : new String[] {"/app/length", "/app/close", "/app/chunked"}) {
        assertEquals(size, slowBody(gateway.port(), "GET " + path + " HTTP/1.1\r\nHost: gw\r\n\r\n"),
            path + ": body bytes that reached the client");
      }
    }
  }

  /**
   * {@link #closingAfter} behind TLS: the answer written, then the connection closed (close_notify, then FIN).
   */
  static NetServer closingAfterTls(int size, TestCerts.Pem tls) throws Exception {
    Buffer body = Buffer.buffer(new byte[size]);
    return vertx.createNetServer(options(tls))
        .connectHandler(socket -> onHeads(socket, head -> {
          if (head.contains(" /app/chunked ")) {
            socket.write(Buffer.buffer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                + Integer.toHexString(size) + "\r\n").appendBuffer(body).appendString("\r\n0\r\n\r\n"));
          } else {
            socket.write(Buffer.buffer("HTTP/1.1 200 OK\r\n" + (head.contains(" /app/length ")
                ? "Content-Length: " + size + "\r\n" : "") + "\r\n").appendBuffer(body));
          }
          socket.close();
          return false;
        }))
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** The same from an HTTPS backend. */
  @Test
  void anAnswerAnHttpsBackendClosesRightAfterArrivesWholeAtASlowerClient() throws Exception {
    int size = 3_000_000;
    TestCerts.Pem tls = TestCerts.selfSigned(dir, "backend");
    NetServer backend = closingAfterTls(size, tls);
    try (GatewayHarness gateway = gatewayTo(backend.actualPort(), tls)) {
      for (String path : new String[] {"/app/length", "/app/close", "/app/chunked"}) {
        for (int i = 0; i < 2; i++) {
          assertEquals(size, slowBody(gateway.port(), "GET " + path + " HTTP/1.1\r\nHost: gw\r\n\r\n"),
              path + " " + i + ": body bytes that reached the client");
        }
      }
    } finally {
      backend.close();
    }
  }

  /**
   * The same for an upgrade tunnel whose backend writes its last bytes and closes at once: they reach a slower
   * client whole, then the tunnel closes. On io_uring 0.1 to 1.1 MB of 3 MB arrived.
   */
  @Test
  void theLastBytesOfATunnelTheBackendClosesArriveWholeAtASlowerClient() throws Exception {
    for (TestCerts.Pem tls : bothKinds()) {
      lastBytesOfATunnel(tls);
    }
  }

  private void lastBytesOfATunnel(TestCerts.Pem tls) throws Exception {
    int size = 3_000_000;
    Buffer body = Buffer.buffer(new byte[size]);
    NetServer upgrading = vertx.createNetServer(options(tls))
        .connectHandler(socket -> onHeads(socket, head -> {
          socket.write(Buffer.buffer("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade"
              + "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n").appendBuffer(body)); // the sample key: RFC 6455
          socket.close();
          return false;
        }))
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    try (GatewayHarness gateway = gatewayTo(upgrading.actualPort(), tls)) {
      for (int i = 0; i < 3; i++) {
        assertEquals(size, slowBody(gateway.port(), "GET /app/ws HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\n"
            + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13"
            + "\r\n\r\n"), "tunnel " + i + (tls == null ? "" : " (HTTPS)")
            + ": bytes that reached the client before its close");
      }
    } finally {
      upgrading.close();
    }
  }

  /**
   * Sends {@code request} to the gateway, starts reading 300 ms later with a small receive buffer, and gives the
   * body bytes that arrived: by its length, its chunks, or (a 101) every byte until the close.
   */
  static long slowBody(int port, String request) throws Exception {
    try (java.net.Socket client = new java.net.Socket("127.0.0.1", port)) {
      // Small enough that the gateway holds most of the 3 MB when the backend's close comes, not smaller than two of
      // loopback's 64 KiB segments: below that, Linux sends to it only at its persist timer's pace (some 20 s for
      // 3 MB, on either transport), which is the kernel's answer to so small a window, not the gateway's.
      client.setReceiveBufferSize(256 * 1024);
      client.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
      client.setSoTimeout(10_000);
      Thread.sleep(300); // the backend has written and closed; the gateway holds what the client has not read
      java.io.InputStream in = new java.io.BufferedInputStream(client.getInputStream());
      String head = dev.dockgate.testing.RawHttp.readHead(in);
      if (head.startsWith("HTTP/1.1 101")) {
        return in.transferTo(java.io.OutputStream.nullOutputStream());
      }
      assertTrue(head.startsWith("HTTP/1.1 200"), head);
      if (head.toLowerCase(java.util.Locale.ROOT).contains("transfer-encoding: chunked")) {
        long body = 0;
        String line;
        while (!(line = readLine(in)).equals("0")) {
          body += in.readNBytes(Integer.parseInt(line.trim(), 16)).length;
          readLine(in);
        }
        return body;
      }
      java.util.regex.Matcher length = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(head);
      assertTrue(length.find(), head);
      return in.readNBytes(Integer.parseInt(length.group(1))).length;
    }
  }

  private static String readLine(java.io.InputStream in) throws java.io.IOException {
    StringBuilder line = new StringBuilder();
    int b;
    while ((b = in.read()) != '\n') {
      if (b < 0) {
        throw new java.io.EOFException("cut after " + line);
      }
      if (b != '\r') {
        line.append((char) b);
      }
    }
    return line.toString();
  }
}
