package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.discovery.DockerImporter;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.LoggedErrors;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.TestBackend;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway against an engine of the test's own on 127.0.0.1 that answers the head of a listing or an
 * inspection, then stalls or sends a body without end, or freezes while followed: the call fails (or the
 * liveness check does) with a WARNING and is retried, and the gateway follows the engine once it answers well
 * again. The same engine sends network events, which real engines here cannot (no network but host and none),
 * and keeps its event stream open and silent while its listing changes (a stream dropped on the way).
 */
class MisbehavingEngineIT {

  @TempDir
  Path dir;

  /** What the fake engine does after the head of a container listing or inspection. */
  enum Body { WELL, STALL, ENDLESS }

  /**
   * Answers {@code /events} with a head and then nothing (a quiet engine) but the lines {@link #event} sends,
   * {@code /containers/json} with {@link #containers} (at first one running host-network container),
   * {@code /containers/ID/json} with its inspection, {@code /_ping} with OK; while a call is set to
   * {@link Body#STALL} or {@link Body#ENDLESS}, its head comes and its body stalls or never ends (up to
   * {@link #ENDLESS_CAP} bytes per answer, so that a gateway without a bound fails the test rather than its heap).
   * While {@link #frozen}, as an engine stopped with SIGSTOP, it answers nothing more, its sockets held open.
   */
  static final class FakeEngine implements AutoCloseable {
    static final long ENDLESS_CAP = 200L << 20;
    static final String LISTING = "[{\"Id\":\"c0ffee\",\"Names\":[\"/fake\"],\"State\":\"running\","
        + "\"Labels\":{\"app_name\":\"fake\",\"gateway.port\":\"%d\"},\"HostConfig\":{\"NetworkMode\":\"host\"},"
        + "\"NetworkSettings\":{\"Networks\":{}},\"Ports\":[]}]";
    final Vertx vertx = Vertx.vertx();
    final HttpServer server;
    final AtomicInteger listings = new AtomicInteger();
    final AtomicInteger inspections = new AtomicInteger();
    final AtomicInteger eventStreams = new AtomicInteger();
    final AtomicInteger pings = new AtomicInteger();
    /** The event streams open now, to which {@link #event} writes, with the event types each asked (empty: all). */
    final java.util.Map<HttpServerResponse, List<Object>> streams = new java.util.concurrent.ConcurrentHashMap<>();
    /** The most bytes one endless answer wrote to its socket (each attempt of the gateway's gets its own answer). */
    final AtomicLong endlessBytes = new AtomicLong();
    final TestBackend backend = new TestBackend(vertx, "fake");
    volatile Body listing = Body.WELL;
    volatile Body inspection = Body.WELL;
    /** {@link Body#ENDLESS}: the event stream sends one line without end. */
    volatile Body events = Body.WELL;
    /** What the listing answers when well: a JSON array of containers. */
    volatile String containers;
    /** Requests held unanswered while set, new ones too; the open event streams stay silent. */
    volatile boolean frozen;
    /** What an inspection answers when well (no HEALTHCHECK unless set otherwise). */
    volatile String inspected = "{\"State\":{},\"Config\":{}}";

    FakeEngine() throws Exception {
      server = vertx.createHttpServer().requestHandler(this::handle).listen(0, "127.0.0.1")
          .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      containers = LISTING.formatted(backend.port());
    }

    /** Sends {@code json} as one event line on every open event stream whose filters ask its type, as Docker does. */
    void event(String json) {
      Object type = new JsonObject(json).getValue("Type");
      streams.forEach((stream, types) -> {
        if (types.isEmpty() || types.contains(type)) {
          stream.write(json + "\n");
        }
      });
    }

    int port() {
      return server.actualPort();
    }

    private void handle(HttpServerRequest req) {
      if (frozen) {
        return;
      }
      HttpServerResponse response = req.response().putHeader("Content-Type", "application/json");
      if (req.path().equals("/_ping")) {
        pings.incrementAndGet();
        response.putHeader("Content-Type", "text/plain").end("OK");
      } else if (req.path().equals("/events")) {
        eventStreams.incrementAndGet();
        String filters = req.getParam("filters");
        streams.put(response, filters == null ? List.of()
            : new JsonObject(filters).getJsonArray("type", new io.vertx.core.json.JsonArray()).getList());
        response.closeHandler(v -> streams.remove(response));
        response.setChunked(true).writeHead();
        if (events == Body.ENDLESS) {
          pump(response, Buffer.buffer("{\"Type\":\"container\",\"Action\":\"x\"}".repeat(2_000)));
        }
      } else if (req.path().equals("/containers/json")) {
        listings.incrementAndGet();
        answer(response, listing, containers);
      } else if (req.path().startsWith("/containers/")) {
        inspections.incrementAndGet();
        answer(response, inspection, inspected);
      } else {
        response.setStatusCode(404).end("{\"message\":\"page not found\"}");
      }
    }

    private void answer(HttpServerResponse response, Body body, String well) {
      switch (body) {
        case WELL -> response.end(well);
        case STALL -> response.setChunked(true).write(well.substring(0, well.length() / 2));
        case ENDLESS -> {
          response.setChunked(true).write("[");
          pump(response, Buffer.buffer("{\"Id\":\"x\",\"State\":\"exited\"},".repeat(2_000)));
        }
      }
    }

    private void pump(HttpServerResponse response, Buffer chunk) {
      pump(response, chunk, new long[2]);
    }

    /**
     * Writes {@code chunk} while the gateway reads, up to {@link #ENDLESS_CAP} bytes in this one answer; counts the
     * bytes written to the socket ({@code sent[1]}), not those queued: as the gateway closes the connection, a drain
     * can come before the close is seen, and writes queued then fail.
     */
    private void pump(HttpServerResponse response, Buffer chunk, long[] sent) {
      while (!response.writeQueueFull() && !response.closed() && sent[0] < ENDLESS_CAP) {
        sent[0] += chunk.length();
        response.write(chunk).onSuccess(v -> {
          sent[1] += chunk.length();
          endlessBytes.accumulateAndGet(sent[1], Math::max);
        });
      }
      if (!response.closed() && sent[0] < ENDLESS_CAP) {
        response.drainHandler(v -> pump(response, chunk, sent));
      }
    }

    @Override
    public void close() throws Exception {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  /** Which call of the gateway the fake engine answers badly. */
  enum Call { LISTING, INSPECTION, EVENTS }

  @Test
  @Timeout(120)
  void aListingWhoseBodyStallsFailsWithAWarningAndIsRetried() throws Exception {
    misanswered(Call.LISTING, Body.STALL, "not received within");
  }

  @Test
  @Timeout(120)
  void anInspectionWhoseBodyStallsFailsWithAWarningAndIsRetried() throws Exception {
    misanswered(Call.INSPECTION, Body.STALL, "not received within");
  }

  @Test
  @Timeout(120)
  void aListingWithoutEndFailsAtItsBoundWithAWarningAndIsRetried() throws Exception {
    misanswered(Call.LISTING, Body.ENDLESS, "larger than");
  }

  @Test
  @Timeout(120)
  void anEventLineWithoutEndFailsAtItsBoundWithAWarningAndIsRetried() throws Exception {
    misanswered(Call.EVENTS, Body.ENDLESS, "longer than");
  }

  private void misanswered(Call call, Body body, String reason) throws Exception {
    try (FakeEngine engine = new FakeEngine();
         LoggedErrors warnings = new LoggedErrors(DockerImporter.class.getName(), Level.WARNING)) {
      switch (call) {
        case LISTING -> engine.listing = body;
        case INSPECTION -> engine.inspection = body;
        case EVENTS -> engine.events = body;
      }
      try (GatewayHarness gw = following(engine)) {
        AtomicInteger calls = switch (call) {
          case LISTING -> engine.listings;
          case INSPECTION -> engine.inspections;
          case EVENTS -> engine.eventStreams;
        };
        Duration failed = Poll.until(Duration.ofSeconds(30), "a WARNING naming why the engine's answer was given up",
            () -> warnings.lines().stream().anyMatch(l -> l.contains("unreachable") && l.contains(reason)));
        Poll.until(Duration.ofSeconds(15), "the call made again", () -> calls.get() >= 2);
        if (call != Call.EVENTS) {
          assertEquals(503, gw.get("/api/fake/id").statusCode()); // not listed yet (an event stream's fault comes later)
        }
        System.out.printf("%s %s: given up after %d ms, at most %d bytes sent in one answer%n", call, body,
            failed.toMillis(),
            engine.endlessBytes.get());

        engine.listing = Body.WELL;
        engine.inspection = Body.WELL;
        engine.events = Body.WELL;
        Poll.until(Duration.ofSeconds(20), "routed once the engine answers well",
            () -> gw.get("/api/fake/id").statusCode() == 200);
        List<String> unreachable = warnings.lines().stream().filter(l -> l.contains("unreachable")).toList();
        assertEquals(1, unreachable.size(), "one WARNING per outage: " + unreachable);
        // The gateway's bound (32 MiB for a listing, 1 MiB for an event line) plus what socket buffers held.
        assertTrue(engine.endlessBytes.get() < 64L << 20,
            "each endless body was given up at the gateway's bound: " + engine.endlessBytes.get() + " bytes");
      }
    }
  }

  /** A gateway following {@code engine} over TCP, routing /api/fake to its containers labelled app_name=fake. */
  private GatewayHarness following(FakeEngine engine) {
    return following(engine, "");
  }

  /** As above, with more settings of the docker block ({@code extra}: ", key: value" pairs). */
  private GatewayHarness following(FakeEngine engine, String extra) {
    return new GatewayHarness(dir, """
        docker: {host: "tcp://127.0.0.1:%d"%s}
        routes: [{path_prefix: /api/fake, backend: fake}]
        backends: [{name: fake, match_labels: [app_name=fake]}]
        """.formatted(engine.port(), extra));
  }

  /**
   * An event stream that stays open and delivers nothing (a socket proxy or middlebox that dropped it, the engine's
   * events stuck) while the engine answers its liveness checks and lists its containers: the periodic listing
   * (resync_interval_ms, 1 s here) stops routing a container gone and routes one that appeared, each within the
   * interval and a listing; one WARNING names the engine and the changes missed (paced: the second miss, within
   * minutes, is not said again, until the gateway stops), and the stream is opened again after each. A listing that finds nothing new, or
   * changes whose event came, says nothing and keeps the stream. Before, the gateway waited on the silent stream:
   * the container gone stayed routed and the one started was never routed.
   */
  @Test
  @Timeout(90)
  void changesTheEventStreamDoesNotDeliverAreFoundByThePeriodicListing() throws Exception {
    try (FakeEngine engine = new FakeEngine();
         LoggedErrors warnings = new LoggedErrors(DockerImporter.class.getName(), Level.WARNING)) {
      engine.containers = "[]";
      try (GatewayHarness gw = following(engine, ", resync_interval_ms: 1000")) {
        Poll.until(Duration.ofSeconds(15), "the engine followed", () -> engine.eventStreams.get() == 1
            && engine.listings.get() >= 1);
        int listed = engine.listings.get();
        Poll.until(Duration.ofSeconds(10), "listed again by the periodic listing", () -> engine.listings.get() >= listed + 2);
        assertEquals(List.of(), unlessPlainTcp(warnings), "listings that find nothing new say nothing");
        assertEquals(503, gw.get("/api/fake/id").statusCode());

        engine.containers = FakeEngine.LISTING.formatted(engine.backend.port()); // started, and its event comes
        engine.event(containerEvent("start"));
        Poll.until(Duration.ofSeconds(5), "the container started routed", () -> gw.get("/api/fake/id").statusCode() == 200);
        Thread.sleep(2_500); // periodic listings, and the wait for late events of one that raced the event
        assertEquals(List.of(), unlessPlainTcp(warnings), "a change whose event came was not missed");
        assertEquals(1, engine.eventStreams.get(), "a stream that missed nothing is kept");

        engine.containers = "[]"; // gone: no event comes
        Duration out = Poll.until(Duration.ofSeconds(5), "the container gone unrouted",
            () -> gw.get("/api/fake/id").statusCode() == 503);
        Poll.until(Duration.ofSeconds(5), "one WARNING naming the engine and the change missed",
            () -> unlessPlainTcp(warnings).stream().anyMatch(l -> l.contains("docker engine 127.0.0.1:" + engine.port())
                && l.contains("1 change(s) its event stream missed")));
        Poll.until(Duration.ofSeconds(5), "the event stream opened again", () -> engine.eventStreams.get() == 2);
        afterTheReopeningListing(engine);

        engine.containers = FakeEngine.LISTING.formatted(engine.backend.port()); // started again: no event comes
        Duration in = Poll.until(Duration.ofSeconds(5), "the container the stream did not tell routed",
            () -> gw.get("/api/fake/id").statusCode() == 200);
        Poll.until(Duration.ofSeconds(5), "the event stream opened again", () -> engine.eventStreams.get() == 3);
        Thread.sleep(2_500); // more listings, finding nothing new
        System.out.printf("missed stop unrouted after %d ms, missed start routed after %d ms: %s%n", out.toMillis(),
            in.toMillis(), warnings.lines());
        List<String> said = unlessPlainTcp(warnings);
        assertEquals(1, said.size(), "one WARNING, the second miss held back by its pace: " + said);
        assertTrue(said.get(0).contains("missed"), "nothing else warned (the engine was never unreachable): " + said);
        assertEquals(3, engine.eventStreams.get(), "the stream opened again once per listing that found changes");
      }
      // The gateway stopped within the pace: the miss it held back is said as the importer closes, not lost.
      Poll.until(Duration.ofSeconds(5), "the miss held back said at the stop: " + warnings.lines(),
          () -> unlessPlainTcp(warnings).size() == 2);
      String atStop = unlessPlainTcp(warnings).get(1);
      assertTrue(atStop.contains("1 change(s) its event stream missed") && atStop.contains("held back"), atStop);
    }
  }

  /**
   * A HEALTHCHECK status the stream does not deliver (no health_status event comes) is read in the listing's
   * {@code Status} ("Up 2 minutes (unhealthy)", as Docker formats it): where it disagrees with the health last
   * inspected, the container is inspected again, so it leaves rotation within the interval and a listing, and comes
   * back once healthy again; each counts as a change the stream missed. The WARNING's pace (6 s here, system property
   * {@code gateway.docker.missed.warning.period.ms}) holds the second back: it is said once the pace allows, with no
   * further miss to carry it. While the listing agrees, no container is inspected again. Before, the unhealthy
   * container stayed in rotation (the listing's health was not read), and a miss held back was said only by a next
   * WARNING, if ever.
   */
  @Test
  @Timeout(90)
  void aHealthChangeTheEventStreamDoesNotDeliverIsFoundInTheListingsStatus() throws Exception {
    System.setProperty("gateway.docker.missed.warning.period.ms", "6000");
    try (FakeEngine engine = new FakeEngine();
         LoggedErrors warnings = new LoggedErrors(DockerImporter.class.getName(), Level.WARNING)) {
      engine.containers = withStatus(engine, "Up 2 minutes (healthy)");
      engine.inspected = inspectedHealth("healthy");
      try (GatewayHarness gw = following(engine, ", resync_interval_ms: 1000")) {
        Poll.until(Duration.ofSeconds(15), "the healthy container routed", () -> gw.get("/api/fake/id").statusCode() == 200);
        int inspections = engine.inspections.get();
        int listed = engine.listings.get();
        Poll.until(Duration.ofSeconds(10), "listed again by the periodic listing", () -> engine.listings.get() >= listed + 2);
        assertEquals(inspections, engine.inspections.get(), "a listing whose health agrees brings no inspection");

        engine.inspected = inspectedHealth("unhealthy"); // the HEALTHCHECK fails: no health_status event comes
        engine.containers = withStatus(engine, "Up 3 minutes (unhealthy)");
        Duration out = Poll.until(Duration.ofSeconds(5), "the unhealthy container out of rotation",
            () -> gw.get("/api/fake/id").statusCode() == 503);
        Duration firstSaid = Poll.until(Duration.ofSeconds(5), "one WARNING naming the engine and the change missed",
            () -> unlessPlainTcp(warnings).stream().anyMatch(l -> l.contains("docker engine 127.0.0.1:" + engine.port())
                && l.contains("1 change(s) its event stream missed")));
        long firstAt = System.nanoTime();
        Poll.until(Duration.ofSeconds(5), "the event stream opened again", () -> engine.eventStreams.get() == 2);
        afterTheReopeningListing(engine);

        engine.inspected = inspectedHealth("healthy"); // healthy again, no event either
        engine.containers = withStatus(engine, "Up 3 minutes (healthy)");
        Duration in = Poll.until(Duration.ofSeconds(5), "the container healthy again routed",
            () -> gw.get("/api/fake/id").statusCode() == 200);
        Poll.until(Duration.ofSeconds(5), "the event stream opened again", () -> engine.eventStreams.get() == 3);
        assertTrue(out.toMillis() < 3_500 && in.toMillis() < 3_500,
            "within the interval (1 s) and a listing: out after " + out.toMillis() + " ms, in after " + in.toMillis()
                + " ms");

        Poll.until(Duration.ofSeconds(12), "the miss held back by the pace said once it allows",
            () -> unlessPlainTcp(warnings).size() >= 2);
        long secondAfterMs = (System.nanoTime() - firstAt) / 1_000_000;
        List<String> said = unlessPlainTcp(warnings);
        System.out.printf("missed unhealthy out after %d ms (said after %d ms), healthy in after %d ms; held-back"
            + " miss said %d ms after the first: %s%n", out.toMillis(), firstSaid.toMillis(), in.toMillis(), secondAfterMs,
            said);
        assertEquals(2, said.size(), "the first miss, then the one held back: " + said);
        assertTrue(said.get(1).contains("1 change(s) its event stream missed") && said.get(1).contains("held back"),
            said.get(1));
        assertTrue(secondAfterMs >= 5_000, "not before the pace allows: " + secondAfterMs + " ms after the first");

        int reinspected = engine.inspections.get();
        int now = engine.listings.get();
        Poll.until(Duration.ofSeconds(10), "listed again", () -> engine.listings.get() >= now + 2);
        assertEquals(reinspected, engine.inspections.get(), "listings whose health agrees bring no inspection");
        assertEquals(3, engine.eventStreams.get(), "nothing more missed");
        assertEquals(2, unlessPlainTcp(warnings).size(), "nothing more said: " + unlessPlainTcp(warnings));
      }
    } finally {
      System.clearProperty("gateway.docker.missed.warning.period.ms");
    }
  }

  /**
   * Waits until the listing that follows the reopening of the stream is over: a change made before would be found by
   * it, which is no periodic listing (and, its stream just opened, counts nothing as missed).
   */
  private static void afterTheReopeningListing(FakeEngine engine) {
    int listed = engine.listings.get();
    Poll.until(Duration.ofSeconds(5), "a listing begun after the reopening one ended",
        () -> engine.listings.get() >= listed + 2);
  }

  /** The fake engine's container c0ffee, its listing's {@code Status} {@code status} (as Docker's State.String()). */
  private static String withStatus(FakeEngine engine, String status) {
    return FakeEngine.LISTING.formatted(engine.backend.port())
        .replace("\"State\":\"running\",", "\"State\":\"running\",\"Status\":\"" + status + "\",");
  }

  /** An inspection of a container whose HEALTHCHECK status is {@code status}. */
  private static String inspectedHealth(String status) {
    return "{\"State\":{\"Health\":{\"Status\":\"" + status + "\",\"FailingStreak\":0}},\"Config\":{}}";
  }

  /** An event of container c0ffee, as Docker sends it. */
  private static String containerEvent(String action) {
    long nanos = System.currentTimeMillis() * 1_000_000L;
    return ("{\"Type\":\"container\",\"Action\":\"%s\",\"Actor\":{\"ID\":\"c0ffee\",\"Attributes\":{\"name\":"
        + "\"fake\"}},\"scope\":\"local\",\"time\":%d,\"timeNano\":%d}").formatted(action, nanos / 1_000_000_000L, nanos);
  }

  /**
   * An engine that freezes while followed (stopped with SIGSTOP, or its host gone without a reset) holds the event
   * stream open and silent: the liveness check, unanswered, has it reported unreachable within its bound
   * (docs/discovery.md: 15 s to the next check, 2 s to connect, 10 s to answer), its last known instance serving
   * meanwhile; once it answers again, what it lists is followed. Before, the gateway waited on the silent stream for
   * ever: no WARNING, and a container the engine listed afterwards was never routed.
   */
  @Test
  @Timeout(150)
  void anEngineThatFreezesWhileFollowedIsReportedWithinItsBoundAndFollowedOnceItAnswers() throws Exception {
    try (FakeEngine engine = new FakeEngine();
         TestBackend next = new TestBackend(engine.vertx, "fake-next");
         LoggedErrors warnings = new LoggedErrors(DockerImporter.class.getName(), Level.WARNING);
         GatewayHarness gw = following(engine)) {
      long started = System.nanoTime();
      Poll.until(Duration.ofSeconds(15), "the engine's container routed", () -> gw.get("/api/fake/id").statusCode() == 200);

      engine.frozen = true;
      Duration noticed = Poll.until(Duration.ofSeconds(32), "the frozen engine reported unreachable",
          () -> warnings.lines().stream().anyMatch(l -> l.contains("unreachable")));
      System.out.printf("frozen engine reported after %d ms: %s%n", noticed.toMillis(), warnings.lines());
      assertEquals(200, gw.get("/api/fake/id").statusCode(), "the last known instance kept while the engine is away");

      engine.containers = FakeEngine.LISTING.formatted(next.port()).replace("c0ffee", "decaf"); // another container now
      engine.frozen = false;
      Poll.until(Duration.ofSeconds(20), "the container the engine lists once it answers again routed",
          () -> gw.get("/api/fake/id").headers().firstValue("X-Backend").orElse("").equals("fake-next"));
      List<String> unreachable = warnings.lines().stream().filter(l -> l.contains("unreachable")).toList();
      assertEquals(1, unreachable.size(), "one WARNING per outage: " + unreachable);
      long seconds = (System.nanoTime() - started) / 1_000_000_000L;
      assertTrue(engine.pings.get() <= seconds / 15 + 3,
          "a healthy engine is checked every 15 s: " + engine.pings.get() + " checks in " + seconds + " s");
    }
  }

  /**
   * A running container connected to a network, then disconnected from it ({@code docker network connect} and
   * {@code disconnect}, which send a network event and no container event): its address follows at once. It is
   * labelled gateway.network=front, so it is reached only while it has an IP there. Real engines here cannot send
   * these events (no network may be created; the none network gives no address), hence this engine. Before, the
   * gateway asked the engine for container events only: the connected container stayed unrouted (503) until some
   * container event came.
   */
  @Test
  @Timeout(90)
  void aContainerConnectedToOrDisconnectedFromANetworkIsFollowedAtItsEvent() throws Exception {
    try (FakeEngine engine = new FakeEngine();
         LoggedErrors info = new LoggedErrors(DockerImporter.class.getName(), Level.INFO)) {
      String back = "\"back\":{\"IPAddress\":\"\"}";
      engine.containers = onNetworks(engine, back);
      try (GatewayHarness gw = following(engine)) {
        Poll.until(Duration.ofSeconds(15), "the container listed and skipped: no IP on network front",
            () -> info.lines().stream().anyMatch(l -> l.contains("skipped") && l.contains("\"front\"")));
        assertEquals(503, gw.get("/api/fake/id").statusCode());

        engine.containers = onNetworks(engine, back + ",\"front\":{\"IPAddress\":\"127.0.0.1\"}");
        engine.event(networkEvent("connect"));
        Poll.until(Duration.ofSeconds(10), "routed on the network it was connected to",
            () -> gw.get("/api/fake/id").statusCode() == 200);

        engine.containers = onNetworks(engine, back);
        engine.event(networkEvent("disconnect"));
        Poll.until(Duration.ofSeconds(10), "out of rotation once disconnected from it",
            () -> gw.get("/api/fake/id").statusCode() == 503);

        // A busy host: every container started or stopped connects or disconnects; its events share listings.
        int before = engine.listings.get();
        for (int i = 0; i < 200; i++) {
          engine.event(networkEvent(i % 2 == 0 ? "connect" : "disconnect").replace("c0ffee", "other" + i));
        }
        Poll.until(Duration.ofSeconds(10), "a listing after the burst", () -> engine.listings.get() > before);
        Thread.sleep(1_000);
        int listings = engine.listings.get() - before;
        assertTrue(listings <= 20, "200 network events brought " + listings + " listings: one runs, one waits");
      }
    }
  }

  /** The WARNINGs caught, but the one at start saying that the engine is reached over plain TCP. */
  private static List<String> unlessPlainTcp(LoggedErrors warnings) {
    return warnings.lines().stream().filter(l -> !l.contains("plain TCP")).toList();
  }

  /** The fake engine's container c0ffee on {@code networks} (JSON members), reached on network front. */
  private static String onNetworks(FakeEngine engine, String networks) {
    return ("[{\"Id\":\"c0ffee\",\"Names\":[\"/fake\"],\"State\":\"running\",\"Labels\":{\"app_name\":\"fake\","
        + "\"gateway.port\":\"%d\",\"gateway.network\":\"front\"},\"HostConfig\":{\"NetworkMode\":\"back\"},"
        + "\"NetworkSettings\":{\"Networks\":{%s}},\"Ports\":[]}]").formatted(engine.backend.port(), networks);
  }

  /** A network event of container c0ffee on network front, as Docker sends it. */
  private static String networkEvent(String action) {
    long nanos = System.currentTimeMillis() * 1_000_000L;
    return ("{\"Type\":\"network\",\"Action\":\"%s\",\"Actor\":{\"ID\":\"f00d\",\"Attributes\":{\"container\":"
        + "\"c0ffee\",\"name\":\"front\",\"type\":\"bridge\"}},\"scope\":\"local\",\"time\":%d,\"timeNano\":%d}")
        .formatted(action, nanos / 1_000_000_000L, nanos);
  }
}
