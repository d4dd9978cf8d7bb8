package dev.dockgate.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A Docker engine of the test's own, for tests that stop and start an engine: a second dockerd with
 * its own socket, data root, exec root and pid file, no bridge and no iptables, so the shared engine
 * on /var/run/docker.sock, which other tests use, is never touched. It runs under another process
 * name ({@code dg-test-dockerd}), so whoever stops "the" dockerd by name does not stop this one.
 * Closing stops it and removes its directories.
 */
public final class SecondEngine implements AutoCloseable {

  private static final Path DOCKERD = Path.of("/usr/sbin/dockerd");

  private final Path dir;
  private final Path binary;
  private final Path socket;
  private final Path log;
  private Process process;

  public SecondEngine() {
    try {
      // A short path: a unix socket path has at most 107 bytes.
      dir = Files.createTempDirectory(Path.of("/tmp"), "dg-engine-");
      binary = Files.createSymbolicLink(dir.resolve("dg-test-dockerd"), DOCKERD);
      socket = dir.resolve("docker.sock");
      log = dir.resolve("dockerd.log");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    start();
  }

  /** The engine's socket, as a docker.host value: {@code unix:///tmp/dg-engine-.../docker.sock}. */
  public String host() {
    return "unix://" + socket;
  }

  public Path socket() {
    return socket;
  }

  /** Starts the engine and waits until it answers. */
  public void start() {
    List<String> command = List.of(binary.toString(),
        "-H", host(),
        "--data-root", dir.resolve("data").toString(),
        "--exec-root", dir.resolve("exec").toString(),
        "--pidfile", dir.resolve("dockerd.pid").toString(),
        "--bridge=none", "--iptables=false", "--ip6tables=false");
    try {
      process = new ProcessBuilder(command).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Poll.until(Duration.ofSeconds(30), "second engine answering on " + socket, () -> {
      if (!process.isAlive()) {
        throw new AssertionError("dockerd exited " + process.exitValue() + ":\n" + log());
      }
      return Docker.exec(List.of("docker", "-H", host(), "version", "--format", "{{.Server.Version}}")).code() == 0;
    });
  }

  /** SIGTERM, as an operator's restart does; waits until the engine has exited. */
  public void stop() {
    if (process == null || !process.isAlive()) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }

  public void restart() {
    stop();
    start();
  }

  public String log() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  @Override
  public void close() {
    stop();
    Docker.exec(List.of("rm", "-rf", dir.toString()));
  }
}
