package dev.dockgate.config;

/**
 * A backend's passive outlier detection (off unless configured): an instance answering
 * {@code consecutive5xx} 5xx statuses in a row is skipped for {@code ejectionMs} while its other
 * instances can answer.
 */
public record OutlierConfig(int consecutive5xx, long ejectionMs) {
  public static final long DEFAULT_EJECTION_MS = 30_000;
}
