package dev.dockgate.limits;

/**
 * Decides whether one more request of a key fits its budget. Implementations must be thread-safe,
 * must not block, and forget idle keys by themselves (no caller sweeps them).
 */
public interface RateLimiter {

  /** The answer for one request; the numbers feed the RateLimit-* and Retry-After headers. */
  record Decision(boolean allowed, int limit, int remaining, long resetSeconds, long retryAfterSeconds) {
  }

  Decision tryAcquire(String key, long nowNanos);
}
