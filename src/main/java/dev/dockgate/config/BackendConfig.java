package dev.dockgate.config;

/**
 * A named group of instances: the running containers that carry every label of {@code matchLabels}.
 * {@code maxConnections} bounds the pooled connections to each instance, per router instance.
 */
public record BackendConfig(
    String name,
    LabelSelector matchLabels,
    CircuitBreakerConfig circuitBreaker,
    long connectTimeoutMs,
    int maxConnections) {
  public static final long DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
  public static final int DEFAULT_MAX_CONNECTIONS = 256;
}
