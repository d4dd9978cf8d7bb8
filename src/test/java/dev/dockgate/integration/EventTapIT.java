package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.dockgate.testing.Backends;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Ports;
import dev.dockgate.testing.TestBackend;
import io.vertx.core.json.JsonObject;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The traffic tap from outside the JVM (TCP event-bus bridge) and the slow-request alerter. */
class EventTapIT {

  @RegisterExtension
  static final Backends backends = new Backends();
  static TestBackend backend;

  @TempDir
  Path dir;

  @BeforeAll
  static void start() {
    backend = backends.start("tapped");
  }

  /** A gateway with the event-bus bridge on {@code bridgePort}, routing /app to the backend. */
  static String bridgeConfig(int bridgePort, int backendPort) {
    return """
        docker: {enabled: false}
        event_bus_bridge: {enabled: true, host: 127.0.0.1, port: %d}
        routes:
          - {path_prefix: /app, backend: app}
        backends:
          - {name: app, targets: ["http://127.0.0.1:%d"]}
        """.formatted(bridgePort, backendPort);
  }

  static void writeFrame(DataOutputStream out, JsonObject frame) throws IOException {
    byte[] bytes = frame.encode().getBytes(StandardCharsets.UTF_8);
    out.writeInt(bytes.length);
    out.write(bytes);
    out.flush();
  }

  static JsonObject readFrame(DataInputStream in) throws IOException {
    byte[] bytes = new byte[in.readInt()];
    in.readFully(bytes);
    return new JsonObject(new String(bytes, StandardCharsets.UTF_8));
  }

  @Test
  void aTcpClientReceivesTrafficEventsAndCannotSendIn() throws Exception {
    int bridgePort = Ports.free();
    try (GatewayHarness gw = new GatewayHarness(dir, bridgeConfig(bridgePort, backend.port()), 1);
         Socket socket = new Socket("127.0.0.1", bridgePort)) {
      socket.setSoTimeout(10_000);
      DataOutputStream out = new DataOutputStream(socket.getOutputStream());
      DataInputStream in = new DataInputStream(socket.getInputStream());
      writeFrame(out, new JsonObject().put("type", "register").put("address", "gateway.traffic").put("replyAddress", "me"));
      // A registration is acknowledged with nothing on success; prove it is live by traffic.
      JsonObject message = null;
      for (int attempt = 0; attempt < 50 && message == null; attempt++) {
        assertEquals(200, gw.get("/app/tapped-" + attempt).statusCode());
        socket.setSoTimeout(200);
        try {
          JsonObject frame = readFrame(in);
          if ("message".equals(frame.getString("type"))) {
            message = frame;
          }
        } catch (java.net.SocketTimeoutException notYet) {
          // registration not in place yet: send another request
        }
      }
      assertNotNull(message, "a traffic event over TCP");
      assertEquals("gateway.traffic", message.getString("address"));
      JsonObject event = message.getJsonObject("body");
      assertEquals("GET", event.getString("method"));
      assertEquals(200, event.getInteger("status"));
      assertEquals("/app", event.getString("route"));

      // Inbound is not permitted: asking for the stats over the bridge is refused.
      socket.setSoTimeout(10_000);
      writeFrame(out, new JsonObject().put("type", "send").put("address", "gateway.stats.query")
          .put("replyAddress", "me").put("body", new JsonObject()));
      JsonObject refusal = readFrame(in);
      while ("message".equals(refusal.getString("type"))) {
        refusal = readFrame(in);
      }
      assertEquals("err", refusal.getString("type"), refusal.encode());
      assertEquals("access_denied", refusal.getString("message"), refusal.encode());
    }
  }

  /**
   * A client registering on one address again and again gets each event once: the repeats are refused. Before, each
   * registration added a consumer (2,000 registrations: 2,000 copies of every event to that client), and only the
   * last was removed when the client left, so the others stayed on the event bus for good.
   */
  @Test
  @org.junit.jupiter.api.Timeout(60)
  void aRepeatedRegistrationIsRefusedAndEachEventComesOnce() throws Exception {
    int bridgePort = Ports.free();
    try (GatewayHarness gw = new GatewayHarness(dir, bridgeConfig(bridgePort, backend.port()), 1);
         Socket socket = new Socket("127.0.0.1", bridgePort)) {
      DataOutputStream out = new DataOutputStream(socket.getOutputStream());
      DataInputStream in = new DataInputStream(socket.getInputStream());
      JsonObject register = new JsonObject().put("type", "register").put("address", "gateway.traffic");
      int repeats = 200;
      for (int i = 0; i < repeats; i++) {
        writeFrame(out, register);
      }
      // The bridge answers frames in order: once its pong is in, every registration was handled.
      writeFrame(out, new JsonObject().put("type", "ping"));
      socket.setSoTimeout(10_000);
      int refused = 0;
      for (JsonObject frame = readFrame(in); !"pong".equals(frame.getString("type")); frame = readFrame(in)) {
        assertEquals("err", frame.getString("type"), frame.encode());
        refused++;
      }
      assertEquals(200, gw.get("/app/once").statusCode());
      socket.setSoTimeout(1_500);
      int copies = 0;
      try {
        while (true) {
          JsonObject frame = readFrame(in);
          assertEquals("message", frame.getString("type"), frame.encode());
          assertEquals("/app/once", frame.getJsonObject("body").getString("path"), frame.encode());
          copies++;
        }
      } catch (java.net.SocketTimeoutException quiet) {
        // nothing more came
      }
      assertEquals(1, copies, "copies of one traffic event sent to a client that registered " + repeats + " times");
      assertEquals(repeats - 1, refused, "each repeated registration is refused");
    }
  }

  @Test
  void slowRequestsRaiseAnAlert() throws Exception {
    try (GatewayHarness gw = new GatewayHarness(dir, """
        docker: {enabled: false}
        alerts: {slow_request_ms: 200}
        routes:
          - {path_prefix: /app, backend: app}
        backends:
          - {name: app, targets: ["http://127.0.0.1:%d"]}
        """.formatted(backend.port()), 1)) {
      BlockingQueue<JsonObject> alerts = new LinkedBlockingQueue<>();
      gw.vertx().eventBus().<JsonObject>consumer("gateway.alerts", msg -> alerts.add(msg.body()))
          .completion().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
      assertEquals(200, gw.get("/app/fast").statusCode());
      assertEquals(200, gw.get("/app/slow-one").statusCode());
      JsonObject alert = alerts.poll(5, TimeUnit.SECONDS);
      assertNotNull(alert);
      assertEquals("slow_request", alert.getString("type"));
      assertEquals("/app/slow-one", alert.getString("path"), "the fast request raised none");
      assertEquals(200L, alert.getLong("threshold_ms"));
    }
  }
}
