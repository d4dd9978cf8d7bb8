package dev.dockgate.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.dockgate.testing.Tokens;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What a rotated key set of 100 RSA-4096 keys costs a router's event loop: every route there takes the new keys on
 * its next token. The keys are parsed once per set, on a worker, and shared by every route and router; a route only
 * makes its own signature objects of them. Before, each route on each router parsed the whole set on its event loop
 * (about 10 ms each here: 20 routes held the loop for 200 ms or more).
 */
@Timeout(120)
class JwtVerifierCostTest {

  static final int ROUTES = 20;

  static String set(KeyPair key, String prefix) {
    JsonArray keys = new JsonArray();
    for (int i = 0; i < JwksCache.MAX_KEYS; i++) {
      keys.add(Tokens.jwk(key, prefix + i, "RS256"));
    }
    return new JsonObject().put("keys", keys).encode();
  }

  @Test
  void aRotatedSetOfAHundredRsa4096KeysCostsEachRouteLittleOnItsEventLoop() throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
    generator.initialize(4096);
    KeyPair key = generator.generateKeyPair();
    Vertx vertx = Vertx.vertx();
    try {
      AtomicReference<String> answer = new AtomicReference<>(set(key, "a"));
      HttpServer server = vertx.createHttpServer().requestHandler(request -> request.response().end(answer.get()))
          .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      String url = "http://127.0.0.1:" + server.actualPort() + "/keys";
      JwksCache cache = new JwksCache(vertx, vertx.getOrCreateContext());
      JwtAuthConfig config = new JwtAuthConfig("Authorization", List.of(), new JwtAuthConfig.Jwks(url, 300_000, 0), null,
          List.of(), 30, Map.of(), List.of(), Map.of());
      Context router = vertx.getOrCreateContext();
      List<JwtAuth> routes = new ArrayList<>();
      for (int i = 0; i < ROUTES; i++) {
        routes.add(new JwtAuth(cache, config));
      }
      JwksCache.KeySet keySet = cache.keySet(url);
      JwksCache.Keys first = keySet.refresh(JwksCache.Keys.NONE, 0, 0).toCompletionStage().toCompletableFuture()
          .get(30, TimeUnit.SECONDS);
      assertEquals(JwksCache.MAX_KEYS, first.keys().size());
      // warm-up: every route takes the first set, and the JIT compiles the path
      assertEquals(0, cpuMsOfEveryRoute(router, routes, Tokens.sign("RS256", key.getPrivate(), Tokens.claims("a"), "a7"))[1]);
      answer.set(set(key, "b"));
      keySet.refresh(first, 0, 0).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      long[] rotated = cpuMsOfEveryRoute(router, routes, Tokens.sign("RS256", key.getPrivate(), Tokens.claims("b"), "b7"));
      // the yardstick, on the same thread in the same run: parsing the set once, as each route did before
      double parse = parseCpuMs(router, first.keys());
      System.out.printf("JwtVerifierCostTest: %d routes took a rotated set of %d RSA-4096 keys in %d ms of their event"
          + " loop's CPU time; one parse of the set takes %.1f ms%n", ROUTES, JwksCache.MAX_KEYS, rotated[0], parse);
      assertEquals(0, rotated[1], "every route passes the token signed with a key of the new set");
      // Each route made its verifier of the keys the cache parsed once, not of its own parse of the set (the CPU
      // figures above are printed for the record: 14-24 ms since, 82-94 ms when each route parsed the set).
      List<io.vertx.ext.auth.impl.jose.JWK> shared = keySet.current().parsed();
      assertEquals(JwksCache.MAX_KEYS, shared.size());
      for (JwtAuth route : routes) {
        assertSame(shared, route.setKeysInUse(), "every route uses the set's one parse");
      }
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  /** On {@code router}: the least CPU time (ms) of five parses of {@code keys}. */
  static double parseCpuMs(Context router, List<JsonObject> keys) throws Exception {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    CompletableFuture<Double> result = new CompletableFuture<>();
    router.runOnContext(v -> {
      long least = Long.MAX_VALUE;
      for (int round = 0; round < 5; round++) {
        long start = threads.getCurrentThreadCpuTime();
        for (JsonObject key : keys) {
          new io.vertx.ext.auth.impl.jose.JWK(key);
        }
        least = Math.min(least, threads.getCurrentThreadCpuTime() - start);
      }
      result.complete(least / 1e6);
    });
    return result.get(60, TimeUnit.SECONDS);
  }

  /** On {@code router}: the CPU time (ms) of checking {@code token} on every route, and how many did not pass. */
  static long[] cpuMsOfEveryRoute(Context router, List<JwtAuth> routes, String token) throws Exception {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    CompletableFuture<long[]> result = new CompletableFuture<>();
    router.runOnContext(v -> {
      long start = threads.getCurrentThreadCpuTime();
      long refused = 0;
      for (JwtAuth route : routes) {
        JwtAuth.Outcome outcome = route.authenticate("Bearer " + token).result();
        if (outcome == null || !outcome.passed()) {
          refused++;
        }
      }
      result.complete(new long[] {(threads.getCurrentThreadCpuTime() - start) / 1_000_000, refused});
    });
    return result.get(60, TimeUnit.SECONDS);
  }
}
