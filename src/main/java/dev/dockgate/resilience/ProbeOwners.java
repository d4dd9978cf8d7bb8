package dev.dockgate.resilience;

import java.util.Collection;
import java.util.List;
import java.util.TreeSet;

/**
 * Which gateway node of a cluster probes an instance: rendezvous (highest random weight) hashing of the instance's
 * key over the live members, so each instance has one prober, and a member joining or leaving moves only the
 * instances it wins or held. Alone (or without a cluster) this node owns every instance. Immutable and pure.
 */
public final class ProbeOwners {

  private final String self;
  private final List<String> members;

  /** {@code members}: the live gateway node ids (this node's {@code self} is added if missing). */
  public ProbeOwners(String self, Collection<String> members) {
    TreeSet<String> all = new TreeSet<>(members);
    all.add(self);
    this.self = self;
    this.members = List.copyOf(all);
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

  /** The member that probes {@code key}: the highest weight, ties (never seen with 64 bits) to the smallest id. */
  public String owner(String key) {
    String best = null;
    long bestWeight = 0;
    for (String member : members) {
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

  /** FNV-1a over member, a separator and key, then SplitMix64's finaliser so that near-equal inputs spread. */
  static long weight(String member, String key) {
    long h = 0xcbf29ce484222325L;
    h = fnv(h, member);
    h = (h ^ 0xff) * 0x100000001b3L;
    h = fnv(h, key);
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
