package dev.dockgate.stats;

import dev.dockgate.events.TrafficEvent;
import io.vertx.core.json.JsonObject;
import org.HdrHistogram.Histogram;

/**
 * Counts and latency distribution of finished requests. Exact counts and average; p95/p99 from an
 * HdrHistogram in microseconds (3 significant digits, so within 0.1%). Not thread-safe: one owner.
 */
public final class TrafficStats {

  /** Up to one hour; longer latencies are clamped to it. */
  static final long MAX_TRACKED_MICROS = 3_600_000_000L;

  private final Histogram histogram;
  private long success;
  private long error;
  private double latencySumMs;

  /** Percentiles to 3 significant digits (the gateway-wide numbers). */
  public TrafficStats() {
    this(3);
  }

  /** Percentiles to {@code significantDigits} digits: 2 keeps per-route sections small (about 12 KB each). */
  public TrafficStats(int significantDigits) {
    histogram = new Histogram(1, MAX_TRACKED_MICROS, significantDigits);
  }

  public void record(int status, double latencyMs) {
    if (TrafficEvent.isSuccess(status)) {
      success++;
    } else {
      error++;
    }
    latencySumMs += Math.max(0.0, latencyMs);
    histogram.recordValue(micros(latencyMs));
  }

  /** A latency as histograms record it: whole microseconds, at least 1, at most {@link #MAX_TRACKED_MICROS}. */
  static long micros(double latencyMs) {
    return Math.min(MAX_TRACKED_MICROS, Math.max(1L, Math.round(latencyMs * 1000.0)));
  }

  public long success() {
    return success;
  }

  public long error() {
    return error;
  }

  public long count() {
    return success + error;
  }

  public double averageMs() {
    return count() == 0 ? 0.0 : latencySumMs / count();
  }

  public double percentileMs(double percentile) {
    return count() == 0 ? 0.0 : histogram.getValueAtPercentile(percentile) / 1000.0;
  }

  /** The rgate /stats document. */
  public JsonObject toJson() {
    return new JsonObject()
        .put("requests_count", new JsonObject().put("success", success).put("error", error))
        .put("latency_ms", new JsonObject()
            .put("average", round3(averageMs()))
            .put("p95", round3(percentileMs(95.0)))
            .put("p99", round3(percentileMs(99.0))));
  }

  private static double round3(double value) {
    return Math.round(value * 1000.0) / 1000.0;
  }
}
