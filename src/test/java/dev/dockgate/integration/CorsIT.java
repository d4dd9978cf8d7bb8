package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.auth.ApiKeyAuth;
import dev.dockgate.testing.Backends;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.TestBackend;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * CORS per route as a browser meets it: preflights answered by the gateway (never forwarded, before
 * API-key checks), refused ones without CORS headers, actual answers marked for allowed origins,
 * a backend's own CORS headers replaced, and routes without CORS left alone.
 */
class CorsIT {

  static final String APP = "https://app.example.com";

  @RegisterExtension
  static final Backends backends = new Backends();
  static TestBackend backend;
  static Vertx ownVertx;
  static HttpServer ownCors;

  @TempDir
  Path dir;
  GatewayHarness gateway;

  @BeforeAll
  static void start() throws Exception {
    backend = backends.start("cors-backend");
    // A backend that does CORS itself, permissively: on a CORS route the gateway's policy replaces it.
    ownVertx = Vertx.vertx();
    ownCors = ownVertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
        .requestHandler(request -> request.response()
            .putHeader("Access-Control-Allow-Origin", "*")
            .putHeader("Access-Control-Allow-Credentials", "true")
            .putHeader("Access-Control-Expose-Headers", "x-secret")
            .end("own"))
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    ownVertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @BeforeEach
  void startGateway() {
    backend.clear();
    String key = HexFormat.of().formatHex(ApiKeyAuth.sha256("web-key"));
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - path_prefix: /api
            backend: app
            auth: {type: api_key, keys: [{name: web, sha256: "%s"}]}
            cors:
              allow_origins: [%s, "https://*.example.org"]
              allow_methods: [GET, PUT, DELETE]
              allow_headers: [content-type, x-api-key]
              expose_headers: [x-backend, x-request-id]
              allow_credentials: true
              max_age_s: 600
          - path_prefix: /public
            backend: app
            methods: [GET]
            cors: {allow_origins: ["*"]}
          - path_prefix: /own
            backend: own
            cors: {allow_origins: [%s]}
          - {path_prefix: /plain, backend: app}
        backends:
          - {name: app, targets: ["http://127.0.0.1:%d"]}
          - {name: own, targets: ["http://127.0.0.1:%d"]}
        """.formatted(key, APP, APP, backend.port(), ownCors.actualPort()), 1);
  }

  @AfterEach
  void stopGateway() {
    gateway.close();
  }

  HttpResponse<String> preflight(String path, String origin, String method, String headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(gateway.uri(path))
        .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
        .header("Origin", origin)
        .header("Access-Control-Request-Method", method);
    if (headers != null) {
      b.header("Access-Control-Request-Headers", headers);
    }
    return gateway.send(b.build());
  }

  HttpResponse<String> get(String path, String origin, String key) {
    HttpRequest.Builder b = HttpRequest.newBuilder(gateway.uri(path));
    if (origin != null) {
      b.header("Origin", origin);
    }
    if (key != null) {
      b.header("X-API-Key", key);
    }
    return gateway.send(b.build());
  }

  static String header(HttpResponse<?> response, String name) {
    return response.headers().firstValue(name).orElse(null);
  }

  static boolean hasCorsHeader(HttpResponse<?> response) {
    return response.headers().map().keySet().stream().anyMatch(n -> n.toLowerCase().startsWith("access-control-"));
  }

  static boolean variesByOrigin(HttpResponse<?> response) {
    return response.headers().allValues("vary").stream()
        .flatMap(v -> java.util.Arrays.stream(v.split(","))).anyMatch(v -> v.trim().equalsIgnoreCase("origin"));
  }

  @Test
  void preflightIsAnsweredByTheGatewayBeforeTheKeyCheck() {
    HttpResponse<String> r = preflight("/api/items/7", APP, "PUT", "Content-Type, X-API-Key");
    assertEquals(204, r.statusCode(), r.body());
    assertEquals("", r.body());
    assertEquals(APP, header(r, "access-control-allow-origin"));
    assertEquals("true", header(r, "access-control-allow-credentials"));
    assertEquals("GET, PUT, DELETE", header(r, "access-control-allow-methods"));
    assertEquals("content-type, x-api-key", header(r, "access-control-allow-headers"));
    assertEquals("600", header(r, "access-control-max-age"));
    assertTrue(variesByOrigin(r));

    assertEquals(204, preflight("/api/x", "https://deep.team.example.org", "DELETE", null).statusCode(),
        "subdomain pattern");
    assertEquals(0, backend.count(), "preflights never reach the backend");
  }

  @Test
  void refusedPreflightsAre403WithoutCorsHeaders() {
    for (HttpResponse<String> r : List.of(
        preflight("/api/x", "https://evil.example", "GET", null),
        preflight("/api/x", "https://example.org", "GET", null),
        preflight("/api/x", APP, "PATCH", null),
        preflight("/api/x", APP, "PUT", "content-type, x-other"))) {
      assertEquals(403, r.statusCode(), r.body());
      assertTrue(r.body().startsWith("CORS preflight refused: "), r.body());
      assertFalse(hasCorsHeader(r), r.headers().toString());
    }
    assertEquals("CORS preflight refused: header x-other is not allowed\n",
        preflight("/api/x", APP, "PUT", "content-type, x-other").body());
    assertEquals(0, backend.count());
  }

  @Test
  void actualAnswersOfAllowedOriginsAreMarkedIncludingRefusals() {
    HttpResponse<String> ok = get("/api/items", APP, "web-key");
    assertEquals(200, ok.statusCode());
    assertEquals(APP, header(ok, "access-control-allow-origin"));
    assertEquals("true", header(ok, "access-control-allow-credentials"));
    assertEquals("x-backend, x-request-id", header(ok, "access-control-expose-headers"));
    assertTrue(variesByOrigin(ok));
    assertEquals(APP, backend.take().headers().get("Origin"), "the request itself goes on unchanged");

    HttpResponse<String> unauthorized = get("/api/items", APP, null);
    assertEquals(401, unauthorized.statusCode());
    assertEquals(APP, header(unauthorized, "access-control-allow-origin"), "the page may read why it was refused");

    HttpResponse<String> other = get("/api/items", "https://evil.example", "web-key");
    assertEquals(200, other.statusCode(), "not the gateway's to refuse: the browser withholds the answer");
    assertFalse(hasCorsHeader(other), other.headers().toString());
    assertTrue(variesByOrigin(other));

    HttpResponse<String> sameOrigin = get("/api/items", null, "web-key");
    assertFalse(hasCorsHeader(sameOrigin));
    assertTrue(variesByOrigin(sameOrigin));
  }

  @Test
  void anyOriginRouteMatchesPreflightsByTheMethodTheyAnnounce() {
    HttpResponse<String> r = preflight("/public/doc", "https://anyone.example", "GET", null);
    assertEquals(204, r.statusCode(), "OPTIONS itself is not among the route's methods");
    assertEquals("*", header(r, "access-control-allow-origin"));
    assertEquals("GET", header(r, "access-control-allow-methods"), "default: the route's methods");
    assertEquals(403, preflight("/public/doc", "https://anyone.example", "GET", "x-anything").statusCode(),
        "no allow_headers: only CORS-safelisted headers");
    HttpResponse<String> delete = preflight("/public/doc", "https://anyone.example", "DELETE", null);
    assertEquals(405, delete.statusCode(), "no route takes DELETE there");
    assertEquals("GET", header(delete, "allow"));

    HttpResponse<String> actual = get("/public/doc", "https://anyone.example", null);
    assertEquals(200, actual.statusCode());
    assertEquals("*", header(actual, "access-control-allow-origin"));
    assertFalse(variesByOrigin(actual), "the same answer for every origin");
    assertEquals(1, backend.count(), "only the actual request was forwarded");
  }

  @Test
  void aBackendsOwnCorsHeadersAreReplaced() {
    HttpResponse<String> r = get("/own/x", APP, null);
    assertEquals(200, r.statusCode());
    assertEquals("own", r.body());
    assertEquals(List.of(APP), r.headers().allValues("access-control-allow-origin"));
    assertTrue(r.headers().allValues("access-control-allow-credentials").isEmpty());
    assertTrue(r.headers().allValues("access-control-expose-headers").isEmpty());
    HttpResponse<String> other = get("/own/x", "https://evil.example", null);
    assertFalse(hasCorsHeader(other), "the backend's * does not leak through");
  }

  @Test
  void routesWithoutCorsForwardPreflights() {
    HttpResponse<String> r = preflight("/plain/x", APP, "PUT", null);
    assertEquals(200, r.statusCode());
    TestBackend.Received got = backend.take();
    assertEquals("OPTIONS", got.method());
    assertEquals(APP, got.headers().get("Origin"));
  }
}
