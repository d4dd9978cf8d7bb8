package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.Backends;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.TestBackend;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Paths are normalised before matching, so no encoding or dot-segment reaches a route its prefix
 * does not allow, and what is forwarded is what was matched; absolute-form targets never choose
 * where the gateway connects. Raw sockets, so no client library tidies the paths first.
 */
class PathSecurityIT {

  @RegisterExtension
  static final Backends backends = new Backends();
  static TestBackend publicApi;

  @TempDir
  Path dir;
  GatewayHarness gateway;

  @BeforeAll
  static void start() {
    publicApi = backends.start("public");
  }

  @BeforeEach
  void startGateway() {
    publicApi.clear();
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /api/public, backend: pub}
        backends:
          - {name: pub, targets: ["http://127.0.0.1:%d"]}
        """.formatted(publicApi.port()), 1);
  }

  @AfterEach
  void stopGateway() {
    gateway.close();
  }

  String get(String target, String host) throws IOException {
    return ForwardingIT.exchange(gateway.port(),
        "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n");
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({
      "/api/public/../admin/secret, 404",
      "/api/public/%2e%2e/admin, 404",
      "/api/public/.%2E/admin, 404",
      "/api/%70ublic/../admin, 404",
      "/api/public/..%2Fadmin, 400",
      "/api/public/%2Fadmin, 400",
      "/api/public/%5C..%5Cadmin, 400",
      "/api/public/%00, 400",
      "/api/public/%zz, 400",
  })
  void escapesFromTheRoutePrefixAreRefused(String target, int status) throws IOException {
    String answer = get(target, "gw.test");
    assertTrue(answer.startsWith("HTTP/1.1 " + status), target + " -> " + answer);
    assertEquals(0, publicApi.count(), "the public backend got nothing");
  }

  @ParameterizedTest(name = "{0} forwarded as {1}")
  @CsvSource({
      "/api/public//x, /api/public/x",
      "/api/public/./x, /api/public/x",
      "/api/public/a/../x, /api/public/x",
      "/api/%70ublic/x, /api/public/x",
      "/api/public/%7euser?q=%2F, /api/public/~user?q=%2F",
  })
  void whatIsForwardedIsTheNormalPath(String target, String forwarded) throws IOException {
    String answer = get(target, "gw.test");
    assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
    assertEquals(forwarded, publicApi.take().uri());
  }

  @Test
  void anAbsoluteFormTargetDoesNotChooseTheDestination() throws IOException {
    String answer = get("http://metadata.example.invalid/api/public/latest", "metadata.example.invalid");
    assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
    TestBackend.Received got = publicApi.take();
    assertEquals("/api/public/latest", got.uri(), "forwarded in origin form to the configured backend");
  }

  @Test
  void anAbsoluteFormTargetsAuthorityReplacesTheHostForMatchingAndForwarding() throws IOException {
    TestBackend named = backends.start("named");
    gateway.close();
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /api/public, backend: pub}
          - {path_prefix: /api/public, backend: named, host: a.example}
        backends:
          - {name: pub, targets: ["http://127.0.0.1:%d"]}
          - {name: named, targets: ["http://127.0.0.1:%d"]}
        """.formatted(publicApi.port(), named.port()), 1);
    // RFC 9112 §3.2.2: with an absolute-form target the Host field is ignored and replaced by the target's authority
    String answer = get("http://A.example/api/public/x", "b.example");
    assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
    TestBackend.Received got = named.take();
    assertEquals("/api/public/x", got.uri());
    assertEquals("A.example", got.headers().get("host"), "the target's authority, as sent");
    assertEquals(0, publicApi.count(), "the Host field chose nothing");
    assertTrue(get("http://:80/api/public/x", "a.example").startsWith("HTTP/1.1 400"), "an empty authority");
  }

  /**
   * Tomcat, Jetty and Spring strip {@code ;} parameters from each segment before they resolve dot-segments: to them
   * {@code /x/..;/admin} and {@code /;/admin} are {@code /admin}, and {@code /api;v=1/admin/users} is
   * {@code /api/admin/users}. Here a public route on {@code /} and a keyed one on {@code /admin} and
   * {@code /api/admin} share one backend: such paths must not reach it through the public route, past the key.
   * Before: each was forwarded as it came on the public route, 200 with no key.
   */
  @ParameterizedTest(name = "{0}")
  @CsvSource({
      "/x/..;/admin",
      "/x/..;jsessionid=1/admin",
      "/x/.;/../admin",
      "/;/admin",
      "/;jsessionid=1/admin",
      "/x/%2e%2e;/admin",
      "/api;v=1/admin/users",
      "/admin;x/..;/users",
      "/public/..;",
  })
  void segmentParametersThatAParameterStrippingBackendReadsAsAnotherPathAreRefused(String target) throws IOException {
    keyedAdminRoutes();
    String answer = get(target, "gw.test");
    assertTrue(answer.startsWith("HTTP/1.1 400"), target + " -> " + answer);
    assertTrue(answer.endsWith("bad request path\n"), answer);
    assertEquals(0, publicApi.count(), "the backend got nothing");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"/app/page;jsessionid=A1", "/app/;jsessionid=A1", "/app;", "/admin;x"})
  void aLastSegmentsOwnParametersAreKept(String target) throws IOException {
    keyedAdminRoutes();
    String answer = get(target, "gw.test");
    if (target.startsWith("/admin")) { // the keyed route's prefix, as a plain string
      assertTrue(answer.startsWith("HTTP/1.1 401"), answer);
      return;
    }
    assertTrue(answer.startsWith("HTTP/1.1 200"), target + " -> " + answer);
    assertEquals(target, publicApi.take().uri());
  }

  /**
   * With {@code h2c: true} a raw control byte, DEL or a byte outside ASCII in the target is refused as on other
   * listeners (the strict decoder, put in place of Vert.x's on that listener too, answers 400; the router would
   * refuse it as well). Before: a NUL or U+0001 in the path reached the backend byte for byte.
   */
  @ParameterizedTest(name = "{0}")
  @CsvSource({"/api/public/a\\u0000b", "/api/public/a\\u0001b", "/api/public/a\\u007fb", "/api/public/caf\\u00e9"})
  void rawControlBytesInThePathOfAnH2cListenerAreRefused(String escaped) throws IOException {
    gateway.close();
    gateway = new GatewayHarness(dir, "  h2c: true\n", """
        docker: {enabled: false}
        routes:
          - {path_prefix: /api/public, backend: pub}
        backends:
          - {name: pub, targets: ["http://127.0.0.1:%d"]}
        """.formatted(publicApi.port()), 1);
    String target = unescape(escaped);
    String answer = get(target, "gw.test");
    assertTrue(answer.matches("(?s)HTTP/1\\.[01] 400 .*"), escaped + " -> " + answer);
    assertEquals(0, publicApi.count(), "the backend got nothing");
    assertTrue(get("/api/public/ok", "gw.test").startsWith("HTTP/1.1 200"));
  }

  private static String unescape(String escaped) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < escaped.length(); i++) {
      if (escaped.startsWith("\\u", i)) {
        out.append((char) Integer.parseInt(escaped.substring(i + 2, i + 6), 16));
        i += 5;
      } else {
        out.append(escaped.charAt(i));
      }
    }
    return out.toString();
  }

  private void keyedAdminRoutes() {
    gateway.close();
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /, backend: pub}
          - path_prefix: /admin
            backend: pub
            auth: {type: api_key, keys: [{name: ops, sha256: "%s"}]}
          - path_prefix: /api/admin
            backend: pub
            auth: {type: api_key, keys: [{name: ops, sha256: "%<s"}]}
        backends:
          - {name: pub, targets: ["http://127.0.0.1:%d"]}
        """.formatted("e2e6ac0635117a5952b19c8982f86dcf3f32bd182df606cda27b974ff3b094c2", publicApi.port()), 1);
  }
}
