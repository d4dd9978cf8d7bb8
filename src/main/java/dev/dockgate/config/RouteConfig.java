package dev.dockgate.config;

import java.util.List;
import java.util.Map;

/**
 * One route: requests whose path starts with {@code pathPrefix} (and, when set, whose Host is
 * {@code host} and whose method is one of {@code methods}) go to {@code backend}. With {@code rewriteLocation} (the
 * default), the backend's redirects naming the instance's own address get the client's origin. With
 * {@code stripPrefix} the prefix is removed from the forwarded path, said to the backend in X-Forwarded-Prefix, and,
 * with {@code rewriteLocation}, put back into the backend's redirects; with {@code rewriteCookiePath}
 * (rewriteLocation's value unless set; never without stripPrefix, nor for a prefix a cookie's Path cannot hold), into
 * the Path of its cookies. Failed idempotent requests without a body are retried as {@code retries} says. With
 * {@code passHost} the client's Host goes to the backend; without, the backend's own address (or TLS server name)
 * does. {@code blocks} holds the route's feature blocks by config key ({@code cors}, {@code auth},
 * {@code rate_limit}, ...), each parsed by its feature's {@link RouteBlockParser}; a route without a block has no
 * such feature.
 */
public record RouteConfig(
    String pathPrefix,
    String backend,
    long timeoutMs,
    boolean stripPrefix,
    List<String> methods,
    String host,
    RetryConfig retries,
    boolean passHost,
    boolean rewriteLocation,
    boolean rewriteCookiePath,
    Map<String, Object> blocks) {

  public static final long DEFAULT_TIMEOUT_MS = 30_000;

  public RouteConfig {
    rewriteCookiePath = rewriteCookiePath && stripPrefix && cookiePathCanHold(pathPrefix); // nothing taken away
    methods = List.copyOf(methods);
    blocks = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(blocks));
  }

  /** A route with the defaults: any host, any method, prefix kept, no feature blocks. */
  public RouteConfig(String pathPrefix, String backend, long timeoutMs) {
    this(pathPrefix, backend, timeoutMs, false, List.of(), null, RetryConfig.NONE);
  }

  /** A route without feature blocks. */
  public RouteConfig(String pathPrefix, String backend, long timeoutMs, boolean stripPrefix, List<String> methods,
      String host, RetryConfig retries) {
    this(pathPrefix, backend, timeoutMs, stripPrefix, methods, host, retries, true, true, true, Map.of());
  }

  /** A route with feature blocks, passing the client's Host to the backend. */
  public RouteConfig(String pathPrefix, String backend, long timeoutMs, boolean stripPrefix, List<String> methods,
      String host, RetryConfig retries, Map<String, Object> blocks) {
    this(pathPrefix, backend, timeoutMs, stripPrefix, methods, host, retries, true, true, true, blocks);
  }

  /**
   * Whether {@code path} can be a cookie's Path (RFC 6265's path-value: no ';', no control character): a browser ends
   * the attribute at a ';' ({@code Path=/app;v2} is read as /app, which /app;v2/x does not path-match) and drops a
   * cookie with a control character.
   */
  public static boolean cookiePathCanHold(String path) {
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c == ';' || c < ' ' || c == 0x7f) {
        return false;
      }
    }
    return true;
  }

  /** The block under {@code key} when it is a {@code type}, else null. */
  public <T> T block(String key, Class<T> type) {
    Object block = blocks.get(key);
    return type.isInstance(block) ? type.cast(block) : null;
  }
}
