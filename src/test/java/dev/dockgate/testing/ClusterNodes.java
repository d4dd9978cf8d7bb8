package dev.dockgate.testing;

import io.vertx.core.json.JsonObject;
import java.util.Arrays;

/** What tests of clustered gateway jars share: the config of a cluster on 127.0.0.1, and the cluster check of readiness. */
public final class ClusterNodes {

  private ClusterNodes() {
  }

  /**
   * A config with Docker off that routes /api to {@code http://127.0.0.1:backendPort} (404 elsewhere), in
   * cluster {@code name} whose members are these Hazelcast ports of 127.0.0.1.
   */
  public static String yaml(int backendPort, String name, int[] hazelcastPorts) {
    return routes("http://127.0.0.1:" + backendPort, "") + clusterBlock(name, hazelcastPorts);
  }

  /**
   * A config with Docker off that routes /api to backend svc (404 elsewhere), whose {@code targets} are these
   * (comma-separated URLs); {@code more}: further settings of svc, one per line, or empty.
   */
  public static String routes(String targets, String more) {
    StringBuilder svc = new StringBuilder();
    more.lines().forEach(line -> svc.append("    ").append(line).append('\n'));
    return """
        docker: {enabled: false}
        routes:
          - path_prefix: /api
            backend: svc
        default_response: {status_code: 404, body: none}
        backends:
          - name: svc
            targets: [%s]
        """.formatted(targets) + svc;
  }

  /** The {@code cluster} block of cluster {@code name} on 127.0.0.1 whose members are these Hazelcast ports. */
  public static String clusterBlock(String name, int[] hazelcastPorts) {
    String members = Arrays.stream(hazelcastPorts).mapToObj(p -> "\"127.0.0.1:" + p + "\"").toList().toString();
    return """
        cluster:
          name: %s
          host: 127.0.0.1
          members: %s
        """.formatted(name, members);
  }

  /** The data of the cluster check in a node's readiness ({@code /health} on its admin listener): node id, members. */
  public static JsonObject check(GatewayClient admin) {
    JsonObject health = new JsonObject(admin.get("/health").body());
    for (Object check : health.getJsonArray("checks")) {
      if ("cluster".equals(((JsonObject) check).getString("id"))) {
        return ((JsonObject) check).getJsonObject("data");
      }
    }
    throw new AssertionError("no cluster check in /health: " + health.encode());
  }
}
