package dev.dockgate.resilience;

import dev.dockgate.events.Addresses;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.logging.Logger;

/**
 * Tells the cluster which instances this node checks and hears what the others check ({@link ProbeClaims}), on
 * {@link Addresses#HEALTH_CLAIMS}: this node's full set once it starts probing, then each change as the keys added
 * and removed, and every {@link #PERIOD_MS} a heartbeat of its version and digest; a peer that missed something asks
 * for the full set on {@link Addresses#healthClaims}. So a message's size follows the change, and only a joining or
 * lagging node gets a full set. Calls back when a peer's claim changed or was dropped. Lives on the health
 * checker's event loop.
 */
final class ClaimExchange {

  /** How often a node says its claim still stands. */
  static final long PERIOD_MS = 2_000;
  /** A peer's claim not heard for this many periods is dropped (its instances fall to the others). */
  static final int STALE_PERIODS = 4;
  private static final Logger LOG = Logger.getLogger(ClaimExchange.class.getName());
  private static final DeliveryOptions ASK = new DeliveryOptions().setSendTimeout(2_000);

  private final Vertx vertx;
  private final Runnable changed;
  private final long periodMs;
  private final ProbeClaims claims = new ProbeClaims();
  /** Peers whose full set is being asked for. */
  private final Set<String> asking = new HashSet<>();
  private String self;
  /** This node's announced keys, their version and digest; announced only once started. */
  private Set<String> own = Set.of();
  private long version;
  private long digest;
  private boolean started;

  ClaimExchange(Vertx vertx, Runnable changed) {
    this(vertx, changed, PERIOD_MS);
  }

  /** With another heartbeat period (tests). */
  ClaimExchange(Vertx vertx, Runnable changed, long periodMs) {
    this.vertx = vertx;
    this.changed = changed;
    this.periodMs = periodMs;
  }

  /** Answers for this node's set, hears the peers, and asks each member for its full set (those that fail: later). */
  Future<Void> join(String node, Collection<String> members) {
    self = node;
    var bus = vertx.eventBus();
    Future<Void> heard = bus.<JsonObject>consumer(Addresses.HEALTH_CLAIMS, msg -> heard(msg.body())).completion();
    Future<Void> asked = bus.consumer(Addresses.healthClaims(self), msg -> msg.reply(fullSet())).completion();
    return Future.all(heard, asked)
        .compose(v -> Future.join(members.stream().filter(m -> !m.equals(self)).map(this::ask).toList()))
        .transform(ar -> Future.succeededFuture());
  }

  /**
   * Tells the peers this node's full set and starts the heartbeat. Call once this node probes: peers hand instances
   * over on hearing it.
   */
  void announce() {
    started = true;
    version++;
    vertx.eventBus().publish(Addresses.HEALTH_CLAIMS, fullSet());
    vertx.setPeriodic(periodMs, id -> beat());
  }

  /** This node now checks {@code keys}: peers are told the difference (or the whole set, when that is smaller). */
  void own(Set<String> keys) {
    if (keys.equals(own)) {
      return;
    }
    List<String> added = keys.stream().filter(k -> !own.contains(k)).toList();
    List<String> removed = own.stream().filter(k -> !keys.contains(k)).toList();
    own = Set.copyOf(keys);
    digest = ProbeClaims.digest(own);
    if (!started) {
      return;
    }
    version++;
    if (added.size() + removed.size() >= own.size()) {
      vertx.eventBus().publish(Addresses.HEALTH_CLAIMS, fullSet());
    } else {
      vertx.eventBus().publish(Addresses.HEALTH_CLAIMS, header().put("added", new JsonArray(added))
          .put("removed", new JsonArray(removed)));
    }
  }

  /** A node left the cluster: its claim goes at once. */
  void left(String node) {
    if (claims.forget(node)) {
      changed.run();
    }
  }

  /** The peers' keys by node. */
  Map<String, Set<String>> keys() {
    return claims.keys();
  }

  /** How many instances each peer claims, and this node: {node: count}. */
  JsonObject counts() {
    JsonObject counts = new JsonObject();
    claims.counts().forEach(counts::put);
    return counts.put(self == null ? "self" : self, own.size());
  }

  private JsonObject header() {
    return new JsonObject().put("node", self).put("version", version).put("digest", digest).put("count", own.size());
  }

  private JsonObject fullSet() {
    return header().put("keys", new JsonArray(List.copyOf(new TreeSet<>(own))));
  }

  private void beat() {
    long stale = STALE_PERIODS * periodMs;
    if (claims.expire(System.currentTimeMillis() - stale)) {
      LOG.info("health checks: a peer's claim was not heard for " + stale + " ms; its instances fall to the others");
      changed.run();
    }
    vertx.eventBus().publish(Addresses.HEALTH_CLAIMS, header());
  }

  private void heard(JsonObject message) {
    String node = message.getString("node");
    if (node == null || node.equals(self)) {
      return;
    }
    long now = System.currentTimeMillis();
    long v = message.getLong("version", 0L);
    long d = message.getLong("digest", 0L);
    ProbeClaims.Heard outcome;
    if (message.containsKey("keys")) {
      outcome = claims.full(node, v, keySet(message.getJsonArray("keys")), now) ? ProbeClaims.Heard.CHANGED
          : ProbeClaims.Heard.SAME;
    } else if (message.containsKey("added")) {
      outcome = claims.change(node, v, d, keySet(message.getJsonArray("added")), keySet(message.getJsonArray("removed")), now);
    } else {
      outcome = claims.heartbeat(node, v, d, now);
    }
    switch (outcome) {
      case CHANGED -> changed.run();
      case NEEDS_FULL -> ask(node);
      case SAME -> { }
    }
  }

  /** Asks a peer for its full set; a failure leaves it to the next heartbeat. */
  private Future<Void> ask(String node) {
    if (!asking.add(node)) {
      return Future.succeededFuture();
    }
    return vertx.eventBus().<JsonObject>request(Addresses.healthClaims(node), null, ASK)
        .onComplete(ar -> asking.remove(node))
        .onSuccess(reply -> heard(reply.body()))
        .onFailure(err -> LOG.fine("health checks: node " + node + " did not tell its claim: " + err.getMessage()))
        .mapEmpty();
  }

  private static Set<String> keySet(JsonArray keys) {
    Set<String> set = new HashSet<>();
    if (keys != null) {
      keys.forEach(k -> set.add((String) k));
    }
    return set;
  }
}
