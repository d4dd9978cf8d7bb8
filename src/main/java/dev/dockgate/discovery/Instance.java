package dev.dockgate.discovery;

import io.vertx.core.net.SocketAddress;

/** One reachable instance of a backend: a container's id, name and address. Immutable. */
public record Instance(String id, String name, String host, int port) {

  public SocketAddress socketAddress() {
    return SocketAddress.inetSocketAddress(port, host);
  }

  @Override
  public String toString() {
    return name + "@" + host + ":" + port;
  }
}
