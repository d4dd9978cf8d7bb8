package dev.dockgate.routing;

import dev.dockgate.config.BackendConfig;
import dev.dockgate.resilience.Breakers;
import io.vertx.circuitbreaker.CircuitBreaker;
import io.vertx.core.Vertx;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A router instance's live upstreams: keeps one circuit breaker per instance across snapshots and
 * hands each route handler the array of upstreams of its backend. Used on one event loop.
 */
final class Upstreams {

  private final Vertx vertx;
  private final Map<String, BackendConfig> backends;
  private final Collection<ProxyHandler> handlers;
  private Map<String, Upstream> live = Map.of();

  Upstreams(Vertx vertx, List<BackendConfig> backends, Collection<ProxyHandler> handlers) {
    this.vertx = vertx;
    this.backends = new HashMap<>();
    backends.forEach(b -> this.backends.put(b.name(), b));
    this.handlers = handlers;
  }

  void apply(BackendInstances snapshot) {
    Map<String, Upstream> next = new HashMap<>();
    Map<String, Upstream[]> byBackend = new HashMap<>();
    for (BackendConfig backend : backends.values()) {
      List<Instance> instances = snapshot.of(backend.name());
      Upstream[] array = new Upstream[instances.size()];
      for (int i = 0; i < array.length; i++) {
        Instance instance = instances.get(i);
        String key = backend.name() + "/" + instance.id();
        Upstream existing = live.get(key);
        Upstream upstream = existing != null && existing.instance().equals(instance)
            ? existing
            : new Upstream(instance, breaker(backend, instance));
        next.put(key, upstream);
        array[i] = upstream;
      }
      byBackend.put(backend.name(), array);
    }
    for (Map.Entry<String, Upstream> gone : live.entrySet()) {
      if (next.get(gone.getKey()) != gone.getValue()) {
        gone.getValue().breaker().close();
      }
    }
    live = next;
    for (ProxyHandler handler : handlers) {
      handler.upstreams(byBackend.get(handler.backend()));
    }
  }

  private CircuitBreaker breaker(BackendConfig backend, Instance instance) {
    String id = instance.id().length() > 12 ? instance.id().substring(0, 12) : instance.id();
    return Breakers.create(vertx, backend.name() + "/" + instance.name() + "/" + id, backend.circuitBreaker());
  }
}
