package dev.dockgate.testing;

import java.time.Duration;
import java.util.function.Supplier;

/** Waits for a condition with a deadline instead of sleeping a fixed time. */
public final class Poll {

  private Poll() {
  }

  /** Polls {@code probe} every 10 ms until it returns true; returns the elapsed time, or fails at the deadline. */
  public static Duration until(Duration deadline, String what, Supplier<Boolean> probe) {
    long start = System.nanoTime();
    long end = start + deadline.toNanos();
    while (true) {
      Boolean ok;
      try {
        ok = probe.get();
      } catch (RuntimeException e) {
        ok = false;
      }
      if (Boolean.TRUE.equals(ok)) {
        return Duration.ofNanos(System.nanoTime() - start);
      }
      if (System.nanoTime() > end) {
        throw new AssertionError("not within " + deadline.toMillis() + " ms: " + what);
      }
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for " + what);
      }
    }
  }
}
