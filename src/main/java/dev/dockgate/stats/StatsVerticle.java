package dev.dockgate.stats;

import dev.dockgate.events.Addresses;
import dev.dockgate.events.TrafficEvent;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * Sole owner of the traffic numbers: consumes {@link Addresses#TRAFFIC} events, answers
 * {@link Addresses#STATS_QUERY} with the /stats document and {@link Addresses#STATS_DETAIL} with the
 * dashboard's (all-time and last-seconds numbers), and {@link Addresses#STATS_NODE} with its numbers in the
 * form a cluster view merges. Runs on its own event loop.
 */
public final class StatsVerticle extends VerticleBase {

  private final TrafficStats stats = new TrafficStats();
  private final Sections<TrafficStats> byRoute = new Sections<>(key -> new TrafficStats(2));
  private final Sections<TrafficStats> byBackend = new Sections<>(key -> new TrafficStats(2));
  private final long startMillis = nowMillis();
  private final RecentTraffic recent = new RecentTraffic(startMillis);
  private final Sections<RecentTraffic> recentByRoute = new Sections<>(key -> new RecentTraffic(startMillis));

  @Override
  public Future<?> start() {
    MessageConsumer<JsonObject> traffic = vertx.eventBus().localConsumer(Addresses.TRAFFIC,
        msg -> record(msg.body()));
    MessageConsumer<Object> query = vertx.eventBus().localConsumer(Addresses.STATS_QUERY,
        msg -> msg.reply(document()));
    MessageConsumer<Object> detail = vertx.eventBus().localConsumer(Addresses.STATS_DETAIL,
        msg -> msg.reply(detail()));
    MessageConsumer<Object> node = vertx.eventBus().localConsumer(Addresses.STATS_NODE,
        msg -> msg.reply(wire()));
    return Future.all(traffic.completion(), query.completion(), detail.completion(), node.completion());
  }

  private void record(JsonObject json) {
    TrafficEvent event = TrafficEvent.of(json);
    if (event != null) {
      int status = event.status();
      boolean success = event.success();
      double latencyMs = event.latencyMs();
      long now = nowMillis();
      stats.record(success, latencyMs);
      byRoute.of(event.route()).record(success, latencyMs);
      byBackend.of(event.backend()).record(success, latencyMs);
      recent.record(now, status, success, latencyMs);
      recentByRoute.of(event.route()).record(now, status, success, latencyMs);
    }
  }

  /** Windows follow a monotonic clock, so a wall-clock step cannot empty or stretch them. */
  private static long nowMillis() {
    return System.nanoTime() / 1_000_000;
  }

  /**
   * The numbers per route or per backend. Events come in runs of the same route, so the last
   * section is tried before the map; requests that matched no route (and so reached no backend)
   * are counted under "(none)".
   */
  private static final class Sections<T> {
    private final Map<String, T> byKey = new HashMap<>();
    private final Function<String, T> create;
    private String lastKey;
    private T last;

    Sections(Function<String, T> create) {
      this.create = create;
    }

    T of(String key) {
      String k = key == null ? "(none)" : key;
      if (!k.equals(lastKey)) {
        last = byKey.computeIfAbsent(k, create);
        lastKey = k;
      }
      return last;
    }

    /** Each section by key in order. */
    void forEach(BiConsumer<String, T> action) {
      new TreeMap<>(byKey).forEach(action);
    }
  }

  /** rgate's document, with per-route and per-backend sections of the same shape beside its keys. */
  private JsonObject document() {
    JsonObject routes = new JsonObject();
    byRoute.forEach((key, s) -> routes.put(key, s.toJson()));
    JsonObject backends = new JsonObject();
    byBackend.forEach((key, s) -> backends.put(key, s.toJson()));
    return stats.toJson().put("routes", routes).put("backends", backends);
  }

  /** This node's numbers as another node merges them into the cluster's (see {@link ClusterStats}). */
  private JsonObject wire() {
    JsonObject routes = new JsonObject();
    byRoute.forEach((key, s) -> routes.put(key, s.toWire()));
    JsonObject backends = new JsonObject();
    byBackend.forEach((key, s) -> backends.put(key, s.toWire()));
    return new JsonObject().put("totals", stats.toWire()).put("routes", routes).put("backends", backends);
  }

  /**
   * The dashboard's document: the /stats document, the all-time median, and the last seconds'
   * window, gateway-wide and per route (the routes with requests in it).
   */
  private JsonObject detail() {
    long now = nowMillis();
    JsonObject routes = new JsonObject();
    recentByRoute.forEach((key, r) -> {
      RecentTraffic.Window w = r.window(now);
      if (w.requests() > 0) {
        routes.put(key, w.toJson());
      }
    });
    return new JsonObject()
        .put("stats", document())
        .put("p50", Math.round(stats.percentileMs(50.0) * 1000.0) / 1000.0)
        .put("window", recent.window(now).toJson().put("routes", routes));
  }
}
