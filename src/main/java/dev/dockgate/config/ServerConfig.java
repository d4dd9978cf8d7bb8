package dev.dockgate.config;

/**
 * The listener: address, port, router instances (0 means one per core) and the path of the
 * built-in stats endpoint.
 */
public record ServerConfig(String host, int port, int instances, String statsPath) {
  public static final String DEFAULT_HOST = "0.0.0.0";
  public static final int DEFAULT_PORT = 8080;
  public static final String DEFAULT_STATS_PATH = "/stats";

  /** Router instances to deploy: the configured number, else one per available core. */
  public int effectiveInstances() {
    return instances > 0 ? instances : Runtime.getRuntime().availableProcessors();
  }
}
