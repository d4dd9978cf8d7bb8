package dev.dockgate.limits;

import java.util.Map;

/**
 * One moment's view of the cluster for cluster-scope limits: {@code present} nodes heard recently (this one
 * included) out of {@code members}, and the present peers' summed demand (requests per second) per limit and key.
 * A node's share of a key's budget is the part of the cluster it can see ({@code present / members}) split among
 * the present nodes by demand, each keeping a floor of {@link #FLOOR} / present. Immutable.
 */
record ClusterView(int present, int members, Map<String, Map<String, Double>> peerDemand) {

  /**
   * The part of a budget split evenly among the present nodes whatever their demand: a node whose demand for a
   * key starts can serve it at once, before its next report. It is the most a limit can fall short of its budget
   * when one node has all of a key's demand (the others' floors go unused).
   */
  static final double FLOOR = 0.03;

  /** A node on its own: the whole budget. */
  static final ClusterView ALONE = new ClusterView(1, 1, Map.of());

  /** A view before any peer was heard: {@code members} nodes listed, each holding 1/members of every budget. */
  static ClusterView unheard(int members) {
    return new ClusterView(1, Math.max(1, members), Map.of());
  }

  /** This node's fraction of the budget of {@code key} on limit {@code limit}, given its own demand. */
  double share(String limit, String key, double own) {
    Map<String, Double> peers = peerDemand.get(limit);
    double others = peers == null ? 0 : peers.getOrDefault(key, 0.0);
    double part = (double) present / members;
    double total = own + others;
    if (total <= 0) {
      return part / present;
    }
    return part * ((1 - FLOOR) * own / total + FLOOR / present);
  }
}
