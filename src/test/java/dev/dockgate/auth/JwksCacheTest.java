package dev.dockgate.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.dockgate.testing.Tokens;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.security.KeyPair;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A key set fetched again from a real key server on 127.0.0.1. */
@Timeout(60)
class JwksCacheTest {

  static final KeyPair KEY = Tokens.rsa();

  static String set(String... kids) {
    JsonArray keys = new JsonArray();
    for (String kid : kids) {
      keys.add(Tokens.jwk(KEY, kid, "RS256"));
    }
    return new JsonObject().put("keys", keys).encode();
  }

  @Test
  void aSetFetchedAgainUnchangedKeepsItsKeysSoNoVerifierIsRebuilt() throws Exception {
    // every route on every router rebuilds its verifier when the keys it holds are not the set's; a token with an
    // unknown kid has the set fetched again every jwks_min_refresh_ms, so an unchanged set must stay the same keys
    Vertx vertx = Vertx.vertx();
    try {
      AtomicReference<String> answer = new AtomicReference<>(set("k1", "k2"));
      HttpServer server = vertx.createHttpServer().requestHandler(request -> request.response().end(answer.get()))
          .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      JwksCache cache = new JwksCache(vertx, vertx.getOrCreateContext());
      JwksCache.KeySet keySet = cache.keySet("http://127.0.0.1:" + server.actualPort() + "/keys");
      JwksCache.Keys first = refresh(keySet, JwksCache.Keys.NONE);
      assertEquals(2, first.keys().size());
      JwksCache.Keys again = refresh(keySet, first);
      assertNotSame(first, again, "fetched again: younger");
      assertSame(first.keys(), again.keys(), "the same keys");
      answer.set(set("k1", "k3"));
      JwksCache.Keys rotated = refresh(keySet, again);
      assertNotSame(again.keys(), rotated.keys());
      assertEquals("k3", rotated.keys().get(1).getString("kid"));
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void theKeyServersMaxAgeIsReadAndBounded() {
    Object[][] cases = { // Cache-Control, Age, fresh for (ms; -1 when not said)
        {null, null, -1L}, {"public", null, -1L}, {"max-age=600", null, 600_000L}, {"Public, Max-Age=600", null, 600_000L},
        {"max-age=\"60\"", null, 60_000L}, {"max-age=600", "100", 500_000L}, {"max-age=60", "100", 0L},
        {"max-age=600, no-cache", null, 0L}, {"no-store", null, 0L}, {"max-age=-1", null, -1L}, {"max-age=abc", null, -1L},
        {"max-age=99999999999", null, 86_400_000L}, {"s-maxage=60", null, -1L}};
    for (Object[] c : cases) {
      assertEquals(c[2], JwksCache.maxAgeMs((String) c[0], (String) c[1]), c[0] + " / " + c[1]);
    }
    assertEquals(300_000, new JwksCache.Keys(java.util.List.of(), java.util.List.of(), 0, -1).refreshAfterMs(300_000, 10_000), "none: refresh_ms");
    assertEquals(600_000, new JwksCache.Keys(java.util.List.of(), java.util.List.of(), 0, 600_000).refreshAfterMs(300_000, 10_000));
    assertEquals(10_000, new JwksCache.Keys(java.util.List.of(), java.util.List.of(), 0, 0).refreshAfterMs(300_000, 10_000), "floor: min_refresh");
    assertEquals(1_000, new JwksCache.Keys(java.util.List.of(), java.util.List.of(), 0, 0).refreshAfterMs(300_000, 0), "floor: a second");
    assertEquals(86_400_000, new JwksCache.Keys(java.util.List.of(), java.util.List.of(), 0, Long.MAX_VALUE).refreshAfterMs(300_000, 0));
  }

  static dev.dockgate.config.RouteConfig jwtRoute(String prefix, String url) {
    JwtAuthConfig jwt = new JwtAuthConfig("Authorization", java.util.List.of(),
        new JwtAuthConfig.Jwks(url, 300_000, 10_000), null, java.util.List.of(), 30, java.util.Map.of(),
        java.util.List.of(), java.util.Map.of());
    return new dev.dockgate.config.RouteConfig(prefix, "app", 30_000, false, java.util.List.of(), null,
        dev.dockgate.config.RetryConfig.NONE, java.util.Map.of(AuthFeature.KEY, new AuthParser.Auth(null, jwt)));
  }

  @Test
  void aReloadDropsTheSetsNoRouteNamesAnyMore() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      JwksCache cache = new JwksCache(vertx, vertx.getOrCreateContext());
      JwksCache.KeySet kept = cache.keySet("http://127.0.0.1:1/kept");
      cache.keySet("http://127.0.0.1:1/gone");
      cache.retain(java.util.List.of(jwtRoute("/a", "http://127.0.0.1:1/kept"), jwtRoute("/b", "http://127.0.0.1:1/kept"),
          new dev.dockgate.config.RouteConfig("/open", "app", 30_000)));
      assertEquals(java.util.Set.of("http://127.0.0.1:1/kept"), cache.urls());
      assertSame(kept, cache.keySet("http://127.0.0.1:1/kept"), "a set still named is the same set");
      cache.retain(java.util.List.of());
      assertEquals(java.util.Set.of(), cache.urls());
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  /**
   * A key set of a megabyte, its members all checked (and each refused: an RSA modulus of one), is read and checked
   * off the owner's event loop: it is one of the process's event loops, which may also serve requests. Before, the
   * owner spent a second or more on each fetch, checking 30,000 members.
   */
  @Test
  void aLargeSetIsCheckedOffTheEventLoop() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      JsonArray keys = new JsonArray().add(Tokens.jwk(KEY, "good", "RS256"));
      for (int i = 0; keys.encode().length() < JwksCache.MAX_BODY_BYTES - 100_000; i++) {
        for (int j = 0; j < 1000; j++) {
          keys.add(new JsonObject().put("kty", "RSA").put("kid", "k" + i + "." + j).put("n", "AQ").put("e", "AQ"));
        }
      }
      String body = new JsonObject().put("keys", keys).encode();
      HttpServer server = vertx.createHttpServer().requestHandler(request -> request.response().end(body))
          .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      io.vertx.core.Context owner = vertx.getOrCreateContext();
      JwksCache cache = new JwksCache(vertx, owner);
      JwksCache.KeySet keySet = cache.keySet("http://127.0.0.1:" + server.actualPort() + "/keys");
      refresh(keySet, JwksCache.Keys.NONE); // warmed up: the JIT compiles the check
      // The owner's thread's CPU time, not the wall time of its tasks: the machine's load does not count.
      java.util.concurrent.CompletableFuture<Thread> thread = new java.util.concurrent.CompletableFuture<>();
      owner.runOnContext(v -> thread.complete(Thread.currentThread()));
      java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
      long id = thread.get(10, TimeUnit.SECONDS).getId();
      long before = threads.getThreadCpuTime(id);
      JwksCache.Keys seen = keySet.current();
      for (int round = 0; round < 3; round++) {
        seen = refresh(keySet, seen);
        assertEquals(1, seen.keys().size());
      }
      long ms = (threads.getThreadCpuTime(id) - before) / 1_000_000;
      org.junit.jupiter.api.Assertions.assertTrue(ms < 300, "the owner's event loop spent " + ms
          + " ms of CPU time on three fetches");
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  /**
   * An EC key whose point is not on its curve makes no key: left out, as a key that cannot verify anything. Before,
   * the JDK's key factory took it (it checks no point), and the set kept it.
   */
  @Test
  void anEcKeyWhosePointIsNotOnItsCurveIsLeftOut() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      JsonObject good = Tokens.jwk(Tokens.ec(), "good", "ES256");
      JsonObject off = good.copy().put("kid", "off").put("y", good.getString("x"));
      String body = new JsonObject().put("keys", new JsonArray().add(off).add(good)).encode();
      HttpServer server = vertx.createHttpServer().requestHandler(request -> request.response().end(body))
          .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      JwksCache cache = new JwksCache(vertx, vertx.getOrCreateContext());
      JwksCache.KeySet keySet = cache.keySet("http://127.0.0.1:" + server.actualPort() + "/keys");
      JwksCache.Keys keys = refresh(keySet, JwksCache.Keys.NONE);
      assertEquals(java.util.List.of("good"), keys.keys().stream().map(k -> k.getString("kid")).toList());
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  private static JwksCache.Keys refresh(JwksCache.KeySet keySet, JwksCache.Keys seen) throws Exception {
    return keySet.refresh(seen, 0, 0).toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
  }
}
