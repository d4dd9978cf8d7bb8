package dev.dockgate.config;

import dev.dockgate.Features;
import dev.dockgate.auth.AuthParser;
import dev.dockgate.auth.JwtAuthConfig;
import dev.dockgate.cors.CorsConfig;
import dev.dockgate.limits.RateLimitConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Real config files written to a temp dir and read with {@link ConfigLoader#load}: the records a good
 * file becomes, and the exact {@code file: field.path: problem} lines a bad one is rejected with.
 */
@ExtendWith(VertxExtension.class)
class ConfigLoaderTest {

  @TempDir
  Path dir;

  private static Vertx vertx;

  @BeforeAll
  static void shareVertx(Vertx shared) {
    vertx = shared;
  }

  // ---------------------------------------------------------------- fixtures

  /** A config file's name and text; {@code toString} names the case in the report. */
  record Case(String name, String file, String text, List<String> problems) {
    @Override
    public String toString() {
      return name;
    }
  }

  /** A bad YAML file {@code conf.yml}; problems are written as reported for a file called "conf.yml". */
  static Case bad(String name, String yaml, String... problems) {
    return new Case(name, "conf.yml", yaml, List.of(problems));
  }

  static Case badJson(String name, String json, String... problems) {
    return new Case(name, "conf.json", json, List.of(problems));
  }

  /** Why a request/reply address is refused in {@code event_bus_bridge.addresses}, and the list that ends each refusal. */
  static final String REQUEST_REPLY = "is a request/reply address of the gateway: a bridge client registered on it"
      + " would be handed a share of its requests and answer none, so they would time out (/stats, /metrics, the admin"
      + " endpoints, a reload, a drain)";
  static final String TAPPABLE = "; the bridge taps only gateway.traffic, gateway.health, gateway.alerts,"
      + " gateway.discovery.announce, gateway.cluster.members";

  /** Two valid backends, for cases whose problem lies elsewhere. */
  static final String PAYMENT_AND_ORDERS = """
      backends:
        - name: payment
          match_labels: [app_name=payment]
        - name: orders
          match_labels: [app_name=orders]
      """;

  /** rgate's example config, verbatim. */
  static final String RGATE_YAML = """
      routes:
        - path_prefix: /api/orders
          backend: order-service
        - path_prefix: /api/payment
          backend: payment-service
      default_response:
        body: "This is not reachable"
        status_code: 403
      backends:
        - name: order-service
          match_labels:
            - app_name=order
            - env=production
        - name: payment-service
          match_labels:
            - app_name=payment
            - env=production
      """;

  static final String RGATE_JSON = """
      {
        "routes": [
          {"path_prefix": "/api/orders", "backend": "order-service"},
          {"path_prefix": "/api/payment", "backend": "payment-service"}
        ],
        "default_response": {"body": "This is not reachable", "status_code": 403},
        "backends": [
          {"name": "order-service", "match_labels": ["app_name=order", "env=production"]},
          {"name": "payment-service", "match_labels": ["app_name=payment", "env=production"]}
        ]
      }
      """;

  static final ServerConfig DEFAULT_SERVER = new ServerConfig("0.0.0.0", 8080, 0, "/stats");
  static final DefaultResponse DEFAULT_RESPONSE = new DefaultResponse(404, "Not Found");
  static final CircuitBreakerConfig DEFAULT_BREAKER = new CircuitBreakerConfig(5, 10_000);

  static DockerConfig defaultDocker() {
    String env = System.getenv("DOCKER_HOST");
    return new DockerConfig(true, env == null || env.isBlank() ? "unix:///var/run/docker.sock" : env, null);
  }

  static RouteConfig route(String prefix, String backend) {
    return new RouteConfig(prefix, backend, 30_000);
  }

  static LabelSelector labels(String... keyValues) {
    Map<String, String> map = new LinkedHashMap<>();
    for (String kv : keyValues) {
      String[] parts = kv.split("=", 2);
      map.put(parts[0], parts[1]);
    }
    return new LabelSelector(map);
  }

  static BackendConfig backend(String name, String... keyValues) {
    return new BackendConfig(name, labels(keyValues), DEFAULT_BREAKER, 2_000, 256);
  }

  static final List<RouteConfig> RGATE_ROUTES = List.of(
      route("/api/orders", "order-service"),
      route("/api/payment", "payment-service"));
  static final List<BackendConfig> RGATE_BACKENDS = List.of(
      backend("order-service", "app_name=order", "env=production"),
      backend("payment-service", "app_name=payment", "env=production"));

  private String write(String name, String text) throws IOException {
    Path file = dir.resolve(name);
    Files.writeString(file, text);
    return file.toString();
  }

  /** The expected lines with the bare file name replaced by the path actually loaded. */
  private static List<String> reportedFor(String path, Case c) {
    for (String p : c.problems()) {
      assertTrue(p.startsWith(c.file() + ": "), "fixture line must start with the file name: " + p);
    }
    // DIR/ stands for the config file's folder, against which relative file names are resolved
    String folder = Path.of(path).toAbsolutePath().getParent() + "/";
    return c.problems().stream().map(p -> path + p.substring(c.file().length()).replace("DIR/", folder)).toList();
  }

  private static void expectProblems(String path, VertxTestContext ctx, List<String> expected) {
    Features.load(vertx, path).onComplete(ctx.failing(err -> ctx.verify(() -> {
      ConfigException e = assertInstanceOf(ConfigException.class, err);
      assertEquals(expected, e.problems());
      assertEquals(String.join("\n", expected), e.getMessage());
      ctx.completeNow();
    })));
  }

  private static void expectConfig(String path, VertxTestContext ctx, GatewayConfig expected) {
    Features.load(vertx, path).onComplete(ctx.succeeding(config -> ctx.verify(() -> {
      assertEquals(expected, config);
      ctx.completeNow();
    })));
  }

  // ---------------------------------------------------------------- valid files

  /**
   * An IPv6 origin is kept as browsers serialize it (compressed, lower case, a mapped address in hex), so that the
   * Origin they send matches; a bracketed host that is no IPv6 address is refused (it was kept, matching nothing).
   */
  @Test
  void ipv6OriginsAreKeptAsBrowsersWriteThem() {
    io.vertx.core.json.JsonObject json = new io.vertx.core.json.JsonObject("{\"docker\":{\"enabled\":false},\"routes\":["
        + "{\"path_prefix\":\"/a\",\"backend\":\"b\",\"cors\":{\"allow_origins\":[\"http://[0:0:0:0:0:0:0:1]:3000\","
        + "\"http://[::FFFF:127.0.0.1]:3000\",\"https://[2001:DB8:0::1]\"]}}],"
        + "\"backends\":[{\"name\":\"b\",\"targets\":[\"http://127.0.0.1:1\"]}]}");
    assertEquals(List.of("http://[::1]:3000", "http://[::ffff:7f00:1]:3000", "https://[2001:db8::1]"),
        ((dev.dockgate.cors.CorsConfig) Features.parse("gw.yml", json).routes().get(0).blocks().get("cors"))
            .allowOrigins());
    ConfigException refused = assertThrows(ConfigException.class, () -> Features.parse("gw.yml",
        new io.vertx.core.json.JsonObject(json.encode().replace("[0:0:0:0:0:0:0:1]", "[1.2.3.4]"))));
    assertTrue(refused.getMessage().contains("allow_origins[0]"), refused.getMessage());
  }

  /**
   * An origin written with its scheme's default port is the origin browsers send, without it (it was kept with the
   * port and never matched: browsers leave a default port out of Origin); another port is kept.
   */
  @Test
  void originsWithTheirDefaultPortAreThoseBrowsersSend() {
    io.vertx.core.json.JsonObject json = new io.vertx.core.json.JsonObject("{\"docker\":{\"enabled\":false},\"routes\":["
        + "{\"path_prefix\":\"/a\",\"backend\":\"b\",\"cors\":{\"allow_origins\":[\"https://app.example.com:443\","
        + "\"http://[::1]:80\",\"https://*.example.org:443\",\"http://app.example.com:443\",\"https://x.example:8443\","
        + "\"https://zero.example:0443\",\"http://zero.example:08080\"]}}],"
        + "\"backends\":[{\"name\":\"b\",\"targets\":[\"http://127.0.0.1:1\"]}]}");
    assertEquals(List.of("https://app.example.com", "http://[::1]", "https://*.example.org", "http://app.example.com:443",
        "https://x.example:8443", "https://zero.example", "http://zero.example:8080"),
        ((dev.dockgate.cors.CorsConfig) Features.parse("gw.yml", json).routes().get(0).blocks().get("cors"))
            .allowOrigins());
  }

  /** A route's host given as a bare IPv6 literal is the bracketed Host it matches (it was refused as "with a port"). */
  @Test
  void anIpv6RouteHostIsWrittenInBrackets() {
    io.vertx.core.json.JsonObject json = new io.vertx.core.json.JsonObject("{\"docker\":{\"enabled\":false},\"routes\":["
        + "{\"path_prefix\":\"/a\",\"backend\":\"b\",\"host\":\"::1\"},"
        + "{\"path_prefix\":\"/b\",\"backend\":\"b\",\"host\":\"[2001:DB8::1]\"},"
        + "{\"path_prefix\":\"/c\",\"backend\":\"b\",\"host\":\"2001:db8::1\"}],"
        + "\"backends\":[{\"name\":\"b\",\"targets\":[\"http://127.0.0.1:1\"]}]}");
    assertEquals(java.util.Arrays.asList("[::1]", "[2001:db8::1]", "[2001:db8::1]"),
        ConfigLoader.parse("gw.yml", json, List.of()).routes().stream().map(RouteConfig::host).toList());
  }

  @Test
  void rgateExampleParsesWithDefaults(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", RGATE_YAML);
    expectConfig(path, ctx, new GatewayConfig(path, DEFAULT_SERVER, defaultDocker(), RGATE_ROUTES,
        new DefaultResponse(403, "This is not reachable"), RGATE_BACKENDS));
  }

  @Test
  void jsonFileWorksToo(VertxTestContext ctx) throws IOException {
    String path = write("conf.json", RGATE_JSON);
    expectConfig(path, ctx, new GatewayConfig(path, DEFAULT_SERVER, defaultDocker(), RGATE_ROUTES,
        new DefaultResponse(403, "This is not reachable"), RGATE_BACKENDS));
  }

  @Test
  void jsonWithCommentsLoadsAsVertxReadsIt(VertxTestContext ctx) throws IOException {
    // Vert.x's JSON allows C-style comments; the duplicate-key check must read the file the same way.
    String path = write("conf.json", "// the rgate config\n" + RGATE_JSON.replace("\"routes\": [",
        "/* longest prefix wins */ \"routes\": ["));
    expectConfig(path, ctx, new GatewayConfig(path, DEFAULT_SERVER, defaultDocker(), RGATE_ROUTES,
        new DefaultResponse(403, "This is not reachable"), RGATE_BACKENDS));
  }

  @Test
  void defaultResponseIs404NotFoundWhenAbsent(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", """
        routes:
          - path_prefix: /api/payment
            backend: payment
        backends:
          - name: payment
            match_labels: [app_name=payment]
        """);
    expectConfig(path, ctx, new GatewayConfig(path, DEFAULT_SERVER, defaultDocker(),
        List.of(route("/api/payment", "payment")), DEFAULT_RESPONSE,
        List.of(backend("payment", "app_name=payment"))));
  }

  @Test
  void matchLabelsAsMapEqualsList(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", """
        backends:
          - name: as-list
            match_labels:
              - app_name=payment
              - " env = production "
          - name: as-map
            match_labels:
              app_name: payment
              env: production
          - name: as-flow-map
            match_labels: {app_name: payment, env: production}
        """);
    expectConfig(path, ctx, new GatewayConfig(path, DEFAULT_SERVER, defaultDocker(), List.of(), DEFAULT_RESPONSE,
        List.of(backend("as-list", "app_name=payment", "env=production"),
            backend("as-map", "app_name=payment", "env=production"),
            backend("as-flow-map", "app_name=payment", "env=production"))));
  }

  @Test
  void everyKeySetExplicitly(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", """
        server:
          host: 127.0.0.1
          port: 0
          instances: 2
          stats_path: /_stats
        docker:
          enabled: false
          host: tcp://127.0.0.1:2375
          network: backend-net
        routes:
          - path_prefix: /
            backend: web
            timeout_ms: 1500
        default_response:
          status_code: 503
          body: ""
        backends:
          - name: web
            match_labels: [app=web, tier=front]
            circuit_breaker: {max_failures: 3, reset_timeout_ms: 2500}
            connect_timeout_ms: 500
            max_connections: 16
        """);
    expectConfig(path, ctx, new GatewayConfig(path,
        new ServerConfig("127.0.0.1", 0, 2, "/_stats"),
        new DockerConfig(false, "tcp://127.0.0.1:2375", "backend-net"),
        List.of(new RouteConfig("/", "web", 1500)),
        new DefaultResponse(503, ""),
        List.of(new BackendConfig("web", labels("app=web", "tier=front"), new CircuitBreakerConfig(3, 2500), 500, 16))));
  }

  @Test
  void edgeLimitsParseAndDefault(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", """
        server:
          body_timeout_ms: 0
          max_connections: 500
        """);
    ServerConfig.Limits d = ServerConfig.Limits.DEFAULTS;
    assertEquals(30_000, d.bodyTimeoutMs());
    assertEquals(10_000, d.maxConnections());
    ServerConfig.Limits limits = new ServerConfig.Limits(d.maxBodyBytes(), d.maxHeaderBytes(), d.maxRequestLineBytes(),
        d.idleTimeoutMs(), d.headerTimeoutMs(), 0, 500, d.maxHeaderCount());
    expectConfig(path, ctx, new GatewayConfig(path, new ServerConfig("0.0.0.0", 8080, 0, "/stats", limits,
        ServerConfig.AdminPaths.DEFAULTS), defaultDocker(), List.of(), DEFAULT_RESPONSE, List.of()));
  }

  @Test
  void numbersWrittenAsStringsAreAccepted(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", """
        server:
          port: "9090"
          instances: " 4 "
        """);
    expectConfig(path, ctx, new GatewayConfig(path, new ServerConfig("0.0.0.0", 9090, 4, "/stats"),
        defaultDocker(), List.of(), DEFAULT_RESPONSE, List.of()));
  }

  /** Every default, said on purpose ({@code {}}); a file of no document is refused (see {@link #rejected}). */
  @Test
  void anEmptyMappingGivesAllDefaults(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", "# every default\n{}\n");
    expectConfig(path, ctx, new GatewayConfig(path, DEFAULT_SERVER, defaultDocker(), List.of(), DEFAULT_RESPONSE,
        List.of()));
  }

  /** What the refusal of an empty file says to write: a gateway that answers everything with the default response. */
  @Test
  void noRoutesWrittenAsTheEmptyFileRefusalSaysLoads(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", "routes: []\n");
    expectConfig(path, ctx, new GatewayConfig(path, DEFAULT_SERVER, defaultDocker(), List.of(), DEFAULT_RESPONSE,
        List.of()));
  }

  @Test
  void shippedExampleConfigLoads(VertxTestContext ctx) {
    String path = "conf/gateway.yml";
    expectConfig(path, ctx, new GatewayConfig(path, DEFAULT_SERVER, defaultDocker(),
        List.of(route("/api/payment", "payment"), route("/api/orders", "orders")),
        new DefaultResponse(403, "This is not reachable"),
        List.of(backend("payment", "app_name=payment", "env=production"),
            backend("orders", "app_name=orders", "env=production"))));
  }

  // ---------------------------------------------------------------- rejected files

  static final String NO_ROUTES_HINT = "; for a gateway with no routes, answering every request with the default"
      + " response, write \"routes: []\"";

  static Stream<Case> rejected() {
    return Stream.of(
        // a file with no document: a wrong mount or a truncated file, never every default (it was, at start only)
        bad("an empty file", "", "conf.yml: the file is empty (nothing but blanks and comments)" + NO_ROUTES_HINT),
        bad("a file of blanks and comments", "# everything commented out\n# server:\n#   port: 8080\n  \n",
            "conf.yml: the file is empty (nothing but blanks and comments)" + NO_ROUTES_HINT),
        bad("a document of null", "---\n~\n", "conf.yml: the file holds no settings (an empty document)" + NO_ROUTES_HINT),
        // blanks with a tab (which YAML does not allow to start a token) are blanks too, as on a reload before
        bad("a file of blanks with a tab", " \t\n\n", "conf.yml: the file is empty (nothing but blanks and comments)"
            + NO_ROUTES_HINT),
        bad("a comment indented by a tab", "# routes to come\n\t# - {path_prefix: /a}\n",
            "conf.yml: the file is empty (nothing but blanks and comments)" + NO_ROUTES_HINT),
        badJson("an empty JSON file", " \n", "conf.json: the file is empty (nothing but blanks and comments)"
            + NO_ROUTES_HINT),
        // references
        bad("unknown backend lists the known ones", """
            routes:
              - path_prefix: /api/orders
                backend: orders
              - path_prefix: /api/payment
                backend: pay
            """ + PAYMENT_AND_ORDERS,
            "conf.yml: routes[1].backend: unknown backend \"pay\"; known: orders, payment"),
        bad("unknown backend when none is defined", """
            routes:
              - path_prefix: /api
                backend: orders
            """,
            "conf.yml: routes[0].backend: unknown backend \"orders\"; known: (none defined)"),

        // written with no value: an error where the setting has a default, not that default taken silently
        bad("a port with no value", "server:\n  port:\n",
            "conf.yml: server.port: has no value; write a number, or leave the key out for the default"),
        bad("settings of each kind with no value", """
            server: {host: ~, http2: , trusted_proxies: , admin_listener: }
            docker: ~
            default_response: {body: null}
            """,
            "conf.yml: server.host: has no value; write a text, or leave the key out for the default",
            "conf.yml: server.http2: has no value; write true or false, or leave the key out for the default",
            "conf.yml: server.admin_listener: has no value; write a mapping ({} for every default), or leave the key out for the default",
            "conf.yml: server.trusted_proxies: has no value; write a list ([] for none), or leave the key out for the default",
            "conf.yml: docker: has no value; write a mapping ({} for every default), or leave the key out for the default",
            "conf.yml: default_response.body: has no value; write a text, or leave the key out for the default"),
        badJson("a JSON null port", "{\"server\": {\"port\": null}}",
            "conf.json: server.port: has no value; write a number, or leave the key out for the default"),

        // unknown keys
        bad("unknown top-level key", """
            route:
              - path_prefix: /api
                backend: orders
            """,
            "conf.yml: route: unknown key, did you mean \"routes\"? (known: access_log, alerts, backends, cluster, consul, default_response, docker, event_bus_bridge, routes, server, tracing)"),
        // the misspelt block first: the problems after it follow from it
        bad("a misspelt top-level key before the problems it causes", """
            routes:
              - path_prefix: /api
                backend: orders
            backend:
              - name: orders
                match_labels: [app_name=orders]
            """,
            "conf.yml: backend: unknown key, did you mean \"backends\"? (known: access_log, alerts, backends, cluster, consul, default_response, docker, event_bus_bridge, routes, server, tracing)",
            "conf.yml: routes[0].backend: unknown backend \"orders\"; known: (none defined)"),
        bad("unknown key in server", "server:\n  prot: 8080\n",
            "conf.yml: server.prot: unknown key, did you mean \"port\"? (known: admin_listener, body_timeout_ms, dashboard_path, drain_delay_ms, h2c, header_timeout_ms, health_path, host, http2, idle_timeout_ms, instances, max_body_bytes, max_connections, max_header_bytes, max_header_count, max_request_line_bytes, metrics_path, port, routes_path, stats_path, tls, trusted_proxies)"),
        bad("unknown key in docker", "docker:\n  socket: /var/run/docker.sock\n",
            "conf.yml: docker.socket: unknown key (known: enabled, engines, host, network, resync_interval_ms)"),
        bad("unknown key in default_response", "default_response:\n  status: 403\n",
            "conf.yml: default_response.status: unknown key, did you mean \"status_code\"? (known: body, status_code)"),
        bad("unknown key in a route", """
            routes:
              - path_prefix: /api
                backend: payment
                timeout: 5
            """ + PAYMENT_AND_ORDERS,
            "conf.yml: routes[0].timeout: unknown key, did you mean \"timeout_ms\"? (known: auth, backend, cors, host, methods, pass_host, path_prefix, rate_limit, retries, rewrite_cookie_path, rewrite_location, strip_prefix, timeout_ms)"),
        bad("rewrite_location not a boolean", """
            routes:
              - {path_prefix: /api, backend: payment, rewrite_location: sometimes}
            """ + PAYMENT_AND_ORDERS,
            "conf.yml: routes[0].rewrite_location: expected true or false, got \"sometimes\""),
        bad("rewrite_cookie_path on a route that strips no prefix, beside a rewrite_location that is fine there", """
            routes:
              - {path_prefix: /api, backend: payment, rewrite_location: true, rewrite_cookie_path: true}
            """ + PAYMENT_AND_ORDERS,
            "conf.yml: routes[0].rewrite_cookie_path: applies only with strip_prefix: true (the prefix put back into"
                + " the Path of the backend's cookies)"),
        bad("rewrite_cookie_path on a route that strips no prefix", """
            routes:
              - {path_prefix: /api, backend: payment, rewrite_cookie_path: false}
              - {path_prefix: /web, backend: payment, strip_prefix: false, rewrite_cookie_path: true}
            """ + PAYMENT_AND_ORDERS,
            "conf.yml: routes[0].rewrite_cookie_path: applies only with strip_prefix: true (the prefix put back into"
                + " the Path of the backend's cookies)",
            "conf.yml: routes[1].rewrite_cookie_path: applies only with strip_prefix: true (the prefix put back into"
                + " the Path of the backend's cookies)"),
        bad("rewrite_cookie_path not a boolean", """
            routes:
              - {path_prefix: /api, backend: payment, strip_prefix: true, rewrite_cookie_path: "/"}
            """ + PAYMENT_AND_ORDERS,
            "conf.yml: routes[0].rewrite_cookie_path: expected true or false, got \"/\""),
        bad("rewrite_cookie_path on a prefix a cookie's Path cannot hold", """
            routes:
              - {path_prefix: "/api;v2", backend: payment, strip_prefix: true, rewrite_cookie_path: true}
            """ + PAYMENT_AND_ORDERS,
            "conf.yml: routes[0].rewrite_cookie_path: the path_prefix \"/api;v2\" cannot be a cookie's Path (a"
                + " browser ends the attribute at the ';' and reads Path=/api); leave rewrite_cookie_path out"),
        bad("a misspelt rewrite_cookie_path", """
            routes:
              - {path_prefix: /api, backend: payment, strip_prefix: true, rewrite_cookie_paths: false}
            """ + PAYMENT_AND_ORDERS,
            "conf.yml: routes[0].rewrite_cookie_paths: unknown key, did you mean \"rewrite_cookie_path\"? (known: auth, backend, cors, host, methods, pass_host, path_prefix, rate_limit, retries, rewrite_cookie_path, rewrite_location, strip_prefix, timeout_ms)"),
        bad("a misspelt rewrite_location", """
            routes:
              - {path_prefix: /api, backend: payment, strip_prefix: true, rewrite_locations: false}
            """ + PAYMENT_AND_ORDERS,
            "conf.yml: routes[0].rewrite_locations: unknown key, did you mean \"rewrite_location\"? (known: auth, backend, cors, host, methods, pass_host, path_prefix, rate_limit, retries, rewrite_cookie_path, rewrite_location, strip_prefix, timeout_ms)"),
        bad("unknown key in a backend", """
            backends:
              - name: payment
                match_labels: [app_name=payment]
                max_conns: 5
            """,
            "conf.yml: backends[0].max_conns: unknown key "
                + "(known: circuit_breaker, connect_timeout_ms, consul_service, consul_tags, dns_refresh_ms, dns_targets, health_check, keep_alive_timeout_s, load_balancer, match_labels, max_connections, max_wait_queue, name, outlier_detection, protocol, subset_size, targets, tls)"),
        bad("unknown key in a circuit_breaker", """
            backends:
              - name: payment
                match_labels: [app_name=payment]
                circuit_breaker: {failures: 3}
            """,
            "conf.yml: backends[0].circuit_breaker.failures: unknown key (known: max_failures, reset_timeout_ms, startup_grace_ms)"),

        // missing required fields
        bad("route without path_prefix", "routes:\n  - backend: payment\n" + PAYMENT_AND_ORDERS,
            "conf.yml: routes[0].path_prefix: is required"),
        bad("route without backend", "routes:\n  - path_prefix: /api\n",
            "conf.yml: routes[0].backend: is required"),
        bad("route with empty path_prefix", "routes:\n  - path_prefix: \"\"\n    backend: payment\n" + PAYMENT_AND_ORDERS,
            "conf.yml: routes[0].path_prefix: must not be empty"),
        bad("backend without name", "backends:\n  - match_labels: [app_name=payment]\n",
            "conf.yml: backends[0].name: is required"),
        bad("backend with blank name", "backends:\n  - name: \" \"\n    match_labels: [app_name=payment]\n",
            "conf.yml: backends[0].name: must not be empty"),
        bad("backend without match_labels", "backends:\n  - name: payment\n",
            "conf.yml: backends[0].match_labels: is required unless targets, dns_targets or consul_service are given: a list of key=value labels a container must carry"),
        bad("consul address not a URL", "consul: {address: \"127.0.0.1:8500\"}\n",
            "conf.yml: consul.address: expected an http:// or https:// URL such as http://127.0.0.1:8500, got \"127.0.0.1:8500\""),
        bad("consul wait above Consul's 10 minutes", "consul: {wait_ms: 900000}\n",
            "conf.yml: consul.wait_ms: must be between 1000 and 600000, got 900000"),
        bad("a route host with a port, which no request's host name would match",
            "routes: [{path_prefix: /a, backend: b, host: \"a.example:8080\"}]\nbackends: [{name: b, match_labels: [x=y]}]\n",
            "conf.yml: routes[0].host: expected a host name without a port (a request on any port matches its name), got \"a.example:8080\""),
        bad("consul queries paced below 100 ms", "consul: {min_query_interval_ms: 10}\n",
            "conf.yml: consul.min_query_interval_ms: must be between 100 and 600000, got 10"),
        bad("consul datacenter with a slash", "consul: {datacenter: \"dc1/x\"}\n",
            "conf.yml: consul.datacenter: expected a datacenter name such as dc1, got \"dc1/x\""),
        bad("unknown key in consul", "consul: {acl_token: x}\n",
            "conf.yml: consul.acl_token: unknown key (known: address, datacenter, min_query_interval_ms, tls, token, wait_ms)"),
        bad("consul tls toward a plain http agent, without its CA", "consul: {tls: {cert_file: /x.pem}}\n",
            "conf.yml: consul.tls: applies only to an https:// address (Consul's HTTPS port, 8501 by default)",
            "conf.yml: consul.tls.ca_file: is required",
            "conf.yml: consul.tls.key_file: is required with cert_file (a client certificate and its key go together)"),
        bad("consul_tags without consul_service", """
            backends:
              - name: payment
                match_labels: [app_name=payment]
                consul_tags: [v2]
            """,
            "conf.yml: backends[0].consul_tags: applies only with consul_service"),
        bad("dns_targets naming an address", """
            backends:
              - name: payment
                dns_targets: ["http://pay.internal:8080", "http://10.0.0.7:8080"]
            """,
            "conf.yml: backends[0].dns_targets[1]: names an address, not a host name: list http://10.0.0.7:8080 under targets"),
        bad("dns_targets naming an IPv6 address", """
            backends:
              - name: payment
                dns_targets: ["https://[2001:db8::1]"]
            """,
            "conf.yml: backends[0].dns_targets[0]: names an address, not a host name: list https://[2001:db8::1]:443 under targets"),
        bad("dns_targets not a URL", """
            backends:
              - name: payment
                dns_targets: ["pay.internal:8080"]
            """,
            "conf.yml: backends[0].dns_targets[0]: expected http://name[:port] or https://name[:port] (80 and 443 by default), got \"pay.internal:8080\""),
        bad("dns_refresh_ms without dns_targets", """
            backends:
              - name: payment
                targets: ["http://127.0.0.1:8080"]
                dns_refresh_ms: 1000
            """,
            "conf.yml: backends[0].dns_refresh_ms: applies only with dns_targets"),
        bad("consul_service not a name", """
            backends:
              - name: payment
                consul_service: "a/b"
                consul_tags: [v2, 3, ""]
            """,
            "conf.yml: backends[0].consul_service: expected a Consul service name, got \"a/b\""),
        bad("consul_tags not strings", """
            backends:
              - name: payment
                consul_service: payment
                consul_tags: [v2, [x], ""]
            """,
            "conf.yml: backends[0].consul_tags[1]: expected a tag, got a list",
            "conf.yml: backends[0].consul_tags[2]: expected a tag, got \"\""),

        // wrong types
        bad("server is not a mapping", "server: 8080\n",
            "conf.yml: server: expected a mapping, got 8080"),
        bad("routes is a mapping", "routes:\n  path_prefix: /api\n",
            "conf.yml: routes: expected a list, got a mapping"),
        bad("route item is a string", "routes:\n  - /api\n",
            "conf.yml: routes[0]: expected a mapping, got \"/api\""),
        bad("route item is empty", "routes:\n  -\n",
            "conf.yml: routes[0]: expected a mapping, got null"),
        bad("port is a word", "server:\n  port: http\n",
            "conf.yml: server.port: expected a whole number, got \"http\""),
        bad("port is a fraction", "server:\n  port: 80.5\n",
            "conf.yml: server.port: expected a whole number, got 80.5"),
        bad("port is a boolean", "server:\n  port: true\n",
            "conf.yml: server.port: expected a whole number, got true"),
        bad("docker.enabled is a quoted string", "docker:\n  enabled: \"yes\"\n",
            "conf.yml: docker.enabled: expected true or false, got \"yes\""),
        bad("backend name is a list", "backends:\n  - name: [payment]\n    match_labels: [app_name=payment]\n",
            "conf.yml: backends[0].name: expected a string, got a list"),
        bad("match_labels is a single string", "backends:\n  - name: payment\n    match_labels: app_name=payment\n",
            "conf.yml: backends[0].match_labels: expected a list, got \"app_name=payment\""),
        bad("circuit_breaker is a number", """
            backends:
              - name: payment
                match_labels: [app_name=payment]
                circuit_breaker: 5
            """,
            "conf.yml: backends[0].circuit_breaker: expected a mapping, got 5"),
        bad("default body is a mapping", "default_response:\n  body: {text: hi}\n",
            "conf.yml: default_response.body: expected a string, got a mapping"),

        // out of range
        bad("port above 65535", "server:\n  port: 70000\n",
            "conf.yml: server.port: must be between 0 and 65535, got 70000"),
        bad("port negative", "server:\n  port: -1\n",
            "conf.yml: server.port: must be between 0 and 65535, got -1"),
        bad("instances above 1024", "server:\n  instances: 2000\n",
            "conf.yml: server.instances: must be between 0 and 1024, got 2000"),
        bad("body timeout negative", "server:\n  body_timeout_ms: -1\n",
            "conf.yml: server.body_timeout_ms: must be between 0 and 86400000, got -1"),
        bad("body timeout over a day", "server:\n  body_timeout_ms: 86400001\n",
            "conf.yml: server.body_timeout_ms: must be between 0 and 86400000, got 86400001"),
        bad("drain delay negative", "server:\n  drain_delay_ms: -1\n",
            "conf.yml: server.drain_delay_ms: must be between 0 and 600000, got -1"),
        bad("drain delay over ten minutes", "server:\n  drain_delay_ms: 600001\n",
            "conf.yml: server.drain_delay_ms: must be between 0 and 600000, got 600001"),
        bad("max connections negative", "server:\n  max_connections: -5\n",
            "conf.yml: server.max_connections: must be between 0 and 1000000, got -5"),
        bad("max connections above a million", "server:\n  max_connections: 2000000\n",
            "conf.yml: server.max_connections: must be between 0 and 1000000, got 2000000"),
        bad("edge limits of the wrong type", "server:\n  max_connections: many\n  body_timeout_ms: 1.5\n",
            "conf.yml: server.body_timeout_ms: expected a whole number, got 1.5",
            "conf.yml: server.max_connections: expected a whole number, got \"many\""),
        bad("route timeout zero", "routes:\n  - path_prefix: /\n    backend: payment\n    timeout_ms: 0\n"
                + PAYMENT_AND_ORDERS,
            "conf.yml: routes[0].timeout_ms: must be between 1 and 3600000, got 0"),
        bad("max_failures zero", """
            backends:
              - name: payment
                match_labels: [app_name=payment]
                circuit_breaker: {max_failures: 0, reset_timeout_ms: 3600001}
            """,
            "conf.yml: backends[0].circuit_breaker.max_failures: must be between 1 and 1000000, got 0",
            "conf.yml: backends[0].circuit_breaker.reset_timeout_ms: must be between 1 and 3600000, got 3600001"),
        bad("connect timeout and pool size zero", """
            backends:
              - name: payment
                match_labels: [app_name=payment]
                connect_timeout_ms: 0
                max_connections: 0
            """,
            "conf.yml: backends[0].connect_timeout_ms: must be between 1 and 600000, got 0",
            "conf.yml: backends[0].max_connections: must be between 1 and 100000, got 0"),
        bad("status_code below 200, the lowest final status", "default_response:\n  status_code: 199\n",
            "conf.yml: default_response.status_code: must be between 200 and 599, got 199"),
        bad("status_code above 599", "default_response:\n  status_code: 600\n",
            "conf.yml: default_response.status_code: must be between 200 and 599, got 600"),
        // A 1xx is an interim answer: sent as the final one, 100 left the client waiting for another answer and 101
        // told it the connection had switched protocols (with "body" bytes after it).
        bad("status_code 100, an interim status", "default_response:\n  status_code: 100\n",
            "conf.yml: default_response.status_code: must be between 200 and 599, got 100"),
        bad("status_code 101, an interim status", "default_response:\n  status_code: 101\n",
            "conf.yml: default_response.status_code: must be between 200 and 599, got 101"),

        // match_labels entries
        bad("label without =", "backends:\n  - name: payment\n    match_labels: [app_name]\n",
            "conf.yml: backends[0].match_labels[0]: expected key=value, got \"app_name\""),
        bad("label without key", "backends:\n  - name: payment\n    match_labels: [app_name=payment, =production]\n",
            "conf.yml: backends[0].match_labels[1]: expected key=value, got \"=production\""),
        bad("label is a number", "backends:\n  - name: payment\n    match_labels: [42]\n",
            "conf.yml: backends[0].match_labels[0]: expected key=value, got 42"),
        bad("empty label list", "backends:\n  - name: payment\n    match_labels: []\n",
            "conf.yml: backends[0].match_labels: must list at least one key=value label"),
        bad("same label twice with different values",
            "backends:\n  - name: payment\n    match_labels: [env=production, env=staging]\n",
            "conf.yml: backends[0].match_labels[1]: label \"env\" required twice with different values"),

        // uniqueness and shape of values
        bad("duplicate backend name", PAYMENT_AND_ORDERS + """
              - name: payment
                match_labels: [app_name=payment2]
            """,
            "conf.yml: backends[2].name: duplicate backend name \"payment\""),
        bad("duplicate prefix", """
            routes:
              - path_prefix: /api/payment
                backend: payment
              - path_prefix: /api/orders
                backend: orders
              - path_prefix: /api/payment
                backend: orders
            """ + PAYMENT_AND_ORDERS,
            "conf.yml: routes[2].path_prefix: duplicate prefix \"/api/payment\" (also routes[0].path_prefix)"),
        bad("prefix no normal path starts with", "routes:\n  - path_prefix: /api//payment\n    backend: payment\n"
                + "  - path_prefix: /a;v=1/b\n    backend: orders\n" + PAYMENT_AND_ORDERS,
            "conf.yml: routes[0].path_prefix: \"/api//payment\" can never match: request paths are matched in normal"
                + " form (repeated slashes and dot-segments removed, escapes of letters, digits and -._~ decoded, others"
                + " in capitals, ; parameters on the last segment only, spaces, control bytes and non-ASCII as escapes);"
                + " write \"/api/payment\"",
            "conf.yml: routes[1].path_prefix: \"/a;v=1/b\" can never match: request paths are matched in normal"
                + " form (repeated slashes and dot-segments removed, escapes of letters, digits and -._~ decoded, others"
                + " in capitals, ; parameters on the last segment only, spaces, control bytes and non-ASCII as escapes)"),
        // Clients send a path's non-ASCII characters and spaces as UTF-8 escapes: the error names the prefix they match.
        bad("prefix with non-ASCII and a space", "routes:\n  - path_prefix: /caf\u00e9/a b\n    backend: payment\n"
                + PAYMENT_AND_ORDERS,
            "conf.yml: routes[0].path_prefix: \"/caf\u00e9/a b\" can never match: request paths are matched in normal"
                + " form (repeated slashes and dot-segments removed, escapes of letters, digits and -._~ decoded, others"
                + " in capitals, ; parameters on the last segment only, spaces, control bytes and non-ASCII as escapes);"
                + " write \"/caf%C3%A9/a%20b\""),
        bad("prefix without leading slash", "routes:\n  - path_prefix: api/payment\n    backend: payment\n"
                + PAYMENT_AND_ORDERS,
            "conf.yml: routes[0].path_prefix: must start with \"/\", got \"api/payment\""),
        bad("docker.host with http scheme", "docker:\n  host: http://localhost:2375\n",
            "conf.yml: docker.host: expected unix:///path or tcp://host:port, got \"http://localhost:2375\""),
        bad("docker.host as a bare socket path", "docker:\n  host: /var/run/docker.sock\n",
            "conf.yml: docker.host: expected unix:///path or tcp://host:port, got \"/var/run/docker.sock\""),
        bad("stats_path without slash", "server:\n  stats_path: stats\n",
            "conf.yml: server.stats_path: must start with \"/\", got \"stats\""),

        // everything at once: unknown top-level keys, then the loader's order: server, docker, backends, routes, default_response
        bad("several problems reported at once", """
            server:
              port: 70000
              stats_path: stats
            docker:
              host: http://localhost:2375
            routes:
              - path_prefix: api
                backend: pay
              - backend: orders
            default_response:
              status_code: abc
            backends:
              - name: orders
                match_labels: [app_name]
              - name: orders
                match_labels: [app_name=orders]
            extra: 1
            """,
            "conf.yml: extra: unknown key (known: access_log, alerts, backends, cluster, consul, default_response, docker, event_bus_bridge, routes, server, tracing)",
            "conf.yml: server.port: must be between 0 and 65535, got 70000",
            "conf.yml: server.stats_path: must start with \"/\", got \"stats\"",
            "conf.yml: docker.host: expected unix:///path or tcp://host:port, got \"http://localhost:2375\"",
            "conf.yml: backends[0].match_labels[0]: expected key=value, got \"app_name\"",
            "conf.yml: backends[1].name: duplicate backend name \"orders\"",
            "conf.yml: routes[0].path_prefix: must start with \"/\", got \"api\"",
            "conf.yml: routes[0].backend: unknown backend \"pay\"; known: orders",
            "conf.yml: routes[1].path_prefix: is required",
            "conf.yml: default_response.status_code: expected a whole number, got \"abc\""),

        // tracing
        bad("tracing endpoint that is not an http URL", "tracing: {enabled: true, endpoint: \"127.0.0.1:4318\"}\n",
            "conf.yml: tracing.endpoint: expected an http:// or https:// URL such as http://127.0.0.1:4318/v1/traces, got \"127.0.0.1:4318\""),
        bad("tracing sample ratio out of range", "tracing: {sample_ratio: 1.5}\n",
            "conf.yml: tracing.sample_ratio: expected a number from 0 to 1 (the share of new traces kept), got 1.5"),
        bad("tracing sample ratio not a number", "tracing: {sample_ratio: all}\n",
            "conf.yml: tracing.sample_ratio: expected a number from 0 to 1 (the share of new traces kept), got \"all\""),
        bad("tracing empty service name", "tracing: {service_name: \" \"}\n",
            "conf.yml: tracing.service_name: must not be empty"),
        bad("unknown key in tracing", "tracing: {enabled: true, exporter: otlp}\n",
            "conf.yml: tracing.exporter: unknown key (known: enabled, endpoint, sample_ratio, service_name)"),

        // event-bus bridge
        bad("bridge max_clients below 0", "event_bus_bridge: {enabled: true, max_clients: -1}\n",
            "conf.yml: event_bus_bridge.max_clients: must be between 0 and 100000, got -1"),
        bad("bridge max_clients not a number", "event_bus_bridge: {max_clients: many}\n",
            "conf.yml: event_bus_bridge.max_clients: expected a whole number, got \"many\""),
        bad("bridge idle timeout as a duration", "event_bus_bridge: {idle_timeout_ms: 60s}\n",
            "conf.yml: event_bus_bridge.idle_timeout_ms: expected a whole number, got \"60s\""),
        bad("bridge idle timeout over a day", "event_bus_bridge: {idle_timeout_ms: 86400001}\n",
            "conf.yml: event_bus_bridge.idle_timeout_ms: must be between 0 and 86400000, got 86400001"),
        bad("bridge max_connections for max_clients", "event_bus_bridge: {max_connections: 10}\n",
            "conf.yml: event_bus_bridge.max_connections: unknown key (known: addresses, enabled, host, idle_timeout_ms, max_clients, port)"),
        // A client registered on an address of the gateway's own is one more consumer of it: each address the
        // gateway sends requests or commands on, or that is not a published JSON event, is refused with its reason.
        bad("bridge addresses that are the gateway's own", """
            event_bus_bridge:
              addresses:
                - gateway.traffic
                - gateway.stats.query
                - gateway.config.reload
                - gateway.instances
                - gateway.cluster.stats.node-1
                - gateway.ratelimit.demand
                - __vertx.reply.1
                - gateway.trafic
            """,
            "conf.yml: event_bus_bridge.addresses[1]: gateway.stats.query " + REQUEST_REPLY + TAPPABLE,
            "conf.yml: event_bus_bridge.addresses[2]: gateway.config.reload is a command address of the gateway, each"
                + " message sent to one consumer: a bridge client registered on it would be handed a share of them,"
                + " and they would be lost (a reload, a config going live)" + TAPPABLE,
            "conf.yml: event_bus_bridge.addresses[3]: gateway.instances carries Java objects between the gateway's own"
                + " verticles, not JSON: no client could read them" + TAPPABLE,
            "conf.yml: event_bus_bridge.addresses[4]: gateway.cluster.stats.node-1 " + REQUEST_REPLY + TAPPABLE,
            "conf.yml: event_bus_bridge.addresses[5]: gateway.ratelimit.demand is the gateway's internal coordination"
                + " (between its verticles or cluster nodes), not one of its events" + TAPPABLE,
            "conf.yml: event_bus_bridge.addresses[6]: __vertx.reply.1 is one of Vert.x's own addresses (replies,"
                + " cluster internals): a bridge client registered on it could be handed replies meant for the gateway"
                + TAPPABLE,
            "conf.yml: event_bus_bridge.addresses[7]: gateway.trafic is not an address the gateway publishes events on"
                + TAPPABLE),
        bad("bridge address with spaces around an internal one", "event_bus_bridge: {addresses: [\" gateway.metrics.scrape \"]}\n",
            "conf.yml: event_bus_bridge.addresses[0]: gateway.metrics.scrape " + REQUEST_REPLY + TAPPABLE),

        // JSON files get the same validation
        badJson("JSON: unknown backend and bad port", """
            {"server": {"port": "http"},
             "routes": [{"path_prefix": "/api", "backend": "pay"}],
             "backends": [{"name": "payment", "match_labels": ["app_name=payment"]}]}
            """,
            "conf.json: server.port: expected a whole number, got \"http\"",
            "conf.json: routes[0].backend: unknown backend \"pay\"; known: payment"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rejected")
  void rejectsWithExactProblems(Case c, VertxTestContext ctx) throws IOException {
    String path = write(c.file(), c.text());
    expectProblems(path, ctx, reportedFor(path, c));
  }

  // ---------------------------------------------------------------- shapes the parsers let through

  static Stream<Case> parserShapes() {
    return Stream.of(
        bad("label list item written as a mapping", """
            backends:
              - name: payment
                match_labels:
                  - app_name: payment
            """,
            "conf.yml: backends[0].match_labels[0]: expected key=value, got a mapping"),
        bad("route item is a list", "routes:\n  - [/api, payment]\n",
            "conf.yml: routes[0]: expected a mapping, got a list"),
        bad("empty label map selects every container", "backends:\n  - name: payment\n    match_labels: {}\n",
            "conf.yml: backends[0].match_labels: must list at least one key=value label"),
        bad("label map value missing or not a scalar", """
            backends:
              - name: payment
                match_labels:
                  env:
                  app: {name: payment}
            """,
            "conf.yml: backends[0].match_labels.env: expected a string, got null",
            "conf.yml: backends[0].match_labels.app: expected a string, got a mapping"),
        bad("top level is a list", "- path_prefix: /api\n",
            "conf.yml: expected a mapping at the top level, got a list"),
        badJson("JSON top level is a list", "[1, 2]",
            "conf.json: expected a mapping at the top level, got a list"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("parserShapes")
  void parserShapesRejectWithExactProblems(Case c, VertxTestContext ctx) throws IOException {
    rejectsWithExactProblems(c, ctx);
  }

  /** Every address the bridge may tap loads, spaces around it trimmed; the rest of the block keeps its defaults. */
  @Test
  void everyTappableBridgeAddressLoads(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", """
        event_bus_bridge:
          enabled: true
          addresses: [gateway.traffic, " gateway.health", gateway.alerts, gateway.discovery.announce, gateway.cluster.members]
        """);
    Features.load(vertx, path).onComplete(ctx.succeeding(config -> ctx.verify(() -> {
      assertEquals(new TapConfig(true, "127.0.0.1", 7000, List.of("gateway.traffic", "gateway.health",
          "gateway.alerts", "gateway.discovery.announce", "gateway.cluster.members"), TapConfig.DEFAULT_MAX_CLIENTS,
          TapConfig.DEFAULT_IDLE_TIMEOUT_MS, 0), config.tap());
      ctx.completeNow();
    })));
  }

  @Test
  void tracingBlockParses(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", """
        tracing:
          enabled: true
          endpoint: http://127.0.0.1:4318/v1/traces
          service_name: edge-gw
          sample_ratio: 0.25
        """);
    expectConfig(path, ctx, new GatewayConfig(path, DEFAULT_SERVER, defaultDocker(), List.of(), DEFAULT_RESPONSE,
        List.of(), AccessLogConfig.OFF, TapConfig.OFF, ClusterConfig.DEFAULT,
        new TracingConfig(true, "http://127.0.0.1:4318/v1/traces", "edge-gw", 0.25)));
  }

  @Test
  void duplicateYamlKeyIsAnError(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", "server:\n  port: 8080\n  port: 9090\n");
    expectParseProblem(path, "YAML", "duplicate key port", ctx);
  }

  @Test
  void aDuplicateYamlKeyNamesBothLinesOnOneLine(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", "server:\n  port: 8080\n  port: 9090\n");
    Features.load(vertx, path).onComplete(ctx.failing(err -> ctx.verify(() -> {
      ConfigException e = assertInstanceOf(ConfigException.class, err);
      assertEquals(List.of(path + ": cannot parse YAML: line 3, column 3: found duplicate key port "
          + "(while constructing a mapping at line 2, column 3)"), e.problems());
      ctx.completeNow();
    })));
  }

  @Test
  void duplicateJsonKeyIsAnErrorToo(VertxTestContext ctx) throws IOException {
    // As in YAML: the last value would win silently, so {"port": 8080, ..., "port": 9090} hides a mistake.
    String path = write("conf.json", "{\"server\": {\"port\": 8080, \"port\": 9090}}");
    expectParseProblem(path, "JSON", "Duplicate field 'port' at [line: 1, column: 33]", ctx);
  }

  @Test
  void duplicateJsonKeyAfterACommentIsAnError(VertxTestContext ctx) throws IOException {
    String path = write("conf.json", "{\"server\": {\"port\": 8080, // the old one\n \"port\": 9090}}");
    expectParseProblem(path, "JSON", "Duplicate field 'port' at [line: 2, column: 8]", ctx);
  }

  /** Loading fails with one problem, {@code FILE: cannot parse FORMAT: ...} holding {@code fragment}. */
  private void expectParseProblem(String path, String format, String fragment, VertxTestContext ctx) {
    Features.load(vertx, path).onComplete(ctx.failing(err -> ctx.verify(() -> {
      ConfigException e = assertInstanceOf(ConfigException.class, err);
      assertEquals(1, e.problems().size(), e.getMessage());
      assertTrue(e.problems().get(0).startsWith(path + ": cannot parse " + format + ": "), e.getMessage());
      assertTrue(e.problems().get(0).contains(fragment), e.getMessage());
      ctx.completeNow();
    })));
  }

  // ---------------------------------------------------------------- unreadable files

  @Test
  void missingFileIsNamed(VertxTestContext ctx) {
    String path = dir.resolve("absent.yml").toString();
    expectProblems(path, ctx, List.of(path + ": cannot read config file: no such file"));
  }

  @Test
  void invalidYamlNamesFileAndPosition(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", """
        routes:
          - path_prefix: /api
            backend: [payment
        """);
    Features.load(vertx, path).onComplete(ctx.failing(err -> ctx.verify(() -> {
      ConfigException e = assertInstanceOf(ConfigException.class, err);
      assertEquals(1, e.problems().size(), e.getMessage());
      String problem = e.problems().get(0);
      // The parser's own wording follows the prefix; pin only the file, the format and the position.
      assertTrue(problem.startsWith(path + ": cannot parse YAML: "), problem);
      assertTrue(problem.contains("line 3, column 14"), problem);
      assertFalse(problem.contains("\n"), problem);
      ctx.completeNow();
    })));
  }

  @Test
  void invalidJsonNamesFile(VertxTestContext ctx) throws IOException {
    String path = write("conf.json", "{\"routes\": [}");
    expectParseProblem(path, "JSON", "", ctx);
  }

  // ---------------------------------------------------------------- parse() without a file

  @Test
  void parseReportsUnderTheGivenFileName() {
    JsonObject json = new JsonObject()
        .put("routes", new JsonArray().add(new JsonObject().put("path_prefix", "/a").put("backend", "x")));
    ConfigException e = assertThrows(ConfigException.class,
        () -> Features.parse("inline", json));
    assertEquals(List.of("inline: routes[0].backend: unknown backend \"x\"; known: (none defined)"), e.problems());
  }

  // ---------------------------------------------------------------- traffic management keys

  @Test
  void routeAndBackendTrafficKeysParse(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", """
        routes:
          - path_prefix: /api
            backend: web
            strip_prefix: true
            methods: [get, POST, GET]
            host: API.Example.com
        backends:
          - name: web
            load_balancer: least_requests
            targets: [http://127.0.0.1:9001, "http://[::1]:9002/"]
            health_check: {path: /health, interval_ms: 500, unhealthy_threshold: 3}
        """);
    expectConfig(path, ctx, new GatewayConfig(path, DEFAULT_SERVER, defaultDocker(),
        List.of(new RouteConfig("/api", "web", 30_000, true, List.of("GET", "POST"), "api.example.com", RetryConfig.NONE)),
        DefaultResponse.NOT_FOUND,
        List.of(new BackendConfig("web", new LabelSelector(Map.of()),
            List.of(new Target("127.0.0.1", 9001), new Target("::1", 9002)), LoadBalancer.LEAST_REQUESTS,
            DEFAULT_BREAKER, 2_000, 256, new HealthCheckConfig("/health", 500, 500, 2, 3)))));
  }

  @Test
  void subsetSizeParsesAndIsAllInstancesWhenAbsent(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", """
        routes:
          - {path_prefix: /a, backend: wide}
          - {path_prefix: /b, backend: all}
        backends:
          - name: wide
            load_balancer: round_robin
            subset_size: 3
            targets: [http://127.0.0.1:9001]
          - {name: all, targets: [http://127.0.0.1:9001]}
          # As the reference in docs/configuration.md writes it: no subset, all instances.
          - {name: none, targets: [http://127.0.0.1:9001], subset_size: null}
        """);
    Features.load(vertx, path).onComplete(ctx.succeeding(config -> ctx.verify(() -> {
      assertEquals(List.of(3, 0, 0), config.backends().stream().map(BackendConfig::subsetSize).toList());
      assertEquals(LoadBalancer.ROUND_ROBIN, config.backends().get(0).loadBalancer());
      ctx.completeNow();
    })));
  }

  @Test
  void rewriteLocationIsOnOnEveryRouteUnlessTurnedOff(VertxTestContext ctx) throws IOException {
    // A route that strips nothing still rewrites its backend's redirects to the instance's own address.
    String path = write("conf.yml", """
        routes:
          - {path_prefix: /a, backend: web, strip_prefix: true}
          - {path_prefix: /b, backend: web, strip_prefix: true, rewrite_location: false}
          - {path_prefix: /c, backend: web, strip_prefix: true, rewrite_location: true}
          - {path_prefix: /d, backend: web}
          - {path_prefix: /e, backend: web, rewrite_location: false}
          - {path_prefix: /f, backend: web, strip_prefix: false, rewrite_location: true}
        backends:
          - {name: web, targets: [http://127.0.0.1:9001]}
        """);
    Features.load(vertx, path).onComplete(ctx.succeeding(config -> ctx.verify(() -> {
      assertEquals(List.of(true, false, true, true, false, true),
          config.routes().stream().map(RouteConfig::rewriteLocation).toList());
      // Cookies' Path: only where a prefix is taken away.
      assertEquals(List.of(true, false, true, false, false, false),
          config.routes().stream().map(RouteConfig::rewriteCookiePath).toList());
      ctx.completeNow();
    })));
  }

  @Test
  void rewriteCookiePathFollowsRewriteLocationUnlessSet(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", """
        routes:
          - {path_prefix: /a, backend: web, strip_prefix: true}
          - {path_prefix: /b, backend: web, strip_prefix: true, rewrite_location: false}
          - {path_prefix: /c, backend: web, strip_prefix: true, rewrite_cookie_path: false}
          - {path_prefix: /d, backend: web, strip_prefix: true, rewrite_location: false, rewrite_cookie_path: true}
          - {path_prefix: /e, backend: web}
          - {path_prefix: "/f;v2", backend: web, strip_prefix: true}
        backends:
          - {name: web, targets: [http://127.0.0.1:9001]}
        """);
    Features.load(vertx, path).onComplete(ctx.succeeding(config -> ctx.verify(() -> {
      assertEquals(List.of(true, false, true, false, true, true),
          config.routes().stream().map(RouteConfig::rewriteLocation).toList());
      // /f;v2: a cookie's Path ends at a ';', so such a prefix cannot be put into one.
      assertEquals(List.of(true, false, false, true, false, false),
          config.routes().stream().map(RouteConfig::rewriteCookiePath).toList());
      ctx.completeNow();
    })));
  }

  @Test
  void aGrpcHealthCheckNamesItsServiceOrNone(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", """
        backends:
          - {name: a, protocol: http2, targets: [http://127.0.0.1:9001], health_check: {type: grpc, service: orders.v1.Orders}}
          - {name: b, protocol: http2, targets: [http://127.0.0.1:9002], health_check: {type: grpc, interval_ms: 1000}}
        """);
    Features.load(vertx, path).onComplete(ctx.succeeding(config -> ctx.verify(() -> {
      assertEquals(new HealthCheckConfig(null, 5_000, 2_000, 2, 2, "orders.v1.Orders"), config.backends().get(0).healthCheck());
      assertEquals(new HealthCheckConfig(null, 1_000, 1_000, 2, 2, ""), config.backends().get(1).healthCheck());
      ctx.completeNow();
    })));
  }

  @Test
  void anHttpHealthCheckTakesTheDocumentedEmptyServiceAsIfLeftOut(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", """
        backends:
          - {name: a, targets: [http://127.0.0.1:9001], health_check: {type: http, path: /health, service: ""}}
          - {name: b, targets: [http://127.0.0.1:9002], health_check: {path: /health}}
        """);
    Features.load(vertx, path).onComplete(ctx.succeeding(config -> ctx.verify(() -> {
      assertEquals(new HealthCheckConfig("/health", 5_000, 2_000, 2, 2), config.backends().get(0).healthCheck());
      assertEquals(config.backends().get(1).healthCheck(), config.backends().get(0).healthCheck());
      ctx.completeNow();
    })));
  }

  @Test
  void aBackendsProtocolIsHttp1UnlessSetToHttp2(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", """
        backends:
          - {name: grpc, protocol: http2, targets: [http://127.0.0.1:9001]}
          - {name: web, protocol: http1, targets: [http://127.0.0.1:9002]}
          - {name: plain, targets: [http://127.0.0.1:9003]}
        """);
    Features.load(vertx, path).onComplete(ctx.succeeding(config -> ctx.verify(() -> {
      assertEquals(List.of(true, false, false), config.backends().stream().map(BackendConfig::http2).toList());
      ctx.completeNow();
    })));
  }

  static Stream<Case> trafficKeyProblems() {
    return Stream.of(
        bad("neither labels nor targets", "backends:\n  - name: web\n",
            "conf.yml: backends[0].match_labels: is required unless targets, dns_targets or consul_service are given: a list of key=value labels a container must carry"),
        bad("bad targets", "backends:\n  - name: web\n    targets: [\"https://a:1\", \"http://a\", \"http://a:1/x\", 7, \"http://a:1\", \"ftp://a:1\", \"http://a:1\"]\n",
            "conf.yml: backends[0].targets[2]: expected http://host[:port] or https://host[:port] (80 and 443 by default), got \"http://a:1/x\"",
            "conf.yml: backends[0].targets[3]: expected http://host[:port] or https://host[:port] (80 and 443 by default), got 7",
            "conf.yml: backends[0].targets[5]: expected http://host[:port] or https://host[:port] (80 and 443 by default), got \"ftp://a:1\"",
            "conf.yml: backends[0].targets[6]: duplicate target http://a:1"),
        bad("unknown load balancer", "backends:\n  - name: web\n    targets: [\"http://a:1\"]\n    load_balancer: fastest\n",
            "conf.yml: backends[0].load_balancer: unknown load balancer \"fastest\"; known: random, round_robin, least_requests"),
        bad("health checks of the wrong type or with the other type's keys",
            "backends:\n  - name: a\n    targets: [\"http://a:1\"]\n    health_check: {type: grpc, path: /health}\n"
                + "  - name: b\n    targets: [\"http://a:1\"]\n    health_check: {path: /health, service: x}\n"
                + "  - name: c\n    targets: [\"http://a:1\"]\n    health_check: {type: tcp, path: /h}\n"
                + "  - name: d\n    targets: [\"http://a:1\"]\n    health_check: {type: http}\n",
            "conf.yml: backends[0].health_check.path: is for type: http; a grpc check asks grpc.health.v1.Health/Check about its service",
            "conf.yml: backends[1].health_check.service: is for type: grpc (the gRPC service whose health is asked)",
            "conf.yml: backends[2].health_check.type: unknown health check type \"tcp\"; known: http, grpc",
            "conf.yml: backends[3].health_check.path: is required"),
        bad("subset sizes that are no count of instances",
            "backends:\n  - {name: a, targets: [\"http://a:1\"], subset_size: 0}\n"
                + "  - {name: b, targets: [\"http://a:1\"], subset_size: -3}\n"
                + "  - {name: c, targets: [\"http://a:1\"], subset_size: 2.5}\n"
                + "  - {name: d, targets: [\"http://a:1\"], subset_size: all}\n",
            "conf.yml: backends[0].subset_size: must be between 1 and 100000, got 0",
            "conf.yml: backends[1].subset_size: must be between 1 and 100000, got -3",
            "conf.yml: backends[2].subset_size: expected a whole number, got 2.5",
            "conf.yml: backends[3].subset_size: expected a whole number, got \"all\""),
        bad("unknown protocol", "backends:\n  - name: web\n    targets: [\"http://a:1\"]\n    protocol: h2c\n",
            "conf.yml: backends[0].protocol: unknown protocol \"h2c\"; known: http1, http2"),
        bad("unknown method and same prefix twice for a method",
            "routes:\n  - {path_prefix: /a, backend: web, methods: [GET, FETCH]}\n  - {path_prefix: /a, backend: web, methods: [GET]}\n"
                + "  - {path_prefix: /a, backend: web, methods: [POST]}\n"
                + "backends:\n  - {name: web, targets: [\"http://a:1\"]}\n",
            "conf.yml: routes[0].methods[1]: unknown HTTP method \"FETCH\"; known: DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, TRACE, PURGE, and the other methods of IANA's HTTP Method Registry (PROPFIND, MKCOL, REPORT, QUERY...)",
            "conf.yml: routes[1].path_prefix: duplicate prefix \"/a\" (also routes[0].path_prefix)"),
        bad("CONNECT listed", "routes:\n  - {path_prefix: /t, backend: web, methods: [GET, connect]}\n"
                + "backends:\n  - {name: web, targets: [\"http://a:1\"]}\n",
            "conf.yml: routes[0].methods[1]: CONNECT is not proxied: the gateway opens no tunnels (a CONNECT request gets"
                + " 405 on every route)"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("trafficKeyProblems")
  void trafficKeysRejectWithExactProblems(Case c, VertxTestContext ctx) throws IOException {
    rejectsWithExactProblems(c, ctx);
  }

  // ---------------------------------------------------------------- rate limits

  /** A route with an API key ({@code auth: true}) or none, limited by {@code rateLimit}, to backend web. */
  static String limitedRoute(boolean auth, String rateLimit) {
    return "routes:\n  - path_prefix: /api\n    backend: web\n"
        + (auth ? "    auth: {type: api_key, keys: [{name: ci, sha256: \"" + "ab".repeat(32) + "\"}]}\n" : "")
        + "    rate_limit: " + rateLimit + "\n"
        + "backends:\n  - {name: web, targets: [\"http://127.0.0.1:9\"]}\n";
  }

  @Test
  @org.junit.jupiter.api.Timeout(30)
  void rateLimitsParseWithTheirDefaults(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", limitedRoute(true, "{requests_per_second: 2.5, key: \"header:X-Client\", max_keys: 5000}")
        .replace("backends:", "  - {path_prefix: /open, backend: web, rate_limit: {requests_per_second: 10}}\n"
            + "  - {path_prefix: /shared, backend: web, rate_limit: {requests_per_second: 10, scope: cluster}}\n"
            + "  - {path_prefix: /v6, backend: web, rate_limit: {requests_per_second: 10, ipv6_prefix: 64}}\nbackends:"));
    Features.load(vertx, path).onComplete(ctx.succeeding(config -> ctx.verify(() -> {
      assertEquals(new RateLimitConfig(2.5, 3, "header:X-Client", 5000),
          config.routes().get(0).block("rate_limit", RateLimitConfig.class), "burst: the rate rounded up");
      assertEquals(new RateLimitConfig(10, 10, "client_ip", RateLimitConfig.DEFAULT_MAX_KEYS, RateLimitConfig.Scope.LOCAL),
          config.routes().get(1).block("rate_limit", RateLimitConfig.class), "scope: local unless said");
      assertEquals(new RateLimitConfig(10, 10, "client_ip", RateLimitConfig.DEFAULT_MAX_KEYS, RateLimitConfig.Scope.CLUSTER),
          config.routes().get(2).block("rate_limit", RateLimitConfig.class));
      assertEquals(new RateLimitConfig(10, 10, "client_ip", RateLimitConfig.DEFAULT_MAX_KEYS, RateLimitConfig.Scope.LOCAL,
          64), config.routes().get(3).block("rate_limit", RateLimitConfig.class));
      assertEquals(128, config.routes().get(1).block("rate_limit", RateLimitConfig.class).ipv6Prefix(), "whole addresses");
      ctx.completeNow();
    })));
  }

  static Stream<Case> rateLimitProblems() {
    return Stream.of(
        bad("header key on a route without auth", limitedRoute(false, "{requests_per_second: 5, key: \"header:X-Client\"}"),
            "conf.yml: routes[0].rate_limit.key: header:NAME keys need auth on the route (a client can send any value, "
                + "so only authenticated clients may be counted by a header); use client_ip on open routes"),
        bad("api_key key without API-key auth", limitedRoute(false, "{requests_per_second: 5, key: api_key}"),
            "conf.yml: routes[0].rate_limit.key: api_key needs auth of type api_key on the route"),
        bad("unknown key kind and an empty header name", limitedRoute(true, "{requests_per_second: 5, key: \"header:\"}"),
            "conf.yml: routes[0].rate_limit.key: expected client_ip, api_key, jwt_sub or header:NAME, got \"header:\""),
        bad("max_keys out of range, rate missing", limitedRoute(false, "{max_keys: 0}"),
            "conf.yml: routes[0].rate_limit.requests_per_second: is required",
            "conf.yml: routes[0].rate_limit.max_keys: must be between 1 and 10000000, got 0"),
        bad("unknown key in a rate limit", limitedRoute(false, "{requests_per_second: 5, max_key: 10}"),
            "conf.yml: routes[0].rate_limit.max_key: unknown key, did you mean \"max_keys\"? (known: burst, ipv6_prefix, key, max_keys, requests_per_second, scope)"),
        bad("ipv6_prefix out of range", limitedRoute(false, "{requests_per_second: 5, ipv6_prefix: 0}"),
            "conf.yml: routes[0].rate_limit.ipv6_prefix: must be between 1 and 128, got 0"),
        bad("ipv6_prefix with a key other than client_ip", limitedRoute(true, "{requests_per_second: 5, key: api_key, ipv6_prefix: 64}"),
            "conf.yml: routes[0].rate_limit.ipv6_prefix: applies to key client_ip only (the key here is api_key)"),
        bad("unknown scope", limitedRoute(false, "{requests_per_second: 5, scope: global}"),
            "conf.yml: routes[0].rate_limit.scope: expected local or cluster, got \"global\""));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rateLimitProblems")
  @org.junit.jupiter.api.Timeout(30)
  void rateLimitsRejectWithExactProblems(Case c, VertxTestContext ctx) throws IOException {
    rejectsWithExactProblems(c, ctx);
  }

  // ---------------------------------------------------------------- TLS, HTTP/2, admin listener, CORS

  @TempDir
  static Path certDir;
  static dev.dockgate.testing.TestCerts.Pem ec;
  static dev.dockgate.testing.TestCerts.Pem rsa;

  @BeforeAll
  static void makeCertificates() {
    ec = dev.dockgate.testing.TestCerts.selfSigned(certDir, "ec");
    rsa = dev.dockgate.testing.TestCerts.selfSigned(certDir, "rsa", "RSA");
  }

  static final String WEB = "backends:\n  - {name: web, targets: [\"http://127.0.0.1:9001\"]}\n";
  static final List<BackendConfig> WEB_BACKEND = List.of(new BackendConfig("web", new LabelSelector(Map.of()),
      List.of(new Target("127.0.0.1", 9001)), LoadBalancer.RANDOM, DEFAULT_BREAKER, 2_000, 256, null));
  static final String DIGEST = "ab".repeat(32);

  @Test
  void securityKeysParse(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", """
        server:
          port: 8443
          tls: {cert_file: "%s", key_file: "%s"}
          http2: false
          admin_listener:
            port: 9901
            tls: false
            api_keys: [{name: ops, sha256: "%s"}]
            max_connections: 16
        routes:
          - path_prefix: /api
            backend: web
            methods: [GET, POST]
            cors:
              allow_origins: ["HTTPS://App.Example.com", "https://*.example.org", "http://localhost:3000", "http://[::1]:8080"]
              allow_headers: [Content-Type, X-Trace, content-type]
              expose_headers: [X-Request-Id]
              allow_credentials: true
              max_age_s: 600
          - path_prefix: /open
            backend: web
            cors: {allow_origins: ["*"], allow_methods: [get, put], allow_headers: ["*"], expose_headers: ["*"]}
          - path_prefix: /any
            backend: web
            cors: {allow_origins: [https://app.example.com]}
        """.formatted(rsa.cert(), rsa.key(), DIGEST.toUpperCase()) + WEB);
    ServerConfig server = new ServerConfig("0.0.0.0", 8443, 0, "/stats", ServerConfig.Limits.DEFAULTS,
        ServerConfig.AdminPaths.DEFAULTS, new ServerConfig.Tls(rsa.cert().toString(), rsa.key().toString()), false, false,
        new ServerConfig.AdminListener("127.0.0.1", 9901,
            new ApiKeyAuthConfig("X-API-Key", List.of(new ApiKeyAuthConfig.Key("ops", DIGEST))), false, 16), List.of());
    CorsConfig api = new CorsConfig(
        List.of("https://app.example.com", "https://*.example.org", "http://localhost:3000", "http://[::1]:8080"),
        List.of("GET", "POST"), List.of("content-type", "x-trace"), List.of("x-request-id"), true, 600);
    CorsConfig open = new CorsConfig(List.of("*"), List.of("GET", "PUT"), List.of("*"), List.of("*"), false, null);
    CorsConfig any = new CorsConfig(List.of("https://app.example.com"), CorsConfig.DEFAULT_METHODS, List.of(), List.of(),
        false, null);
    expectConfig(path, ctx, new GatewayConfig(path, server, defaultDocker(), List.of(
        new RouteConfig("/api", "web", 30_000, false, List.of("GET", "POST"), null, RetryConfig.NONE, Map.of("cors", api)),
        new RouteConfig("/open", "web", 30_000, false, List.of(), null, RetryConfig.NONE, Map.of("cors", open)),
        new RouteConfig("/any", "web", 30_000, false, List.of(), null, RetryConfig.NONE, Map.of("cors", any))),
        DefaultResponse.NOT_FOUND, WEB_BACKEND));
  }

  @Test
  void ecCertificatesH2cAndAnOpenAdminListenerParse(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", """
        server:
          tls: {cert_file: "%s", key_file: "%s"}
          admin_listener: {host: 0.0.0.0, port: 9901}
        """.formatted(ec.cert(), ec.key()));
    String plain = write("plain.yml", "server:\n  h2c: true\n");
    Features.load(vertx, path).compose(tls -> Features.load(vertx, plain).map(h2c -> List.of(tls, h2c)))
        .onComplete(ctx.succeeding(configs -> ctx.verify(() -> {
          ServerConfig tls = configs.get(0).server();
          assertEquals(new ServerConfig.Tls(ec.cert().toString(), ec.key().toString()), tls.tls());
          assertTrue(tls.http2(), "HTTP/2 is on by default with TLS");
          assertEquals(new ServerConfig.AdminListener("0.0.0.0", 9901, null, true), tls.adminListener(),
              "the admin listener serves TLS when the main one does");
          assertEquals(256, tls.adminListener().maxConnections(), "the admin listener's default connection cap");
          ServerConfig h2c = configs.get(1).server();
          assertTrue(h2c.h2c());
          assertEquals(null, h2c.tls());
          ctx.completeNow();
        })));
  }

  static Stream<Case> securityKeyProblems() {
    return Stream.of(
        bad("http2 without tls", "server:\n  http2: true\n",
            "conf.yml: server.http2: applies only with server.tls (HTTP/2 through ALPN); cleartext HTTP/2 is server.h2c"),
        bad("tls without files", "server:\n  tls: {}\n",
            "conf.yml: server.tls.cert_file: is required",
            "conf.yml: server.tls.key_file: is required"),
        bad("tls files missing, unknown key in tls", "server:\n  tls: {cert_file: absent-cert.pem, key_file: absent-key.pem, password: x}\n",
            "conf.yml: server.tls.password: unknown key (known: cert_file, key_file)",
            "conf.yml: server.tls.cert_file: cannot read \"DIR/absent-cert.pem\": no such file",
            "conf.yml: server.tls.key_file: cannot read \"DIR/absent-key.pem\": no such file"),
        bad("h2c is not a boolean", "server:\n  h2c: \"yes\"\n",
            "conf.yml: server.h2c: expected true or false, got \"yes\""),
        bad("upstream tls, outliers and retries", "routes:\n  - {path_prefix: /a, backend: web, timeout_ms: 1000,"
                + " retries: {attempts: 1, retry_on: [200, 503], deadline_ms: 500}}\n"
                + "backends:\n  - name: web\n    targets: [\"https://127.0.0.1:1\"]\n"
                + "    tls: {ca_file: missing.pem, cert_file: c.pem, server_name: \"a b\"}\n"
                + "    outlier_detection: {ejection_ms: 10}\n",
            "conf.yml: backends[0].tls.server_name: expected a host name, got \"a b\"",
            "conf.yml: backends[0].tls.key_file: is required with cert_file (a client certificate and its key go together)",
            "conf.yml: backends[0].tls.ca_file: cannot read \"DIR/missing.pem\": no such file",
            "conf.yml: backends[0].outlier_detection.consecutive_5xx: is required: how many 5xx answers in a row eject an instance",
            "conf.yml: routes[0].retries.retry_on[0]: expected an HTTP status from 400 to 599, got 200",
            "conf.yml: routes[0].retries.deadline_ms: must be at least the route's timeout_ms (1000), which bounds each try, got 500"),
        bad("admin listener by default on the main port", "server:\n  port: 9901\n",
            "conf.yml: server.admin_listener.port: defaults to 9901, which must differ from server.port (9901); "
                + "set it, or admin_listener: false"),
        bad("admin listener neither a mapping nor false", "server:\n  admin_listener: true\n",
            "conf.yml: server.admin_listener: expected a mapping, or false to turn the admin listener off"),
        bad("rate limit by a header on an open route",
            "routes:\n  - {path_prefix: /a, backend: web, rate_limit: {requests_per_second: 5, key: \"header:X-Client\"}}\n"
                + "backends:\n  - {name: web, match_labels: [app=web]}\n",
            "conf.yml: routes[0].rate_limit.key: header:NAME keys need auth on the route (a client can send any value, "
                + "so only authenticated clients may be counted by a header); use client_ip on open routes"),
        bad("trusted proxy not an address", "server:\n  trusted_proxies: [10.0.0.0/33, proxy.example.com]\n",
            "conf.yml: server.trusted_proxies[0]: expected an IP address or CIDR such as 10.0.0.0/8 or ::1, got \"10.0.0.0/33\"",
            "conf.yml: server.trusted_proxies[1]: expected an IP address or CIDR such as 10.0.0.0/8 or ::1, got \"proxy.example.com\""),
        bad("admin listener on the main port", "server:\n  port: 8080\n  admin_listener: {port: 8080}\n",
            "conf.yml: server.admin_listener.port: must differ from server.port (8080)"),
        bad("admin listener on port 0", "server:\n  admin_listener: {port: 0}\n",
            "conf.yml: server.admin_listener.port: must be between 1 and 65535, got 0"),
        bad("admin listener unknown key", "server:\n  admin_listener: {port: 9901, keys: []}\n",
            "conf.yml: server.admin_listener.keys: unknown key (known: api_key_header, api_keys, host, max_connections, port, tls)"),
        bad("admin listener connection cap below 0", "server:\n  admin_listener: {port: 9901, max_connections: -1}\n",
            "conf.yml: server.admin_listener.max_connections: must be between 0 and 1000000, got -1"),
        bad("admin listener TLS without a certificate", "server:\n  admin_listener: {port: 9901, tls: true}\n",
            "conf.yml: server.admin_listener.tls: needs server.tls, whose certificate it serves"),
        bad("admin listener with an empty key list", "server:\n  admin_listener: {port: 9901, api_keys: []}\n",
            "conf.yml: server.admin_listener.api_keys: must list at least one {name, sha256}; leave it out for an open listener"),
        bad("admin key header without keys", "server:\n  admin_listener: {port: 9901, api_key_header: X-Admin}\n",
            "conf.yml: server.admin_listener.api_key_header: applies only with api_keys"),
        bad("admin keys: bad header, bad digest, same name twice", """
            server:
              admin_listener:
                port: 9901
                api_key_header: "X Admin"
                api_keys:
                  - {name: ops, sha256: "%s"}
                  - {name: ops, sha256: secret}
                  - {sha256: "%s"}
            """.formatted(DIGEST, DIGEST),
            "conf.yml: server.admin_listener.api_key_header: expected a header name, got \"X Admin\"",
            "conf.yml: server.admin_listener.api_keys[1].name: duplicate key name \"ops\"",
            "conf.yml: server.admin_listener.api_keys[1].sha256: expected 64 hex digits (the SHA-256 of the key, never the key itself)",
            "conf.yml: server.admin_listener.api_keys[2].name: is required"),
        bad("cors without origins", "routes:\n  - {path_prefix: /a, backend: web, cors: {allow_methods: [GET]}}\n" + WEB,
            "conf.yml: routes[0].cors.allow_origins: is required: the origins allowed, e.g. [https://app.example.com], or [\"*\"]"),
        bad("cors with an empty origin list", "routes:\n  - {path_prefix: /a, backend: web, cors: {allow_origins: []}}\n" + WEB,
            "conf.yml: routes[0].cors.allow_origins: must list at least one origin"),
        bad("cors origins that are not origins", """
            routes:
              - path_prefix: /a
                backend: web
                cors:
                  allow_origins: ["https://app.example.com/", app.example.com, "https://a.com/path", "https://*example.com",
                                  7, "null", "https://App.example.com", "https://app.example.com", "https://a.example:65536"]
            """ + WEB,
            "conf.yml: routes[0].cors.allow_origins[0]: expected an origin such as https://app.example.com (scheme://host[:port], no path), https://*.example.com or \"*\", got \"https://app.example.com/\"",
            "conf.yml: routes[0].cors.allow_origins[1]: expected an origin such as https://app.example.com (scheme://host[:port], no path), https://*.example.com or \"*\", got \"app.example.com\"",
            "conf.yml: routes[0].cors.allow_origins[2]: expected an origin such as https://app.example.com (scheme://host[:port], no path), https://*.example.com or \"*\", got \"https://a.com/path\"",
            "conf.yml: routes[0].cors.allow_origins[3]: expected an origin such as https://app.example.com (scheme://host[:port], no path), https://*.example.com or \"*\", got \"https://*example.com\"",
            "conf.yml: routes[0].cors.allow_origins[4]: expected an origin such as https://app.example.com (scheme://host[:port], no path), https://*.example.com or \"*\", got 7",
            "conf.yml: routes[0].cors.allow_origins[5]: \"null\" is not allowed: sandboxed pages and local files all send it",
            "conf.yml: routes[0].cors.allow_origins[7]: duplicate origin \"https://app.example.com\"",
            "conf.yml: routes[0].cors.allow_origins[8]: expected an origin such as https://app.example.com (scheme://host[:port], no path), https://*.example.com or \"*\", got \"https://a.example:65536\""),
        bad("cors star among origins", "routes:\n  - {path_prefix: /a, backend: web, cors: {allow_origins: [https://a.example, \"*\"]}}\n" + WEB,
            "conf.yml: routes[0].cors.allow_origins[1]: \"*\" allows every origin and must be the only entry"),
        bad("cors star with credentials", """
            routes:
              - path_prefix: /a
                backend: web
                cors: {allow_origins: ["*"], expose_headers: ["*"], allow_credentials: true}
            """ + WEB,
            "conf.yml: routes[0].cors.allow_origins: \"*\" cannot be combined with allow_credentials: true (browsers refuse credentialed answers for any origin); list the origins",
            "conf.yml: routes[0].cors.expose_headers: \"*\" exposes nothing with allow_credentials: true (browsers take it as a header name); list the headers"),
        bad("cors methods, headers, max age and an unknown key", """
            routes:
              - path_prefix: /a
                backend: web
                cors:
                  allow_origins: [https://a.example]
                  allow_methods: [GET, FETCH]
                  allow_headers: ["x trace", "*"]
                  expose_headers: [{name: x}]
                  allow_credentials: "yes"
                  max_age_s: 86401
                  allow_origin: [https://b.example]
            """ + WEB,
            "conf.yml: routes[0].cors.allow_methods[1]: unknown HTTP method \"FETCH\"; known: DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, TRACE, PURGE, and the other methods of IANA's HTTP Method Registry (PROPFIND, MKCOL, REPORT, QUERY...)",
            "conf.yml: routes[0].cors.allow_headers[0]: expected a header name, got \"x trace\"",
            "conf.yml: routes[0].cors.allow_headers[1]: \"*\" stands for every header and must be the only entry",
            "conf.yml: routes[0].cors.expose_headers[0]: expected a header name, got a mapping",
            "conf.yml: routes[0].cors.allow_credentials: expected true or false, got \"yes\"",
            "conf.yml: routes[0].cors.max_age_s: must be between 0 and 86400, got 86401",
            "conf.yml: routes[0].cors.allow_origin: unknown key, did you mean \"allow_origins\"? (known: allow_credentials, allow_headers, allow_methods, allow_origins, expose_headers, max_age_s)"),
        bad("cors with an empty method list", "routes:\n  - {path_prefix: /a, backend: web, cors: {allow_origins: [\"*\"], allow_methods: []}}\n" + WEB,
            "conf.yml: routes[0].cors.allow_methods: must list at least one method; leave it out for the default"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("securityKeyProblems")
  void securityKeysRejectWithExactProblems(Case c, VertxTestContext ctx) throws IOException {
    rejectsWithExactProblems(c, ctx);
  }

  /** A config whose server.tls names {@code cert} and {@code key}: the problems it is rejected with. */
  private void expectTlsProblems(VertxTestContext ctx, Object cert, Object key, String... problems) throws IOException {
    String path = write("conf.yml", "server:\n  h2c: true\n  tls: {cert_file: \"%s\", key_file: \"%s\"}\n".formatted(cert, key));
    List<String> expected = new java.util.ArrayList<>();
    for (String p : problems) {
      expected.add(path + ": server.tls." + p);
    }
    // Reported with the others, after the tls section it follows.
    expected.add(path + ": server.h2c: is cleartext HTTP/2, for a listener without server.tls "
        + "(with TLS, HTTP/2 is negotiated by ALPN: server.http2)");
    expectProblems(path, ctx, expected);
  }

  @Test
  void tlsCertificateFileWithoutACertificate(VertxTestContext ctx) throws IOException {
    expectTlsProblems(ctx, ec.key(), ec.key(),
        "cert_file: no PEM certificate (-----BEGIN CERTIFICATE-----) in \"" + ec.key() + "\"");
  }

  @Test
  void tlsCertificateFileThatIsADirectory(VertxTestContext ctx) throws IOException {
    expectTlsProblems(ctx, certDir, ec.key(), "cert_file: cannot read \"" + certDir + "\": Is a directory");
  }

  @Test
  void tlsCertificateBlockThatIsNotACertificate(VertxTestContext ctx) throws IOException {
    Path broken = certDir.resolve("broken-cert.pem");
    Files.writeString(broken, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    Features.load(vertx, write("conf.yml", "server:\n  tls: {cert_file: \"%s\", key_file: \"%s\"}\n"
        .formatted(broken, ec.key()))).onComplete(ctx.failing(err -> ctx.verify(() -> {
          List<String> problems = assertInstanceOf(ConfigException.class, err).problems();
          assertEquals(1, problems.size(), problems.toString());
          assertTrue(problems.get(0).contains(": server.tls.cert_file: no usable PEM certificate in \"" + broken + "\" ("),
              problems.get(0));
          ctx.completeNow();
        })));
  }

  @Test
  void tlsKeyFileWithoutAKey(VertxTestContext ctx) throws IOException {
    expectTlsProblems(ctx, ec.cert(), ec.cert(), "key_file: no usable PEM private key in \"" + ec.cert() + "\" (Missing "
        + "-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY----- or -----BEGIN EC PRIVATE KEY----- delimiter)");
  }

  @Test
  void tlsKeyOfAnotherCertificate(VertxTestContext ctx) throws IOException {
    dev.dockgate.testing.TestCerts.Pem other = dev.dockgate.testing.TestCerts.selfSigned(certDir, "other");
    expectTlsProblems(ctx, ec.cert(), other.key(),
        "key_file: \"" + other.key() + "\" is not the private key of the first certificate in cert_file");
  }

  @Test
  void tlsKeyOfAnotherAlgorithm(VertxTestContext ctx) throws IOException {
    expectTlsProblems(ctx, ec.cert(), rsa.key(), "key_file: no usable PEM private key in \"" + rsa.key()
        + "\" (private key algorithm does not match algorithm of public key in end entity certificate (at index 0))");
  }
}
