package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.discovery.DockerImporter;
import dev.dockgate.testing.Docker;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.GatewayJar;
import dev.dockgate.testing.LoggedErrors;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway reaches the engine through a TCP relay on 127.0.0.1 that the test opens and cuts:
 * Docker unreachable at start, lost while serving, and back again.
 */
class DockerOutageIT {

  static final String SUITE = "outage-" + UUID.randomUUID().toString().substring(0, 6);
  static Docker docker;
  static Vertx relayVertx;

  @TempDir
  Path dir;

  @BeforeAll
  static void start() {
    docker = new Docker();
    relayVertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() {
    docker.removeAll();
    relayVertx.close();
  }

  /**
   * Relays TCP connections on a local port to the engine's unix socket until closed. While
   * {@link #silent}, it accepts connections and holds them open unanswered, as a hung engine (or one
   * stopped with SIGSTOP) does; those stay unanswered after it speaks again.
   */
  static final class EngineRelay implements AutoCloseable {
    private final int port;
    private final Set<NetSocket> sockets = ConcurrentHashMap.newKeySet();
    private NetServer server;
    volatile boolean silent;
    /** While set, a connection whose request lists the containers is closed before the engine sees it. */
    volatile boolean failListings;
    /** Once the engine sends the gateway a kill event of this container, {@link #failListings} is set. */
    volatile String failListingsAfterKillOf;
    /** While above 0, a request listing the containers reaches the engine this long after it was sent (a slow engine). */
    volatile long delayListingsMs;
    /** The client connections that asked for the event stream, and those of them muted by {@link #muteEventStreams}. */
    private final Set<NetSocket> eventStreams = ConcurrentHashMap.newKeySet();
    private final Set<NetSocket> muted = ConcurrentHashMap.newKeySet();

    EngineRelay(int port) {
      this.port = port;
    }

    void open() throws Exception {
      server = relayVertx.createNetServer().connectHandler(client -> {
        client.pause();
        sockets.add(client);
        if (silent) {
          return;
        }
        relayVertx.createNetClient().connect(SocketAddress.domainSocketAddress("/var/run/docker.sock"))
            .onSuccess(engine -> {
              sockets.add(engine);
              client.handler(bytes -> {
                if (bytes.getString(0, Math.min(bytes.length(), 32)).startsWith("GET /events")) {
                  eventStreams.add(client);
                }
                boolean listing = bytes.getString(0, Math.min(bytes.length(), 32)).startsWith("GET /containers/json");
                long delay = delayListingsMs;
                if (listing && failListings) {
                  client.close();
                  engine.close();
                } else if (listing && delay > 0) {
                  relayVertx.setTimer(delay, t -> engine.write(bytes));
                } else {
                  engine.write(bytes);
                }
              });
              engine.handler(bytes -> {
                if (muted.contains(client)) {
                  return;
                }
                String killed = failListingsAfterKillOf;
                if (killed != null && bytes.toString().contains("\"Action\":\"kill\"") && bytes.toString().contains(killed)) {
                  failListings = true;
                }
                client.write(bytes);
              });
              client.closeHandler(v -> engine.close());
              engine.closeHandler(v -> client.close());
              client.resume();
            })
            .onFailure(err -> client.close());
      }).listen(port, "127.0.0.1").toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    /**
     * What the engine sends on the event streams open now is dropped from now on: they stay open and silent, as a
     * stream a proxy on the way dropped; one opened later passes.
     */
    void muteEventStreams() {
      muted.addAll(eventStreams);
    }

    @Override
    public void close() throws Exception {
      if (server != null) {
        server.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        server = null;
      }
      sockets.forEach(NetSocket::close);
      sockets.clear();
    }
  }

  @Test
  void servesWithoutDockerKeepsLastInstancesAndResynchronisesWhenBack() throws Exception {
    int relayPort = Ports.free();
    try (EngineRelay relay = new EngineRelay(relayPort);
         GatewayHarness gw = new GatewayHarness(dir, """
             docker:
               host: tcp://127.0.0.1:%2$d
             routes:
               - path_prefix: /api/keep
                 backend: keep
               - path_prefix: /api/gone
                 backend: gone
             default_response: {status_code: 404, body: none}
             backends:
               - name: keep
                 match_labels: [app_name=keep, suite=%1$s]
               - name: gone
                 match_labels: [app_name=gone, suite=%1$s]
             """.formatted(SUITE, relayPort))) {
      docker.runHttpd("keep", Ports.free(), "/api/keep/id", Map.of("app_name", "keep", "suite", SUITE));
      String gone = docker.runHttpd("gone", Ports.free(), "/api/gone/id", Map.of("app_name", "gone", "suite", SUITE));

      // Engine unreachable at start: the gateway serves, Docker routes answer 503.
      assertEquals(503, gw.get("/api/keep/id").statusCode());
      assertEquals(404, gw.get("/elsewhere").statusCode());

      // Engine back: discovered without restart (reconnect backoff is capped at 5 s).
      relay.open();
      Poll.until(Duration.ofSeconds(8), "discovery after the engine came back",
          () -> gw.get("/api/keep/id").statusCode() == 200 && gw.get("/api/gone/id").statusCode() == 200);

      // Engine lost: last known instances keep serving.
      relay.close();
      docker.stop(gone);
      for (int i = 0; i < 20; i++) {
        assertEquals(200, gw.get("/api/keep/id").statusCode());
      }

      // Engine back again: the container that went away meanwhile is removed.
      relay.open();
      Poll.until(Duration.ofSeconds(8), "resynchronised after the outage",
          () -> gw.get("/api/gone/id").statusCode() == 503);
      assertEquals(200, gw.get("/api/keep/id").statusCode());
    }
  }

  /**
   * An engine that cannot be reached is named with the reason, in the log and in /health's
   * {@code last_error}: a missing socket and a refused port, never "null".
   */
  @Test
  void anUnreachableEngineIsReportedWithItsReason() throws Exception {
    int adminPort = Ports.free();
    Path missing = dir.resolve("nonexist.sock");
    String refused = "tcp://127.0.0.1:" + Ports.free();
    try (GatewayJar gw = new GatewayJar(dir, "  admin_listener: {port: " + adminPort + "}\n", """
        docker:
          engines:
            - {name: missing, host: "unix://%s"}
            - {name: refused, host: "%s"}
        routes: [{path_prefix: /api, backend: api}]
        backends:
          - {name: api, match_labels: [app_name=api]}
        """.formatted(missing, refused), 1)) {
      Poll.until(Duration.ofSeconds(10), "both engines logged unreachable",
          () -> gw.output().contains("docker engine missing (") && gw.output().contains("docker engine refused ("));
      assertFalse(gw.output().contains("(null)"), gw.output());
      JsonObject discovery = discovery(adminPort);
      for (Object engine : discovery.getJsonArray("engines")) {
        String error = ((JsonObject) engine).getString("last_error");
        assertTrue(error != null && !error.contains("null"), discovery.encode());
      }
      String line = gw.output().lines().filter(l -> l.contains("docker engine missing (")).findFirst().orElseThrow();
      assertTrue(line.contains("unreachable (no such socket)"), line);
    }
  }

  /**
   * An engine that accepts connections but does not answer (hung, or stopped with SIGSTOP) neither holds
   * the gateway's start nor keeps it waiting on that attempt once the engine answers again.
   */
  @Test
  @Timeout(120)
  void anEngineThatAcceptsButDoesNotAnswerHoldsNeitherTheStartNorTheNextAttempt() throws Exception {
    int relayPort = Ports.free();
    int adminPort = Ports.free();
    String suite = SUITE + "-silent";
    try (EngineRelay relay = new EngineRelay(relayPort)) {
      relay.silent = true;
      relay.open();
      // Before: the start waited for the engine's answer, forever.
      try (GatewayJar gw = new GatewayJar(dir, "  admin_listener: {port: " + adminPort + "}\n", """
          docker: {host: "tcp://127.0.0.1:%d"}
          routes: [{path_prefix: /api/silent, backend: silent}]
          backends: [{name: silent, match_labels: [app_name=silent, suite=%s]}]
          """.formatted(relayPort, suite), 1)) {
        assertEquals(503, gw.get("/api/silent/id").statusCode());
        // Before: the attempt on the silent engine never ended, so the engine was never asked again.
        Poll.until(Duration.ofSeconds(30), "the unanswered attempt given up",
            () -> String.valueOf(discovery(adminPort).getJsonArray("engines").getJsonObject(0).getString("last_error"))
                .contains("not answered within"));
        relay.silent = false; // the engine answers again; the connections it held stay unanswered
        docker.runHttpd("silent", Ports.free(), "/api/silent/id", Map.of("app_name", "silent", "suite", suite));
        Poll.until(Duration.ofSeconds(30), "following the engine once it answers",
            () -> gw.get("/api/silent/id").statusCode() == 200);
        assertEquals("connected", discovery(adminPort).getString("state"), discovery(adminPort).encode());
      }
    }
  }

  /**
   * An engine over TLS that accepts connections and then answers nothing (stopped with SIGSTOP, hung) leaves the TLS
   * handshake unanswered until its timeout: that is an engine unreachable, not one that refused the gateway's
   * certificate or showed a wrong one. Before, the WARNING said "refused: the TLS handshake failed (handshake timed
   * out ...); its certificate must chain to tls.ca_file", sending the operator after certificates.
   */
  @Test
  @Timeout(60)
  void aTlsHandshakeLeftUnansweredIsAnEngineUnreachableNotARefusal() throws Exception {
    int relayPort = Ports.free();
    Path ca = dev.dockgate.testing.TestCerts.selfSigned(dir, "silent-ca").cert();
    try (EngineRelay relay = new EngineRelay(relayPort);
         LoggedErrors warnings = new LoggedErrors(DockerImporter.class.getName(), Level.WARNING)) {
      relay.silent = true;
      relay.open();
      try (GatewayHarness gw = new GatewayHarness(dir, """
          docker: {engines: [{name: silent, host: "tcp://127.0.0.1:%d", tls: {ca_file: "%s"}}]}
          routes: [{path_prefix: /api/silent, backend: silent}]
          backends: [{name: silent, match_labels: [app_name=silent]}]
          """.formatted(relayPort, ca))) {
        Poll.until(Duration.ofSeconds(25), "the silent engine reported",
            () -> warnings.lines().stream().anyMatch(l -> l.contains("docker engine")));
        String line = warnings.lines().stream().filter(l -> l.contains("docker engine")).findFirst().orElseThrow();
        assertTrue(line.contains("unreachable") && !line.contains("refused"), line);
      }
    }
  }

  /**
   * A container stopped (its {@code kill} event) or paused leaves rotation at its event, even when the listing
   * that follows fails, as it may while the engine stops or restarts, or is slow. Before, it left only with a
   * listing that succeeded: a failed one kept it, with every last known instance, for as long as the engine
   * was away, and a slow one kept a paused container (each request sent there waiting) until it answered.
   */
  @Test
  @Timeout(90)
  void aStoppingOrPausedContainerLeavesRotationAtItsEventWhateverTheListing() throws Exception {
    int relayPort = Ports.free();
    String suite = SUITE + "-event";
    Map<String, String> labels = Map.of("app_name", "event", "suite", suite);
    String stopping = docker.runHttpd("event-stopping", Ports.free(), "/api/event/id", labels);
    String paused = docker.runHttpd("event-paused", Ports.free(), "/api/event/id", labels);
    try (EngineRelay relay = new EngineRelay(relayPort);
         GatewayHarness gw = throughRelay(relayPort, "event", suite)) {
      relay.open();
      Poll.until(Duration.ofSeconds(10), "both containers routed", () -> DockerRoutingIT.instanceCount(gw, "event") == 2);

      // Listings fail from the kill event on (the engine emits other containers' events meanwhile, whose listings pass).
      relay.failListingsAfterKillOf = stopping;
      // SIGTERM, which busybox httpd as the container's first process ignores: it runs on, as one draining does.
      Docker.Result kill = Docker.exec(List.of("docker", "kill", "-s", "TERM", stopping));
      assertEquals(0, kill.code(), kill.output());
      Poll.until(Duration.ofSeconds(3), "the stopping container out at its kill event while listings fail",
          () -> DockerRoutingIT.instanceCount(gw, "event") == 1);
      assertTrue(relay.failListings, "the kill event passed the relay");
      relay.failListingsAfterKillOf = null;
      relay.failListings = false;
      Poll.until(Duration.ofSeconds(15), "following the engine again",
          () -> discovery(gw.adminPort()).getBoolean("connected", false));

      relay.delayListingsMs = 6_000;
      docker.pause(paused);
      try {
        Poll.until(Duration.ofSeconds(2), "the paused container out at its pause event while listings are slow",
            () -> DockerRoutingIT.instanceCount(gw, "event") == 0);
      } finally {
        docker.unpause(paused);
        relay.delayListingsMs = 0;
      }
      Poll.until(Duration.ofSeconds(20), "the unpaused container back",
          () -> gw.get("/api/event/id").body().trim().equals(docker.fullName("event-paused")));
    }
  }

  /**
   * While the event stream is cut, a container turns unhealthy, another starts, a third stops and a fourth gets
   * SIGTERM and drains: once the engine answers again, each is in or out as it is now. Before, the health of a
   * container was taken from its inspection before the cut (the listing does not carry it, and its health_status
   * event was missed), so a container that turned unhealthy meanwhile stayed in rotation until its next health
   * event; and the draining one, listed running, stayed until it exited (its kill event was missed).
   */
  @Test
  @Timeout(120)
  void whatChangedWhileTheStreamWasCutIsSeenOnceItIsBack() throws Exception {
    int relayPort = Ports.free();
    String suite = SUITE + "-gap";
    Map<String, String> labels = Map.of("app_name", "gap", "suite", suite);
    try (EngineRelay relay = new EngineRelay(relayPort);
         GatewayHarness gw = throughRelay(relayPort, "gap", suite)) {
      relay.open();
      String flaky = docker.runHttpd("gap-flaky", Ports.free(), "/api/gap/id", labels,
          List.of("--health-cmd", "test -e /tmp/ok", "--health-interval", "200ms", "--health-retries", "1"));
      docker.execIn(flaky, List.of("busybox", "touch", "/tmp/ok"));
      String stopped = docker.runHttpd("gap-stopped", Ports.free(), "/api/gap/id", labels);
      String draining = docker.runDrainingCgi("gap-draining", Ports.free(), 60_000, labels);
      Poll.until(Duration.ofSeconds(15), "the three containers routed, the flaky one healthy",
          () -> DockerRoutingIT.instanceCount(gw, "gap") == 3);

      relay.close(); // the stream drops; the gateway retries with backoff
      docker.execIn(flaky, List.of("busybox", "rm", "/tmp/ok"));
      Poll.until(Duration.ofSeconds(10), "flaky reported unhealthy", () -> docker.health(flaky).equals("unhealthy"));
      docker.runHttpd("gap-started", Ports.free(), "/api/gap/id", labels);
      docker.stop(stopped);
      Docker.Result term = Docker.exec(List.of("docker", "kill", "-s", "TERM", draining)); // drains for 60 s, listed running
      assertEquals(0, term.code(), term.output());
      assertEquals(3, DockerRoutingIT.instanceCount(gw, "gap"), "last known instances kept while the engine is away");

      relay.open();
      Duration seen = Poll.until(Duration.ofSeconds(10), "only the container started meanwhile routed",
          () -> gw.get("/api/gap/id").body().trim().equals(docker.fullName("gap-started"))
              && DockerRoutingIT.instanceCount(gw, "gap") == 1);
      System.out.printf("after the cut: the engine's state routed %d ms after it answered again%n", seen.toMillis());
    }
  }

  /**
   * The event stream kept open and silent by the relay (a proxy on the way that dropped it) while a container's
   * HEALTHCHECK fails: the real engine's listing says "(unhealthy)", so the periodic listing (every 1 s here) inspects
   * it again and it leaves rotation within the interval and a few health checks; the change is said missed and the
   * stream opened again, which delivers the container's return to health. Before, the gateway knew health only from
   * inspections its events asked for: the unhealthy container stayed in rotation.
   */
  @Test
  @Timeout(90)
  void aHealthChangeTheSilentStreamMissedIsFoundByThePeriodicListing() throws Exception {
    int relayPort = Ports.free();
    String suite = SUITE + "-muted";
    try (EngineRelay relay = new EngineRelay(relayPort);
         LoggedErrors warnings = new LoggedErrors(DockerImporter.class.getName(), Level.WARNING);
         LoggedErrors info = new LoggedErrors(DockerImporter.class.getName(), Level.INFO);
         GatewayHarness gw = new GatewayHarness(dir, """
             docker: {host: "tcp://127.0.0.1:%d", resync_interval_ms: 1000}
             routes: [{path_prefix: /api/muted, backend: muted}]
             backends: [{name: muted, match_labels: [app_name=muted, suite=%s]}]
             """.formatted(relayPort, suite))) {
      relay.open();
      String flaky = docker.runHttpd("muted", Ports.free(), "/api/muted/id", Map.of("app_name", "muted", "suite", suite),
          List.of("--health-cmd", "test ! -e /tmp/sick", "--health-interval", "200ms", "--health-retries", "1"));
      Poll.until(Duration.ofSeconds(15), "the container routed, healthy", () -> gw.get("/api/muted/id").statusCode() == 200);

      relay.muteEventStreams();
      // Its health checks' exec events came until now: a change that near them would not count as missed.
      Thread.sleep(2_500);
      docker.execIn(flaky, List.of("busybox", "touch", "/tmp/sick"));
      Duration out = Poll.until(Duration.ofSeconds(6), "the container turned unhealthy out of rotation, no event delivered",
          () -> gw.get("/api/muted/id").statusCode() == 503);
      assertEquals("unhealthy", docker.health(flaky));
      // Said with the count of every container the listing found changed: others on the same engine (another
      // suite's) may have changed meanwhile too.
      Poll.until(Duration.ofSeconds(5), "the change said missed by the stream",
          () -> warnings.lines().stream().anyMatch(l -> l.matches("(?s).* \\d+ change\\(s\\) its event stream missed.*")));
      Poll.until(Duration.ofSeconds(5), "the event stream opened again", () -> info.lines().stream()
          .anyMatch(l -> l.contains("event stream opened again")));

      docker.execIn(flaky, List.of("busybox", "rm", "/tmp/sick"));
      Duration in = Poll.until(Duration.ofSeconds(6), "the container healthy again back in rotation, its event delivered",
          () -> gw.get("/api/muted/id").statusCode() == 200);
      System.out.printf("health missed by a silent stream: out after %d ms, back after %d ms%n", out.toMillis(),
          in.toMillis());
      docker.kill(flaky);
    }
  }

  /**
   * A container restarted while the event stream was cut runs again when the stream is back: the kill the reopened
   * stream replays (since=) must not take it out of rotation until the listing finds it running. Before, the replayed
   * kill unpublished it ("instance down") and the listing after its replayed start published it again.
   */
  @Test
  @Timeout(90)
  void aContainerRestartedWhileTheStreamWasCutStaysInRotation() throws Exception {
    int relayPort = Ports.free();
    String suite = SUITE + "-restarted";
    Map<String, String> labels = Map.of("app_name", "restarted", "suite", suite);
    try (EngineRelay relay = new EngineRelay(relayPort);
         GatewayHarness gw = throughRelay(relayPort, "restarted", suite);
         LoggedErrors importer = new LoggedErrors(DockerImporter.class.getName(), Level.INFO)) {
      relay.open();
      String restarted = docker.runHttpd("restarted", Ports.free(), "/api/restarted/id", labels);
      Poll.until(Duration.ofSeconds(15), "the container routed", () -> DockerRoutingIT.instanceCount(gw, "restarted") == 1);

      relay.close(); // the stream drops; the gateway retries with backoff
      Docker.Result restart = Docker.exec(List.of("docker", "restart", "-t", "1", restarted));
      assertEquals(0, restart.code(), restart.output());
      long followed = importer.lines().stream().filter(line -> line.contains("reachable again")).count();
      relay.open();
      Poll.until(Duration.ofSeconds(15), "the engine followed again",
          () -> importer.lines().stream().filter(line -> line.contains("reachable again")).count() > followed);
      assertEquals(200, gw.get("/api/restarted/id").statusCode());
      assertTrue(importer.lines().stream().noneMatch(line -> line.contains("instance down")),
          "left rotation at a replayed event: " + importer.lines());
    }
  }

  /** A gateway following the engine through the relay on {@code relayPort}: route /api/NAME to the containers of the suite. */
  private GatewayHarness throughRelay(int relayPort, String name, String suite) {
    return new GatewayHarness(dir, """
        docker: {host: "tcp://127.0.0.1:%1$d"}
        routes: [{path_prefix: /api/%2$s, backend: %2$s}]
        backends: [{name: %2$s, match_labels: [app_name=%2$s, suite=%3$s]}]
        """.formatted(relayPort, name, suite));
  }

  /** The discovery check of the readiness on the admin listener at {@code adminPort}. */
  static JsonObject discovery(int adminPort) {
    HttpResponse<String> health;
    try {
      health = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + adminPort + "/health")).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
    return new JsonObject(health.body()).getJsonArray("checks").stream().map(JsonObject.class::cast)
        .filter(c -> c.getString("id").equals("discovery")).findFirst().orElseThrow().getJsonObject("data");
  }
}
