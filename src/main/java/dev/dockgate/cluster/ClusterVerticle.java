package dev.dockgate.cluster;

import dev.dockgate.config.ClusterConfig;
import dev.dockgate.events.Addresses;
import dev.dockgate.stats.ClusterStats;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.json.JsonObject;
import io.vertx.core.spi.cluster.ClusterManager;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.logging.Logger;

/**
 * This node's part in the cluster: enters itself in the cluster's roster of gateway nodes (a Hazelcast map) and
 * leaves it on a clean stop, follows the membership (publishing it locally on {@link Addresses#CLUSTER_MEMBERS} and
 * pruning the roster entries of members that left without a word), answers peers' requests for its numbers on
 * {@link Addresses#clusterStats}, and builds /stats?scope=cluster by asking every node of the roster and of the
 * membership, each with a timeout. Without a cluster it is a cluster of one. Runs on its own event loop; nothing
 * here is on the request path.
 */
public final class ClusterVerticle extends VerticleBase {

  /** How long a node has to answer a cluster query before it is reported missing. */
  public static final long ANSWER_TIMEOUT_MS = 2_000;
  private static final Logger LOG = Logger.getLogger(ClusterVerticle.class.getName());
  private static final DeliveryOptions ASK = new DeliveryOptions().setSendTimeout(ANSWER_TIMEOUT_MS);
  /** What /health says when the roster was not read in time and its servers and missing nodes are as last read. */
  static final String STALE = "not read within " + Roster.READ_WAIT_MS + " ms (a member is not answering): servers and"
      + " missing as last read";

  private final ClusterConfig config;
  private final String server;
  private ClusterManager manager;
  private String self;
  private Roster roster;
  private MembershipWatch watch;
  /** The member count last logged. */
  private int logged;
  /** The cluster query being answered, shared by those that come meanwhile; null when none is. */
  private Future<JsonObject> asking;

  /** {@code server}: this node's client listener, host:port, as the roster shows it. */
  public ClusterVerticle(ClusterConfig config, String server) {
    this.config = config;
    this.server = server;
  }

  @Override
  public Future<?> start() {
    manager = vertx.isClustered() ? ((VertxInternal) vertx).clusterManager() : null;
    self = manager == null ? "standalone" : manager.getNodeId();
    Future<Void> status = vertx.eventBus().localConsumer(Addresses.CLUSTER_STATUS,
        msg -> status().onComplete(ar -> reply(msg, ar.succeeded() ? ar.result() : null))).completion();
    Future<Void> query = vertx.eventBus().localConsumer(Addresses.STATS_CLUSTER_QUERY,
        msg -> sharedClusterStats().onComplete(ar -> reply(msg, ar.succeeded() ? ar.result() : null))).completion();
    Future<Void> membersQuery = vertx.eventBus().localConsumer(Addresses.CLUSTER_MEMBERS_QUERY,
        msg -> msg.reply(membership())).completion();
    if (manager == null) {
      return Future.all(status, query, membersQuery);
    }
    // The one consumer peers reach: this node's numbers, from the stats verticle.
    Future<Void> numbers = vertx.eventBus().consumer(Addresses.clusterStats(self),
        msg -> vertx.eventBus().<JsonObject>request(Addresses.STATS_NODE, null, Addresses.LOCAL)
            .onComplete(ar -> reply(msg, ar.succeeded() ? ar.result().body() : null))).completion();
    return Future.all(List.of(status, query, membersQuery, numbers))
        .compose(v -> Roster.enter(vertx, self, server, manager.getNodes()))
        .onSuccess(entered -> roster = entered)
        .onSuccess(v -> watch = MembershipWatch.start(manager, context, this::membersChanged))
        .onSuccess(v -> announce())
        // A change between the first look and the listener's registration is not lost.
        .onSuccess(v -> membersChanged());
  }

  /** This node's member address, host:port, as Hazelcast announces it to the others. */
  private String localMember() {
    com.hazelcast.cluster.Address address = ((io.vertx.spi.cluster.hazelcast.HazelcastClusterManager) manager)
        .getHazelcastInstance().getCluster().getLocalMember().getAddress();
    return address.getHost() + ":" + address.getPort();
  }

  /**
   * The listed members that are not this node ({@code self}, host:port; {@code host}: cluster.host, or null): an
   * entry is this node when it has its port and its host is the announced one or cluster.host (addresses compared
   * as addresses, names as text, a localhost name as any loopback address). A list may name this node or not, so its size alone does not tell.
   */
  static List<String> peers(List<String> listed, String self, String host) {
    int colon = self.lastIndexOf(':');
    String selfHost = self.substring(0, colon);
    String selfPort = self.substring(colon + 1);
    List<String> peers = new ArrayList<>();
    for (String member : listed) {
      int at = member.lastIndexOf(':');
      String memberHost = at < 0 ? member : member.substring(0, at);
      boolean itself = at >= 0 && member.substring(at + 1).equals(selfPort)
          && (sameHost(memberHost, selfHost) || host != null && sameHost(memberHost, host));
      if (!itself) {
        peers.add(member);
      }
    }
    return peers;
  }

  /** Addresses compared as addresses, names as text, but that a localhost name (RFC 6761) is any loopback address. */
  private static boolean sameHost(String a, String b) {
    byte[] x = io.netty.util.NetUtil.createByteArrayFromIpAddressString(bare(a));
    byte[] y = io.netty.util.NetUtil.createByteArrayFromIpAddressString(bare(b));
    if (x != null && y != null) {
      return java.util.Arrays.equals(x, y);
    }
    if (x == null && y == null) {
      return a.equalsIgnoreCase(b) || localhost(a) && localhost(b);
    }
    return x == null ? localhost(a) && loopback(y) : localhost(b) && loopback(x);
  }

  private static boolean localhost(String name) {
    String h = name.toLowerCase(java.util.Locale.ROOT);
    return h.equals("localhost") || h.endsWith(".localhost");
  }

  /** 127.0.0.0/8 or ::1. */
  private static boolean loopback(byte[] address) {
    if (address.length == 4) {
      return address[0] == 127;
    }
    for (int i = 0; i < 15; i++) {
      if (address[i] != 0) {
        return false;
      }
    }
    return address[15] == 1;
  }

  /** An IPv6 literal without its brackets and zone ({@code [fe80::1%eth0]}: fe80::1); anything else as it is. */
  private static String bare(String host) {
    String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    int zone = h.indexOf('%');
    return zone > 0 && h.indexOf(':') >= 0 ? h.substring(0, zone) : h;
  }

  /** {"node", "members"}: this node's id and the live members' ids, sorted. */
  private JsonObject membership() {
    List<String> members = manager == null ? List.of(self) : List.copyOf(new TreeSet<>(manager.getNodes()));
    return new JsonObject().put("node", self).put("members", members);
  }

  /**
   * A member joined, left or was found dead: tells this node's verticles, and prunes the roster entries of the
   * members gone. Called by the membership listener, and once at start.
   */
  private void membersChanged() {
    vertx.eventBus().publish(Addresses.CLUSTER_MEMBERS, membership(), Addresses.LOCAL);
    List<String> members = manager.getNodes();
    Set<String> gone = roster.follow(members);
    if (members.size() != logged || !gone.isEmpty()) {
      LOG.info("cluster \"" + config.name() + "\": " + members.size() + " member(s)"
          + (gone.isEmpty() ? "" : ", " + String.join(", ", gone) + " gone: pruned from the roster"));
    }
    logged = members.size();
  }

  private static void reply(Message<Object> msg, JsonObject body) {
    if (body == null) {
      msg.fail(500, "no answer");
    } else {
      msg.reply(body);
    }
  }

  /** One line on joining: who is in, and a warning when the listed members were not found. */
  private void announce() {
    List<String> members = manager.getNodes();
    logged = members.size();
    LOG.info("cluster \"" + config.name() + "\": node " + self + " joined; " + members.size() + " member(s)");
    List<String> peers = members.size() == 1 ? peers(config.members(), localMember(), config.host()) : List.of();
    if (peers.isEmpty()) {
      return;
    }
    // A peer that is up but of another cluster (another name) answers as a member and still leaves this node alone:
    // asked, off the event loop, so that the warning sends the operator to the right problem.
    vertx.executeBlocking(() -> MemberProbe.ask(peers, ClusterBuilder.PROBE_TIMEOUT_MS), false).onComplete(asked -> {
      List<String> answering = new ArrayList<>();
      List<String> silent = new ArrayList<>(peers);
      if (asked.succeeded()) {
        asked.result().forEach((member, answer) -> {
          if (answer == MemberProbe.Answer.MEMBER) {
            answering.add(member);
            silent.remove(member);
          }
        });
      }
      try {
        if (manager.getNodes().size() > 1) {
          return; // a peer joined while they were asked (nodes started together): not alone, its join said so
        }
      } catch (RuntimeException stopped) { // the node left meanwhile (a stop within the probe's second)
        return;
      }
      LOG.warning(alone(config.name(), answering, silent));
    });
  }

  /** The warning of a node alone although it lists peers: those that answered as members, and the others. */
  static String alone(String name, List<String> answering, List<String> silent) {
    StringBuilder text = new StringBuilder("cluster \"" + name + "\": ");
    if (answering.isEmpty()) {
      return text.append("no other listed member answered (").append(String.join(", ", silent))
          .append("): serving alone until one starts and joins this node").toString();
    }
    text.append(String.join(", ", answering)).append(answering.size() == 1 ? " answered" : " answered each")
        .append(" as a Hazelcast member but did not take this node in (another cluster.name, as Hazelcast's warning")
        .append(" above says; or a cluster formed at the same moment, merged with this one within ")
        .append(HazelcastSettings.MERGE_SECONDS).append(" s if the names match)");
    if (!silent.isEmpty()) {
      text.append("; no answer from ").append(String.join(", ", silent));
    }
    return text.append(": serving alone").toString();
  }

  /** The cluster part of /health: enabled, name, this node, the members with their listeners, missing nodes. */
  private Future<JsonObject> status() {
    JsonObject base = new JsonObject().put("enabled", manager != null).put("node", self);
    if (manager == null) {
      return Future.succeededFuture(base.put("members", List.of(new JsonObject().put("node", self).put("server", server)
          .put("self", true))));
    }
    List<String> members = manager.getNodes();
    return roster.entries().map(read -> {
      Map<String, JsonObject> known = read.nodes();
      List<JsonObject> list = new ArrayList<>();
      for (String id : new TreeSet<>(members)) {
        JsonObject entry = known.get(id);
        list.add(new JsonObject().put("node", id).put("server", entry == null ? null : entry.getString("server"))
            .put("self", id.equals(self)));
      }
      Set<String> gone = new TreeSet<>(known.keySet());
      gone.removeAll(members);
      base.put("name", config.name()).put("members", list).put("missing", List.copyOf(gone))
          .put("departed", roster.departed()).put("listed", config.members()).put("shared", shared());
      return read.stale() ? base.put("roster_stale", STALE) : base;
    });
  }

  /** What the nodes of a cluster share, as /health and /admin/routes show it. */
  static JsonObject shared() {
    return new JsonObject()
        .put("stats", "on demand: /stats?scope=cluster asks every node for its aggregates; nothing per request")
        .put("health_checks", "each checked instance is probed by one node (rendezvous hashing over the members"
            + " that check it), which publishes what it finds to all")
        .put("rate_limits", "per node, except scope: cluster limits: each node holds a share of one budget, re-shared"
            + " every 250 ms from the demand the nodes publish");
  }

  /**
   * {@link #clusterStats()}, one at a time: a query that comes while one is being answered shares its answer. The
   * cluster view is on the public port (rgate's /stats), so a flood of it asks each peer one question at a time,
   * not one per call.
   */
  private Future<JsonObject> sharedClusterStats() {
    if (asking != null) {
      return asking;
    }
    Future<JsonObject> answer = clusterStats();
    if (!answer.isComplete()) {
      asking = answer;
      answer.onComplete(ar -> asking = null);
    }
    return answer;
  }

  /** Asks every node of the roster and of the membership for its numbers, then merges what came back. */
  private Future<JsonObject> clusterStats() {
    if (manager == null) {
      return vertx.eventBus().<JsonObject>request(Addresses.STATS_NODE, null, Addresses.LOCAL)
          .map(reply -> new ClusterStats().answered(self, reply.body()).toJson(self));
    }
    Set<String> members = new TreeSet<>(manager.getNodes());
    return roster.entries().compose(read -> {
      Set<String> nodes = new TreeSet<>(read.nodes().keySet());
      nodes.addAll(members);
      ClusterStats result = new ClusterStats();
      List<Future<?>> asked = new ArrayList<>();
      for (String node : nodes) {
        asked.add(ask(node, members.contains(node))
            .onSuccess(wire -> result.answered(node, wire))
            .onFailure(err -> result.missing(node, err.getMessage())));
      }
      // Every node's outcome is in once join completes, whether some failed or not.
      return Future.join(asked).transform(ar -> Future.succeededFuture(result.toJson(self)));
    });
  }

  private Future<JsonObject> ask(String node, boolean member) {
    if (!member) {
      return Future.failedFuture("left the cluster (crashed or cut off: it did not leave cleanly)");
    }
    return vertx.eventBus().<JsonObject>request(Addresses.clusterStats(node), null, ASK)
        .map(Message::body)
        .recover(err -> Future.failedFuture(reason(err)));
  }

  private static String reason(Throwable err) {
    if (err instanceof io.vertx.core.eventbus.ReplyException re) {
      return switch (re.failureType()) {
        case TIMEOUT -> "no answer within " + ANSWER_TIMEOUT_MS + " ms";
        case NO_HANDLERS -> "no stats consumer (still starting, or not a gateway)";
        default -> "failed: " + re.getMessage();
      };
    }
    return "failed: " + err.getMessage();
  }

  /** A clean stop leaves the roster, so the node is not reported missing; a crash leaves it until the others prune it. */
  @Override
  public Future<?> stop() {
    if (watch != null) {
      watch.close();
    }
    return roster == null ? Future.succeededFuture() : roster.leave();
  }
}
