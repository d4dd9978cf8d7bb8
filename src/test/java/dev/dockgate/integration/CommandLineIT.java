package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.GatewayJar;
import dev.dockgate.testing.Ports;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The jar's own commands, run as users run them: {@code --help}, {@code --version}, and {@code --validate} /
 * {@code -t}, which loads the config as a start would (file, ${...} references, overrides), prints
 * "ok" with where the overridden values came from or every problem, and exits 0 or 1 without listening.
 */
class CommandLineIT {

  @TempDir
  Path dir;

  GatewayJar.Exit run(Map<String, String> env, List<String> jvmOptions, String... args) {
    return GatewayJar.run(dir, env, jvmOptions, args);
  }

  @Test
  @Timeout(90)
  void versionNamesTheGatewayVertxNettyAndJava() throws Exception {
    GatewayJar.Exit run = run(Map.of(), List.of(), "--version");
    assertEquals(0, run.status(), run.toString());
    List<String> lines = run.out().lines().toList();
    assertEquals(3, lines.size(), run.toString());
    assertEquals("dockgate " + System.getProperty("gateway.version"), lines.get(0), run.toString());
    assertTrue(lines.get(1).matches("Vert\\.x " + java.util.regex.Pattern.quote(vertxVersion()) + " \\(Netty 4\\.\\d+\\.\\d+\\.Final\\)"),
        run.toString());
    assertTrue(lines.get(2).startsWith("Java " + System.getProperty("java.version") + " ("), run.toString());
  }

  /**
   * --help describes the gateway's own command line (a YAML or JSON -conf, -t, --version), not the stock
   * Vert.x launcher's, which asks for a main verticle and a JSON config and knows neither -t nor --version.
   */
  @Test
  @Timeout(90)
  void helpDescribesTheGatewaysCommandLine() throws Exception {
    for (String flag : List.of("--help", "-h")) {
      GatewayJar.Exit run = run(Map.of(), List.of(), flag);
      assertEquals(0, run.status(), run.toString());
      assertTrue(run.out().startsWith("Usage: java -jar gateway-fat.jar [-conf FILE]"), run.toString());
      for (String option : List.of("-conf FILE", "-t, --validate", "--version", "-instances N", "-cluster", "-h, --help")) {
        assertTrue(run.out().contains("\n  " + option), option + " is not described:\n" + run);
      }
      assertFalse(run.out().contains("mainVerticle"), run.toString());
      assertEquals("", run.err(), run.toString());
    }
  }

  /** The Vert.x the tests run on, which is the one the jar ships. */
  static String vertxVersion() throws Exception {
    try (InputStream in = CommandLineIT.class.getClassLoader().getResourceAsStream("META-INF/vertx/vertx-version.txt")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
    }
  }

  @Test
  @Timeout(90)
  void validateSaysOkWithTheOriginOfEachOverriddenValueAndDoesNotListen() throws Exception {
    int admin = Ports.free();
    Path conf = dir.resolve("gateway.yml");
    Files.writeString(conf, """
        server:
          host: 127.0.0.1
          port: ${GW_PORT}
          admin_listener: {port: %d}
        docker: {enabled: false}
        routes: [{path_prefix: /api, backend: api}]
        backends: [{name: api, targets: ["http://${GW_API_HOST:-127.0.0.1}:9000"]}]
        """.formatted(admin));
    // The port is taken: a start would fail to bind it; a check never tries.
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      GatewayJar.Exit run = run(Map.of("GW_PORT", Integer.toString(taken.getLocalPort()), "DOCKGATE_ROUTES_0_TIMEOUT_MS", "1500",
              "DOCKGATE_HEALTH_URL", "http://127.0.0.1:1/health/live"),
          List.of("-Ddockgate.server.drain_delay_ms=0"), "--validate", "-conf", conf.toString());
      assertEquals(0, run.status(), run.toString());
      List<String> lines = run.out().lines().toList();
      assertEquals(conf + ": ok (1 route(s), 1 backend(s))", lines.get(0), run.toString());
      assertEquals("values not written in the file (every other one is, or is its default):", lines.get(1), run.toString());
      assertEquals(Set.of(
          "  server.port: ${GW_PORT} from environment variable GW_PORT",
          "  backends[0].targets[0]: ${GW_API_HOST:-127.0.0.1} with its default (GW_API_HOST not set)",
          "  server.drain_delay_ms: system property dockgate.server.drain_delay_ms",
          "  routes[0].timeout_ms: environment variable DOCKGATE_ROUTES_0_TIMEOUT_MS"),
          Set.copyOf(lines.subList(2, lines.size())), run.toString());
      assertEquals(6, lines.size(), run.toString());
      assertFalse(run.err().contains("listening"), run.toString());
      assertFalse(run.err().contains("Exception"), run.toString());
    }
  }

  @Test
  @Timeout(90)
  void validateNamesEveryProblemAndExitsOne() throws Exception {
    Path conf = dir.resolve("bad.yml");
    Files.writeString(conf, """
        server: {host: 127.0.0.1, port: "${GW_PORT}", admin_listener: false}
        routes: [{path_prefix: /api, backend: pay}]
        backends: [{name: payment, targets: ["http://127.0.0.1:9000"]}]
        """);
    GatewayJar.Exit run = run(Map.of("DOCKGATE_SERVER_PROT", "9000"), List.of(), "-t", "-conf", conf.toString());
    assertEquals(1, run.status(), run.toString());
    assertEquals("", run.out(), run.toString());
    assertEquals(List.of(
        conf + ": server.port: environment variable GW_PORT is not set",
        conf + ": DOCKGATE_SERVER_PROT (environment variable): matches no setting; settings in server: admin_listener, "
            + "body_timeout_ms, dashboard_path, drain_delay_ms, h2c, header_timeout_ms, health_path, host, http2, "
            + "idle_timeout_ms, instances, max_body_bytes, max_connections, max_header_bytes, max_header_count, "
            + "max_request_line_bytes, metrics_path, port, routes_path, stats_path, tls, trusted_proxies",
        conf + ": routes[0].backend: unknown backend \"pay\"; known: payment",
        conf + ": invalid (3 problems)"), run.err().lines().toList(), run.toString());
  }

  @Test
  @Timeout(90)
  void aPortWithNoValueIsAnErrorNotTheDefaultPort() throws Exception {
    Path conf = dir.resolve("empty-port.yml");
    Files.writeString(conf, "server:\n  host: 127.0.0.1\n  port:\n  admin_listener: false\n");
    GatewayJar.Exit run = run(Map.of(), List.of(), "-t", "-conf", conf.toString());
    assertEquals(1, run.status(), run.toString());
    assertEquals(List.of(
        conf + ": server.port: has no value; write a number, or leave the key out for the default",
        conf + ": invalid (1 problem)"), run.err().lines().toList(), run.toString());
  }

  @Test
  @Timeout(90)
  void validateChecksTheProcessSettingsAsAStartWould() throws Exception {
    Path conf = dir.resolve("fine.yml");
    Files.writeString(conf, "server: {host: 127.0.0.1, admin_listener: false}\n");
    GatewayJar.Exit transport = run(Map.of(), List.of("-Dgateway.transport=dpdk"), "-t", "-conf", conf.toString());
    assertEquals(2, transport.status(), transport.toString());
    assertTrue(transport.err().contains("-Dgateway.transport: unknown transport \"dpdk\""), transport.toString());
    GatewayJar.Exit drain = run(Map.of("GATEWAY_DRAIN_TIMEOUT_MS", "soon"), List.of(), "-t", "-conf", conf.toString());
    assertEquals(2, drain.status(), drain.toString());
    assertTrue(drain.err().contains("GATEWAY_DRAIN_TIMEOUT_MS: expected a whole number of milliseconds"), drain.toString());
  }

  @Test
  @Timeout(90)
  void aConfOptionWithoutAFileIsAnErrorNotTheDefaultFile() throws Exception {
    GatewayJar.Exit run = run(Map.of(), List.of(), "-t", "-conf");
    assertEquals(2, run.status(), run.toString());
    assertTrue(run.err().contains("-conf: expected the config file's path, got nothing"), run.toString());
    assertFalse(run.out().contains("ok"), "the default file was not checked instead: " + run);
    GatewayJar.Exit empty = run(Map.of(), List.of(), "-conf", "", "-t");
    assertEquals(2, empty.status(), empty.toString());
    assertTrue(empty.err().contains("-conf: expected the config file's path, got \"\""), empty.toString());
  }

  /** --conf=FILE, the form the launcher's usage showed, is that file (it was ignored for conf/gateway.yml). */
  @Test
  @Timeout(90)
  void aConfOptionWithAnEqualsSignNamesTheFile() throws Exception {
    Path conf = dir.resolve("typo.yml");
    Files.writeString(conf, "server:\n  prot: 8080\n");
    for (String form : List.of("--conf=", "-conf=")) {
      GatewayJar.Exit run = run(Map.of(), List.of(), "-t", form + conf);
      assertEquals(1, run.status(), run.toString());
      assertTrue(run.err().startsWith(conf + ": server.prot: unknown key, did you mean \"port\"?"), run.toString());
    }
    GatewayJar.Exit instances = run(Map.of(), List.of(), "-t", "--instances=0", "-conf", conf.toString());
    assertEquals(2, instances.status(), instances.toString());
    assertTrue(instances.err().contains("-instances: expected a whole number of at least 1, got \"0\""), instances.toString());
  }

  /**
   * A config path without -conf (java -jar gateway-fat.jar gateway.yml) or a misspelt option is named with a pointer
   * to --help: the launcher took the path for a verticle class (ClassNotFoundException, exit 15) and printed its own
   * usage for an unknown option.
   */
  @Test
  @Timeout(90)
  void aStrayArgumentOrAnUnknownOptionIsNamed() throws Exception {
    Map<String, String> loopback = Map.of("DOCKGATE_SERVER_HOST", "127.0.0.1", "DOCKGATE_SERVER_PORT", "0",
        "DOCKGATE_SERVER_ADMIN_LISTENER", "false");
    GatewayJar.Exit stray = run(loopback, List.of(), "gateway.yml");
    assertEquals(2, stray.status(), stray.toString());
    assertTrue(stray.err().contains("unexpected argument \"gateway.yml\": give the config file with -conf FILE"
        + " (java -jar gateway-fat.jar --help lists the options)"), stray.toString());
    GatewayJar.Exit unknown = run(loopback, List.of(), "--valdate", "-conf", "conf/gateway.yml");
    assertEquals(2, unknown.status(), unknown.toString());
    assertTrue(unknown.err().contains("unknown option \"--valdate\" (java -jar gateway-fat.jar --help lists the options)"),
        unknown.toString());
    for (GatewayJar.Exit run : List.of(stray, unknown)) {
      assertFalse(run.err().contains("Exception") || run.err().contains("Usage: VertxApplication"), run.toString());
    }
  }

  @Test
  @Timeout(90)
  void anEndlessDeviceAsConfigStopsTheStartInOneLine() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isReadable(Path.of("/dev/zero")), "a Unix system");
    // A small heap: the device is refused unread, where it was read until memory ran out.
    GatewayJar.Exit run = run(Map.of(), List.of("-Xmx128m"), "-conf", "/dev/zero");
    assertEquals(1, run.status(), run.toString());
    assertTrue(run.err().contains("invalid configuration, not starting:\n/dev/zero: cannot read config file: not a "
        + "regular file (a pipe or a device); the config is read again at each change, so it must be a file"),
        run.toString());
    assertFalse(run.err().contains("\tat "), "no stack trace: " + run);
  }

  /**
   * A file of nothing but blanks and comments (a wrong mount, a truncated file) stops the start and fails the check,
   * naming the file and what to write for no routes: it started with every default (port 8080 of every address,
   * Docker discovery), while a reload refused the same file.
   */
  @Test
  @Timeout(150)
  void anEmptyConfigFileIsRefusedAtStartAndByTheCheck() throws Exception {
    Path conf = dir.resolve("empty.yml");
    Files.writeString(conf, "# routes to come\n\n   \n");
    String refused = conf + ": the file is empty (nothing but blanks and comments); for a gateway with no routes,"
        + " answering every request with the default response, write \"routes: []\"";
    GatewayJar.Exit check = run(Map.of(), List.of(), "-t", "-conf", conf.toString());
    assertEquals(1, check.status(), check.toString());
    assertEquals("", check.out(), check.toString());
    assertEquals(List.of(refused, conf + ": invalid (1 problem)"), check.err().lines().toList(), check.toString());
    // Loopback, no admin listener, no Docker: a start that wrongly went ahead listens nowhere else (and times out).
    Map<String, String> loopback = Map.of("DOCKGATE_SERVER_HOST", "127.0.0.1", "DOCKGATE_SERVER_PORT", "0",
        "DOCKGATE_SERVER_ADMIN_LISTENER", "false", "DOCKGATE_DOCKER_ENABLED", "false");
    GatewayJar.Exit start = run(loopback, List.of(), "-conf", conf.toString());
    assertEquals(1, start.status(), start.toString());
    assertTrue(start.err().contains("invalid configuration, not starting:\n" + refused), start.toString());
    assertFalse(start.err().contains("\tat "), "no stack trace: " + start);
    Files.writeString(conf, "routes: []\n");
    GatewayJar.Exit fixed = run(loopback, List.of(), "-t", "-conf", conf.toString());
    assertEquals(0, fixed.status(), fixed.toString());
  }

  @Test
  @Timeout(90)
  void validatingAMissingFileFails() throws Exception {
    Path missing = dir.resolve("nope.yml");
    GatewayJar.Exit run = run(Map.of(), List.of(), "-conf", missing.toString(), "--validate");
    assertEquals(1, run.status(), run.toString());
    assertEquals(List.of(missing + ": cannot read config file: no such file", missing + ": invalid (1 problem)"),
        run.err().lines().toList(), run.toString());
  }
}
