package dev.dockgate.config;

/**
 * The listener: address, port, router instances (0 means one per core), the path of the built-in
 * stats endpoint, and the limits on what clients may send.
 */
public record ServerConfig(String host, int port, int instances, String statsPath, Limits limits, AdminPaths admin) {
  public static final String DEFAULT_HOST = "0.0.0.0";
  public static final int DEFAULT_PORT = 8080;
  public static final String DEFAULT_STATS_PATH = "/stats";

  /**
   * Request body (413), all header lines together (431) and request line (414) sizes in bytes; how
   * long a client connection may stay idle, how long a new connection may take to send its first
   * complete request head (slow-header clients), and how long a request body may take once its head
   * is in (408), before the connection is closed (0: no limit); and how many client connections may
   * be open at once, across all router instances (0: no limit).
   */
  public record Limits(long maxBodyBytes, int maxHeaderBytes, int maxRequestLineBytes, long idleTimeoutMs,
      long headerTimeoutMs, long bodyTimeoutMs, int maxConnections) {
    public static final Limits DEFAULTS = new Limits(10L * 1024 * 1024, 8192, 4096, 60_000, 10_000, 30_000, 10_000);
  }

  /**
   * Where the gateway answers for itself besides /stats: Prometheus metrics, readiness (and
   * {@code <health>/live} for liveness), the live route table, and the live dashboard (with its
   * event stream at {@code <dashboard>/events}). An empty path turns one off.
   */
  public record AdminPaths(String metrics, String health, String routes, String dashboard) {
    public static final AdminPaths DEFAULTS = new AdminPaths("/metrics", "/health", "/admin/routes", "/dashboard");
  }

  public ServerConfig(String host, int port, int instances, String statsPath) {
    this(host, port, instances, statsPath, Limits.DEFAULTS, AdminPaths.DEFAULTS);
  }

  /** Router instances to deploy: the configured number, else one per available core. */
  public int effectiveInstances() {
    return instances > 0 ? instances : Runtime.getRuntime().availableProcessors();
  }
}
