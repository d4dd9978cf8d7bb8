package dev.dockgate.limits;

/**
 * A token bucket per client key: {@code requestsPerSecond} sustained, {@code burst} at once. The key
 * is the client address ({@code client_ip}), the authenticated consumer ({@code api_key}: the key's
 * name; {@code jwt_sub}: the token's subject) or a request header ({@code header:NAME}). At most
 * {@code maxKeys} keys are held per route; past that the least used are forgotten. {@code scope} says
 * whose budget it is: this process's ({@link Scope#LOCAL}) or the whole cluster's ({@link Scope#CLUSTER}).
 * {@code ipv6Prefix}: with {@code client_ip}, IPv6 clients are keyed by their network of that prefix length (128: by
 * the whole address).
 */
public record RateLimitConfig(double requestsPerSecond, int burst, String key, int maxKeys, Scope scope,
    int ipv6Prefix) {

  /** Whose budget a limit is: one process's, or the cluster's, shared out among its nodes. */
  public enum Scope { LOCAL, CLUSTER }

  /**
   * Keys held per route unless {@code max_keys} says otherwise: about 20 MB with address keys
   * (about 200 bytes a key, measured), far more keys than are active within a few seconds on most
   * gateways.
   */
  public static final int DEFAULT_MAX_KEYS = 100_000;

  /** A local limit holding up to {@link #DEFAULT_MAX_KEYS} keys. */
  public RateLimitConfig(double requestsPerSecond, int burst, String key) {
    this(requestsPerSecond, burst, key, DEFAULT_MAX_KEYS);
  }

  /** A local limit. */
  public RateLimitConfig(double requestsPerSecond, int burst, String key, int maxKeys) {
    this(requestsPerSecond, burst, key, maxKeys, Scope.LOCAL);
  }

  /** A limit keying IPv6 clients by their whole address. */
  public RateLimitConfig(double requestsPerSecond, int burst, String key, int maxKeys, Scope scope) {
    this(requestsPerSecond, burst, key, maxKeys, scope, 128);
  }

  /** True when the key is who the route's authentication found, not something the client sends. */
  public boolean byConsumer() {
    return key.equals("api_key") || key.equals("jwt_sub");
  }

  /** The header name when the key is {@code header:NAME}, else null. */
  public String header() {
    return key.startsWith("header:") ? key.substring("header:".length()) : null;
  }
}
