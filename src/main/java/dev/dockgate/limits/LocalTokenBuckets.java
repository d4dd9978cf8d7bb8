package dev.dockgate.limits;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * The token buckets of one route in this process, shared by all router instances (one budget per
 * key, whichever event loop serves the request). A bucket is one number, the time at which it is
 * full again (the GCRA form of a token bucket), moved by compare-and-set: no lock per request. The
 * keys sit in a Caffeine cache of at most {@code max_keys} entries whose idle keys expire once their
 * bucket is full again; eviction and expiry run in Caffeine's amortized maintenance (a bounded batch
 * at a time, see {@link Maintenance#SYSTEM}), never as a sweep of all keys on a router's event loop.
 * Called on the routers' event loops.
 */
public final class LocalTokenBuckets implements RateLimiter {

  /** Where Caffeine's clock, maintenance and expiry timer come from; tests give their own. */
  public record Maintenance(Ticker ticker, Executor executor, Scheduler scheduler) {

    /**
     * The JVM's monotonic clock, maintenance on the thread that touched the cache, and the JVM's shared timer
     * thread. Caffeine's maintenance is amortized (a bounded batch of buffered reads and writes each time a
     * buffer fills), so running it where it fills costs a request well under a microsecond, where handing
     * it to a pool woke another thread a thousand times a second under load and took a core's time from
     * the event loops. Timely expiry runs on the scheduler's thread.
     */
    public static final Maintenance SYSTEM =
        new Maintenance(Ticker.systemTicker(), Runnable::run, Scheduler.systemScheduler());

    /** A cache of at most {@code maxKeys} keys, each expiring {@code idleNanos} after its last use, run by this. */
    <V> Cache<String, V> keys(int maxKeys, long idleNanos) {
      return Caffeine.newBuilder()
          .maximumSize(maxKeys)
          .expireAfterAccess(idleNanos, TimeUnit.NANOSECONDS)
          .ticker(ticker)
          .executor(executor)
          .scheduler(scheduler)
          .build();
    }
  }

  private static final long SECOND = 1_000_000_000L;
  /** Caps the time arithmetic (about 36 years) so absurdly slow rates cannot overflow a long. */
  private static final double MAX_NANOS = 0x1p60;

  private final int burst;
  /** Nanoseconds per token. */
  private final long interval;
  /** How far ahead of now the bucket may be full again and still hold a token: (burst - 1) tokens. */
  private final long admitAhead;
  /** How far ahead of now the bucket is full again at most (burst tokens): the idle time after which a key expires. */
  private final long window;
  private final Cache<String, Bucket> buckets;

  public LocalTokenBuckets(RateLimitConfig config) {
    this(config, Maintenance.SYSTEM);
  }

  public LocalTokenBuckets(RateLimitConfig config, Maintenance maintenance) {
    this.burst = config.burst();
    double perToken = Math.min(SECOND / config.requestsPerSecond(), MAX_NANOS);
    this.interval = Math.max(1, Math.round(perToken));
    this.admitAhead = (long) Math.min((double) (burst - 1) * interval, MAX_NANOS);
    this.window = (long) Math.min((double) burst * interval, MAX_NANOS);
    this.buckets = maintenance.keys(config.maxKeys(), window);
  }

  /** A key's bucket: the time at which it holds {@code burst} tokens again; at or before now it is full. */
  private static final class Bucket {
    private static final VarHandle FULL_AT;

    static {
      try {
        FULL_AT = MethodHandles.lookup().findVarHandle(Bucket.class, "fullAt", long.class);
      } catch (ReflectiveOperationException e) {
        throw new ExceptionInInitializerError(e);
      }
    }

    private volatile long fullAt;

    Bucket(long now) {
      fullAt = now;
    }
  }

  @Override
  public Decision tryAcquire(String key, long nowNanos) {
    Bucket bucket = buckets.getIfPresent(key);
    if (bucket == null) {
      bucket = buckets.get(key, k -> new Bucket(nowNanos));
    }
    return take(bucket, nowNanos);
  }

  private Decision take(Bucket bucket, long now) {
    while (true) {
      long fullAt = bucket.fullAt;
      long ahead = Math.max(0, fullAt - now);
      if (ahead > admitAhead) {
        long retryAfter = Math.max(1, ceilSeconds(ahead - admitAhead));
        return new Decision(false, burst, 0, ceilSeconds(ahead), retryAfter);
      }
      long next = now + ahead + interval;
      if (Bucket.FULL_AT.compareAndSet(bucket, fullAt, next)) {
        long after = ahead + interval;
        return new Decision(true, burst, (int) (Math.max(0, window - after) / interval), ceilSeconds(after), 0);
      }
    }
  }

  private static long ceilSeconds(long nanos) {
    return (nanos + SECOND - 1) / SECOND;
  }

  /** How many keys are held, expired ones not yet removed included; for tests. */
  long keys() {
    return buckets.estimatedSize();
  }

  /** Runs pending maintenance (evictions, expiries) on the calling thread; for tests. */
  void settle() {
    buckets.cleanUp();
  }
}
