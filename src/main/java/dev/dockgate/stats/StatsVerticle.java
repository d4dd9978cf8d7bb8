package dev.dockgate.stats;

import dev.dockgate.events.Addresses;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;

/**
 * Sole owner of the traffic numbers: consumes {@link Addresses#TRAFFIC} events and answers
 * {@link Addresses#STATS_QUERY} with the /stats document. Runs on its own event loop.
 */
public final class StatsVerticle extends VerticleBase {

  private final TrafficStats stats = new TrafficStats();

  @Override
  public Future<?> start() {
    MessageConsumer<JsonObject> traffic = vertx.eventBus().consumer(Addresses.TRAFFIC,
        msg -> record(msg.body()));
    MessageConsumer<Object> query = vertx.eventBus().consumer(Addresses.STATS_QUERY,
        msg -> msg.reply(stats.toJson()));
    return Future.all(traffic.completion(), query.completion());
  }

  private void record(JsonObject event) {
    Integer status = event.getInteger("status");
    Double latency = event.getDouble("latency_ms");
    if (status != null && latency != null) {
      stats.record(status, latency);
    }
  }
}
