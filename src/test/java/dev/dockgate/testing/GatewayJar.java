package dev.dockgate.testing;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real fat jar ({@code java -jar target/gateway-fat.jar -conf FILE}) in its own process on a free
 * 127.0.0.1 port, ready once it logs that it drains on SIGTERM (after every router listens).
 */
public final class GatewayJar implements AutoCloseable {

  static final String JAR = System.getProperty("gateway.jar", "target/gateway-fat.jar");

  private final int port = Ports.free();
  private final Path log;
  private final Process process;
  private final GatewayClient client = new GatewayClient(port);

  /** {@code serverLines}: more keys of the server section, each indented by two spaces. */
  public GatewayJar(Path dir, String serverLines, String yamlBody, int instances) {
    try {
      Path conf = Files.createTempFile(dir, "gateway-", ".yml");
      Files.writeString(conf, "server:\n  host: 127.0.0.1\n  port: " + port + "\n"
          + (serverLines.contains("admin_listener") ? "" : "  admin_listener: {port: " + Ports.free() + "}\n")
          // Stopping at once: tests that need the drain delay set it.
          + (serverLines.contains("drain_delay_ms") ? "" : "  drain_delay_ms: 0\n")
          + serverLines + yamlBody);
      log = Files.createTempFile(dir, "gateway-", ".log");
      List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-jar", JAR, "-conf", conf.toString(), "-instances", Integer.toString(instances));
      ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
      builder.environment().put("GATEWAY_DRAIN_TIMEOUT_MS", "2000");
      process = builder.start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try {
      Poll.until(Duration.ofSeconds(30), "gateway jar ready", () -> {
        if (!process.isAlive()) {
          throw new AssertionError("gateway exited " + process.exitValue() + ":\n" + output());
        }
        return output().contains("ready; SIGTERM drains");
      });
    } catch (AssertionError e) {
      close();
      throw new AssertionError(e.getMessage() + "\n" + output(), e);
    }
  }

  public int port() {
    return port;
  }

  /** Everything the gateway logged so far. */
  public String output() {
    try {
      return Files.readString(log, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(no output: " + e + ")";
    }
  }

  public HttpResponse<String> get(String pathAndQuery) {
    return client.get(pathAndQuery);
  }

  public JsonObject stats() {
    return client.stats();
  }

  /** success + error of /stats. */
  public long statsTotal() {
    return client.statsTotal();
  }

  /** SIGTERM, then SIGKILL if it has not exited within 15 s. */
  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(15, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }
}
