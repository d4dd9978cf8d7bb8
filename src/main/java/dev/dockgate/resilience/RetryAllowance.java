package dev.dockgate.resilience;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A route's {@code min_per_second} retries: one allowance for all router instances, so the retries a quiet
 * route may add do not grow with the number of cores. Touched only by a retry that the router's own share
 * ({@code budget_percent} of its requests) has no room for, never by an ordinary request. The window starts
 * with the first retry taken from it and lasts one second; one compare-and-set on one number, no lock.
 */
public final class RetryAllowance {

  private static final int COUNT_BITS = 20; // min_per_second is at most 1,000,000
  private static final long COUNT_MASK = (1L << COUNT_BITS) - 1;

  private final int perSecond;
  /** The window's start (epoch milliseconds) above {@link #COUNT_BITS}, the retries taken in it below. */
  private final AtomicLong window = new AtomicLong();

  public RetryAllowance(int perSecond) {
    this.perSecond = perSecond;
  }

  /** True, and counted, when one more retry fits this second's allowance. */
  public boolean take(long nowMillis) {
    if (perSecond <= 0) {
      return false;
    }
    while (true) {
      long current = window.get();
      long start = current >>> COUNT_BITS;
      long taken = current & COUNT_MASK;
      long next;
      if (nowMillis - start >= 1_000) {
        next = (nowMillis << COUNT_BITS) | 1;
      } else if (taken < perSecond) {
        next = current + 1;
      } else {
        return false;
      }
      if (window.compareAndSet(current, next)) {
        return true;
      }
    }
  }
}
