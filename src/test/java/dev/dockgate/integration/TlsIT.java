package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.Backends;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.TestBackend;
import dev.dockgate.testing.TestCerts;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemTrustOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS termination with HTTP/2 through ALPN, and cleartext HTTP/2 (h2c) on a plain listener, against
 * a real gateway and real Vert.x clients: what the client gets (status, protocol version, body) and
 * what the HTTP/1.1 backend gets (method, path, headers, body).
 */
class TlsIT {

  @RegisterExtension
  static final Backends backends = new Backends();
  static TestBackend backend;
  static TestCerts.Pem pem;
  static Vertx clients;

  @TempDir
  static Path certs;
  @TempDir
  Path dir;
  GatewayHarness gateway;

  /** What a client got. */
  record Reply(int status, HttpVersion version, MultiMap headers, String body) {
  }

  @BeforeAll
  static void start() {
    backend = backends.start("tls-backend");
    pem = TestCerts.selfSigned(certs, "gateway");
    clients = Vertx.vertx();
  }

  @AfterAll
  static void stop() throws Exception {
    clients.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @AfterEach
  void stopGateway() {
    if (gateway != null) {
      gateway.close();
    }
  }

  String routes() {
    return """
        docker: {enabled: false}
        routes:
          - {path_prefix: /api, backend: app}
          - {path_prefix: /retried, backend: app, retries: {attempts: 1}}
        backends:
          - {name: app, targets: ["http://127.0.0.1:%d"]}
        """.formatted(backend.port());
  }

  GatewayHarness tlsGateway(String moreServerLines) {
    backend.clear();
    gateway = new GatewayHarness(dir, "  tls: {cert_file: \"%s\", key_file: \"%s\"}\n".formatted(pem.cert(), pem.key())
        + moreServerLines, routes(), 2);
    return gateway;
  }

  /** A client trusting only the test certificate and checking that it names 127.0.0.1. */
  static HttpClient tlsClient(HttpVersion version, boolean alpn) {
    return clients.createHttpClient(new HttpClientOptions()
        .setSsl(true)
        .setUseAlpn(alpn)
        .setProtocolVersion(version)
        .setVerifyHost(true)
        .setTrustOptions(new PemTrustOptions().addCertPath(pem.cert().toString())));
  }

  /** A cleartext HTTP/2 client: by prior knowledge, or by an HTTP/1.1 upgrade. */
  static HttpClient h2cClient(boolean upgrade) {
    return clients.createHttpClient(new HttpClientOptions()
        .setProtocolVersion(HttpVersion.HTTP_2)
        .setHttp2ClearTextUpgrade(upgrade));
  }

  /**
   * Sends a request and reads its whole answer. The response's body is asked for in the callback that sends the
   * request, on the client's event loop, before any answer can be read: chained from the test thread after the
   * request was out, it came too late whenever the answer was read first (head and end in one read, as a gateway's
   * own 404 on a kept-alive HTTP/2 connection comes back in a millisecond), and Vert.x, having no body handler at
   * the response's end, dropped the end; the test then waited out its 10 s (1 CI run in 16, on busy cores).
   */
  Reply send(HttpClient client, HttpMethod method, String uri, Function<HttpClientRequest, Future<?>> body) {
    try {
      return client.request(new RequestOptions().setMethod(method).setHost("127.0.0.1").setPort(gateway.port()).setURI(uri))
          .compose(request -> {
            body.apply(request);
            return request.response().compose(response -> response.body().map(b -> new Reply(response.statusCode(),
                response.version(), response.headers(), b.toString())));
          })
          .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  Reply get(HttpClient client, String uri) {
    return send(client, HttpMethod.GET, uri, HttpClientRequest::end);
  }

  @Test
  void http2ThroughAlpnIsProxiedToAnHttp11Backend() throws Exception {
    tlsGateway("");
    java.util.concurrent.CompletableFuture<JsonObject> event = new java.util.concurrent.CompletableFuture<>();
    gateway.vertx().eventBus().<JsonObject>consumer(dev.dockgate.events.Addresses.TRAFFIC, m -> event.complete(m.body()))
        .completion().toCompletionStage().toCompletableFuture().get(5, java.util.concurrent.TimeUnit.SECONDS);
    HttpClient client = tlsClient(HttpVersion.HTTP_2, true);
    Reply reply = send(client, HttpMethod.GET, "/api/h2?x=1&y=%20z", r -> {
      r.headers().add("X-Custom", "kept").add("Cookie", "a=1").add("Cookie", "b=2");
      return r.end();
    });
    assertEquals(200, reply.status(), reply.body());
    assertEquals(HttpVersion.HTTP_2, reply.version());
    assertEquals("tls-backend", reply.headers().get("X-Backend"));
    assertNull(reply.headers().get("Keep-Alive"), "no connection-specific header in an HTTP/2 answer");
    TestBackend.Received got = backend.take();
    assertEquals("GET", got.method());
    assertEquals("/api/h2?x=1&y=%20z", got.uri());
    assertEquals("kept", got.headers().get("X-Custom"));
    assertEquals("https", got.headers().get("X-Forwarded-Proto"));
    assertEquals("127.0.0.1:" + gateway.port(), got.headers().get("Host"));
    assertEquals("a=1; b=2", String.join("|", got.headers().getAll("Cookie")),
        "HTTP/2 cookie fields folded into one HTTP/1.1 header (RFC 9113 8.2.3)");
    assertTrue(got.headers().names().stream().noneMatch(n -> n.startsWith(":")), "no pseudo-header forwarded: " + got.headers());
    assertEquals("HTTP/2", event.get(5, java.util.concurrent.TimeUnit.SECONDS).getString("protocol"), "traffic event");
    Reply retried = get(client, "/retried/x");
    assertEquals(200, retried.status(), "bodiless HTTP/2 requests on a route with retries");
    assertEquals("/retried/x", backend.take().uri());
  }

  @Test
  void http2RequestBodiesReachTheBackendWithAndWithoutALengthWithinTheLimit() {
    tlsGateway("  max_body_bytes: 64\n");
    HttpClient client = tlsClient(HttpVersion.HTTP_2, true);
    Reply sized = send(client, HttpMethod.POST, "/api/sized", r -> r.end("hello body"));
    assertEquals(200, sized.status(), sized.body());
    assertEquals(HttpVersion.HTTP_2, sized.version());
    assertEquals("echo:hello body", sized.body());
    assertEquals("hello body", backend.take().body());

    // HTTP/2 streams a body without Content-Length; the HTTP/1.1 backend gets it chunked.
    Reply streamed = send(client, HttpMethod.PUT, "/api/streamed", r -> {
      r.setChunked(true);
      r.write("part-1,");
      return r.end("part-2");
    });
    assertEquals(200, streamed.status(), streamed.body());
    assertEquals("echo:part-1,part-2", streamed.body());
    TestBackend.Received got = backend.take();
    assertEquals("PUT", got.method());
    assertEquals("part-1,part-2", got.body());

    String big = "x".repeat(40);
    assertEquals(413, send(client, HttpMethod.POST, "/api/announced", r -> r.end(big + big)).status());
    Reply unsized = send(client, HttpMethod.POST, "/api/unsized", r -> {
      r.setChunked(true);
      r.write(big);
      return r.end(big);
    });
    assertEquals(413, unsized.status(), "an unsized HTTP/2 body is counted as it streams");
    assertEquals(HttpVersion.HTTP_2, unsized.version());
  }

  @Test
  void http11ClientsAreServedOnTheTlsPortAndCounted() {
    tlsGateway("");
    Reply noAlpn = get(tlsClient(HttpVersion.HTTP_1_1, false), "/api/h1");
    assertEquals(200, noAlpn.status(), noAlpn.body());
    assertEquals(HttpVersion.HTTP_1_1, noAlpn.version());
    assertEquals("https", backend.take().headers().get("X-Forwarded-Proto"));

    Reply alpnH1 = get(tlsClient(HttpVersion.HTTP_1_1, true), "/api/h1-alpn");
    assertEquals(200, alpnH1.status());
    assertEquals(HttpVersion.HTTP_1_1, alpnH1.version());

    HttpClient h2 = tlsClient(HttpVersion.HTTP_2, true);
    assertEquals(HttpVersion.HTTP_2, get(h2, "/api/h2-a").version());
    assertEquals(404, get(h2, "/elsewhere").status());

    HttpClient statsClient = tlsClient(HttpVersion.HTTP_2, true);
    Poll.until(Duration.ofSeconds(3), "/stats over HTTP/2 counts 3 successes and 1 error", () -> {
      Reply stats = get(statsClient, "/stats");
      JsonObject counts = new JsonObject(stats.body()).getJsonObject("requests_count");
      return stats.version() == HttpVersion.HTTP_2 && counts.getLong("success") == 3 && counts.getLong("error") == 1;
    });
  }

  @Test
  void aStalledHttp2BodyGets408OnItsStreamAloneAndTheConnectionGoesOn() {
    tlsGateway("  body_timeout_ms: 400\n");
    java.util.concurrent.atomic.AtomicInteger connections = new java.util.concurrent.atomic.AtomicInteger();
    HttpClient client = clients.httpClientBuilder()
        .with(new HttpClientOptions().setSsl(true).setUseAlpn(true).setProtocolVersion(HttpVersion.HTTP_2)
            .setVerifyHost(true).setTrustOptions(new PemTrustOptions().addCertPath(pem.cert().toString())))
        .withConnectHandler(connection -> connections.incrementAndGet())
        .build();
    Reply stalled = send(client, HttpMethod.POST, "/api/stalled", r -> {
      r.exceptionHandler(expected -> { }); // the 408 ends the stream with RST_STREAM (NO_ERROR): not a SEVERE line
      r.setChunked(true);
      return r.write("part of a body that never ends");
    });
    assertEquals(408, stalled.status(), stalled.body());
    assertEquals(HttpVersion.HTTP_2, stalled.version());
    assertTrue(stalled.headers().get("date") != null, "the gateway's 408 carries a Date: " + stalled.headers());
    Reply next = send(client, HttpMethod.POST, "/api/next", r -> r.end("whole"));
    assertEquals(200, next.status(), "the same connection still serves: " + next.body());
    assertEquals("echo:whole", next.body());
    assertEquals(1, connections.get(), "both streams on one connection: the 408 did not close it");
    Poll.until(Duration.ofSeconds(3), "the 408 and the 200 counted once each", () -> {
      JsonObject counts = new JsonObject(get(client, "/stats").body()).getJsonObject("requests_count");
      return counts.getLong("success") == 1 && counts.getLong("error") == 1;
    });
  }

  @Test
  void withHttp2OffAlpnSettlesOnHttp11() {
    tlsGateway("  http2: false\n");
    Reply reply = get(tlsClient(HttpVersion.HTTP_2, true), "/api/x");
    assertEquals(200, reply.status());
    assertEquals(HttpVersion.HTTP_1_1, reply.version());
  }

  @Test
  void h2cByPriorKnowledgeAndByUpgradeWhenEnabled() {
    backend.clear();
    gateway = new GatewayHarness(dir, "  h2c: true\n", routes(), 2);
    Reply prior = get(h2cClient(false), "/api/prior");
    assertEquals(200, prior.status(), prior.body());
    assertEquals(HttpVersion.HTTP_2, prior.version());
    assertEquals("http", backend.take().headers().get("X-Forwarded-Proto"));

    HttpClient upgrading = h2cClient(true);
    Reply first = get(upgrading, "/api/upgrade-1");
    assertEquals(200, first.status(), first.body());
    Reply second = get(upgrading, "/api/upgrade-2");
    assertEquals(200, second.status());
    assertEquals(HttpVersion.HTTP_2, second.version(), "the connection was upgraded to h2c");
    assertEquals("/api/upgrade-1", backend.take().uri());
    assertEquals("/api/upgrade-2", backend.take().uri());

    Reply body = send(h2cClient(false), HttpMethod.POST, "/api/prior-body", r -> r.end("over h2c"));
    assertEquals("echo:over h2c", body.body());
  }

  @Test
  void http2ConnectionsAreNotCutByTheFirstRequestHeadTimeout() throws InterruptedException {
    backend.clear();
    gateway = new GatewayHarness(dir, "  h2c: true\n  header_timeout_ms: 300\n", routes(), 1);
    java.util.concurrent.atomic.AtomicInteger opened = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger closed = new java.util.concurrent.atomic.AtomicInteger();
    HttpClient upgrading = clients.httpClientBuilder()
        .with(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(true))
        .withConnectHandler(connection -> {
          opened.incrementAndGet();
          connection.closeHandler(v -> closed.incrementAndGet());
        })
        .build();
    assertEquals(200, get(upgrading, "/api/one").status());
    // Waiting past the timeout is the point: an upgraded connection must not be taken for a slow client.
    Thread.sleep(900);
    Reply second = get(upgrading, "/api/two");
    assertEquals(200, second.status());
    assertEquals(HttpVersion.HTTP_2, second.version());
    assertEquals(1, opened.get(), "both requests on one connection");
    assertEquals(0, closed.get(), "the connection stayed open");
  }

  /** An h2c gateway whose backend's circuit opens after three failures and stays open a minute. */
  GatewayHarness h2cGatewayWithATouchyCircuit() {
    backend.clear();
    gateway = new GatewayHarness(dir, "  h2c: true\n", """
        docker: {enabled: false}
        routes:
          - {path_prefix: /api, backend: app}
        backends:
          - name: app
            targets: ["http://127.0.0.1:%d"]
            circuit_breaker: {max_failures: 3, reset_timeout_ms: 60000, startup_grace_ms: 0}
        """.formatted(backend.port()), 2);
    return gateway;
  }

  /** Once {@code errors} requests are counted and none is in flight: the circuit is still closed, and the next request is served. */
  void circuitStillClosedAfter(int errors, HttpClient client) {
    Poll.until(Duration.ofSeconds(5), errors + " requests counted, in flight back to 0", () -> {
      JsonObject routes = new JsonObject(gateway.admin("/admin/routes").body());
      return gateway.stats().getJsonObject("requests_count").getLong("error") == errors
          && routes.getJsonArray("routes").getJsonObject(0).getInteger("in_flight") == 0;
    });
    JsonObject instance = new JsonObject(gateway.admin("/admin/routes").body()).getJsonArray("backends")
        .getJsonObject(0).getJsonArray("instances").getJsonObject(0);
    assertEquals("CLOSED", instance.getString("circuit"), "a client leaving says nothing about the backend: " + instance);
    Reply next = get(client, "/api/after");
    assertEquals(200, next.status(), next.body());
    JsonObject counts = gateway.stats().getJsonObject("requests_count");
    assertEquals(1, counts.getLong("success"), counts.encode());
    assertEquals(errors, counts.getLong("error"), "each counted once: " + counts.encode());
  }

  @Test
  void http2UploadsCutByTheClientClosingItsConnectionNeverOpenTheCircuit() throws Exception {
    h2cGatewayWithATouchyCircuit();
    for (int i = 0; i < 5; i++) {
      HttpClient client = h2cClient(false); // a connection of its own, closed mid-body
      HttpClientRequest request = client.request(new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1")
          .setPort(gateway.port()).setURI("/api/upload-" + i)).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      request.exceptionHandler(expected -> { }); // the test's own cut: not a SEVERE line in the log
      request.putHeader("content-length", "100000");
      request.write("x".repeat(1000)).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      Poll.until(Duration.ofSeconds(5), "upload " + i + " in flight", () -> new JsonObject(gateway.admin("/admin/routes").body())
          .getJsonArray("routes").getJsonObject(0).getInteger("in_flight") == 1);
      Thread.sleep(100); // its head and first bytes on their way to the backend
      request.connection().close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      client.close();
    }
    circuitStillClosedAfter(5, h2cClient(false));
  }

  @Test
  void http2StreamsResetByTheClientAreCounted499OnceAndNeverOpenTheCircuit() throws Exception {
    h2cGatewayWithATouchyCircuit();
    HttpClient client = h2cClient(false);
    for (int i = 0; i < 5; i++) {
      HttpClientRequest request = client.request(new RequestOptions().setHost("127.0.0.1").setPort(gateway.port())
          .setURI("/api/never-" + i)).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      request.exceptionHandler(expected -> { }); // the test's own reset: not a SEVERE line in the log
      request.end();
      assertEquals("/api/never-" + i, backend.take().uri(), "the request reached the backend, which never answers");
      request.reset().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS); // RST_STREAM (CANCEL)
    }
    circuitStillClosedAfter(5, client);
  }

  @Test
  void h2cIsRefusedByDefault() {
    backend.clear();
    gateway = new GatewayHarness(dir, "", routes(), 2);
    assertThrows(IllegalStateException.class, () -> get(h2cClient(false), "/api/prior"),
        "a prior-knowledge HTTP/2 preface is not HTTP/1.1");
    Reply upgrade = get(h2cClient(true), "/api/upgrade");
    assertEquals(200, upgrade.status());
    assertEquals(HttpVersion.HTTP_1_1, upgrade.version(), "the upgrade offer is declined");
    TestBackend.Received got = backend.take();
    assertEquals("/api/upgrade", got.uri());
    assertNull(got.headers().get("Upgrade"), "the h2c offer is not passed on (h2c smuggling)");
    assertNull(got.headers().get("HTTP2-Settings"));
  }

  @Test
  void aMissingCertificateFileStopsTheGatewayNamingTheField() {
    Path absent = dir.resolve("absent.pem");
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> new GatewayHarness(dir,
        "  tls: {cert_file: \"%s\", key_file: \"%s\"}\n".formatted(absent, pem.key()), routes(), 1));
    Throwable cause = e.getCause() instanceof ExecutionException ee ? ee.getCause() : e.getCause();
    String message = String.valueOf(cause.getMessage());
    assertTrue(message.endsWith(": server.tls.cert_file: cannot read \"" + absent + "\": no such file"), message);
    assertFalse(message.contains("key_file"), message);
  }

  /** Starts a gateway whose {@code server.tls} names these files, and returns why it refused to start. */
  String refusal(Path certFile, Path keyFile) {
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> new GatewayHarness(dir,
        "  tls: {cert_file: \"%s\", key_file: \"%s\"}\n".formatted(certFile, keyFile), routes(), 1));
    Throwable cause = e.getCause() instanceof ExecutionException ee ? ee.getCause() : e.getCause();
    return String.valueOf(cause.getMessage());
  }

  /**
   * A device or a pipe named as a certificate or key is refused at once, naming the field. /dev/zero was read until
   * the heap ran out (the gateway hung at start; {@code -t} said "not checked within 60 s"), and a named pipe with no
   * writer would block the loader forever.
   */
  @Test
  @org.junit.jupiter.api.Timeout(value = 60, unit = TimeUnit.SECONDS)
  void aCertificateOrKeyPathThatIsNotAFileIsRefusedAtOnce() {
    String cert = refusal(Path.of("/dev/zero"), pem.key());
    assertTrue(cert.endsWith(": server.tls.cert_file: cannot read \"/dev/zero\": not a regular file"), cert);
    String key = refusal(pem.cert(), Path.of("/dev/zero"));
    assertTrue(key.endsWith(": server.tls.key_file: cannot read \"/dev/zero\": not a regular file"), key);
  }

  /**
   * Certificates out of order (the CA before the server's own, as a careless concatenation leaves them) are reported
   * under cert_file, saying which does not issue which; it was reported under key_file as "no usable PEM private key
   * (Certificate chain is not valid)". A passphrase-protected key is named as such rather than as a missing
   * delimiter.
   */
  @Test
  @org.junit.jupiter.api.Timeout(value = 60, unit = TimeUnit.SECONDS)
  void certificatesOutOfOrderAndEncryptedKeysAreReportedForWhatTheyAre() throws Exception {
    TestCerts.Pem ca = TestCerts.forNames(dir, "other", "dns:other.test");
    Path reversed = dir.resolve("reversed.pem");
    java.nio.file.Files.writeString(reversed, java.nio.file.Files.readString(ca.cert()) + java.nio.file.Files.readString(pem.cert()));
    String order = refusal(reversed, pem.key());
    assertTrue(order.contains(": server.tls.cert_file: the certificates in \"" + reversed + "\" are not a chain:"
        + " certificate 1 (CN=other) was not issued by certificate 2 (CN=localhost)"), order);
    assertFalse(order.contains("key_file"), order);

    Path encrypted = TestCerts.encryptedKey(pem, dir.resolve("encrypted-key.pem"));
    String key = refusal(pem.cert(), encrypted);
    assertTrue(key.endsWith(": server.tls.key_file: \"" + encrypted + "\" is encrypted (ENCRYPTED PRIVATE KEY): the"
        + " gateway reads unencrypted keys only (openssl pkey -in FILE -out PLAIN)"), key);
  }

  /**
   * A client may not renegotiate a TLS 1.2 connection: each renegotiation costs the server a full handshake for the
   * client's one record (THC-SSL-DOS, CVE-2011-1473); nginx, HAProxy and Envoy refuse it. The JDK accepted it by
   * default and the gateway answered on the renegotiated connection.
   */
  @Test
  @org.junit.jupiter.api.Timeout(value = 60, unit = TimeUnit.SECONDS)
  void clientInitiatedRenegotiationIsRefused() throws Exception {
    tlsGateway("");
    java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    try (java.io.InputStream in = java.nio.file.Files.newInputStream(pem.cert())) {
      trust.setCertificateEntry("gateway", java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    javax.net.ssl.TrustManagerFactory trusted = javax.net.ssl.TrustManagerFactory.getInstance("PKIX");
    trusted.init(trust);
    javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLSv1.2");
    context.init(null, trusted.getTrustManagers(), null);
    try (dev.dockgate.testing.LoggedErrors errors = new dev.dockgate.testing.LoggedErrors();
        javax.net.ssl.SSLSocket socket = (javax.net.ssl.SSLSocket) context.getSocketFactory()
        .createSocket("127.0.0.1", gateway.port())) {
      socket.setSoTimeout(10_000);
      socket.setEnabledProtocols(new String[] {"TLSv1.2"});
      socket.startHandshake();
      java.io.OutputStream out = socket.getOutputStream();
      java.io.InputStream in = socket.getInputStream();
      String request = "GET /api/before HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
      out.write(request.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      out.flush();
      byte[] head = new byte[12];
      assertEquals(12, in.readNBytes(head, 0, 12));
      assertEquals("HTTP/1.1 200", new String(head, java.nio.charset.StandardCharsets.US_ASCII));
      assertEquals("/api/before", backend.take().uri());
      socket.startHandshake(); // over TLS 1.2, a renegotiation: a new ClientHello on the open connection
      java.io.ByteArrayOutputStream answer = new java.io.ByteArrayOutputStream();
      try {
        out.write(request.replace("before", "after").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        out.flush();
        for (int b = in.read(); b >= 0; b = in.read()) {
          answer.write(b);
        }
      } catch (java.net.SocketTimeoutException e) {
        throw new AssertionError("the connection neither answered nor ended: " + answer, e);
      } catch (java.io.IOException refused) {
        answer.writeBytes(("\nrefused: " + refused).getBytes(java.nio.charset.StandardCharsets.UTF_8));
      }
      assertFalse(answer.toString(java.nio.charset.StandardCharsets.UTF_8).contains("HTTP/1.1"), answer.toString());
      assertEquals(java.util.List.of(), errors.lines(), "a refused renegotiation is no error of the gateway's");
    }
    assertEquals(0, backend.waiting(), "nothing after the renegotiation reached the backend");
  }

  /**
   * A plain HTTP request on the TLS port (http:// typed for https://) is answered 400 in plain text saying so, and the
   * connection closed, as nginx answers; the client got an empty reply. Nothing reaches a backend.
   */
  @Test
  @org.junit.jupiter.api.Timeout(value = 60, unit = TimeUnit.SECONDS)
  void aPlainHttpRequestOnTheTlsPortIsAnswered400SayingSo() throws Exception {
    tlsGateway("");
    try (dev.dockgate.testing.LoggedErrors errors = new dev.dockgate.testing.LoggedErrors();
        java.net.Socket socket = new java.net.Socket("127.0.0.1", gateway.port())) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write("GET /api/plain HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
          .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      String answer = new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
      assertTrue(answer.startsWith("HTTP/1.1 400 Bad Request\r\n"), answer);
      assertTrue(answer.contains("\r\nConnection: close\r\n"), answer);
      assertTrue(answer.endsWith("\r\n\r\nThe plain HTTP request was sent to the HTTPS port\n"), answer);
      assertEquals(java.util.List.of(), errors.lines(), "a client's mistake is no error of the gateway's");
    }
    assertEquals(200, get(tlsClient(HttpVersion.HTTP_2, true), "/api/tls").status(), "TLS clients are served as before");
    assertEquals("/api/tls", backend.take().uri(), "the plain request reached no backend");
  }

  /**
   * A certificate that has expired is served (as nginx serves one) but said once at start, naming the field and the
   * date: every client refuses it, and nothing told the operator why.
   */
  @Test
  @org.junit.jupiter.api.Timeout(value = 60, unit = TimeUnit.SECONDS)
  void anExpiredCertificateIsSaidAtStart() throws Exception {
    TestCerts.Pem expired = TestCerts.expired(dir, "expired");
    try (dev.dockgate.testing.LoggedErrors warnings = new dev.dockgate.testing.LoggedErrors(
        "dev.dockgate.edge.CertificateDates", java.util.logging.Level.WARNING)) {
      gateway = new GatewayHarness(dir, "  tls: {cert_file: \"%s\", key_file: \"%s\"}\n".formatted(expired.cert(),
          expired.key()), routes(), 1);
      Poll.until(Duration.ofSeconds(10), "the expired certificate said", () -> !warnings.lines().isEmpty());
      assertEquals(1, warnings.lines().size(), warnings.lines().toString());
      assertTrue(warnings.lines().get(0).startsWith("WARNING dev.dockgate.edge.CertificateDates: server.tls.cert_file:"
          + " the certificate in \"" + expired.cert() + "\" (CN=localhost) expired on "), warnings.lines().get(0));
    }
  }

  /**
   * A server name (SNI) with its trailing dot, as a client given a fully qualified name sends it ({@code localhost.}),
   * is ignored as nginx ignores it, and the one certificate served: the JDK refused the handshake with an
   * illegal_parameter alert. The gateway runs as the jar: the JDK reads its switch once per process.
   */
  @Test
  @org.junit.jupiter.api.Timeout(value = 120, unit = TimeUnit.SECONDS)
  void aServerNameWithATrailingDotIsServedTheCertificate() throws Exception {
    backend.clear();
    try (dev.dockgate.testing.GatewayJar jar = new dev.dockgate.testing.GatewayJar(dir,
        "  tls: {cert_file: \"%s\", key_file: \"%s\"}\n".formatted(pem.cert(), pem.key()), routes(), 1)) {
      for (String name : java.util.List.of("localhost.", "localhost", "-bad-.localhost")) {
        try (javax.net.ssl.SSLSocket socket = dev.dockgate.testing.RawHttp2.tlsNamed(jar.port(), name)) {
          socket.getOutputStream().write("GET /api/sni HTTP/1.1\r\nHost: localhost\r\n\r\n"
              .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
          String head = dev.dockgate.testing.RawHttp.readHead(socket.getInputStream());
          assertTrue(head.startsWith("HTTP/1.1 200 "), name + ": " + head);
        }
        assertEquals("/api/sni", backend.take().uri(), name);
      }
    }
  }
}
