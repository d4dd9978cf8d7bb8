package dev.dockgate.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.benmanes.caffeine.cache.Scheduler;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Token-bucket arithmetic, the bound on keys and idle expiry, on a clock the test controls. */
@Timeout(30)
class LocalTokenBucketsTest {

  static final long SECOND = 1_000_000_000L;
  static final long MS = 1_000_000L;

  /** Caffeine's clock; every request below passes the same time. */
  final AtomicLong clock = new AtomicLong(1_000 * SECOND);
  /** Maintenance on the calling thread, no timer: what the cache holds is decided by the test. */
  final LocalTokenBuckets.Maintenance inline = new LocalTokenBuckets.Maintenance(clock::get, Runnable::run,
      Scheduler.disabledScheduler());

  LocalTokenBuckets buckets(double rate, int burst, int maxKeys) {
    return new LocalTokenBuckets(new RateLimitConfig(rate, burst, "client_ip", maxKeys), inline);
  }

  /** The keys held once pending maintenance has run. */
  static long settled(LocalTokenBuckets buckets) {
    buckets.settle();
    return buckets.keys();
  }

  RateLimiter.Decision take(LocalTokenBuckets buckets, String key) {
    return buckets.tryAcquire(key, clock.get());
  }

  @Test
  void aBurstThenTheSustainedRate() {
    LocalTokenBuckets buckets = buckets(10, 5, 100);
    for (int i = 0; i < 5; i++) {
      RateLimiter.Decision d = take(buckets, "a");
      assertTrue(d.allowed(), "burst " + i);
      assertEquals(4 - i, d.remaining());
      assertEquals(1, d.resetSeconds());
    }
    RateLimiter.Decision refused = take(buckets, "a");
    assertFalse(refused.allowed());
    assertEquals(1, refused.retryAfterSeconds());
    assertEquals(5, refused.limit());
    assertEquals(0, refused.remaining());
    // 10 per second: one token every 100 ms.
    clock.addAndGet(99 * MS);
    assertFalse(take(buckets, "a").allowed());
    clock.addAndGet(MS);
    assertTrue(take(buckets, "a").allowed());
    int accepted = 0;
    for (int i = 0; i < 39; i++) {
      clock.addAndGet(50 * MS);
      if (take(buckets, "a").allowed()) {
        accepted++;
      }
    }
    assertEquals(19, accepted, "every second 10 of the 20 attempts");
  }

  @Test
  void slowRatesGiveRetryAfterAndResetInWholeSeconds() {
    LocalTokenBuckets buckets = buckets(0.5, 2, 100);
    assertEquals(2, take(buckets, "a").resetSeconds(), "one token short: 2 s to refill");
    RateLimiter.Decision last = take(buckets, "a");
    assertEquals(0, last.remaining());
    assertEquals(4, last.resetSeconds());
    RateLimiter.Decision refused = take(buckets, "a");
    assertEquals(2, refused.retryAfterSeconds());
    clock.addAndGet(1_500 * MS);
    assertEquals(1, take(buckets, "a").retryAfterSeconds(), "0.5 s to go: rounded up");
  }

  @Test
  void keysHaveTheirOwnBudgets() {
    LocalTokenBuckets buckets = buckets(10, 5, 100);
    for (int i = 0; i < 5; i++) {
      take(buckets, "a");
    }
    assertFalse(take(buckets, "a").allowed());
    assertTrue(take(buckets, "b").allowed());
    assertEquals(2, settled(buckets));
  }

  @Test
  void anIdleKeyGoesOnceItsBucketIsFullAgain() {
    LocalTokenBuckets buckets = buckets(10, 5, 100);
    for (int i = 0; i < 5; i++) {
      take(buckets, "a");
    }
    take(buckets, "b");
    clock.addAndGet(499 * MS);
    assertEquals(2, settled(buckets), "burst / rate = 500 ms: not yet");
    clock.addAndGet(2 * MS);
    assertEquals(0, settled(buckets), "500 ms after their last request both are gone");
    assertEquals(4, take(buckets, "a").remaining(), "a forgotten key starts full, as its bucket would be");
  }

  @Test
  void theNumberOfKeysStaysWithinMaxKeys() {
    LocalTokenBuckets buckets = buckets(10, 5, 1_000);
    for (int i = 0; i < 10_000; i++) {
      take(buckets, "10.0." + (i >> 8) + "." + (i & 255));
    }
    long held = settled(buckets);
    assertTrue(held <= 1_000, held + " keys held");
    assertTrue(held >= 900, held + " keys held");
  }

  @Test
  void idleKeysGoByThemselvesOnTheSchedulersThreadNotTheCallers() throws Exception {
    // As Maintenance.SYSTEM: maintenance runs where it is triggered, expiry is timed by the JVM's scheduler.
    java.util.Set<Thread> maintainers = java.util.concurrent.ConcurrentHashMap.newKeySet();
    LocalTokenBuckets.Maintenance system = new LocalTokenBuckets.Maintenance(
        com.github.benmanes.caffeine.cache.Ticker.systemTicker(),
        task -> {
          maintainers.add(Thread.currentThread());
          task.run();
        },
        Scheduler.systemScheduler());
    LocalTokenBuckets buckets = new LocalTokenBuckets(new RateLimitConfig(100, 2, "client_ip", 1_000), system);
    for (int i = 0; i < 500; i++) {
      buckets.tryAcquire("client-" + i, System.nanoTime());
    }
    maintainers.clear(); // from here on, only what runs without a caller
    // burst / rate = 20 ms; no request and no clean-up call from here on.
    long deadline = System.nanoTime() + 10 * SECOND;
    while (buckets.keys() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertEquals(0, buckets.keys(), "idle keys removed without any further request");
    assertFalse(maintainers.isEmpty());
    assertFalse(maintainers.contains(Thread.currentThread()));
  }

  @Test
  void oneBudgetForAKeyAcrossThreads() throws Exception {
    LocalTokenBuckets buckets = buckets(1, 1_000, 100);
    long now = clock.get();
    AtomicInteger allowed = new AtomicInteger();
    CountDownLatch start = new CountDownLatch(1);
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      Thread thread = new Thread(() -> {
        try {
          start.await();
        } catch (InterruptedException e) {
          return;
        }
        for (int i = 0; i < 1_000; i++) {
          if (buckets.tryAcquire("shared", now).allowed()) {
            allowed.incrementAndGet();
          }
        }
      });
      thread.start();
      threads.add(thread);
    }
    start.countDown();
    for (Thread thread : threads) {
      thread.join();
    }
    assertEquals(1_000, allowed.get(), "4 threads x 1,000 attempts at one instant: exactly the burst");
  }
}
