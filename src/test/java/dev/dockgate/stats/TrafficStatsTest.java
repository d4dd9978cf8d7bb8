package dev.dockgate.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/** Exact counts and averages, percentiles within HdrHistogram's 0.1%, and the exact /stats document. */
class TrafficStatsTest {

  /** 3 significant digits: a reported percentile is within 0.1% of the true value. */
  static final double PRECISION = 0.001;

  @ParameterizedTest(name = "status {0} is a {1}")
  @CsvSource({
      "0, error", "100, error", "101, success", "199, error",
      "200, success", "204, success", "301, success", "304, success", "399, success",
      "400, error", "404, error", "499, error", "500, error", "502, error", "503, error", "504, error",
  })
  void classifiesStatus(int status, String kind) {
    TrafficStats stats = new TrafficStats();
    stats.record(status, 1.0);
    assertEquals(kind.equals("success") ? 1 : 0, stats.success());
    assertEquals(kind.equals("error") ? 1 : 0, stats.error());
    assertEquals(1, stats.count());
  }

  @Test
  void countsBoundaryStatusesExactly() {
    TrafficStats stats = new TrafficStats();
    for (int status : new int[] {199, 200, 399, 400, 503, 504, 200, 200}) {
      stats.record(status, 1.0);
    }
    assertEquals(4, stats.success());
    assertEquals(4, stats.error());
    assertEquals(8, stats.count());
  }

  @Test
  void averageIsExact() {
    TrafficStats stats = new TrafficStats();
    for (double ms : new double[] {1.5, 2.25, 4.0, 0.25}) {
      stats.record(200, ms);
    }
    assertEquals(2.0, stats.averageMs(), 0.0);
  }

  @Test
  void uniformOneToThousandMs() {
    TrafficStats stats = new TrafficStats();
    List<Integer> latencies = new ArrayList<>();
    for (int ms = 1; ms <= 1000; ms++) {
      latencies.add(ms);
    }
    Collections.shuffle(latencies, new Random(42));
    latencies.forEach(ms -> stats.record(200, ms));

    assertEquals(500.5, stats.averageMs(), 0.0);
    assertWithinPrecision(950.0, stats.percentileMs(95.0));
    assertWithinPrecision(990.0, stats.percentileMs(99.0));
    assertWithinPrecision(1000.0, stats.percentileMs(100.0));
  }

  /** {latencies in ms (each recorded once), expected p95, expected p99}. */
  static Stream<Arguments> distributions() {
    return Stream.of(
        Arguments.of("one request", repeat(1, 42.0), 42.0, 42.0),
        Arguments.of("all equal", repeat(100, 7.0), 7.0, 7.0),
        Arguments.of("1 slow in 100 stays above p99", concat(repeat(99, 10.0), repeat(1, 1000.0)), 10.0, 10.0),
        Arguments.of("2 slow in 100 reach p99", concat(repeat(98, 10.0), repeat(2, 1000.0)), 10.0, 1000.0),
        Arguments.of("6 slow in 100 reach p95", concat(repeat(94, 10.0), repeat(6, 1000.0)), 1000.0, 1000.0),
        Arguments.of("sub-millisecond", repeat(10, 0.25), 0.25, 0.25));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("distributions")
  void percentiles(String name, List<Double> latencies, double p95, double p99) {
    TrafficStats stats = new TrafficStats();
    latencies.forEach(ms -> stats.record(200, ms));
    assertWithinPrecision(p95, stats.percentileMs(95.0));
    assertWithinPrecision(p99, stats.percentileMs(99.0));
  }

  @Test
  void latencyBeyondAnHourIsClampedInTheHistogramOnly() {
    TrafficStats stats = new TrafficStats();
    stats.record(200, 5 * 3_600_000.0);
    assertWithinPrecision(3_600_000.0, stats.percentileMs(99.0));
    assertEquals(5 * 3_600_000.0, stats.averageMs(), 0.0);
  }

  @Test
  void negativeLatencyCountsAsZero() {
    TrafficStats stats = new TrafficStats();
    stats.record(200, -5.0);
    assertEquals(0.0, stats.averageMs(), 0.0);
    assertTrue(stats.percentileMs(99.0) <= 0.001, "p99 " + stats.percentileMs(99.0));
  }

  @Test
  void emptyStatsAreZeros() {
    TrafficStats stats = new TrafficStats();
    assertEquals(0, stats.success());
    assertEquals(0, stats.error());
    assertEquals(0, stats.count());
    assertEquals(0.0, stats.averageMs(), 0.0);
    assertEquals(0.0, stats.percentileMs(95.0), 0.0);
    assertEquals(0.0, stats.percentileMs(99.0), 0.0);
    assertEquals("{\"requests_count\":{\"success\":0,\"error\":0},"
        + "\"latency_ms\":{\"average\":0.0,\"p95\":0.0,\"p99\":0.0}}", stats.toJson().encode());
  }

  @Test
  void jsonHasExactlyTheRgateShape() {
    TrafficStats stats = new TrafficStats();
    stats.record(200, 0.5);
    stats.record(302, 1.0);
    stats.record(503, 1.5);

    JsonObject json = stats.toJson();
    assertEquals(Set.of("requests_count", "latency_ms"), json.fieldNames());
    assertEquals(Set.of("success", "error"), json.getJsonObject("requests_count").fieldNames());
    assertEquals(Set.of("average", "p95", "p99"), json.getJsonObject("latency_ms").fieldNames());
    // Values below 2.048 ms are held exactly by the histogram, so the whole document is exact.
    assertEquals("{\"requests_count\":{\"success\":2,\"error\":1},"
        + "\"latency_ms\":{\"average\":1.0,\"p95\":1.5,\"p99\":1.5}}", json.encode());
  }

  @Test
  void jsonRoundsLatenciesToMicroseconds() {
    TrafficStats stats = new TrafficStats();
    stats.record(200, 1.0);
    stats.record(200, 1.0);
    stats.record(200, 2.0);
    assertEquals("{\"requests_count\":{\"success\":3,\"error\":0},"
        + "\"latency_ms\":{\"average\":1.333,\"p95\":2.0,\"p99\":2.0}}", stats.toJson().encode());
  }

  // ---------------------------------------------------------------- fixtures

  static void assertWithinPrecision(double expected, double actual) {
    assertEquals(expected, actual, expected * PRECISION, "expected " + expected + " within 0.1%, got " + actual);
  }

  static List<Double> repeat(int times, double ms) {
    return Collections.nCopies(times, ms);
  }

  static List<Double> concat(List<Double> a, List<Double> b) {
    List<Double> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }
}
