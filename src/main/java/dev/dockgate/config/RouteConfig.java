package dev.dockgate.config;

import java.util.List;

/**
 * One route: requests whose path starts with {@code pathPrefix} (and, when set, whose Host is
 * {@code host} and whose method is one of {@code methods}) go to {@code backend}. With
 * {@code stripPrefix} the prefix is removed from the forwarded path. Failed idempotent requests
 * without a body are retried as {@code retries} says; {@code rateLimit} (null: none) bounds each
 * client key's requests; {@code apiKeys} or {@code jwt} (both null: open) authenticate clients;
 * {@code cors} (null: left to the backend) has the gateway answer CORS preflights and mark responses.
 */
public record RouteConfig(
    String pathPrefix,
    String backend,
    long timeoutMs,
    boolean stripPrefix,
    List<String> methods,
    String host,
    RetryConfig retries,
    RateLimitConfig rateLimit,
    ApiKeyAuthConfig apiKeys,
    JwtAuthConfig jwt,
    CorsConfig cors) {

  public static final long DEFAULT_TIMEOUT_MS = 30_000;

  public RouteConfig {
    methods = List.copyOf(methods);
  }

  /** A route with the defaults: any host, any method, prefix kept. */
  public RouteConfig(String pathPrefix, String backend, long timeoutMs) {
    this(pathPrefix, backend, timeoutMs, false, List.of(), null, RetryConfig.NONE, null, null, null);
  }

  /** A route without CORS. */
  public RouteConfig(String pathPrefix, String backend, long timeoutMs, boolean stripPrefix, List<String> methods,
      String host, RetryConfig retries, RateLimitConfig rateLimit, ApiKeyAuthConfig apiKeys, JwtAuthConfig jwt) {
    this(pathPrefix, backend, timeoutMs, stripPrefix, methods, host, retries, rateLimit, apiKeys, jwt, null);
  }

  /** A route without a rate limit. */
  public RouteConfig(String pathPrefix, String backend, long timeoutMs, boolean stripPrefix, List<String> methods,
      String host, RetryConfig retries) {
    this(pathPrefix, backend, timeoutMs, stripPrefix, methods, host, retries, null, null, null);
  }
}
