package dev.dockgate.discovery;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;

/**
 * The discovery status of the Docker engines, as readiness and {@code gateway.discovery.status}
 * report it, from each importer's own ({@link DockerImporter#status()}). Pure.
 */
final class DockerStatus {

  private DockerStatus() {
  }

  /**
   * Each engine's status under {@code engines}; {@code connected} when every engine is followed,
   * {@code ready} when at least one is (readiness), {@code state} the one engine's state, or for
   * several {@code connected}, {@code degraded} (some followed) or {@code waiting} (none);
   * {@code instances} in all; {@code engine} the engines' URLs.
   */
  static JsonObject combine(List<JsonObject> engines) {
    int connected = 0;
    int instances = 0;
    for (JsonObject one : engines) {
      connected += one.getBoolean("connected") ? 1 : 0;
      instances += one.getInteger("instances");
    }
    String state = engines.size() == 1 ? engines.get(0).getString("state")
        : connected == engines.size() ? "connected" : connected > 0 ? "degraded" : "waiting";
    return new JsonObject().put("enabled", true)
        .put("engine", String.join(", ", engines.stream().map(e -> e.getString("engine")).toList()))
        .put("connected", connected == engines.size()).put("ready", connected > 0)
        .put("state", state).put("instances", instances).put("engines", new JsonArray(List.copyOf(engines)));
  }
}
