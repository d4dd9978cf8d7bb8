package dev.dockgate.cluster;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The cluster's roster of gateway nodes (a Hazelcast map: node id, client listener, join time) as one node keeps
 * it: enters its own entry, prunes the entries of members gone (only members once seen here: a joiner's entry
 * may come before the news of its joining), puts its own back if a peer pruned it while it was cut off, and leaves
 * on a clean stop. Remembers the last members gone, and the entries as last read: a read waits on every member that
 * holds a part of the map, so one that hangs (a long GC pause, SIGSTOP, a frozen VM) holds it up until it answers or
 * is found dead (up to Hazelcast's 5 s heartbeat timeout and more), and a read not done in {@link #READ_WAIT_MS} is
 * answered from the last one. Used on the cluster verticle's event loop.
 */
final class Roster {

  static final String MAP = "gateway.cluster.nodes";
  /** How many departed members are remembered. */
  static final int DEPARTED_KEPT = 10;
  /** How long a read of the roster may take before the last one read stands in for it. */
  static final long READ_WAIT_MS = 1_000;
  private static final Logger LOG = Logger.getLogger(Roster.class.getName());

  private final AsyncMap<String, JsonObject> map;
  private final String self;
  private final JsonObject entry;
  private final Set<String> seen = new HashSet<>();
  private final Deque<JsonObject> departed = new ArrayDeque<>();
  /** The entries as last read (this node's own from the start), less the members pruned since. */
  private final Map<String, JsonObject> lastRead = new HashMap<>();
  /** The read under way, if any. */
  private Future<Map<String, JsonObject>> reading;

  /** The roster's entries, and whether they are the last ones read rather than a read just done. */
  record Entries(Map<String, JsonObject> nodes, boolean stale) {
  }

  private Roster(AsyncMap<String, JsonObject> map, String self, JsonObject entry) {
    this.map = map;
    this.self = self;
    this.entry = entry;
    lastRead.put(self, entry);
  }

  /** Enters this node ({@code server}: its client listener, host:port) with the members seen now. */
  static Future<Roster> enter(Vertx vertx, String self, String server, Collection<String> members) {
    JsonObject entry = new JsonObject().put("node", self).put("server", server).put("joined_at", System.currentTimeMillis());
    // Cluster-wide in a clustered Vert.x (the only place the gateway uses it), this process's own otherwise.
    return vertx.sharedData().<String, JsonObject>getAsyncMap(MAP).compose(map -> enter(map, self, entry, members));
  }

  /** Enters this node's {@code entry} in {@code map}, the roster's map. */
  static Future<Roster> enter(AsyncMap<String, JsonObject> map, String self, JsonObject entry, Collection<String> members) {
    return map.put(self, entry).map(v -> new Roster(map, self, entry)).onSuccess(roster -> roster.seen.addAll(members));
  }

  /** The membership changed: prunes the members gone since the last call and returns them (none: nothing changed). */
  Set<String> follow(Collection<String> members) {
    Set<String> gone = new TreeSet<>(seen);
    gone.removeAll(members);
    seen.addAll(members);
    seen.removeAll(gone);
    for (String node : gone) {
      departed.addFirst(new JsonObject().put("node", node).put("left_at", System.currentTimeMillis()));
      while (departed.size() > DEPARTED_KEPT) {
        departed.removeLast();
      }
      lastRead.remove(node);
      // Every node prunes; a second removal is harmless.
      map.remove(node).onFailure(err -> LOG.warning("cluster: roster entry of " + node + " not removed: " + err.getMessage()));
    }
    map.putIfAbsent(self, entry)
        .onFailure(err -> LOG.warning("cluster: node " + self + " not back in the roster: " + err.getMessage()));
    return gone;
  }

  /**
   * The entries, read within {@link #READ_WAIT_MS}, else the last ones read (never a failure). A read holds a worker
   * thread until it ends, so while one is under way the next questions wait on it rather than start another.
   */
  Future<Entries> entries() {
    Future<Map<String, JsonObject>> pending = reading;
    if (pending == null) {
      Future<Map<String, JsonObject>> started = map.entries();
      pending = started;
      reading = started;
      // (may run at once, when the read completed already: the local variable, not the field, is waited on)
      started.onComplete(ar -> {
        if (reading == started) {
          reading = null;
        }
        if (ar.succeeded()) {
          lastRead.clear();
          lastRead.putAll(ar.result());
        }
      });
    }
    return pending.timeout(READ_WAIT_MS, TimeUnit.MILLISECONDS)
        .map(read -> new Entries(Map.copyOf(read), false))
        .otherwise(err -> new Entries(Map.copyOf(lastRead), true));
  }

  /** The last members gone, newest first: {"node", "left_at"}. */
  JsonArray departed() {
    return new JsonArray(departed.stream().map(JsonObject::copy).toList());
  }

  Future<Void> leave() {
    return map.remove(self).<Void>mapEmpty()
        .onFailure(err -> LOG.warning("cluster: node " + self + " not removed from the roster: " + err.getMessage()));
  }
}
