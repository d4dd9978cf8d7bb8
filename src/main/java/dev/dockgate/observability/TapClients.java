package dev.dockgate.observability;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetSocket;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;
import java.util.logging.Logger;

/**
 * The event-bus bridge's clients taken together: how many are connected against {@code max_clients} (a connection
 * over it is told {@code too_many_clients} and closed, a burst of them one WARNING line and, once a client leaves,
 * one INFO line with their count), and what is said once for all of them (an address whose bodies are not JSON).
 * Called on the bridge's event loop.
 */
final class TapClients {

  private static final Logger LOG = Logger.getLogger(EventBusTapVerticle.class.getName());
  private static final byte[] TOO_MANY_CLIENTS = "{\"type\":\"err\",\"message\":\"too_many_clients\"}"
      .getBytes(StandardCharsets.UTF_8);

  private final int max;
  private final Set<String> notJson = new HashSet<>();
  private int open;
  private boolean stopping;
  /** Connections refused and not said yet; whether refusals go on (the cap reached), and if that was said. */
  private long refused;
  private boolean refusing;
  private boolean burstReported;
  private final LogPace reports = LogPace.perMinute();

  /** {@code max}: {@code max_clients}, 0 for no limit. */
  TapClients(int max) {
    this.max = max;
  }

  /** True when the connection is a client now; false when it was refused (told so, and closing). */
  boolean admit(NetSocket socket) {
    if (max == 0 || open < max) {
      open++;
      return true;
    }
    refused++;
    if (!refusing) {
      refusing = true;
      burstReported = reports.due(System.nanoTime());
      if (burstReported) {
        LOG.warning("event-bus bridge refuses new clients, " + socket.remoteAddress() + " the first: max_clients ("
            + max + ") are connected; connections are refused (and counted) until one leaves");
      }
    }
    socket.handler(bytes -> { }); // what it sent at once is taken in and dropped
    socket.exceptionHandler(err -> { }); // a refused client resetting its connection is no error of the gateway
    socket.end(Buffer.buffer(TOO_MANY_CLIENTS.length + 4).appendInt(TOO_MANY_CLIENTS.length)
        .appendBytes(TOO_MANY_CLIENTS));
    return false;
  }

  /** A client admitted has left: its place is free again. */
  void left() {
    open--;
    if (refusing) {
      refusing = false;
      if (burstReported) {
        LOG.info("event-bus bridge takes clients again: " + refused + " connection" + (refused == 1 ? "" : "s")
            + " refused while max_clients (" + max + ") were connected");
        refused = 0;
      }
    }
  }

  /** Messages on {@code address} cannot be written as JSON: said once per address for all clients. */
  void notJson(String address, Object body) {
    if (notJson.add(address)) {
      LOG.warning("event-bus bridge cannot pass on the messages of " + address + ": their body ("
          + body.getClass().getName() + ") is not JSON. They are dropped, and each client registered on " + address
          + " is told once ({\"type\":\"err\",\"message\":\"body_not_json\"})");
    }
  }

  boolean stopping() {
    return stopping;
  }

  void stop() {
    stopping = true;
  }
}
