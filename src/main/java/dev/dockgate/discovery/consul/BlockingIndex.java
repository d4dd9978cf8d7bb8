package dev.dockgate.discovery.consul;

import java.util.function.LongSupplier;

/**
 * The state of one blocking-query loop, with the rules of Consul's "Blocking Queries" page: the
 * index to send next (0: answer at once), reset to 0 when an answer's index goes backwards, at least 1
 * after any answer (an index of 0 would not block: a busy loop); and a token bucket (burst
 * {@link #BURST}, one token per {@code consul.min_query_interval_ms}) so that a loop whose answers come back at
 * once degrades into polling at that pace instead of spinning. Pure; one loop's thread.
 */
public final class BlockingIndex {

  static final int BURST = 3;

  private final LongSupplier clockMs;
  private final long refillMs;
  private long index;
  private double tokens = BURST;
  private long refilledAt;

  public BlockingIndex(LongSupplier clockMs, long refillMs) {
    this.clockMs = clockMs;
    this.refillMs = Math.max(1, refillMs);
    this.refilledAt = clockMs.getAsLong();
  }

  /** The index to send with the next request; 0 means a plain read, answered at once. */
  public long index() {
    return index;
  }

  /** An answer came with {@code returned} as its X-Consul-Index (one without the header resets the loop instead). */
  public void answered(long returned) {
    if (returned < index) {
      index = 0; // went backwards: restart the loop with a plain read
    } else {
      index = Math.max(1, returned); // never 0 after an answer: 1 is always safe, and it blocks
    }
  }

  /** Start again from a plain read (after an outage, the agent may be a new one with other indexes). */
  public void reset() {
    index = 0;
  }

  /** Takes a token for the next request: 0 when it may go now, else the milliseconds until it may. */
  public long delayBeforeNext() {
    long now = clockMs.getAsLong();
    tokens = Math.min(BURST, tokens + (now - refilledAt) / (double) refillMs);
    refilledAt = now;
    if (tokens >= 1) {
      tokens -= 1;
      return 0;
    }
    long wait = (long) Math.ceil((1 - tokens) * refillMs);
    return Math.max(1, wait);
  }
}
