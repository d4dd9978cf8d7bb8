package dev.dockgate.limits;

import java.util.Map;

/**
 * One moment's view of the cluster for cluster-scope limits: {@code present} nodes heard recently (this one
 * included) out of {@code members}, and the present peers' load per limit and key, summed (their demand and
 * refusals, and the spare tokens they reported since this node last looked). A node's share of a key's budget is
 * the part of the cluster it can see ({@code present / members}) split among the present nodes by demand, each
 * keeping a floor of {@link #FLOOR} / present while any peer uses the key. Immutable.
 */
record ClusterView(int present, int members, Map<String, Map<String, KeyLoad>> peers) {

  /**
   * The part of a budget split evenly among the present nodes whatever their demand: a node whose demand for a
   * key starts can serve it at once, before its next report. Unused, it goes to the nodes that refuse the key as
   * spare tokens.
   */
  static final double FLOOR = 0.03;

  /** A node on its own: the whole budget. */
  static final ClusterView ALONE = new ClusterView(1, 1, Map.of());

  /** A view before any peer was heard: {@code members} nodes listed, each holding 1/members of every budget. */
  static ClusterView unheard(int members) {
    return new ClusterView(1, Math.max(1, members), Map.of());
  }

  /** The present peers' summed load for a key. */
  KeyLoad peerLoad(String limit, String key) {
    Map<String, KeyLoad> keys = peers.get(limit);
    KeyLoad load = keys == null ? null : keys.get(key);
    return load == null ? KeyLoad.NONE : load;
  }

  /** This node's fraction of the budget of {@code key} on limit {@code limit}, given its own demand. */
  double share(String limit, String key, double own) {
    double others = peerLoad(limit, key).demand();
    double part = (double) present / members;
    double total = own + others;
    if (total <= 0) {
      return part / present;
    }
    if (others <= 0) {
      // No peer uses the key: the peers have no bucket for it, so a floor kept for them would be lost. A peer whose
      // demand starts takes its floor and is in the next share.
      return part;
    }
    return part * ((1 - FLOOR) * own / total + FLOOR / present);
  }

  /**
   * The peers' spare tokens of a key this node takes, given what it refuses itself: each node that refuses takes
   * the part of the spare that its refusals are of all the refusals, so the takers together take it once.
   */
  double spare(String limit, String key, double ownRefused) {
    KeyLoad others = peerLoad(limit, key);
    if (ownRefused <= 0 || others.spare() <= 0) {
      return 0;
    }
    return others.spare() * ownRefused / (ownRefused + others.refused());
  }
}
