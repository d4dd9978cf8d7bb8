package dev.dockgate.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A second Docker engine beside the main one, started by {@code scripts/second-docker.sh}: on its own
 * unix socket and on tcp://127.0.0.1:PORT with TLS ({@code --tlsverify}, certificates the script
 * makes with openssl), with its own data, exec root and pid file, no bridge, no iptables, and
 * {@code --live-restore}, so its containers run on while it is down. The test image is loaded
 * into it. Closing removes its containers, stops it and removes its directory.
 */
public final class TlsEngine implements AutoCloseable {

  private static final Path SCRIPT = Path.of("scripts", "second-docker.sh").toAbsolutePath();

  private final Path dir;
  private final int port = Ports.free();

  public TlsEngine() {
    try {
      // A short path: the engine's unix socket goes in it.
      dir = Files.createTempDirectory(Path.of("/tmp"), "dg-tls-engine-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    start();
  }

  /** Starts the engine (again) and waits until it answers on both listeners: the script waits at most 30 s. */
  public void start() {
    script("start", dir.toString(), Integer.toString(port));
  }

  /** Stops the engine only (SIGTERM); its containers run on. */
  public void down() {
    script("down", dir.toString());
  }

  /** As a docker.host value: {@code unix:///tmp/dg-tls-engine-.../docker.sock}. */
  public String unixHost() {
    return "unix://" + dir.resolve("docker.sock");
  }

  /** {@code tcp://127.0.0.1:PORT}, which speaks TLS only. */
  public String tcpHost() {
    return "tcp://127.0.0.1:" + port;
  }

  /** The CA the engine's certificate chains to and its clients' certificates must chain to. */
  public Path ca() {
    return dir.resolve("certs/ca.pem");
  }

  public Path clientCert() {
    return dir.resolve("certs/client-cert.pem");
  }

  public Path clientKey() {
    return dir.resolve("certs/client-key.pem");
  }

  public String log() {
    try {
      return Files.readString(dir.resolve("dockerd.log"));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  @Override
  public void close() {
    script("stop", dir.toString());
  }

  private static void script(String... args) {
    List<String> command = new java.util.ArrayList<>(List.of("bash", SCRIPT.toString()));
    command.addAll(List.of(args));
    try {
      Path out = Files.createTempFile("second-docker-", ".out");
      Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
      // The script bounds each of its waits; this bounds the whole.
      boolean ended = process.waitFor(120, TimeUnit.SECONDS);
      String output = Files.readString(out, StandardCharsets.UTF_8);
      Files.deleteIfExists(out);
      if (!ended) {
        process.destroyForcibly();
        throw new IllegalStateException(String.join(" ", command) + " did not finish within 120 s: " + output);
      }
      if (process.exitValue() != 0) {
        throw new IllegalStateException(String.join(" ", command) + " failed (" + process.exitValue() + "): " + output);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
