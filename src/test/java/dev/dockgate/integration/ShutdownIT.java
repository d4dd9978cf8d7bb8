package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.Docker;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import dev.dockgate.testing.RawHttp;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.PoolOptions;
import io.vertx.junit5.VertxExtension;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM to the real fat jar ({@link Process#destroy()} sends it on Linux) while requests are in
 * flight to a slow backend: listening stops at once, the requests finish, the exit status is 0. With
 * a drain delay, readiness answers 503 first while the listener still serves, then it closes.
 */
@ExtendWith(VertxExtension.class)
class ShutdownIT {

  static final String JAR = System.getProperty("gateway.jar", "target/gateway-fat.jar");
  static final long BACKEND_DELAY_MS = 1_500;

  @TempDir
  Path dir;
  Process gateway;
  Path log;

  @AfterEach
  void killLeftover() throws InterruptedException {
    if (gateway != null && gateway.isAlive()) {
      gateway.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void inFlightRequestsFinishNewConnectionsAreRefusedAndTheExitStatusIsZero(Vertx vertx) throws Exception {
    int requests = 10;
    long drainMs = 10_000;
    SlowBackend backend = SlowBackend.start(vertx, BACKEND_DELAY_MS);
    int port = startGateway(backend.port(), Map.of("GATEWAY_DRAIN_TIMEOUT_MS", Long.toString(drainMs)));
    List<Future<Answer>> answers = sendConcurrently(vertx, port, requests);
    Poll.until(Duration.ofSeconds(10), "all " + requests + " requests at the backend",
        () -> backend.received() == requests);

    long signalled = System.nanoTime();
    gateway.destroy();
    Duration refusedAfter = Poll.until(Duration.ofSeconds(1), "new connections refused after SIGTERM",
        () -> refused(port));
    assertTrue(answers.stream().noneMatch(Future::isComplete),
        "connections were refused " + refusedAfter.toMillis() + " ms after SIGTERM, while requests were still in flight");

    for (int i = 0; i < requests; i++) {
      Answer answer = answers.get(i).toCompletionStage().toCompletableFuture().get(drainMs, TimeUnit.MILLISECONDS);
      assertEquals(new Answer(200, "slow /slow/" + i), answer, "request " + i + "\n" + output());
    }
    assertTrue(gateway.waitFor(drainMs, TimeUnit.MILLISECONDS), "gateway should exit within the drain timeout");
    long exitedAfterMs = (System.nanoTime() - signalled) / 1_000_000;
    assertEquals(0, gateway.exitValue(), output());
    assertTrue(exitedAfterMs < drainMs, "exited " + exitedAfterMs + " ms after SIGTERM");
    String output = output();
    assertTrue(output.contains("SIGTERM: draining: no new connections, in-flight requests have up to 10000 ms"), output);
    assertTrue(output.matches("(?s).*drained in \\d+ ms, stopped; exiting.*"), output);
  }

  @Test
  @Timeout(60)
  void requestsFinishingDuringTheDrainAreStillLogged(Vertx vertx) throws Exception {
    // The access log (like stats and metrics) consumes traffic events: it must outlast the routers' drain.
    SlowBackend backend = SlowBackend.start(vertx, BACKEND_DELAY_MS);
    Path accessLog = dir.resolve("access.log");
    int port = startGatewayWith("admin_listener: false, drain_delay_ms: 0",
        "access_log: {enabled: true, format: json, path: \"" + accessLog + "\"}\n", backend.port(), Map.of(), false);
    List<Future<Answer>> answers = sendConcurrently(vertx, port, 5);
    Poll.until(Duration.ofSeconds(10), "5 requests at the backend", () -> backend.received() == 5);
    gateway.destroy();
    assertTrue(gateway.waitFor(10, TimeUnit.SECONDS), "gateway should exit\n" + output());
    for (Future<Answer> answer : answers) {
      assertEquals(200, answer.toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS).status());
    }
    List<String> lines = Files.readAllLines(accessLog);
    assertEquals(5, lines.stream().filter(line -> line.contains("/slow/")).count(),
        "access log lines of the drained requests: " + lines + "\n" + output());
    assertFalse(output().contains("Discarding message"), output());
  }

  /**
   * An h2c answer whose end waits for its client's window when SIGTERM comes (idle timeout 60 s, far off): the drain
   * timeout (1 s) cuts it, and the request is logged before the process exits, with the bytes that left. Before, its
   * stream's close came too late (Vert.x closing) and the request was never logged.
   */
  @Test
  @Timeout(60)
  void anHttp2AnswerWhoseEndIsHeldAtTheDrainTimeoutIsStillLogged(Vertx vertx) throws Exception {
    HttpServer backend = vertx.createHttpServer()
        .requestHandler(req -> req.response().end(io.vertx.core.buffer.Buffer.buffer(new byte[100_000])))
        .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    Path accessLog = dir.resolve("access.log");
    int port = startGatewayWith("admin_listener: false, drain_delay_ms: 0, h2c: true, idle_timeout_ms: 60000",
        "access_log: {enabled: true, format: json, path: \"" + accessLog + "\"}\n", backend.actualPort(), Map.of(), false,
        "-Dgateway.drain.timeout.ms=1000");
    java.io.ByteArrayOutputStream get = new java.io.ByteArrayOutputStream();
    dev.dockgate.testing.RawHttp2.frame(get, dev.dockgate.testing.RawHttp2.HEADERS, 0x5, 1,
        dev.dockgate.testing.RawHttp2.headers("GET", "/slow/big"));
    try (Http2FloodIT.Connection c = new Http2FloodIT.Connection(port, new byte[0])) {
      c.send(get);
      Poll.until(Duration.ofSeconds(10), "the window's 65535 bytes", () -> {
        synchronized (c.seen) {
          return c.seen.stream().filter(f -> f[0] == 0 && f[1] == 1).mapToLong(f -> f[3]).sum() == 65535;
        }
      });
      gateway.destroy();
      assertTrue(gateway.waitFor(10, TimeUnit.SECONDS), "gateway should exit\n" + output());
    }
    List<String> lines = Files.readAllLines(accessLog);
    assertEquals(1, lines.stream().filter(line -> line.contains("/slow/big")).count(),
        "the held answer's line: " + lines + "\n" + output());
    io.vertx.core.json.JsonObject line = new io.vertx.core.json.JsonObject(lines.get(0));
    assertEquals(200, line.getInteger("status"), line.encode());
    assertTrue(line.getLong("bytes") >= 65535 && line.getLong("bytes") < 100_000, line.encode());
  }

  @Test
  void requestsLongerThanTheDrainTimeoutAreCutAndTheExitStatusIsStillZero(Vertx vertx) throws Exception {
    SlowBackend backend = SlowBackend.start(vertx, BACKEND_DELAY_MS);
    int port = startGateway(backend.port(), Map.of(), "-Dgateway.drain.timeout.ms=300");
    List<Future<Answer>> answers = sendConcurrently(vertx, port, 3);
    Poll.until(Duration.ofSeconds(10), "3 requests at the backend", () -> backend.received() == 3);

    long signalled = System.nanoTime();
    gateway.destroy();
    assertTrue(gateway.waitFor(BACKEND_DELAY_MS, TimeUnit.MILLISECONDS),
        "gateway should exit after the 300 ms drain timeout, before the backend answers\n" + output());
    long exitedAfterMs = (System.nanoTime() - signalled) / 1_000_000;
    assertEquals(0, gateway.exitValue(), output());
    assertTrue(exitedAfterMs >= 300, "exited " + exitedAfterMs + " ms after SIGTERM, before the drain timeout");
    for (Future<Answer> answer : answers) {
      Poll.until(Duration.ofSeconds(5), "cut request completed", answer::isComplete);
      assertTrue(answer.failed(), "a request cut by the drain timeout cannot have an answer: " + answer.result());
    }
    String output = output();
    assertTrue(output.contains("in-flight requests have up to 300 ms"), output);
    assertTrue(output.contains("unfinished requests were cut"), output);
  }

  /**
   * A WebSocket tunnel whose backend reads nothing, the client writing into it: at the drain timeout the tunnel is
   * cut and the gateway exits 0, in time. The backend connection, owed bytes it never read, used to wait for them
   * to be written whatever its close; the process then hung until its watchdog, 10 s later, and exited 1.
   */
  @Test
  @Timeout(60)
  void aTunnelToABackendThatReadsNothingIsCutAtTheDrainTimeoutAndTheExitIsZero() throws Exception {
    try (java.net.ServerSocket deaf = new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"));
        Socket held = new Socket()) {
      java.util.concurrent.BlockingQueue<Socket> backendSide = new java.util.concurrent.LinkedBlockingQueue<>();
      Thread accepting = new Thread(() -> {
        try {
          Socket c = deaf.accept();
          RawHttp.readHead(c.getInputStream());
          c.getOutputStream().write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
          backendSide.add(c); // and never reads again
        } catch (IOException e) {
          // the test ended
        }
      });
      accepting.setDaemon(true);
      accepting.start();
      int port = startGateway(deaf.getLocalPort(), Map.of(), "-Dgateway.drain.timeout.ms=1000");
      held.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
      held.getOutputStream().write(("GET /slow/ws HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
          .getBytes(StandardCharsets.ISO_8859_1)); // the RFC 6455 sample key, whose accept the backend sends
      assertTrue(RawHttp.readHead(held.getInputStream()).startsWith("HTTP/1.1 101"), "the tunnel opened");
      AtomicInteger chunks = new AtomicInteger();
      Thread writing = new Thread(() -> {
        byte[] chunk = new byte[64 * 1024];
        try {
          while (true) {
            held.getOutputStream().write(chunk); // blocks once the backend's, the gateway's and our buffers are full
            chunks.incrementAndGet();
          }
        } catch (IOException e) {
          // the tunnel was cut
        }
      });
      writing.setDaemon(true);
      writing.start();
      int[] last = {-1, 0}; // the count last seen, and for how many polls (10 ms apart) it has not moved
      Poll.until(Duration.ofSeconds(20), "the client's writes stalled behind the backend that reads nothing", () -> {
        int now = chunks.get();
        last[1] = now > 0 && now == last[0] ? last[1] + 1 : 0;
        last[0] = now;
        return last[1] >= 30;
      });

      long signalled = System.nanoTime();
      gateway.destroy();
      assertTrue(gateway.waitFor(8, TimeUnit.SECONDS),
          "not exited 8 s after SIGTERM, with a 1 s drain timeout\n" + output());
      assertEquals(0, gateway.exitValue(), output());
      assertTrue(sinceMs(signalled) >= 1_000, "exited " + sinceMs(signalled) + " ms after SIGTERM, before the drain timeout");
      assertTrue(output().contains("unfinished requests were cut"), output());
    }
  }

  @Test
  @Timeout(120)
  void readinessTurns503ForTheDrainDelayWhileRequestsStillSucceedThenTheListenerCloses(Vertx vertx) throws Exception {
    long delayMs = 2_500;
    SlowBackend backend = SlowBackend.start(vertx, 1);
    int admin = Ports.free();
    int port = startGatewayWith("admin_listener: {port: " + admin + "}, drain_delay_ms: " + delayMs,
        backend.port(), Map.of(), false);
    assertEquals(200, status(admin, "/health"), output());
    assertEquals(200, status(port, "/slow/before"), output());

    long signalled = System.nanoTime();
    gateway.destroy();
    Poll.until(Duration.ofSeconds(2), "readiness 503 after SIGTERM", () -> status(admin, "/health") == 503);
    String health = RawHttp.exchange(admin, request("/health"), 1, 0, 5_000).responses().get(0).body();
    assertTrue(health.contains("\"id\":\"shutdown\",\"status\":\"DOWN\""), health);
    assertEquals(200, status(port, "/health/live"), "liveness stays up during the delay");
    // Until the delay is nearly over, new connections to the main port are accepted and served.
    int served = 0;
    while (sinceMs(signalled) < delayMs - 500) {
      assertEquals(200, status(port, "/slow/" + served), "request " + served + " at " + sinceMs(signalled)
          + " ms after SIGTERM\n" + output());
      served++;
    }
    assertTrue(served >= 3, "only " + served + " requests in the delay");

    Poll.until(Duration.ofMillis(delayMs + 5_000), "listener closed", () -> refused(port));
    long closedAfterMs = sinceMs(signalled);
    assertTrue(closedAfterMs >= delayMs, "the listener closed " + closedAfterMs + " ms after SIGTERM, before the delay");
    assertTrue(gateway.waitFor(10, TimeUnit.SECONDS), "gateway should exit\n" + output());
    assertEquals(0, gateway.exitValue(), output());
    String output = output();
    assertTrue(output.contains("SIGTERM: readiness (http://127.0.0.1:" + admin + "/health) answers 503 from now on; "
        + "the listeners keep serving for " + delayMs + " ms (server.drain_delay_ms)"), output);
    assertTrue(output.matches("(?s).*drained in \\d+ ms, stopped; exiting.*"), output);
  }

  /** The SIGTERM line names the readiness URL the process serves, not one a reload put in the file (needs a restart). */
  @Test
  @Timeout(120)
  void theSigtermLineNamesTheRunningAdminListenerAfterAReloadMovedIt(Vertx vertx) throws Exception {
    SlowBackend backend = SlowBackend.start(vertx, 1);
    int admin = Ports.free();
    int moved = Ports.free();
    startGatewayWith("admin_listener: {port: " + admin + "}, drain_delay_ms: 300", backend.port(), Map.of(), false);
    Path conf = dir.resolve("gateway.yml");
    Files.writeString(conf, Files.readString(conf).replace("port: " + admin + "}", "port: " + moved + "}"));
    Poll.until(Duration.ofSeconds(15), "the reload's restart warning",
        () -> output().contains("server.admin_listener changed and apply after a restart"));
    gateway.destroy();
    assertTrue(gateway.waitFor(20, TimeUnit.SECONDS), "gateway should exit\n" + output());
    assertTrue(output().contains("SIGTERM: readiness (http://127.0.0.1:" + admin + "/health) answers 503"), output());
  }

  @Test
  @Timeout(120)
  void aSecondSigtermEndsTheDrainDelay(Vertx vertx) throws Exception {
    int port = inTheDrainDelay(vertx);
    assertEquals(200, status(port, "/slow/during"), output());
    drainNow(port, Duration.ofSeconds(5));
    exitsWithZero();
    assertTrue(output().contains("SIGTERM again: draining now"), output());
  }

  @Test
  @Timeout(120)
  void duringTheDrainDelayAKeptAliveConnectionGetsConnectionCloseAndIsClosed(Vertx vertx) throws Exception {
    int admin = Ports.free();
    int port = startWithLongDelay(vertx, admin);
    try (Socket socket = new Socket("127.0.0.1", port)) {
      RawHttp.Exchange before = keptAlive(socket, "/slow/before");
      assertEquals(200, before.status(), before.raw());
      assertFalse(before.responses().get(0).closes() || before.closed(), "kept alive before SIGTERM: " + before.raw());
      sigtermUntilNotReady(admin);
      // The same connection, still open: served, told to close, and closed by the gateway.
      RawHttp.Exchange during = keptAlive(socket, "/slow/during");
      servedThenClosed(during, "during the delay");
    }
    sigtermAgain();
    exitsWithZero();
  }

  @Test
  @Timeout(120)
  void aConnectionAcceptedJustBeforeTheDrainIsToldToCloseWithItsFirstAnswer(Vertx vertx) throws Exception {
    // Accepted in the delay's last moment, its first request comes once the listener is closed: served, but
    // said to be the last (before, it was kept alive, served a few more, then cut by the shutdown with the
    // client's next request already written: lost).
    int port = inTheDrainDelay(vertx);
    try (Socket socket = new Socket("127.0.0.1", port)) {
      // The listener closes a moment after the second SIGTERM (400 ms was too short for a loaded CI machine); the
      // request then goes at once, well within the half second the gateway gives such a connection after the close.
      drainNow(port, Duration.ofSeconds(3));
      servedThenClosed(keptAlive(socket, "/slow/in-the-drain"), "in the drain");
    }
    exitsWithZero();
  }

  /** A gateway (admin listener on {@code admin}) whose drain delay outlasts the test: only a second SIGTERM ends it. */
  int startWithLongDelay(Vertx vertx, int admin) throws Exception {
    SlowBackend backend = SlowBackend.start(vertx, 1);
    return startGatewayWith("admin_listener: {port: " + admin + "}, drain_delay_ms: 60000", backend.port(), Map.of(), false);
  }

  /** SIGTERM, then waits until readiness answers 503: the drain delay has begun. */
  void sigtermUntilNotReady(int admin) {
    gateway.destroy();
    Poll.until(Duration.ofSeconds(2), "readiness 503 after SIGTERM", () -> status(admin, "/health") == 503);
  }

  /** A gateway in its drain delay (which outlasts the test): returns its port. */
  int inTheDrainDelay(Vertx vertx) throws Exception {
    int admin = Ports.free();
    int port = startWithLongDelay(vertx, admin);
    sigtermUntilNotReady(admin);
    return port;
  }

  /** The second SIGTERM, then waits until the listener is closed: the drain has begun. */
  void drainNow(int port, Duration within) throws Exception {
    sigtermAgain();
    Poll.until(within, "listener closed after the second SIGTERM", () -> refused(port));
  }

  void sigtermAgain() throws Exception {
    assertEquals(0, new ProcessBuilder("kill", "-TERM", Long.toString(gateway.pid())).start().waitFor());
  }

  void exitsWithZero() throws InterruptedException {
    assertTrue(gateway.waitFor(10, TimeUnit.SECONDS), "gateway should exit\n" + output());
    assertEquals(0, gateway.exitValue(), output());
  }

  /** Answered 200 with {@code Connection: close}, and the gateway closed the connection after it. */
  void servedThenClosed(RawHttp.Exchange exchange, String when) {
    assertEquals(200, exchange.status(), exchange.raw() + "\n" + output());
    assertTrue(exchange.responses().get(0).closes(), "Connection: close " + when + ": " + exchange.raw());
    assertTrue(exchange.closed(), "the gateway closed the connection after the answer " + when + ": " + exchange.raw());
  }

  /** Sends a kept-alive GET on {@code socket} and reads its answer, then up to 2 s more to see whether the server closes. */
  static RawHttp.Exchange keptAlive(Socket socket, String path) throws IOException {
    socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    return RawHttp.read(socket, 1, 2_000, 10_000);
  }

  static long sinceMs(long nanos) {
    return (System.nanoTime() - nanos) / 1_000_000;
  }

  static byte[] request(String path) {
    return ("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
  }

  /** The status of GET {@code path} on a new connection, or -1 when none is answered. */
  static int status(int port, String path) {
    try {
      return RawHttp.exchange(port, request(path), 1, 0, 5_000).status();
    } catch (RuntimeException e) {
      return -1;
    }
  }

  @Test
  void aGatewayFollowingDockerStopsWithoutAnError(Vertx vertx) throws Exception {
    // The Docker client may run on a Vert.x of its own (io_uring has no unix sockets): its close
    // must not report back to the gateway's event loops after they have stopped.
    SlowBackend backend = SlowBackend.start(vertx, 1);
    startGateway(backend.port(), Map.of(), true);
    Poll.until(Duration.ofSeconds(10), "following the Docker engine", () -> output().contains("docker discovery following"));
    gateway.destroy();
    assertTrue(gateway.waitFor(10, TimeUnit.SECONDS), "gateway should exit\n" + output());
    assertEquals(0, gateway.exitValue(), output());
    String output = output();
    assertTrue(output.matches("(?s).*drained in \\d+ ms, stopped; exiting.*"), output);
    assertFalse(output.contains("Exception"), output);
    assertFalse(output.contains("\tat "), "a stack trace was printed:\n" + output);
  }

  @Test
  @Timeout(180)
  void aContainerEventArrivingDuringShutdownIsNotAnError(Vertx vertx) throws Exception {
    // The event makes the importer list containers while the Docker client closes: the listing
    // must fail quietly, not throw "Client is closed" on the engine's event loop.
    SlowBackend backend = SlowBackend.start(vertx, 1);
    String suite = "shutdown-" + java.util.UUID.randomUUID().toString().substring(0, 6);
    try (Docker docker = new Docker()) {
      for (long delayMs : new long[] {0, 10, 20, 20, 30, 40, 60}) {
        startGateway(backend.port(), Map.of(), true);
        String id = docker.runIdle("event-" + delayMs, Map.of("suite", suite, "gateway.port", "" + backend.port()));
        Poll.until(Duration.ofSeconds(10), "container published", () -> output().contains("instance up: container"));
        Process remove = new ProcessBuilder("docker", "rm", "-f", id).redirectErrorStream(true).start();
        Thread.sleep(delayMs);
        gateway.destroy();
        assertTrue(gateway.waitFor(10, TimeUnit.SECONDS), "gateway should exit\n" + output());
        assertTrue(remove.waitFor(30, TimeUnit.SECONDS), "docker rm -f " + id);
        String output = output();
        assertEquals(0, gateway.exitValue(), output);
        assertFalse(output.contains("Exception"), "SIGTERM " + delayMs + " ms after docker rm -f:\n" + output);
        assertFalse(output.contains("Discarding message"), "SIGTERM " + delayMs + " ms after docker rm -f:\n" + output);
        assertFalse(output.contains("\tat "), "a stack trace was printed:\n" + output);
      }
    }
  }

  @Test
  @Timeout(180)
  void connectionsArrivingAroundSigtermAreServedOrRefused(Vertx vertx) throws Exception {
    // A connection the gateway accepted must be answered; one it does not want must be refused,
    // never accepted and dropped. epoll is where Netty warned "Failed to register an accepted channel".
    // One exception the kernel makes: the accept queue, cut to one slot before the socket closes, may
    // hold one connection at the close, which the kernel resets; at most one per SIGTERM (before the
    // queue was cut, every connection in a full queue was reset).
    SlowBackend backend = SlowBackend.start(vertx, 1);
    for (String transport : List.of("epoll", "epoll", "auto", "auto")) {
      int port = startGateway(backend.port(), Map.of("GATEWAY_TRANSPORT", transport));
      for (int i = 0; i < 50; i++) {
        assertEquals("HTTP/1.1 200", exchange(port, "/slow/warm-up"), "warm-up request " + i);
      }
      List<String> unexpected = java.util.Collections.synchronizedList(new ArrayList<>());
      AtomicInteger served = new AtomicInteger();
      AtomicInteger reset = new AtomicInteger();
      List<Thread> clients = new ArrayList<>();
      for (int c = 0; c < 4; c++) {
        Thread client = new Thread(() -> {
          long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
          while (System.nanoTime() < until) {
            String outcome = exchange(port, "/slow/around-sigterm");
            if (outcome.equals("refused")) {
              return;
            }
            if (outcome.equals("HTTP/1.1 200")) {
              served.incrementAndGet();
            } else if (outcome.equals("java.net.SocketException: Connection reset")
                || outcome.equals("java.net.SocketException: Connection reset by peer")) {
              // The kernel's reset of the one connection left in the accept queue: "by peer" when it met the
              // client writing its request rather than reading the answer.
              reset.incrementAndGet();
            } else {
              unexpected.add(outcome);
            }
          }
          unexpected.add("still connecting 20 s after SIGTERM");
        });
        client.start();
        clients.add(client);
      }
      Thread.sleep(30);
      gateway.destroy();
      for (Thread client : clients) {
        client.join(30_000);
      }
      assertTrue(gateway.waitFor(10, TimeUnit.SECONDS), "gateway should exit\n" + output());
      String output = output();
      assertEquals(List.of(), unexpected, "connections neither served nor refused (" + transport + ", "
          + served + " served)\n" + output);
      assertTrue(reset.get() <= 1, reset + " connections reset (" + transport + ", " + served + " served): more than the"
          + " one the cut accept queue can hold at the close\n" + output);
      assertFalse(output.contains("Failed to register"), output);
      assertFalse(output.contains("\tat "), "a stack trace was printed:\n" + output);
      assertEquals(0, gateway.exitValue(), output);
    }
  }

  /**
   * GET {@code path} on a new connection: the status line ("HTTP/1.1 200"), "refused" when nothing
   * listens, else what went wrong (a reset, an end without an answer).
   */
  static String exchange(int port, String path) {
    try (Socket socket = new Socket()) {
      // 5 s: a SYN the closing listener's full queue dropped is sent again after 1 s, and then refused.
      socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
      return answer.isEmpty() ? "closed without an answer" : answer.substring(0, Math.min(12, answer.length()));
    } catch (ConnectException e) {
      return "refused";
    } catch (IOException e) {
      return e.toString();
    }
  }

  /** Starts the jar routing everything to the backend; returns its port once it answers. */
  int startGateway(int backendPort, Map<String, String> env, String... jvmOptions) throws IOException {
    return startGateway(backendPort, env, false, jvmOptions);
  }

  /** As above, following the Docker engine when {@code docker} is true. */
  int startGateway(int backendPort, Map<String, String> env, boolean docker, String... jvmOptions) throws IOException {
    return startGatewayWith("admin_listener: false, drain_delay_ms: 0", backendPort, env, docker, jvmOptions);
  }

  /** As above, with {@code serverKeys} (flow-style YAML keys) in the server section. */
  int startGatewayWith(String serverKeys, int backendPort, Map<String, String> env, boolean docker, String... jvmOptions)
      throws IOException {
    return startGatewayWith(serverKeys, "", backendPort, env, docker, jvmOptions);
  }

  /** As above, with more top-level config ({@code moreYaml}). */
  int startGatewayWith(String serverKeys, String moreYaml, int backendPort, Map<String, String> env, boolean docker,
      String... jvmOptions)
      throws IOException {
    int port = Ports.free();
    Path conf = dir.resolve("gateway.yml");
    Files.writeString(conf, """
        server: {host: 127.0.0.1, port: %d, instances: 2, %s}
        docker: {enabled: %b}
        routes: [{path_prefix: /slow, backend: slow}]
        backends: [{name: slow, targets: ["http://127.0.0.1:%d"]}]
        """.formatted(port, serverKeys, docker, backendPort) + moreYaml);
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(List.of(jvmOptions));
    command.addAll(List.of("-jar", JAR, "-conf", conf.toString()));
    log = dir.resolve("gateway.log");
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().remove("GATEWAY_DRAIN_TIMEOUT_MS");
    builder.environment().putAll(env);
    gateway = builder.start();
    // Logged once the SIGTERM handler is in place, after every router listens.
    Poll.until(Duration.ofSeconds(30), "gateway ready", () -> output().contains("ready; SIGTERM drains"));
    return port;
  }

  String output() {
    try {
      return Files.readString(log, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(no output: " + e + ")";
    }
  }

  record Answer(int status, String body) {
  }

  /** {@code n} GET /slow/i on as many connections, all sent at once. */
  static List<Future<Answer>> sendConcurrently(Vertx vertx, int port, int n) {
    HttpClient client = vertx.createHttpClient(
        new HttpClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(port),
        new PoolOptions().setHttp1MaxSize(n));
    List<Future<Answer>> answers = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      answers.add(client.request(HttpMethod.GET, "/slow/" + i)
          // the body asked for in the callback that sends (see TlsIT.send): an answer read first would lose its end
          .compose(request -> request.send()
              .compose(response -> response.body().map(body -> new Answer(response.statusCode(), body.toString())))));
    }
    return answers;
  }

  /** True when a new TCP connection to the port is refused (nothing listens). */
  static boolean refused(int port) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 500);
      return false;
    } catch (ConnectException e) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Answers {@code slow PATH} with 200, {@code delayMs} after each request arrives; counts arrivals. */
  record SlowBackend(HttpServer server, AtomicInteger count) {

    static SlowBackend start(Vertx vertx, long delayMs) throws Exception {
      AtomicInteger count = new AtomicInteger();
      HttpServer server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
          .requestHandler(request -> {
            count.incrementAndGet();
            vertx.setTimer(delayMs, t -> request.response().end("slow " + request.path()));
          })
          .listen()
          .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      return new SlowBackend(server, count);
    }

    int port() {
      return server.actualPort();
    }

    int received() {
      return count.get();
    }
  }
}
