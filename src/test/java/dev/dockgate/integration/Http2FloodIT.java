package dev.dockgate.integration;

import static dev.dockgate.testing.RawHttp2.DATA;
import static dev.dockgate.testing.RawHttp2.ENHANCE_YOUR_CALM;
import static dev.dockgate.testing.RawHttp2.FLOW_CONTROL_ERROR;
import static dev.dockgate.testing.RawHttp2.GOAWAY;
import static dev.dockgate.testing.RawHttp2.HEADERS;
import static dev.dockgate.testing.RawHttp2.PING;
import static dev.dockgate.testing.RawHttp2.PREFACE;
import static dev.dockgate.testing.RawHttp2.PRIORITY;
import static dev.dockgate.testing.RawHttp2.RST_STREAM;
import static dev.dockgate.testing.RawHttp2.SETTINGS;
import static dev.dockgate.testing.RawHttp2.WINDOW_UPDATE;
import static dev.dockgate.testing.RawHttp2.describe;
import static dev.dockgate.testing.RawHttp2.frame;
import static dev.dockgate.testing.RawHttp2.headers;
import static dev.dockgate.testing.RawHttp2.increment;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.Backends;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.GatewayJar;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.RawHttp2;
import dev.dockgate.testing.TestBackend;
import dev.dockgate.testing.TestCerts;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Hostile HTTP/2 clients at the edge, as raw frames over h2c to a gateway of two routers: floods of frames that ask
 * for no work (PING, SETTINGS, PRIORITY, WINDOW_UPDATE +1) end their connection with GOAWAY ENHANCE_YOUR_CALM while
 * a client that reads a large answer through a tiny window (a WINDOW_UPDATE and a PING per DATA frame) never does; a
 * stream window overflow gets RST_STREAM FLOW_CONTROL_ERROR and is counted once; an HTTP/2 header list over the limit
 * (Netty's 431) is counted and logged as the HTTP/1 431 is.
 */
@Timeout(120)
class Http2FloodIT {

  @RegisterExtension
  static final Backends backends = new Backends();
  static final TestBackend backend = backends.start("up");
  @TempDir
  Path dir;

  GatewayHarness start(String serverLines, String more) {
    backend.clear();
    return new GatewayHarness(dir, "  h2c: true\n" + serverLines, backend.upRoute() + more, 2);
  }

  /** An h2c connection by prior knowledge whose frames a thread reads as they come, until the gateway closes it. */
  static final class Connection implements AutoCloseable {
    final Socket socket;
    final List<int[]> seen = java.util.Collections.synchronizedList(new ArrayList<>());
    final CountDownLatch closed = new CountDownLatch(1);
    /** Called on the reading thread for each frame read. */
    volatile java.util.function.Consumer<int[]> onFrame = f -> { };

    Connection(int port, byte[] settings) throws IOException {
      this(new Socket("127.0.0.1", port), settings, new byte[0]);
    }

    /** {@code first}: frames sent with the preface and SETTINGS, in the same write. */
    Connection(Socket socket, byte[] settings, byte[] first) throws IOException {
      this.socket = socket;
      ByteArrayOutputStream msg = new ByteArrayOutputStream();
      msg.write(PREFACE);
      frame(msg, SETTINGS, 0, 0, settings);
      msg.write(first);
      send(msg);
      Thread reader = new Thread(() -> {
        try {
          DataInputStream in = new DataInputStream(socket.getInputStream());
          List<int[]> mine = new ArrayList<>();
          while (true) {
            int[] f = RawHttp2.readFrame(in, mine);
            seen.add(f);
            onFrame.accept(f);
          }
        } catch (IOException | RuntimeException end) {
          closed.countDown();
        }
      }, "h2-frames");
      reader.setDaemon(true);
      reader.start();
    }

    /** False once the gateway closed the connection (the bytes may not have gone). */
    synchronized boolean send(ByteArrayOutputStream msg) {
      try {
        OutputStream out = socket.getOutputStream();
        out.write(msg.toByteArray());
        out.flush();
        return true;
      } catch (IOException gone) {
        return false;
      }
    }

    boolean closedWithin(long ms) throws InterruptedException {
      return closed.await(ms, TimeUnit.MILLISECONDS);
    }

    String frames() {
      synchronized (seen) {
        return seen.size() + " frames: " + describe(seen.subList(Math.max(0, seen.size() - 10), seen.size()));
      }
    }

    boolean any(java.util.function.Predicate<int[]> which) {
      synchronized (seen) {
        return seen.stream().anyMatch(which);
      }
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  /**
   * 5000 frames that ask for no work, as fast as the client can write them (after a request on stream 1 that waits
   * on its backend): the connection ends with GOAWAY ENHANCE_YOUR_CALM; the gateway serves on. Before, the gateway
   * answered each (a PING ACK, a SETTINGS ACK) or took it in, without end.
   */
  @ParameterizedTest
  @ValueSource(strings = {"PING", "SETTINGS", "PRIORITY", "connection WINDOW_UPDATE +1", "stream WINDOW_UPDATE +1"})
  void aFloodOfFramesThatAskForNoWorkEndsItsConnection(String flood) throws Exception {
    try (GatewayHarness gateway = start("", "");
        Connection c = new Connection(gateway.port(), new byte[0])) {
      ByteArrayOutputStream msg = new ByteArrayOutputStream();
      frame(msg, HEADERS, 0x5, 1, headers("GET", "/up/never"));
      c.send(msg);
      Poll.until(Duration.ofSeconds(5), "the request at the backend", () -> backend.waiting() == 1);
      int sent = 0;
      while (sent < 5000 && c.closed.getCount() > 0) {
        msg.reset();
        for (int i = 0; i < 100; i++, sent++) {
          switch (flood) {
            case "PING" -> frame(msg, PING, 0, 0, new byte[8]);
            case "SETTINGS" -> frame(msg, SETTINGS, 0, 0, new byte[0]);
            case "PRIORITY" -> frame(msg, PRIORITY, 0, 3, new byte[] {0, 0, 0, 0, 15});
            case "connection WINDOW_UPDATE +1" -> frame(msg, WINDOW_UPDATE, 0, 0, increment(1));
            default -> frame(msg, WINDOW_UPDATE, 0, 1, increment(1));
          }
        }
        if (!c.send(msg)) {
          break;
        }
      }
      // A PING every 100 ms after the flood, as a flooding client goes on sending: on io_uring a socket the gateway
      // closed while reading stays established in the kernel until its peer sends again (Netty 4.2.18).
      for (int i = 0; i < 50 && !c.closedWithin(100); i++) {
        msg.reset();
        frame(msg, PING, 0, 0, new byte[8]);
        c.send(msg);
      }
      assertTrue(c.closedWithin(0), "still open after " + sent + " " + flood + " frames; " + c.frames());
      assertTrue(c.any(f -> f[0] == GOAWAY && f[2] == ENHANCE_YOUR_CALM), "GOAWAY ENHANCE_YOUR_CALM; " + c.frames());
    }
  }

  /**
   * A client reading a 16 MB answer through a 16 KB stream window, that gives back each DATA frame's bytes at once
   * with a WINDOW_UPDATE on the stream and on the connection and sends a PING after each (as a client probing its
   * bandwidth does): 3 frames of its own per DATA frame, thousands in a few seconds, and never limited.
   */
  @Test
  void aClientThatUpdatesItsWindowAndPingsPerDataFrameIsNotLimited() throws Exception {
    byte[] big = new byte[16 << 20];
    com.sun.net.httpserver.HttpServer server = com.sun.net.httpserver.HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", exchange -> {
      exchange.sendResponseHeaders(200, big.length);
      exchange.getResponseBody().write(big);
      exchange.close();
    });
    server.start();
    String routes = """
        docker: {enabled: false}
        routes:
          - {path_prefix: /big, backend: big}
        backends:
          - {name: big, targets: ["http://127.0.0.1:%d"]}
        """.formatted(server.getAddress().getPort());
    try (GatewayHarness gateway = new GatewayHarness(dir, "  h2c: true\n", routes, 2);
        Connection c = new Connection(gateway.port(), new byte[] {0, 4, 0, 0, 0x40, 0})) { // INITIAL_WINDOW_SIZE 16384
      long[] received = new long[1];
      int[] frames = new int[1];
      CountDownLatch done = new CountDownLatch(1);
      c.onFrame = f -> {
        if (f[0] != DATA || f[1] != 1) {
          return;
        }
        received[0] += f[3];
        frames[0]++;
        ByteArrayOutputStream msg = new ByteArrayOutputStream();
        try {
          if (f[3] > 0) {
            frame(msg, WINDOW_UPDATE, 0, 1, increment(f[3]));
            frame(msg, WINDOW_UPDATE, 0, 0, increment(f[3]));
          }
          frame(msg, PING, 0, 0, new byte[8]);
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
        c.send(msg);
        if ((f[2] & 0x1) != 0) {
          done.countDown();
        }
      };
      ByteArrayOutputStream msg = new ByteArrayOutputStream();
      frame(msg, HEADERS, 0x5, 1, headers("GET", "/big/file"));
      c.send(msg);
      assertTrue(done.await(60, TimeUnit.SECONDS) || c.closed.getCount() == 0, "answer not over: " + received[0]);
      assertFalse(c.any(f -> f[0] == GOAWAY || f[0] == RST_STREAM), "no GOAWAY, no reset; " + c.frames());
      assertEquals(big.length, received[0], "the whole answer, in " + frames[0] + " DATA frames");
      assertTrue(frames[0] > 1000, "over 3000 frames of the client's: " + frames[0] + " DATA frames");
    } finally {
      server.stop(0);
    }
  }

  /**
   * A stream WINDOW_UPDATE that takes the stream's window past 2^31-1 while its request waits on the backend: the
   * stream is reset with FLOW_CONTROL_ERROR (RFC 9113 §6.9.1), the connection goes on, the backend's request is
   * cancelled (when it had left), and the request is counted once in /stats and the access log: over h2c and TLS,
   * with the request at the backend (one that answers later, one that never reads), just sent, or its body still
   * open; the real jar, the tries outside the circuit breaker (as they run once an instance's startup grace is over).
   * Before, with the request at the backend, the stream's RST_STREAM said NO_ERROR: the gateway's own reset of its
   * answer, the try given up for the client, went before the codec's.
   */
  @ParameterizedTest
  @ValueSource(strings = {"at the backend", "at once", "its body open", "tls at the backend", "at a backend that never answers",
      "tls at a backend that never answers"})
  void aStreamWindowOverflowResetsTheStreamWithFlowControlError(String how) throws Exception {
    Path log = dir.resolve("access.json");
    boolean tls = how.startsWith("tls ");
    String when = tls ? how.substring(4) : how;
    String listener = "";
    if (tls) {
      TestCerts.Pem pem = TestCerts.selfSigned(Files.createDirectories(dir.resolve("certs")), "gateway");
      listener = "  tls: {cert_file: \"%s\", key_file: \"%s\"}\n".formatted(pem.cert(), pem.key());
    }
    backend.clear();
    boolean silent = when.endsWith("never answers");
    String routes = """
        docker: {enabled: false}
        access_log: {enabled: true, format: json, path: "%s"}
        routes:
          - {path_prefix: /up, backend: up}
          - {path_prefix: /silent, backend: silent}
        backends:
          - {name: up, targets: ["http://127.0.0.1:%d"], circuit_breaker: {startup_grace_ms: 0}}
          - {name: silent, targets: ["http://127.0.0.1:%d"], circuit_breaker: {startup_grace_ms: 0}}
        """; // (no grace: the try runs outside the breaker, as it does for good once the grace is over)
    try (java.net.ServerSocket quiet = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        GatewayJar gateway = new GatewayJar(dir, tls ? listener : "  h2c: true\n",
            routes.formatted(log, backend.port(), quiet.getLocalPort()), 2);
        Connection c = new Connection(tls ? RawHttp2.tls(gateway.port(), "h2") : new Socket("127.0.0.1", gateway.port()),
            new byte[0], first(when, silent))) {
      ByteArrayOutputStream msg = new ByteArrayOutputStream();
      int cutBefore = backend.unanswered();
      Socket held = null;
      if (silent) {
        quiet.setSoTimeout(5_000);
        held = quiet.accept(); // the backend takes the connection, the request comes, nothing ever answers it
        Thread.sleep(300);
      } else if (!when.equals("at once")) {
        Poll.until(Duration.ofSeconds(5), "the request at the backend", () -> when.equals("its body open")
            || backend.waiting() == 1);
        Thread.sleep(200);
      }
      msg.reset();
      frame(msg, WINDOW_UPDATE, 0, 1, increment(0x7fffffff));
      frame(msg, HEADERS, 0x5, 3, headers("GET", "/up/after"));
      c.send(msg);
      Poll.until(Duration.ofSeconds(5), "stream 3 answered; " + c.frames(),
          () -> c.any(f -> f[0] == DATA && f[1] == 3 && (f[2] & 1) != 0));
      assertTrue(c.any(f -> f[0] == RST_STREAM && f[1] == 1), "stream 1 reset; " + c.frames());
      assertTrue(c.any(f -> f[0] == RST_STREAM && f[1] == 1 && f[2] == FLOW_CONTROL_ERROR),
          "stream 1 reset with FLOW_CONTROL_ERROR; " + c.frames());
      assertFalse(c.any(f -> f[0] == RST_STREAM && f[1] == 1 && f[2] != FLOW_CONTROL_ERROR),
          "no other reset of stream 1; " + c.frames());
      assertFalse(c.any(f -> f[0] == GOAWAY), "no GOAWAY; " + c.frames());
      Thread.sleep(300);
      if (held != null) {
        held.setSoTimeout(5_000);
        java.io.InputStream in = held.getInputStream();
        while (in.read(new byte[4096]) >= 0) { // the request's bytes, then the close: the request was cancelled
        }
        held.close();
      } else {
        boolean reached = backend.waiting() == 2; // /up/never (unless refused before it left) and /up/after
        Poll.until(Duration.ofSeconds(5), "the backend's request cancelled (" + backend.waiting() + " at the backend)",
            () -> !reached || backend.unanswered() > cutBefore);
      }
      Poll.until(Duration.ofSeconds(5), "two lines logged", () -> lines(log).size() == 2);
      Thread.sleep(300);
      if (!tls) { // (the test's client asks /stats over plain HTTP)
        assertEquals(2, gateway.statsTotal(), "each request counted once: " + gateway.stats());
      }
      List<String> lines = lines(log);
      assertEquals(2, lines.size(), "one line each: " + lines);
      String path = silent ? "/silent/x" : "/up/never";
      assertTrue(lines.stream().anyMatch(l -> path.equals(new JsonObject(l).getString("path"))), lines.toString());
    }
  }

  /**
   * An HTTP/2 header list over {@code max_header_bytes}: Netty's codec answers 431 on the stream before any request
   * exists; the gateway counts it in /stats (an error) and writes its access-log line (status 431, protocol HTTP/2)
   * as it does for the HTTP/1 431; the connection goes on. Before, neither.
   */
  @Test
  void anHttp2HeaderListOverTheLimitIsCountedAndLogged() throws Exception {
    Path log = dir.resolve("access.json");
    try (GatewayHarness gateway = start("  max_header_bytes: 2048\n",
        "access_log: {enabled: true, format: json, path: \"%s\"}\n".formatted(log));
        Connection c = new Connection(gateway.port(), new byte[0])) {
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      head.write(headers("GET", "/up/big"));
      head.write(RawHttp2.literal("x-big", "a".repeat(2100))); // over 2048, under Netty's GOAWAY size (2560)
      ByteArrayOutputStream msg = new ByteArrayOutputStream();
      frame(msg, HEADERS, 0x5, 1, head.toByteArray());
      frame(msg, HEADERS, 0x5, 3, headers("GET", "/up/after"));
      c.send(msg);
      Poll.until(Duration.ofSeconds(5), "stream 3 answered; " + c.frames(),
          () -> c.any(f -> f[0] == DATA && f[1] == 3 && (f[2] & 1) != 0));
      assertTrue(c.any(f -> f[0] == HEADERS && f[1] == 1), "stream 1 answered (431); " + c.frames());
      Poll.until(Duration.ofSeconds(5), "both counted: " + gateway.stats(), () -> gateway.statsTotal() == 2);
      JsonObject counts = gateway.stats().getJsonObject("requests_count");
      assertEquals(1, counts.getLong("error"), "the 431 is an error: " + counts);
      Poll.until(Duration.ofSeconds(5), "two lines logged", () -> lines(log).size() == 2);
      JsonObject refused = lines(log).stream().map(JsonObject::new).filter(l -> l.getInteger("status") == 431)
          .findFirst().orElseThrow(() -> new AssertionError("no 431 line: " + lines(log)));
      assertEquals("HTTP/2", refused.getString("protocol"), refused.encode());
      assertEquals("/up/after", backend.take().uri());
      assertEquals(0, backend.count(), "the refused request never reached the backend");
    }
  }

  /** The request on stream 1, sent with the connection's preface. */
  private static byte[] first(String when, boolean silent) throws IOException {
    ByteArrayOutputStream msg = new ByteArrayOutputStream();
    boolean body = when.startsWith("its body");
    frame(msg, HEADERS, body ? 0x4 : 0x5, 1, headers(body ? "POST" : "GET", silent ? "/silent/x" : "/up/never"));
    if (body) {
      frame(msg, DATA, 0, 1, new byte[10]);
    }
    return msg.toByteArray();
  }

  static List<String> lines(Path log) {
    try {
      return Files.exists(log) ? Files.readAllLines(log).stream().filter(l -> !l.isBlank()).toList() : List.of();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
