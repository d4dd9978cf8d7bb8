package dev.dockgate;

import io.vertx.core.VertxException;

/**
 * A listener that could not open its port, named by its config field: the start stops with this one line (exit
 * status 1) rather than a stack trace. Made from the bind error of Vert.x or Netty, whose wording varies by transport.
 */
public final class ListenFailure extends VertxException {

  private ListenFailure(String message, Throwable cause) {
    super(message, cause, true);
  }

  /**
   * {@code field}: where the address is configured, e.g. {@code server} or {@code server.admin_listener}; the message
   * names its {@code host} when no interface has that address or the name does not resolve, else its {@code port}.
   */
  public static ListenFailure of(String field, String host, int port, Throwable cause) {
    String reason = reason(cause);
    boolean unknownHost = false;
    for (Throwable t = cause; t != null && !unknownHost; t = t.getCause() == t ? null : t.getCause()) {
      unknownHost = t instanceof java.net.UnknownHostException;
    }
    String key = reason.equals(NO_SUCH_ADDRESS) || unknownHost ? ".host" : ".port";
    return new ListenFailure(field + key + ": cannot listen on " + host + ":" + port + ": " + reason, cause);
  }

  private static final String NO_SUCH_ADDRESS = "no network interface of this machine has that address";

  /** The bind error in words: the three a configuration causes, else the error's own message. */
  static String reason(Throwable cause) {
    String message = String.valueOf(cause.getMessage());
    if (message.contains("Address already in use") || message.contains("(-98)")) {
      return "the address is already in use (another process, or another gateway, listens there)";
    }
    if (message.contains("Permission denied") || message.contains("(-13)")) {
      return "permission denied (ports below 1024 need privileges)";
    }
    if (message.contains("Cannot assign requested address") || message.contains("(-99)")) {
      return NO_SUCH_ADDRESS;
    }
    return message;
  }

  /** The first listen failure in {@code err}'s causes, or null. */
  public static ListenFailure in(Throwable err) {
    for (Throwable t = err; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof ListenFailure failure) {
        return failure;
      }
    }
    return null;
  }
}
