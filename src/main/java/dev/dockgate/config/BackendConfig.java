package dev.dockgate.config;

import java.util.List;

/**
 * A named group of instances: the running containers that carry every label of {@code matchLabels}
 * (none when the selector is empty) plus the fixed {@code targets}. {@code maxConnections} bounds the
 * pooled connections to each instance, per router instance. {@code healthCheck} is null when the
 * instances are not actively checked.
 */
public record BackendConfig(
    String name,
    LabelSelector matchLabels,
    List<Target> targets,
    LoadBalancer loadBalancer,
    CircuitBreakerConfig circuitBreaker,
    long connectTimeoutMs,
    int maxConnections,
    HealthCheckConfig healthCheck) {

  public static final long DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
  public static final int DEFAULT_MAX_CONNECTIONS = 256;

  public BackendConfig {
    targets = List.copyOf(targets);
  }

  /** A Docker-only backend with random picks. */
  public BackendConfig(String name, LabelSelector matchLabels, CircuitBreakerConfig circuitBreaker,
      long connectTimeoutMs, int maxConnections) {
    this(name, matchLabels, List.of(), LoadBalancer.RANDOM, circuitBreaker, connectTimeoutMs, maxConnections, null);
  }
}
