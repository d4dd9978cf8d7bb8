package dev.dockgate.config;

import java.util.Arrays;
import java.util.stream.Collectors;

/** How a backend's instance is chosen for each request. */
public enum LoadBalancer {
  /** Uniformly at random (rgate's rule; the default). */
  RANDOM("random"),
  /** In turn. */
  ROUND_ROBIN("round_robin"),
  /** The less busy of two instances drawn at random (power of two choices). */
  LEAST_REQUESTS("least_requests");

  private final String configName;

  LoadBalancer(String configName) {
    this.configName = configName;
  }

  public String configName() {
    return configName;
  }

  public static LoadBalancer fromConfig(String name) {
    for (LoadBalancer lb : values()) {
      if (lb.configName.equals(name)) {
        return lb;
      }
    }
    return null;
  }

  public static String choices() {
    return Arrays.stream(values()).map(LoadBalancer::configName).collect(Collectors.joining(", "));
  }
}
