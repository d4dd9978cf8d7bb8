package dev.dockgate.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.dockgate.events.Addresses;
import dev.dockgate.events.SharedJsonCodec;
import dev.dockgate.events.TrafficEvent;
import dev.dockgate.testing.Poll;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** The stats verticle's two answers: /stats keeps rgate's shape; the dashboard's detail adds the last seconds. */
@ExtendWith(VertxExtension.class)
@Timeout(30)
class StatsVerticleTest {

  static final Duration DEADLINE = Duration.ofSeconds(5);

  Vertx vertx;

  @BeforeEach
  void deploy(Vertx vertx, VertxTestContext ctx) {
    this.vertx = vertx;
    SharedJsonCodec.register(vertx.eventBus());
    vertx.deployVerticle(new StatsVerticle()).onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void detailHasTheStatsDocumentAndTheWindowPerRoute() {
    publish("/api", "api", 200, 1.0);
    publish("/api", "api", 200, 1.0);
    publish("/api", "api", 204, 1.0);
    publish("/api", "api", 503, 300.0);
    publish(null, null, 404, 0.5);

    JsonObject detail = detailOnce(5);
    JsonObject stats = ask(Addresses.STATS_QUERY);
    assertEquals(Set.of("requests_count", "latency_ms", "routes", "backends"), stats.fieldNames(),
        "/stats keeps its shape: no window in it");
    assertEquals(stats, detail.getJsonObject("stats"));
    assertEquals(1.0, detail.getDouble("p50"));

    JsonObject window = detail.getJsonObject("window");
    assertEquals(2, window.getLong("errors"));
    assertEquals(new JsonObject("{\"1xx\":0,\"2xx\":3,\"3xx\":0,\"4xx\":1,\"5xx\":1,\"other\":0}"),
        window.getJsonObject("status"));
    assertEquals(Set.of("/api", "(none)"), window.getJsonObject("routes").fieldNames());

    JsonObject api = window.getJsonObject("routes").getJsonObject("/api");
    assertEquals(4, api.getLong("requests"));
    assertEquals(25.0, api.getDouble("error_pct"));
    assertEquals(1.0, api.getJsonObject("latency_ms").getDouble("p50"), 0.01);
    assertEquals(300.0, api.getJsonObject("latency_ms").getDouble("p99"), 3.0);
    JsonObject none = window.getJsonObject("routes").getJsonObject("(none)");
    assertEquals(1, none.getLong("requests"));
    assertEquals(100.0, none.getDouble("error_pct"));
  }

  /** The detail once the verticle has consumed {@code requests} events (it consumes them asynchronously). */
  JsonObject detailOnce(long requests) {
    AtomicReference<JsonObject> last = new AtomicReference<>();
    Poll.until(DEADLINE, "the window holds " + requests + " requests", () -> {
      last.set(ask(Addresses.STATS_DETAIL));
      return last.get().getJsonObject("window").getLong("requests") == requests;
    });
    return last.get();
  }

  JsonObject ask(String address) {
    Future<JsonObject> reply = vertx.eventBus().<JsonObject>request(address, null).map(Message::body);
    try {
      return reply.toCompletionStage().toCompletableFuture().get(DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      throw new AssertionError(address + " did not answer", e);
    }
  }

  void publish(String route, String backend, int status, double latencyMs) {
    TrafficEvent event = new TrafficEvent(System.currentTimeMillis(), "req", "127.0.0.1", null, "GET", "/x", null,
        "HTTP/1.1", route, backend, backend == null ? null : backend + "-1", status, 9, latencyMs);
    vertx.eventBus().publish(Addresses.TRAFFIC, event.toJson(), Addresses.TRAFFIC_DELIVERY);
  }
}
