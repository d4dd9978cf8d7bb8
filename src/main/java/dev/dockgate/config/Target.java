package dev.dockgate.config;

/** A fixed instance of a backend, given in the config as {@code http://host:port} or {@code https://host:port} ({@code tls}). */
public record Target(String host, int port, boolean tls) {

  public Target(String host, int port) {
    this(host, port, false);
  }

  @Override
  public String toString() {
    return (tls ? "https://" : "http://") + (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }
}
