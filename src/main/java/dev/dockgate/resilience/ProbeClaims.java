package dev.dockgate.resilience;

import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The instance keys each peer node announced it checks, as this node last heard them: a full set, then changes
 * (keys added and removed, numbered by a version that counts up per change), and heartbeats that carry only the
 * version and a digest. Whatever does not follow on from what is held (a change or heartbeat of an unknown node, a
 * skipped version, a digest that does not match) asks for the node's full set. A claim not heard for a while is
 * dropped. Pure: time comes in as arguments. Used on the health checker's event loop.
 */
final class ProbeClaims {

  /** What one node announced: its keys (never modified once held), version, digest, and when it was last heard. */
  record Claim(Set<String> keys, long version, long digest, long heardAt) {
  }

  /** What a heard announcement did. */
  enum Heard {
    /** Nothing changed (or it was older than what is held). */
    SAME,
    /** The node's keys changed. */
    CHANGED,
    /** It does not follow on from what is held: ask the node for its full set. */
    NEEDS_FULL
  }

  private final Map<String, Claim> peers = new HashMap<>();

  /** The digest of a set of keys: the sum of their hashes, so a change updates it with the keys added and removed. */
  static long digest(Collection<String> keys) {
    long sum = 0;
    for (String key : keys) {
      sum += ProbeOwners.hash(key);
    }
    return sum;
  }

  /** A node's full set; true when its keys changed. One older than the version held is ignored. */
  boolean full(String node, long version, Set<String> keys, long now) {
    Claim held = peers.get(node);
    if (held != null && held.version() > version) {
      return false;
    }
    peers.put(node, new Claim(Set.copyOf(keys), version, digest(keys), now));
    return held == null || !held.keys().equals(keys);
  }

  /** A heartbeat: the node's current version and digest. */
  Heard heartbeat(String node, long version, long digest, long now) {
    Claim held = peers.get(node);
    if (held == null || held.version() < version || (held.version() == version && held.digest() != digest)) {
      return Heard.NEEDS_FULL;
    }
    if (held.version() == version) {
      peers.put(node, new Claim(held.keys(), version, digest, now));
    }
    return Heard.SAME;
  }

  /** A change: the keys added and removed since version - 1, and the digest of the result. */
  Heard change(String node, long version, long digest, Collection<String> added, Collection<String> removed, long now) {
    Claim held = peers.get(node);
    if (held != null && held.version() >= version) {
      return Heard.SAME;
    }
    if (held == null || held.version() != version - 1) {
      return Heard.NEEDS_FULL;
    }
    Set<String> keys = new HashSet<>(held.keys());
    long sum = held.digest();
    for (String key : removed) {
      sum -= keys.remove(key) ? ProbeOwners.hash(key) : 0;
    }
    for (String key : added) {
      sum += keys.add(key) ? ProbeOwners.hash(key) : 0;
    }
    if (sum != digest) {
      return Heard.NEEDS_FULL;
    }
    peers.put(node, new Claim(Set.copyOf(keys), version, sum, now));
    return Heard.CHANGED;
  }

  /** Drops the claims not heard since {@code heardSince}; true when one was dropped. */
  boolean expire(long heardSince) {
    return peers.values().removeIf(claim -> claim.heardAt() < heardSince);
  }

  /** Forgets a node (it left the cluster); true when it had a claim. */
  boolean forget(String node) {
    return peers.remove(node) != null;
  }

  /** The peers' keys by node, for {@link ProbeOwners}. */
  Map<String, Set<String>> keys() {
    Map<String, Set<String>> keys = new HashMap<>();
    peers.forEach((node, claim) -> keys.put(node, claim.keys()));
    return keys;
  }

  /** How many keys each peer claims. */
  Map<String, Integer> counts() {
    Map<String, Integer> counts = new HashMap<>();
    peers.forEach((node, claim) -> counts.put(node, claim.keys().size()));
    return counts;
  }
}
