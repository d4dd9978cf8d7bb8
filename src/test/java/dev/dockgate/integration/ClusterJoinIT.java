package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.ClusterNodes;
import dev.dockgate.testing.GatewayClient;
import dev.dockgate.testing.GatewayCluster;
import dev.dockgate.testing.GatewayJar;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A gateway JVM with {@code -cluster} whose members list names, besides itself, an address where something accepts
 * TCP connections and never answers (a peer that hangs: its kernel still accepts; or another server on that port).
 */
@Timeout(value = 200, unit = TimeUnit.SECONDS)
class ClusterJoinIT {

  private static final Logger LOG = Logger.getLogger(ClusterJoinIT.class.getName());

  @TempDir
  Path dir;
  ServerSocket silent;
  final List<Socket> held = new CopyOnWriteArrayList<>();

  @BeforeEach
  void listen() throws IOException {
    silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread accepting = new Thread(() -> {
      while (!silent.isClosed()) {
        try {
          Socket socket = silent.accept();
          held.add(socket);
          Thread reading = new Thread(() -> drain(socket));
          reading.setDaemon(true);
          reading.start();
        } catch (IOException e) {
          return; // closed
        }
      }
    });
    accepting.setDaemon(true);
    accepting.start();
  }

  /** Reads and drops whatever comes, answering nothing. */
  private static void drain(Socket socket) {
    try (InputStream in = socket.getInputStream()) {
      while (in.read(new byte[4096]) >= 0) {
        // nothing said back
      }
    } catch (IOException e) {
      // closed
    }
  }

  @AfterEach
  void close() throws IOException {
    silent.close();
    for (Socket socket : held) {
      socket.close();
    }
  }

  /**
   * It serves, alone, within about 20 s of joining, and says why. Before, no member could become master without the
   * silent one's vote and Hazelcast kept asking it for its 300 s: the launcher gave up at 2 minutes ("Timed out in
   * startup") and the process exited without ever serving, {@code required: false} or not.
   */
  @Test
  void aListedMemberThatNeverAnswersLeavesTheNodeServingAloneSoon() {
    int self = Ports.free();
    String yaml = ClusterNodes.routes("http://127.0.0.1:" + Ports.free(), "")
        + ClusterNodes.clusterBlock("join-" + self, new int[] {self, silent.getLocalPort()});
    long begun = System.nanoTime();
    try (GatewayJar jar = new GatewayJar(dir, "", yaml, 1, Map.of("DOCKGATE_CLUSTER_PORT", Integer.toString(self)),
        List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"), List.of("-cluster"),
        Duration.ofSeconds(100))) {
      LOG.info("serving alone " + (System.nanoTime() - begun) / 1_000_000 + " ms after the start");
      assertTrue(jar.output().contains("no cluster formed within 20 s: 127.0.0.1:" + silent.getLocalPort()
          + " accepts connections but does not answer as a member"), jar.output());
      assertEquals(200, jar.get("/health/live").statusCode());
      assertTrue(held.size() > 0, "the silent member was asked");
    }
  }

  /**
   * Once the join gave up on the silent member, the node joins again without it, so it is a cluster that others can
   * join: a second node started after it (listing it) forms one cluster of two with it. Before, it was a standalone
   * process until restarted, and every node that listed it formed a cluster without it.
   */
  @Test
  void aNodeThatGaveUpOnASilentMemberCanBeJoinedLater() {
    int first = Ports.free();
    int second = Ports.free();
    String routes = ClusterNodes.routes("http://127.0.0.1:" + Ports.free(), "");
    List<String> jvm = List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");
    int firstAdmin = Ports.free();
    try (GatewayJar one = new GatewayJar(dir, "  admin_listener: {host: 127.0.0.1, port: " + firstAdmin + "}\n",
        routes + ClusterNodes.clusterBlock("later-" + first, new int[] {first, silent.getLocalPort()}), 1,
        Map.of("DOCKGATE_CLUSTER_PORT", Integer.toString(first)), jvm, List.of("-cluster"), Duration.ofSeconds(100))) {
      int secondAdmin = Ports.free();
      try (GatewayJar two = new GatewayJar(dir, "  admin_listener: {host: 127.0.0.1, port: " + secondAdmin + "}\n",
          routes + ClusterNodes.clusterBlock("later-" + first, new int[] {first, second}), 1,
          Map.of("DOCKGATE_CLUSTER_PORT", Integer.toString(second)), jvm, List.of("-cluster"),
          Duration.ofSeconds(100))) {
        GatewayClient oneAdmin = new GatewayClient(firstAdmin);
        GatewayClient twoAdmin = new GatewayClient(secondAdmin);
        Poll.until(Duration.ofSeconds(30), "both nodes in one cluster of two\n" + one.output() + "\n" + two.output(),
            () -> ClusterNodes.check(oneAdmin).getJsonArray("members").size() == 2
                && ClusterNodes.check(twoAdmin).getJsonArray("members").size() == 2);
        assertEquals(GatewayCluster.memberIds(ClusterNodes.check(oneAdmin)),
            GatewayCluster.memberIds(ClusterNodes.check(twoAdmin)));
        assertTrue(one.output().contains("joining again without it"), one.output());
      }
    }
  }

  /**
   * A node whose members list names only its peer (each of two nodes listing the other), started while the peer is
   * down, says that it serves alone, as it does when the list names itself too. Before, the warning came only with two
   * or more members listed, so such a node formed a cluster of one without a word.
   */
  @Test
  void aNodeListingOnlyAPeerThatIsDownSaysItServesAlone() {
    int self = Ports.free();
    int peer = Ports.free(); // nothing listens there
    String yaml = ClusterNodes.routes("http://127.0.0.1:" + Ports.free(), "")
        + ClusterNodes.clusterBlock("alone-" + self, new int[] {peer});
    try (GatewayJar jar = new GatewayJar(dir, "", yaml, 1, Map.of("DOCKGATE_CLUSTER_PORT", Integer.toString(self)),
        List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"), List.of("-cluster"),
        Duration.ofSeconds(100))) {
      Poll.until(Duration.ofSeconds(10), "the warning that no listed member answered\n" + jar.output(),
          () -> jar.output().contains("no other listed member answered (127.0.0.1:" + peer
              + "): serving alone until one starts and joins this node"));
      assertEquals(200, jar.get("/health/live").statusCode());
    }
  }

  /**
   * A node whose listed peer is up but a member of another cluster (another {@code cluster.name}: a typo, or a file of
   * another environment) serves alone and says that the peer answered as a member and did not take it in. Before, it
   * said that no listed member answered, sending the operator to look for a peer that is down.
   */
  @Test
  void aNodeListingAMemberOfAnotherClusterSaysItAnsweredButDidNotTakeItIn() {
    int self = Ports.free();
    int peer = Ports.free();
    // The peer: a member with the gateway's own Hazelcast settings, of a cluster with another name.
    com.hazelcast.core.HazelcastInstance other = com.hazelcast.core.Hazelcast.newHazelcastInstance(
        dev.dockgate.cluster.HazelcastSettings.of(new dev.dockgate.config.ClusterConfig("other-" + peer,
            List.of("127.0.0.1:" + peer), "127.0.0.1", peer, false)));
    String yaml = ClusterNodes.routes("http://127.0.0.1:" + Ports.free(), "")
        + ClusterNodes.clusterBlock("mine-" + self, new int[] {self, peer});
    try (GatewayJar jar = new GatewayJar(dir, "", yaml, 1, Map.of("DOCKGATE_CLUSTER_PORT", Integer.toString(self)),
        List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"), List.of("-cluster"),
        Duration.ofSeconds(100))) {
      Poll.until(Duration.ofSeconds(20), "the warning that the listed member answered but did not take it in\n"
          + jar.output(), () -> jar.output().contains("127.0.0.1:" + peer
              + " answered as a Hazelcast member but did not take this node in"));
      assertFalse(jar.output().contains("no other listed member answered"), jar.output());
      assertEquals(200, jar.get("/health/live").statusCode());
    } finally {
      other.shutdown();
    }
  }

  /**
   * A node whose members list names it as localhost (RFC 6761: a loopback name) while it announces 127.0.0.1 knows
   * its own entry: alone, with no peer listed, it gives no warning. Before, it warned that "localhost:PORT", itself,
   * had not answered.
   */
  @Test
  void aNodeListedAsLocalhostKnowsItsOwnEntry() {
    joinsAloneQuietly("self", "127.0.0.1", "localhost");
  }

  /** A node of {@code cluster.host} {@code host}, listing itself as {@code listedAs}, joins alone with no warning. */
  private void joinsAloneQuietly(String name, String host, String listedAs) {
    int self = Ports.free();
    String yaml = ClusterNodes.routes("http://127.0.0.1:" + Ports.free(), "") + """
        cluster:
          name: %s-%d
          host: %s
          members: ["%s:%d"]
        """.formatted(name, self, host, listedAs, self);
    try (GatewayJar jar = new GatewayJar(dir, "", yaml, 1, Map.of("DOCKGATE_CLUSTER_PORT", Integer.toString(self)),
        List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"), List.of("-cluster"),
        Duration.ofSeconds(100))) {
      Poll.until(Duration.ofSeconds(30), "the node joined\n" + jar.output(), () -> jar.output().contains("joined; 1 member(s)"));
      assertEquals(200, jar.get("/health/live").statusCode());
      assertFalse(jar.output().contains("no other listed member answered"), jar.output());
      assertFalse(jar.output().contains("cannot join"), jar.output());
    }
  }

  /**
   * A node whose {@code cluster.host} is no address of this machine (a file copied from another host) says so, and
   * serves alone without a line from Hazelcast. Before, Hazelcast's own SEVERE lines said that the port was "already in
   * use", and a third SEVERE came from Vert.x leaving the cluster it never joined. 192.0.2.10 (TEST-NET-1) is only
   * bound to, which the kernel refuses; nothing is sent to it.
   */
  @Test
  void aClusterHostThatIsNoAddressOfThisMachineIsNamedAsSuch() {
    int self = Ports.free();
    String yaml = ClusterNodes.routes("http://127.0.0.1:" + Ports.free(), "") + """
        cluster:
          name: elsewhere-%d
          host: 192.0.2.10
        """.formatted(self);
    try (GatewayJar jar = new GatewayJar(dir, "", yaml, 1, Map.of("DOCKGATE_CLUSTER_PORT", Integer.toString(self)),
        List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"), List.of("-cluster"),
        Duration.ofSeconds(100))) {
      Poll.until(Duration.ofSeconds(30), "the warning naming cluster.host\n" + jar.output(),
          () -> jar.output().contains("cluster.host 192.0.2.10 is not an address of this machine"));
      assertEquals(200, jar.get("/health/live").statusCode());
      assertFalse(jar.output().contains("SEVERE"), jar.output());
      assertFalse(jar.output().contains("already in use"), jar.output());
    }
  }

  /**
   * A {@code cluster.host} on the loopback network other than 127.0.0.1 (127.0.0.2: Linux answers the whole of
   * 127.0.0.0/8 on lo, so several nodes of one machine can each have their own) is an address of this machine: the
   * node joins on it. Before, it was refused as "not an address of this machine", lo naming 127.0.0.1 only, and the
   * node served alone although Hazelcast binds to it.
   */
  @Test
  void aLoopbackClusterHostOtherThan127001Joins() {
    joinsAloneQuietly("loopback", "127.0.0.2", "127.0.0.2");
  }

  /** With {@code required: true} it refuses to start, with exit status 11, instead of being killed by the launcher. */
  @Test
  void aListedMemberThatNeverAnswersStopsARequiredNodeWithStatus11() throws IOException {
    int self = Ports.free();
    Path conf = dir.resolve("required.yml");
    java.nio.file.Files.writeString(conf, "server: {host: 127.0.0.1, port: " + Ports.free() + ", admin_listener: false}\n"
        + ClusterNodes.routes("http://127.0.0.1:" + Ports.free(), "")
        + ClusterNodes.clusterBlock("join-" + self, new int[] {self, silent.getLocalPort()}) + "  required: true\n");
    GatewayJar.Exit exit = GatewayJar.run(dir, Map.of("DOCKGATE_CLUSTER_PORT", Integer.toString(self)),
        List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"), "-conf", conf.toString(), "-cluster");
    assertEquals(11, exit.status(), exit.toString());
  }
}
