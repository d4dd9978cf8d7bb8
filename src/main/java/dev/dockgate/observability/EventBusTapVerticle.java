package dev.dockgate.observability;

import dev.dockgate.config.TapConfig;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.ext.bridge.BridgeOptions;
import io.vertx.ext.bridge.PermittedOptions;
import io.vertx.ext.eventbus.bridge.tcp.BridgeEvent;
import io.vertx.ext.eventbus.bridge.tcp.TcpEventBusBridge;
import java.util.logging.Logger;

/**
 * The TCP event-bus bridge for consumers outside the JVM: they may subscribe to the configured
 * addresses (traffic, health, alerts by default); nothing may be sent in. Frames are the Vert.x
 * TCP bridge protocol: a 4-byte big-endian length, then JSON. A client leaving abruptly (a reset)
 * is one INFO line, not the bridge's error log.
 */
public final class EventBusTapVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(EventBusTapVerticle.class.getName());

  private final TapConfig config;
  private TcpEventBusBridge bridge;

  public EventBusTapVerticle(TapConfig config) {
    this.config = config;
  }

  @Override
  public Future<?> start() {
    BridgeOptions options = new BridgeOptions();
    config.addresses().forEach(a -> options.addOutboundPermitted(new PermittedOptions().setAddress(a)));
    bridge = TcpEventBusBridge.create(vertx, options, new NetServerOptions(), this::onFrame);
    return bridge.listen(config.bridgePort(), config.bridgeHost())
        .onSuccess(b -> LOG.info("event-bus bridge on " + config.bridgeHost() + ":" + config.bridgePort()
            + ", outbound only: " + config.addresses()));
  }

  /**
   * Every frame a client sends passes here: its socket's failures are reported as a client leaving,
   * in place of the bridge's handler, which logs them as errors; closing the socket still runs the
   * bridge's cleanup (its end handler unregisters the client's consumers).
   */
  private void onFrame(BridgeEvent event) {
    NetSocket socket = event.socket();
    socket.exceptionHandler(err -> {
      LOG.info("event-bus bridge client " + socket.remoteAddress() + " left: " + err.getMessage());
      socket.close();
    });
    event.complete(true);
  }

  @Override
  public Future<?> stop() {
    return bridge.close();
  }
}
