package dev.dockgate.config;

/**
 * Retries of a route: up to {@code attempts} more tries, each on another instance, after an
 * exponential backoff with full jitter, and only while the retry budget allows (at most
 * {@code budgetPercent}% of the route's requests per second, plus {@code minPerSecond}). Besides
 * connection failures, a replayable request is tried again on an answer whose status is in
 * {@code retryOn}. {@code deadlineMs} (0: none) bounds the whole request across its tries, counted
 * from arrival: no try starts after it, and a try running into it is cut with 504.
 */
public record RetryConfig(int attempts, long backoffMs, long maxBackoffMs, int budgetPercent, int minPerSecond,
    java.util.Set<Integer> retryOn, long deadlineMs) {

  public static final RetryConfig NONE = new RetryConfig(0, 25, 250, 20, 10);

  public RetryConfig {
    retryOn = java.util.Set.copyOf(retryOn);
  }

  public RetryConfig(int attempts, long backoffMs, long maxBackoffMs, int budgetPercent, int minPerSecond) {
    this(attempts, backoffMs, maxBackoffMs, budgetPercent, minPerSecond, java.util.Set.of(), 0);
  }

  public boolean enabled() {
    return attempts > 0;
  }
}
