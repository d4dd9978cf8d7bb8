package dev.dockgate.discovery;

import dev.dockgate.observability.LogPace;
import java.util.HashMap;
import java.util.Map;

/**
 * The pace of the "container X is healthy" lines, per container: a change after a quiet period is said at once; the
 * changes that follow within the period (a HEALTHCHECK that flaps) are counted and said in one summary when the period
 * is over ({@code container X changed health 12 times in the last 60 s, now unhealthy}), so at most one line a period.
 * Only the lines: every change still updates the instance's record at once. Confined to the importer's event loop.
 */
final class HealthLines {

  /** The period, in ms, unless system property {@code gateway.docker.health.log.period.ms} sets another. */
  static final long DEFAULT_PERIOD_MS = 60_000;

  private final long periodNanos;
  private final Map<String, Said> containers = new HashMap<>();

  /** Where a container's lines stand: the pace of its lines, what changed since the last, whether its summary is awaited. */
  private static final class Said {
    final LogPace pace;
    int changes;
    String name;
    String health;
    boolean summaryAwaited;

    Said(long periodNanos) {
      pace = new LogPace(periodNanos);
    }
  }

  HealthLines(long periodMs) {
    this.periodNanos = periodMs * 1_000_000;
  }

  /** The period {@code gateway.docker.health.log.period.ms} sets, else the default. */
  static long configuredPeriodMs() {
    return Math.max(0, Long.getLong("gateway.docker.health.log.period.ms", DEFAULT_PERIOD_MS));
  }

  /**
   * Container {@code id} (called {@code name}) is now {@code health}: the line to say now, or null when the change is
   * counted for the summary; then {@link #summaryInMs} tells when to ask for it.
   */
  String changed(String id, String name, String health, long nowNanos) {
    Said said = containers.get(id);
    if (said == null) {
      said = new Said(periodNanos);
      containers.put(id, said);
    }
    if (said.changes > 0 || !said.pace.due(nowNanos)) {
      said.changes++;
      said.name = name;
      said.health = health;
      return null;
    }
    return "container " + name + " is " + health;
  }

  /** In how many ms the summary of {@code id}'s counted changes is due, once; -1 when none is to be asked for. */
  long summaryInMs(String id, long nowNanos) {
    Said said = containers.get(id);
    if (said == null || said.changes == 0 || said.summaryAwaited) {
      return -1;
    }
    said.summaryAwaited = true;
    return Math.max(1, said.pace.dueInNanos(nowNanos) / 1_000_000);
  }

  /** The summary of {@code id}'s changes counted since its last line (null when none was, or it is gone). */
  String summary(String id, long nowNanos) {
    Said said = containers.get(id);
    if (said == null || said.changes == 0) {
      return null;
    }
    String line = "container " + said.name + " changed health " + said.changes + " time" + (said.changes == 1 ? "" : "s")
        + " in the last " + Math.round(said.pace.sinceNanos(nowNanos) / 1e9) + " s, now " + said.health;
    said.pace.said(nowNanos);
    said.changes = 0;
    said.summaryAwaited = false;
    return line;
  }

  /** Container {@code id} is gone: its changes since its last line are no longer said. */
  void forget(String id) {
    containers.remove(id);
  }
}
