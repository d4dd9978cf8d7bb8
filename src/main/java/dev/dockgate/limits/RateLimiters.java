package dev.dockgate.limits;

import java.util.concurrent.ConcurrentHashMap;

/**
 * One limiter per route and limit settings, shared by every router instance, so a key has one
 * budget per route across all cores. The store behind each limiter is chosen here and can be
 * swapped (a cluster-wide store, say) without touching the request path.
 */
public final class RateLimiters {

  private final ConcurrentHashMap<String, RateLimiter> limiters = new ConcurrentHashMap<>();

  /** The limiter of a route; the same object for the same route and settings, also across reloads. */
  public RateLimiter forRoute(String routeId, RateLimitConfig config) {
    return limiters.computeIfAbsent(routeId + " " + config, k -> new LocalTokenBuckets(config));
  }
}
