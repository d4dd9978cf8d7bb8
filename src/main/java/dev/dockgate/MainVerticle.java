package dev.dockgate;

import dev.dockgate.auth.JwksCache;
import dev.dockgate.cluster.ClusterVerticle;
import dev.dockgate.config.ConfigLoader;
import dev.dockgate.config.GatewayConfig;
import dev.dockgate.discovery.DiscoveryVerticle;
import dev.dockgate.events.Addresses;
import dev.dockgate.events.LocalCodec;
import dev.dockgate.limits.ClusterLimitsVerticle;
import dev.dockgate.limits.RateLimiters;
import dev.dockgate.observability.AccessLogVerticle;
import dev.dockgate.observability.EventBusTapVerticle;
import dev.dockgate.observability.MetricsVerticle;
import dev.dockgate.observability.SlowRequestAlerter;
import dev.dockgate.resilience.BreakerRegistry;
import dev.dockgate.resilience.HealthCheckVerticle;
import dev.dockgate.proxy.InFlightRequests;
import dev.dockgate.edge.OpenConnections;
import dev.dockgate.routing.RouterPlacement;
import dev.dockgate.routing.RouterVerticle;
import dev.dockgate.stats.StatsVerticle;
import dev.dockgate.tracing.Tracing;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import java.util.logging.Logger;

/**
 * Loads and validates the config file, then deploys stats, discovery and the router instances, in
 * that order; ready when every router listens. Then watches the file: a valid change is applied
 * to the routers without a restart, an invalid one rejected with its problems; so are changed TLS certificates. Deployment config: {@code config_path} and an
 * optional {@code instances} override of {@code server.instances}. On SIGTERM ({@link Addresses#DRAIN_START}) it
 * turns every router's readiness to 503 and answers with the running config's drain delay.
 */
public final class MainVerticle extends VerticleBase {

  public static final String CONFIG_PATH = "config_path";
  public static final String INSTANCES = "instances";
  public static final String DEFAULT_CONFIG_PATH = "conf/gateway.yml";

  /** How often the config file's time stamp is checked; a change is live well within a second. */
  static final long RELOAD_CHECK_MS = 250;

  private static final Logger LOG = Logger.getLogger(MainVerticle.class.getName());

  private ConfigWatcher watcher;
  /** How long a reload waits for discovery to find what it adds: its importers wait 3 s at most for first answers. */
  static final long PREPARE_MS = 5_000;
  /** The reload being applied, if any: the next one applies after it. */
  private Future<Void> applying = Future.succeededFuture();
  /** The access log running: its deployment (null: none) and its config. */
  private String accessLogId;
  private AccessLogVerticle accessLogVerticle;
  /** How long a replaced access log keeps consuming after the hand-over's cut (see {@link AccessLogVerticle#handOver}). */
  private static final long ACCESS_LOG_HAND_OVER_MS = 500;
  private dev.dockgate.config.AccessLogConfig accessLogConfig = dev.dockgate.config.AccessLogConfig.OFF;
  /** The last change of the access log: one at a time. */
  private Future<?> accessLogChange = Future.succeededFuture();
  private JwksCache jwks;
  private Tracing tracing = Tracing.OFF;
  /** Rate-limit buckets of every route, shared by the routers; idle keys expire by themselves. */
  private final RateLimiters rateLimiters = new RateLimiters();
  /** Each route's min_per_second retries, one allowance for all routers. */
  private final dev.dockgate.resilience.RetryAllowances retryAllowances = new dev.dockgate.resilience.RetryAllowances();
  /** Requests in flight per route and backend, shared by the routers; counters of routes gone are dropped on reload. */
  private final InFlightRequests inFlight = new InFlightRequests();
  private GatewayConfig running;
  private String discoveryDeployment;
  /** Reloaded configs not yet live on every router, in the order read. */
  private final java.util.ArrayDeque<Reload> reloads = new java.util.ArrayDeque<>();

  /** A reloaded config, when it was read, and how many routers run it so far. */
  private static final class Reload {
    final GatewayConfig config;
    final long readNanos = System.nanoTime();
    int routers;

    Reload(GatewayConfig config) {
      this.config = config;
    }
  }

  /** The routers' TLS listeners, given changed certificates one after the other. */
  private final dev.dockgate.edge.TlsListeners tlsListeners = new dev.dockgate.edge.TlsListeners();
  private Future<Void> serving = Future.succeededFuture();

  @Override
  public Future<?> start() {
    String path = config().getString(CONFIG_PATH, DEFAULT_CONFIG_PATH);
    return Features.load(vertx, path).compose(this::deployAll);
  }

  private Future<?> deployAll(GatewayConfig config) {
    int instances = config().getInteger(INSTANCES, config.server().effectiveInstances());
    BreakerRegistry breakers = new BreakerRegistry(vertx);
    // one key set per JWKS URL for the process, fetched on this verticle's context, kept across reloads
    jwks = new JwksCache(vertx, context);
    // read once: a change of the tracing block applies after a restart (RestartFields)
    tracing = Tracing.of(config.tracing());
    if (tracing.enabled()) {
      LOG.info("tracing: spans to " + config.tracing().endpoint() + " as service \"" + config.tracing().serviceName()
          + "\", " + config.tracing().sampleRatio() + " of new traces sampled");
    }
    java.util.Map<Class<?>, Object> shared = java.util.Map.of(RateLimiters.class, rateLimiters, JwksCache.class, jwks,
        Tracing.class, tracing, dev.dockgate.resilience.RetryAllowances.class, retryAllowances,
        dev.dockgate.edge.TlsListeners.class, tlsListeners,
        dev.dockgate.proxy.Subsets.class, new dev.dockgate.proxy.Subsets(instances));
    OpenConnections connections = new OpenConnections();
    holdToDescriptors(connections, config.server().limits().maxConnections());
    OpenConnections adminConnections = new OpenConnections("admin_listener.max_connections", true);
    vertx.eventBus().registerDefaultCodec(GatewayConfig.class, new LocalCodec<>(GatewayConfig.class));
    return vertx.deployVerticle(new StatsVerticle())
        .compose(id -> vertx.deployVerticle(new ClusterVerticle(config.cluster(),
            config.server().host() + ":" + config.server().port())))
        // Before the routers: their cluster-scope limits take shares of the cluster's budgets from the start.
        .compose(id -> vertx.isClustered() ? vertx.deployVerticle(new ClusterLimitsVerticle(rateLimiters))
            : Future.succeededFuture(id))
        .compose(id -> vertx.deployVerticle(new MetricsVerticle(config, breakers, inFlight, connections, adminConnections)))
        .compose(id -> vertx.deployVerticle(new DiscoveryVerticle(config)))
        .onSuccess(id -> discoveryDeployment = id)
        .compose(id -> vertx.deployVerticle(new HealthCheckVerticle(config)))
        .compose(id -> accessLog(config.source(), config.accessLog()).map(id))
        .compose(id -> config.tap().slowRequestMs() > 0
            ? vertx.deployVerticle(new SlowRequestAlerter(config.tap().slowRequestMs()))
            : Future.succeededFuture(id))
        .compose(id -> config.tap().bridgeEnabled()
            ? vertx.deployVerticle(new EventBusTapVerticle(config.tap()))
            : Future.succeededFuture(id))
        .compose(id -> RouterPlacement.deploy(vertx,
            () -> new RouterVerticle(config, breakers, inFlight, shared, connections, adminConnections), instances))
        .onSuccess(id -> LOG.info("gateway listening on "
            + dev.dockgate.discovery.Instance.uriHost(config.server().host()) + ":"
            + config.server().port() + protocols(config.server()) + " with " + instances + " router instance(s), "
            + config.routes().size() + " route(s), " + config.backends().size() + " backend(s) from "
            + config.source() + " (" + NetworkTransport.describe(vertx) + " transport)"))
        .onSuccess(id -> dev.dockgate.edge.CertificateDates.check(vertx, config.server().tls()))
        .compose(this::drainOnRequest)
        .compose(id -> watch(config, instances));
  }

  /**
   * Holds {@code server.max_connections} at what the process's file descriptors hold ({@link
   * dev.dockgate.edge.FileDescriptors}): said as information when the default is lowered, as a warning when the
   * configured value is.
   */
  private static void holdToDescriptors(OpenConnections connections, int configured) {
    long limit = dev.dockgate.edge.FileDescriptors.limit();
    long base = dev.dockgate.edge.FileDescriptors.base();
    int held = dev.dockgate.edge.FileDescriptors.heldAt(configured, limit, base);
    if (held > 0) {
      connections.ceiling(held);
      String why = dev.dockgate.edge.FileDescriptors.held(configured, held, limit, base);
      if (configured == dev.dockgate.config.ServerConfig.Limits.DEFAULTS.maxConnections()) {
        LOG.info(why);
      } else {
        LOG.warning(why);
      }
    }
  }

  /** How the listeners speak, for the start-up line: TLS, HTTP/2, h2c, where the admin endpoints are. */
  private static String protocols(dev.dockgate.config.ServerConfig server) {
    String main = server.tls() != null ? (server.http2() ? " (TLS, HTTP/2 and HTTP/1.1)" : " (TLS, HTTP/1.1)")
        : server.h2c() ? " (HTTP/1.1 and h2c)" : "";
    dev.dockgate.config.ServerConfig.AdminListener admin = server.adminListener();
    return admin == null ? main : main + ", admin endpoints on " + dev.dockgate.discovery.Instance.uriHost(admin.host())
        + ":" + admin.port()
        + (admin.apiKeys() == null ? "" : " (API keys required)");
  }

  /**
   * Starts the access log as configured in place of the running one, opening the new file first: when it
   * cannot be opened the running log stays as it is and the failure is a {@link dev.dockgate.config.ConfigException}
   * naming {@code access_log.path} ({@code file}: the config file).
   */
  private Future<Void> accessLog(String file, dev.dockgate.config.AccessLogConfig log) {
    if (log.equals(accessLogConfig)) {
      return Future.succeededFuture();
    }
    AccessLogVerticle next = log.enabled() ? new AccessLogVerticle(log, accessLogId == null ? Long.MIN_VALUE : Long.MAX_VALUE)
        : null;
    Future<String> started = next != null ? vertx.deployVerticle(next) : Future.succeededFuture();
    return started.<Void>compose(id -> {
      String old = accessLogId;
      AccessLogVerticle before = accessLogVerticle;
      accessLogId = id;
      accessLogVerticle = next;
      accessLogConfig = log;
      if (old == null) {
        return Future.succeededFuture();
      }
      AccessLogVerticle.handOver(before, next);
      // The old log keeps its consumer until the events stamped before the cut have reached it.
      Promise<Void> handedOver = Promise.promise();
      vertx.setTimer(ACCESS_LOG_HAND_OVER_MS, t -> handedOver.complete());
      return handedOver.future().compose(v -> vertx.undeploy(old));
    }, err -> Future.failedFuture(new dev.dockgate.config.ConfigException(java.util.List.of(
        file + ": access_log.path: " + dev.dockgate.config.AccessLogFile.openFailed(log.path(), err)))));
  }

  /**
   * Brings the access log to the running config's, after a reload and on SIGHUP (so a log that could not be
   * opened is tried again with the same config), one change at a time; a failure leaves the running log.
   */
  private void followAccessLog() {
    accessLogChange = accessLogChange.eventually(() -> {
      dev.dockgate.config.AccessLogConfig before = accessLogConfig;
      return accessLog(running.source(), running.accessLog())
          .onSuccess(v -> {
            if (!before.equals(accessLogConfig)) {
              LOG.info("access log " + where(accessLogConfig));
            }
          })
          .onFailure(err -> LOG.warning(err.getMessage() + "; the access log stays " + where(accessLogConfig)
              + " (a reload or SIGHUP tries again)"));
    });
  }

  private static String where(dev.dockgate.config.AccessLogConfig log) {
    return log.enabled() ? "writing to " + ("stdout".equals(log.path()) ? "stdout" : "\"" + log.path() + "\"") : "off";
  }

  /**
   * Stops the routers first when asked ({@link Addresses#DRAIN_ROUTERS}): undeploying them drains their
   * requests, whose traffic events the other verticles, still deployed, then take in. Discovery
   * stops just before, so that no announcement reaches a router's consumer while it unregisters
   * (the routers drain on the instances they know). Vert.x's own close undeploys everything at once.
   */
  private Future<String> drainOnRequest(String routers) {
    return vertx.eventBus().localConsumer(Addresses.DRAIN_ROUTERS, msg -> vertx.undeploy(discoveryDeployment)
            .eventually(() -> vertx.undeploy(routers))
            .onComplete(ar -> msg.reply(null)))
        .completion().map(routers);
  }

  /**
   * Applies a reloaded config once discovery has found what it adds (a DNS name's or a Consul service's first
   * answer, {@link #PREPARE_MS} at most), so that a new route is live with its instances rather than answering 503
   * until they come; reloads apply one after the other, in the order they were read.
   */
  private Future<Void> apply(GatewayConfig next) {
    return vertx.eventBus().request(Addresses.DISCOVERY_PREPARE, next,
            new io.vertx.core.eventbus.DeliveryOptions(Addresses.LOCAL).setSendTimeout(PREPARE_MS))
        .otherwiseEmpty() // discovery stopped (a drain), or slower than allowed: the config applies all the same
        // Before the routers compile it, so they find the kept limiters and none of the dropped ones; on a worker,
        // as it hashes every route (all three are safe from any thread).
        .compose(answered -> vertx.executeBlocking(() -> {
          rateLimiters.retain(next.routes());
          retryAllowances.retain(next.routes());
          inFlight.retain(next.routes());
          jwks.retain(next.routes());
          return null;
        }, false))
        .map(retained -> {
          vertx.eventBus().publish(Addresses.CONFIG_APPLY, next, Addresses.LOCAL);
          return null;
        });
  }

  private Future<Void> watch(GatewayConfig config, int routers) {
    running = config;
    watcher = new ConfigWatcher(vertx, config, next -> {
      if (reloads.size() >= 16) {
        reloads.poll(); // never live on every router (a router that could not build it): not kept for good
      }
      reloads.add(new Reload(next));
      applying = applying.eventually(() -> apply(next));
    }, tls -> serving = serving.eventually(() -> tlsListeners.serve(vertx, tls)));
    vertx.eventBus().<GatewayConfig>localConsumer(Addresses.CONFIG_LIVE, msg -> live(msg.body(), routers));
    vertx.eventBus().localConsumer(Addresses.CONFIG_RELOAD, msg -> {
      watcher.reload();
      followAccessLog();
    });
    vertx.eventBus().localConsumer(Addresses.DRAIN_START, msg -> {
      vertx.eventBus().publish(Addresses.DRAINING, null, Addresses.LOCAL);
      // The admin listener runs where it started until a restart; the health path and the delay are live.
      msg.reply(drainStart(config.server().adminListener(), running.server()));
    });
    vertx.eventBus().<GatewayConfig>localConsumer(Addresses.CONFIG_APPLY, msg -> {
      running = msg.body();
      followAccessLog();
    });
    return watcher.start(RELOAD_CHECK_MS);
  }

  /**
   * A router runs {@code config} now: once all {@code routers} do, says so with the time since the file was read.
   * Reloads read before it and never applied (a newer one replaced them before their turn) are forgotten. Discovery
   * is told ({@link Addresses#CONFIG_EVERYWHERE}) only when no reload was read after it.
   */
  private void live(GatewayConfig config, int routers) {
    Reload reload = null;
    for (Reload r : reloads) {
      if (r.config == config) { // by identity: a deep comparison of every route is not needed
        reload = r;
        break;
      }
    }
    if (reload == null || ++reload.routers < routers) {
      return;
    }
    while (reloads.poll() != reload) {
      // read before it, and replaced before their turn
    }
    if (reloads.isEmpty()) {
      // None read after it: discovery stops what only earlier configs follow. Else a later one may be prepared
      // already (its names followed, about to apply): its own turn stops them, as it keeps what it prepared.
      vertx.eventBus().publish(Addresses.CONFIG_EVERYWHERE, config, Addresses.LOCAL);
    }
    long ms = (System.nanoTime() - reload.readNanos) / 1_000_000;
    LOG.info("config from " + config.source() + " live on " + (routers == 1 ? "the router" : "all " + routers
        + " routers") + ", " + ms + " ms after it was read");
  }

  /**
   * The reply to {@link Addresses#DRAIN_START}: the drain delay, and where readiness is served (null: nowhere), on
   * {@code admin}, the listener the process runs.
   */
  private static JsonObject drainStart(dev.dockgate.config.ServerConfig.AdminListener admin,
      dev.dockgate.config.ServerConfig server) {
    String readiness = admin == null || server.admin().health().isEmpty() ? null
        : (admin.tls() ? "https://" : "http://") + admin.host() + ":" + admin.port() + server.admin().health();
    return new JsonObject().put("delay_ms", server.drainDelayMs()).put("readiness", readiness);
  }

  @Override
  public Future<?> stop() {
    if (watcher != null) {
      watcher.stop();
    }
    vertx.eventBus().unregisterDefaultCodec(GatewayConfig.class);
    Future<?> keys = jwks == null ? Future.succeededFuture() : jwks.close();
    return Future.join(keys, flushTraces());
  }

  /** Sends the spans still buffered (at most 5 s), on a worker: the SDK's shutdown waits. */
  private Future<?> flushTraces() {
    Tracing tracer = tracing;
    return tracer.enabled() ? vertx.executeBlocking(() -> {
      tracer.close(5_000);
      return null;
    }) : Future.succeededFuture();
  }
}
