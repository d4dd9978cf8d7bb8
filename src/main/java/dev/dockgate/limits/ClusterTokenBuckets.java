package dev.dockgate.limits;

import com.github.benmanes.caffeine.cache.Cache;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * This node's part of a cluster-wide budget: per key a token bucket whose rate and burst are this node's share
 * of the route's (see {@link ClusterView#share}), decided without asking anyone on the request path. Each key
 * counts its attempts, refusals and the tokens its bucket let go unused (it was full); every
 * {@link ClusterLimitsVerticle#PERIOD_MS} {@link #tick} turns them into the key's {@link KeyLoad} for the peers,
 * re-shares every key from the latest view keeping the tokens a bucket holds, and hands this node its part of the
 * peers' spare tokens when it refuses the key. Requests come on the routers' event loops (one compare-and-set per
 * key, like {@link LocalTokenBuckets}); ticks on one worker at a time. Keys are bounded and expire like the local
 * ones.
 */
final class ClusterTokenBuckets implements RateLimiter {

  private static final Logger LOG = Logger.getLogger(ClusterTokenBuckets.class.getName());
  private static final long SECOND = 1_000_000_000L;
  private static final double MAX_NANOS = 0x1p60;
  /** Spare tokens are counted in thousandths on the request path (a long, added atomically). */
  private static final double MILLI = 1_000;
  /** Weight of the last period in a key's smoothed demand: about a second of memory, so arrival jitter moves shares little. */
  static final double SMOOTHING = 0.2;
  /** Demand (requests per second) below which a key is not reported: it is as good as idle. */
  static final double MIN_DEMAND = 0.01;
  /** The most keys a report names per limit, the busiest first: bounds each report (~40 bytes a key). */
  static final int MAX_REPORTED = 10_000;
  /** A share change smaller than this fraction of the old one leaves a bucket alone. */
  private static final double RESHARE_THRESHOLD = 0.01;
  /** Keys stay at least this long after their last request, so their demand is reported while it decays. */
  private static final long MIN_IDLE_NANOS = 2 * SECOND;

  private final String id;
  private final double rate;
  private final int burst;
  private final Cache<String, Entry> entries;
  /** The latest view, for keys made between ticks. */
  private volatile ClusterView view;

  ClusterTokenBuckets(String id, RateLimitConfig config, ClusterView view, LocalTokenBuckets.Maintenance maintenance) {
    this.id = id;
    this.rate = config.requestsPerSecond();
    this.burst = config.burst();
    this.view = view;
    long idle = (long) Math.min(Math.max(burst * SECOND / rate, MIN_IDLE_NANOS), MAX_NANOS);
    this.entries = maintenance.keys(config.maxKeys(), idle);
  }

  /** The name peers know this limit by: the same route and limit give the same id on every node. */
  String id() {
    return id;
  }

  /** A bucket's settings at one share of the budget; the bucket holds at least one token so a share is usable. */
  private static final class Share {
    final double fraction;
    /** Nanoseconds per token. */
    final long interval;
    /** The bucket's size in tokens. */
    final double capacity;
    /** How far ahead the bucket may be full again and still hold a token. */
    final long admitAhead;
    /** How far ahead the bucket is full again at most. */
    final long window;

    Share(double fraction, double rate, int burst) {
      this.fraction = fraction;
      this.interval = Math.max(1, Math.round(Math.min(SECOND / (rate * fraction), MAX_NANOS)));
      this.capacity = Math.max(1, burst * fraction);
      this.window = (long) Math.min(capacity * interval, MAX_NANOS);
      this.admitAhead = window - interval;
    }

    /** The tokens a bucket holds when it is full again {@code ahead} nanoseconds from now. */
    double tokens(long ahead) {
      return Math.max(0, (window - Math.max(0, ahead)) / (double) interval);
    }

    /** How far ahead a bucket holding {@code tokens} is full again. */
    long ahead(double tokens) {
      return (long) Math.min(Math.max(0, capacity - tokens) * interval, MAX_NANOS);
    }
  }

  /** A bucket in the GCRA form (the time it is full again) with the share it is measured in, swapped whole. */
  private record State(long fullAt, Share share) {
  }

  private static final class Entry {
    private static final VarHandle STATE;
    private static final VarHandle ATTEMPTS;
    private static final VarHandle REFUSALS;
    private static final VarHandle UNUSED;

    static {
      try {
        MethodHandles.Lookup lookup = MethodHandles.lookup();
        STATE = lookup.findVarHandle(Entry.class, "state", State.class);
        ATTEMPTS = lookup.findVarHandle(Entry.class, "attempts", long.class);
        REFUSALS = lookup.findVarHandle(Entry.class, "refusals", long.class);
        UNUSED = lookup.findVarHandle(Entry.class, "unused", long.class);
      } catch (ReflectiveOperationException e) {
        throw new ExceptionInInitializerError(e);
      }
    }

    private volatile State state;
    /** Requests since the last tick, accepted or not. */
    private volatile long attempts;
    /** Requests refused since the last tick. */
    private volatile long refusals;
    /** Thousandths of tokens the bucket let go while full, counted by the request that found it full. */
    private volatile long unused;
    /** Smoothed requests per second, negative until the key's first tick; read and written by ticks only. */
    private double demand = -1;
    /** Smoothed refusals per second; ticks only. */
    private double refused;

    Entry(State state) {
      this.state = state;
    }
  }

  @Override
  public Decision tryAcquire(String key, long nowNanos) {
    Entry entry = entries.getIfPresent(key);
    if (entry == null) {
      entry = entries.get(key, k -> new Entry(new State(nowNanos, share(view.share(id, k, 0)))));
    }
    Entry.ATTEMPTS.getAndAdd(entry, 1L);
    while (true) {
      State state = entry.state;
      Share share = state.share;
      long ahead = state.fullAt - nowNanos;
      if (ahead > share.admitAhead) {
        Entry.REFUSALS.getAndAdd(entry, 1L);
        long retryAfter = Math.max(1, ceilSeconds(ahead - share.admitAhead));
        return new Decision(false, burst, 0, ceilSeconds(ahead), retryAfter);
      }
      long after = Math.max(0, ahead) + share.interval;
      if (Entry.STATE.compareAndSet(entry, state, new State(nowNanos + after, share))) {
        if (ahead < 0) {
          // Full since fullAt: the tokens of that time went unused.
          Entry.UNUSED.getAndAdd(entry, (long) Math.min(-ahead * MILLI / share.interval, MAX_NANOS));
        }
        return new Decision(true, burst, (int) (Math.max(0, share.window - after) / share.interval),
            ceilSeconds(after), 0);
      }
    }
  }

  private Share share(double fraction) {
    return new Share(fraction, rate, burst);
  }

  /**
   * Closes a period of {@code elapsedSeconds}: each key's attempts and refusals become its smoothed demand and
   * refusals, each bucket takes its share from {@code next} and its part of the peers' spare tokens, and the keys
   * with demand (or with spare tokens that peers refusing them can use) are returned, at most
   * {@link #MAX_REPORTED}, for the peers.
   */
  Map<String, KeyLoad> tick(long nowNanos, double elapsedSeconds, ClusterView next) {
    view = next;
    double seconds = Math.max(elapsedSeconds, 1e-3);
    boolean fine = LOG.isLoggable(Level.FINE);
    Map<String, KeyLoad> report = new HashMap<>();
    for (Map.Entry<String, Entry> item : entries.asMap().entrySet()) {
      String key = item.getKey();
      Entry entry = item.getValue();
      double attempts = (long) Entry.ATTEMPTS.getAndSet(entry, 0L) / seconds;
      double refusals = (long) Entry.REFUSALS.getAndSet(entry, 0L) / seconds;
      // A key's first period sets its figures outright: a new key's shares settle in one period, not several.
      boolean first = entry.demand < 0;
      entry.demand = first ? attempts : entry.demand * (1 - SMOOTHING) + SMOOTHING * attempts;
      entry.refused = first ? refusals : entry.refused * (1 - SMOOTHING) + SMOOTHING * refusals;
      Share before = entry.state.share;
      double spare = unusedUntil(entry, nowNanos) + reshare(entry, next.share(id, key, entry.demand), nowNanos);
      // At most what the bucket could have let go in the period: a late tick hands out no more than it should.
      spare = Math.min(spare, before.capacity + rate * before.fraction * seconds);
      double taken = next.spare(id, key, entry.refused);
      if (taken > 0) {
        give(entry, taken, nowNanos);
      }
      // A key in use is reported with its spare (the peers that refuse it next take it); an idle one only when
      // peers refuse it.
      KeyLoad peers = next.peerLoad(id, key);
      if (entry.demand >= MIN_DEMAND || spare > 0 && peers.refused() > 0) {
        report.put(key, new KeyLoad(entry.demand, entry.refused, spare));
      }
      if (fine) {
        State state = entry.state;
        LOG.fine(String.format("%s %s: demand %.2f/s refused %.2f/s (peers %.2f/s, %.2f/s), share %.4f, %.2f tokens;"
            + " %.2f spare, %.2f taken of the peers' %.2f (%.3f s)", id, key, entry.demand, entry.refused,
            peers.demand(), peers.refused(), state.share.fraction, state.share.tokens(state.fullAt - nowNanos), spare,
            taken, peers.spare(), seconds));
      }
    }
    return report.size() <= MAX_REPORTED ? report : busiest(report);
  }

  /** The tokens a bucket let go unused since the last tick; a bucket full now is counted up to now. */
  private static double unusedUntil(Entry entry, long now) {
    while (true) {
      State state = entry.state;
      long overflow = now - state.fullAt;
      if (overflow <= 0) {
        break;
      }
      // Still full: it is full from now on, and the requests that find it so count from here.
      if (Entry.STATE.compareAndSet(entry, state, new State(now, state.share))) {
        Entry.UNUSED.getAndAdd(entry, (long) Math.min(overflow * MILLI / state.share.interval, MAX_NANOS));
        break;
      }
    }
    return (long) Entry.UNUSED.getAndSet(entry, 0L) / MILLI;
  }

  /**
   * Moves a bucket to a new share keeping its tokens (up to the new size), so a change creates no budget; returns
   * the tokens it could not keep.
   */
  private double reshare(Entry entry, double fraction, long now) {
    while (true) {
      State state = entry.state;
      Share old = state.share;
      if (Math.abs(fraction - old.fraction) <= RESHARE_THRESHOLD * old.fraction) {
        return 0;
      }
      Share next = share(fraction);
      double tokens = old.tokens(state.fullAt - now);
      double kept = Math.min(tokens, next.capacity);
      if (Entry.STATE.compareAndSet(entry, state, new State(now + next.ahead(kept), next))) {
        return tokens - kept;
      }
    }
  }

  /** Adds peers' spare tokens to a bucket, up to its size. */
  private static void give(Entry entry, double tokens, long now) {
    while (true) {
      State state = entry.state;
      Share share = state.share;
      double held = share.tokens(state.fullAt - now);
      if (Entry.STATE.compareAndSet(entry, state, new State(now + share.ahead(held + tokens), share))) {
        return;
      }
    }
  }

  private static Map<String, KeyLoad> busiest(Map<String, KeyLoad> report) {
    List<Map.Entry<String, KeyLoad>> all = new ArrayList<>(report.entrySet());
    all.sort((a, b) -> Double.compare(b.getValue().demand(), a.getValue().demand()));
    Map<String, KeyLoad> kept = new HashMap<>();
    for (Map.Entry<String, KeyLoad> e : all.subList(0, MAX_REPORTED)) {
      kept.put(e.getKey(), e.getValue());
    }
    return kept;
  }

  private static long ceilSeconds(long nanos) {
    return (nanos + SECOND - 1) / SECOND;
  }

  /** This node's current fraction of a key's budget, or -1 when the key is not held; for tests. */
  double fraction(String key) {
    Entry entry = entries.getIfPresent(key);
    return entry == null ? -1 : entry.state.share.fraction;
  }

  /** How many keys are held, expired ones not yet removed included; for tests. */
  long keys() {
    return entries.estimatedSize();
  }

  /** Runs pending maintenance on the calling thread; for tests. */
  void settle() {
    entries.cleanUp();
  }
}
