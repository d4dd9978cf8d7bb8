package dev.dockgate.config;

/**
 * A token bucket per client key: {@code requestsPerSecond} sustained, {@code burst} at once. The key
 * is the client address ({@code client_ip}) or a request header ({@code header:NAME}).
 */
public record RateLimitConfig(double requestsPerSecond, int burst, String key) {

  /** The header name when the key is {@code header:NAME}, else null. */
  public String header() {
    return key.startsWith("header:") ? key.substring("header:".length()) : null;
  }
}
