package dev.dockgate.config;

/**
 * The listener: address, port, router instances (0 means one per core), the path of the built-in
 * stats endpoint, and the limits on what clients may send. {@code tls} (null: plain HTTP) terminates
 * TLS, offering HTTP/2 through ALPN when {@code http2}; {@code h2c} accepts cleartext HTTP/2 on a
 * plain listener; {@code adminListener} (null: off) serves the admin endpoints on a port of their own
 * (127.0.0.1:9901 unless configured), the main port serving only /stats and liveness;
 * {@code trustedProxies} are the networks whose X-Forwarded-For is believed (see edge.TrustedProxies);
 * on SIGTERM readiness answers 503 for {@code drainDelayMs} before the listeners close (0: at once).
 */
public record ServerConfig(String host, int port, int instances, String statsPath, Limits limits, AdminPaths admin,
    Tls tls, boolean http2, boolean h2c, AdminListener adminListener, java.util.List<Cidr> trustedProxies,
    long drainDelayMs) {
  public static final String DEFAULT_HOST = "0.0.0.0";
  public static final int DEFAULT_PORT = 8080;
  public static final String DEFAULT_STATS_PATH = "/stats";
  /** Long enough for a load balancer checking every second or two to see two failed checks. */
  public static final long DEFAULT_DRAIN_DELAY_MS = 5_000;

  /** With the default drain delay. */
  public ServerConfig(String host, int port, int instances, String statsPath, Limits limits, AdminPaths admin,
      Tls tls, boolean http2, boolean h2c, AdminListener adminListener, java.util.List<Cidr> trustedProxies) {
    this(host, port, instances, statsPath, limits, admin, tls, http2, h2c, adminListener, trustedProxies,
        DEFAULT_DRAIN_DELAY_MS);
  }

  /**
   * Request body (413), all header lines together (431) and request line (414) sizes in bytes, and
   * how many header lines a request may have (431; 0: no limit beyond the bytes); how
   * long a client connection may stay idle, how long a new connection may take to send its first
   * complete request head (slow-header clients), and how long a request body may take once its head
   * is in (408), before the connection is closed (0: no limit); and how many client connections may
   * be open at once, across all router instances (0: no limit).
   */
  public record Limits(long maxBodyBytes, int maxHeaderBytes, int maxRequestLineBytes, long idleTimeoutMs,
      long headerTimeoutMs, long bodyTimeoutMs, int maxConnections, int maxHeaderCount) {
    public static final Limits DEFAULTS = new Limits(10L * 1024 * 1024, 8192, 4096, 60_000, 10_000, 30_000, 10_000, 100);
  }

  /**
   * Where the gateway answers for itself besides /stats: Prometheus metrics, readiness (and
   * {@code <health>/live} for liveness), the live route table, and the live dashboard (with its
   * event stream at {@code <dashboard>/events}). An empty path turns one off.
   */
  public record AdminPaths(String metrics, String health, String routes, String dashboard) {
    public static final AdminPaths DEFAULTS = new AdminPaths("/metrics", "/health", "/admin/routes", "/dashboard");
  }

  /** TLS termination: a PEM certificate chain (leaf first) and its PEM private key, as file paths. */
  public record Tls(String certFile, String keyFile) {
  }

  /**
   * The admin endpoints' own listener. With {@code apiKeys} (null: open) every request there needs
   * one of the keys, in {@code apiKeys.header()} or as the password of HTTP Basic credentials. With
   * {@code tls} it serves HTTPS with the main listener's certificate.
   */
  public record AdminListener(String host, int port, ApiKeyAuthConfig apiKeys, boolean tls, int maxConnections) {
    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 9901;
    /**
     * Open connections on the admin listener, across router instances: room for dashboards, scrapers, a load
     * balancer's checks and operators, while a client holding connections cannot take the process's descriptors.
     */
    public static final int DEFAULT_MAX_CONNECTIONS = 256;

    /** With the default connection cap. */
    public AdminListener(String host, int port, ApiKeyAuthConfig apiKeys, boolean tls) {
      this(host, port, apiKeys, tls, DEFAULT_MAX_CONNECTIONS);
    }

    /**
     * The main listener's limits (sizes, header, body and idle timeouts) with this listener's connection cap:
     * a slow or idle client is let go here as there.
     */
    public Limits limits(Limits main) {
      return new Limits(main.maxBodyBytes(), main.maxHeaderBytes(), main.maxRequestLineBytes(), main.idleTimeoutMs(),
          main.headerTimeoutMs(), main.bodyTimeoutMs(), maxConnections, main.maxHeaderCount());
    }
  }

  public ServerConfig(String host, int port, int instances, String statsPath) {
    this(host, port, instances, statsPath, Limits.DEFAULTS, AdminPaths.DEFAULTS);
  }

  /** Plain HTTP/1.1, the admin listener where it is by default. */
  public ServerConfig(String host, int port, int instances, String statsPath, Limits limits, AdminPaths admin) {
    this(host, port, instances, statsPath, limits, admin, null, true, false,
        new AdminListener(AdminListener.DEFAULT_HOST, AdminListener.DEFAULT_PORT, null, false), java.util.List.of());
  }

  /** Router instances to deploy: the configured number, else one per available core. */
  public int effectiveInstances() {
    return instances > 0 ? instances : Runtime.getRuntime().availableProcessors();
  }
}
