package dev.dockgate.observability;

import dev.dockgate.config.TapConfig;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.bridge.BridgeOptions;
import io.vertx.ext.bridge.PermittedOptions;
import io.vertx.ext.eventbus.bridge.tcp.BridgeEvent;
import io.vertx.ext.eventbus.bridge.tcp.TcpEventBusBridge;
import io.vertx.ext.bridge.BridgeEventType;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * The TCP event-bus bridge for consumers outside the JVM: they may subscribe to the configured
 * addresses (traffic, health, alerts by default); nothing may be sent in. Frames are the Vert.x
 * TCP bridge protocol: a 4-byte big-endian length, then JSON. A client leaving, abruptly (a reset)
 * or not, is one INFO line, not the bridge's error log.
 */
public final class EventBusTapVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(EventBusTapVerticle.class.getName());

  private final TapConfig config;
  private TcpEventBusBridge bridge;
  /**
   * Clients whose leaving is watched: one entry per connection that sent a frame, with the addresses it is registered
   * on. A second registration on one address is refused: the bridge keeps one consumer per client and address, so
   * another would send each event once more, and stay on the event bus after the client left.
   */
  private final Map<NetSocket, Set<String>> watched = new ConcurrentHashMap<>();
  private boolean stopping;

  public EventBusTapVerticle(TapConfig config) {
    this.config = config;
  }

  @Override
  public Future<?> start() {
    BridgeOptions options = new BridgeOptions();
    config.addresses().forEach(a -> options.addOutboundPermitted(new PermittedOptions().setAddress(a)));
    bridge = TcpEventBusBridge.create(vertx, options, new NetServerOptions(), this::onFrame);
    return bridge.listen(config.bridgePort(), config.bridgeHost())
        .recover(err -> Future.failedFuture(
            dev.dockgate.ListenFailure.of("event_bus_bridge", config.bridgeHost(), config.bridgePort(), err)))
        .onSuccess(b -> LOG.info("event-bus bridge on " + config.bridgeHost() + ":" + config.bridgePort()
            + ", outbound only: " + config.addresses()));
  }

  /**
   * Every frame a client sends passes here. On a client's first, its socket's failures become one
   * report of the client leaving, in place of the bridge's handler, which logs them as errors;
   * closing the socket still runs the bridge's cleanup (its end handler unregisters the client's
   * consumers). A connection that closes without a failure (a client closing cleanly, or a reset
   * the transport reports as an end) is reported once too, when it closes. A client registers at most once per
   * permitted address (see {@link #watched}).
   */
  private void onFrame(BridgeEvent event) {
    NetSocket socket = event.socket();
    if (socket == null) {
      event.complete(true);
      return;
    }
    Set<String> registered = watched.get(socket);
    if (registered == null) {
      registered = new HashSet<>();
      watched.put(socket, registered);
      SocketAddress client = socket.remoteAddress();
      boolean[] reported = {false};
      socket.exceptionHandler(err -> {
        if (!reported[0]) {
          reported[0] = true;
          LOG.info("event-bus bridge client " + client + " left: " + err.getMessage());
        }
        socket.close();
      });
      socket.closeHandler(v -> {
        watched.remove(socket);
        if (!reported[0] && !stopping) {
          reported[0] = true;
          LOG.info("event-bus bridge client " + client + " left: connection closed");
        }
      });
    }
    String address = event.getRawMessage() == null ? null : event.getRawMessage().getString("address");
    if (event.type() == BridgeEventType.REGISTER && config.addresses().contains(address)) {
      event.complete(registered.add(address)); // another address is refused by the bridge (access_denied)
    } else {
      if (event.type() == BridgeEventType.UNREGISTER && address != null) {
        registered.remove(address);
      }
      event.complete(true);
    }
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    return bridge.close();
  }
}
