package dev.dockgate.stats;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import java.util.TreeMap;

/**
 * The cluster's /stats document from the nodes' answers ({@code StatsVerticle}'s mergeable numbers): counts and
 * latency sums added exactly, percentiles read from the merged histograms, the whole, per route and per backend;
 * each node's own /stats document; which nodes answered and which are missing, and why. Pure; one per query.
 */
public final class ClusterStats {

  private final TrafficStats totals = new TrafficStats();
  private final Map<String, TrafficStats> routes = new TreeMap<>();
  private final Map<String, TrafficStats> backends = new TreeMap<>();
  private final Map<String, JsonObject> nodes = new TreeMap<>();
  private final Map<String, String> missing = new TreeMap<>();

  /** Adds one node's answer; an answer that cannot be read makes the node missing instead. */
  public ClusterStats answered(String node, JsonObject wire) {
    TrafficStats nodeTotals;
    Map<String, TrafficStats> nodeRoutes;
    Map<String, TrafficStats> nodeBackends;
    try {
      nodeTotals = TrafficStats.fromWire(wire.getJsonObject("totals"));
      nodeRoutes = sections(wire.getJsonObject("routes"));
      nodeBackends = sections(wire.getJsonObject("backends"));
    } catch (RuntimeException e) {
      return missing(node, "unreadable answer: " + e.getMessage());
    }
    totals.add(nodeTotals);
    merge(routes, nodeRoutes);
    merge(backends, nodeBackends);
    nodes.put(node, document(nodeTotals, nodeRoutes, nodeBackends));
    return this;
  }

  /** A node known to the cluster whose numbers are not in the sums, with the reason. */
  public ClusterStats missing(String node, String reason) {
    missing.put(node, reason);
    return this;
  }

  /**
   * rgate's keys for the whole cluster, its routes and backends, then "scope", "node" (who answered the query),
   * "complete" (no node missing), "answered" (node ids), "missing" ([{node, reason}]) and "nodes" (each one's /stats).
   */
  public JsonObject toJson(String self) {
    JsonArray missingList = new JsonArray();
    missing.forEach((node, reason) -> missingList.add(new JsonObject().put("node", node).put("reason", reason)));
    JsonObject perNode = new JsonObject();
    nodes.forEach(perNode::put);
    return document(totals, routes, backends)
        .put("scope", "cluster")
        .put("node", self)
        .put("complete", missing.isEmpty())
        .put("answered", new JsonArray(java.util.List.copyOf(nodes.keySet())))
        .put("missing", missingList)
        .put("nodes", perNode);
  }

  private static Map<String, TrafficStats> sections(JsonObject wire) {
    Map<String, TrafficStats> result = new TreeMap<>();
    if (wire != null) {
      wire.forEach(e -> result.put(e.getKey(), TrafficStats.fromWire((JsonObject) e.getValue())));
    }
    return result;
  }

  private static void merge(Map<String, TrafficStats> into, Map<String, TrafficStats> from) {
    from.forEach((key, stats) -> into.computeIfAbsent(key, k -> new TrafficStats(2)).add(stats));
  }

  private static JsonObject document(TrafficStats totals, Map<String, TrafficStats> routes,
      Map<String, TrafficStats> backends) {
    JsonObject r = new JsonObject();
    routes.forEach((key, s) -> r.put(key, s.toJson()));
    JsonObject b = new JsonObject();
    backends.forEach((key, s) -> b.put(key, s.toJson()));
    return totals.toJson().put("routes", r).put("backends", b);
  }
}
