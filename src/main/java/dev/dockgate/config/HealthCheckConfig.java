package dev.dockgate.config;

/**
 * Active health checking of a backend's instances: GET {@code path} every {@code intervalMs}; an
 * answer 200-399 within {@code timeoutMs} is a pass. {@code unhealthyThreshold} failures in a row
 * take an instance out of rotation, {@code healthyThreshold} passes in a row put it back.
 */
public record HealthCheckConfig(String path, long intervalMs, long timeoutMs, int healthyThreshold, int unhealthyThreshold) {
  public static final long DEFAULT_INTERVAL_MS = 5_000;
  public static final long DEFAULT_TIMEOUT_MS = 2_000;
  public static final int DEFAULT_HEALTHY_THRESHOLD = 2;
  public static final int DEFAULT_UNHEALTHY_THRESHOLD = 2;
}
