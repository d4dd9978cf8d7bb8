package dev.dockgate.events;

import io.vertx.core.json.JsonObject;

/**
 * One finished request as published on {@link Addresses#TRAFFIC}. {@code route}, {@code backend} and
 * {@code instance} are null when the request matched no route or reached no instance.
 * Latency is measured from the request's arrival to the end of the response, in milliseconds.
 */
public record TrafficEvent(
    long timestamp,
    String method,
    String path,
    String route,
    String backend,
    String instance,
    int status,
    double latencyMs) {

  public JsonObject toJson() {
    return new JsonObject()
        .put("timestamp", timestamp)
        .put("method", method)
        .put("path", path)
        .put("route", route)
        .put("backend", backend)
        .put("instance", instance)
        .put("status", status)
        .put("latency_ms", latencyMs);
  }

  public static TrafficEvent fromJson(JsonObject json) {
    return new TrafficEvent(
        json.getLong("timestamp", 0L),
        json.getString("method"),
        json.getString("path"),
        json.getString("route"),
        json.getString("backend"),
        json.getString("instance"),
        json.getInteger("status", 0),
        json.getDouble("latency_ms", 0.0));
  }

  /** rgate's rule: 200-399 is a success, everything else an error; a WebSocket upgrade (101) succeeded too. */
  public boolean success() {
    return isSuccess(status);
  }

  public static boolean isSuccess(int status) {
    return status == 101 || (status >= 200 && status < 400);
  }
}
