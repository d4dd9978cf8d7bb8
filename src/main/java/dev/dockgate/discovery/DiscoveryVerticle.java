package dev.dockgate.discovery;

import dev.dockgate.config.DockerConfig;
import dev.dockgate.events.Addresses;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import io.vertx.servicediscovery.ServiceDiscovery;
import io.vertx.servicediscovery.ServiceDiscoveryOptions;
import java.util.logging.Logger;

/**
 * Owns the service-discovery registry and the Docker importer: the only Docker I/O in the gateway.
 * Started before the routers; ready once the first container listing was attempted.
 */
public final class DiscoveryVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(DiscoveryVerticle.class.getName());

  private final DockerConfig docker;
  private ServiceDiscovery discovery;

  public DiscoveryVerticle(DockerConfig docker) {
    this.docker = docker;
  }

  /** The options every party to the gateway's registry uses. */
  public static ServiceDiscoveryOptions discoveryOptions() {
    return new ServiceDiscoveryOptions().setAnnounceAddress(Addresses.DISCOVERY_ANNOUNCE);
  }

  @Override
  public Future<?> start() {
    discovery = ServiceDiscovery.create(vertx, discoveryOptions());
    if (!docker.enabled()) {
      LOG.info("docker discovery disabled by config");
      return vertx.eventBus().localConsumer(Addresses.DISCOVERY_STATUS,
          msg -> msg.reply(new JsonObject().put("enabled", false))).completion();
    }
    DockerImporter importer = new DockerImporter(docker);
    return vertx.eventBus()
        .localConsumer(Addresses.DISCOVERY_STATUS, msg -> msg.reply(importer.status().put("enabled", true)))
        .completion()
        .compose(v -> discovery.registerServiceImporter(importer, new JsonObject()));
  }

  @Override
  public Future<?> stop() {
    discovery.close();
    return Future.succeededFuture();
  }
}
