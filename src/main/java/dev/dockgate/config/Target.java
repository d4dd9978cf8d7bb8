package dev.dockgate.config;

/** A fixed instance of a backend, given in the config as {@code http://host:port}. */
public record Target(String host, int port) {

  @Override
  public String toString() {
    return "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }
}
