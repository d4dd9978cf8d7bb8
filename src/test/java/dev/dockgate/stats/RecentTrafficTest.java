package dev.dockgate.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The last-seconds window: which seconds it holds, its rates, status classes and percentiles (within 1%). */
class RecentTrafficTest {

  /** Two significant digits: a reported percentile is within 1% of the true value. */
  static final double PRECISION = 0.01;

  /** Recording starts at 100 s on the clock, so windows are never cut short by the start unless a test says so. */
  static final long START = 100_000;

  @ParameterizedTest(name = "status {0} is class {1}")
  @CsvSource({
      "0, other", "99, other", "100, 1xx", "101, 1xx", "200, 2xx", "299, 2xx", "304, 3xx",
      "404, 4xx", "499, 4xx", "500, 5xx", "504, 5xx", "599, 5xx", "600, other",
  })
  void statusClasses(int status, String expected) {
    assertEquals(expected, RecentTraffic.CLASSES[RecentTraffic.classIndex(status)]);
  }

  @Test
  void emptyWindowIsZerosWithoutLatencies() {
    RecentTraffic recent = new RecentTraffic(0);
    RecentTraffic.Window w = recent.window(START);
    assertEquals(0, w.requests());
    assertEquals(0.0, w.requestsPerSecond(), 0.0);
    assertEquals(0.0, w.errorPercent(), 0.0);
    assertEquals("{\"seconds\":4.0,\"requests\":0,\"errors\":0,\"requests_per_s\":0.0,\"errors_per_s\":0.0,"
        + "\"error_pct\":0.0,\"latency_ms\":{\"p50\":null,\"p95\":null,\"p99\":null},"
        + "\"status\":{\"1xx\":0,\"2xx\":0,\"3xx\":0,\"4xx\":0,\"5xx\":0,\"other\":0}}", w.toJson().encode());
  }

  @Test
  void countsRatesAndClassesOverTheWindow() {
    RecentTraffic recent = new RecentTraffic(0);
    // Seconds 100 to 104, the window at 104.5 s: 4.5 s covered.
    record(recent, 100_000, 200, 1.0, 4);
    record(recent, 101_200, 302, 1.0, 2);
    record(recent, 103_900, 404, 1.0, 2);
    record(recent, 104_400, 503, 1.0, 1);
    record(recent, 104_400, 101, 1.0, 1);
    RecentTraffic.Window w = recent.window(104_500);
    assertEquals(4.5, w.seconds(), 0.0);
    assertEquals(10, w.requests());
    assertEquals(3, w.errors());
    assertArrayEquals(new long[] {1, 4, 2, 2, 1, 0}, w.classes());
    assertEquals(10 / 4.5, w.requestsPerSecond(), 1e-9);
    assertEquals(3 / 4.5, w.errorsPerSecond(), 1e-9);
    assertEquals(30.0, w.errorPercent(), 1e-9);
    JsonObject json = w.toJson();
    assertEquals(2.222, json.getDouble("requests_per_s"));
    assertEquals(0.667, json.getDouble("errors_per_s"));
    assertEquals(30.0, json.getDouble("error_pct"));
    assertEquals(new JsonObject("{\"1xx\":1,\"2xx\":4,\"3xx\":2,\"4xx\":2,\"5xx\":1,\"other\":0}"),
        json.getJsonObject("status"));
  }

  /** {window at ms, requests seen} for requests at 100.0 s, 101.0 s ... 109.0 s, one per second. */
  @ParameterizedTest(name = "at {0} ms the window holds {1}")
  @CsvSource({
      "100000, 1", "103999, 4", "104999, 5", "105000, 5", "109000, 5", "109999, 5",
      "110000, 4", "113999, 1", "114000, 0", "500000, 0",
  })
  void holdsTheCurrentSecondAndTheFourBefore(long at, long expected) {
    RecentTraffic recent = new RecentTraffic(0);
    for (long second = 100; second < 110 && second * 1000 <= at; second++) {
      recent.record(second * 1000, 200, 1.0);
    }
    assertEquals(expected, recent.window(at).requests());
  }

  @Test
  void aSlotComingRoundAgainForgetsItsOldSecond() {
    RecentTraffic recent = new RecentTraffic(0);
    record(recent, 100_100, 500, 900.0, 50);
    record(recent, 105_100, 200, 1.0, 3); // same slot as second 100
    RecentTraffic.Window w = recent.window(105_200);
    assertEquals(3, w.requests());
    assertEquals(0, w.errors());
    assertWithinPrecision(1.0, w.p99Ms());
  }

  @Test
  void theFirstSecondsAfterStartAreCoveredAsFarAsTheyGo() {
    RecentTraffic recent = new RecentTraffic(100_000);
    record(recent, 100_100, 200, 1.0, 6);
    assertEquals(1.0, recent.window(100_300).seconds(), 0.0, "never less than a second");
    assertEquals(6.0, recent.window(100_300).requestsPerSecond(), 0.0);
    assertEquals(3.0, recent.window(103_000).seconds(), 0.0);
    assertEquals(2.0, recent.window(103_000).requestsPerSecond(), 0.0);
    assertEquals(4.5, recent.window(104_500).seconds(), 0.0);
    assertEquals(4.5, recent.window(108_500).seconds(), 0.0, "then four seconds and the current one so far");
  }

  @Test
  void aSpikeRaisesTheWindowsP99ThenLeavesIt() {
    RecentTraffic recent = new RecentTraffic(0);
    for (long ms = 100_000; ms < 110_000; ms += 10) {
      recent.record(ms, 200, 2.0);
    }
    assertWithinPrecision(2.0, recent.window(110_000).p99Ms());
    record(recent, 110_050, 200, 300.0, 20);
    RecentTraffic.Window spike = recent.window(110_100);
    assertWithinPrecision(300.0, spike.p99Ms());
    assertWithinPrecision(2.0, spike.p50Ms());
    for (long ms = 110_100; ms < 116_000; ms += 10) {
      recent.record(ms, 200, 2.0);
    }
    assertWithinPrecision(2.0, recent.window(116_000).p99Ms());
  }

  @Test
  void percentilesOfAUniformSpread() {
    RecentTraffic recent = new RecentTraffic(0);
    for (int ms = 1; ms <= 1000; ms++) {
      recent.record(100_000 + ms, 200, ms);
    }
    RecentTraffic.Window w = recent.window(101_500);
    assertWithinPrecision(500.0, w.p50Ms());
    assertWithinPrecision(950.0, w.p95Ms());
    assertWithinPrecision(990.0, w.p99Ms());
  }

  static void record(RecentTraffic recent, long atMillis, int status, double latencyMs, int times) {
    for (int i = 0; i < times; i++) {
      recent.record(atMillis, status, latencyMs);
    }
  }

  static void assertWithinPrecision(double expected, double actual) {
    assertEquals(expected, actual, expected * PRECISION, "expected " + expected + " within 1%, got " + actual);
  }
}
