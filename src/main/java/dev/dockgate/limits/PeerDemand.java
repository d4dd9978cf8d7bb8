package dev.dockgate.limits;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What this node has heard from its peers: each peer's last demand report (requests per second per limit and key)
 * and when it came, and which peers left cleanly. Reports arrive on the cluster verticle's event loop; the
 * periodic share computation reads them on a worker through {@link #view}.
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

  private record Report(long at, Map<String, Map<String, Double>> limits) {
  }

  private final ConcurrentHashMap<String, Report> peers = new ConcurrentHashMap<>();

  /** A peer's report: for each limit (by its cluster id), the peer's demand per key. */
  void heard(String node, Map<String, Map<String, Double>> limits, long nowNanos) {
    peers.put(node, new Report(nowNanos, limits));
  }

  /** A peer that stopped cleanly: its share is free at once. */
  void left(String node) {
    peers.remove(node);
  }

  /**
   * The view at {@code nowNanos}: present peers' summed demand, and the membership the budget is shared over,
   * the larger of the members the cluster manager lists ({@code members}, this node included) and the peers heard
   * within {@link #HOLD_NANOS} plus this node.
   */
  ClusterView view(long nowNanos, int members) {
    int known = 0;
    int present = 0;
    Map<String, Map<String, Double>> sum = new HashMap<>();
    for (Map.Entry<String, Report> peer : peers.entrySet()) {
      long age = nowNanos - peer.getValue().at();
      if (age > HOLD_NANOS) {
        peers.remove(peer.getKey(), peer.getValue());
        continue;
      }
      known++;
      if (age <= STALE_NANOS) {
        present++;
        peer.getValue().limits().forEach((limit, keys) -> {
          Map<String, Double> total = sum.computeIfAbsent(limit, l -> new HashMap<>());
          keys.forEach((key, demand) -> total.merge(key, demand, Double::sum));
        });
      }
    }
    int membership = Math.max(1 + known, members);
    return new ClusterView(Math.min(1 + present, membership), membership, sum);
  }
}
