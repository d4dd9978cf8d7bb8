package dev.dockgate.proxy;

import dev.dockgate.discovery.BackendInstances;
import dev.dockgate.discovery.Instance;
import dev.dockgate.config.BackendConfig;
import dev.dockgate.resilience.BreakerRegistry;
import dev.dockgate.resilience.HealthCheckVerticle;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A router instance's live upstreams: holds the shared circuit breaker of each instance while the
 * instance is known and hands each route handler the array of upstreams of its backend: all of them, or with
 * {@code subset_size} this router's window of them (see {@link Subsets}) and the others apart, for failover. Used on
 * one event loop.
 */
public final class Upstreams {

  private final BreakerRegistry breakers;
  private final Map<String, BackendConfig> backends;
  /** The route handlers of each backend. */
  private final Map<String, ProxyHandler[]> handlers;
  private Map<String, Upstream> live = Map.of();
  /** The process's subsetting (seed, router count, the windows each router hands out). */
  private final Subsets subsets;
  /** This router's number among the process's, in [0, subsets.routers()). */
  private final int router;

  /** May be made on any thread (a worker compiling a config); used afterwards on the router's event loop only. */
  public Upstreams(BreakerRegistry breakers, List<BackendConfig> backends, Collection<ProxyHandler> handlers,
      Subsets subsets, int router) {
    this.breakers = breakers;
    this.subsets = subsets;
    this.router = router;
    this.backends = new HashMap<>();
    backends.forEach(b -> this.backends.put(b.name(), b));
    Map<String, List<ProxyHandler>> grouped = new HashMap<>();
    handlers.forEach(h -> grouped.computeIfAbsent(h.backend(), k -> new java.util.ArrayList<>()).add(h));
    this.handlers = new HashMap<>();
    grouped.forEach((backend, list) -> this.handlers.put(backend, list.toArray(new ProxyHandler[0])));
  }

  /** Hands out the snapshot's instances, leaving out those whose health-check key is in {@code unhealthy}. */
  public void apply(BackendInstances snapshot, Set<String> unhealthy) {
    Map<String, Upstream> next = new HashMap<>();
    Map<String, Upstream[]> byBackend = new HashMap<>();
    Map<String, Upstream[]> beyondByBackend = new HashMap<>();
    Set<String> handedOut = new java.util.HashSet<>();
    for (BackendConfig backend : backends.values()) {
      List<Instance> instances = snapshot.of(backend.name());
      if (!unhealthy.isEmpty()) {
        instances = instances.stream()
            .filter(i -> !unhealthy.contains(HealthCheckVerticle.key(backend.name(), i)))
            .toList();
      }
      Upstream[] array = new Upstream[instances.size()];
      for (int i = 0; i < array.length; i++) {
        Instance instance = instances.get(i);
        String key = key(backend, instance);
        Upstream existing = live.get(key);
        Upstream upstream = existing != null && existing.instance().equals(instance)
            ? existing
            : upstream(backend, instance);
        next.put(key, upstream);
        array[i] = upstream;
      }
      Upstream[] window = array;
      if (backend.subsetSize() > 0 && array.length > backend.subsetSize()) {
        List<Upstream> ring = Subsets.ring(List.of(array), u -> identity(u.instance()));
        List<Upstream> picked = subsets.window(ring, backend.subsetSize(), router);
        window = picked.toArray(Tries.NONE);
        Set<Upstream> in = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        in.addAll(picked);
        beyondByBackend.put(backend.name(), ring.stream().filter(u -> !in.contains(u)).toArray(Upstream[]::new));
      }
      for (Upstream u : window) {
        handedOut.add(key(backend, u.instance()));
      }
      byBackend.put(backend.name(), window);
    }
    for (Map.Entry<String, Upstream> gone : live.entrySet()) {
      if (next.get(gone.getKey()) != gone.getValue()) {
        breakers.release(gone.getKey());
      }
    }
    live = next;
    subsets.publish(router, this, handedOut);
    for (Map.Entry<String, ProxyHandler[]> backend : handlers.entrySet()) {
      Upstream[] rotation = byBackend.get(backend.getKey());
      Upstream[] beyond = beyondByBackend.getOrDefault(backend.getKey(), Tries.NONE);
      for (ProxyHandler handler : backend.getValue()) {
        handler.upstreams(rotation, beyond);
      }
    }
  }

  /** What places an instance on a backend's ring: the instance part of its breaker key, the same in every process. */
  static String identity(Instance instance) {
    return instance.name() + "/" + instance.shortId();
  }

  private Upstream upstream(BackendConfig backend, Instance instance) {
    String key = key(backend, instance);
    dev.dockgate.resilience.Breaker breaker = breakers.acquire(key, backend.circuitBreaker());
    long graceNanos = backend.circuitBreaker().startupGraceMs() * 1_000_000;
    dev.dockgate.resilience.Outliers outliers = backend.outliers() == null ? null : breakers.outliers(key, backend.outliers());
    return new Upstream(instance, breaker, breakers.since(key) + graceNanos, outliers, breakers.said(key));
  }

  /** Lets go of every instance's breaker; the router is stopping. */
  public void close() {
    subsets.withdraw(router, this);
    live.keySet().forEach(breakers::release);
    live = Map.of();
  }

  /** The upstreams in rotation, by {@link #key}. */
  public Map<String, Upstream> byKey() {
    return live;
  }

  /** Breaker name and key: backend/instance-name/short-id (see {@link Instance#shortId}). */
  public static String key(BackendConfig backend, Instance instance) {
    return backend.name() + "/" + instance.name() + "/" + instance.shortId();
  }
}
