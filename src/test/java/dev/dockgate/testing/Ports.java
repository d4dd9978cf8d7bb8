package dev.dockgate.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** Free local ports, for servers that cannot bind port 0 themselves (containers, the gateway config). */
public final class Ports {

  /**
   * Ports already handed out by this JVM: a port is free when chosen but taken only when its server binds, so
   * a test that picks several before starting anything (three cluster nodes, each with a Hazelcast, an HTTP
   * and an admin port) must never be handed one twice.
   */
  private static final java.util.Set<Integer> HANDED_OUT = java.util.concurrent.ConcurrentHashMap.newKeySet();

  private Ports() {
  }

  /**
   * A port free now, chosen below the kernel's ephemeral range (32768 and up here), so that the
   * many outgoing connections of a load test cannot take it as their local port before the server
   * meant for it binds; never one this JVM handed out before.
   */
  public static int free() {
    java.util.concurrent.ThreadLocalRandom random = java.util.concurrent.ThreadLocalRandom.current();
    if (HANDED_OUT.size() > 8_000) {
      HANDED_OUT.clear(); // the suite's early ports are long released; keep the range from running out
    }
    for (int attempt = 0; attempt < 200; attempt++) {
      int port = random.nextInt(20_000, 32_000);
      if (!HANDED_OUT.add(port)) {
        continue;
      }
      try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
        return socket.getLocalPort();
      } catch (IOException inUse) {
        // try another
      }
    }
    throw new UncheckedIOException(new IOException("no free port in 20000-31999"));
  }
}
