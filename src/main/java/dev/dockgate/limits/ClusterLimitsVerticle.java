package dev.dockgate.limits;

import dev.dockgate.events.Addresses;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.spi.cluster.ClusterManager;
import java.util.HashMap;
import java.util.Map;
import java.util.logging.Logger;

/**
 * Shares cluster-scope rate limits out among the gateway nodes: every {@link #PERIOD_MS} it publishes this node's
 * load per limit and key ({@link KeyLoad}: demand, refusals, spare tokens) on {@link Addresses#RATE_LIMIT_DEMAND},
 * takes in the peers' reports, and has every
 * cluster-scope limiter re-share its keys (on a worker: a tick walks every key held). Deployed only in a cluster,
 * before the routers. Runs on its own event loop; nothing here is on the request path.
 */
public final class ClusterLimitsVerticle extends VerticleBase {

  /** How often demand is reported and shares recomputed. */
  public static final long PERIOD_MS = 250;
  /**
   * Without cluster-scope limits, a node reports (its presence alone) every this many periods, and its timer only
   * fires then: a wakeup costs a thread switch, and an idle gateway should cost next to nothing.
   */
  static final int IDLE_EVERY = 4;

  private static final Logger LOG = Logger.getLogger(ClusterLimitsVerticle.class.getName());

  private final RateLimiters limiters;
  private final PeerDemand peers = new PeerDemand();
  private ClusterManager manager;
  private String self;
  private long timer = -1;
  private long last;
  private boolean ticking;
  private boolean stopped;
  /** Completed when this node's own "left" message has come back to its consumer, at the stop. */
  private io.vertx.core.Promise<Void> leftSeen;
  /** This node's consumer of the peers' reports. */
  private io.vertx.core.eventbus.MessageConsumer<JsonObject> reports;
  /** Timer firings so far (each a thread wakeup when idle): read by tests. */
  private volatile long ticks;
  /** Peer, its limit and this node's, of each difference of settings already warned about. */
  private final java.util.Set<String> differing = new java.util.HashSet<>();
  /** The last view's present and member counts, to log each change once. */
  private int present = 1;
  private int members;

  public ClusterLimitsVerticle(RateLimiters limiters) {
    this.limiters = limiters;
  }

  @Override
  public Future<?> start() {
    manager = ((VertxInternal) vertx).clusterManager();
    self = manager.getNodeId();
    members = manager.getNodes().size();
    limiters.joinCluster(ClusterView.unheard(members));
    last = System.nanoTime();
    reports = vertx.eventBus().consumer(Addresses.RATE_LIMIT_DEMAND, this::receive);
    return reports.completion().onSuccess(v -> schedule());
  }

  private void receive(Message<JsonObject> msg) {
    JsonObject body = msg.body();
    String node = body.getString("node");
    if (node == null || node.equals(self)) {
      if (leftSeen != null && body.getBoolean("left", false)) {
        leftSeen.tryComplete();
      }
      return;
    }
    if (body.getBoolean("left", false)) {
      peers.left(node);
      LOG.info("cluster rate limits: node " + node + " left; its share of every cluster budget is free");
      return;
    }
    Map<String, Map<String, KeyLoad>> limits = new HashMap<>();
    JsonObject reported = body.getJsonObject("limits", new JsonObject());
    for (String limit : reported.fieldNames()) {
      Map<String, KeyLoad> keys = new HashMap<>();
      reported.getJsonObject(limit).forEach(e -> keys.put(e.getKey(), load(e.getValue())));
      limits.put(limit, keys);
    }
    peers.heard(node, limits, System.nanoTime());
    compareSettings(node, reported.fieldNames());
  }

  /**
   * Warns, once per peer and pair of settings, when a peer limits a route this node limits too, with other settings
   * (a reload on one node only, or configs that differ): nodes share a budget only with nodes of the same settings,
   * so the route's cluster budget is not one any more, and nothing else would say so.
   */
  private void compareSettings(String node, java.util.Set<String> theirs) {
    java.util.Set<String> mine = null;
    for (String id : theirs) {
      String route = RateLimiters.routeOf(id);
      if (route == null) {
        continue;
      }
      if (mine == null) {
        mine = limiters.clusterIds();
      }
      if (mine.contains(id)) {
        continue;
      }
      for (String own : mine) {
        if (route.equals(RateLimiters.routeOf(own)) && differing.add(node + " " + id + " " + own)) {
          LOG.warning("cluster rate limits: node " + node + " limits route " + route + " at"
              + id.substring(route.length()) + ", this node at" + own.substring(route.length())
              + ": only nodes with the same settings share a budget, so this route's cluster budget is not one;"
              + " give every node the same rate_limit");
        }
      }
    }
  }

  /** A key's load as sent: {@code [demand, refused, spare]} (a bare number is a demand alone). */
  private static KeyLoad load(Object sent) {
    if (sent instanceof JsonArray load && load.size() >= 3) {
      return new KeyLoad(load.getDouble(0), load.getDouble(1), load.getDouble(2));
    }
    return sent instanceof Number demand ? new KeyLoad(demand.doubleValue(), 0, 0) : KeyLoad.NONE;
  }

  private static JsonArray json(KeyLoad load) {
    return new JsonArray().add(load.demand()).add(load.refused()).add(load.spare());
  }

  /**
   * The next period in {@link #PERIOD_MS}; a node without any cluster-scope limit has no load to report and no
   * shares to recompute: it only says it is there, every {@link #IDLE_EVERY}th period (well within
   * {@link PeerDemand#STALE_NANOS}), so its next tick is that far. A reload that makes a limit cluster-scope is
   * seen at that tick, and its periods are short from there on.
   */
  private void schedule() {
    if (!stopped) {
      timer = vertx.setTimer(limiters.anyClusterScope() ? PERIOD_MS : PERIOD_MS * IDLE_EVERY, id -> tick());
    }
  }

  /** One period: skipped while the previous one still runs (a busy machine), so ticks never pile up. */
  private void tick() {
    ticks++;
    schedule();
    if (ticking) {
      return;
    }
    long now = System.nanoTime();
    if (!limiters.anyClusterScope()) {
      // Nothing to share: the view (where a limit made cluster-scope by a reload starts, and its first period
      // from here), and this node's presence for the peers.
      last = now;
      ClusterView view = peers.view(now, manager.getNodes().size());
      limiters.joinCluster(view);
      vertx.eventBus().publish(Addresses.RATE_LIMIT_DEMAND,
          new JsonObject().put("node", self).put("limits", new JsonObject()));
      changed(view);
      return;
    }
    ticking = true;
    double elapsed = (now - last) / 1e9;
    last = now;
    int listed = manager.getNodes().size();
    vertx.executeBlocking(() -> {
      ClusterView view = peers.view(now, listed);
      JsonObject limits = new JsonObject();
      limiters.tick(now, elapsed, view).forEach((limit, keys) -> {
        JsonObject loads = new JsonObject();
        keys.forEach((key, load) -> loads.put(key, json(load)));
        limits.put(limit, loads);
      });
      return Map.entry(view, new JsonObject().put("node", self).put("limits", limits));
    }).onComplete(ar -> {
      ticking = false;
      if (stopped) {
        return; // a report after the "left" one would have the peers count this node again
      }
      if (ar.failed()) {
        LOG.warning("cluster rate limits: shares not recomputed: " + ar.cause());
        return;
      }
      vertx.eventBus().publish(Addresses.RATE_LIMIT_DEMAND, ar.result().getValue());
      changed(ar.result().getKey());
    });
  }

  long ticks() {
    return ticks;
  }

  private void changed(ClusterView view) {
    if (view.present() == present && view.members() == members) {
      return;
    }
    present = view.present();
    members = view.members();
    if (present < members) {
      LOG.warning("cluster rate limits: " + present + " of " + members + " nodes heard; the nodes heard hold "
          + present + "/" + members + " of every cluster budget until the silent ones are back or "
          + PeerDemand.HOLD_NANOS / 1_000_000_000L + " s have passed");
    } else {
      LOG.info("cluster rate limits: " + members + " node(s) share every cluster budget");
    }
  }

  /**
   * A clean stop frees this node's share at once (best effort: the message may not leave before the process). Its
   * own consumer goes only once its own "left" has come back to it (or after a second): a report published a moment
   * before the stop (a tick's) is still on its way to it meanwhile (a clustered publish looks its consumers up first),
   * and reaching it unregistered, it was dropped with a WARNING ("Discarding message since the consumer is not
   * registered").
   */
  @Override
  public Future<?> stop() {
    stopped = true;
    vertx.cancelTimer(timer);
    leftSeen = io.vertx.core.Promise.promise();
    long guard = vertx.setTimer(1_000, id -> leftSeen.tryComplete());
    vertx.eventBus().publish(Addresses.RATE_LIMIT_DEMAND, new JsonObject().put("node", self).put("left", true));
    return leftSeen.future().compose(v -> {
      vertx.cancelTimer(guard);
      return reports.unregister();
    });
  }
}
