package dev.dockgate.config;

/**
 * Retries of a route: up to {@code attempts} more tries, each on another instance, after an
 * exponential backoff with full jitter, and only while the retry budget allows (at most
 * {@code budgetPercent}% of the route's requests per second, plus {@code minPerSecond}).
 */
public record RetryConfig(int attempts, long backoffMs, long maxBackoffMs, int budgetPercent, int minPerSecond) {

  public static final RetryConfig NONE = new RetryConfig(0, 25, 250, 20, 10);

  public boolean enabled() {
    return attempts > 0;
  }
}
