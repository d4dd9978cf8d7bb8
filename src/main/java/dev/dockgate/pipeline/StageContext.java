package dev.dockgate.pipeline;

import dev.dockgate.config.RouteConfig;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import java.util.Map;

/**
 * What a stage may use when it is made: its route, the router's Vert.x and HTTP client, and the
 * process-wide services the wiring shares (rate-limit buckets, key caches), looked up by type.
 * Stages are made on a worker thread (a router compiles a config's routes off its event loop) and used
 * on the router's event loop afterwards: making one may call the shared services, which are thread-safe,
 * but should not start timers or requests from there: do those on first use, on the loop.
 */
public record StageContext(Vertx vertx, HttpClient client, RouteConfig route, Map<Class<?>, Object> shared) {

  /** The process-wide service of {@code type}; fails loudly when the wiring did not register one. */
  public <T> T shared(Class<T> type) {
    Object service = shared.get(type);
    if (service == null) {
      throw new IllegalStateException("no shared " + type.getSimpleName() + " registered");
    }
    return type.cast(service);
  }
}
