package dev.dockgate.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import dev.dockgate.config.ClusterConfig;
import dev.dockgate.testing.LoggedErrors;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import java.net.ServerSocket;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

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
    // A join a silent listed member holds up ends in time for the node to serve alone (or stop: required).
    assertEquals("20", config.getProperty("hazelcast.max.join.seconds"));
    // A member cut off (hung past the heartbeat timeout, a network split) is merged back within seconds, not minutes.
    assertEquals("5", config.getProperty("hazelcast.merge.first.run.delay.seconds"));
    assertEquals("5", config.getProperty("hazelcast.merge.next.run.delay.seconds"));
    // Vert.x's own maps keep their settings.
    assertEquals(1, config.getMapConfig("__vertx.nodeInfo").getBackupCount());
  }

  @Test
  void noListedMembersMeansAClusterOfThisNode() {
    Config config = HazelcastSettings.of(ClusterConfig.DEFAULT);
    assertEquals(List.of("127.0.0.1:5701"), config.getNetworkConfig().getJoin().getTcpIpConfig().getMembers());
    assertFalse(config.getNetworkConfig().getInterfaces().isEnabled());
  }

  /**
   * A real member started with these settings runs one thread of each kind but socket output, and no metrics or
   * health monitor.
   */
  @Test
  @Timeout(60)
  void aMemberRunsOneThreadOfEachKind() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    Config config = HazelcastSettings.of(new ClusterConfig("threads-" + port, List.of("127.0.0.1:" + port),
        "127.0.0.1", port, false));
    // Whatever Hazelcast logs at WARNING or above while the member starts: a setting it finds odd says so there.
    HazelcastInstance member;
    List<String> warnings;
    try (LoggedErrors logged = new LoggedErrors("com.hazelcast", java.util.logging.Level.WARNING)) {
      member = Hazelcast.newHazelcastInstance(config);
      // (The test JVM lacks the jar manifest's Add-Opens, which Hazelcast asks for: not a setting of ours.)
      warnings = logged.lines().stream().filter(line -> !line.contains("Java modular environment")).toList();
    }
    try {
      assertEquals(List.of(), warnings, "Hazelcast's warnings at start");
      assertEquals(String.valueOf(HazelcastSettings.BACKUP_SYNC_SECONDS),
          config.getProperty("hazelcast.partition.backup.sync.interval"));
      assertEquals(60_000, config.getCRDTReplicationConfig().getReplicationPeriodMillis());
      member.getMap("probe").put("k", "v");
      String prefix = "hz." + member.getName() + ".";
      Map<String, Integer> kinds = new TreeMap<>();
      for (Thread thread : Thread.getAllStackTraces().keySet()) {
        if (thread.getName().startsWith(prefix)) {
          kinds.merge(thread.getName().substring(prefix.length()).replaceAll("[0-9]+", "N"), 1, Integer::sum);
        }
      }
      assertEquals(1, kinds.get("partition-operation.thread-N"), kinds.toString());
      assertEquals(1, kinds.get("generic-operation.thread-N"), kinds.toString());
      assertEquals(1, kinds.get("response-N"), kinds.toString());
      assertEquals(1, kinds.get("event-N"), kinds.toString());
      assertEquals(1, kinds.get("IO.thread-in-N"), kinds.toString());
      // Three writing threads: a connection spinning toward a member that hangs holds up only one of them.
      assertEquals(HazelcastSettings.OUTPUT_THREADS, kinds.get("IO.thread-out-N"), kinds.toString());
      assertFalse(kinds.containsKey("HealthMonitor"), kinds.toString());
      assertFalse(config.getMetricsConfig().isEnabled());
    } finally {
      member.shutdown();
    }
  }
}
