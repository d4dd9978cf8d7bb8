package dev.dockgate.proxy;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * Deterministic subsetting ({@code subset_size}): each router of the process picks among a window of a backend's
 * instances, not all of them, so that in front of many instances each router holds connections to a few (as gRPC's
 * random subsetting, Finagle's deterministic aperture and Google's deterministic subsetting do).
 *
 * <p>The instances are put on a ring in the order of a fixed 64-bit hash of their identity (the same order in every
 * process); router {@code r} of {@code R} takes the {@code N} consecutive instances from position
 * {@code floor(((seed + r/R) mod 1) * M)}. The starts are spread evenly around the ring, so each instance is in the
 * window of {@code floor} or {@code ceil} of {@code R*N/M} routers; the process's random {@code seed} starts each
 * gateway at its own point; an instance coming or going moves each window by about one instance.
 *
 * <p>One per process: made by the wiring, shared by the routers (it holds the seed, hands out router numbers, and
 * keeps which instances each router has in its windows, for the route report). Thread-safe.
 */
public final class Subsets {

  /** Where this process's routers start on each ring, in [0, 1): drawn once, kept across reloads. */
  private final double seed;
  private final int routers;
  private final AtomicInteger nextRouter = new AtomicInteger();
  /** By router number: the upstreams that published last, and the keys of the instances they hand out. */
  private final Map<Integer, Published> published = new ConcurrentHashMap<>();

  private record Published(Object owner, Set<String> keys) {
  }

  public Subsets(int routers) {
    this(routers, ThreadLocalRandom.current().nextDouble());
  }

  public Subsets(int routers, double seed) {
    this.routers = Math.max(1, routers);
    this.seed = seed;
  }

  /** The process's router count. */
  public int routers() {
    return routers;
  }

  /**
   * The number of the next router made, in [0, routers): each deployment of the routers makes exactly
   * {@link #routers} of them, so a deployment made again numbers them again from where the count wraps.
   */
  public int nextRouter() {
    return Math.floorMod(nextRouter.getAndIncrement(), routers);
  }

  /** The window of router {@code router} on {@code ring}: see {@link #window(List, int, int, int, double)}. */
  <T> List<T> window(List<T> ring, int size, int router) {
    return window(ring, size, router, routers, seed);
  }

  /** Router {@code router} (its {@code owner}, the upstreams in use) now hands out the instances of {@code keys}. */
  void publish(int router, Object owner, Set<String> keys) {
    published.put(router, new Published(owner, Set.copyOf(keys)));
  }

  /** The upstreams {@code owner} of router {@code router} let go: what it published goes unless replaced since. */
  void withdraw(int router, Object owner) {
    published.computeIfPresent(router, (r, p) -> p.owner() == owner ? null : p);
  }

  /** How many of the process's routers hand out the instance of {@code key} (see {@link Upstreams#key}). */
  public int routersWith(String key) {
    int n = 0;
    for (Published p : published.values()) {
      if (p.keys().contains(key)) {
        n++;
      }
    }
    return n;
  }

  /**
   * {@code items} in ring order: by the {@link #hash} of their {@code identity}, ties by the identity itself, so that
   * every process orders the same instances the same way.
   */
  public static <T> List<T> ring(Collection<T> items, Function<T, String> identity) {
    record Placed<T>(long hash, String identity, T item) {
    }
    List<Placed<T>> placed = new ArrayList<>(items.size());
    for (T item : items) {
      String id = identity.apply(item);
      placed.add(new Placed<>(hash(id), id, item));
    }
    placed.sort(Comparator.<Placed<T>>comparingLong(Placed::hash).thenComparing(Placed::identity));
    List<T> ordered = new ArrayList<>(placed.size());
    placed.forEach(p -> ordered.add(p.item()));
    return ordered;
  }

  /**
   * The {@code size} consecutive items of {@code ring} (wrapping around) that router {@code router} of
   * {@code routers} picks among, from position {@code floor(((seed + router/routers) mod 1) * M)}; the whole ring
   * when it has no more than {@code size}.
   */
  public static <T> List<T> window(List<T> ring, int size, int router, int routers, double seed) {
    int m = ring.size();
    if (m <= size) {
      return ring;
    }
    double at = (seed + (double) router / routers) % 1.0;
    int start = Math.min(m - 1, (int) Math.floor(at * m));
    List<T> window = new ArrayList<>(size);
    for (int i = 0; i < size; i++) {
      window.add(ring.get((start + i) % m));
    }
    return window;
  }

  /**
   * A fixed 64-bit hash of {@code identity}: FNV-1a over its characters, then MurmurHash3's finalizer, so that
   * identities differing in one digit (ports, addresses) land far apart on the ring. The same in every process.
   */
  public static long hash(String identity) {
    long h = 0xcbf29ce484222325L;
    for (int i = 0; i < identity.length(); i++) {
      h ^= identity.charAt(i);
      h *= 0x100000001b3L;
    }
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    h ^= h >>> 33;
    return h;
  }
}
