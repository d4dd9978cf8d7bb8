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

  static String url(String location) {
    return PAYMENT.url(location, PAYMENT.prefix(), CLIENT, false, CLIENT, INSTANCE);
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

  /** A route that strips nothing: the prefix is empty, a URL naming the instance gets the client's origin. */
  static final StrippedPrefix PLAIN = of("/plain", false, true, false);

  @Test
  void aRouteThatStripsNothingGivesTheClientsOriginToAUrlNamingTheInstance() {
    String[][] table = {
        // the instance's address, as the gateway connected to it: the client's scheme and Host, path and query kept
        {"http://10.0.0.5:9000/plain/dir/?a=1&b=%2F#f", "http://gw.example:8080/plain/dir/?a=1&b=%2F#f"},
        {"http://10.0.0.5:9000", "http://gw.example:8080/"},
        {"http://10.0.0.5:9000?q", "http://gw.example:8080/?q"},
        {"https://10.0.0.5:9000/x", "http://gw.example:8080/x"},
        {"HTTP://10.0.0.5:9000/x", "http://gw.example:8080/x"},
        {"http://10.0.0.5:9000//evil.example/x", "http://gw.example:8080//evil.example/x"},
        // nginx's port_in_redirect: the name of the Host it was sent, the instance's port
        {"http://gw.example:9000/dir/", "http://gw.example:8080/dir/"},
        {"http://GW.example.:9000/dir/", "http://gw.example:8080/dir/"},
        // anything else as sent: paths, the client's own origin (another route's public URL), other hosts and ports
        {"/login", null}, {"/", null}, {"", null}, {"login", null}, {"//10.0.0.5:9000/x", null},
        {"http://gw.example:8080/api/payment/x", null},
        {"http://gw.example:8080", null},
        {"http://gw.example:9001/x", null},
        {"http://gw.example/x", null},
        {"http://10.0.0.5:9001/x", null},
        {"http://10.0.0.5/x", null},
        {"http://other.example:9000/x", null},
        {"http://10.0.0.5.evil:9000/x", null},
        {"http://u@10.0.0.5:9000/x", null},
        {"ftp://10.0.0.5:9000/x", null},
    };
    for (String[] row : table) {
      assertEquals(row[1], PLAIN.url(row[0], null, CLIENT, false, CLIENT, INSTANCE), row[0]);
    }
    // The scheme the client used.
    assertEquals("https://gw.example:8080/x", PLAIN.url("http://10.0.0.5:9000/x", null, CLIENT, true, CLIENT,
        INSTANCE));
    // pass_host: false sent the instance's address (or its TLS server name) as Host: its name on its port.
    HostAndPort sent = HostAndPort.create("api.internal", 9000);
    assertEquals("http://gw.example:8080/x", PLAIN.url("http://api.internal:9000/x", null, CLIENT, false, sent,
        INSTANCE));
    assertNull(PLAIN.url("http://api.internal:9001/x", null, CLIENT, false, sent, INSTANCE));
    // A client's Host without a port, or an IPv6 literal, as it sent it.
    HostAndPort bare = HostAndPort.create("gw.example", -1);
    assertEquals("http://gw.example/x", PLAIN.url("http://gw.example:9000/x", null, bare, false, bare, INSTANCE));
    HostAndPort v6 = HostAndPort.create("[::1]", 8080);
    assertEquals("http://[::1]:8080/x", PLAIN.url("http://[::1]:9000/x", null, v6, false, v6, inst("::1", 9000)));
    // An instance on port 80 named without its port: the Host's name on it.
    assertEquals("http://gw.example:8080/x", PLAIN.url("http://gw.example/x", null, CLIENT, false, CLIENT,
        inst("10.0.0.5", 80)));
    // No Host from the client (HTTP/1.0): a path-absolute reference, never one a browser reads as another host.
    assertEquals("/x?q", PLAIN.url("http://10.0.0.5:9000/x?q", null, null, false, null, INSTANCE));
    assertEquals("/", PLAIN.url("http://10.0.0.5:9000", null, null, false, null, INSTANCE));
    assertNull(PLAIN.url("http://10.0.0.5:9000//evil.example/x", null, null, false, null, INSTANCE));
    assertNull(PLAIN.url("http://10.0.0.5:9000/\\evil.example/x", null, null, false, null, INSTANCE));
    // The Host's name on the instance's port in another scheme than the gateway speaks to it: a redirect to HTTPS
    // meant for another listener (one on the instance's port number): rewritten to the client's origin, it would loop.
    assertNull(PLAIN.url("https://gw.example:9000/x", null, CLIENT, false, CLIENT, INSTANCE));
    Instance tls = new Instance("static:10.0.0.5:9000", "web", "10.0.0.5", 9000, true);
    assertEquals("https://gw.example:8080/x", PLAIN.url("https://gw.example:9000/x", null, CLIENT, true, CLIENT, tls));
    assertNull(PLAIN.url("http://gw.example:9000/x", null, CLIENT, true, CLIENT, tls));
    // The instance's own address in either scheme is the instance (a backend saying https behind a TLS gateway).
    assertEquals("https://gw.example:8080/x", PLAIN.url("https://10.0.0.5:9000/x", null, CLIENT, true, CLIENT, tls));
    // A dns_targets instance, by the name it was found under.
    Instance named = new Instance("dns:orders.internal@10.0.0.5", "web", "10.0.0.5", 9000, false, "orders.internal.");
    assertEquals("http://gw.example:8080/x", PLAIN.url("http://orders.internal:9000/x", null, CLIENT, false, CLIENT,
        named));
    assertNull(PLAIN.url("http://orders.internal:9001/x", null, CLIENT, false, CLIENT, named));
    // No instance known: nothing is the instance.
    assertNull(PLAIN.url("http://gw.example:9000/x", null, CLIENT, false, CLIENT, null));
    // Refresh and the whole answer.
    assertEquals("0; url=http://gw.example:8080/plain/x", PLAIN.refresh("0; url=http://10.0.0.5:9000/plain/x", null,
        CLIENT, false, CLIENT, INSTANCE));
    MultiMap answer = HttpHeaders.headers().add("Location", "http://10.0.0.5:9000/a")
        .add("Content-Location", "http://10.0.0.5:9000/b").add("Refresh", "1; url=/c");
    PLAIN.rewrite(301, answer, null, CLIENT, false, CLIENT, INSTANCE);
    assertEquals("http://gw.example:8080/a", answer.get("location"));
    assertEquals("http://gw.example:8080/b", answer.get("content-location"));
    assertEquals("1; url=/c", answer.get("refresh"));
  }

  @Test
  void locationsTable() {
    String[][] table = {
        // path-absolute: the prefix in front
        {"/login", "/api/payment/login"},
        {"/", "/api/payment/"},
        {"/a/b?c=/d#e", "/api/payment/a/b?c=/d#e"},
        {"/api/paymentx", "/api/payment/api/paymentx"},
        // already under the prefix: as sent
        {"/api/payment", null},
        {"/api/payment/login", null},
        {"/api/payment?x=1", null},
        // relative, network-path, other schemes: as sent
        {"", null}, {"login", null}, {"./login", null}, {"?page=2", null}, {"#top", null},
        {"//gw.example:8080/login", null}, {"/\\evil.example/x", null}, {"mailto:a@example.com", null},
        // the client's Host: absolute, the prefix before the path
        {"http://gw.example:8080/login", "http://gw.example:8080/api/payment/login"},
        {"HTTP://GW.Example:8080/login", "HTTP://GW.Example:8080/api/payment/login"},
        {"http://gw.example:8080", "http://gw.example:8080/api/payment/"},
        {"http://gw.example:8080?x", "http://gw.example:8080/api/payment/?x"},
        {"http://gw.example:8080/api/payment/x", null},
        // another port or host, user information: as sent
        {"http://gw.example/login", null},
        {"http://gw.example:8081/login", null},
        {"http://other.example:8080/login", null},
        {"http://gw.example.evil:8080/login", null},
        {"http://user@gw.example:8080/login", null},
        // the instance's address, or the Host's name on its port: the client's origin, the path under the prefix
        {"http://10.0.0.5:9000/login", "http://gw.example:8080/api/payment/login"},
        {"http://10.0.0.5:9000", "http://gw.example:8080/api/payment/"},
        {"http://10.0.0.5:9000/api/payment/login", "http://gw.example:8080/api/payment/login"},
        {"http://gw.example:9000/login", "http://gw.example:8080/api/payment/login"},
        {"http://10.0.0.5:9001/login", null},
    };
    for (String[] row : table) {
      assertEquals(row[1], url(row[0]), row[0]);
    }
  }

  @Test
  void aHostWithoutPortMatchesTheDefaultPortsOfBothSchemes() {
    HostAndPort bare = HostAndPort.create("gw.example", -1);
    assertEquals("https://gw.example/api/payment/x",
        PAYMENT.url("https://gw.example/x", "/api/payment", bare, false, bare, null));
    assertEquals("http://gw.example:80/api/payment/x",
        PAYMENT.url("http://gw.example:80/x", "/api/payment", bare, false, bare, null));
    assertEquals("http://gw.example:443/api/payment/x",
        PAYMENT.url("http://gw.example:443/x", "/api/payment", bare, false, bare, null));
    assertNull(PAYMENT.url("http://gw.example:8080/x", "/api/payment", bare, false, bare, null));
  }

  @Test
  void anIpv6InstanceMatchesWithOrWithoutBrackets() {
    assertEquals("/api/payment/x",
        PAYMENT.url("http://[::1]:9000/x", "/api/payment", null, false, null, inst("::1", 9000)));
    HostAndPort bracketed = HostAndPort.create("[::1]", 9000);
    assertEquals("/api/payment/x",
        PAYMENT.url("http://[::1]:9000/x", "/api/payment", null, false, bracketed, null));
    assertNull(PAYMENT.url("http://[::2]:9000/x", "/api/payment", null, false, bracketed, inst("::1", 9000)));
  }

  @Test
  void aLocationUnderTheWholeForwardedPrefixIsLeftAlone() {
    // Behind a trusted proxy that stripped /outer: a backend reading X-Forwarded-Prefix already says it all.
    assertNull(PAYMENT.url("/outer/api/payment/login", "/outer/api/payment", CLIENT, false, CLIENT, null));
    assertEquals("/api/payment/login", PAYMENT.url("/login", "/outer/api/payment", CLIENT, false, CLIENT, null));
  }

  @Test
  void refreshTable() {
    String[][] table = {
        {"5; url=/login", "5; url=/api/payment/login"},
        {"0;URL='/login'", "0;URL='/api/payment/login'"},
        {"0; url = \"/login\"", "0; url = \"/api/payment/login\""},
        {"3, /login", "3, /api/payment/login"},
        {"0; url=http://gw.example:8080/x", "0; url=http://gw.example:8080/api/payment/x"},
        {"5", null},
        {"5;", null},
        {"5; url=login", null},
        {"5; url=https://other.example/", null},
        {"5; url=/api/payment/x", null},
    };
    for (String[] row : table) {
      assertEquals(row[1], PAYMENT.refresh(row[0], "/api/payment", CLIENT, false, CLIENT, null), row[0]);
    }
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
    assertEquals("http://gw.example:8080/api/payment/\\evil.example/api/payment/x", PAYMENT.url(
        "http://10.0.0.5:9000/\\evil.example/api/payment/x", backslashed, CLIENT, false, CLIENT, INSTANCE));
    assertEquals("/a/b/api/payment", trusted("/\\a\\, \\b"));
    // The backend read it and redirects under it: left as it is, not /api/payment/a/b/api/payment/login.
    assertNull(PAYMENT.url("/a/b/api/payment/login", two, CLIENT, false, CLIENT, null));
  }

  static String trusted(String forwardedPrefix) {
    return PAYMENT.forwarded(HttpHeaders.headers().add("X-Forwarded-Prefix", forwardedPrefix), true);
  }

  /** An IPv6 literal with something after its bracket but a port is not that address. */
  @Test
  void anIpv6LiteralFollowedByOtherTextIsNotTheAddress() {
    assertNull(PAYMENT.url("http://[::1]evil.example/x", "/api/payment", null, false, null, inst("::1", 80)));
    assertNull(PAYMENT.url("http://[::1]evil.example:9000/x", "/api/payment", null, false, null, inst("::1", 9000)));
    assertEquals("/api/payment/x",
        PAYMENT.url("http://[::1]:9000/x", "/api/payment", null, false, null, inst("::1", 9000)));
  }

  /** A fully qualified name ("gw.example.") is the same host as without its root dot, on either side. */
  @Test
  void aHostWithItsRootDotIsTheSameHost() {
    HostAndPort dotted = HostAndPort.create("gw.example.", 8080);
    assertEquals("http://gw.example:8080/api/payment/x",
        PAYMENT.url("http://gw.example:8080/x", "/api/payment", dotted, false, dotted, null));
    assertEquals("http://gw.example.:8080/api/payment/x",
        PAYMENT.url("http://gw.example.:8080/x", "/api/payment", CLIENT, false, CLIENT, null));
    assertNull(PAYMENT.url("http://gw.example..:8080/x", "/api/payment", CLIENT, false, CLIENT, null));
    assertNull(PAYMENT.url("http://.:8080/x", "/api/payment", HostAndPort.create("", 8080), false, null, null));
  }

  /**
   * A path under the prefix with path parameters (a servlet container's {@code ;jsessionid=}, sent before its cookie
   * is known) is under it: the route takes the prefix as a string, so the client's next request reaches the backend
   * as {@code /;jsessionid=...}; it was given the prefix a second time.
   */
  @Test
  void aPathParameterAfterThePrefixIsUnderIt() {
    assertNull(url("/api/payment;jsessionid=A1B2"));
    assertEquals("http://gw.example:8080/api/payment;jsessionid=A1B2",
        url("http://10.0.0.5:9000/api/payment;jsessionid=A1B2"));
    assertEquals("/api/payment/api/paymentx;a", url("/api/paymentx;a"));
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
