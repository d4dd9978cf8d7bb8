package dev.dockgate.stats;

import dev.dockgate.events.Addresses;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import java.util.TreeMap;

/**
 * Sole owner of the traffic numbers: consumes {@link Addresses#TRAFFIC} events and answers
 * {@link Addresses#STATS_QUERY} with the /stats document. Runs on its own event loop.
 */
public final class StatsVerticle extends VerticleBase {

  private final TrafficStats stats = new TrafficStats();
  private final Map<String, TrafficStats> byRoute = new TreeMap<>();
  private final Map<String, TrafficStats> byBackend = new TreeMap<>();

  @Override
  public Future<?> start() {
    MessageConsumer<JsonObject> traffic = vertx.eventBus().consumer(Addresses.TRAFFIC,
        msg -> record(msg.body()));
    MessageConsumer<Object> query = vertx.eventBus().consumer(Addresses.STATS_QUERY,
        msg -> msg.reply(document()));
    MessageConsumer<Object> detail = vertx.eventBus().consumer(Addresses.STATS_DETAIL,
        msg -> msg.reply(new JsonObject().put("stats", document())
            .put("p50", Math.round(stats.percentileMs(50.0) * 1000.0) / 1000.0)));
    return Future.all(traffic.completion(), query.completion(), detail.completion());
  }

  private void record(JsonObject event) {
    Integer status = event.getInteger("status");
    Double latency = event.getDouble("latency_ms");
    if (status != null && latency != null) {
      stats.record(status, latency);
      section(byRoute, event.getString("route")).record(status, latency);
      section(byBackend, event.getString("backend")).record(status, latency);
    }
  }

  /** Requests that matched no route (and so reached no backend) are counted under "(none)". */
  private static TrafficStats section(Map<String, TrafficStats> sections, String key) {
    return sections.computeIfAbsent(key == null ? "(none)" : key, k -> new TrafficStats(2));
  }

  /** rgate's document, with per-route and per-backend sections of the same shape beside its keys. */
  private JsonObject document() {
    JsonObject routes = new JsonObject();
    byRoute.forEach((route, s) -> routes.put(route, s.toJson()));
    JsonObject backends = new JsonObject();
    byBackend.forEach((backend, s) -> backends.put(backend, s.toJson()));
    return stats.toJson().put("routes", routes).put("backends", backends);
  }
}
