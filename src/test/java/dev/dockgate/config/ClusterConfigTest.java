package dev.dockgate.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The cluster block: defaults, members, overrides from the environment, and every problem named by its field. */
class ClusterConfigTest {

  private static ClusterConfig parse(String cluster, Map<String, String> variables) {
    JsonObject json = new JsonObject().put("cluster", new JsonObject(cluster));
    return ConfigLoader.validate("gw.yml", json, List.of(), new ConfigEnvironment(variables, Map.of())).config().cluster();
  }

  private static List<String> problems(String cluster, Map<String, String> variables) {
    return assertThrows(ConfigException.class, () -> parse(cluster, variables)).problems();
  }

  @Test
  void defaultsAndAFullBlock() {
    assertEquals(ClusterConfig.DEFAULT, parse("{}", Map.of()));
    assertEquals(ClusterConfig.DEFAULT, ConfigLoader.parse("gw.yml", new JsonObject(), List.of()).cluster());
    assertEquals(new ClusterConfig("edge", List.of("10.0.0.1:5701", "10.0.0.2:5701"), "10.0.0.1", 5801, true),
        parse("{\"name\":\"edge\",\"members\":[\"10.0.0.1:5701\",\"10.0.0.2:5701\",\"10.0.0.1:5701\"],"
            + "\"host\":\"10.0.0.1\",\"port\":5801,\"required\":true}", Map.of()));
  }

  @Test
  void theEnvironmentReplacesMembersHostAndPort() {
    assertEquals(new ClusterConfig("dockgate", List.of("127.0.0.1:6001", "127.0.0.1:6002"), "127.0.0.1", 6002, false),
        parse("{\"members\":[\"10.0.0.1:5701\"],\"port\":5701}", Map.of(
            "DOCKGATE_CLUSTER_MEMBERS", "127.0.0.1:6001,127.0.0.1:6002",
            "DOCKGATE_CLUSTER_HOST", "127.0.0.1",
            "DOCKGATE_CLUSTER_PORT", "6002")));
  }

  @Test
  void problemsNameTheField() {
    assertEquals(List.of(
        "gw.yml: cluster.members[0]: expected \"host:port\" with a port from 1 to 65535 (no ranges), got \"10.0.0.1:5701-5703\"",
        "gw.yml: cluster.members[1]: expected \"host:port\" with a port from 1 to 65535 (no ranges), got \"10.0.0.2\"",
        "gw.yml: cluster.members[2]: expected \"host:port\", got 5701",
        "gw.yml: cluster.port: must be between 1 and 65535, got 0",
        "gw.yml: cluster.multicast: unknown key (known: host, members, name, port, required)"),
        problems("{\"members\":[\"10.0.0.1:5701-5703\",\"10.0.0.2\",5701],\"port\":0,\"multicast\":true}", Map.of()));
    List<String> fromEnvironment = problems("{}", Map.of("DOCKGATE_CLUSTER_PORT", "70000"));
    assertEquals(1, fromEnvironment.size(), fromEnvironment.toString());
    assertEquals(true, fromEnvironment.get(0).contains("cluster.port") && fromEnvironment.get(0).contains("70000")
        && fromEnvironment.get(0).contains("DOCKGATE_CLUSTER_PORT"), fromEnvironment.get(0));
  }
}
