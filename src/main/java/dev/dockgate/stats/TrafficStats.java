package dev.dockgate.stats;

import dev.dockgate.events.TrafficEvent;
import io.vertx.core.json.JsonObject;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Base64;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
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

  private TrafficStats(Histogram histogram, long success, long error, double latencySumMs) {
    this.histogram = histogram;
    this.success = success;
    this.error = error;
    this.latencySumMs = latencySumMs;
  }

  public void record(int status, double latencyMs) {
    record(TrafficEvent.isSuccess(status), latencyMs);
  }

  /** A request counted as a success or an error ({@link TrafficEvent#success()}). */
  public void record(boolean succeeded, double latencyMs) {
    if (succeeded) {
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

  /**
   * These numbers as they cross the cluster: exact counts, the exact latency sum (for the average) and the
   * histogram in HdrHistogram's compressed form, base64, so that a merge gives the percentiles of all the requests.
   */
  public JsonObject toWire() {
    ByteBuffer buffer = ByteBuffer.allocate(histogram.getNeededByteBufferCapacity());
    int length = histogram.encodeIntoCompressedByteBuffer(buffer, Deflater.BEST_SPEED);
    return new JsonObject()
        .put("success", success)
        .put("error", error)
        .put("latency_sum_ms", latencySumMs)
        .put("histogram", Base64.getEncoder().encodeToString(Arrays.copyOf(buffer.array(), length)));
  }

  /** The numbers {@link #toWire} sent; throws IllegalArgumentException when they are not such numbers. */
  public static TrafficStats fromWire(JsonObject wire) {
    try {
      Histogram histogram = Histogram.decodeFromCompressedByteBuffer(
          ByteBuffer.wrap(Base64.getDecoder().decode(wire.getString("histogram"))), MAX_TRACKED_MICROS);
      return new TrafficStats(histogram, wire.getLong("success"), wire.getLong("error"), wire.getDouble("latency_sum_ms"));
    } catch (DataFormatException | RuntimeException e) {
      throw new IllegalArgumentException("not traffic numbers: " + e.getMessage(), e);
    }
  }

  /** Adds {@code other}'s requests to these: counts and sums exactly, the histograms bucket by bucket. */
  public void add(TrafficStats other) {
    success += other.success;
    error += other.error;
    latencySumMs += other.latencySumMs;
    histogram.add(other.histogram);
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
