package dev.dockgate.resilience;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which gateway node of a cluster probes an instance: rendezvous (highest random weight) hashing of the instance's
 * key over the live members that know the instance, so each instance has one prober, and a member joining, leaving
 * or learning an instance moves only the instances it wins or held. A member knows an instance when its latest
 * claim ({@link ProbeClaims}) lists it; this node counts itself in for every key it asks about (it only asks about
 * instances it checks), so an instance no peer claims is probed here. Alone (or without a cluster) this node owns
 * every instance. Immutable and pure.
 */
public final class ProbeOwners {

  private final String self;
  private final List<String> members;
  /** The peers' claimed keys by node; null: every member knows every instance. */
  private final Map<String, ? extends Set<String>> claims;

  /** {@code members}: the live gateway node ids (this node's {@code self} is added if missing), all knowing every instance. */
  public ProbeOwners(String self, Collection<String> members) {
    this(self, members, null);
  }

  /**
   * {@code claims}: the instance keys each peer announced it checks; a member without an entry knows none.
   * Entries of nodes that are not members are ignored.
   */
  public ProbeOwners(String self, Collection<String> members, Map<String, ? extends Set<String>> claims) {
    TreeSet<String> all = new TreeSet<>(members);
    all.add(self);
    this.self = self;
    this.members = List.copyOf(all);
    this.claims = claims == null ? null : Map.copyOf(claims);
  }

  public static ProbeOwners alone(String self) {
    return new ProbeOwners(self, List.of());
  }

  public String self() {
    return self;
  }

  /** The members, sorted. */
  public List<String> members() {
    return members;
  }

  /**
   * The member that probes {@code key}: of this node and the members that claim it, the highest weight, ties (never
   * seen with 64 bits) to the smallest id.
   */
  public String owner(String key) {
    String best = null;
    long bestWeight = 0;
    for (String member : members) {
      if (!knows(member, key)) {
        continue;
      }
      long w = weight(member, key);
      if (best == null || Long.compareUnsigned(w, bestWeight) > 0) {
        best = member;
        bestWeight = w;
      }
    }
    return best;
  }

  public boolean mine(String key) {
    return self.equals(owner(key));
  }

  private boolean knows(String member, String key) {
    if (claims == null || member.equals(self)) {
      return true;
    }
    Set<String> claimed = claims.get(member);
    return claimed != null && claimed.contains(key);
  }

  /** FNV-1a over member, a separator and key, then SplitMix64's finaliser so that near-equal inputs spread. */
  static long weight(String member, String key) {
    long h = 0xcbf29ce484222325L;
    h = fnv(h, member);
    h = (h ^ 0xff) * 0x100000001b3L;
    return mix(fnv(h, key));
  }

  /** A 64-bit hash of one key, as {@link ProbeClaims} sums them into a digest. */
  static long hash(String key) {
    return mix(fnv(0xcbf29ce484222325L, key));
  }

  private static long mix(long h) {
    h = (h ^ (h >>> 30)) * 0xbf58476d1ce4e5b9L;
    h = (h ^ (h >>> 27)) * 0x94d049bb133111ebL;
    return h ^ (h >>> 31);
  }

  private static long fnv(long h, String text) {
    for (int i = 0; i < text.length(); i++) {
      h = (h ^ text.charAt(i)) * 0x100000001b3L;
    }
    return h;
  }
}
