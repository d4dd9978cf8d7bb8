package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.Backends;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import dev.dockgate.testing.TestBackend;
import dev.dockgate.testing.Tokens;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Bearer tokens per route on a real gateway: tokens are signed in the test with the JDK (HS256/384/512,
 * RS256, ES256) and served from a real JWKS endpoint; the hostile ones (unsigned, expired, wrong
 * audience, HMAC-signed with the public key, tampered) are refused and never reach the backend.
 */
@Timeout(120)
class JwtAuthIT {

  static final String HS256 = "hs256-secret-of-at-least-32-bytes!!";
  static final String HS384 = "hs384-secret-of-at-least-48-bytes-long-enough!!!";
  static final String HS512 = "hs512-secret-of-at-least-64-bytes-long-enough-for-sha-512-macs!!";
  static final String ISSUER = "https://issuer.test";

  @RegisterExtension
  static final Backends backends = new Backends();
  static TestBackend backend;
  @TempDir
  static Path dir;
  static GatewayHarness gateway;
  static final KeyPair RSA = Tokens.rsa();
  static final KeyPair EC = Tokens.ec();
  static final KeyPair JWKS_1 = Tokens.rsa();
  static final KeyPair JWKS_2 = Tokens.ec();
  static Vertx jwksVertx;
  static final AtomicReference<JsonObject> keySet = new AtomicReference<>();
  static final AtomicInteger fetches = new AtomicInteger();

  @BeforeAll
  static void start() throws Exception {
    backend = backends.start("jwt");
    jwksVertx = Vertx.vertx();
    keySet.set(new JsonObject().put("keys", new JsonArray().add(Tokens.jwk(JWKS_1, "k1", "RS256"))
        .add(new JsonObject().put("kty", "oct").put("kid", "sym").put("alg", "HS256")
            .put("k", java.util.Base64.getUrlEncoder().withoutPadding()
                .encodeToString(HS256.getBytes(StandardCharsets.UTF_8))))));
    HttpServer jwks = jwksVertx.createHttpServer().requestHandler(req -> {
      fetches.incrementAndGet();
      req.response().putHeader("content-type", "application/json").end(keySet.get().encode());
    }).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    Files.writeString(dir.resolve("rs256.pem"), Tokens.pem(RSA));
    String ecPem = Tokens.pem(EC).replace("\n", "\n            ");
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - path_prefix: /hs
            backend: app
            auth:
              type: jwt
              keys:
                - {algorithm: HS256, secret: "%s"}
                - {algorithm: HS384, secret: "%s"}
                - {algorithm: HS512, secret: "%s"}
              issuer: %s
              audience: [orders-api]
              leeway_s: 5
              required_claims: {tenant: acme}
              forward_claims: {sub: X-User-Id, email: X-User-Email, roles: X-User-Roles}
          - path_prefix: /pk
            backend: app
            auth:
              type: jwt
              keys:
                - {algorithm: RS256, public_key_file: rs256.pem}
                - algorithm: ES256
                  public_key: |
                    %s
          - path_prefix: /scoped
            backend: app
            auth:
              type: jwt
              keys: [{algorithm: HS256, secret: "%s"}]
              scopes: [orders:read, orders:write]
          - path_prefix: /jwks
            backend: app
            auth: {type: jwt, jwks_url: "http://127.0.0.1:%d/keys", jwks_min_refresh_ms: 1000}
          - path_prefix: /limited
            backend: app
            auth: {type: jwt, keys: [{algorithm: HS256, secret: "%s"}]}
            rate_limit: {requests_per_second: 0.1, burst: 2, key: jwt_sub}
          - path_prefix: /claimed
            backend: app
            auth: {type: jwt, keys: [{algorithm: HS256, secret: "%s"}], required_claims: {"r\u00f4le \\"x": admin}}
          - path_prefix: /nokeys
            backend: app
            auth: {type: jwt, jwks_url: "http://127.0.0.1:%d/keys"}
          - path_prefix: /expiring
            backend: app
            auth: {type: jwt, keys: [{algorithm: HS256, secret: "%s"}], require_exp: true}
          - path_prefix: /custom
            backend: app
            auth: {type: jwt, header: X-Auth-Token, keys: [{algorithm: HS256, secret: "%s"}]}
          - path_prefix: /underscored
            backend: app
            auth: {type: jwt, header: X_Auth_Token, keys: [{algorithm: HS256, secret: "%s"}]}
        backends:
          - {name: app, targets: ["http://127.0.0.1:%d"]}
        """.formatted(HS256, HS384, HS512, ISSUER, ecPem, HS256, jwks.actualPort(), HS256, HS256, Ports.free(),
        HS256, HS256, HS256, backend.port()), 2);
  }

  @AfterAll
  static void stop() {
    gateway.close();
    jwksVertx.close();
  }

  @BeforeEach
  void clear() {
    backend.clear();
  }

  static JsonObject hsClaims(String sub) {
    return Tokens.claims(sub).put("iss", ISSUER).put("aud", "orders-api").put("tenant", "acme");
  }

  static HttpResponse<String> get(String path, String authorization, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(gateway.uri(path)).timeout(Duration.ofSeconds(10));
    if (authorization != null) {
      b.header("Authorization", authorization);
    }
    if (headers.length > 0) {
      b.headers(headers);
    }
    return gateway.send(b.build());
  }

  static HttpResponse<String> bearer(String path, String token) {
    return get(path, "Bearer " + token);
  }

  /** Two clients, each with its own connection, which the gateway hands to its two routers in turn. */
  static final java.net.http.HttpClient[] CLIENTS = {java.net.http.HttpClient.newHttpClient(),
      java.net.http.HttpClient.newHttpClient()};
  static final AtomicInteger turn = new AtomicInteger();

  /** A bearer request from the two clients in turn, so both routers see such requests. */
  static HttpResponse<String> eachRouter(String path, String token) {
    try {
      return CLIENTS[turn.getAndIncrement() % 2].send(HttpRequest.newBuilder(gateway.uri(path))
          .timeout(Duration.ofSeconds(10)).header("Authorization", "Bearer " + token).build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (java.io.IOException | InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void everyHmacAlgorithmPassesAndChosenClaimsReachTheBackend() {
    JsonObject claims = hsClaims("alice").put("email", "alice@example.test").put("roles", new JsonArray().add("a").add("b"));
    for (String[] alg : new String[][] {{"HS256", HS256}, {"HS384", HS384}, {"HS512", HS512}}) {
      String token = Tokens.hmac(alg[0], alg[1], claims, null);
      HttpResponse<String> response = get("/hs/x", "Bearer " + token, "X-User-Id", "mallory",
          "X-Consumer-Name", "root", "X-User-Email", "forged@x");
      assertEquals(200, response.statusCode(), alg[0] + ": " + response.body());
      TestBackend.Received got = backend.take();
      assertEquals("alice", got.headers().get("X-User-Id"), alg[0]);
      assertEquals("alice", got.headers().get("X-Consumer-Name"));
      assertEquals("alice@example.test", got.headers().get("X-User-Email"));
      assertEquals("a,b", got.headers().get("X-User-Roles"));
      assertEquals(1, got.headers().getAll("X-User-Id").size(), "the client's X-User-Id is dropped");
      assertEquals("Bearer " + token, got.headers().get("Authorization"));
    }
    // a token without the email claim: the client's header is still dropped, nothing put in its place
    HttpResponse<String> noEmail = get("/hs/y", "Bearer " + Tokens.hmac("HS256", HS256, hsClaims("bob"), null),
        "X-User-Email", "forged@x");
    assertEquals(200, noEmail.statusCode());
    assertNull(backend.take().headers().get("X-User-Email"));
  }

  /**
   * A token without {@code exp} never expires by default (RFC 7519 makes exp optional; Envoy takes such tokens too), so
   * a route may ask for one with {@code require_exp: true}: then a token without it gets 401. Before, no setting did.
   */
  @Test
  void aRouteWithRequireExpRefusesATokenWithoutExp() {
    JsonObject forever = new JsonObject().put("sub", "forever");
    HttpResponse<String> refused = bearer("/expiring/x", Tokens.hmac("HS256", HS256, forever, null));
    assertEquals(401, refused.statusCode(), refused.body());
    assertEquals("token without exp not accepted\n", refused.body());
    assertEquals("Bearer realm=\"gateway\", error=\"invalid_token\", error_description=\"token without exp not accepted\"",
        refused.headers().firstValue("www-authenticate").orElse(""));
    assertEquals(200, bearer("/expiring/x", Tokens.hmac("HS256", HS256, Tokens.claims("bounded"), null)).statusCode());
    assertEquals(200, bearer("/limited/x", Tokens.hmac("HS256", HS256, forever, null)).statusCode(),
        "without require_exp a token without exp passes, as before");
    assertEquals(2, backend.count());
  }

  @Test
  void publicKeyAlgorithmsPassFromPemFileAndInlinePem() {
    assertEquals(200, bearer("/pk/rs", Tokens.sign("RS256", RSA.getPrivate(), Tokens.claims("rs"), null)).statusCode());
    assertEquals(200, bearer("/pk/es", Tokens.sign("ES256", EC.getPrivate(), Tokens.claims("es"), null)).statusCode());
    assertEquals(2, backend.count());
  }

  @Test
  void hostileAndInvalidTokensAreRefusedWithTheirChallenge() {
    long now = System.currentTimeMillis() / 1000;
    String good = Tokens.hmac("HS256", HS256, hsClaims("alice"), null);
    String[] parts = good.split("\\.");
    String tampered = parts[0] + "." + java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(
        hsClaims("admin").encode().getBytes(StandardCharsets.UTF_8)) + "." + parts[2];
    Map<String, String[]> cases = new LinkedHashMap<>();
    cases.put("expired beyond leeway", new String[] {"/hs", Tokens.hmac("HS256", HS256,
        hsClaims("a").put("exp", now - 60), null)});
    cases.put("not yet valid", new String[] {"/hs", Tokens.hmac("HS256", HS256, hsClaims("a").put("nbf", now + 120), null)});
    cases.put("issued in the future", new String[] {"/hs", Tokens.hmac("HS256", HS256, hsClaims("a").put("iat", now + 120), null)});
    cases.put("wrong audience", new String[] {"/hs", Tokens.hmac("HS256", HS256, hsClaims("a").put("aud", "billing"), null)});
    cases.put("wrong issuer", new String[] {"/hs", Tokens.hmac("HS256", HS256, hsClaims("a").put("iss", "https://evil.test"), null)});
    cases.put("required claim differs", new String[] {"/hs", Tokens.hmac("HS256", HS256, hsClaims("a").put("tenant", "umbrella"), null)});
    cases.put("required claim missing", new String[] {"/hs", Tokens.hmac("HS256", HS256, hsClaims("a").copy().put("tenant", (String) null), null)});
    cases.put("wrong secret", new String[] {"/hs", Tokens.hmac("HS256", HS256.replace('!', '?'), hsClaims("a"), null)});
    cases.put("tampered payload", new String[] {"/hs", tampered});
    cases.put("alg none", new String[] {"/hs", Tokens.unsigned(hsClaims("a"))});
    cases.put("alg none without the dot", new String[] {"/hs", Tokens.unsigned(hsClaims("a")).replaceAll("\\.$", "")});
    cases.put("alg None", new String[] {"/hs", Tokens.unsigned(hsClaims("a")).replace(parts[0], parts[0])
        .replaceFirst("^[^.]+", java.util.Base64.getUrlEncoder().withoutPadding()
            .encodeToString("{\"alg\":\"None\"}".getBytes(StandardCharsets.UTF_8)))});
    cases.put("key confusion: HS256 signed with the RSA public key", new String[] {"/pk",
        Tokens.hmac("HS256", Tokens.pem(RSA), Tokens.claims("a"), null)});
    cases.put("key confusion: HS256 signed with the DER public key", new String[] {"/pk",
        Tokens.hmac("HS256", RSA.getPublic().getEncoded(), Tokens.claims("a"), null)});
    cases.put("RS256 signed by another key", new String[] {"/pk", Tokens.sign("RS256", Tokens.rsa().getPrivate(),
        Tokens.claims("a"), null)});
    cases.put("ES256 signed by another key", new String[] {"/pk", Tokens.sign("ES256", Tokens.ec().getPrivate(),
        Tokens.claims("a"), null)});
    cases.put("RS384 not configured", new String[] {"/pk", Tokens.sign("RS384", RSA.getPrivate(), Tokens.claims("a"), null)});
    cases.put("HS token on an RS route", new String[] {"/pk", Tokens.hmac("HS256", HS256, Tokens.claims("a"), null)});
    cases.put("garbage", new String[] {"/hs", "not.a.token"});
    cases.put("two parts", new String[] {"/hs", "abc.def"});
    for (Map.Entry<String, String[]> c : cases.entrySet()) {
      HttpResponse<String> response = bearer(c.getValue()[0] + "/x", c.getValue()[1]);
      assertEquals(401, response.statusCode(), c.getKey() + ": " + response.body());
      String challenge = response.headers().firstValue("www-authenticate").orElse("");
      assertTrue(challenge.startsWith("Bearer realm=\"gateway\", error=\"invalid_token\""), c.getKey() + ": " + challenge);
    }
    assertEquals(0, backend.count(), "no refused request reaches the backend");
  }

  @Test
  void onlyTheOneEncodingOfASignatureIsAccepted() throws Exception {
    // RFC 7515 2 and 7518 3.4: base64url without padding, an ECDSA signature as R || S (64 bytes for ES256); the
    // same claims and signature written otherwise made another token that passed here, and that a backend or a
    // revocation list that knows the token by its text, or a strict verifier of the forwarded token, disagreed on
    String hs = Tokens.hmac("HS256", HS256, hsClaims("a"), null);
    String es = Tokens.sign("ES256", EC.getPrivate(), Tokens.claims("a"), null);
    String input = es.substring(0, es.lastIndexOf('.'));
    java.security.Signature der = java.security.Signature.getInstance("SHA256withECDSA");
    der.initSign(EC.getPrivate());
    der.update(input.getBytes(StandardCharsets.US_ASCII));
    String derSigned = input + "." + java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(der.sign());
    assertEquals(200, bearer("/hs/x", hs).statusCode());
    assertEquals(200, bearer("/pk/x", es).statusCode());
    backend.clear();
    Map<String, String[]> cases = new LinkedHashMap<>();
    cases.put("padded signature", new String[] {"/hs", hs + "="});
    cases.put("DER-encoded ECDSA signature", new String[] {"/pk", derSigned});
    for (Map.Entry<String, String[]> c : cases.entrySet()) {
      HttpResponse<String> response = bearer(c.getValue()[0] + "/x", c.getValue()[1]);
      assertEquals(401, response.statusCode(), c.getKey() + ": " + response.body());
      assertTrue(response.headers().firstValue("www-authenticate").orElse("").contains("error=\"invalid_token\""));
    }
    assertEquals(0, backend.count(), "no other encoding reaches the backend");
  }

  @Test
  void aRequiredClaimWhoseNameCannotBeQuotedIsLeftOutOfTheChallenge() {
    // RFC 6750 3: error_description is visible ASCII without " and \; a claim name with either (or beyond ASCII)
    // broke the quoted string of WWW-Authenticate
    HttpResponse<String> response = bearer("/claimed/x", Tokens.hmac("HS256", HS256, Tokens.claims("a"), null));
    assertEquals(401, response.statusCode());
    assertEquals("Bearer realm=\"gateway\", error=\"invalid_token\", error_description=\"required claim not accepted\"",
        response.headers().firstValue("www-authenticate").orElse(""));
    assertEquals("required claim not accepted\n", response.body());
    assertEquals(200, bearer("/claimed/x", Tokens.hmac("HS256", HS256, Tokens.claims("a").put("r\u00f4le \"x", "admin"), null))
        .statusCode());
  }

  @Test
  void missingOrNonBearerCredentialsGetABareChallenge() {
    for (String authorization : new String[] {null, "Basic YWxpY2U6c2VjcmV0", "Bearer", "Token abc"}) {
      HttpResponse<String> response = get("/hs/x", authorization);
      assertEquals(401, response.statusCode(), String.valueOf(authorization));
      assertEquals("Bearer realm=\"gateway\"", response.headers().firstValue("www-authenticate").orElse(""));
    }
    assertEquals(0, backend.count());
  }

  @Test
  void leewayAcceptsATokenJustExpired() {
    long now = System.currentTimeMillis() / 1000;
    assertEquals(200, bearer("/hs/x", Tokens.hmac("HS256", HS256, hsClaims("a").put("exp", now - 2), null)).statusCode());
  }

  @Test
  void scopesAreRequiredAllTogetherAnd403WhenShort() {
    HttpResponse<String> shortScope = bearer("/scoped/x", Tokens.hmac("HS256", HS256,
        Tokens.claims("a").put("scope", "orders:read"), null));
    assertEquals(403, shortScope.statusCode());
    assertEquals("Bearer realm=\"gateway\", error=\"insufficient_scope\", scope=\"orders:read orders:write\"",
        shortScope.headers().firstValue("www-authenticate").orElse(""));
    assertEquals(0, backend.count());
    assertEquals(200, bearer("/scoped/x", Tokens.hmac("HS256", HS256,
        Tokens.claims("a").put("scope", "profile orders:write orders:read"), null)).statusCode());
    assertEquals(200, bearer("/scoped/x", Tokens.hmac("HS256", HS256,
        Tokens.claims("a").put("scp", new JsonArray().add("orders:read").add("orders:write")), null)).statusCode());
  }

  @Test
  void jwksKeysAreFetchedRotatedOnUnknownKidAndNeverTrustASharedSecret() throws Exception {
    String k1 = Tokens.sign("RS256", JWKS_1.getPrivate(), Tokens.claims("a"), "k1");
    assertEquals(200, bearer("/jwks/x", k1).statusCode());
    assertEquals(401, bearer("/jwks/x", Tokens.hmac("HS256", HS256, Tokens.claims("a"), "sym")).statusCode(),
        "a symmetric key published in a JWKS is never trusted");

    // the issuer rotates to a new EC key: the first token naming it makes the gateway fetch the set again
    keySet.set(new JsonObject().put("keys", new JsonArray().add(Tokens.jwk(JWKS_2, "k2", "ES256"))
        .add(Tokens.jwk(JWKS_1, "k1", "RS256"))));
    Thread.sleep(1100); // past jwks_min_refresh_ms since the last fetch
    int before = fetches.get();
    backend.clear();
    String body = "x".repeat(100_000); // held while the key set is fetched, then streamed whole
    HttpResponse<String> rotated = gateway.send(HttpRequest.newBuilder(gateway.uri("/jwks/x"))
        .header("Authorization", "Bearer " + Tokens.sign("ES256", JWKS_2.getPrivate(), Tokens.claims("b"), "k2"))
        .POST(HttpRequest.BodyPublishers.ofString(body)).build());
    assertEquals(200, rotated.statusCode());
    assertEquals(body, backend.take().body());
    assertEquals(before + 1, fetches.get());

    // unknown kids cannot make the gateway hammer the key server, whichever router they reach
    PrivateKey stranger = Tokens.rsa().getPrivate();
    int after = fetches.get();
    long start = System.nanoTime();
    for (int i = 0; i < 30; i++) {
      assertEquals(401, eachRouter("/jwks/x", Tokens.sign("RS256", stranger, Tokens.claims("c"),
          "unknown-" + i)).statusCode());
    }
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
    assertTrue(fetches.get() - after <= 1 + seconds,
        "at most one fetch per second: " + (fetches.get() - after) + " in " + seconds + " s");
  }

  @Test
  void repeatedAuthorizationHeadersAreRefusedAndNeverReachTheBackend() {
    String valid = Tokens.hmac("HS256", HS256, hsClaims("alice"), null);
    String forged = Tokens.unsigned(hsClaims("admin"));
    for (String[] pair : new String[][] {{valid, forged}, {forged, valid}, {valid, valid}}) {
      HttpResponse<String> response = gateway.send(HttpRequest.newBuilder(gateway.uri("/hs/x"))
          .timeout(Duration.ofSeconds(10))
          .header("Authorization", "Bearer " + pair[0]).header("Authorization", "Bearer " + pair[1]).build());
      assertEquals(400, response.statusCode(), response.body());
      assertEquals("Bearer realm=\"gateway\", error=\"invalid_request\"",
          response.headers().firstValue("www-authenticate").orElse(""));
    }
    assertEquals(0, backend.count(), "the backend never sees a request with two credentials");
  }

  /**
   * A route whose token comes in a header with a {@code -} ({@code header: X-Auth-Token}): CGI, WSGI, PHP and Rack
   * backends read a client's {@code X_Auth_Token} as that header (both {@code HTTP_X_AUTH_TOKEN}), so a forged token
   * beside the one the gateway verified must not reach the backend, which would read either. The verified header goes
   * on as before. The same the other way round for a header with a {@code _} ({@code header: X_Auth_Token}): a client's
   * {@code X-Auth-Token} is its look-alike, and the only one left where the server in front drops names with
   * {@code _} (nginx by default, Apache for CGI). Before: the look-alikes were forwarded as the client sent them
   * (the dashed one beside a checked {@code X_Auth_Token} until this stop's review).
   */
  @ParameterizedTest(name = "{1} checked on {0}")
  @CsvSource({"/custom/x, X-Auth-Token, X_Auth_Token", "/underscored/x, X_Auth_Token, X-Auth-Token"})
  void theTokenHeadersLookAlikesNeverReachTheBackend(String path, String checked, String lookAlike) {
    String valid = Tokens.hmac("HS256", HS256, hsClaims("alice"), null);
    String forged = Tokens.unsigned(hsClaims("admin"));
    HttpResponse<String> response = gateway.send(HttpRequest.newBuilder(gateway.uri(path))
        .timeout(Duration.ofSeconds(10)).header(checked, "Bearer " + valid)
        .header(lookAlike, "Bearer " + forged).header("x-auth_token", "Bearer " + forged).build());
    assertEquals(200, response.statusCode(), response.body());
    TestBackend.Received got = backend.take();
    assertEquals(java.util.List.of("Bearer " + valid), got.headers().getAll(checked), got.headers().toString());
    assertNull(got.headers().get(lookAlike), got.headers().toString());
    assertNull(got.headers().get("x-auth_token"), got.headers().toString());
  }

  @Test
  void signedTokensWithClaimsOfTheWrongTypeGet401WithTheirReasonAndAreCounted() {
    long now = System.currentTimeMillis() / 1000;
    Map<String, JsonObject> cases = new LinkedHashMap<>();
    cases.put("exp", hsClaims("a").put("exp", String.valueOf(now + 3600)));
    cases.put("nbf", hsClaims("a").put("nbf", String.valueOf(now - 60)));
    cases.put("iat", hsClaims("a").put("iat", String.valueOf(now)));
    cases.put("exp ", hsClaims("a").putNull("exp"));
    cases.put("exp  ", hsClaims("a").put("exp", 1e300));
    cases.put("aud", hsClaims("a").put("aud", 42));
    cases.put("aud ", hsClaims("a").put("aud", new JsonObject().put("id", "orders-api")));
    cases.put("aud  ", hsClaims("a").put("aud", new JsonArray().add("orders-api").add(7)));
    cases.put("iss", hsClaims("a").put("iss", 1));
    cases.put("sub", hsClaims("a").put("sub", new JsonArray().add("alice")));
    long before = gateway.statsTotal();
    for (Map.Entry<String, JsonObject> c : cases.entrySet()) {
      String claim = c.getKey().trim();
      HttpResponse<String> response = bearer("/hs/x", Tokens.hmac("HS256", HS256, c.getValue(), null));
      assertEquals(401, response.statusCode(), claim + " " + c.getValue() + ": " + response.body());
      assertTrue(response.body().startsWith("claim " + claim + " "), claim + ": " + response.body());
      assertTrue(response.headers().firstValue("www-authenticate").orElse("")
          .startsWith("Bearer realm=\"gateway\", error=\"invalid_token\", error_description=\"claim " + claim), claim);
    }
    // a route without audience or issuer rules: the library's own expiry check never sees a string either
    HttpResponse<String> pk = bearer("/pk/x", Tokens.sign("RS256", RSA.getPrivate(),
        Tokens.claims("a").put("exp", "tomorrow"), null));
    assertEquals(401, pk.statusCode(), pk.body());
    assertEquals(0, backend.count());
    long answered = cases.size() + 1;
    Poll.until(Duration.ofSeconds(5), "every refusal counted in /stats", () -> gateway.statsTotal() == before + answered);
  }

  @Test
  void subjectsAndClaimsArePercentEncodedSoNoTwoSubjectsLookAlike() {
    Map<String, String> cases = new LinkedHashMap<>();
    cases.put("bob\u20ac", "bob%E2%82%AC");
    cases.put("bob?", "bob?");
    cases.put("bob%E2%82%AC", "bob%25E2%2582%25AC");
    cases.put("a\u0000b", "a%00b");
    cases.put("a\u000Bb", "a%0Bb");
    cases.put("a\u007Fb", "a%7Fb");
    cases.put("J\u00f6rg Smith", "J%C3%B6rg%20Smith");
    cases.put("a\r\nX-Injected: 1", "a%0D%0AX-Injected:%201");
    cases.put("x,y", "x%2Cy");
    cases.put("alice@example.test", "alice@example.test");
    for (Map.Entry<String, String> c : cases.entrySet()) {
      JsonObject claims = hsClaims(c.getKey()).put("email", c.getKey())
          .put("roles", new JsonArray().add(c.getKey()).add("ops"));
      HttpResponse<String> response = bearer("/hs/x", Tokens.hmac("HS256", HS256, claims, null));
      assertEquals(200, response.statusCode(), c.getValue() + ": " + response.body());
      TestBackend.Received got = backend.take();
      assertEquals(c.getValue(), got.headers().get("X-Consumer-Name"));
      assertEquals(c.getValue(), got.headers().get("X-User-Id"));
      assertEquals(c.getValue(), got.headers().get("X-User-Email"));
      assertEquals(c.getValue() + ",ops", got.headers().get("X-User-Roles"), "list items are encoded one by one");
    }
  }

  @Test
  void aTokenWithACriticalHeaderParameterTheGatewayDoesNotUnderstandIsRefused() {
    JsonObject claims = hsClaims("alice");
    assertEquals(200, bearer("/hs/x", Tokens.hmacWithHeader("HS256", HS256,
        new JsonObject().put("x-tenant-policy", 1), claims)).statusCode(), "an extra parameter alone is fine");
    backend.clear();
    for (JsonObject header : new JsonObject[] {
        new JsonObject().put("crit", new JsonArray().add("x-tenant-policy")).put("x-tenant-policy", 1),
        new JsonObject().put("crit", new JsonArray().add("b64")).put("b64", true),
        new JsonObject().put("crit", new JsonArray().add("exp")).put("exp", 1),
        new JsonObject().put("crit", new JsonArray()),
        new JsonObject().put("crit", "x-tenant-policy").put("x-tenant-policy", 1)}) {
      HttpResponse<String> response = bearer("/hs/x", Tokens.hmacWithHeader("HS256", HS256, header, claims));
      assertEquals(401, response.statusCode(), header + ": " + response.body());
      assertTrue(response.headers().firstValue("www-authenticate").orElse("")
          .startsWith("Bearer realm=\"gateway\", error=\"invalid_token\""), header.encode());
    }
    assertEquals(0, backend.count());
  }

  @Test
  void aTokenNamingAClaimOrHeaderParameterTwiceIsRefused() {
    String claims = hsClaims("alice").encode(); // {"sub":"alice",...}
    String twice = claims.substring(0, claims.length() - 1) + ",\"sub\":\"admin\"}";
    // Validly signed: a backend reading the forwarded token first-wins would see alice, the last-wins
    // reading admin. Neither is let through.
    for (String[] parts : new String[][] {
        {"{\"alg\":\"HS256\",\"typ\":\"JWT\"}", twice},
        {"{\"alg\":\"HS256\",\"alg\":\"HS256\"}", claims}}) {
      HttpResponse<String> response = bearer("/hs/x", Tokens.hmacRaw("HS256", HS256, parts[0], parts[1]));
      assertEquals(401, response.statusCode(), parts[0] + parts[1] + ": " + response.body());
      assertTrue(response.body().contains("named twice"), response.body());
    }
    assertEquals(0, backend.count());
    assertEquals(200, bearer("/hs/x", Tokens.hmacRaw("HS256", HS256, "{\"alg\":\"HS256\"}", claims)).statusCode(),
        "the same token, each name once");
    backend.clear();
  }

  @Test
  void noKeysMeans503NeverAnUnsignedPass() {
    HttpResponse<String> response = bearer("/nokeys/x", Tokens.hmac("HS256", HS256, Tokens.claims("a"), null));
    assertEquals(503, response.statusCode(), response.body());
    assertEquals(401, bearer("/nokeys/x", Tokens.unsigned(Tokens.claims("a"))).statusCode());
    assertEquals(0, backend.count());
  }

  @Test
  void rateLimitPerTokenSubject() {
    String alice = Tokens.hmac("HS256", HS256, Tokens.claims("alice"), null);
    assertEquals(200, bearer("/limited/1", alice).statusCode());
    assertEquals(200, bearer("/limited/2", Tokens.hmac("HS256", HS256, Tokens.claims("alice"), null)).statusCode());
    HttpResponse<String> limited = bearer("/limited/3", alice);
    assertEquals(429, limited.statusCode());
    assertTrue(limited.headers().firstValue("retry-after").isPresent());
    assertEquals(200, bearer("/limited/4", Tokens.hmac("HS256", HS256, Tokens.claims("bob"), null)).statusCode());
    assertEquals(401, bearer("/limited/5", "nope").statusCode(), "authentication comes before the limit");
  }
}
