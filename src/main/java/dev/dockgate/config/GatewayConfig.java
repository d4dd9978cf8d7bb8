package dev.dockgate.config;

import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/** The whole validated configuration, immutable. {@code source} is the file it came from; {@code consul} never null. */
public record GatewayConfig(
    String source,
    ServerConfig server,
    DockerConfig docker,
    List<RouteConfig> routes,
    DefaultResponse defaultResponse,
    List<BackendConfig> backends,
    AccessLogConfig accessLog,
    TapConfig tap,
    ClusterConfig cluster,
    TracingConfig tracing,
    ConsulConfig consul) {

  public GatewayConfig {
    routes = List.copyOf(routes);
    backends = List.copyOf(backends);
  }

  /** A config with Consul's default agent address. */
  public GatewayConfig(String source, ServerConfig server, DockerConfig docker, List<RouteConfig> routes,
      DefaultResponse defaultResponse, List<BackendConfig> backends, AccessLogConfig accessLog, TapConfig tap,
      ClusterConfig cluster, TracingConfig tracing) {
    this(source, server, docker, routes, defaultResponse, backends, accessLog, tap, cluster, tracing,
        ConsulConfig.DEFAULT);
  }

  /** A config without cluster settings and without tracing (the defaults). */
  public GatewayConfig(String source, ServerConfig server, DockerConfig docker, List<RouteConfig> routes,
      DefaultResponse defaultResponse, List<BackendConfig> backends, AccessLogConfig accessLog, TapConfig tap) {
    this(source, server, docker, routes, defaultResponse, backends, accessLog, tap, ClusterConfig.DEFAULT,
        TracingConfig.OFF);
  }

  /** A config without an access log (the default). */
  public GatewayConfig(String source, ServerConfig server, DockerConfig docker, List<RouteConfig> routes,
      DefaultResponse defaultResponse, List<BackendConfig> backends) {
    this(source, server, docker, routes, defaultResponse, backends, AccessLogConfig.OFF, TapConfig.OFF);
  }

  public Map<String, BackendConfig> backendsByName() {
    return backends.stream().collect(Collectors.toUnmodifiableMap(BackendConfig::name, Function.identity()));
  }
}
