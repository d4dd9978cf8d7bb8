package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.RawHttp;
import dev.dockgate.testing.TestCerts;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Toward the backends: HTTPS with a CA, a server name and a client certificate, refused with 502
 * and one clear log line when the certificate does not check out; the Host header passed or
 * rewritten; retries on chosen statuses within an overall deadline; passive outlier ejection; a
 * pool per backend with a bounded wait queue and a short keep-alive; Expect: 100-continue.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UpstreamIT {

  @TempDir
  static Path certs;
  static TestCerts.Pem server;
  static TestCerts.Pem other;
  static TestCerts.Pem client;
  static final Vertx vertx = Vertx.vertx();
  static final List<HttpServer> servers = new CopyOnWriteArrayList<>();

  @TempDir
  Path dir;
  GatewayHarness gateway;

  @BeforeAll
  static void makeCertificates() {
    server = TestCerts.selfSigned(certs, "backend");
    other = TestCerts.selfSigned(certs, "other-ca");
    client = TestCerts.selfSigned(certs, "gateway-client");
  }

  @AfterEach
  void stopGateway() {
    if (gateway != null) {
      gateway.close();
    }
  }

  @AfterAll
  static void stopServers() {
    vertx.close();
  }

  static int serve(HttpServerOptions options, Handler<HttpServerRequest> handler) {
    try {
      HttpServer s = vertx.createHttpServer(options.setHost("127.0.0.1").setPort(0)).requestHandler(handler)
          .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      servers.add(s);
      return s.actualPort();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static int serve(Handler<HttpServerRequest> handler) {
    return serve(new HttpServerOptions(), handler);
  }

  static HttpServerOptions tls(boolean clientAuth) {
    HttpServerOptions options = new HttpServerOptions().setSsl(true)
        .setKeyCertOptions(new PemKeyCertOptions().setCertPath(server.cert().toString()).setKeyPath(server.key().toString()));
    if (clientAuth) {
      options.setClientAuth(ClientAuth.REQUIRED).setTrustOptions(new PemTrustOptions().addCertPath(client.cert().toString()));
    }
    return options;
  }

  /** Answers with what it saw: TLS or not, and the Host. */
  static final Handler<HttpServerRequest> WHO = req -> req.response()
      .end((req.isSSL() ? "tls " : "plain ") + req.getHeader("host"));

  /** The ProxyHandler's log lines while a test runs. */
  static final class Logged extends java.util.logging.Handler implements AutoCloseable {
    final List<String> lines = new CopyOnWriteArrayList<>();
    final Logger logger = Logger.getLogger("dev.dockgate.proxy.ProxyHandler");

    Logged() {
      logger.addHandler(this);
    }

    @Override
    public void publish(LogRecord record) {
      lines.add(record.getLevel() + " " + record.getMessage());
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
      logger.removeHandler(this);
    }
  }

  /**
   * A backend answering with a head larger than the gateway reads (a 10 KB header; nginx's default limit is 4 or
   * 8 KB): 502 to each client, and one WARNING line naming the backend, the instance and why (as nginx logs "upstream
   * sent too big header"). It was logged at FINE only: the operator saw 502s and no reason.
   */
  @Test
  void anAnswerHeadTooLargeIsA502AndOneWarningSayingWhy() throws Exception {
    io.vertx.core.net.NetServer big = bloatedHttp1();
    try {
      assertHeadTooLargeIsA502AndOneWarning(big.actualPort(), "http1");
    } finally {
      big.close();
    }
  }

  /** An HTTP/1.1 server answering every read with a 10 KB header, then "ok". */
  private io.vertx.core.net.NetServer bloatedHttp1() throws Exception {
    return vertx.createNetServer(new io.vertx.core.net.NetServerOptions().setHost("127.0.0.1").setPort(0))
        .connectHandler(socket -> socket.handler(bytes -> socket.write("HTTP/1.1 200 OK\r\nX-Big: " + "x".repeat(10_000)
            + "\r\nContent-Length: 2\r\n\r\nok")))
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** Three requests to the bloated backend at {@code port}: 502 each, and one WARNING naming it and why. */
  void assertHeadTooLargeIsA502AndOneWarning(int port, String protocol) {
    try (Logged log = new Logged()) {
      gateway = new GatewayHarness(dir, """
          docker: {enabled: false}
          routes:
            - {path_prefix: /, backend: bloated}
          backends:
            - {name: bloated, protocol: %s, targets: ["http://127.0.0.1:%d"], circuit_breaker: {max_failures: 100}}
          """.formatted(protocol, port), 1);
      for (int i = 0; i < 3; i++) {
        assertEquals(502, gateway.get("/x").statusCode());
      }
      List<String> warnings = log.lines.stream().filter(l -> l.startsWith("WARNING")).toList();
      assertEquals(1, warnings.size(), "one line per instance: " + log.lines);
      assertTrue(warnings.get(0).contains("\"bloated\"") && warnings.get(0).contains("127.0.0.1:" + port)
          && warnings.get(0).contains("head larger than the gateway reads"), warnings.get(0));
    }
  }

  /**
   * The WARNING is the instance's, not each router's: with two router instances, requests on new connections (so
   * that both routers see the bloated answers), then a reload that adds a route to the same backend and more
   * requests through both routes, one WARNING in all. Before, each router said it, and again after the reload (4).
   */
  @Test
  void anAnswerHeadTooLargeIsSaidOncePerInstanceAcrossRoutersAndReloads() throws Exception {
    io.vertx.core.net.NetServer big = bloatedHttp1();
    String yaml = """
        docker: {enabled: false}
        routes:
          - {path_prefix: /a, backend: bloated}
        %s
        backends:
          - {name: bloated, targets: ["http://127.0.0.1:%d"], circuit_breaker: {max_failures: 100}}
        """;
    try (Logged log = new Logged()) {
      gateway = new GatewayHarness(dir, yaml.formatted("", big.actualPort()), 2);
      for (int i = 0; i < 6; i++) {
        assertEquals(502, newConnectionStatus("/a/x"), "request " + i);
      }
      gateway.rewriteConfig(yaml.formatted("  - {path_prefix: /b, backend: bloated}", big.actualPort()));
      Poll.until(Duration.ofSeconds(10), "the reload applied",
          () -> newConnectionStatus("/b/x") == 502);
      for (int i = 0; i < 6; i++) {
        assertEquals(502, newConnectionStatus(i % 2 == 0 ? "/a/x" : "/b/x"), "request " + i + " after the reload");
      }
      List<String> warnings = log.lines.stream().filter(l -> l.startsWith("WARNING")).toList();
      assertEquals(1, warnings.size(), "one line per instance: " + warnings);
      assertTrue(warnings.get(0).contains("head larger than the gateway reads"), warnings.get(0));
    } finally {
      big.close();
    }
  }

  /**
   * A failed TLS handshake with an HTTPS instance (a certificate its CA file does not trust) is said in one WARNING for
   * the process, as a head too large is: with two router instances and a reload, each router said it, and again after
   * the reload.
   */
  @Test
  void aFailedHandshakeIsSaidOncePerInstanceAcrossRoutersAndReloads() throws Exception {
    int https = serve(tls(false), WHO);
    TestCerts.Pem stranger = TestCerts.forNames(dir, "stranger", "dns:stranger.test");
    String yaml = """
        docker: {enabled: false}
        routes:
          - {path_prefix: /a, backend: untrusted}
        %s
        backends:
          - name: untrusted
            targets: ["https://127.0.0.1:%d"]
            tls: {ca_file: "%s"}
            circuit_breaker: {max_failures: 100}
        """;
    try (Logged log = new Logged()) {
      gateway = new GatewayHarness(dir, yaml.formatted("", https, stranger.cert()), 2);
      for (int i = 0; i < 6; i++) {
        assertEquals(502, newConnectionStatus("/a/x"), "request " + i);
      }
      gateway.rewriteConfig(yaml.formatted("  - {path_prefix: /b, backend: untrusted}", https, stranger.cert()));
      Poll.until(Duration.ofSeconds(10), "the reload applied", () -> newConnectionStatus("/b/x") == 502);
      for (int i = 0; i < 6; i++) {
        assertEquals(502, newConnectionStatus(i % 2 == 0 ? "/a/x" : "/b/x"), "request " + i + " after the reload");
      }
      List<String> warnings = log.lines.stream().filter(l -> l.startsWith("WARNING")).toList();
      assertEquals(1, warnings.size(), "one line per instance: " + warnings);
      assertTrue(warnings.get(0).contains("certificate not trusted"), warnings.get(0));
    }
  }

  /** The status of a GET of {@code path} sent on a connection of its own (each may go to another router). */
  private int newConnectionStatus(String path) {
    RawHttp.Exchange got = RawHttp.exchange(gateway.port(),
        ("GET " + path + " HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1),
        1, 200, 5_000);
    return got.status();
  }

  /**
   * The same from an HTTP/2 backend (protocol: http2) whose HEADERS hold more than the gateway reads (a Node.js
   * http2 server sends what it is given): 502 to each client and the one WARNING saying why. It was a 502 with no
   * line at all.
   */
  @Test
  void anHttp2AnswerHeadTooLargeIsA502AndOneWarningSayingWhy() throws Exception {
    io.vertx.core.net.NetServer big = vertx.createNetServer(new io.vertx.core.net.NetServerOptions()
            .setHost("127.0.0.1").setPort(0))
        .connectHandler(UpstreamIT::bloatedHttp2)
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    try {
      assertHeadTooLargeIsA502AndOneWarning(big.actualPort(), "http2");
    } finally {
      big.close();
    }
  }

  /** A cleartext HTTP/2 server answering every stream with a 12,000-byte header, then "ok". */
  private static void bloatedHttp2(io.vertx.core.net.NetSocket socket) {
    io.vertx.core.buffer.Buffer pending = io.vertx.core.buffer.Buffer.buffer();
    int[] read = {0};
    boolean[] preface = {false};
    socket.write(frame(4, 0, 0, io.vertx.core.buffer.Buffer.buffer())); // our SETTINGS: none
    socket.handler(bytes -> {
      pending.appendBuffer(bytes);
      if (!preface[0]) {
        if (pending.length() < 24) {
          return;
        }
        preface[0] = true;
        read[0] = 24;
      }
      while (pending.length() - read[0] >= 9) {
        int at = read[0];
        int length = pending.getMedium(at);
        if (pending.length() - at < 9 + length) {
          return;
        }
        int type = pending.getByte(at + 3);
        int flags = pending.getByte(at + 4);
        int stream = pending.getInt(at + 5) & 0x7fffffff;
        read[0] = at + 9 + length;
        if (type == 4 && (flags & 1) == 0) {
          socket.write(frame(4, 1, 0, io.vertx.core.buffer.Buffer.buffer())); // SETTINGS ACK
        } else if (type == 1) {
          io.vertx.core.buffer.Buffer block = io.vertx.core.buffer.Buffer.buffer().appendByte((byte) 0x88); // :status 200
          block.appendByte((byte) 0); // a literal, new name, not indexed
          hpackLength(block, 5).appendString("x-big");
          hpackLength(block, 12_000).appendString("x".repeat(12_000));
          socket.write(frame(1, 4, stream, block)); // END_HEADERS
          socket.write(frame(0, 1, stream, io.vertx.core.buffer.Buffer.buffer("ok"))); // END_STREAM
        }
      }
    });
  }

  private static io.vertx.core.buffer.Buffer frame(int type, int flags, int stream, io.vertx.core.buffer.Buffer payload) {
    return io.vertx.core.buffer.Buffer.buffer().appendMedium(payload.length()).appendByte((byte) type)
        .appendByte((byte) flags).appendInt(stream).appendBuffer(payload);
  }

  /** An HPACK string length (7-bit prefix, no Huffman coding). */
  private static io.vertx.core.buffer.Buffer hpackLength(io.vertx.core.buffer.Buffer block, int length) {
    if (length < 127) {
      return block.appendByte((byte) length);
    }
    block.appendByte((byte) 127);
    int rest = length - 127;
    while (rest >= 128) {
      block.appendByte((byte) (rest % 128 + 128));
      rest /= 128;
    }
    return block.appendByte((byte) rest);
  }

  @Test
  void httpsBackendsAreVerifiedAgainstTheirCaAndNameAndMayNeedAClientCertificate() {
    int plain = serve(tls(false), WHO);
    int mutual = serve(tls(true), WHO);
    try (Logged log = new Logged()) {
      gateway = new GatewayHarness(dir, """
          docker: {enabled: false}
          routes:
            - {path_prefix: /ok, backend: ok}
            - {path_prefix: /wrong-ca, backend: wrong-ca}
            - {path_prefix: /wrong-name, backend: wrong-name}
            - {path_prefix: /mtls, backend: mtls}
            - {path_prefix: /no-cert, backend: no-cert}
          backends:
            - {name: ok, targets: ["https://127.0.0.1:%1$d"], tls: {ca_file: "%3$s"}}
            - {name: wrong-ca, targets: ["https://127.0.0.1:%1$d"], tls: {ca_file: "%4$s"}}
            - {name: wrong-name, targets: ["https://127.0.0.1:%1$d"], tls: {ca_file: "%3$s", server_name: api.internal}}
            - name: mtls
              targets: ["https://127.0.0.1:%2$d"]
              tls: {ca_file: "%3$s", cert_file: "%5$s", key_file: "%6$s"}
            - {name: no-cert, targets: ["https://127.0.0.1:%2$d"], tls: {ca_file: "%3$s"}}
          """.formatted(plain, mutual, server.cert(), other.cert(), client.cert(), client.key()), 1);
      HttpResponse<String> ok = gateway.get("/ok/a");
      assertEquals(200, ok.statusCode());
      assertEquals("tls 127.0.0.1:" + gateway.port(), ok.body(), "over TLS, with the client's Host");

      HttpResponse<String> wrongCa = gateway.get("/wrong-ca/a");
      assertEquals(502, wrongCa.statusCode(), "an unknown CA is never accepted");
      assertTrue(wrongCa.body().contains("TLS with backend \"wrong-ca\" failed"), wrongCa.body());
      assertEquals(502, gateway.get("/wrong-ca/b").statusCode());
      assertEquals(502, gateway.get("/wrong-name/a").statusCode(), "a certificate for another name is refused");
      assertEquals(200, gateway.get("/mtls/a").statusCode(), "the client certificate opens the mutual-TLS backend");
      assertEquals(502, gateway.get("/no-cert/a").statusCode());

      List<String> caLines = log.lines.stream().filter(l -> l.contains("\"wrong-ca\"")).toList();
      assertEquals(1, caLines.size(), "one line per instance, not per request: " + log.lines);
      assertTrue(caLines.get(0).startsWith("WARNING") && caLines.get(0).contains("127.0.0.1:" + plain)
          && caLines.get(0).contains("ca_file"), caLines.get(0));
    }
  }

  /**
   * A failed handshake with an HTTPS instance says why: in a few words to the client, in full in the instance's one
   * WARNING line, with what to check. An untrusted certificate, one for another name, an instance that speaks plain
   * HTTP and one that closes the connection during the handshake all said "Failed to create SSL connection" (Vert.x's
   * wrapper of the cause) and "check the backend's tls: ca_file, server_name", so the operator could not tell a
   * missing ca_file from an http port.
   */
  @Test
  void aFailedHandshakeWithAnHttpsInstanceSaysWhy() throws Exception {
    int https = serve(tls(false), WHO);
    int plain = serve(WHO);
    TestCerts.Pem stranger = TestCerts.forNames(dir, "stranger", "dns:stranger.test"); // no CA of the backend's name
    io.vertx.core.net.NetServer closer = vertx.createNetServer(new io.vertx.core.net.NetServerOptions()
            .setHost("127.0.0.1").setPort(0))
        .connectHandler(socket -> socket.handler(hello -> socket.close()))
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    try (Logged log = new Logged()) {
      gateway = new GatewayHarness(dir, """
          docker: {enabled: false}
          routes:
            - {path_prefix: /untrusted, backend: untrusted}
            - {path_prefix: /named, backend: named}
            - {path_prefix: /plain, backend: plain}
            - {path_prefix: /closer, backend: closer}
          backends:
            - {name: untrusted, targets: ["https://127.0.0.1:%1$d"], tls: {ca_file: "%4$s"}, connect_timeout_ms: 10000}
            - name: named
              targets: ["https://127.0.0.1:%1$d"]
              tls: {ca_file: "%5$s", server_name: api.internal}
              connect_timeout_ms: 10000
            - {name: plain, targets: ["https://127.0.0.1:%2$d"], tls: {ca_file: "%5$s"}, connect_timeout_ms: 10000}
            - {name: closer, targets: ["https://127.0.0.1:%3$d"], tls: {ca_file: "%5$s"}, connect_timeout_ms: 10000}
          """.formatted(https, plain, closer.actualPort(), stranger.cert(), server.cert()), 1);
      Map<String, List<String>> expected = Map.of(
          "untrusted", List.of("certificate not trusted", "unable to find valid certification path", "tls.ca_file"),
          "named", List.of("certificate for another name", "api.internal", "tls.server_name"),
          "plain", List.of("not a TLS server", "not a TLS record", "http://"),
          "closer", List.of("connection closed during the handshake", "closed", "protocol versions"));
      for (Map.Entry<String, List<String>> each : expected.entrySet()) {
        String backend = each.getKey();
        HttpResponse<String> answer = gateway.get("/" + backend + "/a");
        assertEquals(502, answer.statusCode(), backend + ": " + answer.body() + " " + log.lines);
        assertEquals("TLS with backend \"" + backend + "\" failed: " + each.getValue().get(0), answer.body().strip());
        List<String> lines = log.lines.stream().filter(l -> l.contains("\"" + backend + "\"")).toList();
        assertEquals(1, lines.size(), "one line per instance: " + log.lines);
        for (String said : each.getValue()) {
          assertTrue(lines.get(0).startsWith("WARNING") && lines.get(0).contains(said), said + " in " + lines.get(0));
        }
      }
    } finally {
      closer.close();
    }
  }

  /**
   * HTTPS instances are health-checked over TLS with their backend's settings (CA, client certificate for a
   * backend that requires one): both instances pass and share the traffic (round robin), and the one whose check
   * then answers 503 leaves rotation. The probes spoke plain HTTP to them, so every HTTPS instance with a health
   * check left rotation for good.
   */
  @Test
  void httpsInstancesAreHealthCheckedOverTlsWithTheirBackendsSettings() {
    java.util.concurrent.atomic.AtomicBoolean sick = new java.util.concurrent.atomic.AtomicBoolean();
    int first = serve(tls(true), req -> req.response().end("tls " + req.isSSL()));
    int second = serve(tls(true), req -> req.response().setStatusCode(req.path().equals("/health") && sick.get() ? 503 : 200)
        .end("tls " + req.isSSL() + " second"));
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /, backend: secure}
        backends:
          - name: secure
            targets: ["https://127.0.0.1:%1$d", "https://127.0.0.1:%2$d"]
            load_balancer: round_robin
            tls: {ca_file: "%3$s", cert_file: "%4$s", key_file: "%5$s"}
            health_check: {path: /health, interval_ms: 250, timeout_ms: 250, healthy_threshold: 1, unhealthy_threshold: 2}
        """.formatted(first, second, server.cert(), client.cert(), client.key()), 1);
    java.util.function.IntFunction<Set<String>> answering = n -> {
      Set<String> seen = new java.util.TreeSet<>();
      for (int i = 0; i < n; i++) {
        HttpResponse<String> r = gateway.get("/x");
        seen.add(r.statusCode() + " " + r.body());
      }
      return seen;
    };
    Poll.until(Duration.ofSeconds(5), "both pass their checks over TLS",
        () -> answering.apply(8).equals(Set.of("200 tls true", "200 tls true second")));
    sick.set(true);
    Poll.until(Duration.ofSeconds(3), "the second instance leaves rotation",
        () -> answering.apply(4).equals(Set.of("200 tls true")));
  }

  /**
   * A reload that changes how a backend is probed (here its protocol) retires the probe client: probes it had under
   * way fail as it closes, and are not counted. One instance whose check takes 1.5 s, unhealthy after one failure,
   * reloaded three times while probes are under way: it never leaves rotation, and no request gets 503. Before,
   * each such reload took it out ("now unhealthy" 19 ms after the reload) and requests got 503 until it was back.
   */
  @Test
  void aReloadThatChangesTheProbesDoesNotCountTheProbesItCut() throws Exception {
    int port = serve(req -> {
      if (req.path().equals("/health")) {
        vertx.setTimer(1500, id -> req.response().end("ok"));
      } else {
        req.response().end("served");
      }
    });
    String yaml = """
        docker: {enabled: false}
        routes:
          - {path_prefix: /, backend: slow-check}
        backends:
          - name: slow-check
            protocol: %s
            targets: ["http://127.0.0.1:%d"]
            health_check: {path: /health, interval_ms: 2500, timeout_ms: 2500, healthy_threshold: 1, unhealthy_threshold: 1}
        """;
    gateway = new GatewayHarness(dir, yaml.formatted("http1", port), 1);
    List<Integer> statuses = new CopyOnWriteArrayList<>();
    for (String protocol : List.of("http2", "http1", "http2")) {
      Thread.sleep(700); // a probe under way (each takes 1.5 s of every 2.5 s)
      gateway.rewriteConfig(yaml.formatted(protocol, port));
      long until = System.nanoTime() + 1_500_000_000L;
      while (System.nanoTime() < until) {
        statuses.add(gateway.get("/x").statusCode());
        Thread.sleep(50);
      }
    }
    assertTrue(statuses.size() > 30 && statuses.stream().allMatch(s -> s == 200),
        "the instance stays in rotation through the reloads: " + statuses);
  }

  @Test
  void theHostHeaderIsPassedOrRewrittenToTheBackendsAddressPerRoute() {
    int backend = serve(WHO);
    int secure = serve(tls(false), WHO);
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /passed, backend: b}
          - {path_prefix: /own, backend: b, pass_host: false}
          - {path_prefix: /named, backend: named, pass_host: false}
        backends:
          - {name: b, targets: ["http://127.0.0.1:%d"]}
          - {name: named, targets: ["https://127.0.0.1:%d"], tls: {ca_file: "%s", verify: true, server_name: localhost}}
        """.formatted(backend, secure, server.cert()), 1);
    assertEquals("plain 127.0.0.1:" + gateway.port(), gateway.get("/passed/x").body());
    assertEquals("plain 127.0.0.1:" + backend, gateway.get("/own/x").body());
    assertEquals("tls localhost:" + secure, gateway.get("/named/x").body(), "the TLS server name is the Host too");
  }

  @Test
  void anIpv6InstanceIsWrittenInBracketsInTheHostItIsSent() throws Exception {
    List<String> probes = new CopyOnWriteArrayList<>();
    HttpServer six = vertx.createHttpServer().requestHandler(req -> {
      if (req.path().equals("/health")) {
        probes.add(req.getHeader("host"));
        req.response().end("ok");
      } else {
        WHO.handle(req);
      }
    }).listen(0, "::1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    servers.add(six);
    int port = six.actualPort();
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /own, backend: six, pass_host: false}
        backends:
          - {name: six, targets: ["http://[::1]:%d"], health_check: {path: /health, interval_ms: 200, timeout_ms: 200}}
        """.formatted(port), 1);
    // RFC 3986 §3.2.2: an IPv6 literal in a Host is bracketed ("::1:PORT" would be a host without a port)
    assertEquals("plain [::1]:" + port, gateway.get("/own/x").body());
    Poll.until(Duration.ofSeconds(10), "a health probe", () -> !probes.isEmpty());
    assertEquals("[::1]:" + port, probes.get(0), "the health probe's Host");
  }

  @Test
  @org.junit.jupiter.api.Timeout(60)
  void theRetryBudgetsMinPerSecondIsOneAllowanceForAllRouterInstances() throws Exception {
    // Both instances sick, budget_percent 0: only min_per_second retries a second may go out, whichever router
    // instance took the requests (before, each router had its own: with one router per core, cores x that many).
    AtomicInteger tries = new AtomicInteger();
    Handler<HttpServerRequest> sick = req -> req.body().onSuccess(b -> {
      tries.incrementAndGet();
      req.response().setStatusCode(503).end("sick");
    });
    int a = serve(sick);
    int b = serve(sick);
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /r, backend: r, retries: {attempts: 1, backoff_ms: 0, retry_on: [503], budget_percent: 0, min_per_second: 4}}
          - {path_prefix: /warm-up, backend: r}
        backends:
          - {name: r, load_balancer: round_robin, targets: ["http://127.0.0.1:%d", "http://127.0.0.1:%d"]}
        """.formatted(a, b), 2);
    for (int i = 0; i < 20; i++) {
      gateway.get("/warm-up");
    }
    tries.set(0);
    int requests = 40;
    long start = System.nanoTime();
    List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> answers = new java.util.ArrayList<>();
    for (int i = 0; i < requests; i++) { // at once: many connections, spread over both routers
      answers.add(gateway.http().sendAsync(HttpRequest.newBuilder(gateway.uri("/r/" + i)).build(),
          HttpResponse.BodyHandlers.ofString()));
    }
    for (var answer : answers) {
      assertEquals(503, answer.get(20, TimeUnit.SECONDS).statusCode());
    }
    long tookMs = (System.nanoTime() - start) / 1_000_000;
    int retries = tries.get() - requests;
    assertTrue(retries <= (tookMs < 1_000 ? 4 : 8), retries + " retries of " + requests + " requests in " + tookMs
        + " ms, over the 4 a second of min_per_second");
  }

  @Test
  void chosenStatusesAreRetriedElsewhereForReplayableRequestsOnly() {
    AtomicInteger sickCalls = new AtomicInteger();
    int sick = serve(req -> req.body().onSuccess(b -> {
      sickCalls.incrementAndGet();
      req.response().setStatusCode(503).end("sick");
    }));
    int well = serve(req -> req.body().onSuccess(b -> req.response().end("well " + b)));
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /r, backend: r, retries: {attempts: 1, backoff_ms: 0, retry_on: [503]}}
        backends:
          - {name: r, load_balancer: round_robin, targets: ["http://127.0.0.1:%d", "http://127.0.0.1:%d"]}
        """.formatted(sick, well), 1);
    for (int i = 0; i < 6; i++) {
      HttpResponse<String> r = gateway.get("/r/x");
      assertEquals(200, r.statusCode(), "a GET that met the sick instance went on to the well one");
      assertEquals("well ", r.body());
    }
    assertTrue(sickCalls.get() >= 2, "the sick instance was tried: " + sickCalls.get());
    int statuses = 0;
    for (int i = 0; i < 6; i++) {
      statuses += gateway.send(HttpRequest.newBuilder(gateway.uri("/r/x"))
          .POST(HttpRequest.BodyPublishers.ofString("body")).build()).statusCode() == 503 ? 1 : 0;
    }
    assertTrue(statuses >= 2, "a POST with a body is not sent twice; its 503 reaches the client: " + statuses);
  }

  @Test
  void theDeadlineBoundsAllTriesTogether() {
    // Each instance answers 503 after 350 ms (a retry_on status); /fast answers at once.
    Handler<HttpServerRequest> slowly = req -> {
      if (req.path().endsWith("/fast")) {
        req.response().end("fast");
      } else {
        vertx.setTimer(350, id -> req.response().setStatusCode(503).end("busy"));
      }
    };
    int a = serve(slowly);
    int b = serve(slowly);
    int c = serve(slowly);
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - path_prefix: /bounded
            backend: slow
            timeout_ms: 400
            retries: {attempts: 2, backoff_ms: 0, deadline_ms: 600, retry_on: [503]}
          - path_prefix: /unbounded
            backend: slow
            timeout_ms: 400
            retries: {attempts: 2, backoff_ms: 0, retry_on: [503]}
        backends:
          - {name: slow, targets: ["http://127.0.0.1:%d", "http://127.0.0.1:%d", "http://127.0.0.1:%d"]}
        """.formatted(a, b, c), 1);
    for (String route : new String[] {"/bounded", "/unbounded"}) {
      // Warm: the first requests load classes, and may miss the 400 ms on a busy machine.
      Poll.until(Duration.ofSeconds(20), "warm", () -> gateway.get(route + "/fast").statusCode() == 200);
    }
    long start = System.nanoTime();
    HttpResponse<String> cut = gateway.get("/bounded/x");
    long cutMs = (System.nanoTime() - start) / 1_000_000;
    assertEquals(504, cut.statusCode(), "the second try ran into the deadline");
    assertTrue(cutMs >= 550 && cutMs < 900, "cut at the 600 ms deadline: " + cutMs + " ms");
    start = System.nanoTime();
    HttpResponse<String> all = gateway.get("/unbounded/x");
    long allMs = (System.nanoTime() - start) / 1_000_000;
    assertEquals(503, all.statusCode(), "without a deadline all three tries ran and the last answer stands");
    assertTrue(allMs >= 1_000, "three tries of 350 ms: " + allMs + " ms");
  }

  @Test
  void anInstanceAnsweringOnly5xxIsEjectedWhileOthersAnswer() {
    int broken = serve(req -> req.response().setStatusCode(500).end("broken"));
    int fine = serve(req -> req.response().end("fine"));
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /o, backend: o}
        backends:
          - name: o
            load_balancer: round_robin
            targets: ["http://127.0.0.1:%d", "http://127.0.0.1:%d"]
            outlier_detection: {consecutive_5xx: 3, ejection_ms: 30000}
        """.formatted(broken, fine), 1);
    int errors = 0;
    for (int i = 0; i < 6; i++) {
      errors += gateway.get("/o/x").statusCode() == 500 ? 1 : 0;
    }
    assertEquals(3, errors, "three 5xx in a row, then ejected");
    for (int i = 0; i < 20; i++) {
      assertEquals(200, gateway.get("/o/x").statusCode(), "the ejected instance is skipped");
    }
  }

  @Test
  void aPooledConnectionIsReusedOnlyAfterAnExchangeThatEndedCleanly() throws Exception {
    Map<Object, Boolean> connections = new ConcurrentHashMap<>();
    List<String> seen = new CopyOnWriteArrayList<>();
    int port = serve(req -> {
      connections.put(req.connection(), true);
      seen.add(req.path() + " on " + System.identityHashCode(req.connection()));
      switch (req.path()) {
        case "/r/close" -> req.response().putHeader("Connection", "close").end("closing");
        case "/r/short" -> req.response().putHeader("Keep-Alive", "timeout=1").end("short");
        case "/r/early" -> req.response().setStatusCode(401).end("no"); // answers before the upload is read
        default -> req.response().end("ok");
      }
    });
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /r, backend: r, timeout_ms: 5000}
        backends:
          - {name: r, targets: ["http://127.0.0.1:%d"], keep_alive_timeout_s: 30}
        """.formatted(port), 1);
    for (int i = 0; i < 5; i++) {
      assertEquals(200, gateway.get("/r/a" + i).statusCode());
    }
    assertEquals(1, connections.size(), "five requests in a row, one kept-alive connection: " + seen);

    assertEquals(200, gateway.get("/r/close").statusCode());
    assertEquals(200, gateway.get("/r/after-close").statusCode());
    assertEquals(2, connections.size(), "not reused after the backend's Connection: close: " + seen);

    // The backend's Keep-Alive: timeout=1 shortens the pool's 30 s: idle for longer, the connection is not reused.
    assertEquals(200, gateway.get("/r/short").statusCode());
    assertEquals(200, gateway.get("/r/within").statusCode());
    assertEquals(2, connections.size(), "reused within the backend's keep-alive: " + seen);
    assertEquals(200, gateway.get("/r/short").statusCode());
    Thread.sleep(1500);
    assertEquals(200, gateway.get("/r/after-idle").statusCode());
    assertEquals(3, connections.size(), "not reused after idling past the backend's Keep-Alive timeout: " + seen);

    // An upload the backend answers at once, whose body keeps coming (declared 100000 bytes, 1000 sent): its
    // connection must not carry the next request, which would wait behind the unfinished upload.
    try (Socket upload = new Socket("127.0.0.1", gateway.port())) {
      OutputStream out = upload.getOutputStream();
      out.write(("POST /r/early HTTP/1.1\r\nHost: gw\r\nContent-Length: 100000\r\n\r\n" + "x".repeat(1000))
          .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      upload.setSoTimeout(5000);
      String head = new String(upload.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
      assertEquals("HTTP/1.1 401", head, "the backend's early answer relayed");
      long start = System.nanoTime();
      HttpResponse<String> next = gateway.get("/r/next");
      long ms = (System.nanoTime() - start) / 1_000_000;
      assertEquals(200, next.statusCode(), "the next request served: " + seen);
      assertTrue(ms < 2000, "the next request did not wait behind the upload: " + ms + " ms");
    }
  }

  @Test
  void eachBackendHasItsOwnPoolWithABoundedWaitQueueAndAShortKeepAlive() throws Exception {
    AtomicInteger held = new AtomicInteger();
    int hanging = serve(req -> held.incrementAndGet());
    Map<String, AtomicInteger> closed = new ConcurrentHashMap<>();
    int counted = serve(req -> {
      req.connection().closeHandler(v -> closed.computeIfAbsent("closed", k -> new AtomicInteger()).incrementAndGet());
      req.response().end("ok");
    });
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /busy, backend: busy, timeout_ms: 5000}
          - {path_prefix: /other, backend: other}
        backends:
          - {name: busy, targets: ["http://127.0.0.1:%d"], max_connections: 1, max_wait_queue: 0}
          - {name: other, targets: ["http://127.0.0.1:%d"], keep_alive_timeout_s: 1}
        """.formatted(hanging, counted), 1);
    CompletableFuture<HttpResponse<String>> first = gateway.http().sendAsync(
        HttpRequest.newBuilder(gateway.uri("/busy/1")).build(), HttpResponse.BodyHandlers.ofString());
    Poll.until(Duration.ofSeconds(5), "the one connection taken", () -> held.get() == 1);
    HttpResponse<String> second = gateway.get("/busy/2");
    assertEquals(503, second.statusCode(), "no connection free and no waiting allowed: " + second.body());
    assertEquals(200, gateway.get("/other/x").statusCode(), "another backend's pool is its own");
    Poll.until(Duration.ofSeconds(4), "the idle pooled connection closed after about 1 s",
        () -> closed.containsKey("closed"));
    first.cancel(true);
  }

  @Test
  void aFullPoolAnswers503BusyWithoutOpeningTheInstancesCircuit() throws Exception {
    List<HttpServerRequest> held = new CopyOnWriteArrayList<>();
    int slow = serve(req -> {
      if (req.path().endsWith("/hold")) {
        held.add(req);
      } else {
        req.response().end("ok");
      }
    });
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /p, backend: p, timeout_ms: 10000}
        backends:
          - {name: p, targets: ["http://127.0.0.1:%d"], max_connections: 1, max_wait_queue: 0,
             circuit_breaker: {max_failures: 3, reset_timeout_ms: 60000}}
        """.formatted(slow), 1);
    CompletableFuture<HttpResponse<String>> first = gateway.http().sendAsync(
        HttpRequest.newBuilder(gateway.uri("/p/hold")).build(), HttpResponse.BodyHandlers.ofString());
    Poll.until(Duration.ofSeconds(5), "the one connection taken", () -> held.size() == 1);
    for (int i = 0; i < 6; i++) { // twice the breaker's threshold
      HttpResponse<String> busy = gateway.get("/p/" + i);
      assertEquals(503, busy.statusCode(), busy.body());
      assertTrue(busy.body().contains("busy"), "says why: " + busy.body());
    }
    held.get(0).response().end("held");
    assertEquals("held", first.get(10, TimeUnit.SECONDS).body());
    HttpResponse<String> after = gateway.get("/p/after");
    assertEquals(200, after.statusCode(), "a full pool is load, not a failing instance: its circuit stays closed, got "
        + after.body());
  }

  @Test
  void aPoolWaitThatTimesOutIsBusyNeverOpensTheCircuitAndAPostGoesElsewhere() throws Exception {
    List<HttpServerRequest> held = new CopyOnWriteArrayList<>();
    List<String> posted = new CopyOnWriteArrayList<>();
    int slow = serve(req -> {
      if (req.path().endsWith("/hold")) {
        held.add(req);
      } else {
        req.body().onSuccess(body -> {
          posted.add("slow " + req.method() + " " + body);
          req.response().end("slow");
        });
      }
    });
    int other = serve(req -> req.body().onSuccess(body -> {
      posted.add("other " + req.method() + " " + body);
      req.response().end("other");
    }));
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /p, backend: p, timeout_ms: 10000}
          - {path_prefix: /pair, backend: pair, timeout_ms: 10000, retries: {attempts: 1, backoff_ms: 1}}
        backends:
          - {name: p, targets: ["http://127.0.0.1:%1$d"], max_connections: 1, connect_timeout_ms: 150,
             circuit_breaker: {max_failures: 3, reset_timeout_ms: 60000}}
          - {name: pair, targets: ["http://127.0.0.1:%1$d", "http://127.0.0.1:%2$d"], load_balancer: round_robin,
             max_connections: 1, connect_timeout_ms: 150, circuit_breaker: {max_failures: 3, reset_timeout_ms: 60000}}
        """.formatted(slow, other), 1);
    CompletableFuture<HttpResponse<String>> first = gateway.http().sendAsync(
        HttpRequest.newBuilder(gateway.uri("/p/hold")).build(), HttpResponse.BodyHandlers.ofString());
    Poll.until(Duration.ofSeconds(5), "the one connection taken", () -> held.size() == 1);
    for (int i = 0; i < 6; i++) { // twice the breaker's threshold, each waiting its 150 ms in the pool
      HttpResponse<String> busy = gateway.get("/p/" + i);
      assertEquals(503, busy.statusCode(), busy.body());
      assertTrue(busy.body().contains("is busy"), "says why: " + busy.body());
    }
    // The same instance in a second backend, its one connection held too: a POST waiting for it in vain
    // was never sent, so it goes to the other instance (round robin tries the held one first every other time).
    List<CompletableFuture<HttpResponse<String>>> holds = new java.util.ArrayList<>();
    for (int i = 0; i < 2; i++) { // in turn: one of the two reaches it and is held, the other is answered
      holds.add(gateway.http().sendAsync(
          HttpRequest.newBuilder(gateway.uri("/pair/hold")).build(), HttpResponse.BodyHandlers.ofString()));
      Thread.sleep(100);
    }
    Poll.until(Duration.ofSeconds(5), "the pair's connection to it taken", () -> held.size() == 2);
    posted.clear();
    for (int i = 0; i < 4; i++) {
      HttpResponse<String> post = gateway.send(HttpRequest.newBuilder(gateway.uri("/pair/" + i))
          .timeout(Duration.ofSeconds(10)).POST(HttpRequest.BodyPublishers.ofString("b" + i)).build());
      assertEquals(200, post.statusCode(), post.body());
    }
    assertEquals(List.of("other POST b0", "other POST b1", "other POST b2", "other POST b3"), posted);
    held.forEach(req -> req.response().end("held"));
    assertEquals("held", first.get(10, TimeUnit.SECONDS).body());
    for (CompletableFuture<HttpResponse<String>> hold : holds) {
      assertEquals(200, hold.get(10, TimeUnit.SECONDS).statusCode());
    }
    HttpResponse<String> after = gateway.get("/p/after");
    assertEquals(200, after.statusCode(), "waiting in a full pool is load: the circuit stays closed, got "
        + after.body());
  }

  @Test
  void aTryThatGetsNoConnectionInTimeIsUnreachableAndGoesElsewhere() throws Exception {
    // A listener whose accept queue is full: Linux drops every further SYN, so a connect hangs, as
    // with a server too slow to accept (busybox httpd listens with a backlog of 9).
    List<java.nio.channels.SocketChannel> queued = new java.util.ArrayList<>();
    try (java.net.ServerSocket full = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      for (int i = 0; i < 4; i++) {
        java.nio.channels.SocketChannel channel = java.nio.channels.SocketChannel.open();
        channel.configureBlocking(false);
        channel.connect(new java.net.InetSocketAddress("127.0.0.1", full.getLocalPort()));
        queued.add(channel);
      }
      try (Socket probe = new Socket()) {
        probe.connect(new java.net.InetSocketAddress("127.0.0.1", full.getLocalPort()), 500);
        throw new AssertionError("the accept queue is not full: a connection was made");
      } catch (java.net.SocketTimeoutException expected) {
        // The premise holds: no connection to this port in time.
      }
      AtomicInteger held = new AtomicInteger();
      int hanging = serve(req -> held.incrementAndGet());
      List<String> posted = new CopyOnWriteArrayList<>();
      int live = serve(req -> req.body().onSuccess(body -> {
        posted.add(req.method() + " " + body);
        req.response().end("live");
      }));
      gateway = new GatewayHarness(dir, """
          docker: {enabled: false}
          routes:
            - {path_prefix: /full, backend: full}
            - {path_prefix: /busy, backend: busy, timeout_ms: 10000}
            - {path_prefix: /pair, backend: pair, retries: {attempts: 1, backoff_ms: 1}}
          backends:
            - {name: full, targets: ["http://127.0.0.1:%1$d"], connect_timeout_ms: 300}
            - {name: busy, targets: ["http://127.0.0.1:%2$d"], max_connections: 1, connect_timeout_ms: 300}
            - name: pair
              load_balancer: round_robin
              targets: ["http://127.0.0.1:%1$d", "http://127.0.0.1:%3$d"]
              connect_timeout_ms: 300
          """.formatted(full.getLocalPort(), hanging, live), 1);

      // No TCP connection within connect_timeout_ms: nothing was sent, the instance is unreachable.
      HttpResponse<String> connect = gateway.get("/full/x");
      assertEquals(503, connect.statusCode(), connect.body());
      assertEquals("backend \"full\" is unreachable", connect.body().trim());
      // No pooled connection free within connect_timeout_ms: the pool is full, the instance is busy.
      CompletableFuture<HttpResponse<String>> first = gateway.http().sendAsync(
          HttpRequest.newBuilder(gateway.uri("/busy/1")).build(), HttpResponse.BodyHandlers.ofString());
      Poll.until(Duration.ofSeconds(5), "the one connection taken", () -> held.get() == 1);
      HttpResponse<String> waited = gateway.get("/busy/2");
      assertEquals(503, waited.statusCode(), waited.body());
      assertEquals("backend \"busy\" is busy (all its connections stayed in use while the request waited)",
          waited.body().trim());
      first.cancel(true);
      // Since nothing was sent, even a POST goes to the other instance: round robin tries the
      // unreachable one first for every other request.
      for (int i = 0; i < 4; i++) {
        HttpResponse<String> post = gateway.send(HttpRequest.newBuilder(gateway.uri("/pair/" + i))
            .timeout(Duration.ofSeconds(10)).POST(HttpRequest.BodyPublishers.ofString("b" + i)).build());
        assertEquals(200, post.statusCode(), post.body());
      }
      assertEquals(List.of("POST b0", "POST b1", "POST b2", "POST b3"), posted);
    } finally {
      for (java.nio.channels.SocketChannel channel : queued) {
        channel.close();
      }
    }
  }

  @Test
  void expectContinueIsAnsweredOnceTheRouteAcceptsTheRequest() throws Exception {
    List<String> expects = new CopyOnWriteArrayList<>();
    int backend = serve(req -> {
      expects.add(String.valueOf(req.getHeader("expect")));
      req.body().onSuccess(b -> req.response().end("got " + b));
    });
    gateway = upRoute(dir, backend);
    // The expectation written plainly, in capitals, as a list, and on two lines: each gets its 100 Continue.
    for (String expect : List.of("Expect: 100-continue", "Expect: 100-Continue", "Expect: 100-continue, 100-continue",
        "Expect: 100-continue\r\nExpect: 100-continue")) {
      try (Socket socket = new Socket("127.0.0.1", gateway.port())) {
        OutputStream out = socket.getOutputStream();
        out.write(("POST /up/load HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\n" + expect + "\r\n\r\n")
            .getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        long start = System.nanoTime();
        RawHttp.Exchange interim = RawHttp.read(socket, 1, 50, 2_000);
        assertTrue(interim.raw().startsWith("HTTP/1.1 100 Continue"), expect + ": 100 Continue before the body: "
            + interim.raw());
        assertTrue(System.nanoTime() - start < 900_000_000L, "at once, not after the client's own wait");
        out.write("hello".getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        RawHttp.Exchange answer = RawHttp.read(socket, 1, 100, 5_000);
        assertTrue(answer.raw().contains("200 OK") && answer.raw().endsWith("got hello"), answer.raw());
      }
    }
    assertEquals(List.of("null", "null", "null", "null"), expects, "the backend is not asked to continue again");
  }

  /** A raw backend: answers every request head it reads with {@code answer}'s bytes, then closes. */
  static int raw(String answer) throws java.io.IOException {
    return raw(answer, false);
  }

  /** As {@link #raw(String)}, but {@code slowly}: a byte at a time, each sent on its own (many reads at the gateway). */
  static int raw(String answer, boolean slowly) throws java.io.IOException {
    java.net.ServerSocket socket = new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"));
    Thread thread = new Thread(() -> {
      while (!socket.isClosed()) {
        try (Socket c = socket.accept()) {
          String head = dev.dockgate.testing.RawHttp.readHead(c.getInputStream());
          byte[] bytes = answer.getBytes(StandardCharsets.ISO_8859_1);
          c.setTcpNoDelay(true);
          for (int at = 0; at < bytes.length; at += slowly ? 1 : bytes.length) {
            c.getOutputStream().write(bytes, at, slowly ? 1 : bytes.length);
            c.getOutputStream().flush();
            if (slowly) {
              Thread.sleep(2);
            }
          }
        } catch (java.io.IOException | InterruptedException e) {
          return;
        }
      }
    });
    thread.setDaemon(true);
    thread.start();
    rawSockets.add(socket);
    return socket.getLocalPort();
  }

  static final List<java.net.ServerSocket> rawSockets = new CopyOnWriteArrayList<>();

  @Test
  void aBackendsOwnReasonIsRelayedUnlessItHoldsControlBytes() throws Exception {
    int own = raw("HTTP/1.1 200 Fine\tIndeed\r\nContent-Length: 2\r\n\r\nok");
    int nul = raw("HTTP/1.1 200 Fi\u0000ne\r\nContent-Length: 2\r\n\r\nok");
    int esc = raw("HTTP/1.1 404 Gone\u001b[2J\r\nContent-Length: 2\r\n\r\nno");
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /own, backend: own}
          - {path_prefix: /nul, backend: nul}
          - {path_prefix: /esc, backend: esc}
        backends:
          - {name: own, targets: ["http://127.0.0.1:%d"]}
          - {name: nul, targets: ["http://127.0.0.1:%d"]}
          - {name: esc, targets: ["http://127.0.0.1:%d"]}
        """.formatted(own, nul, esc), 1);
    assertEquals("HTTP/1.1 200 Fine\tIndeed", statusLine("/own/x"), "a reason of the backend's own is kept");
    assertEquals("HTTP/1.1 200 OK", statusLine("/nul/x"), "a NUL never reaches the client");
    assertEquals("HTTP/1.1 404 Not Found", statusLine("/esc/x"), "nor an escape sequence");
  }

  String statusLine(String path) {
    RawHttp.Exchange answer = RawHttp.exchange(gateway.port(), ("GET " + path + " HTTP/1.1\r\nHost: gw\r\n\r\n")
        .getBytes(StandardCharsets.ISO_8859_1), 1, 100, 5_000);
    return answer.raw().substring(0, answer.raw().indexOf("\r\n"));
  }

  @AfterAll
  static void closeRaw() throws java.io.IOException {
    for (java.net.ServerSocket s : rawSockets) {
      s.close();
    }
  }

  @Test
  void backendsAreReadAsNginxReadsThemWithoutWeakeningTheChecksThatMatter() throws Exception {
    int lf = raw("HTTP/1.1 200 OK\nContent-Type: text/plain\nContent-Length: 2\n\nok");
    int http10 = raw("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the close");
    int hints = raw("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
        + "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal");
    int smuggle = raw("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
    int badChunk = raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n");
    int badName = raw("HTTP/1.1 200 OK\r\nX-Bad(Name): x\r\nContent-Length: 2\r\n\r\nok");
    int loneCr = raw("HTTP/1.1 200 OK\r\nX-Odd: a\rb\r\nContent-Length: 2\r\n\r\nok");
    int noName = raw("HTTP/1.1 200 OK\r\n: x\r\nContent-Length: 2\r\n\r\nok");
    int processing = raw("HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 199 Odd\r\nX-A: b\r\n\r\n"
        + "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal");
    int twoDigits = raw("HTTP/1.1 099 Odd\r\nContent-Length: 2\r\n\r\nok");
    int sixHundred = raw("HTTP/1.1 600 Odd\r\nContent-Length: 2\r\n\r\nok");
    int unasked = raw("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    int headOnly = raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    int gzipped = raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nnot gzip at all");
    int gzipChunked = raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
    int capitals = raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
    List<String> severe = new CopyOnWriteArrayList<>();
    java.util.logging.Handler capture = new java.util.logging.Handler() {
      @Override
      public void publish(LogRecord record) {
        if (record.getLevel().intValue() >= java.util.logging.Level.SEVERE.intValue()) {
          severe.add(record.getLoggerName() + ": " + record.getMessage());
        }
      }

      @Override
      public void flush() {
      }

      @Override
      public void close() {
      }
    };
    Logger root = Logger.getLogger("");
    root.addHandler(capture);
    try {
      gateway = new GatewayHarness(dir, """
          docker: {enabled: false}
          routes:
            - {path_prefix: /lf, backend: lf}
            - {path_prefix: /http10, backend: http10}
            - {path_prefix: /hints, backend: hints}
            - {path_prefix: /smuggle, backend: smuggle}
            - {path_prefix: /chunk, backend: chunk}
            - {path_prefix: /name, backend: name}
            - {path_prefix: /cr, backend: cr}
            - {path_prefix: /noname, backend: noname}
            - {path_prefix: /processing, backend: processing}
            - {path_prefix: /twodigits, backend: twodigits}
            - {path_prefix: /sixhundred, backend: sixhundred}
            - {path_prefix: /unasked, backend: unasked}
            - {path_prefix: /headonly, backend: headonly}
            - {path_prefix: /gzipped, backend: gzipped}
            - {path_prefix: /gzipchunked, backend: gzipchunked}
            - {path_prefix: /capitals, backend: capitals}
          backends:
            - {name: lf, targets: ["http://127.0.0.1:%d"]}
            - {name: http10, targets: ["http://127.0.0.1:%d"]}
            - {name: hints, targets: ["http://127.0.0.1:%d"]}
            - {name: smuggle, targets: ["http://127.0.0.1:%d"]}
            - {name: chunk, targets: ["http://127.0.0.1:%d"]}
            - {name: name, targets: ["http://127.0.0.1:%d"]}
            - {name: cr, targets: ["http://127.0.0.1:%d"]}
            - {name: noname, targets: ["http://127.0.0.1:%d"]}
            - {name: processing, targets: ["http://127.0.0.1:%d"]}
            - {name: twodigits, targets: ["http://127.0.0.1:%d"]}
            - {name: sixhundred, targets: ["http://127.0.0.1:%d"]}
            - {name: unasked, targets: ["http://127.0.0.1:%d"]}
            - {name: headonly, targets: ["http://127.0.0.1:%d"]}
            - {name: gzipped, targets: ["http://127.0.0.1:%d"]}
            - {name: gzipchunked, targets: ["http://127.0.0.1:%d"]}
            - {name: capitals, targets: ["http://127.0.0.1:%d"]}
          """.formatted(lf, http10, hints, smuggle, badChunk, badName, loneCr, noName, processing, twoDigits,
          sixHundred, unasked, headOnly, gzipped, gzipChunked, capitals), 1);
      HttpResponse<String> bare = gateway.get("/lf/x");
      assertEquals(200, bare.statusCode(), "bare-LF line endings are read (RFC 9112 section 2.2)");
      assertEquals("ok", bare.body());
      HttpResponse<String> old = gateway.get("/http10/x");
      assertEquals(200, old.statusCode());
      assertEquals("until the close", old.body(), "an HTTP/1.0 body delimited by the close");
      HttpResponse<String> informational = gateway.get("/hints/x");
      assertEquals(200, informational.statusCode(), "a 1xx before the answer is read past");
      assertEquals("final", informational.body());
      assertEquals(502, gateway.get("/smuggle/x").statusCode(), "Content-Length with Transfer-Encoding: refused");
      // A bad first chunk, or a close right after the head: nothing of the answer left yet, so 502
      // (a failure after the first bytes left cuts the client's connection: answersOfADeclaredLength...).
      assertEquals(502, gateway.get("/chunk/x").statusCode(), "a bad chunk size is refused");
      assertEquals(502, gateway.get("/headonly/x").statusCode(), "a close right after the head is 502");
      // A transfer coding other than chunked cannot be undone here, and Transfer-Encoding is hop-by-hop:
      // relayed, its bytes would reach the client as if they were the content (nginx answers 502 too).
      assertEquals(502, gateway.get("/gzipped/x").statusCode(), "Transfer-Encoding: gzip is refused");
      assertEquals(502, gateway.get("/gzipchunked/x").statusCode(), "Transfer-Encoding: gzip, chunked is refused");
      HttpResponse<String> capital = gateway.get("/capitals/x");
      assertEquals(200, capital.statusCode(), "chunked is chunked in any case");
      assertEquals("ok", capital.body());
      // Interim answers that Vert.x would take for the final one (102, an unknown 1xx) are read past.
      HttpResponse<String> processed = gateway.get("/processing/x");
      assertEquals(200, processed.statusCode(), "102 and 199 before the answer are read past");
      assertEquals("final", processed.body());
      assertTrue(processed.headers().firstValue("x-a").isEmpty(), "nothing of an interim answer is kept");
      // Statuses no client can be given: out of HTTP's range, or a switch nobody asked for.
      assertEquals(502, gateway.get("/twodigits/x").statusCode(), "status 099 is refused");
      assertEquals(502, gateway.get("/sixhundred/x").statusCode(), "status 600 is refused");
      assertEquals(502, gateway.get("/unasked/x").statusCode(), "101 to a request that asked for no upgrade is refused");
      // Header names and values are checked where they are copied toward the client: a head that
      // could not be sent on is 502, never passed through, never a hang.
      HttpResponse<String> named = gateway.get("/name/x");
      assertEquals(502, named.statusCode(), "a header name with '(' is refused");
      assertTrue(named.headers().firstValue("x-bad(name)").isEmpty());
      assertEquals(502, gateway.get("/cr/x").statusCode(), "a bare CR inside a header value is refused");
      assertEquals(502, gateway.get("/noname/x").statusCode(), "a header line with an empty name is refused");
      assertEquals(200, gateway.get("/lf/x").statusCode(), "the gateway goes on answering");
      assertEquals(List.of(), severe, "a misbehaving backend is no SEVERE line");
    } finally {
      root.removeHandler(capture);
    }
  }

  /**
   * A Content-Length sent twice with one value (two lines, or a list: RFC 9110 section 8.6 lets a recipient take
   * it as one, as nginx, HAProxy and Envoy do) is read as that length; two different values are refused.
   */
  @Test
  void identicalContentLengthsAreReadAsOneAndDifferentOnesRefused() throws Exception {
    int twoLines = raw("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok");
    int list = raw("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok");
    int different = raw("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!");
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /lines, backend: lines}
          - {path_prefix: /list, backend: list}
          - {path_prefix: /different, backend: different}
        backends:
          - {name: lines, targets: ["http://127.0.0.1:%d"]}
          - {name: list, targets: ["http://127.0.0.1:%d"]}
          - {name: different, targets: ["http://127.0.0.1:%d"]}
        """.formatted(twoLines, list, different), 1);
    for (String path : List.of("/lines/x", "/list/x")) {
      RawHttp.Exchange answer = RawHttp.exchange(gateway.port(), ("GET " + path + " HTTP/1.1\r\nHost: gw\r\n\r\n")
          .getBytes(StandardCharsets.ISO_8859_1), 1, 100, 5_000);
      assertEquals(200, answer.status(), path + ": " + answer.raw());
      assertEquals("ok", answer.responses().get(0).body(), path);
      String head = answer.responses().get(0).head().toLowerCase(java.util.Locale.ROOT);
      assertEquals(head.indexOf("content-length: 2\r\n"), head.lastIndexOf("content-length:"),
          path + ": one Content-Length toward the client: " + head);
    }
    assertEquals(502, gateway.get("/different/x").statusCode(), "Content-Length 2 and 3: refused");
  }

  /**
   * A line of an answer's head that is no field (something other than whitespace between a name and its colon, or
   * a space or tab in a line with no colon) is refused, 502 and counted against the instance, as nginx refuses it ("upstream sent invalid
   * header"): Netty, reading an answer, ends a name at its first space and takes whatever follows up to a colon,
   * if any, for nothing, so "Bogus Line" reached the client as "Bogus:" and "X-A b: c" as "X-A: c". Whitespace
   * alone before the colon is removed and a folded line is joined, as RFC 9112 (sections 5.1 and 5.2) asks of a proxy;
   * a line of one word and no colon is a field with no value, as nginx passes it.
   */
  @Test
  void aHeadLineThatIsNoFieldIsRefusedAndCountedAgainstTheInstance() throws Exception {
    Map<String, String> refused = new java.util.LinkedHashMap<>();
    refused.put("bogus", "HTTP/1.1 200 OK\r\nBogus Line\r\nContent-Length: 2\r\n\r\nok");
    refused.put("between", "HTTP/1.1 200 OK\r\nX-A b: c\r\nContent-Length: 2\r\n\r\nok");
    refused.put("trailing", "HTTP/1.1 200 OK\r\nX-A \r\nContent-Length: 2\r\n\r\nok");
    refused.put("barelf", "HTTP/1.1 200 OK\nBogus Line\nContent-Length: 2\n\nok");
    refused.put("interim", "HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nBogus Line\r\nContent-Length: 2\r\n\r\nok");
    refused.put("ininterim", "HTTP/1.1 103 Early Hints\r\nLink </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    int spaced = raw("HTTP/1.1 200 OK\r\nX-A : b\r\nX-B:\tc \r\nContent-Length: 2\r\n\r\nok");
    int folded = raw("HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\nBogusLine\r\nContent-Length: 2\r\n\r\nok");
    // A head read a byte at a time is read as one read at once: a bad line refused, good ones all passed.
    refused.put("slowly", "slow");
    int slowBad = raw("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nX-A b: c\r\n"
        + "Content-Length: 2\r\n\r\nok", true);
    int slowGood = raw("\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-A : b\r\nX-B: c:d \r\n e\r\n"
        + "Content-Length: 2\r\n\r\nok", true);
    try (dev.dockgate.testing.LoggedErrors errors = new dev.dockgate.testing.LoggedErrors()) {
      headLinesThatAreNoField(refused, spaced, folded, slowBad, slowGood);
      assertEquals(List.of(), errors.lines(), "a misbehaving backend is no SEVERE line");
    }
  }

  private void headLinesThatAreNoField(Map<String, String> refused, int spaced, int folded, int slowBad, int slowGood)
      throws Exception {
    StringBuilder routes = new StringBuilder();
    StringBuilder backends = new StringBuilder();
    for (Map.Entry<String, String> quirk : refused.entrySet()) {
      routes.append("  - {path_prefix: /").append(quirk.getKey()).append(", backend: ").append(quirk.getKey()).append("}\n");
      backends.append("  - {name: ").append(quirk.getKey()).append(", targets: [\"http://127.0.0.1:")
          .append(quirk.getValue().equals("slow") ? slowBad : raw(quirk.getValue()))
          .append("\"], circuit_breaker: {max_failures: 1, reset_timeout_ms: 60000}}\n");
    }
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
        %s  - {path_prefix: /spaced, backend: spacedname}
          - {path_prefix: /folded, backend: folded}
          - {path_prefix: /good, backend: good}
        backends:
        %s  - {name: spacedname, targets: ["http://127.0.0.1:%d"]}
          - {name: folded, targets: ["http://127.0.0.1:%d"]}
          - {name: good, targets: ["http://127.0.0.1:%d"]}
        """.formatted(routes, backends, spaced, folded, slowGood), 1);
    for (String quirk : refused.keySet()) {
      HttpResponse<String> answer = gateway.get("/" + quirk + "/x");
      assertEquals(502, answer.statusCode(), quirk + ": " + answer.headers().map() + " " + answer.body());
      assertTrue(answer.headers().firstValue("bogus").isEmpty() && answer.headers().firstValue("x-a").isEmpty(), quirk);
      // The failed try opened the instance's circuit (max_failures: 1): it was counted against the instance.
      assertEquals(503, gateway.get("/" + quirk + "/y").statusCode(), quirk + ": counted against its instance");
    }
    RawHttp.Exchange stripped = RawHttp.exchange(gateway.port(), "GET /spaced/x HTTP/1.1\r\nHost: gw\r\n\r\n"
        .getBytes(StandardCharsets.ISO_8859_1), 1, 100, 5_000);
    assertEquals(200, stripped.status(), stripped.raw());
    assertTrue(stripped.raw().contains("\r\nX-A: b\r\n") && stripped.raw().contains("\r\nX-B: c\r\n"),
        "whitespace before a colon is removed: " + stripped.raw());
    HttpResponse<String> joined = gateway.get("/folded/x");
    assertEquals(200, joined.statusCode());
    assertEquals("b c", joined.headers().firstValue("x-a").orElse(""), "a folded line is joined with a space");
    // A line of one word and no colon is a field with no value, as nginx passes it ("upstream sent invalid header"
    // is only for a name with a space or a control byte in it).
    assertEquals(Optional.of(""), joined.headers().firstValue("bogusline"), "one word, no colon: " + joined.headers().map());
    assertEquals("ok", joined.body());
    HttpResponse<String> good = gateway.get("/good/x");
    assertEquals(200, good.statusCode(), "read a byte at a time: " + good.body());
    assertEquals("b", good.headers().firstValue("x-a").orElse(""));
    assertEquals("c:d e", good.headers().firstValue("x-b").orElse(""));
    assertEquals("ok", good.body());
    io.vertx.core.json.JsonObject counts = gateway.stats().getJsonObject("requests_count");
    assertEquals(2 * refused.size(), counts.getLong("error"), "/stats: " + counts);
  }

  /**
   * A head's line of one word and no colon is a field with no value however the answer's bytes come: read a byte at a
   * time (its CR and its LF in two reads), and in the same read as an early hints answer before it. Before, both
   * were refused (502), while the same answer in one read passed.
   */
  @Test
  void aLineOfOneWordIsAFieldWithNoValueHoweverItsBytesCome() throws Exception {
    String answer = "HTTP/1.1 200 OK\r\nBogusLine\r\nX-Other\nContent-Length: 2\r\n\r\nok";
    int slowly = raw(answer, true);
    int hinted = raw("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" + answer);
    try (dev.dockgate.testing.LoggedErrors errors = new dev.dockgate.testing.LoggedErrors()) {
      gateway = new GatewayHarness(dir, """
          docker: {enabled: false}
          routes:
            - {path_prefix: /slowly, backend: slowly}
            - {path_prefix: /hinted, backend: hinted}
          backends:
            - {name: slowly, targets: ["http://127.0.0.1:%d"]}
            - {name: hinted, targets: ["http://127.0.0.1:%d"]}
          """.formatted(slowly, hinted), 1);
      Map<String, HttpResponse<String>> got = new java.util.TreeMap<>();
      Map<String, Integer> statuses = new java.util.TreeMap<>();
      for (String path : List.of("slowly", "hinted")) {
        got.put(path, gateway.get("/" + path + "/x"));
        statuses.put(path, got.get(path).statusCode());
      }
      assertEquals(Map.of("hinted", 200, "slowly", 200), statuses);
      for (String path : got.keySet()) {
        java.net.http.HttpHeaders headers = got.get(path).headers();
        assertEquals(Optional.of(""), headers.firstValue("bogusline"), path + ": " + headers.map());
        assertEquals(Optional.of(""), headers.firstValue("x-other"), path + ": " + headers.map());
        assertEquals("ok", got.get(path).body(), path);
      }
      assertEquals(List.of(), errors.lines(), "no SEVERE line");
    }
  }

  /**
   * A chunked answer's trailer section the gateway cannot pass on (a line that is no field, one without a colon, or
   * more than it reads) costs the answer its trailers, not its body: the body has all come, and nginx, which drops
   * every trailer, relays it whole. Before, "Bogus Line" reached a client asking for trailers as "Bogus:", and the
   * other two cut the answer after its body (no last chunk). A chunk the decoder refuses (its end, its size line
   * ending in a bare LF, a bad extension) is still a 502 or a cut answer, never one that looks whole, whatever follows
   * it; and good trailers still reach a client that asks for them.
   */
  @Test
  void aTrailerSectionThatCannotBePassedOnCostsTheAnswerItsTrailersNotItsBody() throws Exception {
    String chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n3;x=y\r\n!!!\r\n0\r\n";
    Map<String, String> answers = new java.util.LinkedHashMap<>();
    answers.put("spaced", chunked + "Bogus Line\r\nX-T: v\r\n\r\n");
    answers.put("between", chunked + "X-T b: c\r\n\r\n");
    answers.put("nocolon", chunked + "BogusLine\r\n\r\n");
    answers.put("large", chunked + "X-Big: " + "t".repeat(10_000) + "\r\n\r\n");
    answers.put("slowly", "slow");
    answers.put("good", chunked + "X-T: v\r\n\r\n");
    // What the decoder refuses before the last chunk, though what follows looks like one with a bad trailer section.
    String badTrailers = "0\r\nBogusLine\r\n\r\n";
    answers.put("badchunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n3\r\n!!!XX\r\n" + badTrailers);
    answers.put("lfsize", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n3\n!!!\r\n" + badTrailers);
    answers.put("badext", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n3;\u0001\r\n!!!\r\n" + badTrailers);
    int slowly = raw(chunked.replace("3;x=y", "0003") + "Bogus Line\r\n\r\n", true);
    Set<String> refused = Set.of("badchunk", "lfsize", "badext");
    StringBuilder routes = new StringBuilder();
    StringBuilder backends = new StringBuilder();
    for (Map.Entry<String, String> answer : answers.entrySet()) {
      routes.append("  - {path_prefix: /").append(answer.getKey()).append(", backend: ").append(answer.getKey()).append("}\n");
      backends.append("  - {name: ").append(answer.getKey()).append(", targets: [\"http://127.0.0.1:")
          .append(answer.getValue().equals("slow") ? slowly : raw(answer.getValue())).append("\"]}\n");
    }
    try (dev.dockgate.testing.LoggedErrors errors = new dev.dockgate.testing.LoggedErrors()) {
      gateway = new GatewayHarness(dir, """
          docker: {enabled: false}
          routes:
          %sbackends:
          %s""".formatted(routes, backends), 1);
      for (String path : answers.keySet()) {
        RawHttp.Exchange answer = rawGet("/" + path + "/x", "TE: trailers\r\n");
        String body = answer.raw().substring(answer.raw().indexOf("\r\n\r\n") + 4);
        if (refused.contains(path)) {
          assertTrue(refusedOrCut(answer), path + ": 502, or the answer cut: " + answer.raw());
          continue;
        }
        assertTrue(answer.raw().startsWith("HTTP/1.1 200 "), path + ": " + answer.raw());
        if (path.equals("good")) {
          assertEquals("ok!!!|X-T: v\r\n", dechunked(body), path);
        } else {
          assertEquals("ok!!!|", dechunked(body), path + ": the body whole, no trailer: " + body);
        }
      }
      for (String path : answers.keySet()) {
        if (refused.contains(path)) {
          // 502, or cut when the decoder's failure came in a later read than the first chunk (a loaded machine).
          RawHttp.Exchange again = rawGet("/" + path + "/x", "");
          assertTrue(refusedOrCut(again), path + ": the next request answered, 502 or cut: " + again.raw());
          continue;
        }
        assertEquals(200, gateway.get("/" + path + "/x").statusCode(), path + ": the next request answered");
      }
      assertEquals(List.of(), errors.lines(), "a misbehaving backend is no SEVERE line");
    }
  }

  /** GET {@code target} on a raw connection to the gateway, with {@code headers} (whole lines) after Host. */
  private RawHttp.Exchange rawGet(String target, String headers) {
    return RawHttp.exchange(gateway.port(), ("GET " + target + " HTTP/1.1\r\nHost: gw\r\n" + headers + "\r\n")
        .getBytes(StandardCharsets.ISO_8859_1), 1, 300, 5_000);
  }

  /** A refused chunked answer: 502 while nothing had left, else cut (no last chunk), never one that looks whole. */
  private static boolean refusedOrCut(RawHttp.Exchange answer) {
    String raw = answer.raw();
    return raw.startsWith("HTTP/1.1 502 ") || dechunked(raw.substring(raw.indexOf("\r\n\r\n") + 4)).equals("cut");
  }

  /** A whole chunked body's data, "|" and its trailer section; "cut" when its last chunk or its end is missing. */
  static String dechunked(String body) {
    StringBuilder data = new StringBuilder();
    int at = 0;
    while (true) {
      int eol = body.indexOf("\r\n", at);
      if (eol < 0) {
        return "cut";
      }
      int size = Integer.parseInt(body.substring(at, eol), 16);
      if (size == 0) {
        int end = body.indexOf("\r\n\r\n", eol);
        return end < 0 || end + 4 != body.length() ? "cut" : data + "|" + body.substring(eol + 2, end + 2);
      }
      data.append(body, eol + 2, eol + 2 + size);
      at = eol + 2 + size + 2;
    }
  }

  /** A gateway (one router) with one route, /up, to {@code backend}. */
  static GatewayHarness upRoute(Path dir, int backend) {
    return new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /up, backend: up}
        backends:
          - {name: up, targets: ["http://127.0.0.1:%d"]}
        """.formatted(backend), 1);
  }

  /** {@code size} bytes that no shift or truncation leaves equal. */
  static byte[] pattern(int size) {
    byte[] bytes = new byte[size];
    for (int i = 0; i < size; i++) {
      bytes[i] = (byte) (i * 31 + i / 4096);
    }
    return bytes;
  }

  /**
   * An answer of a declared length ends toward the client with its last byte (one write for a small
   * answer): a large one still arrives whole, an answer that declares a length it has no body for (HEAD,
   * 304) ends with the backend's end and leaves the connection usable, and a body cut short by the
   * backend is cut toward the client too, never completed.
   */
  @Test
  void answersOfADeclaredLengthArriveWholeOrVisiblyCut() throws Exception {
    byte[] big = pattern(3 * 1024 * 1024 + 17);
    int backend = serve(req -> {
      switch (req.path()) {
        case "/len/big" -> req.response().end(io.vertx.core.buffer.Buffer.buffer(big));
        case "/len/head" -> req.response().putHeader("content-length", "1000").end();
        default -> req.response().end("small");
      }
    });
    int notModified = raw("HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nContent-Length: 1000\r\n\r\n");
    int cut = raw("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nonly ten b");
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /len, backend: len}
          - {path_prefix: /cached, backend: cached}
          - {path_prefix: /cut, backend: cut}
        backends:
          - {name: len, targets: ["http://127.0.0.1:%d"]}
          - {name: cached, targets: ["http://127.0.0.1:%d"]}
          - {name: cut, targets: ["http://127.0.0.1:%d"]}
        """.formatted(backend, notModified, cut), 1);
    HttpResponse<byte[]> whole = gateway.http().send(HttpRequest.newBuilder(gateway.uri("/len/big"))
        .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofByteArray());
    assertEquals(200, whole.statusCode());
    assertEquals(String.valueOf(big.length), whole.headers().firstValue("content-length").orElse(""));
    assertTrue(java.util.Arrays.equals(big, whole.body()), "3 MiB of a declared length arrive whole and in order");
    for (int i = 0; i < 3; i++) { // the same pooled connections each time: a HEAD's answer leaves none half-read
      HttpResponse<String> head = gateway.send(HttpRequest.newBuilder(gateway.uri("/len/head"))
          .method("HEAD", HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(10)).build());
      assertEquals(200, head.statusCode());
      assertEquals("1000", head.headers().firstValue("content-length").orElse(""), "a HEAD's length is the GET's");
      assertEquals("", head.body());
      assertEquals("small", gateway.get("/len/small").body(), "the connection after a HEAD answers the next request");
    }
    HttpResponse<String> cached = gateway.get("/cached/x");
    assertEquals(304, cached.statusCode());
    assertEquals("", cached.body());
    assertEquals("\"v1\"", cached.headers().firstValue("etag").orElse(""));
    int status;
    try {
      HttpResponse<String> partial = gateway.get("/cut/x");
      status = partial.statusCode();
      assertTrue(partial.body().length() < 100, "a body cut short is never completed: " + partial.body().length());
    } catch (java.io.UncheckedIOException visiblyCut) {
      status = -1;
    }
    assertTrue(status == -1 || status == 502, "a cut answer is cut or refused toward the client: " + status);
    assertEquals("small", gateway.get("/len/small").body(), "the gateway goes on answering");
  }

  /**
   * A body of a declared length ends the backend request with its last byte (head, body and end in one
   * write when small): small and 3 MiB bodies, and a chunked one, arrive whole; a backend that answers
   * before reading a large body and closes leaves the client answered and the gateway serving.
   */
  @Test
  void uploadsArriveWholeAndABackendThatStopsReadingFreesTheClient() throws Exception {
    byte[] big = pattern(3 * 1024 * 1024 + 5);
    int backend = serve(req -> {
      if (req.path().startsWith("/up/early")) {
        // Answers at once without reading the body, and closes its connection.
        req.response().putHeader("connection", "close").end("early");
        return;
      }
      req.body().onSuccess(b -> req.response().end(b.length() + " " + java.util.Arrays.hashCode(b.getBytes())
          + " " + req.getHeader("content-length") + " " + req.getHeader("transfer-encoding")));
    });
    gateway = upRoute(dir, backend);
    byte[] small = "{\"user\":\"ann\"}".getBytes(StandardCharsets.UTF_8);
    for (byte[] body : List.of(small, big)) {
      HttpResponse<String> got = gateway.send(HttpRequest.newBuilder(gateway.uri("/up/x"))
          .POST(HttpRequest.BodyPublishers.ofByteArray(body)).timeout(Duration.ofSeconds(20)).build());
      assertEquals(200, got.statusCode());
      assertEquals(body.length + " " + java.util.Arrays.hashCode(body) + " " + body.length + " null", got.body(),
          "a body of a declared length arrives whole, with its length");
    }
    // No length: the client streams it chunked (an InputStream publisher), and so does the gateway.
    HttpResponse<String> chunked = gateway.send(HttpRequest.newBuilder(gateway.uri("/up/x"))
        .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(big)))
        .timeout(Duration.ofSeconds(20)).build());
    assertEquals(200, chunked.statusCode());
    assertEquals(big.length + " " + java.util.Arrays.hashCode(big) + " null chunked", chunked.body());
    for (int i = 0; i < 3; i++) {
      int status;
      try {
        HttpResponse<String> early = gateway.send(HttpRequest.newBuilder(gateway.uri("/up/early"))
            .POST(HttpRequest.BodyPublishers.ofByteArray(big)).timeout(Duration.ofSeconds(20)).build());
        status = early.statusCode();
      } catch (java.io.UncheckedIOException closedMidUpload) {
        status = -1; // the gateway may close the client's connection while its body is still coming
      }
      assertTrue(status == 200 || status == 502 || status == -1, "an early answer, never a hang: " + status);
      assertEquals(200, gateway.send(HttpRequest.newBuilder(gateway.uri("/up/x"))
          .POST(HttpRequest.BodyPublishers.ofByteArray(small)).timeout(Duration.ofSeconds(10)).build()).statusCode(),
          "the gateway goes on taking uploads");
    }
  }

  /**
   * An answer without a length reaches an HTTP/1.0 client (which cannot read chunked) as it comes, its
   * end marked by the connection's close, as nginx sends it: never collected whole first, which would
   * hold back a stream's first bytes until its end and keep any size of answer in memory.
   */
  @Test
  void anHttp10ClientGetsAnAnswerWithoutALengthAsItComesEndedByTheClose() throws Exception {
    java.util.concurrent.atomic.AtomicReference<CompletableFuture<Void>> release = new java.util.concurrent.atomic.AtomicReference<>();
    int backend = serve(req -> {
      io.vertx.core.http.HttpServerResponse res = req.response().setChunked(true);
      res.write("first;");
      release.get().whenComplete((v, e) -> vertx.runOnContext(x -> res.end("second")));
    });
    gateway = upRoute(dir, backend);
    for (String connection : List.of("Connection: keep-alive\r\n", "")) {
      CompletableFuture<Void> firstArrived = new CompletableFuture<>();
      release.set(firstArrived);
      try (Socket socket = new Socket("127.0.0.1", gateway.port())) {
        socket.setSoTimeout(5_000);
        socket.getOutputStream().write(("GET /up/stream HTTP/1.0\r\n" + connection + "\r\n")
            .getBytes(StandardCharsets.ISO_8859_1));
        java.io.InputStream in = socket.getInputStream();
        StringBuilder got = new StringBuilder();
        byte[] buf = new byte[4096];
        while (!got.toString().contains("first;")) {
          int n;
          try {
            n = in.read(buf);
          } catch (java.net.SocketTimeoutException held) {
            throw new AssertionError("the first bytes were held back until the backend's end: " + got, held);
          }
          assertTrue(n > 0, "closed before the body: " + got);
          got.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
        }
        firstArrived.complete(null);
        int n;
        while ((n = in.read(buf)) > 0) { // to the close: the gateway ends the answer by closing
          got.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
        }
        String text = got.toString();
        String head = text.substring(0, text.indexOf("\r\n\r\n")).toLowerCase(java.util.Locale.ROOT);
        assertTrue(text.startsWith("HTTP/1.0 200 OK\r\n"), text);
        assertTrue(text.endsWith("\r\n\r\nfirst;second"), "the body as it came, unframed: " + text);
        assertTrue(!head.contains("transfer-encoding") && !head.contains("content-length"), text);
        assertTrue(head.contains("\r\nconnection: close"), "the client is told its connection ends: " + text);
      }
    }
    Poll.until(Duration.ofSeconds(5), "both counted", () -> gateway.statsTotal() == 2);
  }

  @Test
  void theRouteTimeoutOfAnUploadCountsFromItsLastByte() {
    int backend = serve(req -> req.body().onSuccess(b -> req.response().end("got " + b.length())));
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /upload, backend: up, timeout_ms: 800}
        backends:
          - {name: up, targets: ["http://127.0.0.1:%d"]}
        """.formatted(backend), 1);
    // 24 pieces of 64 KiB, one every 100 ms: about 2.4 s of sending, three times the route's timeout.
    java.io.InputStream slow = new java.io.InputStream() {
      int sent;

      @Override
      public int read() {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0];
      }

      @Override
      public int read(byte[] b, int off, int len) {
        if (sent >= 24) {
          return -1;
        }
        try {
          Thread.sleep(100);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return -1;
        }
        sent++;
        int n = Math.min(len, 65_536);
        java.util.Arrays.fill(b, off, off + n, (byte) 'u');
        return n;
      }
    };
    HttpResponse<String> r = gateway.send(HttpRequest.newBuilder(gateway.uri("/upload/big"))
        .timeout(Duration.ofSeconds(20)).POST(HttpRequest.BodyPublishers.ofInputStream(() -> slow)).build());
    assertEquals(200, r.statusCode(), "not cut while still uploading: " + r.body());
    assertTrue(r.body().startsWith("got "), r.body());
  }
}
