package dev.dockgate.config;

/**
 * Where the Docker engine is ({@code unix:///path} or {@code tcp://host:port}) and, for containers
 * on several networks, which network's address to use. Discovery can be turned off.
 */
public record DockerConfig(boolean enabled, String host, String network) {
  public static final String DEFAULT_HOST = "unix:///var/run/docker.sock";

  /** The engine named by DOCKER_HOST when set, else the local socket. */
  public static String defaultHost() {
    String env = System.getenv("DOCKER_HOST");
    return env == null || env.isBlank() ? DEFAULT_HOST : env;
  }
}
