package dev.dockgate.config;

import java.util.List;

/**
 * How this gateway joins its peers when started with {@code -cluster}: the Hazelcast cluster {@code name},
 * the {@code members} to join by TCP-IP ({@code host:port} each, this node's own entry included or not),
 * the {@code host} this node binds and announces (null: Hazelcast's own choice of interface), its Hazelcast
 * {@code port}, and whether a node that cannot join the cluster refuses to start ({@code required}) instead
 * of serving alone. Ignored without {@code -cluster}. One file can serve every node: {@code DOCKGATE_CLUSTER_PORT}
 * and the other environment overrides replace single values.
 */
public record ClusterConfig(String name, List<String> members, String host, int port, boolean required) {

  public static final String DEFAULT_NAME = "dockgate";
  public static final int DEFAULT_PORT = 5701;
  public static final ClusterConfig DEFAULT = new ClusterConfig(DEFAULT_NAME, List.of(), null, DEFAULT_PORT, false);

  public ClusterConfig {
    members = List.copyOf(members);
  }
}
