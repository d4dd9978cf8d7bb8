package dev.dockgate.edge;

import java.lang.management.ManagementFactory;

/**
 * The process's file descriptors: its limit (the JVM raises the soft limit to the hard one at start, so this is what
 * {@code ulimit -Hn} allowed, where the JVM can tell: Unix) and the client connections it holds. Every client
 * connection takes one descriptor and every request it proxies one more for its backend connection, so a cap the limit
 * cannot hold lets a flood of connections use up the descriptors: then the gateway's connections to its backends fail
 * (503) and so do accepts (the listener pauses, {@link AcceptGuard}). So {@code server.max_connections} is held at what
 * the limit holds, as HAProxy derives its maxconn from {@code ulimit -n} and nginx counts upstream connections in
 * {@code worker_connections}.
 */
public final class FileDescriptors {

  /**
   * The least a gateway holds besides its client and backend connections: jars, event-loop rings, logs, the Docker
   * engine's and the cluster's sockets, health checks.
   */
  static final int BASE = 128;
  /** Beyond what is open at start (jars, event loops: about 2-3 per loop), what the gateway opens later. */
  static final int MARGIN = 96;

  private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(FileDescriptors.class.getName());
  /** The backend-connect warning: at most one every 10 s for the process, with the connections refused since. */
  private static final LogPace BACKEND_FAILURES = new LogPace(10, java.util.concurrent.TimeUnit.SECONDS);

  private FileDescriptors() {
  }

  /**
   * A connection to a backend instance failed for want of descriptors (its request is answered 503): one warning at
   * most every 10 s for the process, with how many failed since. Safe from any thread.
   */
  public static void backendConnectFailed(String backend, String instance) {
    BACKEND_FAILURES.count();
    if (BACKEND_FAILURES.due()) {
      LOG.warning("no file descriptor left to connect to backend \"" + backend + "\" instance " + instance + " ("
          + BACKEND_FAILURES.takeCount() + " backend connection(s) refused so since the last such line; " + describe() + "): their"
          + " requests got 503, not counted against the instances. Raise the limit (ulimit -n, systemd LimitNOFILE=,"
          + " docker run --ulimit nofile=)");
    }
  }

  /**
   * Whether a failure is the process (EMFILE) or the system (ENFILE) out of file descriptors, as each transport and
   * the JDK word it ("Too many open files", "... in system"), anywhere in its causes.
   */
  public static boolean exhausted(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      String message = t.getMessage();
      if (message != null && message.contains("Too many open files")) {
        return true;
      }
    }
    return false;
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
   * What the gateway holds besides its connections: the descriptors open now (called at start, once the event loops
   * exist: their number grows with the cores) plus {@link #MARGIN}, and at least {@link #BASE}.
   */
  public static long base() {
    long open = -1;
    try {
      if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
        open = unix.getOpenFileDescriptorCount();
      }
    } catch (RuntimeException | InternalError unreadable) {
      // no descriptor left to list them with: the least
    }
    return Math.max(BASE, open + MARGIN);
  }

  /**
   * The most client connections the limit holds, two descriptors each (the connection's own and its backend
   * connection's) after {@code base}; 0 where the limit is unknown.
   */
  public static int fit(long limit, long base) {
    return limit < 0 ? 0 : (int) Math.max(1, Math.min(Integer.MAX_VALUE, (limit - base) / 2));
  }

  /**
   * The cap {@code server.max_connections} is held at, or 0 when the configured one fits {@code limit} (0 in the
   * config, no limit, never fits: descriptors are a limit all the same).
   */
  public static int heldAt(int configured, long limit, long base) {
    int fit = fit(limit, base);
    return fit > 0 && (configured == 0 || configured > fit) ? fit : 0;
  }

  /** The log line saying why {@code server.max_connections} is held at {@code held}. */
  public static String held(int configured, int held, long limit, long base) {
    return "server.max_connections held at " + held + " (configured: " + (configured == 0 ? "0, no limit" : configured)
        + "): the process may open " + limit + " file descriptors, holds " + base + " besides its connections, and"
        + " each client connection takes one, and one more for its backend connection, so beyond that a flood of"
        + " connections would leave none for the backends. Raise the limit (ulimit -n, systemd LimitNOFILE=,"
        + " docker run --ulimit nofile=) for more";
  }
}
