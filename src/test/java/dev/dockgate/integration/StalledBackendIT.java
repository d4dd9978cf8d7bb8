package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.RawHttp;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A backend that accepts connections and never reads (a stuck process, its socket buffers full): an upload larger
 * than the buffers waits on it, not on the client. The try fails as the backend's timeout once it has taken nothing
 * for the route's timeout_ms (504, counted against its circuit) and its connection is closed, and the edge's
 * body_timeout_ms does not blame the client meanwhile; before, the client got 408 after body_timeout_ms, the circuit
 * never counted it, and the backend connection stayed open with megabytes queued. A slow backend that keeps reading
 * is waited for, however long the upload takes.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class StalledBackendIT {

  static final int BODY = 8 * 1024 * 1024;

  @TempDir
  Path dir;
  ServerSocket backend;
  final List<Socket> accepted = new CopyOnWriteArrayList<>();
  Thread acceptor;
  GatewayHarness gateway;

  @BeforeEach
  void stuckBackend() throws IOException {
    backend = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    acceptor = new Thread(() -> {
      while (!backend.isClosed()) {
        try {
          accepted.add(backend.accept()); // and never read
        } catch (IOException closed) {
          return;
        }
      }
    }, "stuck-backend");
    acceptor.start();
  }

  @AfterEach
  void stop() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    backend.close();
    for (Socket socket : accepted) {
      socket.close();
    }
    acceptor.join(5_000);
  }

  String config(int timeoutMs) {
    return """
        docker: {enabled: false}
        routes:
          - {path_prefix: /up, backend: stuck, timeout_ms: %d}
        backends:
          - {name: stuck, targets: ["http://127.0.0.1:%d"], circuit_breaker: {max_failures: 2, reset_timeout_ms: 60000}}
        """.formatted(timeoutMs, backend.getLocalPort());
  }

  @Test
  void theRouteTimeoutEndsAnUploadTheBackendTakesNothingOfAs504CountedAgainstIt() throws Exception {
    gateway = new GatewayHarness(dir, "  body_timeout_ms: 60000\n", config(1500), 1);
    for (int i = 0; i < 2; i++) {
      long started = System.nanoTime();
      String status = upload(gateway.port());
      long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
      assertEquals("HTTP/1.1 504 Gateway Timeout", status);
      assertTrue(ms < 10_000, "answered after " + ms + " ms");
    }
    assertEquals(503, gateway.get("/up/after").statusCode(), "two failures open the circuit (max_failures: 2)");
    assertBackendConnectionsClosed();
  }

  @Test
  void theBodyTimeoutDoesNotBlameTheClientForABodyTheBackendHoldsUp() throws Exception {
    gateway = new GatewayHarness(dir, "  body_timeout_ms: 1000\n", config(3_000), 1);
    long started = System.nanoTime();
    String status = upload(gateway.port());
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    assertEquals("HTTP/1.1 504 Gateway Timeout", status, "not 408: the client sent as fast as it could");
    assertTrue(ms >= 2_500, "the backend's 3 s without progress, not the body's 1 s: " + ms + " ms");
    assertBackendConnectionsClosed();
  }

  @Test
  void aSlowBackendThatKeepsReadingIsWaitedFor() throws Exception {
    // Reads 32 KB every 50 ms (about 640 KB/s) through a small receive buffer, then answers: a 2 MB upload takes it
    // about 3 s, three times body_timeout_ms, the gateway held up by it (not reading the client) most of that time.
    try (ServerSocket slow = new ServerSocket()) {
      slow.setReceiveBufferSize(64 * 1024);
      slow.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
      Thread reader = new Thread(() -> {
        try (Socket socket = slow.accept()) {
          InputStream in = socket.getInputStream();
          StringBuilder head = new StringBuilder();
          while (!head.toString().endsWith("\r\n\r\n")) {
            head.append((char) in.read());
          }
          byte[] chunk = new byte[32 * 1024];
          long left = 2 * 1024 * 1024;
          while (left > 0) {
            int n = in.read(chunk, 0, (int) Math.min(chunk.length, left));
            if (n < 0) {
              return;
            }
            left -= n;
            Thread.sleep(50);
          }
          socket.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
              .getBytes(StandardCharsets.US_ASCII));
          socket.getOutputStream().flush();
          Thread.sleep(500);
        } catch (IOException | InterruptedException e) {
          // the test's own end
        }
      }, "slow-backend");
      reader.start();
      gateway = new GatewayHarness(dir, "  body_timeout_ms: 1000\n", """
          docker: {enabled: false}
          routes:
            - {path_prefix: /up, backend: slow, timeout_ms: 5000}
          backends:
            - {name: slow, targets: ["http://127.0.0.1:%d"]}
          """.formatted(slow.getLocalPort()), 1);
      assertEquals("HTTP/1.1 200 OK", upload(gateway.port(), 2 * 1024 * 1024));
      reader.join(10_000);
    }
  }

  /**
   * A client that pauses mid-body longer than the route's timeout_ms (body_timeout_ms allows it), then sends the rest
   * while its HTTP/2 backend has stopped taking the body (its stream window, 64 KB, filled by what came before the
   * pause), for 400 ms only, well under the 1 s timeout: the gateway waited on the backend those 400 ms, and the
   * upload is answered 200. Before, the stall was timed from the backend's last completed write, before the client's
   * pause, so the sweep of queued ends answered 504 within 250 ms of the rest's coming.
   */
  @Test
  void aClientsPauseIsNotTheBackendsStall() throws Exception {
    int first = 65_535; // the backend stream's initial window (RFC 9113 §6.9.2): all written, none of it taken
    int rest = 48 * 1024; // waits on the backend, below the write queue's limit: the body's end is queued
    io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
    try {
      java.util.concurrent.CompletableFuture<io.vertx.core.http.HttpServerRequest> upload =
          new java.util.concurrent.CompletableFuture<>();
      io.vertx.core.http.HttpServer h2 = vertx.createHttpServer(new io.vertx.core.http.HttpServerOptions()
              .setHost("127.0.0.1").setPort(0))
          .requestHandler(req -> {
            req.pause(); // takes none of the body until the test resumes it
            req.body().onSuccess(body -> req.response().end("ok " + body.length()));
            upload.complete(req);
          })
          .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      gateway = h2Gateway(h2.actualPort(), 1000, "");
      try (Socket client = new Socket(InetAddress.getLoopbackAddress(), gateway.port())) {
        client.setSoTimeout(10_000);
        OutputStream out = client.getOutputStream();
        out.write(("POST /up/file HTTP/1.1\r\nHost: gateway\r\nContent-Length: " + (first + rest) + "\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
        out.write(new byte[first]);
        out.flush();
        io.vertx.core.http.HttpServerRequest req = upload.get(5, TimeUnit.SECONDS);
        Thread.sleep(1_500);
        long started = System.nanoTime();
        out.write(new byte[rest]);
        out.flush();
        Thread.sleep(400);
        vertx.runOnContext(v -> req.resume());
        String head = RawHttp.readHead(client.getInputStream());
        assertEquals("HTTP/1.1 200 OK", head.lines().findFirst().orElse(""),
            "answered " + head + " " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started) + " ms after the rest");
      }
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  /**
   * A backend that reads each request's head and then nothing (its handler hung: it neither reads the body, nor
   * answers, nor closes). Each upload of 4 MB to it is answered 504 at the route's timeout, and the gateway's
   * connection to it is closed within 2 s of that answer, without the backend reading anything more (the writes the
   * gateway still queued for it cannot hold the close up): after 20 such uploads the gateway holds no connection to
   * it. Before, each stayed open (ESTABLISHED, its descriptor and its pool slot) until the gateway stopped.
   */
  @Test
  void theConnectionOfAnUploadGivenUpAt504IsClosedWithoutTheBackendReadingMore() throws Exception {
    List<Socket> held = new CopyOnWriteArrayList<>();
    try (ServerSocket hung = headReader(held)) {
      gateway = hungGateway("  body_timeout_ms: 60000\n", hung, 500);
      assertEquals(0, BackendQuirksIT.connectionsTo(hung.getLocalPort()));
      long descriptors = openDescriptors();
      for (int i = 0; i < 20; i++) {
        String status;
        try {
          status = upload(gateway.port(), 4 * 1024 * 1024);
        } catch (SocketTimeoutException none) {
          throw new AssertionError("upload " + i + ": no answer within 20 s", none);
        }
        assertEquals("HTTP/1.1 504 Gateway Timeout", status, "upload " + i);
        int n = i;
        Poll.until(Duration.ofSeconds(2), "upload " + n + "'s backend connection closed after its 504 (open: "
            + BackendQuirksIT.connectionsTo(hung.getLocalPort()) + ")",
            () -> BackendQuirksIT.connectionsTo(hung.getLocalPort()) == 0);
      }
      assertEquals(20, held.size(), "each upload on a connection of its own");
      // (the backend's 20 sockets are this process's too, held open: the gateway's 20 would make 40 more)
      assertTrue(openDescriptors() <= descriptors + held.size() + 5, "descriptors " + descriptors + " before, after: "
          + openDescriptors());
      assertTrue(gateway.admin("/metrics").body().contains("gateway_requests_in_flight{backend=\"hung\",route=\"/up\"} 0.0"),
          "none in flight");
      assertSeeEnd(held);
    }
  }

  /**
   * The same for a GET the backend never answers: the 504 closes its connection (an answer may still come on it,
   * so it can never carry another request), within 2 s, 20 times over.
   */
  @Test
  void theConnectionOfAGetGivenUpAt504IsClosed() throws Exception {
    List<Socket> held = new CopyOnWriteArrayList<>();
    try (ServerSocket hung = headReader(held)) {
      gateway = hungGateway("", hung, 300);
      for (int i = 0; i < 20; i++) {
        assertEquals(504, gateway.get("/up/" + i).statusCode(), "GET " + i);
        int n = i;
        Poll.until(Duration.ofSeconds(2), "GET " + n + "'s backend connection closed after its 504",
            () -> BackendQuirksIT.connectionsTo(hung.getLocalPort()) == 0);
      }
      assertEquals(20, held.size(), "each GET on a connection of its own");
      assertSeeEnd(held);
    }
  }

  /**
   * An HTTP/2 backend whose handler takes none of an upload's body and never answers: the 504 resets the stream
   * (CANCEL), not the connection, which carries the next request; no connection is opened again.
   */
  @Test
  void anHttp2UploadGivenUpAt504ResetsItsStreamAndKeepsTheConnection() throws Exception {
    io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
    try {
      java.util.concurrent.atomic.AtomicInteger connections = new java.util.concurrent.atomic.AtomicInteger();
      java.util.concurrent.CompletableFuture<String> stuckEnd = new java.util.concurrent.CompletableFuture<>();
      io.vertx.core.http.HttpServer h2 = vertx.createHttpServer(new io.vertx.core.http.HttpServerOptions()
              .setHost("127.0.0.1").setPort(0))
          .connectionHandler(c -> connections.incrementAndGet())
          .requestHandler(req -> {
            if (req.path().startsWith("/up/stuck")) {
              req.pause(); // takes none of the body, never answers
              req.exceptionHandler(err -> stuckEnd.complete(err instanceof io.vertx.core.http.StreamResetException reset
                  ? "reset " + reset.getCode() : err.toString()));
            } else {
              req.body().onSuccess(body -> req.response().end("ok " + body.length()));
            }
          })
          .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      gateway = h2Gateway(h2.actualPort(), 500, "");
      assertEquals("ok 0", gateway.get("/up/first").body());
      assertEquals("HTTP/1.1 504 Gateway Timeout", upload(gateway.port(), 4 * 1024 * 1024, "/up/stuck"),
          "the backend's timeout (before: 502, the failed DATA frames taken for the cause)");
      assertEquals("reset 8", stuckEnd.get(2, TimeUnit.SECONDS), "the stream reset with CANCEL");
      assertEquals("ok 0", gateway.get("/up/after").body());
      assertEquals(1, connections.get(), "one connection to the backend throughout");
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  /**
   * A backend that answers an upload at once, its answer streamed over 2.5 s (five times the route's timeout), and
   * never reads the body (its receive buffer small): the client gets that answer whole, for a body whose end is
   * queued in the gateway behind what the backend leaves unread (a little over what the kernel takes) as for one
   * that fills the gateway's write queue (4 MB). Once the answer has come, the rest of the body left unread is no
   * longer the backend's stall; before, the try was reset at the route's timeout and the answer cut.
   */
  @Test
  void anAnswerStreamedBeforeTheUploadWasTakenIsPassedOnWhole() throws Exception {
    try (ServerSocket early = new ServerSocket()) {
      early.setReceiveBufferSize(4 * 1024);
      early.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
      List<Socket> held = new CopyOnWriteArrayList<>();
      Thread answerer = new Thread(() -> {
        while (!early.isClosed()) {
          try {
            Socket socket = early.accept();
            held.add(socket);
            RawHttp.readHead(socket.getInputStream()); // and none of the body
            OutputStream out = socket.getOutputStream();
            // (Connection: close: when the kernel took the whole body, the connection is not reused for the next)
            out.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                .getBytes(StandardCharsets.US_ASCII));
            for (int i = 0; i < 25; i++) {
              out.write("6\r\npart%02d\r\n".formatted(i).getBytes(StandardCharsets.US_ASCII));
              out.flush();
              Thread.sleep(100);
            }
            out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
          } catch (IOException | InterruptedException e) {
            // cut by the gateway, or the test's own end
          }
        }
      }, "early-answering-backend");
      answerer.setDaemon(true);
      answerer.start();
      gateway = new GatewayHarness(dir, "  body_timeout_ms: 60000\n", """
          docker: {enabled: false}
          routes:
            - {path_prefix: /up, backend: early, timeout_ms: 500}
          backends:
            - {name: early, targets: ["http://127.0.0.1:%d"]}
          """.formatted(early.getLocalPort()), 1);
      for (int size : new int[] {sendCapacity(4 * 1024) + 16 * 1024, 4 * 1024 * 1024}) {
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), gateway.port())) {
          client.setSoTimeout(10_000);
          Thread writer = new Thread(() -> {
            try {
              OutputStream out = client.getOutputStream();
              out.write(("POST /up/file HTTP/1.1\r\nHost: gateway\r\nContent-Length: " + size + "\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
              out.write(new byte[size]);
            } catch (IOException closed) {
              // the gateway closed before the whole body went
            }
          });
          writer.setDaemon(true);
          writer.start();
          InputStream in = client.getInputStream();
          StringBuilder answer = new StringBuilder();
          try {
            while (!answer.toString().endsWith("\r\n0\r\n\r\n")) {
              int b = in.read();
              if (b < 0) {
                break;
              }
              answer.append((char) b);
            }
          } catch (SocketTimeoutException | SocketException cut) {
            answer.append("[").append(cut).append("]");
          }
          assertTrue(answer.toString().startsWith("HTTP/1.1 200 OK") && answer.toString().contains("part24\r\n0\r\n"),
              "the whole answer (" + size + " bytes sent): " + answer);
        }
      }
      for (Socket socket : held) {
        socket.close();
      }
    }
  }

  /**
   * What a connection's kernel buffers hold toward a peer that reads nothing, its receive buffer {@code receive}
   * bytes (measured: the gateway's own connection to such a backend holds about as much before its writes queue).
   */
  static int sendCapacity(int receive) throws IOException {
    try (java.nio.channels.ServerSocketChannel server = java.nio.channels.ServerSocketChannel.open()) {
      server.setOption(java.net.StandardSocketOptions.SO_RCVBUF, receive);
      server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      try (java.nio.channels.SocketChannel sender = java.nio.channels.SocketChannel.open(server.getLocalAddress());
          java.nio.channels.SocketChannel taker = server.accept()) {
        sender.configureBlocking(false);
        java.nio.ByteBuffer chunk = java.nio.ByteBuffer.allocate(16 * 1024);
        int total = 0;
        long quietSince = System.nanoTime();
        while (System.nanoTime() - quietSince < 200_000_000L) {
          chunk.clear();
          int n = sender.write(chunk);
          if (n > 0) {
            total += n;
            quietSince = System.nanoTime();
          } else {
            Thread.onSpinWait();
          }
        }
        return total;
      }
    }
  }

  /**
   * An HTTP/2 backend that fails an upload itself (its stream reset mid-body, or its connection closed) is still the
   * backend's failure, 502, not the stall's 504: only a stall the gateway gave up on is a timeout.
   */
  @Test
  void anHttp2BackendFailingAnUploadItselfIs502() throws Exception {
    io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
    try {
      io.vertx.core.http.HttpServer h2 = vertx.createHttpServer(new io.vertx.core.http.HttpServerOptions()
              .setHost("127.0.0.1").setPort(0))
          .requestHandler(req -> {
            req.pause(); // takes none of the body
            if (req.path().startsWith("/up/reset")) {
              vertx.setTimer(200, id -> req.response().reset(2)); // INTERNAL_ERROR
            } else {
              vertx.setTimer(200, id -> req.connection().close());
            }
          })
          .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      gateway = h2Gateway(h2.actualPort(), 3000, ", circuit_breaker: {max_failures: 1000}");
      assertEquals("HTTP/1.1 502 Bad Gateway", upload(gateway.port(), 4 * 1024 * 1024, "/up/reset"), "stream reset");
      assertEquals("HTTP/1.1 502 Bad Gateway", upload(gateway.port(), 4 * 1024 * 1024, "/up/close"), "connection closed");
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  /**
   * A gateway routing /up to the HTTP/2 backend on {@code port} with {@code timeoutMs}; {@code backendExtra}: more of
   * the backend's settings (", circuit_breaker: {...}"), or empty.
   */
  GatewayHarness h2Gateway(int port, int timeoutMs, String backendExtra) {
    return new GatewayHarness(dir, "  body_timeout_ms: 60000\n", """
        docker: {enabled: false}
        routes:
          - {path_prefix: /up, backend: h2, timeout_ms: %d}
        backends:
          - {name: h2, protocol: http2, targets: ["http://127.0.0.1:%d"]%s}
        """.formatted(timeoutMs, port, backendExtra), 1);
  }

  /**
   * A gateway routing /up to {@code hung} with {@code timeoutMs}, its circuit never opening in these tests; one
   * connection at most to it, so that a pool slot not freed when its connection closes fails the next request (503).
   */
  GatewayHarness hungGateway(String serverLines, ServerSocket hung, int timeoutMs) {
    return new GatewayHarness(dir, serverLines, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /up, backend: hung, timeout_ms: %d}
        backends:
          - {name: hung, targets: ["http://127.0.0.1:%d"], max_connections: 1,
             circuit_breaker: {max_failures: 1000}}
        """.formatted(timeoutMs, hung.getLocalPort()), 1);
  }

  /** A backend reading each connection's first head, then nothing more, its sockets kept open in {@code held}. */
  static ServerSocket headReader(List<Socket> held) throws IOException {
    ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread thread = new Thread(() -> {
      while (!server.isClosed()) {
        try {
          Socket socket = server.accept();
          held.add(socket);
          RawHttp.readHead(socket.getInputStream()); // (the accept loop's thread: one head at a time is enough)
        } catch (IOException closed) {
          if (server.isClosed()) {
            for (Socket socket : held) {
              try {
                socket.close();
              } catch (IOException ignored) {
                // closing anyway
              }
            }
            return;
          }
        }
      }
    }, "head-reading-backend");
    thread.setDaemon(true);
    thread.start();
    return server;
  }

  /** The descriptors this process (the tests' and the gateway's) holds open. */
  static long openDescriptors() throws IOException {
    try (var fds = java.nio.file.Files.list(Path.of("/proc/self/fd"))) {
      return fds.count();
    }
  }

  /** Each socket, read now, ends (EOF or reset) within 2 s once what the gateway had queued is read. */
  static void assertSeeEnd(List<Socket> sockets) throws IOException {
    byte[] buffer = new byte[256 * 1024];
    for (Socket socket : sockets) {
      socket.setSoTimeout(2_000);
      try {
        while (socket.getInputStream().read(buffer) >= 0) {
          // what the gateway had queued
        }
      } catch (SocketTimeoutException open) {
        throw new AssertionError("a backend connection the gateway gave up on is still open", open);
      } catch (SocketException reset) {
        // reset: closed too
      }
    }
  }

  /** POSTs an 8 MB body (written from another thread: the writes block) and reads the answer's status line. */
  static String upload(int port) throws Exception {
    return upload(port, BODY);
  }

  static String upload(int port, int size) throws Exception {
    return upload(port, size, "/up/file");
  }

  static String upload(int port, int size, String path) throws Exception {
    try (Socket client = new Socket(InetAddress.getLoopbackAddress(), port)) {
      client.setSoTimeout(20_000);
      OutputStream out = client.getOutputStream();
      Thread writer = new Thread(() -> {
        try {
          out.write(("POST " + path + " HTTP/1.1\r\nHost: gateway\r\nContent-Length: " + size + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
          byte[] chunk = new byte[64 * 1024];
          for (int sent = 0; sent < size; sent += chunk.length) {
            out.write(chunk);
          }
        } catch (IOException closed) {
          // the gateway answered and closed before the whole body went
        }
      });
      writer.setDaemon(true);
      writer.start();
      InputStream in = client.getInputStream();
      StringBuilder line = new StringBuilder();
      for (int b = in.read(); b >= 0 && b != '\r'; b = in.read()) {
        line.append((char) b);
      }
      return line.toString();
    }
  }

  /** Every connection the gateway opened to the backend ends (EOF or reset) once what it queued is read. */
  void assertBackendConnectionsClosed() throws IOException {
    assertTrue(!accepted.isEmpty());
    byte[] buffer = new byte[256 * 1024];
    for (Socket socket : accepted) {
      socket.setSoTimeout(5_000);
      InputStream in = socket.getInputStream();
      try {
        while (in.read(buffer) >= 0) {
          // what the gateway had queued
        }
      } catch (SocketTimeoutException open) {
        throw new AssertionError("the gateway's connection to the stuck backend is still open", open);
      } catch (SocketException reset) {
        // reset: closed too
      }
    }
  }
}
