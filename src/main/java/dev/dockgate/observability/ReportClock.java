package dev.dockgate.observability;

/**
 * Whether a recurring condition of the event-bus bridge (a client falling behind, the client cap reached) may be
 * said in the log again: at most once a minute, what happens in between counted by its owner. Called on the
 * bridge's event loop.
 */
final class ReportClock {

  private static final long EVERY_NANOS = 60_000_000_000L;
  private long last = System.nanoTime() - EVERY_NANOS;

  /** True, and the minute starts again, when the condition was last said a minute ago or more. */
  boolean due() {
    long now = System.nanoTime();
    if (now - last < EVERY_NANOS) {
      return false;
    }
    last = now;
    return true;
  }
}
