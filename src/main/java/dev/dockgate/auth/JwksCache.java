package dev.dockgate.auth;

import dev.dockgate.HttpClients;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.impl.jose.JWK;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The process's JWKS key sets, one per URL, shared by every route on every router and kept across
 * config reloads. A set is fetched and replaced only on the owner context (the wiring's), so a URL
 * has at most one fetch under way for the whole process; routers read its keys as an immutable
 * snapshot from their own event loops and ask for fetches, which answer on the asking context.
 */
public final class JwksCache {

  private static final Logger LOG = Logger.getLogger(JwksCache.class.getName());
  /** System.nanoTime() of "never" (nanoTime may be negative, so not 0). */
  private static final long LONG_AGO = Long.MIN_VALUE / 2;
  private static final long CONNECT_TIMEOUT_MS = 5_000;
  /** A key server that trickles its answer cannot hold the requests waiting for it longer than this. */
  private static final long FETCH_TIMEOUT_MS = 10_000;
  /** A longer answer is refused unread (a set of 100 RSA-4096 keys with certificate chains is about 600 KB). */
  static final int MAX_BODY_BYTES = 1024 * 1024;
  /**
   * Signing keys kept of one set: every router parses them all, and a token without a kid is tried against each
   * key of its algorithm, so a set of thousands would hold the event loops for seconds.
   */
  static final int MAX_KEYS = 100;
  /** Left-out keys named in one log line at most. */
  private static final int NAMED = 10;

  /** The least time the key server's max-age may keep a set before it is fetched again (and jwks_min_refresh_ms). */
  static final long MIN_MAX_AGE_MS = 1_000;
  /** The most: a longer max-age is cut to a day (an unknown kid still has the set fetched at once). */
  static final long MAX_MAX_AGE_MS = 86_400_000;

  /**
   * The usable keys of one fetch (immutable, shared across event loops; the same list as the fetch before when the
   * set did not change), the same keys parsed ({@code parsed}, in the same order: parsed once per set on a worker and
   * shared by every route on every router, which only make their own signature objects of them; a parsed key is never
   * changed after it is made), when they were fetched, and how long the key server said they stay fresh
   * ({@code Cache-Control: max-age}, in ms; -1 when it did not say).
   */
  public record Keys(List<JsonObject> keys, List<JWK> parsed, long fetchedAtNanos, long maxAgeMs) {
    static final Keys NONE = new Keys(List.of(), List.of(), LONG_AGO, -1);

    public long ageMs() {
      return elapsedMs(fetchedAtNanos);
    }

    /**
     * How old these keys may grow before they are fetched again: the key server's max-age, bounded below by
     * {@code minRefreshMs} and {@link #MIN_MAX_AGE_MS} and above by {@link #MAX_MAX_AGE_MS}; without one the route's
     * {@code refreshMs}.
     */
    public long refreshAfterMs(long refreshMs, long minRefreshMs) {
      return maxAgeMs < 0 ? refreshMs
          : Math.min(MAX_MAX_AGE_MS, Math.max(maxAgeMs, Math.max(minRefreshMs, MIN_MAX_AGE_MS)));
    }
  }

  private final Context owner;
  private final HttpClient client;
  private final ConcurrentHashMap<String, KeySet> sets = new ConcurrentHashMap<>();

  /** {@code owner}: the context every fetch runs on and every set's state is changed on. */
  public JwksCache(Vertx vertx, Context owner) {
    this.owner = owner;
    this.client = HttpClients.create(vertx, new HttpClientOptions().setConnectTimeout((int) CONNECT_TIMEOUT_MS)
        .setIdleTimeout((int) CONNECT_TIMEOUT_MS).setIdleTimeoutUnit(TimeUnit.MILLISECONDS), LOG);
  }

  /** The key set of {@code url}: the same object for the process's life, whatever the reloads. Any thread. */
  public KeySet keySet(String url) {
    return sets.computeIfAbsent(url, KeySet::new);
  }

  /**
   * Drops the sets of the URLs no route of {@code routes} names (after a reload): their keys are not kept for good, and
   * a later config naming the URL again fetches it anew. Routers still on the old config keep using the set they hold
   * until they swap. Any thread.
   */
  public void retain(List<dev.dockgate.config.RouteConfig> routes) {
    Set<String> urls = new HashSet<>();
    for (dev.dockgate.config.RouteConfig route : routes) {
      AuthParser.Auth auth = route.block(AuthFeature.KEY, AuthParser.Auth.class);
      if (auth != null && auth.jwt() != null && auth.jwt().jwks() != null) {
        urls.add(auth.jwt().jwks().url());
      }
    }
    sets.keySet().retainAll(urls);
  }

  /** The URLs whose sets are held; for tests. */
  Set<String> urls() {
    return Set.copyOf(sets.keySet());
  }

  public Future<Void> close() {
    return client.close();
  }

  /** One URL's keys. {@link #current()} and the hints are lock-free reads; changes happen on the owner. */
  public final class KeySet {

    private final String url;
    private volatile Keys current = Keys.NONE;
    private volatile long lastAttempt = LONG_AGO;
    private volatile boolean fetching;
    /** Owner context only. */
    private Future<Keys> inFlight;
    private boolean failing;

    private KeySet(String url) {
      this.url = url;
    }

    public String url() {
      return url;
    }

    /** The keys of the last good fetch ({@link Keys#NONE} before one). */
    public Keys current() {
      return current;
    }

    /** Whether a fetch may start or is under way: otherwise asking for one would only return the current keys. */
    public boolean worthAsking(long minRefreshMs) {
      return fetching || elapsedMs(lastAttempt) >= minRefreshMs;
    }

    /** Whether no fetch is under way and one may start now (the keys grew old: refresh in the background). */
    public boolean mayStart(long minRefreshMs) {
      return !fetching && elapsedMs(lastAttempt) >= minRefreshMs;
    }

    /** Starts the first fetch of this URL, unless one was already tried. */
    public void load() {
      owner.runOnContext(v -> {
        if (inFlight == null && lastAttempt == LONG_AGO) {
          fetch();
        }
      });
    }

    /**
     * The keys after a fetch, when one is under way (joined) or allowed: the keys are still
     * {@code seen} (nobody fetched newer ones meanwhile), at least {@code olderThanMs} old, and the
     * last attempt is {@code minRefreshMs} ago or more; else the current keys at once. Never fails
     * (a failed fetch keeps the keys known); completes on the calling context.
     */
    public Future<Keys> refresh(Keys seen, long olderThanMs, long minRefreshMs) {
      Context caller = Vertx.currentContext();
      Promise<Keys> result = Promise.promise();
      owner.runOnContext(v -> decide(seen, olderThanMs, minRefreshMs).onComplete(ar -> {
        if (caller == null || caller == owner) {
          result.handle(ar);
        } else {
          caller.runOnContext(again -> result.handle(ar));
        }
      }));
      return result.future();
    }

    private Future<Keys> decide(Keys seen, long olderThanMs, long minRefreshMs) {
      if (inFlight != null) {
        return inFlight;
      }
      Keys now = current;
      if (now != seen || now.ageMs() < olderThanMs || elapsedMs(lastAttempt) < minRefreshMs) {
        return Future.succeededFuture(now);
      }
      return fetch();
    }

    private Future<Keys> fetch() {
      lastAttempt = System.nanoTime();
      fetching = true;
      RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET).setAbsoluteURI(url)
          .putHeader("accept", "application/json");
      long[] maxAge = {-1};
      Future<Keys> fetch = client.request(options)
          .compose(request -> request.send())
          .compose(response -> {
            if (response.statusCode() != 200) {
              return Future.failedFuture("answered " + response.statusCode());
            }
            maxAge[0] = maxAgeMs(response.getHeader("cache-control"), response.getHeader("age"));
            return HttpClients.body(response, MAX_BODY_BYTES);
          })
          .timeout(FETCH_TIMEOUT_MS, TimeUnit.MILLISECONDS)
          // a megabyte of members takes seconds to check: not on the owner, an event loop that may serve requests
          .compose(body -> owner.executeBlocking(() -> checked(body), false))
          .map(checked -> loaded(checked, maxAge[0]))
          .recover(this::failed);
      inFlight = fetch;
      return fetch.andThen(ar -> {
        inFlight = null;
        fetching = false;
      });
    }

    private Keys loaded(Checked checked, long maxAgeMs) {
      List<JsonObject> usable = checked.usable();
      List<String> leftOut = checked.leftOut();
      boolean changed = !usable.equals(current.keys());
      // the same list when the set is unchanged: the routers rebuild their verifiers only for other keys
      Keys keys = changed ? new Keys(List.copyOf(usable), List.copyOf(checked.parsed()), System.nanoTime(), maxAgeMs)
          : new Keys(current.keys(), current.parsed(), System.nanoTime(), maxAgeMs);
      if (failing || current == Keys.NONE) {
        LOG.info("JWKS " + url + " loaded: " + usable.size() + " signing key(s)" + (failing ? " again" : ""));
      }
      if (changed && !leftOut.isEmpty()) {
        LOG.warning("JWKS " + url + " keys left out: " + named(leftOut));
      }
      failing = false;
      current = keys;
      return keys;
    }

    private Future<Keys> failed(Throwable err) {
      if (!failing) {
        failing = true;
        Keys known = current;
        LOG.log(Level.WARNING, "JWKS " + url + " could not be loaded, keeping " + (known == Keys.NONE
            ? "no keys (bearer tokens on its routes answered 503)" : "the " + known.keys().size() + " key(s) known")
            + ": " + err.getMessage());
      }
      return Future.succeededFuture(current);
    }
  }

  /** A set's usable keys, the same parsed, and the members left out with why. */
  private record Checked(List<JsonObject> usable, List<JWK> parsed, List<String> leftOut) {
  }

  /** A key server's answer, parsed and its members checked; fails when it holds no usable key. Worker thread. */
  private static Checked checked(Buffer body) {
    Object members = body.toJsonObject().getValue("keys");
    if (!(members instanceof JsonArray list)) {
      throw new IllegalStateException("no \"keys\" list in the answer");
    }
    List<String> leftOut = new ArrayList<>();
    List<JsonObject> usable = usableKeys(list, leftOut);
    List<JWK> parsed = new ArrayList<>(usable.size());
    for (java.util.Iterator<JsonObject> keys = usable.iterator(); keys.hasNext(); ) {
      JsonObject key = keys.next();
      try {
        JWK jwk = new JWK(key);
        new io.vertx.ext.auth.impl.jose.JWS(jwk); // what each route makes of it: made once here, it cannot fail there
        parsed.add(jwk);
      } catch (RuntimeException e) {
        keys.remove(); // JwkCheck passes what the library takes: a key it refuses all the same is left out, named
        Object kid = key.getValue("kid");
        leftOut.add((kid instanceof String name ? "kid \"" + name + "\"" : "a key") + " (not taken by the verifier: "
            + e.getMessage() + ")");
      }
    }
    if (usable.isEmpty()) {
      throw new IllegalStateException("no RSA or EC signing key in the set" + (leftOut.isEmpty() ? "" : ": " + named(leftOut)));
    }
    return new Checked(usable, parsed, leftOut);
  }

  /**
   * The set's public signing keys ({@link JwkCheck}: a key set published at a URL holds public keys; a shared secret
   * there is never trusted), the first {@link #MAX_KEYS} of them; each member left out but an encryption key goes in
   * {@code leftOut} with why (the ones past the bound as one entry).
   */
  static List<JsonObject> usableKeys(JsonArray keys, List<String> leftOut) {
    List<JsonObject> usable = new ArrayList<>();
    for (int i = 0; i < keys.size(); i++) {
      if (usable.size() == MAX_KEYS) {
        leftOut.add((keys.size() - i) + " member(s) past the first " + MAX_KEYS + " signing keys");
        break;
      }
      Object key = keys.getValue(i);
      String problem = JwkCheck.problem(key);
      if (problem == null) {
        usable.add(JwkCheck.withoutCertificates((JsonObject) key));
      } else if (!problem.equals(JwkCheck.ENCRYPTION)) {
        Object kid = key instanceof JsonObject o ? o.getValue("kid") : null;
        leftOut.add((kid instanceof String name ? "kid \"" + name + "\"" : "keys[" + i + "]") + " (" + problem + ")");
      }
    }
    return usable;
  }

  private static String named(List<String> leftOut) {
    return String.join("; ", leftOut.subList(0, Math.min(NAMED, leftOut.size())))
        + (leftOut.size() > NAMED ? "; and " + (leftOut.size() - NAMED) + " more" : "");
  }

  /**
   * How long an answer stays fresh by its {@code Cache-Control} (RFC 9111 5.2.2): {@code max-age} less its
   * {@code Age} in ms, 0 for {@code no-cache} or {@code no-store} (then the floor of {@link Keys#refreshAfterMs}
   * applies), -1 when it says neither (or says it in a form not understood).
   */
  static long maxAgeMs(String cacheControl, String age) {
    if (cacheControl == null) {
      return -1;
    }
    long maxAge = -1;
    for (String directive : cacheControl.split(",")) {
      String d = directive.trim().toLowerCase(java.util.Locale.ROOT);
      if (d.equals("no-cache") || d.equals("no-store")) {
        return 0;
      }
      if (d.startsWith("max-age=")) {
        long seconds = seconds(d.substring(8));
        if (seconds >= 0) {
          maxAge = seconds;
        }
      }
    }
    if (maxAge < 0) {
      return -1;
    }
    long aged = age == null ? 0 : Math.max(0, seconds(age.trim()));
    return Math.max(0, Math.min(maxAge, MAX_MAX_AGE_MS / 1000) - aged) * 1000;
  }

  /** A delta-seconds value (digits, quoted or not), capped at a day and more; -1 when it is none. */
  private static long seconds(String text) {
    String digits = text.length() > 1 && text.startsWith("\"") && text.endsWith("\"")
        ? text.substring(1, text.length() - 1) : text;
    if (digits.isEmpty() || digits.length() > 12 || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
      return -1;
    }
    return Long.parseLong(digits);
  }

  static long elapsedMs(long since) {
    return (System.nanoTime() - since) / 1_000_000;
  }
}
