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

  private static JwksCache.Keys refresh(JwksCache.KeySet keySet, JwksCache.Keys seen) throws Exception {
    return keySet.refresh(seen, 0, 0).toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
  }
}
