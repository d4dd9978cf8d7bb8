package dev.dockgate.observability;

import dev.dockgate.events.Addresses;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import java.util.logging.Logger;

/**
 * An example consumer of the traffic tap: every request slower than the threshold gives one warning
 * line and one {@code {"type":"slow_request", ...event}} message on {@link Addresses#ALERTS}.
 */
public final class SlowRequestAlerter extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(SlowRequestAlerter.class.getName());

  private final long thresholdMs;

  public SlowRequestAlerter(long thresholdMs) {
    this.thresholdMs = thresholdMs;
  }

  @Override
  public Future<?> start() {
    return vertx.eventBus().<JsonObject>localConsumer(Addresses.TRAFFIC, msg -> check(msg.body())).completion();
  }

  private void check(JsonObject event) {
    double latency = event.getDouble("latency_ms", 0.0);
    if (latency < thresholdMs) {
      return;
    }
    LOG.warning(warning(event, latency, thresholdMs));
    // The event is read-only: the alert is a copy with the event's fields in their order, then its own.
    JsonObject alert = new JsonObject(new java.util.LinkedHashMap<>(event.getMap()));
    vertx.eventBus().publish(Addresses.ALERTS, alert.put("type", "slow_request").put("threshold_ms", thresholdMs), Addresses.LOCAL);
  }

  /**
   * The warning's text; what the event lacks reads {@code -}, as in the access log: the request line of a request
   * the codec could not read, the backend and instance of an answer the gateway gave itself.
   */
  static String warning(JsonObject event, double latency, long thresholdMs) {
    String method = event.getString("method");
    String request = method == null ? "-" : method + " " + event.getString("path");
    return "slow request: " + request + " took " + latency + " ms (threshold " + thresholdMs + " ms), backend "
        + orDash(event.getString("backend")) + ", instance " + orDash(event.getString("instance")) + ", request id "
        + orDash(event.getString("request_id"));
  }

  private static String orDash(String value) {
    return value == null ? "-" : value;
  }
}
