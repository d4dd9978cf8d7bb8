package dev.dockgate.resilience;

import dev.dockgate.config.CircuitBreakerConfig;
import io.vertx.circuitbreaker.CircuitBreaker;
import io.vertx.circuitbreaker.CircuitBreakerOptions;
import io.vertx.core.Vertx;
import java.util.logging.Logger;

/** Creates the circuit breaker that guards one instance, logging each state change once. */
public final class Breakers {

  private static final Logger LOG = Logger.getLogger(Breakers.class.getName());

  private Breakers() {
  }

  public static CircuitBreaker create(Vertx vertx, String name, CircuitBreakerConfig config) {
    CircuitBreakerOptions options = new CircuitBreakerOptions()
        .setMaxFailures(config.maxFailures())
        .setResetTimeout(config.resetTimeoutMs())
        .setTimeout(-1) // the route's own timeout applies
        .setFailuresRollingWindow(300_000) // failures older than 5 min no longer count
        .setNotificationAddress(null);
    CircuitBreaker breaker = CircuitBreaker.create(name, vertx, options)
        .failurePolicy(result -> result.failed()
            && !(result.cause() instanceof UpstreamFailure failure && failure.clientFault()));
    breaker.openHandler(v -> LOG.warning("breaker " + name + " open after " + config.maxFailures()
        + " consecutive failures; probing again in " + config.resetTimeoutMs() + " ms"));
    breaker.halfOpenHandler(v -> LOG.info("breaker " + name + " half-open: next request probes"));
    breaker.closeHandler(v -> LOG.info("breaker " + name + " closed"));
    return breaker;
  }

  /**
   * Records a success. The library counts failures in a rolling window; resetting on success makes
   * the threshold count consecutive failures.
   */
  public static void succeeded(CircuitBreaker breaker) {
    if (breaker.failureCount() > 0) {
      breaker.reset();
    }
  }
}
