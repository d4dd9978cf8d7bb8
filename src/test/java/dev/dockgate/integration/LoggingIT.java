package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.GatewayJar;
import dev.dockgate.testing.Poll;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway's own log as JSON lines (GATEWAY_LOG_FORMAT, -Dgateway.log.format), and the access log
 * reopened on SIGUSR1 after logrotate moved it: the real jar, real signals, real files.
 */
class LoggingIT {

  static final String NO_DOCKER = "docker: {enabled: false}\n";

  @TempDir
  Path dir;

  /** Every line of the output as a JSON object; fails naming the first line that is not one. */
  static List<JsonObject> jsonLines(String output) {
    List<JsonObject> lines = new ArrayList<>();
    for (String line : output.split("\n")) {
      if (line.isEmpty()) {
        continue;
      }
      try {
        lines.add(new JsonObject(line));
      } catch (DecodeException e) {
        throw new AssertionError("not a JSON object: " + line + "\n" + output);
      }
    }
    return lines;
  }

  @Test
  @Timeout(120)
  void theJsonFormatWritesOneObjectPerLineWithTimeLevelLoggerAndMessage() {
    String output;
    try (GatewayJar gateway = new GatewayJar(dir, "", NO_DOCKER, 1, Map.of("GATEWAY_LOG_FORMAT", "json"), List.of())) {
      assertEquals(404, gateway.get("/nowhere").statusCode());
      gateway.close();
      assertEquals(0, gateway.exitValue());
      output = gateway.output();
    }
    List<JsonObject> lines = jsonLines(output);
    assertTrue(lines.size() >= 5, output);
    for (JsonObject line : lines) {
      assertTrue(line.getString("time", "").matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d{1,3})?Z"), line.encode());
      assertTrue(List.of("INFO", "WARNING", "SEVERE").contains(line.getString("level")), line.encode());
      assertTrue(line.getString("logger", "").contains("."), line.encode());
      assertTrue(line.containsKey("message"), line.encode());
      assertFalse(line.containsKey("exception"), "nothing failed here: " + line.encode());
    }
    assertTrue(lines.stream().anyMatch(l -> l.getString("logger").equals("dev.dockgate.MainVerticle")
        && l.getString("message").startsWith("gateway listening on 127.0.0.1:")), output);
    assertTrue(lines.stream().anyMatch(l -> l.getString("message").matches("drained in \\d+ ms, stopped; exiting")), output);
  }

  @Test
  @Timeout(120)
  void aConfigErrorOfSeveralLinesIsStillOneJsonObject() throws Exception {
    Path conf = dir.resolve("bad.yml");
    Files.writeString(conf, "server: {port: 70000, prot: 1}\n");
    GatewayJar.Exit run = GatewayJar.run(dir, Map.of(), List.of("-Dgateway.log.format=json"), "-conf", conf.toString());
    assertEquals(1, run.status(), run.toString());
    String output = run.err();
    JsonObject severe = jsonLines(output).stream().filter(l -> l.getString("level").equals("SEVERE")).findFirst()
        .orElseThrow(() -> new AssertionError("no SEVERE line:\n" + output));
    assertEquals("invalid configuration, not starting:\n"
        + conf + ": server.port: must be between 0 and 65535, got 70000\n"
        + conf + ": server.prot: unknown key, did you mean \"port\"? (known: admin_listener, body_timeout_ms, dashboard_path, drain_delay_ms, h2c, "
        + "header_timeout_ms, health_path, host, http2, idle_timeout_ms, instances, max_body_bytes, max_connections, "
        + "max_header_bytes, max_header_count, max_request_line_bytes, metrics_path, port, routes_path, stats_path, tls, "
        + "trusted_proxies)", severe.getString("message"));
    assertEquals("dev.dockgate.GatewayApplication", severe.getString("logger"));
  }

  @Test
  @Timeout(60)
  void anUnknownLogFormatExitsTwoNamingTheSetting() throws Exception {
    GatewayJar.Exit run = GatewayJar.run(dir, Map.of("GATEWAY_LOG_FORMAT", "xml"), List.of(),
        "-conf", dir.resolve("unused.yml").toString());
    assertEquals(2, run.status(), run.toString());
    assertTrue(run.err().contains("GATEWAY_LOG_FORMAT: unknown log format \"xml\"; known: text, json"), run.toString());
  }

  @Test
  @Timeout(120)
  void sigusr1ReopensTheAccessLogAtItsPathAfterItWasMoved() throws Exception {
    Path access = dir.resolve("access.log");
    Path rotated = dir.resolve("access.log.1");
    try (GatewayJar gateway = new GatewayJar(dir, "", NO_DOCKER
        + "access_log: {enabled: true, format: json, path: \"" + access + "\"}\n", 1)) {
      assertEquals(404, gateway.get("/one").statusCode());
      Poll.until(Duration.ofSeconds(5), "first line written", () -> paths(access).equals(List.of("/one")));

      Files.move(access, rotated, StandardCopyOption.ATOMIC_MOVE);
      assertEquals(404, gateway.get("/two").statusCode());
      // Until told, the gateway keeps writing to the file it has open, now under the new name.
      Poll.until(Duration.ofSeconds(5), "second line in the moved file", () -> paths(rotated).equals(List.of("/one", "/two")));
      assertFalse(Files.exists(access));

      gateway.signal("USR1");
      Poll.until(Duration.ofSeconds(5), "access log reopened", () -> gateway.output().contains("access log reopened: " + access));
      assertEquals(404, gateway.get("/three").statusCode());
      Poll.until(Duration.ofSeconds(5), "third line in the new file", () -> paths(access).equals(List.of("/three")));
      assertEquals(List.of("/one", "/two"), paths(rotated));
      assertTrue(gateway.output().contains("SIGUSR1: reopening the access log"), gateway.output());
    }
  }

  /** The request paths of a JSON access log's lines; empty when the file is absent. */
  static List<String> paths(Path log) {
    try {
      return Files.exists(log)
          ? Files.readAllLines(log).stream().map(l -> new JsonObject(l).getString("path")).toList()
          : List.of();
    } catch (IOException e) {
      return List.of();
    }
  }
}
