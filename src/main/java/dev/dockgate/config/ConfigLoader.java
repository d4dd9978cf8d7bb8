package dev.dockgate.config;

import dev.dockgate.events.TapAddresses;
import io.vertx.config.ConfigRetriever;
import io.vertx.config.ConfigRetrieverOptions;
import io.vertx.config.ConfigStoreOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Turns a YAML (or JSON) config file into a validated {@link GatewayConfig}, reporting every
 * problem at once as {@code file: field: problem}. The only place that reads raw config JSON.
 * Values come from three layers: the file (its ${NAME} references filled from the environment),
 * then environment variables DOCKGATE_..., then system properties dockgate.... (see {@link ValueSources}).
 */
public final class ConfigLoader {

  private ConfigLoader() {
  }

  /**
   * A validated config and where its values came from when not as written in the file: setting
   * path (server.port, routes[0].backend) to origin ("environment variable DOCKGATE_SERVER_PORT").
   */
  public record Loaded(GatewayConfig config, Map<String, String> origins) {
    public Loaded {
      origins = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(origins));
    }
  }

  /**
   * Reads the file ({@link ConfigText}: YAML, or JSON by its extension) and validates it, on a worker thread:
   * validation reads the files the config names (TLS certificate and key).
   */
  public static Future<GatewayConfig> load(Vertx vertx, String file, List<? extends RouteBlockParser> parsers) {
    return check(vertx, file, parsers).map(Loaded::config);
  }

  /** As {@link #load}, with the origins of the values from outside the file. */
  public static Future<Loaded> check(Vertx vertx, String file, List<? extends RouteBlockParser> parsers) {
    return environment(vertx).compose(environment -> check(vertx, file, parsers, environment));
  }

  /** As {@link #check(Vertx, String, List)}, with the given environment instead of the process's. */
  public static Future<Loaded> check(Vertx vertx, String file, List<? extends RouteBlockParser> parsers,
      ConfigEnvironment environment) {
    // Read, parsed and checked on a worker: a big file or one that expands through aliases never holds an event loop.
    return vertx.executeBlocking(() -> validate(file, ConfigText.read(file), parsers, environment), false);
  }

  /**
   * The process's environment variables and system properties, through vertx-config's env and sys
   * stores (as text: raw-data), read again at each load.
   */
  public static Future<ConfigEnvironment> environment(Vertx vertx) {
    ConfigRetriever variables = ConfigRetriever.create(vertx, only(new ConfigStoreOptions().setType("env")
        .setConfig(new JsonObject().put("raw-data", true))));
    ConfigRetriever properties = ConfigRetriever.create(vertx, only(new ConfigStoreOptions().setType("sys")
        .setConfig(new JsonObject().put("raw-data", true).put("cache", false))));
    return Future.all(variables.getConfig(), properties.getConfig())
        .map(all -> new ConfigEnvironment(strings(all.resultAt(0)), strings(all.resultAt(1))))
        .eventually(() -> {
          variables.close();
          properties.close();
          return Future.succeededFuture();
        });
  }

  private static ConfigRetrieverOptions only(ConfigStoreOptions store) {
    return new ConfigRetrieverOptions().setIncludeDefaultStores(false).addStore(store);
  }

  private static Map<String, String> strings(JsonObject json) {
    Map<String, String> result = new HashMap<>();
    json.forEach(e -> {
      if (e.getValue() != null) {
        result.put(e.getKey(), String.valueOf(e.getValue()));
      }
    });
    return result;
  }

  /**
   * The JSON document, read by Vert.x's own parser (its comments, its {@code vertx.jackson.*} limits) with duplicate
   * detection on: as for YAML, a key twice in one object is an error rather than the last value silently winning.
   * A number keeps its text, as in YAML ({@link ConfigNumber}): {@code "version": 1.10} is the label value
   * {@code 1.10}, not {@code 1.1}.
   */
  static Object decodeJson(String text) {
    com.fasterxml.jackson.core.JsonParser parser = io.vertx.core.json.jackson.JacksonCodec.createParser(text)
        .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    try (parser) {
      parser.nextToken();
      Object document = jsonValue(parser);
      if (parser.nextToken() != null) {
        throw new io.vertx.core.json.DecodeException("Unexpected trailing token");
      }
      return document;
    } catch (java.io.IOException e) {
      throw new io.vertx.core.json.DecodeException(e.getMessage(), e);
    }
  }

  /** The value at the parser's current token, as Vert.x's parser reads it but for numbers. */
  private static Object jsonValue(com.fasterxml.jackson.core.JsonParser parser) throws java.io.IOException {
    com.fasterxml.jackson.core.JsonToken token = parser.currentToken();
    if (token == null) {
      return null;
    }
    switch (token) {
      case START_OBJECT -> {
        Map<String, Object> object = new java.util.LinkedHashMap<>();
        while (parser.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
          String name = parser.currentName();
          parser.nextToken();
          object.put(name, jsonValue(parser));
        }
        return object;
      }
      case START_ARRAY -> {
        List<Object> array = new java.util.ArrayList<>();
        while (parser.nextToken() != com.fasterxml.jackson.core.JsonToken.END_ARRAY) {
          array.add(jsonValue(parser));
        }
        return array;
      }
      case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> {
        return new ConfigNumber(parser.getText(), parser.getNumberValue());
      }
      case VALUE_STRING -> {
        return parser.getText();
      }
      case VALUE_TRUE -> {
        return Boolean.TRUE;
      }
      case VALUE_FALSE -> {
        return Boolean.FALSE;
      }
      case VALUE_NULL -> {
        return null;
      }
      default -> throw new io.vertx.core.json.DecodeException("Unexpected token " + token);
    }
  }

  /**
   * A YAML error by its line: {@code line 3, column 3: found duplicate key port (while constructing a mapping at
   * line 2, column 3)}, rather than SnakeYAML's text, which quotes the lines with carets across several lines.
   */
  static String yamlProblem(org.yaml.snakeyaml.error.MarkedYAMLException e) {
    org.yaml.snakeyaml.error.Mark at = e.getProblemMark();
    StringBuilder text = new StringBuilder();
    if (at != null) {
      text.append("line ").append(at.getLine() + 1).append(", column ").append(at.getColumn() + 1).append(": ");
    }
    text.append(e.getProblem() == null ? "invalid" : e.getProblem().replace('\n', ' ').trim());
    if (e.getContext() != null) {
      org.yaml.snakeyaml.error.Mark context = e.getContextMark();
      text.append(" (").append(e.getContext().replace('\n', ' ').trim());
      if (context != null && (at == null || context.getLine() != at.getLine())) {
        text.append(" at line ").append(context.getLine() + 1).append(", column ").append(context.getColumn() + 1);
      }
      text.append(')');
    }
    return text.toString();
  }

  static String formatOf(String file) {
    return Path.of(file).getFileName().toString().toLowerCase().endsWith(".json") ? "json" : "yaml";
  }

  static String rootMessage(Throwable err) {
    Throwable t = err;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    return message.replace('\n', ' ').replaceAll("\\s+", " ").trim();
  }

  /** Validates raw config JSON; throws {@link ConfigException} listing every problem. */
  public static GatewayConfig parse(String file, JsonObject json, List<? extends RouteBlockParser> parsers) {
    return validate(file, json, parsers, ConfigEnvironment.NONE).config();
  }

  /**
   * Validates raw config JSON with its ${...} references filled and overrides applied from
   * {@code environment}; throws {@link ConfigException} listing every problem.
   */
  public static Loaded validate(String file, JsonObject json, List<? extends RouteBlockParser> parsers,
      ConfigEnvironment environment) {
    List<String> problems = new ArrayList<>();
    ValueSources sources = new ValueSources(file, environment);
    Fields root = new Fields(file, "", Substitution.apply(json, environment.variables(), sources), problems, sources);

    ServerConfig server = server(root.object("server"));
    DockerConfig docker = DockerParser.parse(root.object("docker"));
    List<BackendConfig> backends = backends(root);
    List<RouteConfig> routes = routes(root, backends, parsers);
    DefaultResponse defaultResponse = defaultResponse(root.object("default_response"));
    AccessLogConfig accessLog = accessLog(root.object("access_log"));
    TapConfig tap = tap(root.object("event_bus_bridge"), root.object("alerts"));
    ClusterConfig cluster = ClusterParser.parse(root.object("cluster"));
    TracingConfig tracing = tracing(root.object("tracing"));
    ConsulConfig consul = ConsulParser.parse(root.object("consul"));
    int sectionProblems = problems.size();
    root.rejectUnknown();
    // A misspelt top-level key first (backend: for backends:): the problems it causes above follow from it.
    List<String> misspelt = new ArrayList<>(problems.subList(sectionProblems, problems.size()));
    problems.subList(sectionProblems, problems.size()).clear();
    problems.addAll(0, misspelt);
    problems.addAll(0, sources.remainingProblems(root));

    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    return new Loaded(new GatewayConfig(file, server, docker, routes, defaultResponse, backends, accessLog, tap,
        cluster, tracing, consul), sources.origins());
  }

  private static ServerConfig server(Fields f) {
    String host = listenHost(f, ServerConfig.DEFAULT_HOST);
    int port = (int) f.number("port", ServerConfig.DEFAULT_PORT, 0, 65535);
    int instances = (int) f.number("instances", 0, 0, 1024);
    String statsPath = f.string("stats_path", ServerConfig.DEFAULT_STATS_PATH);
    if (statsPath != null && !statsPath.startsWith("/")) {
      f.problem(f.at("stats_path"), "must start with \"/\", got \"" + statsPath + "\"");
    }
    ServerConfig.Limits d = ServerConfig.Limits.DEFAULTS;
    ServerConfig.Limits limits = new ServerConfig.Limits(
        f.number("max_body_bytes", d.maxBodyBytes(), 0, Long.MAX_VALUE / 2),
        (int) f.number("max_header_bytes", d.maxHeaderBytes(), 256, 1 << 20),
        (int) f.number("max_request_line_bytes", d.maxRequestLineBytes(), 64, 1 << 20),
        f.number("idle_timeout_ms", d.idleTimeoutMs(), 0, 86_400_000),
        f.number("header_timeout_ms", d.headerTimeoutMs(), 0, 86_400_000),
        f.number("body_timeout_ms", d.bodyTimeoutMs(), 0, 86_400_000),
        (int) f.number("max_connections", d.maxConnections(), 0, 1_000_000),
        (int) f.number("max_header_count", d.maxHeaderCount(), 0, 100_000));
    ServerConfig.AdminPaths a = ServerConfig.AdminPaths.DEFAULTS;
    ServerConfig.AdminPaths admin = new ServerConfig.AdminPaths(
        adminPath(f, "metrics_path", a.metrics()), adminPath(f, "health_path", a.health()),
        adminPath(f, "routes_path", a.routes()), adminPath(f, "dashboard_path", a.dashboard()));
    ServerConfig.Tls tls = f.has("tls") ? tls(f.object("tls")) : null;
    boolean http2 = f.bool("http2", true);
    if (tls == null && f.has("http2")) {
      f.problem(f.at("http2"), "applies only with server.tls (HTTP/2 through ALPN); cleartext HTTP/2 is server.h2c");
    }
    boolean h2c = f.bool("h2c", false);
    if (tls != null && h2c) {
      f.problem(f.at("h2c"), "is cleartext HTTP/2, for a listener without server.tls (with TLS, HTTP/2 is negotiated by ALPN: server.http2)");
    }
    ServerConfig.AdminListener adminListener = adminListener(f, port, tls != null);
    List<Cidr> trusted = trustedProxies(f);
    long drainDelay = f.number("drain_delay_ms", ServerConfig.DEFAULT_DRAIN_DELAY_MS, 0, 600_000);
    f.rejectUnknown();
    return new ServerConfig(host, port, instances, statsPath, limits, admin, tls, http2, h2c, adminListener, trusted,
        drainDelay);
  }

  /** Networks whose forwarded headers are believed: address literals with an optional prefix length. */
  private static List<Cidr> trustedProxies(Fields f) {
    List<Object> items = f.list("trusted_proxies");
    List<Cidr> result = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      Cidr cidr = items.get(i) instanceof String s ? Cidr.parse(s.trim()) : null;
      if (cidr == null) {
        f.problem(f.at("trusted_proxies") + "[" + i + "]", "expected an IP address or CIDR such as 10.0.0.0/8 or ::1, got "
            + Fields.describe(items.get(i)));
      } else {
        result.add(cidr);
      }
    }
    return result;
  }

  /** PEM files, checked here (readable, a certificate, its private key) so a bad one is named by its field. */
  private static ServerConfig.Tls tls(Fields f) {
    String cert = f.requiredString("cert_file");
    String key = f.requiredString("key_file");
    cert = cert == null ? null : f.resolve(cert).toString();
    key = key == null ? null : f.resolve(key).toString();
    f.rejectUnknown();
    TlsFiles.check(f, cert, key);
    return new ServerConfig.Tls(cert, key);
  }

  /**
   * The admin listener: on by default (127.0.0.1:9901, as Envoy's admin port), {@code false} turns
   * it off; the main port then serves only /stats and liveness.
   */
  private static ServerConfig.AdminListener adminListener(Fields server, int mainPort, boolean mainTls) {
    Object raw = server.raw("admin_listener");
    if (Boolean.FALSE.equals(raw) && !server.overridesInside("admin_listener")) {
      server.has("admin_listener"); // marks the key known
      return null;
    }
    if (Boolean.FALSE.equals(raw) && server.fromOutside("admin_listener")) {
      // Off by an override, on by another one: which was meant cannot be told. (Off in the file, an override
      // inside turns it on, as for an absent block.)
      server.problem(server.at("admin_listener"), "turned off while " + server.overrideInside("admin_listener")
          + " sets a key in it; keep one or the other");
      return null;
    }
    if (Boolean.TRUE.equals(raw)) {
      server.problem(server.at("admin_listener"), "expected a mapping, or false to turn the admin listener off");
      return null;
    }
    Fields f = server.object("admin_listener");
    String host = listenHost(f, ServerConfig.AdminListener.DEFAULT_HOST);
    Object rawPort = f.raw("port");
    int port = (int) f.number("port", ServerConfig.AdminListener.DEFAULT_PORT, 1, 65535);
    if (port == mainPort) {
      f.problem(f.at("port"), (rawPort == null ? "defaults to " + port + ", which " : "")
          + "must differ from server.port (" + mainPort + ")" + (rawPort == null ? "; set it, or admin_listener: false" : ""));
    }
    String header = ApiKeyParser.headerName(f, "api_key_header", ApiKeyAuthConfig.DEFAULT_HEADER);
    ApiKeyAuthConfig keys = null;
    if (f.has("api_keys")) {
      List<ApiKeyAuthConfig.Key> list = ApiKeyParser.keys(f, "api_keys", new HashSet<>());
      if (f.raw("api_keys") instanceof io.vertx.core.json.JsonArray given && given.isEmpty()) {
        f.problem(f.at("api_keys"), "must list at least one {name, sha256}; leave it out for an open listener");
      }
      keys = new ApiKeyAuthConfig(header, list);
    } else if (f.has("api_key_header")) {
      f.problem(f.at("api_key_header"), "applies only with api_keys");
    }
    boolean tls = f.bool("tls", mainTls);
    if (tls && !mainTls) {
      f.problem(f.at("tls"), "needs server.tls, whose certificate it serves");
    }
    int maxConnections = (int) f.number("max_connections", ServerConfig.AdminListener.DEFAULT_MAX_CONNECTIONS, 0,
        1_000_000);
    f.rejectUnknown();
    return new ServerConfig.AdminListener(host, port, keys, tls, maxConnections);
  }

  /** The address a listener binds: an empty one would pass here and fail the start with a stack trace. */
  private static String listenHost(Fields f, String fallback) {
    String host = f.string("host", fallback);
    if (host != null && host.isBlank()) {
      f.problem(f.at("host"), "must not be empty: an address to listen on, such as 0.0.0.0 (all) or 127.0.0.1");
      return fallback;
    }
    return host;
  }

  private static String adminPath(Fields f, String key, String fallback) {
    String path = f.string(key, fallback);
    if (path != null && !path.isEmpty() && !path.startsWith("/")) {
      f.problem(f.at(key), "must start with \"/\" (or be empty to turn it off), got \"" + path + "\"");
    }
    return path == null ? "" : path;
  }

  private static List<BackendConfig> backends(Fields root) {
    List<BackendConfig> result = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (Fields f : root.objects("backends")) {
      String name = f.requiredString("name");
      if (name != null && !seen.add(name)) {
        f.problem(f.at("name"), "duplicate backend name \"" + name + "\"");
      }
      boolean hasTargets = f.has("targets") || f.has("dns_targets");
      ConsulService consul = ConsulParser.backend(f);
      LabelSelector labels = f.has("match_labels") || !hasTargets && !f.has("consul_service") ? labels(f)
          : new LabelSelector(Map.of());
      List<Target> targets = targets(f, "targets");
      List<Target> dnsTargets = targets(f, "dns_targets");
      long dnsRefresh = f.number("dns_refresh_ms", BackendConfig.DEFAULT_DNS_REFRESH_MS, 100, 3_600_000);
      if (f.has("dns_refresh_ms") && !f.has("dns_targets")) {
        f.problem(f.at("dns_refresh_ms"), "applies only with dns_targets");
      }
      LoadBalancer lb = loadBalancer(f);
      CircuitBreakerConfig breaker = breaker(f.object("circuit_breaker"));
      long connectTimeout = f.number("connect_timeout_ms", BackendConfig.DEFAULT_CONNECT_TIMEOUT_MS, 1, 600_000);
      int maxConnections = (int) f.number("max_connections", BackendConfig.DEFAULT_MAX_CONNECTIONS, 1, 100_000);
      HealthCheckConfig health = f.has("health_check") ? healthCheck(f.object("health_check")) : null;
      BackendConfig.UpstreamTls tls = f.has("tls") ? upstreamTls(f.object("tls")) : BackendConfig.UpstreamTls.DEFAULT;
      int keepAlive = (int) f.number("keep_alive_timeout_s", BackendConfig.DEFAULT_KEEP_ALIVE_TIMEOUT_S, 1, 3_600);
      int waitQueue = (int) f.number("max_wait_queue", BackendConfig.DEFAULT_MAX_WAIT_QUEUE, 0, 1_000_000);
      OutlierConfig outliers = f.has("outlier_detection") ? outliers(f.object("outlier_detection")) : null;
      BackendConfig.Protocol protocol = protocol(f);
      // Absent or no value (the reference writes subset_size: null): each router picks among all the instances.
      int subsetSize = f.has("subset_size") ? (int) f.number("subset_size", 0, 1, 100_000) : 0;
      f.rejectUnknown();
      result.add(new BackendConfig(name, labels, targets, lb, breaker, connectTimeout, maxConnections, health, tls,
          keepAlive, waitQueue, outliers, consul, protocol, dnsTargets, dnsRefresh, subsetSize));
    }
    return result;
  }

  private static OutlierConfig outliers(Fields f) {
    Object raw = f.raw("consecutive_5xx");
    int consecutive = (int) f.number("consecutive_5xx", 5, 1, 1_000);
    if (raw == null) {
      f.problem(f.at("consecutive_5xx"), "is required: how many 5xx answers in a row eject an instance");
    }
    long ejection = f.number("ejection_ms", OutlierConfig.DEFAULT_EJECTION_MS, 1, 3_600_000);
    f.rejectUnknown();
    return new OutlierConfig(consecutive, ejection);
  }

  /** A backend's TLS toward its HTTPS instances; the files are read and checked here. */
  private static BackendConfig.UpstreamTls upstreamTls(Fields f) {
    String ca = f.string("ca_file", null);
    String serverName = f.string("server_name", null);
    boolean verify = f.bool("verify", true);
    String cert = f.string("cert_file", null);
    String key = f.string("key_file", null);
    ca = ca == null ? null : f.resolve(ca).toString();
    cert = cert == null ? null : f.resolve(cert).toString();
    key = key == null ? null : f.resolve(key).toString();
    if (serverName != null && (serverName.isBlank() || serverName.contains("/") || serverName.contains(" "))) {
      f.problem(f.at("server_name"), "expected a host name, got \"" + serverName + "\"");
    }
    TlsFiles.checkClient(f, ca, cert, key);
    return new BackendConfig.UpstreamTls(ca, serverName, verify, cert, key);
  }

  private static HealthCheckConfig healthCheck(Fields f) {
    String type = f.string("type", "http");
    String path = null;
    String service = null;
    if (type.equals("grpc")) {
      if (f.has("path")) {
        f.problem(f.at("path"), "is for type: http; a grpc check asks grpc.health.v1.Health/Check about its service");
      }
      service = f.string("service", "");
    } else {
      if (!type.equals("http")) {
        f.problem(f.at("type"), "unknown health check type \"" + type + "\"; known: http, grpc");
      }
      // "" is the documented default, so it may be written for any type
      if (!f.string("service", "").isEmpty()) {
        f.problem(f.at("service"), "is for type: grpc (the gRPC service whose health is asked)");
      }
      path = f.requiredString("path");
      if (path != null && !path.startsWith("/")) {
        f.problem(f.at("path"), "must start with \"/\", got \"" + path + "\"");
      }
    }
    long interval = f.number("interval_ms", HealthCheckConfig.DEFAULT_INTERVAL_MS, 50, 3_600_000);
    long timeout = f.number("timeout_ms", Math.min(HealthCheckConfig.DEFAULT_TIMEOUT_MS, interval), 1, 3_600_000);
    if (timeout > interval) {
      f.problem(f.at("timeout_ms"), "must not exceed interval_ms (" + interval + "), got " + timeout);
    }
    int healthy = (int) f.number("healthy_threshold", HealthCheckConfig.DEFAULT_HEALTHY_THRESHOLD, 1, 100);
    int unhealthy = (int) f.number("unhealthy_threshold", HealthCheckConfig.DEFAULT_UNHEALTHY_THRESHOLD, 1, 100);
    f.rejectUnknown();
    return new HealthCheckConfig(path, interval, timeout, healthy, unhealthy, service);
  }

  private static BackendConfig.Protocol protocol(Fields f) {
    String name = f.string("protocol", BackendConfig.Protocol.HTTP1.configName());
    for (BackendConfig.Protocol protocol : BackendConfig.Protocol.values()) {
      if (protocol.configName().equals(name)) {
        return protocol;
      }
    }
    f.problem(f.at("protocol"), "unknown protocol \"" + name + "\"; known: http1, http2");
    return BackendConfig.Protocol.HTTP1;
  }

  private static LoadBalancer loadBalancer(Fields f) {
    String name = f.string("load_balancer", LoadBalancer.RANDOM.configName());
    LoadBalancer lb = LoadBalancer.fromConfig(name);
    if (lb == null) {
      f.problem(f.at("load_balancer"), "unknown load balancer \"" + name + "\"; known: " + LoadBalancer.choices());
      return LoadBalancer.RANDOM;
    }
    return lb;
  }

  /**
   * A backend's {@code targets} or {@code dns_targets}: URLs; a {@code dns_targets} entry must name its host (its
   * addresses are the instances), where an address belongs in {@code targets}.
   */
  private static List<Target> targets(Fields f, String key) {
    List<Object> items = f.list(key);
    List<Target> result = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      String field = f.at(key) + "[" + i + "]";
      Object item = items.get(i);
      Target target = item instanceof String s ? parseTarget(s.trim()) : null;
      if (target == null) {
        f.problem(field, "expected http://" + (key.equals("targets") ? "host" : "name") + "[:port] or https://"
            + (key.equals("targets") ? "host" : "name") + "[:port] (80 and 443 by default), got " + Fields.describe(item));
      } else if (key.equals("dns_targets") && (io.netty.util.NetUtil.isValidIpV4Address(target.host())
          || io.netty.util.NetUtil.isValidIpV6Address(target.host()))) {
        f.problem(field, "names an address, not a host name: list " + target + " under targets");
      } else if (result.contains(target)) {
        f.problem(field, "duplicate target " + target);
      } else {
        result.add(target);
      }
    }
    return result;
  }

  /** {@code http://host:port} or {@code https://host:port} (optional trailing slash; the port defaults to 80 or 443), or null. */
  static Target parseTarget(String text) {
    boolean tls = text.startsWith("https://");
    if (!tls && !text.startsWith("http://")) {
      return null;
    }
    try {
      java.net.URI uri = new java.net.URI(text);
      String path = uri.getRawPath();
      int port = uri.getPort() == -1 ? (tls ? 443 : 80) : uri.getPort();
      if (uri.getHost() == null || port < 1 || port > 65535 || uri.getRawQuery() != null
          || uri.getRawUserInfo() != null || (path != null && !path.isEmpty() && !path.equals("/"))) {
        return null;
      }
      String host = uri.getHost().startsWith("[") ? uri.getHost().substring(1, uri.getHost().length() - 1) : uri.getHost();
      return new Target(host, port, tls);
    } catch (java.net.URISyntaxException e) {
      return null;
    }
  }

  private static LabelSelector labels(Fields f) {
    String field = f.at("match_labels");
    Object raw = f.raw("match_labels");
    Map<String, String> labels = new LinkedHashMap<>();
    if (raw == null) {
      f.problem(f.at("match_labels"), "is required unless targets, dns_targets or consul_service are given: a list of key=value labels a container must carry");
    } else if (raw instanceof JsonObject map) {
      if (map.isEmpty()) {
        f.problem(field, "must list at least one key=value label");
      }
      map.forEach(e -> {
        Object value = e.getValue();
        if (e.getKey().isBlank()) {
          f.problem(field, "a label name must not be empty");
        } else if (value instanceof String || value instanceof Number || value instanceof Boolean) {
          labels.put(e.getKey(), value.toString());
        } else {
          f.problem(field + "." + e.getKey(), "expected a string, got " + Fields.describe(value));
        }
      });
    } else {
      List<Object> items = f.list("match_labels");
      for (int i = 0; i < items.size(); i++) {
        Object item = items.get(i);
        String text = item instanceof String s ? s.trim() : null;
        int eq = text == null ? -1 : text.indexOf('=');
        if (eq <= 0) {
          f.problem(field + "[" + i + "]", "expected key=value, got " + Fields.describe(item));
          continue;
        }
        String key = text.substring(0, eq).trim();
        String value = text.substring(eq + 1).trim();
        String previous = labels.put(key, value);
        if (previous != null && !previous.equals(value)) {
          f.problem(field + "[" + i + "]", "label \"" + key + "\" required twice with different values");
        }
      }
      if (items.isEmpty() && raw instanceof io.vertx.core.json.JsonArray) {
        f.problem(field, "must list at least one key=value label");
      }
    }
    return new LabelSelector(labels);
  }

  private static CircuitBreakerConfig breaker(Fields f) {
    CircuitBreakerConfig d = CircuitBreakerConfig.DEFAULTS;
    int maxFailures = (int) f.number("max_failures", d.maxFailures(), 1, 1_000_000);
    long reset = f.number("reset_timeout_ms", d.resetTimeoutMs(), 1, 3_600_000);
    long grace = f.number("startup_grace_ms", d.startupGraceMs(), 0, 600_000);
    f.rejectUnknown();
    return new CircuitBreakerConfig(maxFailures, reset, grace);
  }

  private static List<RouteConfig> routes(Fields root, List<BackendConfig> backends, List<? extends RouteBlockParser> parsers) {
    Set<String> known = new TreeSet<>();
    backends.forEach(b -> {
      if (b.name() != null) {
        known.add(b.name());
      }
    });
    List<RouteConfig> result = new ArrayList<>();
    Map<String, String> prefixes = new HashMap<>();
    for (Fields f : root.objects("routes")) {
      String prefix = f.requiredString("path_prefix");
      String host = f.string("host", null);
      if (host != null) {
        host = host.trim().toLowerCase(java.util.Locale.ROOT);
        while (host.length() > 1 && host.endsWith(".")) {
          host = host.substring(0, host.length() - 1); // "a.example." is a.example: as routes match hosts
        }
        if (host.indexOf(':') >= 0 && host.indexOf('%') < 0 && Cidr.literal(host) != null) {
          host = "[" + host + "]"; // an IPv6 literal (::1), as a Host field writes it
        }
        if (host.isEmpty() || host.contains("/") || host.contains(" ")) {
          f.problem(f.at("host"), "expected a host name, got \"" + host + "\"");
        } else if (host.indexOf(':') >= 0 && !(host.startsWith("[") && host.endsWith("]"))) {
          // Requests match on their Host's name alone: a route naming a port would never match.
          f.problem(f.at("host"), "expected a host name without a port (a request on any port matches its name), got \""
              + host + "\"");
        }
      }
      List<String> methods = methods(f);
      if (prefix != null && !prefix.startsWith("/")) {
        f.problem(f.at("path_prefix"), "must start with \"/\", got \"" + prefix + "\"");
      } else if (prefix != null && !dev.dockgate.edge.PathNormalizer.canMatch(prefix)) {
        String normal = dev.dockgate.edge.PathNormalizer.normalize(escapeRaw(prefix));
        f.problem(f.at("path_prefix"), "\"" + prefix + "\" can never match: request paths are matched in normal form"
            + " (repeated slashes and dot-segments removed, escapes of letters, digits and -._~ decoded, others in"
            + " capitals, ; parameters on the last segment only, spaces, control bytes and non-ASCII as escapes)"
            + (normal != null ? "; write \"" + normal + "\"" : ""));
      } else if (prefix != null) {
        for (String method : methods.isEmpty() ? List.of("*") : methods) {
          String key = prefix + " " + host + " " + method;
          String other = prefixes.putIfAbsent(key, f.at("path_prefix"));
          if (other != null) {
            f.problem(f.at("path_prefix"), "duplicate prefix \"" + prefix + "\" (also " + other + ")");
            break;
          }
        }
      }
      String backend = f.requiredString("backend");
      if (backend != null && !known.contains(backend)) {
        f.problem(f.at("backend"), "unknown backend \"" + backend + "\"; known: "
            + (known.isEmpty() ? "(none defined)" : String.join(", ", known)));
      }
      long timeout = f.number("timeout_ms", RouteConfig.DEFAULT_TIMEOUT_MS, 1, 3_600_000);
      boolean strip = f.bool("strip_prefix", false);
      boolean passHost = f.bool("pass_host", true);
      // On every route: a redirect naming the instance's own address gets the client's origin (and the prefix back).
      boolean rewriteLocation = f.bool("rewrite_location", true);
      // Apart from rewrite_location (whose value it takes unless set): a backend's Path=/ may mean the whole site (a
      // session cookie shared with other routes), where its redirects still want the prefix back. Without
      // strip_prefix there is nothing to put into a Path: left off (RouteConfig), refused when set.
      boolean rewriteCookiePath = f.bool("rewrite_cookie_path", rewriteLocation);
      if (f.has("rewrite_cookie_path") && !strip) {
        f.problem(f.at("rewrite_cookie_path"), "applies only with strip_prefix: true (the prefix put back into the"
            + " Path of the backend's cookies)");
      } else if (f.has("rewrite_cookie_path") && rewriteCookiePath && prefix != null
          && !RouteConfig.cookiePathCanHold(prefix)) {
        // Left out, such a route keeps its cookies as sent (see RouteConfig).
        int semicolon = prefix.indexOf(';');
        f.problem(f.at("rewrite_cookie_path"), "the path_prefix \"" + prefix + "\" cannot be a cookie's Path ("
            + (semicolon >= 0
                ? "a browser ends the attribute at the ';' and reads Path=" + prefix.substring(0, semicolon)
                : "a browser drops a cookie with a control character")
            + "); leave rewrite_cookie_path out");
      }
      RetryConfig retries = retries(f.object("retries"), timeout);
      Map<String, Object> blocks = new LinkedHashMap<>();
      for (RouteBlockParser parser : parsers) {
        if (f.has(parser.key())) {
          blocks.put(parser.key(), parser.parse(f.object(parser.key()), new RouteBlockParser.Route(methods, blocks)));
        }
      }
      f.rejectUnknown();
      result.add(new RouteConfig(prefix, backend, timeout, strip, methods, host, retries, passHost, rewriteLocation,
          rewriteCookiePath, blocks));
    }
    return result;
  }

  private static RetryConfig retries(Fields f, long routeTimeoutMs) {
    RetryConfig d = RetryConfig.NONE;
    int attempts = (int) f.number("attempts", d.attempts(), 0, 10);
    long backoff = f.number("backoff_ms", d.backoffMs(), 0, 60_000);
    long maxBackoff = f.number("max_backoff_ms", Math.max(d.maxBackoffMs(), backoff), 0, 600_000);
    if (maxBackoff < backoff) {
      f.problem(f.at("max_backoff_ms"), "must be at least backoff_ms (" + backoff + "), got " + maxBackoff);
    }
    int budget = (int) f.number("budget_percent", d.budgetPercent(), 0, 1000);
    int minPerSecond = (int) f.number("min_per_second", d.minPerSecond(), 0, 1_000_000);
    java.util.Set<Integer> retryOn = new java.util.TreeSet<>();
    List<Object> statuses = f.list("retry_on");
    for (int i = 0; i < statuses.size(); i++) {
      Object item = statuses.get(i);
      if (item instanceof Number n && n.doubleValue() == n.intValue() && n.intValue() >= 400 && n.intValue() <= 599) {
        retryOn.add(n.intValue());
      } else {
        f.problem(f.at("retry_on") + "[" + i + "]", "expected an HTTP status from 400 to 599, got " + Fields.describe(item));
      }
    }
    long deadline = f.number("deadline_ms", 0, 0, 3_600_000);
    if (deadline > 0 && deadline < routeTimeoutMs) {
      f.problem(f.at("deadline_ms"), "must be at least the route's timeout_ms (" + routeTimeoutMs + "), which bounds each try, got " + deadline);
    }
    f.rejectUnknown();
    return new RetryConfig(attempts, backoff, maxBackoff, budget, minPerSecond, retryOn, deadline);
  }

  /** RFC 9110's methods and PATCH, which a route without {@code methods} takes (TRACE only where listed). */
  private static final Set<String> STANDARD_METHODS = Set.of(
      "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE");
  /**
   * The methods a route may list: the standard ones, those of IANA's HTTP Method Registry (WebDAV's, CalDAV's,
   * versioning's, QUERY) but CONNECT (no tunnels) and PRI (HTTP/2's preface), and PURGE, which caches take.
   */
  private static final Set<String> HTTP_METHODS = java.util.stream.Stream.concat(STANDARD_METHODS.stream(),
      java.util.stream.Stream.of("ACL", "BASELINE-CONTROL", "BIND", "CHECKIN", "CHECKOUT", "COPY", "LABEL", "LINK",
          "LOCK", "MERGE", "MKACTIVITY", "MKCALENDAR", "MKCOL", "MKREDIRECTREF", "MKWORKSPACE", "MOVE", "ORDERPATCH",
          "PROPFIND", "PROPPATCH", "PURGE", "QUERY", "REBIND", "REPORT", "SEARCH", "UNBIND", "UNCHECKOUT", "UNLINK",
          "UNLOCK", "UPDATE", "UPDATEREDIRECTREF", "VERSION-CONTROL")).collect(java.util.stream.Collectors.toUnmodifiableSet());

  /**
   * {@code prefix} with its spaces, control characters and characters outside ASCII as the UTF-8 escapes a client
   * sends for them ({@code /café}: {@code /caf%C3%A9}); the others as written.
   */
  static String escapeRaw(String prefix) {
    StringBuilder out = new StringBuilder(prefix.length() + 8);
    prefix.codePoints().forEach(c -> {
      if (c > ' ' && c < 0x7f) {
        out.append((char) c);
      } else {
        for (byte b : new String(Character.toChars(c)).getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
          out.append('%').append(Character.toUpperCase(Character.forDigit((b >> 4) & 0xf, 16)))
              .append(Character.toUpperCase(Character.forDigit(b & 0xf, 16)));
        }
      }
    });
    return out.toString();
  }

  private static List<String> methods(Fields f) {
    return methods(f, "methods");
  }

  /** HTTP methods listed under {@code key}, upper-cased, each known, without repeats. */
  public static List<String> methods(Fields f, String key) {
    List<Object> items = f.list(key);
    List<String> result = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      Object item = items.get(i);
      String method = item instanceof String s ? s.trim().toUpperCase(java.util.Locale.ROOT) : null;
      if ("CONNECT".equals(method)) {
        f.problem(f.at(key) + "[" + i + "]", "CONNECT is not proxied: the gateway opens no tunnels (a CONNECT request"
            + " gets 405 on every route)");
      } else if (method == null || !HTTP_METHODS.contains(method)) {
        f.problem(f.at(key) + "[" + i + "]", "unknown HTTP method " + Fields.describe(item)
            + "; known: " + String.join(", ", new TreeSet<>(STANDARD_METHODS)) + ", PURGE, and the other methods of"
            + " IANA's HTTP Method Registry (PROPFIND, MKCOL, REPORT, QUERY...)");
      } else if (!result.contains(method)) {
        result.add(method);
      }
    }
    return result;
  }

  private static TapConfig tap(Fields bridge, Fields alerts) {
    TapConfig d = TapConfig.OFF;
    boolean enabled = bridge.bool("enabled", d.bridgeEnabled());
    String host = listenHost(bridge, d.bridgeHost());
    int port = (int) bridge.number("port", d.bridgePort(), 0, 65535);
    List<String> addresses = new ArrayList<>();
    if (bridge.has("addresses")) {
      List<Object> items = bridge.list("addresses");
      for (int i = 0; i < items.size(); i++) {
        String at = bridge.at("addresses") + "[" + i + "]";
        String address = items.get(i) instanceof String a && !a.isBlank() ? a.trim() : null;
        String refusal = address == null ? null : TapAddresses.refusal(address);
        if (address == null) {
          bridge.problem(at, "expected an event-bus address, got " + Fields.describe(items.get(i)));
        } else if (refusal != null) {
          bridge.problem(at, refusal); // only published events: a client on another address may take its messages
        } else {
          addresses.add(address);
        }
      }
    } else {
      addresses.addAll(d.addresses());
    }
    int maxClients = (int) bridge.number("max_clients", d.maxClients(), 0, 100_000);
    long idleTimeoutMs = bridge.number("idle_timeout_ms", d.idleTimeoutMs(), 0, 86_400_000);
    bridge.rejectUnknown();
    long slow = alerts.number("slow_request_ms", d.slowRequestMs(), 0, 3_600_000);
    alerts.rejectUnknown();
    return new TapConfig(enabled, host, port, addresses, maxClients, idleTimeoutMs, slow);
  }

  private static TracingConfig tracing(Fields f) {
    TracingConfig d = TracingConfig.OFF;
    boolean enabled = f.bool("enabled", d.enabled());
    String endpoint = f.string("endpoint", d.endpoint());
    if (endpoint != null && !httpUrl(endpoint)) {
      f.problem(f.at("endpoint"), "expected an http:// or https:// URL such as " + TracingConfig.DEFAULT_ENDPOINT
          + ", got \"" + endpoint + "\"");
    }
    String service = f.string("service_name", d.serviceName());
    if (service != null && service.isBlank()) {
      f.problem(f.at("service_name"), "must not be empty");
    }
    double ratio = d.sampleRatio();
    Object raw = f.raw("sample_ratio");
    if (raw instanceof Number n && n.doubleValue() >= 0 && n.doubleValue() <= 1) {
      ratio = n.doubleValue();
    } else if (raw != null) {
      f.problem(f.at("sample_ratio"), "expected a number from 0 to 1 (the share of new traces kept), got "
          + Fields.describe(raw));
    }
    f.rejectUnknown();
    return new TracingConfig(enabled, endpoint, service, ratio);
  }

  /** Whether {@code text} is an absolute http:// or https:// URL with a host. */
  public static boolean httpUrl(String text) {
    try {
      java.net.URI uri = new java.net.URI(text);
      return ("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) && uri.getHost() != null;
    } catch (java.net.URISyntaxException e) {
      return false;
    }
  }

  private static AccessLogConfig accessLog(Fields f) {
    AccessLogConfig d = AccessLogConfig.OFF;
    boolean enabled = f.bool("enabled", d.enabled());
    String format = f.string("format", "json");
    AccessLogConfig.Format parsed = switch (format == null ? "" : format) {
      case "json" -> AccessLogConfig.Format.JSON;
      case "combined" -> AccessLogConfig.Format.COMBINED;
      default -> {
        f.problem(f.at("format"), "unknown format \"" + format + "\"; known: json, combined");
        yield AccessLogConfig.Format.JSON;
      }
    };
    String path = f.string("path", d.path());
    f.rejectUnknown();
    String unusable = enabled && path != null && !"stdout".equals(path) ? AccessLogFile.problemUnlessOpen(path) : null;
    if (unusable != null) {
      f.problem(f.at("path"), unusable);
    }
    return new AccessLogConfig(enabled, parsed, path);
  }

  private static DefaultResponse defaultResponse(Fields f) {
    DefaultResponse d = DefaultResponse.NOT_FOUND;
    // A final status: a 1xx is an interim answer, after which a client waits for another (100) or takes the connection
    // as switched to another protocol (101).
    int status = (int) f.number("status_code", d.statusCode(), 200, 599);
    String body = f.string("body", d.body());
    f.rejectUnknown();
    return new DefaultResponse(status, body);
  }
}
