package dev.dockgate.resilience;

/**
 * One instance's health from consecutive probe results: healthy at first, unhealthy after
 * {@code unhealthyThreshold} failures in a row, healthy again after {@code healthyThreshold} passes
 * in a row. Pure; one owner.
 */
public final class HealthState {

  private final int healthyThreshold;
  private final int unhealthyThreshold;
  private boolean healthy = true;
  private int streak;

  public HealthState(int healthyThreshold, int unhealthyThreshold) {
    this(healthyThreshold, unhealthyThreshold, true);
  }

  /** Starting from {@code healthy}: an instance whose probing moved here from another node keeps its health. */
  public HealthState(int healthyThreshold, int unhealthyThreshold, boolean healthy) {
    this.healthyThreshold = healthyThreshold;
    this.unhealthyThreshold = unhealthyThreshold;
    this.healthy = healthy;
  }

  /** Records a probe; true when this result changed the health. */
  public boolean record(boolean passed) {
    if (passed == healthy) {
      streak = 0;
      return false;
    }
    streak++;
    if (streak >= (healthy ? unhealthyThreshold : healthyThreshold)) {
      healthy = !healthy;
      streak = 0;
      return true;
    }
    return false;
  }

  public boolean healthy() {
    return healthy;
  }
}
