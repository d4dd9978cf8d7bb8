package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.dockgate.testing.Backends;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.TestBackend;
import dev.dockgate.testing.Tokens;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A JWKS key set on a real gateway with two routers: one fetch per URL for the whole process, keys
 * kept across config reloads even while the key server is down, and a request held for a fetch
 * that fails still answered and counted.
 */
@Timeout(120)
class JwksIT {

  @RegisterExtension
  static final Backends backends = new Backends();
  static TestBackend backend;
  static final KeyPair KEY = Tokens.rsa();

  @TempDir
  Path dir;
  Vertx idp;
  GatewayHarness gateway;
  final AtomicInteger fetches = new AtomicInteger();
  /** Connections to the key server closed (by either side). */
  final AtomicInteger closed = new AtomicInteger();
  /** Two clients, each with its own connection, which the gateway hands to its two routers in turn. */
  final HttpClient[] clients = {HttpClient.newHttpClient(), HttpClient.newHttpClient()};

  @BeforeAll
  static void start() {
    backend = backends.start("jwks");
  }

  @BeforeEach
  void startIdp() {
    idp = Vertx.vertx();
    backend.clear();
  }

  @AfterEach
  void stop() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    idp.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  /** A key server on 127.0.0.1 that counts its requests and closed connections and answers with {@code answer}. */
  HttpServer keyServer(Handler<HttpServerRequest> answer) throws Exception {
    return idp.createHttpServer().connectionHandler(connection -> connection.closeHandler(v -> closed.incrementAndGet()))
        .requestHandler(request -> {
          fetches.incrementAndGet();
          answer.handle(request);
        }).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  static Handler<HttpServerRequest> keys() {
    String set = new JsonObject().put("keys", new JsonArray().add(Tokens.jwk(KEY, "k1", "RS256"))).encode();
    return request -> request.response().putHeader("content-type", "application/json").end(set);
  }

  /** Two routes on the same key set; {@code more} adds routes. */
  static String config(int jwksPort, String more) {
    return """
        docker: {enabled: false}
        routes:
          - path_prefix: /a
            backend: app
            auth: {type: jwt, jwks_url: "http://127.0.0.1:%1$d/keys", jwks_min_refresh_ms: 0}
          - path_prefix: /b
            backend: app
            auth: {type: jwt, jwks_url: "http://127.0.0.1:%1$d/keys"}
        %2$s
        backends:
          - {name: app, targets: ["http://127.0.0.1:%3$d"]}
        """.formatted(jwksPort, more, backend.port());
  }

  HttpResponse<String> bearer(int client, String path, String token) {
    try {
      return clients[client].send(HttpRequest.newBuilder(gateway.uri(path)).timeout(Duration.ofSeconds(30))
          .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString());
    } catch (java.io.IOException | InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void keysAreFetchedOncePerUrlAndKeptAcrossAReloadWhileTheKeyServerIsDown() throws Exception {
    HttpServer jwks = keyServer(keys());
    gateway = new GatewayHarness(dir, config(jwks.actualPort(), ""), 2);
    String token = Tokens.sign("RS256", KEY.getPrivate(), Tokens.claims("alice"), "k1");
    for (int i = 0; i < 4; i++) {
      assertEquals(200, bearer(i % 2, "/a/x", token).statusCode());
      assertEquals(200, bearer(i % 2, "/b/x", token).statusCode());
    }
    assertEquals(1, fetches.get(), "one fetch for two routes on two routers");

    jwks.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    gateway.rewriteConfig(config(jwks.actualPort(), "  - {path_prefix: /open, backend: app}"));
    Poll.until(Duration.ofSeconds(5), "the new config live on both routers",
        () -> bearer(0, "/open/x", token).statusCode() == 200 && bearer(1, "/open/x", token).statusCode() == 200);
    for (int i = 0; i < 4; i++) {
      HttpResponse<String> a = bearer(i % 2, "/a/x", token);
      assertEquals(200, a.statusCode(), "keys kept across the reload: " + a.body());
      assertEquals(200, bearer(i % 2, "/b/x", token).statusCode());
    }
    assertEquals(1, fetches.get(), "a reload fetches nothing while the keys are fresh");
  }

  /**
   * A reload that leaves no route on a key set's URL drops the set: a later config that uses the URL again fetches it
   * anew. Before, the process kept every URL's set (and its keys) it had ever been given, for good.
   */
  @Test
  void aKeySetNoRouteUsesAfterAReloadIsDropped() throws Exception {
    HttpServer jwks = keyServer(keys());
    gateway = new GatewayHarness(dir, config(jwks.actualPort(), ""), 2);
    String token = Tokens.sign("RS256", KEY.getPrivate(), Tokens.claims("alice"), "k1");
    assertEquals(200, bearer(0, "/a/x", token).statusCode());
    assertEquals(1, fetches.get());
    gateway.rewriteConfig("""
        docker: {enabled: false}
        routes:
          - {path_prefix: /open, backend: app}
        backends:
          - {name: app, targets: ["http://127.0.0.1:%d"]}
        """.formatted(backend.port()));
    Poll.until(Duration.ofSeconds(5), "the config without key sets live on both routers",
        () -> bearer(0, "/a/x", token).statusCode() == 404 && bearer(1, "/a/x", token).statusCode() == 404);
    gateway.rewriteConfig(config(jwks.actualPort(), "  - {path_prefix: /open, backend: app}"));
    Poll.until(Duration.ofSeconds(5), "the key set's routes back on both routers",
        () -> bearer(0, "/a/x", token).statusCode() == 200 && bearer(1, "/b/x", token).statusCode() == 200);
    assertEquals(2, fetches.get(), "the set dropped with its last route is fetched anew");
  }

  /**
   * A key set answered with {@code Cache-Control: max-age=1} is fetched again once a second old (the floor is
   * jwks_min_refresh_ms, 0 here, and one second), although jwks_refresh_ms (5 minutes by default) has not passed.
   * Before, the gateway's own period was the only one: the second fetch never came.
   */
  @Test
  void theKeyServersMaxAgeSetsWhenTheSetIsFetchedAgain() throws Exception {
    String set = new JsonObject().put("keys", new JsonArray().add(Tokens.jwk(KEY, "k1", "RS256"))).encode();
    HttpServer jwks = keyServer(request -> request.response().putHeader("content-type", "application/json")
        .putHeader("cache-control", "public, max-age=1").end(set));
    gateway = new GatewayHarness(dir, config(jwks.actualPort(), ""), 2);
    String token = Tokens.sign("RS256", KEY.getPrivate(), Tokens.claims("alice"), "k1");
    assertEquals(200, bearer(0, "/a/x", token).statusCode());
    assertEquals(1, fetches.get());
    Poll.until(Duration.ofSeconds(8), "the set fetched again after its max-age",
        () -> bearer(1, "/a/x", token).statusCode() == 200 && fetches.get() >= 2);
  }

  @Test
  void aRequestHeldForAFetchThatFailsIsAnsweredAndCounted() throws Exception {
    List<HttpServerRequest> pending = new CopyOnWriteArrayList<>();
    HttpServer jwks = keyServer(pending::add);
    gateway = new GatewayHarness(dir, config(jwks.actualPort(), ""), 2);
    Poll.until(Duration.ofSeconds(5), "the gateway asked for the key set", () -> !pending.isEmpty());
    long before = gateway.statsTotal();
    String token = Tokens.sign("RS256", KEY.getPrivate(), Tokens.claims("alice"), "k1");
    CompletableFuture<HttpResponse<String>> held = clients[0].sendAsync(HttpRequest.newBuilder(gateway.uri("/b/x"))
        .timeout(Duration.ofSeconds(30)).header("Authorization", "Bearer " + token).build(),
        HttpResponse.BodyHandlers.ofString());
    Thread.sleep(300); // the request is now waiting for the fetch
    assertFalse(held.isDone(), "held while the key set is fetched");
    pending.forEach(request -> idp.runOnContext(v -> request.response().setStatusCode(500).end("down")));
    HttpResponse<String> response = held.get(20, TimeUnit.SECONDS);
    assertEquals(503, response.statusCode());
    assertEquals("token signing keys unavailable\n", response.body());
    assertEquals(0, backend.count());
    Poll.until(Duration.ofSeconds(5), "the 503 counted", () -> gateway.statsTotal() == before + 1);
  }

  @Test
  void aRequestHeldForAKeyServerThatNeverAnswersIsAnsweredAndCounted() throws Exception {
    HttpServer jwks = keyServer(request -> { }); // accepts, never answers
    gateway = new GatewayHarness(dir, config(jwks.actualPort(), ""), 2);
    long before = gateway.statsTotal();
    String token = Tokens.sign("RS256", KEY.getPrivate(), Tokens.claims("alice"), "k1");
    HttpResponse<String> response = bearer(1, "/a/x", token);
    assertEquals(503, response.statusCode(), response.body());
    assertEquals(0, backend.count());
    Poll.until(Duration.ofSeconds(5), "the 503 counted", () -> gateway.statsTotal() == before + 1);
  }

  /** One route per key server path: /NAME on http://127.0.0.1:PORT/NAME. */
  static String routes(int jwksPort, String... names) {
    StringBuilder routes = new StringBuilder("docker: {enabled: false}\nroutes:\n");
    for (String name : names) {
      routes.append("  - path_prefix: /").append(name).append("\n    backend: app\n")
          .append("    auth: {type: jwt, jwks_url: \"http://127.0.0.1:").append(jwksPort).append('/').append(name).append("\"}\n");
    }
    return routes + "backends:\n  - {name: app, targets: [\"http://127.0.0.1:" + backend.port() + "\"]}\n";
  }

  /** A key set holding KEY as k1, padded with a member of {@code padding} characters. */
  static String paddedKeySet(int padding) {
    return new JsonObject().put("keys", new JsonArray().add(Tokens.jwk(KEY, "k1", "RS256")))
        .put("padding", "x".repeat(padding)).encode();
  }

  @Test
  void aKeySetAnswerOfMoreThanOneMebibyteIsRefusedWhetherItsLengthIsAnnouncedOrNot() throws Exception {
    String small = paddedKeySet(900 * 1024);
    String large = paddedKeySet(1024 * 1024);
    HttpServer jwks = keyServer(request -> {
      io.vertx.core.http.HttpServerResponse response = request.response().putHeader("content-type", "application/json");
      switch (request.path()) {
        case "/small" -> response.end(small);
        case "/announced" -> response.end(large);
        default -> { // chunked, so only the bytes that come tell its size
          response.setChunked(true);
          for (int at = 0; at < large.length(); at += 64 * 1024) {
            response.write(large.substring(at, Math.min(large.length(), at + 64 * 1024)));
          }
          response.end();
        }
      }
    });
    try (dev.dockgate.testing.LoggedErrors errors = new dev.dockgate.testing.LoggedErrors()) {
      gateway = new GatewayHarness(dir, routes(jwks.actualPort(), "small", "announced", "chunked"), 2);
      String token = Tokens.sign("RS256", KEY.getPrivate(), Tokens.claims("alice"), "k1");
      assertEquals(200, bearer(0, "/small/x", token).statusCode(), "a set under the bound loads");
      for (String path : new String[] {"/announced/x", "/chunked/x"}) {
        HttpResponse<String> response = bearer(1, path, token);
        assertEquals(503, response.statusCode(), path + ": " + response.body());
        assertEquals("token signing keys unavailable\n", response.body());
      }
      assertEquals(1, backend.count());
      // what the connections cut report comes after the fetches failed: wait until the key server saw both closed
      Poll.until(Duration.ofSeconds(5), "the two refused answers' connections closed", () -> closed.get() >= 2);
      assertEquals(List.of(), errors.lines(), "a refused answer is no error");
    }
  }

  @Test
  void onlyTheFirstHundredSigningKeysOfASetAreKept() throws Exception {
    // each key of a set is parsed by every router and tried by every token without a kid: a set of thousands
    // held every event loop for seconds
    KeyPair decoy = Tokens.rsa();
    JsonArray keys = new JsonArray();
    for (int i = 0; i < 100; i++) {
      keys.add(Tokens.jwk(decoy, "d" + i, "RS256"));
    }
    keys.add(Tokens.jwk(KEY, "k1", "RS256"));
    String set = new JsonObject().put("keys", keys).encode();
    HttpServer jwks = keyServer(request -> request.response().putHeader("content-type", "application/json").end(set));
    gateway = new GatewayHarness(dir, routes(jwks.actualPort(), "many"), 2);
    HttpResponse<String> beyond = bearer(0, "/many/x", Tokens.sign("RS256", KEY.getPrivate(), Tokens.claims("alice"), "k1"));
    assertEquals(401, beyond.statusCode(), beyond.body());
    assertEquals("no key for this token\n", beyond.body());
    assertEquals(200, bearer(1, "/many/x", Tokens.sign("RS256", decoy.getPrivate(), Tokens.claims("bob"), "d99"))
        .statusCode());
  }

  @Test
  void keysWhoseCurveTypeOrOperationsDoNotFitTheirAlgorithmAreLeftOutQuietly() throws Exception {
    KeyPair p384 = Tokens.ec("secp384r1");
    KeyPair p256 = Tokens.ec();
    String set = new JsonObject().put("keys", new JsonArray()
        .add(Tokens.jwk(p384, "p384-as-es256", "ES256"))          // ES256 is P-256 (RFC 7518 3.4)
        .add(Tokens.jwk(KEY, "rsa-as-es256", "ES256"))
        .add(Tokens.jwk(KEY, "rsa-as-hs256", "HS256"))
        .add(Tokens.jwk(KEY, "encrypt-only", "RS256").put("key_ops", new JsonArray().add("encrypt")))
        .add(new JsonObject().put("kty", "RSA").put("kid", "broken").put("alg", "RS256").put("n", "AQAB").put("e", "AQAB"))
        .add("not a key")
        .add(Tokens.jwk(p256, "e1", "ES256"))
        .add(Tokens.jwk(KEY, "k1", "RS256"))).encode();
    HttpServer jwks = keyServer(request -> request.response().putHeader("content-type", "application/json").end(set));
    try (dev.dockgate.testing.LoggedErrors errors = new dev.dockgate.testing.LoggedErrors()) {
      gateway = new GatewayHarness(dir, routes(jwks.actualPort(), "mixed"), 2);
      for (int client = 0; client < 2; client++) {
        assertEquals(200, bearer(client, "/mixed/x", Tokens.sign("RS256", KEY.getPrivate(), Tokens.claims("a"), "k1"))
            .statusCode());
        assertEquals(200, bearer(client, "/mixed/x", Tokens.sign("ES256", p256.getPrivate(), Tokens.claims("a"), "e1"))
            .statusCode());
        HttpResponse<String> curve = bearer(client, "/mixed/x",
            Tokens.sign("ES256", p384.getPrivate(), Tokens.claims("a"), "p384-as-es256"));
        assertEquals(401, curve.statusCode(), "a P-384 key is no ES256 key: " + curve.body());
        HttpResponse<String> encrypt = bearer(client, "/mixed/x",
            Tokens.sign("RS256", KEY.getPrivate(), Tokens.claims("a"), "encrypt-only"));
        assertEquals(401, encrypt.statusCode(), "a key only for encryption: " + encrypt.body());
      }
      assertEquals(List.of(), errors.lines(), "keys left out are no error with a stack trace");
    }
  }

  @Test
  void aKeyIsTakenFromItsNumbersNotFromACertificateChainBesideThem() throws Exception {
    // RFC 7517: n and e are the RSA key, x5c optional; a chain whose certificate has expired (or whose key is
    // another) cost the key: vertx-auth-jwt takes the key from the chain and refuses an expired one
    dev.dockgate.testing.TestCerts.Pem pem = dev.dockgate.testing.TestCerts.expiredRsa(dir, "issuer");
    java.security.cert.X509Certificate cert = (java.security.cert.X509Certificate) java.security.cert.CertificateFactory
        .getInstance("X.509").generateCertificate(new java.io.ByteArrayInputStream(java.nio.file.Files.readAllBytes(pem.cert())));
    String key = java.nio.file.Files.readString(pem.key()).replaceAll("-----[A-Z ]+-----|\\s", "");
    java.security.PrivateKey signing = java.security.KeyFactory.getInstance("RSA")
        .generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(java.util.Base64.getDecoder().decode(key)));
    String chain = java.util.Base64.getEncoder().encodeToString(cert.getEncoded());
    String set = new JsonObject().put("keys", new JsonArray()
        .add(Tokens.jwk(new KeyPair(cert.getPublicKey(), signing), "expired-chain", "RS256").put("x5c", new JsonArray().add(chain)))
        .add(Tokens.jwk(KEY, "other-chain", "RS256").put("x5c", new JsonArray().add(chain)))).encode();
    HttpServer jwks = keyServer(request -> request.response().putHeader("content-type", "application/json").end(set));
    try (dev.dockgate.testing.LoggedErrors errors = new dev.dockgate.testing.LoggedErrors()) {
      gateway = new GatewayHarness(dir, routes(jwks.actualPort(), "chains"), 2);
      for (int client = 0; client < 2; client++) {
        HttpResponse<String> expired = bearer(client, "/chains/x", Tokens.sign("RS256", signing, Tokens.claims("a"), "expired-chain"));
        assertEquals(200, expired.statusCode(), "the key of a JWK whose certificate expired: " + expired.body());
        HttpResponse<String> other = bearer(client, "/chains/x", Tokens.sign("RS256", KEY.getPrivate(), Tokens.claims("a"), "other-chain"));
        assertEquals(200, other.statusCode(), "n and e, not the chain's key: " + other.body());
      }
      assertEquals(List.of(), errors.lines());
    }
  }
}
