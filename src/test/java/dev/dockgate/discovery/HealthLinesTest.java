package dev.dockgate.discovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/** The pace of health lines, on a clock of its own (seconds written as nanoseconds). */
class HealthLinesTest {

  static final long S = 1_000_000_000L;

  @Test
  void aChangeAfterAQuietPeriodIsSaidAtOnceAndAFlapInOneSummaryAPeriod() {
    HealthLines lines = new HealthLines(60_000);
    assertEquals("container c (e/1) is healthy", lines.changed("1", "c (e/1)", "healthy", 0));
    assertEquals(-1, lines.summaryInMs("1", 0), "nothing counted: no summary");
    assertNull(lines.changed("1", "c (e/1)", "unhealthy", 10 * S));
    assertEquals(50_000, lines.summaryInMs("1", 10 * S), "due when the period since the last line is over");
    assertNull(lines.changed("1", "c (e/1)", "healthy", 20 * S));
    assertEquals(-1, lines.summaryInMs("1", 20 * S), "asked for once");
    assertNull(lines.changed("1", "c (e/1)", "unhealthy", 30 * S));
    assertEquals("container c (e/1) changed health 3 times in the last 60 s, now unhealthy", lines.summary("1", 60 * S));
    assertNull(lines.summary("1", 61 * S), "said once");
    // Still flapping: counted again from the summary on, one line a period.
    assertNull(lines.changed("1", "c (e/1)", "healthy", 70 * S));
    assertEquals(50_000, lines.summaryInMs("1", 70 * S));
    assertEquals("container c (e/1) changed health 1 time in the last 60 s, now healthy", lines.summary("1", 120 * S));
    // Quiet for a period: the next change is said at once again.
    assertEquals("container c (e/1) is unhealthy", lines.changed("1", "c (e/1)", "unhealthy", 200 * S));
  }

  @Test
  void containersArePacedApartAndAForgottenOneSaysNoSummary() {
    HealthLines lines = new HealthLines(60_000);
    lines.changed("1", "a", "healthy", 0);
    assertEquals("container b is healthy", lines.changed("2", "b", "healthy", S), "another container: said");
    assertNull(lines.changed("1", "a", "unhealthy", 2 * S));
    lines.forget("1");
    assertNull(lines.summary("1", 60 * S));
    assertEquals("container a is starting", lines.changed("1", "a", "starting", 61 * S), "back: said at once");
  }
}
