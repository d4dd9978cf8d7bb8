package dev.dockgate.edge;

import java.util.logging.Filter;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * An HTTP/2 client that breaks the connection preface or its first SETTINGS frame (bytes that are not HTTP/2
 * after ALPN chose h2, an HTTP/1 request there, a PING or a bad setting first) gets a GOAWAY from Netty's codec
 * and the connection closes: a client's mistake, like a malformed HTTP/1 head. Vert.x only hands an HTTP/2
 * connection to the server's connection handler once those SETTINGS are read, so until then the connection has
 * no exception handler and Vert.x's {@code ConnectionBase} logs the error as SEVERE, once per connection (and
 * for an HTTP/1 request on such a connection Vert.x fails its connect promise twice, which Netty logs as a
 * WARNING with a stack trace). Both are noted here at FINE instead; any other record of those loggers is left as
 * it is. Installed once per process, from the edge.
 */
final class Http2ConnectionErrors implements Filter {

  private static final Logger LOG = Logger.getLogger(EdgeGuard.class.getName());
  private static final String CONNECTION_ERROR_CLASS = "io.vertx.core.http.impl.Http2ConnectionBase";
  private static final String CONNECTION_ERROR_METHOD = "onConnectionError";
  private static final String CONNECT_PROMISE_CLASS = "io.vertx.core.http.impl.VertxHttp2ConnectionHandler";

  /** Held here: java.util.logging keeps loggers weakly, and a logger made anew would lose its filter. */
  private static final Logger VERTX_CONNECTION = Logger.getLogger("io.vertx.core.net.impl.ConnectionBase");
  private static final Logger NETTY_HANDLER = Logger.getLogger("io.netty.channel.AbstractChannelHandlerContext");

  static {
    VERTX_CONNECTION.setFilter(new Http2ConnectionErrors(VERTX_CONNECTION.getFilter()));
    NETTY_HANDLER.setFilter(new Http2ConnectionErrors(NETTY_HANDLER.getFilter()));
  }

  private final Filter next;

  private Http2ConnectionErrors(Filter next) {
    this.next = next;
  }

  /** Puts the filters in place (once: the class's initialisation does it). */
  static void install() {
    // Loading the class installs them.
  }

  @Override
  public boolean isLoggable(LogRecord record) {
    if (record.getLevel().intValue() >= Level.WARNING.intValue() && (fromConnectionError(record) || doubleFailure(record))) {
      LOG.fine(() -> "HTTP/2 connection refused before its first SETTINGS were read: " + record.getMessage());
      return false;
    }
    return next == null || next.isLoggable(record);
  }

  /**
   * Vert.x's log of a connection error without a handler: logged on the event loop from inside
   * {@code Http2ConnectionBase.onConnectionError} (the connection's own context runs the report at once).
   */
  private static boolean fromConnectionError(LogRecord record) {
    if (!VERTX_CONNECTION.getName().equals(record.getLoggerName())) {
      return false;
    }
    return StackWalker.getInstance().walk(frames -> frames.anyMatch(
        f -> CONNECTION_ERROR_CLASS.equals(f.getClassName()) && CONNECTION_ERROR_METHOD.equals(f.getMethodName())));
  }

  /** Netty's report of Vert.x failing the connect promise a second time, for a second error on the same preface. */
  private static boolean doubleFailure(LogRecord record) {
    if (!NETTY_HANDLER.getName().equals(record.getLoggerName())) {
      return false;
    }
    for (Throwable t = record.getThrown(); t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof IllegalStateException) {
        for (StackTraceElement e : t.getStackTrace()) {
          if (CONNECT_PROMISE_CLASS.equals(e.getClassName()) && CONNECTION_ERROR_METHOD.equals(e.getMethodName())) {
            return true;
          }
        }
      }
    }
    return false;
  }
}
