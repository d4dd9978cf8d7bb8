package dev.dockgate.resilience;

import dev.dockgate.config.RouteConfig;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Each route's {@link RetryAllowance}, shared by the router instances: a reload keeps the allowance of a
 * route that did not change and drops those of routes that are gone or changed.
 */
public final class RetryAllowances {

  private final ConcurrentHashMap<RouteConfig, RetryAllowance> allowances = new ConcurrentHashMap<>();

  public RetryAllowance of(RouteConfig route) {
    return allowances.computeIfAbsent(route, r -> new RetryAllowance(r.retries().minPerSecond()));
  }

  /** Keeps the allowances of these routes only; before the routers compile them. Safe from any thread. */
  public void retain(List<RouteConfig> routes) {
    allowances.keySet().retainAll(new HashSet<>(routes));
  }
}
