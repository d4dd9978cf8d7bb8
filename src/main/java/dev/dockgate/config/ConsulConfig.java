package dev.dockgate.config;

/**
 * Where the Consul agent's HTTP API is ({@code address}, e.g. {@code http://127.0.0.1:8500}), the ACL
 * token sent as {@code X-Consul-Token} (null: the agent's default token), the datacenter to query
 * (null: the agent's own), the longest a blocking query may wait ({@code waitMs}, Consul's default
 * 5 minutes, at most its 10), and how often a query may be sent again once its burst is spent
 * ({@code minQueryIntervalMs}: a service that changes faster is read at that pace, as Consul's docs ask of
 * clients), and for an {@code https://} agent the CA its certificate must chain to and the client certificate its
 * {@code verify_incoming} asks for ({@code tls}, null: the JVM's trusted CAs, no client certificate). Used only when a
 * backend names a {@code consul_service}.
 */
public record ConsulConfig(String address, String token, String datacenter, long waitMs, long minQueryIntervalMs,
    DockerConfig.Tls tls) {

  public static final String DEFAULT_ADDRESS = "http://127.0.0.1:8500";
  public static final long DEFAULT_WAIT_MS = 300_000;
  /** Consul caps a blocking query's wait at 10 minutes. */
  public static final long MAX_WAIT_MS = 600_000;
  /** One query a second per service under continual change; Consul's docs suggest up to 15 s for busy clusters. */
  public static final long DEFAULT_MIN_QUERY_INTERVAL_MS = 1_000;
  public static final ConsulConfig DEFAULT = new ConsulConfig(DEFAULT_ADDRESS, null, null, DEFAULT_WAIT_MS,
      DEFAULT_MIN_QUERY_INTERVAL_MS);

  public ConsulConfig(String address, String token, String datacenter, long waitMs) {
    this(address, token, datacenter, waitMs, DEFAULT_MIN_QUERY_INTERVAL_MS);
  }

  public ConsulConfig(String address, String token, String datacenter, long waitMs, long minQueryIntervalMs) {
    this(address, token, datacenter, waitMs, minQueryIntervalMs, null);
  }

  @Override
  public String toString() {
    // The token stays out of logs and reload messages.
    return "ConsulConfig[address=" + address + ", token=" + (token == null ? "none" : "(set)") + ", datacenter="
        + datacenter + ", waitMs=" + waitMs + ", minQueryIntervalMs=" + minQueryIntervalMs + ", tls=" + tls + "]";
  }
}
