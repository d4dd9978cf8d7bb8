package dev.dockgate.observability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The pace of recurring log lines, on a clock of its own (seconds written as nanoseconds). */
class LogPaceTest {

  static final long S = 1_000_000_000L;

  @Test
  void dueAtOnceThenOnceAMinuteFromWhenItWasSaid() {
    LogPace pace = LogPace.perMinute();
    assertTrue(pace.due(0), "never said: due, even at time 0");
    assertFalse(pace.due(1));
    assertFalse(pace.due(60 * S - 1), "a nanosecond short of the minute");
    assertTrue(pace.due(60 * S), "a minute after");
    assertFalse(pace.due(119 * S), "the minute starts again when said, not when asked");
    assertTrue(pace.due(120 * S));
  }

  @Test
  void aClockOfAnySignAndPastItsWrap() {
    // System.nanoTime may be negative, and differences are what count: due across the wrap of a long.
    LogPace pace = new LogPace(10 * S);
    assertTrue(pace.due(Long.MAX_VALUE - 5 * S));
    assertFalse(pace.due(Long.MAX_VALUE));
    assertFalse(pace.due(Long.MAX_VALUE + 4 * S), "wrapped to negative, 9 s after");
    assertTrue(pace.due(Long.MAX_VALUE + 5 * S), "10 s after");
    LogPace negative = LogPace.perMinute();
    assertTrue(negative.due(-90 * S));
    assertFalse(negative.due(-31 * S));
    assertTrue(negative.due(-30 * S));
  }

  @Test
  void aSummarySaidStartsThePeriodAgainAndTellsTheSpanItCovers() {
    LogPace pace = new LogPace(60 * S);
    assertEquals(0, pace.dueInNanos(5 * S), "never said: due now");
    assertEquals(0, pace.sinceNanos(5 * S));
    assertTrue(pace.due(10 * S));
    assertEquals(50 * S, pace.dueInNanos(20 * S));
    assertEquals(10 * S, pace.sinceNanos(20 * S));
    pace.said(70 * S);
    assertEquals(0, pace.sinceNanos(70 * S));
    assertFalse(pace.due(129 * S), "said at 70 s: the next minute runs from there");
    assertEquals(0, pace.dueInNanos(200 * S), "past due: 0, never negative");
    assertTrue(pace.due(130 * S));
  }

  @Test
  void aPeriodOfZeroSaysEveryTime() {
    LogPace pace = new LogPace(0);
    assertTrue(pace.due(S));
    assertTrue(pace.due(S));
  }
}
