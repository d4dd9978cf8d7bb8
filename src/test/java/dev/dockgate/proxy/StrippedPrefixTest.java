package dev.dockgate.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.dockgate.config.RetryConfig;
import dev.dockgate.config.RouteConfig;
import dev.dockgate.discovery.Instance;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.net.HostAndPort;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The prefix a strip_prefix route says (X-Forwarded-Prefix) and puts back into a backend's redirects, as a table
 * (StripPrefixIT checks the whole path over real sockets).
 */
class StrippedPrefixTest {

  static StrippedPrefix of(String pathPrefix, boolean strip) {
    return of(pathPrefix, strip, strip, strip);
  }

  static StrippedPrefix of(String pathPrefix, boolean strip, boolean locations, boolean cookies) {
    return StrippedPrefix.of(new RouteConfig(pathPrefix, "web", 1000, strip, List.of(), null, RetryConfig.NONE, true,
        locations, cookies, Map.of()));
  }

  static final StrippedPrefix PAYMENT = of("/api/payment", true);
  /** The client's Host, on the gateway's port; the instance's address (pass_host: false sends it as Host too). */
  static final HostAndPort CLIENT = HostAndPort.create("gw.example", 8080);
  static final Instance INSTANCE = inst("10.0.0.5", 9000);

  static Instance inst(String host, int port) {
    return new Instance("static:" + host + ":" + port, "web", host, port);
  }

  @Test
  void thePrefixIsThePathTakenAwayWithoutItsTrailingSlash() {
    assertEquals("/api/payment", PAYMENT.prefix());
    assertEquals("/v2", of("/v2/", true).prefix());
    assertEquals("", of("/", true).prefix(), "a route of / strips nothing");
    assertEquals("", of("/api", false, true, false).prefix());
    assertNull(of("/api", false, false, false), "rewrite_location: false on a route that strips nothing: no work");
  }

  /** A route that strips nothing (or only "/") says no X-Forwarded-Prefix, and puts nothing into cookies' Path. */
  @Test
  void aRouteThatStripsNothingSaysNoPrefixAndLeavesCookies() {
    MultiMap trustedOnes = HttpHeaders.headers().add("X-Forwarded-Prefix", "/outer");
    for (StrippedPrefix plain : new StrippedPrefix[] {of("/api", false, true, true), of("/", true)}) {
      assertNull(plain.forwarded(trustedOnes, true));
      assertNull(plain.forwarded(HttpHeaders.headers(), false));
      assertEquals(true, plain.rewrites());
      MultiMap answer = HttpHeaders.headers().add("Set-Cookie", "s=1; Path=/b").add("Location", "/a");
      plain.rewrite(302, answer, null, CLIENT, false, CLIENT, INSTANCE);
      assertEquals("s=1; Path=/b", answer.get("set-cookie"));
      assertEquals("/a", answer.get("location"));
    }
  }

  /**
   * A route that strips nothing: the prefix is empty, its redirects naming the instance get the client's origin, the
   * others stay (RedirectUrlTest has the table).
   */
  @Test
  void aRouteThatStripsNothingRewritesTheRedirectsNamingTheInstance() {
    StrippedPrefix plain = of("/plain", false, true, false);
    MultiMap answer = HttpHeaders.headers().add("Location", "http://10.0.0.5:9000/a")
        .add("Content-Location", "http://10.0.0.5:9000/b").add("Refresh", "1; url=/c");
    plain.rewrite(301, answer, null, CLIENT, false, CLIENT, INSTANCE);
    assertEquals("http://gw.example:8080/a", answer.get("location"));
    assertEquals("http://gw.example:8080/b", answer.get("content-location"));
    assertEquals("1; url=/c", answer.get("refresh"));
  }

  @Test
  void locationOnlyWhereItRedirectsContentLocationAndRefreshAlways() {
    for (int status : new int[] {200, 201, 301, 302, 303, 307, 308, 404}) {
      MultiMap answer = HttpHeaders.headers().add("Location", "/a").add("Content-Location", "/b")
          .add("Refresh", "1; url=/c").add("Link", "</d>; rel=next");
      PAYMENT.rewrite(status, answer, "/api/payment", CLIENT, false, CLIENT, null);
      boolean redirects = status == 201 || status / 100 == 3;
      assertEquals(redirects ? "/api/payment/a" : "/a", answer.get("location"), "status " + status);
      assertEquals("/api/payment/b", answer.get("content-location"), "status " + status);
      assertEquals("1; url=/api/payment/c", answer.get("refresh"), "status " + status);
      assertEquals("</d>; rel=next", answer.get("link"), "not a header the rewrite covers");
    }
  }

  @Test
  void theForwardedPrefixIsTheRoutesUnlessATrustedProxySentOne() {
    MultiMap client = HttpHeaders.headers().add("X-Forwarded-Prefix", "/outer/");
    assertEquals("/api/payment", PAYMENT.forwarded(client, false));
    assertEquals("/outer/api/payment", PAYMENT.forwarded(client, true));
    assertEquals("/api/payment", PAYMENT.forwarded(HttpHeaders.headers(), true));
    assertEquals("/api/payment", PAYMENT.forwarded(HttpHeaders.headers().add("X-Forwarded-Prefix", "/"), true));
  }

  /**
   * Several prefixes from trusted proxies (one header each, or a list in one) are joined into the one path they make
   * together, as Spring reads such a list (each without its trailing slashes): a backend that takes the header as it
   * comes (Werkzeug's ProxyFix, ASP.NET take its last element) builds the same links, and a redirect under it is seen
   * as under it, not given the route's prefix a second time.
   */
  @Test
  void severalTrustedPrefixesMakeOnePath() {
    String two = PAYMENT.forwarded(HttpHeaders.headers().add("X-Forwarded-Prefix", "/a/")
        .add("X-Forwarded-Prefix", "/b"), true);
    assertEquals("/a/b/api/payment", two);
    assertEquals("/a/b/api/payment", trusted(" /a/ , /b/ "));
    assertEquals("/a/api/payment", trusted("/a,,/,"));
    assertEquals("/api/payment", trusted(" , / "));
    assertEquals("/outer/api/payment", trusted("outer"), "a path: from its root");
    assertEquals("/outer/api/payment", trusted("//outer"), "never a network-path reference (//host)");
    // "/\" is "//" to a browser: a backend building its redirects under the header, or the gateway making a URL of
    // the instance's path-absolute, would send the client to evil.example.
    String backslashed = trusted("\\evil.example");
    assertEquals("/evil.example/api/payment", backslashed);
    assertEquals("http://gw.example:8080/api/payment/\\evil.example/api/payment/x", RedirectUrlTest.payment(
        "http://10.0.0.5:9000/\\evil.example/api/payment/x", backslashed, CLIENT, false, CLIENT, INSTANCE));
    assertEquals("/a/b/api/payment", trusted("/\\a\\, \\b"));
    // The backend read it and redirects under it: left as it is, not /api/payment/a/b/api/payment/login.
    assertNull(RedirectUrlTest.payment("/a/b/api/payment/login", two, CLIENT, false, CLIENT, null));
  }

  static String trusted(String forwardedPrefix) {
    return PAYMENT.forwarded(HttpHeaders.headers().add("X-Forwarded-Prefix", forwardedPrefix), true);
  }


  /**
   * Several Location (or Content-Location, Refresh) lines of one answer each get the prefix back, none dropped: a
   * browser refuses an answer with two different Locations, and the gateway does not choose one for it.
   */
  @Test
  void everyLineOfARewrittenHeaderIsKept() {
    MultiMap answer = HttpHeaders.headers().add("Location", "/a").add("Location", "/b")
        .add("Content-Location", "/c").add("Content-Location", "https://other.example/d")
        .add("Refresh", "1; url=/e").add("Refresh", "2; url=/f");
    PAYMENT.rewrite(302, answer, "/api/payment", CLIENT, false, CLIENT, null);
    assertEquals(List.of("/api/payment/a", "/api/payment/b"), answer.getAll("location"));
    assertEquals(List.of("/api/payment/c", "https://other.example/d"), answer.getAll("content-location"));
    assertEquals(List.of("1; url=/api/payment/e", "2; url=/api/payment/f"), answer.getAll("refresh"));
  }

  /** Each Set-Cookie line is a cookie of its own: each rewritten or kept, in order, on any status. */
  @Test
  void everySetCookieLineIsRewrittenOnItsOwn() {
    for (int status : new int[] {200, 204, 302, 404, 500}) {
      MultiMap answer = HttpHeaders.headers().add("Set-Cookie", "a=1").add("set-cookie", "b=2; Path=/")
          .add("Set-Cookie", "c=3; Path=/api/payment/c").add("SET-COOKIE", "d=4; path=/d; HttpOnly");
      PAYMENT.rewrite(status, answer, "/api/payment", CLIENT, false, CLIENT, null);
      assertEquals(List.of("a=1", "b=2; Path=/api/payment", "c=3; Path=/api/payment/c",
          "d=4; path=/api/payment/d; HttpOnly"), answer.getAll("set-cookie"), "status " + status);
    }
    MultiMap untouched = HttpHeaders.headers().add("Set-Cookie", "a=1").add("Set-Cookie", "b=2; Path=account");
    PAYMENT.rewrite(200, untouched, "/api/payment", CLIENT, false, CLIENT, null);
    assertEquals(List.of("a=1", "b=2; Path=account"), untouched.getAll("set-cookie"));
  }

  /**
   * A prefix a cookie's Path cannot hold (';' ends the attribute: Path=/app;v2 is read as Path=/app, another route's
   * and not this one's) leaves the cookies as sent, while the redirects get the prefix.
   */
  @Test
  void aPrefixWithASemicolonLeavesTheCookiesAsSent() {
    StrippedPrefix semicolon = of("/app;v2", true);
    MultiMap answer = HttpHeaders.headers().add("Location", "/a").add("Set-Cookie", "s=1; Path=/")
        .add("Set-Cookie", "t=2; Path=/b");
    semicolon.rewrite(302, answer, "/app;v2", CLIENT, false, CLIENT, null);
    assertEquals("/app;v2/a", answer.get("location"));
    assertEquals(List.of("s=1; Path=/", "t=2; Path=/b"), answer.getAll("set-cookie"));
    assertEquals(false, of("/app;v2", true, false, true).rewrites());
  }

  /** rewrite_location and rewrite_cookie_path each switch their own headers. */
  @Test
  void eachSwitchRewritesItsOwnHeaders() {
    MultiMap answer = HttpHeaders.headers().add("Location", "/a").add("Set-Cookie", "s=1; Path=/b");
    of("/api", true, true, false).rewrite(302, answer, "/api", CLIENT, false, CLIENT, null);
    assertEquals("/api/a", answer.get("location"));
    assertEquals("s=1; Path=/b", answer.get("set-cookie"));
    answer = HttpHeaders.headers().add("Location", "/a").add("Set-Cookie", "s=1; Path=/b");
    StrippedPrefix cookiesOnly = of("/api", true, false, true);
    assertEquals(true, cookiesOnly.rewrites());
    cookiesOnly.rewrite(302, answer, "/api", CLIENT, false, CLIENT, null);
    assertEquals("/a", answer.get("location"));
    assertEquals("s=1; Path=/api/b", answer.get("set-cookie"));
    assertEquals(false, of("/api", true, false, false).rewrites());
  }
}
