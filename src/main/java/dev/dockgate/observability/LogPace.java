package dev.dockgate.observability;

/**
 * The pace of a recurring log line ("at most once a minute"): due the first time, then once a period has passed since
 * it was last said; what happens in between is counted, or not, by its owner. Times are {@link System#nanoTime}
 * values, passed in (a test runs its own clock); no allocation. Confined to one thread (an event loop).
 */
public final class LogPace {

  /** A minute, the period of most such lines. */
  public static final long MINUTE_NANOS = 60_000_000_000L;

  private final long periodNanos;
  private boolean said;
  private long saidNanos;

  /** A line said at most once every {@code periodNanos}. */
  public LogPace(long periodNanos) {
    this.periodNanos = periodNanos;
  }

  /** A line said at most once a minute. */
  public static LogPace perMinute() {
    return new LogPace(MINUTE_NANOS);
  }

  /** True, and the period starts again, when the line was never said or last said a period ago or more. */
  public boolean due(long nowNanos) {
    if (said && nowNanos - saidNanos < periodNanos) {
      return false;
    }
    said(nowNanos);
    return true;
  }

  /** The line is said now (a summary of what was held back): the period starts again. */
  public void said(long nowNanos) {
    said = true;
    saidNanos = nowNanos;
  }

  /** Nanoseconds until the line is due again, 0 when it is (never said, or the period is over). */
  public long dueInNanos(long nowNanos) {
    return said ? Math.max(0, saidNanos + periodNanos - nowNanos) : 0;
  }

  /** Nanoseconds since the line was last said (the span a summary covers); 0 when never said. */
  public long sinceNanos(long nowNanos) {
    return said ? nowNanos - saidNanos : 0;
  }
}
