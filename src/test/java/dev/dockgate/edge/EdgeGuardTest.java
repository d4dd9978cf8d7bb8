package dev.dockgate.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.admin.AdminEndpoints;
import dev.dockgate.config.ConfigLoader;
import dev.dockgate.config.GatewayConfig;
import dev.dockgate.config.ServerConfig;
import dev.dockgate.events.Addresses;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.impl.VertxHttpRequestDecoder;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.impl.ConnectionBase;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The edge on a real Vert.x listener: it finds Vert.x's HTTP/1.x request decoder in each new
 * connection's pipeline and puts the strict one in its place; should a Vert.x version build its
 * pipeline otherwise, the edge says so once at SEVERE and readiness turns DOWN, instead of the
 * strict checks and the slow-head sweep vanishing unnoticed.
 */
class EdgeGuardTest {

  final Vertx vertx = Vertx.vertx();
  /** The request decoder of each connection once the edge admitted it. */
  final List<ChannelHandler> decoders = new CopyOnWriteArrayList<>();
  final List<LogRecord> severe = new CopyOnWriteArrayList<>();
  final Handler capture = new Handler() {
    @Override
    public void publish(LogRecord record) {
      if (record.getLevel().intValue() >= Level.SEVERE.intValue()) {
        severe.add(record);
      }
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }
  };
  final Logger edgeLog = Logger.getLogger(EdgeGuard.class.getName());
  EdgeGuard edge;

  @AfterEach
  void stop() throws Exception {
    edgeLog.removeHandler(capture);
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  @Timeout(30)
  void theStrictDecoderTakesTheVertxDecodersPlace() throws Exception {
    int port = listen(pipeline -> { });
    assertEquals("HTTP/1.1 200", get(port));
    assertEquals("HTTP/1.1 200", get(port));

    assertEquals(2, decoders.size());
    for (ChannelHandler decoder : decoders) {
      assertInstanceOf(StrictRequestDecoder.class, decoder);
    }
    assertNull(edge.unguarded());
    assertEquals("UP", edgeCheck(port).getString("status"));
    assertEquals(List.of(), severe);
  }

  @Test
  @Timeout(30)
  void withoutVertxsDecoderTheEdgeSaysSoOnceAndIsNotReady() throws Exception {
    // As a Vert.x that decoded requests with another handler would build the pipeline.
    int port = listen(pipeline -> pipeline.replace(VertxHttpRequestDecoder.class, "httpDecoder", new HttpRequestDecoder()));
    assertEquals("HTTP/1.1 200", get(port), "served all the same, without the strict checks");
    assertEquals("HTTP/1.1 200", get(port));

    String problem = edge.unguarded();
    assertNotNull(problem);
    assertTrue(problem.contains("strict request decoder and the slow-head sweep are off"), problem);
    assertEquals(1, severe.size(), "said once: " + severe.stream().map(LogRecord::getMessage).toList());
    assertTrue(severe.get(0).getMessage().startsWith(problem), severe.get(0).getMessage());
    JsonObject check = edgeCheck(port);
    assertEquals("DOWN", check.getString("status"), check.encode());
    assertEquals(problem, check.getJsonObject("data").getString("problem"));
  }

  /**
   * On an h2c listener Vert.x hands an HTTP/1.x connection over only once its first head is decoded, and Netty
   * decodes a head cut short by the client's close as an invalid request: the edge is handed a connection already
   * closed. It must keep nothing of it (it kept each one, with its decoder, channel and buffers, for the process's
   * life: a client closing mid-head, a scanner or a slow-header client answered 408, grew the heap for good).
   */
  @Test
  @Timeout(30)
  void anH2cConnectionClosedInItsFirstHeadLeavesNothingBehind() throws Exception {
    int port = listen(true, pipeline -> { });
    for (int i = 0; i < 20; i++) {
      try (Socket socket = new Socket("127.0.0.1", port)) {
        socket.getOutputStream().write("GET / HTTP/1.1\r\nHo".getBytes(StandardCharsets.US_ASCII));
      }
    }
    assertEquals("HTTP/1.1 200", get(port));
    dev.dockgate.testing.Poll.until(java.time.Duration.ofSeconds(5),
        "no closed connection kept by the edge (" + edge.connectionsWatched() + " kept)", () -> edge.connectionsWatched() == 0);
  }

  /**
   * A listener with the edge, as the router has it: {@code beforeAdmit} changes each new pipeline
   * first. Requests get 200, and /health the readiness document.
   */
  int listen(Consumer<ChannelPipeline> beforeAdmit) throws Exception {
    return listen(false, beforeAdmit);
  }

  /** The same, with h2c on or off; with it on, the listening socket's guard is put in place as the router does. */
  int listen(boolean h2c, Consumer<ChannelPipeline> beforeAdmit) throws Exception {
    edgeLog.addHandler(capture);
    GatewayConfig config = ConfigLoader.parse("edge.yml", new JsonObject().put("docker", new JsonObject().put("enabled", false)), List.of());
    ServerConfig server = config.server();
    vertx.eventBus().consumer(Addresses.DISCOVERY_STATUS, msg -> msg.reply(new JsonObject().put("enabled", false)));
    // h2c off unless asked, as the gateway's listener has it by default (with h2c on, the listener's guard puts the
    // decoder in place).
    HttpServerOptions options = new HttpServerOptions().setHost("127.0.0.1").setPort(0).setHttp2ClearTextEnabled(h2c);
    edge = new EdgeGuard(vertx, options, server.limits(), new OpenConnections());
    AdminEndpoints admin = new AdminEndpoints(vertx, () -> config, JsonObject::new, Buffer.buffer(), edge::unguarded);
    HttpServer listener = vertx.createHttpServer(options)
        .connectionHandler(connection -> {
          ChannelPipeline pipeline = ((ConnectionBase) connection).channel().pipeline();
          beforeAdmit.accept(pipeline);
          edge.admit(connection);
          decoders.add(pipeline.get(HttpRequestDecoder.class));
        })
        .requestHandler(request -> {
          if (!admin.handle(request, request.path(), server, "", "", false)) {
            request.response().end("ok");
          }
        })
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    edge.guardListener(listener);
    return listener.actualPort();
  }

  /** The "edge" check of the readiness document. */
  static JsonObject edgeCheck(int port) {
    String response = request(port, "/health");
    JsonObject health = new JsonObject(response.substring(response.indexOf("\r\n\r\n") + 4));
    return health.getJsonArray("checks").stream().map(JsonObject.class::cast)
        .filter(c -> c.getString("id").equals("edge")).findFirst().orElseThrow();
  }

  /** The status line of GET / on a new connection. */
  static String get(int port) {
    String response = request(port, "/");
    return response.substring(0, Math.min(12, response.length()));
  }

  static String request(int port, String path) {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      return new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
