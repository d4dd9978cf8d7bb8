package dev.dockgate;

import io.vertx.core.transport.Transport;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Which network transport the gateway's Vert.x runs on. {@code auto} (the default) takes the first
 * available of io_uring, epoll and the JDK's NIO: io_uring batches the proxy's sends and receives
 * through shared rings instead of one syscall each, which on the benchmark cut the system time per
 * request by about a third against epoll. It is often unavailable (kernels before 5.10, or a
 * container whose seccomp profile denies io_uring, as Docker's default does), hence the fallback.
 * Netty's multishot readiness polls are turned off for it ({@link #POLL_MULTISHOT}): with them a
 * backend's reset could go unseen (StreamingIT); so are its multishot accepts ({@link #ACCEPT_MULTISHOT}): with them
 * a listener out of file descriptors could not pause.
 * An explicit choice that is unavailable is an error, not a silent fallback.
 *
 * <p>Set with the system property {@code gateway.transport} or the environment variable
 * {@code GATEWAY_TRANSPORT}; {@code "preferNativeTransport": false} in {@code -options} means NIO.
 */
public final class NetworkTransport {

  /**
   * Netty's switch for io_uring readiness polls that the kernel re-arms itself (multishot). With them (the default on
   * Netty 4.2.18) a backend's reset under concurrent load often never reaches its channel: the gateway waited on
   * sockets the kernel had already dropped, leaving clients silent until idle_timeout_ms (20 concurrent requests
   * against a backend that answers a head and resets: 33 of 40 hung; with this off none, as on epoll). Set before
   * Netty's io_uring classes read it, unless the operator set it.
   */
  static final String POLL_MULTISHOT = "io.netty.iouring.pollAddMultishotEnabled";

  /**
   * Netty's switch for io_uring accepts that the kernel re-arms itself (multishot). With them, an accept that failed
   * because the process was out of file descriptors was re-armed at once whatever the listener asked (Netty 4.2.18
   * re-arms a multishot the kernel ended without looking at auto-read), so the pause meant to let descriptors free up
   * never came: the acceptor spun, a million log lines in 8 s of a connection flood with {@code ulimit -n 400}. One
   * accept submitted per connection instead costs nothing per request. Set as {@link #POLL_MULTISHOT} is.
   */
  static final String ACCEPT_MULTISHOT = "io.netty.iouring.acceptMultiShotEnabled";

  /**
   * Sets Netty's io_uring options (see {@link #POLL_MULTISHOT}) unless the operator did; idempotent. Called by the
   * launcher's main before anything else, and by {@link #choose} for gateways started in-process.
   */
  public static void configureNetty() {
    if (System.getProperty(POLL_MULTISHOT) == null) {
      System.setProperty(POLL_MULTISHOT, "false");
    }
    if (System.getProperty(ACCEPT_MULTISHOT) == null) {
      System.setProperty(ACCEPT_MULTISHOT, "false");
    }
  }

  public static final String PROPERTY = "gateway.transport";
  public static final String ENV = "GATEWAY_TRANSPORT";
  public static final List<String> NAMES = List.of("auto", "io_uring", "epoll", "nio");

  private NetworkTransport() {
  }

  /** The setting from the system property, else the environment, else {@code auto}. */
  public static String configured() {
    String property = System.getProperty(PROPERTY);
    String value = property != null ? property : System.getenv(ENV);
    return value == null || value.isBlank() ? "auto" : value.trim().toLowerCase(Locale.ROOT);
  }

  /**
   * The transport for a setting.
   *
   * @throws IllegalArgumentException naming the setting and the problem when the name is unknown
   *     or the transport asked for is unavailable here
   */
  public static Transport choose(String setting, boolean preferNative) {
    configureNetty();
    String name = setting.replace('-', '_');
    switch (name) {
      case "auto":
        if (!preferNative) {
          return Transport.NIO;
        }
        for (Transport candidate : nativeCandidates()) {
          if (candidate.available()) {
            return candidate;
          }
        }
        return Transport.NIO;
      case "io_uring":
        return require(Transport.IO_URING, "io_uring");
      case "epoll":
        return require(Transport.EPOLL, "epoll");
      case "nio":
        return Transport.NIO;
      default:
        throw new IllegalArgumentException(source() + ": unknown transport \"" + setting + "\"; known: "
            + String.join(", ", NAMES));
    }
  }

  /** The transport a running Vert.x uses, by name: io_uring, epoll or nio ("other" for another). */
  public static String describe(io.vertx.core.Vertx vertx) {
    if (vertx instanceof io.vertx.core.internal.VertxInternal internal) {
      for (Transport known : new Transport[] {Transport.IO_URING, Transport.EPOLL, Transport.NIO}) {
        if (known != null && internal.transport() == known.implementation()) {
          return known.name();
        }
      }
    }
    return "other";
  }

  /** For a client of unix sockets where the gateway's transport has none: epoll, else NIO. */
  public static Transport withDomainSockets() {
    return Transport.EPOLL != null && Transport.EPOLL.available() ? Transport.EPOLL : Transport.NIO;
  }

  /** Whether the transport can reach unix domain sockets (io_uring cannot, in Vert.x 5.0). */
  public static boolean supportsDomainSockets(io.vertx.core.Vertx vertx) {
    return !(vertx instanceof io.vertx.core.internal.VertxInternal internal)
        || internal.transport().supportsDomainSockets();
  }

  /**
   * Why {@code auto} passed over each native transport before {@code chosen}, for the startup log:
   * unavailable (and why), or not tried, which only {@code "preferNativeTransport": false} does.
   */
  public static String skipped(Transport chosen) {
    List<String> reasons = new ArrayList<>();
    for (Transport candidate : nativeCandidates()) {
      if (candidate == chosen) {
        break;
      }
      reasons.add(candidate.name() + (candidate.available() ? " not tried (\"preferNativeTransport\": false in -options)"
          : " unavailable (" + cause(candidate) + ")"));
    }
    return String.join("; ", reasons);
  }

  /** What {@code auto} tries, in order. */
  private static List<Transport> nativeCandidates() {
    List<Transport> candidates = new ArrayList<>(2);
    if (Transport.IO_URING != null) {
      candidates.add(Transport.IO_URING);
    }
    if (Transport.EPOLL != null) {
      candidates.add(Transport.EPOLL);
    }
    return candidates;
  }

  private static Transport require(Transport transport, String name) {
    if (transport == null || !transport.available()) {
      throw new IllegalArgumentException(source() + ": transport " + name + " is unavailable here: "
          + (transport == null ? "not on the class path" : cause(transport)));
    }
    return transport;
  }

  private static String cause(Transport transport) {
    Throwable cause = transport.unavailabilityCause();
    if (cause == null) {
      return "no reason given";
    }
    while (cause.getCause() != null && cause.getMessage() == null) {
      cause = cause.getCause();
    }
    return cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName();
  }

  private static String source() {
    return System.getProperty(PROPERTY) != null ? "-D" + PROPERTY : ENV;
  }
}
