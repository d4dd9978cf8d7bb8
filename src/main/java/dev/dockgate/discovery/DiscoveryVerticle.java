package dev.dockgate.discovery;

import dev.dockgate.config.GatewayConfig;
import dev.dockgate.discovery.consul.ConsulImporter;
import dev.dockgate.events.Addresses;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.servicediscovery.ServiceDiscovery;
import io.vertx.servicediscovery.ServiceDiscoveryOptions;
import java.util.List;
import java.util.logging.Logger;

/**
 * Owns the service-discovery registry, one Docker importer per engine (the only Docker I/O in the gateway),
 * the Consul importer (idle while no backend names a Consul service), the DNS importer (idle while no backend has
 * {@code dns_targets}) and the {@link InstanceCatalog}, which
 * turns the registry's records into one snapshot of instances per
 * backend on each change and publishes it on {@link Addresses#INSTANCES}. Started before the routers;
 * ready once the first container listing was attempted and its new instances probed.
 */
public final class DiscoveryVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(DiscoveryVerticle.class.getName());
  /** How long the start waits for the first probes of running containers (each is a local connect). */
  private static final long FIRST_PROBES_MS = 1_000;
  /** How long a stop waits for registry changes begun before it to complete and be announced. */
  private static final long SETTLE_MS = 200;
  private static final DeliveryOptions LOCAL = new DeliveryOptions().setLocalOnly(true);

  private final GatewayConfig config;
  private ServiceDiscovery discovery;
  private ConnectProbe probe;
  private InstanceCatalog catalog;
  private ConsulImporter consul;
  private DnsImporter dns;
  private boolean reading;
  private boolean readAgain;
  /** Waiting for a reading of the registry that starts after they asked ({@link #readFresh}). */
  private final List<Promise<Void>> readWaiters = new java.util.ArrayList<>();

  public DiscoveryVerticle(GatewayConfig config) {
    this.config = config;
  }

  /** The options every party to the gateway's registry uses. */
  public static ServiceDiscoveryOptions discoveryOptions() {
    return new ServiceDiscoveryOptions().setAnnounceAddress(Addresses.DISCOVERY_ANNOUNCE);
  }

  private boolean stopping;

  @Override
  public Future<?> start() {
    BackendInstances.registerCodec(vertx.eventBus());
    discovery = ServiceDiscovery.create(vertx, discoveryOptions());
    probe = new ConnectProbe(vertx);
    catalog = new InstanceCatalog(config.backends(), probe, snapshot -> {
      // Stopping (SIGTERM): the routers drain on the instances they know; a last snapshot would
      // reach consumers that are unregistering.
      if (!stopping) {
        vertx.eventBus().publish(Addresses.INSTANCES, snapshot, LOCAL);
      }
    });
    Future<Void> query = vertx.eventBus()
        .localConsumer(Addresses.INSTANCES_QUERY, msg -> msg.reply(catalog.current(), LOCAL))
        .completion();
    Future<Void> reload = vertx.eventBus()
        .<GatewayConfig>localConsumer(Addresses.CONFIG_APPLY, msg -> catalog.backends(msg.body().backends()))
        .completion();
    Future<Void> everywhere = vertx.eventBus()
        .<GatewayConfig>localConsumer(Addresses.CONFIG_EVERYWHERE, msg -> {
          if (consul != null) {
            consul.live(msg.body().backends());
          }
          if (dns != null) {
            dns.live(msg.body().backends());
          }
        })
        .completion();
    Future<Void> prepare = vertx.eventBus()
        .<GatewayConfig>localConsumer(Addresses.DISCOVERY_PREPARE, msg -> {
          List<dev.dockgate.config.BackendConfig> next = msg.body().backends();
          Future.join(consul != null ? consul.prepare(next) : Future.succeededFuture(),
                  dns != null ? dns.prepare(next) : Future.succeededFuture())
              .eventually(this::readFresh)
              .onComplete(ar -> msg.reply(null, LOCAL));
        })
        .completion();
    Future<Void> announce = vertx.eventBus().localConsumer(Addresses.DISCOVERY_ANNOUNCE, msg -> read()).completion();
    return Future.all(List.of(query, reload, everywhere, prepare, announce))
        .compose(v -> importDocker())
        .compose(v -> importConsul())
        .compose(v -> importDns())
        .compose(v -> readNow())
        .compose(v -> catalog.probed().timeout(FIRST_PROBES_MS, java.util.concurrent.TimeUnit.MILLISECONDS)
            .otherwiseEmpty());
  }

  private Future<?> importDocker() {
    if (!config.docker().enabled()) {
      LOG.info("docker discovery disabled by config");
      return vertx.eventBus().localConsumer(Addresses.DISCOVERY_STATUS,
          msg -> msg.reply(new JsonObject().put("enabled", false))).completion();
    }
    // One importer per engine, each with its own event stream and reconnection: one engine away
    // leaves the others' instances alone.
    List<DockerImporter> importers = config.docker().engines().stream()
        .map(engine -> new DockerImporter(engine, config.docker().network()))
        .toList();
    return vertx.eventBus()
        .localConsumer(Addresses.DISCOVERY_STATUS, msg -> msg.reply(DockerStatus.combine(importers.stream().map(DockerImporter::status).toList())))
        .completion()
        .compose(v -> Future.all(importers.stream()
            .map(importer -> discovery.registerServiceImporter(importer, new JsonObject()))
            .toList()));
  }

  private Future<?> importConsul() {
    consul = new ConsulImporter(config.consul(), config.backends());
    return discovery.registerServiceImporter(consul, new JsonObject());
  }

  private Future<?> importDns() {
    dns = new DnsImporter(config.backends());
    return discovery.registerServiceImporter(dns, new JsonObject());
  }

  /** Coalesces announcement bursts: one reading of the registry at a time, and one more after it if needed. */
  private void read() {
    if (reading) {
      readAgain = true;
      return;
    }
    readNow();
  }

  /** Completes after a reading of the registry that started after this call (the catalog then has what it held). */
  private Future<Void> readFresh() {
    Promise<Void> read = Promise.promise();
    readWaiters.add(read);
    read();
    return read.future();
  }

  private Future<Void> readNow() {
    reading = true;
    readAgain = false;
    List<Promise<Void>> served = List.copyOf(readWaiters);
    readWaiters.clear();
    return discovery.getRecords(record -> true)
        .map(records -> {
          catalog.discovered(BackendInstances.discovered(records));
          return (Void) null;
        })
        .andThen(ar -> {
          reading = false;
          served.forEach(Promise::tryComplete);
          if (ar.failed()) {
            LOG.warning("cannot read the discovery registry: " + ar.cause());
          }
          if (readAgain) {
            read();
          }
        });
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    // Closed importers start no registry change, but one begun just before (a container event a
    // moment before SIGTERM) still completes and announces it. Its announcement must find this
    // verticle's consumer (and the metrics') registered, not one Vert.x is unregistering: the
    // verticle stops after it has settled.
    discovery.close();
    Promise<Void> settled = Promise.promise();
    vertx.setTimer(SETTLE_MS, id -> settled.complete());
    return settled.future().compose(v -> probe.close());
  }
}
