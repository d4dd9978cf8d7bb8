package dev.dockgate.resilience;

import dev.dockgate.config.CircuitBreakerConfig;
import io.vertx.core.Vertx;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One circuit breaker per backend instance, shared by every router instance, so that "open after
 * five failures" counts the instance's failures whichever event loop saw them. The breakers are
 * thread-safe (vertx-circuit-breaker synchronises its state) and call back on the caller's context.
 * Reference-counted: the last router to let go of an instance closes its breaker.
 */
public final class BreakerRegistry {

  /**
   * {@code said}: which of the instance's once-only WARNINGs are out (an answer head too large for the gateway, a failed
   * TLS handshake: bits the proxy defines); one each per instance for the process, whichever router saw it, across
   * reloads (kept while the instance is known).
   */
  private record Entry(Breaker breaker, CircuitBreakerConfig config, int users, long sinceNanos,
      AtomicInteger said) {
  }

  private final ConcurrentHashMap<String, Outliers> outliers = new ConcurrentHashMap<>();

  private final Vertx vertx;
  private final ConcurrentHashMap<String, Entry> entries = new ConcurrentHashMap<>();

  public BreakerRegistry(Vertx vertx) {
    this.vertx = vertx;
  }

  /**
   * The breaker of {@code key}, created on first use. Pair with {@link #release}. When the
   * settings changed (a reload), the instance gets a new breaker with them, starting closed;
   * requests in flight finish on the old one.
   */
  public Breaker acquire(String key, CircuitBreakerConfig config) {
    return entries.compute(key, (k, e) -> {
      if (e == null) {
        return new Entry(Breakers.create(vertx, k, config), config, 1, System.nanoTime(), new AtomicInteger());
      }
      if (!e.config().equals(config)) {
        e.breaker().circuit().close();
        return new Entry(Breakers.create(vertx, k, config), config, e.users() + 1, e.sinceNanos(), e.said());
      }
      return new Entry(e.breaker(), config, e.users() + 1, e.sinceNanos(), e.said());
    }).breaker();
  }

  /**
   * When {@code key} was first acquired (System.nanoTime), i.e. when the gateway first saw the
   * instance; kept across config reloads, which acquire before they release. Now when unknown.
   */
  public long since(String key) {
    Entry entry = entries.get(key);
    return entry == null ? System.nanoTime() : entry.sinceNanos();
  }

  /**
   * Which once-only WARNINGs have been said for {@code key} (an instance held through {@link #acquire}; bits the
   * proxy defines): shared by every router instance and kept across reloads, so each line is said once per instance
   * while the gateway knows it, not once per router and again after each reload.
   */
  public AtomicInteger said(String key) {
    Entry entry = entries.get(key);
    return entry == null ? new AtomicInteger() : entry.said();
  }

  public void release(String key) {
    entries.computeIfPresent(key, (k, e) -> {
      if (e.users() > 1) {
        return new Entry(e.breaker(), e.config(), e.users() - 1, e.sinceNanos(), e.said());
      }
      e.breaker().circuit().close();
      outliers.remove(key);
      return null;
    });
  }

  /** The outlier detection of {@code key} (an instance held through {@link #acquire}), made with {@code config}. */
  public Outliers outliers(String key, dev.dockgate.config.OutlierConfig config) {
    return outliers.compute(key, (k, o) -> o != null && o.config().equals(config) ? o : new Outliers(k, config));
  }

  /** The state of every breaker in use, by key (backend/container-name/short-id); safe from any thread. */
  public java.util.Map<String, io.vertx.circuitbreaker.CircuitBreakerState> states() {
    java.util.Map<String, io.vertx.circuitbreaker.CircuitBreakerState> states = new java.util.TreeMap<>();
    entries.forEach((key, entry) -> states.put(key, entry.breaker().state()));
    return states;
  }

  int size() {
    return entries.size();
  }
}
