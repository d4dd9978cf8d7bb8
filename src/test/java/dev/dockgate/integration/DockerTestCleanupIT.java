package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.Docker;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The Docker test helper leaves no container behind: not when the test's thread was interrupted (a test past its
 * {@code @Timeout}, which JUnit interrupts, closes its containers with the flag still set), and not when a run died
 * without cleaning (a fork killed): the next run removes the containers of runs whose JVM is gone, and only those,
 * never a concurrent run's.
 */
@Timeout(120)
class DockerTestCleanupIT {

  /** Whether container {@code id} still exists on the main engine. */
  private static boolean exists(String id) {
    return Docker.exec(List.of("docker", "inspect", "--format", "{{.Id}}", id)).code() == 0;
  }

  @Test
  void aRunsContainersAreRemovedEvenWhenItsThreadIsInterrupted() {
    String id;
    try (Docker docker = new Docker()) {
      id = docker.runIdle("interrupted", Map.of());
      assertTrue(exists(id));
      Thread.currentThread().interrupt(); // as JUnit does to a test past its @Timeout
    }
    assertTrue(Thread.interrupted(), "the interrupt is kept for the caller");
    boolean left = exists(id);
    if (left) {
      Docker.exec(List.of("docker", "rm", "-f", id));
    }
    assertTrue(!left, "container " + id + " left behind by a run whose thread was interrupted");
  }

  @Test
  void theContainersOfARunWhoseJvmIsGoneAreRemovedAndThoseOfALiveOneKept() throws Exception {
    new Docker(); // the engine and the image are there
    Process live = new ProcessBuilder("sleep", "120").start();
    Process dead = new ProcessBuilder("sleep", "120").start();
    List<String> ids = new ArrayList<>();
    try {
      String deadOwner = owner(dead.toHandle());
      dead.destroyForcibly();
      assertTrue(dead.waitFor(10, TimeUnit.SECONDS));
      String runId = "cleanup-" + UUID.randomUUID().toString().substring(0, 6);
      String ofDeadRun = labelled(runId + "-dead", deadOwner);
      String ofLiveRun = labelled(runId + "-live", owner(live.toHandle()));
      String unowned = labelled(runId + "-unowned", null);
      ids.addAll(List.of(ofDeadRun, ofLiveRun, unowned));

      Docker.removeDeadRuns();

      assertEquals(List.of(false, true, true), List.of(exists(ofDeadRun), exists(ofLiveRun), exists(unowned)),
          "[dead run's, live run's, unowned] containers still there");
    } finally {
      live.destroyForcibly();
      for (String id : ids) {
        Docker.exec(List.of("docker", "rm", "-f", id));
      }
    }
  }

  /** How the helper names the JVM that runs a test: its pid and start time (a pid is reused, never both). */
  private static String owner(ProcessHandle process) {
    return process.pid() + "@" + process.info().startInstant().orElseThrow().toEpochMilli();
  }

  /** A sleeping container with the helper's run label (run {@code run}) and, when not null, its owner label. */
  private static String labelled(String run, String owner) {
    List<String> args = new ArrayList<>(List.of("docker", "run", "-d", "--network", "host", "--name", run,
        "--label", Docker.RUN_LABEL + "=" + run));
    if (owner != null) {
      args.addAll(List.of("--label", Docker.OWNER_LABEL + "=" + owner));
    }
    args.addAll(List.of(Docker.IMAGE, "busybox", "sleep", "3600"));
    Docker.Result r = Docker.exec(args);
    assertEquals(0, r.code(), r.output());
    return r.output().trim();
  }
}
