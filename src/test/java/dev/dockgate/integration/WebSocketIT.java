package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Poll;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * WebSocket upgrades through the gateway: a real echo server on 127.0.0.1, a real WebSocket client
 * on the gateway port; asserts what the backend saw (handshake path, query, headers, close) and what
 * the client got back (echoed text and binary messages), and that the upgrade counts as one request.
 */
class WebSocketIT {

  private static final long TIMEOUT_S = 10;

  /** The handshake the backend accepted. */
  record Upgrade(String path, String query, String host, MultiMap headers) {
  }

  /** The close the backend received from the other side. */
  record Closed(Short status, String reason) {
  }

  /** A message the client received. */
  record Message(boolean binary, Buffer data) {
  }

  static Vertx vertx;
  static HttpServer backend;
  static final BlockingQueue<Upgrade> upgrades = new LinkedBlockingQueue<>();
  static final BlockingQueue<Closed> closes = new LinkedBlockingQueue<>();

  @TempDir
  Path dir;
  GatewayHarness gateway;
  WebSocketClient client;

  @BeforeAll
  static void startBackend() throws Exception {
    vertx = Vertx.vertx();
    backend = await(vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
        .webSocketHandler(WebSocketIT::echo)
        .requestHandler(request -> request.response().setStatusCode(404).end())
        .listen());
  }

  /** Echoes text and binary messages prefixed with "echo:"; only /ws/echo is accepted. */
  private static void echo(ServerWebSocket ws) {
    if (!ws.path().equals("/ws/echo") && !ws.path().equals("/rt")) {
      ws.close((short) 1008, "unexpected path " + ws.path());
      return;
    }
    upgrades.add(new Upgrade(ws.path(), ws.query(), ws.authority() == null ? null : ws.authority().toString(),
        MultiMap.caseInsensitiveMultiMap().addAll(ws.headers())));
    ws.textMessageHandler(text -> ws.writeTextMessage("echo:" + text));
    ws.binaryMessageHandler(data -> ws.writeBinaryMessage(Buffer.buffer("echo:").appendBuffer(data)));
    ws.closeHandler(v -> closes.add(new Closed(ws.closeStatusCode(), ws.closeReason())));
  }

  @AfterAll
  static void stopBackend() throws Exception {
    await(vertx.close());
  }

  @AfterEach
  void stopGateway() throws Exception {
    if (client != null) {
      await(client.close());
    }
    if (gateway != null) {
      gateway.close();
    }
  }

  private GatewayHarness gateway(int routers, long timeoutMs) {
    return gateway(routers, timeoutMs, false);
  }

  /** {@code h2c}: the listener accepts cleartext HTTP/2 too, and must treat HTTP/1.1 clients as one without it. */
  private GatewayHarness gateway(int routers, long timeoutMs, boolean h2c) {
    upgrades.clear();
    closes.clear();
    gateway = new GatewayHarness(dir, h2c ? "  h2c: true\n" : "", """
        docker: {enabled: false}
        routes:
          - {path_prefix: /ws, backend: echo, timeout_ms: %d}
        backends:
          - name: echo
            targets: [http://127.0.0.1:%d]
        """.formatted(timeoutMs, backend.actualPort()), routers);
    client = vertx.createWebSocketClient();
    return gateway;
  }

  @Test
  void framesAndCloseAreProxiedBothWaysAndTheUpgradeCountsOnce() throws Exception {
    GatewayHarness gw = gateway(2, 30_000);
    WebSocket ws = await(client.connect(gw.port(), "127.0.0.1", "/ws/echo?room=7"));
    BlockingQueue<Message> received = new LinkedBlockingQueue<>();
    ws.textMessageHandler(text -> received.add(new Message(false, Buffer.buffer(text))));
    ws.binaryMessageHandler(data -> received.add(new Message(true, data)));

    Upgrade upgrade = upgrades.poll(TIMEOUT_S, TimeUnit.SECONDS);
    assertNotNull(upgrade, "the backend got no upgrade");
    assertEquals("/ws/echo", upgrade.path());
    assertEquals("room=7", upgrade.query());
    assertEquals("127.0.0.1", upgrade.headers().get("x-forwarded-for"), upgrade.headers().toString());
    assertEquals("http", upgrade.headers().get("x-forwarded-proto"), upgrade.headers().toString());
    assertEquals("127.0.0.1:" + gw.port(), upgrade.headers().get("x-forwarded-host"), upgrade.headers().toString());
    assertEquals("websocket", upgrade.headers().get("upgrade").toLowerCase(), upgrade.headers().toString());

    for (String text : new String[] {"one", "two", "three"}) {
      await(ws.writeTextMessage(text));
    }
    await(ws.writeBinaryMessage(Buffer.buffer(new byte[] {0, 1, 2, (byte) 0xff})));
    for (String text : new String[] {"one", "two", "three"}) {
      Message echoed = received.poll(TIMEOUT_S, TimeUnit.SECONDS);
      assertNotNull(echoed, "no echo of " + text);
      assertEquals(new Message(false, Buffer.buffer("echo:" + text)), echoed);
    }
    Message binary = received.poll(TIMEOUT_S, TimeUnit.SECONDS);
    assertNotNull(binary, "no echo of the binary message");
    assertTrue(binary.binary(), "binary echo came back as text");
    assertEquals(Buffer.buffer("echo:").appendBytes(new byte[] {0, 1, 2, (byte) 0xff}), binary.data());

    Poll.until(Duration.ofSeconds(5), "the upgrade counted in /stats", () -> gw.statsTotal() == 1);

    await(ws.close((short) 1000, "bye"));
    Closed closed = closes.poll(TIMEOUT_S, TimeUnit.SECONDS);
    assertNotNull(closed, "the close did not reach the backend");
    assertEquals(new Closed((short) 1000, "bye"), closed);
    assertTrue(ws.isClosed());
    assertEquals(1, gw.statsTotal(), "the close is not another request");
    assertTrue(upgrades.isEmpty() && received.isEmpty(), "nothing more: " + upgrades + received);
  }

  @Test
  void anIdleWebSocketOutlivesTheRouteTimeout() throws Exception {
    GatewayHarness gw = gateway(1, 200);
    WebSocket ws = await(client.connect(gw.port(), "127.0.0.1", "/ws/echo"));
    BlockingQueue<String> received = new LinkedBlockingQueue<>();
    ws.textMessageHandler(received::add);
    assertNotNull(upgrades.poll(TIMEOUT_S, TimeUnit.SECONDS), "the backend got no upgrade");

    // timeout_ms bounds the wait for the 101, not the silence on the tunnel after it: stay idle for
    // three times the route's timeout (a deliberate idle period, not a wait for readiness).
    await(vertx.timer(600, TimeUnit.MILLISECONDS));
    assertTrue(!ws.isClosed() && closes.isEmpty(), "the idle tunnel was closed: " + closes);
    await(ws.writeTextMessage("still there"));
    assertEquals("echo:still there", received.poll(TIMEOUT_S, TimeUnit.SECONDS));
    await(ws.close());
    assertNotNull(closes.poll(TIMEOUT_S, TimeUnit.SECONDS), "the close did not reach the backend");
  }

  @Test
  void upgradesKeepHostWorkWithRetriesAndFailAsGatewayAnswers() throws Exception {
    java.util.List<String> severe = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.logging.Logger requestLog = java.util.logging.Logger.getLogger("io.vertx.core.http.impl.HttpClientRequestImpl");
    java.util.logging.Handler capture = new java.util.logging.Handler() {
      @Override
      public void publish(java.util.logging.LogRecord r) {
        severe.add(r.getLevel() + " " + r.getMessage());
      }

      @Override
      public void flush() {
      }

      @Override
      public void close() {
      }
    };
    requestLog.addHandler(capture);
    try {
      probeUpgrades(severe);
    } finally {
      requestLog.removeHandler(capture);
    }
  }

  private void probeUpgrades(java.util.List<String> severe) throws Exception {
    upgrades.clear();
    closes.clear();
    int dead = dev.dockgate.testing.Ports.free();
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /ws, backend: echo}
          - {path_prefix: /rt, backend: echo, retries: {attempts: 2}}
          - {path_prefix: /dead, backend: dead}
        backends:
          - name: echo
            targets: [http://127.0.0.1:%d]
          - name: dead
            targets: [http://127.0.0.1:%d]
        """.formatted(backend.actualPort(), dead), 1);
    client = vertx.createWebSocketClient();
    GatewayHarness gw = gateway;
    WebSocket ws = await(client.connect(gw.port(), "127.0.0.1", "/ws/echo"));
    Upgrade up = upgrades.poll(TIMEOUT_S, TimeUnit.SECONDS);
    assertEquals("127.0.0.1:" + gw.port(), up.host(), up.headers().toString());
    await(ws.close());
    assertNotNull(closes.poll(TIMEOUT_S, TimeUnit.SECONDS));
    Poll.until(Duration.ofSeconds(5), "first upgrade counted", () -> gw.statsTotal() == 1);

    WebSocket rt = await(client.connect(gw.port(), "127.0.0.1", "/rt"));
    BlockingQueue<String> got = new LinkedBlockingQueue<>();
    rt.textMessageHandler(got::add);
    await(rt.writeTextMessage("x"));
    assertEquals("echo:x", got.poll(TIMEOUT_S, TimeUnit.SECONDS));
    await(rt.close());
    assertNotNull(closes.poll(TIMEOUT_S, TimeUnit.SECONDS));
    Poll.until(Duration.ofSeconds(5), "retries-route upgrade counted", () -> gw.statsTotal() == 2);

    try {
      await(client.connect(gw.port(), "127.0.0.1", "/dead/x"));
      throw new AssertionError("connected to dead");
    } catch (java.util.concurrent.ExecutionException e) {
      assertEquals(503, ((io.vertx.core.http.UpgradeRejectedException) e.getCause()).getStatus(), e.toString());
    }
    Poll.until(Duration.ofSeconds(5), "refused upgrade counted", () -> gw.statsTotal() == 3);
    assertEquals(2L, gw.stats().getJsonObject("requests_count").getLong("success"), gw.stats().encode());
    assertTrue(severe.isEmpty(), severe.toString());
  }

  /**
   * A raw backend: answers an upgrade with its 101 and a text frame "hello" in the same write (after
   * a 102 and a 103 for path /interim), or (path /refuse) with 403 and a body, or with a status out of
   * HTTP's range (/odd), a refusal whose body is cut short (/cut) or whose length is no number
   * (/overflow); a 101 to a path starting /cookie sets two cookies (Path=/ and Path=/live); then keeps the
   * connection a moment and closes.
   */
  static java.net.ServerSocket rawWebSocketBackend() throws java.io.IOException {
    java.net.ServerSocket server = new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"));
    Thread thread = new Thread(() -> {
      while (!server.isClosed()) {
        try {
          java.net.Socket c = server.accept();
          String head = dev.dockgate.testing.RawHttp.readHead(c.getInputStream());
          String key = head.lines().filter(l -> l.toLowerCase().startsWith("sec-websocket-key:"))
              .map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst().orElse("");
          java.io.OutputStream out = c.getOutputStream();
          String odd = head.startsWith("GET /ws/odd") ? "HTTP/1.1 099 Odd\r\n\r\nhello"
              : head.startsWith("GET /ws/cut") ? "HTTP/1.1 403 Forbidden\r\nContent-Length: 100\r\n\r\nonly ten b"
              : head.startsWith("GET /ws/overflow") ? "HTTP/1.1 403 Forbidden\r\nContent-Length: 99999999999999999999\r\n\r\nx"
              : null;
          if (head.startsWith("GET /ws/refuse")) {
            out.write(("HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nnot for you\n")
                .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
          } else if (odd != null) {
            out.write(odd.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
          } else {
            if (head.startsWith("GET /ws/interim")) {
              out.write("HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.js>\r\n\r\n"
                  .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
              out.flush();
            }
            String accept = java.util.Base64.getEncoder().encodeToString(java.security.MessageDigest.getInstance("SHA-1")
                .digest((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1)));
            String cookies = head.startsWith("GET /cookie") ? "Set-Cookie: ws=1; Path=/\r\nSet-Cookie: sticky=a; Path=/live\r\n"
                : "";
            byte[] head101 = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + cookies + "Sec-WebSocket-Accept: " + accept + "\r\n\r\n")
                .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
            byte[] frame = {(byte) 0x81, 5, 'h', 'e', 'l', 'l', 'o'};
            byte[] both = java.util.Arrays.copyOf(head101, head101.length + frame.length);
            System.arraycopy(frame, 0, both, head101.length, frame.length);
            out.write(both); // one write: the greeting travels in the 101's segment
          }
          out.flush();
          Thread.sleep(300);
          c.close();
        } catch (Exception e) {
          return;
        }
      }
    });
    thread.setDaemon(true);
    thread.start();
    return server;
  }

  @Test
  void aGreetingSentWithThe101ArrivesAndARefusalKeepsItsBody() throws Exception {
    try (java.net.ServerSocket raw = rawWebSocketBackend()) {
      gateway = gatewayToRaw(raw.getLocalPort());
      // A raw client: a WebSocket client library may drop a frame that arrives with the 101,
      // before its handler is set; the bytes on the wire are what the gateway must deliver.
      String upgrade = "GET /ws/%s HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
      for (int i = 0; i < 10; i++) {
        dev.dockgate.testing.RawHttp.Exchange greeted = dev.dockgate.testing.RawHttp.exchange(gateway.port(),
            upgrade.formatted("greet").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1), 1, 300, 5_000);
        assertTrue(greeted.raw().startsWith("HTTP/1.1 101"), greeted.raw());
        assertTrue(greeted.raw().endsWith("\r\n\r\n\u0081\u0005hello"), "session " + i + ": the greeting was lost: " + greeted.raw());
      }
      dev.dockgate.testing.RawHttp.Exchange refused = dev.dockgate.testing.RawHttp.exchange(gateway.port(),
          upgrade.formatted("refuse").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1), 1, 300, 5_000);
      assertEquals(403, refused.status(), refused.raw());
      assertTrue(refused.raw().endsWith("\r\n\r\nnot for you\n"), "the refusal's body reaches the client: " + refused.raw());
      // Interim answers before the 101 are read past; statuses no client can be given and refusals
      // known to be cut are 502, never passed on or made to look whole.
      dev.dockgate.testing.RawHttp.Exchange interim = dev.dockgate.testing.RawHttp.exchange(gateway.port(),
          upgrade.formatted("interim").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1), 1, 300, 5_000);
      assertTrue(interim.raw().startsWith("HTTP/1.1 101"), interim.raw());
      assertTrue(interim.raw().endsWith("\r\n\r\n\u0081\u0005hello") && !interim.raw().contains("Early"), interim.raw());
      for (String path : new String[] {"odd", "cut", "overflow"}) {
        dev.dockgate.testing.RawHttp.Exchange bad = dev.dockgate.testing.RawHttp.exchange(gateway.port(),
            upgrade.formatted(path).getBytes(java.nio.charset.StandardCharsets.ISO_8859_1), 1, 300, 5_000);
        assertEquals(502, bad.status(), path + ": " + bad.raw());
      }
    }
  }

  /**
   * A client that writes its first frame right behind its upgrade request, before the 101 (RFC 6455 asks clients
   * to wait; nginx passes such bytes on): the frame reaches the backend once the tunnel opens, as the first bytes
   * after the handshake (before: dropped, the client's first message lost). A request pipelined behind an upgrade
   * that is refused is still answered as a request, in turn. The same on a listener with h2c on (before: the frame
   * was lost there, read as HTTP by Vert.x's decoder).
   */
  @ParameterizedTest(name = "h2c {0}")
  @ValueSource(booleans = {false, true})
  @org.junit.jupiter.api.Timeout(60)
  void bytesSentBeforeThe101ReachTheBackendAndRequestsBehindARefusalAreAnswered(boolean h2c) throws Exception {
    GatewayHarness gw = gateway(1, 30_000, h2c);
    String upgrade = "GET /ws/%s HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    byte[] mask = {1, 2, 3, 4};
    byte[] text = "early".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    java.io.ByteArrayOutputStream wire = new java.io.ByteArrayOutputStream();
    wire.write(upgrade.formatted("echo").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
    wire.write(new byte[] {(byte) 0x81, (byte) (0x80 | text.length)});
    wire.write(mask);
    for (int i = 0; i < text.length; i++) {
      wire.write(text[i] ^ mask[i % 4]);
    }
    for (int i = 0; i < 5; i++) {
      dev.dockgate.testing.RawHttp.Exchange early = dev.dockgate.testing.RawHttp.exchange(gw.port(), wire.toByteArray(),
          1, 500, 5_000);
      assertTrue(early.raw().startsWith("HTTP/1.1 101"), early.raw());
      assertTrue(early.raw().endsWith("\r\n\r\n\u0081\necho:early"),
          "session " + i + ": the frame sent before the 101 never reached the backend: " + early.raw());
    }
    // An upgrade no route takes (the gateway's 404), then a plain request behind it on the same connection.
    String refusedThenPlain = upgrade.formatted("x").replace("GET /ws/x", "GET /nothing/x")
        + "GET /stats HTTP/1.1\r\nHost: gw\r\n\r\n";
    dev.dockgate.testing.RawHttp.Exchange both = dev.dockgate.testing.RawHttp.exchange(gw.port(),
        refusedThenPlain.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1), 2, 300, 5_000);
    assertEquals(2, both.responses().size(), both.raw());
    assertEquals(404, both.responses().get(0).status(), both.raw());
    assertEquals(200, both.responses().get(1).status(), both.raw());
  }

  /**
   * An upgrade pipelined behind a plain request, its first frame right behind it: the plain request's answer is not
   * the upgrade's, so the frame stays held until the 101 and reaches the backend (before: the plain answer was taken
   * for a refusal of the upgrade, the frame read as a next request, and the client got a 400 instead of its echo).
   * The same on a listener with h2c on (before: the client got no echo there).
   */
  @ParameterizedTest(name = "h2c {0}")
  @ValueSource(booleans = {false, true})
  @org.junit.jupiter.api.Timeout(30)
  void aFrameBehindAnUpgradePipelinedAfterARequestWaitsForTheUpgradesAnswer(boolean h2c) throws Exception {
    GatewayHarness gw = gateway(1, 30_000, h2c);
    byte[] mask = {1, 2, 3, 4};
    byte[] text = "early".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    java.io.ByteArrayOutputStream wire = new java.io.ByteArrayOutputStream();
    wire.write(("GET /stats HTTP/1.1\r\nHost: gw\r\n\r\n"
        + "GET /ws/echo HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
    wire.write(new byte[] {(byte) 0x81, (byte) (0x80 | text.length)});
    wire.write(mask);
    for (int i = 0; i < text.length; i++) {
      wire.write(text[i] ^ mask[i % 4]);
    }
    dev.dockgate.testing.RawHttp.Exchange both = dev.dockgate.testing.RawHttp.exchange(gw.port(), wire.toByteArray(),
        2, 500, 5_000);
    assertTrue(both.raw().startsWith("HTTP/1.1 200"), both.raw());
    assertTrue(both.raw().contains("}HTTP/1.1 101"), both.raw()); // behind the 200's JSON body
    assertTrue(both.raw().endsWith("\r\n\r\n\u0081\necho:early"),
        "the frame sent before the 101 never reached the backend: " + both.raw());
  }

  /**
   * An upgrade request with a body, answered (400: an upgrade carries no body) before its body has been read, then a
   * plain request behind it on the same connection: the plain request is answered in turn (before: the bytes behind
   * the body were held for an answer that had already gone, and the connection hung).
   */
  @Test
  @org.junit.jupiter.api.Timeout(30)
  void aRequestBehindAnUpgradeAnsweredBeforeItsBodyEndedIsAnswered() throws Exception {
    GatewayHarness gw = gateway(1, 30_000);
    String both = "GET /ws/echo HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nContent-Length: 5\r\n\r\nhello"
        + "GET /stats HTTP/1.1\r\nHost: gw\r\n\r\n";
    dev.dockgate.testing.RawHttp.Exchange answers = dev.dockgate.testing.RawHttp.exchange(gw.port(),
        both.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1), 2, 300, 5_000);
    assertEquals(2, answers.responses().size(), "the request behind the upgrade got no answer: " + answers.raw());
    assertEquals(400, answers.responses().get(0).status(), answers.raw());
    assertEquals(200, answers.responses().get(1).status(), answers.raw());
  }

  /**
   * A client that leaves while its upgrade waits for the backend's answer: the gateway closes the backend
   * connection at once, as the proxied path resets its try, rather than holding it (and the route's in-flight
   * count) until {@code timeout_ms} (before: 20 s here, 30 s by default), and counts the request once as 499.
   */
  @Test
  void aClientLeavingBeforeThe101ClosesTheBackendConnectionAtOnce() throws Exception {
    BlockingQueue<java.net.Socket> held = new LinkedBlockingQueue<>();
    try (java.net.ServerSocket silent = new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
      acceptEach(silent, c -> {
        dev.dockgate.testing.RawHttp.readHead(c.getInputStream()); // the upgrade request, never answered
        held.add(c);
      });
      gateway = new GatewayHarness(dir, """
          docker: {enabled: false}
          routes:
            - {path_prefix: /ws, backend: silent, timeout_ms: 20000}
          backends:
            - {name: silent, targets: [http://127.0.0.1:%d]}
          """.formatted(silent.getLocalPort()), 1);
      for (int i = 0; i < 3; i++) {
        try (java.net.Socket c = new java.net.Socket("127.0.0.1", gateway.port())) {
          c.getOutputStream().write(("GET /ws/wait-" + i + " HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\n"
              + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
              .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
          java.net.Socket backendSide = held.poll(TIMEOUT_S, TimeUnit.SECONDS);
          assertNotNull(backendSide, "the upgrade reached the backend");
          c.close(); // the client leaves before any answer
          backendSide.setSoTimeout(5_000);
          long start = System.nanoTime();
          int read;
          try {
            read = backendSide.getInputStream().read();
          } catch (java.net.SocketTimeoutException e) {
            throw new AssertionError("upgrade " + i + ": the backend connection was still open 5 s after the client left");
          }
          assertEquals(-1, read, "nothing but the close reaches the backend");
          assertTrue(System.nanoTime() - start < 5_000_000_000L);
          backendSide.close();
        }
      }
      dev.dockgate.testing.Poll.until(java.time.Duration.ofSeconds(5), "in flight back to 0, three 499s counted", () ->
          new io.vertx.core.json.JsonObject(gateway.admin("/admin/routes").body()).getJsonArray("routes")
              .getJsonObject(0).getInteger("in_flight") == 0
              && gateway.stats().getJsonObject("requests_count").getLong("error") == 3);
      assertEquals(0, gateway.stats().getJsonObject("requests_count").getLong("success"));
    }
  }

  /**
   * A backend whose 101 is no WebSocket handshake (no Upgrade, another protocol than the websocket asked for, a
   * Sec-WebSocket-Accept that does not answer the key) gets its client 502, never a tunnel: through one, the client
   * would speak raw HTTP to the backend past the gateway's routes (here, the backend's "internal" answer behind its 101).
   */
  @Test
  @org.junit.jupiter.api.Timeout(60)
  void a101ThatIsNoWebSocketHandshakeIsA502NotATunnel() throws Exception {
    try (java.net.ServerSocket raw = new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
      acceptEach(raw, c -> {
        String head = dev.dockgate.testing.RawHttp.readHead(c.getInputStream());
        String switched = head.startsWith("GET /ws/bare") ? "HTTP/1.1 101 Switching Protocols\r\n\r\n"
            : head.startsWith("GET /ws/h2c") ? "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"
            : "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"; // the accept of another key
        c.getOutputStream().write((switched + "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\ninternal")
            .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        Thread.sleep(300);
        c.close();
      });
      gateway = gatewayToRaw(raw.getLocalPort());
      String[] paths = {"/ws/bare", "/ws/h2c", "/ws/wrong-accept"};
      for (String path : paths) {
        dev.dockgate.testing.RawHttp.Exchange got = dev.dockgate.testing.RawHttp.exchange(gateway.port(),
            ("GET " + path + " HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\nSec-WebSocket-Version: 13\r\n\r\n")
                .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1), 1, 1_000, 5_000);
        assertEquals(502, got.status(), path + ": " + got.raw());
        assertTrue(!got.raw().contains("internal"), path + ": the backend's bytes reached the client: " + got.raw());
      }
      Poll.until(Duration.ofSeconds(5), "three 502s counted", () ->
          gateway.stats().getJsonObject("requests_count").getLong("error") == paths.length);
      assertEquals(0L, gateway.stats().getJsonObject("requests_count").getLong("success"), gateway.stats().encode());
    }
  }

  /**
   * A tunnel paused by back-pressure (one side floods the other, which reads nothing, so the gateway stops reading the
   * flooding side) whose client resets its connection, whichever side floods: the gateway closes the backend
   * connection within 5 s (the reset seen within 250 ms, then the 2 s a side that takes nothing is given; the rest is
   * slack for a busy host), with
   * {@code idle_timeout_ms} 0 (never) as with a long one. Before, when the client was the side not read (it flooded),
   * the backend connection stayed open until the idle timeout, for ever at 0 (still open after 20 s). A FIN is not
   * tested: sent behind bytes the gateway does not read, it cannot leave the client's kernel (the window is shut).
   */
  @Test
  @org.junit.jupiter.api.Timeout(180)
  void aClientLeavingATunnelPausedByBackPressureClosesTheBackendConnection() throws Exception {
    leaveAPausedTunnel(true);
  }

  /**
   * The mirror: the backend resets its connection to a paused tunnel; the gateway closes the client's connection within
   * 5 s. Before, when the backend was the side not read, the client's stayed open for ever at idle_timeout_ms 0: the
   * tunnel closes once what the backend sent is written to the client, which took nothing.
   */
  @Test
  @org.junit.jupiter.api.Timeout(180)
  void aBackendLeavingATunnelPausedByBackPressureClosesTheClientConnection() throws Exception {
    leaveAPausedTunnel(false);
  }

  /**
   * A slow reader keeps its tunnel: a backend floods a client that reads 8 KiB every 100 ms (so the tunnel stays paused);
   * after 6 s, idle_timeout_ms 0, its tunnel is still open and the backend still writing. (A stall rule that closed an
   * open tunnel whose side took nothing of the gateway's buffer for 2 s cut it within 6 s: the kernel takes a
   * slow reader's bytes in large steps.)
   */
  @Test
  @org.junit.jupiter.api.Timeout(60)
  void aSlowReaderKeepsItsPausedTunnel() throws Exception {
    try (java.net.ServerSocket raw = new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
      BlockingQueue<java.net.Socket> backends = new LinkedBlockingQueue<>();
      acceptEach(raw, c -> {
        dev.dockgate.testing.RawHttp.readHead(c.getInputStream());
        c.getOutputStream().write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        backends.add(c);
      });
      gateway = new GatewayHarness(dir, "  idle_timeout_ms: 0\n", raw(raw.getLocalPort()), 1);
      try (java.net.Socket client = new java.net.Socket()) {
        client.setReceiveBufferSize(16 * 1024);
        client.connect(new java.net.InetSocketAddress("127.0.0.1", gateway.port()));
        client.getOutputStream().write(("GET /ws/flood HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\n"
            + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        java.net.Socket backendSide = backends.poll(TIMEOUT_S, TimeUnit.SECONDS);
        assertNotNull(backendSide, "the upgrade reached the backend");
        Peer flooding = new Peer(backendSide);
        flooding.flood();
        long read = 0;
        byte[] into = new byte[8 * 1024];
        long start = System.nanoTime();
        while (System.nanoTime() - start < 6_000_000_000L) {
          int n = client.getInputStream().read(into);
          assertTrue(n > 0, "the tunnel closed after " + read + " bytes read, " + (System.nanoTime() - start) / 1_000_000
              + " ms: " + flooding.how);
          read += n;
          Thread.sleep(100);
        }
        assertTrue(gatewayHolds(backendSide) && gatewayHolds(client) && flooding.ended.getCount() == 1,
            "the slow reader's tunnel was closed: " + flooding.how);
        assertTrue(flooding.written.get() > read + (1 << 20), "the tunnel was not paused: the backend wrote "
            + flooding.written.get() + " bytes, the client read " + read);
        backendSide.close();
      }
    }
  }

  /**
   * A slow reader gets the whole of what a backend sent before it closed its connection (a FIN, as a WebSocket server
   * ends its session): 3 MiB written at once, then the close, to a client reading 16 KiB every 50 ms (so the tunnel is
   * paused when the backend leaves): every byte, in order, then the end. The backend's close ends its side once what
   * Vert.x read of it is handed on; the client's side is owed the rest, which it takes slowly but steadily.
   */
  @Test
  @org.junit.jupiter.api.Timeout(90)
  void aSlowReaderGetsAllABackendSentBeforeClosing() throws Exception {
    byte[] sent = new byte[3 << 20];
    for (int i = 0; i < sent.length; i++) {
      sent[i] = (byte) (i * 7 + (i >> 12));
    }
    try (java.net.ServerSocket raw = new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
      acceptEach(raw, c -> {
        dev.dockgate.testing.RawHttp.readHead(c.getInputStream());
        c.getOutputStream().write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        c.getOutputStream().write(sent);
        c.close(); // a FIN behind the bytes
      });
      gateway = new GatewayHarness(dir, "  idle_timeout_ms: 0\n", raw(raw.getLocalPort()), 1);
      try (java.net.Socket client = new java.net.Socket()) {
        client.setReceiveBufferSize(16 * 1024);
        client.connect(new java.net.InetSocketAddress("127.0.0.1", gateway.port()));
        client.setSoTimeout(20_000);
        client.getOutputStream().write(("GET /ws/flood HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\n"
            + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        java.io.InputStream in = client.getInputStream();
        String head = dev.dockgate.testing.RawHttp.readHead(in);
        assertTrue(head.startsWith("HTTP/1.1 101"), head);
        java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
        byte[] into = new byte[16 * 1024];
        long start = System.nanoTime();
        String end = "its end";
        try {
          for (int n; (n = in.read(into)) > 0; ) {
            got.write(into, 0, n);
            Thread.sleep(50);
          }
        } catch (java.io.IOException e) {
          end = "a reset: " + e;
        }
        byte[] bytes = got.toByteArray();
        int same = 0;
        while (same < Math.min(bytes.length, sent.length) && bytes[same] == sent[same]) {
          same++;
        }
        String what = bytes.length + " bytes of " + sent.length + " (the first " + same + " the backend's), then " + end
            + ", after " + (System.nanoTime() - start) / 1_000_000 + " ms";
        System.out.println("slow reader, backend closed: " + what);
        assertEquals(sent.length, same, what);
        assertEquals(sent.length, bytes.length, what);
      }
    }
  }

  private void leaveAPausedTunnel(boolean clientLeaves) throws Exception {
    // NIO shows no TCP state: a reset of the side not read goes unseen there until idle_timeout_ms.
    org.junit.jupiter.api.Assumptions.assumeFalse(dev.dockgate.NetworkTransport.configured().equals("nio"));
    java.util.List<String> open = new java.util.ArrayList<>();
    for (long idle : new long[] {0, 600_000}) {
      try (java.net.ServerSocket raw = new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
        BlockingQueue<java.net.Socket> backends = new LinkedBlockingQueue<>();
        acceptEach(raw, c -> {
          dev.dockgate.testing.RawHttp.readHead(c.getInputStream());
          c.getOutputStream().write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n") // the accept of the RFC 6455 sample key
              .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
          backends.add(c);
        });
        gateway = new GatewayHarness(dir, "  idle_timeout_ms: " + idle + "\n", raw(raw.getLocalPort()), 1);
        for (boolean backendFloods : new boolean[] {true, false}) {
          String what = "idle_timeout_ms " + idle + ", the " + (backendFloods ? "backend" : "client") + " flooding, the "
              + (clientLeaves ? "client" : "backend") + " resetting its connection";
          try (java.net.Socket client = new java.net.Socket("127.0.0.1", gateway.port())) {
            client.getOutputStream().write(("GET /ws/flood HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
                .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
            java.net.Socket backendSide = backends.poll(TIMEOUT_S, TimeUnit.SECONDS);
            assertNotNull(backendSide, what + ": the upgrade reached the backend");
            if (!backendFloods) {
              String head = dev.dockgate.testing.RawHttp.readHead(client.getInputStream());
              assertTrue(head.startsWith("HTTP/1.1 101"), head);
            }
            Peer flooding = new Peer(backendFloods ? backendSide : client); // the other reads nothing
            flooding.flood();
            flooding.watch();
            flooding.awaitStalled(what);
            java.net.Socket leaving = clientLeaves ? client : backendSide;
            java.net.Socket staying = clientLeaves ? backendSide : client;
            assertTrue(gatewayHolds(staying), what + ": the gateway's end is not seen before the other side left");
            leaving.setSoLinger(true, 0);
            leaving.close();
            long left = System.nanoTime();
            while (gatewayHolds(staying) && System.nanoTime() - left < 5_000_000_000L) {
              Thread.sleep(10);
            }
            if (gatewayHolds(staying)) {
              open.add(what);
            }
            backendSide.close();
          }
        }
        gateway.close();
        gateway = null;
      }
    }
    assertTrue(open.isEmpty(), "the gateway still held the " + (clientLeaves ? "backend" : "client")
        + " connection 5 s after the other side left: " + open);
  }

  /**
   * Whether the gateway still holds its end of the connection whose other end is {@code peer} (established, or its
   * input ended but the socket not closed), as the kernel shows it in /proc/net/tcp: a side that reads nothing sees
   * no close of the gateway's, which stays behind the bytes it has not read.
   */
  private static boolean gatewayHolds(java.net.Socket peer) throws java.io.IOException {
    String local = ":%04X".formatted(peer.getPort()); // the gateway's end
    String remote = ":%04X".formatted(peer.getLocalPort());
    // The kernel lists its sockets in pieces, one read each: a socket opened or closed meanwhile (other tests on a busy
    // host) may hide a row from one reading. A row found is an answer; one missing three times in a row is gone.
    for (int reading = 0; reading < 3; reading++) {
      for (String table : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) { // 127.0.0.1 on a dual-stack socket: tcp6
        for (String line : java.nio.file.Files.readAllLines(Path.of(table))) {
          String[] field = line.trim().split("\\s+"); // sl, local address, remote address, state...
          if (field.length > 3 && field[1].endsWith(local) && field[2].endsWith(remote) && field[1].contains("0100007F")) {
            return field[3].equals("01") || field[3].equals("08"); // ESTABLISHED, CLOSE_WAIT
          }
        }
      }
    }
    return false;
  }


  /** The routes and backends of a gateway whose /ws route goes to the raw backend on {@code port}. */
  private static String raw(int port) {
    return """
        docker: {enabled: false}
        routes:
          - {path_prefix: /ws, backend: raw}
        backends:
          - {name: raw, targets: [http://127.0.0.1:%d]}
        """.formatted(port);
  }

  /**
   * One end of a tunnel seen from outside the gateway: it may write as fast as it can ({@link #flood}) and read until
   * its connection ends ({@link #watch}); either seeing the connection end (a read's end, a reset, a failed write)
   * counts as its end.
   */
  static final class Peer {
    final java.net.Socket socket;
    final java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong();
    final java.util.concurrent.CountDownLatch ended = new java.util.concurrent.CountDownLatch(1);
    volatile String how = "";

    Peer(java.net.Socket socket) {
      this.socket = socket;
    }

    void flood() {
      daemon(() -> {
        byte[] chunk = new byte[64 * 1024];
        try {
          while (true) {
            socket.getOutputStream().write(chunk); // blocks once the buffers on the way are full
            written.addAndGet(chunk.length);
          }
        } catch (java.io.IOException e) {
          end("a write failed: " + e);
        }
      });
    }

    void watch() {
      daemon(() -> {
        byte[] into = new byte[64 * 1024];
        try {
          while (socket.getInputStream().read(into) >= 0) {
            // what the other side sends: not the point
          }
          end("its input ended");
        } catch (java.io.IOException e) {
          end("a read failed: " + e);
        }
      });
    }

    private void end(String how) {
      if (ended.getCount() > 0) {
        this.how = how;
        ended.countDown();
      }
    }

    /** Until its writes have not moved for 300 ms: the gateway stopped reading it. */
    void awaitStalled(String what) {
      long[] last = {-1, 0};
      Poll.until(Duration.ofSeconds(20), what + ": the flood stalled", () -> {
        long now = written.get();
        last[1] = now > 0 && now == last[0] ? last[1] + 1 : 0;
        last[0] = now;
        return last[1] >= 30;
      });
      assertEquals(1, ended.getCount(), what + ": the tunnel ended before the other side left: " + how);
    }

    private static void daemon(Runnable run) {
      Thread thread = new Thread(run);
      thread.setDaemon(true);
      thread.start();
    }
  }

  /** One router, its /ws route to the raw backend on {@code port}. */
  private GatewayHarness gatewayToRaw(int port) {
    return new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /ws, backend: raw}
        backends:
          - {name: raw, targets: [http://127.0.0.1:%d]}
        """.formatted(port), 1);
  }

  /** What a raw backend does with each connection it accepts. */
  interface Accepted {
    void handle(java.net.Socket connection) throws Exception;
  }

  /** Accepts connections on {@code server} until it closes, each handed to {@code each} on a daemon thread. */
  static void acceptEach(java.net.ServerSocket server, Accepted each) {
    Thread accepting = new Thread(() -> {
      while (!server.isClosed()) {
        try {
          each.handle(server.accept());
        } catch (Exception e) {
          return;
        }
      }
    });
    accepting.setDaemon(true);
    accepting.start();
  }

  private static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(TIMEOUT_S, TimeUnit.SECONDS);
  }
}
