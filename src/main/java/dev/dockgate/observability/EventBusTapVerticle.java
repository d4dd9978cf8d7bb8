package dev.dockgate.observability;

import dev.dockgate.ListenFailure;
import dev.dockgate.config.TapConfig;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import java.util.logging.Logger;

/**
 * The TCP event-bus bridge for consumers outside the JVM: they may subscribe to the configured addresses (traffic,
 * health, alerts by default; the config allows only published events, {@code events.TapAddresses}, never an address
 * the gateway sends requests or commands on, whose messages a client's consumer would take); nothing may be sent in. It speaks the Vert.x TCP bridge protocol (a 4-byte big-endian
 * length, then JSON) on a server of its own, each connection a {@link TapClient} with bounded frames and a bounded
 * outbound queue, closed after {@code idle_timeout_ms} without a frame from it; at most {@code max_clients} at once
 * ({@link TapClients}). A client leaving, abruptly (a reset) or not, is one INFO line.
 */
public final class EventBusTapVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(EventBusTapVerticle.class.getName());

  private final TapConfig config;
  private final TapClients clients;
  private NetServer server;

  public EventBusTapVerticle(TapConfig config) {
    this.config = config;
    this.clients = new TapClients(config.maxClients());
  }

  @Override
  public Future<?> start() {
    // A client's bytes wait in the kernel while it is not read (TapClient): a small receive buffer keeps that small.
    server = vertx.createNetServer(new NetServerOptions().setReceiveBufferSize(TapClient.MAX_FRAME))
        .connectHandler(socket -> {
          if (clients.admit(socket)) {
            new TapClient(vertx, socket, config, clients);
          }
        });
    return server.listen(config.bridgePort(), config.bridgeHost())
        .recover(err -> Future.failedFuture(
            ListenFailure.of("event_bus_bridge", config.bridgeHost(), config.bridgePort(), err)))
        .onSuccess(s -> LOG.info("event-bus bridge on " + config.bridgeHost() + ":" + config.bridgePort()
            + ", outbound only: " + config.addresses() + ", max_clients " + config.maxClients()
            + ", idle_timeout_ms " + config.idleTimeoutMs()));
  }

  @Override
  public Future<?> stop() {
    clients.stop();
    return server.close();
  }
}
