package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.NetworkTransport;
import dev.dockgate.testing.Docker;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
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
import java.util.List;
import java.util.Map;
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
    try (Relayed relayed = new Relayed(dir, "reconnect")) {
      SecondEngine engine = relayed.engine;
      EngineRelay relay = relayed.relay;
      GatewayHarness gw = relayed.gw;
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
    }
  }

  /**
   * A HEALTHCHECK runs as an exec, and each run sends three container events (exec_create, exec_start,
   * exec_die): on the engine of the test's own, where nothing else happens, a container checked every 200 ms
   * brings no listing while its health stays the same. Before, each run brought one or two listings.
   */
  @Test
  @Timeout(120)
  void healthCheckRunsBringNoListing() throws Exception {
    try (Relayed relayed = new Relayed(dir, "checked")) {
      EngineRelay relay = relayed.relay;
      GatewayHarness gw = relayed.gw;
      Docker docker = relayed.docker();
      String checked = docker.runHttpd("checked", Ports.free(), "/api/id", Map.of("app_name", "checked"),
          List.of("--health-cmd", "true", "--health-interval", "200ms"));
      Poll.until(Duration.ofSeconds(15), "the checked container routed", () -> gw.get("/api/id").statusCode() == 200);
      Poll.until(Duration.ofSeconds(10), "healthy", () -> docker.health(checked).equals("healthy"));
      int listings = relay.listings();
      int runs = relay.execsEnded();
      Poll.until(Duration.ofSeconds(20), "ten more check runs", () -> relay.execsEnded() >= runs + 10);
      int during = relay.listings() - listings;
      assertEquals("healthy", docker.health(checked));
      assertTrue(during <= 1, "listings while ten health checks ran and nothing changed: " + during);
    }
  }

  /**
   * A running container disconnected from a network, then connected to it again ({@code docker network disconnect}
   * and {@code connect}, here on the none network: no network may be created on this machine): each brings a
   * listing, the real engine's network events read as the gateway expects. Before, the gateway asked for container
   * events only, and neither brought one.
   */
  @Test
  @Timeout(120)
  void aNetworkDisconnectOrConnectBringsAListing() throws Exception {
    try (Relayed relayed = new Relayed(dir, "wired")) {
      Docker docker = relayed.docker();
      String wired = docker.runOnNoNetwork("wired", Map.of("app_name", "wired"));
      Poll.until(Duration.ofSeconds(15), "following the engine", () -> following(relayed.gw));
      // The container's own events and their listings done: none for a second (else a late one would pass for one
      // the network event brought).
      for (int last = -1; relayed.relay.listings() != last; ) {
        last = relayed.relay.listings();
        Thread.sleep(1_000);
      }
      for (String action : List.of("disconnect", "connect")) {
        int listings = relayed.relay.listings();
        docker.network(action, "none", wired);
        Poll.until(Duration.ofSeconds(5), "a listing after docker network " + action,
            () -> relayed.relay.listings() > listings);
      }
    }
  }

  /**
   * An engine of the test's own, the relay in front of it on a unix socket and a gateway following the relay,
   * routing /api to the containers labelled {@code app_name=APP}; closed in the reverse order.
   */
  static final class Relayed implements AutoCloseable {
    final Vertx relayVertx = Vertx.builder().withTransport(NetworkTransport.withDomainSockets()).build();
    final Path relaySocket;
    final SecondEngine engine;
    final EngineRelay relay;
    final GatewayHarness gw;

    Relayed(Path dir, String app) throws Exception {
      relaySocket = Files.createTempDirectory(Path.of("/tmp"), "dg-relay-").resolve("docker.sock");
      engine = new SecondEngine();
      EngineRelay opened = null;
      try {
        opened = new EngineRelay(relayVertx, relaySocket, engine.socket());
        gw = new GatewayHarness(dir, """
            docker: {host: "unix://%s"}
            routes: [{path_prefix: /api, backend: api}]
            backends: [{name: api, match_labels: [app_name=%s]}]
            """.formatted(relaySocket, app));
      } catch (Exception | Error e) {
        try (SecondEngine stop = engine; EngineRelay r = opened) {
          relayVertx.close();
        }
        throw e;
      }
      relay = opened;
    }

    /** The docker CLI on the engine's own socket, not through the relay. */
    Docker docker() {
      return new Docker().onEngine("unix://" + engine.socket());
    }

    @Override
    public void close() throws Exception {
      try (SecondEngine e = engine; EngineRelay r = relay; GatewayHarness g = gw) {
        // closed by the try, gateway first
      } finally {
        relayVertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        Files.deleteIfExists(relaySocket);
        Files.deleteIfExists(relaySocket.getParent());
      }
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
    private final AtomicInteger listings = new AtomicInteger();
    private final AtomicInteger execsEnded = new AtomicInteger();

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

    /** Container listings the gateway asked for. */
    int listings() {
      return listings.get();
    }

    /** exec_die events the engine sent the gateway (a HEALTHCHECK run ends with one). */
    int execsEnded() {
      return execsEnded.get();
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
        upstream.handler(bytes -> {
          String text = bytes.toString();
          for (int at = text.indexOf("\"Action\":\"exec_die"); at >= 0; at = text.indexOf("\"Action\":\"exec_die", at + 1)) {
            execsEnded.incrementAndGet();
          }
          client.write(bytes);
        });
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
      if (start.startsWith("GET /containers/json")) {
        listings.incrementAndGet();
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
