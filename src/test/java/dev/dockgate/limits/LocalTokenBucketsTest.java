package dev.dockgate.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;


import org.junit.jupiter.api.Test;

/** Token-bucket arithmetic on a clock the test controls. */
class LocalTokenBucketsTest {

  static final long SECOND = 1_000_000_000L;
  final LocalTokenBuckets buckets = new LocalTokenBuckets(new RateLimitConfig(10, 5, "client_ip"));

  @Test
  void aBurstThenTheSustainedRate() {
    long t = 1_000 * SECOND;
    for (int i = 0; i < 5; i++) {
      RateLimiter.Decision d = buckets.tryAcquire("a", t);
      assertTrue(d.allowed(), "burst " + i);
      assertEquals(4 - i, d.remaining());
    }
    RateLimiter.Decision refused = buckets.tryAcquire("a", t);
    assertFalse(refused.allowed());
    assertEquals(1, refused.retryAfterSeconds());
    assertEquals(5, refused.limit());
    // 10 per second: one token every 100 ms.
    assertFalse(buckets.tryAcquire("a", t + 99_000_000L).allowed());
    assertTrue(buckets.tryAcquire("a", t + 100_000_000L).allowed());
    int accepted = 0;
    for (long now = t + 100_000_000L; now <= t + 2 * SECOND; now += 50_000_000L) {
      if (buckets.tryAcquire("a", now).allowed()) {
        accepted++;
      }
    }
    assertEquals(19, accepted, "every second 10 of the 20 attempts");
  }

  @Test
  void keysHaveTheirOwnBudgetsAndIdleOnesExpire() {
    long t = 5 * SECOND;
    for (int i = 0; i < 5; i++) {
      buckets.tryAcquire("a", t);
    }
    assertFalse(buckets.tryAcquire("a", t).allowed());
    assertTrue(buckets.tryAcquire("b", t).allowed());
    assertEquals(2, buckets.size());
    assertEquals(0, buckets.expire(t + 50_000_000L), "not refilled yet");
    assertEquals(2, buckets.expire(t + SECOND), "full again after half a second: forgotten");
    assertEquals(0, buckets.size());
  }
}
