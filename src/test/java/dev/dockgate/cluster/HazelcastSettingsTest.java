package dev.dockgate.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.ServerSocketEndpointConfig;
import com.hazelcast.instance.EndpointQualifier;
import dev.dockgate.config.ClusterConfig;
import dev.dockgate.testing.LoggedErrors;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import dev.dockgate.testing.Poll;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
    // The member endpoint alone (no unified port for clients and text protocols).
    assertTrue(config.getAdvancedNetworkConfig().isEnabled());
    assertEquals(Set.of(EndpointQualifier.MEMBER), config.getAdvancedNetworkConfig().getEndpointConfigs().keySet());
    ServerSocketEndpointConfig member = member(config);
    assertEquals(6002, member.getPort());
    assertFalse(member.isPortAutoIncrement());
    assertEquals(List.of("127.0.0.1"), List.copyOf(member.getInterfaces().getInterfaces()));
    JoinConfig join = config.getAdvancedNetworkConfig().getJoin();
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
    assertEquals(List.of("127.0.0.1:5701"), config.getAdvancedNetworkConfig().getJoin().getTcpIpConfig().getMembers());
    assertEquals(5701, member(config).getPort());
    assertFalse(member(config).getInterfaces().isEnabled());
    // No host given: Hazelcast's default, every address (the one it announces is its pick).
    assertEquals(null, config.getProperty("hazelcast.socket.server.bind.any"));
  }

  private static ServerSocketEndpointConfig member(Config config) {
    return (ServerSocketEndpointConfig) config.getAdvancedNetworkConfig().getEndpointConfigs()
        .get(EndpointQualifier.MEMBER);
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
      // Three writing threads: a slow peer's writes wait apart from the others'.
      assertEquals(HazelcastSettings.OUTPUT_THREADS, kinds.get("IO.thread-out-N"), kinds.toString());
      assertFalse(kinds.containsKey("HealthMonitor"), kinds.toString());
      assertFalse(config.getMetricsConfig().isEnabled());
    } finally {
      member.shutdown();
    }
  }

  /**
   * A member given {@code cluster.host} listens on that address only: its member port (unauthenticated, unencrypted)
   * is not reachable on the machine's other addresses. Hazelcast binds every interface by default and uses the
   * configured one only as the address it announces, so a node set to {@code host: 127.0.0.1} took member connections
   * on ::1 and on every other interface of the machine too. Checked on ::1, the other loopback address.
   */
  @Test
  @Timeout(60)
  void aMemberWithAHostListensOnThatAddressOnly() throws Exception {
    InetAddress ipv6Loopback = InetAddress.getByName("::1");
    try (ServerSocket probe = new ServerSocket(0, 1, ipv6Loopback)) {
      // ::1 is configured on this machine (else nothing could be told apart).
    } catch (java.io.IOException e) {
      org.junit.jupiter.api.Assumptions.abort("no ::1 on this machine: " + e);
    }
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    Config config = HazelcastSettings.of(new ClusterConfig("bind-" + port, List.of("127.0.0.1:" + port),
        "127.0.0.1", port, false));
    HazelcastInstance member = Hazelcast.newHazelcastInstance(config);
    try {
      try (Socket own = new Socket()) {
        own.connect(new InetSocketAddress("127.0.0.1", port), 2_000);
      }
      try (Socket other = new Socket()) {
        other.connect(new InetSocketAddress(ipv6Loopback, port), 2_000);
        org.junit.jupiter.api.Assertions.fail("the member port of a node with host 127.0.0.1 accepted a connection on "
            + other.getRemoteSocketAddress() + ": it listens on every address, not on 127.0.0.1 alone");
      } catch (java.net.ConnectException expected) {
        // Refused: nothing listens on ::1 at that port.
      }
    } finally {
      member.shutdown();
    }
  }

  /**
   * A listed member that accepts connections and never answers (a hung process: its kernel completes the TCP
   * handshake) costs the others no CPU while they wait for its protocol bytes. On Hazelcast's unified port the
   * connection's outbound pipeline re-ran itself in a loop on a socket output thread for as long as it stayed open: a
   * full core for each such connection, which on two busy cores starved the heartbeats between healthy members.
   */
  @Test
  @Timeout(60)
  void aListedMemberThatNeverAnswersCostsNoCpu() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    // Listening, never accepting nor reading: the kernel completes the handshakes, as a stopped process's does.
    try (ServerSocket hung = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Config config = HazelcastSettings.of(new ClusterConfig("hung-" + port,
          List.of("127.0.0.1:" + port, "127.0.0.1:" + hung.getLocalPort()), "127.0.0.1", port, false));
      config.setInstanceName("hung-" + port);
      // The join waits for the silent member's answer this long, then the member serves alone.
      config.setProperty("hazelcast.max.join.seconds", "8");
      CompletableFuture<HazelcastInstance> started =
          CompletableFuture.supplyAsync(() -> Hazelcast.newHazelcastInstance(config));
      try {
        String prefix = "hz.hung-" + port + ".IO.thread-out-";
        // The join connects to the silent member within a second of the member's networking starting.
        Poll.until(Duration.ofSeconds(20), "the member's networking started",
            () -> outputThreads(prefix).length > 0);
        Thread.sleep(2_000);
        long before = cpuNanos(outputThreads(prefix));
        long wall = System.nanoTime();
        Thread.sleep(3_000);
        long cpu = cpuNanos(outputThreads(prefix)) - before;
        long elapsed = System.nanoTime() - wall;
        assertTrue(cpu < elapsed / 10, "socket output threads busy " + cpu / 1_000_000 + " ms of "
            + elapsed / 1_000_000 + " ms while a listed member never answers");
      } finally {
        // With the silent member never voting, the join gives up (max.join.seconds) and the start fails.
        started.handle((member, failure) -> {
          if (member != null) {
            member.shutdown();
          }
          return null;
        }).get(50, TimeUnit.SECONDS);
      }
    }
  }

  private static long[] outputThreads(String prefix) {
    return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith(prefix))
        .mapToLong(Thread::getId).toArray();
  }

  private static long cpuNanos(long[] threads) {
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    long sum = 0;
    for (long id : threads) {
      sum += Math.max(0, mx.getThreadCpuTime(id));
    }
    return sum;
  }
}
