package dev.dockgate.resilience;

import dev.dockgate.config.RetryConfig;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Keeps retries from amplifying an outage: in each one-second window, retries may add at most
 * budgetPercent% of that window's requests, plus a small fixed allowance for quiet routes, the
 * route's {@link RetryAllowance}, one for all router instances. Also computes the jittered backoff.
 * One per route and router instance: confined to an event loop.
 */
public final class RetryBudget {

  private final RetryConfig config;
  private final RetryAllowance allowance;
  private long windowStart;
  private int requests;
  private int retries;

  public RetryBudget(RetryConfig config, RetryAllowance allowance) {
    this.config = config;
    this.allowance = allowance;
  }

  /** Counts one original request. */
  public void onRequest(long nowMillis) {
    roll(nowMillis);
    requests++;
  }

  /** True, and counted, when one more retry fits the budget: this router's share first, then the shared allowance. */
  public boolean tryRetry(long nowMillis) {
    roll(nowMillis);
    if (retries < (long) requests * config.budgetPercent() / 100) {
      retries++;
      return true;
    }
    return allowance.take(nowMillis);
  }

  /** Full jitter: uniform in [0, min(max, base * 2^retry)]. {@code retry} counts from 0. */
  public long backoffMs(int retry) {
    long cap = Math.min(config.maxBackoffMs(), config.backoffMs() << Math.min(retry, 20));
    return cap <= 0 ? 0 : ThreadLocalRandom.current().nextLong(cap + 1);
  }

  private void roll(long now) {
    if (now - windowStart >= 1_000) {
      windowStart = now;
      requests = 0;
      retries = 0;
    }
  }
}
