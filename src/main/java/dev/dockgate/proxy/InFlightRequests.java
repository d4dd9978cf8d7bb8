package dev.dockgate.proxy;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Requests in flight per route and backend, across all router instances: one counter per pair,
 * looked up once per route handler, so the request path only increments and decrements it. A
 * LongAdder, so the routers (one per core) do not fight over one cache line on every request; it
 * is summed only when read.
 */
public final class InFlightRequests {

  /** A route and the backend it sends to. */
  public record Key(String route, String backend) {
  }

  private final ConcurrentHashMap<Key, LongAdder> counters = new ConcurrentHashMap<>();

  LongAdder counter(String route, String backend) {
    return counters.computeIfAbsent(new Key(route, backend), k -> new LongAdder());
  }

  /**
   * Drops the counters of route and backend pairs that none of {@code routes} has and that have nothing in flight,
   * so that reloads renaming routes leave no counter (nor {@code gateway_requests_in_flight} series) behind; one
   * with requests still in flight is dropped by a later reload. Safe from any thread.
   */
  public void retain(java.util.List<dev.dockgate.config.RouteConfig> routes) {
    java.util.Set<Key> live = new java.util.HashSet<>();
    routes.forEach(r -> live.add(new Key(r.pathPrefix(), r.backend())));
    counters.entrySet().removeIf(e -> !live.contains(e.getKey()) && e.getValue().sum() == 0);
  }

  /** A snapshot of every counter; safe from any thread. */
  public Map<Key, Integer> snapshot() {
    Map<Key, Integer> copy = new TreeMap<>(java.util.Comparator.comparing(Key::route).thenComparing(Key::backend));
    counters.forEach((k, v) -> copy.put(k, v.intValue()));
    return copy;
  }
}
