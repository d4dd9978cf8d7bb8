package dev.dockgate.limits;

import dev.dockgate.config.RouteConfig;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One limiter per route and limit settings, shared by every router instance, so a key has one
 * budget per route across all cores; a reload keeps the limiter (and its budgets) of every route
 * whose limit did not change and drops the others. The store behind each limiter is chosen here and
 * can be swapped (a cluster-wide store, say) without touching the request path. Called when routes
 * are compiled (routers' event loops) and when a reload is applied (the main verticle's).
 */
public final class RateLimiters {

  /** A route (path prefix, host, methods) with its limit: the same identity shares one limiter. */
  private record Identity(String pathPrefix, String host, Set<String> methods, RateLimitConfig limit) {

    static Identity of(RouteConfig route, RateLimitConfig limit) {
      return new Identity(route.pathPrefix(), route.host(), Set.copyOf(route.methods()), limit);
    }
  }

  private final LocalTokenBuckets.Maintenance maintenance;
  private final ConcurrentHashMap<Identity, RateLimiter> limiters = new ConcurrentHashMap<>();
  /** The identities of the config applied last; null until the first {@link #retain}: then all are kept. */
  private volatile Set<Identity> live;

  public RateLimiters() {
    this(LocalTokenBuckets.Maintenance.SYSTEM);
  }

  RateLimiters(LocalTokenBuckets.Maintenance maintenance) {
    this.maintenance = maintenance;
  }

  /** The limiter of a route; the same object for the same route and settings, also across reloads. */
  public RateLimiter forRoute(RouteConfig route, RateLimitConfig config) {
    Identity identity = Identity.of(route, config);
    Set<Identity> current = live;
    if (current != null && !current.contains(identity)) {
      // A router still compiling a config that a newer reload has replaced: it is about to be
      // replaced too, and a limiter kept for it would never be dropped.
      return new LocalTokenBuckets(config, maintenance);
    }
    return limiters.computeIfAbsent(identity, id -> new LocalTokenBuckets(config, maintenance));
  }

  /**
   * Keeps the limiters of {@code routes} and drops every other one; call with a new config before
   * the routers compile it. A dropped limiter serves the requests still on the old routes, then
   * goes with them (its buckets are garbage, not swept).
   */
  public void retain(List<RouteConfig> routes) {
    Set<Identity> next = new HashSet<>();
    for (RouteConfig route : routes) {
      RateLimitConfig limit = route.block(RateLimitFeature.KEY, RateLimitConfig.class);
      if (limit != null) {
        next.add(Identity.of(route, limit));
      }
    }
    live = Set.copyOf(next);
    limiters.keySet().retainAll(next);
  }

  /** How many limiters are held; for tests. */
  int size() {
    return limiters.size();
  }
}
