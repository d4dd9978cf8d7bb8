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

/**
 * Sole owner of the traffic numbers: consumes {@link Addresses#TRAFFIC} events and answers
 * {@link Addresses#STATS_QUERY} with the /stats document. Runs on its own event loop.
 */
public final class StatsVerticle extends VerticleBase {

  private final TrafficStats stats = new TrafficStats();
  private final Sections byRoute = new Sections();
  private final Sections byBackend = new Sections();

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

  private void record(JsonObject json) {
    TrafficEvent event = TrafficEvent.of(json);
    if (event != null) {
      stats.record(event.status(), event.latencyMs());
      byRoute.of(event.route()).record(event.status(), event.latencyMs());
      byBackend.of(event.backend()).record(event.status(), event.latencyMs());
    }
  }

  /**
   * The numbers per route or per backend. Events come in runs of the same route, so the last
   * section is tried before the map; requests that matched no route (and so reached no backend)
   * are counted under "(none)".
   */
  private static final class Sections {
    private final Map<String, TrafficStats> byKey = new HashMap<>();
    private String lastKey;
    private TrafficStats last;

    TrafficStats of(String key) {
      String k = key == null ? "(none)" : key;
      if (!k.equals(lastKey)) {
        last = byKey.computeIfAbsent(k, x -> new TrafficStats(2));
        lastKey = k;
      }
      return last;
    }

    /** Each section's document, by key in order. */
    JsonObject toJson() {
      JsonObject out = new JsonObject();
      new TreeMap<>(byKey).forEach((key, s) -> out.put(key, s.toJson()));
      return out;
    }
  }

  /** rgate's document, with per-route and per-backend sections of the same shape beside its keys. */
  private JsonObject document() {
    return stats.toJson().put("routes", byRoute.toJson()).put("backends", byBackend.toJson());
  }
}
