package dev.dockgate.config;

/**
 * Active health checking of a backend's instances every {@code intervalMs}: GET {@code path}, an answer 200-399
 * within {@code timeoutMs} passing; or, with a {@code grpcService} (type grpc; "" for the server as a whole), gRPC's
 * health protocol ({@code grpc.health.v1.Health/Check}), an answer SERVING with status OK passing.
 * {@code unhealthyThreshold} failures in a row take an instance out of rotation, {@code healthyThreshold} passes
 * in a row put it back.
 */
public record HealthCheckConfig(String path, long intervalMs, long timeoutMs, int healthyThreshold, int unhealthyThreshold,
    String grpcService) {

  /** An HTTP check of {@code path}. */
  public HealthCheckConfig(String path, long intervalMs, long timeoutMs, int healthyThreshold, int unhealthyThreshold) {
    this(path, intervalMs, timeoutMs, healthyThreshold, unhealthyThreshold, null);
  }

  public boolean grpc() {
    return grpcService != null;
  }

  /** What is checked, for log lines: the path, or the gRPC service. */
  public String target() {
    return grpcService == null ? path : "grpc.health.v1 service \"" + grpcService + "\"";
  }

  public static final long DEFAULT_INTERVAL_MS = 5_000;
  public static final long DEFAULT_TIMEOUT_MS = 2_000;
  public static final int DEFAULT_HEALTHY_THRESHOLD = 2;
  public static final int DEFAULT_UNHEALTHY_THRESHOLD = 2;
}
