package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.GatewayJar;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real jar serving with values from three layers: ${...} references in the file, DOCKGATE_...
 * environment variables over the file, dockgate.... system properties over both. Checked by where
 * the gateway actually listens and what it answers.
 */
class ConfigSourcesIT {

  static final String JAR = System.getProperty("gateway.jar", "target/gateway-fat.jar");
  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(2)).build();

  @TempDir
  Path dir;

  /** Status and body of GET path on the port, or null when nothing answers. */
  static String answer(int port, String path) {
    try {
      HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
          .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
      return response.statusCode() + " " + response.body();
    } catch (Exception e) {
      return null;
    }
  }

  Process start(Path conf, Path log, Map<String, String> env, String... jvmOptions) throws Exception {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    command.addAll(List.of(jvmOptions));
    command.addAll(List.of("-jar", JAR, "-conf", conf.toString()));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().keySet().removeIf(name -> name.startsWith("DOCKGATE_") || name.startsWith("GW_"));
    builder.environment().putAll(env);
    Process p = builder.start();
    Poll.until(Duration.ofSeconds(30), "gateway ready", () -> {
      if (!p.isAlive()) {
        throw new AssertionError("gateway exited " + p.exitValue() + ":\n" + read(log));
      }
      return read(log).contains("ready; SIGTERM drains");
    });
    return p;
  }

  static String read(Path log) {
    try {
      return Files.readString(log, StandardCharsets.UTF_8);
    } catch (Exception e) {
      return "";
    }
  }

  static void stop(Process p) throws InterruptedException {
    p.destroy();
    if (!p.waitFor(20, TimeUnit.SECONDS)) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Test
  @Timeout(150)
  void theGatewayListensWhereTheHighestLayerSaysAndFillsReferencesFromTheEnvironment() throws Exception {
    int filePort = Ports.free();
    int envPort = Ports.free();
    int propertyPort = Ports.free();
    int admin = Ports.free();
    Path conf = dir.resolve("gateway.yml");
    Files.writeString(conf, """
        server:
          host: 127.0.0.1
          port: %d
          admin_listener: {port: "${GW_ADMIN_PORT}"}
          drain_delay_ms: 0
        docker: {enabled: "${GW_DOCKER:-false}"}
        default_response: {status_code: 418, body: "${GW_GREETING:-hello} from ${GW_NAME}"}
        """.formatted(filePort));
    Map<String, String> env = Map.of("GW_ADMIN_PORT", Integer.toString(admin), "GW_NAME", "dockgate",
        "DOCKGATE_SERVER_PORT", Integer.toString(envPort));

    Path log = dir.resolve("property.log");
    Process p = start(conf, log, env, "-Ddockgate.server.port=" + propertyPort);
    try {
      assertEquals("418 hello from dockgate", answer(propertyPort, "/x"), read(log));
      assertEquals(null, answer(envPort, "/x"), "the system property wins over the environment variable");
      assertEquals(null, answer(filePort, "/x"), "and over the file");
      assertTrue(answer(admin, "/health").startsWith("200 "), "admin port from ${GW_ADMIN_PORT}");
      assertTrue(read(log).contains("gateway listening on 127.0.0.1:" + propertyPort), read(log));
    } finally {
      stop(p);
    }

    log = dir.resolve("env.log");
    p = start(conf, log, Map.of("GW_ADMIN_PORT", Integer.toString(admin), "GW_NAME", "the edge", "GW_GREETING", "hi",
        "DOCKGATE_SERVER_PORT", Integer.toString(envPort)));
    try {
      assertEquals("418 hi from the edge", answer(envPort, "/x"), read(log));
      assertEquals(null, answer(filePort, "/x"), "the environment variable wins over the file");
    } finally {
      stop(p);
    }
  }

  @Test
  @Timeout(90)
  void aMissingVariableStopsTheStartNamingTheField() throws Exception {
    Path conf = dir.resolve("missing.yml");
    Files.writeString(conf, "server: {host: 127.0.0.1, port: \"${GW_PORT}\", admin_listener: false}\n");
    GatewayJar.Exit run = GatewayJar.run(dir, Map.of(), List.of(), "-conf", conf.toString());
    assertEquals(1, run.status(), run.toString());
    assertTrue(run.err().contains(conf + ": server.port: environment variable GW_PORT is not set"), run.toString());
  }
}
