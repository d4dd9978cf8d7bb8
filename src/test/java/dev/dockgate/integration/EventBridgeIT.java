package dev.dockgate.integration;

import static dev.dockgate.integration.EventTapIT.bridgeConfig;
import static dev.dockgate.integration.EventTapIT.readFrame;
import static dev.dockgate.integration.EventTapIT.writeFrame;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.discovery.BackendInstances;
import dev.dockgate.events.TapAddresses;
import dev.dockgate.observability.EventBusTapVerticle;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.LoggedErrors;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The TCP event-bus bridge's own limits and protocol, over real sockets: an announced frame over the bound is
 * refused before its body is read, the frames of the Vert.x bridge protocol are answered as that bridge does, and
 * a client that stops reading loses events instead of making the gateway queue them.
 */
class EventBridgeIT {

  @TempDir
  Path dir;

  /** A gateway with the bridge on {@code bridgePort}; its one route's backend is never called. */
  GatewayHarness gateway(int bridgePort) {
    return new GatewayHarness(dir, bridgeConfig(bridgePort, Ports.free()), 1);
  }

  /** The same, with more keys of the bridge's block ({@code "max_clients: 2"}). */
  GatewayHarness gateway(int bridgePort, String bridgeKeys) {
    String config = bridgeConfig(bridgePort, Ports.free());
    String block = "port: " + bridgePort + "}";
    assertTrue(config.contains(block), config);
    return new GatewayHarness(dir, config.replace(block, "port: " + bridgePort + ", " + bridgeKeys + "}"), 1);
  }

  /** A bridge client on a plain socket; {@code buffers} > 0 sets its kernel buffers to that many bytes. */
  record Client(Socket socket, DataOutputStream out, DataInputStream in) implements AutoCloseable {

    static Client connect(int port, int buffers) throws IOException {
      Socket socket = new Socket();
      if (buffers > 0) {
        socket.setSendBufferSize(buffers);
        socket.setReceiveBufferSize(buffers);
      }
      socket.connect(new InetSocketAddress("127.0.0.1", port));
      socket.setSoTimeout(10_000);
      return new Client(socket, new DataOutputStream(socket.getOutputStream()),
          new DataInputStream(socket.getInputStream()));
    }

    void send(String type, String address) throws IOException {
      writeFrame(out, address == null ? new JsonObject().put("type", type)
          : new JsonObject().put("type", type).put("address", address));
    }

    JsonObject read() throws IOException {
      return readFrame(in);
    }

    /** Pings and reads the pong: every frame sent before it has been handled, with no answer. */
    void pingPong(String what) throws IOException {
      send("ping", null);
      assertEquals(new JsonObject().put("type", "pong"), read(), what);
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  /**
   * A length prefix announcing 300 MiB is answered with an err frame and the connection closes at once, without
   * the gateway waiting for (and buffering) the body. Before, the bridge waited for the whole frame, holding
   * every byte of it: 300 MiB sent after such a prefix took the gateway to 1.78 GB of heap.
   */
  @Test
  @Timeout(30)
  void anOversizedLengthPrefixIsRefusedAndClosedWithoutItsBody() throws Exception {
    int bridgePort = Ports.free();
    try (GatewayHarness gw = gateway(bridgePort); Client client = Client.connect(bridgePort, 0)) {
      client.socket().setSoTimeout(5_000);
      client.out().writeInt(300 * 1024 * 1024);
      client.out().flush();
      JsonObject refusal;
      try {
        refusal = client.read();
      } catch (SocketTimeoutException e) {
        throw new AssertionError("no answer within 5 s to a 300 MiB length prefix: the bridge waits for the body", e);
      }
      assertEquals(new JsonObject().put("type", "err").put("message", "frame_too_large"), refusal);
      assertEquals(-1, client.in().read(), "the connection is closed after the refusal");
    }
  }

  /** The body that follows an oversized prefix is never taken in: the connection is gone long before its end. */
  @Test
  @Timeout(60)
  void theBodyOfAnOversizedFrameIsNotTakenIn() throws Exception {
    int bridgePort = Ports.free();
    try (GatewayHarness gw = gateway(bridgePort); Client client = Client.connect(bridgePort, 0)) {
      client.out().writeInt(300 * 1024 * 1024);
      byte[] chunk = new byte[1024 * 1024];
      Arrays.fill(chunk, (byte) ' ');
      int limit = 32;
      int sent = 0;
      try {
        for (; sent < limit; sent++) {
          client.out().write(chunk);
        }
      } catch (IOException closed) {
        // the gateway closed the connection: what it had not read is gone with it
      }
      assertTrue(sent < limit, "the gateway took " + sent + " MiB of a frame announced as 300 MiB");
    }
  }

  /**
   * The frames of the Vert.x TCP bridge protocol, answered as that bridge answers them: register and unregister on
   * a permitted address (nothing back), message frames while registered, pong for ping, and an err frame naming the
   * problem for everything else, the connection staying open. None of it is logged as an error: before, a frame
   * that was not JSON was a SEVERE line (and no answer), and a register frame without an address a SEVERE
   * NullPointerException (and no answer).
   */
  @Test
  @Timeout(60)
  void theBridgeProtocolFramesAreAnsweredAsBefore() throws Exception {
    int bridgePort = Ports.free();
    try (LoggedErrors errors = new LoggedErrors();
         GatewayHarness gw = gateway(bridgePort); Client client = Client.connect(bridgePort, 0)) {
      client.pingPong("pong for a ping");
      client.send("register", "gateway.alerts");
      client.pingPong("a registration has no answer");
      JsonObject alert = new JsonObject().put("type", "test").put("n", 1);
      gw.vertx().eventBus().publish("gateway.alerts", alert);
      assertEquals(new JsonObject().put("type", "message").put("address", "gateway.alerts")
          .put("headers", new JsonObject()).put("body", alert).put("send", false), client.read());

      List<JsonObject> refused = List.of(
          new JsonObject().put("type", "register").put("address", "gateway.stats.query"),
          new JsonObject().put("type", "unregister").put("address", "gateway.stats.query"),
          new JsonObject().put("type", "send").put("address", "gateway.stats.query").put("body", new JsonObject()),
          new JsonObject().put("type", "publish").put("address", "gateway.alerts").put("body", new JsonObject()),
          new JsonObject().put("type", "send").put("address", "gateway.alerts").put("replyAddress", "me"),
          new JsonObject().put("type", "unregister").put("address", "gateway.health"),
          new JsonObject().put("type", "register"),
          new JsonObject().put("type", "subscribe").put("address", "gateway.alerts"));
      List<String> expected = List.of("access_denied", "access_denied", "access_denied", "access_denied",
          "access_denied", "unknown_address", "missing_address", "unknown_type");
      for (int i = 0; i < refused.size(); i++) {
        writeFrame(client.out(), refused.get(i));
        assertEquals(new JsonObject().put("type", "err").put("message", expected.get(i)), client.read(),
            refused.get(i).encode());
      }

      for (String notAnObject : List.of("{\"type\":", "[1,2]", "")) {
        byte[] bytes = notAnObject.getBytes(StandardCharsets.UTF_8);
        client.out().writeInt(bytes.length);
        client.out().write(bytes);
        assertEquals(new JsonObject().put("type", "err").put("message", "invalid_json"), client.read(), notAnObject);
      }

      client.send("unregister", "gateway.alerts");
      client.pingPong("an unregistration has no answer");
      gw.vertx().eventBus().publish("gateway.alerts", alert);
      client.send("register", "gateway.health");
      client.pingPong("no alert after unregistering");
      JsonObject health = new JsonObject().put("backend", "app").put("healthy", false);
      gw.vertx().eventBus().publish("gateway.health", health);
      assertEquals(health, client.read().getJsonObject("body"), "health events come");
      assertEquals(List.of(), errors.lines(), "a client's refused frames are not errors of the gateway");
    }
  }

  /**
   * A client sending pings without reading the pongs is not read either once its answers fill its queue: its writes
   * stall, and the gateway holds a bounded amount of its frames and answers. Before, the gateway read all of them
   * and queued every pong for a client that took none.
   */
  @Test
  @Timeout(120)
  void aClientThatDoesNotReadItsAnswersIsNotReadEither() throws Exception {
    int bridgePort = Ports.free();
    ByteArrayOutputStream thousand = new ByteArrayOutputStream();
    DataOutputStream frames = new DataOutputStream(thousand);
    for (int i = 0; i < 1_000; i++) {
      writeFrame(frames, new JsonObject().put("type", "ping"));
    }
    byte[] batch = thousand.toByteArray();
    int rounds = 2_000; // two million pings, 38 MB
    try (GatewayHarness gw = gateway(bridgePort); Client client = Client.connect(bridgePort, 64 * 1024)) {
      AtomicInteger written = new AtomicInteger();
      Thread writer = new Thread(() -> {
        try {
          for (int i = 0; i < rounds; i++) {
            client.out().write(batch);
            written.incrementAndGet();
          }
        } catch (IOException closed) {
          // the test closed the socket under a stalled write
        }
      });
      writer.start();
      // Wait until the writes are done or have not moved for 2 s.
      int[] last = {-1};
      long[] since = {System.nanoTime()};
      Poll.until(Duration.ofSeconds(60), "the pings written or stalled", () -> {
        int now = written.get();
        if (now != last[0]) {
          last[0] = now;
          since[0] = System.nanoTime();
        }
        return !writer.isAlive() || System.nanoTime() - since[0] > 2_000_000_000L;
      });
      // What the kernel's buffers hold (the gateway's send buffer grows to 4 MiB here: 220 thousand pongs) aside.
      assertTrue(written.get() < rounds / 4, "the gateway read " + written.get() + " thousand pings of a client that"
          + " read none of their pongs (of " + rounds + " thousand sent)");
      try (Client other = Client.connect(bridgePort, 0)) {
        other.pingPong("another client is served");
      }
      client.close();
      writer.join(10_000);
    }
  }

  /**
   * A client that registers and then stops reading has the events it cannot take dropped (counted, and said in the
   * log) once a bounded queue is full, instead of the gateway queuing every event for it. Before, the gateway queued
   * them all: 2,000 events of 32 KiB (62.5 MiB) waited in its memory and reached the client when it read again.
   */
  @Test
  @Timeout(120)
  void aClientThatDoesNotReadLosesEventsInsteadOfQueuingThem() throws Exception {
    int bridgePort = Ports.free();
    int events = 2_000;
    String filler = " ".repeat(32 * 1024);
    try (GatewayHarness gw = gateway(bridgePort);
         LoggedErrors log = new LoggedErrors(EventBusTapVerticle.class.getName(), Level.INFO);
         Client stalled = Client.connect(bridgePort, 64 * 1024);
         Client watcher = Client.connect(bridgePort, 0)) {
      stalled.send("register", "gateway.alerts");
      stalled.pingPong("registered");
      watcher.send("register", "gateway.health");
      watcher.pingPong("registered");

      for (int i = 0; i < events; i++) {
        gw.vertx().eventBus().publish("gateway.alerts", new JsonObject().put("n", i).put("filler", filler));
      }
      // Both clients are served by one event loop in the order things were published: once the watcher has this
      // marker, the gateway has written or dropped every one of the stalled client's events.
      gw.vertx().eventBus().publish("gateway.health", new JsonObject().put("marker", true));
      watcher.socket().setSoTimeout(30_000);
      assertEquals(true, watcher.read().getJsonObject("body").getBoolean("marker"));

      stalled.send("ping", null);
      int received = 0;
      for (JsonObject frame = stalled.read(); !"pong".equals(frame.getString("type")); frame = stalled.read()) {
        assertEquals("message", frame.getString("type"), frame.getString("message"));
        received++;
      }
      assertTrue(received < events / 2, "the gateway queued " + received + " of " + events + " events of 32 KiB ("
          + received / 32 + " MiB) for a client that did not read");
      // Every drop is counted in a line: when the client's queue drains (which the kernel taking bytes in may do
      // before the client reads) and, for those not said yet, when it leaves.
      String name = "event-bus bridge client 127.0.0.1:" + stalled.socket().getLocalPort();
      stalled.close();
      Poll.until(Duration.ofSeconds(10), "the stalled client's leaving logged",
          () -> log.lines().stream().anyMatch(l -> l.contains(name + " left: ")));
      Pattern caughtUp = Pattern.compile(".*: " + Pattern.quote(name)
          + " catches up: (\\d+) events? dropped while its queue was full");
      Pattern left = Pattern.compile(".*: " + Pattern.quote(name) + " left: .* \\((\\d+) more of its events dropped\\)");
      long dropped = 0;
      for (String line : log.lines()) {
        for (Pattern p : List.of(caughtUp, left)) {
          Matcher m = p.matcher(line);
          if (m.matches()) {
            dropped += Long.parseLong(m.group(1));
          }
        }
      }
      assertEquals(events, received + dropped, "received and dropped: " + log.lines());
      assertTrue(log.lines().stream().anyMatch(l -> l.startsWith("WARNING ") && l.contains(" falls behind:")),
          log.lines().toString());
    }
  }

  /**
   * With {@code max_clients: 2} and two clients connected, 20 more connections are each answered
   * {@code {"type":"err","message":"too_many_clients"}} and closed, unserved; the burst is one WARNING line, not
   * one per connection, and its count is said once a client leaves and a new one is served again. Before, there
   * was no cap: every connection was served (and could hold a registration on every address).
   */
  @Test
  @Timeout(60)
  void connectionsOverMaxClientsAreRefusedWithOneWarningPerBurst() throws Exception {
    int bridgePort = Ports.free();
    int extra = 20;
    try (GatewayHarness gw = gateway(bridgePort, "max_clients: 2");
         LoggedErrors log = new LoggedErrors(EventBusTapVerticle.class.getName(), Level.INFO);
         LoggedErrors errors = new LoggedErrors();
         Client first = Client.connect(bridgePort, 0);
         Client second = Client.connect(bridgePort, 0)) {
      first.pingPong("the first client is served");
      second.send("register", "gateway.alerts");
      second.pingPong("the second client is served");
      for (int i = 0; i < extra; i++) {
        try (Client refused = Client.connect(bridgePort, 0)) {
          refused.socket().setSoTimeout(3_000);
          JsonObject answer; // told at once, before it sends anything (its first frame would be taken in and dropped)
          try {
            answer = refused.read();
          } catch (SocketTimeoutException e) {
            throw new AssertionError("connection " + (i + 3) + " with max_clients: 2 is not refused", e);
          }
          assertEquals(new JsonObject().put("type", "err").put("message", "too_many_clients"), answer,
              "connection " + (i + 3) + " with max_clients: 2");
          assertEquals(-1, refused.in().read(), "a refused connection is closed");
        }
      }
      second.pingPong("the clients in place are still served");
      List<String> warnings = log.lines().stream().filter(l -> l.startsWith("WARNING ")).toList();
      assertEquals(1, warnings.size(), "one WARNING for the burst: " + log.lines());
      assertTrue(warnings.get(0).contains("max_clients (2)"), warnings.get(0));

      String firstName = "event-bus bridge client 127.0.0.1:" + first.socket().getLocalPort() + " left: ";
      first.close();
      Poll.until(Duration.ofSeconds(5), "the first client's leaving logged",
          () -> log.lines().stream().anyMatch(l -> l.contains(firstName)));
      assertTrue(log.lines().stream().anyMatch(l -> l.startsWith("INFO ")
          && l.contains("takes clients again: " + extra + " connections refused while max_clients (2)")),
          "the burst's count, once a client left: " + log.lines());
      assertEquals(1, log.lines().stream().filter(l -> l.contains(" left: ")).count(),
          "refused connections are not clients that left: " + log.lines());
      try (Client next = Client.connect(bridgePort, 0)) {
        next.pingPong("a new client is served once one left");
      }
      assertEquals(1, log.lines().stream().filter(l -> l.startsWith("WARNING ")).count(), log.lines().toString());
      assertEquals(List.of(), errors.lines());
    }
  }

  /**
   * With {@code idle_timeout_ms: 1000}: a client that sends nothing is told {@code idle_timeout} and closed about
   * a second after it connected, and so is one that registered, stopped reading and never pinged, its queue full
   * (with {@code max_clients: 3}, both places are free again though it read nothing); a client that pings every
   * 300 ms stays. Before, a client that sent nothing was held for as long as it kept its connection open.
   */
  @Test
  @Timeout(60)
  void clientsThatSendNothingForTheIdleTimeoutAreClosedAndPingersStay() throws Exception {
    int bridgePort = Ports.free();
    String filler = " ".repeat(32 * 1024);
    try (GatewayHarness gw = gateway(bridgePort, "idle_timeout_ms: 1000, max_clients: 3");
         LoggedErrors log = new LoggedErrors(EventBusTapVerticle.class.getName(), Level.INFO);
         LoggedErrors errors = new LoggedErrors();
         Client stalled = Client.connect(bridgePort, 64 * 1024);
         Client pinger = Client.connect(bridgePort, 0);
         Client silent = Client.connect(bridgePort, 0)) {
      long connected = System.nanoTime();
      stalled.send("register", "gateway.alerts");
      stalled.pingPong("registered");
      for (int i = 0; i < 200; i++) {
        gw.vertx().eventBus().publish("gateway.alerts", new JsonObject().put("n", i).put("filler", filler));
      }
      silent.socket().setSoTimeout(5_000);
      List<Object> seen = new ArrayList<>(); // what the silent client read, then when its connection closed
      Thread reader = new Thread(() -> {
        try {
          seen.add(silent.read());
          seen.add(silent.in().read());
        } catch (IOException e) {
          seen.add(e);
        }
        seen.add((System.nanoTime() - connected) / 1_000_000);
      });
      reader.start();
      for (int i = 0; i < 10; i++) {
        pinger.pingPong("a client pinging every 300 ms stays, ping " + i);
        Thread.sleep(300);
      }
      reader.join(10_000);
      assertEquals(List.of(new JsonObject().put("type", "err").put("message", "idle_timeout"), -1),
          seen.subList(0, 2), "a client that sent nothing for 5 s with idle_timeout_ms: 1000: " + seen);
      long closedAfterMs = (Long) seen.get(2);
      assertTrue(closedAfterMs >= 900 && closedAfterMs < 3_000, "closed " + closedAfterMs + " ms after it connected");
      String stalledName = "event-bus bridge client 127.0.0.1:" + stalled.socket().getLocalPort() + " left: ";
      Poll.until(Duration.ofSeconds(5), "the stalled client closed", () -> log.lines().stream()
          .anyMatch(l -> l.contains(stalledName) && l.contains("idle_timeout_ms")));
      // Their places (max_clients: 3) are free again, though the stalled client read none of its queued events:
      // its close did not wait for them.
      Poll.until(Duration.ofSeconds(5), "two more clients served beside the pinger", () -> {
        try (Client a = Client.connect(bridgePort, 0); Client b = Client.connect(bridgePort, 0)) {
          a.send("ping", null);
          b.send("ping", null);
          return "pong".equals(a.read().getString("type")) && "pong".equals(b.read().getString("type"));
        } catch (IOException e) {
          return false;
        }
      });
      assertEquals(List.of(), errors.lines());
    }
  }

  /**
   * Should an event's body not be JSON (none of the tappable addresses carries such bodies: a Java object published
   * on {@code gateway.alerts} here), it is dropped, each client registered on its address is told once
   * ({@code {"type":"err","message":"body_not_json","address":"gateway.alerts"}}), the gateway says so in one WARNING
   * line for the address, however many messages and clients, and the clients' other events still come. Before, each
   * message was a SEVERE line with a stack trace, and the client was told nothing.
   */
  @Test
  @Timeout(60)
  void messagesThatAreNotJsonAreDroppedWithOneWarningPerAddress() throws Exception {
    int bridgePort = Ports.free();
    try (GatewayHarness gw = gateway(bridgePort);
         LoggedErrors log = new LoggedErrors("", Level.WARNING);
         Client first = Client.connect(bridgePort, 0);
         Client second = Client.connect(bridgePort, 0)) {
      JsonObject notJson = new JsonObject().put("type", "err").put("message", "body_not_json")
          .put("address", "gateway.alerts");
      JsonObject alert = new JsonObject().put("type", "test");
      JsonObject alertFrame = new JsonObject().put("type", "message").put("address", "gateway.alerts")
          .put("headers", new JsonObject()).put("body", alert).put("send", false);
      first.send("register", "gateway.alerts");
      first.pingPong("registered");
      for (int i = 0; i < 3; i++) {
        gw.vertx().eventBus().publish("gateway.alerts", BackendInstances.EMPTY);
      }
      gw.vertx().eventBus().publish("gateway.alerts", alert);
      assertEquals(notJson, first.read(), "the client is told once");
      assertEquals(alertFrame, first.read(), "then its other events come");

      second.send("register", "gateway.alerts");
      second.pingPong("registered");
      for (int i = 0; i < 3; i++) {
        gw.vertx().eventBus().publish("gateway.alerts", BackendInstances.EMPTY);
      }
      gw.vertx().eventBus().publish("gateway.alerts", alert);
      assertEquals(notJson, second.read(), "another client is told too");
      assertEquals(alertFrame, second.read(), "then its other events come");
      assertEquals(alertFrame, first.read(), "the first is not told again");
      first.pingPong("nothing more for the first client");
      second.pingPong("nothing more for the second client");

      List<String> lines = new ArrayList<>(log.lines());
      assertEquals(1, lines.size(), "one WARNING for the address, nothing else: " + lines);
      assertTrue(lines.get(0).startsWith("WARNING ") && lines.get(0).contains("gateway.alerts")
          && lines.get(0).contains("BackendInstances"), lines.get(0));
    }
  }

  /**
   * A config whose {@code event_bus_bridge.addresses} names {@code gateway.stats.query}, the address /stats asks, is
   * refused at start, naming the entry and why. Before, the gateway started, and a bridge client registered there
   * was one more consumer of it, handed every other /stats question and answering none: those /stats answered 503
   * ({@code unavailable: gateway.stats.query}) after 5 s, and the client got the questions as message frames.
   */
  @Test
  @Timeout(60)
  void aBridgeListingTheStatsQueryAddressIsRefusedAtStart() {
    int bridgePort = Ports.free();
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> gateway(bridgePort, "addresses: [gateway.alerts, gateway.stats.query]").close(),
        "a bridge listing gateway.stats.query starts");
    Throwable cause = e.getCause() instanceof ExecutionException ee ? ee.getCause() : e.getCause();
    String message = String.valueOf(cause.getMessage());
    assertTrue(message.endsWith(": event_bus_bridge.addresses[1]: gateway.stats.query is a request/reply address of"
        + " the gateway: a bridge client registered on it would be handed a share of its requests and answer none, so"
        + " they would time out (/stats, /metrics, the admin endpoints, a reload, a drain); the bridge taps only"
        + " gateway.traffic, gateway.health, gateway.alerts, gateway.discovery.announce, gateway.cluster.members"),
        message);
  }

  /**
   * A client registered on every address the bridge may tap takes none of the gateway's questions: /stats and
   * /metrics each answer at once, again and again, and its registering on {@code gateway.stats.query} or sending
   * there is denied.
   */
  @Test
  @Timeout(60)
  void aClientOnEveryTappableAddressTakesNoneOfTheGatewaysQuestions() throws Exception {
    int bridgePort = Ports.free();
    try (GatewayHarness gw = gateway(bridgePort, "addresses: [" + String.join(", ", TapAddresses.TAPPABLE) + "]");
         Client client = Client.connect(bridgePort, 0)) {
      for (String address : TapAddresses.TAPPABLE) {
        client.send("register", address);
      }
      client.pingPong("registered on " + TapAddresses.TAPPABLE);
      for (String type : List.of("register", "send")) {
        client.send(type, "gateway.stats.query");
        assertEquals(new JsonObject().put("type", "err").put("message", "access_denied"), client.read(), type);
      }
      for (int i = 0; i < 4; i++) {
        for (String path : List.of("/stats", "/metrics")) {
          long start = System.nanoTime();
          HttpResponse<String> answer = path.equals("/stats") ? gw.get(path) : gw.admin(path);
          long tookMs = (System.nanoTime() - start) / 1_000_000;
          assertEquals(200, answer.statusCode(), path + " #" + i + ": " + answer.body());
          assertTrue(tookMs < 2_000, path + " #" + i + " took " + tookMs + " ms");
        }
      }
      client.socket().setSoTimeout(500);
      List<JsonObject> frames = new ArrayList<>();
      try {
        for (;;) {
          frames.add(client.read());
        }
      } catch (SocketTimeoutException quiet) {
        // nothing more came
      }
      assertTrue(frames.stream().noneMatch(f -> f.containsKey("replyAddress")),
          "the client was handed a request: " + frames);
    }
  }
}
