package dev.dockgate.config;

import java.net.URI;
import java.util.List;

/**
 * The Docker engines discovery follows ({@code docker.engines}, or the one {@code docker.host}) and,
 * for containers on several networks, which network's address to use by default. Discovery can be
 * turned off.
 */
public record DockerConfig(boolean enabled, List<Engine> engines, String network) {
  public static final String DEFAULT_HOST = "unix:///var/run/docker.sock";
  /** The name of an engine on a unix socket, unless the config names it. */
  public static final String LOCAL_NAME = "local";

  public DockerConfig {
    engines = List.copyOf(engines);
  }

  /** One engine at {@code host}, named by {@link #defaultName}: what {@code docker.host} configures. */
  public DockerConfig(boolean enabled, String host, String network) {
    this(enabled, List.of(new Engine(defaultName(host), host, null, null, null)), network);
  }

  /** The engine named by DOCKER_HOST when set, else the local socket. */
  public static String defaultHost() {
    String env = System.getenv("DOCKER_HOST");
    return env == null || env.isBlank() ? DEFAULT_HOST : env;
  }

  /** {@value #LOCAL_NAME} for a unix socket, {@code HOST:PORT} for {@code tcp://HOST:PORT}. */
  public static String defaultName(String host) {
    if (host.startsWith("unix://")) {
      return LOCAL_NAME;
    }
    URI uri = URI.create(host);
    return uri.getHost() + ":" + (uri.getPort() > 0 ? uri.getPort() : Engine.DEFAULT_TCP_PORT);
  }

  /**
   * One engine: its {@code name} (part of its containers' instance ids, so that two engines' containers
   * never share one), where it listens ({@code unix:///path} or {@code tcp://host:port}), the host its
   * host-network containers and published ports are reached on ({@code address}; null: 127.0.0.1 for
   * a socket, the URL's host for tcp), its default network (null: {@link DockerConfig#network}),
   * its TLS (null: none; tcp only), and how often its containers are listed again whatever its event stream
   * says ({@code resyncIntervalMs}: a stream that stays open but delivers nothing misses every change).
   */
  public record Engine(String name, String host, String address, String network, Tls tls, long resyncIntervalMs) {
    public static final int DEFAULT_TCP_PORT = 2375;
    /** Listing again once a minute: a change missed by the event stream is routed within a minute. */
    public static final long DEFAULT_RESYNC_INTERVAL_MS = 60_000;
    /** The bounds of {@code resync_interval_ms}: a listing a second at most, one a day at least. */
    public static final long MIN_RESYNC_INTERVAL_MS = 1_000;
    public static final long MAX_RESYNC_INTERVAL_MS = 86_400_000;

    /** An engine listed again every {@link #DEFAULT_RESYNC_INTERVAL_MS}. */
    public Engine(String name, String host, String address, String network, Tls tls) {
      this(name, host, address, network, tls, DEFAULT_RESYNC_INTERVAL_MS);
    }

    public boolean unix() {
      return host.startsWith("unix://");
    }

    /** Where this engine's host-network containers and published ports are reached. */
    public String reachableHost() {
      if (address != null) {
        return address;
      }
      return unix() ? "127.0.0.1" : URI.create(host).getHost();
    }
  }

  /**
   * TLS toward a tcp engine: the CA its certificate must chain to (PEM), and the client certificate
   * and key it asks for ({@code --tlsverify}), both or none. Checked when the config is loaded.
   */
  public record Tls(String caFile, String certFile, String keyFile) {
  }
}
