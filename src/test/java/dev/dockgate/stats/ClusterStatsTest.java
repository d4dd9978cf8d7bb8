package dev.dockgate.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

/** The cluster view from nodes' mergeable numbers: exact sums, percentiles of the merged histograms, missing nodes. */
class ClusterStatsTest {

  /** A node's answer as StatsVerticle gives it: totals, one route, one backend, all the same requests. */
  private static JsonObject node(int fast, int slow, int errors) {
    TrafficStats totals = new TrafficStats();
    TrafficStats section = new TrafficStats(2);
    for (int i = 0; i < fast; i++) {
      totals.record(200, 1.0);
      section.record(200, 1.0);
    }
    for (int i = 0; i < slow; i++) {
      totals.record(200, 100.0);
      section.record(200, 100.0);
    }
    for (int i = 0; i < errors; i++) {
      totals.record(503, 1.0);
      section.record(503, 1.0);
    }
    return new JsonObject().put("totals", totals.toWire())
        .put("routes", new JsonObject().put("/api", section.toWire()))
        .put("backends", new JsonObject().put("svc", section.toWire()));
  }

  @Test
  void countsAddExactlyAndPercentilesComeFromTheMergedHistograms() {
    // Node a: 900 fast; node b: 100 slow. Averaging their p95s would say 50.5 ms; the cluster's p95 is 100 ms.
    JsonObject view = new ClusterStats().answered("a", node(890, 0, 10)).answered("b", node(0, 100, 0)).toJson("a");
    assertEquals(new JsonObject().put("success", 990L).put("error", 10L), view.getJsonObject("requests_count"));
    JsonObject latency = view.getJsonObject("latency_ms");
    assertEquals(10.9, latency.getDouble("average"), 1e-9);
    assertEquals(100.0, latency.getDouble("p95"), 0.1);
    assertEquals(100.0, latency.getDouble("p99"), 0.1);
    assertEquals(1000L, view.getJsonObject("routes").getJsonObject("/api").getJsonObject("requests_count")
        .getLong("success") + 10L);
    assertEquals(100.0, view.getJsonObject("backends").getJsonObject("svc").getJsonObject("latency_ms")
        .getDouble("p99"), 1.0);
    assertEquals(new JsonArray().add("a").add("b"), view.getJsonArray("answered"));
    assertTrue(view.getBoolean("complete"));
    assertEquals(1.0, view.getJsonObject("nodes").getJsonObject("a").getJsonObject("latency_ms").getDouble("p99"), 0.01);
  }

  @Test
  void aNodeThatDidNotAnswerIsListedMissingAndNotSummed() {
    JsonObject view = new ClusterStats().answered("a", node(5, 0, 0)).missing("b", "no answer within 2000 ms")
        .answered("c", new JsonObject().put("totals", new JsonObject().put("histogram", "not base64!")))
        .toJson("a");
    assertFalse(view.getBoolean("complete"));
    assertEquals(5L, view.getJsonObject("requests_count").getLong("success"));
    assertEquals(new JsonArray().add("a"), view.getJsonArray("answered"));
    JsonArray missing = view.getJsonArray("missing");
    assertEquals(2, missing.size());
    assertEquals(new JsonObject().put("node", "b").put("reason", "no answer within 2000 ms"), missing.getJsonObject(0));
    assertEquals("c", missing.getJsonObject(1).getString("node"));
    assertTrue(missing.getJsonObject(1).getString("reason").startsWith("unreadable answer"));
    assertEquals(new JsonObject().put("a", view.getJsonObject("nodes").getJsonObject("a")), view.getJsonObject("nodes"));
  }

  @Test
  void theWireFormKeepsCountsSumAndPercentiles() {
    TrafficStats stats = new TrafficStats();
    for (int i = 1; i <= 1000; i++) {
      stats.record(i % 7 == 0 ? 500 : 200, i / 10.0);
    }
    TrafficStats back = TrafficStats.fromWire(new JsonObject(stats.toWire().encode()));
    assertEquals(stats.toJson(), back.toJson());
  }
}
