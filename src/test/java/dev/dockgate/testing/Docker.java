package dev.dockgate.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * Test containers on the real Docker engine, driven through the docker CLI. Every container runs
 * with {@code --network host}, binds 127.0.0.1 only, and carries this run's label so
 * {@link #removeAll()} removes exactly what the run created, and the JVM that created it: the containers of a run
 * killed before its cleanup are removed by the next ({@link #removeDeadRuns}). No engine: tests fail loudly.
 */
public final class Docker implements AutoCloseable {

  public static final String IMAGE = System.getProperty("gateway.test.image", "gateway-test-busybox:latest");
  public static final String RUN_LABEL = "dockgate.test.run";
  /**
   * The JVM that created a container, {@code PID@START_MILLIS} (a pid is reused, not with the same start time):
   * {@link #removeDeadRuns} removes the containers of runs whose JVM is gone.
   */
  public static final String OWNER_LABEL = "dockgate.test.owner";
  private static final String OWNER = ProcessHandle.current().pid() + "@"
      + ProcessHandle.current().info().startInstant().map(java.time.Instant::toEpochMilli).orElse(0L);
  /** Whether this JVM has swept the dead runs' containers and set its own removal at exit. */
  private static final java.util.concurrent.atomic.AtomicBoolean SWEPT = new java.util.concurrent.atomic.AtomicBoolean();
  /**
   * Requests a test may keep in flight toward one {@link #runHttpd} container. busybox httpd listens
   * with a backlog of 9 and takes one request per connection: with more connections waiting to be
   * accepted, Linux drops the next SYNs and a connect lasts 1 s, 3 s... (at load average 20, 16
   * clients saw 6 connects in 16,393 over 1.9 s, past the gateway's 2 s connect timeout; 8 clients
   * none in 23,315, the slowest 67 ms).
   */
  public static final int HTTPD_IN_FLIGHT = 8;

  private final String runId;
  /** The docker command and its engine options, e.g. {@code docker -H unix:///tmp/x/docker.sock}. */
  private final List<String> cli;

  /**
   * The main engine. The first in a JVM removes the containers of dead runs ({@link #removeDeadRuns}) and has this
   * JVM's own removed when it exits (a fork stopped with SIGTERM, or exiting with tests still running).
   */
  public Docker() {
    this(List.of("docker"), UUID.randomUUID().toString().substring(0, 8));
    if (SWEPT.compareAndSet(false, true)) {
      removeDeadRuns();
      Runtime.getRuntime().addShutdownHook(new Thread(() -> removeLabelled(List.of("docker"), OWNER_LABEL + "=" + OWNER),
          "docker-test-cleanup"));
    }
  }

  private Docker(List<String> cli, String runId) {
    this.cli = cli;
    this.runId = runId;
    Result version = exec(docker("version", "--format", "{{.Server.Version}}"));
    if (version.code() != 0) {
      throw new IllegalStateException("no Docker engine answers at " + cli + " (" + version.output().trim()
          + "); start one with scripts/ensure-docker.sh");
    }
    if (exec(docker("image", "inspect", IMAGE)).code() != 0) {
      throw new IllegalStateException("test image " + IMAGE + " is missing; run scripts/ensure-docker.sh");
    }
  }

  /**
   * The same run on another engine ({@code docker -H host}): containers get the same names and run
   * label as this run's, so two engines can hold containers of one name.
   */
  public Docker onEngine(String host) {
    return new Docker(List.of("docker", "-H", host), runId);
  }

  /** The docker command line for this engine with {@code args}. */
  private List<String> docker(String... args) {
    List<String> command = new ArrayList<>(cli);
    command.addAll(List.of(args));
    return command;
  }

  public record Result(int code, String output) {
  }

  /**
   * Runs busybox httpd on 127.0.0.1:{@code port}, serving {@code /www}, where file
   * {@code <idPath>} holds its full name, labelled {@code gateway.port=port}. Returns the container id.
   */
  public String runHttpd(String name, int port, String idPath, Map<String, String> labels) {
    return runHttpd(name, port, idPath, labels, List.of());
  }

  /** {@link #runHttpd(String, int, String, Map)} run with extra {@code docker run} options (e.g. a {@code --health-cmd}). */
  public String runHttpd(String name, int port, String idPath, Map<String, String> labels, List<String> runOptions) {
    Map<String, String> all = new java.util.HashMap<>(labels);
    all.put("gateway.port", Integer.toString(port));
    String dir = idPath.substring(0, idPath.lastIndexOf('/'));
    String script = "mkdir -p /www" + dir + " && echo " + fullName(name) + " > /www" + idPath
        + " && exec busybox httpd -f -p 127.0.0.1:" + port + " -h /www";
    return run(name, all, runOptions, List.of("busybox", "sh", "-c", script));
  }

  /**
   * A service that drains like a well-behaved one: busybox httpd on 127.0.0.1:{@code port} with a
   * CGI script (CRLF header lines: the gateway's HTTP codec refuses bare LF) at {@code /cgi-bin/echo} answering its name and echoing the request body; on SIGTERM
   * it goes on serving for {@code drainMs} before it stops.
   */
  public String runDrainingCgi(String name, int port, long drainMs, Map<String, String> labels) {
    return runDrainingCgi(name, port, drainMs, 0, labels, List.of());
  }

  /**
   * {@link #runDrainingCgi(String, int, long, Map)} whose server starts listening {@code listenAfterMs}
   * after the container starts (a service that takes a while to boot), run with extra {@code docker run}
   * options (e.g. a {@code --health-cmd}).
   */
  public String runDrainingCgi(String name, int port, long drainMs, long listenAfterMs, Map<String, String> labels,
      List<String> runOptions) {
    Map<String, String> all = new java.util.HashMap<>(labels);
    all.put("gateway.port", Integer.toString(port));
    String script = (listenAfterMs > 0 ? "sleep " + (listenAfterMs / 1000.0) + " && " : "")
        + "mkdir -p /www/cgi-bin"
        + " && printf '#!/bin/sh\\nprintf \"Content-Type: text/plain\\\\r\\\\n\\\\r\\\\n\"\\necho " + fullName(name) + "\\ncat\\n'"
        + " > /www/cgi-bin/echo && busybox chmod +x /www/cgi-bin/echo"
        + " && { busybox httpd -f -p 127.0.0.1:" + port + " -h /www & pid=$!; }"
        + " && trap 'sleep " + (drainMs / 1000.0) + "; kill $pid; exit 0' TERM"
        + " && while true; do wait; done";
    return run(name, all, runOptions, List.of("busybox", "sh", "-c", script));
  }

  /** A container that serves nothing itself: its gateway.port label can point at a server of the test's own. */
  public String runIdle(String name, Map<String, String> labels) {
    return run(name, labels, List.of("busybox", "sleep", "3600"));
  }

  public String run(String name, Map<String, String> labels, List<String> command) {
    return run(name, labels, List.of(), command);
  }

  /** {@code runOptions}: more {@code docker run} options, e.g. {@code --health-cmd}; never networks or ports. */
  public String run(String name, Map<String, String> labels, List<String> runOptions, List<String> command) {
    return run("host", name, labels, runOptions, command);
  }

  private String run(String network, String name, Map<String, String> labels, List<String> runOptions, List<String> command) {
    List<String> args = docker("run", "-d", "--network", network,
        "--name", name + "-" + runId, "--label", RUN_LABEL + "=" + runId, "--label", OWNER_LABEL + "=" + OWNER);
    args.addAll(runOptions);
    labels.forEach((k, v) -> {
      args.add("--label");
      args.add(k + "=" + v);
    });
    args.add(IMAGE);
    args.addAll(command);
    return check(args).trim();
  }

  /**
   * A container of this run that sleeps on the {@code none} network (no address, no traffic): {@link #network} can
   * disconnect it from that network and connect it again, which sends network events, without creating a network.
   */
  public String runOnNoNetwork(String name, Map<String, String> labels) {
    return run("none", name, labels, List.of(), List.of("busybox", "sleep", "3600"));
  }

  /** {@code docker network ACTION NETWORK ID}: connect or disconnect. */
  public void network(String action, String network, String id) {
    check(docker("network", action, network, id));
  }

  /** Runs {@code command} inside a running container of this run. */
  public String execIn(String id, List<String> command) {
    List<String> args = docker("exec", id);
    args.addAll(command);
    return check(args);
  }

  /** Docker's HEALTHCHECK status of a container: starting, healthy, unhealthy (empty without one). */
  public String health(String id) {
    return check(docker("inspect", "--format", "{{if .State.Health}}{{.State.Health.Status}}{{end}}", id)).trim();
  }

  public void stop(String id) {
    check(docker("stop", "-t", "2", id));
  }

  public void kill(String id) {
    check(docker("kill", "-s", "KILL", id));
  }

  /**
   * SIGKILL to the container's main process from the host, as a crash: unlike {@link #kill}, no
   * 'kill' event announces it, Docker reports the container only once it has died.
   */
  public void killProcess(String id) {
    String pid = check(docker("inspect", "--format", "{{.State.Pid}}", id)).trim();
    check(List.of("kill", "-KILL", pid));
  }

  /** Freezes the container's processes (the cgroup freezer); its sockets still accept connections. */
  public void pause(String id) {
    check(docker("pause", id));
  }

  public void unpause(String id) {
    check(docker("unpause", id));
  }

  /** Starts a stopped container again: same id, same labels. */
  public void start(String id) {
    check(docker("start", id));
  }

  /** The name a container of this run was given for {@code name}. */
  public String fullName(String name) {
    return name + "-" + runId;
  }

  /**
   * Removes the containers of this run. A test past its {@code @Timeout} (JUnit interrupts its thread) closes its
   * containers with its thread interrupted: they are removed all the same, the interrupt kept for the caller.
   * Before, every docker command then failed at once as "interrupted", and the containers stayed.
   */
  public void removeAll() {
    boolean interrupted = Thread.interrupted();
    try {
      removeLabelled(cli, RUN_LABEL + "=" + runId);
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Removes the containers on engine {@code cli} carrying {@code label} ({@code key=value}). */
  private static void removeLabelled(List<String> cli, String label) {
    List<String> ps = new ArrayList<>(cli);
    ps.addAll(List.of("ps", "-aq", "--filter", "label=" + label));
    Result ids = exec(ps);
    if (ids.code() != 0) {
      return; // the engine gone: nothing to remove there
    }
    for (String id : ids.output().split("\\s+")) {
      if (!id.isBlank()) {
        List<String> rm = new ArrayList<>(cli);
        rm.addAll(List.of("rm", "-f", id));
        exec(rm);
      }
    }
  }

  /**
   * Removes the containers on the main engine of runs whose JVM is gone ({@link #OWNER_LABEL} names a process
   * that no longer runs): a run killed before its cleanup (a fork killed with SIGKILL) leaves them, some with
   * {@code --restart always}. A concurrent run's JVM runs, so its containers are kept, and so are those without
   * the owner label (runs older than it: whose they are cannot be told).
   */
  public static void removeDeadRuns() {
    Result listed = exec(List.of("docker", "ps", "-a", "--filter", "label=" + OWNER_LABEL,
        "--format", "{{.ID}} {{.Label \"" + OWNER_LABEL + "\"}}"));
    if (listed.code() != 0) {
      return;
    }
    for (String line : listed.output().split("\n")) {
      String[] idOwner = line.trim().split(" ", 2);
      if (idOwner.length == 2 && !alive(idOwner[1].trim())) {
        exec(List.of("docker", "rm", "-f", idOwner[0]));
      }
    }
  }

  /** Whether the process an {@link #OWNER_LABEL} value names ({@code PID@START_MILLIS}) runs; unreadable: yes. */
  private static boolean alive(String owner) {
    int at = owner.indexOf('@');
    long pid;
    long startMillis;
    try {
      pid = Long.parseLong(owner.substring(0, at));
      startMillis = Long.parseLong(owner.substring(at + 1));
    } catch (RuntimeException unreadable) {
      return true;
    }
    return ProcessHandle.of(pid)
        .map(p -> p.info().startInstant().map(started -> started.toEpochMilli() == startMillis).orElse(true))
        .orElse(false);
  }

  @Override
  public void close() {
    removeAll();
  }

  private static String check(List<String> args) {
    Result r = exec(args);
    if (r.code() != 0) {
      throw new IllegalStateException(String.join(" ", args) + " failed (" + r.code() + "): " + r.output());
    }
    return r.output();
  }

  /**
   * Runs {@code args}, its output (stderr with it) read once it has exited; given up after 60 s (a docker command
   * on an engine stopped with SIGSTOP waits for ever; before, reading its output first waited with it).
   */
  public static Result exec(List<String> args) {
    java.nio.file.Path out = null;
    try {
      out = java.nio.file.Files.createTempFile("docker-cli", ".out");
      Process p = new ProcessBuilder(args).redirectErrorStream(true).redirectOutput(out.toFile()).start();
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return new Result(-1, "timed out: " + new String(java.nio.file.Files.readAllBytes(out), StandardCharsets.UTF_8));
      }
      return new Result(p.exitValue(), new String(java.nio.file.Files.readAllBytes(out), StandardCharsets.UTF_8));
    } catch (IOException e) {
      return new Result(-1, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Result(-1, "interrupted");
    } finally {
      if (out != null) {
        out.toFile().delete();
      }
    }
  }
}
