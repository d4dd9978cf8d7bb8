package dev.dockgate.limits;

/** Decides whether one more request of a key fits its budget. Implementations must be thread-safe. */
public interface RateLimiter {

  /** The answer for one request; the numbers feed the RateLimit-* and Retry-After headers. */
  record Decision(boolean allowed, int limit, int remaining, long resetSeconds, long retryAfterSeconds) {
  }

  Decision tryAcquire(String key, long nowNanos);

  /** Forgets keys idle long enough that their bucket is full again; returns how many went. */
  int expire(long nowNanos);
}
