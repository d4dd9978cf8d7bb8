package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.GatewayHarness;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A route with {@code strip_prefix}: the prefix it took away reaches the backend as {@code X-Forwarded-Prefix}
 * (a client's own replaced, a trusted proxy's extended), and the backend's redirects ({@code Location} of a 3xx or
 * 201, {@code Content-Location}, {@code Refresh}) that point into its own paths get the prefix back, as do its
 * cookies' {@code Path}; other hosts, relative references and routes with {@code rewrite_location: false} or
 * {@code rewrite_cookie_path: false} are left alone. On every route, one that strips nothing too, a redirect naming
 * the instance's own address (which the client cannot reach) is given the client's origin; a route that strips
 * nothing leaves any other URL, and every cookie, as sent. A real backend on 127.0.0.1 answers as each request's
 * {@code X-Answer-*} headers ask, naming what it got.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class StripPrefixIT {

  static Vertx vertx;
  static HttpServer backend;

  @TempDir
  Path dir;
  GatewayHarness gateway;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    backend = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
        .requestHandler(StripPrefixIT::answer)
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void stopGateway() {
    if (gateway != null) {
      gateway.close();
    }
  }

  /**
   * Answers with the status, Location, Content-Location, Refresh and Set-Cookie lines (each X-Answer-Set-Cookie one)
   * the request's X-Answer-* headers ask for ({@code {host}} in them: the Host this backend was sent), and says what
   * it got: X-Got-Uri, X-Got-Prefix (every X-Forwarded-Prefix line, joined by " | "; "none" without), X-Got-Host,
   * X-Got-Cookie ("null" without).
   */
  static void answer(HttpServerRequest request) {
    String host = request.getHeader("Host");
    var out = request.response();
    out.putHeader("X-Got-Uri", request.uri());
    out.putHeader("X-Got-Host", String.valueOf(host));
    java.util.List<String> prefixes = request.headers().getAll("X-Forwarded-Prefix");
    out.putHeader("X-Got-Prefix", prefixes.isEmpty() ? "none" : String.join(" | ", prefixes));
    out.putHeader("X-Got-Underscored", String.valueOf(request.getHeader("X_Forwarded_Prefix")));
    out.putHeader("X-Got-Cookie", String.valueOf(request.getHeader("Cookie")));
    String status = request.getHeader("X-Answer-Status");
    out.setStatusCode(status == null ? 200 : Integer.parseInt(status));
    for (String name : new String[] {"Location", "Content-Location", "Refresh"}) {
      String value = request.getHeader("X-Answer-" + name);
      if (value != null) {
        out.putHeader(name, value.replace("{host}", String.valueOf(host)));
      }
    }
    for (String cookie : request.headers().getAll("X-Answer-Set-Cookie")) {
      out.headers().add("Set-Cookie", cookie);
    }
    out.end("ok");
  }

  GatewayHarness gateway(String serverLines) {
    return gateway(serverLines, "");
  }

  /** The gateway with {@code routeLines} (YAML list items, indented as the routes) before the usual routes. */
  GatewayHarness gateway(String serverLines, String routeLines) {
    int port = backend.actualPort();
    gateway = new GatewayHarness(dir, serverLines, """
        docker: {enabled: false}
        routes:
        %s  - {path_prefix: /api/payment, backend: b, strip_prefix: true}
          - {path_prefix: /v2/, backend: b, strip_prefix: true}
          - {path_prefix: /internal, backend: b, strip_prefix: true, pass_host: false}
          - {path_prefix: /kept, backend: b, strip_prefix: true, rewrite_location: false}
          - {path_prefix: /plain, backend: b}
          - path_prefix: /cors
            backend: b
            strip_prefix: true
            cors: {allow_origins: ["https://app.example"]}
        backends:
          - {name: b, targets: ["http://127.0.0.1:%d"]}
        """.formatted(routeLines, port), 1);
    return gateway;
  }

  /** A GET through the gateway with {@code headers} (name, value, ...); redirects are not followed. */
  HttpResponse<String> get(String path, String... headers) {
    HttpRequest.Builder request = HttpRequest.newBuilder(gateway.uri(path)).timeout(Duration.ofSeconds(10));
    for (int i = 0; i < headers.length; i += 2) {
      request.header(headers[i], headers[i + 1]);
    }
    return gateway.send(request.build());
  }

  static String header(HttpResponse<String> response, String name) {
    return response.headers().firstValue(name).orElse("none");
  }

  /** The Location a 302 of the backend naming {@code location} reaches the client with, through {@code path}. */
  String redirected(String path, String location) {
    HttpResponse<String> response = get(path, "X-Answer-Status", "302", "X-Answer-Location", location);
    assertEquals(302, response.statusCode());
    return header(response, "Location");
  }

  @Test
  void theStrippedPrefixReachesTheBackendAndAClientsOwnIsReplaced() {
    gateway("");
    HttpResponse<String> response = get("/api/payment/x?q=1");
    assertEquals("/x?q=1", header(response, "X-Got-Uri"));
    assertEquals("/api/payment", header(response, "X-Got-Prefix"));
    // A client's claim (and its underscore look-alike, which CGI backends read as the same variable) is not believed.
    HttpResponse<String> forged = get("/api/payment/x", "X-Forwarded-Prefix", "/evil", "X_Forwarded_Prefix", "/evil2");
    assertEquals("/api/payment", header(forged, "X-Got-Prefix"));
    assertEquals("null", header(forged, "X-Got-Underscored"));
    // The part of the path taken away, without the prefix's trailing slash: /v2/x reaches the backend as /x.
    HttpResponse<String> slash = get("/v2/x");
    assertEquals("/x", header(slash, "X-Got-Uri"));
    assertEquals("/v2", header(slash, "X-Got-Prefix"));
    // A route that strips nothing sends none, and drops a client's.
    HttpResponse<String> plain = get("/plain/x", "X-Forwarded-Prefix", "/evil");
    assertEquals("/plain/x", header(plain, "X-Got-Uri"));
    assertEquals("none", header(plain, "X-Got-Prefix"));
  }

  @Test
  void aTrustedProxysPrefixIsExtended() {
    gateway("  trusted_proxies: [127.0.0.1]\n");
    assertEquals("/outer/api/payment", header(get("/api/payment/x", "X-Forwarded-Prefix", "/outer/"), "X-Got-Prefix"));
    assertEquals("/api/payment", header(get("/api/payment/x"), "X-Got-Prefix"));
    assertEquals("/outer", header(get("/plain/x", "X-Forwarded-Prefix", "/outer"), "X-Got-Prefix"));
  }

  /**
   * Proxies in a row that each stripped a prefix (two header lines, or a list in one): one path, which a backend
   * reading the header as it comes uses whole; its redirect under that path is left as it said it (it was given the
   * route's prefix a second time: /api/payment/a/b/api/payment/login).
   */
  @Test
  void severalTrustedPrefixesMakeOnePathAndARedirectUnderItIsLeftAlone() {
    gateway("  trusted_proxies: [127.0.0.1]\n");
    HttpResponse<String> lines = get("/api/payment/x", "X-Forwarded-Prefix", "/a/", "X-Forwarded-Prefix", "/b",
        "X-Answer-Status", "302", "X-Answer-Location", "/a/b/api/payment/login");
    assertEquals("/a/b/api/payment/login", header(lines, "Location"));
    assertEquals("/a/b/api/payment", header(lines, "X-Got-Prefix"));
    HttpResponse<String> list = get("/api/payment/x", "X-Forwarded-Prefix", "/a, /b/",
        "X-Answer-Status", "302", "X-Answer-Location", "/login");
    assertEquals("/a/b/api/payment", header(list, "X-Got-Prefix"));
    assertEquals("/api/payment/login", header(list, "Location"), "the backend's own path: the route's prefix back");
    // A backslash is a slash to browsers: "/\\evil.example/..." under the header would leave for another host.
    assertEquals("/evil.example/api/payment", header(get("/api/payment/x", "X-Forwarded-Prefix", "\\evil.example"),
        "X-Got-Prefix"));
  }

  @Test
  void aPathAbsoluteLocationGetsThePrefixBack() {
    gateway("");
    assertEquals("/api/payment/login", redirected("/api/payment/x", "/login"));
    assertEquals("/api/payment/", redirected("/api/payment/x", "/"));
    assertEquals("/api/payment/a/b?c=d#e", redirected("/api/payment/x", "/a/b?c=d#e"));
    assertEquals("/v2/login", redirected("/v2/x", "/login"));
    HttpResponse<String> created = get("/api/payment/items", "X-Answer-Status", "201", "X-Answer-Location", "/items/7");
    assertEquals(201, created.statusCode());
    assertEquals("/api/payment/items/7", header(created, "Location"));
    HttpResponse<String> moved = get("/api/payment/x", "X-Answer-Status", "301", "X-Answer-Location", "/new");
    assertEquals("/api/payment/new", header(moved, "Location"));
    // Already under the prefix (a backend that reads X-Forwarded-Prefix), relative, or another host: as sent.
    assertEquals("/api/payment/login", redirected("/api/payment/x", "/api/payment/login"));
    assertEquals("login", redirected("/api/payment/x", "login"));
    assertEquals("?page=2", redirected("/api/payment/x", "?page=2"));
    assertEquals("//other.example/login", redirected("/api/payment/x", "//other.example/login"));
    assertEquals("https://other.example/login", redirected("/api/payment/x", "https://other.example/login"));
    // Content-Location and Refresh, on any status; Location only where it redirects (3xx, 201).
    HttpResponse<String> ok = get("/api/payment/doc", "X-Answer-Location", "/ignored",
        "X-Answer-Content-Location", "/doc.en", "X-Answer-Refresh", "5; url=/login");
    assertEquals(200, ok.statusCode());
    assertEquals("/ignored", header(ok, "Location"));
    assertEquals("/api/payment/doc.en", header(ok, "Content-Location"));
    assertEquals("5; url=/api/payment/login", header(ok, "Refresh"));
    // Through a route whose stages see the answer (CORS) too.
    assertEquals("/cors/login", redirected("/cors/x", "/login"));
  }

  /** The Set-Cookie lines the client gets, in order, when the backend answers {@code path} with {@code cookies}. */
  List<String> cookies(String path, String... cookies) {
    String[] headers = new String[cookies.length * 2];
    for (int i = 0; i < cookies.length; i++) {
      headers[2 * i] = "X-Answer-Set-Cookie";
      headers[2 * i + 1] = cookies[i];
    }
    HttpResponse<String> response = get(path, headers);
    assertEquals(200, response.statusCode());
    return response.headers().allValues("Set-Cookie");
  }

  /**
   * A cookie's absolute Path gets the prefix (Path=/ the prefix itself, which RFC 6265 path-matches /api/payment and
   * /api/payment/x, not /api/paymentx); every other attribute, the value, a cookie without Path, one already under
   * the prefix and a relative Path stay as sent; each Set-Cookie line on its own.
   */
  @Test
  void aCookiesPathGetsThePrefixBack() {
    gateway("");
    assertEquals(List.of(
            "lang=en; Max-Age=60",
            "sid=1; Path=/api/payment/account; HttpOnly; SameSite=Lax",
            "theme=dark; path = /api/payment ; Secure",
            "a=Path=/x; Path=/api/payment/y",
            "kept=1; Path=/api/payment/z",
            "rel=1; Path=account",
            "q=\"v; w\"; Path=/api/payment"),
        cookies("/api/payment/login",
            "lang=en; Max-Age=60",
            "sid=1; Path=/account; HttpOnly; SameSite=Lax",
            "theme=dark; path = / ; Secure",
            "a=Path=/x; Path=/y",
            "kept=1; Path=/api/payment/z",
            "rel=1; Path=account",
            "q=\"v; w\"; Path=/"));
    assertEquals(List.of("v=2; Path=/v2/s"), cookies("/v2/x", "v=2; Path=/s"));
    // Through a route whose stages see the answer (CORS) too.
    assertEquals(List.of("c=1; Path=/cors/s"), cookies("/cors/x", "c=1; Path=/s"));
  }

  /** What the fix is for: a login behind the prefix whose session cookie a client sends back under the prefix. */
  @Test
  void aClientSendsTheBackendsCookieBackUnderThePrefix() throws Exception {
    gateway("");
    java.net.http.HttpClient browser = java.net.http.HttpClient.newBuilder().cookieHandler(new java.net.CookieManager())
        .connectTimeout(Duration.ofSeconds(5)).build();
    HttpResponse<String> login = browser.send(HttpRequest.newBuilder(gateway.uri("/api/payment/login"))
        .header("X-Answer-Set-Cookie", "sid=s3cret; Path=/account").timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, login.statusCode());
    HttpResponse<String> account = browser.send(HttpRequest.newBuilder(gateway.uri("/api/payment/account/me"))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals("sid=s3cret", header(account, "X-Got-Cookie"));
    assertEquals("/account/me", header(account, "X-Got-Uri"));
  }

  /**
   * Behind a trusted proxy that stripped /outer, a backend reading X-Forwarded-Prefix sets its cookies under the
   * whole prefix already: left alone. One that does not gets the route's prefix (the outer proxy puts back its own).
   */
  @Test
  void aCookieUnderTheWholeForwardedPrefixIsLeftAlone() {
    gateway("  trusted_proxies: [127.0.0.1]\n");
    HttpResponse<String> response = get("/api/payment/x", "X-Forwarded-Prefix", "/outer",
        "X-Answer-Set-Cookie", "a=1; Path=/outer/api/payment/s", "X-Answer-Set-Cookie", "b=2; Path=/s");
    assertEquals(List.of("a=1; Path=/outer/api/payment/s", "b=2; Path=/api/payment/s"),
        response.headers().allValues("Set-Cookie"));
  }

  /**
   * rewrite_cookie_path follows rewrite_location unless set: off with it (/kept), off alone (a backend whose Path=/
   * means the whole site), on alone; routes that strip nothing leave cookies alone.
   */
  @Test
  void cookieRewritingFollowsRewriteLocationUnlessSetApart() {
    gateway("", """
          - {path_prefix: /site, backend: b, strip_prefix: true, rewrite_cookie_path: false}
          - {path_prefix: /only, backend: b, strip_prefix: true, rewrite_location: false, rewrite_cookie_path: true}
        """);
    assertEquals(List.of("k=1; Path=/s"), cookies("/kept/x", "k=1; Path=/s"));
    assertEquals(List.of("k=1; Path=/"), cookies("/site/x", "k=1; Path=/"));
    assertEquals("/site/login", redirected("/site/x", "/login"), "the redirects still rewritten");
    assertEquals(List.of("k=1; Path=/only"), cookies("/only/x", "k=1; Path=/"));
    assertEquals("/login", redirected("/only/x", "/login"), "the redirects left alone");
    assertEquals(List.of("k=1; Path=/s"), cookies("/plain/x", "k=1; Path=/s"));
  }

  /**
   * A prefix holding ';' (a path parameter, /app;v2) cannot be a cookie's Path: a browser ends the attribute at the
   * ';' and reads Path=/app, which sends the cookie to another route's /app/x and not back to /app;v2/x (the request
   * path goes on with ';', not '/'). Such a route leaves its cookies as sent; its redirects still get the prefix.
   */
  @Test
  void aPrefixACookiesPathCannotHoldLeavesTheCookiesAsSent() {
    gateway("", """
          - {path_prefix: "/app;v2", backend: b, strip_prefix: true}
        """);
    // Parameters are taken on a path's last segment only (PathNormalizer), so such a prefix serves that one path.
    HttpResponse<String> response = get("/app;v2", "X-Answer-Set-Cookie", "sid=1; Path=/",
        "X-Answer-Set-Cookie", "theme=dark; Path=/account; Secure");
    assertEquals("/", header(response, "X-Got-Uri"));
    List<String> cookies = response.headers().allValues("Set-Cookie");
    assertEquals(List.of("sid=1; Path=/", "theme=dark; Path=/account; Secure"), cookies,
        "as a browser reads them, Path=" + cookies.stream().map(c -> java.net.HttpCookie.parse(c).get(0).getPath())
            .toList());
    assertEquals("/app;v2/login", redirected("/app;v2", "/login"), "the redirects still rewritten");
  }

  /**
   * A {@code __Host-} cookie is the host's whole: browsers keep one only with Path=/ (RFC 6265bis 5.7), so given the
   * prefix it would be dropped and the login behind it lost. It reaches the client as sent; the others get the prefix.
   */
  @Test
  void aHostPrefixedCookieKeepsItsPathOfSlash() {
    gateway("");
    assertEquals(List.of("__Host-sid=1; Path=/; Secure; HttpOnly", "__Secure-t=2; Path=/api/payment; Secure"),
        cookies("/api/payment/login", "__Host-sid=1; Path=/; Secure; HttpOnly", "__Secure-t=2; Path=/; Secure"));
  }

  @Test
  void anAbsoluteUrlToTheForwardedHostGetsThePrefixBack() {
    gateway("");
    String self = "127.0.0.1:" + gateway.port();
    // The backend was sent the client's Host (pass_host): a URL naming it stays absolute, with the prefix.
    assertEquals("http://" + self + "/api/payment/login", redirected("/api/payment/x", "http://{host}/login"));
    assertEquals("https://" + self + "/api/payment/", redirected("/api/payment/x", "https://{host}"));
    assertEquals("http://" + self.toUpperCase(Locale.ROOT) + "/api/payment/a",
        redirected("/api/payment/x", "http://" + self.toUpperCase(Locale.ROOT) + "/a"));
    // Another host, or this host on another port: untouched.
    assertEquals("http://other.example/login", redirected("/api/payment/x", "http://other.example/login"));
    assertEquals("http://127.0.0.1:1/login", redirected("/api/payment/x", "http://127.0.0.1:1/login"));
    // pass_host: false sent the instance's own address, which the client cannot reach: the client's origin, the path
    // under the prefix, as nginx's proxy_redirect default makes it.
    HttpResponse<String> internal = get("/internal/x", "X-Answer-Status", "302", "X-Answer-Location",
        "http://{host}/login");
    assertEquals("127.0.0.1:" + backend.actualPort(), header(internal, "X-Got-Host"));
    assertEquals("http://" + self + "/internal/login", header(internal, "Location"));
    // ...while a URL naming the client's Host (a backend reading X-Forwarded-Host) keeps it.
    assertEquals("http://" + self + "/internal/login", redirected("/internal/x", "http://" + self + "/login"));
  }

  @Test
  void anHttp2ClientGetsTheRewrittenLocationAndCookies() throws Exception {
    gateway("  h2c: true\n");
    String instance = "127.0.0.1:" + backend.actualPort();
    java.net.http.HttpClient h2 = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_2)
        .connectTimeout(Duration.ofSeconds(5)).build();
    for (int i = 0; i < 2; i++) { // the first over the h2c upgrade, the second on the HTTP/2 connection
      HttpResponse<String> response = h2.send(HttpRequest.newBuilder(gateway.uri("/api/payment/x"))
          .header("X-Answer-Status", "303").header("X-Answer-Location", "/done").timeout(Duration.ofSeconds(10))
          .build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(java.net.http.HttpClient.Version.HTTP_2, response.version());
      assertEquals(303, response.statusCode());
      assertEquals("/api/payment/done", header(response, "Location"));
      // A route that strips nothing: a redirect naming the instance gets the client's origin.
      HttpResponse<String> plain = h2.send(HttpRequest.newBuilder(gateway.uri("/plain/dir"))
          .header("X-Answer-Status", "301").header("X-Answer-Location", "http://" + instance + "/plain/dir/")
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(java.net.http.HttpClient.Version.HTTP_2, plain.version());
      assertEquals("http://127.0.0.1:" + gateway.port() + "/plain/dir/", header(plain, "Location"));
    }
    HttpResponse<String> cookies = h2.send(HttpRequest.newBuilder(gateway.uri("/api/payment/x"))
        .header("X-Answer-Set-Cookie", "a=1; Path=/").header("X-Answer-Set-Cookie", "b=2; Secure; PATH=/s")
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(java.net.http.HttpClient.Version.HTTP_2, cookies.version());
    assertEquals(List.of("a=1; Path=/api/payment", "b=2; Secure; PATH=/api/payment/s"),
        cookies.headers().allValues("Set-Cookie"));
  }

  /** Off, or on a route that strips nothing: a path, or a URL naming the client's own Host, is left as sent. */
  @Test
  void rewritingOffOrNoPrefixStrippedLeavesLocationsAlone() {
    gateway("");
    HttpResponse<String> kept = get("/kept/x", "X-Answer-Status", "302", "X-Answer-Location", "/login",
        "X-Answer-Refresh", "0; url=/login");
    assertEquals("/login", header(kept, "Location"));
    assertEquals("0; url=/login", header(kept, "Refresh"));
    assertEquals("/kept", header(kept, "X-Got-Prefix"), "the prefix is still said");
    assertEquals("/login", redirected("/plain/x", "/login"));
    assertEquals("http://127.0.0.1:" + gateway.port() + "/login", redirected("/plain/x", "http://{host}/login"));
  }

  /** The header {@code name} of a raw HTTP/1.1 answer (names in any case), or "none". */
  static String rawHeader(String answer, String name) {
    for (String line : answer.substring(0, answer.indexOf("\r\n\r\n") + 2).split("\r\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).equalsIgnoreCase(name)) {
        return line.substring(colon + 1).trim();
      }
    }
    return "none";
  }

  /**
   * The Location a client sending {@code Host: gw.test:<the gateway's port>} gets through {@code path} when the
   * backend answers {@code status} with {@code location}; {@code upgrade}: the request asks for a WebSocket.
   */
  String rawRedirect(String path, int status, String location, boolean upgrade) throws Exception {
    String answer = ForwardingIT.exchange(gateway.port(), "GET " + path + " HTTP/1.1\r\nHost: gw.test:" + gateway.port()
        + "\r\n" + (upgrade ? "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" : "")
        + "X-Answer-Status: " + status + "\r\nX-Answer-Location: " + location + "\r\n"
        + (upgrade ? "" : "Connection: close\r\n") + "\r\n");
    assertTrue(answer.startsWith("HTTP/1.1 " + status), answer);
    return rawHeader(answer, "Location");
  }

  /**
   * What the trial found: nginx as a backend (absolute_redirect and port_in_redirect on, its defaults) answers
   * {@code GET /ngx/dir} with {@code Location: http://<the Host it was sent, or its address>:<its own port>/ngx/dir/},
   * an address the client cannot reach. On a route that strips nothing it now reaches the client with the client's
   * origin (its scheme and Host), path and query kept, as nginx's proxy_redirect default gives it; a URL naming
   * anything else (another host, another port, the gateway's own public URL of another route) is left alone.
   */
  @Test
  void aRedirectNamingTheInstanceGetsTheClientsOriginOnARouteThatStripsNothing() throws Exception {
    gateway("", """
          - {path_prefix: /inner, backend: b, pass_host: false}
          - {path_prefix: /asis, backend: b, rewrite_location: false}
        """);
    String self = "127.0.0.1:" + gateway.port();
    String instance = "127.0.0.1:" + backend.actualPort();
    // The instance's address, as the gateway connected to it.
    assertEquals("http://" + self + "/plain/dir/?a=1&b=%2F#top",
        redirected("/plain/dir?a=1&b=%2F", "http://" + instance + "/plain/dir/?a=1&b=%2F#top"));
    assertEquals("http://" + self + "/", redirected("/plain/x", "http://" + instance));
    assertEquals("http://" + self + "/?q", redirected("/plain/x", "HTTP://" + instance + "?q"));
    HttpResponse<String> created = get("/plain/items", "X-Answer-Status", "201", "X-Answer-Location",
        "http://" + instance + "/plain/items/7");
    assertEquals("http://" + self + "/plain/items/7", header(created, "Location"));
    // nginx's form: the name of the Host it was sent, on the instance's port.
    String named = "gw.test:" + gateway.port();
    assertEquals("http://" + named + "/plain/dir/",
        rawRedirect("/plain/dir", 301, "http://gw.test:" + backend.actualPort() + "/plain/dir/", false));
    assertEquals("http://" + named + "/plain/x",
        rawRedirect("/plain/x", 302, "http://" + instance + "/plain/x", false));
    // pass_host: false sent the instance's address as Host: a URL naming it, on any route.
    assertEquals("http://" + named + "/inner/dir/", rawRedirect("/inner/dir", 301, "http://{host}/inner/dir/", false));
    // A refused WebSocket upgrade's redirect too.
    assertEquals("http://" + named + "/plain/login",
        rawRedirect("/plain/ws", 302, "http://" + instance + "/plain/login", true));
    // Anything else as sent: the client's own origin, another route's public URL, another host, another port, the
    // client's Host name on a port that is not the instance's, another host on the instance's port, user information.
    assertEquals("http://" + self + "/plain/login", redirected("/plain/x", "http://{host}/plain/login"));
    assertEquals("http://" + self + "/api/payment/x", redirected("/plain/x", "http://" + self + "/api/payment/x"));
    assertEquals("https://other.example/login", redirected("/plain/x", "https://other.example/login"));
    assertEquals("http://127.0.0.1:1/login", redirected("/plain/x", "http://127.0.0.1:1/login"));
    assertEquals("http://gw.test:1/x", rawRedirect("/plain/x", 302, "http://gw.test:1/x", false));
    // ...and the Host's name on the instance's port in https, which this plain-HTTP instance does not speak: a
    // redirect to an HTTPS listener elsewhere (rewritten to the client's origin, it would loop).
    assertEquals("https://gw.test:" + backend.actualPort() + "/x",
        rawRedirect("/plain/x", 302, "https://gw.test:" + backend.actualPort() + "/x", false));
    assertEquals("http://other.example:" + backend.actualPort() + "/x",
        rawRedirect("/plain/x", 302, "http://other.example:" + backend.actualPort() + "/x", false));
    assertEquals("http://u@" + instance + "/x", redirected("/plain/x", "http://u@" + instance + "/x"));
    assertEquals("/login", redirected("/plain/x", "/login"));
    assertEquals("login", redirected("/plain/x", "login"));
    // Content-Location and Refresh, on any status; Location only where it redirects.
    HttpResponse<String> ok = get("/plain/doc", "X-Answer-Location", "http://" + instance + "/ignored",
        "X-Answer-Content-Location", "http://" + instance + "/plain/doc.en",
        "X-Answer-Refresh", "5; url=http://" + instance + "/plain/login");
    assertEquals(200, ok.statusCode());
    assertEquals("http://" + instance + "/ignored", header(ok, "Location"));
    assertEquals("http://" + self + "/plain/doc.en", header(ok, "Content-Location"));
    assertEquals("5; url=http://" + self + "/plain/login", header(ok, "Refresh"));
    // Cookies are left alone where nothing was stripped.
    assertEquals(List.of("k=1; Path=/s"), cookies("/plain/x", "k=1; Path=/s"));
    // Through a route whose stages see the answer (CORS) too, and on a strip route: the prefix back as well.
    assertEquals("http://" + self + "/cors/login", redirected("/cors/x", "http://" + instance + "/login"));
    // rewrite_location: false turns it off on a route that strips nothing.
    assertEquals("http://" + instance + "/asis/dir/", redirected("/asis/dir", "http://" + instance + "/asis/dir/"));
  }

  /** The cookies of a backend's 101 (a session or sticky cookie set on the WebSocket handshake) get the prefix too. */
  @Test
  void theCookiesOfAWebSocketsSwitchGetThePrefix() throws Exception {
    try (java.net.ServerSocket raw = WebSocketIT.rawWebSocketBackend()) {
      gateway = new GatewayHarness(dir, """
          docker: {enabled: false}
          routes:
            - {path_prefix: /sock, backend: raw, strip_prefix: true}
          backends:
            - {name: raw, targets: ["http://127.0.0.1:%d"]}
          """.formatted(raw.getLocalPort()), 1);
      dev.dockgate.testing.RawHttp.Exchange switched = dev.dockgate.testing.RawHttp.exchange(gateway.port(),
          ("GET /sock/cookie HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
              .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1), 1, 300, 5_000);
      assertTrue(switched.raw().startsWith("HTTP/1.1 101"), switched.raw());
      String lower = switched.raw().toLowerCase(Locale.ROOT);
      assertTrue(lower.contains("\r\nset-cookie: ws=1; path=/sock\r\n"), switched.raw());
      assertTrue(lower.contains("\r\nset-cookie: sticky=a; path=/sock/live\r\n"), switched.raw());
    }
  }

  @Test
  void aRefusedWebSocketUpgradeIsRewrittenToo() throws Exception {
    gateway("");
    String answer = ForwardingIT.exchange(gateway.port(), "GET /api/payment/ws HTTP/1.1\r\nHost: gw.test\r\n"
        + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Forwarded-Prefix: /evil\r\n"
        + "X-Answer-Status: 302\r\nX-Answer-Location: /login\r\nX-Answer-Set-Cookie: s=1; Path=/ws\r\n\r\n");
    assertTrue(answer.startsWith("HTTP/1.1 302"), answer);
    String lower = answer.toLowerCase(Locale.ROOT);
    assertTrue(lower.contains("\r\nlocation: /api/payment/login\r\n"), answer);
    assertTrue(lower.contains("\r\nx-got-prefix: /api/payment\r\n"), answer);
    assertTrue(lower.contains("\r\nx-got-uri: /ws\r\n"), answer);
    assertTrue(lower.contains("\r\nset-cookie: s=1; path=/api/payment/ws\r\n"), answer);
  }
}
