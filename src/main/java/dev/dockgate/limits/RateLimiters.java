package dev.dockgate.limits;

import dev.dockgate.config.RouteConfig;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * One limiter per route and limit settings, shared by every router instance, so a key has one
 * budget per route across all cores; a reload keeps the limiter (and its budgets) of every route
 * whose limit did not change and drops the others. The store behind each limiter is chosen here and
 * can be swapped without touching the request path: {@code scope: cluster} limits get this node's share of a
 * cluster-wide budget once {@link #joinCluster} was called, else a local store. Called when routes are compiled
 * (routers' event loops), when a reload is applied (the main verticle's) and by the cluster ticks (a worker).
 */
public final class RateLimiters {

  private static final Logger LOG = Logger.getLogger(RateLimiters.class.getName());

  /** A route (path prefix, host, methods) with its limit: the same identity shares one limiter. */
  private record Identity(String pathPrefix, String host, Set<String> methods, RateLimitConfig limit) {

    static Identity of(RouteConfig route, RateLimitConfig limit) {
      return new Identity(route.pathPrefix(), route.host(), Set.copyOf(route.methods()), limit);
    }

    /** The same text on every node for the same route and limit: how peers name the limit in their reports. */
    String clusterId() {
      return pathPrefix + " " + host + " " + new TreeSet<>(methods) + " " + limit.requestsPerSecond() + "/s burst "
          + limit.burst() + " by " + limit.key() + " max " + limit.maxKeys()
          // Only when set: a node keying by whole addresses names the limit as nodes did before ipv6_prefix.
          + (limit.ipv6Prefix() == 128 ? "" : " ipv6_prefix " + limit.ipv6Prefix());
    }

    String describe() {
      return "route " + pathPrefix + (host == null ? "" : " (host " + host + ")");
    }
  }

  /**
   * The route part of a {@code clusterId} (path prefix, host, methods), or null when it is not one: two ids with the
   * same route and different settings are one route limited differently on two nodes.
   */
  static String routeOf(String clusterId) {
    int end = clusterId.lastIndexOf("] ");
    return end < 0 ? null : clusterId.substring(0, end + 1);
  }

  /** The ids of the cluster-scope limits held (see {@code clusterId}). */
  Set<String> clusterIds() {
    Set<String> ids = new HashSet<>();
    for (RateLimiter limiter : limiters.values()) {
      if (limiter instanceof ClusterTokenBuckets shared) {
        ids.add(shared.id());
      }
    }
    return ids;
  }

  private final LocalTokenBuckets.Maintenance maintenance;
  private final ConcurrentHashMap<Identity, RateLimiter> limiters = new ConcurrentHashMap<>();
  /** The identities of the config applied last; null until the first {@link #retain}: then all are kept. */
  private volatile Set<Identity> live;
  /** The latest cluster view for cluster-scope limits; null when this node is not in a cluster. */
  private volatile ClusterView cluster;

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
      return create(identity, false);
    }
    return limiters.computeIfAbsent(identity, id -> create(id, true));
  }

  private RateLimiter create(Identity identity, boolean kept) {
    RateLimitConfig config = identity.limit();
    if (config.scope() != RateLimitConfig.Scope.CLUSTER) {
      return new LocalTokenBuckets(config, maintenance);
    }
    ClusterView view = cluster;
    if (view == null) {
      if (kept) {
        LOG.info(identity.describe() + ": rate_limit scope cluster acts as local, this node is not in a cluster"
            + " (started without -cluster, or the cluster could not be joined)");
      }
      return new LocalTokenBuckets(config, maintenance);
    }
    return new ClusterTokenBuckets(identity.clusterId(), config, view, maintenance);
  }

  /**
   * From now on cluster-scope limits made by {@link #forRoute} take shares of cluster budgets, starting from
   * {@code view}; call before the routers compile their routes.
   */
  void joinCluster(ClusterView view) {
    cluster = view;
  }

  /** Whether any limiter held now has {@code scope: cluster} (only those are shared out by a tick). */
  boolean anyClusterScope() {
    for (RateLimiter limiter : limiters.values()) {
      if (limiter instanceof ClusterTokenBuckets) {
        return true;
      }
    }
    return false;
  }

  /**
   * Closes a period for every cluster-scope limit held (see {@link ClusterTokenBuckets#tick}); returns this
   * node's load per limit id and key, for the peers.
   */
  Map<String, Map<String, KeyLoad>> tick(long nowNanos, double elapsedSeconds, ClusterView view) {
    cluster = view;
    Map<String, Map<String, KeyLoad>> report = new HashMap<>();
    for (RateLimiter limiter : limiters.values()) {
      if (limiter instanceof ClusterTokenBuckets shared) {
        Map<String, KeyLoad> keys = shared.tick(nowNanos, elapsedSeconds, view);
        if (!keys.isEmpty()) {
          report.put(shared.id(), keys);
        }
      }
    }
    return report;
  }

  /**
   * Keeps the limiters of {@code routes} and drops every other one; call with a new config before
   * the routers compile it. A dropped limiter serves the requests still on the old routes, then
   * goes with them (its buckets are garbage, not swept). Safe from any thread.
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
