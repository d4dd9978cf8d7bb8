package dev.dockgate.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Debian's HAProxy ({@code /usr/sbin/haproxy}, installed by scripts/test.sh) as a process of the test, in the
 * foreground with its own config file, logging to a file; never the system service.
 */
public final class Haproxy implements AutoCloseable {

  static final String BINARY = "/usr/sbin/haproxy";

  private final Process process;
  private final Path log;

  /** Starts HAProxy with {@code config}, ready once {@code frontendPort} on 127.0.0.1 accepts a connection. */
  public Haproxy(Path dir, String config, int frontendPort) {
    if (!Files.isExecutable(Path.of(BINARY))) {
      throw new AssertionError(BINARY + " is missing: scripts/test.sh installs Debian's haproxy");
    }
    try {
      Path file = Files.createTempFile(dir, "haproxy-", ".cfg");
      Files.writeString(file, config);
      log = Files.createTempFile(dir, "haproxy-", ".log");
      Files.writeString(log, "");
      process = new ProcessBuilder(BINARY, "-db", "-f", file.toString())
          .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try {
      Poll.until(Duration.ofSeconds(10), "haproxy listening on " + frontendPort, () -> {
        if (!process.isAlive()) {
          throw new AssertionError("haproxy exited " + process.exitValue() + ":\n" + output());
        }
        try (Socket ignored = new Socket("127.0.0.1", frontendPort)) {
          return true;
        } catch (IOException e) {
          return false;
        }
      });
    } catch (AssertionError e) {
      close();
      throw new AssertionError(e.getMessage() + "\n" + output(), e);
    }
  }

  /**
   * conf/haproxy.cfg.example made local: its frontend on 127.0.0.1:{@code frontendPort}, server {@code i}
   * (gw1, gw2, ...) at 127.0.0.1:{@code mainPorts[i]} checked on {@code adminPorts[i]}. Fails when the example
   * no longer has the lines replaced, so the test keeps running the documented file.
   */
  public static String fromExample(Path example, int frontendPort, int[] mainPorts, int[] adminPorts) {
    try {
      String config = replace(Files.readString(example), "bind :80", "bind 127.0.0.1:" + frontendPort);
      for (int i = 0; i < mainPorts.length; i++) {
        config = replace(config, "10.0.0." + (i + 1) + ":8080 check port 9901",
            "127.0.0.1:" + mainPorts[i] + " check port " + adminPorts[i]);
      }
      return config;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String replace(String text, String what, String with) {
    if (!text.contains(what)) {
      throw new AssertionError("the HAProxy example no longer contains \"" + what + "\"");
    }
    return text.replace(what, with);
  }

  /** What HAProxy logged so far (connections, server state changes). */
  public String output() {
    try {
      return Files.readString(log, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(no output: " + e + ")";
    }
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }
}
