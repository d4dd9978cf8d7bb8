package dev.dockgate.limits;

import com.github.benmanes.caffeine.cache.Cache;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * This node's part of a cluster-wide budget: per key a token bucket whose rate and burst are this node's share
 * of the route's (see {@link ClusterView#share}), decided without asking anyone on the request path. Each key
 * counts its attempts; every {@link ClusterLimitsVerticle#PERIOD_MS} {@link #tick} turns them into a demand (requests
 * per second, smoothed) that is reported to the peers and re-shares every key from the latest view, keeping the
 * tokens a bucket holds. Requests come on the routers' event loops (one compare-and-set per key, like
 * {@link LocalTokenBuckets}); ticks on one worker at a time. Keys are bounded and expire like the local ones.
 */
final class ClusterTokenBuckets implements RateLimiter {

  private static final long SECOND = 1_000_000_000L;
  private static final double MAX_NANOS = 0x1p60;
  /** Weight of the last period in a key's smoothed demand: about a second of memory, so arrival jitter moves shares little. */
  static final double SMOOTHING = 0.2;
  /** Demand (requests per second) below which a key is not reported: it is as good as idle. */
  static final double MIN_DEMAND = 0.01;
  /** The most keys a report names per limit, the busiest first: bounds each report (~30 bytes a key). */
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
  }

  /** A bucket in the GCRA form (the time it is full again) with the share it is measured in, swapped whole. */
  private record State(long fullAt, Share share) {
  }

  private static final class Entry {
    private static final VarHandle STATE;
    private static final VarHandle ATTEMPTS;

    static {
      try {
        MethodHandles.Lookup lookup = MethodHandles.lookup();
        STATE = lookup.findVarHandle(Entry.class, "state", State.class);
        ATTEMPTS = lookup.findVarHandle(Entry.class, "attempts", long.class);
      } catch (ReflectiveOperationException e) {
        throw new ExceptionInInitializerError(e);
      }
    }

    private volatile State state;
    /** Requests since the last tick, accepted or not. */
    private volatile long attempts;
    /** Smoothed requests per second, negative until the key's first tick; read and written by ticks only. */
    private double demand = -1;

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
      long ahead = Math.max(0, state.fullAt - nowNanos);
      if (ahead > share.admitAhead) {
        long retryAfter = Math.max(1, ceilSeconds(ahead - share.admitAhead));
        return new Decision(false, burst, 0, ceilSeconds(ahead), retryAfter);
      }
      long after = ahead + share.interval;
      if (Entry.STATE.compareAndSet(entry, state, new State(nowNanos + after, share))) {
        return new Decision(true, burst, (int) (Math.max(0, share.window - after) / share.interval),
            ceilSeconds(after), 0);
      }
    }
  }

  private Share share(double fraction) {
    return new Share(fraction, rate, burst);
  }

  /**
   * Closes a period of {@code elapsedSeconds}: each key's attempts become its demand, each bucket takes its share
   * from {@code next}, and the keys with demand are returned (at most {@link #MAX_REPORTED}) for the peers.
   */
  Map<String, Double> tick(long nowNanos, double elapsedSeconds, ClusterView next) {
    view = next;
    Map<String, Double> report = new HashMap<>();
    for (Map.Entry<String, Entry> item : entries.asMap().entrySet()) {
      Entry entry = item.getValue();
      long attempts = (long) Entry.ATTEMPTS.getAndSet(entry, 0L);
      double measured = attempts / Math.max(elapsedSeconds, 1e-3);
      // A key's first period sets its demand outright: a new key's shares settle in one period, not several.
      entry.demand = entry.demand < 0 ? measured : entry.demand * (1 - SMOOTHING) + SMOOTHING * measured;
      if (entry.demand >= MIN_DEMAND) {
        report.put(item.getKey(), entry.demand);
      }
      reshare(entry, next.share(id, item.getKey(), entry.demand), nowNanos);
    }
    return report.size() <= MAX_REPORTED ? report : busiest(report);
  }

  /** Moves a bucket to a new share keeping its tokens (up to the new size), so a change creates no budget. */
  private void reshare(Entry entry, double fraction, long now) {
    while (true) {
      State state = entry.state;
      Share old = state.share;
      if (Math.abs(fraction - old.fraction) <= RESHARE_THRESHOLD * old.fraction) {
        return;
      }
      Share next = share(fraction);
      long ahead = Math.max(0, state.fullAt - now);
      double tokens = Math.max(0, (old.window - ahead) / (double) old.interval);
      double kept = Math.min(tokens, next.capacity);
      long nextAhead = (long) Math.min((next.capacity - kept) * next.interval, MAX_NANOS);
      if (Entry.STATE.compareAndSet(entry, state, new State(now + nextAhead, next))) {
        return;
      }
    }
  }

  private static Map<String, Double> busiest(Map<String, Double> report) {
    List<Map.Entry<String, Double>> all = new ArrayList<>(report.entrySet());
    all.sort(Map.Entry.<String, Double>comparingByValue().reversed());
    Map<String, Double> kept = new HashMap<>();
    for (Map.Entry<String, Double> e : all.subList(0, MAX_REPORTED)) {
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
