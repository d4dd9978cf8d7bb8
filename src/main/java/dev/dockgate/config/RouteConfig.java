package dev.dockgate.config;

/** One route: requests whose path starts with {@code pathPrefix} go to {@code backend}. */
public record RouteConfig(String pathPrefix, String backend, long timeoutMs) {
  public static final long DEFAULT_TIMEOUT_MS = 30_000;
}
