package dev.dockgate.config;

/**
 * Per-instance circuit: opens after {@code maxFailures} consecutive failures, probes after the reset
 * timeout. For {@code startupGraceMs} after an instance appears, a refused connection does not count
 * (a container is announced when it starts, often before its server listens): the request fails
 * or goes elsewhere, and the instance is passed over briefly, but its circuit stays closed.
 */
public record CircuitBreakerConfig(int maxFailures, long resetTimeoutMs, long startupGraceMs) {
  public static final long DEFAULT_STARTUP_GRACE_MS = 5_000;
  public static final CircuitBreakerConfig DEFAULTS = new CircuitBreakerConfig(5, 10_000);

  public CircuitBreakerConfig(int maxFailures, long resetTimeoutMs) {
    this(maxFailures, resetTimeoutMs, DEFAULT_STARTUP_GRACE_MS);
  }
}
