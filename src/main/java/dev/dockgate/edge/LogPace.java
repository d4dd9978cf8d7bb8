package dev.dockgate.edge;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The pace of a log line about an event that can recur thousands of times a second (connections at a cap, accepts
 * failing for want of descriptors): at most one line a period, saying how many times it happened since the last
 * one. Safe from any thread.
 */
public final class LogPace {

  private final long everyNanos;
  private final AtomicLong count = new AtomicLong();
  private final AtomicLong saidNanos;

  public LogPace(long every, TimeUnit unit) {
    this.everyNanos = unit.toNanos(every);
    this.saidNanos = new AtomicLong(System.nanoTime() - everyNanos);
  }

  /** One more occurrence. */
  public void count() {
    count.incrementAndGet();
  }

  /** True at most once a period: the caller logs its line now. */
  public boolean due() {
    long now = System.nanoTime();
    long said = saidNanos.get();
    return now - said >= everyNanos && saidNanos.compareAndSet(said, now);
  }

  /** The occurrences counted since the last call. */
  public long takeCount() {
    return count.getAndSet(0);
  }
}
