package dev.dockgate.limits;

/**
 * What a node says of one key of a cluster-scope limit each period: its {@code demand} and the part of it it
 * {@code refused} (requests per second, smoothed), and the {@code spare} tokens its bucket for the key let go unused
 * in the period (it was full, or its share shrank below the tokens it held), which nodes that refuse the key take
 * over. Summed over the peers in a {@link ClusterView}.
 */
record KeyLoad(double demand, double refused, double spare) {

  static final KeyLoad NONE = new KeyLoad(0, 0, 0);

  KeyLoad plus(KeyLoad other) {
    return new KeyLoad(demand + other.demand, refused + other.refused, spare + other.spare);
  }
}
