package dev.dockgate.discovery;

import io.vertx.core.net.SocketAddress;

/**
 * One reachable instance of a backend: an id ({@code ENGINE/CONTAINER-ID} for a container,
 * {@code static:host:port} for a fixed target, {@code dns:TARGET@ADDRESS} for one address of a {@code dns_targets}
 * name), a name and address, whether it speaks HTTPS ({@code tls}: an https:// target, or a container labelled
 * {@code gateway.scheme=https}), and {@code hostName}: the name the address was found under (a {@code dns_targets}
 * name), which Host, SNI and the certificate check use in place of the address; null for the others. Immutable.
 */
public record Instance(String id, String name, String host, int port, boolean tls, String hostName) {

  /** The container label that makes the gateway speak HTTPS to a discovered container. */
  public static final String SCHEME_LABEL = "gateway.scheme";

  /** The length of Docker's own short container ids. */
  private static final int SHORT_CONTAINER_ID = 12;

  public Instance(String id, String name, String host, int port) {
    this(id, name, host, port, false);
  }

  public Instance(String id, String name, String host, int port, boolean tls) {
    this(id, name, host, port, tls, null);
  }

  /**
   * The host as the backend knows itself (Host, SNI, its certificate): {@link #hostName} when set, else {@link #host};
   * a fully qualified name without its trailing dot ({@code orders.internal.}: looked up as written, but an SNI host
   * name may not end with a dot, and certificates and virtual hosts name it without).
   */
  public String originHost() {
    String origin = hostName != null ? hostName : host;
    return origin.length() > 1 && origin.endsWith(".") ? origin.substring(0, origin.length() - 1) : origin;
  }

  public SocketAddress socketAddress() {
    return SocketAddress.inetSocketAddress(port, host);
  }

  /**
   * The host as a Host header or URI writes it: an IPv6 literal (a Consul or Docker address such as
   * {@code 2001:db8::1}) in square brackets (RFC 3986 §3.2.2), anything else as it is.
   */
  public String uriHost() {
    return uriHost(host);
  }

  /** {@link #uriHost()} of any host. */
  public static String uriHost(String host) {
    return host.indexOf(':') >= 0 && !host.startsWith("[") ? "[" + host + "]" : host;
  }

  /**
   * The id as breaker names and metric labels show it: a Docker container id (64 hex digits, after
   * its engine's name and a slash) cut to its 12-character short form, as {@code docker ps} shows it
   * ({@code local/3f2a1c4d5e6f}); any other id (a fixed target's {@code static:host:port}) whole,
   * since cutting it would drop the port that tells targets apart.
   */
  public String shortId() {
    int container = id.lastIndexOf('/') + 1;
    return isContainerId(id.substring(container)) ? id.substring(0, container + SHORT_CONTAINER_ID) : id;
  }

  private static boolean isContainerId(String id) {
    if (id.length() != 64) {
      return false;
    }
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
        return false;
      }
    }
    return true;
  }

  @Override
  public String toString() {
    // A dns_targets address's name says its address already (NAME:PORT@ADDRESS).
    return hostName != null ? name : name + "@" + uriHost() + ":" + port;
  }
}
