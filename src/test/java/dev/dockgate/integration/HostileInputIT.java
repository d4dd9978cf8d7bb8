package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.Backends;
import dev.dockgate.testing.GatewayJar;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.RawHttp;
import dev.dockgate.testing.TestBackend;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Malformed and hostile requests, as raw bytes over plain sockets, to the real fat jar: request
 * smuggling variants, oversize heads, control bytes, absolute-form targets, path tricks, bad
 * methods and versions. One table; each case names its bytes, the status it must get and whether
 * the gateway must close the connection. Afterwards the gateway still serves, /stats counted every
 * answer once, no smuggled request reached the backend, and no absolute-form target was connected to. The table runs
 * against two listeners, one with {@code h2c: true} (cleartext HTTP/2 beside HTTP/1.1), whose HTTP/1.x connections
 * must be held to the same rules.
 */
@Timeout(300)
class HostileInputIT {

  /** The request a smuggling case hides behind its first one; the backend must never see it. */
  static final String SMUGGLED = "GET /up/smuggled HTTP/1.1\r\nHost: gw\r\n\r\n";

  @RegisterExtension
  static final Backends backends = new Backends();
  static TestBackend backend;
  /** Listens, but no route leads to it: absolute-form targets name it and must not reach it. */
  static TestBackend elsewhere;

  @TempDir
  static Path dir;
  /** A gateway the table is sent to, and the responses it sent: each one request it answered and must have counted. */
  record Listener(String name, GatewayJar gateway, AtomicLong answered) {
  }

  static final List<Listener> listeners = new ArrayList<>();

  @BeforeAll
  static void start() {
    backend = backends.start("up");
    elsewhere = backends.start("elsewhere");
    for (String h2c : List.of("", "  h2c: true\n")) {
      GatewayJar gateway = new GatewayJar(dir, """
            max_body_bytes: 1000
            max_header_bytes: 2048
            max_header_count: 50
            max_request_line_bytes: 512
            body_timeout_ms: 1000
          """ + h2c, """
          docker: {enabled: false}
          routes:
            - {path_prefix: /up, backend: up}
          backends:
            - {name: up, targets: ["http://127.0.0.1:%d"]}
          default_response: {status_code: 404, body: "Not Found"}
          """.formatted(backend.port()), 2);
      listeners.add(new Listener(h2c.isEmpty() ? "h2c off" : "h2c on", gateway, new AtomicLong()));
    }
  }

  @AfterAll
  static void stop() {
    listeners.forEach(l -> l.gateway().close());
  }

  /**
   * One hostile request: its bytes, the status it must get (-1: no answer at all), whether the
   * connection must then be closed ({@code null}: either way), how many responses the bytes produce,
   * and how many bytes are written at a time (0: all at once).
   */
  record Case(String name, String request, int status, Boolean closed, int responses, int pieceSize) {
    static Case of(String name, String request, int status, Boolean closed) {
      return new Case(name, request, status, closed, status < 0 ? 0 : 1, 0);
    }

    /** The same bytes written a few at a time, so the gateway reads the head in many pieces. */
    Case inPieces(int size) {
      return new Case(name + " (in " + size + "-byte pieces)", request, status, closed, responses, size);
    }
  }

  static final Boolean CLOSED = true;
  static final Boolean OPEN = false;
  static final Boolean EITHER = null;

  /** The header lines of an h2c upgrade offer (RFC 7540 §3.2), with a client's settings (streams 100, window 65535). */
  static final String H2C_UPGRADE =
      "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n";

  static String post(String headers, String body) {
    return "POST /up/p HTTP/1.1\r\nHost: gw\r\n" + headers + "\r\n" + body;
  }

  static String get(String target) {
    return "GET " + target + " HTTP/1.1\r\nHost: gw\r\n\r\n";
  }

  static List<Case> cases() {
    String elsewhereHost = "127.0.0.1:" + elsewhere.port();
    List<Case> c = new ArrayList<>();
    // Framing: Content-Length and Transfer-Encoding that two parsers could read differently.
    c.add(Case.of("CL then TE chunked", post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
        "0\r\n\r\n" + SMUGGLED), 400, CLOSED));
    c.add(Case.of("TE chunked then CL", post("Transfer-Encoding: chunked\r\nContent-Length: 44\r\n",
        "0\r\n\r\n" + SMUGGLED), 400, CLOSED));
    c.add(Case.of("TE chunked with CL 0", post("Transfer-Encoding: chunked\r\nContent-Length: 0\r\n",
        "5\r\nhello\r\n0\r\n\r\n"), 400, CLOSED));
    c.add(Case.of("CL and TE in HTTP/1.0", "POST /up/p HTTP/1.0\r\nHost: gw\r\nContent-Length: 5\r\n"
        + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED, 400, CLOSED));
    c.add(Case.of("TE chunked in HTTP/1.0", "POST /up/p HTTP/1.0\r\nHost: gw\r\nConnection: keep-alive\r\n"
        + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED, 400, CLOSED));
    c.add(Case.of("two different CL", post("Content-Length: 5\r\nContent-Length: 44\r\n", "hello" + SMUGGLED),
        400, CLOSED));
    c.add(Case.of("two different CL in HTTP/1.0", "POST /up/p HTTP/1.0\r\nHost: gw\r\nContent-Length: 5\r\n"
        + "Content-Length: 44\r\n\r\nhello" + SMUGGLED, 400, CLOSED));
    c.add(Case.of("two equal CL", post("Content-Length: 5\r\nContent-Length: 5\r\n", "hello"), 400, CLOSED));
    c.add(Case.of("CL list in one field", post("Content-Length: 5, 44\r\n", "hello" + SMUGGLED), 400, CLOSED));
    c.add(Case.of("CL with plus sign", post("Content-Length: +5\r\n", "hello"), 400, CLOSED));
    c.add(Case.of("negative CL", post("Content-Length: -1\r\n", "hello"), 400, CLOSED));
    c.add(Case.of("CL not a number", post("Content-Length: 5x\r\n", "hello"), 400, CLOSED));
    c.add(Case.of("CL overflow", post("Content-Length: 99999999999999999999\r\n", "hello"), 400, CLOSED));
    c.add(Case.of("CL by obs-fold", post("Content-Length:\r\n 5\r\n", "hello"), 400, CLOSED));
    c.add(Case.of("TE chunked, identity", post("Transfer-Encoding: chunked, identity\r\n",
        "0\r\n\r\n" + SMUGGLED), 400, CLOSED));
    c.add(Case.of("TE identity", post("Transfer-Encoding: identity\r\nContent-Length: 5\r\n", "hello"),
        400, CLOSED));
    c.add(Case.of("TE xchunked", post("Transfer-Encoding: xchunked\r\n", "0\r\n\r\n" + SMUGGLED), 400, CLOSED));
    c.add(Case.of("TE xchunked with CL", post("Transfer-Encoding: xchunked\r\nContent-Length: 5\r\n",
        "0\r\n\r\n" + SMUGGLED), 400, CLOSED));
    c.add(Case.of("TE chunked twice", post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
        "0\r\n\r\n"), 400, CLOSED));
    c.add(Case.of("TE space before colon", post("Transfer-Encoding : chunked\r\nContent-Length: 5\r\n",
        "0\r\n\r\n" + SMUGGLED), 400, CLOSED));
    c.add(Case.of("TE by obs-fold", post("Transfer-Encoding:\r\n chunked\r\n", "0\r\n\r\n" + SMUGGLED),
        400, CLOSED));
    c.add(Case.of("TE after vertical tab", post("Transfer-Encoding:\u000bchunked\r\n", "0\r\n\r\n" + SMUGGLED),
        400, CLOSED));
    c.add(Case.of("chunk size not hex", post("Transfer-Encoding: chunked\r\n", "zz\r\nhello\r\n0\r\n\r\n"),
        400, CLOSED));
    c.add(Case.of("chunk size overflow", post("Transfer-Encoding: chunked\r\n",
        "fffffffffffffffff\r\nhello\r\n0\r\n\r\n"), 400, CLOSED));
    c.add(Case.of("negative chunk size", post("Transfer-Encoding: chunked\r\n", "-5\r\nhello\r\n0\r\n\r\n"),
        400, CLOSED));
    c.add(Case.of("chunk longer than its size", post("Transfer-Encoding: chunked\r\n",
        "3\r\nhello\r\n0\r\n\r\n"), 400, CLOSED));
    c.add(Case.of("chunk size line ends in bare LF", post("Transfer-Encoding: chunked\r\n",
        "5\nhello\r\n0\r\n\r\n"), 400, CLOSED));
    c.add(Case.of("final chunk missing, next request follows", post("Transfer-Encoding: chunked\r\n",
        "5\r\nhello\r\n" + SMUGGLED), 400, CLOSED));
    c.add(Case.of("final chunk never sent, connection kept alive", post("Transfer-Encoding: chunked\r\n",
        "5\r\nhello\r\n"), 408, CLOSED));
    c.add(Case.of("announced body cut short", post("Content-Length: 100\r\n", "hello"), 408, CLOSED));
    c.add(Case.of("bare LF line endings", "GET /up/lf HTTP/1.1\nHost: gw\n\n", 400, CLOSED));
    c.add(Case.of("bare CR in the request line", "GET /up/cr HTTP/1.1\rHost: gw\r\n\r\n", 400, CLOSED));
    c.add(Case.of("obs-fold header line", "GET /up/fold HTTP/1.1\r\nHost: gw\r\nX-A: one\r\n two\r\n\r\n",
        400, CLOSED));
    c.add(Case.of("obs-fold with a tab, last header line", "GET /up/fold HTTP/1.1\r\nHost: gw\r\nX-A: one\r\n\ttwo\r\n\r\n",
        400, CLOSED));
    c.add(Case.of("obs-fold of Host", "GET /up/fold HTTP/1.1\r\nHost:\r\n gw\r\n\r\n", 400, CLOSED).inPieces(7));
    c.add(Case.of("first header line indented", "GET /up/indent HTTP/1.1\r\n Host: gw\r\n\r\n", 400, CLOSED));
    // Sizes.
    c.add(Case.of("header block too large", "GET /up/big HTTP/1.1\r\nHost: gw\r\nX-Big: " + "h".repeat(3000)
        + "\r\n\r\n", 431, CLOSED));
    c.add(Case.of("too many header lines", "GET /up/many HTTP/1.1\r\nHost: gw\r\n"
        + "X-N: v\r\n".repeat(400) + "\r\n", 431, CLOSED));
    c.add(Case.of("more header lines than max_header_count, within the bytes", "GET /up/count HTTP/1.1\r\nHost: gw\r\n"
        + "X-N: v\r\n".repeat(60) + "\r\n", 431, CLOSED));
    c.add(Case.of("as many header lines as max_header_count", "GET /up/count HTTP/1.1\r\nHost: gw\r\n"
        + "X-N: v\r\n".repeat(49) + "\r\n", 200, OPEN));
    c.add(Case.of("request line too long", get("/up/" + "u".repeat(600)), 414, CLOSED));
    c.add(Case.of("absolute-form target too long", get("http://" + elsewhereHost + "/up/" + "u".repeat(600)),
        414, CLOSED));
    c.add(Case.of("announced body too large", post("Content-Length: 1001\r\n", "x".repeat(1001)), 413, CLOSED));
    c.add(Case.of("announced body too large, HTTP/1.0 kept alive", "POST /up/p HTTP/1.0\r\nHost: gw\r\n"
        + "Connection: keep-alive\r\nContent-Length: 1001\r\n\r\n" + "x".repeat(1001), 413, CLOSED));
    c.add(Case.of("chunked body too large", post("Transfer-Encoding: chunked\r\n",
        "258\r\n" + "x".repeat(600) + "\r\n258\r\n" + "x".repeat(600) + "\r\n0\r\n\r\n"), 413, CLOSED));
    // Control bytes and other bytes that have no place in a request head.
    c.add(Case.of("NUL in the target", get("/up/a\u0000b"), 400, CLOSED));
    c.add(Case.of("control byte in the target", get("/up/a\u0001b"), 400, CLOSED));
    c.add(Case.of("DEL in the target", get("/up/a\u007fb"), 400, CLOSED));
    c.add(Case.of("space in the target", get("/up/a b"), 400, CLOSED));
    c.add(Case.of("raw non-ASCII in the target", get("/up/caf\u00e9"), 400, CLOSED));
    c.add(Case.of("NUL in a header value", "GET /up/h HTTP/1.1\r\nHost: gw\r\nX-A: a\u0000b\r\n\r\n", 400, CLOSED));
    c.add(Case.of("CR in a header value", "GET /up/h HTTP/1.1\r\nHost: gw\r\nX-A: a\rb\r\n\r\n", 400, CLOSED));
    c.add(Case.of("BEL in a header value", "GET /up/h HTTP/1.1\r\nHost: gw\r\nX-A: a\u0007b\r\n\r\n", 400, CLOSED));
    c.add(Case.of("NUL in a header name", "GET /up/h HTTP/1.1\r\nHost: gw\r\nX-\u0000A: a\r\n\r\n", 400, CLOSED));
    c.add(Case.of("space in a header name", "GET /up/h HTTP/1.1\r\nHost: gw\r\nX A: a\r\n\r\n", 400, CLOSED));
    c.add(Case.of("header line without colon", "GET /up/h HTTP/1.1\r\nHost: gw\r\nX-A\r\n\r\n", 400, CLOSED));
    // A field name is a token of at least one character (RFC 9110 §5.1); Netty kept ": x" as a field named "" and the
    // backend got the line as it came (200 before).
    c.add(Case.of("header line without a name", "GET /up/h HTTP/1.1\r\nHost: gw\r\n: x\r\n\r\n", 400, CLOSED));
    c.add(Case.of("header line of colons, before Host", "GET /up/h HTTP/1.1\r\n:: x\r\nHost: gw\r\n\r\n", 400, CLOSED)
        .inPieces(3));
    c.add(Case.of("TLS ClientHello to the plain port", "\u0016\u0003\u0001\u0000\u00a5\u0001\u0000\u0000\u00a1"
        + "\u0003\u0003" + "r".repeat(32) + "\r\n\r\n", 400, CLOSED));
    // Absolute-form and authority-form targets never choose where the gateway connects.
    c.add(Case.of("absolute-form to another host", "GET http://" + elsewhereHost + "/up/abs HTTP/1.1\r\nHost: "
        + elsewhereHost + "\r\n\r\n", 200, EITHER));
    c.add(Case.of("absolute-form https to another host", "GET https://" + elsewhereHost + "/up/abs HTTP/1.1\r\n"
        + "Host: gw\r\n\r\n", 200, EITHER));
    c.add(Case.of("absolute-form with userinfo", "GET http://gw@" + elsewhereHost + "/up/abs HTTP/1.1\r\n"
        + "Host: gw\r\n\r\n", 400, CLOSED));
    c.add(Case.of("absolute-form with an empty authority", "GET http:///up/abs HTTP/1.1\r\nHost: gw\r\n\r\n",
        400, CLOSED));
    c.add(Case.of("CONNECT to another host", "CONNECT " + elsewhereHost + " HTTP/1.1\r\nHost: " + elsewhereHost
        + "\r\n\r\n", 400, EITHER));
    c.add(Case.of("asterisk-form GET", "GET * HTTP/1.1\r\nHost: gw\r\n\r\n", 400, EITHER));
    c.add(Case.of("relative target with a URL in its query", "GET x?u=http://" + elsewhereHost + "/up/abs HTTP/1.1\r\n"
        + "Host: gw\r\n\r\n", 400, CLOSED));
    c.add(Case.of("WebSocket upgrade with a body", "GET /up/ws HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\n"
        + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        + "Content-Length: 5\r\n\r\nhello", 400, EITHER));
    c.add(Case.of("CONNECT with a URL in its query", "CONNECT x?u=http://" + elsewhereHost + "/up/abs HTTP/1.1\r\n"
        + "Host: gw\r\n\r\n", 400, CLOSED));
    c.add(Case.of("relative target", "GET up/x HTTP/1.1\r\nHost: gw\r\n\r\n", 400, CLOSED));
    c.add(Case.of("scheme-less authority", "GET ://" + elsewhereHost + "/up/abs HTTP/1.1\r\nHost: gw\r\n\r\n",
        400, CLOSED));
    // Path tricks: normalised before matching, encoded separators refused.
    c.add(Case.of("%2e%2e out of the route", get("/up/%2e%2e/secret"), 404, EITHER));
    c.add(Case.of(".%2E twice out of the route", get("/up/.%2E/.%2e/secret"), 404, EITHER));
    c.add(Case.of("encoded slash", get("/up/%2fsecret"), 400, EITHER));
    c.add(Case.of("dots and encoded slash", get("/up/%2e%2e%2fsecret"), 400, EITHER));
    c.add(Case.of("dots and encoded backslash", get("/up/..%5csecret"), 400, EITHER));
    c.add(Case.of("raw backslashes", get("/up\\..\\secret"), 400, EITHER));
    c.add(Case.of("encoded NUL", get("/up/a%00b"), 400, EITHER));
    c.add(Case.of("fragment in the target", get("/up/a#/../../secret"), 400, CLOSED));
    c.add(Case.of("fragment after the query", get("/up/a?q=1#f"), 400, CLOSED));
    c.add(Case.of("double encoding stays literal", get("/up/%252e%252e/secret"), 200, EITHER));
    c.add(Case.of("overlong UTF-8 dots stay literal", get("/up/%c0%ae%c0%ae/secret"), 200, EITHER));
    // Methods and versions.
    c.add(Case.of("method with a separator", "G(T /up/m HTTP/1.1\r\nHost: gw\r\n\r\n", 400, CLOSED));
    c.add(Case.of("method with NUL", "GE\u0000T /up/m HTTP/1.1\r\nHost: gw\r\n\r\n", 400, CLOSED));
    c.add(Case.of("no method", " /up/m HTTP/1.1\r\nHost: gw\r\n\r\n", 400, CLOSED));
    c.add(Case.of("HTTP/2.0 on an HTTP/1 line", "GET /up/v HTTP/2.0\r\nHost: gw\r\n\r\n", 505, CLOSED));
    c.add(Case.of("HTTP/0.9 written out", "GET /up/v HTTP/0.9\r\nHost: gw\r\n\r\n", 505, CLOSED));
    c.add(Case.of("lower-case version", "GET /up/v http/1.1\r\nHost: gw\r\n\r\n", 400, CLOSED));
    c.add(Case.of("version with a suffix", "GET /up/v HTTP/1.1x\r\nHost: gw\r\n\r\n", 400, CLOSED));
    c.add(Case.of("version with a leading zero", "GET /up/v HTTP/01.1\r\nHost: gw\r\n\r\n", 400, CLOSED));
    c.add(Case.of("no version (HTTP/0.9)", "GET /up/v\r\n\r\n", 400, CLOSED));
    c.add(Case.of("HTTP/1.1 without Host", "GET /up/v HTTP/1.1\r\nX-A: a\r\n\r\n", 400, CLOSED));
    // Expectations: only 100-continue is known, and only from HTTP/1.1 on (RFC 9110 section 10.1.1).
    c.add(Case.of("an expectation other than 100-continue", post("Content-Length: 5\r\nExpect: 200-ok\r\n", "hello"),
        417, EITHER));
    c.add(Case.of("100-continue and another expectation", post("Content-Length: 5\r\nExpect: 100-continue, x=1\r\n",
        "hello"), 417, EITHER));
    c.add(Case.of("100-continue from an HTTP/1.0 client: no 1xx for it", "POST /up/p HTTP/1.0\r\nHost: gw\r\n"
        + "Content-Length: 5\r\nExpect: 100-continue\r\n\r\nhello", 200, EITHER));
    // An h2c upgrade offer the rules refuse is refused, not upgraded (on a listener with h2c on as on one without).
    c.add(Case.of("h2c upgrade with obs-fold", "GET /up/h2c HTTP/1.1\r\nHost: gw\r\n" + H2C_UPGRADE
        + "X-A: one\r\n two\r\n\r\n", 400, CLOSED));
    c.add(Case.of("h2c upgrade without Host", "GET /up/h2c HTTP/1.1\r\n" + H2C_UPGRADE + "\r\n", 400, CLOSED));
    c.add(Case.of("two Host headers", "GET /up/v HTTP/1.1\r\nHost: gw\r\nHost: evil\r\n\r\n", 400, CLOSED));
    c.add(Case.of("Host with userinfo", "GET /up/v HTTP/1.1\r\nHost: user@gw\r\n\r\n", 400, CLOSED));
    c.add(Case.of("Host with a space", "GET /up/v HTTP/1.1\r\nHost: g w\r\n\r\n", 400, CLOSED));
    // RFC 3986 and RFC 9110 hosts have no zone id (RFC 6874's is for a URI the client itself resolves), as nginx
    // refuses it in the target: it was forwarded.
    c.add(Case.of("absolute-form with an IPv6 zone", "GET http://[fe80::1%25eth0]/up/zone HTTP/1.1\r\nHost: gw\r\n\r\n",
        400, CLOSED));
    c.add(Case.of("absolute-form with a raw IPv6 zone", "GET http://[fe80::1%eth0]:80/up/zone HTTP/1.1\r\n"
        + "Host: gw\r\n\r\n", 400, CLOSED));
    c.add(Case.of("Host with an IPv6 zone", "GET /up/zone HTTP/1.1\r\nHost: [fe80::1%25eth0]\r\n\r\n", 400, CLOSED));
    c.add(Case.of("Host with a raw IPv6 zone and a port", "GET /up/zone HTTP/1.1\r\nHost: [fe80::1%eth0]:80\r\n\r\n",
        400, CLOSED));
    // Well-formed neighbours of the above: still served.
    c.add(Case.of("valid chunked body", post("Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
        200, OPEN));
    c.add(Case.of("Host an IPv6 literal", "GET /up/v6 HTTP/1.1\r\nHost: [fe80::1]:80\r\n\r\n", 200, OPEN));
    c.add(Case.of("absolute-form with an IPv6 literal", "GET http://[fe80::1]/up/v6 HTTP/1.1\r\nHost: gw\r\n\r\n",
        200, OPEN));
    c.add(Case.of("HTTP/1.2 read as HTTP/1.1", "GET /up/v HTTP/1.2\r\nHost: gw\r\n\r\n", 200, OPEN));
    c.add(Case.of("chunked spelt in capitals", post("Transfer-Encoding: CHUNKED\r\n", "5\r\nhello\r\n0\r\n\r\n"),
        200, OPEN));
    c.add(Case.of("empty line before the request line", "\r\n" + get("/up/lead"), 200, OPEN));
    c.add(new Case("two pipelined requests", get("/up/one") + get("/up/two"), 200, OPEN, 2, 0));
    c.add(new Case("a body then a pipelined request", post("Content-Length: 5\r\n", "hello") + get("/up/next"),
        200, OPEN, 2, 0));
    c.add(Case.of("empty lines and a head", "\r\n\r\n" + "GET /up/pieces HTTP/1.1\r\nHost: gw\r\nX-A: a b\r\n"
        + "X-B:\t b \r\n\r\n", 200, OPEN).inPieces(3));
    return c;
  }

  @TestFactory
  Stream<DynamicNode> hostileRequests() {
    List<Case> cases = cases();
    return listeners.stream().map(listener -> DynamicContainer.dynamicContainer(listener.name(), Stream.concat(
        cases.stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> check(listener, c))),
        Stream.of(DynamicTest.dynamicTest("afterwards", () -> afterwards(listener))))));
  }

  void check(Listener listener, Case c) {
    int before = backend.count();
    RawHttp.Exchange got = RawHttp.exchange(listener.gateway().port(), c.request().getBytes(StandardCharsets.ISO_8859_1),
        c.pieceSize(), Math.max(1, c.responses()), 300, 5_000);
    listener.answered().addAndGet(got.responses().size());
    String seen = listener.name() + ", " + c.name() + ": got " + got.responses().stream().map(RawHttp.Response::status).toList()
        + (got.closed() ? " closed" : " open") + "\n" + got.raw();
    assertEquals(c.status(), got.status(), seen);
    assertEquals(c.responses(), got.responses().size(), seen);
    if (c.closed() != null) {
      assertEquals(c.closed(), got.closed(), seen);
    }
    if (got.closed() && c.status() >= 400) {
      // RFC 9112 section 9.6: a refusal after which the gateway closes the connection says so.
      assertTrue(got.responses().get(got.responses().size() - 1).closes(), "closed without Connection: close: " + seen);
    }
    if (c.status() >= 400) {
      assertEquals(before, backend.count(), "refused, so nothing reached the backend: " + seen);
    }
  }

  void afterwards(Listener listener) {
    GatewayJar gateway = listener.gateway();
    assertEquals(200, gateway.get("/up/after").statusCode(), "still serves");
    long expected = listener.answered().get() + 1;
    Poll.until(Duration.ofSeconds(5), "/stats counts " + expected, () -> gateway.statsTotal() == expected);
    List<TestBackend.Received> received = new ArrayList<>();
    while (backend.count() > 0) {
      received.add(backend.take());
    }
    for (TestBackend.Received r : received) {
      assertTrue(r.uri().startsWith("/up/"), "forwarded under the route only: " + r.uri());
      assertTrue(!r.uri().contains("smuggled"), "a smuggled request reached the backend: " + r.uri());
    }
    assertEquals(0, elsewhere.count(), "an absolute-form target was connected to");
    assertEquals(expected, gateway.statsTotal(), "no answer counted twice");
    String log = gateway.output();
    assertTrue(!log.contains("SEVERE") && !log.contains("Exception"), "hostile input logged no error:\n" + log);
  }
}
