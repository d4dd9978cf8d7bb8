package dev.dockgate.integration;

import static dev.dockgate.testing.RawHttp2.DATA;
import static dev.dockgate.testing.RawHttp2.GOAWAY;
import static dev.dockgate.testing.RawHttp2.HEADERS;
import static dev.dockgate.testing.RawHttp2.PING;
import static dev.dockgate.testing.RawHttp2.PREFACE;
import static dev.dockgate.testing.RawHttp2.SETTINGS;
import static dev.dockgate.testing.RawHttp2.describe;
import static dev.dockgate.testing.RawHttp2.frame;
import static dev.dockgate.testing.RawHttp2.headers;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.Backends;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.RawHttp;
import dev.dockgate.testing.RawHttp2;
import dev.dockgate.testing.TestBackend;
import dev.dockgate.testing.TestCerts;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * HTTP/2 client connections, over TLS (ALPN h2) and cleartext (h2c by prior knowledge), held by clients that never
 * send a request: they count in {@code max_connections} as HTTP/1.1 connections do, and are closed
 * {@code header_timeout_ms} after they opened (with a GOAWAY where the HTTP/2 connection exists), not after
 * {@code idle_timeout_ms}; one that sent a request keeps the idle timeout. Raw frames over real sockets, two router
 * instances.
 */
@Timeout(120)
class Http2EdgeIT {

  @RegisterExtension
  static final Backends backends = new Backends();
  static final TestBackend backend = backends.start("up");
  @TempDir
  Path dir;

  /** A gateway of two routers over TLS (ALPN h2 offered) or plain with h2c on; the caller closes it. */
  GatewayHarness start(String transport, String serverLines) {
    backend.clear();
    String listener = "  h2c: true\n";
    if ("tls".equals(transport)) {
      try {
        TestCerts.Pem pem = TestCerts.selfSigned(Files.createDirectories(dir.resolve("certs")), "gateway");
        listener = "  tls: {cert_file: \"%s\", key_file: \"%s\"}\n".formatted(pem.cert(), pem.key());
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
    return new GatewayHarness(dir, listener + serverLines, backend.upRoute(), 2);
  }

  /** A connection that asks for HTTP/2: ALPN h2 over TLS, a plain one for h2c (its preface, if any, comes later). */
  static Socket openHttp2(int port, String transport) throws Exception {
    if ("tls".equals(transport)) {
      SSLSocket socket = RawHttp2.tls(port, "h2");
      assertEquals("h2", socket.getApplicationProtocol(), "the gateway chose HTTP/2 by ALPN");
      return socket;
    }
    Socket socket = new Socket("127.0.0.1", port);
    socket.setSoTimeout(10_000);
    return socket;
  }

  /** What a client sends of a connection before going quiet: nothing, the preface, its SETTINGS, a request. */
  static byte[] opening(String what) throws IOException {
    ByteArrayOutputStream msg = new ByteArrayOutputStream();
    if (!"nothing".equals(what)) {
      msg.write(PREFACE);
    }
    if (what.contains("SETTINGS") || what.contains("request")) {
      frame(msg, SETTINGS, 0, 0, new byte[0]);
    }
    if (what.contains("request")) {
      frame(msg, HEADERS, 0x5, 1, headers("GET", "/up/h2"));
    }
    return msg.toByteArray();
  }

  /** How a connection ended: after how long (from {@code startNanos}), and the frames read until then. */
  record Ending(long ms, List<int[]> frames) {
    boolean goaway() {
      return frames.stream().anyMatch(f -> f[0] == GOAWAY);
    }
  }

  /**
   * Reads until the gateway closes the connection (at most {@code withinMs}), sending a PING every 200 ms of
   * silence when {@code ping}; fails if it is still open then.
   */
  static Ending readUntilClosed(Socket socket, long startNanos, long withinMs, boolean ping) throws IOException {
    List<int[]> seen = new ArrayList<>();
    socket.setSoTimeout(200);
    DataInputStream in = new DataInputStream(socket.getInputStream());
    while (true) {
      long ms = Duration.ofNanos(System.nanoTime() - startNanos).toMillis();
      if (ms > withinMs) {
        throw new AssertionError("still open after " + ms + " ms; frames: " + describe(seen));
      }
      try {
        RawHttp2.readFrame(in, seen);
      } catch (SocketTimeoutException quiet) {
        if (ping) {
          ByteArrayOutputStream msg = new ByteArrayOutputStream();
          frame(msg, PING, 0, 0, new byte[8]);
          try {
            socket.getOutputStream().write(msg.toByteArray());
          } catch (IOException closing) {
            // the gateway closed it meanwhile: the next read says so
          }
        }
      } catch (EOFException | SocketException closed) {
        return new Ending(Duration.ofNanos(System.nanoTime() - startNanos).toMillis(), seen);
      }
    }
  }

  /**
   * A connection that asked for HTTP/2 and sent no request head within {@code header_timeout_ms} (600 ms) of opening
   * is closed then, whatever it sent meanwhile (nothing, the preface, SETTINGS, PINGs), not after
   * {@code idle_timeout_ms} (5 s): with a GOAWAY once the gateway speaks HTTP/2 on it (over h2c, a connection that
   * sent nothing has not chosen HTTP/2 yet: it is just closed, as an HTTP/1.1 one is). Before, only those that sent
   * their SETTINGS were closed then (600 ms after those); the others after 5 s, and a TLS connection that never began
   * its handshake after Vert.x's 10 s handshake timeout.
   */
  @ParameterizedTest(name = "[{index}] {0} {1}")
  @CsvSource(delimiter = '|', value = {
      "tls | no TLS handshake", "tls | nothing", "tls | the preface", "tls | the preface and SETTINGS", "tls | the preface, SETTINGS and PINGs",
      "h2c | nothing", "h2c | the preface", "h2c | the preface and SETTINGS", "h2c | the preface, SETTINGS and PINGs"})
  void aConnectionWithoutARequestIsClosedAfterTheHeaderTimeout(String transport, String what) throws Exception {
    try (GatewayHarness gateway = start(transport, "  idle_timeout_ms: 5000\n  header_timeout_ms: 600\n")) {
      closedAfterTheHeaderTimeout(gateway.port(), transport, what);
    }
  }

  private static void closedAfterTheHeaderTimeout(int port, String transport, String what) throws Exception {
    long start = System.nanoTime();
    boolean handshake = !what.equals("no TLS handshake");
    try (Socket socket = handshake ? openHttp2(port, transport) : new Socket("127.0.0.1", port)) {
      socket.getOutputStream().write(handshake ? opening(what) : new byte[0]);
      socket.getOutputStream().flush();
      Ending end = readUntilClosed(socket, start, 4_000, what.contains("PING"));
      assertTrue(end.ms() >= 550 && end.ms() < 2_500,
          "closed " + end.ms() + " ms after it opened (header_timeout_ms 600, idle_timeout_ms 5000): " + describe(end.frames()));
      if (handshake && ("tls".equals(transport) || !"nothing".equals(what))) {
        assertTrue(end.goaway(), "a GOAWAY before the close: " + describe(end.frames()));
        int[] goaway = end.frames().stream().filter(f -> f[0] == GOAWAY).findFirst().orElseThrow();
        assertEquals(0, goaway[2], "GOAWAY with NO_ERROR: " + describe(end.frames()));
      }
    }
    assertEquals(0, backend.count());
    assertTrue(served(port, transport, "GET /up/after HTTP/1.1\r\nHost: a\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1)),
        "the gateway serves on");
  }

  /**
   * {@code max_connections} (3, two router instances) counts HTTP/2 connections from their opening, as HTTP/1.1
   * ones: with three held that sent no request (one silent, one after its preface, one after its SETTINGS), an
   * HTTP/1.1 connection and an HTTP/2 one with a request are both closed unserved; once one closes, a new
   * connection is served.
   */
  @ParameterizedTest
  @ValueSource(strings = {"tls", "h2c"})
  void http2ConnectionsCountInMaxConnections(String transport) throws Exception {
    try (GatewayHarness gateway = start(transport, "  idle_timeout_ms: 20000\n  header_timeout_ms: 20000\n  max_connections: 3\n")) {
      cappedWithThreeHeld(gateway.port(), transport);
    }
  }

  private static void cappedWithThreeHeld(int port, String transport) throws Exception {
    byte[] request = "GET /up/h1 HTTP/1.1\r\nHost: a\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
    List<Socket> held = new ArrayList<>();
    try {
      for (String what : List.of("nothing", "the preface", "the preface and SETTINGS")) {
        Socket socket = openHttp2(port, transport);
        held.add(socket);
        socket.getOutputStream().write(opening(what));
        socket.getOutputStream().flush();
      }
      Thread.sleep(300); // all three accepted, each by one of the routers
      assertFalse(served(port, transport, request), "an HTTP/1.1 connection beyond the cap is closed unserved");
      assertFalse(servedOverHttp2(port, transport), "an HTTP/2 connection beyond the cap is closed unserved");
      assertEquals(0, backend.count(), "nothing of the refused connections reached the backend");
      held.remove(0).close();
      Poll.until(Duration.ofSeconds(5), "a new connection served after one closed", () -> served(port, transport, request));
    } finally {
      for (Socket socket : held) {
        socket.close();
      }
    }
  }

  /** Whether an HTTP/1.1 request on a new connection (TLS offering http/1.1 by ALPN, or plain) gets its 200. */
  static boolean served(int port, String transport, byte[] request) {
    try (Socket socket = "tls".equals(transport) ? RawHttp2.tls(port, "http/1.1") : new Socket("127.0.0.1", port)) {
      socket.getOutputStream().write(request);
      return RawHttp.read(socket, 1, 200, 3_000).status() == 200;
    } catch (Exception refused) {
      return false; // closed during the handshake or before the request went out
    }
  }

  /** Whether a request over a new HTTP/2 connection is answered (or the connection at least kept open 3 s). */
  static boolean servedOverHttp2(int port, String transport) {
    Socket socket;
    try {
      socket = openHttp2(port, transport);
      socket.getOutputStream().write(opening("a request"));
      socket.getOutputStream().flush();
    } catch (Exception refused) {
      return false; // closed during the handshake or before the request went out
    }
    try (socket) {
      Ending end = readUntilClosed(socket, System.nanoTime(), 3_000, false);
      return end.frames().stream().anyMatch(f -> f[0] == HEADERS && f[1] == 1);
    } catch (AssertionError stillOpen) {
      return true;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /**
   * A connection that sent a request is closed by {@code idle_timeout_ms} (2 s) after its last stream, not by the
   * header timeout (600 ms): the header timeout is for connections that never sent a request.
   */
  @ParameterizedTest
  @ValueSource(strings = {"tls", "h2c"})
  void aConnectionThatSentARequestKeepsTheIdleTimeout(String transport) throws Exception {
    try (GatewayHarness gateway = start(transport, "  idle_timeout_ms: 2000\n  header_timeout_ms: 600\n");
        Socket socket = openHttp2(gateway.port(), transport)) {
      socket.getOutputStream().write(opening("a request"));
      socket.getOutputStream().flush();
      List<int[]> seen = new ArrayList<>();
      DataInputStream in = new DataInputStream(socket.getInputStream());
      while (seen.stream().noneMatch(f -> f[0] == DATA && f[1] == 1 && (f[2] & 0x1) != 0)) {
        RawHttp2.readFrame(in, seen);
      }
      long answered = System.nanoTime();
      Ending end = readUntilClosed(socket, answered, 5_000, false);
      assertTrue(end.ms() >= 1_500 && end.ms() < 4_000,
          "closed " + end.ms() + " ms after its answer (idle_timeout_ms 2000, header_timeout_ms 600)");
    }
    assertEquals("/up/h2", backend.take().uri());
  }
}
