package dev.dockgate.limits;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Token buckets in this process, shared by all router instances (one budget per key, whichever
 * event loop serves the request). Each bucket is a small synchronised object; buckets that have
 * refilled completely are dropped by {@link #expire}, so memory follows the active keys only.
 */
public final class LocalTokenBuckets implements RateLimiter {

  private final double ratePerNano;
  private final int burst;
  private final double requestsPerSecond;
  private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();

  public LocalTokenBuckets(RateLimitConfig config) {
    this.requestsPerSecond = config.requestsPerSecond();
    this.ratePerNano = config.requestsPerSecond() / 1_000_000_000.0;
    this.burst = config.burst();
  }

  private final class Bucket {
    private double tokens = burst;
    private long updated;

    Bucket(long now) {
      updated = now;
    }

    synchronized Decision take(long now) {
      refill(now);
      boolean allowed = tokens >= 1.0;
      if (allowed) {
        tokens -= 1.0;
      }
      long reset = (long) Math.ceil((burst - tokens) / requestsPerSecond);
      long retryAfter = allowed ? 0 : (long) Math.ceil((1.0 - tokens) / requestsPerSecond);
      return new Decision(allowed, burst, (int) Math.floor(tokens), reset, Math.max(retryAfter, allowed ? 0 : 1));
    }

    synchronized boolean full(long now) {
      refill(now);
      return tokens >= burst;
    }

    private void refill(long now) {
      if (now > updated) {
        tokens = Math.min(burst, tokens + (now - updated) * ratePerNano);
        updated = now;
      }
    }
  }

  @Override
  public Decision tryAcquire(String key, long nowNanos) {
    return buckets.computeIfAbsent(key, k -> new Bucket(nowNanos)).take(nowNanos);
  }

  @Override
  public int expire(long nowNanos) {
    int before = buckets.size();
    buckets.values().removeIf(bucket -> bucket.full(nowNanos));
    return before - buckets.size();
  }

  int size() {
    return buckets.size();
  }
}
