package dev.dockgate.routing;

import dev.dockgate.discovery.Instance;
import io.vertx.circuitbreaker.CircuitBreaker;

/**
 * An instance as one router instance uses it: its shared circuit breaker and this router's count of
 * requests in flight to it (for least-requests picking). Confined to the router's event loop.
 */
public final class Upstream {

  private final Instance instance;
  private final CircuitBreaker breaker;
  private int inFlight;

  public Upstream(Instance instance, CircuitBreaker breaker) {
    this.instance = instance;
    this.breaker = breaker;
  }

  public Instance instance() {
    return instance;
  }

  public CircuitBreaker breaker() {
    return breaker;
  }

  public int inFlight() {
    return inFlight;
  }

  void started() {
    inFlight++;
  }

  void finished() {
    inFlight--;
  }
}
