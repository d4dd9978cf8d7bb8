package dev.dockgate.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Which changed settings of a reload need a restart. Everything not named here applies live:
 * routes and their blocks, backends, breakers, health checks, the default response,
 * {@code server.max_body_bytes}, {@code server.stats_path} and the other admin paths,
 * {@code server.trusted_proxies}, {@code server.drain_delay_ms} (read when SIGTERM comes), {@code access_log},
 * the certificate and key files of {@code server.tls} (not turning TLS on or off), and turning metrics on or off. What is named
 * here is read when the listeners, the edge and the discovery and event-bus verticles start, and the tracer
 * when the process starts.
 */
public final class RestartFields {

  private RestartFields() {
  }

  /** The settings that differ between {@code running} and {@code next} and apply only after a restart. */
  public static List<String> changed(GatewayConfig running, GatewayConfig next) {
    List<String> fields = new ArrayList<>();
    ServerConfig a = running.server();
    ServerConfig b = next.server();
    check(fields, "server.host", a.host(), b.host());
    check(fields, "server.port", a.port(), b.port());
    check(fields, "server.instances", a.instances(), b.instances());
    // Its files may change, or be other files, live (the listeners are given the new pair); TLS on or off is a restart.
    check(fields, "server.tls", a.tls() == null, b.tls() == null);
    check(fields, "server.http2", a.http2(), b.http2());
    check(fields, "server.h2c", a.h2c(), b.h2c());
    check(fields, "server.admin_listener", a.adminListener(), b.adminListener());
    ServerConfig.Limits x = a.limits();
    ServerConfig.Limits y = b.limits();
    check(fields, "server.max_header_bytes", x.maxHeaderBytes(), y.maxHeaderBytes());
    check(fields, "server.max_header_count", x.maxHeaderCount(), y.maxHeaderCount());
    check(fields, "server.max_request_line_bytes", x.maxRequestLineBytes(), y.maxRequestLineBytes());
    check(fields, "server.idle_timeout_ms", x.idleTimeoutMs(), y.idleTimeoutMs());
    check(fields, "server.header_timeout_ms", x.headerTimeoutMs(), y.headerTimeoutMs());
    check(fields, "server.body_timeout_ms", x.bodyTimeoutMs(), y.bodyTimeoutMs());
    check(fields, "server.max_connections", x.maxConnections(), y.maxConnections());
    check(fields, "docker", running.docker(), next.docker());
    check(fields, "consul", running.consul(), next.consul());
    check(fields, "event_bus_bridge", bridge(running.tap()), bridge(next.tap()));
    check(fields, "alerts.slow_request_ms", running.tap().slowRequestMs(), next.tap().slowRequestMs());
    check(fields, "cluster", running.cluster(), next.cluster());
    check(fields, "tracing", running.tracing(), next.tracing());
    return fields;
  }

  private static List<Object> bridge(TapConfig tap) {
    return List.of(tap.bridgeEnabled(), String.valueOf(tap.bridgeHost()), tap.bridgePort(), tap.addresses(),
        tap.maxClients(), tap.idleTimeoutMs());
  }

  private static void check(List<String> fields, String name, Object was, Object now) {
    if (!Objects.equals(was, now)) {
      fields.add(name);
    }
  }
}
