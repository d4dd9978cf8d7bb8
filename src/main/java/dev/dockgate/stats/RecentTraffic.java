package dev.dockgate.stats;

import dev.dockgate.events.TrafficEvent;
import io.vertx.core.json.JsonObject;
import org.HdrHistogram.IntCountsHistogram;

/**
 * The traffic of the last few seconds: a ring of one slot per second (requests, errors, status
 * classes and an HdrHistogram of latencies), merged on demand into a {@link Window}. Recording
 * allocates nothing: a slot is reset when its second comes round again. Not thread-safe: one owner.
 */
public final class RecentTraffic {

  /** How many seconds a window covers: the current second so far and the ones before it. */
  public static final int WINDOW_SECONDS = 5;

  /** Status classes in {@link Window#classes()} order; "other" is anything outside 100-599. */
  public static final String[] CLASSES = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};

  private final Second[] ring = new Second[WINDOW_SECONDS];
  private final IntCountsHistogram merged = histogram();
  private final long startMillis;

  /** {@code startMillis}: when recording began, on the clock later calls use (windows never reach before it). */
  public RecentTraffic(long startMillis) {
    this.startMillis = startMillis;
    for (int i = 0; i < ring.length; i++) {
      ring[i] = new Second();
    }
  }

  public void record(long nowMillis, int status, double latencyMs) {
    record(nowMillis, status, TrafficEvent.isSuccess(status), latencyMs);
  }

  /** {@code status} for its class (2xx, 4xx...), {@code success} for the error rate ({@link TrafficEvent#success()}). */
  public void record(long nowMillis, int status, boolean success, double latencyMs) {
    long second = Math.floorDiv(nowMillis, 1000);
    Second slot = ring[(int) Math.floorMod(second, (long) ring.length)];
    if (slot.second != second) {
      slot.reset(second);
    }
    slot.requests++;
    if (!success) {
      slot.errors++;
    }
    slot.classes[classIndex(status)]++;
    slot.latencies.recordValue(TrafficStats.micros(latencyMs));
  }

  /** The last {@link #WINDOW_SECONDS} seconds up to {@code nowMillis}: rates per second and percentiles. */
  public Window window(long nowMillis) {
    long second = Math.floorDiv(nowMillis, 1000);
    long first = second - WINDOW_SECONDS + 1;
    merged.reset();
    long requests = 0;
    long errors = 0;
    long[] classes = new long[CLASSES.length];
    for (Second slot : ring) {
      if (slot.second >= first && slot.second <= second && slot.requests > 0) {
        requests += slot.requests;
        errors += slot.errors;
        for (int i = 0; i < classes.length; i++) {
          classes[i] += slot.classes[i];
        }
        merged.add(slot.latencies);
      }
    }
    // Rates over the time really covered (less in the first seconds), and never over less than a second.
    long from = Math.max(first * 1000, startMillis);
    double seconds = Math.max(1.0, (nowMillis - from) / 1000.0);
    return new Window(seconds, requests, errors, classes,
        percentileMs(requests, 50.0), percentileMs(requests, 95.0), percentileMs(requests, 99.0));
  }

  private double percentileMs(long requests, double percentile) {
    return requests == 0 ? 0.0 : merged.getValueAtPercentile(percentile) / 1000.0;
  }

  static int classIndex(int status) {
    return status >= 100 && status < 600 ? status / 100 - 1 : CLASSES.length - 1;
  }

  /** Two significant digits (within 1%): a window's slots are many, and a dashboard needs no more. */
  private static IntCountsHistogram histogram() {
    return new IntCountsHistogram(1, TrafficStats.MAX_TRACKED_MICROS, 2);
  }

  /** One second's traffic. */
  private static final class Second {
    long second = Long.MIN_VALUE;
    long requests;
    long errors;
    final long[] classes = new long[CLASSES.length];
    final IntCountsHistogram latencies = histogram();

    void reset(long second) {
      this.second = second;
      requests = 0;
      errors = 0;
      java.util.Arrays.fill(classes, 0);
      latencies.reset();
    }
  }

  /**
   * A window's traffic: {@code seconds} covered, requests and errors (rgate's rule) in it, requests per
   * status class ({@link #CLASSES} order), and latency percentiles in ms (0 when there was no request).
   */
  public record Window(double seconds, long requests, long errors, long[] classes, double p50Ms, double p95Ms,
      double p99Ms) {

    public double requestsPerSecond() {
      return requests / seconds;
    }

    public double errorsPerSecond() {
      return errors / seconds;
    }

    /** Errors as a percentage of requests; 0 without requests. */
    public double errorPercent() {
      return requests == 0 ? 0.0 : 100.0 * errors / requests;
    }

    /**
     * {"seconds", "requests", "errors", "requests_per_s", "errors_per_s", "error_pct",
     * "latency_ms": {"p50", "p95", "p99"} (null without requests), "status": {"1xx", ..., "5xx", "other"}}.
     */
    public JsonObject toJson() {
      JsonObject status = new JsonObject();
      for (int i = 0; i < CLASSES.length; i++) {
        status.put(CLASSES[i], classes[i]);
      }
      boolean any = requests > 0;
      return new JsonObject()
          .put("seconds", round(seconds, 1000))
          .put("requests", requests)
          .put("errors", errors)
          .put("requests_per_s", round(requestsPerSecond(), 1000))
          .put("errors_per_s", round(errorsPerSecond(), 1000))
          .put("error_pct", round(errorPercent(), 100))
          .put("latency_ms", new JsonObject()
              .put("p50", any ? round(p50Ms, 1000) : null)
              .put("p95", any ? round(p95Ms, 1000) : null)
              .put("p99", any ? round(p99Ms, 1000) : null))
          .put("status", status);
    }

    private static double round(double value, double scale) {
      return Math.round(value * scale) / scale;
    }
  }
}
