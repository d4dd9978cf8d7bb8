package dev.dockgate.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A Docker engine of the test's own beside the main one, started by {@code scripts/second-docker.sh}:
 * on its own unix socket and on tcp://127.0.0.1:PORT with TLS ({@code --tlsverify}, certificates the
 * script makes with openssl), with its own data, exec root and pid file, no bridge, no iptables, and
 * {@code --live-restore}, so its containers run on while it is stopped; the main engine on
 * /var/run/docker.sock, which other tests use, is never touched. It runs under another process name
 * ({@code dg-second-dockerd}), so whoever stops "the" dockerd by name does not stop this one. The
 * test image is loaded into it. Closing removes its containers, stops it and removes its directory.
 */
public final class SecondEngine implements AutoCloseable {

  private static final Path SCRIPT = Path.of("scripts", "second-docker.sh").toAbsolutePath();

  private final Path dir;
  private final int port = Ports.free();
  private volatile boolean frozen;

  public SecondEngine() {
    try {
      // A short path: the engine's unix socket goes in it.
      dir = Files.createTempDirectory(Path.of("/tmp"), "dg-engine-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    start();
  }

  /** Starts the engine (again) and waits until it answers on both listeners: the script waits at most 30 s. */
  public void start() {
    script("start", dir.toString(), Integer.toString(port));
  }

  /** SIGTERM, as an operator's restart does; waits until the engine has exited. Its containers run on. */
  public void stop() {
    script("down", dir.toString());
  }

  /**
   * SIGSTOP to the engine's process (its containerd and containers run on): it still accepts connections, the
   * kernel's, and answers nothing, its open event streams silent, as an engine frozen or whose host is gone.
   * {@link #thaw} (or {@link #close}) resumes it.
   */
  public void freeze() {
    signal("STOP");
    frozen = true;
  }

  /** SIGCONT to the engine's process: it answers again, the requests it held first. */
  public void thaw() {
    signal("CONT");
    frozen = false;
  }

  private void signal(String name) {
    try {
      String pid = Files.readString(dir.resolve("dockerd.pid")).trim();
      Process kill = new ProcessBuilder("kill", "-" + name, pid).redirectErrorStream(true).start();
      if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
        throw new IllegalStateException("kill -" + name + " " + pid + " failed: " + new String(kill.getInputStream().readAllBytes()));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  public void restart() {
    stop();
    start();
  }

  /** The engine's socket, as a docker.host value: {@code unix:///tmp/dg-engine-.../docker.sock}. */
  public String host() {
    return "unix://" + socket();
  }

  public Path socket() {
    return dir.resolve("docker.sock");
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
    if (frozen) {
      thaw();
    }
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
