package dev.dockgate.config;

import dev.dockgate.Features;
import dev.dockgate.auth.AuthParser;
import dev.dockgate.auth.JwtAuthConfig;
import dev.dockgate.cors.CorsConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.Tokens;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Route auth blocks read from real files: what a good one becomes, the exact lines a bad one gets. */
@ExtendWith(VertxExtension.class)
class AuthConfigTest {

  static final KeyPair RSA = Tokens.rsa();
  static final KeyPair EC = Tokens.ec();
  static final String SECRET = "0123456789abcdef0123456789abcdef";

  @TempDir
  Path dir;

  record Case(String name, String auth, List<String> problems) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Case bad(String name, String auth, String... problems) {
    return new Case(name, auth, List.of(problems));
  }

  private String write(String auth) throws IOException {
    Files.writeString(dir.resolve("rsa.pem"), Tokens.pem(RSA));
    Files.writeString(dir.resolve("ec.pem"), Tokens.pem(EC));
    Files.writeString(dir.resolve("secret.txt"), SECRET + "\n");
    Path file = dir.resolve("conf.yml");
    Files.writeString(file, """
        docker: {enabled: false}
        routes:
          - path_prefix: /a
            backend: web
            auth: %s
        backends:
          - {name: web, targets: ["http://127.0.0.1:9"]}
        """.formatted(auth));
    return file.toString();
  }

  @Test
  void aFullJwtBlockBecomesItsRecordWithKeyFilesReadBesideTheConfig(Vertx vertx, VertxTestContext ctx)
      throws IOException {
    String path = write("""
        {type: jwt, header: X-Token, issuer: "https://id.test", audience: api, leeway_s: 10,
                     keys: [{algorithm: RS256, kid: r1, public_key_file: rsa.pem}, {algorithm: ES256, public_key_file: ec.pem},
                            {algorithm: HS256, secret_file: secret.txt}],
                     jwks_url: "https://id.test/jwks", jwks_refresh_ms: 60000, jwks_min_refresh_ms: 500,
                     required_claims: {tenant: acme, level: 3}, scopes: [read],
                     forward_claims: {sub: X-User-Id}, require_exp: true}""");
    Features.load(vertx, path).onComplete(ctx.succeeding(config -> ctx.verify(() -> {
      RouteConfig route = config.routes().get(0);
      assertNull(route.block("auth", AuthParser.Auth.class).apiKeys());
      JwtAuthConfig jwt = route.block("auth", AuthParser.Auth.class).jwt();
      assertEquals("X-Token", jwt.header());
      assertEquals(List.of(new JwtAuthConfig.Key("RS256", "r1", Tokens.pem(RSA)),
          new JwtAuthConfig.Key("ES256", null, Tokens.pem(EC)), new JwtAuthConfig.Key("HS256", null, SECRET)), jwt.keys());
      assertEquals(new JwtAuthConfig.Jwks("https://id.test/jwks", 60_000, 500), jwt.jwks());
      assertEquals("https://id.test", jwt.issuer());
      assertEquals(List.of("api"), jwt.audience());
      assertEquals(10, jwt.leewaySeconds());
      assertEquals(Map.of("tenant", "acme", "level", 3), jwt.requiredClaims());
      assertEquals(List.of("read"), jwt.scopes());
      assertEquals(Map.of("sub", "X-User-Id"), jwt.forwardClaims());
      assertTrue(jwt.requireExp());
      ctx.completeNow();
    })));
  }

  @Test
  void apiKeysComeFromTheConfigAndAKeysFile(Vertx vertx, VertxTestContext ctx) throws IOException {
    String a = "a".repeat(64);
    String b = "B".repeat(64);
    String path = write("{type: api_key, header: X-Key, keys: [{name: ci, sha256: \"" + a + "\"}], keys_file: api.keys}");
    Files.writeString(dir.resolve("api.keys"), "# team keys\n\nops " + b + "\n");
    Features.load(vertx, path).onComplete(ctx.succeeding(config -> ctx.verify(() -> {
      assertEquals(new ApiKeyAuthConfig("X-Key", List.of(new ApiKeyAuthConfig.Key("ci", a),
          new ApiKeyAuthConfig.Key("ops", "b".repeat(64))), dir.resolve("api.keys").toString()),
          config.routes().get(0).block("auth", AuthParser.Auth.class).apiKeys());
      ctx.completeNow();
    })));
  }

  static Stream<Case> rejected() {
    return Stream.of(
        bad("api keys file with bad lines", "{type: api_key, keys: [{name: ci, sha256: \"" + "a".repeat(64)
                + "\"}], keys_file: secret.txt}",
            "conf.yml: routes[0].auth.keys_file (secret.txt line 1): expected NAME SHA256 (64 hex digits)"),
        bad("api keys without keys", "{type: api_key, keys_file: nope.keys}",
            "conf.yml: routes[0].auth.keys_file: cannot read \"DIR/nope.keys\": no such file"),
        // A device or a pipe was read forever (until the heap ran out, for /dev/zero): the load never ended.
        bad("api keys file that is a device", "{type: api_key, keys_file: /dev/zero}",
            "conf.yml: routes[0].auth.keys_file: cannot read \"/dev/zero\": not a regular file"),
        bad("jwt secret file that is a device", "{type: jwt, keys: [{algorithm: HS256, secret_file: /dev/zero}]}",
            "conf.yml: routes[0].auth.keys[0].secret_file: cannot read \"/dev/zero\": not a regular file"),
        bad("unknown auth type", "{type: oauth}",
            "conf.yml: routes[0].auth.type: unknown auth type \"oauth\"; known: api_key, jwt"),
        bad("jwt without any key", "{type: jwt}",
            "conf.yml: routes[0].auth.keys: is required unless jwks_url is set: at least one {algorithm, secret | public_key | public_key_file | secret_file}"),
        bad("unknown algorithm", "{type: jwt, keys: [{algorithm: none, secret: \"" + SECRET + "\"}]}",
            "conf.yml: routes[0].auth.keys[0].algorithm: unknown algorithm \"none\"; known: ES256, ES384, ES512, HS256, HS384, HS512, PS256, PS384, PS512, RS256, RS384, RS512"),
        bad("short HMAC secret", "{type: jwt, keys: [{algorithm: HS512, secret: \"" + SECRET + "\"}]}",
            "conf.yml: routes[0].auth.keys[0].secret: HS512 needs a secret of at least 64 bytes (RFC 7518 3.2)"),
        bad("two key materials", "{type: jwt, keys: [{algorithm: HS256, secret: \"" + SECRET + "\", secret_file: secret.txt}]}",
            "conf.yml: routes[0].auth.keys[0]: expected exactly one of secret, secret_file, public_key, public_key_file, got 2"),
        bad("public key for HMAC", "{type: jwt, keys: [{algorithm: HS256, public_key_file: rsa.pem}]}",
            "conf.yml: routes[0].auth.keys[0].public_key_file: HS256 takes a secret, not a public key"),
        bad("secret for RSA", "{type: jwt, keys: [{algorithm: RS256, secret: \"" + SECRET + "\"}]}",
            "conf.yml: routes[0].auth.keys[0].secret: RS256 takes a public key, not a secret"),
        bad("EC key for RS256", "{type: jwt, keys: [{algorithm: RS256, public_key_file: ec.pem}]}",
            "conf.yml: routes[0].auth.keys[0].public_key_file: RS256 needs an RSA key, got EC"),
        bad("EC key on another curve", "{type: jwt, keys: [{algorithm: ES384, public_key_file: ec.pem}]}",
            "conf.yml: routes[0].auth.keys[0].public_key_file: ES384 needs a key on curve P-384, got P-256"),
        bad("garbled PEM", "{type: jwt, keys: [{algorithm: ES256, public_key: \"-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----\"}]}",
            "conf.yml: routes[0].auth.keys[0].public_key: not a valid EC public key for ES256: invalid key format"),
        bad("not PEM", "{type: jwt, keys: [{algorithm: ES256, public_key: \"hello\"}]}",
            "conf.yml: routes[0].auth.keys[0].public_key: expected a PEM \"-----BEGIN PUBLIC KEY-----\" or \"-----BEGIN CERTIFICATE-----\" block"),
        bad("missing key file", "{type: jwt, keys: [{algorithm: ES256, public_key_file: nope.pem}]}",
            "conf.yml: routes[0].auth.keys[0].public_key_file: cannot read \"DIR/nope.pem\": no such file"),
        bad("bad JWKS URL and ranges", "{type: jwt, jwks_url: \"ftp://x/keys\", leeway_s: -1, jwks_refresh_ms: 10}",
            "conf.yml: routes[0].auth.jwks_refresh_ms: must be between 1000 and 86400000, got 10",
            "conf.yml: routes[0].auth.jwks_url: expected an http:// or https:// URL, got \"ftp://x/keys\"",
            "conf.yml: routes[0].auth.leeway_s: must be between 0 and 3600, got -1"),
        bad("bad claims, scopes and header names", "{type: jwt, jwks_url: \"http://127.0.0.1:1/k\", "
                + "required_claims: {roles: [a]}, scopes: [\"\"], forward_claims: {sub: \"X User\", email: X-A, name: x-a}}",
            "conf.yml: routes[0].auth.required_claims.roles: expected a string, number or boolean, got a list",
            "conf.yml: routes[0].auth.scopes: expected a list of non-empty strings, got \"\"",
            "conf.yml: routes[0].auth.forward_claims.sub: expected a header name, got \"X User\"",
            "conf.yml: routes[0].auth.forward_claims.name: header \"x-a\" is already used by another claim"),
        bad("scopes that are no scope tokens", "{type: jwt, jwks_url: \"http://127.0.0.1:1/k\", scopes: [\"a\\\"b\", \"orders read\", ok]}",
            "conf.yml: routes[0].auth.scopes: expected scope tokens (visible ASCII but \" and \\), got \"a\"b\"",
            "conf.yml: routes[0].auth.scopes: expected scope tokens (visible ASCII but \" and \\), got \"orders read\""),
        bad("unknown jwt key", "{type: jwt, jwks_url: \"http://127.0.0.1:1/k\", audiences: [a]}",
            "conf.yml: routes[0].auth.audiences: unknown key, did you mean \"audience\"? (known: audience, forward_claims, header, issuer, jwks_min_refresh_ms, jwks_refresh_ms, jwks_url, keys, leeway_s, require_exp, required_claims, scopes, type)"),
        bad("require_exp not a boolean", "{type: jwt, jwks_url: \"http://127.0.0.1:1/k\", require_exp: yes please}",
            "conf.yml: routes[0].auth.require_exp: expected true or false, got \"yes please\""));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rejected")
  void rejectsWithExactProblems(Case c, Vertx vertx, VertxTestContext ctx) throws IOException {
    String path = write(c.auth());
    List<String> expected = c.problems().stream()
        .map(p -> path + p.substring("conf.yml".length()).replace("DIR", dir.toAbsolutePath().toString())).toList();
    Features.load(vertx, path).onComplete(ctx.failing(err -> ctx.verify(() -> {
      assertEquals(expected, assertInstanceOf(ConfigException.class, err).problems());
      ctx.completeNow();
    })));
  }

  @Test
  void jwtSubjectRateLimitNeedsJwtAuth(Vertx vertx, VertxTestContext ctx) throws IOException {
    Path file = dir.resolve("limit.yml");
    Files.writeString(file, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /a, backend: web, rate_limit: {requests_per_second: 1, key: jwt_sub}}
        backends:
          - {name: web, targets: ["http://127.0.0.1:9"]}
        """);
    Features.load(vertx, file.toString()).onComplete(ctx.failing(err -> ctx.verify(() -> {
      assertEquals(List.of(file + ": routes[0].rate_limit.key: jwt_sub needs auth of type jwt on the route"),
          assertInstanceOf(ConfigException.class, err).problems());
      ctx.completeNow();
    })));
  }
}
