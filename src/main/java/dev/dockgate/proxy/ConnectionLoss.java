package dev.dockgate.proxy;

import dev.dockgate.discovery.Instance;
import io.vertx.core.Handler;
import java.nio.channels.ClosedChannelException;
import java.util.logging.Logger;

/**
 * Reports the failures of connections to one backend instance. A connection lost (reset when its
 * container is killed, a broken pipe) is an expected network event whose requests are retried or
 * answered by the proxy, so not an error: one INFO line names the backend, the instance and the
 * cause, then for {@link #QUIET_NANOS} further losses go to FINE and are counted in the next INFO
 * line. A backend breaking the protocol (Content-Length with Transfer-Encoding, a bad chunk) fails
 * its request, which is answered 502 and counted: FINE. One per instance and router, on that
 * router's event loop; it takes over from the handler {@link BackendClients} sets at connect time.
 */
final class ConnectionLoss implements Handler<Throwable> {

  private static final Logger LOG = Logger.getLogger(ConnectionLoss.class.getName());
  static final long QUIET_NANOS = 10_000_000_000L;

  private final String backend;
  private final Instance instance;
  private boolean reported;
  private long reportedAtNanos;
  private int unreported;

  ConnectionLoss(String backend, Instance instance) {
    this.backend = backend;
    this.instance = instance;
  }

  @Override
  public void handle(Throwable cause) {
    if (!(cause instanceof java.io.IOException)) {
      LOG.fine(() -> "connection to backend \"" + backend + "\" instance " + instance + ": " + cause);
      return;
    }
    long now = System.nanoTime();
    if (reported && now - reportedAtNanos < QUIET_NANOS) {
      unreported++;
      LOG.fine(() -> "connection to backend \"" + backend + "\" instance " + instance + " lost: " + cause);
      return;
    }
    LOG.info("connection to backend \"" + backend + "\" instance " + instance + " lost: " + describe(cause)
        + (unreported > 0 ? " (and " + unreported + " more since the last report)" : ""));
    reported = true;
    reportedAtNanos = now;
    unreported = 0;
  }

  /**
   * The cause in words: its message, or for a connection closed under a request without one (an HTTP/2
   * backend closing its socket with no GOAWAY, as a Node.js server destroying its session does, gives a
   * {@link ClosedChannelException} without a message) "connection closed", else the exception's name.
   */
  static String describe(Throwable cause) {
    String message = cause.getMessage();
    if (message != null && !message.isBlank()) {
      return message;
    }
    return cause instanceof ClosedChannelException ? "connection closed" : cause.getClass().getSimpleName();
  }
}
