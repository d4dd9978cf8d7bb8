package dev.dockgate.testing;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The real fat jar ({@code java -jar target/gateway-fat.jar -conf FILE}) in its own process on a free
 * 127.0.0.1 port (or the {@code host} of the server lines given), ready once it logs that it drains on SIGTERM (after every router listens).
 */
public final class GatewayJar implements AutoCloseable {

  static final String JAR = System.getProperty("gateway.jar", "target/gateway-fat.jar");

  private final int port = Ports.free();
  private final Path log;
  private final Path conf;
  private final Process process;
  private final GatewayClient client = new GatewayClient(port);

  /** {@code serverLines}: more keys of the server section, each indented by two spaces. */
  public GatewayJar(Path dir, String serverLines, String yamlBody, int instances) {
    this(dir, serverLines, yamlBody, instances, Map.of(), List.of());
  }

  /** As above, with more environment variables and JVM options ({@code -Dname=value}) for the process. */
  public GatewayJar(Path dir, String serverLines, String yamlBody, int instances, Map<String, String> env,
      List<String> jvmOptions) {
    this(dir, serverLines, yamlBody, instances, env, jvmOptions, List.of(), Duration.ofSeconds(30));
  }

  /** As above, with launcher options after the config (e.g. {@code -cluster}) and how long the start may take. */
  public GatewayJar(Path dir, String serverLines, String yamlBody, int instances, Map<String, String> env,
      List<String> jvmOptions, List<String> launcherArgs, Duration readyWithin) {
    try {
      conf = Files.createTempFile(dir, "gateway-", ".yml");
      // A host line of the test's own (an IPv6 listener) replaces 127.0.0.1.
      boolean host = java.util.regex.Pattern.compile("(?m)^  host:").matcher(serverLines).find();
      Files.writeString(conf, "server:\n" + (host ? "" : "  host: 127.0.0.1\n") + "  port: " + port + "\n"
          + (serverLines.contains("admin_listener") ? "" : "  admin_listener: {port: " + Ports.free() + "}\n")
          // Stopping at once: tests that need the drain delay set it.
          + (serverLines.contains("drain_delay_ms") ? "" : "  drain_delay_ms: 0\n")
          + serverLines + yamlBody);
      log = Files.createTempFile(dir, "gateway-", ".log");
      List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
      command.addAll(jvmOptions);
      command.addAll(List.of("-jar", JAR, "-conf", conf.toString(), "-instances", Integer.toString(instances)));
      command.addAll(launcherArgs);
      ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
      builder.environment().put("GATEWAY_DRAIN_TIMEOUT_MS", "2000");
      builder.environment().putAll(env);
      process = builder.start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try {
      Poll.until(readyWithin, "gateway jar ready", () -> {
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

  /** The process id (to look at its open files in /proc). */
  public long pid() {
    return process.pid();
  }

  /** The config file it runs with (to edit for a reload). */
  public Path config() {
    return conf;
  }

  /** What a run to exit printed: its exit status, standard output and standard error. */
  public record Exit(int status, String out, String err) {
    @Override
    public String toString() {
      return "exit " + status + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }
  }

  /**
   * Runs the jar with {@code args} until it exits (at most 60 s), with these environment variables
   * (inherited DOCKGATE_ ones removed) and JVM options; for commands and for starts that must fail.
   */
  public static Exit run(Path dir, Map<String, String> env, List<String> jvmOptions, String... args) {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    command.addAll(jvmOptions);
    command.add("-jar");
    command.add(JAR);
    command.addAll(List.of(args));
    try {
      Path out = Files.createTempFile(dir, "run-", ".out");
      Path err = Files.createTempFile(dir, "run-", ".err");
      ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
      builder.environment().keySet().removeIf(name -> name.startsWith("DOCKGATE_"));
      builder.environment().putAll(env);
      Process p = builder.start();
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError("gateway did not exit within 60 s: " + command);
      }
      return new Exit(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted");
    }
  }

  /** Sends a signal by name (HUP, USR1, TERM) with kill(1). */
  public void signal(String name) {
    try {
      Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).start();
      if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
        throw new AssertionError("kill -" + name + " " + process.pid() + " failed");
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted");
    }
  }

  /** The exit status, once {@link #close()} has stopped the process. */
  public int exitValue() {
    return process.exitValue();
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

  /** SIGKILL: the process ends at once, without draining or saying goodbye to anyone. */
  public void kill() {
    process.destroyForcibly();
    try {
      process.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  public boolean isAlive() {
    return process.isAlive();
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
