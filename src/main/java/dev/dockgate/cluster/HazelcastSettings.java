package dev.dockgate.cluster;

import com.hazelcast.config.AdvancedNetworkConfig;
import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.ServerSocketEndpointConfig;
import dev.dockgate.config.ClusterConfig;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;
import java.util.List;

/**
 * Turns the {@code cluster} block into Hazelcast's config: Vert.x's own settings for its maps, then TCP-IP join
 * on the listed members only (no multicast, no cloud auto-detection), the configured port without
 * auto-increment, a fast join and failure detection, and a split healed within seconds. Pure: called once on the
 * main thread before Vert.x starts.
 */
public final class HazelcastSettings {

  /** Heartbeats every second; a member silent for this long is removed (a crash usually closes its sockets sooner). */
  public static final int HEARTBEAT_SECONDS = 1;
  public static final int MAX_NO_HEARTBEAT_SECONDS = 5;
  /** How long a join waits for each listed member's socket; unreachable members cost this much at start. */
  public static final int CONNECTION_TIMEOUT_SECONDS = 1;
  /** Threads writing to the other members' sockets (see {@link #quiet}). */
  static final int OUTPUT_THREADS = 3;
  /**
   * How long a join may take before Hazelcast gives up (its default: 300 s) and the node serves alone, or refuses
   * to start with {@code required: true}. A join takes a second or two; it waits this long only when a listed
   * member accepts the connection and never answers (a peer that hangs, or another server on that port): no
   * member can then be master without that member's vote, and Hazelcast asks it again every 10 s. With the
   * default, the launcher gave up first (2 minutes) and the process exited without serving.
   */
  public static final int MAX_JOIN_SECONDS = 20;
  /**
   * How soon after start, and how often, the master of each cluster looks for another cluster of the same name on
   * the listed members and merges the smaller into the larger (Hazelcast's defaults: 300 s, then every 120 s). A
   * member that hung past the heartbeat timeout is removed by the others and, resumed, finds itself alone: it is
   * back at the next look, so a short hang is not a split of minutes. A look connects to the listed members that
   * are not in the cluster (none, when all are), on a Hazelcast thread.
   */
  public static final int MERGE_SECONDS = 5;
  /** How often backups are compared with their primaries and repaired (Hazelcast's default: 30 s). */
  public static final int BACKUP_SYNC_SECONDS = 60;

  /**
   * Hazelcast warns at every start that its CP data structures (Raft locks, atomics) run in "UNSAFE mode" without CP
   * members; neither the gateway nor Vert.x's cluster manager uses any (Vert.x's locks are map locks), so the
   * warning would only alarm an operator. Held here: java.util.logging keeps its loggers, and their levels, weakly.
   */
  private static final java.util.logging.Logger CP_SUBSYSTEM_LOG =
      java.util.logging.Logger.getLogger("com.hazelcast.cp.CPSubsystem");

  private HazelcastSettings() {
  }

  public static Config of(ClusterConfig cluster) {
    // Keeps the __vertx.* map settings (backups, set-valued subscriptions) the cluster manager relies on.
    Config config = ConfigUtil.loadConfig();
    config.setClusterName(cluster.name());
    config.setProperty("hazelcast.logging.type", "jdk");
    config.setProperty("hazelcast.phone.home.enabled", "false");
    CP_SUBSYSTEM_LOG.setLevel(java.util.logging.Level.SEVERE);
    // Vert.x leaves the cluster when it closes (SIGTERM drains first); Hazelcast's own hook would leave too early.
    config.setProperty("hazelcast.shutdownhook.enabled", "false");
    // The defaults wait 5 s before joining; with a fixed member list there is nothing to wait for.
    config.setProperty("hazelcast.wait.seconds.before.join", "0");
    config.setProperty("hazelcast.heartbeat.interval.seconds", Integer.toString(HEARTBEAT_SECONDS));
    config.setProperty("hazelcast.max.no.heartbeat.seconds", Integer.toString(MAX_NO_HEARTBEAT_SECONDS));
    config.setProperty("hazelcast.max.join.seconds", Integer.toString(MAX_JOIN_SECONDS));
    config.setProperty("hazelcast.merge.first.run.delay.seconds", Integer.toString(MERGE_SECONDS));
    config.setProperty("hazelcast.merge.next.run.delay.seconds", Integer.toString(MERGE_SECONDS));
    quiet(config);
    // The advanced network's member endpoint rather than the unified port: members only (no Hazelcast client, REST or
    // memcache protocol is spoken there), and its outbound pipeline waits for a peer's protocol bytes instead of
    // polling for them. On the unified port, a connection to a member that accepts and never answers (a hung
    // process: its kernel still completes the handshake) re-ran its pipeline in a loop on a socket output thread
    // until it closed: a full core on each of the others, for as long as the hang lasted, enough on two busy
    // cores to starve the heartbeats between the healthy members until they took each other for dead.
    AdvancedNetworkConfig network = config.getAdvancedNetworkConfig().setEnabled(true);
    ServerSocketEndpointConfig member = new ServerSocketEndpointConfig();
    member.setPort(cluster.port()).setPortAutoIncrement(false);
    if (cluster.host() != null) {
      member.getInterfaces().setEnabled(true).setInterfaces(List.of(cluster.host()));
      config.setProperty("hazelcast.local.localAddress", cluster.host());
      // The interface only names the address announced: Hazelcast still listens on every address of the machine
      // unless told not to. The member port is unauthenticated and unencrypted, so it listens on this one only.
      config.setProperty("hazelcast.socket.server.bind.any", "false");
    }
    network.setMemberEndpointConfig(member);
    JoinConfig join = network.getJoin();
    join.getMulticastConfig().setEnabled(false);
    join.getAutoDetectionConfig().setEnabled(false);
    join.getTcpIpConfig().setEnabled(true)
        .setConnectionTimeoutSeconds(CONNECTION_TIMEOUT_SECONDS)
        .setMembers(cluster.members().isEmpty() ? List.of(self(cluster)) : cluster.members());
    // The plain network block is not used with the advanced one; its join is switched off so that nothing reads
    // a multicast join that does not run.
    config.getNetworkConfig().getJoin().getMulticastConfig().setEnabled(false);
    config.getNetworkConfig().getJoin().getAutoDetectionConfig().setEnabled(false);
    return config;
  }

  /**
   * Sizes Hazelcast for what the gateway keeps in it (a handful of small maps, a few operations a second, a few
   * members) rather than for a data grid, so that it competes as little as it can with the event loops: one thread
   * for each of partition operations, generic operations, responses, events, and socket input (the defaults are one
   * per core, two, two, five, and three), and Hazelcast's three for socket output (one would do since the member
   * endpoint no longer spins on a hung peer, see {@link #of}; three keep a slow peer's writes apart from the
   * healthy ones'); no metrics collection and no health monitor
   * (samplers whose output nobody reads here), no Jet engine. Two periodic tasks that serve nothing here are spaced
   * out: the backup anti-entropy pass over all 271 partitions runs every minute instead of every 30 s (it repairs
   * backups that a dropped replica sync or a lost backup acknowledgement left stale, which happens around membership
   * changes; a backup stale for longer than the minute matters only if its primary's member dies meanwhile), and CRDT
   * replication (no CRDT is used) every minute instead of every second. On this machine a thread wakeup costs about
   * 0.1 ms of CPU, so an idle member's wakeups are most of what it costs (bench/idle-cpu.sh). Heartbeats and failure
   * detection are untouched.
   */
  static void quiet(Config config) {
    config.setProperty("hazelcast.operation.thread.count", "1");
    config.setProperty("hazelcast.operation.generic.thread.count", "1");
    config.setProperty("hazelcast.operation.priority.generic.thread.count", "1");
    config.setProperty("hazelcast.operation.response.thread.count", "1");
    config.setProperty("hazelcast.event.thread.count", "1");
    config.setProperty("hazelcast.io.thread.count", "1");
    config.setProperty("hazelcast.io.output.thread.count", Integer.toString(OUTPUT_THREADS));
    config.setProperty("hazelcast.health.monitoring.level", "OFF");
    config.getMetricsConfig().setEnabled(false);
    config.getJetConfig().setEnabled(false);
    config.setProperty("hazelcast.partition.backup.sync.interval", Integer.toString(BACKUP_SYNC_SECONDS));
    config.getCRDTReplicationConfig().setReplicationPeriodMillis(60_000);
  }

  /** This node's own address as a member entry, for a cluster whose list names nobody. */
  static String self(ClusterConfig cluster) {
    return (cluster.host() == null ? "127.0.0.1" : cluster.host()) + ":" + cluster.port();
  }
}
