package dev.dockgate.edge;

import dev.dockgate.config.ServerConfig;
import java.lang.management.ManagementFactory;

/**
 * The process's file descriptors: its limit (the JVM raises the soft limit to the hard one at start, so this is what
 * {@code ulimit -Hn} allowed) and how many are open, where the JVM can tell (Unix); and whether the configured
 * connection caps fit the limit. Every client connection takes one descriptor and every request it proxies one more
 * for its backend connection, so a cap that does not fit lets a flood of connections use up the descriptors: then
 * accepts fail (the listener pauses, {@link AcceptGuard}) and so do the gateway's connections to its backends and the
 * Docker engine.
 */
public final class FileDescriptors {

  /** Descriptors a gateway holds besides its connections: jars, event-loop rings, logs, engine and cluster sockets. */
  static final int BASE = 128;

  private FileDescriptors() {
  }

  /** The process's limit, or -1 where the JVM cannot tell. */
  public static long limit() {
    return ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.UnixOperatingSystemMXBean unix
        ? unix.getMaxFileDescriptorCount() : -1;
  }

  /**
   * "the limit is N file descriptors" for log lines. (Not how many are open: the JVM counts them by opening
   * /proc/self/fd, which takes a descriptor, and fails with an InternalError when none is left.)
   */
  static String describe() {
    long limit = limit();
    return limit < 0 ? "the file descriptor limit is unknown" : "the process's limit is " + limit + " file descriptors";
  }

  /**
   * What the connection caps need at most: two descriptors per client connection (its own and its backend's), one
   * per admin connection, and {@link #BASE}; {@code Long.MAX_VALUE} when a cap is 0 (no limit).
   */
  public static long needed(ServerConfig server) {
    if (server.limits().maxConnections() == 0 || server.adminListener() != null && server.adminListener().maxConnections() == 0) {
      return Long.MAX_VALUE;
    }
    long admin = server.adminListener() == null ? 0 : server.adminListener().maxConnections();
    return 2L * server.limits().maxConnections() + admin + BASE;
  }

  /**
   * A warning when the caps do not fit {@code limit}, else null: said at start, before a flood would find out.
   */
  public static String misfit(ServerConfig server, long limit) {
    long needed = needed(server);
    if (limit < 0 || needed <= limit) {
      return null;
    }
    String caps = server.limits().maxConnections() == 0 ? "server.max_connections is 0 (no limit)"
        : server.adminListener() != null && server.adminListener().maxConnections() == 0
            ? "admin_listener.max_connections is 0 (no limit)"
            : "server.max_connections " + server.limits().maxConnections() + (server.adminListener() == null ? ""
                : " and admin_listener.max_connections " + server.adminListener().maxConnections()) + " need up to "
                + needed + " (2 per client connection: its own and its backend's)";
    return "the process may open " + limit + " file descriptors, and " + caps + ": a flood of connections can use them"
        + " all up, and then connections to backends fail too. Raise the limit (ulimit -n, systemd LimitNOFILE=,"
        + " docker run --ulimit nofile=) or lower server.max_connections to " + Math.max(1, (limit - BASE
        - (server.adminListener() == null ? 0 : Math.max(0, server.adminListener().maxConnections()))) / 2)
        + " or less";
  }
}
