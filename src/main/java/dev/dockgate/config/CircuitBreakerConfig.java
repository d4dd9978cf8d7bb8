package dev.dockgate.config;

/** Per-instance circuit: opens after {@code maxFailures} consecutive failures, probes after the reset timeout. */
public record CircuitBreakerConfig(int maxFailures, long resetTimeoutMs) {
  public static final CircuitBreakerConfig DEFAULTS = new CircuitBreakerConfig(5, 10_000);
}
