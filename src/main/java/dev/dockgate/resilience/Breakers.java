package dev.dockgate.resilience;

import dev.dockgate.config.CircuitBreakerConfig;
import io.vertx.circuitbreaker.CircuitBreaker;
import io.vertx.circuitbreaker.CircuitBreakerOptions;
import io.vertx.circuitbreaker.CircuitBreakerState;
import io.vertx.core.Vertx;
import java.util.logging.Logger;

/** Creates the circuit breaker that guards one instance, logging each state change once (see {@link Breaker}). */
public final class Breakers {

  private static final Logger LOG = Logger.getLogger(Breakers.class.getName());

  private Breakers() {
  }

  public static Breaker create(Vertx vertx, String name, CircuitBreakerConfig config) {
    CircuitBreakerOptions options = new CircuitBreakerOptions()
        .setMaxFailures(config.maxFailures())
        .setResetTimeout(config.resetTimeoutMs())
        .setTimeout(-1) // the route's own timeout applies
        .setFailuresRollingWindow(300_000) // failures older than 5 min no longer count
        .setNotificationAddress(null);
    CircuitBreaker breaker = CircuitBreaker.create(name, vertx, options);
    Breaker guarded = new Breaker(breaker);
    // What the policy does not call a failure the library takes as a success, which closes a half-open circuit (its
    // reset() closes it whichever call completes): a call that ended without the instance answering (a full pool, a
    // client leaving) proves nothing, so while half-open it counts. Opening again for one more reset_timeout_ms on no
    // evidence is the safe side; closing on none is not. Only a try while open or half-open (refused, or the probe)
    // runs through the library: one let through while closed, in a startup grace or a WebSocket upgrade too, runs
    // unguarded (Tries), so that its success cannot close a circuit gone half-open meanwhile; only its failure is
    // reported here.
    breaker.failurePolicy(result -> result.failed() && (UpstreamFailure.countsAgainstInstance(result.cause())
        || guarded.state() == CircuitBreakerState.HALF_OPEN));
    // The library calls these as it changes state, holding its lock: the copy follows every change.
    breaker.openHandler(v -> {
      guarded.changed(CircuitBreakerState.OPEN);
      LOG.warning("breaker " + name + " open after " + config.maxFailures()
          + " consecutive failures; probing again in " + config.resetTimeoutMs() + " ms");
    });
    breaker.halfOpenHandler(v -> {
      guarded.changed(CircuitBreakerState.HALF_OPEN);
      LOG.info("breaker " + name + " half-open: next request probes");
    });
    breaker.closeHandler(v -> {
      guarded.changed(CircuitBreakerState.CLOSED);
      LOG.info("breaker " + name + " closed");
    });
    return guarded;
  }

}
