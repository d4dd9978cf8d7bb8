package dev.dockgate.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.dockgate.Features;
import dev.dockgate.limits.RateLimitConfig;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The layers under a config file: ${NAME} references filled from the environment, DOCKGATE_...
 * variables over the file, dockgate.... system properties over both. Real files read with
 * {@link ConfigLoader#check}, with the environment given by each case.
 */
@ExtendWith(VertxExtension.class)
class ConfigSourcesTest {

  @TempDir
  Path dir;

  private static Vertx vertx;

  @BeforeAll
  static void shareVertx(Vertx shared) {
    vertx = shared;
  }

  static final String ROUTE = """
      routes: [{path_prefix: /api, backend: api}]
      backends: [{name: api, targets: ["http://127.0.0.1:9000"]}]
      """;

  private Path file(String yaml) throws Exception {
    Path file = dir.resolve("conf.yml");
    Files.writeString(file, yaml);
    return file;
  }

  private ConfigLoader.Loaded load(String yaml, Map<String, String> variables, Map<String, String> properties)
      throws Exception {
    return ConfigLoader.check(vertx, file(yaml).toString(), Features.ALL, new ConfigEnvironment(variables, properties))
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** The problem lines, with the temp dir's path shortened to "conf.yml". */
  private List<String> problems(String yaml, Map<String, String> variables, Map<String, String> properties)
      throws Exception {
    String path = file(yaml).toString();
    try {
      ConfigLoader.check(vertx, path, Features.ALL, new ConfigEnvironment(variables, properties))
          .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      throw new AssertionError("expected problems");
    } catch (ExecutionException e) {
      ConfigException problems = assertInstanceOf(ConfigException.class, e.getCause());
      return problems.problems().stream().map(p -> p.replace(path, "conf.yml")).toList();
    }
  }

  // ---------------------------------------------------------------- ${NAME} references

  @Test
  void referencesAreFilledAndTypedAsTheFieldExpects() throws Exception {
    ConfigLoader.Loaded loaded = load("""
        server:
          port: ${PORT}
          host: ${HOST:-127.0.0.1}
          trusted_proxies: "${PROXIES}"
          drain_delay_ms: ${DELAY:-0}
        docker: {enabled: "${DOCKER_ON}"}
        default_response: {status_code: "${STATUS:-418}", body: "price: $${AMOUNT} ${CURRENCY:-EUR}"}
        routes: [{path_prefix: /api, backend: api}]
        backends: [{name: api, targets: ["http://${API_HOST}:${API_PORT}"]}]
        """, Map.of("PORT", "9000", "PROXIES", "10.0.0.0/8, ::1", "DOCKER_ON", "false", "API_HOST", "orders.internal",
        "API_PORT", "8081", "DELAY", ""), Map.of());
    GatewayConfig config = loaded.config();
    assertEquals(9000, config.server().port());
    assertEquals("127.0.0.1", config.server().host());
    assertEquals(List.of(Cidr.parse("10.0.0.0/8"), Cidr.parse("::1")), config.server().trustedProxies());
    assertEquals(0, config.server().drainDelayMs());
    assertEquals(false, config.docker().enabled());
    assertEquals(new DefaultResponse(418, "price: ${AMOUNT} EUR"), config.defaultResponse());
    assertEquals(List.of(new Target("orders.internal", 8081)), config.backends().get(0).targets());
    assertEquals(Map.of(
        "server.port", "${PORT} from environment variable PORT",
        "server.host", "${HOST:-127.0.0.1} with its default (HOST not set)",
        "server.trusted_proxies", "${PROXIES} from environment variable PROXIES",
        "server.drain_delay_ms", "${DELAY:-0} with its default (DELAY empty)",
        "docker.enabled", "${DOCKER_ON} from environment variable DOCKER_ON",
        "default_response.status_code", "${STATUS:-418} with its default (STATUS not set)",
        "default_response.body", "${CURRENCY:-EUR} with its default (CURRENCY not set)",
        "backends[0].targets[0]", "${API_HOST} from environment variable API_HOST, ${API_PORT} from environment variable API_PORT"),
        loaded.origins());
  }

  @Test
  void aFileWithoutReferencesOrOverridesHasNoOrigins() throws Exception {
    ConfigLoader.Loaded loaded = load("server: {port: 8081, drain_delay_ms: 250}\n" + ROUTE, Map.of("PORT", "1"), Map.of());
    assertEquals(8081, loaded.config().server().port());
    assertEquals(250, loaded.config().server().drainDelayMs());
    assertEquals(Map.of(), loaded.origins());
  }

  // ---------------------------------------------------------------- overrides

  @Test
  void aSystemPropertyBeatsAnEnvironmentVariableWhichBeatsTheFile() throws Exception {
    String yaml = "server: {port: 8081, host: 127.0.0.1}\n" + ROUTE;
    Map<String, String> env = Map.of("DOCKGATE_SERVER_PORT", "9001", "DOCKGATE_SERVER_HOST", "0.0.0.0");
    ConfigLoader.Loaded byEnv = load(yaml, env, Map.of());
    assertEquals(9001, byEnv.config().server().port());
    assertEquals("0.0.0.0", byEnv.config().server().host());
    ConfigLoader.Loaded byProperty = load(yaml, env, Map.of("dockgate.server.port", "9002"));
    assertEquals(9002, byProperty.config().server().port());
    assertEquals(Map.of(
        "server.host", "environment variable DOCKGATE_SERVER_HOST",
        "server.port", "system property dockgate.server.port (over environment variable DOCKGATE_SERVER_PORT)"),
        byProperty.origins());
  }

  @Test
  void overridesReachNestedKeysListEntriesAndAbsentBlocks() throws Exception {
    String accessLog = dir.resolve("access.log").toString(); // its directory must exist: checked at load
    GatewayConfig config = load("""
        server: {port: 8081}
        routes:
          - {path_prefix: /api, backend: api, timeout_ms: 5000}
        backends: [{name: api, targets: ["http://127.0.0.1:9000"]}]
        """, Map.of(
            "DOCKGATE_ROUTES_0_TIMEOUT_MS", "1500",
            "DOCKGATE_ACCESS_LOG_ENABLED", "true",
            "DOCKGATE_ACCESS_LOG_PATH", accessLog,
            "DOCKGATE_SERVER_ADMIN_LISTENER", "false",
            "DOCKGATE_ROUTES_0_RATE_LIMIT_REQUESTS_PER_SECOND", "2.5",
            "DOCKGATE_BACKENDS_0_TARGETS", "http://127.0.0.1:9001, http://127.0.0.1:9002",
            "DOCKGATE_HEALTH_URL", "http://127.0.0.1:8080/health/live"), // another tool's variable: ignored
        Map.of("dockgate.routes[0].strip_prefix", "true")).config();
    RouteConfig route = config.routes().get(0);
    assertEquals(1500, route.timeoutMs());
    assertEquals(true, route.stripPrefix());
    assertEquals(2.5, route.block("rate_limit", RateLimitConfig.class).requestsPerSecond());
    assertEquals(new AccessLogConfig(true, AccessLogConfig.Format.JSON, accessLog), config.accessLog());
    assertNull(config.server().adminListener());
    assertEquals(List.of(new Target("127.0.0.1", 9001), new Target("127.0.0.1", 9002)), config.backends().get(0).targets());
  }

  @Test
  void anOverrideInsideAnAdminListenerTheFileTurnedOffTurnsItOn() throws Exception {
    // One file for several nodes, the admin listener off in it: a node's DOCKGATE_SERVER_ADMIN_LISTENER_PORT
    // sets a key in that block, which then counts as present, as an absent block does.
    ConfigLoader.Loaded loaded = load("server: {port: 8081, admin_listener: false}\n" + ROUTE,
        Map.of("DOCKGATE_SERVER_ADMIN_LISTENER_PORT", "9902"), Map.of());
    assertEquals(new ServerConfig.AdminListener("127.0.0.1", 9902, null, false), loaded.config().server().adminListener());
    assertEquals(Map.of("server.admin_listener.port", "environment variable DOCKGATE_SERVER_ADMIN_LISTENER_PORT"),
        loaded.origins());
    assertNull(load("server: {port: 8081, admin_listener: false}\n" + ROUTE, Map.of(), Map.of())
        .config().server().adminListener(), "without an override it stays off");
  }

  @Test
  void anOverrideStandsInForAMissingVariable() throws Exception {
    ConfigLoader.Loaded loaded = load("server: {port: \"${PORT}\"}\n" + ROUTE, Map.of("DOCKGATE_SERVER_PORT", "9003"),
        Map.of());
    assertEquals(9003, loaded.config().server().port());
    assertEquals(Map.of("server.port", "environment variable DOCKGATE_SERVER_PORT"), loaded.origins());
  }

  // ---------------------------------------------------------------- problems

  record Case(String name, String yaml, Map<String, String> variables, Map<String, String> properties,
      List<String> problems) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Case bad(String name, String yaml, Map<String, String> variables, Map<String, String> properties,
      String... problems) {
    return new Case(name, yaml + ROUTE, variables, properties, List.of(problems));
  }

  static Stream<Case> rejected() {
    return Stream.of(
        bad("a missing variable names the field", "server: {port: \"${PORT}\"}\n", Map.of(), Map.of(),
            "conf.yml: server.port: environment variable PORT is not set"),
        bad("an empty variable without a default", "server: {host: \"${HOST}\"}\n", Map.of("HOST", ""), Map.of(),
            "conf.yml: server.host: environment variable HOST is empty"),
        bad("a missing variable inside a value", "access_log: {path: \"/logs/${LOG_DIR}/a.log\"}\n", Map.of(), Map.of(),
            "conf.yml: access_log.path: environment variable LOG_DIR is not set"),
        bad("a reference that is not one", "server: {host: \"${1HOST}\"}\n", Map.of(), Map.of(),
            "conf.yml: server.host: expected ${NAME} or ${NAME:-default} in \"${1HOST}\" (NAME: letters, digits, _; $${ for a literal ${)"),
        bad("an unterminated reference", "default_response: {body: \"${BODY\"}\n", Map.of(), Map.of(),
            "conf.yml: default_response.body: expected ${NAME} or ${NAME:-default} in \"${BODY\" (NAME: letters, digits, _; $${ for a literal ${)"),
        bad("a reference inside a default (it would end the default at its own })",
            "default_response: {body: \"${BODY:-${FALLBACK}}\"}\n", Map.of("FALLBACK", "x"), Map.of(),
            "conf.yml: default_response.body: a default cannot hold ${ in any form, in \"${BODY:-${FALLBACK}}\" "
                + "(a default ends at the first })"),
        bad("an escaped reference inside a default is refused with the same words",
            "default_response: {body: \"${BODY:-$${x}}\"}\n", Map.of(), Map.of(),
            "conf.yml: default_response.body: a default cannot hold ${ in any form, in \"${BODY:-$${x}}\" "
                + "(a default ends at the first })"),
        bad("the admin listener turned off by an override while others set keys in it",
            "", Map.of("DOCKGATE_SERVER_ADMIN_LISTENER", "false", "DOCKGATE_SERVER_ADMIN_LISTENER_HOST", "0.0.0.0"),
            Map.of(),
            "conf.yml: server.admin_listener: turned off while environment variable DOCKGATE_SERVER_ADMIN_LISTENER_HOST "
                + "sets a key in it; keep one or the other [environment variable DOCKGATE_SERVER_ADMIN_LISTENER]"),
        bad("a filled value of the wrong type says where it came from", "server: {port: \"${PORT}\"}\n",
            Map.of("PORT", "eighty"), Map.of(),
            "conf.yml: server.port: expected a whole number, got \"eighty\" [${PORT} from environment variable PORT]"),
        bad("an override out of range", "", Map.of("DOCKGATE_SERVER_PORT", "70000"), Map.of(),
            "conf.yml: server.port: must be between 0 and 65535, got 70000 [environment variable DOCKGATE_SERVER_PORT]"),
        bad("an override that is not a boolean", "", Map.of("DOCKGATE_DOCKER_ENABLED", "yes"), Map.of(),
            "conf.yml: docker.enabled: expected true or false, got \"yes\" [environment variable DOCKGATE_DOCKER_ENABLED]"),
        bad("a misspelt override variable", "", Map.of("DOCKGATE_DOCKER_ENABLE", "true"), Map.of(),
            "conf.yml: DOCKGATE_DOCKER_ENABLE (environment variable): matches no setting; settings in docker: enabled, engines, host, network, resync_interval_ms"),
        bad("a misspelt override property", "", Map.of(), Map.of("dockgate.docker.hots", "tcp://127.0.0.1:2375"),
            "conf.yml: dockgate.docker.hots (system property): matches no setting; settings in docker: enabled, engines, host, network, resync_interval_ms"),
        bad("an override of a list entry the file does not have", "", Map.of("DOCKGATE_ROUTES_3_TIMEOUT_MS", "100"), Map.of(),
            "conf.yml: DOCKGATE_ROUTES_3_TIMEOUT_MS (environment variable): matches no setting; names are DOCKGATE_ and the "
                + "setting's path in capitals, with _ for . and [ ] (server.port: DOCKGATE_SERVER_PORT)"));
  }

  @ParameterizedTest
  @MethodSource("rejected")
  void rejectedWithExactProblems(Case c) throws Exception {
    assertEquals(c.problems(), problems(c.yaml(), c.variables(), c.properties()));
  }

  @ParameterizedTest
  @MethodSource("overridePaths")
  void anOverridesVariableNameIsTheDefinitionsForEveryPath(String path, String expected) {
    assertEquals(expected, ValueSources.variableName(path));
    assertEquals(ValueSources.slowVariableName(path), ValueSources.variableName(path));
  }

  static Stream<org.junit.jupiter.params.provider.Arguments> overridePaths() {
    return Stream.of(
        org.junit.jupiter.params.provider.Arguments.of("server.port", "DOCKGATE_SERVER_PORT"),
        org.junit.jupiter.params.provider.Arguments.of("routes[0].timeout_ms", "DOCKGATE_ROUTES_0_TIMEOUT_MS"),
        org.junit.jupiter.params.provider.Arguments.of("routes[12]", "DOCKGATE_ROUTES_12"),
        org.junit.jupiter.params.provider.Arguments.of("[0]..a--b", "DOCKGATE__0_A_B"),
        org.junit.jupiter.params.provider.Arguments.of("backends[1].match_labels.com.example/app",
            "DOCKGATE_BACKENDS_1_MATCH_LABELS_COM_EXAMPLE_APP"),
        org.junit.jupiter.params.provider.Arguments.of("a.Straße", "DOCKGATE_A_STRASSE"),
        org.junit.jupiter.params.provider.Arguments.of("a.é", "DOCKGATE_A"),
        org.junit.jupiter.params.provider.Arguments.of("", "DOCKGATE_"));
  }
}
