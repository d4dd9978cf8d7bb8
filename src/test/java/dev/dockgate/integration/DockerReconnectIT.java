package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.dockgate.NetworkTransport;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.SecondEngine;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Docker engine of the test's own ({@link SecondEngine}) restarted again and again under a gateway
 * that follows it through a unix-socket relay, which counts the gateway's open event streams and can
 * fail a listing as an engine going away right after the stream opened would. However the restarts
 * go, the gateway ends up with one event stream, and opens no more once it follows the engine again.
 */
class DockerReconnectIT {

  static final int RESTARTS = 4;

  @TempDir
  Path dir;

  @Test
  @Timeout(180)
  void oneEventStreamAfterRepeatedEngineRestarts() throws Exception {
    Vertx relayVertx = Vertx.builder().withTransport(NetworkTransport.withDomainSockets()).build();
    Path relaySocket = Files.createTempDirectory(Path.of("/tmp"), "dg-relay-").resolve("docker.sock");
    try (SecondEngine engine = new SecondEngine();
         EngineRelay relay = new EngineRelay(relayVertx, relaySocket, engine.socket());
         GatewayHarness gw = new GatewayHarness(dir, """
             docker: {host: "unix://%s"}
             routes: [{path_prefix: /api, backend: api}]
             backends: [{name: api, match_labels: [app_name=reconnect]}]
             """.formatted(relaySocket))) {
      Poll.until(Duration.ofSeconds(10), "following the engine", () -> following(gw) && relay.openStreams() == 1);

      for (int i = 0; i < RESTARTS; i++) {
        // Every other restart, the listing after the stream reopens fails: the attempt must give up its stream.
        relay.failListings(i % 2 == 0 ? 1 : 0);
        engine.restart();
        int restart = i + 1;
        Poll.until(Duration.ofSeconds(30), "following the engine again after restart " + restart,
            () -> following(gw) && relay.listingsToFail() == 0);
      }

      int opened = relay.openedStreams();
      Duration hold = Duration.ofSeconds(2);
      long until = System.nanoTime() + hold.toNanos();
      while (System.nanoTime() < until) {
        assertEquals(1, relay.openStreams(), "event streams open after " + RESTARTS + " engine restarts");
        Thread.sleep(50);
      }
      assertEquals(opened, relay.openedStreams(), "event streams opened while the gateway followed the engine");
      assertEquals("connected", discovery(gw).getString("state"), discovery(gw).encode());
    } finally {
      relayVertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      Files.deleteIfExists(relaySocket);
      Files.deleteIfExists(relaySocket.getParent());
    }
  }

  static boolean following(GatewayHarness gw) {
    return discovery(gw).getBoolean("connected", false);
  }

  /** The discovery check of the gateway's readiness: engine, connected, state, instances. */
  static JsonObject discovery(GatewayHarness gw) {
    JsonObject health = new JsonObject(gw.admin("/health").body());
    return health.getJsonArray("checks").stream().map(JsonObject.class::cast)
        .filter(check -> check.getString("id").equals("discovery"))
        .findFirst().orElseThrow().getJsonObject("data");
  }

  /**
   * Relays connections on a unix socket to the engine's socket. A connection whose first request is
   * {@code GET /events} counts as an event stream while open; while listings are to fail, a
   * {@code GET /containers/json} closes its connection before the engine sees it.
   */
  static final class EngineRelay implements AutoCloseable {
    private final Vertx vertx;
    private final SocketAddress engine;
    private final NetServer server;
    private final Set<NetSocket> streams = ConcurrentHashMap.newKeySet();
    private final AtomicInteger opened = new AtomicInteger();
    private final AtomicInteger failing = new AtomicInteger();

    EngineRelay(Vertx vertx, Path socket, Path engineSocket) throws Exception {
      this.vertx = vertx;
      this.engine = SocketAddress.domainSocketAddress(engineSocket.toString());
      this.server = vertx.createNetServer().connectHandler(this::relay)
          .listen(SocketAddress.domainSocketAddress(socket.toString()))
          .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    int openStreams() {
      return streams.size();
    }

    int openedStreams() {
      return opened.get();
    }

    void failListings(int n) {
      failing.set(n);
    }

    int listingsToFail() {
      return failing.get();
    }

    private void relay(NetSocket client) {
      client.pause();
      vertx.createNetClient().connect(engine).onComplete(ar -> {
        if (ar.failed()) {
          client.close(); // the engine is down: the gateway sees its connection closed
          return;
        }
        NetSocket upstream = ar.result();
        client.handler(bytes -> fromGateway(client, upstream, bytes));
        upstream.handler(client::write);
        client.closeHandler(v -> {
          streams.remove(client);
          upstream.close();
        });
        upstream.closeHandler(v -> client.close());
        client.resume();
      });
    }

    private void fromGateway(NetSocket client, NetSocket upstream, Buffer bytes) {
      String start = bytes.getString(0, Math.min(bytes.length(), 32));
      if (start.startsWith("GET /events") && streams.add(client)) {
        opened.incrementAndGet();
      }
      if (start.startsWith("GET /containers/json") && failing.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        upstream.close();
        client.close();
        return;
      }
      upstream.write(bytes);
    }

    @Override
    public void close() throws Exception {
      server.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }
}
