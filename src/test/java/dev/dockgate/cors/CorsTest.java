package dev.dockgate.cors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;


import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpMethod;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The CORS decisions of {@link Cors}, on plain header maps: preflights, actual requests, origin patterns. */
class CorsTest {

  /** Listed origins with credentials, the shape most APIs behind a gateway use. */
  static final Cors STRICT = new Cors(new CorsConfig(
      List.of("https://app.example.com", "https://*.example.org", "http://localhost:3000"),
      List.of("GET", "PUT", "DELETE"), List.of("content-type", "x-trace"), List.of("x-request-id", "x-total"),
      true, 600));
  static final Cors ANY = new Cors(new CorsConfig(List.of("*"), List.of("GET", "POST"), List.of("*"), List.of("*"),
      false, null));

  static MultiMap headers(String... nameValues) {
    MultiMap map = MultiMap.caseInsensitiveMultiMap();
    for (int i = 0; i < nameValues.length; i += 2) {
      map.add(nameValues[i], nameValues[i + 1]);
    }
    return map;
  }

  static MultiMap preflight(String origin, String method, String requestHeaders) {
    MultiMap h = headers("Origin", origin, "Access-Control-Request-Method", method);
    if (requestHeaders != null) {
      h.add("Access-Control-Request-Headers", requestHeaders);
    }
    return h;
  }

  static boolean hasCorsHeader(MultiMap h) {
    return h.names().stream().anyMatch(n -> n.toLowerCase().startsWith("access-control-"));
  }

  @Test
  void preflightIsOptionsWithOriginAndRequestMethod() {
    assertTrue(Cors.isPreflight(HttpMethod.OPTIONS, preflight("https://a.example", "PUT", null)));
    assertFalse(Cors.isPreflight(HttpMethod.OPTIONS, headers("Origin", "https://a.example")), "plain OPTIONS goes on");
    assertFalse(Cors.isPreflight(HttpMethod.OPTIONS, headers("Access-Control-Request-Method", "PUT")));
    assertFalse(Cors.isPreflight(HttpMethod.GET, preflight("https://a.example", "PUT", null)));
  }

  @Test
  void allowedPreflightGetsEveryHeaderOfTheAnswer() {
    Cors.Preflight p = STRICT.preflight(preflight("https://App.Example.com", "PUT", "Content-Type, X-Trace"));
    assertEquals(204, p.status());
    MultiMap h = p.headers();
    assertEquals("https://App.Example.com", h.get("access-control-allow-origin"), "the origin as sent, echoed");
    assertEquals("true", h.get("access-control-allow-credentials"));
    assertEquals("GET, PUT, DELETE", h.get("access-control-allow-methods"));
    assertEquals("content-type, x-trace", h.get("access-control-allow-headers"));
    assertEquals("600", h.get("access-control-max-age"));
    assertEquals("Origin, Access-Control-Request-Method, Access-Control-Request-Headers", h.get("vary"));
    assertNull(h.get("access-control-expose-headers"), "exposing is for actual answers");
  }

  static Stream<Arguments> refusedPreflights() {
    return Stream.of(
        Arguments.of("unlisted origin", preflight("https://evil.example", "GET", null), "origin https://evil.example is not allowed"),
        Arguments.of("origin with another port", preflight("https://app.example.com:8443", "GET", null),
            "origin https://app.example.com:8443 is not allowed"),
        Arguments.of("origin with another scheme", preflight("http://app.example.com", "GET", null),
            "origin http://app.example.com is not allowed"),
        Arguments.of("the null origin", preflight("null", "GET", null), "origin null is not allowed"),
        Arguments.of("unlisted method", preflight("https://app.example.com", "PATCH", null), "method PATCH is not allowed"),
        Arguments.of("methods are case-sensitive", preflight("https://app.example.com", "put", null), "method put is not allowed"),
        Arguments.of("one unlisted header", preflight("https://app.example.com", "PUT", "content-type,x-other"),
            "header x-other is not allowed"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("refusedPreflights")
  void refusedPreflightGets403WithoutCorsHeaders(String name, MultiMap request, String refusal) {
    Cors.Preflight p = STRICT.preflight(request);
    assertEquals(403, p.status());
    assertEquals(refusal, p.refusal());
    assertFalse(hasCorsHeader(p.headers()), p.headers().toString());
  }

  @Test
  void safelistedMethodsAndEmptyHeaderListsPass() {
    assertEquals(204, STRICT.preflight(preflight("https://app.example.com", "POST", null)).status(),
        "POST needs no listing (CORS-safelisted method)");
    assertEquals(204, STRICT.preflight(preflight("https://app.example.com", "DELETE", " , ")).status());
    assertEquals(204, STRICT.preflight(preflight("https://app.example.com", "PUT", " X-TRACE ")).status());
  }

  @Test
  void anyOriginAnswersWithAStarAndEchoesRequestedHeaders() {
    Cors.Preflight p = ANY.preflight(preflight("https://whoever.example", "POST", "x-a, x-b"));
    assertEquals(204, p.status());
    assertEquals("*", p.headers().get("access-control-allow-origin"));
    assertEquals("x-a, x-b", p.headers().get("access-control-allow-headers"));
    assertNull(p.headers().get("access-control-allow-credentials"));
    assertNull(p.headers().get("access-control-max-age"));
  }

  static Stream<Arguments> origins() {
    return Stream.of(
        Arguments.of("https://app.example.com", true),
        Arguments.of("HTTPS://APP.EXAMPLE.COM", true),
        Arguments.of("http://localhost:3000", true),
        Arguments.of("http://localhost:3001", false),
        Arguments.of("https://a.example.org", true),
        Arguments.of("https://a.b.example.org", true),
        Arguments.of("https://example.org", false),
        Arguments.of("https://.example.org", false),
        Arguments.of("http://a.example.org", false),
        Arguments.of("https://a.example.org:8443", false),
        Arguments.of("https://evilexample.org", false),
        Arguments.of("https://a.example.org.evil.com", false),
        Arguments.of("https://user@a.example.org", false),
        Arguments.of("https://a.example.org/path", false),
        Arguments.of("", false));
  }

  @ParameterizedTest(name = "{0} allowed: {1}")
  @MethodSource("origins")
  void originPatterns(String origin, boolean allowed) {
    assertEquals(allowed, STRICT.allows(origin));
  }

  @Test
  void patternsWithAPortMatchThatPortOnly() {
    Cors ported = new Cors(new CorsConfig(List.of("https://*.example.com:8443"), List.of("GET"), List.of(), List.of(),
        false, null));
    assertTrue(ported.allows("https://api.example.com:8443"));
    assertFalse(ported.allows("https://api.example.com"));
    assertFalse(ported.allows("https://api.example.com:84430"));
  }

  @Test
  void actualAnswersOfAllowedOriginsAreMarked() {
    MultiMap response = headers("Vary", "Accept-Encoding");
    STRICT.onActual("https://app.example.com", response);
    assertEquals("https://app.example.com", response.get("access-control-allow-origin"));
    assertEquals("true", response.get("access-control-allow-credentials"));
    assertEquals("x-request-id, x-total", response.get("access-control-expose-headers"));
    assertEquals(List.of("Accept-Encoding", "Origin"), response.getAll("vary"));
  }

  @Test
  void otherOriginsAndNoOriginGetOnlyVary() {
    for (String origin : new String[] {"https://evil.example", null}) {
      MultiMap response = MultiMap.caseInsensitiveMultiMap();
      STRICT.onActual(origin, response);
      assertFalse(hasCorsHeader(response), origin + ": " + response);
      assertEquals("Origin", response.get("vary"), "the answer depends on the origin: caches must know");
    }
  }

  @Test
  void anyOriginMarksWithAStarAndNoVary() {
    MultiMap response = MultiMap.caseInsensitiveMultiMap();
    ANY.onActual("https://whoever.example", response);
    assertEquals("*", response.get("access-control-allow-origin"));
    assertEquals("*", response.get("access-control-expose-headers"));
    assertNull(response.get("vary"));
    MultiMap none = MultiMap.caseInsensitiveMultiMap();
    ANY.onActual(null, none);
    assertTrue(none.isEmpty(), none.toString());
  }

  @Test
  void backendCorsHeadersAreDropped() {
    MultiMap response = headers("Access-Control-Allow-Origin", "*", "access-control-allow-credentials", "true",
        "ACCESS-CONTROL-EXPOSE-HEADERS", "x", "Vary", "Origin", "X-Backend", "b");
    Cors.dropBackendHeaders(response);
    assertEquals(List.of("Vary", "X-Backend"), List.copyOf(response.names()).stream().sorted().toList());
  }
}
