package dev.dockgate.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Real gateway JVMs with {@code -cluster} on 127.0.0.1: one config for all (its cluster block lists every node's
 * Hazelcast port), each node's port from DOCKGATE_CLUSTER_PORT, more DOCKGATE_ overrides per node if given (a node
 * with settings of its own), an admin listener each. Started together; a node
 * can be killed (SIGKILL) and started again on its port, as a new node.
 */
public final class GatewayCluster implements AutoCloseable {

  /** One gateway process: its jar (client port), its admin listener's client, its node id once known. */
  public record Node(GatewayJar jar, GatewayClient admin, String id) {
  }

  private final Path dir;
  private final String yaml;
  private final int[] hazelcast;
  private final Node[] nodes;
  private final Map<Integer, Map<String, String>> env;

  /** {@code yamlBody}: the config without server and cluster sections. */
  public GatewayCluster(Path dir, int size, String yamlBody) {
    this(dir, size, yamlBody, Map.of());
  }

  /** As above, with environment variables for some nodes, by index (e.g. a DOCKGATE_ override of one setting). */
  public GatewayCluster(Path dir, int size, String yamlBody, Map<Integer, Map<String, String>> env) {
    this.dir = dir;
    this.env = env;
    this.hazelcast = new int[size];
    for (int i = 0; i < size; i++) {
      hazelcast[i] = Ports.free();
    }
    this.yaml = yamlBody + ClusterNodes.clusterBlock("it-" + hazelcast[0], hazelcast);
    this.nodes = new Node[size];
    List<CompletableFuture<Node>> starting = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      int index = i;
      starting.add(CompletableFuture.supplyAsync(() -> launch(index)));
    }
    RuntimeException failed = null;
    for (int i = 0; i < size; i++) {
      try {
        nodes[i] = starting.get(i).join();
      } catch (RuntimeException e) {
        failed = e; // the others are still awaited, so that none is left running
      }
    }
    if (failed != null) {
      close();
      throw failed;
    }
  }

  private Node launch(int index) {
    int adminPort = Ports.free();
    Map<String, String> variables = new HashMap<>(env.getOrDefault(index, Map.of()));
    variables.put("DOCKGATE_CLUSTER_PORT", Integer.toString(hazelcast[index]));
    GatewayJar jar = new GatewayJar(dir, "  admin_listener: {host: 127.0.0.1, port: " + adminPort + "}\n", yaml, 1,
        variables,
        List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"), List.of("-cluster"), Duration.ofSeconds(100));
    return new Node(jar, new GatewayClient(adminPort), null);
  }

  /** Waits until every live node's /health shows {@code size} members, and learns the node ids. */
  public void awaitMembers(int size, Duration within) {
    for (int i = 0; i < nodes.length; i++) {
      Node node = nodes[i];
      if (!node.jar().isAlive()) {
        continue;
      }
      Poll.until(within, "node " + i + " sees " + size + " members",
          () -> clusterCheck(node).getJsonArray("members").size() == size);
      nodes[i] = new Node(node.jar(), node.admin(), clusterCheck(node).getString("node"));
    }
  }

  public Node node(int i) {
    return nodes[i];
  }

  public int size() {
    return nodes.length;
  }

  /** The index of the node with this id. */
  public int indexOf(String id) {
    for (int i = 0; i < nodes.length; i++) {
      if (id.equals(nodes[i].id())) {
        return i;
      }
    }
    throw new AssertionError("no node " + id);
  }

  /** SIGKILL: no drain, no goodbye. */
  public void kill(int i) {
    nodes[i].jar().kill();
  }

  /** Starts node {@code i} again on its Hazelcast port: a new process, a new node id (known after awaitMembers). */
  public void restart(int i) {
    nodes[i].jar().close();
    nodes[i] = launch(i);
  }

  /** The cluster check's data in the node's /health on its admin listener. */
  public static JsonObject clusterCheck(Node node) {
    return ClusterNodes.check(node.admin());
  }

  /** The node's /admin/routes document. */
  public static JsonObject routes(Node node) {
    HttpResponse<String> response = node.admin().get("/admin/routes");
    assertEquals(200, response.statusCode(), response.body());
    return new JsonObject(response.body());
  }

  /** /stats?scope=cluster as the node answers it. */
  public static JsonObject clusterStats(Node node) {
    HttpResponse<String> response = node.jar().get("/stats?scope=cluster");
    assertEquals(200, response.statusCode(), response.body());
    return new JsonObject(response.body());
  }

  /** The node ids in a /health cluster check's member list. */
  public static List<String> memberIds(JsonObject clusterCheck) {
    JsonArray members = clusterCheck.getJsonArray("members");
    List<String> ids = new ArrayList<>();
    members.forEach(m -> ids.add(((JsonObject) m).getString("node")));
    return ids;
  }

  @Override
  public void close() {
    for (Node node : nodes) {
      if (node != null) {
        node.jar().close();
      }
    }
  }
}
