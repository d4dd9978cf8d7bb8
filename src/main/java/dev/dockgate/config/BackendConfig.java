package dev.dockgate.config;

import java.util.List;

/**
 * A named group of instances: the running containers that carry every label of {@code matchLabels}
 * (none when the selector is empty), the fixed {@code targets}, the passing instances of a Consul
 * service ({@code consul}, null when none) and every address the names of {@code dnsTargets} resolve to
 * (asked again every {@code dnsRefreshMs}): all of them together. Each backend has its own
 * connection pool per router instance: {@code maxConnections} pooled connections to each instance,
 * at most {@code maxWaitQueue} requests waiting for one, idle connections closed after
 * {@code keepAliveTimeoutSeconds}. {@code healthCheck} is null when the instances are not actively checked;
 * {@code outliers} null when no passive outlier detection runs. {@code subsetSize}: how many of the instances each
 * router picks among ({@code subset_size}, a window of them; see {@code proxy.Subsets}); 0: all of them.
 */
public record BackendConfig(
    String name,
    LabelSelector matchLabels,
    List<Target> targets,
    LoadBalancer loadBalancer,
    CircuitBreakerConfig circuitBreaker,
    long connectTimeoutMs,
    int maxConnections,
    HealthCheckConfig healthCheck,
    UpstreamTls tls,
    int keepAliveTimeoutSeconds,
    int maxWaitQueue,
    OutlierConfig outliers,
    ConsulService consul,
    Protocol protocol,
    List<Target> dnsTargets,
    long dnsRefreshMs,
    int subsetSize) {

  public static final long DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
  public static final int DEFAULT_MAX_CONNECTIONS = 256;
  /** Below the idle timeouts of common servers (gunicorn 2 s, Node 5 s), so a pooled connection is rarely reused as the server closes it. */
  public static final int DEFAULT_KEEP_ALIVE_TIMEOUT_S = 1;
  public static final int DEFAULT_MAX_WAIT_QUEUE = 1_000;
  /** How often the names of {@code dns_targets} are asked again (the resolver answers from its cache within a record's TTL). */
  public static final long DEFAULT_DNS_REFRESH_MS = 5_000;

  public BackendConfig {
    targets = List.copyOf(targets);
    dnsTargets = List.copyOf(dnsTargets);
  }

  /** A backend whose routers pick among all its instances (no {@code subset_size}). */
  public BackendConfig(String name, LabelSelector matchLabels, List<Target> targets, LoadBalancer loadBalancer,
      CircuitBreakerConfig circuitBreaker, long connectTimeoutMs, int maxConnections, HealthCheckConfig healthCheck,
      UpstreamTls tls, int keepAliveTimeoutSeconds, int maxWaitQueue, OutlierConfig outliers, ConsulService consul,
      Protocol protocol, List<Target> dnsTargets, long dnsRefreshMs) {
    this(name, matchLabels, targets, loadBalancer, circuitBreaker, connectTimeoutMs, maxConnections, healthCheck, tls,
        keepAliveTimeoutSeconds, maxWaitQueue, outliers, consul, protocol, dnsTargets, dnsRefreshMs, 0);
  }

  /** A backend without {@code dns_targets}. */
  public BackendConfig(String name, LabelSelector matchLabels, List<Target> targets, LoadBalancer loadBalancer,
      CircuitBreakerConfig circuitBreaker, long connectTimeoutMs, int maxConnections, HealthCheckConfig healthCheck,
      UpstreamTls tls, int keepAliveTimeoutSeconds, int maxWaitQueue, OutlierConfig outliers, ConsulService consul,
      Protocol protocol) {
    this(name, matchLabels, targets, loadBalancer, circuitBreaker, connectTimeoutMs, maxConnections, healthCheck, tls,
        keepAliveTimeoutSeconds, maxWaitQueue, outliers, consul, protocol, List.of(), DEFAULT_DNS_REFRESH_MS);
  }

  /**
   * What the gateway speaks to the instances: HTTP/1.1 (the default), or HTTP/2 ({@code protocol: http2}):
   * cleartext with prior knowledge toward plain instances (h2c, as gRPC servers expect), ALPN toward HTTPS ones.
   */
  public enum Protocol {
    HTTP1("http1"), HTTP2("http2");

    private final String configName;

    Protocol(String configName) {
      this.configName = configName;
    }

    public String configName() {
      return configName;
    }
  }

  /** A backend without a Consul service or with one, spoken to in HTTP/1.1. */
  public BackendConfig(String name, LabelSelector matchLabels, List<Target> targets, LoadBalancer loadBalancer,
      CircuitBreakerConfig circuitBreaker, long connectTimeoutMs, int maxConnections, HealthCheckConfig healthCheck,
      UpstreamTls tls, int keepAliveTimeoutSeconds, int maxWaitQueue, OutlierConfig outliers, ConsulService consul) {
    this(name, matchLabels, targets, loadBalancer, circuitBreaker, connectTimeoutMs, maxConnections, healthCheck, tls,
        keepAliveTimeoutSeconds, maxWaitQueue, outliers, consul, Protocol.HTTP1);
  }

  public boolean http2() {
    return protocol == Protocol.HTTP2;
  }

  /**
   * How the gateway speaks TLS to this backend's HTTPS instances (https:// targets, containers labelled
   * {@code gateway.scheme=https}): {@code caFile} (null: the JVM's trust store), {@code serverName}
   * (null: the instance's host) for SNI and the certificate's name, {@code verify} (false trusts
   * any certificate: for tests only), and a client certificate and key for mutual TLS (both or none).
   */
  public record UpstreamTls(String caFile, String serverName, boolean verify, String certFile, String keyFile) {
    public static final UpstreamTls DEFAULT = new UpstreamTls(null, null, true, null, null);
  }

  /** A backend without a Consul service. */
  public BackendConfig(String name, LabelSelector matchLabels, List<Target> targets, LoadBalancer loadBalancer,
      CircuitBreakerConfig circuitBreaker, long connectTimeoutMs, int maxConnections, HealthCheckConfig healthCheck,
      UpstreamTls tls, int keepAliveTimeoutSeconds, int maxWaitQueue, OutlierConfig outliers) {
    this(name, matchLabels, targets, loadBalancer, circuitBreaker, connectTimeoutMs, maxConnections, healthCheck, tls,
        keepAliveTimeoutSeconds, maxWaitQueue, outliers, null);
  }

  /** A backend with the default TLS, keep-alive and wait-queue settings. */
  public BackendConfig(String name, LabelSelector matchLabels, List<Target> targets, LoadBalancer loadBalancer,
      CircuitBreakerConfig circuitBreaker, long connectTimeoutMs, int maxConnections, HealthCheckConfig healthCheck) {
    this(name, matchLabels, targets, loadBalancer, circuitBreaker, connectTimeoutMs, maxConnections, healthCheck,
        UpstreamTls.DEFAULT, DEFAULT_KEEP_ALIVE_TIMEOUT_S, DEFAULT_MAX_WAIT_QUEUE, null);
  }

  /** A Docker-only backend with random picks. */
  public BackendConfig(String name, LabelSelector matchLabels, CircuitBreakerConfig circuitBreaker,
      long connectTimeoutMs, int maxConnections) {
    this(name, matchLabels, List.of(), LoadBalancer.RANDOM, circuitBreaker, connectTimeoutMs, maxConnections, null);
  }
}
