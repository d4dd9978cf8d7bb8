package dev.dockgate.limits;

/**
 * A token bucket per client key: {@code requestsPerSecond} sustained, {@code burst} at once. The key
 * is the client address ({@code client_ip}), the authenticated consumer ({@code api_key}: the key's
 * name; {@code jwt_sub}: the token's subject) or a request header ({@code header:NAME}).
 */
public record RateLimitConfig(double requestsPerSecond, int burst, String key) {

  /** True when the key is who the route's authentication found, not something the client sends. */
  public boolean byConsumer() {
    return key.equals("api_key") || key.equals("jwt_sub");
  }

  /** The header name when the key is {@code header:NAME}, else null. */
  public String header() {
    return key.startsWith("header:") ? key.substring("header:".length()) : null;
  }
}
