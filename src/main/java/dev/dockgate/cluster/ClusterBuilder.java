package dev.dockgate.cluster;

import dev.dockgate.config.ClusterConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxBuilder;
import io.vertx.core.spi.VertxMetricsFactory;
import io.vertx.core.spi.VertxTracerFactory;
import io.vertx.core.spi.cluster.ClusterManager;
import io.vertx.core.transport.Transport;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.logging.Logger;

/**
 * The Vert.x builder the launcher uses with {@code -cluster}: Hazelcast with the gateway's cluster settings. When
 * the cluster cannot be formed or joined it says why, then either builds a standalone Vert.x (the node serves
 * alone) or, with {@code cluster.required: true}, fails the start. Used on the launcher's main thread.
 */
public final class ClusterBuilder implements VertxBuilder {

  private static final Logger LOG = Logger.getLogger(ClusterBuilder.class.getName());
  /** All Hazelcast says when it gave up joining ({@link HazelcastSettings#MAX_JOIN_SECONDS}). */
  private static final String JOIN_GAVE_UP = "Node failed to start!";

  /** How long each listed member is given to connect and to answer the member protocol, after a join gave up. */
  static final int PROBE_TIMEOUT_MS = 1_000;

  private final ClusterConfig cluster;
  private final UnaryOperator<VertxBuilder> base;
  private VertxBuilder clustered;

  /** {@code base} applies the options, transport and the rest to a fresh builder; called once per attempt. */
  public ClusterBuilder(ClusterConfig cluster, UnaryOperator<VertxBuilder> base) {
    this.cluster = cluster;
    this.base = base;
    this.clustered = base.apply(Vertx.builder());
  }

  @Override
  public VertxBuilder with(io.vertx.core.VertxOptions options) {
    clustered.with(options);
    return this;
  }

  @Override
  public VertxBuilder withMetrics(VertxMetricsFactory factory) {
    clustered.withMetrics(factory);
    return this;
  }

  @Override
  public VertxBuilder withTracer(VertxTracerFactory factory) {
    clustered.withTracer(factory);
    return this;
  }

  @Override
  public VertxBuilder withTransport(Transport transport) {
    clustered.withTransport(transport);
    return this;
  }

  @Override
  public VertxBuilder withClusterManager(ClusterManager clusterManager) {
    clustered.withClusterManager(clusterManager);
    return this;
  }

  @Override
  public Vertx build() {
    return base.apply(Vertx.builder()).build();
  }

  @Override
  public Future<Vertx> buildClustered() {
    LOG.info("cluster \"" + cluster.name() + "\": joining by TCP-IP on port " + cluster.port()
        + (cluster.host() == null ? "" : " of " + cluster.host()) + ", members "
        + (cluster.members().isEmpty() ? "(none listed)" : String.join(", ", cluster.members())));
    String foreign = foreignHost(cluster.host());
    if (foreign != null) {
      return alone(new IllegalArgumentException(foreign));
    }
    return clustered.withClusterManager(new HazelcastClusterManager(HazelcastSettings.of(cluster)))
        .buildClustered()
        .recover(failure -> rootMessage(failure).equals(JOIN_GAVE_UP) ? withoutSilentMembers(failure) : alone(failure));
  }

  /**
   * The join gave up: a listed member accepts connections and never answers (no member can become master without
   * its vote). Asks each listed member whether it answers as one ({@link MemberProbe}) and joins again without those
   * that stay silent: this node is then in a cluster that the others, and the silent ones once they answer (they
   * list this node), can join or merge with, rather than alone until a restart. With {@code required: true} that
   * second join is made only when some listed member answered, so that it is a join, not a cluster of one.
   */
  private Future<Vertx> withoutSilentMembers(Throwable failure) {
    java.util.concurrent.CompletableFuture<java.util.Map<String, MemberProbe.Answer>> asked =
        java.util.concurrent.CompletableFuture.supplyAsync(() -> MemberProbe.ask(cluster.members(), PROBE_TIMEOUT_MS),
            task -> {
              Thread thread = new Thread(task, "dockgate-cluster-probe");
              thread.setDaemon(true);
              thread.start();
            });
    return Future.fromCompletionStage(asked).compose(answers -> {
      List<String> silent = answers.entrySet().stream()
          .filter(e -> e.getValue() == MemberProbe.Answer.SILENT).map(java.util.Map.Entry::getKey).toList();
      boolean anyMember = answers.containsValue(MemberProbe.Answer.MEMBER);
      if (silent.isEmpty()) {
        // The silent member answers again (or is gone): one more join with every listed member.
        LOG.warning("cluster \"" + cluster.name() + "\": no cluster formed within " + HazelcastSettings.MAX_JOIN_SECONDS
            + " s, and no listed member is silent now: joining again");
        return joinAgain(cluster);
      }
      if (cluster.required() && !anyMember) {
        return alone(failure);
      }
      List<String> kept = cluster.members().stream().filter(m -> !silent.contains(m)).toList();
      LOG.warning("cluster \"" + cluster.name() + "\": no cluster formed within " + HazelcastSettings.MAX_JOIN_SECONDS
          + " s: " + String.join(", ", silent) + (silent.size() == 1 ? " accepts" : " accept")
          + " connections but does not answer as a member (hung, or another server on the port); joining again"
          + " without " + (silent.size() == 1 ? "it" : "them") + " (" + (kept.isEmpty() ? "none other listed"
          : "members " + String.join(", ", kept)) + "); " + (silent.size() == 1 ? "it joins" : "they join")
          + " this node's cluster once " + (silent.size() == 1 ? "it answers" : "they answer"));
      return joinAgain(new ClusterConfig(cluster.name(), kept, cluster.host(), cluster.port(), cluster.required()));
    });
  }

  /**
   * A second and last join, with these settings, on a fresh builder as {@link #build} makes one (metrics and tracing
   * come from the options); failing, the node serves alone (or, required, stops).
   */
  private Future<Vertx> joinAgain(ClusterConfig settings) {
    return base.apply(Vertx.builder()).withClusterManager(new HazelcastClusterManager(HazelcastSettings.of(settings)))
        .buildClustered()
        .recover(this::alone);
  }

  private Future<Vertx> alone(Throwable failure) {
    String why = rootMessage(failure);
    if (why.equals(JOIN_GAVE_UP)) {
      why += " no cluster formed within " + HazelcastSettings.MAX_JOIN_SECONDS + " s: a listed member accepts"
          + " connections but does not answer as one (hung, or another server on its port)";
    }
    if (cluster.required()) {
      LOG.severe("cluster \"" + cluster.name() + "\": cannot join (" + why + "); cluster.required is true, not starting");
      return Future.failedFuture(failure);
    }
    LOG.warning("cluster \"" + cluster.name() + "\": cannot join (" + why + "); serving alone, /stats?scope=cluster"
        + " answers for this node only (set cluster.required: true to refuse to start instead)");
    return Future.succeededFuture(build());
  }

  /**
   * Why {@code host} cannot be this node's cluster address, or null when it can (or is not set): Hazelcast, given an
   * address of another machine (a file copied from another host), only says that its port is "already in use".
   */
  static String foreignHost(String host) {
    if (host == null) {
      return null;
    }
    try {
      java.net.InetAddress address = java.net.InetAddress.getByName(host);
      // Loopback: Linux answers the whole of 127.0.0.0/8 on lo, which lists 127.0.0.1 alone (127.0.0.2 binds).
      if (address.isAnyLocalAddress() || address.isLoopbackAddress()
          || java.net.NetworkInterface.getByInetAddress(address) != null) {
        return null;
      }
      List<String> own = java.net.NetworkInterface.networkInterfaces()
          .flatMap(java.net.NetworkInterface::inetAddresses)
          .map(a -> a.getHostAddress().replaceFirst("%.*", "").replaceFirst("(^|:)(0(:|$)){2,}", "::"))
          .distinct().limit(8).toList();
      return "cluster.host " + host + " is not an address of this machine (its addresses: " + String.join(", ", own)
          + "): set one of them, or leave cluster.host out";
    } catch (java.io.IOException e) {
      return "cluster.host " + host + " cannot be resolved (" + e.getMessage() + ")";
    }
  }

  /** Every distinct message down the cause chain: Hazelcast names the port at one level, the OS error at another. */
  static String rootMessage(Throwable failure) {
    java.util.LinkedHashSet<String> messages = new java.util.LinkedHashSet<>();
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t.getMessage() != null) {
        messages.add(t.getMessage().replace('\n', ' ').trim());
      }
    }
    return messages.isEmpty() ? failure.getClass().getSimpleName() : String.join("; ", messages);
  }
}
