package dev.dockgate.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** Free local ports, for servers that cannot bind port 0 themselves (containers, the gateway config). */
public final class Ports {

  private Ports() {
  }

  /**
   * A port free now, chosen below the kernel's ephemeral range (32768 and up here), so that the
   * many outgoing connections of a load test cannot take it as their local port before the server
   * meant for it binds.
   */
  public static int free() {
    java.util.concurrent.ThreadLocalRandom random = java.util.concurrent.ThreadLocalRandom.current();
    for (int attempt = 0; attempt < 200; attempt++) {
      int port = random.nextInt(20_000, 32_000);
      try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
        return socket.getLocalPort();
      } catch (IOException inUse) {
        // try another
      }
    }
    throw new UncheckedIOException(new IOException("no free port in 20000-31999"));
  }
}
