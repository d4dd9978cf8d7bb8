package dev.dockgate.limits;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What this node has heard from its peers: each peer's last load report (per limit and key: demand, refusals,
 * spare tokens) and when it came, and which peers left cleanly. Reports arrive on the cluster verticle's event
 * loop; the periodic share computation reads them on a worker through {@link #view}. Spare tokens are handed out
 * once: a view takes the spare reported since the last view, and a report that replaces one not yet seen adds its
 * spare to the earlier one's.
 */
final class PeerDemand {

  /**
   * A peer silent for this long no longer counts as present: its share goes back to the nodes still heard. As long
   * as Hazelcast's own failure detection (5 s without a heartbeat): on a busy machine reports are late by seconds.
   */
  static final long STALE_NANOS = 5_000_000_000L;
  /**
   * How long a silent peer (crashed, or cut off by a network split: the two look the same from here) is still
   * counted as a member whose share this part of the cluster holds back; after that it is forgotten.
   */
  static final long HOLD_NANOS = 60_000_000_000L;

  /** A peer's last report, and the spare tokens it reported that no view has taken yet, per limit and key. */
  private record Report(long at, Map<String, Map<String, KeyLoad>> limits, Map<String, Map<String, Double>> spare) {

    Report taken() {
      return new Report(at, limits, Map.of());
    }
  }

  private final ConcurrentHashMap<String, Report> peers = new ConcurrentHashMap<>();

  /** A peer's report: for each limit (by its cluster id), the peer's load per key. */
  void heard(String node, Map<String, Map<String, KeyLoad>> limits, long nowNanos) {
    peers.compute(node, (n, old) -> new Report(nowNanos, limits, pending(old, limits)));
  }

  private static Map<String, Map<String, Double>> pending(Report old, Map<String, Map<String, KeyLoad>> limits) {
    Map<String, Map<String, Double>> spare = new HashMap<>();
    if (old != null) {
      old.spare().forEach((limit, keys) -> spare.put(limit, new HashMap<>(keys)));
    }
    limits.forEach((limit, keys) -> keys.forEach((key, load) -> {
      if (load.spare() > 0) {
        spare.computeIfAbsent(limit, l -> new HashMap<>()).merge(key, load.spare(), Double::sum);
      }
    }));
    return spare;
  }

  /** A peer that stopped cleanly: its share is free at once. */
  void left(String node) {
    peers.remove(node);
  }

  /**
   * The view at {@code nowNanos}: present peers' summed load (taking the spare tokens they reported since the last
   * view), and the membership the budget is shared over, the larger of the members the cluster manager lists
   * ({@code members}, this node included) and the peers heard within {@link #HOLD_NANOS} plus this node.
   */
  ClusterView view(long nowNanos, int members) {
    int[] known = {0};
    int[] present = {0};
    Map<String, Map<String, KeyLoad>> sum = new HashMap<>();
    for (String node : peers.keySet()) {
      peers.computeIfPresent(node, (n, report) -> {
        long age = nowNanos - report.at();
        if (age > HOLD_NANOS) {
          return null;
        }
        known[0]++;
        if (age > STALE_NANOS) {
          return report.taken();
        }
        present[0]++;
        report.limits().forEach((limit, keys) -> {
          Map<String, KeyLoad> total = sum.computeIfAbsent(limit, l -> new HashMap<>());
          Map<String, Double> spare = report.spare().getOrDefault(limit, Map.of());
          keys.forEach((key, load) -> total.merge(key,
              new KeyLoad(load.demand(), load.refused(), spare.getOrDefault(key, 0.0)), KeyLoad::plus));
        });
        return report.taken();
      });
    }
    int membership = Math.max(1 + known[0], members);
    return new ClusterView(Math.min(1 + present[0], membership), membership, sum);
  }
}
