package dev.dockgate.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import dev.dockgate.config.ClusterConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The Hazelcast config a cluster block gives: TCP-IP on the listed members only, fixed port, fast join. */
class HazelcastSettingsTest {

  @Test
  void tcpIpJoinOnTheListedMembersOnly() {
    Config config = HazelcastSettings.of(new ClusterConfig("edge", List.of("127.0.0.1:6001", "127.0.0.1:6002"),
        "127.0.0.1", 6002, false));
    assertEquals("edge", config.getClusterName());
    assertEquals(6002, config.getNetworkConfig().getPort());
    assertFalse(config.getNetworkConfig().isPortAutoIncrement());
    assertEquals(List.of("127.0.0.1"), List.copyOf(config.getNetworkConfig().getInterfaces().getInterfaces()));
    JoinConfig join = config.getNetworkConfig().getJoin();
    assertFalse(join.getMulticastConfig().isEnabled());
    assertFalse(join.getAutoDetectionConfig().isEnabled());
    assertTrue(join.getTcpIpConfig().isEnabled());
    assertEquals(List.of("127.0.0.1:6001", "127.0.0.1:6002"), join.getTcpIpConfig().getMembers());
    assertEquals("0", config.getProperty("hazelcast.wait.seconds.before.join"));
    // Vert.x's own maps keep their settings.
    assertEquals(1, config.getMapConfig("__vertx.nodeInfo").getBackupCount());
  }

  @Test
  void noListedMembersMeansAClusterOfThisNode() {
    Config config = HazelcastSettings.of(ClusterConfig.DEFAULT);
    assertEquals(List.of("127.0.0.1:5701"), config.getNetworkConfig().getJoin().getTcpIpConfig().getMembers());
    assertFalse(config.getNetworkConfig().getInterfaces().isEnabled());
  }
}
