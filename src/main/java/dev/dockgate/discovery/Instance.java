package dev.dockgate.discovery;

import io.vertx.core.net.SocketAddress;

/**
 * One reachable instance of a backend: a container's id, name and address, and whether it speaks
 * HTTPS ({@code tls}: an https:// target, or a container labelled {@code gateway.scheme=https}). Immutable.
 */
public record Instance(String id, String name, String host, int port, boolean tls) {

  /** The container label that makes the gateway speak HTTPS to a discovered container. */
  public static final String SCHEME_LABEL = "gateway.scheme";

  public Instance(String id, String name, String host, int port) {
    this(id, name, host, port, false);
  }

  public SocketAddress socketAddress() {
    return SocketAddress.inetSocketAddress(port, host);
  }

  @Override
  public String toString() {
    return name + "@" + host + ":" + port;
  }
}
