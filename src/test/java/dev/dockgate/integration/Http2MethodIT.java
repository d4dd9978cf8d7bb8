package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static dev.dockgate.testing.RawHttp2.DATA;
import static dev.dockgate.testing.RawHttp2.GOAWAY;
import static dev.dockgate.testing.RawHttp2.HEADERS;
import static dev.dockgate.testing.RawHttp2.RST_STREAM;
import static dev.dockgate.testing.RawHttp2.SETTINGS;
import static dev.dockgate.testing.RawHttp2.describe;
import static dev.dockgate.testing.RawHttp2.frame;
import static dev.dockgate.testing.RawHttp2.headers;

import dev.dockgate.testing.Backends;
import dev.dockgate.testing.GatewayJar;
import dev.dockgate.testing.RawHttp2;
import dev.dockgate.testing.TestBackend;
import dev.dockgate.testing.TestCerts;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * An HTTP/2 request whose {@code :method} is not a token (RFC 9110 §9.1), sent as raw frames over h2c and over TLS
 * (ALPN h2) to the real fat jar: that stream is refused with RST_STREAM (PROTOCOL_ERROR, RFC 9113 §8.1.1), never
 * reaches the backend, and the connection goes on: a valid request on the next stream of the same connection is
 * answered, and no GOAWAY comes. (Before, the gateway closed the whole connection without a GOAWAY.)
 */
@Timeout(120)
class Http2MethodIT {

  @RegisterExtension
  static final Backends backends = new Backends();
  static TestBackend backend;
  @TempDir
  static Path dir;
  static GatewayJar h2c;
  static GatewayJar tls;
  /** Started by the first test that needs it: a default_response of 204. */
  static GatewayJar noContent;

  @BeforeAll
  static void start() throws Exception {
    backend = backends.start("up");
    String routes = backend.upRoute() + "default_response: {status_code: 404, body: \"Not Found\"}\n";
    h2c = new GatewayJar(java.nio.file.Files.createDirectories(dir.resolve("h2c")), "  h2c: true\n", routes, 2);
    TestCerts.Pem pem = TestCerts.selfSigned(java.nio.file.Files.createDirectories(dir.resolve("certs")), "gateway");
    tls = new GatewayJar(java.nio.file.Files.createDirectories(dir.resolve("tls")), "  tls: {cert_file: \"%s\", key_file: \"%s\"}\n".formatted(pem.cert(), pem.key()),
        routes, 2);
  }

  @AfterAll
  static void stop() {
    for (GatewayJar g : new GatewayJar[] {h2c, tls, noContent}) {
      if (g != null) {
        g.close();
      }
    }
  }

  @BeforeEach
  void clear() {
    backend.clear();
  }

  @ParameterizedTest(name = "[{index}] {0} :method \"{1}\"")
  @CsvSource(delimiter = '|', value = {
      "h2c | GET /up/smuggled", "h2c | G(T", "h2c | ''", "h2c | 'GET\t'",
      "tls | GET /up/smuggled", "tls | G(T", "tls | ''"})
  void aMethodThatIsNotATokenResetsItsStreamOnly(String transport, String method) throws Exception {
    refusedAloneThenNextAnswered(transport, method, "/up/bad");
  }

  /**
   * RFC 9113 §8.3.1: an http(s) request's {@code :path} is the origin form ({@code /...}), or {@code *} for OPTIONS;
   * an absolute URL or a relative path there makes the request malformed: RST_STREAM, as nginx and Envoy refuse it.
   * (Before, {@code http://elsewhere.example/up/x} was forwarded as {@code /up/x} and {@code up/x} got a 400 answer.)
   */
  @ParameterizedTest(name = "[{index}] {0} :path \"{1}\"")
  @CsvSource(delimiter = '|', value = {
      "h2c | http://elsewhere.example/up/abs", "h2c | up/relative", "tls | https://elsewhere.example/up/abs"})
  void aPathNotInOriginFormResetsItsStreamOnly(String transport, String path) throws Exception {
    refusedAloneThenNextAnswered(transport, "GET", path);
  }

  /**
   * A {@code :path} with a space, a control byte or a byte outside ASCII is no URI (RFC 3986; RFC 9113 §8.3.1): the
   * request is malformed, its stream reset with PROTOCOL_ERROR, as the strict HTTP/1 decoder answers such a target
   * 400. Before, a space reached the backend client, whose HTTP/1 encoder threw: a SEVERE "Unhandled exception" with
   * its stack trace, the stream unanswered until {@code timeout_ms} gave 504, each counted against the instance's
   * circuit (six such requests opened it: 503 for every client) and the backend connection taken for it never
   * closed nor pooled again; a non-ASCII byte was forwarded, re-encoded as UTF-8.
   */
  @ParameterizedTest(name = "[{index}] {0} :path \"{1}\"")
  @CsvSource(delimiter = '|', value = {
      "h2c | '/up/a b'", "h2c | '/up/x?q=1 HTTP/1.1'", "h2c | /up/caf\u00e9", "h2c | /up/a\u007fb",
      "tls | '/up/a b'", "tls | /up/caf\u00e9"})
  void aPathWithASpaceOrAByteOutsideAsciiResetsItsStreamOnly(String transport, String path) throws Exception {
    GatewayJar gateway = "tls".equals(transport) ? tls : h2c;
    String before = gateway.output();
    refusedAloneThenNextAnswered(transport, "GET", path);
    String logged = gateway.output().substring(before.length());
    assertFalse(logged.contains("SEVERE"), "logged as an error: " + logged);
  }

  /**
   * A field value ending with a space or a tab makes the request malformed (RFC 9113 §8.2.1, as nghttp2 refuses it):
   * its stream is reset with PROTOCOL_ERROR, nothing of it reaches the backend. Before, it was forwarded (a leading
   * space was already refused, by Netty).
   */
  @ParameterizedTest(name = "[{index}] {0} value \"{1}\"")
  @CsvSource(delimiter = '|', value = {"h2c | 'a b '", "h2c | 'a\tb\t'", "tls | 'trailing '"})
  void aFieldValueEndingWithWhitespaceResetsItsStreamOnly(String transport, String value) throws Exception {
    refusedAloneThenNextAnswered(transport, headers("GET", "/up/x", "x-note", value));
  }

  /**
   * An {@code :authority} (or, without one, a {@code host} field) naming an IPv6 address with a zone id is malformed,
   * as the strict HTTP/1 decoder answers such a Host or target 400: RFC 3986 and RFC 9110 hosts have no zone id. Its
   * stream is reset with PROTOCOL_ERROR; it was forwarded.
   */
  @ParameterizedTest(name = "[{index}] {0} {1} \"{2}\"")
  @CsvSource(delimiter = '|', value = {
      "h2c | :authority | [fe80::1%25eth0]", "h2c | :authority | [fe80::1%eth0]:443", "h2c | host | [fe80::1%25eth0]",
      "tls | :authority | [fe80::1%25eth0]"})
  void anAuthorityWithAnIpv6ZoneResetsItsStreamOnly(String transport, String field, String authority) throws Exception {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    for (String[] f : new String[][] {{":method", "GET"}, {":scheme", "https"}, {":path", "/up/zone"}, {field, authority}}) {
      head.write(RawHttp2.literal(f[0], f[1]));
    }
    refusedAloneThenNextAnswered(transport, head.toByteArray());
  }

  /**
   * An answer the gateway makes itself (the default response, "Not Found"; /stats and liveness, the gateway's own
   * endpoints on the main port; a 503 for a backend that cannot be reached) to a HEAD request, or with a status
   * that has no content (a {@code default_response} of 204), goes as a head alone, its stream ended with it or by an
   * empty DATA frame (RFC 9110 §9.3.2, §15.3.5; RFC 9113 §8.1.1: content there makes the response malformed).
   * Before, HTTP/2 streams got the body's DATA frame after the head: clients reset the stream with PROTOCOL_ERROR
   * (curl: "stream 1 was not closed cleanly"), so {@code curl -I} of an unrouted path failed over h2 (HTTP/1 answers
   * were right: Vert.x's HTTP/1 response leaves such bodies out itself).
   */
  @ParameterizedTest(name = "[{index}] {0} {1} {2}")
  @CsvSource(delimiter = '|', value = {"h2c | HEAD | /nowhere", "tls | HEAD | /nowhere", "h2c204 | GET | /nowhere",
      "h2c204 | HEAD | /nowhere", "h2c | HEAD | /stats", "tls | HEAD | /health/live", "h2c | HEAD | /stats?scope=x",
      "h2c204 | HEAD | /down/x"})
  void aGatewaysOwnAnswerWithoutContentSendsNoData(String transport, String method, String path) throws Exception {
    if ("h2c204".equals(transport) && noContent == null) {
      noContent = new GatewayJar(java.nio.file.Files.createDirectories(dir.resolve("h2c204")), "  h2c: true\n", """
          docker: {enabled: false}
          routes:
            - {path_prefix: /up, backend: up}
            - {path_prefix: /down, backend: down}
          backends:
            - {name: up, targets: ["http://127.0.0.1:%d"]}
            - {name: down, targets: ["http://127.0.0.1:%d"]}
          default_response: {status_code: 204, body: "Not Found"}
          """.formatted(backend.port(), dev.dockgate.testing.Ports.free()), 1);
    }
    GatewayJar gateway = "tls".equals(transport) ? tls : "h2c".equals(transport) ? h2c : noContent;
    try (Socket socket = "tls".equals(transport) ? tls(tls.port()) : new Socket("127.0.0.1", gateway.port())) {
      socket.setSoTimeout(10_000);
      ByteArrayOutputStream msg = new ByteArrayOutputStream();
      msg.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      frame(msg, SETTINGS, 0, 0, new byte[0]);
      frame(msg, HEADERS, 0x5, 1, headers(method, path));
      frame(msg, HEADERS, 0x5, 3, headers("GET", "/up/ok"));
      socket.getOutputStream().write(msg.toByteArray());
      socket.getOutputStream().flush();
      List<int[]> seen = new ArrayList<>();
      DataInputStream in = new DataInputStream(socket.getInputStream());
      // Both streams' ends: stream 1's answer may come after stream 3's (a 503 waits for the refused connect).
      while (seen.stream().noneMatch(f -> f[0] == DATA && f[1] == 3 && (f[2] & 0x1) != 0)
          || seen.stream().noneMatch(f -> (f[0] == HEADERS || f[0] == DATA || f[0] == RST_STREAM) && f[1] == 1
              && (f[0] == RST_STREAM || (f[2] & 0x1) != 0))) {
        readFrame(in, seen);
      }
      assertTrue(seen.stream().anyMatch(f -> f[0] == HEADERS && f[1] == 1), "stream 1 answered: " + describe(seen));
      assertTrue(seen.stream().anyMatch(f -> (f[0] == HEADERS || f[0] == DATA) && f[1] == 1 && (f[2] & 0x1) != 0),
          "stream 1 ended: " + describe(seen));
      assertFalse(seen.stream().anyMatch(f -> f[0] == DATA && f[1] == 1 && f[3] > 0),
          "no content on stream 1: " + describe(seen));
    }
  }

  /** Stream 1 ({@code method}, {@code path}) gets RST_STREAM PROTOCOL_ERROR, stream 3 (GET /up/ok) its answer, no GOAWAY. */
  private void refusedAloneThenNextAnswered(String transport, String method, String path) throws Exception {
    refusedAloneThenNextAnswered(transport, headers(method, path));
  }

  /** Stream 1 (this head) gets RST_STREAM PROTOCOL_ERROR, stream 3 (GET /up/ok) its answer, no GOAWAY. */
  private void refusedAloneThenNextAnswered(String transport, byte[] head) throws Exception {
    try (Socket socket = "tls".equals(transport) ? tls(tls.port()) : new Socket("127.0.0.1", h2c.port())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      ByteArrayOutputStream msg = new ByteArrayOutputStream();
      msg.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      frame(msg, SETTINGS, 0, 0, new byte[0]);
      frame(msg, HEADERS, 0x5, 1, head);
      frame(msg, HEADERS, 0x5, 3, headers("GET", "/up/ok"));
      out.write(msg.toByteArray());
      out.flush();

      List<int[]> seen = new ArrayList<>(); // {type, stream, detail}
      DataInputStream in = new DataInputStream(socket.getInputStream());
      boolean answered = false;
      while (!answered) {
        int[] f = readFrame(in, seen);
        answered = f[0] == DATA && f[1] == 3 && (f[2] & 0x1) != 0;
      }
      assertTrue(seen.stream().anyMatch(f -> f[0] == RST_STREAM && f[1] == 1 && f[2] == 1),
          "stream 1 reset with PROTOCOL_ERROR: " + describe(seen));
      assertTrue(seen.stream().anyMatch(f -> f[0] == HEADERS && f[1] == 3), "stream 3 answered: " + describe(seen));
      assertFalse(seen.stream().anyMatch(f -> f[0] == GOAWAY || f[0] == HEADERS && f[1] == 1),
          "no GOAWAY, no answer on stream 1: " + describe(seen));
    }
    assertEquals("/up/ok", backend.take().uri(), "only the valid request reached the backend");
    Thread.sleep(200);
    assertEquals(0, backend.count(), "the refused request never reached the backend");
  }

  /**
   * A client that negotiated HTTP/2 (ALPN h2, or an h2c prior-knowledge preface) and then breaks the connection
   * preface or its first SETTINGS frame gets a GOAWAY and the connection closes; the gateway notes it at FINE, as
   * it does other HTTP/2 connection errors, never as SEVERE or with a stack trace (before: a SEVERE line from
   * Vert.x's ConnectionBase for each, and for an HTTP/1 request on an h2 connection a WARNING with a stack trace).
   */
  @ParameterizedTest(name = "[{index}] {0} {1}")
  @CsvSource(delimiter = '|', value = {
      "tls | newlines instead of the preface", "tls | an HTTP/1.1 request", "h2c | a SETTINGS frame with a bad value",
      "h2c | a PING before SETTINGS"})
  void aBrokenConnectionPrefaceGetsAGoawayAndNoSevereLog(String transport, String what) throws Exception {
    String before = ("tls".equals(transport) ? tls : h2c).output();
    byte[] preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    ByteArrayOutputStream msg = new ByteArrayOutputStream();
    switch (what) {
      case "newlines instead of the preface" -> msg.write("\n".repeat(30).getBytes(StandardCharsets.US_ASCII));
      case "an HTTP/1.1 request" ->
          msg.write("GET /up/x HTTP/1.1\r\nHost: a\r\n\r\n\n\n\n\n\n\n\n\n\n".getBytes(StandardCharsets.US_ASCII));
      case "a SETTINGS frame with a bad value" -> {
        msg.write(preface);
        frame(msg, SETTINGS, 0, 0, new byte[] {0, 5, 0, 0, 0, 10}); // SETTINGS_MAX_FRAME_SIZE 10 (< 16384)
      }
      default -> {
        msg.write(preface);
        frame(msg, 6, 0, 0, new byte[8]); // PING: the first frame must be SETTINGS
      }
    }
    try (Socket socket = "tls".equals(transport) ? tls(tls.port()) : new Socket("127.0.0.1", h2c.port())) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(msg.toByteArray());
      socket.getOutputStream().flush();
      List<int[]> seen = new ArrayList<>();
      DataInputStream in = new DataInputStream(socket.getInputStream());
      try {
        while (seen.stream().noneMatch(f -> f[0] == GOAWAY)) {
          readFrame(in, seen);
        }
      } catch (AssertionError closed) {
        throw new AssertionError("no GOAWAY: " + describe(seen), closed);
      }
    }
    GatewayJar gateway = "tls".equals(transport) ? tls : h2c;
    Thread.sleep(300); // what the gateway logs about it comes on its event loop, after the GOAWAY
    String logged = gateway.output().substring(before.length());
    assertFalse(logged.contains("SEVERE") || logged.contains("WARNING"), "logged as a problem: " + logged);
    if (gateway == h2c) {
      assertEquals(200, gateway.get("/up/after").statusCode(), "the gateway serves on");
    }
  }

  /** The next frame (see {@link RawHttp2#readFrame}); the connection's end or silence fails the test. */
  private static int[] readFrame(DataInputStream in, List<int[]> seen) throws IOException {
    try {
      return RawHttp2.readFrame(in, seen);
    } catch (EOFException | SocketTimeoutException e) {
      throw new AssertionError("the connection " + (e instanceof EOFException ? "closed" : "went silent")
          + " before stream 3 was answered; frames: " + describe(seen), e);
    }
  }

  /** A TLS socket offering only h2 by ALPN. */
  private static Socket tls(int port) throws Exception {
    SSLSocket socket = RawHttp2.tls(port, "h2");
    assertEquals("h2", socket.getApplicationProtocol(), "the gateway chose HTTP/2 by ALPN");
    return socket;
  }
}
